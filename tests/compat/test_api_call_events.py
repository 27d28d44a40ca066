"""Every audited call that is not read-only reaches the account's default bus as an "AWS API Call
via CloudTrail" event whose detail is the CloudTrail record, observed through log group targets
read back with boto3's CloudWatch Logs client."""

import json
import time
import uuid

import pytest
from conftest import ACCOUNT, REGION

# Delivery is asynchronous: poll until the event arrives; the deadline only ends a broken run.
DEADLINE_S = 10.0

API_CALL = "AWS API Call via CloudTrail"


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def log_group_rule(client, pattern):
    """A rule on the default bus sending what `pattern` matches to a new log group."""
    logs = client("logs")
    events = client("events")
    group = unique("/palisade/api-calls")
    logs.create_log_group(logGroupName=group)
    rule = unique("api-calls")
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    answer = events.put_targets(
        Rule=rule,
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}],
    )
    assert answer["FailedEntryCount"] == 0
    return logs, group


def wait_for_log_events(logs, group, count):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        found = logs.filter_log_events(logGroupName=group)["events"]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} events did not reach {group} within {DEADLINE_S} s")


def api_call_pattern(source, event_name, **detail):
    return {
        "source": [source],
        "detail-type": [API_CALL],
        "detail": {"eventName": [event_name], **detail},
    }


def test_put_parameter_is_an_event_and_get_parameter_is_not(client):
    ssm = client("ssm")
    name = "/" + unique("api-calls") + "/password"
    only_this_parameter = {"requestParameters": {"name": [name]}}
    logs, puts = log_group_rule(client, api_call_pattern("aws.ssm", "PutParameter", **only_this_parameter))
    _, gets = log_group_rule(client, api_call_pattern("aws.ssm", "GetParameter", **only_this_parameter))

    put = ssm.put_parameter(Name=name, Value="first-s3cret", Type="SecureString")
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "first-s3cret"
    ssm.put_parameter(Name=name, Value="second-s3cret", Type="SecureString", Overwrite=True)

    # Events are delivered in order: once the second PutParameter's has arrived, an event for
    # the GetParameter between them would have arrived too.
    delivered = wait_for_log_events(logs, puts, count=2)
    assert logs.filter_log_events(logGroupName=gets)["events"] == []

    for found in delivered:
        assert "s3cret" not in found["message"]
    # Both events carry the same second, so the log group may list them in either order.
    first, second = sorted(
        (json.loads(found["message"]) for found in delivered),
        key=lambda event: event["detail"]["responseElements"]["version"],
    )
    assert first["source"] == "aws.ssm"
    assert first["detail-type"] == API_CALL
    assert first["account"] == ACCOUNT
    assert first["region"] == REGION
    assert first["resources"] == []
    detail = first["detail"]
    assert detail["eventSource"] == "ssm.amazonaws.com"
    assert detail["eventName"] == "PutParameter"
    assert detail["awsRegion"] == REGION
    assert detail["requestParameters"]["name"] == name
    assert detail["requestParameters"]["type"] == "SecureString"
    assert detail["responseElements"]["version"] == 1
    assert detail["requestID"] == put["ResponseMetadata"]["RequestId"]
    assert detail["readOnly"] is False
    assert detail["eventType"] == "AwsApiCall"
    assert detail["recipientAccountId"] == ACCOUNT
    uuid.UUID(detail["eventID"])
    assert second["detail"]["responseElements"]["version"] == 2


def test_failed_calls_are_events_too(client):
    ssm = client("ssm")
    name = "/" + unique("api-calls") + "/missing"
    logs, group = log_group_rule(
        client, api_call_pattern("aws.ssm", "DeleteParameter", requestParameters={"name": [name]})
    )

    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)

    (found,) = wait_for_log_events(logs, group, count=1)
    detail = json.loads(found["message"])["detail"]
    assert detail["errorCode"] == "ParameterNotFound"
    assert detail["responseElements"] is None


def test_global_service_calls_reach_us_east_1(client):
    # STS answers in every region, but AWS delivers its API call events in us-east-1 only.
    assert REGION == "us-east-1"
    iam = client("iam")
    role = unique("api-calls")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    logs, group = log_group_rule(
        client, api_call_pattern("aws.sts", "AssumeRole", requestParameters={"roleArn": [role_arn]})
    )

    client("sts", region="eu-west-1").assume_role(RoleArn=role_arn, RoleSessionName="api-calls")

    (found,) = wait_for_log_events(logs, group, count=1)
    event = json.loads(found["message"])
    assert event["source"] == "aws.sts"
    assert event["region"] == "us-east-1"
    assert event["detail"]["awsRegion"] == "eu-west-1"
