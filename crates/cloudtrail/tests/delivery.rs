//! Trail delivery driven by a manual clock: log files in AWS's layout holding exactly the records
//! after StartLogging, cursors that never deliver a record twice, a failed run redone under the
//! same names, hourly signed digests, and the offline validator catching tampering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use palisade_audit::{AuditLog, AuditRecord, CallOutcome};
use palisade_cloudtrail::CloudTrailState;
use palisade_cloudtrail::validate::{ValidateOptions, validate};
use palisade_core::clock::{Clock, ManualClock};
use palisade_core::{AccountId, Principal, Region, RequestContext};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    CreateTrailRequest, GetTrailStatusRequest, ListPublicKeysRequest, StartLoggingRequest,
};
use palisade_store::{Store, StoreConfig};

const ACCOUNT: &str = "111122223333";
/// 2024-03-01T00:00:00Z.
const START: u64 = 1_709_251_200;

struct Harness {
    state: CloudTrailState,
    audit: AuditLog,
    clock: Arc<ManualClock>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let root = dir.path().join("trails");
        let store = Arc::new(
            Store::open(&StoreConfig::Embedded {
                data_dir: data.clone(),
            })
            .await
            .unwrap(),
        );
        let audit = AuditLog::open(&data.join("audit"), Arc::clone(&store)).unwrap();
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(START),
        ));
        let state = CloudTrailState::new(
            Store::clone(&store),
            Arc::clone(&clock) as Arc<dyn Clock>,
            audit.clone(),
        )
        .with_delivery_root(root.clone());
        Self {
            state,
            audit,
            clock,
            root,
            _dir: dir,
        }
    }

    fn ctx(&self, region: &str) -> RequestContext {
        RequestContext {
            request_id: "request".to_owned(),
            principal: Principal::root(AccountId::parse(ACCOUNT).unwrap(), "AKIAEXAMPLE"),
            region: Region::parse(region).unwrap(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "tests".to_owned(),
            time: self.clock.now(),
            secure_transport: false,
        }
    }

    /// Records a call named `operation` in `region`, now.
    async fn call(&self, region: &str, operation: &str) {
        let ctx = self.ctx(region);
        let record = AuditRecord::for_call(
            &ctx,
            &palisade_model_cloudtrail::MODEL,
            operation,
            None,
            CallOutcome::Success(None),
        );
        self.audit.record(&record).await.unwrap();
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    async fn create_trail(&self, name: &str, bucket: &str, multi_region: bool, validation: bool) {
        let ctx = self.ctx("us-east-1");
        self.state
            .create_trail(
                &ctx,
                CreateTrailRequest {
                    name: name.to_owned(),
                    s3_bucket_name: bucket.to_owned(),
                    s3_key_prefix: Some("audit".to_owned()),
                    is_multi_region_trail: Some(multi_region),
                    enable_log_file_validation: Some(validation),
                    ..CreateTrailRequest::default()
                },
            )
            .await
            .unwrap();
        self.state
            .start_logging(
                &ctx,
                StartLoggingRequest {
                    name: name.to_owned(),
                },
            )
            .await
            .unwrap();
    }

    async fn public_keys(&self) -> HashMap<String, Vec<u8>> {
        let listed = self
            .state
            .list_public_keys(&self.ctx("us-east-1"), ListPublicKeysRequest::default())
            .await
            .unwrap();
        listed
            .public_key_list
            .unwrap()
            .into_iter()
            .map(|key| (key.fingerprint.unwrap(), key.value.unwrap().0))
            .collect()
    }

    async fn validate(&self) -> palisade_cloudtrail::validate::Validation {
        validate(
            &ValidateOptions {
                root: self.root.clone(),
                trail_arn: Some(format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main")),
                start_millis: 0,
                end_millis: self.clock.now_millis(),
            },
            &self.public_keys().await,
        )
    }
}

/// Every file under `dir` whose path contains `part`, sorted.
fn files(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_str().unwrap().contains(part) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn event_names(path: &Path) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    document["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["eventName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trails_deliver_each_record_once_with_a_verifiable_digest_chain() {
    let harness = Harness::new().await;
    harness.call("us-east-1", "BeforeLogging").await;
    harness.advance(1);
    harness.create_trail("main", "bucket", false, true).await;
    harness.advance(1);
    harness.call("us-east-1", "First").await;
    harness.call("us-east-1", "Second").await;
    harness.call("eu-west-1", "ElsewhereIgnored").await;

    // The records are younger than the settling time: nothing is due yet.
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);
    harness.advance(120);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 0));
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(logs.len(), 1);
    let relative = logs[0]
        .strip_prefix(&harness.root)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        relative.starts_with(&format!(
            "bucket/audit/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/03/01/{ACCOUNT}_CloudTrail_us-east-1_20240301T0001Z_"
        )),
        "{relative}"
    );
    // Records of the same millisecond come in any order.
    let mut names = event_names(&logs[0]);
    names.sort();
    assert_eq!(names, ["First", "Second"]);

    // Nothing new: no second copy.
    harness.advance(120);
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);

    // After the hour, the next run also closes the digest.
    harness.call("us-east-1", "Third").await;
    harness.advance(3600);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 1));
    let status = harness
        .state
        .get_trail_status(
            &harness.ctx("us-east-1"),
            GetTrailStatusRequest {
                name: "main".to_owned(),
            },
        )
        .await
        .unwrap();
    assert!(status.latest_delivery_time.is_some());
    assert!(status.latest_digest_delivery_time.is_some());
    assert_eq!(
        status.latest_delivery_attempt_succeeded.as_deref(),
        Some("true")
    );

    harness.call("us-east-1", "Fourth").await;
    harness.advance(1);
    let report = harness.state.deliver_now().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 1));
    let digests = files(&harness.root, "CloudTrail-Digest");
    assert_eq!(digests.len(), 4, "two digests, each with its signature");

    let validation = harness.validate().await;
    assert!(validation.is_valid(), "{:?}", validation.failures);
    assert_eq!(
        (validation.valid_digests, validation.valid_logs),
        (2, 3),
        "{}",
        validation.render()
    );
    assert!(validation.render().contains("2/2 digest files valid"));

    // A modified log file.
    let logs = files(&harness.root, "/CloudTrail/");
    let original = std::fs::read(&logs[0]).unwrap();
    std::fs::write(&logs[0], palisade_like_gzip(b"{\"Records\":[]}")).unwrap();
    let validation = harness.validate().await;
    assert_eq!(validation.invalid_logs, 1);
    assert!(validation.failures[0].contains("hash value doesn't match"));
    // A deleted one.
    std::fs::remove_file(&logs[0]).unwrap();
    let validation = harness.validate().await;
    assert!(validation.failures[0].contains("INVALID: not found"));
    std::fs::write(&logs[0], original).unwrap();
    assert!(harness.validate().await.is_valid());

    // A removed digest: its successor names it.
    let oldest_digest = digests
        .iter()
        .find(|path| path.to_str().unwrap().ends_with(".json.gz"))
        .unwrap();
    std::fs::remove_file(oldest_digest).unwrap();
    let validation = harness.validate().await;
    assert_eq!(validation.invalid_digests, 1);
    assert!(validation.failures[0].starts_with("Digest file"));
    assert!(validation.failures[0].ends_with("INVALID: not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_region_trails_deliver_every_region_and_a_failed_run_is_redone_under_the_same_names()
{
    let harness = Harness::new().await;
    harness.create_trail("all", "blocked", true, false).await;
    harness.advance(1);
    harness.call("us-east-1", "Here").await;
    harness.call("eu-west-1", "There").await;
    harness.advance(120);

    // The bucket's directory cannot be made: the run fails and says so.
    std::fs::create_dir_all(&harness.root).unwrap();
    std::fs::write(harness.root.join("blocked"), b"not a directory").unwrap();
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);
    let status = harness
        .state
        .get_trail_status(
            &harness.ctx("eu-west-1"),
            GetTrailStatusRequest {
                name: "all".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        status.latest_delivery_attempt_succeeded.as_deref(),
        Some("false")
    );
    assert!(status.latest_delivery_error.is_some());
    assert!(status.latest_delivery_time.is_none());

    // Later, the same run is redone: the same range, under the first attempt's names.
    std::fs::remove_file(harness.root.join("blocked")).unwrap();
    harness.advance(600);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!(report.log_files, 2);
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(logs.len(), 2);
    for (log, (region, event)) in logs
        .iter()
        .zip([("eu-west-1", "There"), ("us-east-1", "Here")])
    {
        let name = log.to_str().unwrap();
        assert!(name.contains(&format!("/CloudTrail/{region}/")), "{name}");
        assert!(name.contains("_20240301T0001Z_"), "{name}");
        assert_eq!(event_names(log), [event]);
    }
    assert!(files(&harness.root, "CloudTrail-Digest").is_empty());
}

fn palisade_like_gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
