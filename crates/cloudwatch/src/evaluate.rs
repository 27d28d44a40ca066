//! Alarm evaluation and state changes.
//!
//! [`CloudWatchState::evaluate_alarms`] evaluates every alarm once, as CloudWatch does every
//! minute: the alarm's statistic per period over an evaluation range of twice its evaluation
//! periods, ending at the current minute (periods of 10 or 30 seconds end at the current
//! period). As AWS documents:
//! - with at least `EvaluationPeriods` real data points in the range, the most recent
//!   `EvaluationPeriods` of them decide, `TreatMissingData` aside: `ALARM` when at least
//!   `DatapointsToAlarm` breach, `OK` otherwise;
//! - with fewer, the missing ones are filled by `TreatMissingData`: `breaching` and
//!   `notBreaching` count them so; with none at all, `missing` gives `INSUFFICIENT_DATA` and
//!   `ignore` keeps the state; with some, `ignore` keeps the state while the latest period has
//!   no data, and otherwise both count the missing points neither way (`ALARM` when the real
//!   points breach at least `DatapointsToAlarm` less the missing ones, and at least once).
//!
//! Every change of state (here, or by `SetAlarmState`) is recorded in the alarm's history and
//! published as a "CloudWatch Alarm State Change" event once durable. Alarm actions are kept
//! but not performed: the event is what other services see.

use std::time::{Duration, UNIX_EPOCH};

use palisade_core::events::ServiceEvent;
use palisade_core::{AccountId, Region, ServiceError};
use palisade_model_cloudwatch::types::{HistoryItemType, StateValue};
use palisade_store::Transaction;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::CloudWatchState;
use crate::alarms::{AlarmRecord, AlarmState, HistoryRecord, add_history};
use crate::db::{ALARMS, Tenant, plain};
use crate::statistics::{Stat, Window};

/// A state to move an alarm to.
#[derive(Debug, Clone)]
pub(crate) struct NewState {
    pub value: String,
    pub reason: String,
    pub reason_data: Option<String>,
}

impl CloudWatchState {
    /// Evaluates every alarm of every account and region now, changing the state of those
    /// whose data says so; answers how many changed.
    pub async fn evaluate_alarms(&self) -> Result<usize, ServiceError> {
        let alarms = self.scan_all::<AlarmRecord>(ALARMS, "", None).await?;
        let now = self.now();
        let mut changed = 0;
        for (key, alarm) in alarms {
            let Some((tenant, _)) = Tenant::split_store_key(&key) else {
                continue;
            };
            let Some(new) = self.evaluate(&tenant, &alarm.value, now).await? else {
                continue;
            };
            if new.value == alarm.value.state.value {
                continue;
            }
            let (txn, event) = self.transition(&tenant, &alarm.value, &new)?;
            // A change made since the read (an update, SetAlarmState) wins; the next
            // evaluation sees it.
            if self
                .try_commit(txn.expect_version(ALARMS, &key, alarm.version))
                .await?
            {
                self.publish(event);
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The state the alarm's data calls for now, or `None` to keep its state.
    async fn evaluate(
        &self,
        tenant: &Tenant,
        alarm: &AlarmRecord,
        now: i64,
    ) -> Result<Option<NewState>, ServiceError> {
        let Some(stat) = Stat::parse(alarm.stat()) else {
            return Ok(None);
        };
        let period = i64::from(alarm.period) * 1000;
        let granularity = period.min(60_000);
        let end = now.div_euclid(granularity) * granularity;
        let periods = i64::from(alarm.evaluation_periods) * 2;
        let start = end - periods * period;
        let buckets = self
            .buckets(
                tenant,
                &alarm.metric,
                alarm.unit.as_deref(),
                Window { start, end, period },
            )
            .await?;
        // Newest first.
        let range: Vec<(i64, Option<f64>)> = (0..periods)
            .rev()
            .map(|index| {
                let time = start + index * period;
                (
                    time,
                    buckets
                        .get(&time)
                        .and_then(|bucket| bucket.statistic(&stat)),
                )
            })
            .collect();
        let real: Vec<(i64, f64)> = range
            .iter()
            .filter_map(|(time, value)| Some((*time, (*value)?)))
            .collect();
        let wanted = usize::try_from(alarm.evaluation_periods).unwrap_or(1);
        let needed = alarm
            .datapoints_to_alarm
            .and_then(|needed| usize::try_from(needed).ok())
            .unwrap_or(wanted);
        let judge = Judge {
            alarm,
            now,
            start,
            wanted,
            needed,
        };
        if real.len() >= wanted {
            let evaluated = real.get(..wanted).unwrap_or_default();
            return Ok(Some(judge.crossed(evaluated, Missing::Absent, needed)));
        }
        let missing = wanted - real.len();
        let latest_missing = range.first().is_none_or(|(_, value)| value.is_none());
        Ok(match alarm.treatment() {
            "breaching" => Some(judge.crossed(&real, Missing::Breaching(missing), needed)),
            "notBreaching" => Some(judge.crossed(&real, Missing::NotBreaching(missing), needed)),
            "ignore" if real.is_empty() || latest_missing => None,
            _ if real.is_empty() => Some(judge.insufficient()),
            _ => Some(judge.crossed(
                &real,
                Missing::Absent,
                needed.saturating_sub(missing).max(1),
            )),
        })
    }

    /// The transaction (without its precondition) that moves `alarm` to `new` and records it
    /// in the history, and the event to publish once it is durable (none when the value stays).
    pub(crate) fn transition(
        &self,
        tenant: &Tenant,
        alarm: &AlarmRecord,
        new: &NewState,
    ) -> Result<(Transaction, Option<ServiceEvent>), ServiceError> {
        let now = self.now();
        let mut record = alarm.clone();
        let changed = new.value != alarm.state.value;
        record.state.value.clone_from(&new.value);
        record.state.reason.clone_from(&new.reason);
        record.state.reason_data.clone_from(&new.reason_data);
        record.state.updated = now;
        if changed {
            record.state.transitioned = now;
        }
        let key = tenant.alarm_key(&alarm.name);
        let mut txn = Transaction::new().put(ALARMS, &key, plain(&record)?);
        if !changed {
            return Ok((txn, None));
        }
        let history = HistoryRecord {
            alarm_name: alarm.name.clone(),
            timestamp: now,
            item_type: HistoryItemType::StateUpdate.as_str().to_owned(),
            summary: format!("Alarm updated from {} to {}", alarm.state.value, new.value),
            data: json!({
                "version": "1.0",
                "oldState": {"stateValue": alarm.state.value, "stateReason": alarm.state.reason},
                "newState": {"stateValue": new.value, "stateReason": new.reason},
            })
            .to_string(),
        };
        txn = add_history(txn, tenant, &history)?;
        Ok((txn, state_change_event(tenant, alarm, &record)))
    }

    /// Hands `event` to the event sink, if there is one.
    pub(crate) fn publish(&self, event: Option<ServiceEvent>) {
        if let (Some(event), Some(sink)) = (event, self.events.get()) {
            sink.publish(event);
        }
    }
}

/// A period's start and its statistic.
type Point = (i64, f64);

/// Decides from data, for the reason texts.
struct Judge<'a> {
    alarm: &'a AlarmRecord,
    now: i64,
    start: i64,
    /// `EvaluationPeriods`.
    wanted: usize,
    /// `DatapointsToAlarm`, as configured.
    needed: usize,
}

/// How the periods without data of an evaluation count.
#[derive(Debug, Clone, Copy)]
enum Missing {
    /// Not at all.
    Absent,
    /// So many, each as breaching.
    Breaching(usize),
    /// So many, each as not breaching.
    NotBreaching(usize),
}

impl Judge<'_> {
    /// `ALARM` when at least `required` of `real` (newest first) and the filled `missing`
    /// points breach, `OK` otherwise.
    fn crossed(&self, real: &[(i64, f64)], missing: Missing, required: usize) -> NewState {
        let (breaching, calm): (Vec<Point>, Vec<Point>) = real
            .iter()
            .copied()
            .partition(|(_, value)| breaches(&self.alarm.comparison, *value, self.alarm.threshold));
        let (filled_breaching, filled_calm) = match missing {
            Missing::Absent => (0, 0),
            Missing::Breaching(count) => (count, 0),
            Missing::NotBreaching(count) => (0, count),
        };
        let alarm = breaching.len() + filled_breaching >= required;
        let (value, shown, filled) = if alarm {
            (StateValue::Alarm.as_str(), breaching, filled_breaching)
        } else {
            (StateValue::Ok.as_str(), calm, filled_calm)
        };
        let reason = if real.is_empty() {
            let missing = filled_breaching + filled_calm;
            format!(
                "Threshold Crossed: no datapoints were received for {missing} {} and {missing} \
                 missing {} treated as [{}].",
                plural(missing, "period", "periods"),
                plural(missing, "datapoint was", "datapoints were"),
                if filled_breaching > 0 {
                    "Breaching"
                } else {
                    "NonBreaching"
                }
            )
        } else {
            let listed = shown
                .iter()
                .map(|(time, value)| format!("{} ({})", number(*value), reason_time(*time)))
                .collect::<Vec<_>>()
                .join(", ");
            let count = shown.len() + filled;
            format!(
                "Threshold Crossed: {count} out of the last {} {} [{listed}] {} {}{} the \
                 threshold ({}) (minimum {} {} for {} -> {value} transition).",
                self.wanted,
                plural(self.wanted, "datapoint", "datapoints"),
                plural(count, "was", "were"),
                if alarm { "" } else { "not " },
                phrase(&self.alarm.comparison),
                number(self.alarm.threshold),
                self.needed,
                plural(self.needed, "datapoint", "datapoints"),
                self.alarm.state.value,
            )
        };
        NewState {
            value: value.to_owned(),
            reason,
            reason_data: Some(self.reason_data(real)),
        }
    }

    fn insufficient(&self) -> NewState {
        NewState {
            value: StateValue::InsufficientData.as_str().to_owned(),
            reason: format!(
                "Insufficient Data: {} {} unknown.",
                self.wanted,
                plural(self.wanted, "datapoint was", "datapoints were")
            ),
            reason_data: Some(self.reason_data(&[])),
        }
    }

    /// `StateReasonData`, in CloudWatch's shape.
    fn reason_data(&self, real: &[(i64, f64)]) -> String {
        let mut data = Map::new();
        data.insert("version".into(), json!("1.0"));
        data.insert("queryDate".into(), json!(aws_time(self.now)));
        data.insert("startDate".into(), json!(aws_time(self.start)));
        match &self.alarm.statistic {
            Some(statistic) => data.insert("statistic".into(), json!(statistic)),
            None => data.insert("extendedStatistic".into(), json!(self.alarm.stat())),
        };
        if let Some(unit) = &self.alarm.unit {
            data.insert("unit".into(), json!(unit));
        }
        data.insert("period".into(), json!(self.alarm.period));
        data.insert(
            "recentDatapoints".into(),
            Value::Array(real.iter().rev().map(|(_, value)| json!(value)).collect()),
        );
        data.insert("threshold".into(), json!(self.alarm.threshold));
        data.insert(
            "evaluatedDatapoints".into(),
            Value::Array(
                real.iter()
                    .map(|(time, value)| json!({"timestamp": aws_time(*time), "value": value}))
                    .collect(),
            ),
        );
        Value::Object(data).to_string()
    }
}

fn breaches(comparison: &str, value: f64, threshold: f64) -> bool {
    match comparison {
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "GreaterThanThreshold" => value > threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        _ => false,
    }
}

fn phrase(comparison: &str) -> &'static str {
    match comparison {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        _ => "less than or equal to",
    }
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// A number as CloudWatch's reasons print it: always with a fraction (`1.0`).
fn number(value: f64) -> String {
    format!("{value:?}")
}

fn utc(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2019-10-02T17:04:40.985+0000`, the time format of alarm events and reason data.
pub(crate) fn aws_time(millis: i64) -> String {
    let time = utc(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

/// `02/10/19 16:59:00` (day, month, year), the time of a data point in a reason.
fn reason_time(millis: i64) -> String {
    let time = utc(millis);
    format!(
        "{:02}/{:02}/{:02} {:02}:{:02}:{:02}",
        time.day(),
        u8::from(time.month()),
        time.year().rem_euclid(100),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// A state as the event shows it.
fn state_json(state: &AlarmState) -> Value {
    let mut json = Map::new();
    json.insert("value".into(), json!(state.value));
    json.insert("reason".into(), json!(state.reason));
    if let Some(data) = &state.reason_data {
        json.insert("reasonData".into(), json!(data));
    }
    json.insert("timestamp".into(), json!(aws_time(state.updated)));
    Value::Object(json)
}

/// The "CloudWatch Alarm State Change" event of `before` becoming `after`.
fn state_change_event(
    tenant: &Tenant,
    before: &AlarmRecord,
    after: &AlarmRecord,
) -> Option<ServiceEvent> {
    let mut metric = Map::new();
    metric.insert("namespace".into(), json!(after.metric.namespace));
    metric.insert("name".into(), json!(after.metric.name));
    metric.insert("dimensions".into(), json!(after.metric.dimensions));
    let mut metric_stat = Map::new();
    metric_stat.insert("metric".into(), Value::Object(metric));
    metric_stat.insert("period".into(), json!(after.period));
    metric_stat.insert("stat".into(), json!(after.stat()));
    if let Some(unit) = &after.unit {
        metric_stat.insert("unit".into(), json!(unit));
    }
    let mut configuration = Map::new();
    if let Some(description) = &after.description {
        configuration.insert("description".into(), json!(description));
    }
    configuration.insert(
        "metrics".into(),
        json!([{
            "id": uuid::Uuid::new_v4().to_string(),
            "metricStat": Value::Object(metric_stat),
            "returnData": true,
        }]),
    );
    let detail = json!({
        "alarmName": after.name,
        "state": state_json(&after.state),
        "previousState": state_json(&before.state),
        "configuration": Value::Object(configuration),
    });
    Some(ServiceEvent {
        account: AccountId::parse(&tenant.account)?,
        region: Region::parse(&tenant.region)?,
        source: "aws.cloudwatch".to_owned(),
        detail_type: "CloudWatch Alarm State Change".to_owned(),
        resources: vec![tenant.alarm_arn(&after.name)],
        detail: detail.to_string(),
        time: UNIX_EPOCH + Duration::from_millis(u64::try_from(after.state.updated).unwrap_or(0)),
    })
}
