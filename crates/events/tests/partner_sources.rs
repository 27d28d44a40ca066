//! Partner event sources end to end: a partner account offers a source to a customer, the
//! customer takes it with a partner event bus, the partner's events reach that bus's rules, and
//! the states both sides see as the customer pauses and resumes it and the partner deletes it.
//! Also `UpdateEventBus`, on a custom bus and on the `default` bus.

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

const PARTNER: &str = "222222222222";
const INTRUDER: &str = "333333333333";
const SOURCE: &str = "aws.partner/saas.example.com/1234/orders";

fn in_account(account: &str) -> RequestContext {
    RequestContext {
        principal: Principal::root(AccountId::parse(account).unwrap(), "test"),
        region: Region::parse(REGION).unwrap(),
        ..context()
    }
}

async fn offer(h: &Harness, partner: &RequestContext, name: &str) -> String {
    h.events
        .create_partner_event_source(
            partner,
            CreatePartnerEventSourceRequest {
                name: name.to_owned(),
                account: ACCOUNT.to_owned(),
            },
        )
        .await
        .unwrap()
        .event_source_arn
        .unwrap()
}

async fn source_state(h: &Harness) -> EventSourceState {
    h.events
        .describe_event_source(
            &h.ctx,
            DescribeEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap()
        .state
        .unwrap()
}

async fn send(
    h: &Harness,
    partner: &RequestContext,
    source: &str,
    order: u32,
) -> PutPartnerEventsResultEntry {
    let answer = h
        .events
        .put_partner_events(
            partner,
            PutPartnerEventsRequest {
                entries: vec![PutPartnerEventsRequestEntry {
                    source: Some(source.to_owned()),
                    detail_type: Some("Order Placed".to_owned()),
                    detail: Some(json!({"order": order}).to_string()),
                    ..PutPartnerEventsRequestEntry::default()
                }],
            },
        )
        .await
        .unwrap();
    answer.entries.unwrap().remove(0)
}

#[tokio::test]
async fn a_partners_events_reach_the_customers_partner_bus_while_it_is_active() {
    let mut h = Harness::new().await;
    let partner = in_account(PARTNER);

    let arn = offer(&h, &partner, SOURCE).await;
    assert_eq!(
        arn,
        format!("arn:aws:events:{REGION}::event-source/{SOURCE}")
    );
    let listed = h
        .events
        .list_event_sources(
            &h.ctx,
            ListEventSourcesRequest {
                name_prefix: Some("aws.partner/saas".to_owned()),
                ..ListEventSourcesRequest::default()
            },
        )
        .await
        .unwrap()
        .event_sources
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name.as_deref(), Some(SOURCE));
    assert_eq!(listed[0].created_by.as_deref(), Some("saas.example.com"));
    assert_eq!(listed[0].state, Some(EventSourceState::Pending));

    // Before the customer takes the source, its events go nowhere, and it cannot be paused.
    let early = send(&h, &partner, SOURCE, 0).await;
    assert!(early.event_id.is_some(), "{early:?}");
    let error = h
        .events
        .deactivate_event_source(
            &h.ctx,
            DeactivateEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidStateException");

    // A bus for it must carry its name, and take a source that exists.
    let error = h
        .events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "aws.partner/saas.example.com/1234/other".to_owned(),
                event_source_name: Some("aws.partner/saas.example.com/1234/other".to_owned()),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: SOURCE.to_owned(),
                event_source_name: Some(SOURCE.to_owned()),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(source_state(&h).await, EventSourceState::Active);
    h.rule_with_targets(
        Some(SOURCE),
        "collect",
        r#"{"detail-type": ["Order Placed"]}"#,
        vec![target("log", LOG_GROUP)],
    )
    .await;

    let sent = send(&h, &partner, SOURCE, 1).await;
    let delivered = h.next_written().await;
    let event: Value = serde_json::from_str(&delivered.message).unwrap();
    assert_eq!(event["id"].as_str(), sent.event_id.as_deref());
    assert_eq!(event["source"], SOURCE);
    assert_eq!(event["account"], ACCOUNT, "the event names the customer");
    assert_eq!(event["detail"], json!({"order": 1}));

    // Paused, the source takes nothing; resumed, it does again.
    h.events
        .deactivate_event_source(
            &h.ctx,
            DeactivateEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(source_state(&h).await, EventSourceState::Pending);
    send(&h, &partner, SOURCE, 2).await;
    h.events
        .activate_event_source(
            &h.ctx,
            ActivateEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(source_state(&h).await, EventSourceState::Active);
    send(&h, &partner, SOURCE, 3).await;
    let delivered = h.next_written().await;
    let event: Value = serde_json::from_str(&delivered.message).unwrap();
    assert_eq!(
        event["detail"],
        json!({"order": 3}),
        "order 2 was sent while paused"
    );

    let accounts = h
        .events
        .list_partner_event_source_accounts(
            &partner,
            ListPartnerEventSourceAccountsRequest {
                event_source_name: SOURCE.to_owned(),
                ..ListPartnerEventSourceAccountsRequest::default()
            },
        )
        .await
        .unwrap()
        .partner_event_source_accounts
        .unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account.as_deref(), Some(ACCOUNT));
    assert_eq!(accounts[0].state, Some(EventSourceState::Active));

    // Deleted by the partner, the source shows DELETED while the customer's bus remains, and is
    // gone with the bus.
    h.events
        .delete_partner_event_source(
            &partner,
            DeletePartnerEventSourceRequest {
                name: SOURCE.to_owned(),
                account: ACCOUNT.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(source_state(&h).await, EventSourceState::Deleted);
    let gone = send(&h, &partner, SOURCE, 4).await;
    assert_eq!(
        gone.error_code.as_deref(),
        Some("NotAuthorizedForSourceException")
    );
    h.events
        .delete_event_bus(
            &h.ctx,
            DeleteEventBusRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap();
    let error = h
        .events
        .describe_event_source(
            &h.ctx,
            DescribeEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_partner_name_belongs_to_the_account_that_first_used_it() {
    let h = Harness::new().await;
    let partner = in_account(PARTNER);
    offer(&h, &partner, SOURCE).await;
    offer(&h, &partner, "aws.partner/saas.example.com/1234/invoices").await;

    let error = h
        .events
        .create_partner_event_source(
            &partner,
            CreatePartnerEventSourceRequest {
                name: SOURCE.to_owned(),
                account: ACCOUNT.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceAlreadyExistsException");

    let intruder = in_account(INTRUDER);
    let error = h
        .events
        .create_partner_event_source(
            &intruder,
            CreatePartnerEventSourceRequest {
                name: "aws.partner/saas.example.com/9999/orders".to_owned(),
                account: ACCOUNT.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
    let refused = send(&h, &intruder, SOURCE, 1).await;
    assert_eq!(
        refused.error_code.as_deref(),
        Some("NotAuthorizedForSourceException")
    );

    // The partner's own list, a page at a time.
    let first = h
        .events
        .list_partner_event_sources(
            &partner,
            ListPartnerEventSourcesRequest {
                name_prefix: "aws.partner/saas.example.com".to_owned(),
                limit: Some(1),
                ..ListPartnerEventSourcesRequest::default()
            },
        )
        .await
        .unwrap();
    let names = |page: &ListPartnerEventSourcesResponse| -> Vec<String> {
        page.partner_event_sources
            .iter()
            .flatten()
            .filter_map(|source| source.name.clone())
            .collect()
    };
    assert_eq!(
        names(&first),
        ["aws.partner/saas.example.com/1234/invoices"]
    );
    let second = h
        .events
        .list_partner_event_sources(
            &partner,
            ListPartnerEventSourcesRequest {
                name_prefix: "aws.partner/saas.example.com".to_owned(),
                limit: Some(1),
                next_token: first.next_token.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&second), [SOURCE]);
    assert_eq!(second.next_token, None);
    let described = h
        .events
        .describe_partner_event_source(
            &partner,
            DescribePartnerEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(described.name.as_deref(), Some(SOURCE));
    let error = h
        .events
        .describe_partner_event_source(
            &intruder,
            DescribePartnerEventSourceRequest {
                name: SOURCE.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn update_event_bus_keeps_what_it_is_given_on_custom_and_default_buses() {
    let h = Harness::new().await;
    let queue = "arn:aws:sqs:us-east-1:000000000000:bus-dlq";
    h.events
        .create_event_bus(
            &h.ctx,
            CreateEventBusRequest {
                name: "orders".to_owned(),
                description: Some("first".to_owned()),
                kms_key_identifier: Some("alias/orders".to_owned()),
                ..CreateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    let updated = h
        .events
        .update_event_bus(
            &h.ctx,
            UpdateEventBusRequest {
                name: Some("orders".to_owned()),
                dead_letter_config: Some(DeadLetterConfig {
                    arn: Some(queue.to_owned()),
                }),
                log_config: Some(LogConfig {
                    include_detail: Some(IncludeDetail::Full),
                    level: Some(Level::Info),
                }),
                ..UpdateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("first"), "kept");
    assert_eq!(
        updated.kms_key_identifier, None,
        "AWS's own key when none is given"
    );
    let described = h
        .events
        .describe_event_bus(
            &h.ctx,
            DescribeEventBusRequest {
                name: Some("orders".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described
            .dead_letter_config
            .and_then(|config| config.arn)
            .as_deref(),
        Some(queue)
    );
    assert_eq!(
        described.log_config.and_then(|config| config.level),
        Some(Level::Info)
    );

    let error = h
        .events
        .update_event_bus(
            &h.ctx,
            UpdateEventBusRequest {
                name: Some("orders".to_owned()),
                dead_letter_config: Some(DeadLetterConfig {
                    arn: Some(LOG_GROUP.to_owned()),
                }),
                ..UpdateEventBusRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "Validation");
    let error = h
        .events
        .update_event_bus(
            &h.ctx,
            UpdateEventBusRequest {
                name: Some("missing".to_owned()),
                ..UpdateEventBusRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");

    // The default bus takes settings, and is still listed once.
    h.events
        .update_event_bus(
            &h.ctx,
            UpdateEventBusRequest {
                description: Some("the account's bus".to_owned()),
                ..UpdateEventBusRequest::default()
            },
        )
        .await
        .unwrap();
    let default = h
        .events
        .describe_event_bus(&h.ctx, DescribeEventBusRequest::default())
        .await
        .unwrap();
    assert_eq!(default.name.as_deref(), Some("default"));
    assert_eq!(default.description.as_deref(), Some("the account's bus"));
    let listed = h
        .events
        .list_event_buses(&h.ctx, ListEventBusesRequest::default())
        .await
        .unwrap()
        .event_buses
        .unwrap();
    let names: Vec<_> = listed
        .iter()
        .filter_map(|bus| bus.name.as_deref())
        .collect();
    assert_eq!(names, ["default", "orders"]);
}
