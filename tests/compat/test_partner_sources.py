"""EventBridge partner event sources and UpdateEventBus with boto3 and the AWS CLI.

Account B (a new member of the caller's organization, through its
`OrganizationAccountAccessRole`) acts as the SaaS partner: it offers a source to account A, A
takes it with a partner event bus and a rule writing to a log group, and B's PutPartnerEvents
arrive there while A keeps the source active. Delivery is asynchronous: the tests poll the log
group, with a deadline that only ends a broken run."""

import json
import subprocess
import uuid

from conftest import ACCOUNT, REGION
from test_bus_permissions import error, member, unique, wait_for_log_events  # noqa: F401


def partner_events(member, source, order):
    answer = member["events"].put_partner_events(
        Entries=[{"Source": source, "DetailType": "Order Placed", "Detail": json.dumps({"order": order})}]
    )
    return answer["Entries"][0]


def test_a_partners_events_reach_the_partner_bus_while_it_is_active(client, member):
    events, logs = client("events"), client("logs")
    # The partner name is B's from its first source on: unique per run, as the server is shared.
    partner = f"saas-{uuid.uuid4().hex[:8]}.example.com"
    source = f"aws.partner/{partner}/tenant-1/orders"

    arn = member["events"].create_partner_event_source(Name=source, Account=ACCOUNT)["EventSourceArn"]
    assert arn == f"arn:aws:events:{REGION}::event-source/{source}"
    offered = events.describe_event_source(Name=source)
    assert (offered["State"], offered["CreatedBy"]) == ("PENDING", partner)
    listed = events.list_event_sources(NamePrefix=f"aws.partner/{partner}")["EventSources"]
    assert [found["Name"] for found in listed] == [source]

    code, _ = error(lambda: events.create_event_bus(Name=f"aws.partner/{partner}/x/y", EventSourceName=f"aws.partner/{partner}/x/y"))
    assert code == "ResourceNotFoundException"
    code, _ = error(lambda: events.create_event_bus(Name="aws.partner-lookalike"))
    assert code == "ValidationException"
    bus_arn = events.create_event_bus(Name=source, EventSourceName=source)["EventBusArn"]
    assert bus_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{source}"
    assert events.describe_event_source(Name=source)["State"] == "ACTIVE"

    group = unique("/palisade/partner")
    logs.create_log_group(logGroupName=group)
    events.put_rule(Name="collect", EventBusName=source, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule="collect",
        EventBusName=source,
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}],
    )

    sent = partner_events(member, source, 1)
    [event] = wait_for_log_events(logs, group)
    assert event["id"] == sent["EventId"]
    assert (event["source"], event["account"], event["detail"]) == (source, ACCOUNT, {"order": 1})

    events.deactivate_event_source(Name=source)
    assert events.describe_event_source(Name=source)["State"] == "PENDING"
    partner_events(member, source, 2)
    events.activate_event_source(Name=source)
    partner_events(member, source, 3)
    delivered = wait_for_log_events(logs, group, count=2)
    assert sorted(event["detail"]["order"] for event in delivered) == [1, 3], "2 came while paused"

    accounts = member["events"].list_partner_event_source_accounts(EventSourceName=source)
    assert [(found["Account"], found["State"]) for found in accounts["PartnerEventSourceAccounts"]] == [
        (ACCOUNT, "ACTIVE")
    ]
    # Account A may not speak as B's partner name, nor send B's events.
    code, _ = error(lambda: events.create_partner_event_source(Name=f"aws.partner/{partner}/t/x", Account=ACCOUNT))
    assert code == "AccessDeniedException"
    refused = events.put_partner_events(
        Entries=[{"Source": source, "DetailType": "Order Placed", "Detail": "{}"}]
    )
    assert (refused["FailedEntryCount"], refused["Entries"][0]["ErrorCode"]) == (
        1,
        "NotAuthorizedForSourceException",
    )

    member["events"].delete_partner_event_source(Name=source, Account=ACCOUNT)
    assert events.describe_event_source(Name=source)["State"] == "DELETED"
    events.remove_targets(Rule="collect", EventBusName=source, Ids=["log"])
    events.delete_rule(Name="collect", EventBusName=source)
    events.delete_event_bus(Name=source)
    code, _ = error(lambda: events.describe_event_source(Name=source))
    assert code == "ResourceNotFoundException"


def test_update_event_bus_with_the_aws_cli(aws_env, client):
    events = client("events")
    name = unique("settings")
    events.create_event_bus(Name=name, Description="before")

    def aws(*args):
        out = subprocess.run(
            ["aws", "events", *args, "--output", "json"], env=aws_env, capture_output=True, text=True, timeout=60
        )
        return out

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-dlq"
    out = aws(
        "update-event-bus",
        "--name", name,
        "--dead-letter-config", f"Arn={queue}",
        "--log-config", "IncludeDetail=FULL,Level=ERROR",
    )
    assert out.returncode == 0, out.stderr
    updated = json.loads(out.stdout)
    assert updated["Name"] == name and updated["Description"] == "before"
    assert updated["DeadLetterConfig"] == {"Arn": queue}

    described = events.describe_event_bus(Name=name)
    assert described["LogConfig"] == {"IncludeDetail": "FULL", "Level": "ERROR"}
    assert described["DeadLetterConfig"] == {"Arn": queue}

    out = aws("update-event-bus", "--name", name, "--dead-letter-config", "Arn=arn:aws:sns:us-east-1:000000000000:topic")
    assert out.returncode != 0 and "ValidationException" in out.stderr, out.stderr
    out = aws("update-event-bus", "--name", unique("missing"))
    assert out.returncode != 0 and "ResourceNotFoundException" in out.stderr, out.stderr
