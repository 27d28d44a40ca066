//! Amazon CloudWatch metrics and metric alarms behind the generated
//! [`palisade_model_cloudwatch::Cloudwatch`] trait: `PutMetricData` with AWS's rules,
//! `ListMetrics`, `GetMetricStatistics` and `GetMetricData` (statistics and percentiles per
//! period), and alarms on one metric with their evaluation ([`CloudWatchState::evaluate_alarms`])
//! and history. Metric math, composite alarms, anomaly detection, dashboards, metric streams
//! and Contributor Insights are not built.
//!
//! State belongs to the caller's account and region; `db` describes the store layout. A
//! metric's data points are keyed by metric and time, so a time range of one metric is one
//! ordered scan.
//!
//! Besides the AWS API, [`CloudWatchState`] is the [`palisade_core::metrics::MetricSink`] that
//! CloudWatch Logs' metric filters record into, publishes alarm state changes to the event sink
//! given by [`CloudWatchState::attach_events`], and offers the server the alarm evaluation to run
//! every minute and a sweeper, [`CloudWatchState::expire`], for its retention: 15 days of data
//! points and 30 days of alarm history.

mod alarms;
mod db;
mod evaluate;
mod metrics;
mod queries;
mod service;
mod statistics;

use std::sync::{Arc, OnceLock};

use palisade_core::ServiceError;
use palisade_core::clock::Clock;
use palisade_core::events::EventSink;
use palisade_store::{Store, Transaction};

use crate::db::{CHUNK, DATAPOINTS, METRICS, time_key};
use crate::metrics::{DAY, MetricRecord};

/// How long data points are kept: CloudWatch keeps one-minute data 15 days (and coarser
/// aggregates longer, which this service does not keep).
const RETENTION: i64 = 15 * DAY;

/// The CloudWatch service: register it as
/// `palisade_model_cloudwatch::CloudwatchService(Arc::new(CloudWatchState::new(store, clock)))`.
pub struct CloudWatchState {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Where alarm state changes are published; attached after construction because the
    /// event bus delivers to CloudWatch Logs, whose metric filters record here.
    events: OnceLock<Arc<dyn EventSink>>,
}

impl CloudWatchState {
    /// The service over `store`, telling time by `clock`; it publishes no events until
    /// [`CloudWatchState::attach_events`].
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            events: OnceLock::new(),
        }
    }

    /// Publishes alarm state changes to `events` from now on (the first sink attached stays).
    pub fn attach_events(&self, events: Arc<dyn EventSink>) {
        let _ = self.events.set(events);
    }

    /// Deletes data points older than 15 days, metrics that received none for as long, and
    /// alarm history older than 30 days; answers how many entries went.
    pub async fn expire(&self) -> Result<usize, ServiceError> {
        let cutoff = self.now() - RETENTION;
        let mut expired = 0;
        let metrics = self.scan_all::<MetricRecord>(METRICS, "", None).await?;
        for (key, record) in metrics {
            let Some((tenant, _)) = db::Tenant::split_store_key(&key) else {
                continue;
            };
            let prefix = record.value.metric.points_prefix(&tenant);
            let end = format!("{prefix}{}", time_key(cutoff));
            loop {
                let rows = self
                    .store
                    .scan(DATAPOINTS, &prefix, None, CHUNK)
                    .await
                    .map_err(db::store_error)?;
                let old: Vec<&String> = rows
                    .iter()
                    .map(|(key, _)| key)
                    .take_while(|key| **key < end)
                    .collect();
                let done = old.len() < CHUNK;
                expired += old.len();
                let txn = old
                    .into_iter()
                    .fold(Transaction::new(), |txn, key| txn.delete(DATAPOINTS, key));
                self.commit(txn).await?;
                if done {
                    break;
                }
            }
            if record.value.last_put < cutoff {
                let txn = Transaction::new()
                    .expect_version(METRICS, &key, record.version)
                    .delete(METRICS, &key);
                if self.try_commit(txn).await? {
                    expired += 1;
                }
            }
        }
        Ok(expired + self.expire_history().await?)
    }

    /// The current time in milliseconds since the epoch.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for CloudWatchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchState").finish_non_exhaustive()
    }
}
