"""CloudTrail Lake dashboards with boto3 and the AWS CLI: a custom dashboard whose refresh runs
each widget's query over an event data store that lets CloudTrail query it, with the refresh's
parameter values in the widgets' placeholders; tags; and AWS's errors.

Each test works in a region of its own with single-Region event data stores, so other tests'
calls do not show in its results.
"""

import json
import subprocess
import time
import uuid

import botocore.exceptions
import pytest

ACCOUNT = "000000000000"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_code(call, **arguments):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**arguments)
    assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return raised.value.response["Error"]["Code"]


def create_store(cloudtrail):
    created = cloudtrail.create_event_data_store(Name=unique("lake"), MultiRegionEnabled=False)
    return created["EventDataStoreArn"].rsplit("/", 1)[1], created["EventDataStoreArn"]


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def allow_dashboard(cloudtrail, store_arn, dashboard_arn):
    """AWS's example policy: CloudTrail may run the dashboard's queries on the store."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DashboardQueries",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "cloudtrail:StartQuery",
                "Resource": store_arn,
                "Condition": {
                    "StringEquals": {
                        "aws:SourceArn": dashboard_arn,
                        "aws:SourceAccount": ACCOUNT,
                    }
                },
            }
        ],
    }
    cloudtrail.put_resource_policy(ResourceArn=store_arn, ResourcePolicy=json.dumps(policy))


def widget_rows(cloudtrail, alias, refresh_id):
    """Waits for the query the refresh ran for the widget `alias`, and answers its rows."""
    deadline = time.monotonic() + 30
    while True:
        described = cloudtrail.describe_query(QueryAlias=alias, RefreshId=refresh_id)
        if described["QueryStatus"] not in ("QUEUED", "RUNNING"):
            break
        assert time.monotonic() < deadline, described
        time.sleep(0.05)
    assert described["QueryStatus"] == "FINISHED", described
    # The alias alone names the latest query run for it: this refresh's.
    assert cloudtrail.describe_query(QueryAlias=alias)["QueryId"] == described["QueryId"]
    results = cloudtrail.get_query_results(QueryId=described["QueryId"])
    assert results["QueryStatus"] == "FINISHED"
    return [{k: v for column in row for k, v in column.items()} for row in results["QueryResultRows"]]


def test_a_refresh_runs_each_widget_over_the_event_data_store(client, aws_env):
    region = "ap-northeast-3"
    cloudtrail = client("cloudtrail", region=region)
    kms = client("kms", region=region)
    store, store_arn = create_store(cloudtrail)
    started = time.time() - 1
    key = kms.create_key(Description="dashboards")["KeyMetadata"]
    for _ in range(2):
        kms.describe_key(KeyId=key["KeyId"])
    kms.list_aliases()

    name = unique("board")
    view = {"Height": "2", "Width": "4", "View": "Table"}
    created = cloudtrail.create_dashboard(
        Name=name,
        Widgets=[
            {
                "QueryStatement": (
                    f"SELECT eventName, count(*) AS calls FROM {store} "
                    "WHERE eventSource = 'kms.amazonaws.com' "
                    "AND eventTime >= '?' AND eventTime <= '?' "
                    "GROUP BY eventName ORDER BY eventName"
                ),
                "QueryParameters": ["$StartTime$", "$EndTime$"],
                "ViewProperties": dict(view, Title="KMS calls"),
            },
            {
                "QueryStatement": f"SELECT count(*) AS keys FROM {store} WHERE eventName = 'CreateKey'",
                "ViewProperties": dict(view, Title="Keys created"),
            },
        ],
        TagsList=[{"Key": "team", "Value": "sec"}],
    )
    arn = created["DashboardArn"]
    assert arn == f"arn:aws:cloudtrail:{region}:{ACCOUNT}:dashboard/{name}"
    assert created["Type"] == "CUSTOM"
    assert created["TerminationProtectionEnabled"] is False
    aliases = [widget["QueryAlias"] for widget in created["Widgets"]]
    assert len(set(aliases)) == 2
    assert created["Widgets"][0]["QueryParameters"] == ["$StartTime$", "$EndTime$"]

    # CloudTrail may not query the store for the dashboard until its policy says so.
    assert error_code(cloudtrail.start_dashboard_refresh, DashboardId=name) == "AccessDeniedException"
    allow_dashboard(cloudtrail, store_arn, arn)
    refresh_id = cloudtrail.start_dashboard_refresh(
        DashboardId=arn,
        QueryParameterValues={"$StartTime$": iso(started), "$EndTime$": iso(time.time() + 60)},
    )["RefreshId"]
    assert refresh_id.isdigit() and 10 <= len(refresh_id) <= 20

    assert widget_rows(cloudtrail, aliases[0], refresh_id) == [
        {"eventName": "CreateKey", "calls": "1"},
        {"eventName": "DescribeKey", "calls": "2"},
        {"eventName": "ListAliases", "calls": "1"},
    ]
    assert widget_rows(cloudtrail, aliases[1], refresh_id) == [{"keys": "1"}]
    # A window that ends before the calls shows none of them.
    early = cloudtrail.start_dashboard_refresh(
        DashboardId=name,
        QueryParameterValues={"$StartTime$": iso(started - 3600), "$EndTime$": iso(started - 60)},
    )["RefreshId"]
    assert widget_rows(cloudtrail, aliases[0], early) == []

    tags = cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "team", "Value": "sec"}]

    env = dict(aws_env, AWS_DEFAULT_REGION=region)
    got = json.loads(
        subprocess.run(
            ["aws", "cloudtrail", "get-dashboard", "--dashboard-id", name],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    assert got["DashboardArn"] == arn
    assert got["Type"] == "CUSTOM" and got["Status"] == "CREATED"
    assert got["LastRefreshId"] == early
    assert [widget["QueryAlias"] for widget in got["Widgets"]] == aliases
    assert got["Widgets"][1]["ViewProperties"]["Title"] == "Keys created"


def test_dashboard_lifecycle_and_errors(client):
    region = "me-south-1"
    cloudtrail = client("cloudtrail", region=region)
    store, _ = create_store(cloudtrail)
    name = unique("board")
    statement = f"SELECT eventName FROM {store}"
    widget = {"QueryStatement": statement, "ViewProperties": {"Title": "Calls"}}
    created = cloudtrail.create_dashboard(
        Name=name,
        Widgets=[widget],
        TerminationProtectionEnabled=True,
        RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 6}, "Status": "ENABLED", "TimeOfDay": "00:15"},
    )
    arn = created["DashboardArn"]
    assert created["RefreshSchedule"] == {
        "Frequency": {"Unit": "HOURS", "Value": 6},
        "Status": "ENABLED",
        "TimeOfDay": "00:15",
    }
    assert error_code(cloudtrail.create_dashboard, Name=name) == "ConflictException"
    assert error_code(
        cloudtrail.create_dashboard,
        Name=unique("bad"),
        Widgets=[{"QueryStatement": f"SELECT FROM WHERE {store}", "ViewProperties": {"Title": "x"}}],
    ) == "InvalidQueryStatementException"
    assert error_code(
        cloudtrail.create_dashboard,
        Name=unique("bad"),
        Widgets=[{"QueryStatement": "SELECT eventName FROM 00000000-0000-0000-0000-000000000000",
                  "ViewProperties": {"Title": "x"}}],
    ) == "EventDataStoreNotFoundException"
    assert error_code(
        cloudtrail.create_dashboard, Name=unique("bad"), Widgets=[widget] * 11
    ) == "ServiceQuotaExceededException"
    assert error_code(
        cloudtrail.create_dashboard,
        Name=unique("bad"),
        RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 5}, "Status": "ENABLED"},
    ) == "InvalidParameterException"
    assert error_code(
        cloudtrail.get_dashboard, DashboardId=unique("missing")
    ) == "ResourceNotFoundException"

    listed = cloudtrail.list_dashboards(NamePrefix=name)["Dashboards"]
    assert listed == [{"DashboardArn": arn, "Type": "CUSTOM"}]
    assert cloudtrail.list_dashboards(Type="MANAGED")["Dashboards"] == []

    updated = cloudtrail.update_dashboard(
        DashboardId=arn,
        Widgets=[
            dict(widget, ViewProperties={"Title": "Renamed"}),
            {"QueryStatement": f"SELECT eventSource FROM {store}", "ViewProperties": {"Title": "Sources"}},
        ],
    )
    # The widget whose query is unchanged keeps its alias.
    assert updated["Widgets"][0]["QueryAlias"] == created["Widgets"][0]["QueryAlias"]
    assert updated["Widgets"][1]["QueryAlias"] != created["Widgets"][0]["QueryAlias"]
    assert cloudtrail.get_dashboard(DashboardId=name)["Status"] == "UPDATED"

    assert error_code(cloudtrail.delete_dashboard, DashboardId=arn) == "ConflictException"
    cloudtrail.update_dashboard(DashboardId=name, TerminationProtectionEnabled=False)
    cloudtrail.delete_dashboard(DashboardId=arn)
    assert error_code(cloudtrail.get_dashboard, DashboardId=arn) == "ResourceNotFoundException"
    assert error_code(
        cloudtrail.start_dashboard_refresh, DashboardId=name
    ) == "ResourceNotFoundException"
