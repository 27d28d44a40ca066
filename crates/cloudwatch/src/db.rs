//! Where CloudWatch keeps its records in the store, and the helpers every change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`:
//! - keyspace `METRICS`: `<tenant><namespace>|<metric name>|<metric id>` → a JSON
//!   `MetricRecord`, one per metric (namespace, name and dimension set), for `ListMetrics`;
//!   namespace and name are escaped (`%` and `|`), so a namespace or a namespace and name is
//!   one key prefix;
//! - keyspace `DATAPOINTS`: `<tenant><metric id>/<timestamp>/<put id>` → a JSON `PointRecord`,
//!   the timestamp (milliseconds) zero-padded, so a time range of one metric is one ordered
//!   scan. The metric id is the SHA-256 of the metric's identity: a metric with 30 dimensions
//!   would not fit a key;
//! - keyspace `ALARMS`: `<tenant><alarm name>` → a JSON `AlarmRecord`;
//! - keyspace `ALARM_HISTORY`: `<tenant><alarm name, escaped>|<timestamp>|<id>` → a JSON
//!   `HistoryRecord`.

use std::collections::BTreeMap;
use std::future::Future;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudwatch::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{StoreError, Transaction, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CloudWatchState;

pub(crate) const METRICS: &str = "cloudwatch/metrics";
pub(crate) const DATAPOINTS: &str = "cloudwatch/datapoints";
pub(crate) const ALARMS: &str = "cloudwatch/alarms";
pub(crate) const ALARM_HISTORY: &str = "cloudwatch/alarm-history";

/// How many entries one store scan reads.
pub(crate) const CHUNK: usize = 500;

/// The account and region a request acts in: metrics and alarms belong to both.
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

    /// The tenant a store key belongs to and the rest of the key, for tasks over every tenant.
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

    pub fn alarm_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    /// The prefix of every history item of the alarm `name`.
    pub fn history_prefix(&self, name: &str) -> String {
        format!("{}{}|", self.prefix(), escape(name))
    }

    /// `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`.
    pub fn alarm_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            self.region, self.account
        )
    }
}

/// One metric: CloudWatch tells metrics apart by namespace, name and the whole dimension set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct MetricIdentity {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

impl MetricIdentity {
    /// The hex SHA-256 of the identity, each part length-prefixed so no two identities share it.
    pub fn id(&self) -> String {
        let mut bytes = Vec::new();
        let parts = std::iter::once(&self.namespace)
            .chain(std::iter::once(&self.name))
            .chain(
                self.dimensions
                    .iter()
                    .flat_map(|(name, value)| [name, value]),
            );
        for part in parts {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &bytes,
        ))
    }

    /// The key of this metric's `METRICS` record.
    pub fn metric_key(&self, tenant: &Tenant) -> String {
        format!(
            "{}{}|{}|{}",
            tenant.prefix(),
            escape(&self.namespace),
            escape(&self.name),
            self.id()
        )
    }

    /// The prefix of every data point key of this metric.
    pub fn points_prefix(&self, tenant: &Tenant) -> String {
        format!("{}{}/", tenant.prefix(), self.id())
    }
}

/// The `METRICS` key prefix of a namespace, or of one metric name in it.
pub(crate) fn metrics_prefix(tenant: &Tenant, namespace: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{}{}|{}|", tenant.prefix(), escape(namespace), escape(name)),
        None => format!("{}{}|", tenant.prefix(), escape(namespace)),
    }
}

/// `text` with `%` and `|` escaped, so `|` separates the parts of a key.
pub(crate) fn escape(text: &str) -> String {
    text.replace('%', "%25").replace('|', "%7C")
}

/// A timestamp as a key part: zero-padded, so keys order like times (negative times are 0,
/// which no accepted data point has).
pub(crate) fn time_key(millis: i64) -> String {
    format!("{:019}", millis.max(0))
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
pub(crate) fn store_error(error: StoreError) -> ServiceError {
    errors::internal_service_fault(format!("CloudWatch storage failed: {error}"))
}

/// A record serialized for storage.
pub(crate) fn plain<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    typed::plain_json(record).map_err(store_error)
}

/// An opaque paging token for a position (a key, an offset).
pub(crate) fn encode_token(position: &str) -> String {
    hex::encode(position)
}

/// The position a token stands for; `None` when this service could not have issued it.
pub(crate) fn decode_token(token: &str) -> Option<String> {
    hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|position| !position.is_empty())
}

impl CloudWatchState {
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
    /// order, each with its full key and version.
    pub(crate) async fn scan<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Stored<T>)>, ServiceError> {
        typed::scan_json(&self.store, keyspace, prefix, after, limit)
            .await
            .map_err(store_error)
    }

    /// Every record whose key starts with `prefix` (and sorts after `after`), in key order.
    pub(crate) async fn scan_all<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<Vec<(String, Stored<T>)>, ServiceError> {
        let mut all = Vec::new();
        let mut after = after.map(str::to_owned);
        loop {
            let rows = self
                .scan::<T>(keyspace, prefix, after.as_deref(), CHUNK)
                .await?;
            let done = rows.len() < CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            all.extend(rows);
            if done {
                return Ok(all);
            }
        }
    }

    /// Commits `txn`.
    pub(crate) async fn commit(&self, txn: Transaction) -> Result<(), ServiceError> {
        self.store.commit(txn).await.map_err(store_error)
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
    /// that applies its change (pinning the versions it read) and the result to answer; a
    /// change that lost a race runs again on fresh reads.
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
                MutateError::Contended => errors::concurrent_modification_exception(
                    "Multiple concurrent requests to update the same resource were in conflict.",
                ),
            })
    }
}
