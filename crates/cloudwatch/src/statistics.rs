//! Statistics over stored data points: the stored point, the statistics CloudWatch computes
//! per period (`SampleCount`, `Sum`, `Average`, `Minimum`, `Maximum`, percentiles `pNN.NN`),
//! and reading one metric's points over a time range.

use std::collections::BTreeMap;

use palisade_core::ServiceError;
use serde::{Deserialize, Serialize};

use crate::CloudWatchState;
use crate::db::{DATAPOINTS, MetricIdentity, Tenant, time_key};

/// What one `PutMetricData` datum (or one metric filter point) stored: its summary and, unless
/// it came as a `StatisticValues` set, its values with their counts, which percentiles need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PointRecord {
    pub unit: String,
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// `(value, count)` pairs; `None` for a statistic set, whose values are unknown.
    pub values: Option<Vec<(f64, f64)>>,
}

/// A statistic CloudWatch computes over the points of one period.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stat {
    SampleCount,
    Sum,
    Average,
    Minimum,
    Maximum,
    /// `pNN.NN`: the percentile, 0 to 100.
    Percentile(f64),
}

impl Stat {
    /// The statistic a `Stat`, `Statistic` or `ExtendedStatistic` names, if it is one of those
    /// this service computes.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "SampleCount" => Self::SampleCount,
            "Sum" => Self::Sum,
            "Average" => Self::Average,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            _ => return percentile(text).map(Self::Percentile),
        })
    }
}

/// The percentile `pN` or `pN.NN` names (at most two decimals, 0 to 100).
pub(crate) fn percentile(text: &str) -> Option<f64> {
    let number = text.strip_prefix('p')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    (0.0..=100.0).contains(&value).then_some(value)
}

/// The points of one period, combined.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Every `(value, count)`; `None` once a statistic set joined, so percentiles are unknown.
    pub values: Option<Vec<(f64, f64)>>,
    /// The unit of the first point.
    pub unit: Option<String>,
}

impl Bucket {
    fn add(&mut self, point: PointRecord) {
        if self.unit.is_none() {
            self.min = point.min;
            self.max = point.max;
            self.values = Some(Vec::new());
            self.unit = Some(point.unit);
        } else {
            self.min = self.min.min(point.min);
            self.max = self.max.max(point.max);
        }
        self.count += point.count;
        self.sum += point.sum;
        self.values = match (self.values.take(), point.values) {
            (Some(mut values), Some(more)) => {
                values.extend(more);
                Some(values)
            }
            _ => None,
        };
    }

    /// The statistic's value over this period, if it has one.
    pub fn statistic(&self, stat: &Stat) -> Option<f64> {
        match stat {
            Stat::SampleCount => Some(self.count),
            Stat::Sum => Some(self.sum),
            Stat::Average => (self.count > 0.0).then(|| self.sum / self.count),
            Stat::Minimum => Some(self.min),
            Stat::Maximum => Some(self.max),
            Stat::Percentile(rank) => nearest_rank(self.values.as_deref()?, *rank),
        }
    }
}

/// The nearest-rank percentile of weighted values: the smallest value with at least `rank`
/// percent of the weight at or below it.
fn nearest_rank(values: &[(f64, f64)], rank: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = sorted.iter().map(|(_, count)| count).sum();
    if total <= 0.0 {
        return None;
    }
    let wanted = (rank / 100.0 * total).max(f64::MIN_POSITIVE);
    let mut seen = 0.0;
    for (value, count) in &sorted {
        seen += count;
        if seen >= wanted {
            return Some(*value);
        }
    }
    sorted.last().map(|(value, _)| *value)
}

/// A time range and the periods it is cut into: `[start, end)`, periods of `period` ms from
/// `start`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub start: i64,
    pub end: i64,
    pub period: i64,
}

impl CloudWatchState {
    /// The metric's points in `window`, of `unit` when given, combined per period: the start
    /// of each period that has points, and its bucket.
    pub(crate) async fn buckets(
        &self,
        tenant: &Tenant,
        metric: &MetricIdentity,
        unit: Option<&str>,
        window: Window,
    ) -> Result<BTreeMap<i64, Bucket>, ServiceError> {
        let prefix = metric.points_prefix(tenant);
        // Keys of points at `start` extend `<prefix><start>`, so they sort after it; a point
        // at `start - 1` sorts before it.
        let mut after = format!("{prefix}{}", time_key(window.start));
        let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
        loop {
            let rows = self
                .scan::<PointRecord>(DATAPOINTS, &prefix, Some(&after), crate::db::CHUNK)
                .await?;
            let done = rows.len() < crate::db::CHUNK;
            for (key, point) in &rows {
                let Some(timestamp) = point_time(key, &prefix) else {
                    continue;
                };
                if timestamp >= window.end {
                    return Ok(buckets);
                }
                if unit.is_some_and(|unit| unit != point.value.unit) || window.period <= 0 {
                    continue;
                }
                let offset = (timestamp - window.start) / window.period * window.period;
                buckets
                    .entry(window.start + offset)
                    .or_default()
                    .add(point.value.clone());
            }
            match rows.last() {
                Some((key, _)) if !done => after = key.clone(),
                _ => return Ok(buckets),
            }
        }
    }
}

/// The timestamp in a data point key.
pub(crate) fn point_time(key: &str, prefix: &str) -> Option<i64> {
    key.strip_prefix(prefix)?.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_named_pn_with_two_decimals_at_most() {
        assert_eq!(percentile("p99"), Some(99.0));
        assert_eq!(percentile("p99.9"), Some(99.9));
        assert_eq!(percentile("p0.01"), Some(0.01));
        assert_eq!(percentile("p100"), Some(100.0));
        for bad in ["p101", "p99.999", "p", "99", "p-1", "p1e2", "p.5"] {
            assert_eq!(percentile(bad), None, "{bad}");
        }
    }

    #[test]
    fn nearest_rank_weighs_counts() {
        let values = [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (10.0, 7.0)];
        assert_eq!(nearest_rank(&values, 10.0), Some(1.0));
        assert_eq!(nearest_rank(&values, 30.0), Some(3.0));
        assert_eq!(nearest_rank(&values, 31.0), Some(10.0));
        assert_eq!(nearest_rank(&values, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&values, 100.0), Some(10.0));
    }
}
