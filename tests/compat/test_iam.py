"""IAM users, their access keys, and their requests authorized by their policies, with boto3
and the AWS CLI."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT


def error_of(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


@pytest.fixture
def user(client):
    """A fresh IAM user with an access key, and a client factory signing as that user."""
    iam = client("iam")
    name = "u-" + uuid.uuid4().hex[:12]
    created = iam.create_user(UserName=name, Tags=[{"Key": "Department", "Value": "eng"}])["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def as_user(service, **options):
        return client(
            service,
            access_key=key["AccessKeyId"],
            secret=key["SecretAccessKey"],
            **options,
        )

    return {"name": name, "arn": created["Arn"], "key": key, "as_user": as_user}


def allow(client, user, statements):
    client("iam").put_user_policy(
        UserName=user["name"],
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def test_user_keys_sign_requests(client, user):
    created = user["arn"]
    assert created == f"arn:aws:iam::{ACCOUNT}:user/{user['name']}"
    assert user["key"]["AccessKeyId"].startswith("AKIA")
    assert len(user["key"]["SecretAccessKey"]) == 40
    identity = user["as_user"]("sts").get_caller_identity()
    assert identity["Arn"] == created
    assert identity["Account"] == ACCOUNT


def test_no_policy_means_access_denied_with_aws_wording(user):
    code, status, message = error_of(lambda: user["as_user"]("iam").list_users())
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: {user['arn']} is not authorized to perform: iam:ListUsers on resource: * "
        "because no identity-based policy allows the iam:ListUsers action"
    )
    code, status, _ = error_of(lambda: user["as_user"]("kms").list_keys())
    assert (code, status) == ("AccessDeniedException", 400)


def test_inline_policy_allows_and_explicit_deny_wins(client, user):
    allow(client, user, [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}])
    assert "Users" in user["as_user"]("iam").list_users()
    allow(
        client,
        user,
        [
            {"Effect": "Allow", "Action": "iam:List*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"},
        ],
    )
    code, _, message = error_of(lambda: user["as_user"]("iam").list_users())
    assert code == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in message


def test_managed_policy_and_permissions_boundary(client, user):
    iam = client("iam")
    iam.attach_user_policy(
        UserName=user["name"], PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    user["as_user"]("iam").list_users()
    boundary = iam.create_policy(
        PolicyName="b-" + uuid.uuid4().hex[:8],
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=user["name"], PermissionsBoundary=boundary)
    code, _, message = error_of(lambda: user["as_user"]("iam").list_users())
    assert code == "AccessDenied"
    assert "because no permissions boundary allows the iam:ListUsers action" in message


def test_deny_outside_source_ip(client, user):
    allow(
        client,
        user,
        [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
            },
        ],
    )
    code, _, _ = error_of(lambda: user["as_user"]("iam").list_users())
    assert code == "AccessDenied"
    allow(
        client,
        user,
        [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            },
        ],
    )
    user["as_user"]("iam").list_users()


def test_deny_on_requested_region(client, user):
    allow(
        client,
        user,
        [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
        ],
    )
    # Allowed in us-east-1.
    assert user["as_user"]("kms").list_keys()["Keys"] is not None
    code, _, message = error_of(
        lambda: user["as_user"]("kms", region="eu-west-1").list_keys()
    )
    assert code == "AccessDeniedException"
    assert "explicit deny" in message


def test_principal_tag_condition(client, user):
    allow(
        client,
        user,
        [
            {
                "Effect": "Allow",
                "Action": "iam:ListUsers",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/Department": "eng"}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:ListRoles",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/Department": "${aws:username}"}},
            },
        ],
    )
    user["as_user"]("iam").list_users()
    code, _, _ = error_of(lambda: user["as_user"]("iam").list_roles())
    assert code == "AccessDenied"


def test_deny_without_mfa(client, user):
    allow(
        client,
        user,
        [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    )
    # Long-term keys carry no MFA: the key is absent, so BoolIfExists matches and denies.
    code, _, _ = error_of(lambda: user["as_user"]("iam").list_users())
    assert code == "AccessDenied"


def test_inactive_and_deleted_keys_stop_working_at_once(client, user):
    iam = client("iam")
    key_id = user["key"]["AccessKeyId"]
    iam.update_access_key(UserName=user["name"], AccessKeyId=key_id, Status="Inactive")
    code, status, _ = error_of(lambda: user["as_user"]("sts").get_caller_identity())
    assert (code, status) == ("InvalidClientTokenId", 403)
    iam.update_access_key(UserName=user["name"], AccessKeyId=key_id, Status="Active")
    user["as_user"]("sts").get_caller_identity()
    iam.delete_access_key(UserName=user["name"], AccessKeyId=key_id)
    code, _, _ = error_of(lambda: user["as_user"]("sts").get_caller_identity())
    assert code == "InvalidClientTokenId"


def test_malformed_policy_document(client, user):
    code, status, _ = error_of(
        lambda: client("iam").put_user_policy(
            UserName=user["name"], PolicyName="bad", PolicyDocument='{"Statement": ['
        )
    )
    assert (code, status) == ("MalformedPolicyDocument", 400)


def test_iam_with_the_aws_cli(aws_env):
    name = "cli-" + uuid.uuid4().hex[:10]

    def aws(*args):
        out = subprocess.run(
            ["aws", "iam", *args, "--output", "json"],
            env=aws_env, capture_output=True, text=True, timeout=60, check=True,
        )
        return json.loads(out.stdout) if out.stdout.strip() else None

    created = aws("create-user", "--user-name", name, "--path", "/team/")
    assert created["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    listed = aws("list-users", "--path-prefix", "/team/")
    assert name in [u["UserName"] for u in listed["Users"]]
    aws("delete-user", "--user-name", name)
    missing = subprocess.run(
        ["aws", "iam", "get-user", "--user-name", name],
        env=aws_env, capture_output=True, text=True, timeout=60,
    )
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr


def test_every_iam_change_binds_the_next_request(client, user):
    """The authorizer keeps each principal's parsed policies until IAM is next written: each
    change below must decide the very next call."""
    iam = client("iam")
    as_user = user["as_user"]("kms")

    def allowed():
        try:
            as_user.generate_random(NumberOfBytes=8)
            return True
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
            return False

    def document(effect="Allow", action="kms:GenerateRandom"):
        return json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]}
        )

    assert not allowed()
    group = "g-" + uuid.uuid4().hex[:8]
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=document())
    iam.add_user_to_group(GroupName=group, UserName=user["name"])
    assert allowed()
    iam.remove_user_from_group(GroupName=group, UserName=user["name"])
    assert not allowed()

    managed = iam.create_policy(PolicyName="m-" + uuid.uuid4().hex[:8], PolicyDocument=document())
    arn = managed["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user["name"], PolicyArn=arn)
    assert allowed()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(action="kms:Encrypt"), SetAsDefault=True)
    assert not allowed()
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert allowed()

    boundary = iam.create_policy(
        PolicyName="b-" + uuid.uuid4().hex[:8], PolicyDocument=document(action="kms:Decrypt")
    )["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=user["name"], PermissionsBoundary=boundary)
    assert not allowed()
    iam.delete_user_permissions_boundary(UserName=user["name"])
    assert allowed()

    iam.put_user_policy(UserName=user["name"], PolicyName="deny", PolicyDocument=document("Deny"))
    assert not allowed()
    iam.delete_user_policy(UserName=user["name"], PolicyName="deny")
    assert allowed()
    iam.detach_user_policy(UserName=user["name"], PolicyArn=arn)
    assert not allowed()
