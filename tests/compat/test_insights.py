"""CloudTrail Insights metrics with boto3: ListInsightsMetricData counts the calls the server
recorded, and IAM decides it as cloudtrail:LookupEvents, as AWS does."""

import json
import uuid

import botocore.exceptions
import pytest


def test_call_and_error_rates_count_recorded_calls(client):
    region = "ca-west-1"
    kms = client("kms", region=region)
    for _ in range(3):
        kms.create_key(Description="insights")
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError):
            kms.describe_key(KeyId="alias/does-not-exist")
    cloudtrail = client("cloudtrail", region=region)
    writes = cloudtrail.list_insights_metric_data(
        EventSource="kms.amazonaws.com",
        EventName="CreateKey",
        InsightType="ApiCallRateInsight",
        Period=60,
    )
    assert sum(writes["Values"]) == 3
    assert len(writes["Timestamps"]) == len(writes["Values"]) >= 1
    errors = cloudtrail.list_insights_metric_data(
        EventSource="kms.amazonaws.com",
        EventName="DescribeKey",
        InsightType="ApiErrorRateInsight",
        ErrorCode="NotFoundException",
        Period=300,
    )
    assert sum(errors["Values"]) == 2
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        cloudtrail.list_insights_metric_data(
            EventSource="kms.amazonaws.com",
            EventName="DescribeKey",
            InsightType="ApiErrorRateInsight",
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"


def test_iam_decides_it_as_lookup_events(client):
    iam = client("iam")
    name = f"watcher-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="history",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}
                ],
            }
        ),
    )
    watcher = client(
        "cloudtrail", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"]
    )
    answered = watcher.list_insights_metric_data(
        EventSource="iam.amazonaws.com",
        EventName="CreateUser",
        InsightType="ApiCallRateInsight",
    )
    # This test created one user a moment ago; IAM records its calls in us-east-1.
    assert sum(answered["Values"]) >= 1
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        watcher.list_trails()
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
