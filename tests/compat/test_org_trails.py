"""Organization trails with boto3: made only by the management account with trusted access for
CloudTrail, seen read-only by member accounts, and delivering (files and log group) the calls of
member accounts in AWS's organization layout.

The server here is this module's own, so that the test knows its delivery directory; delivery is
triggered through the local-mode endpoint rather than waited for.
"""

import glob
import gzip
import json
import os
import tempfile
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, serving

BUCKET = "org-trail-logs"
TRAIL = "organization"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
GROUP = "org-trail"
DEADLINE_S = 5.0


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as work:
        delivery_dir = os.path.join(work, "trails")
        with serving(os.path.join(work, "data"), "--trail-delivery-dir", delivery_dir) as url:
            yield {"url": url, "delivery_dir": delivery_dir}


def client(url, service, credentials=None):
    keys = credentials or {"AccessKeyId": "test", "SecretAccessKey": "test", "SessionToken": None}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        config=Config(retries={"max_attempts": 1}),
    )


def error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]["Code"]


def deliver(url):
    request = urllib.request.Request(url + "/_palisade/cloudtrail/deliver", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def delivered_request_ids(pattern):
    found = set()
    for path in glob.glob(pattern, recursive=True):
        with gzip.open(path) as log_file:
            found.update(record["requestID"] for record in json.load(log_file)["Records"])
    return found


def organization_trail(cloudtrail, **settings):
    return cloudtrail.create_trail(Name=TRAIL, S3BucketName=BUCKET, IsOrganizationTrail=True, **settings)


@pytest.fixture(scope="module")
def organization(server):
    """The organization of the default account, with one member account whose access role the
    test assumes; answers the organization id, the member's id and its credentials."""
    url = server["url"]
    orgs = client(url, "organizations")
    organization_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = orgs.create_account(Email="member@example.org", AccountName="member")["CreateAccountStatus"]
    member = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"][
        "AccountId"
    ]
    credentials = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="member"
    )["Credentials"]
    return {"id": organization_id, "member": member, "credentials": credentials}


def test_an_account_in_no_organization_cannot_make_an_organization_trail():
    with tempfile.TemporaryDirectory() as data_dir, serving(data_dir) as url:
        code = error_code(lambda: organization_trail(client(url, "cloudtrail")))
    assert code == "OrganizationsNotInUseException"


def test_only_the_management_account_with_trusted_access_makes_one(server, organization):
    url = server["url"]
    management = client(url, "cloudtrail")
    member = client(url, "cloudtrail", organization["credentials"])
    assert error_code(lambda: organization_trail(management)) == "CloudTrailAccessNotEnabledException"
    client(url, "organizations").enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    assert error_code(lambda: organization_trail(member)) == "NotOrganizationMasterAccountException"

    client(url, "logs").create_log_group(logGroupName=GROUP)
    created = organization_trail(
        management,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role",
    )
    assert created["IsOrganizationTrail"] is True
    assert created["TrailARN"] == TRAIL_ARN
    management.start_logging(Name=TRAIL)


def test_members_see_the_trail_and_their_calls_are_delivered(server, organization):
    url = server["url"]
    member_id = organization["member"]
    member = client(url, "cloudtrail", organization["credentials"])
    if not any(t["TrailARN"] == TRAIL_ARN for t in client(url, "cloudtrail").list_trails()["Trails"]):
        pytest.skip("needs the trail the previous test creates")

    described = member.describe_trails()
    request_id = described["ResponseMetadata"]["RequestId"]
    [trail] = described["trailList"]
    assert trail["TrailARN"] == TRAIL_ARN and trail["IsOrganizationTrail"] is True
    assert member.get_trail(Name=TRAIL_ARN)["Trail"]["TrailARN"] == TRAIL_ARN
    assert [t["TrailARN"] for t in member.list_trails()["Trails"]] == [TRAIL_ARN]
    assert member.get_trail_status(Name=TRAIL_ARN)["IsLogging"] is True
    assert error_code(lambda: member.delete_trail(Name=TRAIL_ARN)) == "NotOrganizationMasterAccountException"
    assert error_code(lambda: member.stop_logging(Name=TRAIL_ARN)) == "NotOrganizationMasterAccountException"

    # Files: the member's calls under the organization's layout.
    deliver(url)
    layout = os.path.join(server["delivery_dir"], BUCKET, "AWSLogs", organization["id"], member_id)
    assert request_id in delivered_request_ids(f"{layout}/CloudTrail/{REGION}/**/{member_id}_CloudTrail_*.json.gz")
    assert not glob.glob(os.path.join(server["delivery_dir"], BUCKET, "AWSLogs", member_id))

    # The log group: the member's stream, named after the organization.
    logs = client(url, "logs")
    stream = f"{organization['id']}_{member_id}_CloudTrail_{REGION}"
    deadline = time.monotonic() + DEADLINE_S
    while True:
        events = logs.filter_log_events(logGroupName=GROUP)["events"]
        if any(
            event["logStreamName"] == stream and json.loads(event["message"])["requestID"] == request_id
            for event in events
        ):
            break
        assert time.monotonic() < deadline, f"not streamed to {stream}"
        # Paces the polling; what is awaited is the record itself.
        time.sleep(0.05)
