"""KMS calls' CloudTrail records, read back with boto3's LookupEvents, as AWS KMS writes them.

Each test asserts a record's requestParameters, responseElements, additionalEventData and
resources member by member, as the examples in the AWS KMS Developer Guide ("Logging AWS KMS API
calls with AWS CloudTrail") show them: the defaults AWS fills in, both keys of a ReEncrypt, the
key a ciphertext names, the key ARN added to operations that answer nothing, and never a
plaintext, message, ciphertext or grant token.

The session's server is shared by every test, so these tests work in a region of their own and
find their records by the unique key or alias they used.
"""

import base64
import json
import re
import uuid
from datetime import timezone

import botocore.exceptions
import pytest

REGION = "ap-northeast-2"
# Java's medium date and time style, as AWS KMS's records show timestamps.
JAVA_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M$")


@pytest.fixture
def kms(client):
    return client("kms", region=REGION)


@pytest.fixture
def records(client):
    """The records naming a resource, newest first, as (raw JSON, parsed) pairs by event name."""
    trail = client("cloudtrail", region=REGION)

    def lookup(resource_name, event_name):
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": resource_name}],
            MaxResults=50,
        )["Events"]
        found = [e["CloudTrailEvent"] for e in events if e["EventName"] == event_name]
        assert found, f"no {event_name} record names {resource_name}"
        return found[0], json.loads(found[0])

    return lookup


def java_date(moment):
    """A timestamp boto3 parsed, as AWS KMS's records show it: UTC, Java's medium style."""
    return moment.astimezone(timezone.utc).strftime("%b %-d, %Y, %-I:%M:%S %p")


def key_resource(arn):
    return {"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn}


def new_key(kms, **options):
    metadata = kms.create_key(**options)["KeyMetadata"]
    return metadata["KeyId"], metadata["Arn"]


def test_encrypt_and_decrypt_record_the_default_algorithm_and_no_data(kms, records):
    key_id, key_arn = new_key(kms)
    context = {"Department": "Engineering"}
    secret = b"attack at dawn " + uuid.uuid4().hex.encode()
    blob = kms.encrypt(KeyId=key_id, Plaintext=secret, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    decrypted = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert decrypted["Plaintext"] == secret

    raw, encrypt = records(key_arn, "Encrypt")
    assert encrypt["requestParameters"] == {
        "keyId": key_id,
        "encryptionContext": context,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert encrypt["responseElements"] is None
    assert encrypt["readOnly"] is True
    assert encrypt["resources"] == [key_resource(key_arn)]
    assert secret.decode() not in raw and base64.b64encode(secret).decode() not in raw
    assert base64.b64encode(blob).decode() not in raw

    raw, decrypt = records(key_arn, "Decrypt")
    # Decrypt named no key: the record lists the one its ciphertext names, under resources only.
    assert decrypt["requestParameters"] == {
        "encryptionContext": context,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert decrypt["responseElements"] is None
    assert decrypt["resources"] == [key_resource(key_arn)]
    assert decrypt["additionalEventData"] == {"keyMaterialId": decrypted["KeyMaterialId"]}
    assert secret.decode() not in raw and base64.b64encode(secret).decode() not in raw
    assert base64.b64encode(blob).decode() not in raw


def test_a_failed_decrypt_lists_the_key_it_would_have_used(kms, records):
    _, key_arn = new_key(kms)
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"data", EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    with pytest.raises(botocore.exceptions.ClientError) as failure:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "c"}, KeyId=key_arn)
    assert failure.value.response["Error"]["Code"] == "InvalidCiphertextException"

    _, record = records(key_arn, "Decrypt")
    assert record["errorCode"] == "InvalidCiphertextException"
    assert record["requestParameters"] == {
        "keyId": key_arn,
        "encryptionContext": {"a": "c"},
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert record["responseElements"] is None
    assert record["resources"] == [key_resource(key_arn)]
    assert "additionalEventData" not in record


def test_reencrypt_records_both_keys_source_first(kms, records):
    _, source_arn = new_key(kms)
    destination_id, destination_arn = new_key(kms)
    blob = kms.encrypt(KeyId=source_arn, Plaintext=b"data", EncryptionContext={"Project": "Alpha"})[
        "CiphertextBlob"
    ]
    answer = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"Project": "Alpha"},
        DestinationKeyId=destination_id,
        DestinationEncryptionContext={"Level": "3A"},
    )

    raw, record = records(destination_arn, "ReEncrypt")
    assert record["requestParameters"] == {
        "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "sourceEncryptionContext": {"Project": "Alpha"},
        "destinationKeyId": destination_id,
        "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "destinationEncryptionContext": {"Level": "3A"},
    }
    assert record["responseElements"] is None
    assert record["resources"] == [key_resource(source_arn), key_resource(destination_arn)]
    assert record["additionalEventData"] == {
        "sourceKeyMaterialId": answer["SourceKeyMaterialId"],
        "destinationKeyMaterialId": answer["DestinationKeyMaterialId"],
    }
    assert base64.b64encode(answer["CiphertextBlob"]).decode() not in raw
    # The source key's record finds the same event.
    assert records(source_arn, "ReEncrypt")[1]["eventID"] == record["eventID"]


def test_data_keys_by_alias_record_the_alias_and_list_the_key(kms, records):
    _, key_arn = new_key(kms)
    alias = f"alias/records-{uuid.uuid4().hex}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_arn)
    data_key = kms.generate_data_key(KeyId=alias, KeySpec="AES_256")
    kms.generate_data_key_without_plaintext(KeyId=alias, NumberOfBytes=32)

    raw, record = records(key_arn, "GenerateDataKey")
    assert record["requestParameters"] == {"keyId": alias, "keySpec": "AES_256"}
    assert record["responseElements"] is None
    assert record["resources"] == [key_resource(key_arn)]
    assert record["additionalEventData"] == {"keyMaterialId": data_key["KeyMaterialId"]}
    assert base64.b64encode(data_key["Plaintext"]).decode() not in raw
    assert base64.b64encode(data_key["CiphertextBlob"]).decode() not in raw

    _, record = records(key_arn, "GenerateDataKeyWithoutPlaintext")
    assert record["requestParameters"] == {"keyId": alias, "numberOfBytes": 32}
    assert record["resources"] == [key_resource(key_arn)]


def test_data_key_pairs_record_no_private_key(kms, records):
    key_id, key_arn = new_key(kms)
    pair = kms.generate_data_key_pair(
        KeyId=key_id, KeyPairSpec="ECC_NIST_P256", EncryptionContext={"Index": "5"}
    )

    raw, record = records(key_arn, "GenerateDataKeyPair")
    assert record["requestParameters"] == {
        "keyId": key_id,
        "keyPairSpec": "ECC_NIST_P256",
        "encryptionContext": {"Index": "5"},
    }
    assert record["responseElements"] is None
    assert record["resources"] == [key_resource(key_arn)]
    assert record["additionalEventData"] == {"keyMaterialId": pair["KeyMaterialId"]}
    assert base64.b64encode(pair["PrivateKeyPlaintext"]).decode() not in raw


def test_create_key_records_the_defaults_and_the_new_key_as_aws_does(kms, records):
    description = f"records-{uuid.uuid4()}"
    metadata = kms.create_key(Description=description)["KeyMetadata"]

    _, record = records(metadata["Arn"], "CreateKey")
    assert record["requestParameters"] == {
        "description": description,
        "origin": "AWS_KMS",
        "bypassPolicyLockoutSafetyCheck": False,
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "keySpec": "SYMMETRIC_DEFAULT",
        "keyUsage": "ENCRYPT_DECRYPT",
    }
    shown = record["responseElements"]["keyMetadata"]
    assert shown["AWSAccountId"] == metadata["AWSAccountId"] and "aWSAccountId" not in shown
    assert shown["keyId"] == metadata["KeyId"] and shown["arn"] == metadata["Arn"]
    assert JAVA_DATE.match(shown["creationDate"]), shown["creationDate"]
    assert shown["creationDate"] == java_date(metadata["CreationDate"])
    assert shown["keyState"] == "Enabled" and shown["keyUsage"] == "ENCRYPT_DECRYPT"
    assert shown["encryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert record["resources"] == [key_resource(metadata["Arn"])]

    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    _, record = records(signing["Arn"], "CreateKey")
    assert record["requestParameters"] == {
        "description": "",
        "origin": "AWS_KMS",
        "bypassPolicyLockoutSafetyCheck": False,
        "customerMasterKeySpec": "ECC_NIST_P256",
        "keySpec": "ECC_NIST_P256",
        "keyUsage": "SIGN_VERIFY",
    }


def test_sign_and_verify_record_the_default_message_type_and_no_message(kms, records):
    key_id, key_arn = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    message = f"the message {uuid.uuid4()}".encode()
    signature = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm="ECDSA_SHA_256")[
        "Signature"
    ]
    kms.verify(
        KeyId=key_arn, Message=message, Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    )

    for name, named_by in [("Sign", key_id), ("Verify", key_arn)]:
        raw, record = records(key_arn, name)
        assert record["requestParameters"] == {
            "keyId": named_by,
            "messageType": "RAW",
            "signingAlgorithm": "ECDSA_SHA_256",
        }, name
        assert record["responseElements"] is None
        assert record["readOnly"] is True
        assert record["resources"] == [key_resource(key_arn)]
        assert message.decode() not in raw and base64.b64encode(message).decode() not in raw
        assert base64.b64encode(signature).decode() not in raw


def test_generate_mac_records_the_algorithm_and_no_message(kms, records):
    key_id, key_arn = new_key(kms, KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")
    kms.generate_mac(KeyId=key_id, Message=b"the message", MacAlgorithm="HMAC_SHA_512")

    raw, record = records(key_arn, "GenerateMac")
    assert record["requestParameters"] == {"keyId": key_id, "macAlgorithm": "HMAC_SHA_512"}
    assert record["responseElements"] is None
    assert record["resources"] == [key_resource(key_arn)]
    assert base64.b64encode(b"the message").decode() not in raw


def test_alias_operations_list_the_alias_and_the_key(kms, records):
    first_id, first_arn = new_key(kms)
    second_id, second_arn = new_key(kms)
    alias = f"alias/records-{uuid.uuid4().hex}"
    alias_arn = f"arn:aws:kms:{REGION}:{first_arn.split(':')[4]}:{alias}"
    kms.create_alias(AliasName=alias, TargetKeyId=first_id)
    kms.update_alias(AliasName=alias, TargetKeyId=second_id)
    kms.delete_alias(AliasName=alias)

    _, created = records(alias_arn, "CreateAlias")
    assert created["requestParameters"] == {"aliasName": alias, "targetKeyId": first_id}
    assert created["responseElements"] == {"keyId": first_arn}
    assert created["resources"] == [key_resource(first_arn), key_resource(alias_arn)]

    _, updated = records(alias_arn, "UpdateAlias")
    assert updated["requestParameters"] == {"aliasName": alias, "targetKeyId": second_id}
    assert updated["responseElements"] == {"keyId": second_arn}
    assert updated["resources"] == [key_resource(alias_arn), key_resource(second_arn)]

    _, deleted = records(alias_arn, "DeleteAlias")
    assert deleted["requestParameters"] == {"aliasName": alias}
    assert deleted["resources"][0] == key_resource(alias_arn)


def test_key_state_changes_record_the_key_arn(kms, records):
    key_id, key_arn = new_key(kms)
    kms.disable_key(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "Dept", "TagValue": "IT"}])
    kms.untag_resource(KeyId=key_id, TagKeys=["Dept"])

    for name in ["DisableKey", "EnableKey", "UntagResource"]:
        _, record = records(key_arn, name)
        assert record["responseElements"] == {"keyId": key_arn}, name
        assert record["resources"] == [key_resource(key_arn)], name
    _, record = records(key_arn, "EnableKeyRotation")
    assert record["requestParameters"] == {"keyId": key_id, "rotationPeriodInDays": 180}
    assert record["responseElements"] == {"keyId": key_arn}
    _, record = records(key_arn, "TagResource")
    assert record["requestParameters"] == {
        "keyId": key_id,
        "tags": [{"tagKey": "Dept", "tagValue": "IT"}],
    }
    assert record["responseElements"] is None


def test_schedule_key_deletion_shows_the_deletion_date_as_aws_does(kms, records):
    key_id, key_arn = new_key(kms)
    answer = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=20)

    _, record = records(key_arn, "ScheduleKeyDeletion")
    assert record["requestParameters"] == {"keyId": key_id, "pendingWindowInDays": 20}
    shown = record["responseElements"]
    assert shown["keyId"] == key_arn and shown["keyState"] == "PendingDeletion"
    assert shown["deletionDate"] == java_date(answer["DeletionDate"])
    assert record["resources"] == [key_resource(key_arn)]


def test_grants_record_the_grant_id_and_never_the_token(kms, records, client):
    _, key_arn = new_key(kms)
    grantee = f"arn:aws:iam::{key_arn.split(':')[4]}:role/records"
    grant = kms.create_grant(
        KeyId=key_arn,
        GranteePrincipal=grantee,
        Operations=["Encrypt", "RetireGrant"],
        Constraints={"EncryptionContextSubset": {"ContextKey1": "Value1"}},
    )
    raw, record = records(key_arn, "CreateGrant")
    assert record["requestParameters"] == {
        "keyId": key_arn,
        "granteePrincipal": grantee,
        "operations": ["Encrypt", "RetireGrant"],
        "constraints": {"encryptionContextSubset": {"ContextKey1": "Value1"}},
    }
    assert record["responseElements"] == {"grantId": grant["GrantId"], "keyId": key_arn}
    assert record["resources"] == [key_resource(key_arn)]
    assert grant["GrantToken"] not in raw

    kms.retire_grant(KeyId=key_arn, GrantId=grant["GrantId"])
    raw, record = records(key_arn, "RetireGrant")
    assert record["requestParameters"] is None
    assert record["additionalEventData"] == {"grantId": grant["GrantId"]}
    assert record["resources"] == [key_resource(key_arn)]

    by_token = kms.create_grant(KeyId=key_arn, GranteePrincipal=grantee, Operations=["Encrypt"])
    kms.retire_grant(GrantToken=by_token["GrantToken"])
    trail = client("cloudtrail", region=REGION)
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RetireGrant"}],
        MaxResults=1,
    )["Events"]
    assert by_token["GrantToken"] not in events[0]["CloudTrailEvent"]
    assert json.loads(events[0]["CloudTrailEvent"])["requestParameters"] is None
