//! Trail delivery driven by a manual clock: log files in AWS's layout holding exactly the records
//! after StartLogging that the trail's event selectors let through, cursors that never deliver a
//! record twice, a failed run redone under the same names, hourly signed digests, and the
//! offline validator catching tampering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use std::collections::HashMap;

use palisade_cloudtrail::validate::{ValidateOptions, validate};
use palisade_core::clock::Clock;
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    EventSelector, GetTrailStatusRequest, ListPublicKeysRequest, ReadWriteType,
};

use support::{ACCOUNT, Harness, event_names, files};

impl Harness {
    async fn public_keys(&self) -> HashMap<String, Vec<u8>> {
        let listed = self
            .state
            .list_public_keys(&self.ctx("us-east-1"), ListPublicKeysRequest::default())
            .await
            .unwrap();
        listed
            .public_key_list
            .unwrap()
            .into_iter()
            .map(|key| (key.fingerprint.unwrap(), key.value.unwrap().0))
            .collect()
    }

    async fn validate(&self) -> palisade_cloudtrail::validate::Validation {
        validate(
            &ValidateOptions {
                root: self.root.clone(),
                trail_arn: Some(format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main")),
                start_millis: 0,
                end_millis: self.clock.now_millis(),
            },
            &self.public_keys().await,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trails_deliver_each_record_once_with_a_verifiable_digest_chain() {
    let harness = Harness::new().await;
    harness.call("us-east-1", "BeforeLogging").await;
    harness.advance(1);
    harness.create_trail("main", "bucket", false, true).await;
    harness.advance(1);
    harness.call("us-east-1", "First").await;
    harness.call("us-east-1", "Second").await;
    harness.call("eu-west-1", "ElsewhereIgnored").await;

    // The records are younger than the settling time: nothing is due yet.
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);
    harness.advance(120);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 0));
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(logs.len(), 1);
    let relative = logs[0]
        .strip_prefix(&harness.root)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        relative.starts_with(&format!(
            "bucket/audit/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/03/01/{ACCOUNT}_CloudTrail_us-east-1_20240301T0001Z_"
        )),
        "{relative}"
    );
    // Records of the same millisecond come in any order.
    let mut names = event_names(&logs[0]);
    names.sort();
    assert_eq!(names, ["First", "Second"]);

    // Nothing new: no second copy.
    harness.advance(120);
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);

    // After the hour, the next run also closes the digest.
    harness.call("us-east-1", "Third").await;
    harness.advance(3600);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 1));
    let status = harness
        .state
        .get_trail_status(
            &harness.ctx("us-east-1"),
            GetTrailStatusRequest {
                name: "main".to_owned(),
            },
        )
        .await
        .unwrap();
    assert!(status.latest_delivery_time.is_some());
    assert!(status.latest_digest_delivery_time.is_some());
    assert_eq!(
        status.latest_delivery_attempt_succeeded.as_deref(),
        Some("true")
    );

    harness.call("us-east-1", "Fourth").await;
    harness.advance(1);
    let report = harness.state.deliver_now().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 1));
    let digests = files(&harness.root, "CloudTrail-Digest");
    assert_eq!(digests.len(), 4, "two digests, each with its signature");

    let validation = harness.validate().await;
    assert!(validation.is_valid(), "{:?}", validation.failures);
    assert_eq!(
        (validation.valid_digests, validation.valid_logs),
        (2, 3),
        "{}",
        validation.render()
    );
    assert!(validation.render().contains("2/2 digest files valid"));

    // A modified log file.
    let logs = files(&harness.root, "/CloudTrail/");
    let original = std::fs::read(&logs[0]).unwrap();
    std::fs::write(&logs[0], palisade_like_gzip(b"{\"Records\":[]}")).unwrap();
    let validation = harness.validate().await;
    assert_eq!(validation.invalid_logs, 1);
    assert!(validation.failures[0].contains("hash value doesn't match"));
    // A deleted one.
    std::fs::remove_file(&logs[0]).unwrap();
    let validation = harness.validate().await;
    assert!(validation.failures[0].contains("INVALID: not found"));
    std::fs::write(&logs[0], original).unwrap();
    assert!(harness.validate().await.is_valid());

    // A removed digest: its successor names it.
    let oldest_digest = digests
        .iter()
        .find(|path| path.to_str().unwrap().ends_with(".json.gz"))
        .unwrap();
    std::fs::remove_file(oldest_digest).unwrap();
    let validation = harness.validate().await;
    assert_eq!(validation.invalid_digests, 1);
    assert!(validation.failures[0].starts_with("Digest file"));
    assert!(validation.failures[0].ends_with("INVALID: not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_region_trails_deliver_every_region_and_a_failed_run_is_redone_under_the_same_names()
{
    let harness = Harness::new().await;
    harness.create_trail("all", "blocked", true, false).await;
    harness.advance(1);
    harness.call("us-east-1", "Here").await;
    harness.call("eu-west-1", "There").await;
    harness.advance(120);

    // The bucket's directory cannot be made: the run fails and says so.
    std::fs::create_dir_all(&harness.root).unwrap();
    std::fs::write(harness.root.join("blocked"), b"not a directory").unwrap();
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 0);
    let status = harness
        .state
        .get_trail_status(
            &harness.ctx("eu-west-1"),
            GetTrailStatusRequest {
                name: "all".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        status.latest_delivery_attempt_succeeded.as_deref(),
        Some("false")
    );
    assert!(status.latest_delivery_error.is_some());
    assert!(status.latest_delivery_time.is_none());

    // Later, the same run is redone: the same range, under the first attempt's names.
    std::fs::remove_file(harness.root.join("blocked")).unwrap();
    harness.advance(600);
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!(report.log_files, 2);
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(logs.len(), 2);
    for (log, (region, event)) in logs
        .iter()
        .zip([("eu-west-1", "There"), ("us-east-1", "Here")])
    {
        let name = log.to_str().unwrap();
        assert!(name.contains(&format!("/CloudTrail/{region}/")), "{name}");
        assert!(name.contains("_20240301T0001Z_"), "{name}");
        assert_eq!(event_names(log), [event]);
    }
    assert!(files(&harness.root, "CloudTrail-Digest").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_selectors_decide_which_records_a_trail_delivers() {
    let harness = Harness::new().await;
    harness.create_trail("writes", "bucket", false, false).await;
    let writes = EventSelector {
        read_write_type: Some(ReadWriteType::WriteOnly),
        include_management_events: Some(true),
        ..EventSelector::default()
    };
    harness
        .put_event_selectors("writes", Some(vec![writes]), None)
        .await;
    harness.advance(1);
    harness.call("us-east-1", "DescribeTrails").await;
    harness.call("us-east-1", "UpdateTrail").await;
    harness.call("us-east-1", "GetTrailStatus").await;
    harness.advance(120);
    assert_eq!(harness.state.deliver_due().await.unwrap().log_files, 1);
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(event_names(&logs[0]), ["UpdateTrail"]);
}

fn palisade_like_gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
