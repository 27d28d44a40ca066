"""Tag condition keys (aws:ResourceTag/*, aws:RequestTag/*, aws:TagKeys and the services' own
spellings) deciding boto3 calls to Secrets Manager, Parameter Store, CloudWatch Logs, IAM and
CloudTrail, as attribute-based access control is written against AWS."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def denied(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def user(client):
    """A user tagged Project=apollo, with a client factory signing as the user, and a way to
    replace the user's inline policy."""
    iam = client("iam")
    name = unique("abac")
    iam.create_user(UserName=name, Tags=[{"Key": "Project", "Value": "apollo"}])
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def allow(*statements):
        iam.put_user_policy(
            UserName=name,
            PolicyName="abac",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        )

    def as_user(service):
        return client(service, access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])

    return {"allow": allow, "as_user": as_user}


def same_project(action, key="aws:ResourceTag/Project"):
    return {
        "Effect": "Allow",
        "Action": action,
        "Resource": "*",
        "Condition": {"StringEquals": {key: "${aws:PrincipalTag/Project}"}},
    }


def test_secrets_of_the_callers_project_only(client, user):
    secrets = client("secretsmanager")
    ours = secrets.create_secret(
        Name=unique("ours"), SecretString="s1", Tags=[{"Key": "Project", "Value": "apollo"}]
    )["ARN"]
    theirs = secrets.create_secret(
        Name=unique("theirs"), SecretString="s2", Tags=[{"Key": "Project", "Value": "gemini"}]
    )["ARN"]
    user["allow"](same_project("secretsmanager:GetSecretValue", "secretsmanager:ResourceTag/Project"))
    mine = user["as_user"]("secretsmanager")
    assert mine.get_secret_value(SecretId=ours)["SecretString"] == "s1"
    assert denied(lambda: mine.get_secret_value(SecretId=theirs))


def test_creating_requires_the_callers_project_tag_and_no_other_keys(client, user):
    user["allow"](
        {
            "Effect": "Allow",
            "Action": "secretsmanager:CreateSecret",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:RequestTag/Project": "${aws:PrincipalTag/Project}"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["Project"]},
            },
        }
    )
    mine = user["as_user"]("secretsmanager")
    created = mine.create_secret(
        Name=unique("tagged"), SecretString="v", Tags=[{"Key": "Project", "Value": "apollo"}]
    )
    assert created["ARN"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:")
    assert denied(lambda: mine.create_secret(Name=unique("untagged"), SecretString="v"))
    assert denied(
        lambda: mine.create_secret(
            Name=unique("other"), SecretString="v", Tags=[{"Key": "Project", "Value": "gemini"}]
        )
    )
    assert denied(
        lambda: mine.create_secret(
            Name=unique("extra"),
            SecretString="v",
            Tags=[{"Key": "Project", "Value": "apollo"}, {"Key": "Owner", "Value": "me"}],
        )
    )


def test_parameters_by_resource_tag(client, user):
    ssm = client("ssm")
    ours, theirs = f"/abac/{unique('ours')}", f"/abac/{unique('theirs')}"
    ssm.put_parameter(Name=ours, Value="1", Type="String", Tags=[{"Key": "Project", "Value": "apollo"}])
    ssm.put_parameter(Name=theirs, Value="2", Type="String")
    user["allow"](same_project("ssm:GetParameter", "ssm:resourceTag/Project"))
    mine = user["as_user"]("ssm")
    assert mine.get_parameter(Name=ours)["Parameter"]["Value"] == "1"
    assert denied(lambda: mine.get_parameter(Name=theirs))
    # Tagging it makes it the caller's.
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId=theirs, Tags=[{"Key": "Project", "Value": "apollo"}]
    )
    assert mine.get_parameter(Name=theirs)["Parameter"]["Value"] == "2"


def test_log_groups_by_request_and_resource_tag(client, user):
    user["allow"](
        {
            "Effect": "Allow",
            "Action": "logs:CreateLogGroup",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/Project": "apollo"}},
        },
        same_project("logs:PutRetentionPolicy"),
    )
    mine = user["as_user"]("logs")
    ours = unique("ours")
    mine.create_log_group(logGroupName=ours, tags={"Project": "apollo"})
    assert denied(lambda: mine.create_log_group(logGroupName=unique("bare")))
    mine.put_retention_policy(logGroupName=ours, retentionInDays=7)
    theirs = unique("theirs")
    client("logs").create_log_group(logGroupName=theirs, tags={"Project": "gemini"})
    assert denied(lambda: mine.put_retention_policy(logGroupName=theirs, retentionInDays=7))


def test_roles_by_iam_resource_tag(client, user):
    iam = client("iam")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    ours, theirs = unique("ours"), unique("theirs")
    iam.create_role(
        RoleName=ours, AssumeRolePolicyDocument=trust, Tags=[{"Key": "Project", "Value": "apollo"}]
    )
    iam.create_role(RoleName=theirs, AssumeRolePolicyDocument=trust)
    user["allow"](same_project("iam:GetRole", "iam:ResourceTag/Project"))
    mine = user["as_user"]("iam")
    assert mine.get_role(RoleName=ours)["Role"]["RoleName"] == ours
    assert denied(lambda: mine.get_role(RoleName=theirs))


def test_trails_by_resource_tag(client, user):
    trails = client("cloudtrail")
    ours, theirs = unique("ours"), unique("theirs")
    trails.create_trail(
        Name=ours, S3BucketName="logs", TagsList=[{"Key": "Project", "Value": "apollo"}]
    )
    trails.create_trail(Name=theirs, S3BucketName="logs")
    try:
        user["allow"](same_project("cloudtrail:GetTrailStatus"))
        mine = user["as_user"]("cloudtrail")
        assert mine.get_trail_status(Name=ours)["IsLogging"] is False
        assert denied(lambda: mine.get_trail_status(Name=theirs))
    finally:
        trails.delete_trail(Name=ours)
        trails.delete_trail(Name=theirs)
