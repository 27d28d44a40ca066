//! Metric data in: `PutMetricData` with AWS's rules, the points CloudWatch Logs' metric filters
//! produce ([`MetricSink`]), and `ListMetrics`.

use std::collections::BTreeMap;

use palisade_core::metrics::{MetricDatum as FilterDatum, MetricSink};
use palisade_core::service::BoxFuture;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudwatch::errors;
use palisade_model_cloudwatch::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::CloudWatchState;
use crate::db::{
    CHUNK, DATAPOINTS, METRICS, MetricIdentity, Tenant, decode_token, encode_token, metrics_prefix,
    plain, time_key,
};
use crate::statistics::PointRecord;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;
/// How far back a data point's timestamp may be.
const MAX_AGE: i64 = 14 * DAY;
/// How far ahead a data point's timestamp may be.
const MAX_AHEAD: i64 = 2 * HOUR;
/// Data points one `PutMetricData` may carry.
const MAX_DATA: usize = 1_000;
/// Values one datum's `Values` may hold.
const MAX_VALUES: usize = 150;
/// The magnitudes CloudWatch accepts, besides 0: 2^-360 to 2^360.
const MIN_MAGNITUDE: f64 = 8.515_920_e-109;
const MAX_MAGNITUDE: f64 = 1.174_271_e108;
/// `ListMetrics` pages hold 500 metrics.
const LIST_PAGE: usize = 500;
/// `ListMetrics` shows metrics that received data in the last two weeks.
const LISTED_FOR: i64 = 14 * DAY;
/// `RecentlyActive=PT3H`.
const RECENTLY: i64 = 3 * HOUR;

/// A metric as `ListMetrics` shows it, with when it last received data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MetricRecord {
    pub metric: MetricIdentity,
    pub last_put: i64,
}

/// One datum ready to store.
struct Accepted {
    metric: MetricIdentity,
    timestamp: i64,
    point: PointRecord,
}

pub(crate) async fn put(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: PutMetricDataInput,
) -> Result<(), ServiceError> {
    if input.namespace.starts_with("AWS/") {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The value {} for parameter Namespace is invalid.",
            input.namespace
        )));
    }
    let data: Vec<MetricDatum> = input
        .metric_data
        .into_iter()
        .flatten()
        .chain(
            input
                .entity_metric_data
                .into_iter()
                .flatten()
                .flat_map(|entity| entity.metric_data.unwrap_or_default()),
        )
        .collect();
    if data.is_empty() {
        return Err(errors::missing_required_parameter_exception(
            "The parameter MetricData is required.",
        ));
    }
    if data.len() > MAX_DATA {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The collection MetricData must not have a size greater than {MAX_DATA}."
        )));
    }
    let now = state.now();
    let accepted = data
        .into_iter()
        .zip(1..)
        .map(|(datum, index)| accept(&input.namespace, datum, index, now))
        .collect::<Result<Vec<_>, _>>()?;
    store(state, &Tenant::of(ctx), accepted, now).await
}

/// AWS's rules for one datum (`index` counts from 1, as AWS's messages do).
fn accept(
    namespace: &str,
    datum: MetricDatum,
    index: usize,
    now: i64,
) -> Result<Accepted, ServiceError> {
    let member = format!("MetricData.member.{index}");
    let mut dimensions = BTreeMap::new();
    for (dimension, position) in datum.dimensions.unwrap_or_default().into_iter().zip(1..) {
        if dimensions.contains_key(&dimension.name) {
            return Err(errors::invalid_parameter_value_exception(format!(
                "The value {} for parameter {member}.Dimensions.member.{position}.Name is \
                 duplicated.",
                dimension.name
            )));
        }
        dimensions.insert(dimension.name, dimension.value);
    }
    let timestamp = datum.timestamp.map_or(now, millis);
    if timestamp < now - MAX_AGE {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The parameter {member}.Timestamp must specify a time within the past two weeks."
        )));
    }
    if timestamp > now + MAX_AHEAD {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The parameter {member}.Timestamp must specify a time no more than two hours in the \
             future."
        )));
    }
    let resolution = match datum.storage_resolution {
        None | Some(60) => MINUTE,
        Some(1) => 1_000,
        Some(other) => {
            return Err(errors::invalid_parameter_value_exception(format!(
                "The value {other} for parameter {member}.StorageResolution is invalid."
            )));
        }
    };
    let given = [
        datum.value.is_some().then_some("Value"),
        datum
            .statistic_values
            .is_some()
            .then_some("StatisticValues"),
        datum.values.is_some().then_some("Values"),
    ];
    let mut given = given.into_iter().flatten();
    if let (Some(first), Some(second)) = (given.next(), given.next()) {
        return Err(errors::invalid_parameter_combination_exception(format!(
            "The parameters {member}.{first} and {member}.{second} are mutually exclusive and you \
             have specified both."
        )));
    }
    if datum.counts.is_some() && datum.values.is_none() {
        return Err(errors::invalid_parameter_combination_exception(format!(
            "The parameter {member}.Counts must be specified with {member}.Values."
        )));
    }
    let point = if let Some(value) = datum.value {
        check_value(value, &format!("{member}.Value"))?;
        PointRecord {
            unit: String::new(),
            count: 1.0,
            sum: value,
            min: value,
            max: value,
            values: Some(vec![(value, 1.0)]),
        }
    } else if let Some(set) = datum.statistic_values {
        statistic_set(set, &member)?
    } else if let Some(values) = datum.values {
        distribution(values, datum.counts, &member)?
    } else {
        return Err(errors::missing_required_parameter_exception(format!(
            "The parameter {member}.Value is required."
        )));
    };
    Ok(Accepted {
        metric: MetricIdentity {
            namespace: namespace.to_owned(),
            name: datum.metric_name,
            dimensions,
        },
        // CloudWatch keeps data at its storage resolution: a minute, or a second.
        timestamp: timestamp.div_euclid(resolution) * resolution,
        point: PointRecord {
            unit: datum
                .unit
                .as_ref()
                .map_or("None", StandardUnit::as_str)
                .to_owned(),
            ..point
        },
    })
}

fn check_value(value: f64, parameter: &str) -> Result<(), ServiceError> {
    let magnitude = value.abs();
    if value.is_finite()
        && (magnitude == 0.0 || (MIN_MAGNITUDE..=MAX_MAGNITUDE).contains(&magnitude))
    {
        Ok(())
    } else {
        Err(errors::invalid_parameter_value_exception(format!(
            "The value {value} for parameter {parameter} is invalid."
        )))
    }
}

fn statistic_set(set: StatisticSet, member: &str) -> Result<PointRecord, ServiceError> {
    let set_member = format!("{member}.StatisticValues");
    check_value(set.sample_count, &format!("{set_member}.SampleCount"))?;
    check_value(set.sum, &format!("{set_member}.Sum"))?;
    check_value(set.minimum, &format!("{set_member}.Minimum"))?;
    check_value(set.maximum, &format!("{set_member}.Maximum"))?;
    if set.sample_count <= 0.0 {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The value {} for parameter {set_member}.SampleCount is invalid.",
            set.sample_count
        )));
    }
    if set.minimum > set.maximum {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The parameter {set_member}.Minimum must be less than or equal to the parameter \
             {set_member}.Maximum."
        )));
    }
    Ok(PointRecord {
        unit: String::new(),
        count: set.sample_count,
        sum: set.sum,
        min: set.minimum,
        max: set.maximum,
        values: None,
    })
}

fn distribution(
    values: Vec<f64>,
    counts: Option<Vec<f64>>,
    member: &str,
) -> Result<PointRecord, ServiceError> {
    if values.len() > MAX_VALUES {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The collection {member}.Values must not have a size greater than {MAX_VALUES}."
        )));
    }
    let counts = match counts {
        Some(counts) if counts.len() != values.len() => {
            return Err(errors::invalid_parameter_value_exception(format!(
                "The parameters {member}.Values and {member}.Counts must be of the same size."
            )));
        }
        Some(counts) => counts,
        None => vec![1.0; values.len()],
    };
    let mut pairs = Vec::with_capacity(values.len());
    for ((value, count), position) in values.into_iter().zip(counts).zip(1..) {
        check_value(value, &format!("{member}.Values.member.{position}"))?;
        if !count.is_finite() || count < 0.0 {
            return Err(errors::invalid_parameter_value_exception(format!(
                "The value {count} for parameter {member}.Counts.member.{position} is invalid."
            )));
        }
        if count > 0.0 {
            pairs.push((value, count));
        }
    }
    let count: f64 = pairs.iter().map(|(_, count)| count).sum();
    if count <= 0.0 {
        return Err(errors::invalid_parameter_value_exception(format!(
            "The parameter {member}.Values must hold at least one value with a positive count."
        )));
    }
    Ok(PointRecord {
        unit: String::new(),
        count,
        sum: pairs.iter().map(|(value, count)| value * count).sum(),
        min: pairs
            .iter()
            .map(|(value, _)| *value)
            .fold(f64::INFINITY, f64::min),
        max: pairs
            .iter()
            .map(|(value, _)| *value)
            .fold(f64::NEG_INFINITY, f64::max),
        values: Some(pairs),
    })
}

/// Writes the data points and marks their metrics as receiving data, in one transaction.
async fn store(
    state: &CloudWatchState,
    tenant: &Tenant,
    accepted: Vec<Accepted>,
    now: i64,
) -> Result<(), ServiceError> {
    let put_id = uuid::Uuid::new_v4().simple().to_string();
    let mut txn = Transaction::new();
    for (index, datum) in accepted.into_iter().enumerate() {
        let key = format!(
            "{}{}/{put_id}{index:04}",
            datum.metric.points_prefix(tenant),
            time_key(datum.timestamp)
        );
        txn = txn.put(DATAPOINTS, &key, plain(&datum.point)?);
        let metric_key = datum.metric.metric_key(tenant);
        let record = MetricRecord {
            metric: datum.metric,
            last_put: now,
        };
        txn = txn.put(METRICS, &metric_key, plain(&record)?);
    }
    state.commit(txn).await
}

impl MetricSink for CloudWatchState {
    fn record<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        data: Vec<FilterDatum>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let tenant = Tenant {
                account: account.to_owned(),
                region: region.to_owned(),
            };
            let accepted = data
                .into_iter()
                .filter(|datum| check_value(datum.value, "Value").is_ok())
                .map(|datum| Accepted {
                    metric: MetricIdentity {
                        namespace: datum.namespace,
                        name: datum.metric_name,
                        dimensions: datum.dimensions,
                    },
                    timestamp: datum.timestamp.div_euclid(MINUTE) * MINUTE,
                    point: PointRecord {
                        unit: datum.unit.unwrap_or_else(|| "None".to_owned()),
                        count: 1.0,
                        sum: datum.value,
                        min: datum.value,
                        max: datum.value,
                        values: Some(vec![(datum.value, 1.0)]),
                    },
                })
                .collect();
            if let Err(error) = store(self, &tenant, accepted, self.now()).await {
                tracing::warn!(error = %error.message, "recording metric filter data failed");
            }
        })
    }
}

pub(crate) async fn list(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: ListMetricsInput,
) -> Result<ListMetricsOutput, ServiceError> {
    let tenant = Tenant::of(ctx);
    let prefix = match &input.namespace {
        Some(namespace) => metrics_prefix(&tenant, namespace, input.metric_name.as_deref()),
        None => tenant.prefix(),
    };
    let after = match input.next_token.as_deref() {
        None => None,
        Some(token) => Some(decode_token(token).ok_or_else(|| {
            errors::invalid_parameter_value_exception(format!(
                "The value {token} for parameter NextToken is invalid."
            ))
        })?),
    };
    let now = state.now();
    let since = match input.recently_active {
        Some(RecentlyActive::Pt3h) => now - RECENTLY,
        _ => now - LISTED_FOR,
    };
    let filters = input.dimensions.unwrap_or_default();
    let mut page = Vec::new();
    let mut cursor = after;
    loop {
        let rows = state
            .scan::<MetricRecord>(METRICS, &prefix, cursor.as_deref(), CHUNK)
            .await?;
        let done = rows.len() < CHUNK;
        for (key, record) in rows {
            let metric = &record.value.metric;
            let listed = record.value.last_put >= since
                && input
                    .metric_name
                    .as_ref()
                    .is_none_or(|name| *name == metric.name)
                && filters.iter().all(|filter| {
                    metric.dimensions.get(&filter.name).is_some_and(|value| {
                        filter.value.as_ref().is_none_or(|wanted| wanted == value)
                    })
                });
            if !listed {
                cursor = Some(key);
                continue;
            }
            if page.len() == LIST_PAGE {
                let token = cursor.as_deref().map(encode_token);
                return Ok(list_output(page, token));
            }
            page.push(record.value.metric);
            cursor = Some(key);
        }
        if done {
            return Ok(list_output(page, None));
        }
    }
}

fn list_output(metrics: Vec<MetricIdentity>, next_token: Option<String>) -> ListMetricsOutput {
    ListMetricsOutput {
        metrics: Some(metrics.into_iter().map(metric_shape).collect()),
        next_token,
        owning_accounts: None,
    }
}

/// A metric as the API shows it.
pub(crate) fn metric_shape(metric: MetricIdentity) -> Metric {
    Metric {
        namespace: Some(metric.namespace),
        metric_name: Some(metric.name),
        dimensions: Some(dimension_list(metric.dimensions)),
    }
}

pub(crate) fn dimension_list(dimensions: BTreeMap<String, String>) -> Vec<Dimension> {
    dimensions
        .into_iter()
        .map(|(name, value)| Dimension { name, value })
        .collect()
}

/// Dimensions as a map, for comparing dimension sets.
pub(crate) fn dimension_map(dimensions: Option<Vec<Dimension>>) -> BTreeMap<String, String> {
    dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|dimension| (dimension.name, dimension.value))
        .collect()
}

/// A request timestamp in milliseconds since the epoch.
pub(crate) fn millis(timestamp: Timestamp) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "saturating: times beyond i64 milliseconds are refused as out of range anyway"
    )]
    let millis = (timestamp.0 * 1000.0).floor() as i64;
    millis
}
