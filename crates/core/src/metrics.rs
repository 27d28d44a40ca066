//! Metric data points that services record in CloudWatch on their own: the points CloudWatch
//! Logs' metric filters produce from the log events it accepts.
//!
//! A service holds an `Arc<dyn MetricSink>` and hands it each batch of points once the events
//! that produced them are durable. The sink stores them; its own failures are its to report,
//! since the events they came from are already accepted.

use std::collections::BTreeMap;

use crate::service::BoxFuture;

/// One metric data point.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name.
    pub metric_name: String,
    /// The value.
    pub value: f64,
    /// The `StandardUnit` name, when one was set.
    pub unit: Option<String>,
    /// The metric's dimensions, by name.
    pub dimensions: BTreeMap<String, String>,
    /// When it was observed, in milliseconds since the epoch.
    pub timestamp: i64,
}

/// Where services record metric data.
pub trait MetricSink: Send + Sync + 'static {
    /// Records `data` as metric data of `account` in `region`.
    fn record<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        data: Vec<MetricDatum>,
    ) -> BoxFuture<'a, ()>;
}
