"""EventBridge archives and replays with boto3 and the AWS CLI: an archive with an event pattern
keeps the matching events of its bus (EventCount, SizeBytes), a replay sends a window of them
back to the bus, where a rule delivers them to a CloudWatch Logs log group with `replay-name`,
its states move on to COMPLETED, and the error cases answer as AWS's do.

Each test works on a bus of its own: the server is shared by the session."""

import json
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

# Delivery and replays are asynchronous: poll until they are done; the deadline only ends a
# broken run.
DEADLINE_S = 30.0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]["Code"], response["Error"]["Message"]


def bus(events):
    name = unique("archived")
    return name, events.create_event_bus(Name=name)["EventBusArn"]


def log_group_target(client):
    logs = client("logs")
    group = unique("/palisade/archives")
    logs.create_log_group(logGroupName=group)
    return logs, group, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"


def wait_for_log_events(logs, group, count):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        found = logs.filter_log_events(logGroupName=group)["events"]
        if len(found) >= count:
            return [json.loads(event["message"]) for event in found]
        time.sleep(0.05)
    raise AssertionError(f"{count} events did not reach {group} within {DEADLINE_S} s")


def wait_for_replay(events, name, state):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        described = events.describe_replay(ReplayName=name)
        if described["State"] == state:
            return described
        time.sleep(0.05)
    raise AssertionError(f"replay {name} is {described['State']}, not {state}")


def test_an_archive_keeps_matching_events_and_a_replay_sends_them_back(client):
    events = client("events")
    logs, group, group_arn = log_group_target(client)
    bus_name, bus_arn = bus(events)
    source = unique("com.example.shop")
    archive = unique("orders")

    created = events.create_archive(
        ArchiveName=archive,
        EventSourceArn=bus_arn,
        Description="orders only",
        EventPattern=json.dumps({"detail": {"kind": ["order"]}}),
        RetentionDays=0,
    )
    assert created["ArchiveArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:archive/{archive}"
    assert created["State"] == "ENABLED"
    rule = unique("logged")
    events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "log", "Arn": group_arn}])

    sent_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    put = events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Shop",
                "Detail": json.dumps({"kind": kind, "n": n}),
                "EventBusName": bus_name,
                "Time": sent_at,
            }
            for n, kind in enumerate(["order", "refund", "order"])
        ]
    )
    assert put["FailedEntryCount"] == 0
    ids = [entry["EventId"] for entry in put["Entries"]]
    wait_for_log_events(logs, group, 3)

    described = events.describe_archive(ArchiveName=archive)
    assert described["EventCount"] == 2
    assert described["SizeBytes"] > 0
    assert described["EventSourceArn"] == bus_arn
    assert json.loads(described["EventPattern"]) == {"detail": {"kind": ["order"]}}
    assert described["RetentionDays"] == 0
    assert described["Description"] == "orders only"
    listed = events.list_archives(NamePrefix=archive)["Archives"]
    assert [(item["ArchiveName"], item["EventCount"]) for item in listed] == [(archive, 2)]

    replay = unique("again")
    started = events.start_replay(
        ReplayName=replay,
        EventSourceArn=created["ArchiveArn"],
        EventStartTime=sent_at - timedelta(hours=1),
        EventEndTime=sent_at + timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )
    assert started["ReplayArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:replay/{replay}"
    assert started["State"] == "STARTING"

    arrived = wait_for_log_events(logs, group, 5)
    replayed = [event for event in arrived if "replay-name" in event]
    assert sorted(event["id"] for event in replayed) == sorted([ids[0], ids[2]])
    assert {event["replay-name"] for event in replayed} == {replay}
    assert {event["detail"]["kind"] for event in replayed} == {"order"}
    assert {event["time"] for event in replayed} == {sent_at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    done = wait_for_replay(events, replay, "COMPLETED")
    assert done["EventSourceArn"] == created["ArchiveArn"]
    assert done["Destination"] == {"Arn": bus_arn}
    assert done["EventLastReplayedTime"] == sent_at
    assert done["ReplayEndTime"] >= done["ReplayStartTime"]
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 2, "replays are not archived"
    listed = events.list_replays(NamePrefix=replay)["Replays"]
    assert [(item["ReplayName"], item["State"]) for item in listed] == [(replay, "COMPLETED")]
    assert error(lambda: events.cancel_replay(ReplayName=replay)) == (
        "IllegalStatusException",
        f"Replay {replay} is not in a valid state for this operation.",
    )

    events.delete_archive(ArchiveName=archive)
    assert error(lambda: events.describe_archive(ArchiveName=archive)) == (
        "ResourceNotFoundException",
        f"Archive {archive} does not exist.",
    )


def test_archive_and_replay_errors(client):
    events = client("events")
    bus_name, bus_arn = bus(events)
    _, other_arn = bus(events)
    archive = unique("kept")
    arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn)["ArchiveArn"]

    assert error(lambda: events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn)) == (
        "ResourceAlreadyExistsException",
        f"Archive {archive} already exists.",
    )
    code, message = error(
        lambda: events.create_archive(
            ArchiveName=unique("bad"), EventSourceArn=bus_arn, EventPattern='{"source": "x"}'
        )
    )
    assert code == "InvalidEventPatternException"
    assert message.startswith("Event pattern is not valid.")
    missing_bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{unique('gone')}"
    assert error(lambda: events.create_archive(ArchiveName=unique("b"), EventSourceArn=missing_bus))[0] == (
        "ResourceNotFoundException"
    )
    long_name = "a" * 49
    assert error(lambda: events.create_archive(ArchiveName=long_name, EventSourceArn=bus_arn)) == (
        "ValidationException",
        f"1 validation error detected: Value '{long_name}' at 'archiveName' failed to satisfy "
        "constraint: Member must have length less than or equal to 48",
    )
    assert error(lambda: events.list_archives(NamePrefix="k", State="ENABLED")) == (
        "ValidationException",
        "At most one filter is allowed for ListArchives. Use either : State, EventSourceArn, or NamePrefix.",
    )

    now = datetime.now(timezone.utc)
    window = {"EventStartTime": now - timedelta(hours=1), "EventEndTime": now}
    missing_archive = f"arn:aws:events:{REGION}:{ACCOUNT}:archive/{unique('nope')}"
    code, message = error(
        lambda: events.start_replay(
            ReplayName=unique("r"), EventSourceArn=missing_archive, Destination={"Arn": bus_arn}, **window
        )
    )
    assert (code, message.split(" Reason:")[0]) == ("ValidationException", "Parameter EventSourceArn is not valid.")
    assert error(
        lambda: events.start_replay(ReplayName=unique("r"), EventSourceArn=arn, Destination={"Arn": other_arn}, **window)
    ) == (
        "ValidationException",
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
    )
    assert error(
        lambda: events.start_replay(
            ReplayName=unique("r"),
            EventSourceArn=arn,
            Destination={"Arn": bus_arn},
            EventStartTime=now,
            EventEndTime=now - timedelta(hours=1),
        )
    ) == (
        "ValidationException",
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
    )
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus_name}/{unique('absent')}"
    assert error(
        lambda: events.start_replay(
            ReplayName=unique("r"),
            EventSourceArn=arn,
            Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
            **window,
        )
    )[0] == "ResourceNotFoundException"
    assert error(lambda: events.describe_replay(ReplayName=unique("none")))[0] == "ResourceNotFoundException"
    assert error(lambda: events.cancel_replay(ReplayName=unique("none")))[0] == "ResourceNotFoundException"


def test_cli_describes_an_archive(client, aws_env):
    events = client("events")
    _, bus_arn = bus(events)
    archive = unique("cli")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn, RetentionDays=3)
    out = subprocess.run(
        ["aws", "events", "describe-archive", "--archive-name", archive, "--output", "json"],
        env=aws_env, capture_output=True, text=True, timeout=60, check=True,
    )
    described = json.loads(out.stdout)
    assert described["ArchiveName"] == archive
    assert described["State"] == "ENABLED"
    assert described["RetentionDays"] == 3
    assert described["EventCount"] == 0
