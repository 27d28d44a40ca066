//! The audit log end to end: records made durable in the journal reach the store, survive a
//! restart, and a reset wipes them.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failure is a failed test"
)]

use std::sync::Arc;
use std::time::SystemTime;

use palisade_audit::{AuditLog, AuditRecord, CallOutcome, KEYSPACE};
use palisade_core::{AccountId, Principal, Region, RequestContext};
use palisade_store::{Store, StoreConfig};

fn context(request_id: &str) -> RequestContext {
    RequestContext {
        request_id: request_id.to_owned(),
        principal: Principal::root(AccountId::local_default(), "test"),
        region: Region::us_east_1(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "tests".to_owned(),
        time: SystemTime::now(),
        secure_transport: false,
    }
}

/// Records a call with request id `request_id`; returns once it is durable.
async fn record(log: &AuditLog, request_id: &str) {
    let ctx = context(request_id);
    let record = AuditRecord::for_call(
        &ctx,
        &palisade_model_kms::MODEL,
        "ListKeys",
        None,
        CallOutcome::Success(None),
    );
    log.record(&record).await.unwrap();
}

async fn stored_request_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .scan(KEYSPACE, "", None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, entry)| {
            let json: serde_json::Value = serde_json::from_slice(entry.value.bytes()).unwrap();
            json["requestID"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_the_store_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap(),
    );
    let journal_dir = dir.path().join("audit");
    let log = AuditLog::open(&journal_dir, Arc::clone(&store)).unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { record(&log, &format!("r{i:02}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    log.flush().await;
    let expected: Vec<String> = (0..50).map(|i| format!("r{i:02}")).collect();
    assert_eq!(stored_request_ids(&store).await, expected);

    // Durable in the journal but not yet copied when the process stops: the next start copies
    // it, and copying the others again changes nothing.
    std::fs::remove_file(journal_dir.join("indexed")).unwrap();
    record(&log, "r50").await;
    drop(log);
    let reopened = AuditLog::open(&journal_dir, Arc::clone(&store)).unwrap();
    reopened.flush().await;
    let ids = stored_request_ids(&store).await;
    assert_eq!(ids.len(), 51);
    assert_eq!(ids.last().unwrap(), "r50");

    reopened.reset().await.unwrap();
    assert!(stored_request_ids(&store).await.is_empty());
    record(&reopened, "after").await;
    reopened.flush().await;
    assert_eq!(stored_request_ids(&store).await, ["after"]);
}
