//! Where CloudWatch Logs keeps its records in the store, and the read-modify-write loop every
//! change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`. Log group names cannot hold
//! `:`, and stream and metric filter names cannot either, so `:` separates the parts:
//! - keyspace `GROUPS`: `<tenant><group>` → a JSON `GroupRecord`;
//! - keyspace `STREAMS`: `<tenant><group>:<stream>` → a JSON `StreamRecord`;
//! - keyspace `EVENTS`: `<tenant><group>:<stream>:<timestamp>:<sequence>` → a chunk of events
//!   (module `chunks`) starting at that position, the timestamp and the stream's ingestion
//!   sequence number zero-padded so that a stream's time range is one key range, in time then
//!   ingestion order; in a group with a KMS key the chunk holds the messages sealed, and the
//!   `GroupRecord` the KMS-sealed data keys (module `encryption`);
//! - keyspace `METRIC_FILTERS`: `<tenant><group>:<filter>` → a JSON `MetricFilterRecord`.

use std::future::Future;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{Entry, StoreError, Transaction, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::LogsState;

pub(crate) const GROUPS: &str = "logs/groups";
pub(crate) const STREAMS: &str = "logs/streams";
pub(crate) const EVENTS: &str = "logs/events";
pub(crate) const METRIC_FILTERS: &str = "logs/metric-filters";

/// How many entries one store scan reads.
pub(crate) const ROWS_PER_SCAN: usize = 500;
/// How many entries one deleting transaction removes: fewer, since an entry of events may hold
/// a batch of up to 1 MiB, and deleting reads what it deletes.
pub(crate) const ROWS_PER_DELETE: usize = 64;

/// The account and region a request acts in: log groups belong to both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenant {
    pub account: String,
    pub region: String,
}

impl Tenant {
    pub fn of(ctx: &RequestContext) -> Self {
        Self {
            account: ctx.account().as_str().to_owned(),
            region: ctx.region.as_str().to_owned(),
        }
    }

    /// The tenant a store key belongs to and the rest of the key, for sweepers over every
    /// tenant.
    pub fn split_store_key(key: &str) -> Option<(Self, &str)> {
        let mut parts = key.splitn(3, '/');
        let account = parts.next()?;
        let region = parts.next()?;
        let rest = parts.next()?;
        Some((
            Self {
                account: account.to_owned(),
                region: region.to_owned(),
            },
            rest,
        ))
    }

    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    pub fn group_key(&self, group: &str) -> String {
        format!("{}{group}", self.prefix())
    }

    /// The prefix of every stream, event or metric filter key of `group`.
    pub fn under_group(&self, group: &str) -> String {
        format!("{}{group}:", self.prefix())
    }

    pub fn child_key(&self, group: &str, child: &str) -> String {
        format!("{}{child}", self.under_group(group))
    }

    /// The prefix of every event key of a stream.
    pub fn under_stream(&self, group: &str, stream: &str) -> String {
        format!("{}{stream}:", self.under_group(group))
    }

    /// The log group name in one of this tenant's log group ARNs, with or without the `:*`
    /// that `DescribeLogGroups` shows.
    pub fn group_in_arn<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let name = arn.strip_prefix(&self.group_arn(""))?;
        Some(name.strip_suffix(":*").unwrap_or(name)).filter(|name| !name.is_empty())
    }

    /// `arn:aws:logs:<region>:<account>:log-group:<name>`.
    pub fn group_arn(&self, group: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{group}",
            self.region, self.account
        )
    }
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
fn store_error(error: StoreError) -> ServiceError {
    errors::service_unavailable_exception(format!("CloudWatch Logs storage failed: {error}"))
}

/// A record serialized for storage.
pub(crate) fn plain<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    typed::plain_json(record).map_err(store_error)
}

fn decode<T: DeserializeOwned>(
    keyspace: &str,
    key: &str,
    value: &Value,
) -> Result<T, ServiceError> {
    typed::decode_json(keyspace, key, value).map_err(store_error)
}

impl LogsState {
    /// The JSON record under `key`, if any.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        key: &str,
    ) -> Result<Option<Stored<T>>, ServiceError> {
        typed::get_json(&self.store, keyspace, key)
            .await
            .map_err(store_error)
    }

    /// Up to `limit` records whose keys start with `prefix` and sort after `after`, in key
    /// order, each with its full key.
    pub(crate) async fn scan<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let rows = self.scan_values(keyspace, prefix, after, limit).await?;
        rows.into_iter()
            .map(|(key, value)| {
                let record = decode(keyspace, &key, &value)?;
                Ok((key, record))
            })
            .collect()
    }

    /// Up to `limit` values whose keys start with `prefix` and sort after `after`, in key order,
    /// each with its full key, as stored.
    pub(crate) async fn scan_values(
        &self,
        keyspace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, ServiceError> {
        let rows = self
            .store
            .scan(keyspace, prefix, after, limit)
            .await
            .map_err(store_error)?;
        Ok(values(rows))
    }

    /// Like [`Self::scan_values`], from the last key before `before` down.
    pub(crate) async fn scan_values_back(
        &self,
        keyspace: &str,
        prefix: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, ServiceError> {
        let rows = self
            .store
            .scan_back(keyspace, prefix, before, limit)
            .await
            .map_err(store_error)?;
        Ok(values(rows))
    }

    /// Every record whose key starts with `prefix`, each with its full key.
    pub(crate) async fn scan_all<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows: Vec<(String, T)> = self
                .scan(keyspace, prefix, after.as_deref(), ROWS_PER_SCAN)
                .await?;
            let done = rows.len() < ROWS_PER_SCAN;
            after = rows.last().map(|(key, _)| key.clone());
            all.extend(rows);
            if done {
                return Ok(all);
            }
        }
    }

    /// Deletes every entry whose key starts with `prefix`, a chunk per transaction.
    pub(crate) async fn delete_under(
        &self,
        keyspace: &str,
        prefix: &str,
    ) -> Result<(), ServiceError> {
        loop {
            let rows = self
                .store
                .scan(keyspace, prefix, None, ROWS_PER_DELETE)
                .await
                .map_err(store_error)?;
            let done = rows.len() < ROWS_PER_DELETE;
            let txn = rows.iter().fold(Transaction::new(), |txn, (key, _)| {
                txn.delete(keyspace, key)
            });
            self.store.commit(txn).await.map_err(store_error)?;
            if done {
                return Ok(());
            }
        }
    }

    /// Commits `txn`; when one of its preconditions no longer holds, answers `conflict()`.
    pub(crate) async fn commit_or(
        &self,
        txn: Transaction,
        conflict: impl FnOnce() -> ServiceError,
    ) -> Result<(), ServiceError> {
        if self.try_commit(txn).await? {
            Ok(())
        } else {
            Err(conflict())
        }
    }

    /// Commits `txn`; answers false, having written nothing, when one of its preconditions no
    /// longer holds.
    pub(crate) async fn try_commit(&self, txn: Transaction) -> Result<bool, ServiceError> {
        match self.store.commit(txn).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Runs a read-modify-write: `attempt` reads what it needs and returns the transaction
    /// that applies its change (pinning the versions it read) and the result to answer.
    /// When another change wins the race, the commit fails without writing and `attempt`
    /// runs again on fresh reads.
    pub(crate) async fn mutate<T, F, Fut>(&self, attempt: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Transaction, T), ServiceError>>,
    {
        typed::mutate(&self.store, attempt)
            .await
            .map_err(|error| match error {
                MutateError::Attempt(error) => error,
                MutateError::Store(error) => store_error(error),
                MutateError::Contended => errors::operation_aborted_exception(
                    "Multiple concurrent requests to update the same resource were in conflict.",
                ),
            })
    }
}

/// Scanned rows as keys and values, their versions dropped.
fn values(rows: Vec<(String, Entry)>) -> Vec<(String, Value)> {
    rows.into_iter()
        .map(|(key, entry)| (key, entry.value))
        .collect()
}
