"""Trails streaming their records to CloudWatch Logs, with boto3: each record a trail covers
becomes a log event in the stream `<account>_CloudTrail_<region>` of the trail's log group, its
message the record's JSON and its timestamp the record's eventTime; event selectors decide which
records; GetTrailStatus reports the latest delivery and the latest error.

Streaming aims to land a record within a second of its call. The tests wait on the events
themselves, by polling the log group, with a deadline of a few seconds that only bounds a broken
run. They work in a region of their own and delete their trails and log groups.
"""

import calendar
import json
import time
import uuid

import pytest

from conftest import ACCOUNT

REGION = "eu-north-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
BUCKET = "palisade-trail-logs"
STREAM = f"{ACCOUNT}_CloudTrail_{REGION}"
DEADLINE_S = 5.0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def group_arn(group):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"


def request_id(response):
    return response["ResponseMetadata"]["RequestId"]


def streamed(logs, group):
    """The records in the log group so far, by request id, each with its log event."""
    found = {}
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            record = json.loads(event["message"])
            found[record["requestID"]] = (record, event)
    return found


def wait_for_records(logs, group, request_ids):
    """Polls the log group until it holds the records of every call in `request_ids`."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = streamed(logs, group)
        if all(wanted in found for wanted in request_ids):
            return found
        assert time.monotonic() < deadline, f"not streamed: {set(request_ids) - set(found)}"
        # Paces the polling; what is awaited is the records themselves.
        time.sleep(0.05)


def wait_for_status(trail, name, done):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = trail.get_trail_status(Name=name)
        if done(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def logging_trail(client, group, **settings):
    trail = client("cloudtrail", region=REGION)
    name = unique("streamed")
    trail.create_trail(
        Name=name,
        S3BucketName=BUCKET,
        CloudWatchLogsLogGroupArn=group_arn(group),
        CloudWatchLogsRoleArn=ROLE,
        **settings,
    )
    trail.start_logging(Name=name)
    return trail, name


def epoch_millis(event_time):
    return calendar.timegm(time.strptime(event_time, "%Y-%m-%dT%H:%M:%SZ")) * 1000


def test_records_stream_to_the_trails_log_group(client):
    logs = client("logs", region=REGION)
    group = unique("/trail/records")
    logs.create_log_group(logGroupName=group)
    trail, name = logging_trail(client, group)
    kms = client("kms", region=REGION)

    created = kms.create_key(Description="streamed to a log group")
    key_id = created["KeyMetadata"]["KeyId"]
    described = kms.describe_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.NotFoundException) as raised:
        kms.describe_key(KeyId="alias/no-such-key")
    refused = raised.value.response
    calls = {
        request_id(created): "CreateKey",
        request_id(described): "DescribeKey",
        request_id(refused): "DescribeKey",
    }
    started = time.monotonic()
    found = wait_for_records(logs, group, calls)
    print(f"streamed within {time.monotonic() - started:.3f} s of the last call")

    for call, event_name in calls.items():
        record, event = found[call]
        assert record["eventName"] == event_name
        assert record["eventSource"] == "kms.amazonaws.com"
        assert record["awsRegion"] == REGION
        assert record["recipientAccountId"] == ACCOUNT
        assert record["eventCategory"] == "Management"
        assert event["logStreamName"] == STREAM
        assert event["timestamp"] == epoch_millis(record["eventTime"])
    assert found[request_id(refused)][0]["errorCode"] == "NotFoundException"
    assert found[request_id(described)][0]["readOnly"] is True

    # The same events, read from their stream.
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [stream["logStreamName"] for stream in streams] == [STREAM]
    in_stream = logs.get_log_events(logGroupName=group, logStreamName=STREAM, startFromHead=True)
    ids = {json.loads(event["message"])["requestID"] for event in in_stream["events"]}
    assert set(calls) <= ids

    status = wait_for_status(trail, name, lambda s: "LatestCloudWatchLogsDeliveryTime" in s)
    assert "LatestCloudWatchLogsDeliveryError" not in status
    described_trail = trail.get_trail(Name=name)["Trail"]
    assert described_trail["CloudWatchLogsLogGroupArn"] == group_arn(group)
    assert described_trail["CloudWatchLogsRoleArn"] == ROLE

    trail.delete_trail(Name=name)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    logs.delete_log_group(logGroupName=group)


def test_event_selectors_decide_what_streams(client):
    logs = client("logs", region=REGION)
    group = unique("/trail/selected")
    logs.create_log_group(logGroupName=group)
    trail, name = logging_trail(client, group)
    kms = client("kms", region=REGION)
    ssm = client("ssm", region=REGION)

    # Write events only: a read-only call is left out.
    trail.put_event_selectors(
        TrailName=name,
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    read = kms.list_keys()
    write = kms.create_key(Description="a write")
    key_id = write["KeyMetadata"]["KeyId"]
    # Records stream in the order of their calls: once the later one is in, the earlier one
    # would be too.
    found = wait_for_records(logs, group, [request_id(write)])
    assert request_id(read) not in found
    assert found[request_id(write)][0]["readOnly"] is False

    # Advanced selectors: management events of every source but KMS.
    trail.put_event_selectors(
        TrailName=name,
        AdvancedEventSelectors=[
            {
                "Name": "management events but KMS",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                ],
            }
        ],
    )
    kms_call = kms.describe_key(KeyId=key_id)
    parameter = unique("/trail/parameter")
    ssm_call = ssm.put_parameter(Name=parameter, Value="v", Type="String")
    found = wait_for_records(logs, group, [request_id(ssm_call)])
    assert request_id(kms_call) not in found
    assert found[request_id(ssm_call)][0]["eventSource"] == "ssm.amazonaws.com"

    trail.delete_trail(Name=name)
    ssm.delete_parameter(Name=parameter)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    logs.delete_log_group(logGroupName=group)


def test_a_missing_log_group_is_reported_in_trail_status(client):
    logs = client("logs", region=REGION)
    group = unique("/trail/missing")
    trail, name = logging_trail(client, group)
    status = trail.get_trail_status(Name=name)
    assert "LatestCloudWatchLogsDeliveryTime" not in status

    client("kms", region=REGION).list_keys()
    status = wait_for_status(trail, name, lambda s: "LatestCloudWatchLogsDeliveryError" in s)
    assert status["LatestCloudWatchLogsDeliveryError"] == (
        "ResourceNotFoundException: The specified log group does not exist."
    )
    assert "LatestCloudWatchLogsDeliveryTime" not in status

    # Once the log group exists, records stream again and the error clears.
    logs.create_log_group(logGroupName=group)
    call = client("kms", region=REGION).list_keys()
    wait_for_records(logs, group, [request_id(call)])
    status = wait_for_status(trail, name, lambda s: "LatestCloudWatchLogsDeliveryError" not in s)
    assert "LatestCloudWatchLogsDeliveryTime" in status

    trail.delete_trail(Name=name)
    logs.delete_log_group(logGroupName=group)
