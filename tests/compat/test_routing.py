"""Every operation of every service in scope is routable in the protocol botocore speaks for it.

Each operation is sent with only its required members filled with placeholder values (strings,
numbers and so on of the right type); the answer must be the operation's own: success, one of
its modeled errors, NotImplemented for what is not built yet, or a validation error for a
placeholder that breaks a constraint. Never an unknown operation or a 5xx other than
NotImplemented.
"""

import pytest
from botocore.exceptions import ClientError

SERVICES = [
    "kms", "secretsmanager", "ssm", "sts", "iam", "organizations", "cloudtrail", "events",
    "logs", "cloudwatch", "wafv2", "shield", "fms", "guardduty", "securityhub", "inspector2",
    "detective", "ec2-instance-connect",
]

COMMON = {"NotImplemented", "ValidationException", "ValidationError"}


def placeholder(shape, depth=0):
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {
            name: placeholder(shape.members[name], depth + 1)
            for name in shape.required_members
        }
    if kind == "list":
        return []
    if kind == "map":
        return {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "placeholder"
    if kind in ("integer", "long"):
        return shape.metadata.get("min", 1)
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"placeholder"
    if kind == "timestamp":
        return 1700000000
    return None



@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_routed(client, service):
    api = client(service)
    model = api.meta.service_model
    misrouted = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        params = placeholder(operation.input_shape) if operation.input_shape else {}
        try:
            api._make_api_call(name, params)
            outcome = ("ok", 200)
        except ClientError as error:
            outcome = (
                error.response["Error"]["Code"],
                error.response["ResponseMetadata"]["HTTPStatusCode"],
            )
        code, status = outcome
        modeled = {
            shape.metadata.get("error", {}).get("code", shape.name)
            for shape in operation.error_shapes
        }
        if code != "ok" and code not in COMMON | modeled:
            misrouted.append((name, code, status))
        elif status >= 500 and code != "NotImplemented":
            misrouted.append((name, code, status))
    assert misrouted == [], misrouted
