"""The end-to-end example of issue 6, with boto3: a trail streams its records to a CloudWatch Logs
log group; a metric filter there counts `AccessDenied` errors (`{ $.errorCode = "AccessDenied*" }`,
as AWS's CloudTrail alarm examples write it) into a CloudWatch metric; an alarm watches the
metric; and an EventBridge rule for "CloudWatch Alarm State Change" sends the alarm's event to an
API destination, an HTTP receiver in this process. An IAM user without permissions is refused,
the alarm is evaluated (`POST /_palisade/cloudwatch/evaluate`), and the receiver gets the event.

The alarm looks at whole minutes before the current one, as CloudWatch does, so the test
evaluates again until the minute of the refused call has passed (at most about a minute); it
works in a region of its own, so no other test's records reach its trail."""

import json
import time
import urllib.request
import uuid

import boto3
from botocore.config import Config

from conftest import ACCOUNT
from test_event_targets import Receiver

REGION = "ap-southeast-2"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
# Only a broken run waits this long: the alarm needs the refused call's minute to be over.
ALARM_DEADLINE_S = 150.0
STREAM_DEADLINE_S = 30.0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def evaluate_alarms(endpoint):
    request = urllib.request.Request(endpoint + "/_palisade/cloudwatch/evaluate", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def poll(what, done, deadline_s):
    """`what()` once `done` holds for it; the pause only paces the polling."""
    end = time.monotonic() + deadline_s
    while True:
        found = what()
        if done(found):
            return found
        assert time.monotonic() < end, f"still {found!r} after {deadline_s} s"
        time.sleep(0.2)


def test_an_access_denied_alarm_reaches_an_http_endpoint(client, endpoint):
    receiver = Receiver()
    receiver.thread.start()
    logs = client("logs", region=REGION)
    cloudwatch = client("cloudwatch", region=REGION)
    events = client("events", region=REGION)
    trails = client("cloudtrail", region=REGION)
    trail = unique("security")
    try:
        # CloudTrail → CloudWatch Logs.
        group = unique("/palisade/cloudtrail")
        logs.create_log_group(logGroupName=group)
        trails.create_trail(
            Name=trail,
            S3BucketName="palisade-alarm-example",
            CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*",
            CloudWatchLogsRoleArn=ROLE,
        )
        trails.start_logging(Name=trail)

        # Metric filter → metric → alarm.
        namespace = unique("CloudTrailMetrics")
        logs.put_metric_filter(
            logGroupName=group,
            filterName="AccessDenied",
            filterPattern='{ $.errorCode = "AccessDenied*" }',
            metricTransformations=[
                {"metricName": "AccessDeniedCount", "metricNamespace": namespace, "metricValue": "1"}
            ],
        )
        alarm = unique("access-denied")
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace=namespace,
            MetricName="AccessDeniedCount",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )

        # Alarm state change → rule → API destination.
        path = "/" + unique("alarms")
        connection = events.create_connection(
            Name=unique("pager"),
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k3y"}},
        )["ConnectionArn"]
        destination = events.create_api_destination(
            Name=unique("pager"),
            ConnectionArn=connection,
            InvocationEndpoint=receiver.url(path),
            HttpMethod="POST",
        )["ApiDestinationArn"]
        rule = unique("alarm-to-http")
        events.put_rule(
            Name=rule,
            EventPattern=json.dumps(
                {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "detail": {"alarmName": [alarm], "state": {"value": ["ALARM"]}},
                }
            ),
        )
        answer = events.put_targets(Rule=rule, Targets=[{"Id": "pager", "Arn": destination}])
        assert answer["FailedEntryCount"] == 0

        # An IAM user without permissions is refused.
        iam = client("iam")
        user = unique("intruder")
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        intruder = boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"max_attempts": 1}),
        )
        try:
            intruder.list_secrets()
            raise AssertionError("a user without permissions listed secrets")
        except intruder.exceptions.ClientError as refused:
            assert refused.response["Error"]["Code"] == "AccessDeniedException"

        # The trail streams the refusal; the filter counts it.
        def refusals():
            found = logs.filter_log_events(logGroupName=group, filterPattern='{ $.errorCode = "AccessDenied*" }')
            return [json.loads(event["message"]) for event in found["events"]]

        (record,) = poll(refusals, lambda found: len(found) >= 1, STREAM_DEADLINE_S)
        assert record["userIdentity"]["userName"] == user
        assert record["eventName"] == "ListSecrets"

        # Evaluated once the refusal's minute is over, the alarm fires.
        def state():
            assert evaluate_alarms(endpoint)["status"] == "ok"
            (described,) = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
            return described["StateValue"]

        poll(state, lambda value: value == "ALARM", ALARM_DEADLINE_S)

        (call,) = receiver.wait_for(path)
        assert call["method"] == "POST"
        assert call["headers"]["x-api-key"] == "k3y"
        event = json.loads(call["body"])
        assert event["source"] == "aws.cloudwatch"
        assert event["detail-type"] == "CloudWatch Alarm State Change"
        assert event["account"] == ACCOUNT
        assert event["region"] == REGION
        assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"]
        detail = event["detail"]
        assert detail["alarmName"] == alarm
        assert detail["state"]["value"] == "ALARM"
        assert detail["state"]["reason"].startswith("Threshold Crossed"), detail["state"]
        (metric,) = detail["configuration"]["metrics"]
        assert metric["metricStat"]["metric"] == {
            "namespace": namespace,
            "name": "AccessDeniedCount",
            "dimensions": {},
        }
    finally:
        try:
            trails.delete_trail(Name=trail)
        finally:
            receiver.server.shutdown()
            receiver.server.server_close()
