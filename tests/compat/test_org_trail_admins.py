"""CloudTrail's delegated administrators with boto3: the management account registers member
accounts (at most three) with RegisterOrganizationDelegatedAdmin, which Organizations then lists
for cloudtrail.amazonaws.com; a delegated administrator creates and manages organization trails,
which the management account owns; deregistered, it manages them no more.

The server here is this module's own: the organization it makes would change what other modules
see.
"""

import os
import tempfile

import pytest

from conftest import ACCOUNT, REGION, serving
from test_org_trails import client, error_code

SERVICE = "cloudtrail.amazonaws.com"
TRAIL = "org-by-admin"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"


@pytest.fixture(scope="module")
def url():
    with tempfile.TemporaryDirectory() as work, serving(os.path.join(work, "data")) as url:
        yield url


@pytest.fixture(scope="module")
def organization(url):
    """The default account's organization with five member accounts; answers their ids and the
    CloudTrail clients of the first two (the future administrator, and a plain member)."""
    orgs = client(url, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    members = []
    for index in range(5):
        status = orgs.create_account(Email=f"member{index}@example.org", AccountName=f"member{index}")
        members.append(
            orgs.describe_create_account_status(CreateAccountRequestId=status["CreateAccountStatus"]["Id"])[
                "CreateAccountStatus"
            ]["AccountId"]
        )

    def cloudtrail_of(account):
        credentials = client(url, "sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
        )["Credentials"]
        return client(url, "cloudtrail", credentials)

    return {
        "members": members,
        "admin": members[0],
        "admin_cloudtrail": cloudtrail_of(members[0]),
        "member_cloudtrail": cloudtrail_of(members[1]),
    }


def cloudtrail_admins(url):
    listed = client(url, "organizations").list_delegated_administrators(ServicePrincipal=SERVICE)
    return [admin["Id"] for admin in listed["DelegatedAdministrators"]]


def test_registering_needs_trusted_access_and_the_management_account(url, organization):
    management = client(url, "cloudtrail")
    admin = organization["admin"]
    register = management.register_organization_delegated_admin
    assert error_code(lambda: register(MemberAccountId=admin)) == "CloudTrailAccessNotEnabledException"
    client(url, "organizations").enable_aws_service_access(ServicePrincipal=SERVICE)

    member = organization["member_cloudtrail"]
    assert (
        error_code(lambda: member.register_organization_delegated_admin(MemberAccountId=admin))
        == "NotOrganizationManagementAccountException"
    )
    assert error_code(lambda: register(MemberAccountId=ACCOUNT)) == "CannotDelegateManagementAccountException"
    assert error_code(lambda: register(MemberAccountId="123456789012")) == "AccountNotFoundException"
    assert (
        error_code(lambda: management.deregister_organization_delegated_admin(DelegatedAdminAccountId=admin))
        == "AccountNotRegisteredException"
    )
    with tempfile.TemporaryDirectory() as work, serving(os.path.join(work, "data")) as alone:
        refused = client(alone, "cloudtrail").register_organization_delegated_admin
        assert error_code(lambda: refused(MemberAccountId=admin)) == "OrganizationsNotInUseException"

    register(MemberAccountId=admin)
    assert cloudtrail_admins(url) == [admin]
    assert error_code(lambda: register(MemberAccountId=admin)) == "AccountRegisteredException"


def test_a_delegated_administrator_manages_trails_the_management_account_owns(url, organization):
    admin = organization["admin_cloudtrail"]
    created = admin.create_trail(Name=TRAIL, S3BucketName="org-logs", IsOrganizationTrail=True)
    assert created["TrailARN"] == TRAIL_ARN
    assert created["IsOrganizationTrail"] is True
    owned = client(url, "cloudtrail").describe_trails(trailNameList=[TRAIL])["trailList"]
    assert [trail["TrailARN"] for trail in owned] == [TRAIL_ARN]

    admin.start_logging(Name=TRAIL_ARN)
    admin.update_trail(Name=TRAIL, S3BucketName="org-logs-2")
    admin.put_event_selectors(
        TrailName=TRAIL_ARN,
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    status = client(url, "cloudtrail").get_trail_status(Name=TRAIL)
    assert status["IsLogging"] is True
    assert client(url, "cloudtrail").get_trail(Name=TRAIL)["Trail"]["S3BucketName"] == "org-logs-2"

    member = organization["member_cloudtrail"]
    assert error_code(lambda: member.stop_logging(Name=TRAIL_ARN)) == "NotOrganizationMasterAccountException"
    assert (
        error_code(lambda: member.create_trail(Name="other", S3BucketName="org-logs", IsOrganizationTrail=True))
        == "NotOrganizationMasterAccountException"
    )


def test_at_most_three_delegated_administrators(url, organization):
    management = client(url, "cloudtrail")
    first, _, second, third, fourth = organization["members"]
    management.register_organization_delegated_admin(MemberAccountId=second)
    management.register_organization_delegated_admin(MemberAccountId=third)
    assert sorted(cloudtrail_admins(url)) == sorted([first, second, third])
    assert (
        error_code(lambda: management.register_organization_delegated_admin(MemberAccountId=fourth))
        == "DelegatedAdminAccountLimitExceededException"
    )
    management.deregister_organization_delegated_admin(DelegatedAdminAccountId=third)
    management.deregister_organization_delegated_admin(DelegatedAdminAccountId=second)
    assert cloudtrail_admins(url) == [first]


def test_deregistered_it_manages_them_no_more(url, organization):
    management = client(url, "cloudtrail")
    admin = organization["admin_cloudtrail"]
    management.deregister_organization_delegated_admin(DelegatedAdminAccountId=organization["admin"])
    assert cloudtrail_admins(url) == []
    assert error_code(lambda: admin.stop_logging(Name=TRAIL_ARN)) == "NotOrganizationMasterAccountException"
    # It still sees the trail, as every member does.
    assert [trail["TrailARN"] for trail in admin.describe_trails()["trailList"]] == [TRAIL_ARN]

    # Registered through Organizations directly, it is CloudTrail's delegated administrator too.
    client(url, "organizations").register_delegated_administrator(
        AccountId=organization["admin"], ServicePrincipal=SERVICE
    )
    admin.stop_logging(Name=TRAIL_ARN)
    admin.delete_trail(Name=TRAIL_ARN)
    assert management.describe_trails()["trailList"] == []
