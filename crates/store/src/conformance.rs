//! The conformance suite: what every engine must do, as functions of a `&Store`.
//!
//! Each engine's test module instantiates the whole suite with [`conformance_suite!`], giving a
//! fixture function that opens a fresh, empty store (or `None` to skip, printing why).

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{RawBatch, RawWrite, WriteOp};
use crate::{Barrier, SecretBytes, Store, StoreError, Transaction, Value};

/// The root key of the test stores.
pub(crate) const TEST_KEY: &str =
    "5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b";
/// Another key, for the sealed cases.
pub(crate) const OTHER_KEY: &str =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub(crate) fn test_barrier() -> Barrier {
    Barrier::from_env_value(TEST_KEY).unwrap()
}

/// Instantiates every conformance test for one engine. `$fixture` is an async function
/// returning `Option<F>` where `F` has a `store(&self) -> &Store` method.
macro_rules! conformance_suite {
    ($fixture:path) => {
        $crate::conformance::conformance_suite!(@tests $fixture;
            get_put_delete,
            versions_increment,
            failed_preconditions_write_nothing,
            scan_orders_and_pages,
            scan_back_reads_from_the_end,
            scan_all_json_reads_every_chunk,
            racing_transactions_one_wins,
            read_modify_write_loses_no_update,
            write_skew_is_refused,
            guarded_create_races_blind_write,
            secrets_round_trip_encrypted,
            moved_ciphertext_is_sealed,
            wrong_root_key_is_sealed,
            reset_wipes_entries,
            large_batch_is_one_transaction,
            invalid_input_is_refused,
            change_marks_move_with_writes,
        );
    };
    (@tests $fixture:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(fixture) = $fixture().await else { return };
                $crate::conformance::$name(fixture.store()).await;
            }
        )*
    };
}
pub(crate) use conformance_suite;

fn plain(bytes: &[u8]) -> Value {
    Value::Plain(bytes.to_vec())
}

fn secret(bytes: &[u8]) -> Value {
    Value::Secret(SecretBytes::new(bytes.to_vec()))
}

async fn version(store: &Store, ks: &str, key: &str) -> Option<u64> {
    store.get(ks, key).await.unwrap().map(|e| e.version)
}

async fn bytes(store: &Store, ks: &str, key: &str) -> Option<Vec<u8>> {
    store
        .get(ks, key)
        .await
        .unwrap()
        .map(|e| e.value.bytes().to_vec())
}

fn is_conflict(result: &Result<(), StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

pub(crate) async fn get_put_delete(store: &Store) {
    assert!(store.get("t", "a").await.unwrap().is_none());
    store
        .commit(Transaction::new().put("t", "a", plain(b"one")))
        .await
        .unwrap();
    let entry = store.get("t", "a").await.unwrap().unwrap();
    assert_eq!(entry.value.bytes(), b"one");
    assert!(!entry.value.is_secret());
    assert_eq!(entry.version, 1);
    // Same key in another keyspace is another entry.
    assert!(store.get("u", "a").await.unwrap().is_none());
    // Empty values and the empty key are values and keys like others.
    store
        .commit(Transaction::new().put("t", "", plain(b"")))
        .await
        .unwrap();
    assert_eq!(bytes(store, "t", "").await.unwrap(), b"");
    store
        .commit(Transaction::new().delete("t", "a"))
        .await
        .unwrap();
    assert!(store.get("t", "a").await.unwrap().is_none());
    // Deleting an absent key is no error; an empty transaction is a no-op.
    store
        .commit(Transaction::new().delete("t", "a"))
        .await
        .unwrap();
    store.commit(Transaction::new()).await.unwrap();
    assert!(store.health().await.is_ok());
}

pub(crate) async fn versions_increment(store: &Store) {
    for expected in 1..=3 {
        store
            .commit(Transaction::new().put("t", "k", plain(&[expected as u8])))
            .await
            .unwrap();
        assert_eq!(version(store, "t", "k").await, Some(expected));
    }
    // Several writes to one key in one transaction: the last wins, and the version counts
    // the transaction once.
    store
        .commit(
            Transaction::new()
                .put("t", "k", plain(b"x"))
                .delete("t", "k")
                .put("t", "k", plain(b"y")),
        )
        .await
        .unwrap();
    assert_eq!(version(store, "t", "k").await, Some(4));
    assert_eq!(bytes(store, "t", "k").await.unwrap(), b"y");
    // A value change of kind (plain to secret) is a write like another.
    store
        .commit(Transaction::new().put("t", "k", secret(b"s")))
        .await
        .unwrap();
    assert_eq!(version(store, "t", "k").await, Some(5));
    // Deleted and created again: a new entry, version 1.
    store
        .commit(Transaction::new().delete("t", "k"))
        .await
        .unwrap();
    store
        .commit(Transaction::new().put("t", "k", plain(b"z")))
        .await
        .unwrap();
    assert_eq!(version(store, "t", "k").await, Some(1));
}

pub(crate) async fn failed_preconditions_write_nothing(store: &Store) {
    store
        .commit(
            Transaction::new()
                .expect_absent("t", "a")
                .put("t", "a", plain(b"a1")),
        )
        .await
        .unwrap();

    // expect_absent on an existing key: none of the other writes happen.
    let result = store
        .commit(
            Transaction::new()
                .put("t", "b", plain(b"b"))
                .expect_absent("t", "a")
                .put("u", "c", plain(b"c"))
                .delete("t", "a"),
        )
        .await;
    assert!(is_conflict(&result), "{result:?}");
    assert!(store.get("t", "b").await.unwrap().is_none());
    assert!(store.get("u", "c").await.unwrap().is_none());
    assert_eq!(bytes(store, "t", "a").await.unwrap(), b"a1");

    // expect_version with a stale version, and on an absent key.
    for txn in [
        Transaction::new()
            .expect_version("t", "a", 2)
            .put("t", "a", plain(b"a2")),
        Transaction::new()
            .expect_version("t", "missing", 1)
            .put("t", "a", plain(b"a2")),
        // One good precondition does not save a bad one.
        Transaction::new()
            .expect_version("t", "a", 1)
            .expect_absent("t", "a")
            .put("t", "b", plain(b"b")),
    ] {
        let result = store.commit(txn).await;
        assert!(is_conflict(&result), "{result:?}");
    }
    assert_eq!(version(store, "t", "a").await, Some(1));
    assert!(store.get("t", "b").await.unwrap().is_none());

    // The conflict message names the key, never the value.
    let err = store
        .commit(
            Transaction::new()
                .expect_absent("t", "a")
                .put("t", "a", secret(b"do-not-print")),
        )
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("\"a\""), "{shown}");
    assert!(!shown.contains("do-not-print"), "{shown}");

    // Holding preconditions commit, including a guard on a key the transaction does not write.
    store
        .commit(
            Transaction::new()
                .expect_version("t", "a", 1)
                .expect_absent("t", "b")
                .put("t", "a", plain(b"a2"))
                .put("t", "b", plain(b"b1")),
        )
        .await
        .unwrap();
    assert_eq!(version(store, "t", "a").await, Some(2));
    store
        .commit(
            Transaction::new()
                .expect_version("t", "b", 1)
                .put("u", "z", plain(b"z")),
        )
        .await
        .unwrap();
    assert_eq!(version(store, "t", "b").await, Some(1));
    // After a delete, expect_absent holds again.
    store
        .commit(
            Transaction::new()
                .expect_version("t", "a", 2)
                .delete("t", "a"),
        )
        .await
        .unwrap();
    store
        .commit(
            Transaction::new()
                .expect_absent("t", "a")
                .put("t", "a", plain(b"again")),
        )
        .await
        .unwrap();
    assert_eq!(version(store, "t", "a").await, Some(1));
}

pub(crate) async fn scan_orders_and_pages(store: &Store) {
    // Bytewise order: '/' < '0' < 'A' < 'a' < 'é' (U+00E9) < U+E000 < U+10FFFF.
    let keys = [
        "acct/r1/b",
        "acct/r1/a",
        "acct/r1/a0",
        "acct/r1/",
        "acct/r1/A",
        "acct/r1/\u{e9}",
        "acct/r1/\u{e000}",
        "acct/r1/\u{10FFFF}",
        "acct/r10/x",
        "acct/r1",
        "acct/r2/a",
        "acct/r0/z",
    ];
    let mut txn = Transaction::new();
    for key in keys {
        txn = txn.put("t", key, plain(key.as_bytes()));
        // The same keys in a neighbouring keyspace must never show up.
        txn = txn.put("t2", key, plain(b"other"));
    }
    txn = txn.put("t/", "acct/r1/a", plain(b"other"));
    store.commit(txn).await.unwrap();

    let scan = |prefix: &'static str, after: Option<&'static str>, limit: usize| async move {
        store
            .scan("t", prefix, after, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, e)| {
                assert_eq!(e.value.bytes(), k.as_bytes());
                assert_eq!(e.version, 1);
                k
            })
            .collect::<Vec<_>>()
    };

    let expected = [
        "acct/r1/",
        "acct/r1/A",
        "acct/r1/a",
        "acct/r1/a0",
        "acct/r1/b",
        "acct/r1/\u{e9}",
        "acct/r1/\u{e000}",
        "acct/r1/\u{10FFFF}",
    ];
    assert_eq!(scan("acct/r1/", None, 100).await, expected);

    // Pages of 3 chained by start_after cover the same keys exactly once.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .scan("t", "acct/r1/", after.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        paged.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(paged, expected);

    assert_eq!(
        scan("acct/r1/", Some("acct/r1/a"), 2).await,
        ["acct/r1/a0", "acct/r1/b"]
    );
    // start_after need not be a stored key, nor inside the prefix.
    assert_eq!(scan("acct/r1/", Some("acct/r1/aa"), 1).await, ["acct/r1/b"]);
    assert_eq!(scan("acct/r1/", Some("acct/r0"), 1).await, ["acct/r1/"]);
    assert!(scan("acct/r1/", Some("acct/r2"), 10).await.is_empty());
    assert!(
        scan("acct/r1/", Some("acct/r1/\u{10FFFF}"), 10)
            .await
            .is_empty()
    );
    assert!(scan("acct/r1/", None, 0).await.is_empty());
    assert!(scan("nothing/", None, 10).await.is_empty());
    // A prefix without its separator also matches the longer segment.
    assert_eq!(scan("acct/r1", None, 100).await.len(), expected.len() + 2);
    // The empty prefix is the whole keyspace, in order.
    let mut all: Vec<&str> = keys.to_vec();
    all.sort_unstable();
    assert_eq!(scan("", None, 100).await, all);
    assert_eq!(scan("", None, usize::MAX).await.len(), keys.len());
    // A prefix ending in the largest character.
    assert_eq!(
        scan("acct/r1/\u{10FFFF}", None, 10).await,
        ["acct/r1/\u{10FFFF}"]
    );
}

pub(crate) async fn scan_all_json_reads_every_chunk(store: &Store) {
    let mut txn = Transaction::new();
    for n in 0..7u32 {
        txn = txn.put("ks", &format!("p/{n}"), plain(n.to_string().as_bytes()));
    }
    txn = txn.put("ks", "q/0", plain(b"99"));
    store.commit(txn).await.unwrap();
    for chunk in [0, 1, 3, 7, 100] {
        let read = crate::typed::scan_all_json::<u32>(store, "ks", "p/", chunk)
            .await
            .unwrap();
        let values: Vec<u32> = read.iter().map(|(_, stored)| stored.value).collect();
        assert_eq!(values, (0..7).collect::<Vec<_>>(), "chunk {chunk}");
        assert_eq!(read[6].0, "p/6");
    }
}

pub(crate) async fn scan_back_reads_from_the_end(store: &Store) {
    let keys = [
        "acct/r1/",
        "acct/r1/A",
        "acct/r1/a",
        "acct/r1/a0",
        "acct/r1/b",
        "acct/r1/\u{e9}",
        "acct/r1/\u{10FFFF}",
    ];
    let mut txn = Transaction::new();
    for key in keys
        .into_iter()
        .chain(["acct/r1", "acct/r10/x", "acct/r2/a"])
    {
        txn = txn.put("t", key, plain(key.as_bytes()));
        txn = txn.put("t2", key, plain(b"other"));
    }
    store.commit(txn).await.unwrap();

    let back = |prefix: &'static str, before: Option<&'static str>, limit: usize| async move {
        store
            .scan_back("t", prefix, before, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, e)| {
                assert_eq!(e.value.bytes(), k.as_bytes());
                k
            })
            .collect::<Vec<_>>()
    };
    let mut descending: Vec<&str> = keys.to_vec();
    descending.reverse();
    assert_eq!(back("acct/r1/", None, 100).await, descending);
    assert_eq!(
        back("acct/r1/", None, 2).await,
        ["acct/r1/\u{10FFFF}", "acct/r1/\u{e9}"]
    );

    // Pages of 3 chained by start_before cover the same keys exactly once.
    let mut paged = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store
            .scan_back("t", "acct/r1/", before.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some((last, _)) = page.last() else { break };
        before = Some(last.clone());
        paged.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(paged, descending);

    // start_before need not be a stored key, nor inside the prefix.
    assert_eq!(
        back("acct/r1/", Some("acct/r1/a00"), 2).await,
        ["acct/r1/a0", "acct/r1/a"]
    );
    assert_eq!(
        back("acct/r1/", Some("acct/r2"), 1).await,
        ["acct/r1/\u{10FFFF}"]
    );
    assert!(back("acct/r1/", Some("acct/r1/"), 10).await.is_empty());
    assert!(back("acct/r1/", Some("acct/r0"), 10).await.is_empty());
    assert!(back("acct/r1/", None, 0).await.is_empty());
    assert!(back("nothing/", None, 10).await.is_empty());
    // The empty prefix is the whole keyspace, from its end.
    assert_eq!(back("", None, 1).await, ["acct/r2/a"]);
    assert_eq!(back("", Some("acct/r1/"), 10).await, ["acct/r1"]);
}

pub(crate) async fn racing_transactions_one_wins(store: &Store) {
    let store = Arc::new(store.clone());
    store
        .commit(Transaction::new().put("t", "k", plain(b"v1")))
        .await
        .unwrap();
    const RACERS: usize = 12;

    // All expect version 1: exactly one may move it to 2.
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .commit(
                    Transaction::new()
                        .expect_version("t", "k", 1)
                        .put("t", "k", plain(format!("racer {i}").as_bytes()))
                        .put("t", &format!("won-{i}"), plain(b"")),
                )
                .await
        }));
    }
    let results = collect(tasks).await;
    assert_one_winner(&results);
    assert_eq!(version(&store, "t", "k").await, Some(2));
    assert_eq!(store.scan("t", "won-", None, 100).await.unwrap().len(), 1);

    // All create the same new key: exactly one may.
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .commit(Transaction::new().expect_absent("t", "new").put(
                    "t",
                    "new",
                    plain(format!("creator {i}").as_bytes()),
                ))
                .await
        }));
    }
    let results = collect(tasks).await;
    assert_one_winner(&results);
    assert_eq!(version(&store, "t", "new").await, Some(1));
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>,
) -> Vec<Result<(), StoreError>> {
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

fn assert_one_winner(results: &[Result<(), StoreError>]) {
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(
        results.iter().all(|r| r.is_ok() || is_conflict(r)),
        "{results:?}"
    );
}

/// Optimistic read-modify-write from many tasks: every increment lands exactly once.
pub(crate) async fn read_modify_write_loses_no_update(store: &Store) {
    let store = Arc::new(store.clone());
    const TASKS: u64 = 8;
    const EACH: u64 = 5;
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                loop {
                    let current = store.get("t", "counter").await.unwrap();
                    let (txn, next) = match current {
                        None => (Transaction::new().expect_absent("t", "counter"), 1u64),
                        Some(entry) => {
                            let n = u64::from_be_bytes(entry.value.bytes().try_into().unwrap());
                            (
                                Transaction::new().expect_version("t", "counter", entry.version),
                                n + 1,
                            )
                        }
                    };
                    let txn = txn.put("t", "counter", plain(&next.to_be_bytes()));
                    match store.commit(txn).await {
                        Ok(()) => break,
                        Err(StoreError::Conflict(_)) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let entry = store.get("t", "counter").await.unwrap().unwrap();
    assert_eq!(entry.value.bytes(), (TASKS * EACH).to_be_bytes());
    assert_eq!(entry.version, TASKS * EACH);
}

/// Two transactions that each check the key the other writes cannot both commit: the engines
/// are serializable, not merely snapshot-isolated.
pub(crate) async fn write_skew_is_refused(store: &Store) {
    let store = Arc::new(store.clone());
    for round in 0..20 {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        store
            .commit(
                Transaction::new()
                    .put("t", &a, plain(b"0"))
                    .put("t", &b, plain(b"0")),
            )
            .await
            .unwrap();
        let skew = |check: String, write: String| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .commit(Transaction::new().expect_version("t", &check, 1).put(
                        "t",
                        &write,
                        plain(b"1"),
                    ))
                    .await
            })
        };
        let first = skew(a.clone(), b.clone());
        let second = skew(b.clone(), a.clone());
        let results = collect(vec![first, second]).await;
        assert_one_winner(&results);
        let versions = (
            version(&store, "t", &a).await.unwrap(),
            version(&store, "t", &b).await.unwrap(),
        );
        assert!(versions == (1, 2) || versions == (2, 1), "{versions:?}");
    }
}

/// A create guarded by `expect_absent` racing an unconditional put of the same key: either the
/// create comes first (and the put replaces it, version 2) or it conflicts. The create never
/// lands on top of the put.
pub(crate) async fn guarded_create_races_blind_write(store: &Store) {
    let store = Arc::new(store.clone());
    for round in 0..20 {
        let key = format!("k{round}");
        let create = {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                store
                    .commit(Transaction::new().expect_absent("t", &key).put(
                        "t",
                        &key,
                        plain(b"create"),
                    ))
                    .await
            })
        };
        let blind = {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                store
                    .commit(Transaction::new().put("t", &key, plain(b"blind")))
                    .await
            })
        };
        let created = create.await.unwrap();
        blind.await.unwrap().unwrap();
        let entry = store.get("t", &key).await.unwrap().unwrap();
        assert_eq!(entry.value.bytes(), b"blind");
        match created {
            Ok(()) => assert_eq!(entry.version, 2),
            Err(StoreError::Conflict(_)) => assert_eq!(entry.version, 1),
            Err(e) => panic!("{e}"),
        }
    }
}

pub(crate) async fn secrets_round_trip_encrypted(store: &Store) {
    let plaintext = b"-----BEGIN PRIVATE KEY----- very secret material 0123456789";
    store
        .commit(
            Transaction::new()
                .put("kms/keys", "acct/r/k1", secret(plaintext))
                .put("kms/keys", "acct/r/plain", plain(plaintext))
                .put("kms/keys", "acct/r/empty", secret(b"")),
        )
        .await
        .unwrap();
    let entry = store.get("kms/keys", "acct/r/k1").await.unwrap().unwrap();
    assert!(entry.value.is_secret());
    assert_eq!(entry.value.bytes(), plaintext);
    assert!(!format!("{entry:?}").contains("very secret"));
    let empty = store
        .get("kms/keys", "acct/r/empty")
        .await
        .unwrap()
        .unwrap();
    assert!(empty.value.is_secret() && empty.value.bytes().is_empty());
    // Scans decrypt too.
    let scanned = store.scan("kms/keys", "acct/r/", None, 10).await.unwrap();
    assert_eq!(scanned.len(), 3);
    assert!(
        scanned
            .iter()
            .any(|(k, e)| k == "acct/r/k1" && e.value.bytes() == plaintext)
    );

    // What the engine holds: ciphertext for the secret, the bytes themselves for the plain.
    let raw_secret = store
        .backend
        .get("kms/keys", "acct/r/k1")
        .await
        .unwrap()
        .unwrap();
    assert!(!contains(&raw_secret.bytes, plaintext));
    assert!(!contains(&raw_secret.bytes, b"very secret"));
    assert!(raw_secret.bytes.len() >= plaintext.len() + 28);
    let raw_plain = store
        .backend
        .get("kms/keys", "acct/r/plain")
        .await
        .unwrap()
        .unwrap();
    assert!(contains(&raw_plain.bytes, plaintext));
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A ciphertext copied under another key (by someone with write access to the database) does
/// not decrypt there.
pub(crate) async fn moved_ciphertext_is_sealed(store: &Store) {
    store
        .commit(Transaction::new().put("s", "victim", secret(b"secret")))
        .await
        .unwrap();
    let raw = store.backend.get("s", "victim").await.unwrap().unwrap();
    for (ks, key) in [("s", "attacker"), ("s2", "victim")] {
        store
            .backend
            .commit(RawBatch {
                checks: Vec::new(),
                writes: vec![RawWrite {
                    keyspace: ks.to_owned(),
                    key: key.to_owned(),
                    op: WriteOp::Put(raw.bytes.clone()),
                }],
            })
            .await
            .unwrap();
        assert!(matches!(store.get(ks, key).await, Err(StoreError::Sealed)));
    }
    assert_eq!(bytes(store, "s", "victim").await.unwrap(), b"secret");
}

pub(crate) async fn wrong_root_key_is_sealed(store: &Store) {
    store
        .commit(
            Transaction::new()
                .put("s", "k", secret(b"secret"))
                .put("s", "p", plain(b"plain")),
        )
        .await
        .unwrap();
    let wrong = Store {
        backend: Arc::clone(&store.backend),
        barrier: Arc::new(Barrier::from_env_value(OTHER_KEY).unwrap()),
    };
    // At start: the check value does not open.
    assert!(matches!(
        wrong.check_barrier().await,
        Err(StoreError::Sealed)
    ));
    // On read (had it started anyway): secrets are sealed, plain values still read.
    assert!(matches!(wrong.get("s", "k").await, Err(StoreError::Sealed)));
    assert!(matches!(
        wrong.scan("s", "", None, 10).await,
        Err(StoreError::Sealed)
    ));
    assert_eq!(
        wrong.get("s", "p").await.unwrap().unwrap().value.bytes(),
        b"plain"
    );
    // The right key still opens everything.
    assert!(store.check_barrier().await.is_ok());
    assert_eq!(bytes(store, "s", "k").await.unwrap(), b"secret");
}

pub(crate) async fn reset_wipes_entries(store: &Store) {
    store
        .commit(
            Transaction::new()
                .put("a", "1", plain(b"x"))
                .put("b", "2", secret(b"y")),
        )
        .await
        .unwrap();
    store.reset().await.unwrap();
    assert!(store.get("a", "1").await.unwrap().is_none());
    assert!(store.scan("b", "", None, 10).await.unwrap().is_empty());
    // The store goes on: the format and barrier check survive a reset.
    assert!(store.check_format().await.is_ok());
    assert!(store.check_barrier().await.is_ok());
    store
        .commit(Transaction::new().put("b", "2", secret(b"z")))
        .await
        .unwrap();
    let entry = store.get("b", "2").await.unwrap().unwrap();
    assert_eq!((entry.value.bytes(), entry.version), (&b"z"[..], 1));
}

pub(crate) async fn large_batch_is_one_transaction(store: &Store) {
    const N: usize = 5000;
    let record = vec![b'r'; 512];
    let build = |tag: u8| {
        let mut txn = Transaction::new();
        for i in 0..N {
            let mut value = record.clone();
            value.push(tag);
            txn = txn.put("audit", &format!("acct/r/{i:08}"), plain(&value));
        }
        txn
    };
    let started = Instant::now();
    store.commit(build(1)).await.unwrap();
    let elapsed = started.elapsed();
    eprintln!("large batch: {N} puts of 513 bytes committed in {elapsed:?}");

    // All of it, in order, by pages.
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .scan("audit", "acct/r/", after.as_deref(), 1000)
            .await
            .unwrap();
        let Some((last, _)) = page.last() else { break };
        for (i, (key, entry)) in page.iter().enumerate() {
            assert_eq!(*key, format!("acct/r/{:08}", count + i));
            assert_eq!(entry.value.bytes().last(), Some(&1));
        }
        count += page.len();
        after = Some(last.clone());
    }
    assert_eq!(count, N);

    // A large batch whose last precondition fails writes none of its thousands of puts.
    let result = store
        .commit(build(2).expect_absent("audit", &format!("acct/r/{:08}", N - 1)))
        .await;
    assert!(is_conflict(&result), "{result:?}");
    let first = store
        .get("audit", "acct/r/00000000")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.value.bytes().last(), first.version), (Some(&1), 1));

    // Secrets in bulk too.
    let mut txn = Transaction::new();
    for i in 0..N {
        txn = txn.put("bulk", &format!("{i:08}"), secret(&record));
    }
    store.commit(txn).await.unwrap();
    let last = store
        .get("bulk", &format!("{:08}", N - 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.value.bytes(), record);
}

pub(crate) async fn invalid_input_is_refused(store: &Store) {
    let long_key = "k".repeat(crate::MAX_KEY_LEN + 1);
    for (ks, key) in [
        ("", "k"),
        ("t\0", "k"),
        ("t", "k\0"),
        ("t", long_key.as_str()),
    ] {
        assert!(matches!(
            store.get(ks, key).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store
                .commit(Transaction::new().put(ks, key, plain(b"x")))
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.scan(ks, key, None, 1).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        store.scan("t", "", Some("a\0"), 1).await,
        Err(StoreError::Invalid(_))
    ));
    // A refused transaction writes nothing, even its valid parts.
    let result = store
        .commit(
            Transaction::new()
                .put("t", "ok", plain(b"x"))
                .put("t", "bad\0", plain(b"x")),
        )
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))));
    assert!(store.get("t", "ok").await.unwrap().is_none());
    // The longest key is fine.
    let max_key = "k".repeat(crate::MAX_KEY_LEN);
    store
        .commit(Transaction::new().put("t", &max_key, plain(b"x")))
        .await
        .unwrap();
    assert_eq!(version(store, "t", &max_key).await, Some(1));
}

/// Where a backend gives change marks, a write to a keyspace (or a reset) moves the marks of
/// every set of keyspaces that includes it, and no other.
pub(crate) async fn change_marks_move_with_writes(store: &Store) {
    let Some(before) = store.change_mark(&["marks/a", "marks/b"]) else {
        return;
    };
    let only_c = store.change_mark(&["marks/c"]);
    store
        .commit(Transaction::new().put("marks/b", "k", plain(b"1")))
        .await
        .unwrap();
    let after = store.change_mark(&["marks/a", "marks/b"]).unwrap();
    assert_ne!(before, after);
    assert_eq!(store.change_mark(&["marks/c"]), only_c);
    assert_eq!(store.change_mark(&["marks/a", "marks/b"]), Some(after));
    store.reset().await.unwrap();
    assert_ne!(store.change_mark(&["marks/a", "marks/b"]), Some(after));
    assert_ne!(store.change_mark(&["marks/c"]), only_c);
}
