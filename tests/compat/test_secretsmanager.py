"""Secrets Manager with boto3 and the AWS CLI: secrets under a customer KMS key, versions and
staging labels, idempotent retries, deletion and restore, filters and paging, batch reads,
random passwords, resource policies and rotation errors."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def key_id(client):
    return client("kms").create_key(Description="secrets")["KeyMetadata"]["KeyId"]


def test_create_read_and_version_stages(client, key_id):
    sm = client("secretsmanager")
    name = unique("app/db")
    created = sm.create_secret(Name=name, SecretString="one", KmsKeyId=key_id, Description="db")
    prefix = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-"
    assert created["ARN"].startswith(prefix) and len(created["ARN"]) == len(prefix) + 6
    first = created["VersionId"]

    second = sm.put_secret_value(SecretId=name, SecretString="two")
    assert second["VersionStages"] == ["AWSCURRENT"]
    current = sm.get_secret_value(SecretId=created["ARN"])
    assert (current["SecretString"], current["VersionStages"]) == ("two", ["AWSCURRENT"])
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (previous["SecretString"], previous["VersionId"]) == ("one", first)
    code, message = error(lambda: sm.get_secret_value(SecretId=name, VersionStage="NOPE"))
    assert code == "ResourceNotFoundException"
    assert message == "Secrets Manager can't find the specified secret value for staging label: NOPE"

    described = sm.describe_secret(SecretId=name)
    assert described["KmsKeyId"] == key_id
    assert described["Description"] == "db"
    assert described["VersionIdsToStages"] == {
        first: ["AWSPREVIOUS"],
        second["VersionId"]: ["AWSCURRENT"],
    }

    sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=first,
        RemoveFromVersionId=second["VersionId"],
    )
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    code, _ = error(lambda: sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=first))
    assert code == "InvalidParameterException"

    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([first, second["VersionId"]])
    assert all(v["KmsKeyIds"][0].endswith(key_id) for v in versions)

    sm.update_secret(SecretId=name, Description="changed")
    assert sm.describe_secret(SecretId=name)["Description"] == "changed"


def test_cli_reads_a_secret(client, key_id, aws_env):
    sm = client("secretsmanager")
    name = unique("cli")
    sm.create_secret(Name=name, SecretString='{"user":"admin","password":"p4ss"}', KmsKeyId=key_id)
    out = subprocess.run(
        ["aws", "secretsmanager", "get-secret-value", "--secret-id", name, "--output", "json"],
        env=aws_env, capture_output=True, text=True, check=True,
    )
    answer = json.loads(out.stdout)
    assert json.loads(answer["SecretString"]) == {"user": "admin", "password": "p4ss"}
    assert answer["VersionStages"] == ["AWSCURRENT"]
    out = subprocess.run(
        ["aws", "secretsmanager", "get-secret-value", "--secret-id", name + "-missing"],
        env=aws_env, capture_output=True, text=True,
    )
    assert out.returncode != 0
    assert "ResourceNotFoundException" in out.stderr


def test_binary_secrets_and_tokens(client, key_id):
    sm = client("secretsmanager")
    name = unique("bin")
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretBinary=b"\x00\xffbytes", KmsKeyId=key_id,
                             ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretBinary=b"\x00\xffbytes", KmsKeyId=key_id,
                             ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    code, _ = error(lambda: sm.create_secret(Name=name, SecretBinary=b"other", KmsKeyId=key_id,
                                             ClientRequestToken=token))
    assert code == "ResourceExistsException"
    code, message = error(lambda: sm.create_secret(Name=name, SecretString="x", KmsKeyId=key_id))
    assert code == "ResourceExistsException"
    assert message == f"The operation failed because the secret {name} already exists."
    value = sm.get_secret_value(SecretId=name)
    assert value["SecretBinary"] == b"\x00\xffbytes" and "SecretString" not in value


def test_delete_restore_and_force(client, key_id):
    sm = client("secretsmanager")
    name = unique("doomed")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id)
    code, _ = error(lambda: sm.delete_secret(SecretId=name, RecoveryWindowInDays=3))
    assert code == "InvalidParameterException"
    code, _ = error(lambda: sm.delete_secret(
        SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True))
    assert code == "InvalidParameterException"
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert "DeletionDate" in deleted
    code, message = error(lambda: sm.get_secret_value(SecretId=name))
    assert code == "InvalidRequestException"
    assert message == ("You can't perform this operation on the secret because it was marked "
                       "for deletion.")
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"

    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    code, _ = error(lambda: sm.describe_secret(SecretId=name))
    assert code == "ResourceNotFoundException"
    sm.create_secret(Name=name, SecretString="reborn", KmsKeyId=key_id)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "reborn"


def test_list_filters_paging_and_batch_get(client, key_id):
    sm = client("secretsmanager")
    team = unique("team")
    names = [f"{team}/svc-{i}" for i in range(5)]
    for i, name in enumerate(names):
        sm.create_secret(Name=name, SecretString=f"value-{i}", KmsKeyId=key_id,
                         Tags=[{"Key": "Team", "Value": team}, {"Key": "index", "Value": str(i)}])
    listed = []
    for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [f"{team}/"]}], PaginationConfig={"PageSize": 2}
    ):
        assert len(page["SecretList"]) <= 2
        listed.extend(s["Name"] for s in page["SecretList"])
    assert sorted(listed) == names

    negated = sm.list_secrets(Filters=[
        {"Key": "tag-value", "Values": [team]},
        {"Key": "name", "Values": [f"!{team}/svc-0"]},
    ])["SecretList"]
    assert sorted(s["Name"] for s in negated) == names[1:]

    batch = sm.batch_get_secret_value(SecretIdList=[names[0], names[1], team + "/missing"])
    assert sorted(v["SecretString"] for v in batch["SecretValues"]) == ["value-0", "value-1"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [
        (team + "/missing", "ResourceNotFoundException")
    ]
    by_filter = sm.batch_get_secret_value(Filters=[{"Key": "tag-value", "Values": [team]}])
    assert len(by_filter["SecretValues"]) == 5


def test_tags(client, key_id):
    sm = client("secretsmanager")
    name = unique("tags")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id, Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_random_password(client):
    sm = client("secretsmanager")
    password = sm.get_random_password()["RandomPassword"]
    assert len(password) == 32
    plain = sm.get_random_password(PasswordLength=50, ExcludePunctuation=True,
                                   ExcludeCharacters="abc")["RandomPassword"]
    assert len(plain) == 50 and plain.isalnum() and not set("abc") & set(plain)


def test_resource_policies(client, key_id):
    sm = client("secretsmanager")
    name = unique("guarded")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id)
    policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy, BlockPublicPolicy=True)
    assert sm.get_resource_policy(SecretId=name)["ResourcePolicy"] == policy
    public = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*",
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    code, _ = error(lambda: sm.put_resource_policy(SecretId=name, ResourcePolicy=public,
                                                   BlockPublicPolicy=True))
    assert code == "PublicPolicyException"
    code, _ = error(lambda: sm.put_resource_policy(SecretId=name, ResourcePolicy="{not json"))
    assert code == "MalformedPolicyDocumentException"
    assert sm.validate_resource_policy(ResourcePolicy=policy)["PolicyValidationPassed"] is True
    failed = sm.validate_resource_policy(ResourcePolicy='{"Statement": 5}')
    assert failed["PolicyValidationPassed"] is False and failed["ValidationErrors"]
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_rotation_needs_a_registered_function(client, key_id):
    sm = client("secretsmanager")
    name = unique("rotating")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id)
    code, _ = error(lambda: sm.rotate_secret(SecretId=name))
    assert code == "InvalidRequestException"
    code, _ = error(lambda: sm.rotate_secret(
        SecretId=name,
        RotationLambdaARN=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate",
        RotationRules={"ScheduleExpression": "rate(2 weeks)"},
    ))
    assert code == "InvalidParameterException"


def test_a_disabled_key_fails_reads_and_writes(client, key_id):
    sm, kms = client("secretsmanager"), client("kms")
    name = unique("cmk")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id)
    kms.disable_key(KeyId=key_id)
    code, _ = error(lambda: sm.get_secret_value(SecretId=name))
    assert code == "DecryptionFailure"
    code, _ = error(lambda: sm.put_secret_value(SecretId=name, SecretString="w"))
    assert code == "EncryptionFailure"
    kms.enable_key(KeyId=key_id)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_the_default_key_is_aws_secretsmanager(client):
    sm, kms = client("secretsmanager"), client("kms")
    name = unique("default")
    sm.create_secret(Name=name, SecretString="v")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert versions[0]["KmsKeyIds"] == [managed["Arn"]]


def test_replication_to_another_region(client, key_id):
    sm = client("secretsmanager")
    replica_region = "eu-west-1"
    replica_key = client("kms", region=replica_region).create_key()["KeyMetadata"]["KeyId"]
    sm_replica = client("secretsmanager", region=replica_region)
    name = unique("replicated")
    created = sm.create_secret(
        Name=name, SecretString="one", KmsKeyId=key_id,
        AddReplicaRegions=[{"Region": replica_region, "KmsKeyId": replica_key}],
    )
    assert [(s["Region"], s["Status"]) for s in created["ReplicationStatus"]] == [
        (replica_region, "InSync")
    ]
    copy = sm_replica.get_secret_value(SecretId=name)
    assert copy["SecretString"] == "one"
    assert copy["ARN"] == created["ARN"].replace(REGION, replica_region)
    assert sm_replica.describe_secret(SecretId=name)["PrimaryRegion"] == REGION
    code, _ = error(lambda: sm_replica.put_secret_value(SecretId=name, SecretString="x"))
    assert code == "InvalidRequestException"
    sm.put_secret_value(SecretId=name, SecretString="two")
    assert sm_replica.get_secret_value(SecretId=name)["SecretString"] == "two"
    code, _ = error(lambda: sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True))
    assert code == "InvalidRequestException"
    sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[replica_region])
    code, _ = error(lambda: sm_replica.get_secret_value(SecretId=name))
    assert code == "ResourceNotFoundException"
