"""Trail delivery to a real S3 endpoint (moto's server), checked by the AWS CLI's own
`aws cloudtrail validate-logs`, and delivery failures as GetTrailStatus reports them.

moto runs in this process on an ephemeral port; the server here is this module's own, pointed
at it with --trail-s3-endpoint. Delivery is triggered through the local-mode endpoint rather
than waited for.
"""

import gzip
import json
import os
import subprocess
import tempfile
import time

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from conftest import ACCOUNT, REGION, serving
from test_trail_delivery import cloudtrail, deliver, wait_for_next_second

BUCKET = "validated-logs"
TRAIL = "to-s3"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"


@pytest.fixture(scope="module")
def server():
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # start() returns once the server's socket is listening.
    moto.start()
    host, port = moto.get_host_and_port()
    s3_url = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory() as work:
            options = [
                "--trail-s3-endpoint",
                s3_url,
                "--trail-s3-region",
                REGION,
                "--trail-s3-access-key-id",
                "test",
                "--trail-s3-secret-access-key",
                "test",
            ]
            with serving(os.path.join(work, "data"), *options) as url:
                yield {"url": url, "s3_url": s3_url}
    finally:
        moto.stop()


def s3_client(server):
    return boto3.client(
        "s3",
        endpoint_url=server["s3_url"],
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def keys(s3, bucket, kind):
    prefix = f"AWSLogs/{ACCOUNT}/{kind}/{REGION}/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(entry["Key"] for entry in listed)


def validate_logs(server, start_time):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        # CloudTrail is Palisade (--endpoint-url); S3 is moto.
        AWS_ENDPOINT_URL_S3=server["s3_url"],
    )
    return subprocess.run(
        [
            "aws",
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            TRAIL_ARN,
            "--start-time",
            start_time,
            "--endpoint-url",
            server["url"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_logs_accepts_delivered_files_and_names_each_tampering(server):
    start_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    s3 = s3_client(server)
    s3.create_bucket(Bucket=BUCKET)
    trail = cloudtrail(server)
    trail.create_trail(Name=TRAIL, S3BucketName=BUCKET, EnableLogFileValidation=True)
    trail.start_logging(Name=TRAIL)
    trail.describe_trails()
    trail.list_trails()
    wait_for_next_second()
    first = deliver(server)
    assert first["logFiles"] >= 1 and first["digests"] == 1
    # Digests are named to the second: the next one needs a later second.
    wait_for_next_second()
    trail.get_trail(Name=TRAIL)
    second = deliver(server)
    assert second["logFiles"] >= 1 and second["digests"] == 1

    logs = keys(s3, BUCKET, "CloudTrail")
    digests = keys(s3, BUCKET, "CloudTrail-Digest")
    assert len(logs) == first["logFiles"] + second["logFiles"] and len(digests) == 2
    # Stored as AWS stores them.
    log = s3.get_object(Bucket=BUCKET, Key=logs[0])
    assert log["ContentType"] == "application/json" and log["ContentEncoding"] == "gzip"
    assert gzip.decompress(log["Body"].read()).startswith(b'{"Records":[')
    digest = s3.head_object(Bucket=BUCKET, Key=digests[0])
    assert digest["ContentType"] == "application/json" and digest["ContentEncoding"] == "gzip"
    assert digest["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert len(digest["Metadata"]["signature"]) == 512  # hex of an RSA-2048 signature

    status = trail.get_trail_status(Name=TRAIL)
    assert "LatestDeliveryTime" in status and "LatestDigestDeliveryTime" in status
    assert "LatestDeliveryError" not in status and "LatestDigestDeliveryError" not in status

    valid = validate_logs(server, start_time)
    assert valid.returncode == 0, valid.stderr
    assert f"Validating log files for trail {TRAIL_ARN} between {start_time}" in valid.stdout
    assert "2/2 digest files valid" in valid.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in valid.stdout
    assert "INVALID" not in valid.stdout + valid.stderr

    # A modified log file.
    original = s3.get_object(Bucket=BUCKET, Key=logs[0])["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=logs[0], Body=gzip.compress(b'{"Records":[]}'))
    modified = validate_logs(server, start_time)
    assert modified.returncode == 1
    assert (
        f"Log file\ts3://{BUCKET}/{logs[0]}\tINVALID: hash value doesn't match" in modified.stderr
    )
    assert f"1/{len(logs)} log files INVALID" in modified.stdout

    # A deleted log file.
    s3.delete_object(Bucket=BUCKET, Key=logs[0])
    deleted = validate_logs(server, start_time)
    assert deleted.returncode == 1
    assert f"Log file\ts3://{BUCKET}/{logs[0]}\tINVALID: not found" in deleted.stderr
    assert f"1/{len(logs)} log files INVALID" in deleted.stdout
    s3.put_object(Bucket=BUCKET, Key=logs[0], Body=original)
    assert validate_logs(server, start_time).returncode == 0

    # A removed digest: the next one names it.
    s3.delete_object(Bucket=BUCKET, Key=digests[0])
    removed = validate_logs(server, start_time)
    assert removed.returncode == 1
    assert f"Digest file\ts3://{BUCKET}/{digests[0]}\tINVALID: not found" in removed.stderr
    assert "1/2 digest files INVALID" in removed.stdout


def test_a_missing_bucket_is_reported_and_delivery_retried(server):
    bucket = "created-later"
    s3 = s3_client(server)
    trail = cloudtrail(server)
    trail.create_trail(Name="retried", S3BucketName=bucket, EnableLogFileValidation=True)
    trail.start_logging(Name="retried")
    trail.list_trails()
    wait_for_next_second()
    deliver(server)
    status = trail.get_trail_status(Name="retried")
    assert status["LatestDeliveryError"] == "NoSuchBucket"
    assert status["LatestDeliveryAttemptSucceeded"] == "false"
    assert "LatestDeliveryTime" not in status

    # The next round delivers what the failed one could not, and the error clears.
    s3.create_bucket(Bucket=bucket)
    deliver(server)
    status = trail.get_trail_status(Name="retried")
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryAttemptSucceeded"] == "true"
    assert "LatestDeliveryTime" in status and "LatestDigestDeliveryTime" in status
    logs = keys(s3, bucket, "CloudTrail")
    assert logs and len(keys(s3, bucket, "CloudTrail-Digest")) == 1
    names = []
    for key in logs:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        names += [record["eventName"] for record in json.loads(gzip.decompress(body))["Records"]]
    assert names.count("ListTrails") == 1, names
