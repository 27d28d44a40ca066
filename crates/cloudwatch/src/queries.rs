//! Metric data out: `GetMetricStatistics` and `GetMetricData` (metric queries; metric math
//! expressions are refused). `GetMetricData` models no error but `InvalidNextToken`, so its
//! refusals are `ValidationError`s.

use std::collections::HashSet;

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudwatch::errors;
use palisade_model_cloudwatch::types::*;

use crate::CloudWatchState;
use crate::db::{MetricIdentity, Tenant, decode_token, encode_token};
use crate::metrics::{dimension_map, millis};
use crate::statistics::{Bucket, Stat, Window};

/// Data points one `GetMetricStatistics` may answer.
const MAX_STATISTICS_POINTS: i64 = 1_440;
/// Queries one `GetMetricData` may hold.
const MAX_QUERIES: usize = 500;
/// Data points a `GetMetricData` page holds when the request gives no `MaxDatapoints`.
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;

/// The periods CloudWatch computes statistics for: 1, 5, 10, 20 and 30 seconds (for
/// high-resolution data) and any multiple of 60 seconds; in milliseconds, or the message that
/// refuses `parameter`.
fn check_period(period: i32, parameter: &str) -> Result<i64, String> {
    if matches!(period, 1 | 5 | 10 | 20 | 30) || (period > 0 && period % 60 == 0) {
        Ok(i64::from(period) * 1000)
    } else {
        Err(format!(
            "The parameter {parameter} must be 1, 5, 10, 20, 30, or a multiple of 60."
        ))
    }
}

/// Where the periods of a query from `start` begin: the start rounded down to the second, or
/// to the minute for periods of a minute or more, as CloudWatch rounds it.
fn aligned_start(start: i64, period: i64) -> i64 {
    let unit = if period >= 60_000 { 60_000 } else { 1_000 };
    start.div_euclid(unit) * unit
}

pub(crate) async fn statistics(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: GetMetricStatisticsInput,
) -> Result<GetMetricStatisticsOutput, ServiceError> {
    let period =
        check_period(input.period, "Period").map_err(errors::invalid_parameter_value_exception)?;
    let stats: Vec<(String, Stat)> = match (&input.statistics, &input.extended_statistics) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(errors::invalid_parameter_combination_exception(
                "Must specify either Statistics or ExtendedStatistics, but not both.",
            ));
        }
        (Some(statistics), None) => statistics
            .iter()
            .map(|statistic| {
                let name = statistic.as_str().to_owned();
                Stat::parse(&name)
                    .filter(|stat| !matches!(stat, Stat::Percentile(_)))
                    .map(|stat| (name, stat))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                errors::invalid_parameter_value_exception("The parameter Statistics is invalid.")
            })?,
        (None, Some(extended)) => extended
            .iter()
            .zip(1..)
            .map(|(name, index)| match crate::statistics::percentile(name) {
                Some(rank) => Ok((name.clone(), Stat::Percentile(rank))),
                None => Err(errors::invalid_parameter_value_exception(format!(
                    "The value {name} for parameter ExtendedStatistics.member.{index} is invalid."
                ))),
            })
            .collect::<Result<_, _>>()?,
    };
    let (start, end) = (millis(input.start_time), millis(input.end_time));
    if start >= end {
        return Err(errors::invalid_parameter_value_exception(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let start = aligned_start(start, period);
    let requested = (end - start + period - 1) / period;
    if requested > MAX_STATISTICS_POINTS {
        return Err(errors::invalid_parameter_combination_exception(format!(
            "You have requested up to {} datapoints, which exceeds the limit of 1,440. You may \
             reduce the datapoints requested by increasing Period, or decreasing the time range.",
            thousands(requested)
        )));
    }
    let metric = MetricIdentity {
        namespace: input.namespace,
        name: input.metric_name.clone(),
        dimensions: dimension_map(input.dimensions),
    };
    let unit = input.unit.as_ref().map(StandardUnit::as_str);
    let buckets = state
        .buckets(
            &Tenant::of(ctx),
            &metric,
            unit,
            Window { start, end, period },
        )
        .await?;
    let datapoints = buckets
        .into_iter()
        .map(|(time, bucket)| datapoint(time, &bucket, &stats))
        .collect();
    Ok(GetMetricStatisticsOutput {
        label: Some(input.metric_name),
        datapoints: Some(datapoints),
    })
}

fn datapoint(time: i64, bucket: &Bucket, stats: &[(String, Stat)]) -> Datapoint {
    let mut point = Datapoint {
        timestamp: Some(Timestamp::from_millis(time)),
        unit: bucket.unit.as_deref().map(StandardUnit::from),
        ..Default::default()
    };
    for (name, stat) in stats {
        let Some(value) = bucket.statistic(stat) else {
            continue;
        };
        let slot = match stat {
            Stat::SampleCount => &mut point.sample_count,
            Stat::Sum => &mut point.sum,
            Stat::Average => &mut point.average,
            Stat::Minimum => &mut point.minimum,
            Stat::Maximum => &mut point.maximum,
            Stat::Percentile(_) => {
                point
                    .extended_statistics
                    .get_or_insert_default()
                    .insert(name.clone(), value);
                continue;
            }
        };
        *slot = Some(value);
    }
    point
}

/// `n` with thousands separators, as AWS's messages print counts.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One query's answer before paging.
struct Series {
    id: String,
    label: String,
    points: Vec<(i64, f64)>,
}

pub(crate) async fn data(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: GetMetricDataInput,
) -> Result<GetMetricDataOutput, ServiceError> {
    let queries = input.metric_data_queries;
    if queries.len() > MAX_QUERIES {
        return Err(ServiceError::validation(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    let (start, end) = (millis(input.start_time), millis(input.end_time));
    if start >= end {
        return Err(ServiceError::validation(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let offset: usize = match input.next_token.as_deref() {
        None => 0,
        Some(token) => decode_token(token)
            .and_then(|position| position.parse().ok())
            .ok_or_else(|| errors::invalid_next_token("The specified NextToken is invalid."))?,
    };
    let page_size = input
        .max_datapoints
        .and_then(|max| usize::try_from(max).ok())
        .filter(|max| *max > 0)
        .unwrap_or(DEFAULT_MAX_DATAPOINTS);
    let ascending = matches!(input.scan_by, Some(ScanBy::TimestampAscending));
    let tenant = Tenant::of(ctx);
    let mut ids = HashSet::new();
    let mut series = Vec::new();
    for (query, index) in queries.into_iter().zip(1..) {
        let member = format!("MetricDataQueries.member.{index}");
        if !valid_id(&query.id) {
            return Err(ServiceError::validation(format!(
                "The value {} for parameter {member}.Id is invalid: an id starts with a \
                 lowercase letter and holds only letters, digits and underscores.",
                query.id
            )));
        }
        if !ids.insert(query.id.clone()) {
            return Err(ServiceError::validation(format!(
                "The value {} for parameter {member}.Id is duplicated.",
                query.id
            )));
        }
        let stat = match (query.metric_stat, &query.expression) {
            (Some(stat), None) => stat,
            (None, Some(_)) => {
                return Err(ServiceError::validation(format!(
                    "Error in expression {}: metric math expressions are not supported.",
                    query.id
                )));
            }
            _ => {
                return Err(ServiceError::validation(format!(
                    "Exactly one of {member}.MetricStat and {member}.Expression must be \
                     specified."
                )));
            }
        };
        let period = check_period(stat.period, &format!("{member}.MetricStat.Period"))
            .map_err(ServiceError::validation)?;
        let statistic = Stat::parse(&stat.stat).ok_or_else(|| {
            ServiceError::validation(format!(
                "The value {} for parameter {member}.MetricStat.Stat is invalid.",
                stat.stat
            ))
        })?;
        let (Some(namespace), Some(name)) = (stat.metric.namespace, stat.metric.metric_name) else {
            return Err(ServiceError::validation(format!(
                "The parameters {member}.MetricStat.Metric.Namespace and \
                 {member}.MetricStat.Metric.MetricName are required."
            )));
        };
        let metric = MetricIdentity {
            namespace,
            name: name.clone(),
            dimensions: dimension_map(stat.metric.dimensions),
        };
        let aligned = aligned_start(start, period);
        let buckets = state
            .buckets(
                &tenant,
                &metric,
                stat.unit.as_ref().map(StandardUnit::as_str),
                Window {
                    start: aligned,
                    end,
                    period,
                },
            )
            .await?;
        if query.return_data == Some(false) {
            continue;
        }
        let mut points: Vec<(i64, f64)> = buckets
            .into_iter()
            .filter_map(|(time, bucket)| Some((time, bucket.statistic(&statistic)?)))
            .collect();
        if !ascending {
            points.reverse();
        }
        series.push(Series {
            id: query.id,
            label: query.label.unwrap_or(name),
            points,
        });
    }
    let total: usize = series.iter().map(|series| series.points.len()).sum();
    let page_end = offset.saturating_add(page_size).min(total);
    let mut seen = 0;
    let results = series
        .into_iter()
        .map(|series| {
            let first = offset.saturating_sub(seen).min(series.points.len());
            let last = page_end.saturating_sub(seen).min(series.points.len());
            seen += series.points.len();
            let page = series.points.get(first..last).unwrap_or_default();
            let complete = last == series.points.len();
            MetricDataResult {
                id: Some(series.id),
                label: Some(series.label),
                timestamps: Some(
                    page.iter()
                        .map(|(time, _)| Timestamp::from_millis(*time))
                        .collect(),
                ),
                values: Some(page.iter().map(|(_, value)| *value).collect()),
                status_code: Some(if complete {
                    StatusCode::Complete
                } else {
                    StatusCode::PartialData
                }),
                messages: None,
            }
        })
        .collect();
    Ok(GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token: (page_end < total).then(|| encode_token(&page_end.to_string())),
        messages: Some(Vec::new()),
    })
}

/// A query id: a lowercase letter, then letters, digits and underscores.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_print_with_thousands_separators() {
        assert_eq!(thousands(1_441), "1,441");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
