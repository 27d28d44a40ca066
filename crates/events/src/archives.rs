//! Archives: an archive keeps the events that reach one bus and match its event pattern (every
//! event when it has none), except replayed events, for `RetentionDays` (forever when 0), so
//! that a replay (see `replays`) can send them to the bus again.
//!
//! The outbox writer archives an event in the transaction that makes it durable on its bus
//! ([`Archiver::stage`]), whichever way it arrived (`PutEvents`, a service's `publish`, an API
//! call event, a forward from another bus): an accepted event is in its archives exactly when it
//! is stored. Which archives each bus has is read once per account and region and kept until an
//! archive changes through this process, as a bus's compiled rules are.
//!
//! Layout, besides the archive records (see `db`):
//! - `ARCHIVED`: `<archive id>/<event time, 16-digit milliseconds>/<event id>` → the event as
//!   its bus's rules saw it. Ordered by the event's `time`, so a replay reads its window in one
//!   ordered scan and retention deletes from the front; keyed by event id, so an event archived
//!   twice (a forward delivered again after a restart) is kept once. The id is random per
//!   creation, so an archive created again under a deleted one's name starts empty.
//! - `ARCHIVE_COUNTS`: `<archive id>/<random id>` → events and bytes added (negative when
//!   retention removed them). The writer adds one record per archive and commit and never
//!   reads one back, so archiving never conflicts with anything; `EventCount` and `SizeBytes`
//!   are the sum, which the sweeper folds into one record.
//! - `ARCHIVE_PURGES`: `<archive id>` → a deleted archive whose events are being deleted.
//!
//! Retention counts from the event's `time`: the sweeper (every minute, deciding by the injected
//! clock) deletes the events older than the archive's `RetentionDays`, and a replay skips those it
//! has not deleted yet. An archive is ready as soon as it is created or updated, so it is always
//! `ENABLED`; AWS's passing states (`CREATING`, `UPDATING`) and failed ones never occur here.
//! `KmsKeyIdentifier` is kept and answered; archived events are stored as the outbox's are, not
//! under that key.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_event_pattern::{Machine, Pattern};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::typed::{Stored, plain_json, scan_json};
use palisade_store::{Store, StoreError, Transaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::EventsState;
use crate::db::{
    ARCHIVE_COUNTS, ARCHIVE_PURGES, ARCHIVED, ARCHIVES, Tenant, plain, scan_every, store_error,
};
use crate::delivery::rfc3339_millis;
use crate::outbox::QueuedEvent;
use crate::paging::{page_size, paginate};
use crate::replays::REPLAY_NAME;

pub(crate) const DAY_MILLIS: i64 = 86_400_000;

/// How often the sweeper runs.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How long after an archive's deletion the sweeper deletes its events again: a commit that
/// matched the archive just before its deletion was seen lands after the first purge.
const PURGE_GRACE_MILLIS: i64 = 600_000;

/// Rows deleted (or counts folded) per transaction.
const CHUNK: usize = 500;

/// An archive of a bus's events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArchiveRecord {
    /// Random per creation: what its events are keyed by.
    pub id: String,
    pub name: String,
    /// The bus it archives, by name.
    pub bus: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    /// 0: forever.
    pub retention_days: i32,
    pub kms_key_identifier: Option<String>,
    pub created_millis: i64,
}

impl ArchiveRecord {
    /// The event time before which the archive keeps nothing at `now_millis`, if it forgets.
    pub fn retained_from(&self, now_millis: i64) -> Option<i64> {
        (self.retention_days > 0)
            .then(|| now_millis.saturating_sub(i64::from(self.retention_days) * DAY_MILLIS))
    }
}

/// Events and bytes an archive gained (or lost).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Count {
    events: i64,
    bytes: i64,
}

impl Count {
    fn add(&mut self, other: Self) {
        self.events = self.events.saturating_add(other.events);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// A deleted archive whose events the sweeper deletes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Purge {
    deleted_millis: i64,
}

/// The prefix of the events of the archive `id`.
pub(crate) fn archived_prefix(id: &str) -> String {
    format!("{id}/")
}

/// The key every archived event of `id` from `millis` on sorts after (and every earlier one
/// before).
pub(crate) fn archived_before(id: &str, millis: i64) -> String {
    format!("{id}/{:016}", millis.max(0))
}

/// The event time in the archived event key `key` of the archive `id`.
pub(crate) fn archived_time(id: &str, key: &str) -> Option<i64> {
    key.strip_prefix(id)?
        .strip_prefix('/')?
        .split('/')
        .next()?
        .parse()
        .ok()
}

fn count_key(id: &str) -> String {
    format!("{id}/{}", uuid::Uuid::new_v4())
}

/// Which archives each bus has, compiled per account and region, and the archiving of
/// accepted events.
pub(crate) struct Archiver {
    store: Store,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// Moves at every change, so a read that raced one is not kept.
    generation: u64,
    tenants: HashMap<String, Arc<HashMap<String, BusArchives>>>,
}

/// The archives of one bus.
#[derive(Default)]
struct BusArchives {
    /// Archives without a pattern, which take every event.
    every: Vec<String>,
    /// The patterns of the others, by archive id.
    patterns: Machine<String>,
}

impl Archiver {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Adds to `txn` the archiving of `events`: each one that was not replayed goes to every
    /// archive of its bus that it matches, and each archive's count grows by what it received.
    pub async fn stage<'a>(
        &self,
        mut txn: Transaction,
        events: impl Iterator<Item = &'a QueuedEvent>,
    ) -> Result<Transaction, StoreError> {
        let mut added: BTreeMap<String, Count> = BTreeMap::new();
        for queued in events {
            if queued.event.get(REPLAY_NAME).is_some() || queued.schedule_of.is_some() {
                continue;
            }
            let buses = self.buses(&queued.tenant).await?;
            let Some(archives) = buses.get(&queued.bus) else {
                continue;
            };
            let mut ids = archives.every.clone();
            ids.extend(archives.patterns.matching_rules(&queued.event));
            if ids.is_empty() {
                continue;
            }
            let value = plain_json(&queued.event)?;
            let size = i64::try_from(value.bytes().len()).unwrap_or(i64::MAX);
            let time = queued
                .event
                .get("time")
                .and_then(Value::as_str)
                .and_then(rfc3339_millis)
                .unwrap_or(queued.ingestion_millis);
            for id in ids {
                let key = format!("{}/{}", archived_before(&id, time), queued.id());
                txn = txn.put(ARCHIVED, &key, value.clone());
                added.entry(id).or_default().add(Count {
                    events: 1,
                    bytes: size,
                });
            }
        }
        for (id, count) in added {
            txn = txn.put(ARCHIVE_COUNTS, &count_key(&id), plain_json(&count)?);
        }
        Ok(txn)
    }

    /// Drops what is known of `tenant`'s archives after a change to them.
    pub fn forget(&self, tenant: &Tenant) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.generation = cache.generation.wrapping_add(1);
        cache.tenants.remove(&tenant.prefix());
    }

    /// The archives of each of `tenant`'s buses, read on first use.
    async fn buses(
        &self,
        tenant: &Tenant,
    ) -> Result<Arc<HashMap<String, BusArchives>>, StoreError> {
        let prefix = tenant.prefix();
        let generation = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(buses) = cache.tenants.get(&prefix) {
                return Ok(Arc::clone(buses));
            }
            cache.generation
        };
        let records: Vec<(String, Stored<ArchiveRecord>)> =
            scan_every(&self.store, ARCHIVES, &prefix).await?;
        let mut buses: HashMap<String, BusArchives> = HashMap::new();
        for (_, record) in records {
            let record = record.value;
            let archives = buses.entry(record.bus).or_default();
            match record.event_pattern.as_deref().map(Pattern::parse) {
                None => archives.every.push(record.id),
                Some(Ok(pattern)) => archives.patterns.add_rule(record.id, &pattern),
                // Stored patterns were validated when put.
                Some(Err(_)) => {}
            }
        }
        let buses = Arc::new(buses);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.generation == generation {
            cache.tenants.insert(prefix, Arc::clone(&buses));
        }
        Ok(buses)
    }
}

impl EventsState {
    /// The archive `name`, or AWS's error for a missing one.
    pub(crate) async fn archive(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Stored<ArchiveRecord>, ServiceError> {
        self.get(ARCHIVES, &tenant.key(name))
            .await?
            .ok_or_else(|| archive_not_found(name))
    }

    /// What an archive holds: the sum of its counts.
    async fn archive_count(&self, id: &str) -> Result<Count, ServiceError> {
        let counts: Vec<(String, Stored<Count>)> =
            scan_every(&self.store, ARCHIVE_COUNTS, &archived_prefix(id))
                .await
                .map_err(store_error)?;
        let mut total = Count::default();
        for (_, count) in counts {
            total.add(count.value);
        }
        Ok(total)
    }

    /// Deletes what archives no longer keep, by the injected clock: the events past their
    /// archive's retention, and every event of a deleted archive; folds each archive's counts.
    /// A delivering service's own task calls it every minute.
    pub async fn sweep_archives(&self) -> Result<(), ServiceError> {
        self.sweep_archives_at(self.now_millis())
            .await
            .map_err(store_error)
    }

    async fn sweep_archives_at(&self, now: i64) -> Result<(), StoreError> {
        let purges: Vec<(String, Stored<Purge>)> =
            scan_every(&self.store, ARCHIVE_PURGES, "").await?;
        for (id, purge) in purges {
            self.purge_archived(&id).await?;
            if now.saturating_sub(purge.value.deleted_millis) >= PURGE_GRACE_MILLIS {
                let done = Transaction::new()
                    .expect_version(ARCHIVE_PURGES, &id, purge.version)
                    .delete(ARCHIVE_PURGES, &id);
                settle(self.store.commit(done).await)?;
            }
        }
        let archives: Vec<(String, Stored<ArchiveRecord>)> =
            scan_every(&self.store, ARCHIVES, "").await?;
        for (_, archive) in archives {
            let archive = archive.value;
            if let Some(from) = archive.retained_from(now) {
                self.expire_archived(&archive.id, from).await?;
            }
            self.fold_counts(&archive.id).await?;
        }
        Ok(())
    }

    /// Deletes the events of the archive `id` whose time is before `from`, with their count.
    async fn expire_archived(&self, id: &str, from: i64) -> Result<(), StoreError> {
        let prefix = archived_prefix(id);
        let end = archived_before(id, from);
        loop {
            // Always the front: each round deletes what the last one read.
            let page = self.store.scan(ARCHIVED, &prefix, None, CHUNK).await?;
            let read = page.len();
            let expired: Vec<_> = page
                .into_iter()
                .take_while(|(key, _)| key.as_str() < end.as_str())
                .collect();
            if expired.is_empty() {
                return Ok(());
            }
            let whole_page = expired.len() == read;
            let mut removed = Count::default();
            let mut txn = Transaction::new();
            for (key, entry) in &expired {
                removed.add(Count {
                    events: -1,
                    bytes: -i64::try_from(entry.value.bytes().len()).unwrap_or(0),
                });
                // Pinned, so two sweepers never both count the same deletion.
                txn = txn
                    .expect_version(ARCHIVED, key, entry.version)
                    .delete(ARCHIVED, key);
            }
            txn = txn.put(ARCHIVE_COUNTS, &count_key(id), plain_json(&removed)?);
            if !settle(self.store.commit(txn).await)? || !whole_page || read < CHUNK {
                return Ok(());
            }
        }
    }

    /// Replaces up to `CHUNK` count records of the archive `id` by their sum.
    async fn fold_counts(&self, id: &str) -> Result<(), StoreError> {
        let counts: Vec<(String, Stored<Count>)> = scan_json(
            &self.store,
            ARCHIVE_COUNTS,
            &archived_prefix(id),
            None,
            CHUNK,
        )
        .await?;
        if counts.len() < 2 {
            return Ok(());
        }
        let mut total = Count::default();
        let mut txn = Transaction::new();
        for (key, count) in &counts {
            total.add(count.value);
            txn = txn
                .expect_version(ARCHIVE_COUNTS, key, count.version)
                .delete(ARCHIVE_COUNTS, key);
        }
        txn = txn.put(ARCHIVE_COUNTS, &count_key(id), plain_json(&total)?);
        settle(self.store.commit(txn).await).map(drop)
    }

    /// Deletes every event and count of the archive `id`.
    async fn purge_archived(&self, id: &str) -> Result<(), StoreError> {
        let prefix = archived_prefix(id);
        for keyspace in [ARCHIVED, ARCHIVE_COUNTS] {
            loop {
                let page = self.store.scan(keyspace, &prefix, None, CHUNK).await?;
                let mut txn = Transaction::new();
                for (key, _) in &page {
                    txn = txn.delete(keyspace, key);
                }
                self.store.commit(txn).await?;
                if page.len() < CHUNK {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Whether a sweeper's commit went through; a conflict means another sweeper (another node)
/// did the same work, which is not a failure.
fn settle(committed: Result<(), StoreError>) -> Result<bool, StoreError> {
    match committed {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

fn archive_not_found(name: &str) -> ServiceError {
    errors::resource_not_found_exception(format!("Archive {name} does not exist."))
}

fn check_pattern(pattern: Option<&str>) -> Result<(), ServiceError> {
    match pattern.map(Pattern::parse) {
        Some(Err(error)) => Err(errors::invalid_event_pattern_exception(error.to_string())),
        _ => Ok(()),
    }
}

/// A list request over archives or replays.
pub(crate) struct Listing<'a> {
    pub operation: &'static str,
    pub name_prefix: Option<&'a str>,
    pub event_source_arn: Option<&'a str>,
    pub state: Option<&'a str>,
    pub next_token: Option<&'a str>,
    pub limit: Option<i32>,
}

/// A record a [`Listing`] shows.
pub(crate) trait Listed: DeserializeOwned {
    fn name(&self) -> &str;
    /// What the request's `EventSourceArn` is compared with.
    fn source_arn(&self, tenant: &Tenant) -> String;
    fn state(&self) -> &str;
}

impl Listing<'_> {
    /// The page of `tenant`'s records of `keyspace` the request asks for, with the next page's
    /// token.
    pub async fn page<T: Listed>(
        &self,
        state: &EventsState,
        tenant: &Tenant,
        keyspace: &str,
    ) -> Result<(Vec<T>, Option<String>), ServiceError> {
        self.check()?;
        let prefix = format!(
            "{}{}",
            tenant.prefix(),
            self.name_prefix.unwrap_or_default()
        );
        let all: Vec<(String, T)> = state.scan_all(keyspace, &prefix).await?;
        let mut page: Vec<T> = all
            .into_iter()
            .map(|(_, record)| record)
            .filter(|record| {
                self.next_token.is_none_or(|after| record.name() > after)
                    && self.state.is_none_or(|wanted| record.state() == wanted)
                    && self
                        .event_source_arn
                        .is_none_or(|arn| record.source_arn(tenant) == arn)
            })
            .collect();
        let next_token = paginate(&mut page, page_size(self.limit), |record| {
            record.name().to_owned()
        });
        Ok((page, next_token))
    }

    /// AWS takes one filter at most.
    fn check(&self) -> Result<(), ServiceError> {
        let filters = [
            self.name_prefix.is_some(),
            self.event_source_arn.is_some(),
            self.state.is_some(),
        ];
        if filters.into_iter().filter(|given| *given).count() > 1 {
            return Err(ServiceError::validation(format!(
                "At most one filter is allowed for {}. Use either : State, EventSourceArn, or \
                 NamePrefix.",
                self.operation
            )));
        }
        Ok(())
    }
}

impl Listed for ArchiveRecord {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_arn(&self, tenant: &Tenant) -> String {
        tenant.bus_arn(&self.bus)
    }

    fn state(&self) -> &str {
        ArchiveState::Enabled.as_str()
    }
}

pub(crate) async fn create(
    state: &EventsState,
    ctx: &RequestContext,
    input: CreateArchiveRequest,
) -> Result<CreateArchiveResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let Some(bus) = tenant.name_in_arn("event-bus", &input.event_source_arn) else {
        return Err(ServiceError::validation(
            "Parameter EventSourceArn is not valid. Reason: Must contain an event bus ARN.",
        ));
    };
    check_pattern(input.event_pattern.as_deref())?;
    state.require_bus(&tenant, bus).await?;
    let record = ArchiveRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: input.archive_name.clone(),
        bus: bus.to_owned(),
        description: input.description,
        event_pattern: input.event_pattern,
        retention_days: input.retention_days.unwrap_or(0),
        kms_key_identifier: input.kms_key_identifier,
        created_millis: state.now_millis(),
    };
    let key = tenant.key(&record.name);
    state
        .mutate(|| async {
            if state.get::<ArchiveRecord>(ARCHIVES, &key).await?.is_some() {
                return Err(errors::resource_already_exists_exception(format!(
                    "Archive {} already exists.",
                    record.name
                )));
            }
            let txn = Transaction::new().expect_absent(ARCHIVES, &key).put(
                ARCHIVES,
                &key,
                plain(&record)?,
            );
            Ok((txn, ()))
        })
        .await?;
    state.archiver.forget(&tenant);
    Ok(CreateArchiveResponse {
        archive_arn: Some(tenant.named_arn("archive", &record.name)),
        state: Some(ArchiveState::Enabled),
        state_reason: None,
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
    })
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeArchiveRequest,
) -> Result<DescribeArchiveResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let archive = state.archive(&tenant, &input.archive_name).await?.value;
    let summary = summary(state, &tenant, archive.clone()).await?;
    Ok(DescribeArchiveResponse {
        archive_arn: Some(tenant.named_arn("archive", &archive.name)),
        archive_name: summary.archive_name,
        event_source_arn: summary.event_source_arn,
        description: archive.description,
        event_pattern: archive.event_pattern,
        state: summary.state,
        state_reason: summary.state_reason,
        kms_key_identifier: archive.kms_key_identifier,
        retention_days: summary.retention_days,
        size_bytes: summary.size_bytes,
        event_count: summary.event_count,
        creation_time: summary.creation_time,
    })
}

async fn summary(
    state: &EventsState,
    tenant: &Tenant,
    archive: ArchiveRecord,
) -> Result<Archive, ServiceError> {
    let count = state.archive_count(&archive.id).await?;
    Ok(Archive {
        event_source_arn: Some(tenant.bus_arn(&archive.bus)),
        archive_name: Some(archive.name),
        state: Some(ArchiveState::Enabled),
        state_reason: None,
        retention_days: Some(archive.retention_days),
        // Retention may have removed what a recount has not folded in yet.
        size_bytes: Some(count.bytes.max(0)),
        event_count: Some(count.events.max(0)),
        creation_time: Some(Timestamp::from_millis(archive.created_millis)),
    })
}

pub(crate) async fn update(
    state: &EventsState,
    ctx: &RequestContext,
    input: UpdateArchiveRequest,
) -> Result<UpdateArchiveResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    check_pattern(input.event_pattern.as_deref())?;
    let key = tenant.key(&input.archive_name);
    let archive = state
        .mutate(|| async {
            let mut archive = state.archive(&tenant, &input.archive_name).await?;
            let record = &mut archive.value;
            if let Some(description) = &input.description {
                record.description = Some(description.clone());
            }
            if let Some(pattern) = &input.event_pattern {
                record.event_pattern = Some(pattern.clone());
            }
            if let Some(days) = input.retention_days {
                record.retention_days = days;
            }
            if let Some(key_id) = &input.kms_key_identifier {
                record.kms_key_identifier = Some(key_id.clone());
            }
            let txn = archive.replace(Transaction::new(), ARCHIVES, &key, plain(&archive.value)?);
            Ok((txn, archive.value))
        })
        .await?;
    state.archiver.forget(&tenant);
    Ok(UpdateArchiveResponse {
        archive_arn: Some(tenant.named_arn("archive", &archive.name)),
        state: Some(ArchiveState::Enabled),
        state_reason: None,
        creation_time: Some(Timestamp::from_millis(archive.created_millis)),
    })
}

pub(crate) async fn delete(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeleteArchiveRequest,
) -> Result<DeleteArchiveResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = tenant.key(&input.archive_name);
    let purge = plain(&Purge {
        deleted_millis: state.now_millis(),
    })?;
    let id = state
        .mutate(|| async {
            let archive = state.archive(&tenant, &input.archive_name).await?;
            let id = archive.value.id;
            let txn = Transaction::new()
                .expect_version(ARCHIVES, &key, archive.version)
                .delete(ARCHIVES, &key)
                .put(ARCHIVE_PURGES, &id, purge.clone());
            Ok((txn, id))
        })
        .await?;
    state.archiver.forget(&tenant);
    // Its events go at once when they can; the sweeper finishes what this leaves.
    if let Err(error) = state.purge_archived(&id).await {
        tracing::warn!(%error, "a deleted archive's events were left for the sweeper");
    }
    Ok(DeleteArchiveResponse {})
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListArchivesRequest,
) -> Result<ListArchivesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let listing = Listing {
        operation: "ListArchives",
        name_prefix: input.name_prefix.as_deref(),
        event_source_arn: input.event_source_arn.as_deref(),
        state: input.state.as_ref().map(ArchiveState::as_str),
        next_token: input.next_token.as_deref(),
        limit: input.limit,
    };
    let (page, next_token) = listing.page(state, &tenant, ARCHIVES).await?;
    let mut archives = Vec::with_capacity(page.len());
    for archive in page {
        archives.push(summary(state, &tenant, archive).await?);
    }
    Ok(ListArchivesResponse {
        archives: Some(archives),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archived_keys_sort_by_event_time_and_give_it_back() {
        let id = "0b3c7e1a-8a43-4a5e-9d6c-1f4b1f3e9a10";
        let early = format!("{}/e1", archived_before(id, 1_704_067_200_000));
        let late = format!("{}/e0", archived_before(id, 1_704_067_201_000));
        assert!(early < late);
        assert!(archived_before(id, 1_704_067_200_000) < early);
        assert!(late < archived_before(id, 1_704_067_202_000));
        assert_eq!(archived_time(id, &late), Some(1_704_067_201_000));
        assert_eq!(archived_time("other", &late), None);
        assert!(
            archived_before(id, -5) < early,
            "times before the epoch count as the epoch"
        );
    }

    #[test]
    fn retention_counts_days_back_from_now() {
        let mut archive = ArchiveRecord {
            id: "a".to_owned(),
            name: "a".to_owned(),
            bus: "default".to_owned(),
            description: None,
            event_pattern: None,
            retention_days: 0,
            kms_key_identifier: None,
            created_millis: 0,
        };
        assert_eq!(archive.retained_from(10 * DAY_MILLIS), None);
        archive.retention_days = 3;
        assert_eq!(archive.retained_from(10 * DAY_MILLIS), Some(7 * DAY_MILLIS));
    }

    #[test]
    fn list_filters_are_exclusive() {
        let listing = |name_prefix, state| Listing {
            operation: "ListReplays",
            name_prefix,
            event_source_arn: None,
            state,
            next_token: None,
            limit: None,
        };
        assert!(listing(Some("a"), None).check().is_ok());
        assert!(listing(None, None).check().is_ok());
        let error = listing(Some("a"), Some("RUNNING")).check().unwrap_err();
        assert_eq!(
            error.message,
            "At most one filter is allowed for ListReplays. Use either : State, EventSourceArn, \
             or NamePrefix."
        );
    }
}
