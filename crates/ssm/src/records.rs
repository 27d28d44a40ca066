//! Where Parameter Store keeps its records in the store, and the read-modify-write loop every
//! change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`:
//! - keyspace `PARAMETERS`: `<tenant><name>` → a JSON [`ParameterRecord`] holding every version
//!   of the parameter. A name is kept as given (`/app/db`), so the parameters under a path are one
//!   scan range (`<tenant>/app/`). Records of SecureString parameters are stored as
//!   `Value::Secret` (sealed by the store's barrier), on top of their KMS encryption.
//! - keyspace `COUNTS`: `<tenant>` → a JSON [`TierCounts`], the number of parameters per tier,
//!   written in the transaction that creates, upgrades or deletes a parameter, so the per-account
//!   limits hold under concurrent writes.
//! - keyspace `DUE`: `<due time, 20-digit milliseconds>/<tenant><name>` → nothing, one entry per
//!   pending policy of a parameter's latest version, so the sweeper reads only what has fallen
//!   due. [`write_record`] keeps it in step with every write of a parameter.

use std::future::Future;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_ssm::types::{ParameterTier, ParameterType};
use palisade_store::typed::{self, MutateError};
use palisade_store::{Entry, SecretBytes, Store, StoreError, Transaction, Value};
use serde::{Deserialize, Serialize};

use crate::ParameterStore;

pub(crate) const PARAMETERS: &str = "ssm/parameters";
pub(crate) const COUNTS: &str = "ssm/tier-counts";
pub(crate) const DUE: &str = "ssm/policy-due";

/// The account and region a request acts in: parameters are per both.
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

    /// The tenant a store key belongs to, and the rest of the key, for the sweeper.
    pub fn from_store_key(key: &str) -> Option<(Self, &str)> {
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

    pub fn store_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    pub fn arn(&self, name: &str) -> String {
        crate::parameter_arn(&self.account, &self.region, name)
    }
}

/// A parameter and its history, oldest version first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ParameterRecord {
    pub name: String,
    /// The parameter's tier: the highest any version reached (a parameter never goes back to
    /// Standard).
    pub tier: Tier,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    pub versions: Vec<VersionRecord>,
}

impl ParameterRecord {
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.last()
    }

    /// The latest version; a stored record always has one.
    pub fn current(&self) -> Result<&VersionRecord, ServiceError> {
        self.latest().ok_or_else(|| {
            ServiceError::internal(format!("The parameter {} has no versions.", self.name))
        })
    }

    pub fn version(&self, version: i64) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub fn labelled(&self, label: &str) -> Option<&VersionRecord> {
        self.versions
            .iter()
            .find(|v| v.labels.iter().any(|l| l == label))
    }

    /// How the record is stored: sealed when it holds encrypted values.
    pub fn to_value(&self) -> Result<Value, ServiceError> {
        let bytes = serde_json::to_vec(self).map_err(|error| {
            ServiceError::internal(format!("Parameter record encoding failed: {error}"))
        })?;
        let encrypted = self
            .versions
            .iter()
            .any(|v| matches!(v.value, StoredValue::Encrypted(_)));
        Ok(if encrypted {
            Value::Secret(SecretBytes::new(bytes))
        } else {
            Value::Plain(bytes)
        })
    }
}

/// One version of a parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub version: i64,
    pub kind: Kind,
    pub data_type: String,
    pub value: StoredValue,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    /// The KMS key of a SecureString version, as AWS reports it (`alias/aws/ssm` by default).
    pub key_id: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub tier: Tier,
    #[serde(default)]
    pub policies: Vec<crate::policies::PolicyRecord>,
    pub modified_millis: i64,
    pub modified_by: String,
}

/// A value as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum StoredValue {
    /// A String or StringList value.
    Plain(String),
    /// A SecureString value: see [`crate::secure`] for the two encodings.
    Encrypted(crate::secure::Sealed),
}

/// The parameter types, as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Kind {
    String,
    StringList,
    SecureString,
}

impl Kind {
    pub fn from_model(kind: &ParameterType) -> Option<Self> {
        match kind {
            ParameterType::String => Some(Kind::String),
            ParameterType::StringList => Some(Kind::StringList),
            ParameterType::SecureString => Some(Kind::SecureString),
            ParameterType::Unknown(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "String",
            Kind::StringList => "StringList",
            Kind::SecureString => "SecureString",
        }
    }

    pub fn to_model(self) -> ParameterType {
        ParameterType::from(self.as_str())
    }
}

/// The storage tiers a parameter can be in (Intelligent-Tiering resolves to one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Tier {
    Standard,
    Advanced,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "Standard",
            Tier::Advanced => "Advanced",
        }
    }

    pub fn to_model(self) -> ParameterTier {
        ParameterTier::from(self.as_str())
    }
}

/// The number of parameters per tier in one tenant.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct TierCounts {
    pub standard: u64,
    pub advanced: u64,
}

impl TierCounts {
    pub fn add(&mut self, tier: Tier) {
        match tier {
            Tier::Standard => self.standard += 1,
            Tier::Advanced => self.advanced += 1,
        }
    }

    pub fn remove(&mut self, tier: Tier) {
        match tier {
            Tier::Standard => self.standard = self.standard.saturating_sub(1),
            Tier::Advanced => self.advanced = self.advanced.saturating_sub(1),
        }
    }
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
pub(crate) fn store_error(error: StoreError) -> ServiceError {
    palisade_model_ssm::errors::internal_server_error(format!(
        "Parameter Store storage failed: {error}"
    ))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    key: &str,
    entry: &Entry,
) -> Result<T, ServiceError> {
    serde_json::from_slice(entry.value.bytes()).map_err(|error| {
        palisade_model_ssm::errors::internal_server_error(format!(
            "unreadable Parameter Store record {key}: {error}"
        ))
    })
}

/// The parameter `name` of `tenant`, if it exists.
pub(crate) async fn parameter(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
) -> Result<Option<Stored<ParameterRecord>>, ServiceError> {
    let key = tenant.store_key(name);
    let mark = service.store.change_mark(&[PARAMETERS]);
    if let Some(found) = mark.and_then(|mark| service.decoded_parameters.get(&key, mark)) {
        return Ok(found);
    }
    let found = match service
        .store
        .get(PARAMETERS, &key)
        .await
        .map_err(store_error)?
    {
        None => None,
        Some(entry) => Some(Stored {
            value: decode(&key, &entry)?,
            version: entry.version,
        }),
    };
    if let Some(mark) = mark {
        service.decoded_parameters.keep(key, mark, found.clone());
    }
    Ok(found)
}

/// The tier counts of `tenant`, with the store version to pin (absent: `None`).
pub(crate) async fn tier_counts(
    store: &Store,
    tenant: &Tenant,
) -> Result<(TierCounts, Option<u64>), ServiceError> {
    let key = tenant.prefix();
    match store.get(COUNTS, &key).await.map_err(store_error)? {
        None => Ok((TierCounts::default(), None)),
        Some(entry) => Ok((decode(&key, &entry)?, Some(entry.version))),
    }
}

/// Adds to `txn` the write of `counts`, pinned to the version they were read at.
pub(crate) fn write_counts(
    txn: Transaction,
    tenant: &Tenant,
    counts: TierCounts,
    read_at: Option<u64>,
) -> Result<Transaction, ServiceError> {
    let key = tenant.prefix();
    let bytes = serde_json::to_vec(&counts)
        .map_err(|error| ServiceError::internal(format!("count encoding failed: {error}")))?;
    let txn = match read_at {
        None => txn.expect_absent(COUNTS, &key),
        Some(version) => txn.expect_version(COUNTS, &key, version),
    };
    Ok(txn.put(COUNTS, &key, Value::Plain(bytes)))
}

/// Adds to `txn` the precondition that `name` is as it was read (absent when `read` is `None`).
pub(crate) fn pin(txn: Transaction, tenant: &Tenant, name: &str, read: Option<u64>) -> Transaction {
    let key = tenant.store_key(name);
    match read {
        None => txn.expect_absent(PARAMETERS, &key),
        Some(version) => txn.expect_version(PARAMETERS, &key, version),
    }
}

/// Adds to `txn` the write of parameter `name` as `after` (its deletion when `None`), with its
/// due-policy index entries: those of `before` go, those of `after` come.
pub(crate) fn write_record(
    mut txn: Transaction,
    tenant: &Tenant,
    name: &str,
    before: Option<&ParameterRecord>,
    after: Option<&ParameterRecord>,
) -> Result<Transaction, ServiceError> {
    for key in before.map(|r| due_keys(tenant, r)).unwrap_or_default() {
        txn = txn.delete(DUE, &key);
    }
    let key = tenant.store_key(name);
    match after {
        None => Ok(txn.delete(PARAMETERS, &key)),
        Some(record) => {
            for due in due_keys(tenant, record) {
                txn = txn.put(DUE, &due, Value::Plain(Vec::new()));
            }
            Ok(txn.put(PARAMETERS, &key, record.to_value()?))
        }
    }
}

/// The due-index keys of a record's pending policies.
fn due_keys(tenant: &Tenant, record: &ParameterRecord) -> Vec<String> {
    let pending = record.latest().map(|latest| latest.policies.as_slice());
    pending
        .unwrap_or_default()
        .iter()
        .filter(|p| p.status == crate::policies::PolicyStatus::Pending)
        .map(|p| {
            format!(
                "{:020}/{}",
                p.due_millis.max(0),
                tenant.store_key(&record.name)
            )
        })
        .collect()
}

/// Parses a due-index key into the due time, the tenant and the parameter name.
pub(crate) fn parse_due_key(key: &str) -> Option<(i64, Tenant, &str)> {
    let (due, rest) = key.split_once('/')?;
    let (tenant, name) = Tenant::from_store_key(rest)?;
    Some((due.parse().ok()?, tenant, name))
}

/// Runs a read-modify-write: `attempt` reads what it needs and returns the transaction that
/// applies its change (pinning what it read) and the answer. When another change wins the race,
/// the commit writes nothing and `attempt` runs again on fresh reads.
pub(crate) async fn mutate<T, F, Fut>(store: &Store, attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(Transaction, T), ServiceError>>,
{
    typed::mutate(store, attempt)
        .await
        .map_err(|error| match error {
            MutateError::Attempt(error) => error,
            MutateError::Store(error) => store_error(error),
            MutateError::Contended => palisade_model_ssm::errors::too_many_updates(
                "There are concurrent updates for a resource that supports one update at a time.",
            ),
        })
}

/// Up to `limit` stored parameters whose store keys start with `prefix` and sort after `after`,
/// in key order, undecoded: a reader that can refuse a parameter by its key never decodes it.
pub(crate) async fn scan(
    store: &Store,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Entry)>, ServiceError> {
    store
        .scan(PARAMETERS, prefix, after, limit)
        .await
        .map_err(store_error)
}
