//! Delivery of logging trails' records, as gzipped `{"Records":[...]}` log files, to an S3
//! endpoint or the local directory that stands in for S3 ([`crate::sink`]; keys in
//! [`crate::layout`]), and of digests for trails with log file validation ([`crate::digest`]).
//!
//! A trail delivers the records of its account (of every account of its organization, for an
//! organization trail: `crate::organization`) in its home region, or in every region for a
//! multi-Region trail, from `StartLogging` on (and up to `StopLogging`), that its event
//! selectors let through (`crate::selection`). Each run covers, per account and region, the
//! records after that source's cursor up to the run's end, and moves the cursor.
//!
//! At least once, without duplicates in files: before writing, a run stores its end in the
//! trail's delivery record (the intent); after its files are durable, it stores the new cursors
//! and clears the intent. A run that finds an intent left by a crash redoes that run with the
//! same end, so it covers the same ranges and writes the same file names (derived from the
//! trail, region and range), overwriting rather than adding files. A record whose call was still
//! running when its range was delivered is missed; periodic runs end [`SETTLE_MILLIS`] before
//! now so that calls in flight have finished.
//!
//! A run that fails is reported in `GetTrailStatus`, as AWS reports it: the S3 error code of a
//! log file's write in `LatestDeliveryError`, of a digest's in `LatestDigestDeliveryError`. Its
//! intent stays, so the next run retries it.
//!
//! State: keyspace [`DELIVERIES`], one [`DeliveryRecord`] per trail under the trail's key.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;
use palisade_audit::{KEYSPACE, history};
use palisade_core::ServiceError;
use palisade_store::Transaction;
use palisade_store::typed::{self, Stored};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::{TrailRecord, store_error};
use crate::digest::{DigestPlan, DigestedLogFile, PreviousDigest, sha256_hex, sign_digest};
use crate::encryption::KeyInUse;
use crate::organization::Coverage;
use crate::sink::{LocalDirectory, SinkError, TrailObject, TrailSink};
use crate::{layout, selection};

/// Delivery records, by trail key.
pub(crate) const DELIVERIES: &str = "cloudtrail/deliveries";
/// How long before "now" a periodic run ends: a call's record carries the time the call
/// started, and becomes readable only once the call has finished.
pub const SETTLE_MILLIS: i64 = 60_000;
/// How often a trail with validation gets a digest.
const DIGEST_PERIOD_MILLIS: i64 = 60 * 60 * 1000;
/// Most records in one log file.
const RECORDS_PER_FILE: usize = 5_000;
/// Records read from the store at a time.
const SCAN_BATCH: usize = 500;

/// What a delivery run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Log files written.
    pub log_files: usize,
    /// Digest files written.
    pub digests: usize,
}

/// A trail's delivery state and the status `GetTrailStatus` reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DeliveryRecord {
    /// The end of a run that may not have finished; the next run redoes it with this end.
    pending_end: Option<i64>,
    /// Whether that run also closes each region's digest, however young.
    pending_forces_digest: bool,
    /// By [`Source::cursor_key`].
    regions: BTreeMap<String, RegionCursor>,
    pub latest_delivery_millis: Option<i64>,
    pub latest_attempt_millis: Option<i64>,
    pub latest_attempt_succeeded: Option<bool>,
    pub latest_delivery_error: Option<String>,
    pub latest_digest_millis: Option<i64>,
    pub latest_digest_delivery_error: Option<String>,
}

/// How far a source's records are delivered, and its digest chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegionCursor {
    /// Every record at or before this time is delivered.
    delivered_through: i64,
    /// `None` while validation is off.
    digest: Option<DigestCursor>,
}

/// The digest being gathered: since when, the log files delivered since, and the chain so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DigestCursor {
    start_millis: i64,
    log_files: Vec<DigestedLogFile>,
    previous: Option<PreviousDigest>,
}

impl CloudTrailState {
    /// Delivers files of trails into `root` (the stand-in for S3 buckets).
    pub fn with_delivery_root(self, root: PathBuf) -> Self {
        self.with_delivery_sink(Arc::new(LocalDirectory::new(root)))
    }

    /// Delivers files of trails to `sink`.
    pub fn with_delivery_sink(mut self, sink: Arc<dyn TrailSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The periodic run: records up to [`SETTLE_MILLIS`] ago, and each digest once its hour is
    /// over.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, ServiceError> {
        let end = self.clock.now_millis() - SETTLE_MILLIS;
        self.deliver(end, false).await
    }

    /// Delivers every record of calls answered so far, and closes every digest: for tests and
    /// local mode, where waiting for the period is not wanted. A call still running meanwhile
    /// may be missed.
    pub async fn deliver_now(&self) -> Result<DeliveryReport, ServiceError> {
        let end = self.clock.now_millis();
        self.deliver(end, true).await
    }

    async fn deliver(&self, end: i64, force_digest: bool) -> Result<DeliveryReport, ServiceError> {
        let Some(sink) = self.sink.clone() else {
            return Ok(DeliveryReport::default());
        };
        // One run at a time, so two runs never race on a trail's files and cursor.
        let _running = self.delivering.lock().await;
        self.audit.flush().await;
        let mut report = DeliveryReport::default();
        for trail in self.trails_under("").await? {
            let trail = trail.value;
            match self
                .deliver_trail(sink.as_ref(), &trail, end, force_digest)
                .await
            {
                Ok(delivered) => {
                    report.log_files += delivered.log_files;
                    report.digests += delivered.digests;
                }
                Err(failure) => {
                    tracing::warn!(trail = %trail.arn(), error = %failure, "trail delivery failed");
                    self.record_failure(&trail, &failure).await;
                }
            }
        }
        Ok(report)
    }

    async fn deliver_trail(
        &self,
        sink: &dyn TrailSink,
        trail: &TrailRecord,
        run_end: i64,
        force_digest: bool,
    ) -> Result<DeliveryReport, RunFailure> {
        let Some(logging_from) = trail.start_logging_millis else {
            return Ok(DeliveryReport::default());
        };
        let key = trail.key();
        let stored = typed::get_json::<DeliveryRecord>(&self.store, DELIVERIES, &key)
            .await
            .map_err(store_error)?;
        let mut record = stored
            .as_ref()
            .map(|stored| stored.value.clone())
            .unwrap_or_default();
        let (end, force_digest) = match record.pending_end {
            Some(end) => (end, record.pending_forces_digest),
            None => (run_end, force_digest),
        };
        let upper = if trail.is_logging {
            end
        } else {
            trail.stop_logging_millis.unwrap_or(end).min(end)
        };
        let coverage = self.coverage(trail).await?;
        let sources = self.sources_of(trail, coverage.as_ref(), &record).await?;
        let organization = coverage
            .as_ref()
            .map(|coverage| coverage.organization_id.as_str());
        let nothing_new = sources.iter().all(|source| {
            record
                .regions
                .get(&source.cursor_key(trail))
                .is_some_and(|cursor| cursor.delivered_through >= upper)
        });
        if !trail.is_logging && nothing_new {
            return Ok(DeliveryReport::default());
        }
        let now = self.clock.now_millis();
        if record.pending_end.is_none() {
            record.pending_end = Some(end);
            record.pending_forces_digest = force_digest;
            record.latest_attempt_millis = Some(now);
            self.save(&key, stored.as_ref(), &record).await?;
        }

        // Read once per run: every log file of the run is checked against it.
        let kms_key = self.key_in_use(trail).await?;
        let mut report = DeliveryReport::default();
        for source in sources {
            let cursor_key = source.cursor_key(trail);
            let mut cursor = record
                .regions
                .remove(&cursor_key)
                .unwrap_or_else(|| RegionCursor {
                    delivered_through: logging_from - 1,
                    digest: None,
                });
            let from = cursor.delivered_through.max(logging_from - 1);
            let delivered = if upper > from {
                let file = LogFile {
                    trail,
                    organization,
                    source: &source,
                    range: (from, upper),
                    end,
                    key: kms_key.as_ref(),
                    now,
                };
                self.deliver_range(sink, &file).await?
            } else {
                Vec::new()
            };
            cursor.delivered_through = cursor.delivered_through.max(upper);
            report.log_files += delivered.len();
            if !delivered.is_empty() {
                record.latest_delivery_millis = Some(now);
            }
            cursor.digest = if trail.log_file_validation_enabled {
                let mut digest = cursor.digest.take().unwrap_or(DigestCursor {
                    start_millis: from + 1,
                    log_files: Vec::new(),
                    previous: None,
                });
                digest.log_files.extend(delivered);
                // Digests are named to the second: a second digest within the same second
                // would take the first one's name, so it waits.
                let new_second = end.div_euclid(1000) > digest.start_millis.div_euclid(1000);
                let due = new_second
                    && (force_digest || end - digest.start_millis >= DIGEST_PERIOD_MILLIS);
                if due && (trail.is_logging || !digest.log_files.is_empty()) {
                    let signed = sign_digest(
                        self,
                        DigestPlan {
                            organization,
                            account: &source.account,
                            bucket: &trail.s3_bucket_name,
                            prefix: trail.s3_key_prefix.as_deref(),
                            region: &source.region,
                            trail_name: &trail.name,
                            home_region: &trail.home_region,
                            start_millis: digest.start_millis,
                            end_millis: end,
                            previous: digest.previous.as_ref(),
                            log_files: &digest.log_files,
                        },
                    )
                    .await?;
                    sink.put(TrailObject {
                        bucket: &trail.s3_bucket_name,
                        key: &signed.object,
                        body: signed.body,
                        signature: Some(&signed.chained.signature),
                        // AWS encrypts only log files with the trail's key.
                        sse_kms_key_id: None,
                    })
                    .await
                    .map_err(RunFailure::Digest)?;
                    report.digests += 1;
                    record.latest_digest_millis = Some(now);
                    digest = DigestCursor {
                        start_millis: end,
                        log_files: Vec::new(),
                        previous: Some(signed.chained),
                    };
                }
                Some(digest)
            } else {
                None
            };
            record.regions.insert(cursor_key, cursor);
        }
        record.pending_end = None;
        record.pending_forces_digest = false;
        record.latest_attempt_succeeded = Some(true);
        record.latest_delivery_error = None;
        record.latest_digest_delivery_error = None;
        let stored = typed::get_json::<DeliveryRecord>(&self.store, DELIVERIES, &key)
            .await
            .map_err(store_error)?;
        self.save(&key, stored.as_ref(), &record).await?;
        Ok(report)
    }

    /// Writes the log files of `file`'s source's records in its range that its trail delivers;
    /// answers them as the digest lists them.
    async fn deliver_range(
        &self,
        sink: &dyn TrailSink,
        file: &LogFile<'_>,
    ) -> Result<Vec<DigestedLogFile>, RunFailure> {
        let LogFile {
            trail,
            source,
            range: (from, upper),
            ..
        } = *file;
        let prefix = history::prefix(&source.account, &source.region);
        let mut position = history::at_or_before(&source.account, &source.region, upper);
        let mut files = Vec::new();
        let mut batch: Vec<(i64, Vec<u8>)> = Vec::new();
        loop {
            let page = self
                .store
                .scan(KEYSPACE, &prefix, Some(&position), SCAN_BATCH)
                .await
                .map_err(store_error)?;
            let last_page = page.len() < SCAN_BATCH;
            let mut reached_from = false;
            for (key, entry) in page {
                let Some(millis) = history::millis_of(&key) else {
                    continue;
                };
                if millis <= from {
                    reached_from = true;
                    break;
                }
                position = key;
                let record = entry.value.bytes();
                if millis < source.since_millis
                    || !selection::logs_record(trail.event_selectors.as_ref(), record)
                {
                    continue;
                }
                batch.push((millis, record.to_vec()));
                if batch.len() == RECORDS_PER_FILE {
                    let part = files.len();
                    let records = std::mem::take(&mut batch);
                    files.push(write_log_file(sink, file, part, records).await?);
                }
            }
            if reached_from || last_page {
                break;
            }
        }
        if !batch.is_empty() {
            let part = files.len();
            files.push(write_log_file(sink, file, part, batch).await?);
        }
        Ok(files)
    }

    /// The sources of `trail`'s records: its account (every account of `coverage`, for an
    /// organization trail) in its home region, or for a multi-Region trail in every region with
    /// records of the account (and every region delivered before).
    async fn sources_of(
        &self,
        trail: &TrailRecord,
        coverage: Option<&Coverage>,
        record: &DeliveryRecord,
    ) -> Result<Vec<Source>, ServiceError> {
        let accounts = match coverage {
            Some(coverage) => coverage
                .members
                .iter()
                .map(|member| (member.account.clone(), member.joined_millis))
                .collect(),
            None => vec![(trail.account.clone(), i64::MIN)],
        };
        let mut sources = Vec::new();
        for (account, since_millis) in accounts {
            let delivered_before = record.regions.keys().filter_map(|key| {
                Source::region_of_cursor_key(trail, &account, key).map(str::to_owned)
            });
            let regions = if trail.is_multi_region_trail {
                self.regions_with_records(&account, delivered_before.collect())
                    .await?
            } else {
                vec![trail.home_region.clone()]
            };
            sources.extend(regions.into_iter().map(|region| Source {
                account: account.clone(),
                region,
                since_millis,
            }));
        }
        Ok(sources)
    }

    /// `regions` and every region with records of `account`, sorted.
    pub(crate) async fn regions_with_records(
        &self,
        account: &str,
        mut regions: Vec<String>,
    ) -> Result<Vec<String>, ServiceError> {
        let account_prefix = format!("{account}/");
        let mut after: Option<String> = None;
        // One read per region: each read skips past every key of the region just found.
        loop {
            let found = self
                .store
                .scan(KEYSPACE, &account_prefix, after.as_deref(), 1)
                .await
                .map_err(store_error)?;
            let Some((key, _)) = found.first() else {
                break;
            };
            let Some(region) = key
                .strip_prefix(&account_prefix)
                .and_then(|rest| rest.split('/').next())
            else {
                break;
            };
            // `~` sorts after the digits every key of the region continues with.
            after = Some(format!("{account_prefix}{region}/~"));
            regions.push(region.to_owned());
        }
        regions.sort();
        regions.dedup();
        Ok(regions)
    }

    /// Records a failed run in the trail's status; its intent stays for the next run.
    async fn record_failure(&self, trail: &TrailRecord, failure: &RunFailure) {
        let key = trail.key();
        let outcome = async {
            let stored = typed::get_json::<DeliveryRecord>(&self.store, DELIVERIES, &key)
                .await
                .map_err(store_error)?;
            let mut record = stored
                .as_ref()
                .map(|stored| stored.value.clone())
                .unwrap_or_default();
            record.latest_attempt_millis = Some(self.clock.now_millis());
            record.latest_attempt_succeeded = Some(false);
            match failure {
                RunFailure::LogFile(SinkError {
                    code: Some(code), ..
                }) => record.latest_delivery_error = Some(code.clone()),
                RunFailure::Digest(SinkError {
                    code: Some(code), ..
                }) => record.latest_digest_delivery_error = Some(code.clone()),
                // S3 did not answer: AWS reports only what the bucket answers.
                RunFailure::LogFile(_) | RunFailure::Digest(_) => {}
                RunFailure::Internal(error) => {
                    record.latest_delivery_error = Some(error.message.clone());
                }
            }
            self.save(&key, stored.as_ref(), &record).await
        };
        if let Err(error) = outcome.await {
            tracing::warn!(trail = %trail.arn(), %error, "could not record the delivery failure");
        }
    }

    /// Writes `record` over the version read (or where none was).
    async fn save(
        &self,
        key: &str,
        read: Option<&Stored<DeliveryRecord>>,
        record: &DeliveryRecord,
    ) -> Result<(), ServiceError> {
        let value = typed::plain_json(record).map_err(store_error)?;
        let transaction = match read {
            Some(stored) => stored.replace(Transaction::new(), DELIVERIES, key, value),
            None => Transaction::new()
                .expect_absent(DELIVERIES, key)
                .put(DELIVERIES, key, value),
        };
        self.store.commit(transaction).await.map_err(store_error)
    }
}

/// Why a trail's run failed, which decides what `GetTrailStatus` reports.
#[derive(Debug)]
enum RunFailure {
    /// Writing a log file: `LatestDeliveryError`.
    LogFile(SinkError),
    /// Writing a digest: `LatestDigestDeliveryError`.
    Digest(SinkError),
    /// Anything else, such as reading the store.
    Internal(ServiceError),
}

impl From<ServiceError> for RunFailure {
    fn from(error: ServiceError) -> Self {
        Self::Internal(error)
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LogFile(error) => write!(f, "log file: {error}"),
            Self::Digest(error) => write!(f, "digest: {error}"),
            Self::Internal(error) => write!(f, "{error}"),
        }
    }
}

/// One account's records in one region, as a trail delivers them.
struct Source {
    account: String,
    region: String,
    /// Records before this time are not the trail's: the account joined the organization then.
    since_millis: i64,
}

impl Source {
    /// The key of the source's cursor among `trail`'s: the region for the trail's own account
    /// (so a trail that becomes an organization trail keeps its cursors), `<account>/<region>`
    /// for the other accounts of its organization.
    fn cursor_key(&self, trail: &TrailRecord) -> String {
        if self.account == trail.account {
            return self.region.clone();
        }
        format!("{}/{}", self.account, self.region)
    }

    /// The region of `key`, when it is the cursor key of a source of `account`.
    fn region_of_cursor_key<'a>(
        trail: &TrailRecord,
        account: &str,
        key: &'a str,
    ) -> Option<&'a str> {
        match key.split_once('/') {
            None => (account == trail.account).then_some(key),
            Some((owner, region)) => (owner == account).then_some(region),
        }
    }
}

/// What names a log file: the trail, its organization, the source, the range and the delivery
/// time; and the key it is encrypted with, checked at `now`.
#[derive(Clone, Copy)]
struct LogFile<'a> {
    trail: &'a TrailRecord,
    organization: Option<&'a str>,
    source: &'a Source,
    range: (i64, i64),
    end: i64,
    key: Option<&'a KeyInUse>,
    now: i64,
}

/// Writes part `part` of `file`: `records` (newest first, as the history yields them).
async fn write_log_file(
    sink: &dyn TrailSink,
    file: &LogFile<'_>,
    part: usize,
    mut records: Vec<(i64, Vec<u8>)>,
) -> Result<DigestedLogFile, RunFailure> {
    records.reverse();
    let mut body = b"{\"Records\":[".to_vec();
    for (index, (_, record)) in records.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(record);
    }
    body.extend_from_slice(b"]}");
    let LogFile {
        trail,
        organization,
        source,
        range: (from, upper),
        end,
        key,
        now,
    } = *file;
    let unique = layout::unique_name(&[
        &trail.arn(),
        &source.region,
        &from.to_string(),
        &upper.to_string(),
        &part.to_string(),
    ]);
    let object = layout::log_file_key(
        trail.s3_key_prefix.as_deref(),
        organization,
        &source.account,
        &source.region,
        end,
        &unique,
    );
    let times = records.iter().map(|(millis, _)| *millis);
    let oldest = times.clone().min().unwrap_or(from);
    let newest = times.max().unwrap_or(upper);
    let listed = DigestedLogFile {
        s3_bucket: trail.s3_bucket_name.clone(),
        s3_object: object.clone(),
        hash_value: sha256_hex(&body),
        hash_algorithm: "SHA-256".to_owned(),
        newest_event_time: layout::iso_seconds(newest),
        oldest_event_time: layout::iso_seconds(oldest),
    };
    if let Some(key) = key {
        // In AWS each log file's put makes S3 call `GenerateDataKey` for CloudTrail.
        key.check(trail, &trail.s3_bucket_name, &object, now)
            .map_err(|refusal| {
                let code = refusal.s3_code();
                RunFailure::LogFile(SinkError {
                    code: Some(code.to_owned()),
                    detail: format!(
                        "putting s3://{}/{object} under KMS key {}: {code}",
                        trail.s3_bucket_name,
                        key.arn()
                    ),
                })
            })?;
    }
    sink.put(TrailObject {
        bucket: &trail.s3_bucket_name,
        key: &object,
        body: gzip(&body)?,
        signature: None,
        sse_kms_key_id: key.map(KeyInUse::arn),
    })
    .await
    .map_err(RunFailure::LogFile)?;
    Ok(listed)
}

/// `bytes`, gzipped.
pub(crate) fn gzip(bytes: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|error| ServiceError::internal(format!("compressing a file: {error}")))
}
