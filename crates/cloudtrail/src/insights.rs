//! `ListInsightsMetricData`: the metric CloudTrail Insights watches, counted from the audit
//! records: per period, the write management calls of one API (`ApiCallRateInsight`), or its
//! calls that failed with one error code (`ApiErrorRateInsight`), in the caller's account and
//! region. And `ListInsightsData`, which lists Insights events: Palisade raises none, so a
//! trail's list is empty.
//!
//! Data points are aligned to their period from the epoch and reach back as far as AWS keeps
//! them: 15 days of one-minute points, 63 days of five-minute points, 90 days of hourly ones.

use std::collections::BTreeMap;

use palisade_audit::attributes::{self, Attribute};
use palisade_audit::{KEYSPACE, history};
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    InsightType, InsightsMetricDataType, ListInsightsDataRequest, ListInsightsDataResponse,
    ListInsightsMetricDataRequest, ListInsightsMetricDataResponse,
};
use palisade_store::StoreError;
use serde::Deserialize;

use crate::CloudTrailState;
use crate::lookup::millis;

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// `Period` when the request gives none, in seconds.
const DEFAULT_PERIOD: i32 = 3600;
/// `MaxResults` when the request gives none: the model's maximum.
const DEFAULT_MAX_RESULTS: usize = 21_600;
/// Records read from the store at a time when no index serves.
const SCAN_BATCH: usize = 500;

/// How far back points of each period reach, in days.
fn kept_days(period_seconds: i32) -> Option<i64> {
    match period_seconds {
        60 => Some(15),
        300 => Some(63),
        3600 => Some(90),
        _ => None,
    }
}

pub(crate) async fn list_insights_metric_data(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListInsightsMetricDataRequest,
) -> Result<ListInsightsMetricDataResponse, ServiceError> {
    let trail_arn = match &input.trail_name {
        Some(name) => Some(insights_trail(state, ctx, name).await?),
        None => None,
    };
    let counted = match (&input.insight_type, &input.error_code) {
        (InsightType::ApiCallRateInsight, _) => Counted::Writes,
        (InsightType::ApiErrorRateInsight, Some(code)) => Counted::Errors(code.clone()),
        (InsightType::ApiErrorRateInsight, None) => {
            return Err(errors::invalid_parameter_exception(
                "ErrorCode is required when InsightType is ApiErrorRateInsight.",
            ));
        }
        (InsightType::Unknown(other), _) => {
            return Err(errors::invalid_parameter_exception(format!(
                "Value {other} for InsightType is invalid. Valid values: ApiCallRateInsight, \
                 ApiErrorRateInsight."
            )));
        }
    };
    let period_seconds = input.period.unwrap_or(DEFAULT_PERIOD);
    let kept = kept_days(period_seconds).ok_or_else(|| {
        errors::invalid_parameter_exception(format!(
            "Value {period_seconds} for Period is invalid. Valid values: 60, 300, 3600."
        ))
    })?;
    let fill_with_zeros = match &input.data_type {
        None | Some(InsightsMetricDataType::NonZeroData) => false,
        Some(InsightsMetricDataType::FillWithZeros) => true,
        Some(InsightsMetricDataType::Unknown(other)) => {
            return Err(errors::invalid_parameter_exception(format!(
                "Value {other} for DataType is invalid. Valid values: FillWithZeros, NonZeroData."
            )));
        }
    };
    let page_size = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .clamp(1, DEFAULT_MAX_RESULTS);
    let period = i64::from(period_seconds) * 1000;
    let now = state.clock.now_millis();
    let oldest = now - kept * DAY_MILLIS;
    if let (Some(start), Some(end)) = (input.start_time, input.end_time)
        && millis(start) > millis(end)
    {
        return Err(errors::invalid_parameter_exception(
            "StartTime must be before EndTime.",
        ));
    }
    // The start is inclusive, from its period's start, and the end exclusive; points older
    // than the period keeps are gone (a range wholly before them has none).
    let start = input.start_time.map_or(oldest, millis).max(oldest);
    let end = input.end_time.map_or(now, millis).min(now);
    let first = start.div_euclid(period) * period;
    let resume = match &input.next_token {
        Some(token) => crate::tokens::decode(token)?
            .parse::<i64>()
            .ok()
            .filter(|&resume| resume >= first && (resume - first) % period == 0)
            .ok_or_else(|| errors::invalid_next_token_exception("Invalid NextToken."))?,
        None => first,
    };

    // Every call answered before this one is counted.
    state.audit.flush().await;
    let metric = Metric {
        source: &input.event_source,
        name: &input.event_name,
        counted,
        period,
    };
    let counts = state
        .count_calls(ctx, &metric, (resume, end))
        .await
        .map_err(|error| ServiceError::internal(error.to_string()))?;
    let mut timestamps = Vec::new();
    let mut values = Vec::new();
    let mut next_token = None;
    let mut bucket = resume;
    while bucket < end {
        let count = counts.get(&bucket).copied().unwrap_or(0);
        if count > 0 || fill_with_zeros {
            if timestamps.len() == page_size {
                next_token = Some(crate::tokens::encode(&bucket.to_string()));
                break;
            }
            timestamps.push(Timestamp::from_millis(bucket));
            #[expect(
                clippy::cast_precision_loss,
                reason = "a count of calls in one period is far below 2^53"
            )]
            values.push(count as f64);
        }
        bucket += period;
    }
    Ok(ListInsightsMetricDataResponse {
        trail_arn,
        event_source: Some(input.event_source),
        event_name: Some(input.event_name),
        insight_type: Some(input.insight_type),
        error_code: input.error_code,
        timestamps: Some(timestamps),
        values: Some(values),
        next_token,
    })
}

pub(crate) async fn list_insights_data(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListInsightsDataRequest,
) -> Result<ListInsightsDataResponse, ServiceError> {
    // The source must be a trail the caller sees; it has no Insights events to list.
    insights_trail(state, ctx, &input.insight_source).await?;
    if input.next_token.is_some() {
        return Err(errors::invalid_next_token_exception("Invalid NextToken."));
    }
    Ok(ListInsightsDataResponse {
        events: Some(Vec::new()),
        next_token: None,
    })
}

/// What one request counts: calls to one API, per period.
struct Metric<'a> {
    source: &'a str,
    name: &'a str,
    counted: Counted,
    /// In milliseconds.
    period: i64,
}

/// The ARN of the trail `reference` names, for the Insights operations, which model no
/// `TrailNotFoundException`: a trail that is not there, or a name or ARN no trail can have, is
/// an invalid parameter.
async fn insights_trail(
    state: &CloudTrailState,
    ctx: &RequestContext,
    reference: &str,
) -> Result<String, ServiceError> {
    match state.find_trail(ctx, reference).await {
        Ok(stored) => Ok(stored.value.arn()),
        Err(error) => {
            let invalid = matches!(
                &error.kind,
                palisade_core::service::ErrorKind::Modeled { code, .. }
                    if [
                        errors::TRAIL_NOT_FOUND_EXCEPTION.code,
                        errors::CLOUD_TRAIL_ARN_INVALID_EXCEPTION.code,
                        errors::INVALID_TRAIL_NAME_EXCEPTION.code,
                    ]
                    .contains(&code.as_ref())
            );
            if invalid {
                Err(errors::invalid_parameter_exception(error.message))
            } else {
                Err(error)
            }
        }
    }
}

/// Which calls a metric counts.
enum Counted {
    /// Management calls that are not read-only.
    Writes,
    /// Management calls that failed with this error code.
    Errors(String),
}

/// The fields of a record the metrics test.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Facts {
    event_source: Option<String>,
    event_name: Option<String>,
    read_only: Option<bool>,
    error_code: Option<String>,
    management_event: Option<bool>,
}

impl Metric<'_> {
    /// Adds the record `bytes` stored under `key` to `counts` (by period start) when it counts.
    fn tally(&self, key: &str, bytes: &[u8], counts: &mut BTreeMap<i64, u64>) {
        let Some(time) = history::millis_of(key) else {
            return;
        };
        let Ok(facts) = serde_json::from_slice::<Facts>(bytes) else {
            return;
        };
        let api = facts.event_source.as_deref() == Some(self.source)
            && facts.event_name.as_deref() == Some(self.name)
            && facts.management_event != Some(false);
        let counts_it = api
            && match &self.counted {
                Counted::Writes => facts.read_only == Some(false),
                Counted::Errors(code) => facts.error_code.as_deref() == Some(code.as_str()),
            };
        if counts_it {
            *counts
                .entry(time.div_euclid(self.period) * self.period)
                .or_default() += 1;
        }
    }
}

impl CloudTrailState {
    /// The calls of the caller's account and region that `metric` counts, from `from`
    /// (inclusive) to `until` (exclusive), by period start: through the event name index when
    /// it is complete, else from the records themselves.
    async fn count_calls(
        &self,
        ctx: &RequestContext,
        metric: &Metric<'_>,
        (from, until): (i64, i64),
    ) -> Result<BTreeMap<i64, u64>, StoreError> {
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        let records = history::prefix(account, region);
        let newest = history::tail_at_or_before(until - 1);
        let mut counts = BTreeMap::new();
        let indexed = attributes::prefix(account, region, Attribute::EventName, metric.name);
        match indexed {
            Some(prefix) if attributes::ready(&self.store).await? => {
                let mut entries = attributes::Entries::new(prefix, &newest, from);
                while let Some(tail) = entries.next(&self.store).await? {
                    let key = format!("{records}{tail}");
                    if let Some(entry) = self.store.get(KEYSPACE, &key).await? {
                        metric.tally(&key, entry.value.bytes(), &mut counts);
                    }
                }
            }
            _ => {
                let mut position = format!("{records}{newest}");
                loop {
                    let batch = self
                        .store
                        .scan(KEYSPACE, &records, Some(&position), SCAN_BATCH)
                        .await?;
                    let last_batch = batch.len() < SCAN_BATCH;
                    for (key, entry) in batch {
                        if history::millis_of(&key).is_none_or(|time| time < from) {
                            return Ok(counts);
                        }
                        metric.tally(&key, entry.value.bytes(), &mut counts);
                        position = key;
                    }
                    if last_batch {
                        break;
                    }
                }
            }
        }
        Ok(counts)
    }
}
