"""CloudTrail event history: every call, looked up with boto3 and the AWS CLI.

The session's server is shared by every test, so these tests work in a region of their own and
look only at the events they caused.
"""

import json
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest

REGION = "eu-west-3"


def test_calls_appear_newest_first_with_their_record(client):
    kms = client("kms", region=REGION)
    description = f"history-{uuid.uuid4()}"
    key_id = kms.create_key(Description=description)["KeyMetadata"]["KeyId"]
    kms.describe_key(KeyId=key_id)
    with pytest.raises(botocore.exceptions.ClientError):
        kms.describe_key(KeyId="alias/does-not-exist")

    trail = client("cloudtrail", region=REGION)
    events = trail.lookup_events(MaxResults=50)["Events"]
    names = [event["EventName"] for event in events]
    # Newest first: the failed DescribeKey, the successful one, then CreateKey.
    assert names[:3] == ["DescribeKey", "DescribeKey", "CreateKey"], names
    failed, described, created = events[:3]
    assert failed["EventTime"] >= described["EventTime"] >= created["EventTime"]
    record = json.loads(created["CloudTrailEvent"])
    assert record["eventSource"] == "kms.amazonaws.com"
    assert record["awsRegion"] == REGION
    assert record["requestParameters"]["description"] == description
    assert record["userIdentity"]["type"] == "Root"
    assert created["Username"] == "root"
    assert created["ReadOnly"] == "false" and described["ReadOnly"] == "true"
    assert json.loads(failed["CloudTrailEvent"])["errorCode"] == "NotFoundException"


def test_kms_records_name_the_key_they_used(client):
    kms = client("kms", region=REGION)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.encrypt(KeyId=key_arn, Plaintext=b"secret words")

    trail = client("cloudtrail", region=REGION)
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key_arn}]
    )["Events"]
    assert [event["EventName"] for event in events] == ["Encrypt", "CreateKey"]
    encrypt = events[0]
    assert encrypt["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key_arn}]
    record = json.loads(encrypt["CloudTrailEvent"])
    assert record["resources"] == [
        {"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": key_arn}
    ]
    # A cryptographic operation is read-only and records no response elements, as in AWS.
    assert record["readOnly"] is True and record["responseElements"] is None
    assert "secret words" not in encrypt["CloudTrailEvent"]


def test_lookup_by_attribute_pages_and_time_range(client):
    kms = client("kms", region=REGION)
    for _ in range(3):
        kms.create_key(Description="paged")
    trail = client("cloudtrail", region=REGION)
    by_name = {"AttributeKey": "EventName", "AttributeValue": "CreateKey"}
    first = trail.lookup_events(LookupAttributes=[by_name], MaxResults=2)
    assert [event["EventName"] for event in first["Events"]] == ["CreateKey"] * 2
    second = trail.lookup_events(
        LookupAttributes=[by_name], MaxResults=2, NextToken=first["NextToken"]
    )
    assert second["Events"] and all(e["EventName"] == "CreateKey" for e in second["Events"])
    seen = {e["EventId"] for e in first["Events"]}
    assert not seen & {e["EventId"] for e in second["Events"]}

    event_id = first["Events"][0]["EventId"]
    by_id = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}]
    )["Events"]
    assert [event["EventId"] for event in by_id] == [event_id]

    past = datetime.now(timezone.utc) - timedelta(days=3)
    assert trail.lookup_events(StartTime=past - timedelta(days=1), EndTime=past)["Events"] == []


def test_bad_lookups_are_refused(client):
    trail = client("cloudtrail", region=REGION)
    now = datetime.now(timezone.utc)
    cases = [
        ({"StartTime": now, "EndTime": now - timedelta(hours=1)}, "InvalidTimeRangeException"),
        ({"MaxResults": 51}, "ValidationException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "CreateKey"},
                    {"AttributeKey": "ReadOnly", "AttributeValue": "false"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
    ]
    for arguments, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            trail.lookup_events(**arguments)
        assert raised.value.response["Error"]["Code"] == code, arguments
        assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


def test_lookup_events_with_the_aws_cli(aws_env, client):
    client("kms", region=REGION).list_keys()
    env = dict(aws_env, AWS_DEFAULT_REGION=REGION)
    out = subprocess.run(
        [
            "aws", "cloudtrail", "lookup-events", "--max-results", "5",
            "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ListKeys",
        ],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    events = json.loads(out.stdout)["Events"]
    assert events and {event["EventName"] for event in events} == {"ListKeys"}
