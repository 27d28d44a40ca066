"""aws:SourceIp and aws:SecureTransport behind a trusted proxy, with boto3.

This module runs its own server with `--trusted-proxies` naming loopback, so that the test
client, connecting from loopback, stands in for a proxy: the X-Forwarded-For and
X-Forwarded-Proto headers it adds are what a proxy would add. The session's shared server
trusts no proxy, and there the same headers change nothing.
"""

import json
import tempfile
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, serving

OFFICE = "203.0.113.0/24"


def make_client(url, service, access_key="test", secret="test", forwarded=None):
    client = boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    if forwarded:

        def add_headers(request, **_):
            for name, value in forwarded.items():
                request.headers[name] = value

        client.meta.events.register("before-sign.*.*", add_headers)
    return client


def office_only_user(url):
    """A user allowed iam:ListUsers, denied everything from outside the office network and
    everything over plain HTTP."""
    iam = make_client(url, "iam")
    name = "u-" + uuid.uuid4().hex[:12]
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="office",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}},
                    },
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            }
        ),
    )
    return key["AccessKeyId"], key["SecretAccessKey"]


def list_users(url, key, forwarded):
    access_key, secret = key
    return make_client(url, "iam", access_key, secret, forwarded).list_users()


def denied(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"] == "AccessDenied"


@pytest.fixture(scope="module")
def behind_proxy():
    with tempfile.TemporaryDirectory() as data_dir, serving(
        data_dir, "--trusted-proxies", "127.0.0.1,::1"
    ) as url:
        yield url


def test_a_trusted_proxy_names_the_client(behind_proxy):
    key = office_only_user(behind_proxy)
    from_office = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert "Users" in list_users(behind_proxy, key, from_office)

    # The client put its own entry first; the proxy appended the address it saw.
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.4", "X-Forwarded-Proto": "https"}
    assert denied(lambda: list_users(behind_proxy, key, spoofed))

    # The proxy says the client spoke plain HTTP.
    plain = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    assert denied(lambda: list_users(behind_proxy, key, plain))

    # No forwarding headers: the proxy itself is the client, outside the office.
    assert denied(lambda: list_users(behind_proxy, key, None))


def test_the_record_names_the_forwarded_client(behind_proxy):
    forwarded = {"X-Forwarded-For": "192.0.2.44"}
    marker = "m-" + uuid.uuid4().hex[:12]
    make_client(behind_proxy, "iam", forwarded=forwarded).create_user(UserName=marker)
    events = [
        event
        for event in make_client(behind_proxy, "cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
        )["Events"]
        if marker in event["CloudTrailEvent"]
    ]
    assert events, "the CreateUser call was recorded"
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["sourceIPAddress"] == "192.0.2.44"


def test_without_trusted_proxies_forwarding_headers_change_nothing(endpoint):
    key = office_only_user(endpoint)
    from_office = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert denied(lambda: list_users(endpoint, key, from_office))
