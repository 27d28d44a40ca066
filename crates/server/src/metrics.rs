//! Prometheus metrics: request counts and latency per service and operation.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    operation: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LatencyLabels {
    service: &'static str,
    operation: &'static str,
}

type LatencyFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    latency: LatencyFamily,
    // Encoding takes `&Registry`; the lock keeps two scrapes from interleaving their output.
    scrape: Mutex<()>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 3 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    /// An empty registry with the server's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("palisade");
        let requests = Family::<CallLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "requests",
            "AWS API requests by service, operation and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response, audit included",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            scrape: Mutex::new(()),
        }
    }

    /// Counts one request.
    pub fn observe(
        &self,
        service: &'static str,
        operation: &'static str,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&CallLabels {
                service,
                operation,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels { service, operation })
            .observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let _guard = self.scrape.lock();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_operation() {
        let metrics = Metrics::new();
        metrics.observe("sts", "GetCallerIdentity", 200, Duration::from_micros(120));
        metrics.observe("sts", "GetCallerIdentity", 200, Duration::from_micros(80));
        let text = metrics.render();
        assert!(text.contains(
            "palisade_requests_total{service=\"sts\",operation=\"GetCallerIdentity\",status=\"200\"} 2"
        ));
        assert!(text.contains("palisade_request_duration_seconds_count{service=\"sts\",operation=\"GetCallerIdentity\"} 2"));
    }
}
