//! Failed writes to a trail's destination, as `GetTrailStatus` reports them: a digest that
//! cannot be written is `LatestDigestDeliveryError`, apart from the log files, and the next run
//! writes it and the same log files again under the same names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]

mod support;

use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{GetTrailStatusRequest, GetTrailStatusResponse};

use support::{ACCOUNT, Harness, files};

impl Harness {
    async fn status(&self, name: &str) -> GetTrailStatusResponse {
        self.state
            .get_trail_status(
                &self.ctx("us-east-1"),
                GetTrailStatusRequest {
                    name: name.to_owned(),
                },
            )
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_that_cannot_be_written_is_reported_apart_and_retried() {
    let harness = Harness::new().await;
    harness.create_trail("main", "bucket", false, true).await;
    harness.advance(1);
    harness.call("us-east-1", "DescribeTrails").await;
    harness.advance(120);

    // Digests cannot go where they belong; log files can.
    let digests = harness
        .root
        .join(format!("bucket/audit/AWSLogs/{ACCOUNT}/CloudTrail-Digest"));
    std::fs::create_dir_all(digests.parent().unwrap()).unwrap();
    std::fs::write(&digests, b"not a directory").unwrap();
    let report = harness.state.deliver_now().await.unwrap();
    assert_eq!(report.digests, 0);
    let logs = files(&harness.root, "/CloudTrail/");
    assert_eq!(logs.len(), 1);
    let status = harness.status("main").await;
    assert_eq!(
        status.latest_digest_delivery_error.as_deref(),
        Some("InternalError")
    );
    assert_eq!(status.latest_delivery_error, None);
    assert_eq!(
        status.latest_delivery_attempt_succeeded.as_deref(),
        Some("false")
    );
    assert!(status.latest_digest_delivery_time.is_none());

    // The next run redoes the failed one: the same log file, and the digest listing it.
    std::fs::remove_file(&digests).unwrap();
    harness.advance(600);
    harness.call("us-east-1", "GetTrail").await;
    let report = harness.state.deliver_due().await.unwrap();
    assert_eq!((report.log_files, report.digests), (1, 1));
    assert_eq!(files(&harness.root, "/CloudTrail/"), logs);
    let status = harness.status("main").await;
    assert_eq!(status.latest_digest_delivery_error, None);
    assert!(status.latest_digest_delivery_time.is_some());
    assert!(status.latest_delivery_time.is_some());
    let digest = files(&harness.root, "CloudTrail-Digest");
    assert_eq!(digest.len(), 2, "the digest and its signature: {digest:?}");
}
