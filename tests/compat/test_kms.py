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
