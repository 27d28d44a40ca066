//! Events crossing accounts and regions: a rule's target that is a bus of another account
//! (delivered only while that bus's policy allows the rule's account) or of another region, and
//! `PutEvents` naming another account's bus by its ARN (which the server's authorizer decides;
//! here the handler's part: the event lands on that bus and names its sender).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use palisade_core::{AccountId, Principal, Region, RequestContext};
use palisade_model_events::Events;
use palisade_model_events::types::*;
use serde_json::{Value, json};
use support::*;

const OTHER: &str = "111111111111";
const CENTRAL: &str = "arn:aws:events:us-east-1:000000000000:event-bus/central";
const OTHER_DEAD_LETTERS: &str = "arn:aws:logs:us-east-1:111111111111:log-group:/other/dlq";

fn in_account(account: &str, region: &str) -> RequestContext {
    RequestContext {
        principal: Principal::root(AccountId::parse(account).unwrap(), "test"),
        region: Region::parse(region).unwrap(),
        ..context()
    }
}

/// The `central` bus of the default account, whose rule writes what arrives to `LOG_GROUP`.
async fn central_bus(h: &Harness) {
    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "central".to_owned(),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    h.rule_with_targets(
        Some("central"),
        "collect",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;
}

async fn put_from(h: &Harness, ctx: &RequestContext, bus: Option<&str>, detail: Value) -> String {
    let answer = h
        .events
        .put_events(
            ctx,
            PutEventsRequest {
                entries: vec![PutEventsRequestEntry {
                    source: Some("com.example.orders".to_owned()),
                    detail_type: Some("Order Placed".to_owned()),
                    detail: Some(detail.to_string()),
                    event_bus_name: bus.map(str::to_owned),
                    ..PutEventsRequestEntry::default()
                }],
                ..PutEventsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(answer.failed_entry_count, Some(0), "{:?}", answer.entries);
    answer.entries.unwrap().remove(0).event_id.unwrap()
}

async fn allow(h: &Harness, account: &str) {
    h.events
        .put_permission(
            &h.ctx,
            PutPermissionRequest {
                event_bus_name: Some("central".to_owned()),
                action: Some("events:PutEvents".to_owned()),
                principal: Some(account.to_owned()),
                statement_id: Some(format!("from-{account}")),
                ..PutPermissionRequest::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn another_accounts_bus_takes_forwarded_events_once_its_policy_allows() {
    let mut h = Harness::new().await;
    central_bus(&h).await;
    let other = in_account(OTHER, REGION);
    h.events
        .put_rule(
            &other,
            PutRuleRequest {
                name: "forward".to_owned(),
                event_pattern: Some(r#"{"source": ["com.example.orders"]}"#.to_owned()),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap();
    let forward = Target {
        dead_letter_config: Some(DeadLetterConfig {
            arn: Some(OTHER_DEAD_LETTERS.to_owned()),
        }),
        ..target("central", CENTRAL)
    };
    h.events
        .put_targets(
            &other,
            PutTargetsRequest {
                rule: "forward".to_owned(),
                event_bus_name: None,
                targets: vec![forward],
            },
        )
        .await
        .unwrap();

    put_from(&h, &other, None, json!({"order": 1})).await;
    let refused = h.next_written().await;
    assert_eq!(refused.group, "/other/dlq");
    let letter: Value = serde_json::from_str(&refused.message).unwrap();
    assert_eq!(letter["ERROR_CODE"], "NO_PERMISSIONS");
    assert_eq!(letter["RETRY_ATTEMPTS"], "0", "a refusal is not retried");

    allow(&h, OTHER).await;
    let id = put_from(&h, &other, None, json!({"order": 2})).await;
    let delivered = h.next_written().await;
    assert_eq!(delivered.group, "/events/all");
    let event: Value = serde_json::from_str(&delivered.message).unwrap();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["account"], OTHER, "the event keeps its origin");
    assert_eq!(event["detail"], json!({"order": 2}));
}

#[tokio::test]
async fn a_bus_of_another_region_takes_forwarded_events() {
    let mut h = Harness::new().await;
    let far = in_account(ACCOUNT, "eu-west-1");
    h.events
        .put_rule(
            &far,
            PutRuleRequest {
                name: "collect".to_owned(),
                event_pattern: Some(r#"{"source": ["com.example.orders"]}"#.to_owned()),
                ..PutRuleRequest::default()
            },
        )
        .await
        .unwrap();
    h.events
        .put_targets(
            &far,
            PutTargetsRequest {
                rule: "collect".to_owned(),
                event_bus_name: None,
                targets: vec![target(
                    "log",
                    "arn:aws:logs:eu-west-1:000000000000:log-group:/far/all",
                )],
            },
        )
        .await
        .unwrap();
    h.rule_with_targets(
        None,
        "to-ireland",
        r#"{"source": ["com.example.orders"]}"#,
        vec![target(
            "far",
            "arn:aws:events:eu-west-1:000000000000:event-bus/default",
        )],
    )
    .await;

    let id = h.put_event(None, json!({"order": 3})).await;
    let delivered = h.next_written().await;
    assert_eq!(delivered.group, "/far/all");
    let event: Value = serde_json::from_str(&delivered.message).unwrap();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["region"], REGION);
}

#[tokio::test]
async fn put_events_by_arn_lands_on_the_owners_bus() {
    let mut h = Harness::new().await;
    central_bus(&h).await;
    let other = in_account(OTHER, REGION);
    let id = put_from(&h, &other, Some(CENTRAL), json!({"order": 4})).await;
    let delivered = h.next_written().await;
    let event: Value = serde_json::from_str(&delivered.message).unwrap();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["account"], OTHER);

    // A bus of another region is reached through rules only.
    let far = "arn:aws:events:eu-west-1:000000000000:event-bus/default";
    let answer = h
        .events
        .put_events(
            &h.ctx,
            PutEventsRequest {
                entries: vec![PutEventsRequestEntry {
                    source: Some("com.example.orders".to_owned()),
                    detail_type: Some("Order Placed".to_owned()),
                    detail: Some("{}".to_owned()),
                    event_bus_name: Some(far.to_owned()),
                    ..PutEventsRequestEntry::default()
                }],
                ..PutEventsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(answer.failed_entry_count, Some(1));
    assert_eq!(
        answer.entries.unwrap()[0].error_code.as_deref(),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test]
async fn bus_policies_are_described_and_removed() {
    let h = Harness::new().await;
    central_bus(&h).await;
    allow(&h, OTHER).await;
    let described = h
        .events
        .describe_event_bus(
            &h.ctx,
            DescribeEventBusRequest {
                name: Some("central".to_owned()),
            },
        )
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(described.policy.as_deref().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"],
        json!({"AWS": "arn:aws:iam::111111111111:root"})
    );
    assert_eq!(policy["Statement"][0]["Resource"], CENTRAL);
    assert_eq!(
        h.events
            .bus_policy(CENTRAL)
            .await
            .unwrap()
            .map(|bus| bus.account),
        Some(ACCOUNT.to_owned())
    );

    h.events
        .remove_permission(
            &h.ctx,
            RemovePermissionRequest {
                event_bus_name: Some("central".to_owned()),
                statement_id: Some(format!("from-{OTHER}")),
                remove_all_permissions: None,
            },
        )
        .await
        .unwrap();
    let bus = h.events.bus_policy(CENTRAL).await.unwrap().unwrap();
    assert_eq!(bus.document, None);
    let error = h
        .events
        .remove_permission(
            &h.ctx,
            RemovePermissionRequest {
                event_bus_name: Some("central".to_owned()),
                statement_id: Some("gone".to_owned()),
                remove_all_permissions: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    assert_eq!(error.message, "EventBus does not have a policy.");
}
