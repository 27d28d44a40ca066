"""KMS keys used across accounts: a principal of account B names account A's key by its key or
alias ARN, and may use it only where both A's key policy and B's own policies allow, and only in
the operations AWS allows across accounts."""

import json

from test_cross_account_secrets import member  # noqa: F401 (a fixture)
from test_enforcement import _error_code


def _key_shared_with(client, principal, actions):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": actions,
                "Resource": "*",
            },
        ],
    }
    return client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def test_another_account_uses_a_shared_key_by_its_arn(client, member):  # noqa: F811
    kms_a = client("kms")
    key_arn = _key_shared_with(
        client,
        member["role"],
        ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
    )
    kms_a.create_alias(AliasName="alias/shared-with-b", TargetKeyId=key_arn)
    alias_arn = key_arn.split(":key/")[0] + ":alias/shared-with-b"
    kms_b = member["kms"]

    encrypted = kms_b.encrypt(KeyId=alias_arn, Plaintext=b"across", EncryptionContext={"a": "b"})
    assert encrypted["KeyId"] == key_arn
    # The ciphertext names the key's account: Decrypt needs no KeyId, in either account.
    for kms in (kms_b, kms_a):
        decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext={"a": "b"})
        assert decrypted["Plaintext"] == b"across"
        assert decrypted["KeyId"] == key_arn

    data_key = kms_b.generate_data_key(KeyId=key_arn, KeySpec="AES_256")
    assert kms_b.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    assert kms_b.describe_key(KeyId=key_arn)["KeyMetadata"]["AWSAccountId"] == "000000000000"

    # What the key policy does not give B is refused.
    code, message = _error_code(lambda: kms_b.sign(KeyId=key_arn, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"))
    assert code == "AccessDeniedException", message
    # Operations AWS does not allow across accounts do not find the key at all.
    code, _ = _error_code(lambda: kms_b.disable_key(KeyId=key_arn))
    assert code == "NotFoundException"
    assert kms_a.describe_key(KeyId=key_arn)["KeyMetadata"]["Enabled"] is True


def test_a_key_policy_that_leaves_out_the_other_account_denies(client, member):  # noqa: F811
    kms_a = client("kms")
    key_arn = kms_a.create_key()["KeyMetadata"]["Arn"]
    blob = kms_a.encrypt(KeyId=key_arn, Plaintext=b"mine")["CiphertextBlob"]
    kms_b = member["kms"]
    for call in (
        lambda: kms_b.encrypt(KeyId=key_arn, Plaintext=b"x"),
        lambda: kms_b.decrypt(CiphertextBlob=blob),
        lambda: kms_b.describe_key(KeyId=key_arn),
    ):
        code, message = _error_code(call)
        assert code == "AccessDeniedException"
        assert key_arn in message, message


def test_the_callers_own_policies_must_allow_too(client, member):  # noqa: F811
    key_arn = _key_shared_with(client, member["role"], ["kms:Encrypt"])
    kms_b = member["kms"]
    assert kms_b.encrypt(KeyId=key_arn, Plaintext=b"x")["KeyId"] == key_arn
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": key_arn}],
    }
    member["iam"].put_role_policy(
        RoleName=member["role"].split("/")[-1], PolicyName="no-shared-key", PolicyDocument=json.dumps(deny)
    )
    code, message = _error_code(lambda: kms_b.encrypt(KeyId=key_arn, Plaintext=b"x"))
    assert code == "AccessDeniedException"
    assert "explicit deny" in message, message
