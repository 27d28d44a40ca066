"""Cross-account Secrets Manager access: a principal of account B names account A's secret by
its ARN, and is allowed only where both its own policies and the secret's resource policy allow
(and, to read the value, the key policy of the secret's KMS key)."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from test_enforcement import _assumed, _error_code

ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def member(client, endpoint):
    """Account B: a new member account of the caller's organization, and Secrets Manager, KMS
    and IAM clients acting as B's `OrganizationAccountAccessRole` (which has
    AdministratorAccess)."""
    orgs = client("organizations")
    try:
        orgs.create_organization(FeatureSet="ALL")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AlreadyInOrganizationException"
    status = orgs.create_account(Email=f"{uuid.uuid4().hex[:8]}@example.com", AccountName="b")
    account = orgs.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{account}:role/{ROLE}"
    assumed = client("sts").assume_role(RoleArn=role, RoleSessionName="account-b")
    credentials = assumed["Credentials"]
    return {
        "account": account,
        "role": role,
        "secrets": _assumed(endpoint, "secretsmanager", credentials),
        "kms": _assumed(endpoint, "kms", credentials),
        "iam": _assumed(endpoint, "iam", credentials),
    }


def _allow(principal, actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": actions,
                    "Resource": "*",
                }
            ],
        }
    )


def _key(client, reader=None):
    """A customer managed key of account A; `reader` may decrypt with it too."""
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if reader is not None:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": reader},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return client("kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]


def _shared_secret(client, reader, kms_key_id=None, actions="secretsmanager:*"):
    secrets = client("secretsmanager")
    extra = {"KmsKeyId": kms_key_id} if kms_key_id else {}
    arn = secrets.create_secret(
        Name=f"shared-{uuid.uuid4().hex[:8]}", SecretString="across", **extra
    )["ARN"]
    if actions is not None:
        secrets.put_resource_policy(SecretId=arn, ResourcePolicy=_allow(reader, actions))
    return arn


def test_metadata_reads_need_the_resource_policy(client, member):
    arn = _shared_secret(client, member["role"])
    secrets = member["secrets"]
    assert secrets.describe_secret(SecretId=arn)["ARN"] == arn
    assert secrets.get_resource_policy(SecretId=arn)["ARN"] == arn
    assert len(secrets.list_secret_version_ids(SecretId=arn)["Versions"]) == 1

    unshared = _shared_secret(client, member["role"], actions=None)
    for call in (
        lambda: secrets.describe_secret(SecretId=unshared),
        lambda: secrets.get_secret_value(SecretId=unshared),
    ):
        code, message = _error_code(call)
        assert code == "AccessDeniedException"
        assert unshared in message, message

    # A secret of account A that does not exist is refused the same way.
    code, _ = _error_code(lambda: secrets.describe_secret(SecretId=unshared + "x"))
    assert code == "AccessDeniedException"
    # By name, B names its own secrets.
    name = unshared.split(":secret:")[1][:-7]
    code, _ = _error_code(lambda: secrets.describe_secret(SecretId=name))
    assert code == "ResourceNotFoundException"


def test_the_aws_managed_key_cannot_serve_another_account(client, member):
    arn = _shared_secret(client, member["role"])
    code, message = _error_code(lambda: member["secrets"].get_secret_value(SecretId=arn))
    assert code == "AccessDeniedException"
    assert message == "Access to KMS is not allowed"


def test_another_account_reads_the_value_when_every_policy_allows(client, member):
    key_arn = _key(client, reader=member["role"])
    # The stored data key names its KMS key's account, however the secret names the key.
    for kms_key_id in (key_arn, key_arn.split("/")[-1]):
        arn = _shared_secret(client, member["role"], kms_key_id=kms_key_id)
        assert member["secrets"].get_secret_value(SecretId=arn)["SecretString"] == "across"


def test_a_key_policy_that_leaves_out_the_other_account_denies(client, member):
    arn = _shared_secret(client, member["role"], kms_key_id=_key(client))
    code, message = _error_code(lambda: member["secrets"].get_secret_value(SecretId=arn))
    assert code == "AccessDeniedException"
    assert message == "Access to KMS is not allowed"
