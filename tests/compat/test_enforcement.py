"""Authorization across services: SCPs from Organizations bind member accounts, and a secret's
resource policy takes part in Secrets Manager decisions."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION


def _error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _user(client, policy=None):
    iam = client("iam")
    name = f"u-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn, key


def _assumed(endpoint, service, credentials):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def test_an_scp_denies_in_a_member_account_but_not_in_the_management_account(client, endpoint):
    orgs = client("organizations")
    try:
        orgs.create_organization(FeatureSet="ALL")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AlreadyInOrganizationException"
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    try:
        orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "PolicyTypeAlreadyEnabledException"
    status = orgs.create_account(Email=f"{uuid.uuid4().hex[:8]}@example.com", AccountName="scp")
    request_id = status["CreateAccountStatus"]["Id"]
    account = orgs.describe_create_account_status(CreateAccountRequestId=request_id)[
        "CreateAccountStatus"
    ]["AccountId"]
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    credentials = client("sts").assume_role(RoleArn=role, RoleSessionName="scp")["Credentials"]
    member_kms = _assumed(endpoint, "kms", credentials)
    assert member_kms.list_keys()["Keys"] is not None

    deny_kms = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "kms:ListKeys", "Resource": "*"}],
        }
    )
    policy_id = orgs.create_policy(
        Name=f"deny-kms-{uuid.uuid4().hex[:6]}",
        Description="no key listing",
        Type="SERVICE_CONTROL_POLICY",
        Content=deny_kms,
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy_id, TargetId=account)
    code, message = _error_code(member_kms.list_keys)
    assert code == "AccessDeniedException"
    assert "service control policy" in message, message
    # The management account is never bound by SCPs.
    assert client("kms").list_keys()["Keys"] is not None

    orgs.detach_policy(PolicyId=policy_id, TargetId=account)
    assert member_kms.list_keys()["Keys"] is not None

    # The member account's principals carry their organization in aws:PrincipalOrgID.
    org_id = orgs.describe_organization()["Organization"]["Id"]
    inside = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "kms:ListAliases",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
                }
            ],
        }
    )
    inside_id = orgs.create_policy(
        Name=f"deny-members-{uuid.uuid4().hex[:6]}",
        Description="aws:PrincipalOrgID",
        Type="SERVICE_CONTROL_POLICY",
        Content=inside,
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=inside_id, TargetId=account)
    code, _ = _error_code(member_kms.list_aliases)
    assert code == "AccessDeniedException"
    orgs.detach_policy(PolicyId=inside_id, TargetId=account)
    assert "Aliases" in member_kms.list_aliases()


def test_a_secret_resource_policy_allows_and_denies(client, endpoint):
    secrets = client("secretsmanager")
    name = f"guarded-{uuid.uuid4().hex[:8]}"
    arn = secrets.create_secret(Name=name, SecretString="s3cr3t")["ARN"]

    reader_arn, reader_key = _user(client)  # no identity policy at all
    shut_out_arn, shut_out_key = _user(
        client,
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
        },
    )
    secrets.put_resource_policy(
        SecretId=name,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": reader_arn},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    },
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": shut_out_arn},
                        "Action": "secretsmanager:*",
                        "Resource": "*",
                    },
                ],
            }
        ),
    )

    reader = client(
        "secretsmanager",
        access_key=reader_key["AccessKeyId"],
        secret=reader_key["SecretAccessKey"],
    )
    assert reader.get_secret_value(SecretId=name)["SecretString"] == "s3cr3t"
    code, message = _error_code(lambda: reader.describe_secret(SecretId=name))
    assert code == "AccessDeniedException"
    assert arn in message

    shut_out = client(
        "secretsmanager",
        access_key=shut_out_key["AccessKeyId"],
        secret=shut_out_key["SecretAccessKey"],
    )
    code, message = _error_code(lambda: shut_out.get_secret_value(SecretId=name))
    assert code == "AccessDeniedException"
    assert "explicit deny in a resource-based policy" in message, message
