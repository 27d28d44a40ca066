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

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

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


def _member_cloudtrail(client, endpoint, region):
    """A new member account of the caller's organization, and a CloudTrail client acting as
    its `OrganizationAccountAccessRole` (which has AdministratorAccess)."""
    orgs = client("organizations")
    try:
        orgs.create_organization(FeatureSet="ALL")
    except botocore.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "AlreadyInOrganizationException"
    status = orgs.create_account(Email=f"{uuid.uuid4().hex[:8]}@example.com", AccountName="b")
    account = orgs.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    credentials = client("sts").assume_role(RoleArn=role, RoleSessionName="account-b")["Credentials"]
    member = boto3.client(
        "cloudtrail",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )
    return account, member


def test_another_account_queries_as_the_resource_policy_allows(client, endpoint):
    region = "ap-southeast-2"
    cloudtrail = client("cloudtrail", region=region)
    store, created = create_store(cloudtrail)
    arn = created["EventDataStoreArn"]
    client("kms", region=region).list_keys()
    account, member = _member_cloudtrail(client, endpoint, region)
    statement = f"SELECT eventName, recipientAccountId FROM {arn} WHERE eventName = 'ListKeys'"
    query = {"QueryStatement": statement, "EventDataStoreOwnerAccountId": ACCOUNT}

    # Its own policies allow everything, but the event data store's allows nothing.
    assert error_code(member.start_query, **query) == "AccessDeniedException"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["cloudtrail:StartQuery", "cloudtrail:ListQueries"],
                "Resource": arn,
            }
        ],
    }
    cloudtrail.put_resource_policy(ResourceArn=arn, ResourcePolicy=json.dumps(policy))
    assert json.loads(cloudtrail.get_resource_policy(ResourceArn=arn)["ResourcePolicy"]) == policy

    started = member.start_query(**query)
    assert started["EventDataStoreOwnerAccountId"] == ACCOUNT
    deadline = time.monotonic() + 30
    while True:
        described = member.describe_query(QueryId=started["QueryId"])
        if described["QueryStatus"] not in ("QUEUED", "RUNNING"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["QueryStatus"] == "FINISHED"
    assert described["EventDataStoreOwnerAccountId"] == ACCOUNT
    rows = member.get_query_results(QueryId=started["QueryId"])["QueryResultRows"]
    assert rows == [[{"eventName": "ListKeys"}, {"recipientAccountId": ACCOUNT}]]
    # The query is the member's: it lists it, and the owner does not see it.
    listed = member.list_queries(EventDataStore=arn)["Queries"]
    assert [listed_query["QueryId"] for listed_query in listed] == [started["QueryId"]]
    assert error_code(cloudtrail.describe_query, QueryId=started["QueryId"]) == (
        "QueryIdNotFoundException"
    )
    # Another store of the owner's stays out of reach.
    other, _ = create_store(cloudtrail)
    assert error_code(
        member.start_query,
        QueryStatement=f"SELECT eventName FROM {other}",
        EventDataStoreOwnerAccountId=ACCOUNT,
    ) == "AccessDeniedException"


def test_a_channel_sends_to_a_store_of_events_from_outside_aws(client):
    region = "il-central-1"
    cloudtrail = client("cloudtrail", region=region)
    selectors = [
        {"Name": "integration", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}
    ]
    store, created = create_store(
        cloudtrail, AdvancedEventSelectors=selectors, TerminationProtectionEnabled=False
    )
    arn = created["EventDataStoreArn"]
    management, _ = create_store(cloudtrail)
    name = unique("channel")
    destination = {"Type": "EVENT_DATA_STORE", "Location": arn}
    assert error_code(
        cloudtrail.create_channel,
        Name=unique("wrong"),
        Source="Custom",
        Destinations=[{"Type": "EVENT_DATA_STORE", "Location": management}],
    ) == "InvalidEventDataStoreCategoryException"
    channel = cloudtrail.create_channel(Name=name, Source="Custom", Destinations=[destination])
    got = cloudtrail.get_channel(Channel=channel["ChannelArn"])
    assert got["Name"] == name and got["Source"] == "Custom"
    assert got["Destinations"] == [destination]
    listed = cloudtrail.list_channels()["Channels"]
    assert {"ChannelArn": channel["ChannelArn"], "Name": name} in listed
    assert error_code(cloudtrail.delete_event_data_store, EventDataStore=arn) == (
        "ChannelExistsForEDSException"
    )
    cloudtrail.delete_channel(Channel=channel["ChannelArn"])
    assert error_code(cloudtrail.get_channel, Channel=channel["ChannelArn"]) == (
        "ChannelNotFoundException"
    )
    cloudtrail.delete_event_data_store(EventDataStore=arn)
