"""Parameter Store references to Secrets Manager secrets
(`/aws/reference/secretsmanager/<secret>`), read with the caller's own Secrets Manager
permission."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from test_enforcement import _error_code, _user

PREFIX = "/aws/reference/secretsmanager/"


@pytest.fixture
def secret(client):
    """A secret with two versions: `first` (AWSPREVIOUS) and `second` (AWSCURRENT)."""
    secrets = client("secretsmanager")
    name = f"app/ref-{uuid.uuid4().hex[:8]}"
    created = secrets.create_secret(Name=name, SecretString="first")
    updated = secrets.put_secret_value(SecretId=name, SecretString="second")
    return {
        "name": name,
        "arn": created["ARN"],
        "first": created["VersionId"],
        "second": updated["VersionId"],
    }


def test_get_parameter_answers_the_current_secret_value(client, secret):
    parameter = client("ssm").get_parameter(Name=PREFIX + secret["name"], WithDecryption=True)[
        "Parameter"
    ]
    assert parameter["Name"] == PREFIX + secret["name"]
    assert parameter["Type"] == "SecureString"
    assert parameter["Value"] == "second"
    assert parameter["Version"] == 0
    assert parameter["ARN"] == secret["arn"]
    assert parameter["DataType"] == "text"
    source = json.loads(parameter["SourceResult"])
    described = client("secretsmanager").describe_secret(SecretId=secret["name"])
    assert source["ARN"] == secret["arn"]
    assert source["Name"] == secret["name"]
    assert source["VersionIdsToStages"] == described["VersionIdsToStages"]
    assert "SecretString" not in source


def test_a_selector_picks_a_version_by_label_or_id(client, secret):
    ssm = client("ssm")
    name = PREFIX + secret["name"]
    previous = ssm.get_parameter(Name=f"{name}:AWSPREVIOUS", WithDecryption=True)
    assert previous["Parameter"]["Value"] == "first"
    assert previous["Parameter"]["Selector"] == ":AWSPREVIOUS"
    by_id = ssm.get_parameter(Name=f"{name}:{secret['first']}", WithDecryption=True)
    assert by_id["Parameter"]["Value"] == "first"
    by_arn = ssm.get_parameter(Name=f"{PREFIX}{secret['arn']}:AWSCURRENT", WithDecryption=True)
    assert by_arn["Parameter"]["Value"] == "second"
    code, _ = _error_code(
        lambda: ssm.get_parameter(Name=f"{name}:NOSUCHLABEL", WithDecryption=True)
    )
    assert code == "ParameterNotFound"


def test_decryption_is_required(client, secret):
    code, message = _error_code(
        lambda: client("ssm").get_parameter(Name=PREFIX + secret["name"], WithDecryption=False)
    )
    assert code == "ValidationException"
    assert message == "WithDecryption flag must be True for retrieving a Secret Manager secret."


def test_a_missing_secret_is_a_missing_parameter(client):
    name = f"{PREFIX}missing-{uuid.uuid4().hex[:8]}"
    code, message = _error_code(lambda: client("ssm").get_parameter(Name=name, WithDecryption=True))
    assert code == "ParameterNotFound"
    assert name in message


def test_get_parameters_mixes_references_and_parameters(client, secret):
    ssm = client("ssm")
    plain = f"/ref-test/{uuid.uuid4().hex[:8]}"
    ssm.put_parameter(Name=plain, Value="plain", Type="String")
    missing = f"{PREFIX}missing-{uuid.uuid4().hex[:8]}"
    answer = ssm.get_parameters(
        Names=[plain, PREFIX + secret["name"], missing], WithDecryption=True
    )
    values = {p["Name"]: p["Value"] for p in answer["Parameters"]}
    assert values == {plain: "plain", PREFIX + secret["name"]: "second"}
    assert answer["InvalidParameters"] == [missing]


def test_the_read_is_the_callers_own_secrets_manager_permission(client, secret):
    ssm_only_arn, ssm_only_key = _user(
        client,
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"}],
        },
    )
    ssm_only = client(
        "ssm", access_key=ssm_only_key["AccessKeyId"], secret=ssm_only_key["SecretAccessKey"]
    )
    code, message = _error_code(
        lambda: ssm_only.get_parameter(Name=PREFIX + secret["name"], WithDecryption=True)
    )
    assert code == "AccessDeniedException"
    assert "secretsmanager:GetSecretValue" in message, message
    assert ssm_only_arn in message

    # Allowed Secrets Manager only when Parameter Store calls for it (aws:CalledVia).
    _, via_ssm_key = _user(
        client,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret["arn"],
                    "Condition": {
                        "ForAnyValue:StringEquals": {"aws:CalledVia": "ssm.amazonaws.com"}
                    },
                },
            ],
        },
    )
    keys = {"access_key": via_ssm_key["AccessKeyId"], "secret": via_ssm_key["SecretAccessKey"]}
    parameter = client("ssm", **keys).get_parameter(
        Name=PREFIX + secret["name"], WithDecryption=True
    )["Parameter"]
    assert parameter["Value"] == "second"
    with pytest.raises(ClientError) as raised:
        client("secretsmanager", **keys).get_secret_value(SecretId=secret["name"])
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
