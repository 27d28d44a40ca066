"""EventBridge targets with boto3: API destinations called over HTTP with each connection's
authorization (API key, basic, OAuth client credentials), retries of 5xx answers, dead letters of
4xx ones in a CloudWatch Logs log group, a server outside local mode refusing to call a private
address, and the validation of retry policies, dead-letter configurations, connections and API
destinations.

The endpoints are an HTTP server in this process on an ephemeral port, which also serves the
OAuth token endpoint. Tests wait on the requests it records (a condition variable, bounded by an
outer deadline that only ends a broken run)."""

import base64
import json
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, serving

# Only a broken run waits this long.
DEADLINE_S = 30.0


def unique(prefix):
    # Tests share one server per session: each works under its own names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


class Receiver:
    """Records each request by path; answers with the statuses scripted for the path (200 once
    they run out), and with a token at /token paths."""

    def __init__(self):
        self.requests = []
        self.scripted = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path = self.path.split("?", 1)[0]
                with receiver.changed:
                    receiver.requests.append(
                        {
                            "method": self.command,
                            "path": path,
                            "target": self.path,
                            "headers": {name.lower(): value for name, value in self.headers.items()},
                            "body": body,
                        }
                    )
                    statuses = receiver.scripted.get(path) or []
                    status = statuses.pop(0) if statuses else 200
                    receiver.changed.notify_all()
                if path.startswith("/token"):
                    payload = json.dumps({"access_token": f"token-for{path}", "expires_in": 3600})
                else:
                    payload = "{}"
                encoded = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            do_GET = do_POST = do_PUT = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def script(self, path, *statuses):
        with self.changed:
            self.scripted[path] = list(statuses)

    def wait_for(self, path, count=1):
        """The first `count` requests to `path`, once they have arrived."""

        def arrived():
            return [request for request in self.requests if request["path"] == path]

        with self.changed:
            if not self.changed.wait_for(lambda: len(arrived()) >= count, timeout=DEADLINE_S):
                raise AssertionError(f"{count} request(s) to {path} did not arrive in {DEADLINE_S} s")
            return arrived()[:count]


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def connection(events, kind, auth):
    name = unique("conn")
    answer = events.create_connection(Name=name, AuthorizationType=kind, AuthParameters=auth)
    return name, answer["ConnectionArn"]


def destination(events, connection_arn, endpoint, **options):
    answer = events.create_api_destination(
        Name=unique("dest"),
        ConnectionArn=connection_arn,
        InvocationEndpoint=endpoint,
        HttpMethod="POST",
        **options,
    )
    assert answer["ApiDestinationState"] == "ACTIVE"
    return answer["ApiDestinationArn"]


def retried_with_dead_letters(target_arn, group):
    """A target for `target_arn` retried for ten minutes, then dead-lettered into `group`."""
    return {
        "Id": "hook",
        "Arn": target_arn,
        "RetryPolicy": {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 600},
        "DeadLetterConfig": {"Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"},
    }


def dead_letter(logs, group):
    """The one dead letter in `group`, once it is there: it follows the failed call at once, so
    the log group is polled for it."""
    end = time.monotonic() + DEADLINE_S
    while not (found := logs.filter_log_events(logGroupName=group)["events"]):
        assert time.monotonic() < end, f"no dead letter reached {group}"
        time.sleep(0.05)
    (letter_event,) = found
    return letter_event


def send_to(events, target, detail):
    """A rule sending a source of its own to `target`; puts one event with `detail` and answers
    its id."""
    source = unique("com.example.targets")
    rule = unique("targets")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    answer = events.put_targets(Rule=rule, Targets=[target])
    assert answer["FailedEntryCount"] == 0, answer
    put = events.put_events(Entries=[{"Source": source, "DetailType": "Test", "Detail": json.dumps(detail)}])
    assert put["FailedEntryCount"] == 0
    return put["Entries"][0]["EventId"], rule


def test_api_key_calls_carry_the_event_and_the_parameters(client, receiver):
    events = client("events")
    name, arn = connection(
        events,
        "API_KEY",
        {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-123"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "x-tenant", "Value": "tenant-1", "IsValueSecret": False}],
                "QueryStringParameters": [{"Key": "via", "Value": "eventbridge", "IsValueSecret": True}],
            },
        },
    )
    path = "/" + unique("api-key")
    target_arn = destination(events, arn, receiver.url(path + "/*"))
    event_id, _ = send_to(
        events,
        {
            "Id": "hook",
            "Arn": target_arn,
            "HttpParameters": {
                "PathParameterValues": ["orders"],
                "HeaderParameters": {"x-order": "7"},
                "QueryStringParameters": {"v": "2"},
            },
        },
        {"order": 7},
    )

    (call,) = receiver.wait_for(path + "/orders")
    assert call["method"] == "POST"
    assert call["target"] == f"{path}/orders?v=2&via=eventbridge"
    assert call["headers"]["x-api-key"] == "key-123"
    assert call["headers"]["x-tenant"] == "tenant-1"
    assert call["headers"]["x-order"] == "7"
    assert call["headers"]["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert call["headers"]["content-type"] == "application/json; charset=utf-8"
    event = json.loads(call["body"])
    assert event["id"] == event_id
    assert event["detail"] == {"order": 7}
    assert event["account"] == ACCOUNT

    described = events.describe_connection(Name=name)
    assert described["ConnectionState"] == "AUTHORIZED"
    assert described["AuthorizationType"] == "API_KEY"
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    invocation = described["AuthParameters"]["InvocationHttpParameters"]
    assert invocation["HeaderParameters"][0]["Value"] == "tenant-1"
    assert "Value" not in invocation["QueryStringParameters"][0]
    shown = json.dumps(described, default=str)
    assert "key-123" not in shown and "eventbridge" not in shown


def test_basic_calls_carry_the_credentials(client, receiver):
    events = client("events")
    _, arn = connection(events, "BASIC", {"BasicAuthParameters": {"Username": "user", "Password": "s3cret pass"}})
    path = "/" + unique("basic")
    send_to(events, {"Id": "hook", "Arn": destination(events, arn, receiver.url(path))}, {"order": 8})

    (call,) = receiver.wait_for(path)
    assert call["headers"]["authorization"] == "Basic " + base64.b64encode(b"user:s3cret pass").decode()


def test_oauth_calls_carry_a_token_from_the_authorization_endpoint(client, receiver):
    events = client("events")
    token_path = "/token/" + unique("oauth")
    name, arn = connection(
        events,
        "OAUTH_CLIENT_CREDENTIALS",
        {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "client-1", "ClientSecret": "client-secret"},
                "AuthorizationEndpoint": receiver.url(token_path),
                "HttpMethod": "POST",
                "OAuthHttpParameters": {
                    "BodyParameters": [{"Key": "scope", "Value": "events", "IsValueSecret": False}],
                },
            }
        },
    )
    (token_call,) = receiver.wait_for(token_path)
    assert token_call["headers"]["authorization"] == "Basic " + base64.b64encode(b"client-1:client-secret").decode()
    assert token_call["body"] == "scope=events&grant_type=client_credentials"

    path = "/" + unique("oauth")
    send_to(events, {"Id": "hook", "Arn": destination(events, arn, receiver.url(path))}, {"order": 9})
    (call,) = receiver.wait_for(path)
    assert call["headers"]["authorization"] == f"Bearer token-for{token_path}"

    described = events.describe_connection(Name=name)
    oauth = described["AuthParameters"]["OAuthParameters"]
    assert oauth["ClientParameters"] == {"ClientID": "client-1"}
    assert oauth["AuthorizationEndpoint"] == receiver.url(token_path)
    assert "client-secret" not in json.dumps(described, default=str)


def test_server_errors_are_retried(client, receiver):
    events = client("events")
    _, arn = connection(events, "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
    path = "/" + unique("flaky")
    receiver.script(path, 500)
    event_id, _ = send_to(events, {"Id": "hook", "Arn": destination(events, arn, receiver.url(path))}, {"order": 10})

    first, retried = receiver.wait_for(path, count=2)
    assert json.loads(first["body"])["id"] == event_id
    assert retried["body"] == first["body"]


def test_client_errors_go_to_the_dead_letter_log_group(client, receiver):
    events = client("events")
    logs = client("logs")
    group = unique("/palisade/dead-letters")
    logs.create_log_group(logGroupName=group)
    _, arn = connection(events, "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
    path = "/" + unique("refusing")
    receiver.script(path, 400)
    target_arn = destination(events, arn, receiver.url(path))
    event_id, rule = send_to(
        events,
        retried_with_dead_letters(target_arn, group),
        {"order": 11},
    )
    receiver.wait_for(path)

    letter_event = dead_letter(logs, group)
    assert letter_event["logStreamName"] == event_id
    letter = json.loads(letter_event["message"])
    assert letter["RULE_ARN"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
    assert letter["TARGET_ARN"] == target_arn
    assert letter["ERROR_CODE"] == "ERROR_FROM_TARGET"
    assert "400" in letter["ERROR_MESSAGE"]
    assert letter["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in letter
    assert letter["event"]["id"] == event_id
    assert letter["event"]["detail"] == {"order": 11}
    # A 4xx answer is final: the endpoint was called once.
    assert len([request for request in receiver.requests if request["path"] == path]) == 1


def test_outside_local_mode_api_destinations_call_only_public_addresses(receiver):
    # A server with root credentials is one others can reach: by default it calls no loopback,
    # private or link-local address for an API destination.
    key, secret = "AKIAPALISADEPUBLIC01", "public-destinations-only"
    with tempfile.TemporaryDirectory() as data_dir, serving(
        data_dir, "--root-access-key-id", key, "--root-secret-access-key", secret
    ) as url:

        def make(service):
            return boto3.client(
                service,
                endpoint_url=url,
                region_name=REGION,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
            )

        events, logs = make("events"), make("logs")
        group = unique("/palisade/dead-letters")
        logs.create_log_group(logGroupName=group)
        _, arn = connection(events, "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
        path = "/" + unique("private")
        target_arn = destination(events, arn, receiver.url(path))
        event_id, _ = send_to(
            events,
            retried_with_dead_letters(target_arn, group),
            {"order": 12},
        )

        letter_event = dead_letter(logs, group)
        assert letter_event["logStreamName"] == event_id
        letter = json.loads(letter_event["message"])
        assert letter["ERROR_CODE"] == "SDK_CLIENT_ERROR"
        assert "127.0.0.1 is not a public address" in letter["ERROR_MESSAGE"]
        # Refused before any call, and not retried.
        assert letter["RETRY_ATTEMPTS"] == "0"
        assert not [request for request in receiver.requests if request["path"] == path]


def test_retry_policies_and_dead_letter_configs_are_validated(client):
    events = client("events")
    rule = unique("validated")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [unique("com.example")]}))
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/dlq"
    kept = {
        "Id": "log",
        "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/targets",
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": group_arn},
    }
    assert events.put_targets(Rule=rule, Targets=[kept])["FailedEntryCount"] == 0
    (listed,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert listed["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    assert listed["DeadLetterConfig"] == {"Arn": group_arn}

    for policy in (
        {"MaximumRetryAttempts": 186},
        {"MaximumRetryAttempts": -1},
        {"MaximumEventAgeInSeconds": 59},
        {"MaximumEventAgeInSeconds": 86401},
    ):
        code, _ = error(lambda: events.put_targets(Rule=rule, Targets=[{**kept, "RetryPolicy": policy}]))
        assert code == "ValidationException", policy

    answer = events.put_targets(
        Rule=rule,
        Targets=[{**kept, "Id": "topic", "DeadLetterConfig": {"Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"}}],
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["FailedEntries"][0]["ErrorCode"] == "ValidationException"


def test_connection_and_destination_operations(client, receiver):
    events = client("events")
    name, arn = connection(events, "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}})
    assert arn.startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:connection/{name}/")
    code, _ = error(
        lambda: events.create_connection(
            Name=name,
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}},
        )
    )
    assert code == "ResourceAlreadyExistsException"
    code, message = error(lambda: events.describe_connection(Name=unique("missing")))
    assert code == "ResourceNotFoundException"
    assert "does not exist" in message

    updated = events.update_connection(Name=name, Description="partner hooks")
    assert updated["ConnectionState"] == "AUTHORIZED"
    assert events.describe_connection(Name=name)["Description"] == "partner hooks"
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [entry["Name"] for entry in listed] == [name]

    dest_name = unique("dest")
    dest_arn = events.create_api_destination(
        Name=dest_name,
        ConnectionArn=arn,
        InvocationEndpoint=receiver.url("/managed"),
        HttpMethod="PUT",
    )["ApiDestinationArn"]
    assert dest_arn.startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/{dest_name}/")
    described = events.describe_api_destination(Name=dest_name)
    assert described["HttpMethod"] == "PUT"
    assert described["InvocationRateLimitPerSecond"] == 300
    events.update_api_destination(Name=dest_name, InvocationRateLimitPerSecond=10)
    (listed,) = events.list_api_destinations(ConnectionArn=arn)["ApiDestinations"]
    assert listed["InvocationRateLimitPerSecond"] == 10
    code, _ = error(
        lambda: events.create_api_destination(
            Name=unique("dest"), ConnectionArn=arn, InvocationEndpoint="ftp://host/", HttpMethod="POST"
        )
    )
    assert code == "ValidationException"
    code, _ = error(lambda: events.update_api_destination(Name=dest_name, InvocationRateLimitPerSecond=0))
    assert code == "ValidationException"

    deauthorized = events.deauthorize_connection(Name=name)
    assert deauthorized["ConnectionState"] == "DEAUTHORIZING"
    assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"

    events.delete_api_destination(Name=dest_name)
    code, message = error(lambda: events.describe_api_destination(Name=dest_name))
    assert code == "ResourceNotFoundException"
    assert message == f"Failed to describe the api-destination(s). An api-destination '{dest_name}' does not exist."
    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    assert events.list_connections(NamePrefix=name)["Connections"] == []
