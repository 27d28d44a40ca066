"""CloudTrail Lake imports with boto3 and the AWS CLI: a trail's log files, delivered to the local
directory that stands in for S3 or put in a real S3 endpoint (moto's server), copied into an
event data store and queried there; statistics, failures, retries and AWS's errors.

The servers here are this module's own, so that the tests know where trails deliver. Delivery
is triggered through the local-mode endpoint rather than waited for. Each test works in a region
of its own.
"""

import glob
import gzip
import json
import os
import subprocess
import tempfile
import time
import uuid

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from conftest import ACCOUNT, serving
from test_trail_delivery import deliver

ROLE = f"arn:aws:iam::{ACCOUNT}:role/import"


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as work:
        data_dir = os.path.join(work, "data")
        delivery_dir = os.path.join(work, "trails")
        with serving(data_dir, "--trail-delivery-dir", delivery_dir) as url:
            yield {"url": url, "delivery_dir": delivery_dir}


@pytest.fixture(scope="module")
def s3_server():
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # start() returns once the server's socket is listening.
    moto.start()
    host, port = moto.get_host_and_port()
    s3_url = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory() as work:
            options = [
                "--trail-s3-endpoint",
                s3_url,
                "--trail-s3-region",
                "us-east-1",
                "--trail-s3-access-key-id",
                "test",
                "--trail-s3-secret-access-key",
                "test",
            ]
            with serving(os.path.join(work, "data"), *options) as url:
                yield {"url": url, "s3_url": s3_url}
    finally:
        moto.stop()


def aws(server, service, region, url=None):
    return boto3.client(
        service,
        endpoint_url=url or server["url"],
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def cli(server, region, *arguments):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=region,
        AWS_ENDPOINT_URL=server["url"],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    done = subprocess.run(
        ["aws", "cloudtrail", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def error_code(call, **arguments):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**arguments)
    assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return raised.value.response["Error"]["Code"]


def source(uri, region):
    return {"S3": {"S3LocationUri": uri, "S3BucketRegion": region, "S3BucketAccessRoleArn": ROLE}}


def create_store(cloudtrail):
    name = f"imports-{uuid.uuid4().hex[:12]}"
    return cloudtrail.create_event_data_store(Name=name, MultiRegionEnabled=False)[
        "EventDataStoreArn"
    ]


def wait_for(get_import, import_id):
    """Polls the import until it ends; the deadline only bounds a broken run."""
    deadline = time.monotonic() + 30
    while True:
        got = get_import(import_id)
        if got["ImportStatus"] not in ("INITIALIZING", "IN_PROGRESS"):
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.05)


def names(cloudtrail, store, event_source):
    """The event names a Lake query over `store` answers for `event_source`, sorted."""
    statement = (
        f"SELECT eventName FROM {store.rsplit('/', 1)[1]} "
        f"WHERE eventSource = '{event_source}' ORDER BY eventName"
    )
    query_id = cloudtrail.start_query(QueryStatement=statement)["QueryId"]
    deadline = time.monotonic() + 30
    while cloudtrail.describe_query(QueryId=query_id)["QueryStatus"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    results = cloudtrail.get_query_results(QueryId=query_id)
    assert results["QueryStatus"] == "FINISHED"
    return [row[0]["eventName"] for row in results["QueryResultRows"]]


def test_delivered_trail_files_are_imported_and_queried(server):
    region = "ap-southeast-2"
    bucket = "imported-logs"
    cloudtrail = aws(server, "cloudtrail", region)
    kms = aws(server, "kms", region)
    cloudtrail.create_trail(Name="to-import", S3BucketName=bucket, S3KeyPrefix="lake")
    cloudtrail.start_logging(Name="to-import")
    kms.list_keys()
    kms.list_aliases()
    assert deliver(server)["logFiles"] >= 1
    logs = glob.glob(
        os.path.join(
            server["delivery_dir"], bucket, "lake", "AWSLogs", ACCOUNT, "CloudTrail", region,
            "*", "*", "*", "*.json.gz",
        )
    )
    assert logs
    # Created after the calls: only the import puts them in it.
    store = create_store(cloudtrail)
    assert names(cloudtrail, store, "kms.amazonaws.com") == []

    uri = f"s3://{bucket}/lake/AWSLogs/{ACCOUNT}/CloudTrail/"
    started = cloudtrail.start_import(Destinations=[store], ImportSource=source(uri, region))
    assert started["ImportStatus"] == "INITIALIZING"
    assert started["Destinations"] == [store]
    assert started["ImportSource"]["S3"]["S3LocationUri"] == uri
    imported = wait_for(lambda i: cloudtrail.get_import(ImportId=i), started["ImportId"])
    assert imported["ImportStatus"] == "COMPLETED", imported
    statistics = imported["ImportStatistics"]
    assert statistics["FilesCompleted"] == len(logs)
    assert statistics["PrefixesFound"] == statistics["PrefixesCompleted"] >= 1
    assert statistics["EventsCompleted"] >= 2 and statistics["FailedEntries"] == 0
    assert names(cloudtrail, store, "kms.amazonaws.com") == ["ListAliases", "ListKeys"]

    # The same import again, with the AWS CLI: nothing is copied twice.
    again = cli(
        server, region, "start-import", "--destinations", store, "--import-source",
        f"S3={{S3LocationUri={uri},S3BucketRegion={region},S3BucketAccessRoleArn={ROLE}}}",
    )
    assert again["ImportStatus"] == "INITIALIZING"
    ended = wait_for(
        lambda i: cli(server, region, "get-import", "--import-id", i), again["ImportId"]
    )
    assert ended["ImportStatus"] == "COMPLETED"
    assert ended["ImportStatistics"]["EventsCompleted"] == statistics["EventsCompleted"]
    assert names(cloudtrail, store, "kms.amazonaws.com") == ["ListAliases", "ListKeys"]

    # A file that is not a gzipped log file is a failure; the others are copied.
    bad = os.path.join(os.path.dirname(logs[0]), "not-gzip.json.gz")
    with open(bad, "wb") as file:
        file.write(b'{"Records": []}')
    failing = cloudtrail.start_import(Destinations=[store], ImportSource=source(uri, region))
    failed = wait_for(lambda i: cloudtrail.get_import(ImportId=i), failing["ImportId"])
    assert failed["ImportStatus"] == "FAILED"
    assert failed["ImportStatistics"]["FailedEntries"] == 1
    assert failed["ImportStatistics"]["FilesCompleted"] == len(logs)
    failures = cloudtrail.list_import_failures(ImportId=failing["ImportId"])["Failures"]
    assert len(failures) == 1
    assert failures[0]["Location"].endswith("/not-gzip.json.gz")
    assert failures[0]["Location"].startswith(f"s3://{bucket}/lake/AWSLogs/")
    assert failures[0]["Status"] == "FAILED" and failures[0]["ErrorType"] == "InvalidFileFormat"
    assert "LastUpdatedTime" in failures[0] and failures[0]["ErrorMessage"]

    listed = cloudtrail.list_imports(Destination=store)["Imports"]
    assert [item["ImportId"] for item in listed] == [
        started["ImportId"], again["ImportId"], failing["ImportId"],
    ]
    only_failed = cloudtrail.list_imports(ImportStatus="FAILED")["Imports"]
    assert [item["ImportId"] for item in only_failed] == [failing["ImportId"]]

    assert error_code(
        cloudtrail.start_import,
        Destinations=[store],
        ImportSource=source("https://example.com/logs", region),
    ) == "InvalidImportSourceException"
    assert error_code(
        cloudtrail.start_import,
        Destinations=[store],
        ImportSource=source("s3://no-such-bucket/", region),
    ) == "InvalidImportSourceException"
    unknown = str(uuid.uuid4())
    assert error_code(cloudtrail.get_import, ImportId=unknown) == "ImportNotFoundException"
    assert error_code(cloudtrail.stop_import, ImportId=started["ImportId"]) == (
        "OperationNotPermittedException"
    )


def test_log_files_in_s3_are_imported_and_a_retry_copies_what_failed(s3_server):
    region = "ap-south-1"
    bucket = "imported-from-s3"
    s3 = aws(s3_server, "s3", "us-east-1", url=s3_server["s3_url"])
    s3.create_bucket(Bucket=bucket)
    now = time.time() - 120
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    minute = time.strftime("%Y%m%dT%H%MZ", time.gmtime(now))
    event_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    directory = f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{day}"

    def log_file(*event_names):
        records = [
            {
                "eventVersion": "1.11",
                "eventTime": event_time,
                "eventID": str(uuid.uuid4()),
                "eventSource": "imports.example.com",
                "eventName": name,
                "awsRegion": region,
                "recipientAccountId": ACCOUNT,
            }
            for name in event_names
        ]
        return gzip.compress(json.dumps({"Records": records}).encode())

    good = f"{directory}/{ACCOUNT}_CloudTrail_{region}_{minute}_AAAAAAAAAAAAAAAA.json.gz"
    bad = f"{directory}/{ACCOUNT}_CloudTrail_{region}_{minute}_BBBBBBBBBBBBBBBB.json.gz"
    # Stored as trails store them, gzip named as the content encoding: read as stored.
    s3.put_object(
        Bucket=bucket,
        Key=good,
        Body=log_file("First", "Second"),
        ContentType="application/json",
        ContentEncoding="gzip",
    )
    s3.put_object(Bucket=bucket, Key=bad, Body=b"plain text")
    digest = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/{day}/digest.json.gz"
    s3.put_object(Bucket=bucket, Key=digest, Body=b"not a log file")

    cloudtrail = aws(s3_server, "cloudtrail", region)
    store = create_store(cloudtrail)
    started = cloudtrail.start_import(
        Destinations=[store], ImportSource=source(f"s3://{bucket}", "us-east-1")
    )
    import_id = started["ImportId"]
    failed = wait_for(lambda i: cloudtrail.get_import(ImportId=i), import_id)
    assert failed["ImportStatus"] == "FAILED"
    assert failed["ImportStatistics"] == {
        "PrefixesFound": 1,
        "PrefixesCompleted": 1,
        "FilesCompleted": 1,
        "EventsCompleted": 2,
        "FailedEntries": 1,
    }
    failures = cloudtrail.list_import_failures(ImportId=import_id)["Failures"]
    assert [(f["Location"], f["Status"], f["ErrorType"]) for f in failures] == [
        (f"s3://{bucket}/{bad}", "FAILED", "InvalidFileFormat")
    ]
    assert names(cloudtrail, store, "imports.example.com") == ["First", "Second"]

    # Once the file is fixed, a retry copies it, and only it.
    s3.put_object(Bucket=bucket, Key=bad, Body=log_file("Third"))
    retried = cloudtrail.start_import(ImportId=import_id)
    assert retried["ImportStatus"] == "INITIALIZING" and retried["ImportId"] == import_id
    completed = wait_for(lambda i: cloudtrail.get_import(ImportId=i), import_id)
    assert completed["ImportStatus"] == "COMPLETED"
    assert completed["ImportStatistics"]["EventsCompleted"] == 3
    assert completed["ImportStatistics"]["FailedEntries"] == 0
    failures = cloudtrail.list_import_failures(ImportId=import_id)["Failures"]
    assert [f["Status"] for f in failures] == ["SUCCEEDED"]
    assert names(cloudtrail, store, "imports.example.com") == ["First", "Second", "Third"]

    assert error_code(
        cloudtrail.start_import,
        Destinations=[store],
        ImportSource=source("s3://no-such-bucket-for-imports/", "us-east-1"),
    ) == "InvalidImportSourceException"
