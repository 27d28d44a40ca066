"""EventBridge bus permissions with boto3: PutPermission (one statement from Principal, Action,
StatementId and Condition, or a whole Policy), RemovePermission and the Policy DescribeEventBus
shows; a principal of account B puts events on account A's bus, named by its ARN, only while
A's bus policy allows B; and rules forward events to buses of another account (when that bus's
policy allows) and of another region, where the far bus's rule delivers them to a log group.

Account B is a new member account of the caller's organization, used through its
`OrganizationAccountAccessRole` (AdministratorAccess), so B's own policies always allow: what
is tested is A's bus policy. Delivery is asynchronous: the tests poll the log groups, with a
deadline that only ends a broken run."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_enforcement import _assumed

ROLE = "OrganizationAccountAccessRole"
FAR_REGION = "eu-west-1"
# Only a broken run waits this long.
DEADLINE_S = 30.0


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.fixture
def member(client, endpoint):
    """Account B, a new member of the caller's organization, with EventBridge and CloudWatch
    Logs clients acting as its `OrganizationAccountAccessRole`."""
    orgs = client("organizations")
    try:
        orgs.create_organization(FeatureSet="ALL")
    except ClientError as raised:
        assert raised.response["Error"]["Code"] == "AlreadyInOrganizationException"
    status = orgs.create_account(Email=f"{uuid.uuid4().hex[:8]}@example.com", AccountName="b")
    account = orgs.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{account}:role/{ROLE}"
    credentials = client("sts").assume_role(RoleArn=role, RoleSessionName="account-b")["Credentials"]
    return {
        "account": account,
        "role": role,
        "organization": orgs.describe_organization()["Organization"]["Id"],
        "events": _assumed(endpoint, "events", credentials),
        "logs": _assumed(endpoint, "logs", credentials),
    }


def watched_bus(client, region=REGION, name=None):
    """A bus of account A in `region` (a new custom one unless `name` is given) with a rule
    sending a source of its own to a new log group; answers the bus's ARN, the source and the
    log group."""
    events = client("events", region=region)
    logs = client("logs", region=region)
    if name is None:
        name = unique("central")
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    else:
        arn = f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"
    source = unique("com.example.shared")
    group = unique("/palisade/bus-permissions")
    logs.create_log_group(logGroupName=group)
    rule = unique("watch")
    events.put_rule(Name=rule, EventBusName=name, EventPattern=json.dumps({"source": [source]}))
    answer = events.put_targets(
        Rule=rule,
        EventBusName=name,
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}"}],
    )
    assert answer["FailedEntryCount"] == 0
    return arn, source, group


def entry(source, bus=None, detail=None):
    fields = {"Source": source, "DetailType": "Shared", "Detail": json.dumps(detail or {"n": 1})}
    if bus is not None:
        fields["EventBusName"] = bus
    return fields


def wait_for_log_events(logs, group, count=1):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        found = logs.filter_log_events(logGroupName=group)["events"]
        if len(found) >= count:
            return [json.loads(event["message"]) for event in found]
        # Paces the polling; what is awaited is the events themselves.
        time.sleep(0.05)
    raise AssertionError(f"{count} event(s) did not reach {group} within {DEADLINE_S} s")


def test_put_events_across_accounts_needs_the_bus_policy(client, member):
    bus_arn, source, group = watched_bus(client)
    bus = bus_arn.split("/", 1)[1]
    events = client("events")
    put_by_b = lambda detail: member["events"].put_events(Entries=[entry(source, bus_arn, detail)])

    code, message = error(lambda: put_by_b({"n": 1}))
    assert code == "AccessDeniedException"
    assert "events:PutEvents" in message and bus_arn in message, message

    events.put_permission(
        EventBusName=bus, Action="events:PutEvents", Principal=member["account"], StatementId="b"
    )
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "b",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{member['account']}:root"},
            "Action": "events:PutEvents",
            "Resource": bus_arn,
        }
    ]
    (listed,) = events.list_event_buses(NamePrefix=bus)["EventBuses"]
    assert json.loads(listed["Policy"]) == policy

    answer = put_by_b({"n": 2})
    assert answer["FailedEntryCount"] == 0, answer
    (delivered,) = wait_for_log_events(client("logs"), group)
    # The event names the account that sent it.
    assert delivered["account"] == member["account"]
    assert delivered["detail"] == {"n": 2}

    events.remove_permission(EventBusName=bus, StatementId="b")
    assert "Policy" not in events.describe_event_bus(Name=bus)
    code, _ = error(lambda: put_by_b({"n": 3}))
    assert code == "AccessDeniedException"


def test_the_policy_form_and_an_organization_condition(client, member):
    _, source, group = watched_bus(client, name="default")
    default_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    events = client("events")
    put_by_b = lambda: member["events"].put_events(Entries=[entry(source, default_arn)])
    try:
        document = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "role",
                        "Effect": "Allow",
                        "Principal": {"AWS": member["role"]},
                        "Action": "events:PutEvents",
                        "Resource": default_arn,
                    }
                ],
            }
        )
        events.put_permission(Policy=document)
        assert json.loads(events.describe_event_bus()["Policy"]) == json.loads(document)
        assert put_by_b()["FailedEntryCount"] == 0
        wait_for_log_events(client("logs"), group)

        events.remove_permission(RemoveAllPermissions=True)
        assert "Policy" not in events.describe_event_bus()
        code, _ = error(put_by_b)
        assert code == "AccessDeniedException"

        events.put_permission(
            Action="events:PutEvents",
            Principal="*",
            StatementId="organization",
            Condition={
                "Type": "StringEquals",
                "Key": "aws:PrincipalOrgID",
                "Value": member["organization"],
            },
        )
        (statement,) = json.loads(events.describe_event_bus()["Policy"])["Statement"]
        assert statement["Principal"] == "*"
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalOrgID": member["organization"]}
        }
        assert put_by_b()["FailedEntryCount"] == 0
        wait_for_log_events(client("logs"), group, count=2)
    finally:
        events.remove_permission(RemoveAllPermissions=True)


def test_permission_errors(client):
    events = client("events")
    bus = unique("guarded")
    events.create_event_bus(Name=bus)

    code, message = error(lambda: events.remove_permission(EventBusName=bus, StatementId="x"))
    assert (code, message) == ("ResourceNotFoundException", "EventBus does not have a policy.")
    code, message = error(
        lambda: events.put_permission(
            EventBusName=unique("missing"),
            Action="events:PutEvents",
            Principal="111111111111",
            StatementId="x",
        )
    )
    assert code == "ResourceNotFoundException"
    assert message.endswith("does not exist."), message
    code, message = error(
        lambda: events.put_permission(
            EventBusName=bus, Action="events:PutRule", Principal="111111111111", StatementId="x"
        )
    )
    assert (code, message) == (
        "ValidationException",
        "Provided value in parameter 'action' is not supported.",
    )
    for invalid in (
        {"Action": "events:PutEvents", "Principal": "not-an-account", "StatementId": "x"},
        {"Action": "events:PutEvents", "Principal": "111111111111"},
        {"Policy": "{"},
        {"Policy": json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}})},
        {"Policy": json.dumps({"Statement": []}), "Principal": "111111111111"},
    ):
        code, _ = error(lambda: events.put_permission(EventBusName=bus, **invalid))
        assert code == "ValidationException", invalid
    long_sid = {"Sid": "x" * 11_000}
    code, _ = error(
        lambda: events.put_permission(
            EventBusName=bus,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": {
                        **long_sid,
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "events:PutEvents",
                        "Resource": "*",
                    },
                }
            ),
        )
    )
    assert code == "PolicyLengthExceededException"

    for sid in ("a", "b"):
        events.put_permission(
            EventBusName=bus, Action="events:PutEvents", Principal="111111111111", StatementId=sid
        )
    code, message = error(lambda: events.remove_permission(EventBusName=bus, StatementId="c"))
    assert (code, message) == (
        "ResourceNotFoundException",
        "Statement with the provided id does not exist.",
    )
    events.remove_permission(EventBusName=bus, StatementId="a")
    (left,) = json.loads(events.describe_event_bus(Name=bus)["Policy"])["Statement"]
    assert left["Sid"] == "b"
    # Deleting the bus deletes its policy: a bus created again under the name has none.
    events.delete_event_bus(Name=bus)
    events.create_event_bus(Name=bus)
    assert "Policy" not in events.describe_event_bus(Name=bus)


def test_a_rule_forwards_to_another_accounts_bus_its_policy_allows(client, member):
    bus_arn, source, group = watched_bus(client)
    bus = bus_arn.split("/", 1)[1]
    dead_letters = unique("/palisade/forwarding-dlq")
    member["logs"].create_log_group(logGroupName=dead_letters)
    rule = unique("forward")
    member["events"].put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    answer = member["events"].put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "central",
                "Arn": bus_arn,
                "DeadLetterConfig": {
                    "Arn": f"arn:aws:logs:{REGION}:{member['account']}:log-group:{dead_letters}"
                },
            }
        ],
    )
    assert answer["FailedEntryCount"] == 0

    # Without A's permission the event is not forwarded: it goes to B's dead-letter log group.
    assert member["events"].put_events(Entries=[entry(source, detail={"n": 1})])["FailedEntryCount"] == 0
    (letter,) = wait_for_log_events(member["logs"], dead_letters)
    assert letter["ERROR_CODE"] == "NO_PERMISSIONS"
    assert letter["TARGET_ARN"] == bus_arn
    assert letter["event"]["detail"] == {"n": 1}

    client("events").put_permission(
        EventBusName=bus, Action="events:PutEvents", Principal=member["account"], StatementId="b"
    )
    assert member["events"].put_events(Entries=[entry(source, detail={"n": 2})])["FailedEntryCount"] == 0
    (delivered,) = wait_for_log_events(client("logs"), group)
    assert delivered["account"] == member["account"]
    assert delivered["detail"] == {"n": 2}


def test_a_rule_forwards_to_a_bus_of_another_region(client):
    bus_arn, source, group = watched_bus(client, region=FAR_REGION)
    assert f":{FAR_REGION}:" in bus_arn
    events = client("events")
    rule = unique("cross-region")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    assert events.put_targets(Rule=rule, Targets=[{"Id": "far", "Arn": bus_arn}])["FailedEntryCount"] == 0

    answer = events.put_events(Entries=[entry(source, detail={"n": 7})])
    assert answer["FailedEntryCount"] == 0
    (delivered,) = wait_for_log_events(client("logs", region=FAR_REGION), group)
    # Forwarded unchanged: the event keeps its id and the region it was put in.
    assert delivered["id"] == answer["Entries"][0]["EventId"]
    assert delivered["region"] == REGION
    assert delivered["detail"] == {"n": 7}

    # PutEvents itself puts on buses of its own region only.
    answer = events.put_events(Entries=[entry(source, bus_arn)])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "ResourceNotFoundException"
