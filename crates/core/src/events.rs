//! Events that services emit for EventBridge: KMS key rotation and deletion, Parameter Store
//! changes and policy actions, Secrets Manager rotation, and the "AWS API Call via CloudTrail"
//! events of every audited call.
//!
//! A service holds an `Arc<dyn EventSink>` and publishes each event once the change it reports
//! is durable. The sink decides delivery (rules, targets, retries); a service never waits on it.

use std::time::SystemTime;

use crate::{AccountId, Region};

/// One event, in the shape EventBridge puts on a bus (the envelope's `version` and `id` are the
/// bus's to assign).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEvent {
    /// The account whose default bus receives it.
    pub account: AccountId,
    /// Its region.
    pub region: Region,
    /// `source`, such as `aws.kms` or `aws.ssm`.
    pub source: String,
    /// `detail-type`, such as `KMS CMK Rotation` or `Parameter Store Change`.
    pub detail_type: String,
    /// `resources`: the ARNs the event is about.
    pub resources: Vec<String>,
    /// `detail`, a JSON object as text; it never holds a secret value.
    pub detail: String,
    /// `time`.
    pub time: SystemTime,
}

/// Where services publish events.
pub trait EventSink: Send + Sync + 'static {
    /// Takes `event` for delivery; never blocks on the delivery itself.
    fn publish(&self, event: ServiceEvent);
}

/// A sink that keeps nothing: for services built without an event bus, and for tests that do
/// not look at events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl EventSink for Discard {
    fn publish(&self, _event: ServiceEvent) {}
}
