//! Delivery: an event accepted onto a bus (by `PutEvents`, by a service through
//! [`EventSink`], or forwarded from another bus) waits in an in-memory queue; one task takes
//! each in turn, finds the enabled rules of its bus that it matches, and sends it to their
//! targets, in rule then target order.
//!
//! Targets delivered in-process:
//! - a CloudWatch Logs log group of the same account and region, through [`LogGroups`]: the
//!   event (after `Input`, `InputPath` or `InputTransformer`) becomes one log event in a stream
//!   named after the event id, created on first use, as AWS names the streams it writes; when
//!   the input is an object `{"timestamp": ..., "message": "..."}` (the form AWS asks of an
//!   input transformer for log groups), the message is its `message` and the log event's time
//!   its `timestamp`, else the message is the whole input and the time the event's `time`;
//! - an event bus of the same account and region: the event, unchanged (same id and fields; a
//!   bus target takes no input transformation), is put on that bus and matched against its
//!   rules. As in AWS, an event makes one hop from bus to bus: an event that arrived from
//!   another bus is not forwarded again, and the attempt counts as a failed invocation.
//!
//! Every other target (Lambda, SQS, SNS, another account or region, ...) is not delivered: the
//! invocation counts as failed. Delivery is at most once: the queue lives in memory, so events
//! accepted and not yet delivered are lost when the process stops, an event that finds the
//! queue full is dropped, and a failed invocation is not retried (no dead-letter queue).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use palisade_core::ServiceError;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::service::BoxFuture;
use palisade_model_events::types::Target;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use crate::EventsState;
use crate::buses::DEFAULT;
use crate::db::Tenant;
use crate::events::{Delivery, rfc3339, service_envelope};
use crate::input::{Invocation, target_input};

/// How many accepted events may wait for delivery before new ones are dropped.
pub(crate) const QUEUE_CAPACITY: usize = 10_000;

/// CloudWatch Logs, as EventBridge writes to log group targets. The server implements it over
/// the Logs service; this crate knows nothing of it.
pub trait LogGroups: Send + Sync + 'static {
    /// Appends `event` to its stream, creating the stream when it does not exist.
    fn append<'a>(&'a self, event: LogEvent<'a>) -> BoxFuture<'a, Result<(), ServiceError>>;
}

/// One log event for a log group target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// The log group's name.
    pub group: &'a str,
    /// The log stream's name: the event id.
    pub stream: &'a str,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
}

/// What delivery has done since the process started, counted as AWS's `Invocations` (every
/// attempt to send an event to a target, failed or not) and `FailedInvocations` metrics are.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStats {
    pub invocations: u64,
    pub failed_invocations: u64,
    /// Events dropped because the queue was full.
    pub dropped_events: u64,
}

/// An event on a bus, waiting to be matched and delivered.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub tenant: Tenant,
    pub bus: String,
    /// The full envelope.
    pub event: Value,
    /// When EventBridge received it, RFC 3339.
    pub ingestion_time: String,
    /// It came from another bus, so it goes to no further bus.
    pub forwarded: bool,
}

/// The queue's sending end and the counters, held by [`EventsState`].
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: mpsc::Sender<Accepted>,
    invocations: AtomicU64,
    failed_invocations: AtomicU64,
    dropped_events: AtomicU64,
}

impl Outbox {
    /// The outbox, and the queue's receiving end for [`run`].
    pub fn new() -> (Self, mpsc::Receiver<Accepted>) {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let outbox = Self {
            queue,
            invocations: AtomicU64::new(0),
            failed_invocations: AtomicU64::new(0),
            dropped_events: AtomicU64::new(0),
        };
        (outbox, receiver)
    }

    fn stats(&self) -> DeliveryStats {
        DeliveryStats {
            invocations: self.invocations.load(Ordering::Relaxed),
            failed_invocations: self.failed_invocations.load(Ordering::Relaxed),
            dropped_events: self.dropped_events.load(Ordering::Relaxed),
        }
    }
}

/// Takes each accepted event off `queue` and delivers it, until the state is dropped.
pub(crate) async fn run(
    state: Weak<EventsState>,
    mut queue: mpsc::Receiver<Accepted>,
    logs: Arc<dyn LogGroups>,
) {
    while let Some(accepted) = queue.recv().await {
        let Some(state) = state.upgrade() else {
            return;
        };
        state.deliver(&accepted, logs.as_ref()).await;
    }
}

impl EventsState {
    /// What delivery has done so far; all zero for a state that does not deliver.
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.outbox
            .as_ref()
            .map(|outbox| outbox.stats())
            .unwrap_or_default()
    }

    /// Queues `accepted` for delivery without waiting; drops it when the queue is full.
    pub(crate) fn accept(&self, accepted: Accepted) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(dropped)) = outbox.queue.try_send(accepted) {
            outbox.dropped_events.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                bus = %dropped.bus,
                capacity = QUEUE_CAPACITY,
                "EventBridge delivery queue is full: event dropped"
            );
        }
    }

    /// Sends `accepted` to the targets of the rules of its bus that it matches.
    async fn deliver(&self, accepted: &Accepted, logs: &dyn LogGroups) {
        let tenant = &accepted.tenant;
        let matched = self
            .matching_targets(
                &tenant.account,
                &tenant.region,
                &accepted.bus,
                &accepted.event,
            )
            .await;
        let deliveries = match matched {
            Ok(deliveries) => deliveries,
            Err(error) => {
                tracing::warn!(%error, bus = %accepted.bus, "cannot match an event to rules");
                return;
            }
        };
        for delivery in &deliveries {
            for target in &delivery.targets {
                let outcome = self.invoke(accepted, delivery, target, logs).await;
                let Some(outbox) = &self.outbox else {
                    continue;
                };
                outbox.invocations.fetch_add(1, Ordering::Relaxed);
                if let Err(reason) = outcome {
                    outbox.failed_invocations.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        rule = %delivery.rule_arn,
                        target = %target.arn,
                        %reason,
                        "event not delivered to target"
                    );
                }
            }
        }
    }

    async fn invoke(
        &self,
        accepted: &Accepted,
        delivery: &Delivery,
        target: &Target,
        logs: &dyn LogGroups,
    ) -> Result<(), String> {
        let tenant = &accepted.tenant;
        match TargetKind::of(&target.arn, tenant) {
            TargetKind::LogGroup(group) => {
                let invocation = Invocation {
                    rule_arn: &delivery.rule_arn,
                    rule_name: &delivery.rule_name,
                    ingestion_time: &accepted.ingestion_time,
                };
                let input = target_input(target, &accepted.event, invocation)?;
                let event_time = accepted
                    .event
                    .get("time")
                    .and_then(Value::as_str)
                    .and_then(rfc3339_millis)
                    .unwrap_or_default();
                let (timestamp, message) = log_entry(input, event_time);
                let stream = accepted
                    .event
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let event = LogEvent {
                    account: &tenant.account,
                    region: &tenant.region,
                    group,
                    stream,
                    timestamp,
                    message,
                };
                logs.append(event).await.map_err(|error| error.message)
            }
            TargetKind::Bus(bus) => {
                if accepted.forwarded {
                    return Err("an event forwarded from another bus goes to no further bus".into());
                }
                self.require_bus(tenant, bus)
                    .await
                    .map_err(|error| error.message)?;
                self.accept(Accepted {
                    tenant: tenant.clone(),
                    bus: bus.to_owned(),
                    event: accepted.event.clone(),
                    ingestion_time: rfc3339(self.clock.now()),
                    forwarded: true,
                });
                Ok(())
            }
            TargetKind::NotDelivered => {
                Err("Palisade does not deliver to this kind of target".into())
            }
        }
    }
}

impl EventSink for EventsState {
    /// Puts a service's event on its account and region's `default` bus.
    fn publish(&self, event: ServiceEvent) {
        let id = uuid::Uuid::new_v4().to_string();
        self.accept(Accepted {
            tenant: Tenant {
                account: event.account.as_str().to_owned(),
                region: event.region.as_str().to_owned(),
            },
            bus: DEFAULT.to_owned(),
            event: service_envelope(&id, &event),
            ingestion_time: rfc3339(self.clock.now()),
            forwarded: false,
        });
    }
}

/// Where a target's ARN points, as far as delivery is concerned.
#[derive(Debug, PartialEq, Eq)]
enum TargetKind<'a> {
    /// A log group of the event's account and region, by name.
    LogGroup(&'a str),
    /// An event bus of the event's account and region, by name.
    Bus(&'a str),
    NotDelivered,
}

impl<'a> TargetKind<'a> {
    fn of(arn: &'a str, tenant: &Tenant) -> Self {
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(_partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Self::NotDelivered;
        };
        if region != tenant.region || account != tenant.account {
            return Self::NotDelivered;
        }
        match service {
            "logs" => resource
                .strip_prefix("log-group:")
                .map(|group| group.strip_suffix(":*").unwrap_or(group))
                .filter(|group| !group.is_empty())
                .map_or(Self::NotDelivered, Self::LogGroup),
            "events" => resource
                .strip_prefix("event-bus/")
                .filter(|bus| !bus.is_empty())
                .map_or(Self::NotDelivered, Self::Bus),
            _ => Self::NotDelivered,
        }
    }
}

/// The log event's time and message for `input`: its `timestamp` and `message` when it is an
/// object of that form, else `event_time` and the whole input.
fn log_entry(input: String, event_time: i64) -> (i64, String) {
    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&input)
        && let Some(Value::String(message)) = fields.get("message")
        && fields
            .keys()
            .all(|key| key == "message" || key == "timestamp")
    {
        let timestamp = match fields.get("timestamp") {
            Some(Value::String(time)) => rfc3339_millis(time),
            Some(Value::Number(millis)) => millis.as_i64(),
            _ => None,
        };
        return (timestamp.unwrap_or(event_time), message.clone());
    }
    (event_time, input)
}

/// Milliseconds since the epoch of an RFC 3339 time, such as an event's `time`.
fn rfc3339_millis(time: &str) -> Option<i64> {
    let parsed = OffsetDateTime::parse(time, &Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant {
            account: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
        }
    }

    #[test]
    fn target_kinds_by_arn() {
        let kind = |arn| TargetKind::of(arn, &tenant());
        assert_eq!(
            kind("arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/x"),
            TargetKind::LogGroup("/aws/events/x")
        );
        assert_eq!(
            kind("arn:aws:logs:us-east-1:000000000000:log-group:app:*"),
            TargetKind::LogGroup("app")
        );
        assert_eq!(
            kind("arn:aws:events:us-east-1:000000000000:event-bus/audit"),
            TargetKind::Bus("audit")
        );
        for elsewhere in [
            "arn:aws:logs:eu-west-1:000000000000:log-group:app",
            "arn:aws:events:us-east-1:111111111111:event-bus/audit",
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "arn:aws:sqs:us-east-1:000000000000:queue",
            "not an arn",
        ] {
            assert_eq!(kind(elsewhere), TargetKind::NotDelivered, "{elsewhere}");
        }
    }

    #[test]
    fn log_entries_take_timestamp_and_message_when_given() {
        assert_eq!(
            log_entry(
                r#"{"timestamp": "2024-01-01T00:00:01Z", "message": "hello"}"#.to_owned(),
                5
            ),
            (1_704_067_201_000, "hello".to_owned())
        );
        assert_eq!(
            log_entry(r#"{"message": "hello"}"#.to_owned(), 5),
            (5, "hello".to_owned())
        );
        let other = r#"{"message": "hello", "more": 1}"#.to_owned();
        assert_eq!(log_entry(other.clone(), 5), (5, other));
        assert_eq!(
            log_entry("plain text".to_owned(), 5),
            (5, "plain text".to_owned())
        );
    }
}
