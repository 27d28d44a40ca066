"""EventBridge delivers events to log group targets: service events (Parameter Store, KMS) on the
default bus, PutEvents entries shaped by an input transformer, and the events of scheduled
rules, read back with boto3's CloudWatch Logs client."""

import json
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from conftest import ACCOUNT, REGION

# Delivery is asynchronous: poll until the event arrives; the deadline only ends a broken run.
DEADLINE_S = 30.0


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def log_group_target(client):
    logs = client("logs")
    group = unique("/palisade/events")
    logs.create_log_group(logGroupName=group)
    return logs, group, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"


def rule_to(events, name, pattern, target):
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    answer = events.put_targets(Rule=name, Targets=[target])
    assert answer["FailedEntryCount"] == 0


def wait_for_log_events(logs, group, count=1):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        found = logs.filter_log_events(logGroupName=group)["events"]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no event reached {group} within {DEADLINE_S} s")


def test_parameter_store_change_reaches_a_log_group(client):
    logs, group, group_arn = log_group_target(client)
    events = client("events")
    ssm = client("ssm")
    name = "/" + unique("delivery") + "/db-host"
    rule_to(
        events,
        unique("ssm-changes"),
        {"source": ["aws.ssm"], "detail-type": ["Parameter Store Change"], "detail": {"name": [name]}},
        {"Id": "log", "Arn": group_arn},
    )

    ssm.put_parameter(Name=name, Value="db-1.internal", Type="String")

    (found,) = wait_for_log_events(logs, group)
    event = json.loads(found["message"])
    assert event["version"] == "0"
    assert event["source"] == "aws.ssm"
    assert event["detail-type"] == "Parameter Store Change"
    assert event["account"] == ACCOUNT
    assert event["region"] == REGION
    assert event["resources"] == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"]
    assert event["detail"]["name"] == name
    assert event["detail"]["operation"] == "Create"
    assert event["detail"]["type"] == "String"
    assert "db-1.internal" not in found["message"]
    uuid.UUID(event["id"])
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    # The stream is named after the event id.
    assert found["logStreamName"] == event["id"]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [stream["logStreamName"] for stream in streams] == [event["id"]]


def test_kms_rotation_reaches_a_log_group(client):
    logs, group, group_arn = log_group_target(client)
    events = client("events")
    kms = client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    rule_to(
        events,
        unique("kms-rotation"),
        {"source": ["aws.kms"], "detail-type": ["KMS CMK Rotation"], "detail": {"key-id": [key_id]}},
        {"Id": "log", "Arn": group_arn},
    )

    kms.rotate_key_on_demand(KeyId=key_id)

    (found,) = wait_for_log_events(logs, group)
    event = json.loads(found["message"])
    assert event["source"] == "aws.kms"
    assert event["detail-type"] == "KMS CMK Rotation"
    assert event["resources"] == [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"]
    assert event["detail"]["key-id"] == key_id
    assert event["detail"]["rotation-type"] == "ON_DEMAND"


def test_put_events_with_an_input_transformer(client):
    logs, group, group_arn = log_group_target(client)
    events = client("events")
    source = unique("com.example.shop")
    rule = unique("orders")
    rule_to(
        events,
        rule,
        {"source": [source], "detail": {"total": [{"numeric": [">", 10]}]}},
        {
            "Id": "log",
            "Arn": group_arn,
            "InputTransformer": {
                "InputPathsMap": {"order": "$.detail.order-id", "total": "$.detail.total", "time": "$.time"},
                "InputTemplate": '{"timestamp": <time>, "message": "order <order> of <total> matched <aws.events.rule-name>"}',
            },
        },
    )

    # A recent time: CloudWatch Logs refuses log events older than 14 days.
    placed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    answer = events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Order Placed",
                "Detail": json.dumps({"order-id": "o-1", "total": 5}),
            },
            {
                "Source": source,
                "DetailType": "Order Placed",
                "Detail": json.dumps({"order-id": "o-2", "total": 42.5}),
                "Time": placed,
            },
        ]
    )
    assert answer["FailedEntryCount"] == 0

    (found,) = wait_for_log_events(logs, group)
    assert found["message"] == f"order o-2 of 42.5 matched {rule}"
    # The entry's time, through the template's timestamp, is the log event's.
    assert found["timestamp"] == int(placed.timestamp()) * 1000
    assert found["logStreamName"] == answer["Entries"][1]["EventId"]


def fire_schedules(endpoint):
    request = urllib.request.Request(endpoint + "/_palisade/events/schedule", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def test_a_cron_rule_fires_at_its_minute(client, endpoint):
    """A rule with `cron(* * * * ? *)` fires at the first minute after the scheduler saw it. The
    test asks the scheduler to look (local mode) instead of waiting for its own tick, and so
    waits about as long as the rest of the current minute."""
    logs, group, group_arn = log_group_target(client)
    events = client("events")
    name = unique("every-minute")
    events.put_rule(Name=name, ScheduleExpression="cron(* * * * ? *)")
    answer = events.put_targets(Rule=name, Targets=[{"Id": "log", "Arn": group_arn}])
    assert answer["FailedEntryCount"] == 0
    try:
        # The first look begins the schedule: nothing is due yet.
        assert fire_schedules(endpoint)["status"] == "ok"
        # Only a broken run waits the whole deadline; the pause only paces the looking.
        deadline = time.monotonic() + 90
        while not logs.filter_log_events(logGroupName=group)["events"]:
            assert time.monotonic() < deadline, "the rule did not fire within 90 s"
            fire_schedules(endpoint)
            time.sleep(0.5)
        found = wait_for_log_events(logs, group)[0]
        event = json.loads(found["message"])
        assert event["source"] == "aws.events"
        assert event["detail-type"] == "Scheduled Event"
        assert event["account"] == ACCOUNT
        assert event["region"] == REGION
        assert event["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"]
        assert event["detail"] == {}
        assert event["time"].endswith(":00Z"), "a cron rule fires on the minute"
    finally:
        events.remove_targets(Rule=name, Ids=["log"])
        events.delete_rule(Name=name)
