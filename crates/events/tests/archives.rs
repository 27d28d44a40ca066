//! Archives and replays: what an archive keeps (its pattern, every way an event reaches a bus,
//! never a replayed event), its counts, retention by the manual clock and deletion; replays of
//! a window of event time with `replay-name`, `FilterArns`, their states and errors, and
//! replays resumed (or their cancellation finished) after a restart.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::value::Timestamp;
use palisade_core::{AccountId, Region};
use palisade_events::EventsState;
use palisade_model_events::Events;
use palisade_model_events::types::*;
use serde_json::{Value, json};
use support::*;
use tempfile::TempDir;

const DEFAULT_BUS: &str = "arn:aws:events:us-east-1:000000000000:event-bus/default";
const OTHER_GROUP: &str = "arn:aws:logs:us-east-1:000000000000:log-group:/events/other";
const HOUR: u64 = 3600;

fn archive_arn(name: &str) -> String {
    format!("arn:aws:events:us-east-1:000000000000:archive/{name}")
}

fn at(seconds: u64) -> Timestamp {
    Timestamp::from_millis(i64::try_from(seconds * 1000).unwrap())
}

async fn create_archive(
    events: &EventsState,
    ctx: &palisade_core::RequestContext,
    name: &str,
    bus_arn: &str,
    pattern: Option<&str>,
) -> CreateArchiveResponse {
    events
        .create_archive(
            ctx,
            CreateArchiveRequest {
                archive_name: name.to_owned(),
                event_source_arn: bus_arn.to_owned(),
                event_pattern: pattern.map(str::to_owned),
                ..CreateArchiveRequest::default()
            },
        )
        .await
        .unwrap()
}

async fn describe_archive(h: &Harness, name: &str) -> DescribeArchiveResponse {
    h.events
        .describe_archive(
            &h.ctx,
            DescribeArchiveRequest {
                archive_name: name.to_owned(),
            },
        )
        .await
        .unwrap()
}

fn replay(name: &str, archive: &str, from: u64, to: u64) -> StartReplayRequest {
    StartReplayRequest {
        replay_name: name.to_owned(),
        event_source_arn: archive_arn(archive),
        event_start_time: at(from),
        event_end_time: at(to),
        destination: ReplayDestination {
            arn: DEFAULT_BUS.to_owned(),
            filter_arns: None,
        },
        ..StartReplayRequest::default()
    }
}

/// The replay `name` once it is in `state` (or as it is after `PATIENCE`, for the caller's
/// assertion to report).
async fn replay_once(
    events: &EventsState,
    name: &str,
    state: ReplayState,
) -> DescribeReplayResponse {
    let ctx = context();
    let describe = || async {
        events
            .describe_replay(
                &ctx,
                DescribeReplayRequest {
                    replay_name: name.to_owned(),
                },
            )
            .await
            .unwrap()
    };
    let wait = async {
        loop {
            let described = describe().await;
            if described.state.as_ref() == Some(&state) {
                return described;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(PATIENCE, wait).await {
        Ok(described) => described,
        Err(_) => describe().await,
    }
}

/// A rule sending the events `put_event` puts to `LOG_GROUP`.
async fn log_orders(h: &Harness) {
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
}

fn message(written: &Written) -> Value {
    serde_json::from_str(&written.message).unwrap()
}

#[tokio::test]
async fn archives_keep_what_their_pattern_matches_and_count_it() {
    let h = Harness::new().await;
    let created = h
        .events
        .create_archive(
            &h.ctx,
            CreateArchiveRequest {
                archive_name: "orders".to_owned(),
                event_source_arn: DEFAULT_BUS.to_owned(),
                description: Some("Placed orders".to_owned()),
                event_pattern: Some(r#"{"detail": {"kind": ["order"]}}"#.to_owned()),
                retention_days: Some(7),
                ..CreateArchiveRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.archive_arn, Some(archive_arn("orders")));
    assert_eq!(created.state, Some(ArchiveState::Enabled));
    assert_eq!(created.creation_time, Some(at(START)));
    create_archive(&h.events, &h.ctx, "all", DEFAULT_BUS, None).await;

    h.put_event(None, json!({"kind": "order", "n": 1})).await;
    h.put_event(None, json!({"kind": "order", "n": 2})).await;
    h.put_event(None, json!({"kind": "refund", "n": 3})).await;

    // PutEvents answers once its entries are durable, archived with them.
    let orders = describe_archive(&h, "orders").await;
    assert_eq!(orders.event_count, Some(2));
    assert_eq!(orders.archive_arn, Some(archive_arn("orders")));
    assert_eq!(orders.event_source_arn.as_deref(), Some(DEFAULT_BUS));
    assert_eq!(orders.description.as_deref(), Some("Placed orders"));
    assert_eq!(
        orders.event_pattern.as_deref(),
        Some(r#"{"detail": {"kind": ["order"]}}"#)
    );
    assert_eq!(orders.retention_days, Some(7));
    assert_eq!(orders.state, Some(ArchiveState::Enabled));
    let all = describe_archive(&h, "all").await;
    assert_eq!(all.event_count, Some(3));
    assert_eq!(all.retention_days, Some(0), "forever");
    let (order_bytes, all_bytes) = (orders.size_bytes.unwrap(), all.size_bytes.unwrap());
    assert!(
        order_bytes > 0 && all_bytes > order_bytes,
        "{order_bytes} {all_bytes}"
    );

    let list = |request: ListArchivesRequest| async {
        let answer = h.events.list_archives(&h.ctx, request).await.unwrap();
        let names: Vec<String> = answer
            .archives
            .unwrap()
            .into_iter()
            .map(|archive| archive.archive_name.unwrap())
            .collect();
        (names, answer.next_token)
    };
    assert_eq!(
        list(ListArchivesRequest::default()).await,
        (vec!["all".to_owned(), "orders".to_owned()], None)
    );
    let (first, token) = list(ListArchivesRequest {
        limit: Some(1),
        ..ListArchivesRequest::default()
    })
    .await;
    assert_eq!(first, ["all"]);
    let (second, token) = list(ListArchivesRequest {
        limit: Some(1),
        next_token: token,
        ..ListArchivesRequest::default()
    })
    .await;
    assert_eq!((second, token), (vec!["orders".to_owned()], None));
    for (request, expected) in [
        (
            ListArchivesRequest {
                name_prefix: Some("ord".to_owned()),
                ..ListArchivesRequest::default()
            },
            vec!["orders"],
        ),
        (
            ListArchivesRequest {
                state: Some(ArchiveState::Enabled),
                ..ListArchivesRequest::default()
            },
            vec!["all", "orders"],
        ),
        (
            ListArchivesRequest {
                state: Some(ArchiveState::Disabled),
                ..ListArchivesRequest::default()
            },
            vec![],
        ),
        (
            ListArchivesRequest {
                event_source_arn: Some(DEFAULT_BUS.to_owned()),
                ..ListArchivesRequest::default()
            },
            vec!["all", "orders"],
        ),
    ] {
        assert_eq!(list(request).await.0, expected);
    }
    let listed = h
        .events
        .list_archives(&h.ctx, ListArchivesRequest::default())
        .await
        .unwrap()
        .archives
        .unwrap();
    assert_eq!(listed[1].event_count, Some(2));

    let updated = h
        .events
        .update_archive(
            &h.ctx,
            UpdateArchiveRequest {
                archive_name: "orders".to_owned(),
                description: Some("Orders and refunds".to_owned()),
                event_pattern: Some(r#"{"detail": {"kind": ["order", "refund"]}}"#.to_owned()),
                retention_days: Some(1),
                ..UpdateArchiveRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.archive_arn, Some(archive_arn("orders")));
    assert_eq!(updated.creation_time, Some(at(START)));
    h.put_event(None, json!({"kind": "refund", "n": 4})).await;
    let orders = describe_archive(&h, "orders").await;
    assert_eq!(
        orders.event_count,
        Some(3),
        "the new pattern applies at once"
    );
    assert_eq!(orders.retention_days, Some(1));
    assert_eq!(orders.description.as_deref(), Some("Orders and refunds"));
}

#[tokio::test]
async fn service_events_and_forwarded_events_are_archived() {
    let mut h = Harness::new().await;
    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "audit".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    let audit_bus = "arn:aws:events:us-east-1:000000000000:event-bus/audit";
    create_archive(&h.events, &h.ctx, "audit", audit_bus, None).await;
    create_archive(
        &h.events,
        &h.ctx,
        "ssm",
        DEFAULT_BUS,
        Some(r#"{"source": ["aws.ssm"]}"#),
    )
    .await;
    h.rule_with_targets(
        None,
        "forward",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("audit", audit_bus)],
    )
    .await;
    h.rule_with_targets(
        Some("audit"),
        "logged",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.rule_with_targets(
        None,
        "ssm",
        r#"{"source": ["aws.ssm"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;

    let id = h.put_event(None, json!({"order": 7})).await;
    // Archived when it became durable on the audit bus, before that bus's rules saw it.
    assert_eq!(h.next_written().await.stream, id);
    assert_eq!(describe_archive(&h, "audit").await.event_count, Some(1));
    assert_eq!(describe_archive(&h, "ssm").await.event_count, Some(0));

    let sink: Arc<dyn EventSink> = Arc::clone(&h.events) as Arc<dyn EventSink>;
    sink.publish(ServiceEvent {
        account: AccountId::local_default(),
        region: Region::parse(REGION).unwrap(),
        source: "aws.ssm".to_owned(),
        detail_type: "Parameter Store Change".to_owned(),
        resources: vec![],
        detail: json!({"name": "/app/db"}).to_string(),
        time: UNIX_EPOCH + Duration::from_secs(START),
    });
    h.next_written().await;
    assert_eq!(describe_archive(&h, "ssm").await.event_count, Some(1));
    assert_eq!(describe_archive(&h, "audit").await.event_count, Some(1));
}

#[tokio::test]
async fn archive_requests_are_checked_as_aws_checks_them() {
    let h = Harness::new().await;
    let create = |name: &str, arn: &str, pattern: Option<&str>| {
        h.events.create_archive(
            &h.ctx,
            CreateArchiveRequest {
                archive_name: name.to_owned(),
                event_source_arn: arn.to_owned(),
                event_pattern: pattern.map(str::to_owned),
                ..CreateArchiveRequest::default()
            },
        )
    };
    create("kept", DEFAULT_BUS, None).await.unwrap();
    let error = create("kept", DEFAULT_BUS, None).await.unwrap_err();
    assert_eq!(code(&error), "ResourceAlreadyExistsException");
    assert_eq!(error.message, "Archive kept already exists.");
    let error = create("p", DEFAULT_BUS, Some(r#"{"source": "not-a-list"}"#))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidEventPatternException");
    assert!(error.message.starts_with("Event pattern is not valid."));
    let error = create(
        "b",
        "arn:aws:events:us-east-1:000000000000:event-bus/missing",
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    assert_eq!(error.message, "Event bus missing does not exist.");
    for arn in [
        "arn:aws:events:us-east-1:000000000000:rule/r",
        "arn:aws:events:eu-west-1:000000000000:event-bus/default",
        "default",
    ] {
        let error = create("b", arn, None).await.unwrap_err();
        assert_eq!(code(&error), "Validation", "{arn}");
        assert_eq!(
            error.message,
            "Parameter EventSourceArn is not valid. Reason: Must contain an event bus ARN."
        );
    }

    let missing = DescribeArchiveRequest {
        archive_name: "missing".to_owned(),
    };
    let error = h
        .events
        .describe_archive(&h.ctx, missing)
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    assert_eq!(error.message, "Archive missing does not exist.");
    let error = h
        .events
        .update_archive(
            &h.ctx,
            UpdateArchiveRequest {
                archive_name: "kept".to_owned(),
                event_pattern: Some("[]".to_owned()),
                ..UpdateArchiveRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidEventPatternException");
    let error = h
        .events
        .delete_archive(
            &h.ctx,
            DeleteArchiveRequest {
                archive_name: "missing".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let error = h
        .events
        .list_archives(
            &h.ctx,
            ListArchivesRequest {
                name_prefix: Some("k".to_owned()),
                state: Some(ArchiveState::Enabled),
                ..ListArchivesRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "Validation");
    assert_eq!(
        error.message,
        "At most one filter is allowed for ListArchives. Use either : State, EventSourceArn, or \
         NamePrefix."
    );
}

#[tokio::test]
async fn a_replay_sends_its_window_again_with_its_name() {
    let mut h = Harness::new().await;
    log_orders(&h).await;
    create_archive(&h.events, &h.ctx, "orders", DEFAULT_BUS, None).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(h.put_event(None, json!({"n": n})).await);
        assert_eq!(h.next_written().await.stream, ids[n]);
        h.clock.advance(Duration::from_secs(HOUR));
    }

    let started = h
        .events
        .start_replay(&h.ctx, replay("again", "orders", START, START + 90 * 60))
        .await
        .unwrap();
    assert_eq!(
        started.replay_arn.as_deref(),
        Some("arn:aws:events:us-east-1:000000000000:replay/again")
    );
    assert_eq!(started.state, Some(ReplayState::Starting));
    assert_eq!(started.replay_start_time, Some(at(START + 3 * HOUR)));

    // The first two events, in time order, each as it was, with the replay's name.
    for (n, id) in ids.iter().take(2).enumerate() {
        let written = h.next_written().await;
        assert_eq!(&written.stream, id);
        let event = message(&written);
        assert_eq!(event["replay-name"], "again");
        assert_eq!(event["detail"], json!({"n": n}));
        assert_eq!(written.timestamp, (START + n as u64 * HOUR) as i64 * 1000);
    }
    let done = replay_once(&h.events, "again", ReplayState::Completed).await;
    assert_eq!(done.state, Some(ReplayState::Completed));
    assert_eq!(done.event_last_replayed_time, Some(at(START + HOUR)));
    assert_eq!(done.event_start_time, Some(at(START)));
    assert_eq!(done.event_end_time, Some(at(START + 90 * 60)));
    assert_eq!(done.replay_start_time, Some(at(START + 3 * HOUR)));
    assert_eq!(done.replay_end_time, Some(at(START + 3 * HOUR)));
    assert_eq!(done.event_source_arn, Some(archive_arn("orders")));
    assert_eq!(
        done.destination,
        Some(ReplayDestination {
            arn: DEFAULT_BUS.to_owned(),
            filter_arns: None
        })
    );
    assert_eq!(
        describe_archive(&h, "orders").await.event_count,
        Some(3),
        "replayed events are not archived again"
    );

    let listed = h
        .events
        .list_replays(&h.ctx, ListReplaysRequest::default())
        .await
        .unwrap()
        .replays
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].replay_name.as_deref(), Some("again"));
    assert_eq!(listed[0].state, Some(ReplayState::Completed));
    let running = h
        .events
        .list_replays(
            &h.ctx,
            ListReplaysRequest {
                state: Some(ReplayState::Running),
                ..ListReplaysRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(running.replays, Some(vec![]));
}

#[tokio::test]
async fn filter_arns_limit_a_replay_to_those_rules() {
    let mut h = Harness::new().await;
    h.rule_with_targets(
        None,
        "first",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.rule_with_targets(
        None,
        "second",
        r#"{"source": ["com.example.orders", "com.example.marker"]}"#,
        vec![target("other", OTHER_GROUP)],
    )
    .await;
    create_archive(&h.events, &h.ctx, "orders", DEFAULT_BUS, None).await;
    h.put_event(None, json!({"n": 1})).await;
    h.next_written().await;
    h.next_written().await;

    h.clock.advance(Duration::from_secs(60));
    let mut request = replay("first-only", "orders", START, START + 60);
    request.destination.filter_arns = Some(vec![
        "arn:aws:events:us-east-1:000000000000:rule/first".to_owned(),
    ]);
    h.events.start_replay(&h.ctx, request).await.unwrap();
    let replayed = h.next_written().await;
    assert_eq!(replayed.group, "/events/all");
    assert_eq!(message(&replayed)["replay-name"], "first-only");
    replay_once(&h.events, "first-only", ReplayState::Completed).await;

    // Events are delivered one at a time: the marker's delivery follows the replayed event's
    // whole round, so a replayed event sent to the second rule would come first.
    h.put_marker("com.example.marker").await;
    let next = h.next_written().await;
    assert_eq!(next.group, "/events/other");
    assert_eq!(message(&next)["source"], "com.example.marker");
}

#[tokio::test]
async fn replay_requests_are_checked_as_aws_checks_them() {
    let mut h = Harness::new().await;
    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "other".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    h.rule_with_targets(
        Some("other"),
        "elsewhere",
        r#"{"source": ["x"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    create_archive(&h.events, &h.ctx, "orders", DEFAULT_BUS, None).await;
    let failing = |request: StartReplayRequest| async {
        let error = h.events.start_replay(&h.ctx, request).await.unwrap_err();
        (code(&error), error.message)
    };
    let validation = |message: &str| ("Validation".to_owned(), message.to_owned());

    let mut request = replay("r", "orders", START, START + 60);
    request.destination.arn = archive_arn("orders");
    assert_eq!(
        failing(request).await,
        validation(
            "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN."
        )
    );
    let mut request = replay("r", "orders", START, START + 60);
    request.destination.arn = "arn:aws:events:us-east-1:000000000000:event-bus/gone".to_owned();
    assert_eq!(
        failing(request).await,
        (
            "ResourceNotFoundException".to_owned(),
            "Event bus gone does not exist.".to_owned()
        )
    );
    assert_eq!(
        failing(replay("r", "missing", START, START + 60)).await,
        validation(
            "Parameter EventSourceArn is not valid. Reason: Archive missing does not exist."
        )
    );
    let mut request = replay("r", "orders", START, START + 60);
    request.destination.arn = "arn:aws:events:us-east-1:000000000000:event-bus/other".to_owned();
    assert_eq!(
        failing(request).await,
        validation(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not \
             permitted."
        )
    );
    assert_eq!(
        failing(replay("r", "orders", START + 60, START)).await,
        validation(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before \
             EventEndTime."
        )
    );
    let mut request = replay("r", "orders", START, START + 60);
    request.destination.filter_arns = Some(vec![
        "arn:aws:events:us-east-1:000000000000:rule/other/elsewhere".to_owned(),
    ]);
    assert_eq!(failing(request).await.0, "Validation");
    let mut request = replay("r", "orders", START, START + 60);
    request.destination.filter_arns = Some(vec![
        "arn:aws:events:us-east-1:000000000000:rule/nope".to_owned(),
    ]);
    assert_eq!(
        failing(request).await,
        (
            "ResourceNotFoundException".to_owned(),
            "Rule nope does not exist on EventBus default.".to_owned()
        )
    );

    h.events
        .start_replay(&h.ctx, replay("done", "orders", START, START + 60))
        .await
        .unwrap();
    assert_eq!(
        failing(replay("done", "orders", START, START + 60)).await,
        (
            "ResourceAlreadyExistsException".to_owned(),
            "Replay done already exists.".to_owned()
        )
    );
    replay_once(&h.events, "done", ReplayState::Completed).await;
    let cancel = |name: &str| {
        h.events.cancel_replay(
            &h.ctx,
            CancelReplayRequest {
                replay_name: name.to_owned(),
            },
        )
    };
    let error = cancel("done").await.unwrap_err();
    assert_eq!(code(&error), "IllegalStatusException");
    assert_eq!(
        error.message,
        "Replay done is not in a valid state for this operation."
    );
    let error = cancel("missing").await.unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    assert_eq!(error.message, "Replay missing does not exist.");
    let error = h
        .events
        .describe_replay(
            &h.ctx,
            DescribeReplayRequest {
                replay_name: "missing".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let error = h
        .events
        .list_replays(
            &h.ctx,
            ListReplaysRequest {
                name_prefix: Some("d".to_owned()),
                event_source_arn: Some(archive_arn("orders")),
                ..ListReplaysRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "Validation");
    assert!(
        error
            .message
            .starts_with("At most one filter is allowed for ListReplays.")
    );
    // Nothing was in the window: no event was sent.
    assert!(h.written.try_recv().is_err());
}

#[tokio::test]
async fn retention_and_deletion_remove_archived_events() {
    let mut h = Harness::new().await;
    log_orders(&h).await;
    h.events
        .create_archive(
            &h.ctx,
            CreateArchiveRequest {
                archive_name: "day".to_owned(),
                event_source_arn: DEFAULT_BUS.to_owned(),
                retention_days: Some(1),
                ..CreateArchiveRequest::default()
            },
        )
        .await
        .unwrap();
    h.put_event(None, json!({"n": 1})).await;
    h.next_written().await;
    h.clock.advance(Duration::from_secs(12 * HOUR));
    let recent = h.put_event(None, json!({"n": 2})).await;
    h.next_written().await;
    assert_eq!(describe_archive(&h, "day").await.event_count, Some(2));

    // A day and an hour after the first event: it is past its retention.
    h.clock.advance(Duration::from_secs(13 * HOUR));
    h.events
        .start_replay(&h.ctx, replay("kept", "day", START, START + 13 * HOUR))
        .await
        .unwrap();
    let replayed = h.next_written().await;
    assert_eq!(
        replayed.stream, recent,
        "what retention removes is not replayed"
    );
    replay_once(&h.events, "kept", ReplayState::Completed).await;

    h.events.sweep_archives().await.unwrap();
    let swept = describe_archive(&h, "day").await;
    assert_eq!(swept.event_count, Some(1));
    assert!(swept.size_bytes.unwrap() > 0);
    // Counts folded into one stay what they were.
    h.events.sweep_archives().await.unwrap();
    assert_eq!(describe_archive(&h, "day").await.event_count, Some(1));

    h.events
        .delete_archive(
            &h.ctx,
            DeleteArchiveRequest {
                archive_name: "day".to_owned(),
            },
        )
        .await
        .unwrap();
    create_archive(&h.events, &h.ctx, "day", DEFAULT_BUS, None).await;
    let again = describe_archive(&h, "day").await;
    assert_eq!((again.event_count, again.size_bytes), (Some(0), Some(0)));
    h.events.sweep_archives().await.unwrap();
}

#[test]
fn replays_resume_after_a_restart() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().to_owned();
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));

    let archived = Arc::clone(&ids);
    let first_path = path.clone();
    in_a_process(move || async move {
        let mut h = Harness::over(&first_path).await;
        log_orders(&h).await;
        create_archive(&h.events, &h.ctx, "orders", DEFAULT_BUS, None).await;
        for n in 0..2 {
            let id = h.put_event(None, json!({"n": n})).await;
            assert_eq!(h.next_written().await.stream, id);
            archived.lock().unwrap().push(id);
        }
    });

    // A process that stops before its replays ran: one waits to start, one to be cancelled.
    let second_path = path.clone();
    in_a_process(move || async move {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
        let events = EventsState::new(open_store(&second_path).await, Arc::new(clock));
        let ctx = context();
        for name in ["resumed", "stopped"] {
            let started = events
                .start_replay(&ctx, replay(name, "orders", START, START + 60))
                .await
                .unwrap();
            assert_eq!(started.state, Some(ReplayState::Starting));
        }
        let cancelled = events
            .cancel_replay(
                &ctx,
                CancelReplayRequest {
                    replay_name: "stopped".to_owned(),
                },
            )
            .await
            .unwrap();
        assert_eq!(cancelled.state, Some(ReplayState::Cancelling));
    });

    in_a_process(move || async move {
        let mut h = Harness::over(&path).await;
        let mut sent: Vec<String> = ids.lock().unwrap().clone();
        let mut replayed = Vec::new();
        while replayed.len() < sent.len() {
            let written = h.next_written().await;
            // The first process may have stopped before an original event's round ended: it
            // is delivered again, at least once.
            match &message(&written)["replay-name"] {
                Value::Null => assert!(sent.contains(&written.stream)),
                name => {
                    assert_eq!(name, "resumed");
                    replayed.push(written.stream);
                }
            }
        }
        // Events of the same time are replayed in no particular order.
        sent.sort();
        replayed.sort();
        assert_eq!(replayed, sent);
        let resumed = replay_once(&h.events, "resumed", ReplayState::Completed).await;
        assert_eq!(resumed.state, Some(ReplayState::Completed));
        let stopped = replay_once(&h.events, "stopped", ReplayState::Cancelled).await;
        assert_eq!(stopped.state, Some(ReplayState::Cancelled));
        assert!(stopped.replay_end_time.is_some());
        assert_eq!(stopped.event_last_replayed_time, None);
    });
}
