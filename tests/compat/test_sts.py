"""STS sessions with boto3 and the AWS CLI: AssumeRole, the session's credentials signing
requests, session policies, GetSessionToken."""

import json
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def session_client(endpoint, service, credentials):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def role(client):
    iam = client("iam")
    name = "r-" + uuid.uuid4().hex[:10]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="list",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
        ),
    )
    return {"name": name, "arn": arn}


def test_assume_role_and_use_the_session(endpoint, client, role):
    answer = client("sts").assume_role(RoleArn=role["arn"], RoleSessionName="build-42")
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['name']}/build-42"
    )
    identity = session_client(endpoint, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert identity["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]
    # The role's policy allows listing, nothing else.
    session_client(endpoint, "iam", credentials).list_users()
    with pytest.raises(ClientError) as raised:
        session_client(endpoint, "iam", credentials).create_user(UserName="nope")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_session_policy_narrows_the_role(endpoint, client, role):
    narrow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
    credentials = client("sts").assume_role(
        RoleArn=role["arn"], RoleSessionName="narrow", Policy=json.dumps(narrow)
    )["Credentials"]
    iam = session_client(endpoint, "iam", credentials)
    iam.list_roles()
    with pytest.raises(ClientError) as raised:
        iam.list_users()
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "because no session policy allows the iam:ListUsers action" in error["Message"]


def test_a_wrong_session_token_is_refused(endpoint, client, role):
    credentials = dict(client("sts").assume_role(RoleArn=role["arn"], RoleSessionName="s1")["Credentials"])
    credentials["SessionToken"] = credentials["SessionToken"][:-4] + "AAAA"
    with pytest.raises(ClientError) as raised:
        session_client(endpoint, "sts", credentials).get_caller_identity()
    assert raised.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_untrusted_caller_cannot_assume(client, role):
    iam = client("iam")
    name = "u-" + uuid.uuid4().hex[:10]
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    trust_only_root = client("sts", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as raised:
        trust_only_root.assume_role(RoleArn=role["arn"], RoleSessionName="x1")
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "sts:AssumeRole" in error["Message"]


def test_get_session_token_for_a_user(endpoint, client):
    iam = client("iam")
    name = "u-" + uuid.uuid4().hex[:10]
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = client("sts", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    credentials = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert session_client(endpoint, "sts", credentials).get_caller_identity()["Arn"] == arn


def test_assume_role_with_the_aws_cli(aws_env, role):
    out = subprocess.run(
        ["aws", "sts", "assume-role", "--role-arn", role["arn"], "--role-session-name", "cli", "--output", "json"],
        env=aws_env, capture_output=True, text=True, timeout=60, check=True,
    )
    answer = json.loads(out.stdout)
    assert answer["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{role['name']}/cli")
    env = dict(aws_env)
    env.update(
        AWS_ACCESS_KEY_ID=answer["Credentials"]["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=answer["Credentials"]["SecretAccessKey"],
        AWS_SESSION_TOKEN=answer["Credentials"]["SessionToken"],
    )
    out = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(out.stdout)["Arn"] == answer["AssumedRoleUser"]["Arn"]
