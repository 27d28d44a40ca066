//! CloudTrail Lake dashboards: their life (create, get, list, update, delete with termination
//! protection), tags and resource policies, AWS's errors, and their refreshes, which run each
//! widget's query with the parameter values substituted once the event data store's resource
//! policy lets CloudTrail query it, by hand or on their schedule.

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
    AddTagsRequest, CreateDashboardRequest, CreateEventDataStoreRequest, DashboardStatus,
    DashboardType, DeleteDashboardRequest, DeleteEventDataStoreRequest, DescribeQueryRequest,
    GetDashboardRequest, GetQueryResultsRequest, GetResourcePolicyRequest, ListDashboardsRequest,
    ListTagsRequest, PutResourcePolicyRequest, QueryStatus, RefreshSchedule,
    RefreshScheduleFrequency, RefreshScheduleFrequencyUnit, RefreshScheduleStatus, RequestWidget,
    StartDashboardRefreshRequest, Tag, UpdateDashboardRequest, UpdateEventDataStoreRequest, Widget,
};
use support::{ACCOUNT, Harness};

const REGION: &str = "us-east-1";
const HOUR: u64 = 60 * 60;

fn code(error: &ServiceError) -> &str {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code,
        _ => "not modeled",
    }
}

fn dashboard_arn(name: &str) -> String {
    format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:dashboard/{name}")
}

/// A single-Region event data store; answers its id and ARN.
async fn create_store(harness: &Harness, name: &str) -> (String, String) {
    let created = harness
        .state
        .create_event_data_store(
            &harness.ctx(REGION),
            CreateEventDataStoreRequest {
                name: name.to_owned(),
                multi_region_enabled: Some(false),
                ..CreateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap();
    let arn = created.event_data_store_arn.unwrap();
    (arn.rsplit('/').next().unwrap().to_owned(), arn)
}

/// Lets CloudTrail run the queries of the dashboards `dashboards` on the event data store
/// `store_arn` (replacing its policy), as AWS's example policy does.
async fn allow_dashboards(harness: &Harness, store_arn: &str, dashboards: &[&str]) {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DashboardQueries",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "cloudtrail:StartQuery",
            "Resource": store_arn,
            "Condition": {"StringEquals": {
                "aws:SourceArn": dashboards,
                "aws:SourceAccount": ACCOUNT,
            }},
        }],
    });
    harness
        .state
        .put_resource_policy(
            &harness.ctx(REGION),
            PutResourcePolicyRequest {
                resource_arn: store_arn.to_owned(),
                resource_policy: policy.to_string(),
            },
        )
        .await
        .unwrap();
}

fn widget(statement: &str, parameters: &[&str], title: &str) -> RequestWidget {
    RequestWidget {
        query_statement: statement.to_owned(),
        query_parameters: (!parameters.is_empty())
            .then(|| parameters.iter().map(|p| (*p).to_owned()).collect()),
        view_properties: BTreeMap::from([
            ("Height".to_owned(), "2".to_owned()),
            ("Title".to_owned(), title.to_owned()),
        ]),
    }
}

fn named(name: &str, widgets: Vec<RequestWidget>) -> CreateDashboardRequest {
    CreateDashboardRequest {
        name: name.to_owned(),
        widgets: Some(widgets),
        ..CreateDashboardRequest::default()
    }
}

fn schedule(unit: RefreshScheduleFrequencyUnit, value: i32, time: &str) -> RefreshSchedule {
    RefreshSchedule {
        frequency: Some(RefreshScheduleFrequency {
            unit: Some(unit),
            value: Some(value),
        }),
        status: Some(RefreshScheduleStatus::Enabled),
        time_of_day: Some(time.to_owned()),
    }
}

async fn get(
    harness: &Harness,
    dashboard: &str,
) -> Result<palisade_model_cloudtrail::types::GetDashboardResponse, ServiceError> {
    harness
        .state
        .get_dashboard(
            &harness.ctx(REGION),
            GetDashboardRequest {
                dashboard_id: dashboard.to_owned(),
            },
        )
        .await
}

async fn refresh(
    harness: &Harness,
    dashboard: &str,
    values: &[(&str, &str)],
) -> Result<String, ServiceError> {
    let values: BTreeMap<String, String> = values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    harness
        .state
        .start_dashboard_refresh(
            &harness.ctx(REGION),
            StartDashboardRefreshRequest {
                dashboard_id: dashboard.to_owned(),
                query_parameter_values: (!values.is_empty()).then_some(values),
            },
        )
        .await
        .map(|started| started.refresh_id.unwrap())
}

/// The query a refresh ran for the widget `alias`: its id and status.
async fn widget_query(harness: &Harness, alias: &str, refresh_id: &str) -> (String, QueryStatus) {
    let described = harness
        .state
        .describe_query(
            &harness.ctx(REGION),
            DescribeQueryRequest {
                query_alias: Some(alias.to_owned()),
                refresh_id: Some(refresh_id.to_owned()),
                ..DescribeQueryRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.error_message, None);
    (described.query_id.unwrap(), described.query_status.unwrap())
}

/// Every row of the finished query `id`, each as column → value.
async fn rows(harness: &Harness, id: &str) -> Vec<BTreeMap<String, String>> {
    let results = harness
        .state
        .get_query_results(
            &harness.ctx(REGION),
            GetQueryResultsRequest {
                query_id: id.to_owned(),
                ..GetQueryResultsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(results.query_status, Some(QueryStatus::Finished));
    results
        .query_result_rows
        .unwrap()
        .into_iter()
        .map(|row| row.into_iter().flatten().collect())
        .collect()
}

fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(column, value)| ((*column).to_owned(), (*value).to_owned()))
        .collect()
}

fn aliases(widgets: &[Widget]) -> Vec<String> {
    widgets
        .iter()
        .map(|widget| widget.query_alias.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn a_dashboard_lives_and_dies_as_in_aws() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let (store, _) = create_store(&harness, "audit").await;
    let counts = format!("SELECT eventName, count(*) AS calls FROM {store} GROUP BY eventName");
    let recent = format!("SELECT eventName FROM {store} WHERE eventTime > '?'");
    let created = harness
        .state
        .create_dashboard(
            &ctx,
            CreateDashboardRequest {
                refresh_schedule: Some(schedule(RefreshScheduleFrequencyUnit::Hours, 6, "00:15")),
                tags_list: Some(vec![Tag {
                    key: "team".to_owned(),
                    value: Some("sec".to_owned()),
                }]),
                termination_protection_enabled: Some(true),
                ..named(
                    "ops-board",
                    vec![
                        widget(&counts, &[], "Calls"),
                        widget(&recent, &["$StartTime$"], "Recent"),
                    ],
                )
            },
        )
        .await
        .unwrap();
    let arn = dashboard_arn("ops-board");
    assert_eq!(created.dashboard_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(created.r#type, Some(DashboardType::Custom));
    assert_eq!(created.termination_protection_enabled, Some(true));
    assert_eq!(
        created.refresh_schedule,
        Some(schedule(RefreshScheduleFrequencyUnit::Hours, 6, "00:15"))
    );
    let widgets = created.widgets.unwrap();
    let first_aliases = aliases(&widgets);
    assert_eq!(first_aliases.len(), 2);
    assert_ne!(first_aliases[0], first_aliases[1]);
    assert_eq!(widgets[1].query_statement.as_deref(), Some(recent.as_str()));
    assert_eq!(
        widgets[1].query_parameters,
        Some(vec!["$StartTime$".to_owned()])
    );
    assert_eq!(widgets[0].query_parameters, None);
    assert_eq!(
        widgets[0].view_properties.as_ref().unwrap()["Title"],
        "Calls"
    );

    for reference in ["ops-board", arn.as_str()] {
        let got = get(&harness, reference).await.unwrap();
        assert_eq!(got.dashboard_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(got.status, Some(DashboardStatus::Created));
        assert_eq!(
            got.widgets.as_ref().map(|w| aliases(w)),
            Some(first_aliases.clone())
        );
        assert_eq!(got.created_timestamp, got.updated_timestamp);
        assert_eq!(got.last_refresh_id, None);
        assert_eq!(got.termination_protection_enabled, Some(true));
    }
    let elsewhere = harness
        .state
        .get_dashboard(
            &harness.ctx("eu-west-1"),
            GetDashboardRequest {
                dashboard_id: "ops-board".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&elsewhere), "ResourceNotFoundException");
    let clash = harness
        .state
        .create_dashboard(&ctx, named("ops-board", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(code(&clash), "ConflictException");

    // Tags and the dashboard's own resource policy, by ARN.
    harness
        .state
        .add_tags(
            &ctx,
            AddTagsRequest {
                resource_id: arn.clone(),
                tags_list: vec![Tag {
                    key: "env".to_owned(),
                    value: None,
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
        .unwrap()
        .resource_tag_list
        .unwrap();
    assert_eq!(
        tags[0].tags_list,
        Some(vec![
            Tag {
                key: "env".to_owned(),
                value: None
            },
            Tag {
                key: "team".to_owned(),
                value: Some("sec".to_owned())
            },
        ])
    );
    let refresh_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "cloudtrail:StartDashboardRefresh",
            "Resource": arn,
        }],
    })
    .to_string();
    harness
        .state
        .put_resource_policy(
            &ctx,
            PutResourcePolicyRequest {
                resource_arn: arn.clone(),
                resource_policy: refresh_policy.clone(),
            },
        )
        .await
        .unwrap();
    let policy = harness
        .state
        .get_resource_policy(
            &ctx,
            GetResourcePolicyRequest {
                resource_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(policy.resource_policy, Some(refresh_policy));
    let missing = harness
        .state
        .list_tags(
            &ctx,
            ListTagsRequest {
                resource_id_list: vec![dashboard_arn("nothing-here")],
                next_token: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "ResourceNotFoundException");

    // The widget whose query is unchanged keeps its alias; the new one gets its own.
    harness.advance(60);
    let updated = harness
        .state
        .update_dashboard(
            &ctx,
            UpdateDashboardRequest {
                dashboard_id: arn.clone(),
                widgets: Some(vec![
                    widget(&format!("SELECT eventSource FROM {store}"), &[], "Sources"),
                    widget(&counts, &[], "Calls, renamed"),
                ]),
                refresh_schedule: Some(RefreshSchedule {
                    status: Some(RefreshScheduleStatus::Disabled),
                    ..schedule(RefreshScheduleFrequencyUnit::Days, 1, "06:00")
                }),
                ..UpdateDashboardRequest::default()
            },
        )
        .await
        .unwrap();
    let new_aliases = aliases(updated.widgets.as_ref().unwrap());
    assert_eq!(new_aliases[1], first_aliases[0]);
    assert!(!first_aliases.contains(&new_aliases[0]));
    assert!(updated.updated_timestamp > updated.created_timestamp);
    let got = get(&harness, "ops-board").await.unwrap();
    assert_eq!(got.status, Some(DashboardStatus::Updated));
    assert_eq!(
        got.refresh_schedule.unwrap().status,
        Some(RefreshScheduleStatus::Disabled)
    );

    // Listing: by prefix, in pages, and no managed dashboards.
    for name in ["ops-extra", "team-board"] {
        harness
            .state
            .create_dashboard(&ctx, named(name, Vec::new()))
            .await
            .unwrap();
    }
    let list = |prefix: Option<&str>, token: Option<String>, kind: Option<DashboardType>| {
        let request = ListDashboardsRequest {
            name_prefix: prefix.map(str::to_owned),
            r#type: kind,
            next_token: token,
            max_results: Some(1),
        };
        let state = &harness.state;
        let ctx = &ctx;
        async move { state.list_dashboards(ctx, request).await.unwrap() }
    };
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let page = list(Some("ops-"), token.take(), None).await;
        let dashboards = page.dashboards.unwrap();
        assert!(dashboards.len() <= 1);
        listed.extend(dashboards.into_iter().map(|detail| {
            assert_eq!(detail.r#type, Some(DashboardType::Custom));
            detail.dashboard_arn.unwrap()
        }));
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, [arn.clone(), dashboard_arn("ops-extra")]);
    let everything = harness
        .state
        .list_dashboards(&ctx, ListDashboardsRequest::default())
        .await
        .unwrap();
    assert_eq!(everything.dashboards.unwrap().len(), 3);
    let managed = list(None, None, Some(DashboardType::Managed)).await;
    assert_eq!(managed.dashboards, Some(Vec::new()));

    // Termination protection, then deletion.
    let delete = |id: String| {
        let state = &harness.state;
        let ctx = &ctx;
        async move {
            state
                .delete_dashboard(ctx, DeleteDashboardRequest { dashboard_id: id })
                .await
        }
    };
    let protected = delete(arn.clone()).await.unwrap_err();
    assert_eq!(code(&protected), "ConflictException");
    harness
        .state
        .update_dashboard(
            &ctx,
            UpdateDashboardRequest {
                dashboard_id: "ops-board".to_owned(),
                termination_protection_enabled: Some(false),
                ..UpdateDashboardRequest::default()
            },
        )
        .await
        .unwrap();
    delete(arn.clone()).await.unwrap();
    assert_eq!(
        code(&get(&harness, &arn).await.unwrap_err()),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(&delete(arn.clone()).await.unwrap_err()),
        "ResourceNotFoundException"
    );
    // Termination protection is off by default.
    delete("ops-extra".to_owned()).await.unwrap();
}

#[tokio::test]
async fn dashboards_answer_aws_errors() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let (store, store_arn) = create_store(&harness, "audit").await;
    let create = |request: CreateDashboardRequest| {
        let state = &harness.state;
        let ctx = &ctx;
        async move { state.create_dashboard(ctx, request).await }
    };
    let fails = |request: CreateDashboardRequest| {
        let create = &create;
        async move { code(&create(request).await.unwrap_err()).to_owned() }
    };
    let plain = format!("SELECT eventName FROM {store}");
    assert_eq!(
        fails(named(
            "bad-sql",
            vec![widget("SELECT FROM WHERE", &[], "x")]
        ))
        .await,
        "InvalidQueryStatementException"
    );
    assert_eq!(
        fails(named(
            "bad-count",
            vec![widget(&format!("{plain} WHERE eventTime > '?'"), &[], "x")]
        ))
        .await,
        "InvalidQueryStatementException",
        "'?' without a parameter is a string, not a timestamp"
    );
    assert_eq!(
        fails(named(
            "too-many-params",
            vec![widget(&plain, &["$StartTime$"], "x")]
        ))
        .await,
        "InvalidQueryStatementException"
    );
    assert_eq!(
        fails(named(
            "bad-param",
            vec![widget(
                &format!("{plain} WHERE eventName = ?"),
                &["$EventDataStoreId$"],
                "x"
            )]
        ))
        .await,
        "InvalidParameterException"
    );
    assert_eq!(
        fails(named(
            "no-store",
            vec![widget(
                "SELECT eventName FROM 00000000-0000-0000-0000-000000000000",
                &[],
                "x"
            )]
        ))
        .await,
        "EventDataStoreNotFoundException"
    );
    assert_eq!(
        fails(named("too-wide", vec![widget(&plain, &[], "x"); 11])).await,
        "ServiceQuotaExceededException"
    );
    for bad in [
        schedule(RefreshScheduleFrequencyUnit::Hours, 2, "00:00"),
        schedule(RefreshScheduleFrequencyUnit::Days, 2, "00:00"),
        schedule(RefreshScheduleFrequencyUnit::Days, 1, "25:00"),
        RefreshSchedule {
            status: Some(RefreshScheduleStatus::Enabled),
            ..RefreshSchedule::default()
        },
    ] {
        let request = CreateDashboardRequest {
            refresh_schedule: Some(bad.clone()),
            ..named("bad-schedule", Vec::new())
        };
        assert_eq!(fails(request).await, "InvalidParameterException", "{bad:?}");
    }
    assert_eq!(
        fails(named("AWSCloudTrail-Highlights", Vec::new())).await,
        "UnsupportedOperationException"
    );
    let refused = harness
        .state
        .start_dashboard_refresh(
            &ctx,
            StartDashboardRefreshRequest {
                dashboard_id: "nothing-here".to_owned(),
                query_parameter_values: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "ResourceNotFoundException");

    // Widgets over a store pending deletion are refused, and so are refreshes reading it.
    create(named("over-store", vec![widget(&plain, &[], "x")]))
        .await
        .unwrap();
    allow_dashboards(&harness, &store_arn, &[&dashboard_arn("over-store")]).await;
    let bad_value = refresh(&harness, "over-store", &[("$StartTime$", "yesterday")])
        .await
        .unwrap_err();
    assert_eq!(code(&bad_value), "InvalidParameterException");
    harness
        .state
        .update_event_data_store(
            &ctx,
            UpdateEventDataStoreRequest {
                event_data_store: store.clone(),
                termination_protection_enabled: Some(false),
                ..UpdateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap();
    harness
        .state
        .delete_event_data_store(
            &ctx,
            DeleteEventDataStoreRequest {
                event_data_store: store.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        fails(named("late", vec![widget(&plain, &[], "x")])).await,
        "InactiveEventDataStoreException"
    );
    assert_eq!(
        code(&refresh(&harness, "over-store", &[]).await.unwrap_err()),
        "InactiveEventDataStoreException"
    );
}

#[tokio::test]
async fn a_region_holds_at_most_a_hundred_dashboards() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    for n in 0..100 {
        harness
            .state
            .create_dashboard(&ctx, named(&format!("board-{n:03}"), Vec::new()))
            .await
            .unwrap();
    }
    let over = harness
        .state
        .create_dashboard(&ctx, named("board-100", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(code(&over), "ServiceQuotaExceededException");
    // Another region has its own hundred.
    harness
        .state
        .create_dashboard(&harness.ctx("eu-west-1"), named("board-100", Vec::new()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refresh_runs_each_widget_with_the_parameter_values() {
    let harness = Harness::new().await;
    let (store, store_arn) = create_store(&harness, "audit").await;
    harness.advance(60);
    harness.call(REGION, "ListTrails").await; // 00:01
    harness.advance(60);
    harness.call(REGION, "GetTrail").await; // 00:02
    harness.call(REGION, "GetTrail").await;
    harness.advance(2 * HOUR);
    harness.call(REGION, "DescribeTrails").await; // 02:02

    let counts = format!(
        "SELECT eventName, count(*) AS calls FROM {store} \
         WHERE eventTime >= '?' AND eventTime <= '?' GROUP BY eventName ORDER BY eventName"
    );
    let buckets = format!(
        "SELECT date_trunc(?, eventTime) AS bucket, count(*) AS calls FROM {store} \
         GROUP BY 1 ORDER BY 1"
    );
    let created = harness
        .state
        .create_dashboard(
            &harness.ctx(REGION),
            named(
                "trail-calls",
                vec![
                    widget(&counts, &["$StartTime$", "$EndTime$"], "Calls"),
                    widget(&buckets, &["$Period$"], "By period"),
                ],
            ),
        )
        .await
        .unwrap();
    let widget_aliases = aliases(&created.widgets.unwrap());
    let arn = dashboard_arn("trail-calls");
    allow_dashboards(&harness, &store_arn, &[&arn]).await;

    let refresh_id = refresh(
        &harness,
        "trail-calls",
        &[
            ("$StartTime$", "2024-03-01T00:01:30Z"),
            ("$EndTime$", "2024-03-01T03:00:00Z"),
            ("$Period$", "hour"),
        ],
    )
    .await
    .unwrap();
    assert!((10..=20).contains(&refresh_id.len()));
    assert!(refresh_id.bytes().all(|b| b.is_ascii_digit()));
    let got = get(&harness, &arn).await.unwrap();
    assert_eq!(got.last_refresh_id.as_deref(), Some(refresh_id.as_str()));
    assert_eq!(got.last_refresh_failure_reason, None);
    let (_, status) = widget_query(&harness, &widget_aliases[0], &refresh_id).await;
    assert_eq!(status, QueryStatus::Queued);
    // One refresh at a time.
    let busy = refresh(&harness, &arn, &[]).await.unwrap_err();
    assert_eq!(code(&busy), "ServiceQuotaExceededException");

    harness.state.run_queued().await.unwrap();
    let (counted, status) = widget_query(&harness, &widget_aliases[0], &refresh_id).await;
    assert_eq!(status, QueryStatus::Finished);
    assert_eq!(
        rows(&harness, &counted).await,
        [
            row(&[("eventName", "DescribeTrails"), ("calls", "1")]),
            row(&[("eventName", "GetTrail"), ("calls", "2")]),
        ]
    );
    let (bucketed, _) = widget_query(&harness, &widget_aliases[1], &refresh_id).await;
    assert_eq!(
        rows(&harness, &bucketed).await,
        [
            row(&[("bucket", "2024-03-01 00:00:00.000"), ("calls", "3")]),
            row(&[("bucket", "2024-03-01 02:00:00.000"), ("calls", "1")]),
        ]
    );

    // By default a refresh covers the day before it, and its period is the hour.
    let second = refresh(&harness, &arn, &[]).await.unwrap();
    assert_ne!(second, refresh_id);
    harness.state.run_queued().await.unwrap();
    let (counted, _) = widget_query(&harness, &widget_aliases[0], &second).await;
    assert_eq!(
        rows(&harness, &counted).await,
        [
            row(&[("eventName", "DescribeTrails"), ("calls", "1")]),
            row(&[("eventName", "GetTrail"), ("calls", "2")]),
            row(&[("eventName", "ListTrails"), ("calls", "1")]),
        ]
    );
    // The first refresh's queries are still there.
    assert_eq!(
        widget_query(&harness, &widget_aliases[0], &refresh_id)
            .await
            .1,
        QueryStatus::Finished
    );
}

#[tokio::test]
async fn a_refresh_needs_each_event_data_store_to_let_cloudtrail_query_it() {
    let harness = Harness::new().await;
    let (store, store_arn) = create_store(&harness, "audit").await;
    let (other, other_arn) = create_store(&harness, "other").await;
    harness
        .state
        .create_dashboard(
            &harness.ctx(REGION),
            named(
                "two-stores",
                vec![
                    widget(&format!("SELECT eventName FROM {store}"), &[], "Audit"),
                    widget(&format!("SELECT eventName FROM {other}"), &[], "Other"),
                ],
            ),
        )
        .await
        .unwrap();
    let arn = dashboard_arn("two-stores");
    let denied = refresh(&harness, &arn, &[]).await.unwrap_err();
    assert_eq!(code(&denied), "AccessDeniedException");
    assert!(denied.message.contains(&store_arn), "{}", denied.message);

    // A policy for another dashboard does not do.
    allow_dashboards(&harness, &store_arn, &[&dashboard_arn("elsewhere")]).await;
    assert_eq!(
        code(&refresh(&harness, &arn, &[]).await.unwrap_err()),
        "AccessDeniedException"
    );
    // Nor does allowing one store of two: nothing runs.
    allow_dashboards(&harness, &store_arn, &[&arn]).await;
    let denied = refresh(&harness, &arn, &[]).await.unwrap_err();
    assert_eq!(code(&denied), "AccessDeniedException");
    assert!(denied.message.contains(&other_arn), "{}", denied.message);
    assert_eq!(get(&harness, &arn).await.unwrap().last_refresh_id, None);

    allow_dashboards(&harness, &other_arn, &[&arn]).await;
    refresh(&harness, &arn, &[]).await.unwrap();
}

#[tokio::test]
async fn a_schedule_refreshes_once_per_period() {
    let harness = Harness::new().await;
    let ctx = harness.ctx(REGION);
    let (store, store_arn) = create_store(&harness, "audit").await;
    let statement = format!("SELECT eventName FROM {store}");
    // Created at 00:00; hourly at half past.
    for (name, status) in [
        ("hourly", RefreshScheduleStatus::Enabled),
        ("switched-off", RefreshScheduleStatus::Disabled),
        ("not-allowed", RefreshScheduleStatus::Enabled),
    ] {
        harness
            .state
            .create_dashboard(
                &ctx,
                CreateDashboardRequest {
                    refresh_schedule: Some(RefreshSchedule {
                        status: Some(status),
                        ..schedule(RefreshScheduleFrequencyUnit::Hours, 1, "09:30")
                    }),
                    ..named(name, vec![widget(&statement, &[], "Calls")])
                },
            )
            .await
            .unwrap();
    }
    allow_dashboards(
        &harness,
        &store_arn,
        &[&dashboard_arn("hourly"), &dashboard_arn("switched-off")],
    )
    .await;
    let due = || harness.state.refresh_due_dashboards();
    let last_refresh = |name: &'static str| {
        let harness = &harness;
        async move { get(harness, name).await.unwrap().last_refresh_id }
    };

    assert_eq!(due().await.unwrap(), 0);
    harness.advance(29 * 60);
    assert_eq!(due().await.unwrap(), 0);
    harness.advance(60); // 00:30
    assert_eq!(due().await.unwrap(), 1);
    let first = last_refresh("hourly").await.unwrap();
    let (query, _) = widget_query(
        &harness,
        &aliases(&get(&harness, "hourly").await.unwrap().widgets.unwrap())[0],
        &first,
    )
    .await;
    assert_eq!(due().await.unwrap(), 0, "once per period");
    let failed = get(&harness, "not-allowed").await.unwrap();
    assert_eq!(failed.last_refresh_id, None);
    assert!(
        failed
            .last_refresh_failure_reason
            .unwrap()
            .contains("not authorized"),
    );
    assert_eq!(last_refresh("switched-off").await, None);

    // The next period comes while the refresh still runs: it waits for it.
    harness.advance(HOUR); // 01:30
    assert_eq!(due().await.unwrap(), 0);
    harness.state.run_queued().await.unwrap();
    let ran = harness
        .state
        .describe_query(
            &ctx,
            DescribeQueryRequest {
                query_id: Some(query),
                ..DescribeQueryRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ran.query_status, Some(QueryStatus::Finished));
    assert_eq!(due().await.unwrap(), 1);
    let second = last_refresh("hourly").await.unwrap();
    assert_ne!(second, first);
    harness.state.run_queued().await.unwrap();

    // Periods missed while nothing looked are caught up once.
    harness.advance(5 * HOUR); // 06:30
    assert_eq!(due().await.unwrap(), 1);
    assert_eq!(due().await.unwrap(), 0);
    harness.state.run_queued().await.unwrap();

    // A new schedule starts from when it was set.
    harness
        .state
        .update_dashboard(
            &ctx,
            UpdateDashboardRequest {
                dashboard_id: "hourly".to_owned(),
                refresh_schedule: Some(schedule(RefreshScheduleFrequencyUnit::Days, 1, "06:45")),
                ..UpdateDashboardRequest::default()
            },
        )
        .await
        .unwrap();
    harness.advance(14 * 60); // 06:44
    assert_eq!(due().await.unwrap(), 0);
    harness.advance(60); // 06:45
    assert_eq!(due().await.unwrap(), 1);
    harness.state.run_queued().await.unwrap();
    harness.advance(23 * HOUR);
    assert_eq!(due().await.unwrap(), 0);
    harness.advance(HOUR);
    assert_eq!(due().await.unwrap(), 1);
}
