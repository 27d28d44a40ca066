//! A CloudTrail service over a temporary data directory and a manual clock, and calls recorded
//! as the pipeline records them.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use palisade_audit::{AuditLog, AuditRecord, CallOutcome};
use palisade_cloudtrail::{CloudTrailState, TrailLogGroups, TrailOrganizations};
use palisade_core::clock::{Clock, ManualClock};
use palisade_core::{AccountId, Principal, Region, RequestContext};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    AdvancedEventSelector, CreateTrailRequest, EventSelector, PutEventSelectorsRequest,
    StartLoggingRequest,
};
use palisade_store::{Store, StoreConfig};

pub const ACCOUNT: &str = "111122223333";
/// 2024-03-01T00:00:00Z.
pub const START: u64 = 1_709_251_200;

pub struct Harness {
    pub state: Arc<CloudTrailState>,
    pub audit: AuditLog,
    pub clock: Arc<ManualClock>,
    /// Where trails' files go.
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Self {
        Self::build(None, None).await
    }

    /// A harness whose trails stream to `log_groups`.
    pub async fn streaming_to(log_groups: Arc<dyn TrailLogGroups>) -> Self {
        Self::build(Some(log_groups), None).await
    }

    /// A harness that learns about organizations from `organizations`.
    pub async fn with_organizations(organizations: Arc<dyn TrailOrganizations>) -> Self {
        Self::build(None, Some(organizations)).await
    }

    async fn build(
        log_groups: Option<Arc<dyn TrailLogGroups>>,
        organizations: Option<Arc<dyn TrailOrganizations>>,
    ) -> Self {
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
        let mut state = CloudTrailState::new(
            Store::clone(&store),
            Arc::clone(&clock) as Arc<dyn Clock>,
            audit.clone(),
        )
        .with_delivery_root(root.clone());
        if let Some(log_groups) = log_groups {
            state = state.with_log_groups(log_groups);
        }
        if let Some(organizations) = organizations {
            state = state.with_organizations(organizations);
        }
        Self {
            state: Arc::new(state),
            audit,
            clock,
            root,
            _dir: dir,
        }
    }

    pub fn ctx(&self, region: &str) -> RequestContext {
        self.ctx_of(ACCOUNT, region)
    }

    /// A call of the root user of `account`.
    pub fn ctx_of(&self, account: &str, region: &str) -> RequestContext {
        RequestContext {
            request_id: "request".to_owned(),
            principal: Principal::root(AccountId::parse(account).unwrap(), "AKIAEXAMPLE"),
            region: Region::parse(region).unwrap(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "tests".to_owned(),
            time: self.clock.now(),
            secure_transport: false,
        }
    }

    /// Records a call named `operation` (a CloudTrail operation, read-only by its name) in
    /// `region`, now.
    pub async fn call(&self, region: &str, operation: &str) {
        self.call_as(ACCOUNT, region, operation).await;
    }

    /// Records a call of `account` named `operation` in `region`, now.
    pub async fn call_as(&self, account: &str, region: &str, operation: &str) {
        let ctx = self.ctx_of(account, region);
        let record = AuditRecord::for_call(
            &ctx,
            &palisade_model_cloudtrail::MODEL,
            operation,
            None,
            CallOutcome::Success(None),
        );
        self.audit.record(&record).await.unwrap();
    }

    pub fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// Creates the trail `request` describes in `us-east-1` and starts its logging.
    pub async fn create_logging_trail(&self, request: CreateTrailRequest) {
        let ctx = self.ctx("us-east-1");
        let name = request.name.clone();
        self.state.create_trail(&ctx, request).await.unwrap();
        self.state
            .start_logging(&ctx, StartLoggingRequest { name })
            .await
            .unwrap();
    }

    /// Sets the event selectors of the trail `name`: classic or advanced ones.
    pub async fn put_event_selectors(
        &self,
        name: &str,
        classic: Option<Vec<EventSelector>>,
        advanced: Option<Vec<AdvancedEventSelector>>,
    ) {
        self.state
            .put_event_selectors(
                &self.ctx("us-east-1"),
                PutEventSelectorsRequest {
                    trail_name: name.to_owned(),
                    event_selectors: classic,
                    advanced_event_selectors: advanced,
                },
            )
            .await
            .unwrap();
    }

    pub async fn create_trail(
        &self,
        name: &str,
        bucket: &str,
        multi_region: bool,
        validation: bool,
    ) {
        self.create_logging_trail(CreateTrailRequest {
            name: name.to_owned(),
            s3_bucket_name: bucket.to_owned(),
            s3_key_prefix: Some("audit".to_owned()),
            is_multi_region_trail: Some(multi_region),
            enable_log_file_validation: Some(validation),
            ..CreateTrailRequest::default()
        })
        .await;
    }
}

/// Every file under `dir` whose path contains `part`, sorted.
pub fn files(dir: &Path, part: &str) -> Vec<PathBuf> {
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

/// The event names of the records in the log file at `path`, in file order.
pub fn event_names(path: &Path) -> Vec<String> {
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
