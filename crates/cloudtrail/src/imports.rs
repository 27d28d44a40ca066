//! CloudTrail Lake imports: copying the events of trails' log files in S3 into event data
//! stores (`StartImport`, `StopImport`, `GetImport`, `ListImports`, `ListImportFailures`).
//!
//! `StartImport` checks its source and destinations, stores the import `INITIALIZING` with its
//! account's and region's entry in the run queue (one transaction, before it answers) and wakes
//! the runner ([`CloudTrailState::run_imports`]). The runner marks it `IN_PROGRESS`, retries the
//! log files a retry asked for again, then walks the source's objects in key order through the
//! trail sink (`crate::sink`: S3 or the local directory standing in for it), copying each log
//! file's events into every destination; it ends `COMPLETED`, or `FAILED` when some failure
//! remains. Each log file is copied in one transaction with the import's progress (the key it
//! reached and its statistics), pinned to the import's version: a restart resumes after the last
//! file copied, a `StopImport` meanwhile makes the runner's next write fail and the run end, and
//! two runners never both count a file. Events are stored under their event time and `eventID`,
//! so copying a file again (a retry, another import of the same files) stores nothing twice.
//!
//! # AWS facts relied on
//!
//! - A new import needs `Destinations` and `ImportSource`; a retry gives only the `ImportId` of
//!   a `STOPPED` or `FAILED` import, and resumes where it stopped or failed. An import ends
//!   `COMPLETED` without failures, `FAILED` with some (API reference, `StartImport`; User Guide,
//!   "View event copy details"). A new import or a retry while another import is in progress
//!   answers `AccountHasOngoingImportException`.
//! - CloudTrail copies the events in the `CloudTrail` prefixes under the location, not other
//!   services' prefixes, unless the location names another prefix itself. It copies every event
//!   whatever the destination's advanced event selectors, event types or Region: selectors do
//!   not filter copied events. It copies only events whose `eventTime` is within each
//!   destination's retention period, and only from gzip-compressed log files. With a time range,
//!   it checks the dates in the prefixes and log file names before reading a file (User Guide,
//!   "Considerations for copying trail events"; API reference, `StartImport`).
//! - Failures name their location in the bucket, an error type (S3's error code, such as
//!   `AccessDenied`, for S3's refusals) and a message; an uncompressed file or one another
//!   service delivered is a failure; `Status` is `FAILED`, `RETRY` or `SUCCEEDED` (User Guide,
//!   "View event copy details"; API reference, `ImportFailureListItem`). Statistics grow as the
//!   import goes (API reference, `ImportStatistics`).
//! - Copying events of a time the destination also ingested live duplicates them: AWS advises a
//!   time range before the store's creation (User Guide, "Copy trail events to an event data
//!   store"). Nothing here removes those duplicates either.
//!
//! # What AWS does not document, and what is done here
//!
//! - One import at a time is in progress per account and region (Lake is regional).
//! - `S3BucketAccessRoleArn` is checked for form and recorded, not assumed: the server reads
//!   buckets with its own S3 settings. `S3BucketRegion` is recorded likewise.
//! - The objects copied are those in a prefix with a part `CloudTrail`; when the location names
//!   a prefix, also those outside AWS's `AWSLogs/` layout (a prefix of the user's own). Digests
//!   (`CloudTrail-Digest`), Insights events and other services' files are left alone, not failed.
//! - A prefix is a directory of log files; it is found when the walk reaches its first file and
//!   completed when the walk moves past it. A file counts as completed when every record in it
//!   was copied (or left out by time); a file with records lacking a valid `eventTime` or
//!   `eventID` (letters, digits and `-`) has its other records copied and is a failure.
//! - Error types of failures that are not S3's: `InvalidFileFormat` (not gzip, not a log file),
//!   `InvalidEvent` (records without a valid `eventTime` or `eventID`),
//!   `InactiveEventDataStore` (a destination deleted during the import: the import fails, at
//!   the location of the source).
//! - The time range is inclusive at both ends; a log file is skipped when the date in its name
//!   is before the range's first day or after its last day. A file's failure, once a retry copies
//!   it, stays listed as `SUCCEEDED`.
//! - An import is kept 30 days after it ends (the events it copied stay for their destination's
//!   retention period). `ListImportFailures` of an unknown import answers
//!   `ImportNotFoundException`. Destinations are the caller's own event data stores, by ARN (or
//!   id), so an organization event data store takes its management account's imports only.
//!
//! Layout: keyspace [`IMPORTS`], `<account>/<region>/<import id>` → a JSON [`ImportRecord`];
//! [`IMPORT_FAILURES`], `<import key>/<location>` → a JSON [`FailureRecord`];
//! [`IMPORT_QUEUE`], `<account>/<region>` → the id of the import in progress there. Imported
//! events: keyspace [`IMPORTED_EVENTS`],
//! `<account>/<event data store id>/<inverted time>/<eventID>` → the event's record JSON, the
//! inverted time as in `palisade_audit::history` so that a scan reads newest first.

use std::io::Read as _;
use std::sync::Arc;

use palisade_audit::history;
use palisade_core::value::Timestamp;
use palisade_core::{Region, RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    GetImportRequest, GetImportResponse, ImportFailureListItem, ImportFailureStatus, ImportSource,
    ImportStatistics, ImportStatus, ImportsListItem, ListImportFailuresRequest,
    ListImportFailuresResponse, ListImportsRequest, ListImportsResponse, S3ImportSource,
    StartImportRequest, StartImportResponse, StopImportRequest, StopImportResponse,
};
use palisade_store::typed::{self, Stored};
use palisade_store::{StoreError, Transaction, Value};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::{plain, store_error};
use crate::event_data_stores::{EVENT_DATA_STORES, EventDataStoreRecord, parse_arn};
use crate::layout::utc;
use crate::lookup::{millis, parse_event_time};
use crate::names::check_bucket_name;
use crate::sink::{SinkError, TrailSink};

/// Events imported into event data stores.
pub(crate) const IMPORTED_EVENTS: &str = "cloudtrail/imported-events";
const IMPORTS: &str = "cloudtrail/imports";
const IMPORT_FAILURES: &str = "cloudtrail/import-failures";
const IMPORT_QUEUE: &str = "cloudtrail/import-queue";

const INITIALIZING: &str = "INITIALIZING";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";
const FAILED: &str = "FAILED";
const STOPPED: &str = "STOPPED";
const RETRY: &str = "RETRY";
const SUCCEEDED: &str = "SUCCEEDED";

const INVALID_FILE_FORMAT: &str = "InvalidFileFormat";
const INVALID_EVENT: &str = "InvalidEvent";
const INACTIVE_EVENT_DATA_STORE: &str = "InactiveEventDataStore";

/// How long an import is kept once it ended.
const KEPT_MILLIS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Imports or failures per page when the request sets no `MaxResults` (its maximum).
const DEFAULT_PAGE: usize = 1000;
/// Records or keys read from the store at a time.
const CHUNK: usize = 500;
/// The most a log file may hold once decompressed: far more than CloudTrail writes in one, and
/// a bound on what a file made to inflate (a gzip bomb) can take.
const MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;
/// The longest `eventID` copied: CloudTrail's are 36-character UUIDs.
const MAX_EVENT_ID: usize = 128;

/// The prefix of every event imported into the event data store `id` of `account`.
pub(crate) fn imported_prefix(account: &str, id: &str) -> String {
    format!("{account}/{id}/")
}

/// An import as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportRecord {
    account: String,
    region: String,
    id: String,
    /// The ARNs of the event data stores it copies into.
    destinations: Vec<String>,
    source: SourceRecord,
    start_millis: Option<i64>,
    end_millis: Option<i64>,
    status: String,
    created_millis: i64,
    updated_millis: i64,
    statistics: Statistics,
    /// Every object of the source up to this key, in key order, is done with: copied, failed,
    /// or not one to copy.
    listed_through: Option<String>,
    /// The prefix of the last log file the walk reached: found, not yet completed.
    open_prefix: Option<String>,
    /// Whether the failure at the source's own location (its listing failed, or a destination
    /// became inactive) waits for a run that gets past it.
    source_failed: bool,
}

/// Where an import reads, as `StartImport` gave it, with the location's bucket and prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SourceRecord {
    uri: String,
    bucket_region: String,
    role_arn: String,
    bucket: String,
    prefix: String,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Statistics {
    prefixes_found: u64,
    prefixes_completed: u64,
    files_completed: u64,
    events_completed: u64,
    failed_entries: u64,
}

/// A failure of an import, at one location.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailureRecord {
    location: String,
    /// Whether `location` is a log file, which a retry reads again; else it is the source itself,
    /// which the retry's listing gets past.
    file: bool,
    status: String,
    error_type: String,
    error_message: String,
    updated_millis: i64,
    /// The events of the file already counted in `EventsCompleted`, so a retry counts only
    /// what it adds.
    copied: u64,
}

impl ImportRecord {
    fn key(&self) -> String {
        import_key(&self.account, &self.region, &self.id)
    }

    /// Its entry in the run queue: one per account and region.
    fn queue_key(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    fn active(&self) -> bool {
        self.status == INITIALIZING || self.status == IN_PROGRESS
    }

    fn expired(&self, now: i64) -> bool {
        !self.active() && now >= self.updated_millis.saturating_add(KEPT_MILLIS)
    }

    /// Whether its walk copies the object `key` of its source.
    fn copies(&self, key: &str) -> bool {
        if key.ends_with('/') {
            // A "folder" S3 consoles make: no file.
            return false;
        }
        let directories: Vec<&str> = key.split('/').rev().skip(1).collect();
        let in_scope = directories.contains(&"CloudTrail")
            || (!self.source.prefix.is_empty() && !directories.contains(&"AWSLogs"));
        in_scope && self.name_in_range(key)
    }

    /// Whether the date in the name of the log file `key` falls on a day of its time range;
    /// true for a name without a date.
    fn name_in_range(&self, key: &str) -> bool {
        let Some(day) = name_day(key) else {
            return true;
        };
        self.start_millis
            .is_none_or(|start| utc(start).date() <= day)
            && self.end_millis.is_none_or(|end| day <= utc(end).date())
    }

    fn location_of(&self, object: &str) -> String {
        format!("s3://{}/{object}", self.source.bucket)
    }
}

impl SourceRecord {
    fn view(&self) -> ImportSource {
        ImportSource {
            s3: S3ImportSource {
                s3_location_uri: self.uri.clone(),
                s3_bucket_region: self.bucket_region.clone(),
                s3_bucket_access_role_arn: self.role_arn.clone(),
            },
        }
    }
}

impl Statistics {
    fn view(&self) -> ImportStatistics {
        let count = |count: u64| Some(i64::try_from(count).unwrap_or(i64::MAX));
        ImportStatistics {
            prefixes_found: count(self.prefixes_found),
            prefixes_completed: count(self.prefixes_completed),
            files_completed: count(self.files_completed),
            events_completed: count(self.events_completed),
            failed_entries: count(self.failed_entries),
        }
    }
}

fn import_key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

fn failure_key(import_key: &str, location: &str) -> String {
    // The store's keys cannot hold NUL, which an S3 key might.
    format!("{import_key}/{}", location.replace('\0', "\u{fffd}"))
}

/// The fields the start, get and stop responses share.
macro_rules! import_response {
    ($response:ident, $import:expr, { $($extra:tt)* }) => {{
        let import: &ImportRecord = $import;
        $response {
            import_id: Some(import.id.clone()),
            destinations: Some(import.destinations.clone()),
            import_source: Some(import.source.view()),
            start_event_time: import.start_millis.map(Timestamp::from_millis),
            end_event_time: import.end_millis.map(Timestamp::from_millis),
            import_status: Some(ImportStatus::from(import.status.as_str())),
            created_timestamp: Some(Timestamp::from_millis(import.created_millis)),
            updated_timestamp: Some(Timestamp::from_millis(import.updated_millis)),
            $($extra)*
        }
    }};
}

pub(crate) async fn start_import(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StartImportRequest,
) -> Result<StartImportResponse, ServiceError> {
    let import = match input {
        StartImportRequest {
            import_id: Some(id),
            destinations: None,
            import_source: None,
            start_event_time: None,
            end_event_time: None,
        } => state.retry_import(ctx, &id).await?,
        StartImportRequest {
            import_id: Some(_), ..
        } => {
            return Err(errors::invalid_parameter_exception(
                "A retry resumes an import as it was started: ImportId cannot be combined with \
                 Destinations, ImportSource, StartEventTime or EndEventTime.",
            ));
        }
        StartImportRequest {
            import_id: None,
            destinations: Some(destinations),
            import_source: Some(source),
            start_event_time,
            end_event_time,
        } => {
            let range = (start_event_time.map(millis), end_event_time.map(millis));
            state
                .new_import(ctx, &destinations, source.s3, range)
                .await?
        }
        StartImportRequest { .. } => {
            return Err(errors::invalid_parameter_exception(
                "You must specify Destinations and ImportSource to start an import, or the \
                 ImportId of an import to retry.",
            ));
        }
    };
    state.imports_queued.notify_one();
    Ok(import_response!(StartImportResponse, &import, {}))
}

pub(crate) async fn stop_import(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StopImportRequest,
) -> Result<StopImportResponse, ServiceError> {
    let import = state
        .mutate(|| async {
            let stored = state.find_import(ctx, &input.import_id).await?;
            let mut import = stored.value.clone();
            if !import.active() {
                return Err(errors::operation_not_permitted_exception(format!(
                    "Import {} has status {}: only an import that is INITIALIZING or \
                     IN_PROGRESS can be stopped.",
                    import.id, import.status
                )));
            }
            import.status = STOPPED.to_owned();
            import.updated_millis = state.clock.now_millis();
            // The runner's next write, pinned to the version it last wrote, fails: its run ends.
            let transaction = Transaction::new().delete(IMPORT_QUEUE, &import.queue_key());
            let transaction = stored.replace(transaction, IMPORTS, &import.key(), plain(&import)?);
            Ok((transaction, import))
        })
        .await?;
    Ok(import_response!(StopImportResponse, &import, {
        import_statistics: Some(import.statistics.view()),
    }))
}

pub(crate) async fn get_import(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetImportRequest,
) -> Result<GetImportResponse, ServiceError> {
    let import = state.find_import(ctx, &input.import_id).await?.value;
    Ok(import_response!(GetImportResponse, &import, {
        import_statistics: Some(import.statistics.view()),
    }))
}

pub(crate) async fn list_imports(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListImportsRequest,
) -> Result<ListImportsResponse, ServiceError> {
    let page_size = page_size(input.max_results);
    if let Some(destination) = input
        .destination
        .as_deref()
        .filter(|d| d.starts_with("arn:"))
    {
        parse_arn(destination)?;
    }
    let after = match input.next_token.as_deref() {
        Some(token) => Some(
            crate::tokens::decode(token)?
                .split_once('/')
                .and_then(|(created, id)| Some((created.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| errors::invalid_next_token_exception("Invalid NextToken."))?,
        ),
        None => None,
    };
    let mut imports = state
        .region_imports(ctx.account().as_str(), ctx.region.as_str())
        .await?;
    imports.sort_by(|a, b| (a.created_millis, &a.id).cmp(&(b.created_millis, &b.id)));
    let mut remaining = imports.iter().filter(|import| {
        input.destination.as_deref().is_none_or(|destination| {
            import
                .destinations
                .iter()
                .any(|arn| arn == destination || arn.rsplit('/').next() == Some(destination))
        }) && input
            .import_status
            .as_ref()
            .is_none_or(|status| status.as_str() == import.status)
            && after
                .as_ref()
                .is_none_or(|(created, id)| (import.created_millis, &import.id) > (*created, id))
    });
    let page: Vec<&ImportRecord> = remaining.by_ref().take(page_size).collect();
    let next_token = match (remaining.next(), page.last()) {
        (Some(_), Some(last)) => Some(crate::tokens::encode(&format!(
            "{}/{}",
            last.created_millis, last.id
        ))),
        _ => None,
    };
    Ok(ListImportsResponse {
        imports: Some(
            page.into_iter()
                .map(|import| ImportsListItem {
                    import_id: Some(import.id.clone()),
                    import_status: Some(ImportStatus::from(import.status.as_str())),
                    destinations: Some(import.destinations.clone()),
                    created_timestamp: Some(Timestamp::from_millis(import.created_millis)),
                    updated_timestamp: Some(Timestamp::from_millis(import.updated_millis)),
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn list_import_failures(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListImportFailuresRequest,
) -> Result<ListImportFailuresResponse, ServiceError> {
    let import = state.find_import(ctx, &input.import_id).await?.value;
    let page_size = page_size(input.max_results);
    let prefix = format!("{}/", import.key());
    let after = match input.next_token.as_deref() {
        Some(token) => Some(
            crate::tokens::decode(token)?
                .strip_prefix(&format!("{}/", import.id))
                .map(|tail| format!("{prefix}{tail}"))
                .ok_or_else(|| errors::invalid_next_token_exception("Invalid NextToken."))?,
        ),
        None => None,
    };
    let mut page = typed::scan_json::<FailureRecord>(
        &state.store,
        IMPORT_FAILURES,
        &prefix,
        after.as_deref(),
        page_size + 1,
    )
    .await
    .map_err(store_error)?;
    let more = page.len() > page_size;
    page.truncate(page_size);
    let next_token = more
        .then(|| page.last())
        .flatten()
        .and_then(|(key, _)| key.strip_prefix(&prefix))
        .map(|tail| crate::tokens::encode(&format!("{}/{tail}", import.id)));
    Ok(ListImportFailuresResponse {
        failures: Some(
            page.into_iter()
                .map(|(_, stored)| {
                    let failure = stored.value;
                    ImportFailureListItem {
                        location: Some(failure.location),
                        status: Some(ImportFailureStatus::from(failure.status.as_str())),
                        error_type: Some(failure.error_type),
                        error_message: Some(failure.error_message),
                        last_updated_time: Some(Timestamp::from_millis(failure.updated_millis)),
                    }
                })
                .collect(),
        ),
        next_token,
    })
}

impl CloudTrailState {
    /// Refuses a change to the event data store `store_arn` of `account` in `region` while an
    /// import copies into it, as AWS does.
    pub(crate) async fn require_no_ongoing_import(
        &self,
        account: &str,
        region: &str,
        store_arn: &str,
    ) -> Result<(), ServiceError> {
        let prefix = format!("{account}/{region}/");
        let imports = typed::scan_all_json::<ImportRecord>(&self.store, IMPORTS, &prefix, CHUNK)
            .await
            .map_err(store_error)?;
        let ongoing = imports.iter().any(|(_, stored)| {
            stored.value.active() && stored.value.destinations.iter().any(|arn| arn == store_arn)
        });
        if ongoing {
            return Err(errors::event_data_store_has_ongoing_import_exception(
                format!("The event data store {store_arn} has an import in progress."),
            ));
        }
        Ok(())
    }
}

impl CloudTrailState {
    /// Runs queued imports, one at a time, for as long as the server runs: those a restart left
    /// queued first, then each as `StartImport` queues it.
    pub async fn run_imports(&self) {
        loop {
            let woken = self.imports_queued.notified();
            match self.run_queued_imports().await {
                Ok(()) => woken.await,
                Err(error) => {
                    tracing::warn!(%error, "running CloudTrail Lake imports failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs every queued import to its end (or until it is stopped). An import that cannot
    /// run fails, rather than staying in the queue ahead of every other: a retry resumes it.
    pub async fn run_queued_imports(&self) -> Result<(), ServiceError> {
        loop {
            let queued = self
                .store
                .scan(IMPORT_QUEUE, "", None, CHUNK)
                .await
                .map_err(store_error)?;
            if queued.is_empty() {
                return Ok(());
            }
            for (queue_key, entry) in queued {
                let id = String::from_utf8_lossy(entry.value.bytes()).into_owned();
                if let Err(error) = self.run_import(&queue_key, &id, entry.version).await {
                    tracing::warn!(import = %id, %error, "a CloudTrail Lake import failed");
                    if let Err(error) = self.fail_import(&format!("{queue_key}/{id}")).await {
                        // Not even its failure could be stored: it leaves the queue all the
                        // same, rather than stand before every other account's imports.
                        tracing::warn!(import = %id, %error, "a failed import left the queue");
                        let dequeue = Transaction::new().delete(IMPORT_QUEUE, &queue_key);
                        self.store.commit(dequeue).await.map_err(store_error)?;
                    }
                }
            }
        }
    }

    /// Runs the import `id` that the queue entry `queue_key` (at `queue_version`) names.
    async fn run_import(
        &self,
        queue_key: &str,
        id: &str,
        queue_version: u64,
    ) -> Result<(), ServiceError> {
        let key = format!("{queue_key}/{id}");
        loop {
            let stored = typed::get_json::<ImportRecord>(&self.store, IMPORTS, &key)
                .await
                .map_err(store_error)?;
            let stored = match stored {
                Some(stored) if stored.value.active() => stored,
                ended => {
                    // Gone or ended: the entry goes, unless it was queued again meanwhile (a
                    // retry changes the import, and a new entry may take the old one's version).
                    let transaction = match ended {
                        Some(ended) => {
                            Transaction::new().expect_version(IMPORTS, &key, ended.version)
                        }
                        None => Transaction::new().expect_absent(IMPORTS, &key),
                    };
                    let transaction = transaction
                        .expect_version(IMPORT_QUEUE, queue_key, queue_version)
                        .delete(IMPORT_QUEUE, queue_key);
                    return match self.store.commit(transaction).await {
                        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
                        Err(error) => Err(store_error(error)),
                    };
                }
            };
            let mut run = ImportRun::new(self, stored);
            let ran = match self.sink.clone() {
                Some(sink) => run.run(sink.as_ref()).await?,
                None => {
                    run.fail_source(
                        "InternalError",
                        "This server has no S3 endpoint or local directory to read log files \
                         from.",
                    )
                    .await?
                }
            };
            if let Ran::Finished = ran {
                return Ok(());
            }
        }
    }

    /// Fails the import `key` where it is, if it is still in progress.
    async fn fail_import(&self, key: &str) -> Result<(), ServiceError> {
        let stored = typed::get_json::<ImportRecord>(&self.store, IMPORTS, key)
            .await
            .map_err(store_error)?;
        if let Some(stored) = stored.filter(|stored| stored.value.active()) {
            // A race lost here leaves the import to the next look at the queue.
            ImportRun::new(self, stored)
                .fail_source(
                    "InternalError",
                    "The import failed on the server's side. Retry it.",
                )
                .await?;
        }
        Ok(())
    }

    /// The import `id` of the caller's account and region.
    async fn find_import(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Stored<ImportRecord>, ServiceError> {
        let key = import_key(ctx.account().as_str(), ctx.region.as_str(), id);
        typed::get_json::<ImportRecord>(&self.store, IMPORTS, &key)
            .await
            .map_err(store_error)?
            .filter(|stored| !stored.value.expired(self.clock.now_millis()))
            .ok_or_else(|| {
                errors::import_not_found_exception(format!("The import {id} was not found."))
            })
    }

    /// Every kept import of `account` in `region`.
    async fn region_imports(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<ImportRecord>, ServiceError> {
        let now = self.clock.now_millis();
        let prefix = format!("{account}/{region}/");
        Ok(
            typed::scan_all_json::<ImportRecord>(&self.store, IMPORTS, &prefix, CHUNK)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|(_, stored)| stored.value)
                .filter(|import| !import.expired(now))
                .collect(),
        )
    }

    /// Checks and stores a new import, queued.
    async fn new_import(
        &self,
        ctx: &RequestContext,
        destinations: &[String],
        source: S3ImportSource,
        (start_millis, end_millis): (Option<i64>, Option<i64>),
    ) -> Result<ImportRecord, ServiceError> {
        let sink = self.import_sink()?;
        let (bucket, prefix) = parse_location(&source.s3_location_uri)?;
        if Region::parse(&source.s3_bucket_region).is_none() {
            return Err(errors::invalid_import_source_exception(format!(
                "S3BucketRegion {} is not a valid Region.",
                source.s3_bucket_region
            )));
        }
        check_role_arn(&source.s3_bucket_access_role_arn)?;
        if matches!((start_millis, end_millis), (Some(start), Some(end)) if start > end) {
            return Err(errors::invalid_parameter_exception(
                "StartEventTime must not be later than EndEventTime.",
            ));
        }
        let destinations = self.import_destinations(ctx, destinations).await?;
        // The bucket is read as the runner will read it: a location it cannot list is refused
        // now, rather than failed later.
        sink.list(&bucket, &prefix, None)
            .await
            .map_err(|error| unreadable_source(&source.s3_location_uri, &error))?;
        let now = self.clock.now_millis();
        let import = ImportRecord {
            account: ctx.account().as_str().to_owned(),
            region: ctx.region.as_str().to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            destinations,
            source: SourceRecord {
                uri: source.s3_location_uri,
                bucket_region: source.s3_bucket_region,
                role_arn: source.s3_bucket_access_role_arn,
                bucket,
                prefix,
            },
            start_millis,
            end_millis,
            status: INITIALIZING.to_owned(),
            created_millis: now,
            updated_millis: now,
            statistics: Statistics::default(),
            listed_through: None,
            open_prefix: None,
            source_failed: false,
        };
        let (key, queue_key) = (import.key(), import.queue_key());
        self.mutate(|| async {
            self.check_no_import_in_progress(&queue_key).await?;
            let transaction = Transaction::new()
                .expect_absent(IMPORT_QUEUE, &queue_key)
                .put(IMPORT_QUEUE, &queue_key, queue_entry(&import.id))
                .expect_absent(IMPORTS, &key)
                .put(IMPORTS, &key, plain(&import)?);
            Ok((transaction, ()))
        })
        .await?;
        Ok(import)
    }

    /// Queues the stopped or failed import `id` again: its failures are retried, and its walk
    /// resumes where it ended.
    async fn retry_import(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<ImportRecord, ServiceError> {
        self.import_sink()?;
        let destinations = self.find_import(ctx, id).await?.value.destinations;
        self.import_destinations(ctx, &destinations).await?;
        self.mutate(|| async {
            let stored = self.find_import(ctx, id).await?;
            let mut import = stored.value.clone();
            if import.status == COMPLETED {
                return Err(errors::operation_not_permitted_exception(format!(
                    "Import {id} has status COMPLETED: only a STOPPED or FAILED import can be \
                     retried."
                )));
            }
            let queue_key = import.queue_key();
            self.check_no_import_in_progress(&queue_key).await?;
            let now = self.clock.now_millis();
            import.status = INITIALIZING.to_owned();
            import.updated_millis = now;
            import.statistics.failed_entries = 0;
            let key = import.key();
            let mut transaction = Transaction::new()
                .expect_absent(IMPORT_QUEUE, &queue_key)
                .put(IMPORT_QUEUE, &queue_key, queue_entry(id));
            transaction = stored.replace(transaction, IMPORTS, &key, plain(&import)?);
            let failures = typed::scan_all_json::<FailureRecord>(
                &self.store,
                IMPORT_FAILURES,
                &format!("{key}/"),
                CHUNK,
            )
            .await
            .map_err(store_error)?;
            for (failure_key, stored) in failures {
                if stored.value.status == SUCCEEDED {
                    continue;
                }
                let mut failure = stored.value.clone();
                failure.status = RETRY.to_owned();
                failure.updated_millis = now;
                transaction =
                    stored.replace(transaction, IMPORT_FAILURES, &failure_key, plain(&failure)?);
            }
            Ok((transaction, import))
        })
        .await
    }

    /// Fails unless no import is in progress in the account and region of `queue_key`.
    async fn check_no_import_in_progress(&self, queue_key: &str) -> Result<(), ServiceError> {
        let Some(entry) = self
            .store
            .get(IMPORT_QUEUE, queue_key)
            .await
            .map_err(store_error)?
        else {
            return Ok(());
        };
        Err(errors::account_has_ongoing_import_exception(format!(
            "Import {} is in progress in this account and Region. Wait for it to finish, or \
             stop it, before starting another.",
            String::from_utf8_lossy(entry.value.bytes())
        )))
    }

    /// The ARNs of the event data stores `references` name: the caller's, not pending deletion.
    async fn import_destinations(
        &self,
        ctx: &RequestContext,
        references: &[String],
    ) -> Result<Vec<String>, ServiceError> {
        let mut arns: Vec<String> = Vec::new();
        for reference in references {
            let store = self
                .find_active_event_data_store_of(
                    ctx.account().as_str(),
                    ctx.region.as_str(),
                    reference,
                )
                .await?;
            let arn = store.arn();
            if !arns.contains(&arn) {
                arns.push(arn);
            }
        }
        if arns.is_empty() {
            return Err(errors::invalid_parameter_exception(
                "You must specify the ARN of the event data store to import into in \
                 Destinations.",
            ));
        }
        Ok(arns)
    }

    fn import_sink(&self) -> Result<Arc<dyn TrailSink>, ServiceError> {
        self.sink.clone().ok_or_else(|| {
            errors::unsupported_operation_exception(
                "This server reads no S3 buckets (no S3 endpoint or local delivery directory is \
                 configured), so it cannot import trail events.",
            )
        })
    }

    /// The event data stores `import` copies into, as they are now; the reason the import
    /// cannot go on when one is gone or pending deletion.
    async fn live_destinations(
        &self,
        import: &ImportRecord,
    ) -> Result<Result<Vec<EventDataStoreRecord>, String>, ServiceError> {
        let mut stores = Vec::new();
        for arn in &import.destinations {
            let inactive = || {
                Ok(Err(format!(
                    "The event data store {arn} is no longer active."
                )))
            };
            let Ok((region, account, id)) = parse_arn(arn) else {
                return inactive();
            };
            let store = typed::get_json::<EventDataStoreRecord>(
                &self.store,
                EVENT_DATA_STORES,
                &format!("{account}/{id}"),
            )
            .await
            .map_err(store_error)?
            .map(|stored| stored.value)
            .filter(|store| store.region == region && store.deleted_millis.is_none());
            match store {
                Some(store) => stores.push(store),
                None => return inactive(),
            }
        }
        Ok(Ok(stores))
    }

    /// Deletes the imports kept past their 30 days, with their failures; the server's sweeper
    /// calls it. (Until then they are already out of sight.)
    pub async fn forget_expired_imports(&self) -> Result<(), ServiceError> {
        let now = self.clock.now_millis();
        let mut after: Option<String> = None;
        loop {
            let page =
                typed::scan_json::<ImportRecord>(&self.store, IMPORTS, "", after.as_deref(), CHUNK)
                    .await
                    .map_err(store_error)?;
            let done = page.len() < CHUNK;
            after = page.last().map(|(key, _)| key.clone());
            for (key, stored) in page {
                if !stored.value.expired(now) {
                    continue;
                }
                let mut transaction = Transaction::new()
                    .expect_version(IMPORTS, &key, stored.version)
                    .delete(IMPORTS, &key);
                let prefix = format!("{key}/");
                let mut failures_after: Option<String> = None;
                loop {
                    let failures = self
                        .store
                        .scan(IMPORT_FAILURES, &prefix, failures_after.as_deref(), CHUNK)
                        .await
                        .map_err(store_error)?;
                    let last_page = failures.len() < CHUNK;
                    failures_after = failures.last().map(|(key, _)| key.clone());
                    for (failure_key, _) in failures {
                        transaction = transaction.delete(IMPORT_FAILURES, &failure_key);
                    }
                    if last_page {
                        break;
                    }
                }
                match self.store.commit(transaction).await {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(error) => return Err(store_error(error)),
                }
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// How a run of an import ended.
enum Ran {
    /// It ended (completed, failed or stopped).
    Finished,
    /// Another writer changed the import meanwhile (a `StopImport`, another runner): look again.
    Raced,
}

/// One run of an import: its record as this run last wrote it, and the version that write got.
struct ImportRun<'s> {
    state: &'s CloudTrailState,
    key: String,
    import: ImportRecord,
    version: u64,
}

/// What reading one log file came to: the events to copy, or why none could be.
struct FileOutcome {
    events: Vec<ImportedEvent>,
    failure: Option<Failure>,
}

struct ImportedEvent {
    millis: i64,
    event_id: String,
    /// Whose event it is: its `recipientAccountId`.
    account: Option<String>,
    record: Vec<u8>,
}

/// A failure as `ListImportFailures` shows it.
struct Failure {
    error_type: String,
    message: String,
}

impl<'s> ImportRun<'s> {
    fn new(state: &'s CloudTrailState, stored: Stored<ImportRecord>) -> Self {
        Self {
            state,
            key: stored.value.key(),
            import: stored.value,
            version: stored.version,
        }
    }

    /// Runs the import, reading its source through `sink`.
    async fn run(&mut self, sink: &dyn TrailSink) -> Result<Ran, ServiceError> {
        if self.import.status == INITIALIZING {
            self.import.status = IN_PROGRESS.to_owned();
            if !self.commit(Transaction::new()).await? {
                return Ok(Ran::Raced);
            }
        }
        if let Some(ran) = self.retry_failed_files(sink).await? {
            return Ok(ran);
        }
        loop {
            let page = match sink
                .list(
                    &self.import.source.bucket,
                    &self.import.source.prefix,
                    self.import.listed_through.as_deref(),
                )
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    let (error_type, message) = sink_failure(&error);
                    return self.fail_source(&error_type, &message).await;
                }
            };
            if self.import.source_failed && !self.resolve_source().await? {
                return Ok(Ran::Raced);
            }
            // Objects passed over are written with the next file copied, or at the page's end.
            let mut passed_over = false;
            for object in page.keys {
                if !self.import.copies(&object) {
                    self.import.listed_through = Some(object);
                    passed_over = true;
                    continue;
                }
                passed_over = false;
                if let Some(ran) = self.copy_file(sink, &object, None).await? {
                    return Ok(ran);
                }
            }
            if passed_over && !self.commit(Transaction::new()).await? {
                return Ok(Ran::Raced);
            }
            if !page.truncated {
                break;
            }
        }
        self.finish().await
    }

    /// Copies again each log file a retry asked for; `Some` when the run ended meanwhile.
    async fn retry_failed_files(
        &mut self,
        sink: &dyn TrailSink,
    ) -> Result<Option<Ran>, ServiceError> {
        let prefix = format!("{}/", self.key);
        let mut after: Option<String> = None;
        loop {
            let page = typed::scan_json::<FailureRecord>(
                &self.state.store,
                IMPORT_FAILURES,
                &prefix,
                after.as_deref(),
                CHUNK,
            )
            .await
            .map_err(store_error)?;
            let done = page.len() < CHUNK;
            after = page.last().map(|(key, _)| key.clone());
            for (key, stored) in page {
                if stored.value.status != RETRY || !stored.value.file {
                    continue;
                }
                let bucket_prefix = format!("s3://{}/", self.import.source.bucket);
                let Some(object) = stored.value.location.strip_prefix(&bucket_prefix) else {
                    continue;
                };
                let object = object.to_owned();
                if let Some(ran) = self.copy_file(sink, &object, Some((key, stored))).await? {
                    return Ok(Some(ran));
                }
            }
            if done {
                return Ok(None);
            }
        }
    }

    /// Copies the log file `object` into every destination, in one write with the import's
    /// progress and the file's failure, if any; `retrying` is the failure a retry copies it
    /// for. `Some` when the run ended meanwhile.
    async fn copy_file(
        &mut self,
        sink: &dyn TrailSink,
        object: &str,
        retrying: Option<(String, Stored<FailureRecord>)>,
    ) -> Result<Option<Ran>, ServiceError> {
        let destinations = match self.state.live_destinations(&self.import).await? {
            Ok(destinations) => destinations,
            Err(reason) => {
                return self
                    .fail_source(INACTIVE_EVENT_DATA_STORE, &reason)
                    .await
                    .map(Some);
            }
        };
        let outcome = match sink.get(&self.import.source.bucket, object).await {
            Ok(body) => {
                let range = (self.import.start_millis, self.import.end_millis);
                tokio::task::spawn_blocking(move || read_log_file(&body, range))
                    .await
                    .map_err(|error| {
                        ServiceError::internal(format!("reading a log file: {error}"))
                    })?
            }
            Err(error) => {
                let (error_type, message) = sink_failure(&error);
                FileOutcome {
                    events: Vec::new(),
                    failure: Some(Failure {
                        error_type,
                        message,
                    }),
                }
            }
        };
        // The server reads every bucket with its own credentials, and no role is assumed: an
        // account copies only its own events (its organization's, when it manages one), never
        // another account's that it names a bucket of.
        let owners = match self
            .state
            .organization_coverage(&self.import.account, true)
            .await?
        {
            Some(coverage) => coverage
                .members
                .into_iter()
                .map(|member| member.account)
                .collect(),
            None => vec![self.import.account.clone()],
        };
        let now = self.state.clock.now_millis();
        let mut transaction = Transaction::new();
        let mut copied: u64 = 0;
        for event in &outcome.events {
            if !event
                .account
                .as_ref()
                .is_some_and(|account| owners.contains(account))
            {
                continue;
            }
            let mut stored = false;
            for store in &destinations {
                if event.millis < store.oldest_kept(now) {
                    continue;
                }
                // The history's layout, with the event data store's id where the region goes:
                // `imported_prefix(account, id)` followed by the inverted time and eventID.
                let key = history::key(&store.account, &store.id, event.millis, &event.event_id);
                transaction =
                    transaction.put(IMPORTED_EVENTS, &key, Value::Plain(event.record.clone()));
                stored = true;
            }
            copied += u64::from(stored);
        }
        let location = self.import.location_of(object);
        let statistics = &mut self.import.statistics;
        let counted_before = retrying
            .as_ref()
            .map_or(0, |(_, failure)| failure.value.copied);
        statistics.events_completed += copied.saturating_sub(counted_before);
        match outcome.failure {
            None => {
                statistics.files_completed += 1;
                if let Some((key, stored)) = retrying {
                    let mut failure = stored.value.clone();
                    failure.status = SUCCEEDED.to_owned();
                    failure.updated_millis = now;
                    failure.copied = copied.max(failure.copied);
                    transaction =
                        stored.replace(transaction, IMPORT_FAILURES, &key, plain(&failure)?);
                }
            }
            Some(Failure {
                error_type,
                message,
            }) => {
                statistics.failed_entries += 1;
                let failure = FailureRecord {
                    location: location.clone(),
                    file: true,
                    status: FAILED.to_owned(),
                    error_type,
                    error_message: message,
                    updated_millis: now,
                    copied: copied.max(counted_before),
                };
                transaction = match retrying {
                    Some((key, stored)) => {
                        stored.replace(transaction, IMPORT_FAILURES, &key, plain(&failure)?)
                    }
                    None => transaction.put(
                        IMPORT_FAILURES,
                        &failure_key(&self.key, &location),
                        plain(&failure)?,
                    ),
                };
            }
        }
        if self
            .import
            .listed_through
            .as_deref()
            .is_none_or(|through| through < object)
        {
            self.reach_prefix(object);
            self.import.listed_through = Some(object.to_owned());
        }
        Ok((!self.commit(transaction).await?).then_some(Ran::Raced))
    }

    /// Counts the prefix of `object` found, and the one before it completed, when the walk
    /// enters a new prefix.
    fn reach_prefix(&mut self, object: &str) {
        let prefix = object
            .rfind('/')
            .and_then(|end| object.get(..end))
            .unwrap_or("");
        if self.import.open_prefix.as_deref() == Some(prefix) {
            return;
        }
        let statistics = &mut self.import.statistics;
        if self.import.open_prefix.is_some() {
            statistics.prefixes_completed += 1;
        }
        statistics.prefixes_found += 1;
        self.import.open_prefix = Some(prefix.to_owned());
    }

    /// Ends the walk: `COMPLETED`, or `FAILED` when failures remain.
    async fn finish(&mut self) -> Result<Ran, ServiceError> {
        if self.import.open_prefix.take().is_some() {
            self.import.statistics.prefixes_completed += 1;
        }
        self.import.status = if self.import.statistics.failed_entries > 0 {
            FAILED
        } else {
            COMPLETED
        }
        .to_owned();
        self.end_with(Transaction::new()).await
    }

    /// Fails the import at its source's own location: it cannot go on.
    async fn fail_source(&mut self, error_type: &str, message: &str) -> Result<Ran, ServiceError> {
        let location = self.import.source.uri.clone();
        let key = failure_key(&self.key, &location);
        let failure = FailureRecord {
            location,
            file: false,
            status: FAILED.to_owned(),
            error_type: error_type.to_owned(),
            error_message: message.to_owned(),
            updated_millis: self.state.clock.now_millis(),
            copied: 0,
        };
        self.import.statistics.failed_entries += 1;
        self.import.source_failed = true;
        self.import.status = FAILED.to_owned();
        self.end_with(Transaction::new().put(IMPORT_FAILURES, &key, plain(&failure)?))
            .await
    }

    /// Marks the failure at the source's own location `SUCCEEDED`: this run got past it.
    /// Whether the write won.
    async fn resolve_source(&mut self) -> Result<bool, ServiceError> {
        let key = failure_key(&self.key, &self.import.source.uri);
        let mut transaction = Transaction::new();
        if let Some(stored) =
            typed::get_json::<FailureRecord>(&self.state.store, IMPORT_FAILURES, &key)
                .await
                .map_err(store_error)?
        {
            let mut failure = stored.value.clone();
            failure.status = SUCCEEDED.to_owned();
            failure.updated_millis = self.state.clock.now_millis();
            transaction = stored.replace(transaction, IMPORT_FAILURES, &key, plain(&failure)?);
        }
        self.import.source_failed = false;
        self.commit(transaction).await
    }

    /// Writes the import's end with `transaction`, and takes it out of the queue.
    async fn end_with(&mut self, transaction: Transaction) -> Result<Ran, ServiceError> {
        let transaction = transaction.delete(IMPORT_QUEUE, &self.import.queue_key());
        Ok(if self.commit(transaction).await? {
            Ran::Finished
        } else {
            Ran::Raced
        })
    }

    /// Writes the import as it is now with `transaction`, pinned to the version this run last
    /// wrote or read; false when another writer changed it meanwhile, and nothing was written.
    async fn commit(&mut self, transaction: Transaction) -> Result<bool, ServiceError> {
        self.import.updated_millis = self.state.clock.now_millis();
        let transaction = transaction
            .expect_version(IMPORTS, &self.key, self.version)
            .put(IMPORTS, &self.key, plain(&self.import)?);
        match self.state.store.commit(transaction).await {
            Ok(()) => {
                // A committed write gives the key its next version.
                self.version += 1;
                Ok(true)
            }
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }
}

/// The events of a log file (`body`, gzipped) with an event time in `range`: gzip, a JSON
/// object with a `Records` list, each record with an `eventTime` and an `eventID`.
fn read_log_file(body: &[u8], range: (Option<i64>, Option<i64>)) -> FileOutcome {
    let failed = |error_type: &str, message: String| FileOutcome {
        events: Vec::new(),
        failure: Some(Failure {
            error_type: error_type.to_owned(),
            message,
        }),
    };
    if !body.starts_with(&[0x1f, 0x8b]) {
        return failed(
            INVALID_FILE_FORMAT,
            "The file is not compressed with gzip. CloudTrail copies events only from \
             gzip-compressed log files."
                .to_owned(),
        );
    }
    let mut text = Vec::new();
    if let Err(error) = flate2::read::GzDecoder::new(body)
        .take(MAX_LOG_BYTES + 1)
        .read_to_end(&mut text)
    {
        return failed(
            INVALID_FILE_FORMAT,
            format!("The file could not be decompressed: {error}."),
        );
    }
    if text.len() as u64 > MAX_LOG_BYTES {
        return failed(
            INVALID_FILE_FORMAT,
            format!("The file is larger than {MAX_LOG_BYTES} bytes once decompressed."),
        );
    }
    #[derive(Deserialize)]
    struct LogFile {
        #[serde(rename = "Records")]
        records: Vec<serde_json::Value>,
    }
    let Ok(file) = serde_json::from_slice::<LogFile>(&text) else {
        return failed(
            INVALID_FILE_FORMAT,
            "The file is not a CloudTrail log file: it is not a JSON object with a Records list."
                .to_owned(),
        );
    };
    let total = file.records.len();
    let (start, end) = range;
    let mut events = Vec::new();
    let mut invalid = 0_usize;
    for record in file.records {
        let event_time = record
            .get("eventTime")
            .and_then(serde_json::Value::as_str)
            .and_then(parse_event_time);
        let event_id = record
            .get("eventID")
            .and_then(serde_json::Value::as_str)
            .filter(|id| valid_event_id(id));
        let (Some(millis), Some(event_id), Ok(bytes)) =
            (event_time, event_id, serde_json::to_vec(&record))
        else {
            invalid += 1;
            continue;
        };
        if start.is_some_and(|start| millis < start) || end.is_some_and(|end| millis > end) {
            continue;
        }
        let account = record
            .get("recipientAccountId")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        events.push(ImportedEvent {
            millis,
            event_id: event_id.to_owned(),
            account,
            record: bytes,
        });
    }
    let failure = (invalid > 0).then(|| Failure {
        error_type: INVALID_EVENT.to_owned(),
        message: format!(
            "{invalid} of the {total} events in the file have no valid eventTime or eventID and \
             were not copied; the others were."
        ),
    });
    FileOutcome { events, failure }
}

/// Whether `id` can name an event in the history's layout (which sorts ids before `~` and
/// splits keys at `/`): what CloudTrail writes, a UUID, is.
fn valid_event_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_EVENT_ID
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

/// The day in the name of a log file (`..._CloudTrail_<region>_20240301T0000Z_<id>.json.gz`).
fn name_day(key: &str) -> Option<time::Date> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        let digits = |range: std::ops::Range<usize>| part.get(range)?.parse::<u32>().ok();
        let shaped = part.len() == 14
            && part.get(8..9) == Some("T")
            && part.ends_with('Z')
            && part
                .get(9..13)
                .is_some_and(|time| time.bytes().all(|b| b.is_ascii_digit()));
        if !shaped {
            return None;
        }
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = time::Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
        let day = u8::try_from(digits(6..8)?).ok()?;
        time::Date::from_calendar_date(year, month, day).ok()
    })
}

/// `s3://<bucket>[/<prefix>]` as its bucket and prefix.
fn parse_location(uri: &str) -> Result<(String, String), ServiceError> {
    let invalid = || {
        errors::invalid_import_source_exception(format!(
            "The S3 location URI {uri} is not valid: it must be s3://<bucket name>/<prefix>."
        ))
    };
    let rest = uri.strip_prefix("s3://").ok_or_else(invalid)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket_name(bucket).map_err(|_| invalid())?;
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// An IAM role ARN: `arn:<partition>:iam::<account>:role/<path and name>`.
fn check_role_arn(arn: &str) -> Result<(), ServiceError> {
    let parts = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(partition, rest)| Some((partition, rest.split_once(":role/")?)));
    let valid = parts.is_some_and(|(partition, (account, name))| {
        partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|byte| byte.is_ascii_digit())
            && !name.is_empty()
    });
    if valid {
        return Ok(());
    }
    Err(errors::invalid_import_source_exception(format!(
        "S3BucketAccessRoleArn {arn} is not a valid IAM role ARN."
    )))
}

fn unreadable_source(uri: &str, error: &SinkError) -> ServiceError {
    let reason = match &error.code {
        Some(code) if code == "NoSuchBucket" => "the bucket does not exist".to_owned(),
        Some(code) => format!("S3 answered {code}"),
        None => "S3 did not answer".to_owned(),
    };
    errors::invalid_import_source_exception(format!(
        "The S3 location {uri} cannot be read for import: {reason}."
    ))
}

/// A failed read as a failure's type and message: S3's error code, when it answered one.
fn sink_failure(error: &SinkError) -> (String, String) {
    match &error.code {
        Some(code) => (code.clone(), format!("S3 answered {code}.")),
        None => (
            "ServiceUnavailable".to_owned(),
            "S3 did not answer.".to_owned(),
        ),
    }
}

fn queue_entry(id: &str) -> Value {
    Value::Plain(id.as_bytes().to_vec())
}

fn page_size(max_results: Option<i32>) -> usize {
    max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, DEFAULT_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(prefix: &str, range: (Option<i64>, Option<i64>)) -> ImportRecord {
        ImportRecord {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            id: "0c6a1e2f-1111-4222-8333-444455556666".to_owned(),
            destinations: Vec::new(),
            source: SourceRecord {
                uri: format!("s3://bucket/{prefix}"),
                bucket_region: "us-east-1".to_owned(),
                role_arn: "arn:aws:iam::111122223333:role/import".to_owned(),
                bucket: "bucket".to_owned(),
                prefix: prefix.to_owned(),
            },
            start_millis: range.0,
            end_millis: range.1,
            status: INITIALIZING.to_owned(),
            created_millis: 0,
            updated_millis: 0,
            statistics: Statistics::default(),
            listed_through: None,
            open_prefix: None,
            source_failed: false,
        }
    }

    const LOG: &str = "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/\
                       111122223333_CloudTrail_us-east-1_20240301T0105Z_abcdEFGH01234567.json.gz";
    /// 2024-03-01T00:00:00Z and the days after.
    const MARCH_1: i64 = 1_709_251_200_000;
    const DAY: i64 = 24 * 60 * 60 * 1000;

    #[test]
    fn the_walk_copies_cloudtrail_prefixes_and_prefixes_named_outright() {
        let whole_bucket = import("", (None, None));
        assert!(whole_bucket.copies(LOG));
        assert!(whole_bucket.copies("AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/x.json.gz"));
        for other in [
            "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/d.json.gz",
            "logs/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/03/01/i.json.gz",
            "logs/AWSLogs/111122223333/Config/us-east-1/c.json.gz",
            "copied/custom.json.gz",
            "logs/AWSLogs/111122223333/CloudTrail/",
        ] {
            assert!(!whole_bucket.copies(other), "{other}");
        }
        let named = import("copied/", (None, None));
        assert!(named.copies("copied/custom.json.gz"));
        assert!(named.copies("copied/deeper/custom.json"));
        assert!(!named.copies("copied/AWSLogs/111122223333/CloudTrail-Digest/d.json.gz"));
    }

    #[test]
    fn a_time_range_keeps_the_log_files_named_on_its_days() {
        assert_eq!(
            name_day(LOG),
            time::Date::from_calendar_date(2024, time::Month::March, 1).ok()
        );
        assert_eq!(name_day("copied/custom.json.gz"), None);
        assert_eq!(name_day("a/1_CloudTrail_r_20241301T0000Z_x.json.gz"), None);
        let within = [
            (None, None),
            (Some(MARCH_1 + DAY - 1), None),
            (None, Some(MARCH_1)),
            (Some(MARCH_1 - DAY), Some(MARCH_1 + 1)),
        ];
        for range in within {
            assert!(import("logs/", range).copies(LOG), "{range:?}");
        }
        for range in [(Some(MARCH_1 + DAY), None), (None, Some(MARCH_1 - 1))] {
            assert!(!import("logs/", range).copies(LOG), "{range:?}");
        }
        // A name without a date is read, and its events' times decide.
        assert!(import("copied/", (Some(MARCH_1 + DAY), None)).copies("copied/custom.json.gz"));
    }

    #[test]
    fn log_files_are_read_for_their_valid_events_in_range() {
        let gzip = |text: &str| crate::delivery::gzip(text.as_bytes()).unwrap();
        let body = gzip(
            r#"{"Records":[
                {"eventTime":"2024-03-01T00:00:10Z","eventID":"a-1","eventName":"A"},
                {"eventTime":"2024-03-01T00:00:20Z","eventID":"b-2","eventName":"B"},
                {"eventTime":"2024-03-01T00:00:30Z","eventName":"NoId"},
                {"eventTime":"2024-03-01T00:00:30Z","eventID":"../x","eventName":"BadId"},
                {"eventTime":"yesterday","eventID":"c-3","eventName":"BadTime"}
            ]}"#,
        );
        let read = read_log_file(&body, (Some(MARCH_1 + 15_000), None));
        let events: Vec<(i64, &str)> = read
            .events
            .iter()
            .map(|event| (event.millis, event.event_id.as_str()))
            .collect();
        assert_eq!(events, [(MARCH_1 + 20_000, "b-2")]);
        let failure = read.failure.unwrap();
        assert_eq!(failure.error_type, INVALID_EVENT);
        assert!(failure.message.starts_with("3 of the 5 events"));

        for bad in [
            b"{\"Records\":[]}".to_vec(),
            gzip("not json"),
            gzip(r#"{"records":[]}"#),
            vec![0x1f, 0x8b, 0, 1],
        ] {
            let read = read_log_file(&bad, (None, None));
            assert!(read.events.is_empty());
            assert_eq!(read.failure.unwrap().error_type, INVALID_FILE_FORMAT);
        }
    }

    #[test]
    fn sources_are_checked_for_form() {
        assert_eq!(
            parse_location("s3://bucket/a/b").ok(),
            Some(("bucket".to_owned(), "a/b".to_owned()))
        );
        assert_eq!(
            parse_location("s3://bucket").ok(),
            Some(("bucket".to_owned(), String::new()))
        );
        for bad in [
            "bucket/a",
            "s3://",
            "s3://B/a",
            "s3://../a",
            "S3://bucket/a",
        ] {
            assert!(parse_location(bad).is_err(), "{bad}");
        }
        assert!(check_role_arn("arn:aws:iam::111122223333:role/path/import").is_ok());
        for bad in [
            "arn:aws:iam::111122223333:user/import",
            "arn:aws:iam::1111:role/import",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:sts::111122223333:role/import",
            "import",
        ] {
            assert!(check_role_arn(bad).is_err(), "{bad}");
        }
        assert!(valid_event_id("0c6a1e2f-1111-4222-8333-444455556666"));
        for bad in ["", "a/b", "a~", "a b", &"a".repeat(MAX_EVENT_ID + 1)] {
            assert!(!valid_event_id(bad), "{bad}");
        }
    }
}
