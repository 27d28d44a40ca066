//! Amazon CloudWatch Logs behind the generated [`palisade_model_logs::Logs`] trait: log groups
//! (retention, tags, KMS key and class), log streams, log events with AWS's
//! `PutLogEvents` batch rules and `GetLogEvents`/`FilterLogEvents` paging, the filter-pattern
//! language ([`pattern`]), and metric filters.
//!
//! State belongs to the caller's account and region; `db` describes the store layout. Events
//! are stored in chunks (module `chunks`) keyed by group, stream, timestamp and ingestion order,
//! so reading a stream's time range is one key range scan.
//!
//! Besides the AWS API, [`LogsState`] offers the server a sweeper to run periodically,
//! [`LogsState::expire_events`], the data points metric filters produce from a batch of events,
//! [`LogsState::metric_data`], which every accepted batch hands to the metric sink given by
//! [`LogsState::with_metrics`] (CloudWatch), and EventBridge and CloudTrail the append of events
//! to a stream it creates as needed, [`LogsState::append_events`].
//!
//! Log groups may be encrypted under a KMS key (module `encryption`): their events are then
//! sealed at rest under a data key from KMS, through the [`LogKeys`] given by
//! [`LogsState::attach_keys`].

mod chunks;
mod db;
mod encryption;
mod events;
mod groups;
mod metric_filters;
mod paging;
pub mod pattern;
mod service;
mod streams;

use std::sync::{Arc, OnceLock};

use palisade_core::clock::Clock;
use palisade_core::metrics::MetricSink;
use palisade_store::Store;

pub use encryption::LogKeys;
pub use palisade_core::metrics::MetricDatum;

/// The CloudWatch Logs service: register it as
/// `palisade_model_logs::LogsService(Arc::new(LogsState::new(store, clock)))`.
pub struct LogsState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Where the data points of metric filters go; none: metric filters produce nothing.
    metrics: Option<Arc<dyn MetricSink>>,
    /// KMS, for encrypted log groups; none: a group's key is stored unchecked and unused.
    keys: OnceLock<Arc<dyn LogKeys>>,
    data_keys: encryption::DataKeyCache,
}

impl LogsState {
    /// The service over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            metrics: None,
            keys: OnceLock::new(),
            data_keys: encryption::DataKeyCache::default(),
        }
    }

    /// Encrypts the events of log groups that name a KMS key through `keys` from now on (the
    /// first attached stays). Attached after construction, as KMS itself is built after Logs.
    pub fn attach_keys(&self, keys: Arc<dyn LogKeys>) {
        let _ = self.keys.set(keys);
    }

    /// The service recording the data points its metric filters produce from every accepted
    /// batch of events (`PutLogEvents`, and the trail and EventBridge deliveries that go through
    /// it) in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn MetricSink>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The current time in milliseconds since the epoch.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for LogsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsState").finish_non_exhaustive()
    }
}
