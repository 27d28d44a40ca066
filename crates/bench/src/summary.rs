//! What a load run counted, and the numbers reported from it.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

/// The longest latency told apart from longer ones; slower answers are recorded as this.
const MAX_LATENCY: Duration = Duration::from_secs(60);

/// A run fails when more than this share of its requests failed.
pub const MAX_ERROR_RATIO: f64 = 0.01;

/// What one connection, or a whole run, counted inside the measured window.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of each successful (2xx) request, in microseconds.
    latency: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new() -> Result<Self, String> {
        let max_micros = u64::try_from(MAX_LATENCY.as_micros()).unwrap_or(u64::MAX);
        let latency = Histogram::new_with_bounds(1, max_micros, 3)
            .map_err(|error| format!("cannot make a histogram: {error}"))?;
        Ok(Self {
            latency,
            errors: 0,
            first_error: None,
        })
    }

    /// A successful request that took `latency`.
    pub fn success(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros);
    }

    /// A failed request: an error status, or a connection that failed. Only the first error's
    /// description is kept; `describe` is not called for the rest.
    pub fn error(&mut self, describe: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(describe());
        }
    }

    /// Adds another connection's counts to these.
    pub fn merge(&mut self, other: &Self) -> Result<(), String> {
        self.latency
            .add(&other.latency)
            .map_err(|error| format!("cannot merge histograms: {error}"))?;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Successful requests completed in the window.
    pub successes: u64,
    /// Failed requests in the window.
    pub errors: u64,
    /// The measured window (warmup excluded).
    pub window: Duration,
    /// Latency percentiles and extremes of the successes.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// The slowest success.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
    /// What the first error was, if any.
    pub first_error: Option<String>,
}

impl Summary {
    /// Summarises what was counted over `window`.
    pub fn new(tally: &Tally, window: Duration) -> Self {
        let quantile = |q: f64| Duration::from_micros(tally.latency.value_at_quantile(q));
        Self {
            successes: tally.latency.len(),
            errors: tally.errors,
            window,
            p50: quantile(0.5),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: Duration::from_micros(tally.latency.max()),
            mean: Duration::from_secs_f64(tally.latency.mean() / 1e6),
            first_error: tally.first_error.clone(),
        }
    }

    /// Successful requests a second.
    pub fn requests_per_second(&self) -> f64 {
        self.successes as f64 / self.window.as_secs_f64()
    }

    /// The share of requests that failed; all of them when none completed.
    pub fn error_ratio(&self) -> f64 {
        let total = self.successes + self.errors;
        if total == 0 {
            1.0
        } else {
            self.errors as f64 / total as f64
        }
    }

    /// Whether the run failed: too many errors to trust the figures.
    pub fn failed(&self) -> bool {
        self.error_ratio() > MAX_ERROR_RATIO
    }

    /// The figures as a JSON object, latencies in milliseconds.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let latency = json!({
            "p50": millis(self.p50),
            "p99": millis(self.p99),
            "p99.9": millis(self.p999),
            "max": millis(self.max),
            "mean": millis(self.mean),
        });
        [
            ("requests", json!(self.successes)),
            ("errors", json!(self.errors)),
            ("window_s", json!(self.window.as_secs_f64())),
            ("requests_per_second", json!(self.requests_per_second())),
            ("latency_ms", latency),
            ("first_error", json!(self.first_error)),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }
}

/// A duration in (fractional) milliseconds. Divided once from nanoseconds so that whole
/// microseconds print as short decimals (`1.234`, not `1.2340000000000002`).
pub fn millis(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_rate_and_errors() {
        let mut first = Tally::new().unwrap();
        // 1..=1000 ms across two connections.
        for ms in 1..=500 {
            first.success(Duration::from_millis(ms));
        }
        let mut second = Tally::new().unwrap();
        for ms in 501..=1000 {
            second.success(Duration::from_millis(ms));
        }
        second.error(|| "HTTP 500: first".to_owned());
        second.error(|| unreachable!("only the first error is described"));
        first.merge(&second).unwrap();

        let summary = Summary::new(&first, Duration::from_secs(2));
        assert_eq!(summary.successes, 1000);
        assert_eq!(summary.errors, 2);
        assert!((summary.requests_per_second() - 500.0).abs() < 1e-9);
        // Three significant digits: within 0.1%.
        let close = |actual: Duration, ms: f64| (millis(actual) - ms).abs() <= ms * 1e-3;
        assert!(close(summary.p50, 500.0), "{:?}", summary.p50);
        assert!(close(summary.p99, 990.0), "{:?}", summary.p99);
        assert!(close(summary.p999, 999.0), "{:?}", summary.p999);
        assert!(close(summary.max, 1000.0), "{:?}", summary.max);
        assert!(close(summary.mean, 500.5), "{:?}", summary.mean);
        assert_eq!(summary.first_error.as_deref(), Some("HTTP 500: first"));
        assert!(!summary.failed());

        // 11 errors in 1011 requests is over 1%.
        for _ in 0..9 {
            first.error(String::new);
        }
        assert!(Summary::new(&first, Duration::from_secs(2)).failed());
    }

    #[test]
    fn nothing_completed_is_a_failure() {
        let summary = Summary::new(&Tally::new().unwrap(), Duration::from_secs(1));
        assert!(summary.failed());
        assert_eq!(summary.requests_per_second(), 0.0);
    }

    #[test]
    fn latencies_past_the_range_are_kept_as_the_maximum() {
        let mut tally = Tally::new().unwrap();
        tally.success(Duration::from_secs(3600));
        let summary = Summary::new(&tally, Duration::from_secs(1));
        assert!(summary.max >= MAX_LATENCY.mul_f64(0.999));
    }
}
