//! CloudWatch through the generated service, over a real store, a manual clock and an event
//! sink that keeps what it is given: statistics over stored points, alarm evaluation with each
//! `TreatMissingData`, and the events state changes publish.

#![expect(clippy::unwrap_used, reason = "tests: a failure is a failed test")]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_cloudwatch::CloudWatchState;
use palisade_core::clock::ManualClock;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::metrics::{MetricDatum as FilterDatum, MetricSink};
use palisade_core::service::{ErrorKind, Service};
use palisade_core::value::Timestamp;
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, ServiceError,
};
use palisade_model_cloudwatch::types::*;
use palisade_model_cloudwatch::{CloudwatchService, MODEL};
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z, in milliseconds.
const START: i64 = 1_704_067_200_000;
const MINUTE: i64 = 60_000;

#[derive(Default)]
struct Recorded(Mutex<Vec<ServiceEvent>>);

impl EventSink for Recorded {
    fn publish(&self, event: ServiceEvent) {
        self.0.lock().unwrap().push(event);
    }
}

struct Harness {
    service: CloudwatchService<CloudWatchState>,
    clock: ManualClock,
    events: Arc<Recorded>,
    root: RequestContext,
    _dir: TempDir,
}

impl Harness {
    async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(START as u64));
        let state = CloudWatchState::new(store, Arc::new(clock.clone()));
        let events = Arc::new(Recorded::default());
        state.attach_events(Arc::clone(&events) as Arc<dyn EventSink>);
        Self {
            service: CloudwatchService(Arc::new(state)),
            clock,
            events,
            root: RequestContext {
                request_id: "test-request".to_owned(),
                principal: Principal::root(AccountId::local_default(), "test"),
                region: Region::parse("us-east-1").unwrap(),
                source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                user_agent: "tests".to_owned(),
                time: SystemTime::now(),
                secure_transport: false,
            },
            _dir: dir,
        }
    }

    fn state(&self) -> &CloudWatchState {
        &self.service.0
    }

    fn advance_minutes(&self, minutes: u64) {
        self.clock.advance(Duration::from_secs(60 * minutes));
    }

    fn now(&self) -> i64 {
        palisade_core::clock::Clock::now_millis(&self.clock)
    }

    /// Calls `operation` as the server does: validated against the model, then dispatched.
    async fn call<O: FromValue>(
        &self,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let input = input.into_value();
        if let Some(shape) = operation.input {
            palisade_core::validate::validate(&MODEL, shape, &input)
                .map_err(ServiceError::validation)?;
        }
        let output = self.service.call(&self.root, operation, input).await?;
        Ok(O::from_value(output).unwrap())
    }

    async fn act(&self, operation: &str, input: impl IntoValue) -> Result<(), ServiceError> {
        self.call::<palisade_core::Value>(operation, input)
            .await
            .map(drop)
    }

    async fn put_value(&self, metric: &str, at: i64, value: f64) {
        self.act(
            "PutMetricData",
            PutMetricDataInput {
                namespace: "App".to_owned(),
                metric_data: Some(vec![MetricDatum {
                    metric_name: metric.to_owned(),
                    timestamp: Some(Timestamp::from_millis(at)),
                    value: Some(value),
                    ..Default::default()
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }

    async fn alarm(&self, name: &str) -> MetricAlarm {
        let described: DescribeAlarmsOutput = self
            .call(
                "DescribeAlarms",
                DescribeAlarmsInput {
                    alarm_names: Some(vec![name.to_owned()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        described.metric_alarms.unwrap().remove(0)
    }

    async fn state_of(&self, name: &str) -> String {
        self.alarm(name)
            .await
            .state_value
            .unwrap()
            .as_str()
            .to_owned()
    }

    fn published(&self) -> Vec<ServiceEvent> {
        self.events.0.lock().unwrap().clone()
    }
}

fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

/// An alarm on `App`/`Errors`: Sum over one minute ≥ 1, `M` of `N`.
fn errors_alarm(name: &str, n: i32, m: i32, treatment: Option<&str>) -> PutMetricAlarmInput {
    PutMetricAlarmInput {
        alarm_name: name.to_owned(),
        namespace: Some("App".to_owned()),
        metric_name: Some("Errors".to_owned()),
        statistic: Some(Statistic::Sum),
        period: Some(60),
        evaluation_periods: Some(n),
        datapoints_to_alarm: Some(m),
        threshold: Some(1.0),
        comparison_operator: Some(ComparisonOperator::GreaterThanOrEqualToThreshold),
        treat_missing_data: treatment.map(str::to_owned),
        ..Default::default()
    }
}

#[tokio::test]
async fn statistics_combine_the_points_of_each_period() {
    let h = Harness::new().await;
    let base = START - 10 * MINUTE;
    for (offset, value) in [(0, 1.0), (10_000, 3.0), (MINUTE, 8.0), (3 * MINUTE, 5.0)] {
        h.put_value("Latency", base + offset, value).await;
    }
    let answer: GetMetricStatisticsOutput = h
        .call(
            "GetMetricStatistics",
            GetMetricStatisticsInput {
                namespace: "App".to_owned(),
                metric_name: "Latency".to_owned(),
                start_time: Timestamp::from_millis(base),
                end_time: Timestamp::from_millis(base + 4 * MINUTE),
                period: 120,
                statistics: Some(vec![
                    Statistic::SampleCount,
                    Statistic::Sum,
                    Statistic::Average,
                    Statistic::Minimum,
                    Statistic::Maximum,
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let points = answer.datapoints.unwrap();
    assert_eq!(points.len(), 2);
    let first = &points[0];
    assert_eq!(first.timestamp, Some(Timestamp::from_millis(base)));
    assert_eq!(
        (first.sample_count, first.sum, first.minimum, first.maximum),
        (Some(3.0), Some(12.0), Some(1.0), Some(8.0))
    );
    assert_eq!(first.average, Some(4.0));
    assert_eq!(first.unit, Some(StandardUnit::None));
    assert_eq!(points[1].sum, Some(5.0));

    // A unit filter keeps only points of that unit.
    let other_unit: GetMetricStatisticsOutput = h
        .call(
            "GetMetricStatistics",
            GetMetricStatisticsInput {
                namespace: "App".to_owned(),
                metric_name: "Latency".to_owned(),
                start_time: Timestamp::from_millis(base),
                end_time: Timestamp::from_millis(base + 4 * MINUTE),
                period: 60,
                statistics: Some(vec![Statistic::Sum]),
                unit: Some(StandardUnit::Seconds),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(other_unit.datapoints.unwrap(), vec![]);

    let error = h
        .act(
            "GetMetricStatistics",
            GetMetricStatisticsInput {
                namespace: "App".to_owned(),
                metric_name: "Latency".to_owned(),
                start_time: Timestamp::from_millis(base),
                end_time: Timestamp::from_millis(base + 4 * MINUTE),
                period: 45,
                statistics: Some(vec![Statistic::Sum]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValue");
}

#[tokio::test]
async fn metric_filter_points_are_recorded_through_the_sink() {
    let h = Harness::new().await;
    let at = START - 2 * MINUTE + 5_000;
    let datum = FilterDatum {
        namespace: "Security".to_owned(),
        metric_name: "AccessDenied".to_owned(),
        value: 1.0,
        unit: None,
        dimensions: BTreeMap::new(),
        timestamp: at,
    };
    MetricSink::record(
        h.state(),
        "000000000000",
        "us-east-1",
        vec![datum.clone(), datum],
    )
    .await;
    let listed: ListMetricsOutput = h
        .call(
            "ListMetrics",
            ListMetricsInput {
                namespace: Some("Security".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let metrics = listed.metrics.unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].metric_name.as_deref(), Some("AccessDenied"));
    let answer: GetMetricDataOutput = h
        .call(
            "GetMetricData",
            GetMetricDataInput {
                metric_data_queries: vec![MetricDataQuery {
                    id: "denied".to_owned(),
                    metric_stat: Some(MetricStat {
                        metric: Metric {
                            namespace: Some("Security".to_owned()),
                            metric_name: Some("AccessDenied".to_owned()),
                            dimensions: None,
                        },
                        period: 60,
                        stat: "Sum".to_owned(),
                        unit: None,
                    }),
                    ..Default::default()
                }],
                start_time: Timestamp::from_millis(START - 10 * MINUTE),
                end_time: Timestamp::from_millis(START),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let result = &answer.metric_data_results.unwrap()[0];
    assert_eq!(result.values.as_deref(), Some(&[2.0][..]));
    assert_eq!(
        result.timestamps.as_deref(),
        Some(&[Timestamp::from_millis(START - 2 * MINUTE)][..])
    );
}

#[tokio::test]
async fn an_alarm_goes_to_alarm_and_back_and_publishes_each_change() {
    let h = Harness::new().await;
    h.act("PutMetricAlarm", errors_alarm("errors", 2, 2, None))
        .await
        .unwrap();
    // Two breaching minutes in a row.
    h.put_value("Errors", START + 10_000, 3.0).await;
    h.put_value("Errors", START + MINUTE + 10_000, 1.0).await;
    h.advance_minutes(1);
    // One minute of data is not two: with the default (missing), fewer real points than
    // EvaluationPeriods count the missing one neither way, and one breach of the needed two
    // less the missing one suffices.
    assert_eq!(h.state().evaluate_alarms().await.unwrap(), 1);
    assert_eq!(
        h.alarm("errors").await.state_reason.as_deref(),
        Some(
            "Threshold Crossed: 1 out of the last 2 datapoints [3.0 (01/01/24 00:00:00)] was \
             greater than or equal to the threshold (1.0) (minimum 2 datapoints for \
             INSUFFICIENT_DATA -> ALARM transition)."
        )
    );
    // With both minutes, the state holds and nothing is published.
    h.advance_minutes(1);
    assert_eq!(h.state().evaluate_alarms().await.unwrap(), 0);
    // A quiet minute after two breaching ones: one of the last two breaches, not enough.
    h.put_value("Errors", START + 2 * MINUTE + 10_000, 0.0)
        .await;
    h.advance_minutes(1);
    assert_eq!(h.state().evaluate_alarms().await.unwrap(), 1);
    assert_eq!(h.state_of("errors").await, "OK");

    let published = h.published();
    assert_eq!(published.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&published[0].detail).unwrap();
    assert_eq!(published[0].source, "aws.cloudwatch");
    assert_eq!(published[0].detail_type, "CloudWatch Alarm State Change");
    assert_eq!(
        published[0].resources,
        vec!["arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors".to_owned()]
    );
    assert_eq!(first["alarmName"], "errors");
    assert_eq!(first["state"]["value"], "ALARM");
    assert_eq!(first["previousState"]["value"], "INSUFFICIENT_DATA");
    assert_eq!(
        first["previousState"]["reason"],
        "Unchecked: Initial alarm creation"
    );
    assert_eq!(first["state"]["timestamp"], "2024-01-01T00:01:00.000+0000");
    let reason_data: serde_json::Value =
        serde_json::from_str(first["state"]["reasonData"].as_str().unwrap()).unwrap();
    assert_eq!(reason_data["statistic"], "Sum");
    assert_eq!(reason_data["recentDatapoints"], serde_json::json!([3.0]));
    assert_eq!(
        first["configuration"]["metrics"][0]["metricStat"]["metric"],
        serde_json::json!({"namespace": "App", "name": "Errors", "dimensions": {}})
    );
    let second: serde_json::Value = serde_json::from_str(&published[1].detail).unwrap();
    assert_eq!(
        (&second["previousState"]["value"], &second["state"]["value"]),
        (&serde_json::json!("ALARM"), &serde_json::json!("OK"))
    );
}

#[tokio::test]
async fn missing_data_is_treated_as_configured() {
    let h = Harness::new().await;
    for (name, treatment) in [
        ("missing", None),
        ("ignore", Some("ignore")),
        ("breaching", Some("breaching")),
        ("not-breaching", Some("notBreaching")),
    ] {
        h.act("PutMetricAlarm", errors_alarm(name, 3, 3, treatment))
            .await
            .unwrap();
    }
    // No data at all.
    h.state().evaluate_alarms().await.unwrap();
    assert_eq!(h.state_of("missing").await, "INSUFFICIENT_DATA");
    assert_eq!(h.state_of("ignore").await, "INSUFFICIENT_DATA");
    assert_eq!(h.state_of("breaching").await, "ALARM");
    assert_eq!(h.state_of("not-breaching").await, "OK");
    assert!(
        h.alarm("missing")
            .await
            .state_reason
            .unwrap()
            .starts_with("Unchecked")
    );

    // One breaching point, two periods before now (the latest period is missing): AWS's table
    // row `- - X - -` for 3 of 3.
    h.put_value("Errors", h.now() - 2 * MINUTE, 5.0).await;
    h.state().evaluate_alarms().await.unwrap();
    assert_eq!(h.state_of("missing").await, "ALARM");
    assert_eq!(h.state_of("ignore").await, "INSUFFICIENT_DATA");
    assert_eq!(h.state_of("breaching").await, "ALARM");
    assert_eq!(h.state_of("not-breaching").await, "OK");

    // Then a calm latest period (`- - X 0`-like): ignore evaluates, and one breach of three
    // (filled not breaching) or of two real points is not enough.
    h.put_value("Errors", h.now() - MINUTE, 0.0).await;
    h.state().evaluate_alarms().await.unwrap();
    assert_eq!(h.state_of("missing").await, "OK");
    assert_eq!(h.state_of("ignore").await, "OK");
    assert_eq!(h.state_of("breaching").await, "OK");
    assert_eq!(h.state_of("not-breaching").await, "OK");
    assert_eq!(
        h.alarm("breaching").await.state_reason.as_deref(),
        Some(
            "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (31/12/23 23:59:00)] was \
             not greater than or equal to the threshold (1.0) (minimum 3 datapoints for ALARM -> \
             OK transition)."
        )
    );
}

#[tokio::test]
async fn set_alarm_state_changes_state_until_the_next_evaluation() {
    let h = Harness::new().await;
    h.act(
        "PutMetricAlarm",
        errors_alarm("manual", 1, 1, Some("notBreaching")),
    )
    .await
    .unwrap();
    h.act(
        "SetAlarmState",
        SetAlarmStateInput {
            alarm_name: "manual".to_owned(),
            state_value: StateValue::Alarm,
            state_reason: "testing the pager".to_owned(),
            state_reason_data: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(h.state_of("manual").await, "ALARM");
    assert_eq!(h.published().len(), 1);
    h.advance_minutes(1);
    let detail: serde_json::Value = serde_json::from_str(&h.published()[0].detail).unwrap();
    assert_eq!(detail["state"]["reason"], "testing the pager");

    h.state().evaluate_alarms().await.unwrap();
    assert_eq!(h.state_of("manual").await, "OK");
    assert_eq!(h.published().len(), 2);

    let history: DescribeAlarmHistoryOutput = h
        .call(
            "DescribeAlarmHistory",
            DescribeAlarmHistoryInput {
                alarm_name: Some("manual".to_owned()),
                history_item_type: Some(HistoryItemType::StateUpdate),
                scan_by: Some(ScanBy::TimestampAscending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let summaries: Vec<String> = history
        .alarm_history_items
        .unwrap()
        .into_iter()
        .filter_map(|item| item.history_summary)
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
            "Alarm updated from ALARM to OK"
        ]
    );

    let error = h
        .act(
            "SetAlarmState",
            SetAlarmStateInput {
                alarm_name: "absent".to_owned(),
                state_value: StateValue::Ok,
                state_reason: "x".to_owned(),
                state_reason_data: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFound");
}

#[tokio::test]
async fn alarm_configuration_is_validated() {
    let h = Harness::new().await;
    let mut bad_period = errors_alarm("bad", 1, 1, None);
    bad_period.period = Some(45);
    let error = h.act("PutMetricAlarm", bad_period).await.unwrap_err();
    assert_eq!(code(&error), "Validation");
    let too_many = errors_alarm("bad", 2, 3, None);
    assert_eq!(
        code(&h.act("PutMetricAlarm", too_many).await.unwrap_err()),
        "Validation"
    );
    let mut both = errors_alarm("bad", 1, 1, None);
    both.extended_statistic = Some("p99".to_owned());
    assert_eq!(
        code(&h.act("PutMetricAlarm", both).await.unwrap_err()),
        "Validation"
    );
    let mut math = errors_alarm("bad", 1, 1, None);
    math.metrics = Some(Vec::new());
    assert_eq!(
        code(&h.act("PutMetricAlarm", math).await.unwrap_err()),
        "NotImplemented"
    );
    // An update keeps the state.
    h.act(
        "PutMetricAlarm",
        errors_alarm("kept", 1, 1, Some("breaching")),
    )
    .await
    .unwrap();
    h.state().evaluate_alarms().await.unwrap();
    assert_eq!(h.state_of("kept").await, "ALARM");
    h.act(
        "PutMetricAlarm",
        errors_alarm("kept", 2, 1, Some("breaching")),
    )
    .await
    .unwrap();
    let kept = h.alarm("kept").await;
    assert_eq!(kept.state_value, Some(StateValue::Alarm));
    assert_eq!(kept.evaluation_periods, Some(2));
}
