//! CloudTrail Lake: event data stores through their whole life (defaults, names, limits,
//! updates, termination protection, deletion and restore, ingestion stopped and started, tags),
//! and queries over them, which see exactly the events the store ingested: from its creation,
//! while ingesting, in its regions, through its selectors, within its retention.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use std::collections::BTreeMap;

use palisade_core::ServiceError;
use palisade_core::service::ErrorKind;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    AddTagsRequest, AdvancedEventSelector, AdvancedFieldSelector, BillingMode, CancelQueryRequest,
    CreateEventDataStoreRequest, DeleteEventDataStoreRequest, DescribeQueryRequest,
    EventDataStoreStatus, GetEventDataStoreRequest, GetQueryResultsRequest,
    ListEventDataStoresRequest, ListQueriesRequest, ListTagsRequest, QueryStatus,
    RestoreEventDataStoreRequest, StartEventDataStoreIngestionRequest, StartQueryRequest,
    StopEventDataStoreIngestionRequest, Tag, UpdateEventDataStoreRequest,
};
use support::Harness;

const REGION: &str = "us-east-1";
const DAY: u64 = 24 * 60 * 60;

fn code(error: &ServiceError) -> &str {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code,
        _ => "not modeled",
    }
}

async fn create(harness: &Harness, request: CreateEventDataStoreRequest) -> String {
    let created = harness
        .state
        .create_event_data_store(&harness.ctx(REGION), request)
        .await
        .unwrap();
    created
        .event_data_store_arn
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

fn named(name: &str) -> CreateEventDataStoreRequest {
    CreateEventDataStoreRequest {
        name: name.to_owned(),
        ..CreateEventDataStoreRequest::default()
    }
}

/// Runs `statement` to its end and answers its rows, each as column → value.
async fn query(harness: &Harness, statement: &str) -> Vec<BTreeMap<String, String>> {
    query_with(harness, statement, &[]).await
}

/// As [`query`], with `parameters` for the statement's `?`s.
async fn query_with(
    harness: &Harness,
    statement: &str,
    parameters: &[&str],
) -> Vec<BTreeMap<String, String>> {
    let ctx = harness.ctx(REGION);
    let started = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(statement.to_owned()),
                query_parameters: Some(parameters.iter().map(|p| (*p).to_owned()).collect()),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap();
    let id = started.query_id.unwrap();
    harness.state.run_queued().await.unwrap();
    let described = harness
        .state
        .describe_query(
            &ctx,
            DescribeQueryRequest {
                query_id: Some(id.clone()),
                ..DescribeQueryRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.query_status,
        Some(QueryStatus::Finished),
        "{statement}: {:?}",
        described.error_message
    );
    let mut rows = Vec::new();
    let mut next_token = None;
    loop {
        let page = harness
            .state
            .get_query_results(
                &ctx,
                GetQueryResultsRequest {
                    query_id: id.clone(),
                    next_token: next_token.take(),
                    max_query_results: Some(2),
                    ..GetQueryResultsRequest::default()
                },
            )
            .await
            .unwrap();
        let page_rows = page.query_result_rows.unwrap();
        assert!(page_rows.len() <= 2);
        rows.extend(
            page_rows
                .into_iter()
                .map(|row| row.into_iter().flatten().collect::<BTreeMap<_, _>>()),
        );
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return rows,
        }
    }
}

fn names(rows: &[BTreeMap<String, String>]) -> Vec<&str> {
    rows.iter().map(|row| row["eventName"].as_str()).collect()
}

#[tokio::test]
async fn an_event_data_store_lives_and_dies_as_in_aws() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let created = harness
        .state
        .create_event_data_store(&ctx, named("audit"))
        .await
        .unwrap();
    assert_eq!(created.status, Some(EventDataStoreStatus::Enabled));
    assert_eq!(created.retention_period, Some(366));
    assert_eq!(
        created.billing_mode,
        Some(BillingMode::ExtendableRetentionPricing)
    );
    assert_eq!(created.multi_region_enabled, Some(true));
    assert_eq!(created.organization_enabled, Some(false));
    assert_eq!(created.termination_protection_enabled, Some(true));
    let selectors = created.advanced_event_selectors.unwrap();
    assert_eq!(selectors.len(), 1);
    assert_eq!(selectors[0].field_selectors[0].field, "eventCategory");
    let arn = created.event_data_store_arn.unwrap();
    let id = arn.rsplit('/').next().unwrap().to_owned();
    assert!(arn.starts_with("arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/"));

    for reference in [&arn, &id] {
        let got = harness
            .state
            .get_event_data_store(
                &ctx,
                GetEventDataStoreRequest {
                    event_data_store: reference.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(got.name.as_deref(), Some("audit"));
    }
    // A multi-Region store shows in other regions too; a single-Region one does not.
    let get_elsewhere = async |reference: &str| {
        harness
            .state
            .get_event_data_store(
                &harness.ctx("eu-west-1"),
                GetEventDataStoreRequest {
                    event_data_store: reference.to_owned(),
                },
            )
            .await
    };
    let shadow = get_elsewhere(&id).await.unwrap();
    assert_eq!(shadow.event_data_store_arn.as_deref(), Some(arn.as_str()));
    let local = create(
        &harness,
        CreateEventDataStoreRequest {
            multi_region_enabled: Some(false),
            ..named("local")
        },
    )
    .await;
    let hidden = get_elsewhere(&local).await.unwrap_err();
    assert_eq!(code(&hidden), "EventDataStoreNotFoundException");

    let clash = harness
        .state
        .create_event_data_store(&ctx, named("audit"))
        .await
        .unwrap_err();
    assert_eq!(code(&clash), "EventDataStoreAlreadyExistsException");
    let short = harness
        .state
        .create_event_data_store(
            &ctx,
            CreateEventDataStoreRequest {
                retention_period: Some(2600),
                billing_mode: Some(BillingMode::FixedRetentionPricing),
                ..named("fixed")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&short), "InvalidParameterException");

    // Ten per region, listed in pages.
    for n in 2..10 {
        create(&harness, named(&format!("store-{n}"))).await;
    }
    let over = harness
        .state
        .create_event_data_store(&ctx, named("eleventh"))
        .await
        .unwrap_err();
    assert_eq!(code(&over), "EventDataStoreMaxLimitExceededException");
    let mut listed = Vec::new();
    let mut next_token = None;
    loop {
        let page = harness
            .state
            .list_event_data_stores(
                &ctx,
                ListEventDataStoresRequest {
                    next_token: next_token.take(),
                    max_results: Some(3),
                },
            )
            .await
            .unwrap();
        listed.extend(page.event_data_stores.unwrap());
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => break,
        }
    }
    assert_eq!(listed.len(), 10);

    let updated = harness
        .state
        .update_event_data_store(
            &ctx,
            UpdateEventDataStoreRequest {
                event_data_store: id.clone(),
                name: Some("renamed".to_owned()),
                retention_period: Some(30),
                ..UpdateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("renamed"));
    assert_eq!(updated.retention_period, Some(30));
    let downgrade = harness
        .state
        .update_event_data_store(
            &ctx,
            UpdateEventDataStoreRequest {
                event_data_store: id.clone(),
                billing_mode: Some(BillingMode::FixedRetentionPricing),
                ..UpdateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&downgrade), "InvalidParameterException");

    harness
        .state
        .add_tags(
            &ctx,
            AddTagsRequest {
                resource_id: arn.clone(),
                tags_list: vec![Tag {
                    key: "team".to_owned(),
                    value: Some("security".to_owned()),
                }],
            },
        )
        .await
        .unwrap();
    let tags = harness
        .state
        .list_tags(
            &ctx,
            ListTagsRequest {
                resource_id_list: vec![arn.clone()],
                next_token: None,
            },
        )
        .await
        .unwrap();
    let tags = tags.resource_tag_list.unwrap()[0]
        .tags_list
        .clone()
        .unwrap();
    assert_eq!(tags[0].key, "team");

    // Ingestion stops and starts only from the right states.
    let stop = async || {
        harness
            .state
            .stop_event_data_store_ingestion(
                &ctx,
                StopEventDataStoreIngestionRequest {
                    event_data_store: id.clone(),
                },
            )
            .await
    };
    stop().await.unwrap();
    assert_eq!(
        code(&stop().await.unwrap_err()),
        "InvalidEventDataStoreStatusException"
    );
    harness
        .state
        .start_event_data_store_ingestion(
            &ctx,
            StartEventDataStoreIngestionRequest {
                event_data_store: id.clone(),
            },
        )
        .await
        .unwrap();

    // Termination protection, then seven days pending deletion, restorable until they pass.
    let delete = async || {
        harness
            .state
            .delete_event_data_store(
                &ctx,
                DeleteEventDataStoreRequest {
                    event_data_store: arn.clone(),
                },
            )
            .await
    };
    assert_eq!(
        code(&delete().await.unwrap_err()),
        "EventDataStoreTerminationProtectedException"
    );
    harness
        .state
        .update_event_data_store(
            &ctx,
            UpdateEventDataStoreRequest {
                event_data_store: id.clone(),
                termination_protection_enabled: Some(false),
                ..UpdateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap();
    delete().await.unwrap();
    let inactive = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(format!("SELECT eventName FROM {id}")),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&inactive), "InactiveEventDataStoreException");
    let restored = harness
        .state
        .restore_event_data_store(
            &ctx,
            RestoreEventDataStoreRequest {
                event_data_store: id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(restored.status, Some(EventDataStoreStatus::Enabled));
    delete().await.unwrap();
    harness.advance(7 * DAY);
    let gone = harness
        .state
        .get_event_data_store(
            &ctx,
            GetEventDataStoreRequest {
                event_data_store: id.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "EventDataStoreNotFoundException");
    // Its place is free again.
    create(&harness, named("eleventh")).await;
}

#[tokio::test]
async fn queries_see_what_the_store_ingested() {
    let harness = Harness::new().await;
    harness.call(REGION, "DescribeTrails").await;
    harness.advance(60);
    let everywhere = create(&harness, named("everywhere")).await;
    let writes_here = create(
        &harness,
        CreateEventDataStoreRequest {
            multi_region_enabled: Some(false),
            advanced_event_selectors: Some(vec![AdvancedEventSelector {
                name: Some("writes".to_owned()),
                field_selectors: vec![
                    AdvancedFieldSelector {
                        field: "eventCategory".to_owned(),
                        equals: Some(vec!["Management".to_owned()]),
                        ..AdvancedFieldSelector::default()
                    },
                    AdvancedFieldSelector {
                        field: "readOnly".to_owned(),
                        equals: Some(vec!["false".to_owned()]),
                        ..AdvancedFieldSelector::default()
                    },
                ],
            }]),
            ..named("writes-here")
        },
    )
    .await;
    harness.advance(1);
    harness.call(REGION, "CreateTrail").await;
    harness.advance(1);
    harness.call("eu-west-1", "StartLogging").await;
    harness.advance(1);
    harness.call(REGION, "GetTrail").await;
    harness.advance(1);
    harness.call(REGION, "DeleteTrail").await;
    harness.advance(1);

    let rows = query(
        &harness,
        &format!("SELECT eventName, awsRegion FROM {everywhere} ORDER BY eventTime"),
    )
    .await;
    // Not the call before the store was created.
    assert_eq!(
        names(&rows),
        ["CreateTrail", "StartLogging", "GetTrail", "DeleteTrail"]
    );
    assert_eq!(rows[1]["awsRegion"], "eu-west-1");
    let rows = query(
        &harness,
        &format!("SELECT eventName FROM {writes_here} ORDER BY eventTime DESC"),
    )
    .await;
    assert_eq!(names(&rows), ["DeleteTrail", "CreateTrail"]);

    // Stopped, it ingests nothing; started again, it does.
    let ctx = harness.ctx(REGION);
    harness
        .state
        .stop_event_data_store_ingestion(
            &ctx,
            StopEventDataStoreIngestionRequest {
                event_data_store: writes_here.clone(),
            },
        )
        .await
        .unwrap();
    harness.advance(1);
    harness.call(REGION, "UpdateTrail").await;
    harness.advance(1);
    harness
        .state
        .start_event_data_store_ingestion(
            &ctx,
            StartEventDataStoreIngestionRequest {
                event_data_store: writes_here.clone(),
            },
        )
        .await
        .unwrap();
    harness.advance(1);
    harness.call(REGION, "StopLogging").await;
    harness.advance(1);
    let rows = query(
        &harness,
        &format!(
            "SELECT eventName, count(*) AS calls FROM {writes_here} GROUP BY eventName \
             ORDER BY eventName"
        ),
    )
    .await;
    assert_eq!(names(&rows), ["CreateTrail", "DeleteTrail", "StopLogging"]);
    assert!(rows.iter().all(|row| row["calls"] == "1"));

    // Parameters, and a time range.
    let rows = query_with(
        &harness,
        &format!(
            "SELECT eventName FROM {everywhere} WHERE awsRegion = ? AND readOnly = false \
             AND eventTime > ?"
        ),
        &["eu-west-1", "2024-03-01 00:00:00"],
    )
    .await;
    assert_eq!(names(&rows), ["StartLogging"]);
    let rows = query(
        &harness,
        &format!(
            "SELECT eventName FROM {everywhere} WHERE eventTime >= '2024-03-01 00:01:03' \
             AND eventTime < '2024-03-01 00:01:05' ORDER BY eventTime"
        ),
    )
    .await;
    assert_eq!(names(&rows), ["GetTrail", "DeleteTrail"]);

    // `eventTime` is whole seconds while calls are timed to the millisecond: a call 400 ms into
    // a second is at that second, for an upper bound as for a lower one.
    harness.clock.advance(std::time::Duration::from_millis(400));
    harness.call(REGION, "CreateTrail").await;
    harness.clock.advance(std::time::Duration::from_millis(600));
    let rows = query(
        &harness,
        &format!(
            "SELECT eventName FROM {everywhere} WHERE eventTime >= '2024-03-01 00:01:09' \
             AND eventTime <= '2024-03-01 00:01:09'"
        ),
    )
    .await;
    assert_eq!(names(&rows), ["CreateTrail"]);

    // Retention: once the events are older than it, they are gone from the store's view.
    harness
        .state
        .update_event_data_store(
            &ctx,
            UpdateEventDataStoreRequest {
                event_data_store: everywhere.clone(),
                retention_period: Some(7),
                ..UpdateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap();
    harness.advance(8 * DAY);
    let rows = query(&harness, &format!("SELECT eventName FROM {everywhere}")).await;
    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn queries_are_listed_cancelled_and_refused_as_in_aws() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let id = create(&harness, named("audit")).await;
    let bad = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(format!("SELEKT * FROM {id}")),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidQueryStatementException");
    let missing = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(
                    "SELECT eventName FROM 00000000-0000-4000-8000-000000000000".to_owned(),
                ),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "EventDataStoreNotFoundException");

    let mut ids = Vec::new();
    for _ in 0..10 {
        let started = harness
            .state
            .start_query(
                &ctx,
                StartQueryRequest {
                    query_statement: Some(format!("SELECT eventName FROM {id}")),
                    ..StartQueryRequest::default()
                },
            )
            .await
            .unwrap();
        ids.push(started.query_id.unwrap());
        harness.advance(1);
    }
    let eleventh = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(format!("SELECT eventName FROM {id}")),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&eleventh), "MaxConcurrentQueriesException");

    let cancelled = harness
        .state
        .cancel_query(
            &ctx,
            CancelQueryRequest {
                query_id: ids[0].clone(),
                ..CancelQueryRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cancelled.query_status, QueryStatus::Cancelled);
    harness.state.run_queued().await.unwrap();
    let again = harness
        .state
        .cancel_query(
            &ctx,
            CancelQueryRequest {
                query_id: ids[1].clone(),
                ..CancelQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&again), "InactiveQueryException");

    let listed = harness
        .state
        .list_queries(
            &ctx,
            ListQueriesRequest {
                event_data_store: id.clone(),
                query_status: Some(QueryStatus::Finished),
                ..ListQueriesRequest::default()
            },
        )
        .await
        .unwrap()
        .queries
        .unwrap();
    let listed: Vec<String> = listed
        .into_iter()
        .map(|query| query.query_id.unwrap())
        .collect();
    let mut newest_first: Vec<String> = ids[1..].to_vec();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    // Seven days on, queries are forgotten.
    harness.advance(7 * DAY);
    let forgotten = harness
        .state
        .describe_query(
            &ctx,
            DescribeQueryRequest {
                query_id: Some(ids[2].clone()),
                ..DescribeQueryRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&forgotten), "QueryIdNotFoundException");
}

#[tokio::test]
async fn event_data_stores_keep_a_resource_policy() {
    use palisade_model_cloudtrail::types::{
        DeleteResourcePolicyRequest, GetResourcePolicyRequest, PutResourcePolicyRequest,
    };
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let id = create(&harness, named("shared")).await;
    let arn = format!("arn:aws:cloudtrail:{REGION}:111122223333:eventdatastore/{id}");
    let get = async || {
        harness
            .state
            .get_resource_policy(
                &ctx,
                GetResourcePolicyRequest {
                    resource_arn: arn.clone(),
                },
            )
            .await
    };
    assert_eq!(
        code(&get().await.unwrap_err()),
        "ResourcePolicyNotFoundException"
    );
    let put = async |document: &str, resource_arn: &str| {
        harness
            .state
            .put_resource_policy(
                &ctx,
                PutResourcePolicyRequest {
                    resource_arn: resource_arn.to_owned(),
                    resource_policy: document.to_owned(),
                },
            )
            .await
    };
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::444455556666:root"},
        "Action":["cloudtrail:StartQuery","cloudtrail:GetQueryResults"],"Resource":"*"}]}"#;
    let answered = put(policy, &arn).await.unwrap();
    assert_eq!(answered.resource_policy.as_deref(), Some(policy));
    assert_eq!(
        get().await.unwrap().resource_policy.as_deref(),
        Some(policy)
    );

    // No principal, not JSON, or not a resource that takes policies.
    let no_principal = r#"{"Statement":[{"Effect":"Allow","Action":"cloudtrail:*"}]}"#;
    for (document, resource, expected) in [
        (
            no_principal,
            arn.as_str(),
            "ResourcePolicyNotValidException",
        ),
        ("{", arn.as_str(), "ResourcePolicyNotValidException"),
        (
            policy,
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            "ResourceTypeNotSupportedException",
        ),
        (policy, "not-an-arn", "ResourceARNNotValidException"),
        (
            policy,
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/missing",
            "ResourceNotFoundException",
        ),
    ] {
        let error = put(document, resource).await.unwrap_err();
        assert_eq!(code(&error), expected, "{document} on {resource}");
    }

    let delete = async || {
        harness
            .state
            .delete_resource_policy(
                &ctx,
                DeleteResourcePolicyRequest {
                    resource_arn: arn.clone(),
                },
            )
            .await
    };
    delete().await.unwrap();
    assert_eq!(
        code(&delete().await.unwrap_err()),
        "ResourcePolicyNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_keep_the_quota_and_the_names() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let attempts = (0..14).map(|n| {
        let state = std::sync::Arc::clone(&harness.state);
        let ctx = ctx.clone();
        // Two attempts for each of seven names, then seven more names: at most ten stores.
        let name = if n < 14 {
            format!("race-{}", n % 7)
        } else {
            format!("other-{n}")
        };
        tokio::spawn(async move { state.create_event_data_store(&ctx, named(&name)).await })
    });
    let mut created = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        if let Ok(store) = attempt.await.unwrap() {
            created.push(store.name.unwrap());
        }
    }
    created.sort();
    assert_eq!(
        created,
        (0..7).map(|n| format!("race-{n}")).collect::<Vec<_>>()
    );
    let more = (0..6).map(|n| {
        let state = std::sync::Arc::clone(&harness.state);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            state
                .create_event_data_store(&ctx, named(&format!("more-{n}")))
                .await
        })
    });
    let mut refused = 0;
    for attempt in more.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(code(&error), "EventDataStoreMaxLimitExceededException");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 3);

    // Two stores renamed to one name at once: one of them takes it.
    let renames = ["race-0", "race-1"].map(|from| {
        let state = std::sync::Arc::clone(&harness.state);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let id = state
                .list_event_data_stores(&ctx, ListEventDataStoresRequest::default())
                .await
                .unwrap()
                .event_data_stores
                .unwrap()
                .into_iter()
                .find(|store| store.name.as_deref() == Some(from))
                .unwrap()
                .event_data_store_arn
                .unwrap();
            state
                .update_event_data_store(
                    &ctx,
                    UpdateEventDataStoreRequest {
                        event_data_store: id,
                        name: Some("taken".to_owned()),
                        ..UpdateEventDataStoreRequest::default()
                    },
                )
                .await
        })
    });
    let mut renamed = 0;
    for rename in renames {
        match rename.await.unwrap() {
            Ok(_) => renamed += 1,
            Err(error) => assert_eq!(code(&error), "EventDataStoreAlreadyExistsException"),
        }
    }
    assert_eq!(renamed, 1);
}

#[tokio::test]
async fn channels_send_to_stores_of_events_from_outside_aws() {
    use palisade_model_cloudtrail::types::{
        CreateChannelRequest, DeleteChannelRequest, Destination, DestinationType,
        GetChannelRequest, GetResourcePolicyRequest, ListChannelsRequest, PutResourcePolicyRequest,
        UpdateChannelRequest,
    };
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let outside = |name: &str| CreateEventDataStoreRequest {
        advanced_event_selectors: Some(vec![AdvancedEventSelector {
            name: Some("integration".to_owned()),
            field_selectors: vec![AdvancedFieldSelector {
                field: "eventCategory".to_owned(),
                equals: Some(vec!["ActivityAuditLog".to_owned()]),
                ..AdvancedFieldSelector::default()
            }],
        }]),
        termination_protection_enabled: Some(false),
        ..named(name)
    };
    let integration = create(&harness, outside("integration")).await;
    let management = create(&harness, named("management")).await;
    let arn_of = |id: &str| format!("arn:aws:cloudtrail:{REGION}:111122223333:eventdatastore/{id}");

    // Events from outside AWS take a selector of their own, on eventCategory alone.
    let mixed = harness
        .state
        .create_event_data_store(
            &ctx,
            CreateEventDataStoreRequest {
                advanced_event_selectors: Some(vec![AdvancedEventSelector {
                    name: None,
                    field_selectors: vec![
                        AdvancedFieldSelector {
                            field: "eventCategory".to_owned(),
                            equals: Some(vec!["ActivityAuditLog".to_owned()]),
                            ..AdvancedFieldSelector::default()
                        },
                        AdvancedFieldSelector {
                            field: "eventName".to_owned(),
                            equals: Some(vec!["x".to_owned()]),
                            ..AdvancedFieldSelector::default()
                        },
                    ],
                }]),
                ..named("mixed")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&mixed), "InvalidEventSelectorsException");

    let stopped = harness
        .state
        .stop_event_data_store_ingestion(
            &ctx,
            StopEventDataStoreIngestionRequest {
                event_data_store: integration.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&stopped), "InvalidEventDataStoreCategoryException");

    let destination = |id: &str| Destination {
        r#type: DestinationType::EventDataStore,
        location: arn_of(id),
    };
    let create_channel = |name: &str, to: &str| CreateChannelRequest {
        name: name.to_owned(),
        source: "Custom".to_owned(),
        destinations: vec![destination(to)],
        tags: Some(vec![Tag {
            key: "team".to_owned(),
            value: Some("sec".to_owned()),
        }]),
    };
    let wrong = harness
        .state
        .create_channel(&ctx, create_channel("wrong", &management))
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), "InvalidEventDataStoreCategoryException");
    let created = harness
        .state
        .create_channel(&ctx, create_channel("partner", &integration))
        .await
        .unwrap();
    let channel = created.channel_arn.unwrap();
    assert!(channel.starts_with("arn:aws:cloudtrail:us-east-1:111122223333:channel/"));
    let again = harness
        .state
        .create_channel(&ctx, create_channel("partner", &integration))
        .await
        .unwrap_err();
    assert_eq!(code(&again), "ChannelAlreadyExistsException");

    let id = channel.rsplit('/').next().unwrap().to_owned();
    for reference in [&channel, &id] {
        let got = harness
            .state
            .get_channel(
                &ctx,
                GetChannelRequest {
                    channel: reference.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(got.name.as_deref(), Some("partner"));
        assert_eq!(got.source.as_deref(), Some("Custom"));
        assert_eq!(got.destinations.unwrap()[0].location, arn_of(&integration));
    }
    let listed = harness
        .state
        .list_channels(&ctx, ListChannelsRequest::default())
        .await
        .unwrap()
        .channels
        .unwrap();
    assert_eq!(listed.len(), 1);
    let tags = harness
        .state
        .list_tags(
            &ctx,
            ListTagsRequest {
                resource_id_list: vec![channel.clone()],
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tags.resource_tag_list.unwrap()[0]
            .tags_list
            .clone()
            .unwrap()[0]
            .key,
        "team"
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::444455556666:root"},
        "Action":"cloudtrail-data:PutAuditEvents","Resource":"*"}]}"#;
    harness
        .state
        .put_resource_policy(
            &ctx,
            PutResourcePolicyRequest {
                resource_arn: channel.clone(),
                resource_policy: policy.to_owned(),
            },
        )
        .await
        .unwrap();
    let got = harness
        .state
        .get_resource_policy(
            &ctx,
            GetResourcePolicyRequest {
                resource_arn: channel.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.resource_policy.as_deref(), Some(policy));

    // The store stays while the channel sends to it.
    let delete_store = async || {
        harness
            .state
            .delete_event_data_store(
                &ctx,
                DeleteEventDataStoreRequest {
                    event_data_store: integration.clone(),
                },
            )
            .await
    };
    assert_eq!(
        code(&delete_store().await.unwrap_err()),
        "ChannelExistsForEDSException"
    );
    let renamed = harness
        .state
        .update_channel(
            &ctx,
            UpdateChannelRequest {
                channel: id.clone(),
                name: Some("renamed".to_owned()),
                destinations: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("renamed"));
    harness
        .state
        .delete_channel(
            &ctx,
            DeleteChannelRequest {
                channel: id.clone(),
            },
        )
        .await
        .unwrap();
    let gone = harness
        .state
        .get_channel(&ctx, GetChannelRequest { channel: id })
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ChannelNotFoundException");
    delete_store().await.unwrap();
}
