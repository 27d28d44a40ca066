"""Parameter Store with boto3 and the AWS CLI: parameters, hierarchies, versions and labels,
SecureStrings under a customer KMS key, tiers, policies, tags and public parameters."""

import base64
import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def unique(prefix):
    # Tests share one server per session: each works under its own path.
    return f"/{prefix}-{uuid.uuid4().hex[:8]}"


def test_put_get_versions_and_selectors(client):
    ssm = client("ssm")
    name = unique("app") + "/db/host"
    created = ssm.put_parameter(Name=name, Value="db-1", Type="String", Description="host")
    assert (created["Version"], created["Tier"]) == (1, "Standard")
    assert error_code(lambda: ssm.put_parameter(Name=name, Value="db-2", Type="String")) == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name=name, Value="db-2", Overwrite=True)["Version"] == 2

    parameter = ssm.get_parameter(Name=name)["Parameter"]
    assert (parameter["Value"], parameter["Version"], parameter["Type"]) == ("db-2", 2, "String")
    assert parameter["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"
    assert parameter["DataType"] == "text"

    first = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert (first["Value"], first["Selector"]) == ("db-1", ":1")
    assert ssm.get_parameter(Name=parameter["ARN"])["Parameter"]["Name"] == name
    assert error_code(lambda: ssm.get_parameter(Name=f"{name}:9")) == "ParameterVersionNotFound"
    assert error_code(lambda: ssm.get_parameter(Name=name + "-missing")) == "ParameterNotFound"

    answer = ssm.get_parameters(Names=[name, name + "-missing"])
    assert [p["Name"] for p in answer["Parameters"]] == [name]
    assert answer["InvalidParameters"] == [name + "-missing"]


def test_labels_and_history(client):
    ssm = client("ssm")
    name = unique("labels")
    ssm.put_parameter(Name=name, Value="v1", Type="String")
    ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True)
    labelled = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["prod", "1bad", "awsx"])
    assert labelled["ParameterVersion"] == 1
    assert sorted(labelled["InvalidLabels"]) == ["1bad", "awsx"]
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "v1"
    ssm.label_parameter_version(Name=name, Labels=["prod"])
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "v2"
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [(h["Version"], h["Labels"]) for h in history] == [(1, []), (2, ["prod"])]
    removed = ssm.unlabel_parameter_version(Name=name, ParameterVersion=2, Labels=["prod", "nope"])
    assert (removed["RemovedLabels"], removed["InvalidLabels"]) == (["prod"], ["nope"])


def test_hierarchy_paths_filters_and_paging(client):
    ssm = client("ssm")
    root = unique("tree")
    for index in range(12):
        ssm.put_parameter(Name=f"{root}/svc/p{index:02}", Value=str(index), Type="String")
    ssm.put_parameter(Name=f"{root}/svc/deep/x", Value="deep", Type="StringList")
    one_level = ssm.get_parameters_by_path(Path=f"{root}/svc", MaxResults=10)
    assert len(one_level["Parameters"]) == 10
    rest = ssm.get_parameters_by_path(Path=f"{root}/svc", MaxResults=10, NextToken=one_level["NextToken"])
    assert [p["Name"] for p in rest["Parameters"]] == [f"{root}/svc/p10", f"{root}/svc/p11"]
    assert "NextToken" not in rest

    paginator = ssm.get_paginator("get_parameters_by_path")
    names = [p["Name"] for page in paginator.paginate(Path=root, Recursive=True) for p in page["Parameters"]]
    assert len(names) == 13 and f"{root}/svc/deep/x" in names
    lists = ssm.get_parameters_by_path(
        Path=root, Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["StringList"]}]
    )["Parameters"]
    assert [p["Name"] for p in lists] == [f"{root}/svc/deep/x"]

    described = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}], MaxResults=50
    )["Parameters"]
    assert len(described) == 13
    assert error_code(
        lambda: ssm.describe_parameters(ParameterFilters=[{"Key": "Type", "Option": "BeginsWith", "Values": ["S"]}])
    ) == "InvalidFilterOption"


def test_secure_string_under_a_customer_key(client):
    ssm, kms = client("ssm"), client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name = unique("secure") + "/password"
    ssm.put_parameter(Name=name, Value="s3cr3t-value", Type="SecureString", KeyId=key_id)
    hidden = ssm.get_parameter(Name=name)["Parameter"]
    assert hidden["Type"] == "SecureString"
    assert hidden["Value"] != "s3cr3t-value"
    # Without decryption the value is KMS's ciphertext, bound to the parameter's ARN.
    ciphertext = base64.b64decode(hidden["Value"])
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"
    opened = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"PARAMETER_ARN": arn})
    assert opened["Plaintext"] == b"s3cr3t-value"
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "s3cr3t-value"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert described[0]["KeyId"] == key_id
    assert error_code(
        lambda: ssm.put_parameter(Name=unique("bad-key"), Value="x", Type="SecureString", KeyId="alias/none")
    ) == "InvalidKeyId"


def test_secure_string_under_the_default_key(client):
    ssm, kms = client("ssm"), client("kms")
    name = unique("default-key")
    ssm.put_parameter(Name=name, Value="under-aws-ssm", Type="SecureString")
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "under-aws-ssm"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert described[0]["KeyId"] == "alias/aws/ssm"
    # The AWS managed key was created on first use; its policy lets it be used only through
    # Parameter Store, so the caller cannot decrypt the stored ciphertext with KMS directly.
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases.get("alias/aws/ssm")
    ciphertext = base64.b64decode(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"
    assert error_code(
        lambda: kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"PARAMETER_ARN": arn})
    ) == "AccessDeniedException"


def test_cli_get_parameters_by_path_with_decryption(client, aws_env):
    kms, ssm = client("kms"), client("ssm")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    root = unique("cli")
    ssm.put_parameter(Name=f"{root}/plain", Value="visible", Type="String")
    ssm.put_parameter(Name=f"{root}/secret", Value="hidden-value", Type="SecureString", KeyId=key_id)

    def cli(*args):
        out = subprocess.run(
            ["aws", "ssm", *args, "--output", "json"],
            env=aws_env, capture_output=True, text=True, timeout=60, check=True,
        )
        return json.loads(out.stdout)

    decrypted = cli("get-parameters-by-path", "--path", root, "--with-decryption")["Parameters"]
    assert {p["Name"]: p["Value"] for p in decrypted} == {f"{root}/plain": "visible", f"{root}/secret": "hidden-value"}
    encrypted = cli("get-parameters-by-path", "--path", root)["Parameters"]
    assert {p["Name"]: p["Value"] for p in encrypted}[f"{root}/secret"] != "hidden-value"
    put = cli("put-parameter", "--name", f"{root}/via-cli", "--value", "x", "--type", "String")
    assert put == {"Version": 1, "Tier": "Standard"}


def test_tiers_and_policies(client):
    ssm = client("ssm")
    name = unique("tiers")
    big = "x" * 5000
    assert error_code(lambda: ssm.put_parameter(Name=name, Value=big, Type="String")) == "ValidationException"
    tier = ssm.put_parameter(Name=name, Value=big, Type="String", Tier="Intelligent-Tiering")["Tier"]
    assert tier == "Advanced"
    assert error_code(
        lambda: ssm.put_parameter(Name=name, Value="small", Overwrite=True, Tier="Standard")
    ) == "ValidationException"

    policies = json.dumps([
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}},
        {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "30", "Unit": "Days"}},
    ])
    with_policies = unique("policies")
    assert ssm.put_parameter(
        Name=with_policies, Value="v", Type="String", Tier="Advanced", Policies=policies
    )["Tier"] == "Advanced"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [with_policies]}])
    kinds = [p["PolicyType"] for p in described["Parameters"][0]["Policies"]]
    assert kinds == ["Expiration", "NoChangeNotification"]
    assert error_code(lambda: ssm.put_parameter(
        Name=unique("bad-policy"), Value="v", Type="String", Tier="Advanced",
        Policies='[{"Type":"Rotate","Version":"1.0","Attributes":{}}]',
    )) == "InvalidPolicyTypeException"


def test_tags_and_deletes(client):
    ssm = client("ssm")
    name = unique("tags")
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "blue"}])
    assert error_code(lambda: ssm.put_parameter(
        Name=name, Value="w", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}]
    )) == "ValidationException"
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "env", "Value": "prod"}])
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [
        {"Key": "env", "Value": "prod"}
    ]
    ssm.delete_parameter(Name=name)
    assert error_code(lambda: ssm.delete_parameter(Name=name)) == "ParameterNotFound"
    other = unique("other")
    ssm.put_parameter(Name=other, Value="v", Type="String")
    answer = ssm.delete_parameters(Names=[other, name])
    assert (answer["DeletedParameters"], answer["InvalidParameters"]) == ([other], [name])


def test_names_and_public_parameters(client):
    ssm = client("ssm")
    assert error_code(lambda: ssm.put_parameter(Name="/aws/mine", Value="v", Type="String")) == "ValidationException"
    assert error_code(
        lambda: ssm.put_parameter(Name="/a" * 16, Value="v", Type="String")
    ) == "HierarchyLevelLimitExceededException"
    image = ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
    assert image["Parameter"]["Value"].startswith("ami-")
    assert image["Parameter"]["DataType"] == "aws:ec2:image"
    regions = ssm.get_parameters_by_path(Path="/aws/service/global-infrastructure/regions")["Parameters"]
    assert "us-east-1" in [p["Value"] for p in regions]
