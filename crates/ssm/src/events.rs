//! The EventBridge events Parameter Store emits (source `aws.ssm`): "Parameter Store Change"
//! for each create, update, delete and label change, and "Parameter Store Policy Action" when a
//! parameter policy acts. Neither ever carries a parameter's value.

use std::time::SystemTime;

use palisade_core::events::ServiceEvent;
use palisade_core::{AccountId, Region};
use serde_json::json;

use crate::policies::{PolicyKind, PolicyRecord};
use crate::records::{Kind, Tenant};

/// What a "Parameter Store Change" event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
    LabelParameterVersion,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "Create",
            Operation::Update => "Update",
            Operation::Delete => "Delete",
            Operation::LabelParameterVersion => "LabelParameterVersion",
        }
    }
}

/// A "Parameter Store Change" event about parameter `name`.
pub(crate) fn change(
    tenant: &Tenant,
    time: SystemTime,
    operation: Operation,
    name: &str,
    kind: Kind,
    description: Option<&str>,
) -> Option<ServiceEvent> {
    let detail = json!({
        "operation": operation.as_str(),
        "name": name,
        "type": kind.as_str(),
        "description": description.unwrap_or(""),
    });
    event(tenant, time, "Parameter Store Change", name, detail)
}

/// A "Parameter Store Policy Action" event: `policy` acted on parameter `name`.
pub(crate) fn policy_action(
    tenant: &Tenant,
    time: SystemTime,
    name: &str,
    kind: Kind,
    policy: &PolicyRecord,
) -> Option<ServiceEvent> {
    let reason = match policy.kind {
        PolicyKind::Expiration => "The parameter has expired and was deleted.",
        PolicyKind::ExpirationNotification => "The parameter is about to expire.",
        PolicyKind::NoChangeNotification => {
            "The parameter has not been modified for the time the policy specifies."
        }
    };
    let detail = json!({
        "parameter-name": name,
        "parameter-type": kind.as_str(),
        "policy-type": policy.kind.as_str(),
        "policy-content": policy.text,
        "action-status": "Finished",
        "action-reason": reason,
    });
    event(tenant, time, "Parameter Store Policy Action", name, detail)
}

fn event(
    tenant: &Tenant,
    time: SystemTime,
    detail_type: &str,
    name: &str,
    detail: serde_json::Value,
) -> Option<ServiceEvent> {
    // Tenants come from request contexts or store keys written from them, so both parse.
    Some(ServiceEvent {
        account: AccountId::parse(&tenant.account)?,
        region: Region::parse(&tenant.region)?,
        source: "aws.ssm".to_owned(),
        detail_type: detail_type.to_owned(),
        resources: vec![tenant.arn(name)],
        detail: detail.to_string(),
        time,
    })
}
