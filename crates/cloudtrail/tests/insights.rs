//! `ListInsightsMetricData` counts, per period, the write calls of one API or its calls that
//! failed with one error code, from the audit records; `ListInsightsData` lists no Insights
//! events, as Palisade raises none.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use palisade_audit::{AuditRecord, CallOutcome};
use palisade_core::service::ErrorKind;
use palisade_core::value::Timestamp;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    InsightType, InsightsMetricDataType, ListInsightsDataRequest, ListInsightsDataType,
    ListInsightsMetricDataRequest,
};
use support::{ACCOUNT, Harness, START};

const REGION: &str = "us-east-1";
const SOURCE: &str = "cloudtrail.amazonaws.com";

async fn failed_call(harness: &Harness, operation: &str, code: &str) {
    let ctx = harness.ctx(REGION);
    let record = AuditRecord::for_call(
        &ctx,
        &palisade_model_cloudtrail::MODEL,
        operation,
        None,
        CallOutcome::Failure {
            code: code.to_owned(),
            message: "no".to_owned(),
        },
    );
    harness.audit.record(&record).await.unwrap();
}

fn request(name: &str, insight_type: InsightType) -> ListInsightsMetricDataRequest {
    ListInsightsMetricDataRequest {
        event_source: SOURCE.to_owned(),
        event_name: name.to_owned(),
        insight_type,
        start_time: Some(Timestamp::from_millis(i64::try_from(START).unwrap() * 1000)),
        period: Some(60),
        trail_name: None,
        error_code: None,
        end_time: None,
        data_type: None,
        max_results: None,
        next_token: None,
    }
}

fn code(error: &palisade_core::ServiceError) -> &str {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code,
        _ => "not modeled",
    }
}

#[tokio::test]
async fn call_and_error_rates_are_counted_per_period() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    // Minute 0: two writes and a read; minute 2: one write and two failures.
    harness.call(REGION, "CreateTrail").await;
    harness.call(REGION, "CreateTrail").await;
    harness.call(REGION, "GetTrail").await;
    harness.call("eu-west-1", "CreateTrail").await;
    harness.advance(120);
    harness.call(REGION, "CreateTrail").await;
    failed_call(&harness, "CreateTrail", "AccessDenied").await;
    failed_call(&harness, "CreateTrail", "TrailAlreadyExistsException").await;
    harness.advance(61);

    let start = i64::try_from(START).unwrap() * 1000;
    let writes = harness
        .state
        .list_insights_metric_data(
            &ctx,
            request("CreateTrail", InsightType::ApiCallRateInsight),
        )
        .await
        .unwrap();
    // Failed calls are calls too: three writes in minute 2.
    assert_eq!(
        writes.timestamps.unwrap(),
        vec![
            Timestamp::from_millis(start),
            Timestamp::from_millis(start + 120_000)
        ]
    );
    assert_eq!(writes.values.unwrap(), vec![2.0, 3.0]);

    let filled = harness
        .state
        .list_insights_metric_data(
            &ctx,
            ListInsightsMetricDataRequest {
                data_type: Some(InsightsMetricDataType::FillWithZeros),
                ..request("CreateTrail", InsightType::ApiCallRateInsight)
            },
        )
        .await
        .unwrap();
    assert_eq!(filled.values.unwrap(), vec![2.0, 0.0, 3.0, 0.0]);

    let paged = harness
        .state
        .list_insights_metric_data(
            &ctx,
            ListInsightsMetricDataRequest {
                data_type: Some(InsightsMetricDataType::FillWithZeros),
                max_results: Some(3),
                ..request("CreateTrail", InsightType::ApiCallRateInsight)
            },
        )
        .await
        .unwrap();
    assert_eq!(paged.values.unwrap(), vec![2.0, 0.0, 3.0]);
    let rest = harness
        .state
        .list_insights_metric_data(
            &ctx,
            ListInsightsMetricDataRequest {
                data_type: Some(InsightsMetricDataType::FillWithZeros),
                max_results: Some(3),
                next_token: paged.next_token,
                ..request("CreateTrail", InsightType::ApiCallRateInsight)
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.values.unwrap(), vec![0.0]);
    assert_eq!(rest.next_token, None);

    let denied = harness
        .state
        .list_insights_metric_data(
            &ctx,
            ListInsightsMetricDataRequest {
                error_code: Some("AccessDenied".to_owned()),
                ..request("CreateTrail", InsightType::ApiErrorRateInsight)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        denied.timestamps.unwrap(),
        vec![Timestamp::from_millis(start + 120_000)]
    );
    assert_eq!(denied.values.unwrap(), vec![1.0]);

    // Reads are no write rate.
    let reads = harness
        .state
        .list_insights_metric_data(&ctx, request("GetTrail", InsightType::ApiCallRateInsight))
        .await
        .unwrap();
    assert_eq!(reads.values.unwrap(), Vec::<f64>::new());

    for (bad, expected) in [
        (
            request("CreateTrail", InsightType::ApiErrorRateInsight),
            "InvalidParameterException",
        ),
        (
            ListInsightsMetricDataRequest {
                period: Some(120),
                ..request("CreateTrail", InsightType::ApiCallRateInsight)
            },
            "InvalidParameterException",
        ),
        (
            ListInsightsMetricDataRequest {
                trail_name: Some("missing".to_owned()),
                ..request("CreateTrail", InsightType::ApiCallRateInsight)
            },
            // The operation models no TrailNotFoundException.
            "InvalidParameterException",
        ),
    ] {
        let error = harness
            .state
            .list_insights_metric_data(&ctx, bad)
            .await
            .unwrap_err();
        assert_eq!(code(&error), expected);
    }
}

#[tokio::test]
async fn a_trail_has_no_insights_events() {
    let harness = Harness::new().await;
    harness
        .create_trail("watched", "bucket", false, false)
        .await;
    let listed = harness
        .state
        .list_insights_data(
            &harness.ctx(REGION),
            ListInsightsDataRequest {
                insight_source: format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/watched"),
                data_type: ListInsightsDataType::InsightsEvents,
                dimensions: None,
                start_time: None,
                end_time: None,
                max_results: None,
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.events, Some(Vec::new()));
}
