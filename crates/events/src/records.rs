//! The JSON records EventBridge stores.

use serde::{Deserialize, Serialize};

/// A custom event bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BusRecord {
    pub name: String,
    pub description: Option<String>,
    pub created_millis: i64,
    pub modified_millis: i64,
}

/// A rule with its targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RuleRecord {
    pub name: String,
    pub bus: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    /// `ENABLED`, `DISABLED` or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    /// The account that created the rule.
    pub created_by: String,
    /// Each target as the model's `Target` in JSON (see `values`), sorted by id.
    pub targets: Vec<serde_json::Value>,
}

impl RuleRecord {
    pub fn is_enabled(&self) -> bool {
        self.state != "DISABLED"
    }

    pub fn target_id(target: &serde_json::Value) -> Option<&str> {
        target.get("Id").and_then(serde_json::Value::as_str)
    }
}
