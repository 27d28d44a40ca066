//! The CloudTrail event record, and how a request's values appear in it.

use std::net::IpAddr;
use std::time::SystemTime;

use palisade_core::model::{ServiceModel, ShapeId, ShapeKind};
use palisade_core::{PrincipalKind, RequestContext, Value};
use serde_json::{Map, Value as Json, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What CloudTrail writes in place of a sensitive value.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// How the call ended.
#[derive(Debug, Clone)]
pub enum CallOutcome {
    /// It succeeded, with these response elements (already redacted).
    Success(Option<Json>),
    /// It failed with this code and message.
    Failure {
        /// The error code, e.g. `AccessDeniedException`.
        code: String,
        /// The error message.
        message: String,
    },
}

/// One audit record, in CloudTrail's event format.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    event_id: String,
    event_time: SystemTime,
    account: String,
    region: String,
    json: Json,
}

/// Who made a call that failed before its caller was known (a bad signature, say).
#[derive(Debug, Clone)]
pub struct Anonymous<'a> {
    /// The access key the request named, if any.
    pub access_key_id: Option<&'a str>,
    /// The account the record belongs to.
    pub account: &'a str,
    /// The region, from the credential scope or the default.
    pub region: &'a str,
    /// The caller's address.
    pub source_ip: IpAddr,
    /// The `User-Agent` header.
    pub user_agent: &'a str,
}

impl AuditRecord {
    /// The record of a call by an authenticated caller.
    pub fn for_call(
        ctx: &RequestContext,
        model: &ServiceModel,
        operation: &str,
        request_parameters: Option<Json>,
        outcome: CallOutcome,
    ) -> Self {
        let principal = &ctx.principal;
        let identity = match &principal.kind {
            PrincipalKind::Root => json!({
                "type": "Root",
                "principalId": principal.user_id,
                "arn": principal.arn,
                "accountId": principal.account.as_str(),
                "accessKeyId": principal.access_key_id,
            }),
            PrincipalKind::User { name } => json!({
                "type": "IAMUser",
                "principalId": principal.user_id,
                "arn": principal.arn,
                "accountId": principal.account.as_str(),
                "accessKeyId": principal.access_key_id,
                "userName": name,
            }),
            PrincipalKind::Anonymous => json!({ "type": "Unknown" }),
            PrincipalKind::AssumedRole { .. } => json!({
                "type": "AssumedRole",
                "principalId": principal.user_id,
                "arn": principal.arn,
                "accountId": principal.account.as_str(),
                "accessKeyId": principal.access_key_id,
            }),
        };
        Self::build(
            identity,
            principal.account.as_str(),
            ctx.region.as_str(),
            &ctx.request_id,
            ctx.time,
            ctx.source_ip,
            &ctx.user_agent,
            model,
            operation,
            request_parameters,
            outcome,
        )
    }

    /// The record of a call refused before its caller was known.
    pub fn for_unauthenticated(
        caller: &Anonymous<'_>,
        request_id: &str,
        time: SystemTime,
        model: &ServiceModel,
        operation: &str,
        outcome: CallOutcome,
    ) -> Self {
        let mut identity = Map::new();
        identity.insert("type".into(), Json::from("Unknown"));
        if let Some(key) = caller.access_key_id {
            identity.insert("accessKeyId".into(), Json::from(key));
        }
        Self::build(
            Json::Object(identity),
            caller.account,
            caller.region,
            request_id,
            time,
            caller.source_ip,
            caller.user_agent,
            model,
            operation,
            None,
            outcome,
        )
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one private constructor behind the two public ones"
    )]
    fn build(
        user_identity: Json,
        account: &str,
        region: &str,
        request_id: &str,
        time: SystemTime,
        source_ip: IpAddr,
        user_agent: &str,
        model: &ServiceModel,
        operation: &str,
        request_parameters: Option<Json>,
        outcome: CallOutcome,
    ) -> Self {
        let event_id = uuid::Uuid::new_v4().to_string();
        let mut record = Map::new();
        record.insert("eventVersion".into(), Json::from("1.11"));
        record.insert("userIdentity".into(), user_identity);
        record.insert("eventTime".into(), Json::from(format_event_time(time)));
        record.insert(
            "eventSource".into(),
            Json::from(format!("{}.amazonaws.com", model.endpoint_prefix)),
        );
        record.insert("eventName".into(), Json::from(operation));
        record.insert("awsRegion".into(), Json::from(region));
        record.insert(
            "sourceIPAddress".into(),
            Json::from(source_ip.to_canonical().to_string()),
        );
        record.insert("userAgent".into(), Json::from(user_agent));
        let (response_elements, error) = match outcome {
            CallOutcome::Success(elements) => (elements.unwrap_or(Json::Null), None),
            CallOutcome::Failure { code, message } => (Json::Null, Some((code, message))),
        };
        if let Some((code, message)) = error {
            record.insert("errorCode".into(), Json::from(code));
            record.insert("errorMessage".into(), Json::from(message));
        }
        record.insert(
            "requestParameters".into(),
            request_parameters.unwrap_or(Json::Null),
        );
        record.insert("responseElements".into(), response_elements);
        record.insert("requestID".into(), Json::from(request_id));
        record.insert("eventID".into(), Json::from(event_id.clone()));
        record.insert("readOnly".into(), Json::from(is_read_only(operation)));
        record.insert("eventType".into(), Json::from("AwsApiCall"));
        record.insert("managementEvent".into(), Json::from(true));
        record.insert("recipientAccountId".into(), Json::from(account));
        record.insert("eventCategory".into(), Json::from("Management"));
        Self {
            event_id,
            event_time: time,
            account: account.to_owned(),
            region: region.to_owned(),
            json: Json::Object(record),
        }
    }

    /// The record as CloudTrail's JSON.
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// The `requestID` of the call the record is about.
    pub fn request_id(&self) -> &str {
        self.json
            .get("requestID")
            .and_then(Json::as_str)
            .unwrap_or_default()
    }

    /// The record's `eventID`.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// Appends the record's JSON to `buffer`.
    pub(crate) fn write_json(&self, buffer: &mut Vec<u8>) {
        // Serializing a `serde_json::Value` into memory cannot fail.
        let _ = serde_json::to_writer(buffer, &self.json);
    }

    /// See [`crate::history`].
    pub(crate) fn storage_key(&self) -> String {
        let millis = palisade_core::clock::millis_since_epoch(self.event_time);
        crate::history::key(&self.account, &self.region, millis, &self.event_id)
    }
}

/// CloudTrail's `eventTime`: UTC, whole seconds.
fn format_event_time(time: SystemTime) -> String {
    let seconds = palisade_core::clock::millis_since_epoch(time).div_euclid(1000);
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|moment| moment.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// CloudTrail marks as read-only the calls that only read: by AWS's naming, those whose names
/// start with a reading verb.
pub fn is_read_only(operation: &str) -> bool {
    const READING_VERBS: &[&str] = &[
        "Get", "List", "Describe", "Lookup", "BatchGet", "Search", "Decode", "Test", "Validate",
        "Simulate", "Verify", "Filter",
    ];
    READING_VERBS.iter().any(|verb| {
        operation
            .strip_prefix(verb)
            .is_some_and(|rest| rest.chars().next().is_none_or(char::is_uppercase))
    })
}

/// A request's or response's members as CloudTrail shows them: names in lower camel case,
/// sensitive values replaced by `HIDDEN_DUE_TO_SECURITY_REASONS`, blobs (plaintexts,
/// ciphertexts, key material) left out.
pub fn request_parameters(model: &ServiceModel, shape: ShapeId, value: &Value) -> Option<Json> {
    let json = redact(model, shape, value, false)?;
    match &json {
        Json::Object(members) if members.is_empty() => None,
        _ => Some(json),
    }
}

fn redact(model: &ServiceModel, shape_id: ShapeId, value: &Value, hidden: bool) -> Option<Json> {
    let shape = model.shape(shape_id)?;
    if hidden || shape.sensitive {
        return Some(Json::from(HIDDEN));
    }
    match (&shape.kind, value) {
        (_, Value::Null | Value::Blob(_)) => None,
        (ShapeKind::Structure(structure), Value::Map(members)) => {
            let mut out = Map::new();
            for member in structure.members {
                let Some(member_value) = members.get(member.name) else {
                    continue;
                };
                if let Some(json) = redact(model, member.target, member_value, false) {
                    out.insert(lower_camel(member.name), json);
                }
            }
            Some(Json::Object(out))
        }
        (ShapeKind::List { member, .. }, Value::List(items)) => Some(Json::Array(
            items
                .iter()
                .filter_map(|item| redact(model, *member, item, false))
                .collect(),
        )),
        (ShapeKind::Map { value: target, .. }, Value::Map(entries)) => Some(Json::Object(
            entries
                .iter()
                .filter_map(|(key, item)| {
                    redact(model, *target, item, false).map(|json| (key.clone(), json))
                })
                .collect(),
        )),
        (_, other) => Some(plain(other)),
    }
}

fn plain(value: &Value) -> Json {
    match value {
        Value::Null | Value::Blob(_) => Json::Null,
        Value::Bool(b) => Json::from(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => Json::from(*x),
        Value::String(s) => Json::from(s.as_str()),
        Value::Timestamp(seconds) => {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "sub-millisecond precision is not kept in audit records"
            )]
            let millis = (seconds * 1000.0) as i64;
            Json::from(format_event_time(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0)),
            ))
        }
        Value::List(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, item)| (key.clone(), plain(item)))
                .collect(),
        ),
    }
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_verbs_mark_read_only_calls() {
        assert!(is_read_only("GetCallerIdentity"));
        assert!(is_read_only("ListKeys"));
        assert!(is_read_only("DescribeKey"));
        assert!(!is_read_only("Getaway"));
        assert!(!is_read_only("CreateKey"));
        assert!(!is_read_only("Encrypt"));
    }

    #[test]
    fn sensitive_members_are_hidden_and_blobs_left_out() {
        use palisade_core::IntoValue;
        use palisade_core::value::Blob;
        use palisade_model_kms::types::{EncryptRequest, GenerateDataKeyResponse};

        let model = &palisade_model_kms::MODEL;
        let encrypt = model.operation("Encrypt").unwrap();
        let input = EncryptRequest {
            key_id: "alias/app".to_owned(),
            plaintext: palisade_core::Sensitive::new(Blob(b"attack at dawn".to_vec())),
            encryption_context: Some([("purpose".to_owned(), "test".to_owned())].into()),
            ..EncryptRequest::default()
        }
        .into_value();
        let json = request_parameters(model, encrypt.input.unwrap(), &input).unwrap();
        assert_eq!(json["keyId"], "alias/app");
        assert_eq!(json["encryptionContext"]["purpose"], "test");
        assert_eq!(json["plaintext"], HIDDEN);
        assert!(!json.to_string().contains("attack at dawn"));

        let data_key = model.operation("GenerateDataKey").unwrap();
        let output = GenerateDataKeyResponse {
            key_id: Some("arn:aws:kms:us-east-1:000000000000:key/k".to_owned()),
            plaintext: Some(palisade_core::Sensitive::new(Blob(vec![7; 32]))),
            ciphertext_blob: Some(Blob(vec![9; 64])),
            ..GenerateDataKeyResponse::default()
        }
        .into_value();
        let json = request_parameters(model, data_key.output.unwrap(), &output).unwrap();
        assert_eq!(json["plaintext"], HIDDEN);
        assert!(json.get("ciphertextBlob").is_none());
    }

    #[test]
    fn event_time_is_rfc3339_utc() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_event_time(time), "2023-11-14T22:13:20Z");
    }
}
