//! EventBridge through the generated trait, over a real store and a manual clock.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use palisade_core::RequestContext;
use palisade_core::clock::ManualClock;
use palisade_events::EventsState;
use palisade_model_events::Events;
use palisade_model_events::types::*;
use serde_json::json;
use support::{START, code, context, open_store, target};
use tempfile::TempDir;

/// EventBridge that accepts events and delivers none.
struct Harness {
    events: EventsState,
    ctx: RequestContext,
    _dir: TempDir,
}

async fn harness() -> Harness {
    let dir = TempDir::new().unwrap();
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
    Harness {
        events: EventsState::new(open_store(dir.path()).await, Arc::new(clock)),
        ctx: context(),
        _dir: dir,
    }
}

fn rule(name: &str, pattern: &str) -> PutRuleRequest {
    PutRuleRequest {
        name: name.to_owned(),
        event_pattern: Some(pattern.to_owned()),
        ..PutRuleRequest::default()
    }
}

#[tokio::test]
async fn buses_default_and_custom() {
    let h = harness().await;
    let default = h
        .events
        .describe_event_bus(&h.ctx, DescribeEventBusRequest::default())
        .await
        .unwrap();
    assert_eq!(default.name.as_deref(), Some("default"));
    assert_eq!(
        default.arn.as_deref(),
        Some("arn:aws:events:us-east-1:000000000000:event-bus/default")
    );

    let created = h
        .events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "orders".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        created.event_bus_arn.as_deref(),
        Some("arn:aws:events:us-east-1:000000000000:event-bus/orders")
    );
    let again = h
        .events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "orders".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&again), "ResourceAlreadyExistsException");

    let listed = h
        .events
        .list_event_buses(&h.ctx, ListEventBusesRequest::default())
        .await
        .unwrap();
    let names: Vec<_> = listed
        .event_buses
        .unwrap()
        .into_iter()
        .filter_map(|bus| bus.name)
        .collect();
    assert_eq!(names, ["default", "orders"]);
    let first = h
        .events
        .list_event_buses(
            &h.ctx,
            ListEventBusesRequest {
                limit: Some(1),
                ..ListEventBusesRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.event_buses.unwrap().len(), 1);
    let rest = h
        .events
        .list_event_buses(
            &h.ctx,
            ListEventBusesRequest {
                next_token: first.next_token,
                ..ListEventBusesRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.event_buses.unwrap()[0].name.as_deref(), Some("orders"));

    let refused = h
        .events
        .delete_event_bus(
            &h.ctx,
            DeleteEventBusRequest {
                name: "default".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.message, "Cannot delete event bus default.");
    h.events
        .delete_event_bus(
            &h.ctx,
            DeleteEventBusRequest {
                name: "orders".to_owned(),
            },
        )
        .await
        .unwrap();
    let gone = h
        .events
        .describe_event_bus(
            &h.ctx,
            DescribeEventBusRequest {
                name: Some("orders".to_owned()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
    assert_eq!(gone.message, "Event bus orders does not exist.");
}

#[tokio::test]
async fn rules_are_validated_listed_and_switched() {
    let h = harness().await;
    let arn = h
        .events
        .put_rule(&h.ctx, rule("ec2-changes", r#"{"source": ["aws.ec2"]}"#))
        .await
        .unwrap()
        .rule_arn
        .unwrap();
    assert_eq!(
        arn,
        "arn:aws:events:us-east-1:000000000000:rule/ec2-changes"
    );

    let invalid = h
        .events
        .put_rule(&h.ctx, rule("bad", r#"{"source": "aws.ec2"}"#))
        .await
        .unwrap_err();
    assert_eq!(code(&invalid), "InvalidEventPatternException");
    assert!(
        invalid
            .message
            .starts_with("Event pattern is not valid. Reason: ")
    );

    let neither = h
        .events
        .put_rule(
            &h.ctx,
            PutRuleRequest {
                name: "empty".to_owned(),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        neither.message,
        "Parameter(s) EventPattern or ScheduleExpression must be specified."
    );

    let bad_schedule = h
        .events
        .put_rule(
            &h.ctx,
            PutRuleRequest {
                name: "tick".to_owned(),
                schedule_expression: Some("rate(1 minutes)".to_owned()),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        bad_schedule.message,
        "Parameter ScheduleExpression is not valid."
    );
    h.events
        .put_rule(
            &h.ctx,
            PutRuleRequest {
                name: "tick".to_owned(),
                schedule_expression: Some("rate(5 minutes)".to_owned()),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap();

    for name in ["ec2-a", "ec2-b", "other"] {
        h.events
            .put_rule(&h.ctx, rule(name, r#"{"source": ["x"]}"#))
            .await
            .unwrap();
    }
    let page = h
        .events
        .list_rules(
            &h.ctx,
            ListRulesRequest {
                name_prefix: Some("ec2-".to_owned()),
                limit: Some(2),
                ..ListRulesRequest::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = page
        .rules
        .unwrap()
        .into_iter()
        .filter_map(|rule| rule.name)
        .collect();
    assert_eq!(names, ["ec2-a", "ec2-b"]);
    let next = h
        .events
        .list_rules(
            &h.ctx,
            ListRulesRequest {
                name_prefix: Some("ec2-".to_owned()),
                next_token: page.next_token,
                ..ListRulesRequest::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = next
        .rules
        .unwrap()
        .into_iter()
        .filter_map(|rule| rule.name)
        .collect();
    assert_eq!(names, ["ec2-changes"]);
    assert!(next.next_token.is_none());

    h.events
        .disable_rule(
            &h.ctx,
            DisableRuleRequest {
                name: "ec2-a".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    let described = h
        .events
        .describe_rule(
            &h.ctx,
            DescribeRuleRequest {
                name: "ec2-a".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(described.state, Some(RuleState::Disabled));
    assert_eq!(described.event_bus_name.as_deref(), Some("default"));

    let missing = h
        .events
        .describe_rule(
            &h.ctx,
            DescribeRuleRequest {
                name: "nope".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        missing.message,
        "Rule nope does not exist on EventBus default."
    );

    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "custom".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    let scheduled_on_custom = h
        .events
        .put_rule(
            &h.ctx,
            PutRuleRequest {
                name: "tick".to_owned(),
                schedule_expression: Some("rate(5 minutes)".to_owned()),
                event_bus_name: Some("custom".to_owned()),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        scheduled_on_custom.message,
        "ScheduleExpression is supported only on the default event bus."
    );
    let on_custom = h
        .events
        .put_rule(
            &h.ctx,
            PutRuleRequest {
                event_bus_name: Some(
                    "arn:aws:events:us-east-1:000000000000:event-bus/custom".to_owned(),
                ),
                ..rule("orders", r#"{"source": ["shop"]}"#)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        on_custom.rule_arn.as_deref(),
        Some("arn:aws:events:us-east-1:000000000000:rule/custom/orders")
    );
}

#[tokio::test]
async fn targets_are_kept_with_their_rule() {
    let h = harness().await;
    h.events
        .put_rule(&h.ctx, rule("r", r#"{"source": ["shop"]}"#))
        .await
        .unwrap();
    let queue = "arn:aws:sqs:us-east-1:000000000000:orders";
    let put = h
        .events
        .put_targets(
            &h.ctx,
            PutTargetsRequest {
                rule: "r".to_owned(),
                event_bus_name: None,
                targets: vec![
                    Target {
                        input: Some(r#"{"fixed": true}"#.to_owned()),
                        ..target("q", queue)
                    },
                    Target {
                        input: Some("{}".to_owned()),
                        input_path: Some("$.detail".to_owned()),
                        ..target("both", queue)
                    },
                ],
            },
        )
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, Some(1));
    assert_eq!(
        put.failed_entries.unwrap()[0].target_id.as_deref(),
        Some("both")
    );

    let listed = h
        .events
        .list_targets_by_rule(
            &h.ctx,
            ListTargetsByRuleRequest {
                rule: "r".to_owned(),
                ..ListTargetsByRuleRequest::default()
            },
        )
        .await
        .unwrap();
    let targets = listed.targets.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].input.as_deref(), Some(r#"{"fixed": true}"#));

    let names = h
        .events
        .list_rule_names_by_target(
            &h.ctx,
            ListRuleNamesByTargetRequest {
                target_arn: queue.to_owned(),
                ..ListRuleNamesByTargetRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names.rule_names.unwrap(), ["r"]);

    let refused = h
        .events
        .delete_rule(
            &h.ctx,
            DeleteRuleRequest {
                name: "r".to_owned(),
                ..DeleteRuleRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.message,
        "Rule can't be deleted since it has targets."
    );

    let too_many = h
        .events
        .put_targets(
            &h.ctx,
            PutTargetsRequest {
                rule: "r".to_owned(),
                event_bus_name: None,
                targets: (0..5).map(|n| target(&format!("t{n}"), queue)).collect(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&too_many), "LimitExceededException");

    h.events
        .remove_targets(
            &h.ctx,
            RemoveTargetsRequest {
                rule: "r".to_owned(),
                ids: vec!["q".to_owned()],
                ..RemoveTargetsRequest::default()
            },
        )
        .await
        .unwrap();
    h.events
        .delete_rule(
            &h.ctx,
            DeleteRuleRequest {
                name: "r".to_owned(),
                ..DeleteRuleRequest::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn events_are_checked_and_matched() {
    let h = harness().await;
    let entry = |source: &str, detail: &str| PutEventsRequestEntry {
        source: Some(source.to_owned()),
        detail_type: Some("Order Placed".to_owned()),
        detail: Some(detail.to_owned()),
        ..PutEventsRequestEntry::default()
    };
    let answer = h
        .events
        .put_events(
            &h.ctx,
            PutEventsRequest {
                entries: vec![
                    entry("shop", r#"{"total": 12}"#),
                    entry("shop", "not json"),
                    entry("aws.ec2", "{}"),
                    PutEventsRequestEntry {
                        source: None,
                        ..entry("shop", "{}")
                    },
                ],
                endpoint_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(answer.failed_entry_count, Some(3));
    let entries = answer.entries.unwrap();
    assert!(entries[0].event_id.is_some());
    assert_eq!(
        entries[1].error_message.as_deref(),
        Some("Detail is malformed.")
    );
    assert_eq!(
        entries[2].error_code.as_deref(),
        Some("NotAuthorizedForSourceException")
    );
    assert_eq!(
        entries[3].error_message.as_deref(),
        Some("Parameter Source is not valid. Reason: Source is a required argument.")
    );

    let big = "x".repeat(200 * 1024);
    let too_big = h
        .events
        .put_events(
            &h.ctx,
            PutEventsRequest {
                entries: vec![
                    entry("shop", &format!(r#"{{"a": "{big}"}}"#)),
                    entry("shop", &format!(r#"{{"b": "{big}"}}"#)),
                ],
                endpoint_id: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        too_big.message,
        "Total size of the entries in the request is over the limit."
    );

    let event = json!({
        "id": "1", "account": "000000000000", "source": "shop", "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "Order Placed",
        "detail": {"total": 12}
    });
    let tested = h
        .events
        .test_event_pattern(
            &h.ctx,
            TestEventPatternRequest {
                event_pattern: r#"{"detail": {"total": [{"numeric": [">", 10]}]}}"#.to_owned(),
                event: event.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(tested.result, Some(true));
    let incomplete = h
        .events
        .test_event_pattern(
            &h.ctx,
            TestEventPatternRequest {
                event_pattern: r#"{"source": ["shop"]}"#.to_owned(),
                event: r#"{"source": "shop"}"#.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(incomplete.message, "Parameter Event is not valid.");

    let queue = "arn:aws:sqs:us-east-1:000000000000:orders";
    h.events
        .put_rule(
            &h.ctx,
            rule(
                "big-orders",
                r#"{"detail": {"total": [{"numeric": [">", 10]}]}}"#,
            ),
        )
        .await
        .unwrap();
    h.events
        .put_rule(
            &h.ctx,
            rule(
                "small-orders",
                r#"{"detail": {"total": [{"numeric": ["<=", 10]}]}}"#,
            ),
        )
        .await
        .unwrap();
    h.events
        .put_targets(
            &h.ctx,
            PutTargetsRequest {
                rule: "big-orders".to_owned(),
                event_bus_name: None,
                targets: vec![target("q", queue)],
            },
        )
        .await
        .unwrap();
    let deliveries = h
        .events
        .matching_targets("000000000000", "us-east-1", "default", &event)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].rule_arn,
        "arn:aws:events:us-east-1:000000000000:rule/big-orders"
    );
    assert_eq!(deliveries[0].targets[0].arn, queue);

    h.events
        .disable_rule(
            &h.ctx,
            DisableRuleRequest {
                name: "big-orders".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    let none = h
        .events
        .matching_targets("000000000000", "us-east-1", "default", &event)
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn wildcard_rules_are_limited_per_bus() {
    let h = harness().await;
    let wildcard = r#"{"detail": {"key": [{"wildcard": "*.png"}]}}"#;
    for n in 0..30 {
        h.events
            .put_rule(&h.ctx, rule(&format!("w{n:02}"), wildcard))
            .await
            .unwrap();
    }
    // Replacing one of the thirty is not a thirty-first.
    h.events
        .put_rule(&h.ctx, rule("w00", wildcard))
        .await
        .unwrap();
    let refused = h
        .events
        .put_rule(&h.ctx, rule("w30", wildcard))
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "LimitExceededException");
    h.events
        .put_rule(&h.ctx, rule("plain", r#"{"source": ["x"]}"#))
        .await
        .unwrap();
}
