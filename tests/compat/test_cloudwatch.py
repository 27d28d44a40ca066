"""CloudWatch metrics and alarms with boto3 and the AWS CLI (botocore sends CloudWatch Smithy RPC
v2 CBOR): PutMetricData and the statistics read back, ListMetrics, alarms set and described, and
the path from a CloudWatch Logs metric filter through an alarm to an EventBridge rule's log
group target."""

import json
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

# Event delivery is asynchronous: poll until the event arrives; the deadline only ends a broken run.
DEADLINE_S = 30.0


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]


def minute_ago():
    """A time in the minute before the current one, which alarms evaluated now look at."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now - timedelta(seconds=30)


def evaluate_alarms(endpoint):
    request = urllib.request.Request(endpoint + "/_palisade/cloudwatch/evaluate", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def test_put_metric_data_and_statistics(client):
    cloudwatch = client("cloudwatch")
    namespace = unique("Palisade/Test")
    at = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)
    dimensions = [{"Name": "Service", "Value": "api"}]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "Latency", "Dimensions": dimensions, "Timestamp": at, "Value": 10.0, "Unit": "Milliseconds"},
            {"MetricName": "Latency", "Dimensions": dimensions, "Timestamp": at + timedelta(seconds=20),
             "Values": [20.0, 30.0], "Counts": [1.0, 2.0], "Unit": "Milliseconds"},
            {"MetricName": "Latency", "Dimensions": dimensions, "Timestamp": at + timedelta(minutes=1),
             "StatisticValues": {"SampleCount": 2.0, "Sum": 100.0, "Minimum": 40.0, "Maximum": 60.0},
             "Unit": "Milliseconds"},
            {"MetricName": "Requests", "Timestamp": at, "Value": 1.0},
        ],
    )

    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Latency", Dimensions=dimensions,
        StartTime=at - timedelta(minutes=1), EndTime=at + timedelta(minutes=3), Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )
    assert stats["Label"] == "Latency"
    first, second = sorted(stats["Datapoints"], key=lambda point: point["Timestamp"])
    assert first["Timestamp"] == at
    assert (first["SampleCount"], first["Sum"], first["Minimum"], first["Maximum"]) == (4.0, 90.0, 10.0, 30.0)
    assert first["Average"] == 22.5
    assert first["Unit"] == "Milliseconds"
    assert (second["SampleCount"], second["Sum"], second["Average"]) == (2.0, 100.0, 50.0)

    # Percentiles need the values: the first minute has them, the statistic set does not.
    percentiles = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Latency", Dimensions=dimensions,
        StartTime=at, EndTime=at + timedelta(minutes=2), Period=120, ExtendedStatistics=["p50"],
    )["Datapoints"]
    assert len(percentiles) == 1 and "ExtendedStatistics" not in percentiles[0]
    percentiles = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Latency", Dimensions=dimensions,
        StartTime=at, EndTime=at + timedelta(minutes=1), Period=60, ExtendedStatistics=["p50", "p99"],
    )["Datapoints"]
    assert percentiles[0]["ExtendedStatistics"] == {"p50": 20.0, "p99": 30.0}

    # A metric is its whole dimension set: without dimensions, Latency has no data.
    assert cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Latency", StartTime=at, EndTime=at + timedelta(minutes=2),
        Period=60, Statistics=["Sum"],
    )["Datapoints"] == []

    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "latency", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Latency",
                                                        "Dimensions": dimensions},
                                             "Period": 60, "Stat": "Maximum"}},
            {"Id": "requests", "Label": "All requests",
             "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Requests"}, "Period": 300, "Stat": "Sum"}},
        ],
        StartTime=at, EndTime=at + timedelta(minutes=2),
    )
    latency, requests = data["MetricDataResults"]
    assert latency["Id"] == "latency" and latency["Label"] == "Latency"
    assert latency["Timestamps"] == [at + timedelta(minutes=1), at]
    assert latency["Values"] == [60.0, 30.0]
    assert latency["StatusCode"] == "Complete"
    assert (requests["Label"], requests["Values"]) == ("All requests", [1.0])

    paged = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Latency",
                                                                 "Dimensions": dimensions},
                                                      "Period": 60, "Stat": "Sum"}}],
        StartTime=at, EndTime=at + timedelta(minutes=2), ScanBy="TimestampAscending", MaxDatapoints=1,
    )
    assert paged["MetricDataResults"][0]["Values"] == [90.0]
    assert paged["MetricDataResults"][0]["StatusCode"] == "PartialData"
    rest = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Latency",
                                                                 "Dimensions": dimensions},
                                                      "Period": 60, "Stat": "Sum"}}],
        StartTime=at, EndTime=at + timedelta(minutes=2), ScanBy="TimestampAscending", MaxDatapoints=1,
        NextToken=paged["NextToken"],
    )
    assert rest["MetricDataResults"][0]["Values"] == [100.0]
    assert "NextToken" not in rest

    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert sorted((metric["MetricName"], str(metric["Dimensions"])) for metric in listed) == [
        ("Latency", str(dimensions)), ("Requests", "[]"),
    ]
    by_dimension = cloudwatch.list_metrics(Namespace=namespace, Dimensions=[{"Name": "Service"}])["Metrics"]
    assert [metric["MetricName"] for metric in by_dimension] == ["Latency"]
    assert cloudwatch.list_metrics(Namespace=namespace, Dimensions=[{"Name": "Service", "Value": "web"}])["Metrics"] == []
    recent = cloudwatch.list_metrics(Namespace=namespace, MetricName="Requests", RecentlyActive="PT3H")["Metrics"]
    assert [metric["MetricName"] for metric in recent] == ["Requests"]


def test_put_metric_data_is_validated_as_aws_does(client):
    cloudwatch = client("cloudwatch")
    namespace = unique("Palisade/Invalid")
    old = datetime.now(timezone.utc) - timedelta(days=15)
    too_old = error(lambda: cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": "m", "Value": 1.0, "Timestamp": old}]
    ))
    assert (too_old["Code"], too_old["Message"]) == (
        "InvalidParameterValue",
        "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.",
    )
    assert error(lambda: cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": "m", "Value": 1.0, "StatisticValues": {
            "SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}}]
    ))["Code"] == "InvalidParameterCombination"
    assert error(lambda: cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}]
    ))["Code"] == "InvalidParameterValue"
    assert error(lambda: cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": "m", "Value": 1.0, "StorageResolution": 30}]
    ))["Code"] == "InvalidParameterValue"
    assert error(lambda: cloudwatch.put_metric_data(
        Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1.0}]
    ))["Code"] == "InvalidParameterValue"
    now = datetime.now(timezone.utc)
    assert error(lambda: cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="m", StartTime=now - timedelta(days=2), EndTime=now, Period=60,
        Statistics=["Sum"],
    ))["Message"].startswith("You have requested up to 2,88")
    assert error(lambda: cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="m", StartTime=now - timedelta(hours=1), EndTime=now, Period=60,
    ))["Code"] == "InvalidParameterCombination"


def test_alarm_set_state_and_describe(client):
    cloudwatch = client("cloudwatch")
    name = unique("cpu-high")
    cloudwatch.put_metric_alarm(
        AlarmName=name, AlarmDescription="CPU above 80", Namespace="Palisade/Hosts", MetricName="CPU",
        Dimensions=[{"Name": "Host", "Value": "a"}], Statistic="Average", Period=60, EvaluationPeriods=3,
        DatapointsToAlarm=2, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (3, 2, 80.0)
    assert alarm["ActionsEnabled"] is True

    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing",
                               StateReasonData='{"by": "test"}')
    (alarm,) = cloudwatch.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"], alarm["StateReasonData"]) == ("ALARM", "testing", '{"by": "test"}')
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=name, StateValue="OK")["MetricAlarms"]] == []
    for_metric = cloudwatch.describe_alarms_for_metric(
        Namespace="Palisade/Hosts", MetricName="CPU", Dimensions=[{"Name": "Host", "Value": "a"}])["MetricAlarms"]
    assert name in [a["AlarmName"] for a in for_metric]

    history = cloudwatch.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]
    assert [item["HistoryItemType"] for item in history] == ["StateUpdate", "ConfigurationUpdate"]
    assert history[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"

    cloudwatch.disable_alarm_actions(AlarmNames=[name])
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    assert error(lambda: cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x",
                                                    StateReasonData="not json"))["Code"] == "InvalidFormat"
    assert error(lambda: cloudwatch.set_alarm_state(AlarmName=unique("missing"), StateValue="OK",
                                                    StateReason="x"))["Code"] == "ResourceNotFound"
    cloudwatch.delete_alarms(AlarmNames=[name])
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_access_denied_metric_filter_alarm_reaches_an_event_rule(client, endpoint):
    logs = client("logs")
    events = client("events")
    cloudwatch = client("cloudwatch")
    trail_group = unique("/palisade/trail")
    logs.create_log_group(logGroupName=trail_group)
    logs.create_log_stream(logGroupName=trail_group, logStreamName="records")
    namespace = unique("Palisade/Security")
    logs.put_metric_filter(
        logGroupName=trail_group, filterName="access-denied",
        filterPattern='{ $.errorCode = "AccessDenied*" }',
        metricTransformations=[{"metricName": "AccessDenied", "metricNamespace": namespace, "metricValue": "1"}],
    )
    alarm = unique("access-denied")
    target_group = unique("/palisade/alarms")
    logs.create_log_group(logGroupName=target_group)
    rule = unique("alarm-changes")
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [alarm], "state": {"value": ["ALARM"]}},
    }))
    assert events.put_targets(Rule=rule, Targets=[{
        "Id": "log", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{target_group}",
    }])["FailedEntryCount"] == 0
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, Namespace=namespace, MetricName="AccessDenied", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )

    at = int(minute_ago().timestamp() * 1000)
    records = [
        {"eventName": "GetSecretValue", "errorCode": "AccessDenied", "userIdentity": {"type": "IAMUser"}},
        {"eventName": "Decrypt", "errorCode": "AccessDeniedException"},
        {"eventName": "ListKeys"},
    ]
    logs.put_log_events(logGroupName=trail_group, logStreamName="records", logEvents=[
        {"timestamp": at + index, "message": json.dumps(record)} for index, record in enumerate(records)
    ])
    start = datetime.fromtimestamp(at / 1000, timezone.utc).replace(second=0)
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="AccessDenied", StartTime=start, EndTime=start + timedelta(minutes=1),
        Period=60, Statistics=["Sum"],
    )["Datapoints"]
    assert [point["Sum"] for point in stats] == [2.0]

    assert evaluate_alarms(endpoint)["status"] == "ok"
    (described,) = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert described["StateValue"] == "ALARM"
    assert described["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoint [2.0 (")

    end = time.monotonic() + DEADLINE_S
    found = []
    while not found and time.monotonic() < end:
        found = logs.filter_log_events(logGroupName=target_group)["events"]
        time.sleep(0.05)
    assert found, f"no alarm event reached {target_group} within {DEADLINE_S} s"
    event = json.loads(found[0]["message"])
    assert event["source"] == "aws.cloudwatch"
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"]
    detail = event["detail"]
    assert detail["alarmName"] == alarm
    assert detail["state"]["value"] == "ALARM"
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert json.loads(detail["state"]["reasonData"])["recentDatapoints"] == [2.0]
    (metric,) = detail["configuration"]["metrics"]
    assert metric["metricStat"] == {
        "metric": {"namespace": namespace, "name": "AccessDenied", "dimensions": {}},
        "period": 60, "stat": "Sum",
    }


def test_metrics_with_the_aws_cli(aws_env):
    namespace = unique("Palisade/Cli")

    def aws(*args):
        out = subprocess.run(["aws", "cloudwatch", *args], env=aws_env, capture_output=True, text=True,
                             timeout=60, check=True)
        return json.loads(out.stdout) if out.stdout.strip() else None

    aws("put-metric-data", "--namespace", namespace, "--metric-name", "Jobs", "--value", "3",
        "--dimensions", "Queue=high")
    listed = aws("list-metrics", "--namespace", namespace)["Metrics"]
    assert listed == [{"Namespace": namespace, "MetricName": "Jobs", "Dimensions": [{"Name": "Queue", "Value": "high"}]}]
    now = datetime.now(timezone.utc)
    stats = aws("get-metric-statistics", "--namespace", namespace, "--metric-name", "Jobs",
                "--dimensions", "Name=Queue,Value=high", "--statistics", "Sum",
                "--start-time", (now - timedelta(minutes=5)).isoformat(),
                "--end-time", (now + timedelta(minutes=1)).isoformat(), "--period", "60")
    assert [point["Sum"] for point in stats["Datapoints"]] == [3.0]
