//! Replays: `StartReplay` sends the events an archive holds from a window of event time
//! (`EventStartTime` included, `EventEndTime` not) back to the archive's bus, the only
//! destination AWS allows, each with the `replay-name` field AWS adds, to the rules of that bus
//! they match (only those of `FilterArns`, when given). Replayed events are not archived again.
//!
//! Each replay runs in a task of its own, `STARTING` → `RUNNING` → `COMPLETED`: it reads the
//! archive in event-time order a page at a time, and each page's events are accepted onto the
//! bus (stored, as `PutEvents`'s entries are) before the replay's record moves past them.
//! `CancelReplay` makes a replay `CANCELLING`; its task stops after the page in hand and makes
//! it `CANCELLED`. A replay whose archive or bus is gone, or whose events cannot be stored, ends
//! `FAILED` with the reason.
//!
//! At least once: when the server starts, replays left `STARTING` or `RUNNING` resume from the
//! last page recorded, which may be sent a second time, and `CANCELLING` ones end `CANCELLED`.
//! The record names the process running it; a process that resumes a replay takes it over, and
//! the one it took it from (another node sharing PostgreSQL) stops after its page in hand.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use palisade_core::clock::millis_since_epoch;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::EventsState;
use crate::archives::{
    ArchiveRecord, Listed, Listing, archived_before, archived_prefix, archived_time,
};
use crate::buses::DEFAULT;
use crate::db::{ARCHIVED, ARCHIVES, REPLAYS, Tenant, plain};
use crate::events::rfc3339;
use crate::outbox::QueuedEvent;

/// The envelope field AWS adds to a replayed event: the replay's name.
pub(crate) const REPLAY_NAME: &str = "replay-name";

/// AWS's quota of replays under way at once, per account and region.
const MAX_ACTIVE_REPLAYS: usize = 10;

/// Archived events read (and accepted onto the bus) at a time.
const PAGE: usize = 100;

/// A replay and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReplayRecord {
    pub tenant: Tenant,
    pub name: String,
    pub description: Option<String>,
    /// The archive's ARN, as given.
    pub event_source_arn: String,
    pub archive: String,
    /// The archive's id when the replay started: one created again under its name is another.
    pub archive_id: String,
    /// The destination bus, by name.
    pub bus: String,
    pub destination_arn: String,
    pub filter_arns: Option<Vec<String>>,
    /// The rules of `filter_arns`, as delivery names them.
    pub rules: Option<Vec<String>>,
    pub event_start_millis: i64,
    pub event_end_millis: i64,
    /// A `ReplayState`.
    pub state: String,
    pub state_reason: Option<String>,
    pub started_millis: i64,
    pub ended_millis: Option<i64>,
    /// The time of the last event sent.
    pub last_replayed_millis: Option<i64>,
    /// The archive key of the last event sent.
    pub cursor: Option<String>,
    /// The process running it.
    pub runner: String,
}

impl Listed for ReplayRecord {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_arn(&self, _tenant: &Tenant) -> String {
        self.event_source_arn.clone()
    }

    fn state(&self) -> &str {
        &self.state
    }
}

impl ReplayRecord {
    fn is_active(&self) -> bool {
        [
            ReplayState::Starting,
            ReplayState::Running,
            ReplayState::Cancelling,
        ]
        .iter()
        .any(|state| state.as_str() == self.state)
    }

    fn end(&mut self, state: ReplayState, reason: Option<String>, now_millis: i64) {
        self.state = state.as_str().to_owned();
        self.state_reason = reason;
        self.ended_millis = Some(now_millis);
    }
}

/// This process's replay runner: its name in the records, and the way to the replays task.
pub(crate) struct Runner {
    id: String,
    starts: mpsc::UnboundedSender<String>,
}

impl Runner {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (starts, started) = mpsc::unbounded_channel();
        let runner = Self {
            id: uuid::Uuid::new_v4().to_string(),
            starts,
        };
        (runner, started)
    }
}

/// The replays task: resumes what an earlier run left unfinished, then runs each replay
/// started (by its record's key), each in a task of its own, until the service is dropped.
pub(crate) async fn run(state: Weak<EventsState>, mut started: mpsc::UnboundedReceiver<String>) {
    // A replay started while the earlier ones were being read is found both ways: it runs once.
    let mut running: HashSet<String> = HashSet::new();
    if let Some(state) = state.upgrade() {
        match state.scan_all::<ReplayRecord>(REPLAYS, "").await {
            Ok(replays) => {
                for (key, replay) in replays {
                    if replay.is_active() && running.insert(key.clone()) {
                        tracing::info!(replay = %replay.name, "EventBridge resumes a replay");
                        tokio::spawn(Arc::clone(&state).replay(key));
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "unfinished EventBridge replays not read"),
        }
    }
    while let Some(key) = started.recv().await {
        let Some(state) = state.upgrade() else {
            return;
        };
        if running.insert(key.clone()) {
            tokio::spawn(state.replay(key));
        }
    }
}

/// What one page of a replay sent.
struct Page {
    events: Vec<QueuedEvent>,
    /// The key of the last archived event read.
    cursor: Option<String>,
    last_replayed_millis: Option<i64>,
    /// Nothing of the window is left.
    done: bool,
}

impl EventsState {
    /// Runs the replay under `key` to its end (or until another process takes it over).
    async fn replay(self: Arc<Self>, key: String) {
        let Some(runner) = &self.replays else {
            return;
        };
        let mut replay = match self.advance(&key, runner, None).await {
            Ok(Some(replay)) => replay,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, %key, "a replay could not start");
                return;
            }
        };
        loop {
            let page = match self.replay_page(&replay).await {
                Ok(page) => page,
                Err(reason) => {
                    self.fail(&key, runner, reason).await;
                    return;
                }
            };
            if !page.events.is_empty() {
                let stored = self.accept_durably(page.events).await;
                if stored.contains(&false) {
                    self.fail(
                        &key,
                        runner,
                        "The replayed events could not be stored.".into(),
                    )
                    .await;
                    return;
                }
            }
            let progress = (page.cursor, page.last_replayed_millis, page.done);
            replay = match self.advance(&key, runner, Some(progress)).await {
                Ok(Some(replay)) => replay,
                Ok(None) => return,
                Err(error) => {
                    self.fail(&key, runner, error.message).await;
                    return;
                }
            };
        }
    }

    /// Moves the replay under `key` on: first (`progress` none) takes it over and makes it
    /// `RUNNING`; then records the page sent (cursor, last event time, whether the window is
    /// done). Answers the replay while it should go on; none once it has ended, was cancelled,
    /// or belongs to another process.
    async fn advance(
        &self,
        key: &str,
        runner: &Runner,
        progress: Option<(Option<String>, Option<i64>, bool)>,
    ) -> Result<Option<ReplayRecord>, ServiceError> {
        self.mutate(|| async {
            let Some(mut replay) = self.get::<ReplayRecord>(REPLAYS, key).await? else {
                return Ok((Transaction::new(), None));
            };
            let record = &mut replay.value;
            let taken_over = progress.is_some() && record.runner != runner.id;
            if taken_over || !record.is_active() {
                return Ok((Transaction::new(), None));
            }
            record.runner.clone_from(&runner.id);
            let now = self.now_millis();
            let mut done = false;
            if let Some((cursor, last, finished)) = &progress {
                if cursor.is_some() {
                    record.cursor.clone_from(cursor);
                }
                if last.is_some() {
                    record.last_replayed_millis = *last;
                }
                done = *finished;
            }
            let going_on = if record.state == ReplayState::Cancelling.as_str() {
                record.end(ReplayState::Cancelled, None, now);
                false
            } else if done {
                record.end(ReplayState::Completed, None, now);
                false
            } else {
                record.state = ReplayState::Running.as_str().to_owned();
                true
            };
            let txn = replay.replace(Transaction::new(), REPLAYS, key, plain(&replay.value)?);
            Ok((txn, going_on.then_some(replay.value)))
        })
        .await
    }

    /// Ends the replay under `key` `FAILED`, unless it already ended or another process runs it.
    async fn fail(&self, key: &str, runner: &Runner, reason: String) {
        let ended = self
            .mutate(|| async {
                let Some(mut replay) = self.get::<ReplayRecord>(REPLAYS, key).await? else {
                    return Ok((Transaction::new(), ()));
                };
                if replay.value.runner != runner.id || !replay.value.is_active() {
                    return Ok((Transaction::new(), ()));
                }
                replay
                    .value
                    .end(ReplayState::Failed, Some(reason.clone()), self.now_millis());
                let txn = replay.replace(Transaction::new(), REPLAYS, key, plain(&replay.value)?);
                Ok((txn, ()))
            })
            .await;
        if let Err(error) = ended {
            tracing::warn!(%error, %key, %reason, "a failed replay could not be marked failed");
        }
    }

    /// The next page of `replay`'s window, as events for its bus; `Err` with the reason the
    /// replay fails.
    async fn replay_page(&self, replay: &ReplayRecord) -> Result<Page, String> {
        let tenant = &replay.tenant;
        let archive = self
            .get::<ArchiveRecord>(ARCHIVES, &tenant.key(&replay.archive))
            .await
            .map_err(|error| error.message)?
            .filter(|archive| archive.value.id == replay.archive_id)
            .ok_or_else(|| format!("Archive {} does not exist.", replay.archive))?
            .value;
        self.require_bus(tenant, &replay.bus)
            .await
            .map_err(|error| error.message)?;
        let id = &replay.archive_id;
        let after = replay
            .cursor
            .clone()
            .unwrap_or_else(|| archived_before(id, replay.event_start_millis));
        let rows = self
            .store
            .scan(ARCHIVED, &archived_prefix(id), Some(&after), PAGE)
            .await
            .map_err(|error| format!("The archive could not be read: {error}"))?;
        let now = self.clock.now();
        let now_millis = millis_since_epoch(now);
        let kept_from = archive.retained_from(now_millis).unwrap_or(i64::MIN);
        let mut page = Page {
            events: Vec::new(),
            cursor: None,
            last_replayed_millis: None,
            done: rows.len() < PAGE,
        };
        for (key, entry) in rows {
            let Some(time) = archived_time(id, &key) else {
                continue;
            };
            if time >= replay.event_end_millis {
                page.done = true;
                break;
            }
            page.cursor = Some(key.clone());
            if time < kept_from {
                continue;
            }
            let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(entry.value.bytes())
            else {
                tracing::warn!(%key, "an unreadable archived event was not replayed");
                continue;
            };
            event.insert(REPLAY_NAME.to_owned(), Value::String(replay.name.clone()));
            page.last_replayed_millis = Some(time);
            page.events.push(QueuedEvent {
                tenant: tenant.clone(),
                bus: replay.bus.clone(),
                event: Value::Object(event),
                ingestion_time: rfc3339(now),
                ingestion_millis: now_millis,
                forwarded: false,
                rules: replay.rules.clone(),
                schedule_of: None,
            });
        }
        Ok(page)
    }
}

fn replay_not_found(name: &str) -> ServiceError {
    errors::resource_not_found_exception(format!("Replay {name} does not exist."))
}

/// Milliseconds since the epoch of a request's time; a time before the epoch counts as the
/// epoch, when no archived event is older.
fn millis(time: Timestamp) -> i64 {
    if time.0 <= 0.0 {
        return 0;
    }
    Duration::try_from_secs_f64(time.0).map_or(i64::MAX, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

pub(crate) async fn start(
    state: &EventsState,
    ctx: &RequestContext,
    input: StartReplayRequest,
) -> Result<StartReplayResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let destination = &input.destination;
    let Some(bus) = tenant.name_in_arn("event-bus", &destination.arn) else {
        return Err(ServiceError::validation(
            "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.",
        ));
    };
    state.require_bus(&tenant, bus).await?;
    let archive_name = tenant
        .name_in_arn("archive", &input.event_source_arn)
        .unwrap_or_else(|| {
            let arn = input.event_source_arn.as_str();
            arn.rsplit_once('/').map_or(arn, |(_, name)| name)
        });
    let archive = match tenant.name_in_arn("archive", &input.event_source_arn) {
        Some(name) => {
            state
                .get::<ArchiveRecord>(ARCHIVES, &tenant.key(name))
                .await?
        }
        None => None,
    };
    let Some(archive) = archive.map(|archive| archive.value) else {
        return Err(ServiceError::validation(format!(
            "Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist."
        )));
    };
    if archive.bus != bus {
        return Err(ServiceError::validation(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not \
             permitted.",
        ));
    }
    let (start, end) = (millis(input.event_start_time), millis(input.event_end_time));
    if start > end {
        return Err(ServiceError::validation(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before \
             EventEndTime.",
        ));
    }
    let rules = match &destination.filter_arns {
        None => None,
        Some(arns) => Some(filter_rules(state, &tenant, bus, arns).await?),
    };
    let runner = state.replays.as_ref().map(|runner| runner.id.clone());
    let record = ReplayRecord {
        tenant: tenant.clone(),
        name: input.replay_name.clone(),
        description: input.description,
        event_source_arn: input.event_source_arn.clone(),
        archive: archive.name,
        archive_id: archive.id,
        bus: bus.to_owned(),
        destination_arn: destination.arn.clone(),
        filter_arns: destination.filter_arns.clone(),
        rules,
        event_start_millis: start,
        event_end_millis: end,
        state: ReplayState::Starting.as_str().to_owned(),
        state_reason: None,
        started_millis: state.now_millis(),
        ended_millis: None,
        last_replayed_millis: None,
        cursor: None,
        runner: runner.unwrap_or_default(),
    };
    let key = tenant.key(&record.name);
    state
        .mutate(|| async {
            if state.get::<ReplayRecord>(REPLAYS, &key).await?.is_some() {
                return Err(errors::resource_already_exists_exception(format!(
                    "Replay {} already exists.",
                    record.name
                )));
            }
            let replays: Vec<(String, ReplayRecord)> =
                state.scan_all(REPLAYS, &tenant.prefix()).await?;
            let active = replays.iter().filter(|(_, replay)| replay.is_active());
            if active.count() >= MAX_ACTIVE_REPLAYS {
                return Err(errors::limit_exceeded_exception(format!(
                    "At most {MAX_ACTIVE_REPLAYS} replays can run at once in an account and \
                     Region."
                )));
            }
            let txn =
                Transaction::new()
                    .expect_absent(REPLAYS, &key)
                    .put(REPLAYS, &key, plain(&record)?);
            Ok((txn, ()))
        })
        .await?;
    if let Some(runner) = &state.replays {
        // The task ends only once the runner is dropped.
        let _ = runner.starts.send(key);
    }
    Ok(StartReplayResponse {
        replay_arn: Some(tenant.named_arn("replay", &record.name)),
        state: Some(ReplayState::Starting),
        state_reason: None,
        replay_start_time: Some(Timestamp::from_millis(record.started_millis)),
    })
}

/// The rules `arns` name, as delivery names them; each must be a rule of `bus`.
async fn filter_rules(
    state: &EventsState,
    tenant: &Tenant,
    bus: &str,
    arns: &[String],
) -> Result<Vec<String>, ServiceError> {
    let mut rules = Vec::with_capacity(arns.len());
    for arn in arns {
        let named = tenant.name_in_arn("rule", arn);
        let (rule_bus, rule) = match named.map(|named| named.split_once('/')) {
            Some(Some((rule_bus, rule))) => (rule_bus, rule),
            Some(None) => (DEFAULT, named.unwrap_or_default()),
            None => ("", ""),
        };
        if rule.is_empty() || rule_bus != bus {
            return Err(ServiceError::validation(format!(
                "Parameter Destination.FilterArns is not valid. Reason: {arn} is not the ARN of \
                 a rule on event bus {bus}."
            )));
        }
        state.rule(tenant, bus, rule).await?;
        rules.push(tenant.rule_arn(bus, rule));
    }
    Ok(rules)
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeReplayRequest,
) -> Result<DescribeReplayResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let replay = state
        .get::<ReplayRecord>(REPLAYS, &tenant.key(&input.replay_name))
        .await?
        .ok_or_else(|| replay_not_found(&input.replay_name))?
        .value;
    let summary = summary(replay.clone());
    Ok(DescribeReplayResponse {
        replay_arn: Some(tenant.named_arn("replay", &replay.name)),
        replay_name: summary.replay_name,
        description: replay.description,
        state: summary.state,
        state_reason: summary.state_reason,
        event_source_arn: summary.event_source_arn,
        destination: Some(ReplayDestination {
            arn: replay.destination_arn,
            filter_arns: replay.filter_arns,
        }),
        event_start_time: summary.event_start_time,
        event_end_time: summary.event_end_time,
        event_last_replayed_time: summary.event_last_replayed_time,
        replay_start_time: summary.replay_start_time,
        replay_end_time: summary.replay_end_time,
    })
}

fn summary(replay: ReplayRecord) -> Replay {
    Replay {
        replay_name: Some(replay.name),
        event_source_arn: Some(replay.event_source_arn),
        state: Some(ReplayState::from(replay.state.as_str())),
        state_reason: replay.state_reason,
        event_start_time: Some(Timestamp::from_millis(replay.event_start_millis)),
        event_end_time: Some(Timestamp::from_millis(replay.event_end_millis)),
        event_last_replayed_time: replay.last_replayed_millis.map(Timestamp::from_millis),
        replay_start_time: Some(Timestamp::from_millis(replay.started_millis)),
        replay_end_time: replay.ended_millis.map(Timestamp::from_millis),
    }
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListReplaysRequest,
) -> Result<ListReplaysResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let listing = Listing {
        operation: "ListReplays",
        name_prefix: input.name_prefix.as_deref(),
        event_source_arn: input.event_source_arn.as_deref(),
        state: input.state.as_ref().map(ReplayState::as_str),
        next_token: input.next_token.as_deref(),
        limit: input.limit,
    };
    let (page, next_token) = listing
        .page::<ReplayRecord>(state, &tenant, REPLAYS)
        .await?;
    Ok(ListReplaysResponse {
        replays: Some(page.into_iter().map(summary).collect()),
        next_token,
    })
}

pub(crate) async fn cancel(
    state: &EventsState,
    ctx: &RequestContext,
    input: CancelReplayRequest,
) -> Result<CancelReplayResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = &input.replay_name;
    let key = tenant.key(name);
    state
        .mutate(|| async {
            let mut replay = state
                .get::<ReplayRecord>(REPLAYS, &key)
                .await?
                .ok_or_else(|| replay_not_found(name))?;
            let cancellable = [ReplayState::Starting, ReplayState::Running]
                .iter()
                .any(|state| state.as_str() == replay.value.state);
            if !cancellable {
                return Err(errors::illegal_status_exception(format!(
                    "Replay {name} is not in a valid state for this operation."
                )));
            }
            replay.value.state = ReplayState::Cancelling.as_str().to_owned();
            let txn = replay.replace(Transaction::new(), REPLAYS, &key, plain(&replay.value)?);
            Ok((txn, ()))
        })
        .await?;
    Ok(CancelReplayResponse {
        replay_arn: Some(tenant.named_arn("replay", name)),
        state: Some(ReplayState::Cancelling),
        state_reason: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_times_become_milliseconds() {
        assert_eq!(millis(Timestamp(1_704_067_200.5)), 1_704_067_200_500);
        assert_eq!(millis(Timestamp(-3.0)), 0);
        assert_eq!(millis(Timestamp(f64::MAX)), i64::MAX);
    }
}
