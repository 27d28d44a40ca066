"""The core issue's promises, checked with boto3, botocore and the AWS CLI."""

import json
import subprocess
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def error_of(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


def test_get_caller_identity_with_boto3(client):
    identity = client("sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert identity["UserId"] == ACCOUNT
    assert identity["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_with_the_aws_cli(aws_env):
    out = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--output", "json"],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    identity = json.loads(out.stdout)
    assert identity == {
        "UserId": ACCOUNT,
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:root",
    }


def test_wrong_secret_is_signature_does_not_match(client):
    code, status, response = error_of(lambda: client("sts", secret="wrong").get_caller_identity())
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "signature we calculated does not match" in response["Error"]["Message"]


def test_unknown_access_key_is_invalid_client_token_id(client):
    code, status, _ = error_of(
        lambda: client("sts", access_key="AKIAUNKNOWN").get_caller_identity()
    )
    assert (code, status) == ("InvalidClientTokenId", 403)


def test_wrong_signature_over_json_protocol(client):
    code, status, _ = error_of(lambda: client("kms", secret="wrong").describe_custom_key_stores())
    assert (code, status) == ("InvalidSignatureException", 400)


def test_not_built_operations_answer_not_implemented_in_each_protocol(client):
    # awsJson 1.1
    code, status, _ = error_of(lambda: client("wafv2").list_web_acls(Scope="REGIONAL"))
    assert (code, status) == ("NotImplemented", 501)
    # awsQuery
    code, status, _ = error_of(lambda: client("iam").list_saml_providers())
    assert (code, status) == ("NotImplemented", 501)
    # restJson1
    code, status, _ = error_of(lambda: client("guardduty").list_detectors())
    assert (code, status) == ("NotImplemented", 501)
    # Smithy RPC v2 CBOR: botocore's default for CloudWatch
    code, status, _ = error_of(lambda: client("cloudwatch").list_dashboards())
    assert (code, status) == ("NotImplemented", 501)


def test_constraints_are_validated_before_the_handler(client):
    code, status, response = error_of(
        lambda: client("kms").generate_random(NumberOfBytes=0)
    )
    assert (code, status) == ("ValidationException", 400)
    assert response["Error"]["Message"] == (
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1"
    )


def test_missing_required_member_over_query_is_validation_error(client):
    code, status, response = error_of(lambda: client("iam").get_user_policy(UserName="alice"))
    assert (code, status) == ("ValidationError", 400)
    assert "Value null at 'policyName' failed to satisfy constraint" in response["Error"]["Message"]


def _signed(endpoint, headers, body, service="kms"):
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    credentials = botocore.credentials.Credentials("test", "test")
    botocore.auth.SigV4Auth(credentials, service, REGION).add_auth(request)
    return request.prepare()


def _send(prepared):
    request = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method=prepared.method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_malformed_json_is_a_serialization_exception(endpoint):
    prepared = _signed(
        endpoint,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"},
        b'{"KeyId": "alias/x", "Plaintext": ',
    )
    status, headers, body = _send(prepared)
    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"
    assert {k.lower(): v for k, v in headers.items()}["x-amzn-requestid"]


def test_wrong_member_type_is_a_4xx(endpoint):
    prepared = _signed(
        endpoint,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GenerateRandom"},
        b'{"NumberOfBytes": "many"}',
    )
    status, _, body = _send(prepared)
    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"


def test_unknown_target_is_unknown_operation(endpoint):
    prepared = _signed(
        endpoint,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.MakeCoffee"},
        b"{}",
    )
    status, _, body = _send(prepared)
    assert status == 400
    assert json.loads(body)["__type"] == "UnknownOperationException"


def test_tampered_body_after_signing_is_rejected(endpoint):
    prepared = _signed(
        endpoint,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GenerateRandom"},
        b'{"NumberOfBytes": 16}',
    )
    prepared.body = b'{"NumberOfBytes": 32}'
    status, _, body = _send(prepared)
    assert status == 400
    assert json.loads(body)["__type"] == "InvalidSignatureException"


def test_unsigned_request_is_missing_authentication_token(endpoint):
    request = urllib.request.Request(
        endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert 400 <= raised.value.code < 500
    assert b"MissingAuthenticationToken" in raised.value.read()


def test_health_endpoints(endpoint):
    with urllib.request.urlopen(endpoint + "/_palisade/health", timeout=5) as answer:
        assert json.loads(answer.read())["ready"] is True
    with urllib.request.urlopen(endpoint + "/_localstack/health", timeout=5) as answer:
        services = json.loads(answer.read())["services"]
        assert services["kms"] == "available"
        assert services["sts"] == "available"


def test_moto_reset_alias_resets(endpoint, client):
    client("sts").get_caller_identity()
    request = urllib.request.Request(endpoint + "/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    # The server keeps answering after a reset.
    assert client("sts").get_caller_identity()["Account"] == ACCOUNT


def test_metrics_count_requests(endpoint, client):
    client("sts").get_caller_identity()
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    assert 'palisade_requests_total{service="sts",operation="GetCallerIdentity",status="200"}' in text


def test_duplicated_authorization_headers_are_refused(endpoint):
    prepared = _signed(
        endpoint,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
        b"{}",
    )
    import http.client
    from urllib.parse import urlparse

    target = urlparse(endpoint)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for name, value in prepared.headers.items():
        connection.putheader(name, value)
    connection.putheader("Host", target.netloc)
    connection.putheader("Authorization", prepared.headers["Authorization"])
    connection.putheader("Content-Length", str(len(prepared.body)))
    connection.endheaders(prepared.body)
    answer = connection.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 400
    assert body["__type"] == "IncompleteSignatureException"
