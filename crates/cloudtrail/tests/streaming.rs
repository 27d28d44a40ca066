//! Streaming of trails' records to CloudWatch Logs log groups, through a stand-in for CloudWatch
//! Logs: the records a trail covers (account, regions, time, event selectors), one log event
//! each in AWS's stream, the trail's status, and records journaled while the streaming task was
//! not running.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_cloudtrail::{LogBatch, TrailLogGroups};
use palisade_core::ServiceError;
use palisade_core::model::ErrorInfo;
use palisade_core::service::BoxFuture;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, CreateTrailRequest, GetTrailStatusRequest,
    GetTrailStatusResponse,
};
use support::{ACCOUNT, Harness, START};
use tokio::sync::watch;

/// A log group the stand-in says does not exist.
const MISSING: &str = "missing";
/// How long a test waits for what it expects before failing: it bounds a broken run.
const DEADLINE: Duration = Duration::from_secs(10);

/// One log event as written.
#[derive(Debug, Clone)]
struct Written {
    account: String,
    region: String,
    group: String,
    stream: String,
    timestamp: i64,
    record: serde_json::Value,
}

/// CloudWatch Logs as a list of what was written to it.
struct LogGroups {
    written: Mutex<Vec<Written>>,
    count: watch::Sender<usize>,
}

impl LogGroups {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            written: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        })
    }

    /// Waits until `count` events are written; answers them.
    async fn wait_for(&self, count: usize) -> Vec<Written> {
        let mut written = self.count.subscribe();
        tokio::time::timeout(DEADLINE, written.wait_for(|&written| written >= count))
            .await
            .expect("the events arrive")
            .unwrap();
        self.written.lock().unwrap().clone()
    }
}

impl TrailLogGroups for LogGroups {
    fn put<'a>(&'a self, batch: LogBatch<'a>) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            if batch.group == MISSING {
                const NOT_FOUND: ErrorInfo = ErrorInfo {
                    code: "ResourceNotFoundException",
                    status: 400,
                    sender_fault: true,
                };
                return Err(ServiceError::modeled(
                    &NOT_FOUND,
                    "The specified log group does not exist.",
                ));
            }
            let mut written = self.written.lock().unwrap();
            for event in batch.events {
                written.push(Written {
                    account: batch.account.to_owned(),
                    region: batch.region.to_owned(),
                    group: batch.group.to_owned(),
                    stream: batch.stream.to_owned(),
                    timestamp: event.timestamp,
                    record: serde_json::from_str(&event.message).unwrap(),
                });
            }
            self.count.send_replace(written.len());
            Ok(())
        })
    }
}

fn group_arn(account: &str, group: &str) -> String {
    format!("arn:aws:logs:us-east-1:{account}:log-group:{group}:*")
}

fn streaming_trail(name: &str, group_arn: &str, multi_region: bool) -> CreateTrailRequest {
    CreateTrailRequest {
        name: name.to_owned(),
        s3_bucket_name: "bucket".to_owned(),
        is_multi_region_trail: Some(multi_region),
        cloud_watch_logs_log_group_arn: Some(group_arn.to_owned()),
        cloud_watch_logs_role_arn: Some(format!("arn:aws:iam::{ACCOUNT}:role/CloudTrail_Logs")),
        ..CreateTrailRequest::default()
    }
}

fn start_streaming(harness: &Harness) -> tokio::task::JoinHandle<()> {
    let state = Arc::clone(&harness.state);
    tokio::spawn(async move { state.stream_to_log_groups().await })
}

impl Harness {
    /// Waits until the status of the trail `name` satisfies `done`; answers it.
    async fn wait_for_status(
        &self,
        name: &str,
        done: impl Fn(&GetTrailStatusResponse) -> bool,
    ) -> GetTrailStatusResponse {
        tokio::time::timeout(DEADLINE, async {
            loop {
                let status = self
                    .state
                    .get_trail_status(
                        &self.ctx("us-east-1"),
                        GetTrailStatusRequest {
                            name: name.to_owned(),
                        },
                    )
                    .await
                    .unwrap();
                if done(&status) {
                    return status;
                }
                // Polls the status the streaming task writes, paced.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the status is reported")
    }
}

fn event_names(written: &[Written]) -> Vec<&str> {
    written
        .iter()
        .map(|event| event.record["eventName"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trails_records_stream_to_its_log_group_as_aws_sends_them() {
    let log_groups = LogGroups::new();
    let harness = Harness::streaming_to(Arc::clone(&log_groups) as Arc<dyn TrailLogGroups>).await;
    let streaming = start_streaming(&harness);
    harness.call("us-east-1", "BeforeLogging").await;
    harness.advance(1);
    harness
        .create_logging_trail(streaming_trail(
            "streamed",
            &group_arn(ACCOUNT, "trail-logs"),
            false,
        ))
        .await;
    harness.advance(1);
    harness.call("us-east-1", "CreateTrail").await;
    harness.call("eu-west-1", "ElsewhereIgnored").await;
    harness.call("us-east-1", "DescribeTrails").await;

    let written = log_groups.wait_for(2).await;
    assert_eq!(event_names(&written), ["CreateTrail", "DescribeTrails"]);
    for event in &written {
        assert_eq!(
            (
                event.account.as_str(),
                event.region.as_str(),
                event.group.as_str()
            ),
            (ACCOUNT, "us-east-1", "trail-logs")
        );
        assert_eq!(event.stream, format!("{ACCOUNT}_CloudTrail_us-east-1"));
        let event_time = i64::try_from(START + 2).unwrap() * 1000;
        assert_eq!(event.timestamp, event_time);
        assert_eq!(event.record["eventTime"], "2024-03-01T00:00:02Z");
        assert_eq!(event.record["awsRegion"], "us-east-1");
    }
    let status = harness
        .wait_for_status("streamed", |status| {
            status.latest_cloud_watch_logs_delivery_time.is_some()
        })
        .await;
    assert_eq!(status.latest_cloud_watch_logs_delivery_error, None);
    streaming.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_regions_and_unreachable_log_groups() {
    let log_groups = LogGroups::new();
    let harness = Harness::streaming_to(Arc::clone(&log_groups) as Arc<dyn TrailLogGroups>).await;
    let streaming = start_streaming(&harness);
    harness
        .create_logging_trail(streaming_trail(
            "writes",
            &group_arn(ACCOUNT, "writes"),
            true,
        ))
        .await;
    let condition = |field: &str, value: &str| AdvancedFieldSelector {
        field: field.to_owned(),
        equals: Some(vec![value.to_owned()]),
        ..AdvancedFieldSelector::default()
    };
    let management_writes = AdvancedEventSelector {
        name: Some("management writes".to_owned()),
        field_selectors: vec![
            condition("eventCategory", "Management"),
            condition("readOnly", "false"),
        ],
    };
    harness
        .put_event_selectors("writes", None, Some(vec![management_writes]))
        .await;
    harness
        .create_logging_trail(streaming_trail(
            "absent",
            &group_arn(ACCOUNT, MISSING),
            false,
        ))
        .await;
    harness
        .create_logging_trail(streaming_trail(
            "foreign",
            &group_arn("444455556666", "theirs"),
            false,
        ))
        .await;
    harness.advance(1);
    harness.call("us-east-1", "DescribeTrails").await;
    harness.call("eu-west-1", "UpdateTrail").await;

    let written = log_groups.wait_for(1).await;
    assert_eq!(event_names(&written), ["UpdateTrail"]);
    assert_eq!(written[0].stream, format!("{ACCOUNT}_CloudTrail_eu-west-1"));
    assert_eq!(written[0].group, "writes");

    let absent = harness
        .wait_for_status("absent", |status| {
            status.latest_cloud_watch_logs_delivery_error.is_some()
        })
        .await;
    assert_eq!(
        absent.latest_cloud_watch_logs_delivery_error.as_deref(),
        Some("ResourceNotFoundException: The specified log group does not exist.")
    );
    assert_eq!(absent.latest_cloud_watch_logs_delivery_time, None);
    let foreign = harness
        .wait_for_status("foreign", |status| {
            status.latest_cloud_watch_logs_delivery_error.is_some()
        })
        .await;
    assert_eq!(
        foreign.latest_cloud_watch_logs_delivery_error.as_deref(),
        Some("Access denied. Check the permissions for your role.")
    );
    assert_eq!(log_groups.written.lock().unwrap().len(), 1);
    streaming.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_journaled_while_streaming_was_not_running_stream_when_it_starts() {
    let log_groups = LogGroups::new();
    let harness = Harness::streaming_to(Arc::clone(&log_groups) as Arc<dyn TrailLogGroups>).await;
    harness.call("us-east-1", "BeforeLogging").await;
    harness.advance(1);
    harness
        .create_logging_trail(streaming_trail("late", &group_arn(ACCOUNT, "late"), false))
        .await;
    harness.advance(1);
    harness.call("us-east-1", "First").await;
    harness.call("us-east-1", "Second").await;

    let streaming = start_streaming(&harness);
    let written = log_groups.wait_for(2).await;
    assert_eq!(event_names(&written), ["First", "Second"]);
    harness.call("us-east-1", "Third").await;
    assert_eq!(
        event_names(&log_groups.wait_for(3).await),
        ["First", "Second", "Third"]
    );
    streaming.abort();
}
