"""CloudTrail trails, the control plane, with boto3 and the AWS CLI.

ListTrails answers every trail of the account, so the tests that page it look only for their
own trails. Each test works in regions of its own, and multi-Region trails (which show in every
region, and count there) are deleted before the test ends.
"""

import json
import subprocess
import uuid

import botocore.exceptions
import pytest

ACCOUNT = "000000000000"
HOME = "ap-south-1"
OTHER = "ap-northeast-2"
BUCKET = "palisade-trail-logs"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_code(call, **arguments):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**arguments)
    assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return raised.value.response["Error"]["Code"]


def arn_of(name, region=HOME):
    return f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}"


def test_create_get_and_describe_a_trail(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("created")
    # KmsKeyId must name an existing key whose policy lets CloudTrail encrypt with it.
    cloudtrail_may_encrypt = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
    }
    admin = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    kms = client("kms", region=HOME)
    policy = {"Version": "2012-10-17", "Statement": [admin, cloudtrail_may_encrypt]}
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=key["KeyId"])
    created = trail.create_trail(
        Name=name,
        S3BucketName=BUCKET,
        S3KeyPrefix="audit",
        EnableLogFileValidation=True,
        KmsKeyId=f"alias/{name}",
        TagsList=[{"Key": "team", "Value": "security"}],
    )
    assert created["Name"] == name
    assert created["TrailARN"] == arn_of(name)
    assert created["S3BucketName"] == BUCKET and created["S3KeyPrefix"] == "audit"
    assert created["LogFileValidationEnabled"] is True
    assert created["IncludeGlobalServiceEvents"] is True
    assert created["IsMultiRegionTrail"] is False
    assert created["IsOrganizationTrail"] is False
    assert created["KmsKeyId"] == key["Arn"]
    assert "CloudWatchLogsLogGroupArn" not in created

    by_name = trail.get_trail(Name=name)["Trail"]
    assert by_name == trail.get_trail(Name=arn_of(name))["Trail"]
    assert by_name["HomeRegion"] == HOME
    assert by_name["HasCustomEventSelectors"] is False
    assert by_name["HasInsightSelectors"] is False
    described = trail.describe_trails()["trailList"]
    assert name in [listed["Name"] for listed in described]
    assert trail.describe_trails(trailNameList=[name])["trailList"] == [by_name]
    assert trail.describe_trails(trailNameList=["no-such-trail"])["trailList"] == []

    # A new trail does not log until StartLogging.
    status = trail.get_trail_status(Name=name)
    assert status["IsLogging"] is False
    assert "StartLoggingTime" not in status and "LatestDeliveryTime" not in status

    assert error_code(trail.create_trail, Name=name, S3BucketName=BUCKET) == (
        "TrailAlreadyExistsException"
    )
    trail.delete_trail(Name=arn_of(name))
    assert error_code(trail.get_trail, Name=name) == "TrailNotFoundException"


def test_a_multi_region_trail_shows_as_a_shadow_elsewhere(client):
    home = client("cloudtrail", region=HOME)
    other = client("cloudtrail", region=OTHER)
    name = unique("everywhere")
    local = unique("local")
    home.create_trail(Name=name, S3BucketName=BUCKET, IsMultiRegionTrail=True)
    home.create_trail(Name=local, S3BucketName=BUCKET)
    try:
        shadows = other.describe_trails(includeShadowTrails=True)["trailList"]
        shadow = next(listed for listed in shadows if listed["Name"] == name)
        assert shadow["HomeRegion"] == HOME and shadow["TrailARN"] == arn_of(name)
        assert shadow["IsMultiRegionTrail"] is True
        assert local not in [listed["Name"] for listed in shadows]
        without = other.describe_trails(includeShadowTrails=False)["trailList"]
        assert name not in [listed["Name"] for listed in without]
        # By ARN, a trail of another region is described; by name, only what shows here.
        by_arn = other.describe_trails(trailNameList=[arn_of(local)])["trailList"]
        assert [listed["Name"] for listed in by_arn] == [local]
        assert other.describe_trails(trailNameList=[local])["trailList"] == []

        assert other.get_trail(Name=name)["Trail"]["HomeRegion"] == HOME
        assert other.get_trail_status(Name=name)["IsLogging"] is False
        assert error_code(other.get_trail, Name=local) == "TrailNotFoundException"
        assert error_code(other.delete_trail, Name=name) == "InvalidHomeRegionException"
        assert error_code(other.start_logging, Name=name) == "InvalidHomeRegionException"
        assert error_code(other.update_trail, Name=name, S3KeyPrefix="x") == (
            "InvalidHomeRegionException"
        )
        assert error_code(other.create_trail, Name=name, S3BucketName=BUCKET) == (
            "TrailAlreadyExistsException"
        )
    finally:
        home.delete_trail(Name=name)
        home.delete_trail(Name=local)
    assert name not in [listed["Name"] for listed in other.describe_trails()["trailList"]]


def test_list_trails_pages_over_every_region(client):
    regions = ["sa-east-1", "ca-central-1", "eu-north-1"]
    mine = set()
    for index in range(11):
        region = regions[index % len(regions)]
        name = unique(f"paged{index}")
        client("cloudtrail", region=region).create_trail(Name=name, S3BucketName=BUCKET)
        mine.add((name, region))

    trail = client("cloudtrail", region=HOME)
    seen = []
    pages = 0
    arguments = {}
    while True:
        page = trail.list_trails(**arguments)
        pages += 1
        seen.extend(page["Trails"])
        if "NextToken" not in page:
            break
        arguments = {"NextToken": page["NextToken"]}
    assert pages > 1
    listed = [(info["Name"], info["HomeRegion"]) for info in seen]
    assert len(listed) == len(set(listed))
    assert mine <= set(listed)
    for info in seen:
        assert info["TrailARN"] == arn_of(info["Name"], info["HomeRegion"])
    assert error_code(trail.list_trails, NextToken="%%%") == "InvalidNextTokenException"

    for name, region in mine:
        client("cloudtrail", region=region).delete_trail(Name=name)


def test_update_trail(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("updated")
    trail.create_trail(Name=name, S3BucketName=BUCKET, S3KeyPrefix="before")
    group = f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:trail-logs:*"
    role = f"arn:aws:iam::{ACCOUNT}:role/trail-to-logs"
    updated = trail.update_trail(
        Name=name,
        S3BucketName="another-bucket",
        EnableLogFileValidation=True,
        CloudWatchLogsLogGroupArn=group,
        CloudWatchLogsRoleArn=role,
        SnsTopicName="trail-topic",
    )
    assert updated["S3BucketName"] == "another-bucket"
    assert updated["S3KeyPrefix"] == "before"
    assert updated["LogFileValidationEnabled"] is True
    assert updated["CloudWatchLogsLogGroupArn"] == group
    assert updated["CloudWatchLogsRoleArn"] == role
    assert updated["SnsTopicARN"] == f"arn:aws:sns:{HOME}:{ACCOUNT}:trail-topic"

    # An empty string removes an optional setting.
    cleared = trail.update_trail(Name=name, S3KeyPrefix="")
    assert "S3KeyPrefix" not in cleared
    assert "S3KeyPrefix" not in trail.get_trail(Name=name)["Trail"]

    assert error_code(
        trail.update_trail, Name=name, IsMultiRegionTrail=True, IncludeGlobalServiceEvents=False
    ) == "InvalidParameterCombinationException"
    assert error_code(trail.update_trail, Name=name, S3BucketName="Not_A_Bucket") == (
        "InvalidS3BucketNameException"
    )
    assert error_code(trail.update_trail, Name=unique("absent"), S3KeyPrefix="x") == (
        "TrailNotFoundException"
    )
    trail.delete_trail(Name=name)


def test_logging_status_and_stop_logging_in_event_history(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("logging")
    trail.create_trail(Name=name, S3BucketName=BUCKET)
    trail.start_logging(Name=name)
    started = trail.get_trail_status(Name=name)
    assert started["IsLogging"] is True
    assert "StartLoggingTime" in started and "StopLoggingTime" not in started

    trail.stop_logging(Name=name)
    stopped = trail.get_trail_status(Name=name)
    assert stopped["IsLogging"] is False
    assert stopped["StopLoggingTime"] >= stopped["StartLoggingTime"]
    assert "LatestDeliveryTime" not in stopped

    # Stopping a trail is itself in the event history, as every call is.
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StopLogging"}]
    )["Events"]
    records = [json.loads(event["CloudTrailEvent"]) for event in events]
    assert any(record["requestParameters"]["name"] == name for record in records), records
    assert all(record["eventSource"] == "cloudtrail.amazonaws.com" for record in records)
    trail.delete_trail(Name=name)


def test_event_selectors(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("selected")
    trail.create_trail(Name=name, S3BucketName=BUCKET)
    default = trail.get_event_selectors(TrailName=name)
    assert default["TrailARN"] == arn_of(name)
    assert default["EventSelectors"] == [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]

    classic = [
        {
            "ReadWriteType": "WriteOnly",
            "IncludeManagementEvents": True,
            "DataResources": [
                {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket/prefix"]}
            ],
            "ExcludeManagementEventSources": ["kms.amazonaws.com"],
        }
    ]
    put = trail.put_event_selectors(TrailName=name, EventSelectors=classic)
    assert put["EventSelectors"] == classic and "AdvancedEventSelectors" not in put
    assert trail.get_event_selectors(TrailName=name)["EventSelectors"] == classic
    assert trail.get_trail(Name=name)["Trail"]["HasCustomEventSelectors"] is True

    advanced = [
        {
            "Name": "writes to one bucket",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::bucket/"]},
            ],
        },
        {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
    ]
    trail.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    read = trail.get_event_selectors(TrailName=name)
    assert read["AdvancedEventSelectors"] == advanced and "EventSelectors" not in read

    refused = [
        ({"EventSelectors": classic, "AdvancedEventSelectors": advanced}, "InvalidEventSelectorsException"),
        ({}, "InvalidEventSelectorsException"),
        ({"EventSelectors": []}, "InvalidEventSelectorsException"),
        ({"EventSelectors": classic * 6}, "InvalidEventSelectorsException"),
        ({"EventSelectors": [{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}]}, "InvalidEventSelectorsException"),
        ({"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["bucket"]}]}]}, "InvalidEventSelectorsException"),
        ({"EventSelectors": [{"ExcludeManagementEventSources": ["s3.amazonaws.com"]}]}, "InvalidEventSelectorsException"),
        ({"EventSelectors": [{"ReadWriteType": "read-only"}]}, "ValidationException"),
        ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}]}, "InvalidEventSelectorsException"),
        ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}, "InvalidEventSelectorsException"),
        ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "colour", "Equals": ["blue"]}]}]}, "InvalidEventSelectorsException"),
        ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly"}]}]}, "InvalidEventSelectorsException"),
    ]
    for arguments, code in refused:
        assert error_code(trail.put_event_selectors, TrailName=name, **arguments) == code, arguments
    assert error_code(
        trail.get_event_selectors, TrailName=unique("absent")
    ) == "TrailNotFoundException"
    trail.delete_trail(Name=name)


def test_insight_selectors(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("insights")
    trail.create_trail(Name=name, S3BucketName=BUCKET)
    assert error_code(trail.get_insight_selectors, TrailName=name) == "InsightNotEnabledException"

    selectors = [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]
    put = trail.put_insight_selectors(TrailName=name, InsightSelectors=selectors)
    assert put["TrailARN"] == arn_of(name) and put["InsightSelectors"] == selectors
    assert trail.get_insight_selectors(TrailName=name)["InsightSelectors"] == selectors
    assert trail.get_trail(Name=name)["Trail"]["HasInsightSelectors"] is True

    refused = [
        ([{"InsightType": "ApiCallRateInsight"}] * 2, "InvalidInsightSelectorsException"),
        ([{}], "InvalidInsightSelectorsException"),
        ([{"InsightType": "CostInsight"}], "ValidationException"),
    ]
    for insight_selectors, code in refused:
        assert error_code(
            trail.put_insight_selectors, TrailName=name, InsightSelectors=insight_selectors
        ) == code, insight_selectors

    # An empty list turns Insights off.
    trail.put_insight_selectors(TrailName=name, InsightSelectors=[])
    assert error_code(trail.get_insight_selectors, TrailName=name) == "InsightNotEnabledException"
    trail.delete_trail(Name=name)


def test_trail_tags(client):
    trail = client("cloudtrail", region=HOME)
    name = unique("tagged")
    arn = trail.create_trail(
        Name=name, S3BucketName=BUCKET, TagsList=[{"Key": "team", "Value": "security"}]
    )["TrailARN"]
    trail.add_tags(ResourceId=arn, TagsList=[{"Key": "stage", "Value": "prod"}, {"Key": "team", "Value": "audit"}])
    listed = trail.list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert listed == [
        {
            "ResourceId": arn,
            "TagsList": [{"Key": "stage", "Value": "prod"}, {"Key": "team", "Value": "audit"}],
        }
    ]
    trail.remove_tags(ResourceId=arn, TagsList=[{"Key": "stage"}])
    tags = trail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "team", "Value": "audit"}]

    assert error_code(trail.add_tags, ResourceId=name, TagsList=[{"Key": "k", "Value": "v"}]) == (
        "CloudTrailARNInvalidException"
    )
    assert error_code(trail.add_tags, ResourceId=arn, TagsList=[{"Key": "aws:owner", "Value": "v"}]) == (
        "InvalidTagParameterException"
    )
    too_many = [{"Key": f"key{index}", "Value": "v"} for index in range(50)]
    assert error_code(trail.add_tags, ResourceId=arn, TagsList=too_many) == (
        "TagsLimitExceededException"
    )
    assert error_code(trail.list_tags, ResourceIdList=[arn_of(unique("absent"))]) == (
        "ResourceNotFoundException"
    )
    trail.delete_trail(Name=name)


def test_bad_trails_are_refused(client):
    trail = client("cloudtrail", region=HOME)
    cases = [
        ({"Name": "ab", "S3BucketName": BUCKET}, "InvalidTrailNameException"),
        ({"Name": "my--trail", "S3BucketName": BUCKET}, "InvalidTrailNameException"),
        ({"Name": "-trail", "S3BucketName": BUCKET}, "InvalidTrailNameException"),
        ({"Name": "192.168.5.4", "S3BucketName": BUCKET}, "InvalidTrailNameException"),
        ({"Name": "has space", "S3BucketName": BUCKET}, "InvalidTrailNameException"),
        ({"Name": unique("bucket"), "S3BucketName": "Upper_Case"}, "InvalidS3BucketNameException"),
        ({"Name": unique("prefix"), "S3BucketName": BUCKET, "S3KeyPrefix": "p" * 201}, "InvalidS3PrefixException"),
        ({"Name": unique("kms"), "S3BucketName": BUCKET, "KmsKeyId": "not a key"}, "InvalidKmsKeyIdException"),
        (
            {
                "Name": unique("logs"),
                "S3BucketName": BUCKET,
                "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:g:*",
            },
            "InvalidCloudWatchLogsRoleArnException",
        ),
        (
            {
                "Name": unique("global"),
                "S3BucketName": BUCKET,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": False,
            },
            "InvalidParameterCombinationException",
        ),
        ({"Name": unique("nobucket")}, "ValidationException"),
    ]
    for arguments, code in cases:
        assert error_code(trail.create_trail, **arguments) == code, arguments
    assert error_code(trail.get_trail, Name="arn:aws:cloudtrail:nowhere") == (
        "CloudTrailARNInvalidException"
    )
    assert error_code(trail.get_trail_status, Name=unique("absent")) == "TrailNotFoundException"
    assert error_code(trail.delete_trail, Name=unique("absent")) == "TrailNotFoundException"


def test_at_most_five_trails_show_in_a_region(client):
    trail = client("cloudtrail", region="af-south-1")
    names = [unique("quota") for _ in range(5)]
    for name in names:
        trail.create_trail(Name=name, S3BucketName=BUCKET)
    assert error_code(trail.create_trail, Name=unique("sixth"), S3BucketName=BUCKET) == (
        "MaximumNumberOfTrailsExceededException"
    )
    for name in names:
        trail.delete_trail(Name=name)


def test_describe_trails_with_the_aws_cli(aws_env, client):
    name = unique("cli")
    client("cloudtrail", region=HOME).create_trail(Name=name, S3BucketName=BUCKET)
    env = dict(aws_env, AWS_DEFAULT_REGION=HOME)
    out = subprocess.run(
        ["aws", "cloudtrail", "describe-trails", "--trail-name-list", name],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    trails = json.loads(out.stdout)["trailList"]
    assert [(listed["Name"], listed["TrailARN"]) for listed in trails] == [(name, arn_of(name))]
    client("cloudtrail", region=HOME).delete_trail(Name=name)
