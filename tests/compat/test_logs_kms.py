"""KMS-encrypted CloudWatch Logs log groups with boto3: CreateLogGroup and AssociateKmsKey take a
key whose policy allows `logs.<region>.amazonaws.com`, events are stored sealed (the plaintext is
nowhere in the database files), and a disabled key fails writes and reads until it is enabled.

The module runs its own server over a data directory it can read.
"""

import json
import os
import sqlite3
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import ACCOUNT, REGION, serving
from test_logs import error, unique

ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as data_dir, serving(data_dir) as url:
        yield {"url": url, "data_dir": data_dir}


def make(server, service):
    return boto3.client(
        service,
        endpoint_url=server["url"],
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def group_arn(name):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def logs_statement(pattern):
    """The statement the CloudWatch Logs User Guide has users add to the key policy."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
        "Action": [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": group_arn(pattern)}},
    }


def create_key(server, *statements):
    kms = make(server, "kms")
    if not statements:
        return kms.create_key()["KeyMetadata"]["Arn"]
    admin = {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [admin, *statements]})
    return kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]


def encrypted_group(server, prefix):
    """A new log group `/<prefix>-...` under a new key whose policy allows Logs for such groups:
    the Logs client, the group's name and the key's ARN."""
    logs = make(server, "logs")
    name = unique(prefix)
    key = create_key(server, logs_statement(f"/{prefix}-*"))
    logs.create_log_group(logGroupName=name, kmsKeyId=key)
    return logs, name, key


def put(logs, name, stream, *messages):
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=name,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": message} for message in messages],
    )


def messages(logs, name, stream):
    events = logs.get_log_events(logGroupName=name, logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def stored_bytes(server):
    """Every byte of the store's SQLite files (the database and its write-ahead log)."""
    data = b""
    for root, _, files in os.walk(server["data_dir"]):
        for file in files:
            if file.startswith("palisade.db"):
                with open(os.path.join(root, file), "rb") as handle:
                    data += handle.read()
    return data


def event_rows(server, name):
    """The stored values of the log group `name`'s events, read from the store's database."""
    path = os.path.join(server["data_dir"], "palisade.db")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT value FROM entries WHERE keyspace = 'logs/events' AND key LIKE ?",
            (f"{ACCOUNT}/{REGION}/{name}:%",),
        ).fetchall()
    return [bytes(value) for (value,) in rows]


def test_events_of_an_encrypted_group_are_sealed_at_rest(server):
    logs, name, key = encrypted_group(server, "sealed")
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["kmsKeyId"] == key
    logs.create_log_stream(logGroupName=name, logStreamName="app")
    secret = f"card-{uuid.uuid4().hex}"
    plain = f"plain-{uuid.uuid4().hex}"
    put(logs, name, "app", f"user=alice {secret} status=200", f"user=bob {secret} status=500")

    assert messages(logs, name, "app") == [
        f"user=alice {secret} status=200",
        f"user=bob {secret} status=500",
    ]
    found = logs.filter_log_events(logGroupName=name, filterPattern="bob")["events"]
    assert [event["message"] for event in found] == [f"user=bob {secret} status=500"]
    assert secret.encode() not in stored_bytes(server)
    # One batch, one timestamp: the two events are stored together, in one row.
    rows = event_rows(server, name)
    assert len(rows) == 1 and all(b"card-" not in row for row in rows)

    # The same store keeps a plain group's messages as they are: the check above means something.
    other = unique("plain")
    logs.create_log_group(logGroupName=other)
    logs.create_log_stream(logGroupName=other, logStreamName="app")
    put(logs, other, "app", plain)
    assert plain.encode() in stored_bytes(server)


def test_keys_logs_may_not_use_are_refused(server):
    logs = make(server, "logs")
    name = unique("refused")
    arn = group_arn(name)
    default_policy = create_key(server)
    refused = error(lambda: logs.create_log_group(logGroupName=name, kmsKeyId=default_policy))
    assert refused == {
        "Code": "AccessDeniedException",
        "Message": (
            "The specified KMS key does not exist or is not allowed to be used with Arn "
            f"'{arn}'"
        ),
    }
    missing = default_policy.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    assert error(lambda: logs.create_log_group(logGroupName=name, kmsKeyId=missing))["Code"] == (
        "AccessDeniedException"
    )
    key_id = default_policy.rsplit("/", 1)[1]
    assert error(lambda: logs.create_log_group(logGroupName=name, kmsKeyId=key_id))["Code"] == (
        "InvalidParameterException"
    )
    # Nothing was created.
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


def test_associate_and_disassociate(server):
    logs = make(server, "logs")
    name = unique("assoc")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    before = f"before-{uuid.uuid4().hex}"
    during = f"during-{uuid.uuid4().hex}"
    after = f"after-{uuid.uuid4().hex}"
    put(logs, name, "s", before)

    assert error(lambda: logs.associate_kms_key(logGroupName=name, kmsKeyId=create_key(server)))[
        "Code"
    ] == "AccessDeniedException"
    key = create_key(server, logs_statement("/assoc-*"))
    logs.associate_kms_key(resourceIdentifier=group_arn(name), kmsKeyId=key)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["kmsKeyId"] == key
    put(logs, name, "s", during)

    logs.disassociate_kms_key(logGroupName=name)
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    put(logs, name, "s", after)

    assert messages(logs, name, "s") == [before, during, after]
    stored = stored_bytes(server)
    assert before.encode() in stored
    assert during.encode() not in stored
    assert after.encode() in stored

    missing = unique("assoc")
    assert error(lambda: logs.associate_kms_key(logGroupName=missing, kmsKeyId=key))["Code"] == (
        "ResourceNotFoundException"
    )
    both = error(
        lambda: logs.associate_kms_key(
            logGroupName=name, resourceIdentifier=group_arn(name), kmsKeyId=key
        )
    )
    assert both["Code"] == "InvalidParameterException"


def test_a_disabled_key_fails_writes_and_reads_until_enabled(server):
    logs, name, key = encrypted_group(server, "disable")
    kms = make(server, "kms")
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    put(logs, name, "s", "first")

    kms.disable_key(KeyId=key)
    expected = {
        "Code": "InvalidParameterException",
        "Message": (
            "The specified KMS key is disabled and cannot be used with Arn "
            f"'{group_arn(name)}'"
        ),
    }
    assert error(lambda: put(logs, name, "s", "second")) == expected
    assert error(lambda: messages(logs, name, "s")) == expected
    assert error(lambda: logs.filter_log_events(logGroupName=name))["Code"] == (
        "InvalidParameterException"
    )

    kms.enable_key(KeyId=key)
    put(logs, name, "s", "second")
    assert messages(logs, name, "s") == ["first", "second"]


def test_eventbridge_delivers_to_an_encrypted_group(server):
    logs, name, key = encrypted_group(server, "targets")
    events = make(server, "events")
    rule = f"to-encrypted-{uuid.uuid4().hex[:8]}"
    source = f"palisade.test.{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    assert events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": group_arn(name)}])[
        "FailedEntryCount"
    ] == 0
    marker = f"marker-{uuid.uuid4().hex}"
    answer = events.put_events(
        Entries=[{"Source": source, "DetailType": "test", "Detail": json.dumps({"m": marker})}]
    )
    assert answer["FailedEntryCount"] == 0

    # Delivery is asynchronous: poll, bounded by a deadline.
    end = time.monotonic() + 20
    while not (found := logs.filter_log_events(logGroupName=name)["events"]):
        assert time.monotonic() < end, "the event did not reach the encrypted group"
        time.sleep(0.05)
    assert json.loads(found[0]["message"])["detail"] == {"m": marker}
    # EventBridge keeps the event itself; what Logs stores of it is sealed.
    (row,) = event_rows(server, name)
    assert marker.encode() not in row
