"""AWS Organizations with boto3 and the AWS CLI: the organization, accounts and their access
role (assumed through STS), the OU tree, SCPs, and paging."""

import json
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

DENY_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
)


def error_of(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def cli(aws_env, *args):
    done = subprocess.run(
        ["aws", "organizations", *args, "--output", "json"],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


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
def orgs(client):
    """The Organizations client of the default account, whose organization exists."""
    orgs = client("organizations")
    try:
        orgs.create_organization(FeatureSet="ALL")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AlreadyInOrganizationException"
    return orgs


def root_id(orgs):
    return orgs.list_roots()["Roots"][0]["Id"]


def create_account(orgs, name):
    status = orgs.create_account(Email=f"{name}@example.org", AccountName=name)["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    # Creation is asynchronous in AWS; here it has completed by the time the answer arrives.
    done = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED", done
    return done["AccountId"]


def test_organization_is_described_with_aws_arns(orgs):
    org = orgs.describe_organization()["Organization"]
    assert org["Id"].startswith("o-")
    assert org["Arn"] == f"arn:aws:organizations::{ACCOUNT}:organization/{org['Id']}"
    assert org["MasterAccountId"] == ACCOUNT
    assert org["FeatureSet"] == "ALL"
    code, status, message = error_of(lambda: orgs.create_organization())
    assert (code, status) == ("AlreadyInOrganizationException", 400)
    assert message == "The AWS account is already a member of an organization."


def test_new_account_access_role_is_assumable(endpoint, client, orgs, aws_env):
    name = "acct-" + uuid.uuid4().hex[:8]
    account = create_account(orgs, name)
    described = orgs.describe_account(AccountId=account)["Account"]
    assert described["Name"] == name and described["JoinedMethod"] == "CREATED"

    role_arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="admin")["Credentials"]
    env = dict(
        aws_env,
        AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"],
        AWS_SESSION_TOKEN=credentials["SessionToken"],
    )
    done = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/admin"

    # The role is an administrator of its account but the account is a member of the
    # organization: it may describe the organization, not manage it.
    member = session_client(endpoint, "organizations", credentials)
    assert member.describe_organization()["Organization"]["MasterAccountId"] == ACCOUNT
    code, status, message = error_of(lambda: member.list_accounts())
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == "You don't have permissions to access this resource."


def test_a_removed_account_is_invited_back_and_accepts(endpoint, client, orgs):
    account = create_account(orgs, "again-" + uuid.uuid4().hex[:8])
    orgs.remove_account_from_organization(AccountId=account)
    # The access role outlives the membership: through it the account answers the invitation.
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="invitee"
    )["Credentials"]
    invitee = session_client(endpoint, "organizations", credentials)
    code, _, _ = error_of(lambda: invitee.describe_organization())
    assert code == "AWSOrganizationsNotInUseException"

    handshake = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"}, Notes="welcome back")[
        "Handshake"
    ]
    assert handshake["State"] == "OPEN" and handshake["Action"] == "INVITE"
    received = invitee.list_handshakes_for_account()["Handshakes"]
    assert [h["Id"] for h in received] == [handshake["Id"]]
    accepted = invitee.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    assert orgs.describe_account(AccountId=account)["Account"]["JoinedMethod"] == "INVITED"
    assert invitee.describe_organization()["Organization"]["MasterAccountId"] == ACCOUNT
    orgs.remove_account_from_organization(AccountId=account)


def test_ou_tree_and_moving_accounts(orgs):
    root = root_id(orgs)
    suffix = uuid.uuid4().hex[:6]
    prod = orgs.create_organizational_unit(ParentId=root, Name=f"prod-{suffix}")["OrganizationalUnit"]
    web = orgs.create_organizational_unit(ParentId=prod["Id"], Name="web")["OrganizationalUnit"]
    org_id = orgs.describe_organization()["Organization"]["Id"]
    assert web["Path"] == f"{org_id}/{root}/{prod['Id']}/{web['Id']}/"
    assert web["Arn"] == f"arn:aws:organizations::{ACCOUNT}:ou/{org_id}/{web['Id']}"
    code, _, _ = error_of(lambda: orgs.create_organizational_unit(ParentId=prod["Id"], Name="web"))
    assert code == "DuplicateOrganizationalUnitException"

    account = create_account(orgs, "tree-" + suffix)
    code, _, _ = error_of(
        lambda: orgs.move_account(AccountId=account, SourceParentId=prod["Id"], DestinationParentId=web["Id"])
    )
    assert code == "SourceParentNotFoundException"
    orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=web["Id"])
    assert orgs.list_parents(ChildId=account)["Parents"] == [{"Id": web["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    children = orgs.list_children(ParentId=web["Id"], ChildType="ACCOUNT")["Children"]
    assert children == [{"Id": account, "Type": "ACCOUNT"}]
    code, _, _ = error_of(lambda: orgs.delete_organizational_unit(OrganizationalUnitId=web["Id"]))
    assert code == "OrganizationalUnitNotEmptyException"

    orgs.remove_account_from_organization(AccountId=account)
    orgs.delete_organizational_unit(OrganizationalUnitId=web["Id"])
    orgs.delete_organizational_unit(OrganizationalUnitId=prod["Id"])


def test_paging_with_the_paginator(orgs):
    for i in range(3):
        create_account(orgs, f"page{i}-" + uuid.uuid4().hex[:6])
    pages = list(orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 2
    assert all(len(page["Accounts"]) <= 2 for page in pages)
    ids = [account["Id"] for page in pages for account in page["Accounts"]]
    assert len(ids) == len(set(ids)) >= 4
    assert ACCOUNT in ids


def test_scps_with_the_cli(orgs, aws_env):
    root = root_id(orgs)
    types = orgs.list_roots()["Roots"][0]["PolicyTypes"]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in types):
        enabled = cli(aws_env, "enable-policy-type", "--root-id", root, "--policy-type", "SERVICE_CONTROL_POLICY")
        assert {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in enabled["Root"]["PolicyTypes"]
    unit = orgs.create_organizational_unit(ParentId=root, Name="scp-" + uuid.uuid4().hex[:6])["OrganizationalUnit"]
    attached = cli(aws_env, "list-policies-for-target", "--target-id", unit["Id"], "--filter", "SERVICE_CONTROL_POLICY")
    assert [p["Id"] for p in attached["Policies"]] == ["p-FullAWSAccess"]

    policy = cli(
        aws_env,
        "create-policy",
        "--name",
        "deny-s3-" + uuid.uuid4().hex[:6],
        "--description",
        "no S3",
        "--type",
        "SERVICE_CONTROL_POLICY",
        "--content",
        DENY_S3,
    )["Policy"]
    policy_id = policy["PolicySummary"]["Id"]
    assert policy["PolicySummary"]["Arn"].endswith(f"/service_control_policy/{policy_id}")
    cli(aws_env, "attach-policy", "--policy-id", policy_id, "--target-id", unit["Id"])
    targets = cli(aws_env, "list-targets-for-policy", "--policy-id", policy_id)["Targets"]
    assert [t["TargetId"] for t in targets] == [unit["Id"]]

    code, _, _ = error_of(lambda: orgs.attach_policy(PolicyId=policy_id, TargetId=unit["Id"]))
    assert code == "DuplicatePolicyAttachmentException"
    code, _, _ = error_of(lambda: orgs.delete_policy(PolicyId=policy_id))
    assert code == "PolicyInUseException"
    code, _, _ = error_of(
        lambda: orgs.create_policy(Name="bad", Description="", Type="SERVICE_CONTROL_POLICY", Content="{nope")
    )
    assert code == "MalformedPolicyDocumentException"

    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=unit["Id"])
    code, _, message = error_of(lambda: orgs.detach_policy(PolicyId=policy_id, TargetId=unit["Id"]))
    assert code == "ConstraintViolationException", message
    orgs.attach_policy(PolicyId="p-FullAWSAccess", TargetId=unit["Id"])
    orgs.detach_policy(PolicyId=policy_id, TargetId=unit["Id"])
    orgs.delete_policy(PolicyId=policy_id)
    orgs.delete_organizational_unit(OrganizationalUnitId=unit["Id"])


def test_tags_on_an_ou(orgs):
    unit = orgs.create_organizational_unit(
        ParentId=root_id(orgs), Name="tags-" + uuid.uuid4().hex[:6], Tags=[{"Key": "env", "Value": "prod"}]
    )["OrganizationalUnit"]
    orgs.tag_resource(ResourceId=unit["Id"], Tags=[{"Key": "team", "Value": "web"}])
    orgs.untag_resource(ResourceId=unit["Id"], TagKeys=["env"])
    assert orgs.list_tags_for_resource(ResourceId=unit["Id"])["Tags"] == [{"Key": "team", "Value": "web"}]
    orgs.delete_organizational_unit(OrganizationalUnitId=unit["Id"])
