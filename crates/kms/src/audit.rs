//! How KMS calls read in their CloudTrail records, operation by operation, where AWS KMS writes
//! more than the generic rendering of the request and response (the audit crate's): the
//! defaults AWS applied that the caller did not send (`encryptionAlgorithm`, `CreateKey`'s key
//! spec, usage and origin, `messageType`, ...); the keys and aliases the call used, as
//! `resources` (both keys of a `ReEncrypt`, source first; the key a ciphertext names when
//! `Decrypt` names none; the key and the alias of the alias operations); the key ARN AWS adds to
//! the response elements of operations that return none; the key material ids in
//! `additionalEventData`; and timestamps in AWS's `Aug 10, 2022, 10:38:27 PM` style.
//!
//! The generic rendering has already left out blobs (plaintexts, ciphertexts, key material) and
//! hidden sensitive members; this module only adds ids, names and defaults, and removes what AWS
//! leaves out besides: the hidden plaintext or message of `Encrypt`, `Sign`, `Verify`,
//! `GenerateMac` and `VerifyMac`, the grant token `CreateGrant` returns and the token
//! `RetireGrant` is called with (bearer credentials for the grant).
//!
//! It runs on every KMS call, so it works on the JSON the generic path built and adds only the
//! members and resources the record shows.

use palisade_audit::{RecordDetails, RecordResource, java_date_time};
use palisade_core::{RequestContext, Value};
use serde_json::{Map, Value as Json};

use crate::ciphertext::parse_ciphertext;
use crate::db::{alias_arn, key_arn};
use crate::ids::is_key_id;

/// The resource type CloudTrail gives KMS keys, and KMS aliases too.
const KEY: &str = "AWS::KMS::Key";
/// The encryption algorithm a request that names none uses.
const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// Amends the generic `requestParameters` of a KMS request (`parameters`, rendered from
/// `input`) as AWS records them, and gives the record's details as far as the request tells
/// them: the keys and aliases it names by key id, key ARN or alias name (what the record of a
/// failed call lists).
pub fn request_details(
    ctx: &RequestContext,
    operation: &str,
    input: &Value,
    parameters: &mut Option<Json>,
) -> RecordDetails {
    let scope = Scope {
        region: ctx.region.as_str(),
        account: ctx.account().as_str(),
    };
    let member = |name: &str| input.get(name).and_then(Value::as_str);
    let mut details = RecordDetails::default();
    match operation {
        "Encrypt" => {
            omit(parameters, "plaintext");
            fill(parameters, "encryptionAlgorithm", SYMMETRIC_DEFAULT);
        }
        "Decrypt" => fill(parameters, "encryptionAlgorithm", SYMMETRIC_DEFAULT),
        "ReEncrypt" => {
            fill(parameters, "sourceEncryptionAlgorithm", SYMMETRIC_DEFAULT);
            fill(
                parameters,
                "destinationEncryptionAlgorithm",
                SYMMETRIC_DEFAULT,
            );
        }
        "Sign" | "Verify" => {
            omit(parameters, "message");
            fill(parameters, "messageType", "RAW");
        }
        "GenerateMac" | "VerifyMac" => omit(parameters, "message"),
        "CreateKey" => {
            let spec = member("KeySpec")
                .or_else(|| member("CustomerMasterKeySpec"))
                .unwrap_or(SYMMETRIC_DEFAULT);
            fill(parameters, "description", "");
            fill(parameters, "origin", "AWS_KMS");
            fill(parameters, "bypassPolicyLockoutSafetyCheck", false);
            fill(parameters, "customerMasterKeySpec", spec);
            fill(parameters, "keySpec", spec);
            fill(parameters, "keyUsage", "ENCRYPT_DECRYPT");
        }
        "ReplicateKey" => {
            fill(parameters, "bypassPolicyLockoutSafetyCheck", false);
            fill(parameters, "description", "");
        }
        "PutKeyPolicy" => fill(parameters, "bypassPolicyLockoutSafetyCheck", false),
        "ImportKeyMaterial" => {
            if let Some(Json::Object(members)) = parameters {
                restamp(members, input, "ValidTo", "validTo");
            }
        }
        "RetireGrant" => {
            *parameters = None;
            details.additional_event_data = member("GrantId").map(|grant_id| {
                Json::Object(Map::from_iter([("grantId".into(), grant_id.into())]))
            });
        }
        _ => {}
    }

    let resources = &mut details.resources;
    let key = |name: &str| member(name).and_then(|key_id| scope.key(key_id));
    let ciphertext_key = || match input.get("CiphertextBlob") {
        Some(Value::Blob(blob)) => scope.ciphertext_key(blob),
        _ => None,
    };
    let alias = || member("AliasName").and_then(|name| scope.alias(name));
    match operation {
        "Decrypt" => resources.extend(key("KeyId").or_else(ciphertext_key)),
        "ReEncrypt" => {
            resources.extend(key("SourceKeyId").or_else(ciphertext_key));
            resources.extend(key("DestinationKeyId"));
        }
        "CreateAlias" => resources.extend(key("TargetKeyId").into_iter().chain(alias())),
        "UpdateAlias" => resources.extend(alias().into_iter().chain(key("TargetKeyId"))),
        "DeleteAlias" => resources.extend(alias()),
        _ => resources.extend(key("KeyId")),
    }
    details
}

/// Amends a successful KMS call's record with what its answer (`output`) tells: the keys it used
/// by their ARNs (an alias resolved, both keys of a `ReEncrypt`), the response elements AWS
/// writes (`elements`, rendered from `output` for the calls that are not read-only), and the
/// key material ids in `additionalEventData`.
pub fn amend_response(
    operation: &str,
    output: &Value,
    elements: &mut Option<Json>,
    details: &mut RecordDetails,
) {
    settle_keys(&mut details.resources, operation, output);
    match operation {
        "CreateKey" => show_key_metadata(elements, output, "KeyMetadata", "keyMetadata"),
        "ReplicateKey" => {
            show_key_metadata(elements, output, "ReplicaKeyMetadata", "replicaKeyMetadata");
        }
        "ScheduleKeyDeletion" => {
            if let Some(Json::Object(members)) = elements {
                restamp(members, output, "DeletionDate", "deletionDate");
            }
        }
        "CreateGrant" => {
            if let Some(Json::Object(members)) = elements {
                members.remove("grantToken");
            }
            add_key_arn(elements, &details.resources);
        }
        // Since December 2022, AWS adds the key's ARN to these operations' records, though
        // they answer nothing.
        "CreateAlias" | "UpdateAlias" | "DeleteAlias" | "EnableKey" | "DisableKey"
        | "EnableKeyRotation" | "UntagResource" => add_key_arn(elements, &details.resources),
        _ => {}
    }

    let member = |name: &str| output.get(name).and_then(Value::as_str);
    let data: &[(&str, &str)] = match operation {
        "Decrypt"
        | "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext"
        | "GenerateDataKeyPair"
        | "GenerateDataKeyPairWithoutPlaintext" => &[("KeyMaterialId", "keyMaterialId")],
        "ReEncrypt" => &[
            ("SourceKeyMaterialId", "sourceKeyMaterialId"),
            ("DestinationKeyMaterialId", "destinationKeyMaterialId"),
        ],
        _ => &[],
    };
    for (name, shown) in data {
        if let Some(id) = member(name) {
            let data = details
                .additional_event_data
                .get_or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(data) = data {
                data.insert((*shown).to_owned(), id.into());
            }
        }
    }
}

/// The account and region a request acts in, where a key id or alias name names a resource.
struct Scope<'a> {
    region: &'a str,
    account: &'a str,
}

impl Scope<'_> {
    /// The key a key id or key ARN names. An alias names nothing here: only the store resolves
    /// it, and a successful call's answer names the key instead.
    fn key(&self, key_id: &str) -> Option<RecordResource> {
        let Some(arn) = key_id.strip_prefix("arn:") else {
            return is_key_id(key_id).then(|| RecordResource {
                account_id: self.account.to_owned(),
                kind: KEY,
                arn: key_arn(self.region, self.account, key_id),
            });
        };
        let mut fields = arn.splitn(5, ':');
        let (_partition, service, _region, account, resource) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next()?,
            fields.next()?,
        );
        let id = resource.strip_prefix("key/")?;
        (service == Some("kms") && is_key_id(id)).then(|| RecordResource {
            account_id: account.to_owned(),
            kind: KEY,
            arn: key_id.to_owned(),
        })
    }

    /// The key that encrypted a ciphertext of this service's format, as its header names it.
    fn ciphertext_key(&self, blob: &[u8]) -> Option<RecordResource> {
        let parsed = parse_ciphertext(blob).ok()?;
        let account = parsed.account.unwrap_or(self.account);
        is_key_id(parsed.key_id).then(|| RecordResource {
            account_id: account.to_owned(),
            kind: KEY,
            arn: key_arn(self.region, account, parsed.key_id),
        })
    }

    /// The alias an alias name names, in the caller's account.
    fn alias(&self, alias_name: &str) -> Option<RecordResource> {
        alias_name.starts_with("alias/").then(|| RecordResource {
            account_id: self.account.to_owned(),
            kind: KEY,
            arn: alias_arn(self.region, self.account, alias_name),
        })
    }
}

/// Lists the keys a successful call's answer names, by ARN, in place of those its request named:
/// they differ where the request named an alias. Resources already right are kept as they are.
fn settle_keys(resources: &mut Vec<RecordResource>, operation: &str, output: &Value) {
    let named = |name: &str| {
        output
            .get(name)
            .and_then(Value::as_str)
            .filter(|arn| account_of_key_arn(arn).is_some())
    };
    let used = match operation {
        "ReEncrypt" => [named("SourceKeyId"), named("KeyId")],
        _ => [
            named("KeyId").or_else(|| {
                output
                    .get("KeyMetadata")
                    .and_then(|metadata| metadata.get("Arn"))
                    .and_then(Value::as_str)
            }),
            None,
        ],
    };
    let mut count = 0;
    for (position, arn) in used.into_iter().flatten().enumerate() {
        count = position + 1;
        if resources
            .get(position)
            .is_some_and(|listed| listed.arn == arn)
        {
            continue;
        }
        let Some(account) = account_of_key_arn(arn) else {
            continue;
        };
        let resource = RecordResource {
            account_id: account.to_owned(),
            kind: KEY,
            arn: arn.to_owned(),
        };
        match resources.get_mut(position) {
            Some(listed) => *listed = resource,
            None => resources.push(resource),
        }
    }
    if count > 0 {
        resources.truncate(count);
    }
}

/// The account of a key ARN; `None` for anything else.
fn account_of_key_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    (service == "kms" && resource.starts_with("key/")).then_some(account)
}

/// Adds `keyId`, the ARN of the key among `resources`, to the response elements.
fn add_key_arn(elements: &mut Option<Json>, resources: &[RecordResource]) {
    let Some(key) = resources
        .iter()
        .find(|resource| account_of_key_arn(&resource.arn).is_some())
    else {
        return;
    };
    if let Some(members) = members(elements) {
        members.insert("keyId".to_owned(), key.arn.clone().into());
    }
}

/// Shows a key's metadata as AWS does: `AWSAccountId` keeps its capitals, and its dates are in
/// AWS's style.
fn show_key_metadata(elements: &mut Option<Json>, output: &Value, member: &str, shown: &str) {
    let (Some(Json::Object(elements)), Some(metadata)) = (elements, output.get(member)) else {
        return;
    };
    let Some(Json::Object(members)) = elements.get_mut(shown) else {
        return;
    };
    if let Some(account) = members.remove("aWSAccountId") {
        members.insert("AWSAccountId".to_owned(), account);
    }
    for (name, shown) in [
        ("CreationDate", "creationDate"),
        ("DeletionDate", "deletionDate"),
        ("ValidTo", "validTo"),
    ] {
        restamp(members, metadata, name, shown);
    }
}

/// Shows the timestamp member `name` of `value` as `shown` in AWS's style.
fn restamp(members: &mut Map<String, Json>, value: &Value, name: &str, shown: &str) {
    if let Some(Value::Timestamp(seconds)) = value.get(name) {
        members.insert(shown.to_owned(), java_date_time(*seconds).into());
    }
}

/// Leaves out a sensitive member the generic rendering marks hidden: AWS KMS's records omit
/// plaintexts and messages altogether.
fn omit(parameters: &mut Option<Json>, name: &str) {
    if let Some(Json::Object(members)) = parameters {
        members.remove(name);
    }
}

/// Adds `name` to the request parameters unless the request gave it.
fn fill(parameters: &mut Option<Json>, name: &str, value: impl Into<Json>) {
    if let Some(members) = members(parameters)
        && !members.contains_key(name)
    {
        members.insert(name.to_owned(), value.into());
    }
}

/// The members of request parameters or response elements, an empty object if there were none.
fn members(json: &mut Option<Json>) -> Option<&mut Map<String, Json>> {
    match json.get_or_insert_with(|| Json::Object(Map::new())) {
        Json::Object(members) => Some(members),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use palisade_core::{AccountId, Principal, Region};
    use serde_json::json;

    use super::*;

    const ACCOUNT: &str = "111122223333";
    const OTHER_ACCOUNT: &str = "444455556666";
    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const OTHER_KEY_ID: &str = "0987dcba-09fe-87dc-65ba-ab0987654321";
    /// `2022-08-10T22:38:27Z`, as AWS's records show it.
    const CREATED: f64 = 1_660_171_107.0;
    const CREATED_SHOWN: &str = "Aug 10, 2022, 10:38:27 PM";

    fn ctx() -> RequestContext {
        RequestContext {
            request_id: "req".to_owned(),
            principal: Principal::root(AccountId::parse(ACCOUNT).unwrap(), "AKIDEXAMPLE"),
            region: Region::parse("us-west-2").unwrap(),
            source_ip: "192.0.2.0".parse().unwrap(),
            user_agent: "test".to_owned(),
            time: std::time::UNIX_EPOCH,
            secure_transport: true,
        }
    }

    fn arn(account: &str, key_id: &str) -> String {
        format!("arn:aws:kms:us-west-2:{account}:key/{key_id}")
    }

    fn key(account: &str, key_id: &str) -> RecordResource {
        RecordResource {
            account_id: account.to_owned(),
            kind: KEY,
            arn: arn(account, key_id),
        }
    }

    fn alias(name: &str) -> RecordResource {
        RecordResource {
            account_id: ACCOUNT.to_owned(),
            kind: KEY,
            arn: format!("arn:aws:kms:us-west-2:{ACCOUNT}:{name}"),
        }
    }

    fn value(members: &[(&str, Value)]) -> Value {
        Value::Map(
            members
                .iter()
                .map(|(name, member)| ((*name).to_owned(), member.clone()))
                .collect(),
        )
    }

    fn text(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn context(pairs: &[(&str, &str)]) -> Value {
        value(&pairs.iter().map(|(k, v)| (*k, text(v))).collect::<Vec<_>>())
    }

    /// The record's request parameters and details, as the pipeline makes them for `input`.
    fn request(operation: &str, input: &Value) -> (Option<Json>, RecordDetails) {
        let model = &palisade_model_kms::MODEL;
        let shape = model.operation(operation).unwrap().input.unwrap();
        let mut parameters = palisade_audit::request_parameters(model, shape, input);
        let details = request_details(&ctx(), operation, input, &mut parameters);
        (parameters, details)
    }

    /// The record's response elements, as the pipeline makes them for a successful call.
    fn respond(operation: &str, output: &Value, details: &mut RecordDetails) -> Option<Json> {
        let model = &palisade_model_kms::MODEL;
        let mut elements = model
            .operation(operation)
            .unwrap()
            .output
            .filter(|_| !palisade_audit::is_read_only(operation))
            .and_then(|shape| palisade_audit::request_parameters(model, shape, output));
        amend_response(operation, output, &mut elements, details);
        elements
    }

    fn ciphertext(account: &str, key_id: &str) -> Value {
        let blob = crate::ciphertext::seal(
            account,
            key_id,
            1,
            &[7; 32],
            &BTreeMap::new(),
            b"attack at dawn",
        )
        .unwrap();
        Value::Blob(blob)
    }

    #[test]
    fn encrypt_records_the_default_algorithm_and_leaves_the_plaintext_out() {
        let input = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("Plaintext", Value::Blob(b"attack at dawn".to_vec())),
            (
                "EncryptionContext",
                context(&[("Department", "Engineering")]),
            ),
        ]);
        let (parameters, mut details) = request("Encrypt", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "keyId": arn(ACCOUNT, KEY_ID),
                "encryptionContext": {"Department": "Engineering"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);

        let output = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("CiphertextBlob", Value::Blob(vec![1; 64])),
            ("EncryptionAlgorithm", text("SYMMETRIC_DEFAULT")),
        ]);
        assert_eq!(respond("Encrypt", &output, &mut details), None);
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
        assert_eq!(details.additional_event_data, None);
    }

    #[test]
    fn an_algorithm_the_caller_chose_is_kept() {
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("Plaintext", Value::Blob(b"x".to_vec())),
            ("EncryptionAlgorithm", text("RSAES_OAEP_SHA_256")),
        ]);
        let (parameters, details) = request("Encrypt", &input);
        assert_eq!(
            parameters,
            Some(json!({"keyId": KEY_ID, "encryptionAlgorithm": "RSAES_OAEP_SHA_256"}))
        );
        // A key id names a key of the caller's account and region.
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn decrypt_without_a_key_id_lists_the_key_its_ciphertext_names() {
        let input = value(&[
            ("CiphertextBlob", ciphertext(OTHER_ACCOUNT, KEY_ID)),
            ("EncryptionContext", context(&[("Project", "Alpha")])),
        ]);
        let (parameters, mut details) = request("Decrypt", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "encryptionContext": {"Project": "Alpha"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }))
        );
        assert_eq!(details.resources, [key(OTHER_ACCOUNT, KEY_ID)]);

        let output = value(&[
            ("KeyId", text(&arn(OTHER_ACCOUNT, KEY_ID))),
            ("Plaintext", Value::Blob(b"attack at dawn".to_vec())),
            ("EncryptionAlgorithm", text("SYMMETRIC_DEFAULT")),
            ("KeyMaterialId", text("m1")),
        ]);
        assert_eq!(respond("Decrypt", &output, &mut details), None);
        assert_eq!(details.resources, [key(OTHER_ACCOUNT, KEY_ID)]);
        assert_eq!(
            details.additional_event_data,
            Some(json!({"keyMaterialId": "m1"}))
        );
    }

    #[test]
    fn decrypt_of_a_blob_of_another_format_lists_no_key() {
        let input = value(&[("CiphertextBlob", Value::Blob(vec![0xff; 40]))]);
        let (parameters, details) = request("Decrypt", &input);
        assert_eq!(
            parameters,
            Some(json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}))
        );
        assert!(details.resources.is_empty());
    }

    #[test]
    fn a_key_named_by_alias_is_listed_once_the_answer_names_it() {
        let input = value(&[("KeyId", text("alias/app")), ("KeySpec", text("AES_256"))]);
        let (parameters, mut details) = request("GenerateDataKey", &input);
        assert_eq!(
            parameters,
            Some(json!({"keyId": "alias/app", "keySpec": "AES_256"}))
        );
        // A failed call's record lists nothing: resolving the alias needs the store.
        assert!(details.resources.is_empty());

        let output = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("Plaintext", Value::Blob(vec![7; 32])),
            ("CiphertextBlob", Value::Blob(vec![9; 64])),
            ("KeyMaterialId", text("m2")),
        ]);
        assert_eq!(respond("GenerateDataKey", &output, &mut details), None);
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
        assert_eq!(
            details.additional_event_data,
            Some(json!({"keyMaterialId": "m2"}))
        );
    }

    #[test]
    fn data_key_pairs_record_their_key_material_and_nothing_secret() {
        let input = value(&[("KeyId", text(KEY_ID)), ("KeyPairSpec", text("RSA_3072"))]);
        let (parameters, mut details) = request("GenerateDataKeyPair", &input);
        assert_eq!(
            parameters,
            Some(json!({"keyId": KEY_ID, "keyPairSpec": "RSA_3072"}))
        );
        let output = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("PrivateKeyPlaintext", Value::Blob(b"private key".to_vec())),
            ("PrivateKeyCiphertextBlob", Value::Blob(vec![3; 64])),
            ("PublicKey", Value::Blob(vec![4; 64])),
            ("KeyPairSpec", text("RSA_3072")),
            ("KeyMaterialId", text("m3")),
        ]);
        assert_eq!(respond("GenerateDataKeyPair", &output, &mut details), None);
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
        assert_eq!(
            details.additional_event_data,
            Some(json!({"keyMaterialId": "m3"}))
        );
    }

    #[test]
    fn reencrypt_records_both_algorithms_and_lists_source_then_destination() {
        let input = value(&[
            ("CiphertextBlob", ciphertext(ACCOUNT, KEY_ID)),
            ("SourceEncryptionContext", context(&[("Project", "Alpha")])),
            ("DestinationKeyId", text(OTHER_KEY_ID)),
            ("DestinationEncryptionContext", context(&[("Level", "3A")])),
        ]);
        let (parameters, mut details) = request("ReEncrypt", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "sourceEncryptionContext": {"Project": "Alpha"},
                "destinationKeyId": OTHER_KEY_ID,
                "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "destinationEncryptionContext": {"Level": "3A"},
            }))
        );
        assert_eq!(
            details.resources,
            [key(ACCOUNT, KEY_ID), key(ACCOUNT, OTHER_KEY_ID)]
        );

        let output = value(&[
            ("CiphertextBlob", Value::Blob(vec![1; 64])),
            ("SourceKeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("KeyId", text(&arn(ACCOUNT, OTHER_KEY_ID))),
            ("SourceKeyMaterialId", text("source")),
            ("DestinationKeyMaterialId", text("destination")),
        ]);
        assert_eq!(respond("ReEncrypt", &output, &mut details), None);
        assert_eq!(
            details.resources,
            [key(ACCOUNT, KEY_ID), key(ACCOUNT, OTHER_KEY_ID)]
        );
        assert_eq!(
            details.additional_event_data,
            Some(
                json!({"sourceKeyMaterialId": "source", "destinationKeyMaterialId": "destination"})
            )
        );
    }

    #[test]
    fn a_failed_reencrypt_by_alias_lists_the_source_key() {
        let input = value(&[
            ("CiphertextBlob", ciphertext(ACCOUNT, KEY_ID)),
            ("DestinationKeyId", text("alias/next")),
        ]);
        let (_, details) = request("ReEncrypt", &input);
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn a_key_arn_of_another_account_is_listed_under_that_account() {
        let input = value(&[
            ("KeyId", text(&arn(OTHER_ACCOUNT, KEY_ID))),
            ("Message", Value::Blob(b"message".to_vec())),
            ("MacAlgorithm", text("HMAC_SHA_512")),
        ]);
        let (parameters, details) = request("GenerateMac", &input);
        assert_eq!(
            parameters,
            Some(json!({"keyId": arn(OTHER_ACCOUNT, KEY_ID), "macAlgorithm": "HMAC_SHA_512"}))
        );
        assert_eq!(details.resources, [key(OTHER_ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn a_key_id_of_no_key_shape_names_nothing() {
        for key_id in ["not-a-key", "arn:aws:kms:us-west-2:111122223333:key/nope"] {
            let (_, details) = request("DescribeKey", &value(&[("KeyId", text(key_id))]));
            assert!(details.resources.is_empty(), "{key_id}");
        }
    }

    #[test]
    fn sign_and_verify_record_the_default_message_type_and_not_the_message() {
        for operation in ["Sign", "Verify"] {
            let input = value(&[
                ("KeyId", text(OTHER_KEY_ID)),
                ("Message", Value::Blob(b"the message".to_vec())),
                ("Signature", Value::Blob(vec![5; 64])),
                ("SigningAlgorithm", text("RSASSA_PKCS1_V1_5_SHA_256")),
            ]);
            let (parameters, details) = request(operation, &input);
            assert_eq!(
                parameters,
                Some(json!({
                    "keyId": OTHER_KEY_ID,
                    "messageType": "RAW",
                    "signingAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
                })),
                "{operation}"
            );
            assert_eq!(details.resources, [key(ACCOUNT, OTHER_KEY_ID)]);
        }
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("Message", Value::Blob(vec![0; 32])),
            ("MessageType", text("DIGEST")),
            ("SigningAlgorithm", text("ECDSA_SHA_256")),
        ]);
        let (parameters, _) = request("Sign", &input);
        assert_eq!(parameters.unwrap()["messageType"], "DIGEST");
    }

    #[test]
    fn create_key_records_the_defaults_aws_applies() {
        let (parameters, details) = request("CreateKey", &value(&[]));
        assert_eq!(
            parameters,
            Some(json!({
                "description": "",
                "origin": "AWS_KMS",
                "bypassPolicyLockoutSafetyCheck": false,
                "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
                "keySpec": "SYMMETRIC_DEFAULT",
                "keyUsage": "ENCRYPT_DECRYPT",
            }))
        );
        assert!(details.resources.is_empty());

        let input = value(&[
            ("Description", text("signing")),
            ("KeySpec", text("ECC_NIST_P256")),
            ("KeyUsage", text("SIGN_VERIFY")),
        ]);
        let (parameters, _) = request("CreateKey", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "description": "signing",
                "origin": "AWS_KMS",
                "bypassPolicyLockoutSafetyCheck": false,
                "customerMasterKeySpec": "ECC_NIST_P256",
                "keySpec": "ECC_NIST_P256",
                "keyUsage": "SIGN_VERIFY",
            }))
        );
    }

    #[test]
    fn create_key_shows_the_new_key_metadata_as_aws_does() {
        let (_, mut details) = request("CreateKey", &value(&[]));
        let output = value(&[(
            "KeyMetadata",
            value(&[
                ("AWSAccountId", text(ACCOUNT)),
                ("KeyId", text(KEY_ID)),
                ("Arn", text(&arn(ACCOUNT, KEY_ID))),
                ("CreationDate", Value::Timestamp(CREATED)),
                ("Enabled", Value::Bool(true)),
                ("KeyState", text("Enabled")),
            ]),
        )]);
        let elements = respond("CreateKey", &output, &mut details);
        assert_eq!(
            elements,
            Some(json!({"keyMetadata": {
                "AWSAccountId": ACCOUNT,
                "keyId": KEY_ID,
                "arn": arn(ACCOUNT, KEY_ID),
                "creationDate": CREATED_SHOWN,
                "enabled": true,
                "keyState": "Enabled",
            }}))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn replicate_key_records_its_defaults() {
        let input = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("ReplicaRegion", text("us-east-1")),
        ]);
        let (parameters, details) = request("ReplicateKey", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "keyId": arn(ACCOUNT, KEY_ID),
                "replicaRegion": "us-east-1",
                "bypassPolicyLockoutSafetyCheck": false,
                "description": "",
            }))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn schedule_key_deletion_shows_the_deletion_date_as_aws_does() {
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("PendingWindowInDays", Value::Int(20)),
        ]);
        let (parameters, mut details) = request("ScheduleKeyDeletion", &input);
        assert_eq!(
            parameters,
            Some(json!({"keyId": KEY_ID, "pendingWindowInDays": 20}))
        );
        let output = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("KeyState", text("PendingDeletion")),
            ("DeletionDate", Value::Timestamp(CREATED)),
            ("PendingWindowInDays", Value::Int(20)),
        ]);
        assert_eq!(
            respond("ScheduleKeyDeletion", &output, &mut details),
            Some(json!({
                "keyId": arn(ACCOUNT, KEY_ID),
                "keyState": "PendingDeletion",
                "deletionDate": CREATED_SHOWN,
                "pendingWindowInDays": 20,
            }))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn operations_that_answer_nothing_record_the_key_arn() {
        for operation in ["EnableKey", "DisableKey", "EnableKeyRotation"] {
            let (parameters, mut details) = request(operation, &value(&[("KeyId", text(KEY_ID))]));
            assert_eq!(parameters, Some(json!({"keyId": KEY_ID})));
            assert_eq!(
                respond(operation, &Value::empty_struct(), &mut details),
                Some(json!({"keyId": arn(ACCOUNT, KEY_ID)})),
                "{operation}"
            );
            assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
        }
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("TagKeys", Value::List(vec![text("Dept")])),
        ]);
        let (_, mut details) = request("UntagResource", &input);
        assert_eq!(
            respond("UntagResource", &Value::empty_struct(), &mut details),
            Some(json!({"keyId": arn(ACCOUNT, KEY_ID)}))
        );
        // AWS documents no such element for the others.
        let (_, mut details) = request("DisableKeyRotation", &value(&[("KeyId", text(KEY_ID))]));
        assert_eq!(
            respond("DisableKeyRotation", &Value::empty_struct(), &mut details),
            None
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn alias_operations_list_the_alias_and_the_key() {
        let input = value(&[
            ("AliasName", text("alias/ExampleAlias")),
            ("TargetKeyId", text(KEY_ID)),
        ]);
        let (parameters, mut details) = request("CreateAlias", &input);
        assert_eq!(
            parameters,
            Some(json!({"aliasName": "alias/ExampleAlias", "targetKeyId": KEY_ID}))
        );
        assert_eq!(
            details.resources,
            [key(ACCOUNT, KEY_ID), alias("alias/ExampleAlias")]
        );
        assert_eq!(
            respond("CreateAlias", &Value::empty_struct(), &mut details),
            Some(json!({"keyId": arn(ACCOUNT, KEY_ID)}))
        );

        let (_, mut details) = request("UpdateAlias", &input);
        assert_eq!(
            details.resources,
            [alias("alias/ExampleAlias"), key(ACCOUNT, KEY_ID)]
        );
        assert_eq!(
            respond("UpdateAlias", &Value::empty_struct(), &mut details),
            Some(json!({"keyId": arn(ACCOUNT, KEY_ID)}))
        );

        let input = value(&[("AliasName", text("alias/ExampleAlias"))]);
        let (_, mut details) = request("DeleteAlias", &input);
        assert_eq!(details.resources, [alias("alias/ExampleAlias")]);
        // The key the alias named is not in the request or the answer.
        assert_eq!(
            respond("DeleteAlias", &Value::empty_struct(), &mut details),
            None
        );
    }

    #[test]
    fn create_grant_records_the_key_and_not_the_grant_token() {
        let input = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            (
                "GranteePrincipal",
                text("arn:aws:iam::111122223333:role/app"),
            ),
            (
                "Operations",
                Value::List(vec![text("Encrypt"), text("RetireGrant")]),
            ),
        ]);
        let (parameters, mut details) = request("CreateGrant", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "keyId": arn(ACCOUNT, KEY_ID),
                "granteePrincipal": "arn:aws:iam::111122223333:role/app",
                "operations": ["Encrypt", "RetireGrant"],
            }))
        );
        let output = value(&[
            ("GrantId", text("grant-1")),
            ("GrantToken", text("bearer-token")),
        ]);
        assert_eq!(
            respond("CreateGrant", &output, &mut details),
            Some(json!({"grantId": "grant-1", "keyId": arn(ACCOUNT, KEY_ID)}))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
    }

    #[test]
    fn retire_grant_records_the_grant_id_and_not_the_token() {
        let input = value(&[("GrantToken", text("bearer-token"))]);
        let (parameters, details) = request("RetireGrant", &input);
        assert_eq!(parameters, None);
        assert_eq!(details, RecordDetails::default());

        let input = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("GrantId", text("grant-1")),
        ]);
        let (parameters, mut details) = request("RetireGrant", &input);
        assert_eq!(parameters, None);
        assert_eq!(
            details.additional_event_data,
            Some(json!({"grantId": "grant-1"}))
        );
        assert_eq!(details.resources, [key(ACCOUNT, KEY_ID)]);
        assert_eq!(
            respond("RetireGrant", &Value::empty_struct(), &mut details),
            None
        );
        assert_eq!(
            details.additional_event_data,
            Some(json!({"grantId": "grant-1"}))
        );
    }

    #[test]
    fn put_key_policy_records_the_lockout_check_default() {
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("PolicyName", text("default")),
            ("Policy", text("{}")),
        ]);
        let (parameters, _) = request("PutKeyPolicy", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "keyId": KEY_ID,
                "policyName": "default",
                "policy": "{}",
                "bypassPolicyLockoutSafetyCheck": false,
            }))
        );
    }

    #[test]
    fn import_key_material_shows_its_expiry_as_aws_does_and_no_material() {
        let input = value(&[
            ("KeyId", text(KEY_ID)),
            ("ImportToken", Value::Blob(vec![1; 32])),
            ("EncryptedKeyMaterial", Value::Blob(vec![2; 256])),
            ("ValidTo", Value::Timestamp(CREATED)),
            ("ExpirationModel", text("KEY_MATERIAL_EXPIRES")),
        ]);
        let (parameters, mut details) = request("ImportKeyMaterial", &input);
        assert_eq!(
            parameters,
            Some(json!({
                "keyId": KEY_ID,
                "validTo": CREATED_SHOWN,
                "expirationModel": "KEY_MATERIAL_EXPIRES",
            }))
        );
        let output = value(&[
            ("KeyId", text(&arn(ACCOUNT, KEY_ID))),
            ("KeyMaterialId", text("m4")),
        ]);
        assert_eq!(
            respond("ImportKeyMaterial", &output, &mut details),
            Some(json!({"keyId": arn(ACCOUNT, KEY_ID), "keyMaterialId": "m4"}))
        );
        assert_eq!(details.additional_event_data, None);
    }

    #[test]
    fn operations_on_no_key_list_no_resources() {
        for operation in ["GenerateRandom", "ListKeys", "ListAliases"] {
            let (_, mut details) = request(operation, &value(&[]));
            respond(operation, &Value::empty_struct(), &mut details);
            assert_eq!(details, RecordDetails::default(), "{operation}");
        }
    }
}
