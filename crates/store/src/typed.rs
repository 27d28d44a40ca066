//! Typed records over the store, as every service keeps them: JSON values read together with the
//! version to pin when writing them back, and the read-modify-write loop of optimistic
//! transactions.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Store, StoreError, Transaction, Value};

/// How many times [`mutate`] re-reads and retries a change that lost a race.
const ATTEMPTS: usize = 16;

/// A record as read, with the version to pin when writing it back.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    /// The record.
    pub value: T,
    /// Its version, for [`Transaction::expect_version`].
    pub version: u64,
}

impl<T> Stored<T> {
    /// Pins this version in `transaction` and writes `value` in its place.
    pub fn replace(
        &self,
        transaction: Transaction,
        keyspace: &str,
        key: &str,
        value: Value,
    ) -> Transaction {
        transaction
            .expect_version(keyspace, key, self.version)
            .put(keyspace, key, value)
    }
}

/// `record` as JSON, stored in the clear.
pub fn plain_json<T: Serialize>(record: &T) -> Result<Value, StoreError> {
    serde_json::to_vec(record)
        .map(Value::Plain)
        .map_err(|error| StoreError::Backend(format!("encoding a record: {error}")))
}

/// The record stored as JSON in `value` under `keyspace`/`key`.
pub fn decode_json<T: DeserializeOwned>(
    keyspace: &str,
    key: &str,
    value: &Value,
) -> Result<T, StoreError> {
    serde_json::from_slice(value.bytes()).map_err(|error| {
        StoreError::Backend(format!("unreadable record {keyspace}/{key}: {error}"))
    })
}

/// The JSON record under `keyspace`/`key`, if any.
pub async fn get_json<T: DeserializeOwned>(
    store: &Store,
    keyspace: &str,
    key: &str,
) -> Result<Option<Stored<T>>, StoreError> {
    match store.get(keyspace, key).await? {
        None => Ok(None),
        Some(entry) => Ok(Some(Stored {
            value: decode_json(keyspace, key, &entry.value)?,
            version: entry.version,
        })),
    }
}

/// Up to `limit` JSON records of `keyspace` under `prefix` whose keys sort after `after`, in key
/// order, each with its key.
pub async fn scan_json<T: DeserializeOwned>(
    store: &Store,
    keyspace: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Stored<T>)>, StoreError> {
    store
        .scan(keyspace, prefix, after, limit)
        .await?
        .into_iter()
        .map(|(key, entry)| {
            let value = decode_json(keyspace, &key, &entry.value)?;
            Ok((
                key,
                Stored {
                    value,
                    version: entry.version,
                },
            ))
        })
        .collect()
}

/// Every JSON record of `keyspace` under `prefix`, in key order, each with its key: read
/// `chunk` at a time, for keyspaces whose records under one prefix are few enough to hold.
pub async fn scan_all_json<T: DeserializeOwned>(
    store: &Store,
    keyspace: &str,
    prefix: &str,
    chunk: usize,
) -> Result<Vec<(String, Stored<T>)>, StoreError> {
    let chunk = chunk.max(1);
    let mut records = Vec::new();
    loop {
        let after = records
            .last()
            .map(|(key, _): &(String, Stored<T>)| key.clone());
        let page = scan_json(store, keyspace, prefix, after.as_deref(), chunk).await?;
        let done = page.len() < chunk;
        records.extend(page);
        if done {
            return Ok(records);
        }
    }
}

/// Why [`mutate`] gave up.
#[derive(Debug)]
pub enum MutateError<E> {
    /// The attempt itself failed; nothing was written.
    Attempt(E),
    /// The store failed.
    Store(StoreError),
    /// Every attempt lost its race to another change.
    Contended,
}

/// Runs a read-modify-write: `attempt` reads what it needs and returns the transaction that
/// applies its change (pinning the versions it read) and the result to answer. When another
/// change wins the race, the commit fails without writing and `attempt` runs again on fresh
/// reads, up to 16 times.
pub async fn mutate<T, E, F, Fut>(store: &Store, mut attempt: F) -> Result<T, MutateError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(Transaction, T), E>>,
{
    for _ in 0..ATTEMPTS {
        let (transaction, answer) = attempt().await.map_err(MutateError::Attempt)?;
        match store.commit(transaction).await {
            Ok(()) => return Ok(answer),
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(MutateError::Store(error)),
        }
    }
    Err(MutateError::Contended)
}
