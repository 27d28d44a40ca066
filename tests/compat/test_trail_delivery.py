"""Trail delivery to a local directory, digests, and `palisade trail validate`.

The server here is this module's own, so that the test knows its data and delivery
directories. Delivery is triggered through the local-mode endpoint rather than waited for.
Digest signatures are also checked with the AWS CLI's own validator class, fed the public key
that ListPublicKeys answers.
"""

import base64
import glob
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import boto3
import pytest
from awscli.customizations.cloudtrail.validation import Sha256RSADigestValidator
from botocore.config import Config

from conftest import ACCOUNT, REGION, serving

BUCKET = "delivered-logs"
TRAIL = "validated"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as work:
        data_dir = os.path.join(work, "data")
        delivery_dir = os.path.join(work, "trails")
        with serving(data_dir, "--trail-delivery-dir", delivery_dir) as url:
            yield {"url": url, "data_dir": data_dir, "delivery_dir": delivery_dir}


def cloudtrail(server):
    return boto3.client(
        "cloudtrail",
        endpoint_url=server["url"],
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def deliver(server):
    request = urllib.request.Request(
        server["url"] + "/_palisade/cloudtrail/deliver", method="POST", data=b""
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def wait_for_next_second():
    # Waits on the wall clock itself; the deadline only bounds a broken clock.
    start = int(time.time())
    deadline = time.monotonic() + 5
    while int(time.time()) == start:
        assert time.monotonic() < deadline


def save_public_keys(server, aws_env):
    # What a user does: ask the server for its keys with the AWS CLI.
    listed = subprocess.run(
        ["aws", "cloudtrail", "list-public-keys", "--endpoint-url", server["url"]],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = os.path.join(os.path.dirname(server["delivery_dir"]), "public-keys.json")
    with open(path, "w") as keys:
        keys.write(listed.stdout)
    server["public_keys"] = path


def validate(server):
    return subprocess.run(
        [
            os.environ["PALISADE_BINARY"],
            "trail",
            "validate",
            server["delivery_dir"],
            "--trail-arn",
            TRAIL_ARN,
            "--public-keys",
            server["public_keys"],
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def files(server, kind):
    pattern = os.path.join(
        server["delivery_dir"], BUCKET, "AWSLogs", ACCOUNT, kind, REGION, "*", "*", "*", "*.json.gz"
    )
    return sorted(glob.glob(pattern))


def test_delivered_files_validate_and_tampering_is_named(server, aws_env):
    trail = cloudtrail(server)
    trail.create_trail(Name=TRAIL, S3BucketName=BUCKET, EnableLogFileValidation=True)
    trail.start_logging(Name=TRAIL)
    trail.describe_trails()
    trail.list_trails()
    wait_for_next_second()
    first = deliver(server)
    assert first["status"] == "ok" and first["logFiles"] >= 1 and first["digests"] == 1

    # Digests are named to the second: the next one needs a later second.
    wait_for_next_second()
    trail.get_trail(Name=TRAIL)
    second = deliver(server)
    assert second["logFiles"] >= 1 and second["digests"] == 1

    logs = files(server, "CloudTrail")
    digests = files(server, "CloudTrail-Digest")
    assert len(digests) == 2
    name = os.path.basename(logs[0])
    assert name.startswith(f"{ACCOUNT}_CloudTrail_{REGION}_") and len(name.split("_")[-1]) == len(
        "0123456789abcdef.json.gz"
    )
    names = []
    for path in logs:
        with gzip.open(path) as log:
            names += [record["eventName"] for record in json.load(log)["Records"]]
    # Only calls after StartLogging, each once.
    assert "CreateTrail" not in names
    for operation in ["DescribeTrails", "ListTrails", "GetTrail"]:
        assert names.count(operation) == 1, names

    status = trail.get_trail_status(Name=TRAIL)
    assert "LatestDeliveryTime" in status and "LatestDigestDeliveryTime" in status

    # The AWS CLI's validator accepts the signatures, with the key ListPublicKeys answers.
    keys = {key["Fingerprint"]: key for key in trail.list_public_keys()["PublicKeyList"]}
    for path in digests:
        with open(path, "rb") as raw:
            inflated = gzip.decompress(raw.read())
        digest = json.loads(inflated)
        assert digest["digestSignatureAlgorithm"] == "SHA256withRSA"
        with open(path + ".signature") as signature:
            digest["_signature"] = signature.read().strip()
        key = keys[digest["digestPublicKeyFingerprint"]]["Value"]
        Sha256RSADigestValidator().validate(
            BUCKET, digest["digestS3Object"], base64.b64encode(key), digest, inflated
        )
    newest = json.loads(gzip.decompress(open(digests[-1], "rb").read()))
    assert newest["previousDigestS3Object"] == json.loads(
        gzip.decompress(open(digests[0], "rb").read())
    )["digestS3Object"]

    save_public_keys(server, aws_env)
    valid = validate(server)
    assert valid.returncode == 0, valid.stderr
    assert "Results requested for" in valid.stdout
    assert "2/2 digest files valid" in valid.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in valid.stdout

    # A modified log file.
    saved = os.path.join(os.path.dirname(server["delivery_dir"]), "saved.json.gz")
    shutil.copy(logs[0], saved)
    with gzip.open(logs[0], "wb") as log:
        log.write(b'{"Records":[]}')
    modified = validate(server)
    assert modified.returncode != 0
    assert os.path.basename(logs[0]) in modified.stderr
    assert "hash value doesn't match" in modified.stderr
    assert "log files INVALID" in modified.stdout

    # A deleted log file.
    os.remove(logs[0])
    deleted = validate(server)
    assert deleted.returncode != 0
    assert "INVALID: not found" in deleted.stderr
    shutil.copy(saved, logs[0])
    assert validate(server).returncode == 0

    # A removed digest: the next one names it.
    os.remove(digests[0])
    removed = validate(server)
    assert removed.returncode != 0
    assert os.path.basename(digests[0]) in removed.stderr
    assert "digest files INVALID" in removed.stdout
