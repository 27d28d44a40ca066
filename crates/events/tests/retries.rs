//! Retries and dead letters, driven by a manual clock: a failed invocation is tried again after
//! its backoff, until its retry policy runs out, then goes to the dead-letter log group; a
//! failure that is not retried goes there at once. And delivery survives a restart: an event
//! accepted before the process stopped, or a retry still waiting, is delivered by the next run
//! over the same data directory.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use palisade_core::ServiceError;
use palisade_core::service::BoxFuture;
use palisade_events::{LogEvent, LogGroups};
use palisade_model_events::types::Target;
use serde_json::{Value, json};
use support::*;
use tempfile::TempDir;
use tokio::sync::mpsc;

const FLAKY: &str = "arn:aws:logs:us-east-1:000000000000:log-group:/events/flaky";

fn server_error() -> ServiceError {
    ServiceError::internal("the log store is unavailable")
}

/// The dead letter the recorder saw, as JSON.
fn letter(written: &Written) -> Value {
    assert_eq!(written.group, "/events/dlq");
    serde_json::from_str(&written.message).unwrap()
}

#[tokio::test]
async fn failed_invocations_are_retried_with_backoff_until_they_succeed() {
    let mut h = Harness::new().await;
    h.logs
        .fail("/events/flaky", [server_error(), server_error()]);
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("flaky", FLAKY)],
    )
    .await;
    let id = h.put_event(None, json!({"order": 7})).await;

    let first = h.next_append().await;
    assert!(!first.accepted);
    // The first retry comes within a second (less jitter), the second within two more.
    h.clock.advance(Duration::from_secs(1));
    assert!(!h.next_append().await.accepted);
    h.clock.advance(Duration::from_secs(2));
    let delivered = h.next_append().await;
    assert!(delivered.accepted);
    assert_eq!(delivered.stream, id);
    assert_eq!(
        serde_json::from_str::<Value>(&delivered.message).unwrap()["detail"],
        json!({"order": 7})
    );
    let stats = h.events.delivery_stats();
    assert_eq!(stats.invocations, 3);
    assert_eq!(stats.failed_invocations, 2);
    assert_eq!(stats.retry_invocation_attempts, 2);
    assert_eq!(stats.invocations_sent_to_dlq, 0);
}

#[tokio::test]
async fn exhausted_attempts_go_to_the_dead_letter_log_group() {
    let mut h = Harness::new().await;
    h.logs
        .fail("/events/flaky", [server_error(), server_error()]);
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![retried_target("flaky", FLAKY, 1, 3600)],
    )
    .await;
    let id = h.put_event(None, json!({"order": 7})).await;

    assert!(!h.next_append().await.accepted);
    h.clock.advance(Duration::from_secs(1));
    assert!(!h.next_append().await.accepted, "the one retry");
    let dead = h.next_append().await;
    assert!(dead.accepted);
    assert_eq!(dead.stream, id);
    let letter = letter(&dead);
    assert_eq!(
        letter["RULE_ARN"],
        "arn:aws:events:us-east-1:000000000000:rule/orders"
    );
    assert_eq!(letter["TARGET_ARN"], FLAKY);
    assert_eq!(letter["ERROR_CODE"], "INTERNAL_ERROR");
    assert_eq!(letter["ERROR_MESSAGE"], "the log store is unavailable");
    assert_eq!(letter["RETRY_ATTEMPTS"], "1");
    assert_eq!(letter["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    assert_eq!(letter["event"]["id"], id.as_str());
    assert_eq!(letter["event"]["detail"], json!({"order": 7}));
    let stats = h
        .stats_once(|stats| stats.invocations_sent_to_dlq == 1)
        .await;
    assert_eq!(stats.failed_invocations, 2);
}

#[tokio::test]
async fn retries_stop_at_the_maximum_event_age() {
    let mut h = Harness::new().await;
    h.logs.fail(
        "/events/flaky",
        std::iter::repeat_with(server_error).take(10),
    );
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![retried_target("flaky", FLAKY, 185, 60)],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    assert!(!h.next_append().await.accepted);
    // The first retry runs late, at 59.5 s; the next would fall past the minute.
    h.clock.advance(Duration::from_millis(59_500));
    assert!(!h.next_append().await.accepted);
    let letter = letter(&h.next_append().await);
    assert_eq!(
        letter["EXHAUSTED_RETRY_CONDITION"],
        "MaximumEventAgeInSeconds"
    );
    assert_eq!(letter["RETRY_ATTEMPTS"], "1");
}

#[tokio::test]
async fn failures_that_are_not_retried_go_to_the_dead_letters_at_once() {
    let mut h = Harness::new().await;
    h.logs.fail("/events/flaky", [missing_group()]);
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![
            retried_target("a-flaky", FLAKY, 185, 86_400),
            retried_target(
                "b-lambda",
                "arn:aws:lambda:us-east-1:000000000000:function:f",
                185,
                86_400,
            ),
        ],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    assert!(!h.next_append().await.accepted);
    let missing = letter(&h.next_append().await);
    assert_eq!(missing["ERROR_CODE"], "NO_RESOURCE");
    assert_eq!(missing["RETRY_ATTEMPTS"], "0");
    assert!(missing.get("EXHAUSTED_RETRY_CONDITION").is_none());
    let unsupported = letter(&h.next_append().await);
    assert_eq!(
        unsupported["TARGET_ARN"],
        "arn:aws:lambda:us-east-1:000000000000:function:f"
    );
    assert_eq!(unsupported["ERROR_CODE"], "NO_RESOURCE");
    assert_eq!(h.events.delivery_stats().retry_invocation_attempts, 0);
}

#[tokio::test]
async fn a_target_without_retries_or_dead_letters_drops_the_event() {
    let mut h = Harness::new().await;
    h.logs.fail("/events/flaky", [server_error()]);
    let no_retries = Target {
        dead_letter_config: None,
        ..retried_target("flaky", FLAKY, 0, 60)
    };
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![no_retries, target("log", LOG_GROUP)],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    assert!(!h.next_append().await.accepted);
    let next = h.next_append().await;
    assert_eq!(next.group, "/events/all", "no dead letter, no retry");
    let stats = h.events.delivery_stats();
    assert_eq!(stats.invocations_sent_to_dlq, 0);
    assert_eq!(stats.invocations_failed_to_be_sent_to_dlq, 0);
}

/// Log groups whose appends never finish: the event's first round never ends.
struct Hanging(mpsc::UnboundedSender<()>);

impl LogGroups for Hanging {
    fn append<'a>(&'a self, _event: LogEvent<'a>) -> BoxFuture<'a, Result<(), ServiceError>> {
        let _ = self.0.send(());
        Box::pin(std::future::pending())
    }
}

#[test]
fn accepted_events_are_delivered_after_a_restart() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().to_owned();
    let id = Arc::new(std::sync::Mutex::new(String::new()));

    let first_id = Arc::clone(&id);
    let first_path = path.clone();
    in_a_process(move || async move {
        let (entered, mut entries) = mpsc::unbounded_channel();
        let h = Harness::writing_to(&first_path, Some(Arc::new(Hanging(entered)))).await;
        h.rule_with_targets(
            None,
            "orders",
            r#"{"source": ["com.example.orders"]}"#,
            vec![target("log", LOG_GROUP)],
        )
        .await;
        *first_id.lock().unwrap() = h.put_event(None, json!({"order": 7})).await;
        tokio::time::timeout(PATIENCE, entries.recv())
            .await
            .expect("the delivery started");
    });

    let second_id = Arc::clone(&id);
    in_a_process(move || async move {
        let mut h = Harness::over(&path).await;
        let written = h.next_written().await;
        assert_eq!(written.stream, *second_id.lock().unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(&written.message).unwrap()["detail"],
            json!({"order": 7})
        );
    });
}

#[test]
fn waiting_retries_are_made_after_a_restart() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().to_owned();

    let first_path = path.clone();
    in_a_process(move || async move {
        let mut h = Harness::over(&first_path).await;
        h.logs.fail(
            "/events/flaky",
            std::iter::repeat_with(server_error).take(10),
        );
        h.rule_with_targets(
            None,
            "orders",
            r#"{"source": ["com.example.orders"]}"#,
            vec![target("flaky", FLAKY)],
        )
        .await;
        h.put_event(None, json!({"order": 7})).await;
        assert!(!h.next_append().await.accepted);
        // A retry runs only once it is durable: seeing it means the store holds it.
        h.clock.advance(Duration::from_secs(1));
        assert!(!h.next_append().await.accepted);
    });

    in_a_process(move || async move {
        let mut h = Harness::over(&path).await;
        // The new run's clock starts where the first began; the retry waits for its time.
        h.clock.advance(Duration::from_secs(10));
        let written = h.next_written().await;
        assert_eq!(written.group, "/events/flaky");
        assert!(h.events.delivery_stats().retry_invocation_attempts >= 1);
    });
}
