//! CloudTrail Lake imports: trail log files delivered to the local directory that stands in for
//! S3, copied back into event data stores, where queries see them beside the live events; their
//! statistics and failures, stopping and retrying, and AWS's errors.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use std::io::Write as _;
use std::path::Path;

use palisade_core::ServiceError;
use palisade_core::service::ErrorKind;
use palisade_core::value::Timestamp;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    CreateEventDataStoreRequest, DeleteEventDataStoreRequest, DescribeQueryRequest,
    GetImportRequest, GetImportResponse, GetQueryResultsRequest, ImportFailureListItem,
    ImportFailureStatus, ImportSource, ImportStatistics, ImportStatus, ListImportFailuresRequest,
    ListImportsRequest, QueryStatus, RestoreEventDataStoreRequest, S3ImportSource,
    StartImportRequest, StartImportResponse, StartQueryRequest, StopImportRequest,
};
use support::{ACCOUNT, Harness, START, files};

const REGION: &str = "us-east-1";
const DAY: u64 = 24 * 60 * 60;
const ROLE: &str = "arn:aws:iam::111122223333:role/import";
/// Where the harness's trails deliver, as an S3 location.
const LOGS: &str = "s3://bucket/audit/";

fn code(error: &ServiceError) -> &str {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code,
        _ => "not modeled",
    }
}

/// The time `seconds` after the harness's start.
fn at(seconds: u64) -> Timestamp {
    Timestamp::from_millis(i64::try_from((START + seconds) * 1000).unwrap())
}

/// Creates a single-Region event data store without termination protection; answers its ARN.
async fn create_store(harness: &Harness, name: &str, retention: Option<i32>) -> String {
    harness
        .state
        .create_event_data_store(
            &harness.ctx(REGION),
            CreateEventDataStoreRequest {
                name: name.to_owned(),
                multi_region_enabled: Some(false),
                termination_protection_enabled: Some(false),
                retention_period: retention,
                ..CreateEventDataStoreRequest::default()
            },
        )
        .await
        .unwrap()
        .event_data_store_arn
        .unwrap()
}

fn source(uri: &str) -> ImportSource {
    ImportSource {
        s3: S3ImportSource {
            s3_location_uri: uri.to_owned(),
            s3_bucket_region: REGION.to_owned(),
            s3_bucket_access_role_arn: ROLE.to_owned(),
        },
    }
}

fn new_import(destination: &str, uri: &str) -> StartImportRequest {
    StartImportRequest {
        destinations: Some(vec![destination.to_owned()]),
        import_source: Some(source(uri)),
        ..StartImportRequest::default()
    }
}

async fn start(
    harness: &Harness,
    request: StartImportRequest,
) -> Result<StartImportResponse, ServiceError> {
    harness
        .state
        .start_import(&harness.ctx(REGION), request)
        .await
}

/// Starts `request` and runs it to its end; answers the import's id.
async fn import(harness: &Harness, request: StartImportRequest) -> String {
    let started = start(harness, request).await.unwrap();
    assert_eq!(started.import_status, Some(ImportStatus::Initializing));
    harness.state.run_queued_imports().await.unwrap();
    started.import_id.unwrap()
}

async fn get(harness: &Harness, id: &str) -> GetImportResponse {
    harness
        .state
        .get_import(
            &harness.ctx(REGION),
            GetImportRequest {
                import_id: id.to_owned(),
            },
        )
        .await
        .unwrap()
}

fn statistics(found: i64, files: i64, events: i64, failed: i64) -> ImportStatistics {
    ImportStatistics {
        prefixes_found: Some(found),
        prefixes_completed: Some(found),
        files_completed: Some(files),
        events_completed: Some(events),
        failed_entries: Some(failed),
    }
}

/// Every failure of the import `id`, a page of one at a time, as (file name, status, type).
async fn failures(harness: &Harness, id: &str) -> Vec<(String, ImportFailureStatus, String)> {
    let mut listed: Vec<ImportFailureListItem> = Vec::new();
    let mut next_token = None;
    loop {
        let page = harness
            .state
            .list_import_failures(
                &harness.ctx(REGION),
                ListImportFailuresRequest {
                    import_id: id.to_owned(),
                    max_results: Some(1),
                    next_token: next_token.take(),
                },
            )
            .await
            .unwrap();
        let failures = page.failures.unwrap();
        assert!(failures.len() <= 1);
        listed.extend(failures);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => break,
        }
    }
    listed
        .into_iter()
        .map(|failure| {
            assert!(failure.error_message.is_some() && failure.last_updated_time.is_some());
            let location = failure.location.unwrap();
            let name = location.rsplit('/').next().unwrap().to_owned();
            (name, failure.status.unwrap(), failure.error_type.unwrap())
        })
        .collect()
}

/// The event names `SELECT eventName FROM <store> ORDER BY eventTime, eventName` answers.
async fn event_names(harness: &Harness, store_arn: &str) -> Vec<String> {
    let ctx = harness.ctx(REGION);
    let id = store_arn.rsplit('/').next().unwrap();
    let statement = format!("SELECT eventName FROM {id} ORDER BY eventTime, eventName");
    let started = harness
        .state
        .start_query(
            &ctx,
            StartQueryRequest {
                query_statement: Some(statement),
                ..StartQueryRequest::default()
            },
        )
        .await
        .unwrap();
    let query_id = started.query_id.unwrap();
    harness.state.run_queued().await.unwrap();
    let described = harness
        .state
        .describe_query(
            &ctx,
            DescribeQueryRequest {
                query_id: Some(query_id.clone()),
                ..DescribeQueryRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.query_status, Some(QueryStatus::Finished));
    let results = harness
        .state
        .get_query_results(
            &ctx,
            GetQueryResultsRequest {
                query_id,
                ..GetQueryResultsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(results.next_token, None);
    results
        .query_result_rows
        .unwrap()
        .into_iter()
        .map(|row| row[0]["eventName"].clone())
        .collect()
}

/// A trail delivering to `s3://bucket/audit/`, with digests, and the calls `names` recorded a
/// minute apart from a minute after the start, delivered: one log file. A minute passes after,
/// so that an event data store created next has none of them live (AWS's advice to avoid
/// duplicates).
async fn delivered(harness: &Harness, names: &[&str]) {
    harness.create_trail("main", "bucket", false, true).await;
    record(harness, names).await;
    harness.state.deliver_now().await.unwrap();
    harness.advance(60);
}

async fn record(harness: &Harness, names: &[&str]) {
    for name in names {
        harness.advance(60);
        harness.call(REGION, name).await;
    }
}

/// The day directory of the log files delivered on the harness's first day.
fn day_directory(harness: &Harness) -> std::path::PathBuf {
    harness.root.join(format!(
        "bucket/audit/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/03/01"
    ))
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A log file of records named `names`, each with `eventTime` `time` and an `eventID`.
fn log_file(names: &[&str], time: &str) -> Vec<u8> {
    gzipped(&serde_json::to_vec(&log_records(names, time)).unwrap())
}

/// The JSON of [`log_file`].
fn log_records(names: &[&str], time: &str) -> serde_json::Value {
    let records: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            serde_json::json!({
                "eventVersion": "1.11",
                "eventTime": time,
                "eventID": format!("00000000-0000-4000-8000-{index:012}-{name}"),
                "eventSource": "cloudtrail.amazonaws.com",
                "eventName": name,
                "awsRegion": REGION,
                "eventCategory": "Management",
                "recipientAccountId": ACCOUNT,
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn imported_events_are_queried_once_beside_the_live_ones() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails", "ListTrails", "GetTrail"]).await;
    assert_eq!(files(&harness.root, "/CloudTrail/").len(), 1);
    assert!(!files(&harness.root, "CloudTrail-Digest").is_empty());
    let store = create_store(&harness, "imported", None).await;
    record(&harness, &["GetTrailStatus"]).await;

    // From 100 s to 200 s: ListTrails (at 120 s) and GetTrail (at 180 s), not DescribeTrails.
    let first = import(
        &harness,
        StartImportRequest {
            start_event_time: Some(at(100)),
            end_event_time: Some(at(200)),
            ..new_import(&store, LOGS)
        },
    )
    .await;
    let got = get(&harness, &first).await;
    assert_eq!(got.import_status, Some(ImportStatus::Completed));
    assert_eq!(got.import_statistics, Some(statistics(1, 1, 2, 0)));
    assert_eq!(got.destinations, Some(vec![store.clone()]));
    assert_eq!(got.import_source, Some(source(LOGS)));
    assert_eq!(got.start_event_time, Some(at(100)));
    assert!(failures(&harness, &first).await.is_empty());
    assert_eq!(
        event_names(&harness, &store).await,
        ["ListTrails", "GetTrail", "GetTrailStatus"]
    );

    // The whole prefix again: what the first import copied is not copied twice. Digests are
    // not log files: neither copied nor failures.
    harness.advance(1);
    let second = import(&harness, new_import(&store, LOGS)).await;
    let got = get(&harness, &second).await;
    assert_eq!(got.import_status, Some(ImportStatus::Completed));
    assert_eq!(got.import_statistics, Some(statistics(1, 1, 3, 0)));
    assert_eq!(
        event_names(&harness, &store).await,
        ["DescribeTrails", "ListTrails", "GetTrail", "GetTrailStatus"]
    );

    // Listed oldest first, by destination and by status, a page at a time.
    let other = create_store(&harness, "other", None).await;
    harness.advance(1);
    let third = import(&harness, new_import(&other, LOGS)).await;
    let list = async |request: ListImportsRequest| {
        let mut ids = Vec::new();
        let mut request = ListImportsRequest {
            max_results: Some(1),
            ..request
        };
        loop {
            let page = harness
                .state
                .list_imports(&harness.ctx(REGION), request.clone())
                .await
                .unwrap();
            ids.extend(page.imports.unwrap().into_iter().map(|item| {
                assert_eq!(item.import_status, Some(ImportStatus::Completed));
                item.import_id.unwrap()
            }));
            match page.next_token {
                Some(token) => request.next_token = Some(token),
                None => return ids,
            }
        }
    };
    assert_eq!(
        list(ListImportsRequest::default()).await,
        [first.clone(), second.clone(), third.clone()]
    );
    let to_store = ListImportsRequest {
        destination: Some(store.clone()),
        ..ListImportsRequest::default()
    };
    assert_eq!(list(to_store).await, [first, second]);
    let completed = ListImportsRequest {
        import_status: Some(ImportStatus::Completed),
        destination: Some(other.rsplit('/').next().unwrap().to_owned()),
        ..ListImportsRequest::default()
    };
    assert_eq!(list(completed).await, [third]);
    let failed = ListImportsRequest {
        import_status: Some(ImportStatus::Failed),
        ..ListImportsRequest::default()
    };
    assert!(list(failed).await.is_empty());
    // Another region has imports of its own.
    let elsewhere = harness
        .state
        .list_imports(&harness.ctx("eu-west-1"), ListImportsRequest::default())
        .await
        .unwrap();
    assert_eq!(elsewhere.imports, Some(Vec::new()));
}

#[tokio::test]
async fn bad_files_are_failures_while_the_rest_is_copied_and_a_retry_resumes() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails", "ListTrails"]).await;
    let day = day_directory(&harness);
    write(&day.join("a-uncompressed.json.gz"), b"{\"Records\":[]}");
    write(&day.join("b-not-json.json.gz"), &gzipped(b"hello"));
    // One file with a record that has an eventID and one that has none.
    let mut records = log_records(&["Handmade"], "2024-03-01T00:00:30Z");
    records["Records"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"eventName": "NoId", "eventTime": "2024-03-01T00:00:30Z"}));
    write(
        &day.join("c-partial.json.gz"),
        &gzipped(&serde_json::to_vec(&records).unwrap()),
    );
    let store = create_store(&harness, "imported", None).await;

    let id = import(&harness, new_import(&store, LOGS)).await;
    let got = get(&harness, &id).await;
    // As AWS ends an import with failures: FAILED, having copied what it could.
    assert_eq!(got.import_status, Some(ImportStatus::Failed));
    assert_eq!(got.import_statistics, Some(statistics(1, 1, 3, 3)));
    let failed = ImportFailureStatus::Failed;
    assert_eq!(
        failures(&harness, &id).await,
        [
            (
                "a-uncompressed.json.gz".to_owned(),
                failed.clone(),
                "InvalidFileFormat".to_owned()
            ),
            (
                "b-not-json.json.gz".to_owned(),
                failed.clone(),
                "InvalidFileFormat".to_owned()
            ),
            (
                "c-partial.json.gz".to_owned(),
                failed.clone(),
                "InvalidEvent".to_owned()
            ),
        ]
    );
    assert_eq!(
        event_names(&harness, &store).await,
        ["Handmade", "DescribeTrails", "ListTrails"]
    );

    // Once the uncompressed file is fixed, a retry copies it; the others fail again, and what
    // they copied before is neither stored nor counted twice.
    write(
        &day.join("a-uncompressed.json.gz"),
        &log_file(&["Fixed"], "2024-03-01T00:00:45Z"),
    );
    let retried = start(
        &harness,
        StartImportRequest {
            import_id: Some(id.clone()),
            ..StartImportRequest::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(retried.import_status, Some(ImportStatus::Initializing));
    assert_eq!(retried.import_id.as_deref(), Some(id.as_str()));
    assert!(
        failures(&harness, &id)
            .await
            .iter()
            .all(|(_, status, _)| *status == ImportFailureStatus::Retry)
    );
    harness.state.run_queued_imports().await.unwrap();
    let got = get(&harness, &id).await;
    assert_eq!(got.import_status, Some(ImportStatus::Failed));
    assert_eq!(got.import_statistics, Some(statistics(1, 2, 4, 2)));
    let statuses: Vec<ImportFailureStatus> = failures(&harness, &id)
        .await
        .into_iter()
        .map(|(_, status, _)| status)
        .collect();
    assert_eq!(
        statuses,
        [ImportFailureStatus::Succeeded, failed.clone(), failed]
    );
    assert_eq!(
        event_names(&harness, &store).await,
        ["Handmade", "Fixed", "DescribeTrails", "ListTrails"]
    );
}

#[tokio::test]
async fn an_import_is_stopped_retried_and_forgotten_after_30_days() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails"]).await;
    let store = create_store(&harness, "imported", None).await;
    let started = start(&harness, new_import(&store, LOGS)).await.unwrap();
    let id = started.import_id.unwrap();
    // One import at a time in an account and region.
    let busy = start(&harness, new_import(&store, LOGS)).await.unwrap_err();
    assert_eq!(code(&busy), "AccountHasOngoingImportException");
    let retry = StartImportRequest {
        import_id: Some(id.clone()),
        ..StartImportRequest::default()
    };
    let busy = start(&harness, retry.clone()).await.unwrap_err();
    assert_eq!(code(&busy), "AccountHasOngoingImportException");

    let stop = StopImportRequest {
        import_id: id.clone(),
    };
    let stopped = harness
        .state
        .stop_import(&harness.ctx(REGION), stop.clone())
        .await
        .unwrap();
    assert_eq!(stopped.import_status, Some(ImportStatus::Stopped));
    assert_eq!(stopped.import_statistics, Some(statistics(0, 0, 0, 0)));
    let again = harness
        .state
        .stop_import(&harness.ctx(REGION), stop.clone())
        .await
        .unwrap_err();
    assert_eq!(code(&again), "OperationNotPermittedException");
    harness.state.run_queued_imports().await.unwrap();
    let got = get(&harness, &id).await;
    assert_eq!(got.import_status, Some(ImportStatus::Stopped));
    assert_eq!(got.import_statistics, Some(statistics(0, 0, 0, 0)));
    assert!(event_names(&harness, &store).await.is_empty());

    // A retry resumes it, to its end; a completed import is not retried.
    harness.advance(60);
    let resumed = start(&harness, retry.clone()).await.unwrap();
    assert_eq!(resumed.import_status, Some(ImportStatus::Initializing));
    assert!(resumed.updated_timestamp > resumed.created_timestamp);
    harness.state.run_queued_imports().await.unwrap();
    let got = get(&harness, &id).await;
    assert_eq!(got.import_status, Some(ImportStatus::Completed));
    assert_eq!(got.import_statistics, Some(statistics(1, 1, 1, 0)));
    assert_eq!(event_names(&harness, &store).await, ["DescribeTrails"]);
    let done = start(&harness, retry).await.unwrap_err();
    assert_eq!(code(&done), "OperationNotPermittedException");
    let done = harness
        .state
        .stop_import(&harness.ctx(REGION), stop)
        .await
        .unwrap_err();
    assert_eq!(code(&done), "OperationNotPermittedException");

    // Kept 30 days; the events it copied stay.
    harness.advance(30 * DAY);
    harness.state.forget_expired_imports().await.unwrap();
    let gone = harness
        .state
        .get_import(
            &harness.ctx(REGION),
            GetImportRequest {
                import_id: id.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ImportNotFoundException");
    assert_eq!(event_names(&harness, &store).await, ["DescribeTrails"]);
}

#[tokio::test]
async fn a_destination_is_kept_while_an_import_copies_into_it() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails"]).await;
    let store = create_store(&harness, "imported", None).await;
    let id = start(&harness, new_import(&store, LOGS))
        .await
        .unwrap()
        .import_id
        .unwrap();
    let ctx = harness.ctx(REGION);
    let delete = async || {
        harness
            .state
            .delete_event_data_store(
                &ctx,
                DeleteEventDataStoreRequest {
                    event_data_store: store.clone(),
                },
            )
            .await
    };
    let ongoing = delete().await.unwrap_err();
    assert_eq!(code(&ongoing), "EventDataStoreHasOngoingImportException");

    // Stopped, the import no longer holds the store; a retry needs it back.
    harness
        .state
        .stop_import(
            &ctx,
            StopImportRequest {
                import_id: id.clone(),
            },
        )
        .await
        .unwrap();
    delete().await.unwrap();
    let retry = StartImportRequest {
        import_id: Some(id.clone()),
        ..StartImportRequest::default()
    };
    let inactive = start(&harness, retry.clone()).await.unwrap_err();
    assert_eq!(code(&inactive), "InactiveEventDataStoreException");
    harness
        .state
        .restore_event_data_store(
            &ctx,
            RestoreEventDataStoreRequest {
                event_data_store: store.clone(),
            },
        )
        .await
        .unwrap();
    start(&harness, retry).await.unwrap();
    harness.state.run_queued_imports().await.unwrap();
    let got = get(&harness, &id).await;
    assert_eq!(got.import_status, Some(ImportStatus::Completed));
    assert_eq!(got.import_statistics, Some(statistics(1, 1, 1, 0)));
    assert_eq!(event_names(&harness, &store).await, ["DescribeTrails"]);
    delete().await.unwrap();
}

#[tokio::test]
async fn what_is_copied_follows_the_prefix_the_time_range_and_the_retention() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails"]).await;
    harness.advance(10 * DAY);
    record(&harness, &["ListTrails", "GetTrail"]).await;
    harness.state.deliver_now().await.unwrap();
    harness.advance(60);
    assert_eq!(files(&harness.root, "/CloudTrail/").len(), 2);
    // A copy of a log file in a prefix of the user's own, outside AWS's layout.
    let copied = harness.root.join("bucket/copied/custom.json.gz");
    write(&copied, &log_file(&["Copied"], "2024-03-11T00:00:00Z"));

    // Seven days of retention: the first day's event is too old to copy. From the bucket's
    // top, only the CloudTrail prefixes are read.
    let store = create_store(&harness, "week", Some(7)).await;
    let id = import(&harness, new_import(&store, "s3://bucket")).await;
    let got = get(&harness, &id).await;
    assert_eq!(got.import_status, Some(ImportStatus::Completed));
    assert_eq!(got.import_statistics, Some(statistics(2, 2, 2, 0)));
    assert_eq!(
        event_names(&harness, &store).await,
        ["ListTrails", "GetTrail"]
    );

    // A time range skips the log files whose names are dated outside it.
    let year = create_store(&harness, "year", None).await;
    let id = import(
        &harness,
        StartImportRequest {
            start_event_time: Some(at(10 * DAY)),
            ..new_import(&year, LOGS)
        },
    )
    .await;
    assert_eq!(
        get(&harness, &id).await.import_statistics,
        Some(statistics(1, 1, 2, 0))
    );
    // A prefix named outright is read whatever its layout.
    let id = import(&harness, new_import(&year, "s3://bucket/copied/")).await;
    assert_eq!(
        get(&harness, &id).await.import_statistics,
        Some(statistics(1, 1, 1, 0))
    );
    assert_eq!(
        event_names(&harness, &year).await,
        ["Copied", "ListTrails", "GetTrail"]
    );

    // Another account's events in a bucket the caller names are not the caller's to copy.
    let foreign = harness.root.join("bucket/foreign/other.json.gz");
    let mut records = log_records(&["NotMine"], "2024-03-11T00:00:00Z");
    records["Records"][0]["recipientAccountId"] = serde_json::json!("444455556666");
    write(&foreign, &gzipped(&serde_json::to_vec(&records).unwrap()));
    let id = import(&harness, new_import(&year, "s3://bucket/foreign/")).await;
    assert_eq!(
        get(&harness, &id).await.import_statistics,
        Some(statistics(1, 1, 0, 0))
    );
    assert!(
        !event_names(&harness, &year)
            .await
            .contains(&"NotMine".to_owned())
    );
}

#[tokio::test]
async fn bad_requests_answer_aws_errors() {
    let harness = Harness::new().await;
    delivered(&harness, &["DescribeTrails"]).await;
    let store = create_store(&harness, "imported", None).await;
    let refused = async |request: StartImportRequest| {
        code(&start(&harness, request).await.unwrap_err()).to_owned()
    };

    for uri in [
        "https://bucket/audit/",
        "s3://",
        "s3://Bad_Bucket/audit/",
        "s3://../audit/",
        "s3://no-such-bucket/audit/",
    ] {
        assert_eq!(
            refused(new_import(&store, uri)).await,
            "InvalidImportSourceException",
            "{uri}"
        );
    }
    let mut bad_role = new_import(&store, LOGS);
    bad_role
        .import_source
        .as_mut()
        .unwrap()
        .s3
        .s3_bucket_access_role_arn = "arn:aws:iam::111122223333:user/someone".to_owned();
    assert_eq!(refused(bad_role).await, "InvalidImportSourceException");
    let mut bad_region = new_import(&store, LOGS);
    bad_region
        .import_source
        .as_mut()
        .unwrap()
        .s3
        .s3_bucket_region = "Mars".to_owned();
    assert_eq!(refused(bad_region).await, "InvalidImportSourceException");

    let missing = format!(
        "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/00000000-0000-4000-8000-000000000000"
    );
    assert_eq!(
        refused(new_import(&missing, LOGS)).await,
        "EventDataStoreNotFoundException"
    );
    let backwards = StartImportRequest {
        start_event_time: Some(at(200)),
        end_event_time: Some(at(100)),
        ..new_import(&store, LOGS)
    };
    assert_eq!(refused(backwards).await, "InvalidParameterException");
    assert_eq!(
        refused(StartImportRequest::default()).await,
        "InvalidParameterException"
    );
    let both = StartImportRequest {
        import_id: Some("0c6a1e2f-1111-4222-8333-444455556666".to_owned()),
        ..new_import(&store, LOGS)
    };
    assert_eq!(refused(both).await, "InvalidParameterException");
    let unknown = StartImportRequest {
        import_id: Some("0c6a1e2f-1111-4222-8333-444455556666".to_owned()),
        ..StartImportRequest::default()
    };
    assert_eq!(refused(unknown).await, "ImportNotFoundException");

    let ctx = harness.ctx(REGION);
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
        refused(new_import(&store, LOGS)).await,
        "InactiveEventDataStoreException"
    );

    let unknown = "0c6a1e2f-1111-4222-8333-444455556666".to_owned();
    let stop = harness
        .state
        .stop_import(
            &ctx,
            StopImportRequest {
                import_id: unknown.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&stop), "ImportNotFoundException");
    let listed = harness
        .state
        .list_import_failures(
            &ctx,
            ListImportFailuresRequest {
                import_id: unknown,
                ..ListImportFailuresRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&listed), "ImportNotFoundException");
    let bad_destination = harness
        .state
        .list_imports(
            &ctx,
            ListImportsRequest {
                destination: Some("arn:aws:cloudtrail:us-east-1:111122223333:trail/t".to_owned()),
                ..ListImportsRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&bad_destination), "EventDataStoreARNInvalidException");
    let bad_token = harness
        .state
        .list_imports(
            &ctx,
            ListImportsRequest {
                next_token: Some("bm90IGEgdG9rZW4".to_owned()),
                ..ListImportsRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&bad_token), "InvalidNextTokenException");
}
