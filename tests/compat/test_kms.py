"""KMS with boto3, the AWS CLI and openssl: keys, aliases, envelope encryption, signatures."""

import base64
import json
import subprocess
import tempfile
import os

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_symmetric_key_round_trip(client):
    kms = client("kms")
    metadata = kms.create_key(Description="app data")["KeyMetadata"]
    assert metadata["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{metadata['KeyId']}"
    assert (metadata["KeySpec"], metadata["KeyUsage"], metadata["KeyState"]) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled",
    )
    assert (metadata["Origin"], metadata["KeyManager"]) == ("AWS_KMS", "CUSTOMER")
    kms.create_alias(AliasName="alias/app-" + metadata["KeyId"][:8], TargetKeyId=metadata["KeyId"])

    context = {"tenant": "blue"}
    blob = kms.encrypt(KeyId=metadata["KeyId"], Plaintext=b"attack at dawn", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    assert b"attack at dawn" not in blob
    answer = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert answer["Plaintext"] == b"attack at dawn"
    assert answer["KeyId"] == metadata["Arn"]

    assert error_code(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "red"})) == (
        "InvalidCiphertextException"
    )
    # Contexts that concatenate alike are still different contexts.
    blob = kms.encrypt(KeyId=metadata["KeyId"], Plaintext=b"x", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    assert error_code(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "bc"})) == (
        "InvalidCiphertextException"
    )
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    assert error_code(lambda: kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext={"ab": "c"})) == (
        "InvalidCiphertextException"
    )


def test_data_keys_and_states(client):
    kms = client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

    kms.disable_key(KeyId=key_id)
    assert error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x")) == "DisabledException"
    kms.enable_key(KeyId=key_id)
    deletion = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert deletion["KeyState"] == "PendingDeletion"
    assert error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x")) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4097)) == "ValidationException"


def test_signature_verifies_with_openssl(client):
    kms = client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    message = b"release 1.2.3"
    signature = kms.sign(
        KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    assert kms.verify(
        KeyId=key_id, Message=message, Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    )["SignatureValid"]
    public_key = kms.get_public_key(KeyId=key_id)["PublicKey"]
    with tempfile.TemporaryDirectory() as work:
        paths = {name: os.path.join(work, name) for name in ("key.der", "message", "signature")}
        for name, data in (("key.der", public_key), ("message", message), ("signature", signature)):
            with open(paths[name], "wb") as out:
                out.write(data)
        verified = subprocess.run(
            ["openssl", "dgst", "-sha256", "-keyform", "DER", "-verify", paths["key.der"],
             "-signature", paths["signature"], paths["message"]],
            capture_output=True, text=True, timeout=30,
        )
        assert verified.returncode == 0, verified.stderr
        assert "Verified OK" in verified.stdout
    assert error_code(
        lambda: kms.verify(KeyId=key_id, Message=b"other", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    ) == "KMSInvalidSignatureException"


def test_kms_with_the_aws_cli(aws_env):
    def aws(*args):
        out = subprocess.run(
            ["aws", "kms", *args, "--output", "json"],
            env=aws_env, capture_output=True, text=True, timeout=60, check=True,
        )
        return json.loads(out.stdout)

    key_id = aws("create-key", "--description", "cli")["KeyMetadata"]["KeyId"]
    # AWS CLI v1 takes blob arguments as raw text and prints blobs in base64.
    blob = aws("encrypt", "--key-id", key_id, "--plaintext", "from the cli")["CiphertextBlob"]
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "blob")
        with open(path, "wb") as out:
            out.write(base64.b64decode(blob))
        decrypted = aws("decrypt", "--ciphertext-blob", f"fileb://{path}")
    assert base64.b64decode(decrypted["Plaintext"]) == b"from the cli"
    assert key_id in [key["KeyId"] for key in aws("list-keys")["Keys"]]


def test_aws_encryption_sdk_round_trip(endpoint, client, monkeypatch):
    """The AWS Encryption SDK for Python, with a KMS master key provider pointed at Palisade."""
    import aws_encryption_sdk
    import botocore.session
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    key_arn = client("kms").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    sdk = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[key_arn], botocore_session=botocore.session.Session()
    )
    message, header = sdk.encrypt(
        source=b"envelope-encrypted", key_provider=provider, encryption_context={"purpose": "test"}
    )
    assert b"envelope-encrypted" not in message
    plaintext, decrypted_header = sdk.decrypt(source=message, key_provider=provider)
    assert plaintext == b"envelope-encrypted"
    assert decrypted_header.encryption_context["purpose"] == "test"


def test_key_policy_governs_use_of_the_key(client):
    """IAM policies count only where the key policy delegates to the account; a key policy
    naming a user directly is enough on its own; the root user is bound by it too."""
    import uuid

    iam = client("iam")
    names = ["k-" + uuid.uuid4().hex[:10] for _ in range(2)]
    users = []
    for name in names:
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        iam.put_user_policy(
            UserName=name,
            PolicyName="kms",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
            ),
        )
        users.append((arn, client("kms", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])))
    (named_arn, named), (other_arn, other) = users

    kms = client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    # The default key policy delegates to the account: the IAM policy lets the user in.
    other.encrypt(KeyId=key_id, Plaintext=b"x")

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": named_arn}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    blob = named.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert named.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    # A ciphertext does not get around its key's policy: Decrypt without a KeyId is decided
    # against the key the ciphertext names.
    assert error_code(lambda: other.decrypt(CiphertextBlob=blob)) == "AccessDeniedException"
    with pytest.raises(ClientError) as raised:
        other.encrypt(KeyId=key_id, Plaintext=b"x")
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"on resource: arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}" in error["Message"]
    # Not even the root user may use a key whose policy leaves the account out.
    assert error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def _user(client, policy=None):
    """A new IAM user (with `policy` inline, if given), its ARN and a KMS client signed as it."""
    import uuid

    iam = client("iam")
    name = "k-" + uuid.uuid4().hex[:10]
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn, client("kms", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_grant_lets_a_user_without_permissions_use_the_key(client):
    kms = client("kms")
    grantee_arn, grantee = _user(client)
    retiring_arn, retiring = _user(client)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"granted", EncryptionContext={"app": "blue"})["CiphertextBlob"]
    other_blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "red"})["CiphertextBlob"]
    assert error_code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "blue"})) == (
        "AccessDeniedException"
    )

    grant = kms.create_grant(
        KeyId=key_id,
        GranteePrincipal=grantee_arn,
        RetiringPrincipal=retiring_arn,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextSubset": {"app": "blue"}},
    )
    answer = grantee.decrypt(
        CiphertextBlob=blob, EncryptionContext={"app": "blue"}, GrantTokens=[grant["GrantToken"]]
    )
    assert answer["Plaintext"] == b"granted"
    # The grant's constraint and operations bound what it allows.
    assert error_code(lambda: grantee.decrypt(CiphertextBlob=other_blob, EncryptionContext={"app": "red"})) == (
        "AccessDeniedException"
    )
    assert error_code(lambda: grantee.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"

    # The retiring principal needs no permission to retire it; then the grantee is refused again.
    assert error_code(lambda: grantee.retire_grant(GrantToken=grant["GrantToken"])) == "AccessDeniedException"
    retiring.retire_grant(GrantToken=grant["GrantToken"])
    assert error_code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "blue"})) == (
        "AccessDeniedException"
    )


def test_key_policy_conditions_on_encryption_context_and_via_service(client):
    kms = client("kms")
    user_arn, user = _user(client)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:Encrypt", "kms:Decrypt"],
             "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "finance",
                                            "kms:CallerAccount": ACCOUNT}}},
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:GenerateDataKey",
             "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}},
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}},
        ],
    }
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    blob = user.encrypt(KeyId=key_id, Plaintext=b"ledger", EncryptionContext={"dept": "finance"})["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob, EncryptionContext={"dept": "finance"})["Plaintext"] == b"ledger"
    assert error_code(
        lambda: user.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"dept": "hr"})
    ) == "AccessDeniedException"
    assert error_code(lambda: user.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"
    # Allowed only through Secrets Manager: a direct call is refused.
    assert error_code(lambda: user.generate_data_key(KeyId=key_id, KeySpec="AES_256")) == "AccessDeniedException"


def test_key_tags_and_aliases_in_conditions(client):
    kms = client("kms")
    metadata = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    alias = "alias/cond-" + metadata["KeyId"][:8]
    kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
    _, user = _user(client, {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}},
            {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
             "Condition": {"StringEquals": {"kms:RequestAlias": alias}}},
        ],
    })
    user.encrypt(KeyId=metadata["KeyId"], Plaintext=b"x")
    user.describe_key(KeyId=alias)
    assert error_code(lambda: user.describe_key(KeyId=metadata["KeyId"])) == "AccessDeniedException"
    other = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])["KeyMetadata"]["KeyId"]
    assert error_code(lambda: user.encrypt(KeyId=other, Plaintext=b"x")) == "AccessDeniedException"


def test_aws_managed_key_of_secrets_manager(client):
    kms = client("kms")
    secrets = client("secretsmanager")
    import uuid

    try:
        secrets.create_secret(Name="managed-" + uuid.uuid4().hex[:8], SecretString="s3cr3t")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NotImplemented", "NotImplementedException"):
            pytest.skip("Secrets Manager's CreateSecret is not built yet")
        raise
    metadata = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["Description"] == "Default key that protects my Secrets Manager data when no other key is defined"
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/aws/secretsmanager"]["TargetKeyId"] == metadata["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
    assert any("kms:ViaService" in json.dumps(s.get("Condition", {})) for s in policy["Statement"])
    # A user allowed Secrets Manager, and nothing in KMS, uses the key through it.
    secrets_only = {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
    iam = client("iam")
    name = "sm-" + uuid.uuid4().hex[:10]
    iam.create_user(UserName=name)
    access = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(secrets_only))
    user_secrets = client("secretsmanager", access_key=access["AccessKeyId"], secret=access["SecretAccessKey"])
    user_kms = client("kms", access_key=access["AccessKeyId"], secret=access["SecretAccessKey"])
    secret_name = "user-" + uuid.uuid4().hex[:8]
    user_secrets.create_secret(Name=secret_name, SecretString="mine")
    assert user_secrets.get_secret_value(SecretId=secret_name)["SecretString"] == "mine"
    assert error_code(lambda: user_kms.encrypt(KeyId=metadata["KeyId"], Plaintext=b"x")) == (
        "AccessDeniedException"
    )
    # Only Secrets Manager may use it; its settings are AWS's.
    assert error_code(lambda: kms.encrypt(KeyId=metadata["KeyId"], Plaintext=b"x")) == "AccessDeniedException"
    assert error_code(lambda: kms.disable_key(KeyId=metadata["KeyId"])) == "AccessDeniedException"
    assert error_code(
        lambda: kms.schedule_key_deletion(KeyId=metadata["KeyId"], PendingWindowInDays=7)
    ) == "AccessDeniedException"
    assert error_code(
        lambda: kms.update_alias(AliasName="alias/aws/secretsmanager", TargetKeyId=metadata["KeyId"])
    ) == "NotAuthorizedException"


def test_multi_region_key_replica_decrypts_in_its_region(client):
    east = client("kms")
    west = client("kms", region="us-west-2")
    key = east.create_key(MultiRegion=True, Description="global")["KeyMetadata"]
    assert key["KeyId"].startswith("mrk-") and key["MultiRegion"] is True
    assert key["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    blob = east.encrypt(KeyId=key["KeyId"], Plaintext=b"across regions")["CiphertextBlob"]

    replica = east.replicate_key(KeyId=key["KeyId"], ReplicaRegion="us-west-2", Description="copy")
    assert replica["ReplicaKeyMetadata"]["Arn"] == f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{key['KeyId']}"
    described = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["Description"] == "copy"
    configuration = described["MultiRegionConfiguration"]
    assert configuration["MultiRegionKeyType"] == "REPLICA"
    assert configuration["PrimaryKey"]["Region"] == REGION
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across regions"

    deletion = east.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert deletion["KeyState"] == "PendingReplicaDeletion"
    assert error_code(lambda: east.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")) == (
        "KMSInvalidStateException"
    )


def test_custom_key_stores_do_not_exist(client):
    kms = client("kms")
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    assert error_code(lambda: kms.describe_custom_key_stores(CustomKeyStoreId="cks-1234567890abcdef0")) == (
        "CustomKeyStoreNotFoundException"
    )


def test_re_encrypt_needs_both_halves(client):
    kms = client("kms")
    source = kms.create_key()["KeyMetadata"]
    destination = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"moving", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]

    def statement(action, key):
        return {"Effect": "Allow", "Action": action, "Resource": key["Arn"]}

    allowed_from_only = {"Version": "2012-10-17", "Statement": [statement("kms:ReEncryptFrom", source)]}
    _, user = _user(client, allowed_from_only)
    assert error_code(lambda: user.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=destination["KeyId"]
    )) == "AccessDeniedException"

    both = {"Version": "2012-10-17", "Statement": [
        statement("kms:ReEncryptFrom", source), statement("kms:ReEncryptTo", destination),
    ]}
    _, user = _user(client, both)
    moved = user.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=destination["KeyId"]
    )
    assert moved["KeyId"] == destination["Arn"]
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"moving"
