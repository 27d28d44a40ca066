"""The IAM policy simulator through boto3 and the AWS CLI: decisions, matched statements and
their positions, context entries, resource policies, paging and errors."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT

ALLOW_S3 = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}],
})
DENY_PUT = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "NoPut", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}],
})
ONLY_FROM_DOCS_NET = json.dumps({
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    },
})
# The AWS CLI's documented example.
DOCUMENTED = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def decisions(response):
    return [(r["EvalActionName"], r["EvalDecision"]) for r in response["EvaluationResults"]]


def test_custom_policies_decide_and_explain(client):
    iam = client("iam")
    response = iam.simulate_custom_policy(
        PolicyInputList=[ALLOW_S3, DENY_PUT],
        ActionNames=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
    )
    assert decisions(response) == [
        ("s3:GetObject", "allowed"),
        ("s3:PutObject", "explicitDeny"),
        ("s3:DeleteObject", "implicitDeny"),
    ]
    allowed, denied, implicit = response["EvaluationResults"]
    assert allowed["EvalResourceName"] == "*"
    assert [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in allowed["MatchedStatements"]] == [
        ("PolicyInputList.1", "none"),
    ]
    # Only the deny explains an explicit deny.
    assert [s["SourcePolicyId"] for s in denied["MatchedStatements"]] == ["PolicyInputList.2"]
    assert implicit["MatchedStatements"] == []
    assert response["IsTruncated"] is False


def test_statement_positions(client):
    iam = client("iam")
    entry = {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"],
             "ContextKeyType": "date"}
    result = iam.simulate_custom_policy(
        PolicyInputList=[DOCUMENTED], ActionNames=["dynamodb:CreateBackup"], ContextEntries=[entry],
    )["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    statement = result["MatchedStatements"][0]
    assert statement["SourcePolicyId"] == "PolicyInputList.1"
    # From brace to brace.
    assert statement["StartPosition"] == {"Line": 1, "Column": 37}
    assert statement["EndPosition"] == {"Line": 1, "Column": 166}


def test_context_entries_and_missing_context_values(client):
    iam = client("iam")

    def simulate(*entries):
        return iam.simulate_custom_policy(
            PolicyInputList=[ONLY_FROM_DOCS_NET], ActionNames=["s3:ListBucket"],
            ContextEntries=list(entries),
        )["EvaluationResults"][0]

    inside = simulate({"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["203.0.113.9"],
                       "ContextKeyType": "ip"})
    assert inside["EvalDecision"] == "allowed"
    assert inside["MissingContextValues"] == []
    without = simulate()
    assert without["EvalDecision"] == "implicitDeny"
    assert without["MissingContextValues"] == ["aws:SourceIp"]


def test_permissions_boundary_detail(client):
    iam = client("iam")
    boundary = json.dumps({"Version": "2012-10-17",
                           "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}})
    response = iam.simulate_custom_policy(
        PolicyInputList=[ALLOW_S3], PermissionsBoundaryPolicyInputList=[boundary],
        ActionNames=["s3:GetObject", "s3:PutObject"],
    )
    assert decisions(response) == [("s3:GetObject", "allowed"), ("s3:PutObject", "implicitDeny")]
    details = [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]
               for r in response["EvaluationResults"]]
    assert details == [True, False]


def test_resource_policy_with_caller_and_several_resources(client):
    iam = client("iam")
    bucket_policy = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}})
    nothing = json.dumps({"Version": "2012-10-17",
                          "Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}})
    result = iam.simulate_custom_policy(
        PolicyInputList=[nothing], ResourcePolicy=bucket_policy, ActionNames=["s3:GetObject"],
        CallerArn=f"arn:aws:iam::{ACCOUNT}:user/alice",
        ResourceArns=["arn:aws:s3:::bucket/a", "arn:aws:s3:::elsewhere/a"],
    )["EvaluationResults"]
    assert len(result) == 1
    assert result[0]["EvalDecision"] == "implicitDeny"
    each = {r["EvalResourceName"]: r["EvalResourceDecision"] for r in result[0]["ResourceSpecificResults"]}
    assert each == {"arn:aws:s3:::bucket/a": "allowed", "arn:aws:s3:::elsewhere/a": "implicitDeny"}
    allowed = next(r for r in result[0]["ResourceSpecificResults"] if r["EvalResourceDecision"] == "allowed")
    assert [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in allowed["MatchedStatements"]] == [
        ("ResourcePolicy", "resource"),
    ]
    with pytest.raises(ClientError) as refused:
        iam.simulate_custom_policy(PolicyInputList=[nothing], ResourcePolicy=bucket_policy,
                                   ActionNames=["s3:GetObject"])
    assert refused.value.response["Error"]["Code"] == "InvalidInput"


def test_paging(client):
    iam = client("iam")
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    first = iam.simulate_custom_policy(PolicyInputList=[ALLOW_S3], ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.simulate_custom_policy(PolicyInputList=[ALLOW_S3], ActionNames=actions, MaxItems=2,
                                        Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert decisions(first) + decisions(second) == [
        ("s3:GetObject", "allowed"), ("s3:PutObject", "allowed"), ("s3:DeleteObject", "implicitDeny"),
    ]
    paginated = iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[ALLOW_S3], ActionNames=actions, PaginationConfig={"PageSize": 1})
    assert [r["EvalActionName"] for page in paginated for r in page["EvaluationResults"]] == actions


def test_malformed_policy_is_invalid_input(client):
    iam = client("iam")
    with pytest.raises(ClientError) as refused:
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidInput"
    assert "Syntax errors in policy." in error["Message"]


def test_principal_policies_of_a_user_and_its_group(client):
    iam = client("iam")
    user, group = unique("sim-user"), unique("sim-group")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="S3Access", PolicyDocument=ALLOW_S3)
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="NoPut", PolicyDocument=DENY_PUT)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    response = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:PutObject", "iam:GetUser", "kms:Decrypt"],
    )
    assert decisions(response) == [
        ("s3:GetObject", "allowed"), ("s3:PutObject", "explicitDeny"),
        ("iam:GetUser", "allowed"), ("kms:Decrypt", "implicitDeny"),
    ]
    sources = [[(s["SourcePolicyId"], s["SourcePolicyType"]) for s in r["MatchedStatements"]]
               for r in response["EvaluationResults"]]
    assert sources[:3] == [[("S3Access", "user")], [("NoPut", "group")],
                           [("IAMReadOnlyAccess", "aws-managed")]]
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=arn, PolicyInputList=[ONLY_FROM_DOCS_NET])["ContextKeyNames"]
    assert keys == ["aws:SourceIp"]
    with pytest.raises(ClientError) as missing:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{unique('ghost')}",
                                      ActionNames=["s3:GetObject"])
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_the_aws_cli(aws_env, client):
    def aws(*args):
        out = subprocess.run(
            ["aws", "iam", *args, "--output", "json"],
            env=aws_env, capture_output=True, text=True, timeout=60, check=True,
        )
        return json.loads(out.stdout)

    custom = aws("simulate-custom-policy", "--policy-input-list", DOCUMENTED,
                 "--action-names", "dynamodb:CreateBackup",
                 "--context-entries",
                 "ContextKeyName='aws:CurrentTime',ContextKeyValues='2014-04-25T11:00:00Z',ContextKeyType=date")
    assert decisions(custom) == [("dynamodb:CreateBackup", "implicitDeny")]

    role = unique("sim-role")
    trust = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}})
    iam = client("iam")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="Build", PolicyDocument=ALLOW_S3)
    principal = aws("simulate-principal-policy", "--policy-source-arn", arn,
                    "--action-names", "s3:PutObject", "s3:DeleteObject")
    assert decisions(principal) == [("s3:PutObject", "allowed"), ("s3:DeleteObject", "implicitDeny")]
    statement = principal["EvaluationResults"][0]["MatchedStatements"][0]
    assert (statement["SourcePolicyId"], statement["SourcePolicyType"]) == ("Build", "role")
    assert statement["StartPosition"]["Line"] == 1

    keys = aws("get-context-keys-for-custom-policy", "--policy-input-list",
               '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
               '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
               '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}')
    assert keys["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
