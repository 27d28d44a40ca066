"""Identity policies that name resources: each service's operations are decided on the ARNs the
Service Authorization Reference gives them (parameters, log groups and streams, rules, trails,
IAM users by path), so a policy scoped to some resources allows those and no others."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

# Trails count against a per-region quota; this module keeps its own region for them.
TRAIL_REGION = "sa-east-1"


def _unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _denied(call, **arguments):
    with pytest.raises(ClientError) as raised:
        call(**arguments)
    error = raised.value.response["Error"]
    assert error["Code"] in ("AccessDenied", "AccessDeniedException"), error
    return error["Message"]


@pytest.fixture
def user_client(client, endpoint):
    """Makes an IAM user whose only policy allows `statements`; answers a client factory that
    signs as that user, and the user's ARN."""

    def make(*statements, path="/"):
        iam = client("iam")
        name = _unique("u")
        arn = iam.create_user(UserName=name, Path=path)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_user_policy(UserName=name, PolicyName="scoped", PolicyDocument=json.dumps(document))

        def signed(service, region=REGION):
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
                config=Config(parameter_validation=False, retries={"max_attempts": 1}),
            )

        return signed, arn

    return make


def _allow(action, *resources):
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


def test_a_parameter_policy_allows_its_path_only(client, user_client):
    ssm = client("ssm")
    prefix = _unique("app")
    ssm.put_parameter(Name=f"/{prefix}/x", Value="allowed", Type="String")
    ssm.put_parameter(Name=f"/other-{prefix}/y", Value="hidden", Type="String")
    signed, user_arn = user_client(
        _allow("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{prefix}/*")
    )
    user_ssm = signed("ssm")

    assert user_ssm.get_parameter(Name=f"/{prefix}/x")["Parameter"]["Value"] == "allowed"
    message = _denied(user_ssm.get_parameter, Name=f"/other-{prefix}/y")
    denied_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/other-{prefix}/y"
    assert message.startswith(
        f"User: {user_arn} is not authorized to perform: ssm:GetParameter on resource: "
        f"{denied_arn}"
    ), message


def test_get_parameters_is_denied_when_any_name_is_outside_the_policy(client, user_client):
    ssm = client("ssm")
    prefix = _unique("app")
    ssm.put_parameter(Name=f"/{prefix}/a", Value="a", Type="String")
    ssm.put_parameter(Name=f"/{prefix}-secret/b", Value="b", Type="String")
    signed, _ = user_client(
        _allow("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{prefix}/*")
    )
    user_ssm = signed("ssm")

    assert [p["Value"] for p in user_ssm.get_parameters(Names=[f"/{prefix}/a"])["Parameters"]] == [
        "a"
    ]
    message = _denied(user_ssm.get_parameters, Names=[f"/{prefix}/a", f"/{prefix}-secret/b"])
    assert f"parameter/{prefix}-secret/b" in message, message


def test_ssm_overwrite_condition_key_denies_updates(client, user_client):
    prefix = _unique("app")
    resource = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{prefix}/*"
    signed, _ = user_client(
        _allow("ssm:PutParameter", resource),
        {
            "Effect": "Deny",
            "Action": "ssm:PutParameter",
            "Resource": resource,
            "Condition": {"StringEquals": {"ssm:Overwrite": "true"}},
        },
    )
    user_ssm = signed("ssm")
    user_ssm.put_parameter(Name=f"/{prefix}/p", Value="1", Type="String")
    _denied(user_ssm.put_parameter, Name=f"/{prefix}/p", Value="2", Type="String", Overwrite=True)


def test_create_log_stream_is_allowed_in_one_log_group(client, user_client):
    logs = client("logs")
    allowed = _unique("/app/allowed")
    other = _unique("/app/other")
    logs.create_log_group(logGroupName=allowed)
    logs.create_log_group(logGroupName=other)
    signed, _ = user_client(
        _allow("logs:CreateLogStream", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{allowed}:*")
    )
    user_logs = signed("logs")

    user_logs.create_log_stream(logGroupName=allowed, logStreamName="s1")
    message = _denied(user_logs.create_log_stream, logGroupName=other, logStreamName="s1")
    assert f"log-group:{other}:log-stream:s1" in message, message


def test_put_rule_is_allowed_on_matching_rule_names(client, user_client):
    signed, _ = user_client(
        _allow("events:PutRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/allowed-*")
    )
    user_events = signed("events")
    pattern = json.dumps({"source": ["app.orders"]})

    allowed = _unique("allowed")
    arn = user_events.put_rule(Name=allowed, EventPattern=pattern)["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{allowed}"
    message = _denied(user_events.put_rule, Name=_unique("other"), EventPattern=pattern)
    assert f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other-" in message, message
    client("events").delete_rule(Name=allowed)


def test_put_events_source_condition_key(client, user_client):
    signed, _ = user_client(
        {
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
            "Condition": {"StringEquals": {"events:source": "app.allowed"}},
        }
    )
    user_events = signed("events")

    def entry(source):
        return {"Source": source, "DetailType": "thing", "Detail": "{}"}

    answer = user_events.put_events(Entries=[entry("app.allowed")])
    assert answer["FailedEntryCount"] == 0
    _denied(user_events.put_events, Entries=[entry("app.forbidden")])


def test_trail_operations_are_allowed_on_one_trail(client, user_client):
    trail = client("cloudtrail", region=TRAIL_REGION)
    allowed = _unique("allowed")
    other = _unique("other")
    for name in (allowed, other):
        trail.create_trail(Name=name, S3BucketName="palisade-trail-logs")
    allowed_arn = f"arn:aws:cloudtrail:{TRAIL_REGION}:{ACCOUNT}:trail/{allowed}"
    try:
        signed, _ = user_client(_allow("cloudtrail:StartLogging", allowed_arn))
        user_trail = signed("cloudtrail", region=TRAIL_REGION)

        user_trail.start_logging(Name=allowed)
        user_trail.start_logging(Name=allowed_arn)
        message = _denied(user_trail.start_logging, Name=other)
        assert f"trail/{other}" in message, message
    finally:
        for name in (allowed, other):
            trail.delete_trail(Name=name)


def test_get_user_is_allowed_by_path(client, user_client):
    iam = client("iam")
    team_user = _unique("t")
    outside_user = _unique("o")
    iam.create_user(UserName=team_user, Path="/team/")
    iam.create_user(UserName=outside_user)
    signed, _ = user_client(_allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/team/*"))
    user_iam = signed("iam")

    got = user_iam.get_user(UserName=team_user)["User"]
    assert got["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{team_user}"
    message = _denied(user_iam.get_user, UserName=outside_user)
    assert f"arn:aws:iam::{ACCOUNT}:user/{outside_user}" in message, message


def test_attach_policy_condition_on_the_policy_arn(client, user_client):
    iam = client("iam")
    target = _unique("t")
    iam.create_user(UserName=target)
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    signed, _ = user_client(
        {
            "Effect": "Allow",
            "Action": "iam:AttachUserPolicy",
            "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": read_only}},
        }
    )
    user_iam = signed("iam")

    user_iam.attach_user_policy(UserName=target, PolicyArn=read_only)
    _denied(
        user_iam.attach_user_policy,
        UserName=target,
        PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
    )
