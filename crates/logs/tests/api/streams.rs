//! Log streams: creation, deletion, and listing in name or last-event order.

use palisade_model_logs::types::*;

use crate::common::*;

async fn describe(h: &Harness, input: DescribeLogStreamsRequest) -> Vec<String> {
    let response: DescribeLogStreamsResponse = h.call("DescribeLogStreams", input).await.unwrap();
    response
        .log_streams
        .unwrap()
        .into_iter()
        .filter_map(|stream| stream.log_stream_name)
        .collect()
}

#[tokio::test]
async fn streams_are_created_once_in_existing_groups() {
    let h = Harness::new().await;
    let orphan = h
        .act(
            "CreateLogStream",
            CreateLogStreamRequest {
                log_group_name: "g".to_owned(),
                log_stream_name: "s".to_owned(),
            },
        )
        .await;
    assert_code(orphan, "ResourceNotFoundException");
    h.create_group("g").await;
    h.create_stream("g", "s").await;
    let again = h
        .act(
            "CreateLogStream",
            CreateLogStreamRequest {
                log_group_name: "g".to_owned(),
                log_stream_name: "s".to_owned(),
            },
        )
        .await;
    assert_eq!(
        assert_code(again, "ResourceAlreadyExistsException"),
        "The specified log stream already exists"
    );
    h.act(
        "DeleteLogStream",
        DeleteLogStreamRequest {
            log_group_name: "g".to_owned(),
            log_stream_name: "s".to_owned(),
        },
    )
    .await
    .unwrap();
    let gone = h
        .act(
            "DeleteLogStream",
            DeleteLogStreamRequest {
                log_group_name: "g".to_owned(),
                log_stream_name: "s".to_owned(),
            },
        )
        .await;
    assert_eq!(
        assert_code(gone, "ResourceNotFoundException"),
        "The specified log stream does not exist."
    );
}

#[tokio::test]
async fn describe_orders_filters_and_pages() {
    let h = Harness::new().await;
    h.create_group("g").await;
    for (stream, at) in [("b", 3), ("a", 1), ("c", 2), ("x/1", 5)] {
        h.create_stream("g", stream).await;
        h.put("g", stream, &[(START + at, "event")]).await.unwrap();
    }
    let all = describe(
        &h,
        DescribeLogStreamsRequest {
            log_group_name: Some("g".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all, ["a", "b", "c", "x/1"]);
    let by_time = describe(
        &h,
        DescribeLogStreamsRequest {
            log_group_name: Some("g".to_owned()),
            order_by: Some(OrderBy::LastEventTime),
            descending: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_time, ["x/1", "b", "c", "a"]);
    let prefixed = describe(
        &h,
        DescribeLogStreamsRequest {
            log_group_identifier: Some(
                "arn:aws:logs:us-east-1:000000000000:log-group:g".to_owned(),
            ),
            log_stream_name_prefix: Some("x/".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(prefixed, ["x/1"]);
    let refused = h
        .call::<DescribeLogStreamsResponse>(
            "DescribeLogStreams",
            DescribeLogStreamsRequest {
                log_group_name: Some("g".to_owned()),
                log_stream_name_prefix: Some("x".to_owned()),
                order_by: Some(OrderBy::LastEventTime),
                ..Default::default()
            },
        )
        .await;
    assert_code(refused, "InvalidParameterException");

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page: DescribeLogStreamsResponse = h
            .call(
                "DescribeLogStreams",
                DescribeLogStreamsRequest {
                    log_group_name: Some("g".to_owned()),
                    order_by: Some(OrderBy::LastEventTime),
                    limit: Some(3),
                    next_token: token,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(
            page.log_streams
                .unwrap()
                .into_iter()
                .filter_map(|s| s.log_stream_name),
        );
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["a", "c", "b", "x/1"]);
}

#[tokio::test]
async fn stream_reports_its_event_times() {
    let h = Harness::new().await;
    h.create_group("g").await;
    h.create_stream("g", "s").await;
    h.advance(MINUTE);
    h.put("g", "s", &[(START, "one"), (START + 10, "two")])
        .await
        .unwrap();
    let response: DescribeLogStreamsResponse = h
        .call(
            "DescribeLogStreams",
            DescribeLogStreamsRequest {
                log_group_name: Some("g".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stream = &response.log_streams.unwrap()[0];
    assert_eq!(stream.creation_time, Some(START));
    assert_eq!(stream.first_event_timestamp, Some(START));
    assert_eq!(stream.last_event_timestamp, Some(START + 10));
    assert_eq!(stream.last_ingestion_time, Some(START + MINUTE));
    assert_eq!(
        stream.arn.as_deref(),
        Some("arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:s")
    );
}
