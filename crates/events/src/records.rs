//! The JSON records EventBridge stores.

use serde::{Deserialize, Serialize};

/// A custom event bus, or the settings given to the `default` bus by `UpdateEventBus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BusRecord {
    pub name: String,
    pub description: Option<String>,
    pub created_millis: i64,
    pub modified_millis: i64,
    /// The customer managed key the bus names; kept and answered, not used to encrypt the
    /// bus's events.
    #[serde(default)]
    pub kms_key_identifier: Option<String>,
    /// The SQS queue of the bus's `DeadLetterConfig`; kept and answered. AWS sends a bus's
    /// events there when its customer managed key fails them, which never happens here.
    #[serde(default)]
    pub dead_letter_arn: Option<String>,
    /// The model's `LogConfig` as JSON (see `values`); kept and answered.
    #[serde(default)]
    pub log_config: Option<serde_json::Value>,
    /// The partner event source a partner event bus receives from.
    #[serde(default)]
    pub event_source: Option<String>,
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

/// A connection: how API destinations that use it authorize. Stored sealed: `auth` holds the
/// secrets (password, API key value, OAuth client secret, parameter values marked secret).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ConnectionRecord {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    /// `BASIC`, `API_KEY` or `OAUTH_CLIENT_CREDENTIALS`.
    pub authorization_type: String,
    /// `AUTHORIZED`, `AUTHORIZING` (an OAuth connection before its first token) or
    /// `DEAUTHORIZED`.
    pub state: String,
    pub state_reason: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub created_millis: i64,
    pub modified_millis: i64,
    pub authorized_millis: Option<i64>,
    /// The model's `CreateConnectionAuthRequestParameters` as JSON (see `values`), secrets
    /// included; none once deauthorized.
    pub auth: Option<serde_json::Value>,
}

impl std::fmt::Debug for ConnectionRecord {
    // `auth` holds secrets: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRecord")
            .field("arn", &self.arn)
            .field("authorization_type", &self.authorization_type)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// An API destination: an HTTP endpoint that targets invoke, with the connection that
/// authorizes the calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiDestinationRecord {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub connection_arn: String,
    pub invocation_endpoint: String,
    pub http_method: String,
    pub invocation_rate_limit_per_second: i32,
    pub created_millis: i64,
    pub modified_millis: i64,
}
