"""CloudTrail Lake with boto3 and the AWS CLI: event data stores over the calls the server
records, SQL queries over them (started, polled, paged), IAM decisions on the event data store a
query reads, and AWS's errors.

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


def create_store(cloudtrail, **settings):
    created = cloudtrail.create_event_data_store(
        Name=unique("lake"), MultiRegionEnabled=False, **settings
    )
    return created["EventDataStoreArn"].rsplit("/", 1)[1], created


def run(cloudtrail, statement, parameters=None):
    """Starts `statement`, waits for it to finish and answers every row, pages joined."""
    arguments = {"QueryStatement": statement}
    if parameters:
        arguments["QueryParameters"] = parameters
    query_id = cloudtrail.start_query(**arguments)["QueryId"]
    deadline = time.monotonic() + 30
    while True:
        described = cloudtrail.describe_query(QueryId=query_id)
        if described["QueryStatus"] not in ("QUEUED", "RUNNING"):
            break
        assert time.monotonic() < deadline, described
        time.sleep(0.05)
    assert described["QueryStatus"] == "FINISHED", described
    assert described["QueryString"] == statement
    rows, token = [], None
    while True:
        page = cloudtrail.get_query_results(
            QueryId=query_id, MaxQueryResults=2, **({"NextToken": token} if token else {})
        )
        assert page["QueryStatus"] == "FINISHED"
        rows += [{k: v for column in row for k, v in column.items()} for row in page["QueryResultRows"]]
        token = page.get("NextToken")
        if not token:
            break
    assert page["QueryStatistics"]["TotalResultsCount"] == len(rows)
    return rows, described


def test_a_query_sees_the_calls_made_after_the_store_was_created(client):
    region = "ca-central-1"
    cloudtrail = client("cloudtrail", region=region)
    kms = client("kms", region=region)
    kms.list_keys()  # before the store: not in it
    store, created = create_store(cloudtrail)
    assert created["Status"] == "ENABLED"
    assert created["RetentionPeriod"] == 366
    assert created["AdvancedEventSelectors"][0]["FieldSelectors"] == [
        {"Field": "eventCategory", "Equals": ["Management"]}
    ]
    key = kms.create_key(Description="lake")["KeyMetadata"]
    for _ in range(3):
        kms.describe_key(KeyId=key["KeyId"])
    kms.list_aliases()

    rows, described = run(
        cloudtrail,
        f"SELECT eventName, userIdentity.arn, recipientAccountId FROM {store} "
        "WHERE eventSource = 'kms.amazonaws.com' ORDER BY eventName",
    )
    assert [row["eventName"] for row in rows] == [
        "CreateKey",
        "DescribeKey",
        "DescribeKey",
        "DescribeKey",
        "ListAliases",
    ]
    # Trino names a field reference's column after its last name.
    assert {row["arn"] for row in rows} == {f"arn:aws:iam::{ACCOUNT}:root"}
    assert {row["recipientAccountId"] for row in rows} == {ACCOUNT}
    assert described["QueryStatistics"]["EventsMatched"] == 5
    assert described["QueryStatistics"]["EventsScanned"] >= 5

    rows, _ = run(
        cloudtrail,
        f"SELECT eventName, COUNT(*) AS calls FROM {store} WHERE eventSource = ? "
        "GROUP BY eventName ORDER BY calls DESC, eventName",
        ["kms.amazonaws.com"],
    )
    assert rows == [
        {"eventName": "DescribeKey", "calls": "3"},
        {"eventName": "CreateKey", "calls": "1"},
        {"eventName": "ListAliases", "calls": "1"},
    ]

    listed = cloudtrail.list_queries(EventDataStore=store)["Queries"]
    assert len(listed) == 2 and {query["QueryStatus"] for query in listed} == {"FINISHED"}


def test_queries_with_the_aws_cli(aws_env, client):
    region = "sa-east-1"
    env = dict(aws_env, AWS_DEFAULT_REGION=region)
    cloudtrail = client("cloudtrail", region=region)
    created = json.loads(
        subprocess.run(
            ["aws", "cloudtrail", "create-event-data-store", "--name", unique("cli"),
             "--no-multi-region-enabled", "--retention-period", "30"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    store = created["EventDataStoreArn"]
    assert created["RetentionPeriod"] == 30
    client("kms", region=region).list_keys()
    started = json.loads(
        subprocess.run(
            ["aws", "cloudtrail", "start-query", "--query-statement",
             f"SELECT eventName FROM {store.rsplit('/', 1)[1]} WHERE eventName = 'ListKeys'"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    query_id = started["QueryId"]
    deadline = time.monotonic() + 30
    while cloudtrail.describe_query(QueryId=query_id)["QueryStatus"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    results = json.loads(
        subprocess.run(
            ["aws", "cloudtrail", "get-query-results", "--query-id", query_id],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    assert results["QueryStatus"] == "FINISHED"
    assert results["QueryResultRows"] == [[{"eventName": "ListKeys"}]]
    described = json.loads(
        subprocess.run(
            ["aws", "cloudtrail", "get-event-data-store", "--event-data-store", store],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    assert described["Status"] == "ENABLED" and described["MultiRegionEnabled"] is False


def test_event_data_store_lifecycle_and_errors(client):
    region = "eu-north-1"
    cloudtrail = client("cloudtrail", region=region)
    store, created = create_store(cloudtrail, TagsList=[{"Key": "team", "Value": "sec"}])
    arn = created["EventDataStoreArn"]
    assert error_code(cloudtrail.create_event_data_store, Name=created["Name"]) == (
        "EventDataStoreAlreadyExistsException"
    )
    assert error_code(
        cloudtrail.create_event_data_store,
        Name=unique("x"),
        RetentionPeriod=3000,
        BillingMode="FIXED_RETENTION_PRICING",
    ) == "InvalidParameterException"
    assert error_code(
        cloudtrail.start_query, QueryStatement=f"SELECT FROM WHERE {store}"
    ) == "InvalidQueryStatementException"
    assert error_code(
        cloudtrail.get_event_data_store, EventDataStore=f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/x"
    ) == "EventDataStoreARNInvalidException"
    assert error_code(
        cloudtrail.get_query_results, QueryId=str(uuid.uuid4())
    ) == "QueryIdNotFoundException"
    tags = cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "team", "Value": "sec"}]

    cloudtrail.stop_event_data_store_ingestion(EventDataStore=store)
    assert cloudtrail.get_event_data_store(EventDataStore=arn)["Status"] == "STOPPED_INGESTION"
    cloudtrail.start_event_data_store_ingestion(EventDataStore=store)
    assert error_code(cloudtrail.delete_event_data_store, EventDataStore=arn) == (
        "EventDataStoreTerminationProtectedException"
    )
    cloudtrail.update_event_data_store(EventDataStore=arn, TerminationProtectionEnabled=False)
    cloudtrail.delete_event_data_store(EventDataStore=arn)
    assert cloudtrail.get_event_data_store(EventDataStore=arn)["Status"] == "PENDING_DELETION"
    assert error_code(
        cloudtrail.start_query, QueryStatement=f"SELECT eventName FROM {store}"
    ) == "InactiveEventDataStoreException"
    restored = cloudtrail.restore_event_data_store(EventDataStore=arn)
    assert restored["Status"] == "ENABLED"


def test_iam_decides_on_the_event_data_store_a_query_reads(client, endpoint):
    region = "eu-south-1"
    cloudtrail = client("cloudtrail", region=region)
    allowed, _ = create_store(cloudtrail)
    other, _ = create_store(cloudtrail)
    iam = client("iam")
    name = unique("analyst")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["cloudtrail:StartQuery", "cloudtrail:DescribeQuery"],
                "Resource": f"arn:aws:cloudtrail:{region}:{ACCOUNT}:eventdatastore/{allowed}",
            }
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="lake", PolicyDocument=json.dumps(policy))
    analyst = client(
        "cloudtrail",
        region=region,
        access_key=key["AccessKeyId"],
        secret=key["SecretAccessKey"],
    )
    assert analyst.start_query(QueryStatement=f"SELECT eventName FROM {allowed}")["QueryId"]
    assert error_code(
        analyst.start_query, QueryStatement=f"SELECT eventName FROM {other}"
    ) == "AccessDeniedException"
