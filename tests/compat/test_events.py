"""EventBridge with boto3 and the AWS CLI: buses, rules, targets, PutEvents and TestEventPattern."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

EVENT = {
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Order Placed",
    "source": "com.example.shop",
    "account": ACCOUNT,
    "time": "2026-11-28T12:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:s3:::bucket/orders"],
    "detail": {"total": 42.5, "currency": "EUR", "customer": {"tier": "gold"}, "coupon": None},
}


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_event_pattern_matching(client):
    events = client("events")

    def test(pattern):
        return events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))["Result"]

    assert test({"source": ["com.example.shop"], "detail": {"total": [{"numeric": [">", 40, "<=", 50]}]}})
    assert not test({"detail": {"total": [{"numeric": [">", 50]}]}})
    assert test({"detail": {"coupon": [None], "missing": [{"exists": False}]}})
    assert test({"detail": {"currency": [{"equals-ignore-case": "eur"}], "customer": {"tier": [{"prefix": "go"}]}}})
    assert test({"$or": [{"source": ["other"]}, {"resources": [{"wildcard": "arn:aws:s3:::bucket/*"}]}]})
    assert not test({"detail-type": [{"anything-but": ["Order Placed"]}]})

    code, message = error(lambda: events.test_event_pattern(EventPattern='{"source": "x"}', Event=json.dumps(EVENT)))
    assert code == "InvalidEventPatternException"
    assert message.startswith("Event pattern is not valid. Reason: ")
    code, _ = error(
        lambda: events.test_event_pattern(
            EventPattern='{"n": [{"numeric": [">", 5, "<", 1]}]}', Event=json.dumps(EVENT)
        )
    )
    assert code == "InvalidEventPatternException"


def test_buses_rules_and_targets(client):
    events = client("events")
    bus = unique("orders")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
    assert events.describe_event_bus()["Name"] == "default"
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names and bus in names

    rule = unique("big-orders")
    rule_arn = events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 10]}]}})
    )["RuleArn"]
    assert rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{rule}"
    described = events.describe_rule(Name=rule, EventBusName=bus)
    assert (described["State"], described["EventBusName"]) == ("ENABLED", bus)

    code, message = error(
        lambda: events.put_rule(Name=unique("tick"), EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    )
    assert (code, message) == ("ValidationException", "ScheduleExpression is supported only on the default event bus.")
    code, message = error(lambda: events.put_rule(Name=unique("tick"), ScheduleExpression="rate(1 minutes)"))
    assert (code, message) == ("ValidationException", "Parameter ScheduleExpression is not valid.")

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{rule}"
    put = events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue}])
    assert put["FailedEntryCount"] == 0
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]] == ["q"]
    assert events.list_rule_names_by_target(TargetArn=queue, EventBusName=bus)["RuleNames"] == [rule]

    code, message = error(lambda: events.delete_rule(Name=rule, EventBusName=bus))
    assert (code, message) == ("ValidationException", "Rule can't be deleted since it has targets.")
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["q"])
    events.disable_rule(Name=rule, EventBusName=bus)
    assert events.describe_rule(Name=rule, EventBusName=bus)["State"] == "DISABLED"
    events.delete_rule(Name=rule, EventBusName=bus)
    code, _ = error(lambda: events.describe_rule(Name=rule, EventBusName=bus))
    assert code == "ResourceNotFoundException"
    events.delete_event_bus(Name=bus)


def test_put_events_reports_each_entry(client):
    events = client("events")
    answer = events.put_events(
        Entries=[
            {"Source": "com.example.shop", "DetailType": "Order Placed", "Detail": json.dumps(EVENT["detail"])},
            {"Source": "com.example.shop", "DetailType": "Order Placed", "Detail": "not json"},
            {"Source": "aws.ec2", "DetailType": "x", "Detail": "{}"},
        ]
    )
    assert answer["FailedEntryCount"] == 2
    first, malformed, reserved = answer["Entries"]
    assert "EventId" in first
    assert malformed["ErrorMessage"] == "Detail is malformed."
    assert reserved["ErrorCode"] == "NotAuthorizedForSourceException"


def test_cli_test_event_pattern(aws_env):
    out = subprocess.run(
        [
            "aws", "events", "test-event-pattern",
            "--event-pattern", json.dumps({"source": [{"prefix": "com.example"}]}),
            "--event", json.dumps(EVENT),
            "--output", "json",
        ],
        env=aws_env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(out.stdout) == {"Result": True}


def test_tags_on_rules_and_buses(client):
    events = client("events")
    bus = unique("tagged-bus")
    bus_arn = events.create_event_bus(Name=bus, Tags=[{"Key": "team", "Value": "payments"}])[
        "EventBusArn"
    ]
    rule = unique("tagged-rule")
    rule_arn = events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["com.example"]}),
        Tags=[{"Key": "env", "Value": "dev"}],
    )["RuleArn"]
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [
        {"Key": "team", "Value": "payments"}
    ]
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]

    events.tag_resource(
        ResourceARN=rule_arn,
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "ops"}],
    )
    # Updating the rule keeps its tags.
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "owner", "Value": "ops"},
    ]
    events.untag_resource(ResourceARN=rule_arn, TagKeys=["env", "absent"])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "owner", "Value": "ops"}
    ]

    # A rule made again under a deleted one's name starts without its tags.
    events.delete_rule(Name=rule, EventBusName=bus)
    code, message = error(lambda: events.list_tags_for_resource(ResourceARN=rule_arn))
    assert code == "ResourceNotFoundException"
    assert message == f"Rule {rule} does not exist on EventBus {bus}."
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == []

    code, _ = error(
        lambda: events.tag_resource(
            ResourceARN=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{unique('missing')}",
            Tags=[{"Key": "k", "Value": "v"}],
        )
    )
    assert code == "ResourceNotFoundException"
    code, _ = error(lambda: events.tag_resource(ResourceARN=bus_arn, Tags=[{"Key": "", "Value": "v"}]))
    assert code == "ValidationException"
    events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
