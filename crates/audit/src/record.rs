//! The CloudTrail event record, and how a request's values appear in it.

use std::net::IpAddr;
use std::time::SystemTime;

use palisade_core::model::{ServiceModel, ShapeId, ShapeKind};
use palisade_core::{Principal, PrincipalKind, RequestContext, Value};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;

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

/// A resource a call acted on, as CloudTrail's `resources` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordResource {
    /// The account that owns it.
    pub account_id: String,
    /// Its CloudFormation-style type, such as `AWS::KMS::Key`.
    pub kind: &'static str,
    /// Its ARN.
    pub arn: String,
}

/// What a service's records show beyond the rendering of the request and response: the
/// resources the call used, and `additionalEventData`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordDetails {
    /// The resources, as `resources` lists them.
    pub resources: Vec<RecordResource>,
    /// The `additionalEventData` member, if the service writes one for the call.
    pub additional_event_data: Option<Json>,
}

/// One audit record, in CloudTrail's event format. It borrows what the request already holds
/// and is written straight into the journal's buffer: a record costs no map of JSON values.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    event_id: uuid::Uuid,
    event_time: SystemTime,
    caller: Caller<'a>,
    account: &'a str,
    region: &'a str,
    request_id: &'a str,
    source_ip: IpAddr,
    user_agent: &'a str,
    event_source: &'static str,
    event_name: &'a str,
    request_parameters: Option<Json>,
    outcome: CallOutcome,
    details: RecordDetails,
}

/// Who made the call, as `userIdentity` shows it.
#[derive(Debug, Clone)]
enum Caller<'a> {
    Known(&'a Principal),
    Unknown { access_key_id: Option<&'a str> },
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

impl<'a> AuditRecord<'a> {
    /// The record of a call by an authenticated caller.
    pub fn for_call(
        ctx: &'a RequestContext,
        model: &ServiceModel,
        operation: &'a str,
        request_parameters: Option<Json>,
        outcome: CallOutcome,
    ) -> Self {
        let caller = match ctx.principal.kind {
            PrincipalKind::Anonymous => Caller::Unknown {
                access_key_id: None,
            },
            _ => Caller::Known(&ctx.principal),
        };
        Self {
            event_id: event_id(ctx.time),
            event_time: ctx.time,
            caller,
            account: ctx.principal.account.as_str(),
            region: ctx.region.as_str(),
            request_id: &ctx.request_id,
            source_ip: ctx.source_ip,
            user_agent: &ctx.user_agent,
            event_source: model.endpoint_prefix,
            event_name: operation,
            request_parameters,
            outcome,
            details: RecordDetails::default(),
        }
    }

    /// The record, with the resources the call acted on and its `additionalEventData`.
    #[must_use]
    pub fn with_details(mut self, details: RecordDetails) -> Self {
        self.details = details;
        self
    }

    /// The record of a call refused before its caller was known.
    pub fn for_unauthenticated(
        caller: &Anonymous<'a>,
        request_id: &'a str,
        time: SystemTime,
        model: &ServiceModel,
        operation: &'a str,
        outcome: CallOutcome,
    ) -> Self {
        Self {
            event_id: event_id(time),
            event_time: time,
            caller: Caller::Unknown {
                access_key_id: caller.access_key_id,
            },
            account: caller.account,
            region: caller.region,
            request_id,
            source_ip: caller.source_ip,
            user_agent: caller.user_agent,
            event_source: model.endpoint_prefix,
            event_name: operation,
            request_parameters: None,
            outcome,
            details: RecordDetails::default(),
        }
    }

    /// The `requestID` of the call the record is about.
    pub fn request_id(&self) -> &str {
        self.request_id
    }

    /// Appends the record as `<storage key>\n<CloudTrail JSON>` to `buffer` (see
    /// [`crate::history`]).
    pub(crate) fn write_keyed_json(&self, buffer: &mut Vec<u8>) {
        let millis = palisade_core::clock::millis_since_epoch(self.event_time);
        crate::history::write_key(
            buffer,
            self.account,
            self.region,
            millis,
            self.event_id.hyphenated(),
        );
        buffer.push(b'\n');
        // Serializing into memory cannot fail.
        let _ = serde_json::to_writer(buffer, self);
    }
}

/// A new event id: a version 7 UUID, whose first 48 bits are the record's time in milliseconds,
/// so that the record's storage key follows from the id (see [`crate::history::key_of_event`])
/// and a lookup by event id needs no index.
fn event_id(time: SystemTime) -> uuid::Uuid {
    let millis = u64::try_from(palisade_core::clock::millis_since_epoch(time)).unwrap_or(0);
    // A version 4 UUID from the fast generator: 122 random bits, 80 of them taken.
    let [_, _, _, _, _, _, random @ ..] = uuid::Uuid::new_v4().into_bytes();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Splits what [`AuditRecord::write_keyed_json`] wrote into the storage key and the JSON.
pub(crate) fn split_keyed(body: &[u8]) -> Option<(&str, &[u8])> {
    let split = body.iter().position(|&byte| byte == b'\n')?;
    let key = std::str::from_utf8(body.get(..split)?).ok()?;
    Some((key, body.get(split + 1..)?))
}

impl Serialize for AuditRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut record = serializer.serialize_map(None)?;
        record.serialize_entry("eventVersion", "1.11")?;
        record.serialize_entry("userIdentity", &self.caller)?;
        record.serialize_entry("eventTime", &DisplayJson(EventTime(self.event_time)))?;
        record.serialize_entry(
            "eventSource",
            &DisplayJson(format_args!("{}.amazonaws.com", self.event_source)),
        )?;
        record.serialize_entry("eventName", self.event_name)?;
        record.serialize_entry("awsRegion", self.region)?;
        record.serialize_entry(
            "sourceIPAddress",
            &DisplayJson(self.source_ip.to_canonical()),
        )?;
        record.serialize_entry("userAgent", self.user_agent)?;
        let response_elements = match &self.outcome {
            CallOutcome::Success(elements) => elements.as_ref(),
            CallOutcome::Failure { code, message } => {
                record.serialize_entry("errorCode", code)?;
                record.serialize_entry("errorMessage", message)?;
                None
            }
        };
        record.serialize_entry("requestParameters", &self.request_parameters)?;
        record.serialize_entry("responseElements", &response_elements)?;
        if let Some(data) = &self.details.additional_event_data {
            record.serialize_entry("additionalEventData", data)?;
        }
        record.serialize_entry("requestID", self.request_id)?;
        record.serialize_entry("eventID", &DisplayJson(self.event_id.hyphenated()))?;
        record.serialize_entry("readOnly", &is_read_only(self.event_name))?;
        if !self.details.resources.is_empty() {
            record.serialize_entry("resources", &self.details.resources)?;
        }
        record.serialize_entry("eventType", "AwsApiCall")?;
        record.serialize_entry("managementEvent", &true)?;
        record.serialize_entry("recipientAccountId", self.account)?;
        record.serialize_entry("eventCategory", "Management")?;
        record.end()
    }
}

impl Serialize for Caller<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut identity = serializer.serialize_map(None)?;
        match self {
            Caller::Unknown { access_key_id } => {
                identity.serialize_entry("type", "Unknown")?;
                if let Some(key) = access_key_id {
                    identity.serialize_entry("accessKeyId", key)?;
                }
            }
            Caller::Known(principal) => {
                let kind = match &principal.kind {
                    PrincipalKind::Root => "Root",
                    PrincipalKind::User { .. } => "IAMUser",
                    PrincipalKind::AssumedRole { .. } => "AssumedRole",
                    PrincipalKind::Anonymous => "Unknown",
                };
                identity.serialize_entry("type", kind)?;
                identity.serialize_entry("principalId", &principal.user_id)?;
                identity.serialize_entry("arn", &principal.arn)?;
                identity.serialize_entry("accountId", principal.account.as_str())?;
                identity.serialize_entry("accessKeyId", &principal.access_key_id)?;
                if let PrincipalKind::User { name } = &principal.kind {
                    identity.serialize_entry("userName", name)?;
                }
            }
        }
        identity.end()
    }
}

impl Serialize for RecordResource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut resource = serializer.serialize_map(Some(3))?;
        resource.serialize_entry("accountId", &self.account_id)?;
        resource.serialize_entry("type", self.kind)?;
        resource.serialize_entry("ARN", &self.arn)?;
        resource.end()
    }
}

/// A value serialized as the JSON string of its `Display` form, written in place.
struct DisplayJson<T>(T);

impl<T: std::fmt::Display> Serialize for DisplayJson<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// CloudTrail's `eventTime`: UTC, whole seconds, as `2023-11-14T22:13:20Z`.
struct EventTime(SystemTime);

impl std::fmt::Display for EventTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = palisade_core::clock::millis_since_epoch(self.0).div_euclid(1000);
        let moment =
            OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            moment.year(),
            u8::from(moment.month()),
            moment.day(),
            moment.hour(),
            moment.minute(),
            moment.second()
        )
    }
}

/// CloudTrail's `eventTime`: UTC, whole seconds.
fn format_event_time(time: SystemTime) -> String {
    EventTime(time).to_string()
}

/// A timestamp member as the records of AWS's Java-based services, such as KMS, show it: Java's
/// medium date and time style, `Aug 10, 2022, 10:38:27 PM`, in UTC and whole seconds.
pub fn java_date_time(seconds: f64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    #[expect(
        clippy::cast_possible_truncation,
        reason = "timestamps in records are whole seconds, far inside i64"
    )]
    let moment = OffsetDateTime::from_unix_timestamp(seconds.floor() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let month = MONTHS
        .get(usize::from(moment.month() as u8).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    let (hour, half) = match moment.hour() {
        0 => (12, "AM"),
        hour @ 1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        hour => (hour - 12, "PM"),
    };
    format!(
        "{month} {}, {}, {hour}:{:02}:{:02} {half}",
        moment.day(),
        moment.year(),
        moment.minute(),
        moment.second()
    )
}

/// CloudTrail marks as read-only the calls that only read: by AWS's naming, those whose names
/// start with a reading verb, and KMS's cryptographic operations, which change no resource.
pub fn is_read_only(operation: &str) -> bool {
    const READING_VERBS: &[&str] = &[
        "Get", "List", "Describe", "Lookup", "BatchGet", "Search", "Decode", "Test", "Validate",
        "Simulate", "Verify", "Filter",
    ];
    const KMS_CRYPTOGRAPHIC: &[&str] = &[
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "GenerateMac",
        "Sign",
        "DeriveSharedSecret",
    ];
    KMS_CRYPTOGRAPHIC.contains(&operation)
        || READING_VERBS.iter().any(|verb| {
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
        assert!(is_read_only("Encrypt"));
        assert!(is_read_only("GenerateDataKeyPair"));
        assert!(!is_read_only("GenerateDataKeyPairs"));
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
    fn records_are_written_keyed_in_cloudtrail_format() {
        let ctx = RequestContext {
            request_id: "req-1".to_owned(),
            principal: Principal::root(palisade_core::AccountId::local_default(), "test"),
            region: palisade_core::Region::us_east_1(),
            source_ip: "::ffff:127.0.0.1".parse().unwrap(),
            user_agent: "agent \"quoted\"".to_owned(),
            time: std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123),
            secure_transport: false,
        };
        let record = AuditRecord::for_call(
            &ctx,
            &palisade_model_kms::MODEL,
            "CreateKey",
            None,
            CallOutcome::Failure {
                code: "AccessDeniedException".to_owned(),
                message: "no".to_owned(),
            },
        );
        let mut buffer = Vec::new();
        record.write_keyed_json(&mut buffer);
        let text = String::from_utf8(buffer).unwrap();
        let (key, json) = text.split_once('\n').unwrap();
        let json: Json = serde_json::from_str(json).unwrap();
        assert_eq!(
            key,
            crate::history::key(
                "000000000000",
                "us-east-1",
                1_700_000_000_123,
                json["eventID"].as_str().unwrap()
            )
        );
        assert_eq!(
            crate::history::key_of_event(
                "000000000000",
                "us-east-1",
                json["eventID"].as_str().unwrap()
            )
            .as_deref(),
            Some(key)
        );
        assert_eq!(json["eventVersion"], "1.11");
        assert_eq!(json["userIdentity"]["type"], "Root");
        assert_eq!(
            json["userIdentity"]["arn"],
            "arn:aws:iam::000000000000:root"
        );
        assert_eq!(json["userIdentity"]["accessKeyId"], "test");
        assert_eq!(json["eventTime"], "2023-11-14T22:13:20Z");
        assert_eq!(json["eventSource"], "kms.amazonaws.com");
        assert_eq!(json["eventName"], "CreateKey");
        assert_eq!(json["sourceIPAddress"], "127.0.0.1");
        assert_eq!(json["userAgent"], "agent \"quoted\"");
        assert_eq!(json["errorCode"], "AccessDeniedException");
        assert_eq!(json["errorMessage"], "no");
        assert_eq!(json["requestParameters"], Json::Null);
        assert_eq!(json["requestID"], "req-1");
        assert_eq!(json["readOnly"], false);
        assert_eq!(json["recipientAccountId"], "000000000000");
        assert_eq!(json["eventCategory"], "Management");
        assert!(json.get("resources").is_none());

        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let record = AuditRecord::for_call(
            &ctx,
            &palisade_model_kms::MODEL,
            "Encrypt",
            None,
            CallOutcome::Success(None),
        )
        .with_details(RecordDetails {
            resources: vec![RecordResource {
                account_id: "111122223333".to_owned(),
                kind: "AWS::KMS::Key",
                arn: arn.to_owned(),
            }],
            additional_event_data: Some(serde_json::json!({"keyMaterialId": "m1"})),
        });
        let mut buffer = Vec::new();
        record.write_keyed_json(&mut buffer);
        let text = String::from_utf8(buffer).unwrap();
        let json: Json = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
        assert_eq!(
            json["resources"],
            serde_json::json!([{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn}])
        );
        assert_eq!(
            json["additionalEventData"],
            serde_json::json!({"keyMaterialId": "m1"})
        );
    }

    #[test]
    fn java_date_times_use_the_medium_style_in_utc() {
        assert_eq!(java_date_time(1_660_171_107.0), "Aug 10, 2022, 10:38:27 PM");
        assert_eq!(java_date_time(1_747_806_465.9), "May 21, 2025, 5:47:45 AM");
        assert_eq!(java_date_time(1_704_067_200.0), "Jan 1, 2024, 12:00:00 AM");
        assert_eq!(java_date_time(1_704_110_400.0), "Jan 1, 2024, 12:00:00 PM");
    }

    #[test]
    fn event_time_is_rfc3339_utc() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_event_time(time), "2023-11-14T22:13:20Z");
    }
}
