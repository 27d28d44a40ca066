"""Makes the principal and resources `scripts/bench-cost enforcement` drives, on one server, and writes
the request bodies and the principal's credentials into a directory.

The principal is the realistic one of the IAM issue's decision benchmark: an IAM user in a member
account of an organization (two SCP levels: the root's and an OU's), with three managed policies,
an inline policy, a group, a permissions boundary and principal tags; the KMS key it uses has a
key policy (the resource policy). Eight conditions are tested along the way, all of which hold,
so every layer is evaluated and the call is allowed.

    python scripts/enforcement-setup.py <endpoint url> <output directory>
"""

import base64
import json
import os
import sys

import boto3

url, out = sys.argv[1:3]
REGION = "us-east-1"


def client(service, credentials=None):
    credentials = credentials or {"AccessKeyId": "test", "SecretAccessKey": "test"}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
    )


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# The organization: SCPs on the root (FullAWSAccess) and on an OU (a region guard).
orgs = client("organizations")
org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
root = orgs.list_roots()["Roots"][0]["Id"]
orgs.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
ou = orgs.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
status = orgs.create_account(Email="bench@example.org", AccountName="bench")["CreateAccountStatus"]
account = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])[
    "CreateAccountStatus"
]["AccountId"]
orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
region_guard = orgs.create_policy(
    Name="region-guard",
    Description="regions",
    Type="SERVICE_CONTROL_POLICY",
    Content=document(
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "organizations:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
        }
    ),
)["Policy"]["PolicySummary"]["Id"]
orgs.attach_policy(PolicyId=region_guard, TargetId=ou)

# The member account's administrator.
admin = client("sts").assume_role(
    RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
)["Credentials"]
iam = client("iam", admin)

user = "alice"
iam.create_user(UserName=user, Tags=[{"Key": "Department", "Value": "eng"}])
iam.create_group(GroupName="engineers")
iam.add_user_to_group(GroupName="engineers", UserName=user)
iam.put_group_policy(
    GroupName="engineers",
    PolicyName="engineers",
    PolicyDocument=document(
        {"Effect": "Allow", "Action": ["kms:Describe*", "kms:List*"], "Resource": "*"}
    ),
)
managed = [
    document(
        {
            "Sid": "CryptoInHomeRegion",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": f"arn:aws:kms:*:{account}:key/*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        }
    ),
    document(
        {
            "Sid": "RandomForEngineers",
            "Effect": "Allow",
            "Action": "kms:GenerateRandom",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/Department": "eng"}},
        }
    ),
    document(
        {
            "Sid": "NoDeletionWithoutMfa",
            "Effect": "Deny",
            "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ),
]
for index, text in enumerate(managed):
    arn = iam.create_policy(PolicyName=f"managed-{index}", PolicyDocument=text)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
iam.put_user_policy(
    UserName=user,
    PolicyName="inline",
    PolicyDocument=document(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}},
        }
    ),
)
boundary = iam.create_policy(
    PolicyName="boundary",
    PolicyDocument=document(
        {
            "Effect": "Allow",
            "Action": ["kms:*", "iam:Get*", "iam:List*"],
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}},
        }
    ),
)["Policy"]["Arn"]
iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
key_pair = iam.create_access_key(UserName=user)["AccessKey"]

# The key, whose policy lets the account delegate to IAM and names the user for use inside the
# organization.
key = client("kms", admin).create_key(
    Policy=document(
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "UseInsideTheOrganization",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:user/{user}"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": org_id},
                "StringLike": {"kms:EncryptionContext:purpose": "bench*"},
            },
        },
    )
)["KeyMetadata"]["Arn"]

# The user can do what the benchmark asks of it.
as_user = client("kms", key_pair)
as_user.generate_random(NumberOfBytes=32)
as_user.encrypt(KeyId=key, Plaintext=b"x" * 64, EncryptionContext={"purpose": "bench"})

os.makedirs(out, exist_ok=True)
bodies = {
    "kms-generate-random": {"NumberOfBytes": 32},
    "kms-encrypt": {
        "KeyId": key,
        "Plaintext": base64.b64encode(b"x" * 64).decode(),
        "EncryptionContext": {"purpose": "bench"},
    },
}
for name, body in bodies.items():
    with open(os.path.join(out, f"{name}.body"), "w") as file:
        json.dump(body, file)
with open(os.path.join(out, "credentials"), "w") as file:
    file.write(f"{key_pair['AccessKeyId']} {key_pair['SecretAccessKey']}\n")
