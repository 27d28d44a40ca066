"""Cross-account Secrets Manager access: a principal of account B names account A's secret by
its ARN, and is allowed only where both its own policies and the secret's resource policy allow
(and, to read or write the value, the key policy of the secret's KMS key). Rotation across
accounts runs in a server of this module's own, with a command rotation function of A's."""

import json
import sys
import tempfile
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, serving
from test_enforcement import _assumed, _error_code

ROLE = "OrganizationAccountAccessRole"
ROTATOR = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:owners-rotator"


@pytest.fixture
def member(client, endpoint):
    """Account B: a new member account of the caller's organization, and Secrets Manager, KMS
    and IAM clients acting as B's `OrganizationAccountAccessRole` (which has
    AdministratorAccess)."""
    return _member_of(client, endpoint)


def _member_of(client, endpoint):
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


def _key(client, reader=None, writer=None):
    """A customer managed key of account A; `reader` may decrypt with it too, and `writer` may
    decrypt and generate data keys with it through Secrets Manager, for A's secrets only."""
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
    if writer is not None:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": writer},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:SecretARN": f"arn:aws:secretsmanager:{REGION}:"
                        f"{ACCOUNT}:secret:*"
                    },
                },
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


def _current(client, arn):
    return client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def test_another_account_writes_values_when_every_policy_allows(client, member):
    key_arn = _key(client, writer=member["role"])
    secrets = member["secrets"]
    # However A's secret names its key, B's writes use A's key.
    for kms_key_id in (key_arn, key_arn.split("/")[-1]):
        arn = _shared_secret(client, member["role"], kms_key_id=kms_key_id)
        put = secrets.put_secret_value(SecretId=arn, SecretString="put by b")
        assert put["ARN"] == arn
        assert put["VersionStages"] == ["AWSCURRENT"]
        assert _current(client, arn) == "put by b"
        updated = secrets.update_secret(SecretId=arn, SecretString="updated by b")
        assert updated["ARN"] == arn and updated["VersionId"]
        assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "updated by b"
        versions = client("secretsmanager").list_secret_version_ids(SecretId=arn)["Versions"]
        assert all(version["KmsKeyIds"] == [key_arn] for version in versions)
        secrets.update_secret(SecretId=arn, Description="described by b")
        assert client("secretsmanager").describe_secret(SecretId=arn)["Description"] == (
            "described by b"
        )


def test_writes_need_the_resource_policy(client, member):
    key_arn = _key(client, writer=member["role"])
    arn = _shared_secret(
        client, member["role"], kms_key_id=key_arn, actions="secretsmanager:GetSecretValue"
    )
    for call in (
        lambda: member["secrets"].put_secret_value(SecretId=arn, SecretString="w"),
        lambda: member["secrets"].update_secret(SecretId=arn, SecretString="w"),
    ):
        code, message = _error_code(call)
        assert code == "AccessDeniedException"
        assert arn in message, message
    assert _current(client, arn) == "across"


def test_writes_need_the_callers_own_policies(client, member):
    """The resource policy trusts all of B; B's user is allowed only to read."""
    key_arn = _key(client, writer=f"arn:aws:iam::{member['account']}:root")
    arn = _shared_secret(
        client, f"arn:aws:iam::{member['account']}:root", kms_key_id=key_arn
    )
    iam = member["iam"]
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    secrets = client(
        "secretsmanager", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"]
    )
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "across"
    code, message = _error_code(lambda: secrets.put_secret_value(SecretId=arn, SecretString="w"))
    assert code == "AccessDeniedException"
    assert "secretsmanager:PutSecretValue" in message, message


def _kms_refuses_writes(client, member, arn):
    """B's PutSecretValue and UpdateSecret of `arn` fail as KMS refuses them, changing nothing."""
    for call in (
        lambda: member["secrets"].put_secret_value(SecretId=arn, SecretString="w"),
        lambda: member["secrets"].update_secret(SecretId=arn, SecretString="w"),
    ):
        code, message = _error_code(call)
        assert code == "AccessDeniedException"
        assert message == "Access to KMS is not allowed"
    assert _current(client, arn) == "across"


def test_writes_need_the_key_policy(client, member):
    # The key lets B decrypt only: generating a data key for a new value is refused by KMS.
    arn = _shared_secret(client, member["role"], kms_key_id=_key(client, reader=member["role"]))
    _kms_refuses_writes(client, member, arn)


def test_the_aws_managed_key_refuses_writes_from_another_account(client, member):
    _kms_refuses_writes(client, member, _shared_secret(client, member["role"]))


def test_another_account_replicates_the_owners_secret(client, member):
    arn = _shared_secret(client, member["role"])
    secrets = member["secrets"]
    replicated = secrets.replicate_secret_to_regions(
        SecretId=arn, AddReplicaRegions=[{"Region": "eu-west-1"}]
    )
    assert replicated["ARN"] == arn
    assert replicated["ReplicationStatus"][0]["Status"] == "InSync"
    replica = client("secretsmanager", region="eu-west-1").get_secret_value(
        SecretId=arn.split(":secret:")[1][:-7]
    )
    assert replica["SecretString"] == "across"
    removed = secrets.remove_regions_from_replication(
        SecretId=arn, RemoveReplicaRegions=["eu-west-1"]
    )
    assert removed["ReplicationStatus"] == []


def test_batch_reads_find_no_secret_of_another_account(client, member):
    arn = _shared_secret(client, member["role"], kms_key_id=_key(client, reader=member["role"]))
    batch = member["secrets"].batch_get_secret_value(SecretIdList=[arn])
    assert batch["SecretValues"] == []
    assert [(error["SecretId"], error["ErrorCode"]) for error in batch["Errors"]] == [
        (arn, "ResourceNotFoundException")
    ]


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    """A server of its own where A's Lambda ARN `ROTATOR` is a command that appends each event
    it gets to a file (and does nothing else, so a rotation stays unfinished); yields a client
    factory for it and the path of that file."""
    work = tmp_path_factory.mktemp("rotation")
    events = work / "events"
    record = f"import sys; open({str(events)!r}, 'a').write(sys.stdin.read() + '\\n')"
    functions = work / "functions.json"
    functions.write_text(json.dumps({ROTATOR: {"command": [sys.executable, "-c", record]}}))
    with tempfile.TemporaryDirectory() as data_dir, serving(
        data_dir, "--rotation-functions", str(functions)
    ) as url:

        def make(service, region=REGION, **_):
            return boto3.client(
                service,
                endpoint_url=url,
                region_name=region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(retries={"max_attempts": 1}),
            )

        yield {"client": make, "url": url, "events": events}


def test_another_account_rotates_and_cancels_with_the_owners_function(rotating):
    client = rotating["client"]
    member = _member_of(client, rotating["url"])
    arn = _shared_secret(client, member["role"])
    rotated = member["secrets"].rotate_secret(
        SecretId=arn,
        RotationLambdaARN=ROTATOR,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    assert rotated["ARN"] == arn
    token = rotated["VersionId"]
    events = [json.loads(line) for line in rotating["events"].read_text().splitlines()]
    assert [event["Step"] for event in events] == [
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
    ]
    assert {(event["SecretId"], event["ClientRequestToken"]) for event in events} == {
        (arn, token)
    }
    described = client("secretsmanager").describe_secret(SecretId=arn)
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == ROTATOR

    cancelled = member["secrets"].cancel_rotate_secret(SecretId=arn)
    assert cancelled["ARN"] == arn
    assert cancelled["VersionId"] == token
    assert client("secretsmanager").describe_secret(SecretId=arn)["RotationEnabled"] is False


def test_rotation_needs_the_resource_policy(rotating):
    client = rotating["client"]
    member = _member_of(client, rotating["url"])
    arn = _shared_secret(client, member["role"], actions="secretsmanager:DescribeSecret")
    for call in (
        lambda: member["secrets"].rotate_secret(SecretId=arn, RotationLambdaARN=ROTATOR),
        lambda: member["secrets"].cancel_rotate_secret(SecretId=arn),
    ):
        code, message = _error_code(call)
        assert code == "AccessDeniedException"
        assert arn in message, message
    assert "RotationEnabled" not in client("secretsmanager").describe_secret(SecretId=arn)
