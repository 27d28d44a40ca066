//! Metric filters: definitions, listing, testing, and the data points a batch produces.

use std::collections::BTreeMap;

use palisade_logs::MetricDatum;
use palisade_model_logs::types::*;

use crate::common::*;

fn transformation(value: &str) -> MetricTransformation {
    MetricTransformation {
        metric_name: "Errors".to_owned(),
        metric_namespace: "App".to_owned(),
        metric_value: value.to_owned(),
        ..Default::default()
    }
}

fn filter(
    name: &str,
    pattern: &str,
    transformation: MetricTransformation,
) -> PutMetricFilterRequest {
    PutMetricFilterRequest {
        log_group_name: "g".to_owned(),
        filter_name: name.to_owned(),
        filter_pattern: pattern.to_owned(),
        metric_transformations: vec![transformation],
        ..Default::default()
    }
}

#[tokio::test]
async fn put_describe_delete() {
    let h = Harness::new().await;
    assert_code(
        h.act("PutMetricFilter", filter("f", "ERROR", transformation("1")))
            .await,
        "ResourceNotFoundException",
    );
    h.create_group("g").await;
    h.act(
        "PutMetricFilter",
        filter("errors", "ERROR", transformation("1")),
    )
    .await
    .unwrap();
    let latency = MetricTransformation {
        metric_name: "Latency".to_owned(),
        dimensions: Some(BTreeMap::from([(
            "Service".to_owned(),
            "$.service".to_owned(),
        )])),
        unit: Some(StandardUnit::Milliseconds),
        ..transformation("$.ms")
    };
    h.act(
        "PutMetricFilter",
        filter("latency", "{ $.ms > 0 }", latency),
    )
    .await
    .unwrap();
    let all: DescribeMetricFiltersResponse = h
        .call(
            "DescribeMetricFilters",
            DescribeMetricFiltersRequest {
                log_group_name: Some("g".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let filters = all.metric_filters.unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(filters[0].filter_name.as_deref(), Some("errors"));
    assert_eq!(filters[0].log_group_name.as_deref(), Some("g"));
    let by_metric: DescribeMetricFiltersResponse = h
        .call(
            "DescribeMetricFilters",
            DescribeMetricFiltersRequest {
                metric_name: Some("Latency".to_owned()),
                metric_namespace: Some("App".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        by_metric.metric_filters.unwrap()[0].filter_name.as_deref(),
        Some("latency")
    );
    let paged: DescribeMetricFiltersResponse = h
        .call(
            "DescribeMetricFilters",
            DescribeMetricFiltersRequest {
                log_group_name: Some("g".to_owned()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second: DescribeMetricFiltersResponse = h
        .call(
            "DescribeMetricFilters",
            DescribeMetricFiltersRequest {
                log_group_name: Some("g".to_owned()),
                next_token: paged.next_token,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        second.metric_filters.unwrap()[0].filter_name.as_deref(),
        Some("latency")
    );
    let groups = h.groups(DescribeLogGroupsRequest::default()).await;
    assert_eq!(groups.log_groups.unwrap()[0].metric_filter_count, Some(2));

    let delete = || DeleteMetricFilterRequest {
        log_group_name: "g".to_owned(),
        filter_name: "errors".to_owned(),
    };
    h.act("DeleteMetricFilter", delete()).await.unwrap();
    assert_eq!(
        assert_code(
            h.act("DeleteMetricFilter", delete()).await,
            "ResourceNotFoundException"
        ),
        "The specified metric filter does not exist."
    );
}

#[tokio::test]
async fn put_refuses_what_aws_refuses() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let dimensions = MetricTransformation {
        dimensions: Some(BTreeMap::from([("D".to_owned(), "$.d".to_owned())])),
        ..transformation("1")
    };
    assert_eq!(
        assert_code(
            h.act("PutMetricFilter", filter("f", "ERROR", dimensions))
                .await,
            "InvalidParameterException"
        ),
        "The specified filter pattern does not support dimensions"
    );
    assert_code(
        h.act(
            "PutMetricFilter",
            filter("f", "{ $.a = ", transformation("1")),
        )
        .await,
        "InvalidParameterException",
    );
    assert_code(
        h.act(
            "PutMetricFilter",
            filter("f", "ERROR", transformation("$.a")),
        )
        .await,
        "InvalidParameterException",
    );
    for i in 0..100 {
        h.act(
            "PutMetricFilter",
            filter(&format!("f{i}"), "ERROR", transformation("1")),
        )
        .await
        .unwrap();
    }
    assert_code(
        h.act(
            "PutMetricFilter",
            filter("one-more", "ERROR", transformation("1")),
        )
        .await,
        "LimitExceededException",
    );
    // Replacing an existing filter is not a new one.
    h.act("PutMetricFilter", filter("f0", "WARN", transformation("1")))
        .await
        .unwrap();
}

#[tokio::test]
async fn test_metric_filter_shows_extracted_values() {
    let h = Harness::new().await;
    let response: TestMetricFilterResponse = h
        .call(
            "TestMetricFilter",
            TestMetricFilterRequest {
                filter_pattern: "[ip, user, status = 4*, bytes]".to_owned(),
                log_event_messages: vec![
                    "10.0.0.1 ana 404 12".to_owned(),
                    "10.0.0.2 bob 200 7".to_owned(),
                    "10.0.0.3 eve 403 9".to_owned(),
                ],
            },
        )
        .await
        .unwrap();
    let matches = response.matches.unwrap();
    assert_eq!(matches.len(), 2);
    assert_eq!(matches[0].event_number, Some(1));
    assert_eq!(matches[1].event_number, Some(3));
    let values = matches[1].extracted_values.clone().unwrap();
    assert_eq!(values.get("$status").map(String::as_str), Some("403"));
    assert_eq!(values.get("$ip").map(String::as_str), Some("10.0.0.3"));
}

#[tokio::test]
async fn metric_data_from_a_batch() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let latency = MetricTransformation {
        metric_name: "Latency".to_owned(),
        dimensions: Some(BTreeMap::from([(
            "Service".to_owned(),
            "$.service".to_owned(),
        )])),
        unit: Some(StandardUnit::Milliseconds),
        ..transformation("$.ms")
    };
    h.act(
        "PutMetricFilter",
        filter("latency", "{ $.ms > 0 }", latency),
    )
    .await
    .unwrap();
    let errors = MetricTransformation {
        default_value: Some(0.0),
        ..transformation("1")
    };
    h.act("PutMetricFilter", filter("errors", "ERROR", errors))
        .await
        .unwrap();
    let batch = input_events(&[
        (START, r#"{"service": "api", "ms": 120}"#),
        (START + 1, "ERROR boom"),
    ]);
    let data = h
        .logs()
        .metric_data("000000000000", "us-east-1", "g", &batch)
        .await
        .unwrap();
    let point = |name: &str,
                 value: f64,
                 timestamp: i64,
                 dimensions: &[(&str, &str)],
                 unit: Option<&str>| MetricDatum {
        namespace: "App".to_owned(),
        metric_name: name.to_owned(),
        value,
        unit: unit.map(str::to_owned),
        dimensions: dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        timestamp,
    };
    assert_eq!(
        data,
        [
            point("Errors", 0.0, START, &[], None),
            point("Errors", 1.0, START + 1, &[], None),
            point(
                "Latency",
                120.0,
                START,
                &[("Service", "api")],
                Some("Milliseconds")
            ),
        ]
    );
}
