//! Parameter policies (Advanced tier only): `Expiration` deletes the parameter at a time,
//! `ExpirationNotification` announces it ahead of time, `NoChangeNotification` announces that
//! the parameter has not changed for a while. Each is JSON of the form
//! `{"Type": ..., "Version": "1.0", "Attributes": {...}}`, given as a JSON array.
//!
//! Each policy is kept with the version it was attached to, with the moment it falls due, so the
//! sweeper ([`crate::ParameterStore::apply_parameter_policies`]) needs nothing but the record.

use palisade_core::ServiceError;
use palisade_model_ssm::errors;
use palisade_model_ssm::types::ParameterInlinePolicy;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The most policies a parameter can have.
const MAX_POLICIES: usize = 10;

/// A policy attached to a parameter version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicyRecord {
    /// The policy's JSON, as given.
    pub text: String,
    pub kind: PolicyKind,
    /// When it falls due, in milliseconds since the epoch.
    pub due_millis: i64,
    pub status: PolicyStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PolicyKind {
    Expiration,
    ExpirationNotification,
    NoChangeNotification,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Expiration => "Expiration",
            PolicyKind::ExpirationNotification => "ExpirationNotification",
            PolicyKind::NoChangeNotification => "NoChangeNotification",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PolicyStatus {
    Pending,
    Finished,
}

impl PolicyRecord {
    pub fn to_model(&self) -> ParameterInlinePolicy {
        ParameterInlinePolicy {
            policy_text: Some(self.text.clone()),
            policy_type: Some(self.kind.as_str().to_owned()),
            policy_status: Some(
                match self.status {
                    PolicyStatus::Pending => "Pending",
                    PolicyStatus::Finished => "Finished",
                }
                .to_owned(),
            ),
        }
    }
}

/// Parses the `Policies` of a `PutParameter` made at `now_millis`, checking AWS's rules.
pub(crate) fn parse(text: &str, now_millis: i64) -> Result<Vec<PolicyRecord>, ServiceError> {
    let documents: Vec<Json> = match serde_json::from_str::<Json>(text) {
        Ok(Json::Array(items)) => items,
        Ok(single @ Json::Object(_)) => vec![single],
        _ => {
            return Err(errors::invalid_policy_attribute_exception(
                "Invalid policies input: the policies must be a JSON array of policy objects.",
            ));
        }
    };
    if documents.len() > MAX_POLICIES {
        return Err(errors::policies_limit_exceeded_exception(format!(
            "You specified more than the maximum number of allowed policies for the parameter. \
             The maximum is {MAX_POLICIES}."
        )));
    }
    let mut policies: Vec<PolicyRecord> = Vec::with_capacity(documents.len());
    for document in &documents {
        let policy = parse_one(document, now_millis)?;
        if policies.iter().any(|p| p.kind == policy.kind) {
            return Err(errors::incompatible_policy_exception(format!(
                "A parameter can have only one {} policy.",
                policy.kind.as_str()
            )));
        }
        policies.push(policy);
    }
    let expiration = policies
        .iter()
        .find(|p| p.kind == PolicyKind::Expiration)
        .map(|p| p.due_millis);
    for policy in &mut policies {
        if policy.kind == PolicyKind::ExpirationNotification {
            let Some(expires) = expiration else {
                return Err(errors::incompatible_policy_exception(
                    "An ExpirationNotification policy requires an Expiration policy.",
                ));
            };
            // The notification's due time was parsed as an offset; it counts back from expiry.
            policy.due_millis = expires.saturating_sub(policy.due_millis);
        }
    }
    Ok(policies)
}

/// The policies of a new version: those given, or the previous version's still pending, with
/// no-change notifications counted again from `now_millis`.
pub(crate) fn carry_over(previous: &[PolicyRecord], now_millis: i64) -> Vec<PolicyRecord> {
    previous
        .iter()
        .filter(|p| p.status == PolicyStatus::Pending)
        .cloned()
        .map(|mut policy| {
            if policy.kind == PolicyKind::NoChangeNotification
                && let Ok(after) = no_change_after(&policy.text)
            {
                policy.due_millis = now_millis.saturating_add(after);
            }
            policy
        })
        .collect()
}

fn parse_one(document: &Json, now_millis: i64) -> Result<PolicyRecord, ServiceError> {
    let kind = match document.get("Type").and_then(Json::as_str) {
        Some("Expiration") => PolicyKind::Expiration,
        Some("ExpirationNotification") => PolicyKind::ExpirationNotification,
        Some("NoChangeNotification") => PolicyKind::NoChangeNotification,
        _ => {
            return Err(errors::invalid_policy_type_exception(
                "The policy type is not supported. Parameter Store supports the following policy \
                 types: Expiration, ExpirationNotification, and NoChangeNotification.",
            ));
        }
    };
    if document.get("Version").and_then(Json::as_str) != Some("1.0") {
        return Err(attribute_error(kind, "Version must be \"1.0\""));
    }
    let attributes = document
        .get("Attributes")
        .filter(|a| a.is_object())
        .ok_or_else(|| attribute_error(kind, "Attributes are missing"))?;
    let due_millis = match kind {
        PolicyKind::Expiration => {
            let timestamp = attributes
                .get("Timestamp")
                .and_then(Json::as_str)
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .ok_or_else(|| {
                    attribute_error(kind, "Timestamp must be an ISO 8601 date and time")
                })?;
            let millis = i64::try_from(timestamp.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| attribute_error(kind, "Timestamp is out of range"))?;
            if millis <= now_millis {
                return Err(attribute_error(kind, "Timestamp must be in the future"));
            }
            millis
        }
        // An offset back from the expiry, resolved once every policy is read.
        PolicyKind::ExpirationNotification => duration(kind, attributes, "Before")?,
        PolicyKind::NoChangeNotification => {
            now_millis.saturating_add(duration(kind, attributes, "After")?)
        }
    };
    Ok(PolicyRecord {
        text: document.to_string(),
        kind,
        due_millis,
        status: PolicyStatus::Pending,
    })
}

fn no_change_after(text: &str) -> Result<i64, ServiceError> {
    let document: Json = serde_json::from_str(text)
        .map_err(|_| attribute_error(PolicyKind::NoChangeNotification, "invalid JSON"))?;
    let attributes = document.get("Attributes").unwrap_or(&Json::Null);
    duration(PolicyKind::NoChangeNotification, attributes, "After")
}

/// `{"<field>": "<n>", "Unit": "Days" | "Hours"}` in milliseconds.
fn duration(kind: PolicyKind, attributes: &Json, field: &str) -> Result<i64, ServiceError> {
    let amount: i64 = match attributes.get(field) {
        Some(Json::String(text)) => text.parse().ok(),
        Some(Json::Number(number)) => number.as_i64(),
        _ => None,
    }
    .filter(|n| *n > 0)
    .ok_or_else(|| attribute_error(kind, &format!("{field} must be a positive whole number")))?;
    let unit_millis: i64 = match attributes.get("Unit").and_then(Json::as_str) {
        Some("Days") => 86_400_000,
        Some("Hours") => 3_600_000,
        _ => return Err(attribute_error(kind, "Unit must be Days or Hours")),
    };
    Ok(amount.saturating_mul(unit_millis))
}

fn attribute_error(kind: PolicyKind, detail: &str) -> ServiceError {
    errors::invalid_policy_attribute_exception(format!(
        "A policy attribute or its value is invalid. {} policy: {detail}.",
        kind.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_704_067_200_000;

    #[test]
    fn notification_counts_back_from_expiry() {
        let policies = parse(
            r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2024-01-10T00:00:00Z"}},
                {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"2","Unit":"Days"}},
                {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Hours"}}]"#,
            NOW,
        )
        .ok()
        .unwrap_or_default();
        let due: Vec<_> = policies.iter().map(|p| (p.kind, p.due_millis)).collect();
        assert_eq!(
            due,
            [
                (PolicyKind::Expiration, NOW + 9 * 86_400_000),
                (PolicyKind::ExpirationNotification, NOW + 7 * 86_400_000),
                (PolicyKind::NoChangeNotification, NOW + 3 * 3_600_000),
            ]
        );
    }

    #[test]
    fn bad_policies_get_aws_codes() {
        let code = |text: &str| match parse(text, NOW) {
            Err(ServiceError {
                kind: palisade_core::service::ErrorKind::Modeled { code, .. },
                ..
            }) => code.into_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            code(r#"[{"Type":"Rotate","Version":"1.0","Attributes":{}}]"#),
            "InvalidPolicyTypeException"
        );
        assert_eq!(
            code(r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"soon"}}]"#),
            "InvalidPolicyAttributeException"
        );
        assert_eq!(
            code(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2020-01-01T00:00:00Z"}}]"#
            ),
            "InvalidPolicyAttributeException"
        );
        assert_eq!(
            code(
                r#"[{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"1","Unit":"Days"}}]"#
            ),
            "IncompatiblePolicyException"
        );
        let many = format!(
            "[{}]",
            [r#"{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1","Unit":"Days"}}"#; 11].join(",")
        );
        assert_eq!(code(&many), "PoliciesLimitExceededException");
    }
}
