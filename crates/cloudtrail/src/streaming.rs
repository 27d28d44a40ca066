//! Streaming of logging trails' records to their CloudWatch Logs log groups, as AWS sends them:
//! one log event per record, its message the record's JSON and its timestamp the record's
//! `eventTime`, in the stream `<account>_CloudTrail_<region>` of the trail's log group, where
//! the account and region are the record's (`<organization id>_<account>_CloudTrail_<region>`
//! for an organization trail, which streams the records of every account of its organization).
//!
//! A task ([`CloudTrailState::stream_to_log_groups`]) follows the audit journal
//! (`palisade_audit::follow`) rather than the store, so a record is on its way once it is
//! durable, without waiting for the indexer, and each node streams the records of its own calls.
//! For each record it finds the logging trails with a log group that cover it (the record's
//! account, the trail's home region or every region for a multi-Region trail, a time at or after
//! `StartLogging`, and the trail's event selectors, `crate::selection`), and writes each trail's
//! share of a batch with one `PutLogEvents` per stream. CloudTrail sends no record over 256 KB
//! to CloudWatch Logs; neither does this.
//!
//! At least once: the follower's position moves only after a batch has been written, and after a
//! restart or a crash the task resumes there (records journaled meanwhile included), so the
//! records of the batch in hand may be written twice. A write that fails (the log group was
//! deleted, say) is not retried, and its records are not streamed: the trail's status
//! (`LatestCloudWatchLogsDeliveryError` in `GetTrailStatus`) reports it, and later records are
//! tried again. A change to a trail made on this node applies to every call answered after it;
//! one made on another node, within a second, when the task looks at the trails again. While no
//! trail streams, the task reads no records and moves the follower to the journal's end once a
//! second, so the journal need not keep them.
//!
//! State: keyspace [`STREAMING`], one [`StreamingStatus`] per trail under the trail's key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use palisade_audit::follow::FollowedRecord;
use palisade_audit::history;
use palisade_core::service::{BoxFuture, ErrorKind};
use palisade_core::{AccountId, Region, ServiceError};
use palisade_store::Transaction;
use palisade_store::typed::{self, Stored};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::CloudTrailState;
use crate::db::{TRAILS, TrailRecord};
use crate::organization::Coverage;
use crate::selection;

/// Streaming status records, by trail key.
pub(crate) const STREAMING: &str = "cloudtrail/cloudwatch-logs-deliveries";
/// The name the task follows the journal under (its position file is named after it).
const FOLLOWER: &str = "cloudtrail-logs";
/// Most records handled at a time.
const RECORDS_PER_BATCH: usize = 2_048;
/// How long the task lets records gather before it streams fewer than a full batch. Each batch
/// costs a store commit per stream; AWS itself streams with a delay of seconds to minutes.
const GATHER_FOR: Duration = Duration::from_millis(250);
/// How long a reading of the trails serves before the task reads them again, to see changes
/// made on another node.
const TRAILS_FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the task waits before reading the journal or the trails again after a failed read.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// CloudTrail sends no event larger than this to CloudWatch Logs.
const MAX_EVENT_BYTES: usize = 256 * 1024;
/// `PutLogEvents`' limits on one batch: events, bytes (counting 26 per event), and time span.
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD_BYTES: usize = 26;
const MAX_BATCH_SPAN_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// AWS's answer when the role cannot write to the log group; a log group in another account
/// than the trail's is out of its reach.
const ACCESS_DENIED: &str = "Access denied. Check the permissions for your role.";

/// CloudWatch Logs, as CloudTrail streams to it. The server implements it over the Logs service;
/// this crate knows nothing of it.
pub trait TrailLogGroups: Send + Sync + 'static {
    /// Appends `batch.events` to the stream `batch.stream` of the log group `batch.group`,
    /// creating the stream when it does not exist. The events are in time order and within
    /// what one `PutLogEvents` takes.
    fn put<'a>(&'a self, batch: LogBatch<'a>) -> BoxFuture<'a, Result<(), ServiceError>>;
}

/// Log events for one stream of one log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch<'a> {
    /// The log group's account.
    pub account: &'a str,
    /// The log group's region.
    pub region: &'a str,
    /// The log group's name.
    pub group: &'a str,
    /// The log stream's name.
    pub stream: &'a str,
    pub events: Vec<LogEvent>,
}

/// One log event: a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The record's `eventTime`, in milliseconds since the epoch.
    pub timestamp: i64,
    /// The record's JSON.
    pub message: String,
}

/// How a trail's streaming went, as `GetTrailStatus` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StreamingStatus {
    pub latest_delivery_millis: Option<i64>,
    /// The latest failure, cleared by the next success.
    pub latest_delivery_error: Option<String>,
}

/// What each trail's stored status was last written as, by the trail's key and version (a trail
/// changed, or deleted and made again, has its status read afresh).
type Statuses = HashMap<(String, u64), StreamingStatus>;

/// Keeps only the statuses of the trails (as they are now) in `streaming`.
fn forget_other_trails(statuses: &mut Statuses, streaming: &[StreamingTrail]) {
    statuses.retain(|(key, version), _| {
        streaming
            .iter()
            .any(|trail| trail.trail.version == *version && trail.trail.value.key() == *key)
    });
}

/// The streaming trails as the task last read them.
struct TrailsSeen {
    streaming: Vec<StreamingTrail>,
    /// [`CloudTrailState::trails_generation`] when they were read.
    generation: u64,
    /// When to read them again regardless.
    fresh_until: Instant,
}

impl Default for TrailsSeen {
    fn default() -> Self {
        Self {
            streaming: Vec::new(),
            // Never a generation: the first look reads the trails.
            generation: u64::MAX,
            fresh_until: Instant::now(),
        }
    }
}

/// A logging trail with a log group, as the task reads it.
struct StreamingTrail {
    trail: Stored<TrailRecord>,
    group: LogGroup,
    /// The accounts of an organization trail, as they were when the trails were read.
    coverage: Option<Coverage>,
}

impl StreamingTrail {
    /// Whether the trail streams a record of `account` in `region` at `millis`, as far as
    /// accounts, regions and times go.
    fn covers(&self, account: &str, region: &str, millis: i64) -> bool {
        let trail = &self.trail.value;
        let account_covered = match &self.coverage {
            Some(coverage) => coverage.covers(account, millis),
            None => trail.account == account,
        };
        account_covered
            && (trail.is_multi_region_trail || trail.home_region == region)
            && trail
                .start_logging_millis
                .is_some_and(|start| millis >= start)
    }

    /// The stream a record of `account` in `region` goes to.
    fn stream(&self, account: &str, region: &str) -> String {
        match &self.coverage {
            Some(coverage) => format!("{}_{account}_CloudTrail_{region}", coverage.organization_id),
            None => format!("{account}_CloudTrail_{region}"),
        }
    }
}

/// Where a log group ARN, `arn:aws:logs:<region>:<account>:log-group:<name>:*` (the form
/// `CreateTrail` takes), points.
pub(crate) struct LogGroup {
    region: String,
    account: String,
    name: String,
}

impl LogGroup {
    pub(crate) fn parse(arn: &str) -> Option<Self> {
        match arn.split(':').collect::<Vec<_>>().as_slice() {
            [
                "arn",
                "aws",
                "logs",
                region,
                account,
                "log-group",
                name,
                "*",
            ] if Region::parse(region).is_some()
                && AccountId::parse(account).is_some()
                && !name.is_empty() =>
            {
                Some(Self {
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                    name: (*name).to_owned(),
                })
            }
            _ => None,
        }
    }
}

impl CloudTrailState {
    /// Streams logging trails' records to their log groups through `log_groups`.
    pub fn with_log_groups(mut self, log_groups: Arc<dyn TrailLogGroups>) -> Self {
        self.log_groups = Some(log_groups);
        self
    }

    /// Streams trails' records to their log groups until the audit journal stops; the server
    /// runs it as a task. Returns at once without log groups to write to.
    pub async fn stream_to_log_groups(&self) {
        let Some(log_groups) = self.log_groups.clone() else {
            return;
        };
        let mut follower = self.audit.follow(FOLLOWER);
        let mut trails = TrailsSeen::default();
        let mut statuses = Statuses::new();
        loop {
            if self.refresh(&mut trails, false).await {
                forget_other_trails(&mut statuses, &trails.streaming);
            }
            if trails.streaming.is_empty() {
                // Nobody wants these records, and the journal need not keep them. A change to
                // the trails after `end` was read may concern those records: skip only if none.
                let end = follower.end();
                if self.trails_generation.load(Ordering::Acquire) == trails.generation {
                    follower.skip_to(end);
                    tokio::select! {
                        () = self.trails_changed.notified() => {}
                        () = tokio::time::sleep_until(trails.fresh_until) => {}
                    }
                }
                continue;
            }
            tokio::select! {
                biased;
                () = self.trails_changed.notified() => continue,
                waited = follower.wait_for_batch(RECORDS_PER_BATCH, GATHER_FOR) => {
                    if waited.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep_until(trails.fresh_until) => continue,
            }
            let records = match follower.read(RECORDS_PER_BATCH).await {
                Ok(records) => records,
                Err(error) => {
                    tracing::warn!(%error, "streaming to log groups: reading the journal failed");
                    // Backing off from a failing disk, not waiting for an event.
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
            };
            // A trail changed since it was read changed before the call of any record read
            // after: those records follow the change.
            if self.refresh(&mut trails, true).await {
                forget_other_trails(&mut statuses, &trails.streaming);
            }
            self.stream_batch(
                log_groups.as_ref(),
                &trails.streaming,
                &records,
                &mut statuses,
            )
            .await;
            follower.handled();
        }
    }

    /// Reads the streaming trails again if they changed here since `seen` read them, or, unless
    /// `only_if_changed`, if the reading is older than [`TRAILS_FRESH_FOR`] (for changes made on
    /// another node). Answers whether it read them.
    async fn refresh(&self, seen: &mut TrailsSeen, only_if_changed: bool) -> bool {
        let generation = self.trails_generation.load(Ordering::Acquire);
        let stale = !only_if_changed && Instant::now() >= seen.fresh_until;
        if generation == seen.generation && !stale {
            return false;
        }
        seen.fresh_until = Instant::now() + TRAILS_FRESH_FOR;
        match self.streaming_trails().await {
            Ok(found) => {
                seen.streaming = found;
                seen.generation = generation;
                true
            }
            Err(error) => {
                tracing::warn!(%error, "streaming to log groups: reading the trails failed");
                // Backing off from a failing store, not waiting for an event.
                tokio::time::sleep(RETRY_AFTER).await;
                false
            }
        }
    }

    /// The logging trails with a log group, of every account.
    async fn streaming_trails(&self) -> Result<Vec<StreamingTrail>, ServiceError> {
        let mut streaming = Vec::new();
        for stored in self.trails_under("").await? {
            let group = stored
                .value
                .cloud_watch_logs_log_group_arn
                .as_deref()
                .and_then(LogGroup::parse);
            let Some(group) = group.filter(|_| stored.value.is_logging) else {
                continue;
            };
            let coverage = self.coverage(&stored.value).await?;
            streaming.push(StreamingTrail {
                trail: stored,
                group,
                coverage,
            });
        }
        Ok(streaming)
    }

    async fn stream_batch(
        &self,
        log_groups: &dyn TrailLogGroups,
        trails: &[StreamingTrail],
        records: &[FollowedRecord],
        statuses: &mut Statuses,
    ) {
        // Per trail (by index), account and region, its events.
        let mut outgoing: BTreeMap<(usize, &str, &str), Vec<LogEvent>> = BTreeMap::new();
        for record in records {
            let Some((account, region, millis)) = history::parts_of(&record.key) else {
                continue;
            };
            if record.json.len() > MAX_EVENT_BYTES {
                continue;
            }
            for (index, streaming) in trails.iter().enumerate() {
                let trail = &streaming.trail.value;
                let covers = streaming.covers(account, region, millis)
                    && selection::logs_record(trail.event_selectors.as_ref(), &record.json);
                if !covers {
                    continue;
                }
                let Ok(message) = String::from_utf8(record.json.clone()) else {
                    continue;
                };
                outgoing
                    .entry((index, account, region))
                    .or_default()
                    .push(LogEvent {
                        // `eventTime` is to the second.
                        timestamp: millis - millis.rem_euclid(1000),
                        message,
                    });
            }
        }
        let mut outcomes: BTreeMap<usize, Result<(), String>> = BTreeMap::new();
        for ((index, account, region), mut events) in outgoing {
            let Some(streaming) = trails.get(index) else {
                continue;
            };
            if outcomes.get(&index).is_some_and(Result::is_err) {
                continue;
            }
            let trail = &streaming.trail.value;
            let outcome = if streaming.group.account == trail.account {
                let stream = streaming.stream(account, region);
                events.sort_by_key(|event| event.timestamp);
                put_all(log_groups, &streaming.group, &stream, events).await
            } else {
                Err(ACCESS_DENIED.to_owned())
            };
            outcomes.insert(index, outcome);
        }
        let now = self.clock.now_millis();
        for (index, outcome) in outcomes {
            if let Some(streaming) = trails.get(index) {
                if let Err(error) = &outcome {
                    tracing::warn!(trail = %streaming.trail.value.arn(), %error, "streaming to a log group failed");
                }
                self.record_streaming(&streaming.trail, outcome, now, statuses)
                    .await;
            }
        }
    }

    /// Stores how a trail's streaming went: on every change of error, and at most once a second
    /// while it keeps succeeding.
    async fn record_streaming(
        &self,
        trail: &Stored<TrailRecord>,
        outcome: Result<(), String>,
        now: i64,
        statuses: &mut Statuses,
    ) {
        let key = trail.value.key();
        let known = (key.clone(), trail.version);
        let written = match statuses.get(&known) {
            Some(written) => written.clone(),
            None => match self.trail_state(STREAMING, &trail.value).await {
                Ok(stored) => stored.unwrap_or_default(),
                Err(error) => {
                    tracing::warn!(%error, "streaming to log groups: reading a trail's status failed");
                    return;
                }
            },
        };
        let mut status = written.clone();
        match outcome {
            Ok(()) => {
                status.latest_delivery_millis = Some(now);
                status.latest_delivery_error = None;
            }
            Err(error) => status.latest_delivery_error = Some(error),
        }
        let same_second = |a: Option<i64>, b: Option<i64>| {
            a.map(|millis| millis.div_euclid(1000)) == b.map(|millis| millis.div_euclid(1000))
        };
        if status.latest_delivery_error == written.latest_delivery_error
            && same_second(
                status.latest_delivery_millis,
                written.latest_delivery_millis,
            )
        {
            statuses.insert(known, written);
            return;
        }
        let value = match typed::plain_json(&status) {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "streaming to log groups: encoding a trail's status failed");
                return;
            }
        };
        // Pinned to the trail as read, so that the status of a trail deleted meanwhile is not
        // written back; a trail changed meanwhile gets its status with the next batch.
        let transaction = Transaction::new()
            .expect_version(TRAILS, &key, trail.version)
            .put(STREAMING, &key, value);
        match self.store.commit(transaction).await {
            Ok(()) => {
                statuses.insert(known, status);
            }
            Err(error) => {
                statuses.remove(&known);
                tracing::debug!(%error, "streaming to log groups: a trail's status was not written");
            }
        }
    }
}

/// Writes `events` (in time order) to `stream` of `group`, in as many batches as `PutLogEvents`'
/// limits need; stops at the first failure.
async fn put_all(
    log_groups: &dyn TrailLogGroups,
    group: &LogGroup,
    stream: &str,
    events: Vec<LogEvent>,
) -> Result<(), String> {
    for events in batches(events) {
        log_groups
            .put(LogBatch {
                account: &group.account,
                region: &group.region,
                group: &group.name,
                stream,
                events,
            })
            .await
            .map_err(|error| match &error.kind {
                ErrorKind::Modeled { code, .. } => format!("{code}: {}", error.message),
                ErrorKind::Common(_) => error.message,
            })?;
    }
    Ok(())
}

/// Splits time-ordered `events` into batches within `PutLogEvents`' limits.
fn batches(events: Vec<LogEvent>) -> Vec<Vec<LogEvent>> {
    let mut batches = Vec::new();
    let mut batch: Vec<LogEvent> = Vec::new();
    let mut bytes = 0;
    for event in events {
        let size = event.message.len() + EVENT_OVERHEAD_BYTES;
        let full = batch.len() == MAX_BATCH_EVENTS
            || bytes + size > MAX_BATCH_BYTES
            || batch
                .first()
                .is_some_and(|first| event.timestamp - first.timestamp > MAX_BATCH_SPAN_MILLIS);
        if full && !batch.is_empty() {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        batch.push(event);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(timestamp: i64, bytes: usize) -> LogEvent {
        LogEvent {
            timestamp,
            message: "x".repeat(bytes),
        }
    }

    #[test]
    fn batches_keep_within_put_log_events_limits() {
        let sizes: Vec<usize> = batches((0..25_000).map(|i| event(i, 10)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10_000, 10_000, 5_000]);

        let big = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES;
        let sizes: Vec<usize> = batches((0..9).map(|i| event(i, big)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [4, 4, 1]);

        let day = MAX_BATCH_SPAN_MILLIS;
        let spans: Vec<Vec<i64>> = batches(vec![event(0, 1), event(day, 1), event(day + 1, 1)])
            .iter()
            .map(|batch| batch.iter().map(|event| event.timestamp).collect())
            .collect();
        assert_eq!(spans, [vec![0, day], vec![day + 1]]);
        assert!(batches(Vec::new()).is_empty());
    }

    #[test]
    fn log_group_arns_name_their_region_account_and_group() {
        let group =
            LogGroup::parse("arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrail/logs:*")
                .unwrap();
        assert_eq!(
            (
                group.region.as_str(),
                group.account.as_str(),
                group.name.as_str()
            ),
            ("eu-west-1", "111122223333", "CloudTrail/logs")
        );
        assert!(LogGroup::parse("arn:aws:logs:eu-west-1:111122223333:log-group:g").is_none());
        assert!(LogGroup::parse("arn:aws:logs:eu-west-1:1111:log-group:g:*").is_none());
        assert!(LogGroup::parse("arn:aws:logs::111122223333:log-group:g:*").is_none());
        assert!(LogGroup::parse("arn:aws:logs:eu-west-1:111122223333:log-group::*").is_none());
    }
}
