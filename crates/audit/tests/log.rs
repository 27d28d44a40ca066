//! The audit log end to end: records made durable in the journal reach the store, survive a
//! restart, and a reset wipes them.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failure is a failed test"
)]

use std::sync::Arc;
use std::time::SystemTime;

use palisade_audit::attributes::{self, Attribute};
use palisade_audit::{AuditLog, AuditRecord, CallOutcome, KEYSPACE, history};
use palisade_core::{AccountId, Principal, Region, RequestContext};
use palisade_store::{Store, StoreConfig, Transaction, Value};

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

async fn open_store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(
        Store::open(&StoreConfig::Embedded {
            data_dir: dir.to_owned(),
        })
        .await
        .unwrap(),
    )
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
    let store = open_store(dir.path()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_stored_before_the_attribute_index_are_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    // As an older build stored them: the records alone, with random event ids; more than one
    // backfill batch.
    let account = "000000000000";
    let mut transaction = Transaction::new();
    for i in 0..3000_i64 {
        let id = format!("{i:08x}-0000-4000-8000-000000000000");
        let name = if i % 3 == 0 { "Decrypt" } else { "ListKeys" };
        let json = serde_json::json!({"eventID": id, "eventName": name, "readOnly": true});
        let key = history::key(account, "us-east-1", 1_700_000_000_000 + i, &id);
        transaction = transaction.put(KEYSPACE, &key, Value::Plain(json.to_string().into_bytes()));
    }
    store.commit(transaction).await.unwrap();
    assert!(!attributes::ready(&store).await.unwrap());

    let log = AuditLog::open(&dir.path().join("audit"), Arc::clone(&store)).unwrap();
    log.backfilled().await;
    assert!(attributes::ready(&store).await.unwrap());
    let entries = |attribute, value: &str| {
        let store = Arc::clone(&store);
        let prefix = attributes::prefix(account, "us-east-1", attribute, value).unwrap();
        async move {
            let after = history::tail_at_or_before(2_000_000_000_000);
            let mut entries = attributes::Entries::new(prefix, &after, 0);
            let mut listed = 0;
            while entries.next(&store).await.unwrap().is_some() {
                listed += 1;
            }
            listed
        }
    };
    assert_eq!(entries(Attribute::EventName, "Decrypt").await, 1000);
    assert_eq!(entries(Attribute::ReadOnly, "true").await, 3000);
    assert_eq!(
        entries(Attribute::EventId, "00000bb7-0000-4000-8000-000000000000").await,
        1
    );

    // A reset leaves nothing to backfill.
    log.reset().await.unwrap();
    assert!(attributes::ready(&store).await.unwrap());
}
