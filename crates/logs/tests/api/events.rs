//! Log events: `PutLogEvents` batch rules, `GetLogEvents` tokens, `FilterLogEvents`.

use palisade_model_logs::types::*;

use crate::common::*;

async fn setup() -> Harness {
    let h = Harness::new().await;
    h.create_group("g").await;
    h.create_stream("g", "s").await;
    h
}

async fn get(h: &Harness, input: GetLogEventsRequest) -> GetLogEventsResponse {
    h.call(
        "GetLogEvents",
        GetLogEventsRequest {
            log_group_name: Some("g".to_owned()),
            log_stream_name: "s".to_owned(),
            ..input
        },
    )
    .await
    .unwrap()
}

fn texts(response: &GetLogEventsResponse) -> Vec<String> {
    messages(response.events.iter().flatten().map(|event| &event.message))
}

#[tokio::test]
async fn batches_follow_aws_rules() {
    let h = setup().await;
    let unordered = h.put("g", "s", &[(START, "b"), (START - 1, "a")]).await;
    assert_eq!(
        assert_code(unordered, "InvalidParameterException"),
        "Log events in a single PutLogEvents request must be in chronological order."
    );
    let long = h
        .put("g", "s", &[(START - 25 * HOUR, "a"), (START, "b")])
        .await;
    assert_code(long, "InvalidParameterException");
    let big = "x".repeat(1_048_576 - 26);
    h.put("g", "s", &[(START, &big)]).await.unwrap();
    let too_big = "x".repeat(1_048_576 - 25);
    assert_code(
        h.put("g", "s", &[(START, &too_big)]).await,
        "InvalidParameterException",
    );
    let none = h.put("g", "nope", &[(START, "a")]).await;
    assert_eq!(
        assert_code(none, "ResourceNotFoundException"),
        "The specified log stream does not exist."
    );
    // Sequence tokens are accepted and ignored.
    let response: PutLogEventsResponse = h
        .call(
            "PutLogEvents",
            PutLogEventsRequest {
                log_group_name: "g".to_owned(),
                log_stream_name: "s".to_owned(),
                log_events: input_events(&[(START, "c")]),
                sequence_token: Some("stale".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(response.next_sequence_token.is_some());
    assert_eq!(response.rejected_log_events_info, None);
}

#[tokio::test]
async fn too_old_too_new_and_expired_events_are_rejected() {
    let h = setup().await;
    let response = h
        .put(
            "g",
            "s",
            &[
                (START - 15 * DAY, "old"),
                (START - 14 * DAY - 1, "old too"),
                (START - 9 * HOUR, "fine"),
                (START + 2 * HOUR, "fine too"),
                (START + 2 * HOUR + 1, "new"),
            ],
        )
        .await;
    assert_code(response, "InvalidParameterException"); // spans more than 24 hours
    let response = h
        .put(
            "g",
            "s",
            &[
                (START - 14 * DAY - 2, "old"),
                (START - 14 * DAY - 1, "old too"),
            ],
        )
        .await
        .unwrap();
    let rejected = response.rejected_log_events_info.unwrap();
    assert_eq!(rejected.too_old_log_event_end_index, Some(1));
    assert_eq!(rejected.too_new_log_event_start_index, None);
    let response = h
        .put("g", "s", &[(START, "fine"), (START + 2 * HOUR + 1, "new")])
        .await
        .unwrap();
    assert_eq!(
        response
            .rejected_log_events_info
            .unwrap()
            .too_new_log_event_start_index,
        Some(1)
    );
    h.act(
        "PutRetentionPolicy",
        PutRetentionPolicyRequest {
            log_group_name: "g".to_owned(),
            retention_in_days: 1,
        },
    )
    .await
    .unwrap();
    let response = h
        .put(
            "g",
            "s",
            &[(START - 2 * DAY, "expired"), (START - 2 * DAY + 1, "too")],
        )
        .await
        .unwrap();
    assert_eq!(
        response
            .rejected_log_events_info
            .unwrap()
            .expired_log_event_end_index,
        Some(1)
    );
    h.put("g", "s", &[(START, "kept")]).await.unwrap();
    let all = get(&h, GetLogEventsRequest::default()).await;
    assert_eq!(texts(&all), ["fine", "kept"]);
}

#[tokio::test]
async fn get_log_events_tokens_walk_both_ways() {
    let h = setup().await;
    let events: Vec<(i64, String)> = (0..5).map(|i| (START + i, format!("e{i}"))).collect();
    let batch: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
    h.put("g", "s", &batch).await.unwrap();

    // From the tail by default.
    let tail = get(
        &h,
        GetLogEventsRequest {
            limit: Some(2),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&tail), ["e3", "e4"]);
    let back = get(
        &h,
        GetLogEventsRequest {
            limit: Some(2),
            next_token: tail.next_backward_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&back), ["e1", "e2"]);

    // From the head, forward until nothing is new: then the same token comes back.
    let head = get(
        &h,
        GetLogEventsRequest {
            limit: Some(3),
            start_from_head: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&head), ["e0", "e1", "e2"]);
    let rest = get(
        &h,
        GetLogEventsRequest {
            limit: Some(3),
            next_token: head.next_forward_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&rest), ["e3", "e4"]);
    let end = get(
        &h,
        GetLogEventsRequest {
            next_token: rest.next_forward_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&end), Vec::<String>::new());
    assert_eq!(end.next_forward_token, rest.next_forward_token);
    h.put("g", "s", &[(START + 9, "later")]).await.unwrap();
    let newer = get(
        &h,
        GetLogEventsRequest {
            next_token: end.next_forward_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&newer), ["later"]);

    // A time range: start inclusive, end exclusive.
    let range = get(
        &h,
        GetLogEventsRequest {
            start_time: Some(START + 1),
            end_time: Some(START + 3),
            start_from_head: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(texts(&range), ["e1", "e2"]);
    let bad = h
        .call::<GetLogEventsResponse>(
            "GetLogEvents",
            GetLogEventsRequest {
                log_group_name: Some("g".to_owned()),
                log_stream_name: "s".to_owned(),
                next_token: Some("x/123".to_owned()),
                ..Default::default()
            },
        )
        .await;
    assert_code(bad, "InvalidParameterException");
}

/// Events that share a timestamp are stored together, one entry per batch and timestamp; pages
/// start and end inside such entries, and entries at one timestamp from two batches keep their
/// ingestion order.
#[tokio::test]
async fn pages_split_events_stored_together() {
    let h = setup().await;
    let first: Vec<(i64, &str)> = ["a0", "a1", "a2", "a3", "a4"]
        .into_iter()
        .map(|message| (START, message))
        .chain(
            ["b0", "b1", "b2"]
                .into_iter()
                .map(|message| (START + 1, message)),
        )
        .collect();
    h.put("g", "s", &first).await.unwrap();
    h.put("g", "s", &[(START, "c0"), (START, "c1")])
        .await
        .unwrap();
    let in_order = ["a0", "a1", "a2", "a3", "a4", "c0", "c1", "b0", "b1", "b2"];

    let mut forward = Vec::new();
    let mut request = GetLogEventsRequest {
        limit: Some(3),
        start_from_head: Some(true),
        ..Default::default()
    };
    loop {
        let page = get(&h, request.clone()).await;
        if page.events.as_ref().is_none_or(Vec::is_empty) {
            break;
        }
        forward.push(texts(&page));
        request.next_token = page.next_forward_token;
    }
    assert_eq!(forward.concat(), in_order);
    assert_eq!(forward[1], ["a3", "a4", "c0"]);

    let mut backward = Vec::new();
    let mut request = GetLogEventsRequest {
        limit: Some(3),
        ..Default::default()
    };
    loop {
        let page = get(&h, request.clone()).await;
        if page.events.as_ref().is_none_or(Vec::is_empty) {
            break;
        }
        backward.insert(0, texts(&page));
        request.next_token = page.next_backward_token;
    }
    assert_eq!(backward.concat(), in_order);
    assert_eq!(backward[2], ["a4", "c0", "c1"]);

    let mut filtered = Vec::new();
    let mut request = FilterLogEventsRequest {
        log_group_name: Some("g".to_owned()),
        limit: Some(4),
        ..Default::default()
    };
    loop {
        let page = h.filter(request.clone()).await.unwrap();
        filtered.push(messages(page.events.iter().flatten().map(|e| &e.message)));
        match page.next_token {
            Some(token) => request.next_token = Some(token),
            None => break,
        }
    }
    assert_eq!(filtered.concat(), in_order);
    assert_eq!(filtered[1], ["a4", "c0", "c1", "b0"]);
}

#[tokio::test]
async fn filter_log_events_across_streams() {
    let h = setup().await;
    h.create_stream("g", "t").await;
    h.create_stream("g", "other").await;
    h.put(
        "g",
        "s",
        &[
            (START, "ERROR one"),
            (START + 2, r#"{"level": "warn", "ms": 900}"#),
        ],
    )
    .await
    .unwrap();
    h.put(
        "g",
        "t",
        &[(START + 1, "INFO two"), (START + 3, "ERROR three")],
    )
    .await
    .unwrap();
    h.put("g", "other", &[(START + 4, "ERROR four")])
        .await
        .unwrap();
    let filter = |pattern: &str| FilterLogEventsRequest {
        log_group_name: Some("g".to_owned()),
        filter_pattern: Some(pattern.to_owned()),
        ..Default::default()
    };
    let found = h.filter(filter("ERROR")).await.unwrap();
    assert_eq!(
        messages(found.events.iter().flatten().map(|e| &e.message)),
        ["ERROR one", "ERROR three", "ERROR four"]
    );
    assert_eq!(found.searched_log_streams, Some(vec![]));
    let event = &found.events.unwrap()[1];
    assert_eq!(event.log_stream_name.as_deref(), Some("t"));
    assert_eq!(event.event_id.as_ref().map(String::len), Some(56));

    let json = h.filter(filter("{ $.ms > 500 }")).await.unwrap();
    assert_eq!(json.events.unwrap().len(), 1);
    let named = h
        .filter(FilterLogEventsRequest {
            log_stream_names: Some(vec!["t".to_owned()]),
            start_time: Some(START + 2),
            end_time: Some(START + 3),
            ..filter("")
        })
        .await
        .unwrap();
    assert_eq!(
        messages(named.events.iter().flatten().map(|e| &e.message)),
        ["ERROR three"]
    );
    let prefixed = h
        .filter(FilterLogEventsRequest {
            log_stream_name_prefix: Some("o".to_owned()),
            ..filter("")
        })
        .await
        .unwrap();
    assert_eq!(prefixed.events.unwrap().len(), 1);

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .filter(FilterLogEventsRequest {
                limit: Some(2),
                next_token: token,
                ..filter("")
            })
            .await
            .unwrap();
        seen.extend(messages(page.events.iter().flatten().map(|e| &e.message)));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[1], "INFO two");

    let invalid = h.filter(filter("{ $.a = ")).await;
    assert!(
        assert_code(invalid, "InvalidParameterException").starts_with("Invalid filter pattern")
    );
}

#[tokio::test]
async fn append_events_creates_its_stream_and_refuses_what_put_would() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let append = |stream: &'static str, timestamp: i64, message: &'static str| {
        h.logs().append_events(
            "000000000000",
            "us-east-1",
            "g",
            stream,
            vec![InputLogEvent {
                timestamp,
                message: message.to_owned(),
            }],
        )
    };
    append("event-1", START, "first").await.unwrap();
    append("event-1", START + 1, "second").await.unwrap();
    let response: GetLogEventsResponse = h
        .call(
            "GetLogEvents",
            GetLogEventsRequest {
                log_group_name: Some("g".to_owned()),
                log_stream_name: "event-1".to_owned(),
                start_from_head: Some(true),
                ..GetLogEventsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(texts(&response), ["first", "second"]);
    assert_code(
        append("event-2", START - 15 * DAY, "too old").await,
        "InvalidParameterException",
    );
    let missing = h
        .logs()
        .append_events(
            "000000000000",
            "us-east-1",
            "nope",
            "s",
            vec![InputLogEvent {
                timestamp: START,
                message: "lost".to_owned(),
            }],
        )
        .await;
    assert_code(missing, "ResourceNotFoundException");
}
