"""SSE-KMS for trail log files with a Palisade KMS key: CreateTrail/UpdateTrail resolve and check
`KmsKeyId` as AWS does, log files are put to S3 (moto's server) with `aws:kms` and the key's ARN,
and a key that stops allowing CloudTrail fails the next delivery in GetTrailStatus.

The S3-backed server is test_trail_s3's fixture, imported: this module gets its own instance.
"""

import json
import time

import boto3
import pytest
from botocore.config import Config

from conftest import ACCOUNT, REGION
from test_trail_delivery import cloudtrail, deliver, wait_for_next_second
from test_trail_s3 import TRAIL, TRAIL_ARN, keys, s3_client, server, validate_logs  # noqa: F401

ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def kms(server):
    return boto3.client(
        "kms",
        endpoint_url=server["url"],
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def cloudtrail_statement(trail_arn):
    """The statement the CloudTrail User Guide has users add for a trail."""
    return {
        "Sid": "Allow CloudTrail to encrypt logs",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceArn": trail_arn},
            "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": (
                    f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                )
            },
        },
    }


def key_policy(*statements):
    admin = {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [admin, *statements]})


def create_key(server, policy=None, **options):
    if policy is not None:
        options["Policy"] = policy
    return kms(server).create_key(**options)["KeyMetadata"]


def test_create_trail_resolves_the_key_to_its_arn(server):
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/encrypted"
    key = create_key(server, key_policy(cloudtrail_statement(trail_arn)))
    kms(server).create_alias(AliasName="alias/trail-logs", TargetKeyId=key["KeyId"])
    trail = cloudtrail(server)
    created = trail.create_trail(
        Name="encrypted", S3BucketName="some-bucket", KmsKeyId="alias/trail-logs"
    )
    assert created["KmsKeyId"] == key["Arn"]
    assert trail.get_trail(Name="encrypted")["Trail"]["KmsKeyId"] == key["Arn"]
    described = trail.describe_trails(trailNameList=["encrypted"])["trailList"]
    assert [listed["KmsKeyId"] for listed in described] == [key["Arn"]]

    # By key id, on update; an empty KmsKeyId removes it.
    updated = trail.update_trail(Name="encrypted", KmsKeyId=key["KeyId"])
    assert updated["KmsKeyId"] == key["Arn"]
    assert "KmsKeyId" not in trail.update_trail(Name="encrypted", KmsKeyId="")
    trail.delete_trail(Name="encrypted")


def test_a_key_policy_without_cloudtrail_is_insufficient(server):
    trail = cloudtrail(server)
    default = create_key(server)
    with pytest.raises(trail.exceptions.InsufficientEncryptionPolicyException) as refused:
        trail.create_trail(Name="refused", S3BucketName="some-bucket", KmsKeyId=default["Arn"])
    assert default["Arn"] in refused.value.response["Error"]["Message"]

    # A statement for another trail does not help, on update either.
    other = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/other"
    elsewhere = create_key(server, key_policy(cloudtrail_statement(other)))
    trail.create_trail(Name="refused", S3BucketName="some-bucket")
    with pytest.raises(trail.exceptions.InsufficientEncryptionPolicyException):
        trail.update_trail(Name="refused", KmsKeyId=elsewhere["KeyId"])
    assert "KmsKeyId" not in trail.get_trail(Name="refused")["Trail"]
    trail.delete_trail(Name="refused")
    assert "refused" not in [t["Name"] for t in trail.list_trails()["Trails"]]


def test_missing_malformed_disabled_and_asymmetric_keys(server):
    trail = cloudtrail(server)
    name = "checked"
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"

    def create(key_id):
        return trail.create_trail(Name=name, S3BucketName="some-bucket", KmsKeyId=key_id)

    with pytest.raises(trail.exceptions.KmsKeyNotFoundException):
        create("11111111-2222-3333-4444-555555555555")
    with pytest.raises(trail.exceptions.KmsKeyNotFoundException):
        create("alias/no-such-alias")
    # A key of another region is not found from the trail's.
    with pytest.raises(trail.exceptions.KmsKeyNotFoundException):
        create(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555")
    with pytest.raises(trail.exceptions.InvalidKmsKeyIdException):
        create("not a key")

    disabled = create_key(server, key_policy(cloudtrail_statement(arn)))
    kms(server).disable_key(KeyId=disabled["KeyId"])
    with pytest.raises(trail.exceptions.KmsException) as refused:
        create(disabled["KeyId"])
    assert "disabled" in refused.value.response["Error"]["Message"]

    signing = create_key(
        server, key_policy(cloudtrail_statement(arn)), KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"
    )
    with pytest.raises(trail.exceptions.KmsException):
        create(signing["KeyId"])
    assert name not in [t["Name"] for t in trail.list_trails()["Trails"]]


def test_log_files_are_put_with_sse_kms_and_a_disabled_key_fails_delivery(server):
    start_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    s3 = s3_client(server)
    s3.create_bucket(Bucket="encrypted-logs")
    key = create_key(server, key_policy(cloudtrail_statement(TRAIL_ARN)))
    trail = cloudtrail(server)
    trail.create_trail(
        Name=TRAIL,
        S3BucketName="encrypted-logs",
        KmsKeyId=key["KeyId"],
        EnableLogFileValidation=True,
    )
    trail.start_logging(Name=TRAIL)
    trail.list_trails()
    wait_for_next_second()
    first = deliver(server)
    assert first["logFiles"] >= 1 and first["digests"] == 1

    logs = keys(s3, "encrypted-logs", "CloudTrail")
    assert len(logs) == first["logFiles"]
    for log in logs:
        head = s3.head_object(Bucket="encrypted-logs", Key=log)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key["Arn"]
    # Digests are not put under the trail's key, as in AWS.
    digest = keys(s3, "encrypted-logs", "CloudTrail-Digest")[0]
    assert "SSEKMSKeyId" not in s3.head_object(Bucket="encrypted-logs", Key=digest)
    status = trail.get_trail_status(Name=TRAIL)
    assert "LatestDeliveryError" not in status

    valid = validate_logs(server, start_time)
    assert valid.returncode == 0, valid.stderr
    assert f"{len(logs)}/{len(logs)} log files valid" in valid.stdout

    # Disabled: the next delivery fails as S3 fails the put, and is retried once enabled.
    kms(server).disable_key(KeyId=key["KeyId"])
    trail.get_trail(Name=TRAIL)
    deliver(server)
    status = trail.get_trail_status(Name=TRAIL)
    assert status["LatestDeliveryError"] == "KMS.DisabledException"
    assert status["LatestDeliveryAttemptSucceeded"] == "false"
    kms(server).enable_key(KeyId=key["KeyId"])
    deliver(server)
    status = trail.get_trail_status(Name=TRAIL)
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryAttemptSucceeded"] == "true"
    assert len(keys(s3, "encrypted-logs", "CloudTrail")) > len(logs)

    # A key policy that stops allowing CloudTrail: AccessDenied, as S3 answers.
    kms(server).put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy())
    trail.get_trail(Name=TRAIL)
    deliver(server)
    status = trail.get_trail_status(Name=TRAIL)
    assert status["LatestDeliveryError"] == "AccessDenied"
    trail.stop_logging(Name=TRAIL)

