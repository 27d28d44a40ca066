//! Delivery: an event accepted onto a bus (by `PutEvents`, by a service through
//! [`EventSink`], or forwarded from another bus) is first made durable (see `outbox`), then
//! the dispatcher task finds the enabled rules of its bus that it matches and invokes their
//! targets, in rule then target order.
//!
//! Targets:
//! - a CloudWatch Logs log group of the same account and region, through [`LogGroups`]: the
//!   event (after `Input`, `InputPath` or `InputTransformer`) becomes one log event in a stream
//!   named after the event id, created on first use, as AWS names the streams it writes; when
//!   the input is an object `{"timestamp": ..., "message": "..."}` (the form AWS asks of an
//!   input transformer for log groups), the message is its `message` and the log event's time
//!   its `timestamp`, else the message is the whole input and the time the event's `time`;
//! - an event bus, of any account and region: the event, unchanged (same id and fields, its
//!   `account` and `region` those of its origin; a bus target takes no input transformation),
//!   is put on that bus and matched against its rules. A bus of another account takes it only
//!   when its policy allows the rule's account, or the target's `RoleArn` (see `permissions`);
//!   else the attempt fails with `NO_PERMISSIONS`, not retried. As in AWS, an event makes one
//!   hop from bus to bus: an event that arrived from another bus is not forwarded again, and
//!   the attempt fails;
//! - an API destination of the same account and region: an HTTP(S) call (see `http`).
//!
//! Log groups and buses are invoked in turn by the dispatcher; API destinations, which may be
//! slow or hang (or wait for their rate limit), each in a task of their own, so they hold up
//! neither the other targets nor later events; so does each retry. Every other target (Lambda, SQS, SNS, a log
//! group or API destination of another account or region, ...) is not delivered: the
//! invocation fails and is not retried.
//!
//! A failed invocation is retried when its failure is (see [`Failure`] and `retry`), within
//! the target's `RetryPolicy`. When no attempt is left, or the failure is not retried, the
//! event goes to the target's `DeadLetterConfig`: here a CloudWatch Logs log group of the same
//! account and region (AWS takes an SQS queue, which Palisade does not have), which receives
//! one log event per dead letter, in the stream named after the event id: a JSON object whose
//! fields are the message attributes AWS puts on its dead-letter messages (`RULE_ARN`,
//! `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS`, and
//! `EXHAUSTED_RETRY_CONDITION` when a policy limit ended the retries), and `event`, the event.
//! Without a dead-letter queue the event is dropped for that target.
//!
//! At most `QUEUE_CAPACITY` accepted events wait for the dispatcher: `PutEvents` then waits for
//! room, and a service's event is dropped (and counted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use palisade_core::ServiceError;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::service::{BoxFuture, CommonError, ErrorKind};
use palisade_model_events::errors;
use palisade_model_events::types::Target;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::EventsState;
use crate::addresses::Reach;
use crate::buses::DEFAULT;
use crate::db::Tenant;
use crate::events::{rfc3339, service_envelope};
use crate::http::ApiCaller;
use crate::input::{Invocation as Reserved, target_input};
use crate::outbox::{Dispatch, PendingRetry, QueuedEvent, Write, outbox_key, retry_key};
use crate::permissions::{Forwarding, allows_forwarding, bus_of_arn};
use crate::retry::{self, Next, Policy};
use crate::values::to_json;

/// How many accepted events may wait for their first delivery round.
pub(crate) const QUEUE_CAPACITY: usize = 10_000;

/// How long an in-process target (log group, bus) may take before the attempt counts as
/// timed out.
const IN_PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

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

/// What delivery has done since the process started, counted as AWS's metrics of the same
/// names are: `invocations` is every attempt to send an event to a target, retries included.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStats {
    pub invocations: u64,
    pub failed_invocations: u64,
    pub retry_invocation_attempts: u64,
    pub invocations_sent_to_dlq: u64,
    pub invocations_failed_to_be_sent_to_dlq: u64,
    /// Service events dropped because `QUEUE_CAPACITY` events were waiting.
    pub dropped_events: u64,
}

/// Why an invocation failed, as a dead-letter message reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// AWS's `ERROR_CODE`, such as `ERROR_FROM_TARGET`, `TIMEOUT` or `NO_RESOURCE`.
    pub code: &'static str,
    /// `ERROR_MESSAGE`; never holds a secret.
    pub message: String,
    /// Whether another attempt may succeed.
    pub retryable: bool,
    /// What the target asked of the next attempt.
    pub retry_after: Option<RetryAfter>,
}

/// A target's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryAfter {
    Wait(Duration),
    /// A negative value: no more attempts.
    Stop,
}

impl Failure {
    /// A failure another attempt may get past.
    pub fn transient(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    /// A failure every attempt would meet again.
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }

    /// How an in-process service's error counts.
    fn of_service(error: &ServiceError) -> Self {
        match &error.kind {
            ErrorKind::Modeled { code, .. } if code == "ResourceNotFoundException" => {
                Self::permanent("NO_RESOURCE", error.message.clone())
            }
            ErrorKind::Modeled { code, .. } if code == "AccessDeniedException" => {
                Self::permanent("NO_PERMISSIONS", error.message.clone())
            }
            ErrorKind::Modeled { code, .. } if code.contains("Throttl") => {
                Self::transient("THROTTLING", error.message.clone())
            }
            ErrorKind::Modeled { status, .. } if *status >= 500 => {
                Self::transient("INTERNAL_ERROR", error.message.clone())
            }
            ErrorKind::Common(CommonError::InternalFailure) => {
                Self::transient("INTERNAL_ERROR", error.message.clone())
            }
            _ => Self::permanent("INVALID_PARAMETER", error.message.clone()),
        }
    }
}

/// Delivery's half of [`EventsState`]: the channels to its tasks, its bounds and counters.
pub(crate) struct Runtime {
    /// The state this runtime belongs to, for the tasks it starts.
    pub(crate) this: Weak<EventsState>,
    writes: mpsc::UnboundedSender<Write>,
    /// One permit per accepted event until the dispatcher has taken it.
    capacity: Arc<Semaphore>,
    logs: Arc<dyn LogGroups>,
    /// HTTP calls to API destinations, built at the first (loading the system's root
    /// certificates costs memory a server without API destinations need not hold); none when
    /// no HTTP client could be built.
    api: OnceLock<Option<ApiCaller>>,
    /// The addresses API destinations may call.
    reach: Reach,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    invocations: AtomicU64,
    failed_invocations: AtomicU64,
    retry_invocation_attempts: AtomicU64,
    invocations_sent_to_dlq: AtomicU64,
    invocations_failed_to_be_sent_to_dlq: AtomicU64,
    dropped_events: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Runtime {
    /// The runtime of the state `this`, writing through `writes`, delivering to log groups
    /// through `logs` and to API destinations within `reach`.
    pub fn new(
        this: Weak<EventsState>,
        writes: mpsc::UnboundedSender<Write>,
        logs: Arc<dyn LogGroups>,
        reach: Reach,
    ) -> Self {
        Self {
            this,
            writes,
            capacity: Arc::new(Semaphore::new(QUEUE_CAPACITY)),
            logs,
            api: OnceLock::new(),
            reach,
            counters: Counters::default(),
        }
    }

    /// The HTTP client for API destinations; none when it cannot be built.
    pub(crate) fn api(&self) -> Option<&ApiCaller> {
        self.api
            .get_or_init(|| match ApiCaller::new(self.reach) {
                Ok(api) => Some(api),
                Err(error) => {
                    tracing::warn!(%error, "API destinations cannot be invoked");
                    None
                }
            })
            .as_ref()
    }

    fn write(&self, write: Write) {
        // The writer ends only once the runtime is dropped.
        let _ = self.writes.send(write);
    }

    fn stats(&self) -> DeliveryStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counters = &self.counters;
        DeliveryStats {
            invocations: read(&counters.invocations),
            failed_invocations: read(&counters.failed_invocations),
            retry_invocation_attempts: read(&counters.retry_invocation_attempts),
            invocations_sent_to_dlq: read(&counters.invocations_sent_to_dlq),
            invocations_failed_to_be_sent_to_dlq: read(
                &counters.invocations_failed_to_be_sent_to_dlq,
            ),
            dropped_events: read(&counters.dropped_events),
        }
    }
}

/// One attempt to send one event to one target of one rule.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    /// Its key among the retries.
    pub key: String,
    pub event: Arc<QueuedEvent>,
    pub rule_arn: String,
    pub rule_name: String,
    pub target: Target,
    /// Retry attempts made before this one.
    pub retries: u32,
}

impl Invocation {
    /// What the target's input template knows of the rule and the event's arrival.
    pub fn reserved(&self) -> Reserved<'_> {
        Reserved {
            rule_arn: &self.rule_arn,
            rule_name: &self.rule_name,
            ingestion_time: &self.event.ingestion_time,
        }
    }
}

/// The dispatcher task: delivers each durable event in turn, until the service is dropped.
pub(crate) async fn dispatch(
    state: Weak<EventsState>,
    mut queue: mpsc::UnboundedReceiver<Dispatch>,
) {
    while let Some(item) = queue.recv().await {
        let Some(state) = state.upgrade() else {
            return;
        };
        state.dispatch_one(item).await;
    }
}

impl EventsState {
    /// What delivery has done so far; all zero for a state that does not deliver.
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.runtime
            .as_ref()
            .map(Runtime::stats)
            .unwrap_or_default()
    }

    /// Accepts `events` for delivery and answers, for each, whether it is durable (an event that
    /// is not will not be delivered). Waits for room when `QUEUE_CAPACITY` events are waiting.
    pub(crate) async fn accept_durably(&self, events: Vec<QueuedEvent>) -> Vec<bool> {
        let Some(runtime) = &self.runtime else {
            return vec![true; events.len()];
        };
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            let permit = Arc::clone(&runtime.capacity).acquire_owned().await.ok();
            let (done, durable) = oneshot::channel();
            runtime.write(Write::Accept {
                key: outbox_key(event.ingestion_millis),
                event,
                permit,
                durable: Some(done),
            });
            answers.push(durable);
        }
        let mut stored = Vec::with_capacity(answers.len());
        for answer in answers {
            stored.push(answer.await.unwrap_or(false));
        }
        stored
    }

    /// Accepts `event` for delivery without waiting; drops it when `QUEUE_CAPACITY` events are
    /// waiting.
    fn accept(&self, event: QueuedEvent) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let Ok(permit) = Arc::clone(&runtime.capacity).try_acquire_owned() else {
            count(&runtime.counters.dropped_events);
            tracing::warn!(
                bus = %event.bus,
                capacity = QUEUE_CAPACITY,
                "EventBridge delivery queue is full: event dropped"
            );
            return;
        };
        runtime.write(Write::Accept {
            key: outbox_key(event.ingestion_millis),
            event,
            permit: Some(permit),
            durable: None,
        });
    }

    /// Sends `item` to the targets of the rules of its bus that it matches.
    async fn dispatch_one(self: &Arc<Self>, item: Dispatch) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let Dispatch { key, event, permit } = item;
        // Taken by the dispatcher, the event no longer waits in the queue.
        drop(permit);
        let tenant = &event.tenant;
        let matched = match &event.schedule_of {
            Some(rule) => self.rule_targets(tenant, &event.bus, rule).await,
            None => {
                self.matching_targets(&tenant.account, &tenant.region, &event.bus, &event.event)
                    .await
            }
        };
        let deliveries = match matched {
            Ok(deliveries) => deliveries,
            Err(error) => {
                // It stays in the outbox, and is delivered again when the server restarts.
                tracing::warn!(%error, bus = %event.bus, "cannot match an event to rules");
                return;
            }
        };
        let invocations: Vec<Invocation> = deliveries
            .into_iter()
            .filter(|delivery| event.reaches(&delivery.rule_arn))
            .flat_map(|delivery| {
                let key = &key;
                let event = &event;
                delivery.targets.into_iter().map(move |target| Invocation {
                    key: retry_key(key, &delivery.rule_arn, &target.id),
                    event: Arc::clone(event),
                    rule_arn: delivery.rule_arn.clone(),
                    rule_name: delivery.rule_name.clone(),
                    target,
                    retries: 0,
                })
            })
            .collect();
        let round = Arc::new(Round {
            key,
            open: Mutex::new(Open {
                remaining: invocations.len(),
                retries: Vec::new(),
            }),
        });
        if invocations.is_empty() {
            round.settle(runtime, None);
            return;
        }
        for invocation in invocations {
            let remote = matches!(
                TargetKind::of(&invocation.target.arn, &invocation.event.tenant),
                TargetKind::ApiDestination(_)
            );
            if remote {
                let state = Arc::clone(self);
                let round = Arc::clone(&round);
                tokio::spawn(async move {
                    let Some(runtime) = &state.runtime else {
                        return;
                    };
                    let retry = state.attempt(runtime, &invocation).await;
                    round.settle(runtime, retry.map(|retry| (invocation.key, retry)));
                });
            } else {
                let retry = self.attempt(runtime, &invocation).await;
                round.settle(runtime, retry.map(|retry| (invocation.key, retry)));
            }
        }
    }

    /// Runs a retry that fell due.
    pub(crate) async fn run_retry(&self, key: String, retry: PendingRetry) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let target = match crate::values::from_json::<Target>(&retry.target) {
            Ok(target) => target,
            Err(error) => {
                tracing::warn!(%error, "a waiting EventBridge retry names an unreadable target");
                runtime.write(Write::Retried { key, retry: None });
                return;
            }
        };
        let invocation = Invocation {
            key: key.clone(),
            event: Arc::new(retry.event),
            rule_arn: retry.rule_arn,
            rule_name: retry.rule_name,
            target,
            retries: retry.retries,
        };
        let next = self.attempt(runtime, &invocation).await;
        runtime.write(Write::Retried { key, retry: next });
    }

    /// Makes `invocation` and settles its outcome: answers the retry to wait for, if any, after
    /// dead-lettering the event when no attempt is left.
    async fn attempt(&self, runtime: &Runtime, invocation: &Invocation) -> Option<PendingRetry> {
        // The backoff counts from the attempt's start.
        let started = self.clock.now_millis();
        count(&runtime.counters.invocations);
        if invocation.retries > 0 {
            count(&runtime.counters.retry_invocation_attempts);
        }
        let failure = self.invoke(runtime, invocation).await.err()?;
        count(&runtime.counters.failed_invocations);
        tracing::debug!(
            rule = %invocation.rule_arn,
            target = %invocation.target.arn,
            code = failure.code,
            reason = %failure.message,
            "event not delivered to target"
        );
        let next = retry::next(
            Policy::of(&invocation.target),
            &failure,
            invocation.retries,
            invocation.event.ingestion_millis,
            started,
            retry::seed(&invocation.key, invocation.retries),
        );
        match next {
            Next::Retry { due_millis } => Some(PendingRetry {
                event: QueuedEvent::clone(&invocation.event),
                rule_arn: invocation.rule_arn.clone(),
                rule_name: invocation.rule_name.clone(),
                target: to_json(invocation.target.clone()),
                retries: invocation.retries + 1,
                due_millis,
            }),
            Next::GiveUp { exhausted } => {
                self.dead_letter(runtime, invocation, &failure, exhausted)
                    .await;
                None
            }
        }
    }

    async fn invoke(&self, runtime: &Runtime, invocation: &Invocation) -> Result<(), Failure> {
        let tenant = &invocation.event.tenant;
        let in_process = match TargetKind::of(&invocation.target.arn, tenant) {
            TargetKind::LogGroup(group) => {
                let input = target_input(
                    &invocation.target,
                    &invocation.event.event,
                    invocation.reserved(),
                )
                .map_err(|reason| Failure::permanent("INVALID_JSON", reason))?;
                let event_time = invocation
                    .event
                    .event
                    .get("time")
                    .and_then(Value::as_str)
                    .and_then(rfc3339_millis)
                    .unwrap_or_default();
                let (timestamp, message) = log_entry(input, event_time);
                let event = LogEvent {
                    account: &tenant.account,
                    region: &tenant.region,
                    group,
                    stream: invocation.event.id(),
                    timestamp,
                    message,
                };
                tokio::time::timeout(IN_PROCESS_TIMEOUT, runtime.logs.append(event)).await
            }
            TargetKind::Bus { to, name } => {
                tokio::time::timeout(IN_PROCESS_TIMEOUT, self.forward(invocation, to, name)).await
            }
            TargetKind::ApiDestination(name) => {
                return match runtime.api() {
                    Some(api) => api.invoke(self, invocation, name).await,
                    None => Err(Failure::permanent(
                        "SDK_CLIENT_ERROR",
                        "Palisade has no HTTP client to invoke API destinations with.",
                    )),
                };
            }
            TargetKind::NotDelivered => {
                return Err(Failure::permanent(
                    "NO_RESOURCE",
                    "Palisade does not deliver to this kind of target.",
                ));
            }
        };
        match in_process {
            Err(_) => Err(Failure::transient(
                "TIMEOUT",
                "The target did not answer in time.",
            )),
            Ok(outcome) => outcome.map_err(|error| Failure::of_service(&error)),
        }
    }

    /// Puts the event of `invocation` on `bus` of `to`, one hop only; on another account's bus
    /// only when its policy allows.
    async fn forward(
        &self,
        invocation: &Invocation,
        to: Tenant,
        bus: &str,
    ) -> Result<(), ServiceError> {
        let event = &invocation.event;
        if event.forwarded {
            return Err(ServiceError::validation(
                "An event forwarded from another bus goes to no further bus.",
            ));
        }
        self.require_bus(&to, bus).await?;
        if to.account != event.tenant.account {
            let bus_arn = to.bus_arn(bus);
            let forwarding = Forwarding {
                source_account: &event.tenant.account,
                role_arn: invocation.target.role_arn.as_deref(),
                bus_account: &to.account,
                bus_arn: &bus_arn,
                event: &event.event,
            };
            let document = self.policy_of(&to, bus).await?;
            if !allows_forwarding(document.as_deref(), &forwarding) {
                return Err(errors::access_denied_exception(format!(
                    "The policy of event bus {bus_arn} does not allow events from {}.",
                    forwarding.role_arn.unwrap_or(&event.tenant.account)
                )));
            }
        }
        let Some(runtime) = &self.runtime else {
            return Ok(());
        };
        // No capacity permit: a forwarded event is bounded by the one hop, and waiting for room
        // here could wait on this very dispatcher. Written ahead of the end of this event's
        // round, so it is durable no later than that end.
        let now = self.clock.now();
        runtime.write(Write::Accept {
            key: outbox_key(palisade_core::clock::millis_since_epoch(now)),
            event: QueuedEvent {
                tenant: to,
                bus: bus.to_owned(),
                event: event.event.clone(),
                ingestion_time: rfc3339(now),
                ingestion_millis: palisade_core::clock::millis_since_epoch(now),
                forwarded: true,
                rules: None,
                schedule_of: None,
            },
            permit: None,
            durable: None,
        });
        Ok(())
    }

    /// Sends the event of `invocation` to its target's dead-letter queue, if it has one.
    async fn dead_letter(
        &self,
        runtime: &Runtime,
        invocation: &Invocation,
        failure: &Failure,
        exhausted: Option<&'static str>,
    ) {
        let Some(queue) = invocation
            .target
            .dead_letter_config
            .as_ref()
            .and_then(|config| config.arn.as_deref())
        else {
            return;
        };
        let tenant = &invocation.event.tenant;
        let TargetKind::LogGroup(group) = TargetKind::of(queue, tenant) else {
            count(&runtime.counters.invocations_failed_to_be_sent_to_dlq);
            tracing::debug!(%queue, "Palisade sends dead letters only to log groups");
            return;
        };
        let mut letter = json!({
            "RULE_ARN": invocation.rule_arn,
            "TARGET_ARN": invocation.target.arn,
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message,
            "RETRY_ATTEMPTS": invocation.retries.to_string(),
        });
        if let (Some(condition), Some(fields)) = (exhausted, letter.as_object_mut()) {
            fields.insert("EXHAUSTED_RETRY_CONDITION".to_owned(), json!(condition));
        }
        if let Some(fields) = letter.as_object_mut() {
            fields.insert("event".to_owned(), invocation.event.event.clone());
        }
        let written = runtime
            .logs
            .append(LogEvent {
                account: &tenant.account,
                region: &tenant.region,
                group,
                stream: invocation.event.id(),
                timestamp: self.clock.now_millis(),
                message: letter.to_string(),
            })
            .await;
        match written {
            Ok(()) => count(&runtime.counters.invocations_sent_to_dlq),
            Err(error) => {
                count(&runtime.counters.invocations_failed_to_be_sent_to_dlq);
                tracing::debug!(%error, %queue, "dead letter not written");
            }
        }
    }
}

/// The first delivery round of one event: it ends when every invocation has settled.
struct Round {
    key: String,
    open: Mutex<Open>,
}

struct Open {
    remaining: usize,
    retries: Vec<(String, PendingRetry)>,
}

impl Round {
    /// Records one invocation's outcome (`retry`, under its key, when it waits for another
    /// attempt); the last one ends the round.
    fn settle(&self, runtime: &Runtime, retry: Option<(String, PendingRetry)>) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retries.extend(retry);
        open.remaining = open.remaining.saturating_sub(1);
        if open.remaining == 0 {
            runtime.write(Write::Handled {
                key: self.key.clone(),
                retries: std::mem::take(&mut open.retries),
            });
        }
    }
}

impl EventSink for EventsState {
    /// Puts a service's event on its account and region's `default` bus.
    fn publish(&self, event: ServiceEvent) {
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now();
        self.accept(QueuedEvent {
            tenant: Tenant {
                account: event.account.as_str().to_owned(),
                region: event.region.as_str().to_owned(),
            },
            bus: DEFAULT.to_owned(),
            event: service_envelope(&id, &event),
            ingestion_time: rfc3339(now),
            ingestion_millis: palisade_core::clock::millis_since_epoch(now),
            forwarded: false,
            rules: None,
            schedule_of: None,
        });
    }
}

/// Where a target's ARN points, as far as delivery is concerned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TargetKind<'a> {
    /// A log group of the event's account and region, by name.
    LogGroup(&'a str),
    /// An event bus of any account and region, by name.
    Bus {
        to: Tenant,
        name: &'a str,
    },
    /// An API destination of the event's account and region, by name.
    ApiDestination(&'a str),
    NotDelivered,
}

impl<'a> TargetKind<'a> {
    pub fn of(arn: &'a str, tenant: &Tenant) -> Self {
        if let Some((to, name)) = bus_of_arn(arn) {
            return Self::Bus { to, name };
        }
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
        let named = |name: Option<&'a str>, kind: fn(&'a str) -> Self| {
            name.filter(|name| !name.is_empty())
                .map_or(Self::NotDelivered, kind)
        };
        match service {
            "logs" => named(
                resource
                    .strip_prefix("log-group:")
                    .map(|group| group.strip_suffix(":*").unwrap_or(group)),
                Self::LogGroup,
            ),
            // `api-destination/<name>/<id>`: the name is what the store knows it by.
            "events" => named(
                resource
                    .strip_prefix("api-destination/")
                    .and_then(|rest| rest.split('/').next()),
                Self::ApiDestination,
            ),
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
pub(crate) fn rfc3339_millis(time: &str) -> Option<i64> {
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
            TargetKind::Bus {
                to: tenant(),
                name: "audit"
            }
        );
        // Buses of other accounts and regions are delivered to as well.
        assert_eq!(
            kind("arn:aws:events:eu-west-1:111111111111:event-bus/central"),
            TargetKind::Bus {
                to: Tenant {
                    account: "111111111111".to_owned(),
                    region: "eu-west-1".to_owned(),
                },
                name: "central"
            }
        );
        assert_eq!(
            kind(
                "arn:aws:events:us-east-1:000000000000:api-destination/hook/0b3c7e1a-8a43-4a5e-9d6c-1f4b1f3e9a10"
            ),
            TargetKind::ApiDestination("hook")
        );
        for elsewhere in [
            "arn:aws:logs:eu-west-1:000000000000:log-group:app",
            "arn:aws:events:us-east-1:000000000000:event-bus/",
            "arn:aws:events:us-east-1:111111111111:api-destination/hook/0b3c7e1a",
            "arn:aws:events:us-east-1:000000000000:api-destination/",
            "arn:aws:events:us-east-1:000000000000:rule/r",
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

    #[test]
    fn service_errors_decide_retries() {
        let not_found = palisade_model_events::errors::resource_not_found_exception("gone");
        assert_eq!(Failure::of_service(&not_found).code, "NO_RESOURCE");
        assert!(!Failure::of_service(&not_found).retryable);
        let internal = ServiceError::internal("disk");
        assert!(Failure::of_service(&internal).retryable);
        let denied = palisade_model_events::errors::access_denied_exception("policy");
        assert_eq!(Failure::of_service(&denied).code, "NO_PERMISSIONS");
        assert!(!Failure::of_service(&denied).retryable);
        let invalid = ServiceError::validation("too old");
        assert!(!Failure::of_service(&invalid).retryable);
    }
}
