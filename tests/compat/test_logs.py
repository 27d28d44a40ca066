"""CloudWatch Logs with boto3 and the AWS CLI: log groups, retention and tags, streams, events
with their batch rules and tokens, filter patterns, and metric filters."""

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]


def unique(prefix):
    # Tests share one server per session: each works under its own group.
    return f"/{prefix}-{uuid.uuid4().hex[:8]}"


def now_ms():
    return int(time.time() * 1000)


def test_log_groups_retention_and_tags(client):
    logs = client("logs")
    name = unique("groups")
    logs.create_log_group(logGroupName=name, tags={"team": "core"}, logGroupClass="STANDARD")
    assert error(lambda: logs.create_log_group(logGroupName=name))["Code"] == "ResourceAlreadyExistsException"

    group = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    assert (group["logGroupName"], group["arn"], group["logGroupArn"]) == (name, arn + ":*", arn)
    assert group["logGroupClass"] == "STANDARD"
    assert "retentionInDays" not in group

    refused = error(lambda: logs.put_retention_policy(logGroupName=name, retentionInDays=2))
    assert refused["Code"] == "InvalidParameterException"
    logs.put_retention_policy(logGroupName=name, retentionInDays=14)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["retentionInDays"] == 14
    logs.delete_retention_policy(logGroupName=name)

    logs.tag_resource(resourceArn=arn, tags={"env": "test"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}
    logs.tag_log_group(logGroupName=name, tags={"old": "api"})
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"env": "test", "old": "api"}

    logs.delete_log_group(logGroupName=name)
    missing = error(lambda: logs.delete_log_group(logGroupName=name))
    assert (missing["Code"], missing["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )


def test_describe_log_groups_pages(client):
    logs = client("logs")
    base = unique("paging")
    names = [f"{base}/{i}" for i in range(5)]
    for name in names:
        logs.create_log_group(logGroupName=name)
    seen, token = [], None
    while True:
        kwargs = {"logGroupNamePrefix": base, "limit": 2}
        if token:
            kwargs["nextToken"] = token
        page = logs.describe_log_groups(**kwargs)
        seen += [group["logGroupName"] for group in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    paginated = logs.get_paginator("describe_log_groups").paginate(logGroupNamePattern=base[1:])
    assert sum(len(page["logGroups"]) for page in paginated) == 5


def test_put_and_get_log_events(client):
    logs = client("logs")
    group = unique("events")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    start = now_ms()
    put = logs.put_log_events(
        logGroupName=group,
        logStreamName="app",
        logEvents=[{"timestamp": start + i, "message": f"line {i}"} for i in range(5)],
    )
    assert "rejectedLogEventsInfo" not in put
    unordered = error(
        lambda: logs.put_log_events(
            logGroupName=group,
            logStreamName="app",
            logEvents=[{"timestamp": start, "message": "b"}, {"timestamp": start - 1, "message": "a"}],
        )
    )
    assert unordered["Code"] == "InvalidParameterException"
    rejected = logs.put_log_events(
        logGroupName=group,
        logStreamName="app",
        logEvents=[{"timestamp": start - 15 * 86_400_000, "message": "ancient"}],
        sequenceToken="ignored",
    )
    assert rejected["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}

    head = logs.get_log_events(logGroupName=group, logStreamName="app", startFromHead=True, limit=3)
    assert [event["message"] for event in head["events"]] == ["line 0", "line 1", "line 2"]
    rest = logs.get_log_events(
        logGroupName=group, logStreamName="app", nextToken=head["nextForwardToken"]
    )
    assert [event["message"] for event in rest["events"]] == ["line 3", "line 4"]
    end = logs.get_log_events(logGroupName=group, logStreamName="app", nextToken=rest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]

    tail = logs.get_log_events(logGroupName=group, logStreamName="app", limit=2)
    assert [event["message"] for event in tail["events"]] == ["line 3", "line 4"]

    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert (stream["logStreamName"], stream["firstEventTimestamp"], stream["lastEventTimestamp"]) == (
        "app",
        start,
        start + 4,
    )


def test_filter_log_events_patterns(client):
    logs = client("logs")
    group = unique("filter")
    logs.create_log_group(logGroupName=group)
    start = now_ms()
    for stream, messages in {
        "web": ["ERROR boom", json.dumps({"level": "warn", "ms": 900})],
        "worker": ['10.0.0.1 ana 404 1200', "INFO fine"],
    }.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)],
        )

    def found(**kwargs):
        events = logs.filter_log_events(logGroupName=group, **kwargs)["events"]
        return sorted(event["message"] for event in events)

    assert found(filterPattern="ERROR") == ["ERROR boom"]
    assert found(filterPattern="?ERROR ?INFO") == ["ERROR boom", "INFO fine"]
    assert found(filterPattern="{ $.ms > 500 }") == [json.dumps({"level": "warn", "ms": 900})]
    assert found(filterPattern="[ip, user, status = 4*, bytes > 1000]") == ["10.0.0.1 ana 404 1200"]
    assert len(found(logStreamNames=["worker"])) == 2
    assert len(found(logStreamNamePrefix="we")) == 2
    bad = error(lambda: logs.filter_log_events(logGroupName=group, filterPattern="{ $.a = "))
    assert bad["Code"] == "InvalidParameterException"
    assert bad["Message"].startswith("Invalid filter pattern")


def test_metric_filters(client):
    logs = client("logs")
    group = unique("metrics")
    logs.create_log_group(logGroupName=group)
    logs.put_metric_filter(
        logGroupName=group,
        filterName="latency",
        filterPattern="{ $.ms > 0 }",
        metricTransformations=[
            {
                "metricName": "Latency",
                "metricNamespace": "App",
                "metricValue": "$.ms",
                "dimensions": {"Service": "$.service"},
                "unit": "Milliseconds",
            }
        ],
    )
    described = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in described] == ["latency"]
    assert described[0]["metricTransformations"][0]["dimensions"] == {"Service": "$.service"}
    by_metric = logs.describe_metric_filters(metricName="Latency", metricNamespace="App")["metricFilters"]
    assert "latency" in [f["filterName"] for f in by_metric]

    no_dimensions = error(
        lambda: logs.put_metric_filter(
            logGroupName=group,
            filterName="terms",
            filterPattern="ERROR",
            metricTransformations=[
                {"metricName": "E", "metricNamespace": "App", "metricValue": "1", "dimensions": {"D": "$.d"}}
            ],
        )
    )
    assert no_dimensions["Code"] == "InvalidParameterException"

    tested = logs.test_metric_filter(
        filterPattern="[ip, user, status = 4*, bytes]",
        logEventMessages=["10.0.0.1 ana 404 12", "10.0.0.2 bob 200 7"],
    )["matches"]
    assert [(m["eventNumber"], m["extractedValues"]["$status"]) for m in tested] == [(1, "404")]

    logs.delete_metric_filter(logGroupName=group, filterName="latency")
    gone = error(lambda: logs.delete_metric_filter(logGroupName=group, filterName="latency"))
    assert gone["Code"] == "ResourceNotFoundException"


def test_filter_log_events_with_the_aws_cli(client, aws_env):
    logs = client("logs")
    group = unique("cli")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    start = now_ms()
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": start + i, "message": f"{level} event {i}"} for i, level in enumerate(["ERROR", "INFO", "ERROR"])],
    )
    out = subprocess.run(
        ["aws", "logs", "filter-log-events", "--log-group-name", group,
         "--filter-pattern", "ERROR", "--output", "json"],
        env=aws_env, capture_output=True, text=True, timeout=60, check=True,
    )
    events = json.loads(out.stdout)["events"]
    assert [event["message"] for event in events] == ["ERROR event 0", "ERROR event 2"]
    assert {event["logStreamName"] for event in events} == {"s"}
