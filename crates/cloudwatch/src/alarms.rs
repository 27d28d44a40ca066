//! Metric alarms: `PutMetricAlarm` (an alarm on one metric), `DescribeAlarms`,
//! `DescribeAlarmsForMetric`, `DeleteAlarms`, `SetAlarmState`, `EnableAlarmActions`,
//! `DisableAlarmActions` and `DescribeAlarmHistory`. Evaluation is in `evaluate`.
//!
//! `PutMetricAlarm` and `DescribeAlarms` model no error for bad input, so their refusals are
//! `ValidationError`s.

use std::collections::BTreeMap;

use palisade_core::service::CommonError;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudwatch::errors;
use palisade_model_cloudwatch::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::CloudWatchState;
use crate::db::{
    ALARM_HISTORY, ALARMS, MetricIdentity, Tenant, decode_token, encode_token, plain, time_key,
};
use crate::metrics::{DAY, dimension_list, dimension_map, millis};
use crate::statistics::percentile;

/// `DescribeAlarms` pages hold 50 alarms when the request gives no `MaxRecords`.
const DEFAULT_ALARM_PAGE: usize = 50;
/// `DescribeAlarmHistory` pages hold 100 items when the request gives no `MaxRecords`.
const DEFAULT_HISTORY_PAGE: usize = 100;
/// An alarm evaluates at most a day of data, or a week for periods of an hour or more.
const MAX_EVALUATED_SECONDS: i64 = 86_400;
const MAX_EVALUATED_SECONDS_HOURLY: i64 = 7 * 86_400;
/// How `TreatMissingData` may be set.
const TREATMENTS: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];
/// The reason of a new alarm's state.
const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

/// An alarm on one metric, with its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AlarmRecord {
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric: MetricIdentity,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    /// Seconds.
    pub period: i32,
    pub unit: Option<String>,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub configuration_updated: i64,
    pub state: AlarmState,
}

impl AlarmRecord {
    /// The statistic the alarm compares, `Statistic` or `ExtendedStatistic`.
    pub fn stat(&self) -> &str {
        self.statistic
            .as_deref()
            .or(self.extended_statistic.as_deref())
            .unwrap_or_default()
    }

    /// How missing data counts, `missing` unless set.
    pub fn treatment(&self) -> &str {
        self.treat_missing_data.as_deref().unwrap_or("missing")
    }
}

/// An alarm's state: `OK`, `ALARM` or `INSUFFICIENT_DATA`, why, and since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AlarmState {
    pub value: String,
    pub reason: String,
    pub reason_data: Option<String>,
    /// When the state was last set (the value may be unchanged).
    pub updated: i64,
    /// When the value last changed.
    pub transitioned: i64,
}

/// One item of an alarm's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HistoryRecord {
    pub alarm_name: String,
    pub timestamp: i64,
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

/// `txn` with a history item of the alarm `name` added.
pub(crate) fn add_history(
    txn: Transaction,
    tenant: &Tenant,
    item: &HistoryRecord,
) -> Result<Transaction, ServiceError> {
    let key = format!(
        "{}{}|{}",
        tenant.history_prefix(&item.alarm_name),
        time_key(item.timestamp),
        uuid::Uuid::new_v4().simple()
    );
    Ok(txn.put(ALARM_HISTORY, &key, plain(item)?))
}

fn not_supported(what: &str) -> ServiceError {
    ServiceError::common(
        CommonError::NotImplemented,
        format!("Palisade does not support {what} yet."),
    )
}

pub(crate) async fn put(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: PutMetricAlarmInput,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    if input.metrics.is_some() || input.threshold_metric_id.is_some() {
        return Err(not_supported(
            "alarms on metric math expressions or anomaly detection bands",
        ));
    }
    if input.evaluation_criteria.is_some() || input.evaluation_interval.is_some() {
        return Err(not_supported("PromQL alarms"));
    }
    let (Some(namespace), Some(metric_name)) = (input.namespace, input.metric_name) else {
        return Err(ServiceError::validation(
            "The parameters MetricName and Namespace are required.",
        ));
    };
    match (&input.statistic, &input.extended_statistic) {
        (Some(_), None) => {}
        (None, Some(extended)) => {
            if percentile(extended).is_none() {
                return Err(ServiceError::validation(format!(
                    "The value {extended} for parameter ExtendedStatistic is invalid."
                )));
            }
        }
        _ => {
            return Err(ServiceError::validation(
                "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.",
            ));
        }
    }
    let Some(period) = input.period else {
        return Err(ServiceError::validation(
            "The parameter Period is required.",
        ));
    };
    if !(period == 10 || period == 30 || period % 60 == 0) {
        return Err(ServiceError::validation(format!(
            "Period ({period}) not supported; supported values are 10, 30, or a multiple of 60."
        )));
    }
    let Some(evaluation_periods) = input.evaluation_periods else {
        return Err(ServiceError::validation(
            "The parameter EvaluationPeriods is required.",
        ));
    };
    let Some(comparison) = input.comparison_operator else {
        return Err(ServiceError::validation(
            "The parameter ComparisonOperator is required.",
        ));
    };
    if !matches!(
        comparison,
        ComparisonOperator::GreaterThanOrEqualToThreshold
            | ComparisonOperator::GreaterThanThreshold
            | ComparisonOperator::LessThanThreshold
            | ComparisonOperator::LessThanOrEqualToThreshold
    ) {
        return Err(not_supported("anomaly detection alarms"));
    }
    let Some(threshold) = input.threshold else {
        return Err(ServiceError::validation(
            "The parameter Threshold is required.",
        ));
    };
    if input
        .datapoints_to_alarm
        .is_some_and(|datapoints| datapoints > evaluation_periods)
    {
        return Err(ServiceError::validation(
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
        ));
    }
    let evaluated = i64::from(period) * i64::from(evaluation_periods);
    let limit = if period >= 3_600 {
        MAX_EVALUATED_SECONDS_HOURLY
    } else {
        MAX_EVALUATED_SECONDS
    };
    if evaluated > limit {
        return Err(ServiceError::validation(format!(
            "The evaluation period of the alarm (Period * EvaluationPeriods = {evaluated} \
             seconds) must be at most {limit} seconds."
        )));
    }
    if let Some(treatment) = &input.treat_missing_data
        && !TREATMENTS.contains(&treatment.as_str())
    {
        return Err(ServiceError::validation(format!(
            "TreatMissingData ({treatment}) must be one of breaching, notBreaching, ignore or \
             missing."
        )));
    }
    if let Some(low) = &input.evaluate_low_sample_count_percentile
        && !matches!(low.as_str(), "evaluate" | "ignore")
    {
        return Err(ServiceError::validation(format!(
            "EvaluateLowSampleCountPercentile ({low}) must be evaluate or ignore."
        )));
    }
    let dimensions = input.dimensions.unwrap_or_default();
    let dimension_count = dimensions.len();
    let dimensions = dimension_map(Some(dimensions));
    if dimensions.len() != dimension_count {
        return Err(ServiceError::validation(
            "The parameter Dimensions must not hold a dimension name twice.",
        ));
    }
    let now = state.now();
    let name = input.alarm_name;
    let tags_given = input.tags.is_some();
    let record = AlarmRecord {
        name: name.clone(),
        description: input.alarm_description,
        actions_enabled: input.actions_enabled.unwrap_or(true),
        ok_actions: input.ok_actions.unwrap_or_default(),
        alarm_actions: input.alarm_actions.unwrap_or_default(),
        insufficient_data_actions: input.insufficient_data_actions.unwrap_or_default(),
        metric: MetricIdentity {
            namespace,
            name: metric_name,
            dimensions,
        },
        statistic: input
            .statistic
            .map(|statistic| statistic.as_str().to_owned()),
        extended_statistic: input.extended_statistic,
        period,
        unit: input.unit.map(|unit| unit.as_str().to_owned()),
        evaluation_periods,
        datapoints_to_alarm: input.datapoints_to_alarm,
        threshold,
        comparison: comparison.as_str().to_owned(),
        treat_missing_data: input.treat_missing_data,
        evaluate_low_sample_count_percentile: input.evaluate_low_sample_count_percentile,
        tags: input
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect(),
        configuration_updated: now,
        state: AlarmState {
            value: StateValue::InsufficientData.as_str().to_owned(),
            reason: INITIAL_REASON.to_owned(),
            reason_data: None,
            updated: now,
            transitioned: now,
        },
    };
    let key = tenant.alarm_key(&name);
    state
        .mutate(|| async {
            let existing = state.get::<AlarmRecord>(ALARMS, &key).await?;
            let mut record = record.clone();
            let (txn, verb) = match &existing {
                Some(existing) => {
                    // An update replaces the configuration and keeps the state.
                    record.state = existing.value.state.clone();
                    if !tags_given {
                        record.tags = existing.value.tags.clone();
                    }
                    let txn = Transaction::new().expect_version(ALARMS, &key, existing.version);
                    (txn, "updated")
                }
                None => (Transaction::new().expect_absent(ALARMS, &key), "created"),
            };
            let history = HistoryRecord {
                alarm_name: name.clone(),
                timestamp: now,
                item_type: HistoryItemType::ConfigurationUpdate.as_str().to_owned(),
                summary: format!("Alarm \"{name}\" {verb}"),
                data: serde_json::json!({
                    "version": "1.0",
                    "type": if existing.is_some() { "Update" } else { "Create" },
                })
                .to_string(),
            };
            let txn = add_history(txn.put(ALARMS, &key, plain(&record)?), &tenant, &history)?;
            Ok((txn, ()))
        })
        .await
}

/// An alarm as the API shows it.
pub(crate) fn describe_alarm(tenant: &Tenant, alarm: AlarmRecord) -> MetricAlarm {
    MetricAlarm {
        alarm_arn: Some(tenant.alarm_arn(&alarm.name)),
        alarm_name: Some(alarm.name),
        alarm_description: alarm.description,
        alarm_configuration_updated_timestamp: Some(Timestamp::from_millis(
            alarm.configuration_updated,
        )),
        actions_enabled: Some(alarm.actions_enabled),
        ok_actions: Some(alarm.ok_actions),
        alarm_actions: Some(alarm.alarm_actions),
        insufficient_data_actions: Some(alarm.insufficient_data_actions),
        state_value: Some(StateValue::from(alarm.state.value.as_str())),
        state_reason: Some(alarm.state.reason),
        state_reason_data: alarm.state.reason_data,
        state_updated_timestamp: Some(Timestamp::from_millis(alarm.state.updated)),
        state_transitioned_timestamp: Some(Timestamp::from_millis(alarm.state.transitioned)),
        metric_name: Some(alarm.metric.name),
        namespace: Some(alarm.metric.namespace),
        statistic: alarm.statistic.as_deref().map(Statistic::from),
        extended_statistic: alarm.extended_statistic,
        dimensions: Some(dimension_list(alarm.metric.dimensions)),
        period: Some(alarm.period),
        unit: alarm.unit.as_deref().map(StandardUnit::from),
        evaluation_periods: Some(alarm.evaluation_periods),
        datapoints_to_alarm: alarm.datapoints_to_alarm,
        threshold: Some(alarm.threshold),
        comparison_operator: Some(ComparisonOperator::from(alarm.comparison.as_str())),
        treat_missing_data: alarm.treat_missing_data,
        evaluate_low_sample_count_percentile: alarm.evaluate_low_sample_count_percentile,
        ..Default::default()
    }
}

pub(crate) async fn describe(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: DescribeAlarmsInput,
) -> Result<DescribeAlarmsOutput, ServiceError> {
    let tenant = Tenant::of(ctx);
    if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
        return Err(ServiceError::validation(
            "AlarmNames and AlarmNamePrefix cannot both be specified.",
        ));
    }
    let wants_metric_alarms = input
        .alarm_types
        .as_ref()
        .is_none_or(|types| types.contains(&AlarmType::MetricAlarm));
    // Composite alarms are not built: asking for one's children or parents finds none.
    let about_composites =
        input.children_of_alarm_name.is_some() || input.parents_of_alarm_name.is_some();
    let after = match input.next_token.as_deref() {
        None => None,
        Some(token) => Some(
            decode_token(token)
                .ok_or_else(|| errors::invalid_next_token("The specified NextToken is invalid."))?,
        ),
    };
    let limit = page_size(input.max_records, DEFAULT_ALARM_PAGE);
    let mut alarms = Vec::new();
    if wants_metric_alarms && !about_composites {
        let prefix = format!(
            "{}{}",
            tenant.prefix(),
            input.alarm_name_prefix.as_deref().unwrap_or_default()
        );
        let names = input.alarm_names.as_ref();
        alarms = state
            .scan_all::<AlarmRecord>(ALARMS, &prefix, after.as_deref())
            .await?
            .into_iter()
            .filter(|(_, alarm)| {
                let alarm = &alarm.value;
                names.is_none_or(|names| names.contains(&alarm.name))
                    && input
                        .state_value
                        .as_ref()
                        .is_none_or(|state| state.as_str() == alarm.state.value)
                    && input.action_prefix.as_ref().is_none_or(|prefix| {
                        alarm
                            .ok_actions
                            .iter()
                            .chain(&alarm.alarm_actions)
                            .chain(&alarm.insufficient_data_actions)
                            .any(|action| action.starts_with(prefix.as_str()))
                    })
            })
            .take(limit + 1)
            .collect();
    }
    let next_token = (alarms.len() > limit)
        .then(|| {
            alarms.truncate(limit);
            alarms.last().map(|(key, _)| encode_token(key))
        })
        .flatten();
    Ok(DescribeAlarmsOutput {
        composite_alarms: Some(Vec::new()),
        metric_alarms: Some(
            alarms
                .into_iter()
                .map(|(_, alarm)| describe_alarm(&tenant, alarm.value))
                .collect(),
        ),
        next_token,
    })
}

fn page_size(requested: Option<i32>, default: usize) -> usize {
    requested
        .and_then(|size| usize::try_from(size).ok())
        .filter(|size| *size > 0)
        .unwrap_or(default)
}

pub(crate) async fn describe_for_metric(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: DescribeAlarmsForMetricInput,
) -> Result<DescribeAlarmsForMetricOutput, ServiceError> {
    let tenant = Tenant::of(ctx);
    let dimensions = input
        .dimensions
        .map(|dimensions| dimension_map(Some(dimensions)));
    let alarms = state
        .scan_all::<AlarmRecord>(ALARMS, &tenant.prefix(), None)
        .await?
        .into_iter()
        .map(|(_, alarm)| alarm.value)
        .filter(|alarm| {
            alarm.metric.namespace == input.namespace
                && alarm.metric.name == input.metric_name
                && dimensions
                    .as_ref()
                    .is_none_or(|dimensions| *dimensions == alarm.metric.dimensions)
                && input
                    .statistic
                    .as_ref()
                    .is_none_or(|statistic| Some(statistic.as_str()) == alarm.statistic.as_deref())
                && input
                    .extended_statistic
                    .as_ref()
                    .is_none_or(|extended| Some(extended) == alarm.extended_statistic.as_ref())
                && input.period.is_none_or(|period| period == alarm.period)
                && input
                    .unit
                    .as_ref()
                    .is_none_or(|unit| Some(unit.as_str()) == alarm.unit.as_deref())
        })
        .map(|alarm| describe_alarm(&tenant, alarm))
        .collect();
    Ok(DescribeAlarmsForMetricOutput {
        metric_alarms: Some(alarms),
    })
}

pub(crate) async fn delete(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: DeleteAlarmsInput,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .mutate(|| async {
            let mut txn = Transaction::new();
            let mut missing = Vec::new();
            for name in &input.alarm_names {
                let key = tenant.alarm_key(name);
                match state.get::<AlarmRecord>(ALARMS, &key).await? {
                    Some(alarm) => {
                        txn = txn
                            .expect_version(ALARMS, &key, alarm.version)
                            .delete(ALARMS, &key);
                    }
                    None => missing.push(name.as_str()),
                }
            }
            if !missing.is_empty() {
                // AWS deletes nothing when any name is wrong.
                return Err(errors::resource_not_found(format!(
                    "The following alarms were not found: [{}]",
                    missing.join(", ")
                )));
            }
            Ok((txn, ()))
        })
        .await
}

pub(crate) async fn set_state(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: SetAlarmStateInput,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    if let Some(data) = &input.state_reason_data
        && serde_json::from_str::<serde_json::Value>(data).is_err()
    {
        return Err(errors::invalid_format_fault(
            "The parameter StateReasonData is not valid JSON.",
        ));
    }
    let new = crate::evaluate::NewState {
        value: input.state_value.as_str().to_owned(),
        reason: input.state_reason,
        reason_data: input.state_reason_data,
    };
    let key = tenant.alarm_key(&input.alarm_name);
    let event = state
        .mutate(|| async {
            let alarm = state
                .get::<AlarmRecord>(ALARMS, &key)
                .await?
                .ok_or_else(|| {
                    errors::resource_not_found(format!(
                        "Alarm {} does not exist.",
                        input.alarm_name
                    ))
                })?;
            let (txn, event) = state.transition(&tenant, &alarm.value, &new)?;
            Ok((txn.expect_version(ALARMS, &key, alarm.version), event))
        })
        .await?;
    state.publish(event);
    Ok(())
}

/// Turns the actions of the named alarms on or off; names of no alarm are passed over.
pub(crate) async fn set_actions_enabled(
    state: &CloudWatchState,
    ctx: &RequestContext,
    names: &[String],
    enabled: bool,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .mutate(|| async {
            let mut txn = Transaction::new();
            for name in names {
                let key = tenant.alarm_key(name);
                if let Some(alarm) = state.get::<AlarmRecord>(ALARMS, &key).await? {
                    let mut record = alarm.value.clone();
                    record.actions_enabled = enabled;
                    txn = alarm.replace(txn, ALARMS, &key, plain(&record)?);
                }
            }
            Ok((txn, ()))
        })
        .await
}

pub(crate) async fn history(
    state: &CloudWatchState,
    ctx: &RequestContext,
    input: DescribeAlarmHistoryInput,
) -> Result<DescribeAlarmHistoryOutput, ServiceError> {
    let tenant = Tenant::of(ctx);
    let offset: usize = match input.next_token.as_deref() {
        None => 0,
        Some(token) => decode_token(token)
            .and_then(|position| position.parse().ok())
            .ok_or_else(|| errors::invalid_next_token("The specified NextToken is invalid."))?,
    };
    let prefix = match &input.alarm_name {
        Some(name) => tenant.history_prefix(name),
        None => tenant.prefix(),
    };
    let wants_metric_alarms = input
        .alarm_types
        .as_ref()
        .is_none_or(|types| types.contains(&AlarmType::MetricAlarm));
    let start = input.start_date.map(millis);
    let end = input.end_date.map(millis);
    let mut items: Vec<HistoryRecord> = if wants_metric_alarms {
        state
            .scan_all::<HistoryRecord>(ALARM_HISTORY, &prefix, None)
            .await?
            .into_iter()
            .map(|(_, item)| item.value)
            .filter(|item| {
                input
                    .alarm_name
                    .as_ref()
                    .is_none_or(|name| *name == item.alarm_name)
                    && input
                        .history_item_type
                        .as_ref()
                        .is_none_or(|kind| kind.as_str() == item.item_type)
                    && start.is_none_or(|start| item.timestamp >= start)
                    && end.is_none_or(|end| item.timestamp <= end)
            })
            .collect()
    } else {
        Vec::new()
    };
    items.sort_by_key(|item| item.timestamp);
    if !matches!(input.scan_by, Some(ScanBy::TimestampAscending)) {
        items.reverse();
    }
    let limit = page_size(input.max_records, DEFAULT_HISTORY_PAGE);
    let page_end = offset.saturating_add(limit).min(items.len());
    let next_token = (page_end < items.len()).then(|| encode_token(&page_end.to_string()));
    let page = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|item| AlarmHistoryItem {
            alarm_name: Some(item.alarm_name),
            alarm_type: Some(AlarmType::MetricAlarm),
            timestamp: Some(Timestamp::from_millis(item.timestamp)),
            history_item_type: Some(HistoryItemType::from(item.item_type.as_str())),
            history_summary: Some(item.summary),
            history_data: Some(item.data),
            ..Default::default()
        })
        .collect();
    Ok(DescribeAlarmHistoryOutput {
        alarm_history_items: Some(page),
        next_token,
    })
}

impl CloudWatchState {
    /// Deletes alarm history items older than 30 days, as CloudWatch keeps them.
    pub(crate) async fn expire_history(&self) -> Result<usize, ServiceError> {
        let cutoff = self.now() - 30 * DAY;
        let items = self
            .scan_all::<HistoryRecord>(ALARM_HISTORY, "", None)
            .await?;
        let mut txn = Transaction::new();
        let mut expired = 0;
        for (key, item) in items {
            if item.value.timestamp < cutoff {
                txn = txn.delete(ALARM_HISTORY, &key);
                expired += 1;
            }
        }
        self.commit(txn).await?;
        Ok(expired)
    }
}
