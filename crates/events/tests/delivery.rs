//! Delivery to targets: the envelope events get, input transformation on the way to a log
//! group, service events on the default bus, whether that bus has rules at all, and bus-to-bus
//! forwarding with its one hop.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::{AccountId, Region};
use palisade_model_events::Events;
use palisade_model_events::types::*;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn put_events_reach_a_log_group_as_a_full_envelope() {
    let mut h = Harness::new().await;
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    let id = h.put_event(None, json!({"order": 7, "total": 12.5})).await;

    let written = h.next_written().await;
    assert_eq!(written.group, "/events/all");
    assert_eq!(written.stream, id, "the stream is named after the event id");
    assert_eq!(written.timestamp, i64::try_from(START).unwrap() * 1000);
    let event: Value = serde_json::from_str(&written.message).unwrap();
    assert_eq!(
        event,
        json!({
            "version": "0",
            "id": id,
            "detail-type": "Order Placed",
            "source": "com.example.orders",
            "account": ACCOUNT,
            "time": "2024-01-01T00:00:00Z",
            "region": REGION,
            "resources": ["arn:aws:example:order/1"],
            "detail": {"order": 7, "total": 12.5},
        })
    );
    assert!(uuid::Uuid::parse_str(&id).is_ok());
}

#[tokio::test]
async fn service_events_go_to_the_default_bus() {
    let mut h = Harness::new().await;
    h.rule_with_targets(
        None,
        "ssm-changes",
        r#"{"source": ["aws.ssm"], "detail-type": ["Parameter Store Change"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    let parameter = "arn:aws:ssm:us-east-1:000000000000:parameter/app/db";
    let sink: Arc<dyn EventSink> = Arc::clone(&h.events) as Arc<dyn EventSink>;
    sink.publish(ServiceEvent {
        account: AccountId::local_default(),
        region: Region::parse(REGION).unwrap(),
        source: "aws.ssm".to_owned(),
        detail_type: "Parameter Store Change".to_owned(),
        resources: vec![parameter.to_owned()],
        detail: json!({"name": "/app/db", "type": "String", "operation": "Create"}).to_string(),
        time: UNIX_EPOCH + Duration::from_secs(START + 5),
    });

    let written = h.next_written().await;
    let event: Value = serde_json::from_str(&written.message).unwrap();
    assert_eq!(event["version"], "0");
    assert_eq!(event["source"], "aws.ssm");
    assert_eq!(event["detail-type"], "Parameter Store Change");
    assert_eq!(event["account"], ACCOUNT);
    assert_eq!(event["region"], REGION);
    assert_eq!(event["time"], "2024-01-01T00:00:05Z");
    assert_eq!(event["resources"], json!([parameter]));
    assert_eq!(event["detail"]["operation"], "Create");
    assert_eq!(written.stream, event["id"].as_str().unwrap());
}

#[tokio::test]
async fn input_transformer_shapes_the_log_event() {
    let mut h = Harness::new().await;
    let transformed = Target {
        input_transformer: Some(InputTransformer {
            input_paths_map: Some(BTreeMap::from([
                ("order".to_owned(), "$.detail.order".to_owned()),
                ("time".to_owned(), "$.time".to_owned()),
            ])),
            input_template:
                r#"{"timestamp": <time>, "message": "order <order> by <aws.events.rule-name>"}"#
                    .to_owned(),
        }),
        ..target("log", LOG_GROUP)
    };
    h.rule_with_targets(
        None,
        "orders",
        r#"{"detail": {"order": [{"numeric": [">", 0]}]}}"#,
        vec![transformed],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    let written = h.next_written().await;
    assert_eq!(written.message, "order 7 by orders");
    assert_eq!(written.timestamp, i64::try_from(START).unwrap() * 1000);
}

#[tokio::test]
async fn input_path_and_constant_input() {
    let mut h = Harness::new().await;
    let path = Target {
        input_path: Some("$.detail".to_owned()),
        ..target("a-path", LOG_GROUP)
    };
    let constant = Target {
        input: Some(r#"{"fixed": true}"#.to_owned()),
        ..target("b-constant", LOG_GROUP)
    };
    h.rule_with_targets(
        None,
        "all",
        r#"{"source": [{"prefix": ""}]}"#,
        vec![path, constant],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    assert_eq!(h.next_written().await.message, r#"{"order":7}"#);
    assert_eq!(h.next_written().await.message, r#"{"fixed": true}"#);
}

#[tokio::test]
async fn disabled_rules_and_unmatched_events_deliver_nothing() {
    let mut h = Harness::new().await;
    h.rule_with_targets(
        None,
        "off",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.events
        .disable_rule(
            &h.ctx,
            DisableRuleRequest {
                name: "off".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    h.rule_with_targets(
        None,
        "other",
        r#"{"source": ["com.example.other"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.rule_with_targets(
        None,
        "marker",
        r#"{"detail": {"marker": [true]}}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;
    // Events are delivered in order: the marker's arrival means the first event was handled.
    h.put_event(None, json!({"marker": true})).await;

    let written = h.next_written().await;
    let event: Value = serde_json::from_str(&written.message).unwrap();
    assert_eq!(event["detail"], json!({"marker": true}));
    assert!(
        h.written.try_recv().is_err(),
        "only the marker was delivered"
    );
}

#[tokio::test]
async fn other_target_kinds_count_as_failed_invocations() {
    let mut h = Harness::new().await;
    h.rule_with_targets(
        None,
        "fan-out",
        r#"{"source": ["com.example.orders"]}"#,
        vec![
            target(
                "a-lambda",
                "arn:aws:lambda:us-east-1:000000000000:function:f",
            ),
            target("b-queue", "arn:aws:sqs:us-east-1:000000000000:orders"),
            target("c-log", LOG_GROUP),
        ],
    )
    .await;
    h.put_event(None, json!({"order": 7})).await;

    // Targets are invoked in id order: by the log group's turn the other two were counted.
    h.next_written().await;
    assert_eq!(h.events.delivery_stats().failed_invocations, 2);
}

#[tokio::test]
async fn bus_to_bus_forwards_once() {
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
    let default_bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    h.rule_with_targets(
        None,
        "to-audit",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("bus", audit_bus)],
    )
    .await;
    // Back to the default bus would be a second hop: it is refused, so nothing loops.
    let transformed = Target {
        input_transformer: Some(InputTransformer {
            input_paths_map: None,
            input_template: r#""<aws.events.rule-arn>""#.to_owned(),
        }),
        ..target("b-log", LOG_GROUP)
    };
    h.rule_with_targets(
        Some("audit"),
        "audit-all",
        r#"{"source": ["com.example.orders"]}"#,
        vec![
            target("a-back", default_bus),
            transformed,
            target("c-log", LOG_GROUP),
        ],
    )
    .await;
    let id = h.put_event(None, json!({"order": 7})).await;

    let rule_arn = h.next_written().await;
    assert_eq!(
        rule_arn.message,
        r#""arn:aws:events:us-east-1:000000000000:rule/audit/audit-all""#
    );
    let forwarded = h.next_written().await;
    let event: Value = serde_json::from_str(&forwarded.message).unwrap();
    assert_eq!(
        event["id"],
        id.as_str(),
        "the event crosses buses unchanged"
    );
    assert_eq!(event["detail"], json!({"order": 7}));
    assert_eq!(forwarded.stream, id);

    // Nothing else arrives: the marker event, queued after the forwarded one, comes next.
    h.rule_with_targets(
        None,
        "marker",
        r#"{"source": ["marker"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    h.put_marker("marker").await;
    let marker: Value = serde_json::from_str(&h.next_written().await.message).unwrap();
    assert_eq!(marker["source"], "marker");
    // The forwarded event was fully handled before the marker: one bus, two logs, one refusal.
    let stats = h.events.delivery_stats();
    assert_eq!(stats.failed_invocations, 1);
    assert!(stats.invocations >= 4);
}

#[tokio::test]
async fn default_bus_has_rules_only_while_an_enabled_rule_has_a_pattern() {
    let h = Harness::new().await;
    let has_rules = || h.events.default_bus_has_rules(ACCOUNT, REGION);
    assert!(!has_rules().await, "a new default bus has no rules");
    h.rule_with_targets(
        None,
        "orders",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
    assert!(has_rules().await);
    assert!(
        !h.events.default_bus_has_rules(ACCOUNT, "eu-west-1").await,
        "rules belong to their region"
    );
    h.events
        .disable_rule(
            &h.ctx,
            DisableRuleRequest {
                name: "orders".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    assert!(!has_rules().await, "a disabled rule matches nothing");
}

#[tokio::test]
async fn scheduled_rules_fire_by_the_clock_to_their_own_targets_only() {
    let mut h = Harness::new().await;
    h.put_rule_with_targets(
        PutRuleRequest {
            name: "every-five".to_owned(),
            schedule_expression: Some("rate(5 minutes)".to_owned()),
            ..PutRuleRequest::default()
        },
        vec![target("log", LOG_GROUP)],
    )
    .await;
    // A rule that would match any event on the bus never sees a scheduled one.
    let other = "arn:aws:logs:us-east-1:000000000000:log-group:/events/other";
    h.rule_with_targets(
        None,
        "everything",
        r#"{"source": [{"prefix": ""}]}"#,
        vec![target("other", other)],
    )
    .await;

    // The schedule begins when the scheduler first sees the rule.
    assert_eq!(h.events.fire_schedules().await.unwrap(), 0);
    h.clock.advance(Duration::from_secs(299));
    assert_eq!(h.events.fire_schedules().await.unwrap(), 0);
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.events.fire_schedules().await.unwrap(), 1);
    assert_eq!(h.events.fire_schedules().await.unwrap(), 0, "fired once");

    let written = h.next_written().await;
    assert_eq!(written.group, "/events/all");
    let event: Value = serde_json::from_str(&written.message).unwrap();
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["time"], "2024-01-01T00:05:00Z");
    assert_eq!(
        event["resources"],
        json!(["arn:aws:events:us-east-1:000000000000:rule/every-five"])
    );
    assert_eq!(event["detail"], json!({}));

    // Three periods missed make one firing; a disabled rule makes none.
    h.clock.advance(Duration::from_secs(3 * 300 + 10));
    assert_eq!(h.events.fire_schedules().await.unwrap(), 1);
    let written = h.next_written().await;
    let event: Value = serde_json::from_str(&written.message).unwrap();
    assert_eq!(event["time"], "2024-01-01T00:20:00Z");
    h.events
        .disable_rule(
            &h.ctx,
            DisableRuleRequest {
                name: "every-five".to_owned(),
                event_bus_name: None,
            },
        )
        .await
        .unwrap();
    h.clock.advance(Duration::from_secs(600));
    assert_eq!(h.events.fire_schedules().await.unwrap(), 0);

    // Only the scheduled rule's target was written to: a marker through the pattern rule
    // comes next.
    h.put_marker("marker").await;
    let marker = h.next_written().await;
    assert_eq!(marker.group, "/events/other");
    let marker: Value = serde_json::from_str(&marker.message).unwrap();
    assert_eq!(marker["source"], "marker");
}
