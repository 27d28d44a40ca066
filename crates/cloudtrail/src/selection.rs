//! Which records a trail logs, by its event selectors: both deliveries (log files and CloudWatch
//! Logs) apply this to every record of the trail's account and regions.
//!
//! - No selectors: every management event, read and write (the default selector
//!   `GetEventSelectors` shows).
//! - Classic selectors, any of which may log a record: a management event when the selector
//!   includes management events, its `ReadWriteType` admits the record's `readOnly`, and the
//!   record's source is not among its `ExcludeManagementEventSources`; a data event when its
//!   `ReadWriteType` admits it and one of its data resources names a resource of the record
//!   (the type's bare ARN prefix names all of them; S3 values are prefixes of object ARNs, other
//!   values whole ARNs).
//! - Advanced selectors: a record when every condition of one selector holds. A condition holds
//!   when some value of its field (a record's resources give several, a missing field none)
//!   matches one of the values of its including operators (`Equals`, `StartsWith`, `EndsWith`),
//!   if it has any, and none of the values of its excluding ones (`NotEquals`,
//!   `NotStartsWith`, `NotEndsWith`). A field the record lacks satisfies only a condition with
//!   excluding operators alone.

use std::borrow::Cow;

use serde::Deserialize;

use crate::selectors::{
    AdvancedSelector, ClassicSelector, DATA_RESOURCE_TYPES, EventSelectorsRecord,
    FieldSelectorRecord,
};

/// The resource type whose data resource values are prefixes rather than whole ARNs.
const S3_OBJECT: &str = "AWS::S3::Object";

/// Whether a trail with `selectors` (`None` until `PutEventSelectors`) logs the record `json`.
/// A record that does not parse is logged: an audit trail errs on the side of keeping.
pub(crate) fn logs_record(selectors: Option<&EventSelectorsRecord>, json: &[u8]) -> bool {
    match serde_json::from_slice::<RecordFacts<'_>>(json) {
        Ok(record) => logs(selectors, &record),
        Err(error) => {
            tracing::warn!(%error, "a trail record does not parse; delivering it unfiltered");
            true
        }
    }
}

fn logs(selectors: Option<&EventSelectorsRecord>, record: &RecordFacts<'_>) -> bool {
    match selectors {
        None => record.category() == "Management",
        Some(EventSelectorsRecord::Classic(selectors)) => selectors
            .iter()
            .any(|selector| classic_logs(selector, record)),
        Some(EventSelectorsRecord::Advanced(selectors)) => selectors
            .iter()
            .any(|selector| advanced_logs(selector, record)),
    }
}

/// The fields of a record that selectors test; the rest of the record is skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFacts<'a> {
    #[serde(borrow, default)]
    event_category: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(default)]
    read_only: Option<bool>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    vpc_endpoint_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session_credential_from_console: Option<Text<'a>>,
    #[serde(borrow, default)]
    user_identity: Option<Identity<'a>>,
    #[serde(borrow, default)]
    resources: Vec<Resource<'a>>,
}

#[derive(Debug, Deserialize)]
struct Identity<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "ARN")]
    arn: Option<Cow<'a, str>>,
}

/// A field CloudTrail writes as a string in some records and a boolean in others.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text<'a> {
    Flag(bool),
    Text(#[serde(borrow)] Cow<'a, str>),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Flag(flag) => flag_text(*flag),
            Text::Text(text) => text,
        }
    }
}

fn flag_text(flag: bool) -> &'static str {
    if flag { "true" } else { "false" }
}

impl RecordFacts<'_> {
    /// `eventCategory`; records from before the field existed are management events.
    fn category(&self) -> &str {
        self.event_category.as_deref().unwrap_or("Management")
    }

    fn read_only(&self) -> bool {
        self.read_only.unwrap_or(false)
    }

    /// The values of an advanced selector's field in this record.
    fn values(&self, field: &str) -> Vec<&str> {
        fn one(value: Option<&str>) -> Vec<&str> {
            value.into_iter().collect()
        }
        match field {
            "eventCategory" => vec![self.category()],
            "eventSource" => one(self.event_source.as_deref()),
            "eventName" => one(self.event_name.as_deref()),
            "eventType" => one(self.event_type.as_deref()),
            "readOnly" => vec![flag_text(self.read_only())],
            "errorCode" => one(self.error_code.as_deref()),
            "vpcEndpointId" => one(self.vpc_endpoint_id.as_deref()),
            "sessionCredentialFromConsole" => one(self
                .session_credential_from_console
                .as_ref()
                .map(Text::as_str)),
            "userIdentity.arn" => one(self
                .user_identity
                .as_ref()
                .and_then(|identity| identity.arn.as_deref())),
            "resources.type" => self
                .resources
                .iter()
                .filter_map(|resource| resource.kind.as_deref())
                .collect(),
            "resources.ARN" => self
                .resources
                .iter()
                .filter_map(|resource| resource.arn.as_deref())
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn classic_logs(selector: &ClassicSelector, record: &RecordFacts<'_>) -> bool {
    let read_write_admits = match selector.read_write_type.as_str() {
        "ReadOnly" => record.read_only(),
        "WriteOnly" => !record.read_only(),
        _ => true,
    };
    if !read_write_admits {
        return false;
    }
    match record.category() {
        "Management" => {
            selector.include_management_events
                && !selector
                    .exclude_management_event_sources
                    .iter()
                    .any(|excluded| record.event_source.as_deref() == Some(excluded.as_str()))
        }
        "Data" => selector.data_resources.iter().any(|data_resource| {
            record.resources.iter().any(|resource| {
                resource.kind.as_deref() == Some(data_resource.resource_type.as_str())
                    && resource.arn.as_deref().is_some_and(|arn| {
                        data_resource
                            .values
                            .iter()
                            .any(|value| names(&data_resource.resource_type, value, arn))
                    })
            })
        }),
        _ => false,
    }
}

/// Whether the classic data resource `value` of `resource_type` names the resource `arn`.
fn names(resource_type: &str, value: &str, arn: &str) -> bool {
    let every_resource = DATA_RESOURCE_TYPES
        .iter()
        .any(|(kind, prefix)| *kind == resource_type && *prefix == value);
    every_resource
        || if resource_type == S3_OBJECT {
            arn.starts_with(value)
        } else {
            arn == value
        }
}

fn advanced_logs(selector: &AdvancedSelector, record: &RecordFacts<'_>) -> bool {
    selector
        .field_selectors
        .iter()
        .all(|condition| holds(condition, &record.values(&condition.field)))
}

fn holds(condition: &FieldSelectorRecord, values: &[&str]) -> bool {
    fn given(operator: &Option<Vec<String>>) -> &[String] {
        operator.as_deref().unwrap_or_default()
    }
    let (equals, starts_with, ends_with) = (
        given(&condition.equals),
        given(&condition.starts_with),
        given(&condition.ends_with),
    );
    let (not_equals, not_starts_with, not_ends_with) = (
        given(&condition.not_equals),
        given(&condition.not_starts_with),
        given(&condition.not_ends_with),
    );
    let including = !(equals.is_empty() && starts_with.is_empty() && ends_with.is_empty());
    let included = |value: &str| {
        equals.iter().any(|wanted| wanted == value)
            || starts_with
                .iter()
                .any(|prefix| value.starts_with(prefix.as_str()))
            || ends_with
                .iter()
                .any(|suffix| value.ends_with(suffix.as_str()))
    };
    let excluded = |value: &str| {
        not_equals.iter().any(|unwanted| unwanted == value)
            || not_starts_with
                .iter()
                .any(|prefix| value.starts_with(prefix.as_str()))
            || not_ends_with
                .iter()
                .any(|suffix| value.ends_with(suffix.as_str()))
    };
    if values.is_empty() {
        return !including;
    }
    values
        .iter()
        .any(|value| (!including || included(value)) && !excluded(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selectors::DataResourceRecord;

    fn management(source: &str, name: &str, read_only: bool) -> Vec<u8> {
        serde_json::json!({
            "eventVersion": "1.11",
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
            "eventSource": source,
            "eventName": name,
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "eventCategory": "Management",
            "requestParameters": {"nested": {"eventCategory": "Data"}},
        })
        .to_string()
        .into_bytes()
    }

    fn data_event(kind: &str, arn: &str, read_only: bool) -> Vec<u8> {
        serde_json::json!({
            "eventSource": "s3.amazonaws.com",
            "eventName": if read_only { "GetObject" } else { "PutObject" },
            "readOnly": read_only,
            "eventCategory": "Data",
            "resources": [{"type": kind, "ARN": arn, "accountId": "111122223333"}],
        })
        .to_string()
        .into_bytes()
    }

    fn classic(
        read_write_type: &str,
        include_management_events: bool,
        data_resources: Vec<DataResourceRecord>,
        excluded: &[&str],
    ) -> ClassicSelector {
        ClassicSelector {
            read_write_type: read_write_type.to_owned(),
            include_management_events,
            data_resources,
            exclude_management_event_sources: excluded.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn condition(field: &str) -> FieldSelectorRecord {
        FieldSelectorRecord {
            field: field.to_owned(),
            equals: None,
            starts_with: None,
            ends_with: None,
            not_equals: None,
            not_starts_with: None,
            not_ends_with: None,
        }
    }

    fn values(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|value| (*value).to_owned()).collect())
    }

    fn equals(field: &str, wanted: &[&str]) -> FieldSelectorRecord {
        FieldSelectorRecord {
            equals: values(wanted),
            ..condition(field)
        }
    }

    fn advanced(conditions: Vec<FieldSelectorRecord>) -> AdvancedSelector {
        AdvancedSelector {
            name: None,
            field_selectors: conditions,
        }
    }

    #[test]
    fn without_selectors_a_trail_logs_management_events_only() {
        assert!(logs_record(
            None,
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        assert!(logs_record(
            None,
            &management("kms.amazonaws.com", "ListKeys", true)
        ));
        let object = data_event("AWS::S3::Object", "arn:aws:s3:::bucket/key", true);
        assert!(!logs_record(None, &object));
        assert!(
            logs_record(None, b"not json"),
            "kept when it cannot be read"
        );
    }

    #[test]
    fn classic_selectors_filter_by_read_write_type_and_excluded_sources() {
        let write_only =
            EventSelectorsRecord::Classic(vec![classic("WriteOnly", true, vec![], &[])]);
        assert!(logs_record(
            Some(&write_only),
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        assert!(!logs_record(
            Some(&write_only),
            &management("kms.amazonaws.com", "ListKeys", true)
        ));
        let read_only = EventSelectorsRecord::Classic(vec![classic("ReadOnly", true, vec![], &[])]);
        assert!(logs_record(
            Some(&read_only),
            &management("kms.amazonaws.com", "ListKeys", true)
        ));
        assert!(!logs_record(
            Some(&read_only),
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        let no_kms = EventSelectorsRecord::Classic(vec![classic(
            "All",
            true,
            vec![],
            &["kms.amazonaws.com"],
        )]);
        assert!(!logs_record(
            Some(&no_kms),
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        assert!(logs_record(
            Some(&no_kms),
            &management("ssm.amazonaws.com", "PutParameter", false)
        ));
        let no_management = EventSelectorsRecord::Classic(vec![classic("All", false, vec![], &[])]);
        assert!(!logs_record(
            Some(&no_management),
            &management("ssm.amazonaws.com", "PutParameter", false)
        ));
        // Any selector may log a record.
        let either = EventSelectorsRecord::Classic(vec![
            classic("WriteOnly", true, vec![], &[]),
            classic("ReadOnly", true, vec![], &[]),
        ]);
        assert!(logs_record(
            Some(&either),
            &management("kms.amazonaws.com", "ListKeys", true)
        ));
    }

    #[test]
    fn classic_data_resources_name_objects_by_prefix_and_others_whole() {
        let resources = |resource_type: &str, values: &[&str]| DataResourceRecord {
            resource_type: resource_type.to_owned(),
            values: values.iter().map(|value| (*value).to_owned()).collect(),
        };
        let bucket = EventSelectorsRecord::Classic(vec![classic(
            "All",
            false,
            vec![resources("AWS::S3::Object", &["arn:aws:s3:::logs/app/"])],
            &[],
        )]);
        let inside = data_event("AWS::S3::Object", "arn:aws:s3:::logs/app/1.txt", false);
        let outside = data_event("AWS::S3::Object", "arn:aws:s3:::logs/other", false);
        assert!(logs_record(Some(&bucket), &inside));
        assert!(!logs_record(Some(&bucket), &outside));
        let every_object = EventSelectorsRecord::Classic(vec![classic(
            "ReadOnly",
            false,
            vec![resources("AWS::S3::Object", &["arn:aws:s3"])],
            &[],
        )]);
        assert!(!logs_record(Some(&every_object), &inside), "a write");
        let read = data_event("AWS::S3::Object", "arn:aws:s3:::other/x", true);
        assert!(logs_record(Some(&every_object), &read));
        let function = "arn:aws:lambda:us-east-1:111122223333:function:f";
        let one_function = EventSelectorsRecord::Classic(vec![classic(
            "All",
            false,
            vec![resources("AWS::Lambda::Function", &[function])],
            &[],
        )]);
        assert!(logs_record(
            Some(&one_function),
            &data_event("AWS::Lambda::Function", function, false)
        ));
        assert!(!logs_record(
            Some(&one_function),
            &data_event("AWS::Lambda::Function", &format!("{function}2"), false)
        ));
        assert!(!logs_record(Some(&one_function), &inside));
    }

    #[test]
    fn advanced_selectors_need_every_condition_of_one_selector() {
        let write_management = EventSelectorsRecord::Advanced(vec![advanced(vec![
            equals("eventCategory", &["Management"]),
            equals("readOnly", &["false"]),
        ])]);
        assert!(logs_record(
            Some(&write_management),
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        assert!(!logs_record(
            Some(&write_management),
            &management("kms.amazonaws.com", "DescribeKey", true)
        ));
        let object = data_event("AWS::S3::Object", "arn:aws:s3:::logs/app/1.txt", false);
        assert!(!logs_record(Some(&write_management), &object));

        let not_kms = EventSelectorsRecord::Advanced(vec![advanced(vec![
            equals("eventCategory", &["Management"]),
            FieldSelectorRecord {
                not_equals: values(&["kms.amazonaws.com"]),
                ..condition("eventSource")
            },
        ])]);
        assert!(!logs_record(
            Some(&not_kms),
            &management("kms.amazonaws.com", "CreateKey", false)
        ));
        assert!(logs_record(
            Some(&not_kms),
            &management("logs.amazonaws.com", "CreateLogGroup", false)
        ));
    }

    #[test]
    fn advanced_operators_include_and_exclude() {
        let arn_condition = FieldSelectorRecord {
            starts_with: values(&["arn:aws:s3:::logs/"]),
            ends_with: values(&[".json"]),
            not_starts_with: values(&["arn:aws:s3:::logs/secret/"]),
            not_ends_with: values(&[".tmp"]),
            ..condition("resources.ARN")
        };
        let objects = EventSelectorsRecord::Advanced(vec![advanced(vec![
            equals("eventCategory", &["Data"]),
            equals("resources.type", &["AWS::S3::Object"]),
            arn_condition,
            FieldSelectorRecord {
                not_equals: values(&["DeleteObject"]),
                ..condition("eventName")
            },
        ])]);
        let object = |arn: &str| data_event("AWS::S3::Object", arn, false);
        assert!(logs_record(Some(&objects), &object("arn:aws:s3:::logs/a")));
        assert!(logs_record(
            Some(&objects),
            &object("arn:aws:s3:::other/a.json")
        ));
        assert!(!logs_record(
            Some(&objects),
            &object("arn:aws:s3:::other/a")
        ));
        assert!(!logs_record(
            Some(&objects),
            &object("arn:aws:s3:::logs/secret/a")
        ));
        assert!(!logs_record(
            Some(&objects),
            &object("arn:aws:s3:::logs/a.tmp")
        ));
        let lambda = data_event("AWS::Lambda::Function", "arn:aws:s3:::logs/a", false);
        assert!(!logs_record(Some(&objects), &lambda));

        // A missing field meets only excluding conditions.
        let no_error = advanced(vec![FieldSelectorRecord {
            not_equals: values(&["AccessDenied"]),
            ..condition("errorCode")
        }]);
        let error = advanced(vec![equals("errorCode", &["AccessDenied"])]);
        let succeeded = RecordFacts::default();
        assert!(advanced_logs(&no_error, &succeeded));
        assert!(!advanced_logs(&error, &succeeded));
        let identity = advanced(vec![FieldSelectorRecord {
            ends_with: values(&[":root"]),
            ..condition("userIdentity.arn")
        }]);
        let json = management("kms.amazonaws.com", "CreateKey", false);
        let record: RecordFacts<'_> = serde_json::from_slice(&json).unwrap();
        assert!(advanced_logs(&identity, &record));
        let console = advanced(vec![equals("sessionCredentialFromConsole", &["true"])]);
        let from_console: RecordFacts<'_> =
            serde_json::from_str(r#"{"sessionCredentialFromConsole": "true"}"#).unwrap();
        assert!(advanced_logs(&console, &from_console));
        assert!(!advanced_logs(&console, &record));
    }
}
