//! Where EventBridge keeps its records in the store, and the read-modify-write loop every
//! change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`:
//! - keyspace `BUSES`: `<tenant><bus name>` → a JSON `BusRecord` (custom buses, and the
//!   `default` bus's settings once `UpdateEventBus` gives it some: it always exists);
//! - keyspace `RULES`: `<tenant><bus name>|<rule name>` → a JSON `RuleRecord`, its targets
//!   included, so a rule and its targets change together. `|` appears in no bus name;
//! - keyspace `CONNECTIONS`: `<tenant><connection name>` → a JSON `ConnectionRecord`, sealed
//!   (`Value::Secret`) since it holds the authorization's secrets;
//! - keyspace `API_DESTINATIONS`: `<tenant><destination name>` → a JSON `ApiDestinationRecord`;
//! - keyspace `ARCHIVES`: `<tenant><archive name>` → a JSON `ArchiveRecord`, and `REPLAYS`:
//!   `<tenant><replay name>` → a JSON `ReplayRecord`. An archive's events and counts live in
//!   keyspaces of their own, keyed by the archive's id (see `archives`);
//! - keyspace `POLICIES`: `<tenant><bus name>` → a JSON `PolicyRecord`, the bus's resource-based
//!   policy (the `default` bus's too), absent while it has none (see `permissions`).
//! - keyspace `EVENT_SOURCES`: `<tenant><source name>` → a JSON `SourceRecord`, a partner event
//!   source offered to the tenant; `PARTNER_OFFERS`: `<partner tenant><source name>|<account>`
//!   → when the partner offered it to that account; `PARTNER_NAMES`: `<region>/<partner name>`
//!   → the account that owns the name (see `sources`).
//!
//! Delivery keeps its own keyspaces, not prefixed by tenant (see `outbox`): `OUTBOX` holds the
//! events accepted and not yet through their first delivery, `RETRIES` the invocations waiting
//! for their next attempt.

use std::future::Future;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{SecretBytes, Store, StoreError, Transaction, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::EventsState;

pub(crate) const BUSES: &str = "events/buses";
pub(crate) const RULES: &str = "events/rules";
pub(crate) const CONNECTIONS: &str = "events/connections";
pub(crate) const API_DESTINATIONS: &str = "events/api-destinations";
pub(crate) const POLICIES: &str = "events/bus-policies";
pub(crate) const OUTBOX: &str = "events/outbox";
pub(crate) const RETRIES: &str = "events/retries";
pub(crate) const ARCHIVES: &str = "events/archives";
pub(crate) const ARCHIVED: &str = "events/archived";
pub(crate) const ARCHIVE_COUNTS: &str = "events/archive-counts";
pub(crate) const ARCHIVE_PURGES: &str = "events/archive-purges";
pub(crate) const REPLAYS: &str = "events/replays";
pub(crate) const SCHEDULES: &str = "events/schedules";
pub(crate) const TAGS: &str = "events/tags";
pub(crate) const EVENT_SOURCES: &str = "events/event-sources";
pub(crate) const PARTNER_OFFERS: &str = "events/partner-offers";
pub(crate) const PARTNER_NAMES: &str = "events/partner-names";

/// The account and region a request acts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    /// The store key of the tenant's bus, connection or API destination `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    pub fn rules_prefix(&self, bus: &str) -> String {
        format!("{}{bus}|", self.prefix())
    }

    pub fn rule_key(&self, bus: &str, rule: &str) -> String {
        format!("{}{rule}", self.rules_prefix(bus))
    }

    pub fn bus_arn(&self, bus: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:event-bus/{bus}",
            self.region, self.account
        )
    }

    /// The ARN of a connection or API destination (`kind`), unique per creation: AWS ends it
    /// with an id, so a resource created again under the same name has another ARN.
    pub fn resource_arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:{kind}/{name}/{}",
            self.region,
            self.account,
            uuid::Uuid::new_v4()
        )
    }

    /// The ARN of the tenant's `kind` (`archive`, `replay`) named `name`.
    pub fn named_arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:{kind}/{name}",
            self.region, self.account
        )
    }

    /// What follows `<kind>/` in `arn` when it is an ARN of the tenant's account and region.
    pub fn name_in_arn<'a>(&self, kind: &str, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix("arn:aws:events:")?
            .strip_prefix(self.region.as_str())?
            .strip_prefix(':')?
            .strip_prefix(self.account.as_str())?
            .strip_prefix(':')?
            .strip_prefix(kind)?
            .strip_prefix('/')
            .filter(|name| !name.is_empty())
    }

    pub fn rule_arn(&self, bus: &str, rule: &str) -> String {
        if bus == crate::buses::DEFAULT {
            format!(
                "arn:aws:events:{}:{}:rule/{rule}",
                self.region, self.account
            )
        } else {
            format!(
                "arn:aws:events:{}:{}:rule/{bus}/{rule}",
                self.region, self.account
            )
        }
    }
}

pub(crate) use palisade_store::typed::Stored;

pub(crate) fn store_error(error: StoreError) -> ServiceError {
    errors::internal_exception(format!("EventBridge storage failed: {error}"))
}

pub(crate) fn plain<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    typed::plain_json(record).map_err(store_error)
}

/// `record` as JSON, sealed by the store's barrier: for records that hold secrets.
pub(crate) fn sealed<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    serde_json::to_vec(record)
        .map(|bytes| Value::Secret(SecretBytes::new(bytes)))
        .map_err(|error| store_error(StoreError::Backend(format!("encoding a record: {error}"))))
}

/// Every record of `keyspace` under `prefix`, with its full key and version, read in pages.
pub(crate) async fn scan_every<T: DeserializeOwned>(
    store: &Store,
    keyspace: &str,
    prefix: &str,
) -> Result<Vec<(String, Stored<T>)>, StoreError> {
    const CHUNK: usize = 500;
    let mut all: Vec<(String, Stored<T>)> = Vec::new();
    loop {
        let after = all.last().map(|(key, _)| key.clone());
        let page = typed::scan_json(store, keyspace, prefix, after.as_deref(), CHUNK).await?;
        let done = page.len() < CHUNK;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

fn decode<T: DeserializeOwned>(
    keyspace: &str,
    key: &str,
    value: &Value,
) -> Result<T, ServiceError> {
    typed::decode_json(keyspace, key, value).map_err(store_error)
}

impl EventsState {
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        key: &str,
    ) -> Result<Option<Stored<T>>, ServiceError> {
        typed::get_json(&self.store, keyspace, key)
            .await
            .map_err(store_error)
    }

    /// Up to `limit` records under `prefix` whose keys sort after `prefix` + `after`, in key
    /// order, each with its key less the prefix.
    pub(crate) async fn scan_page<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let after = after.map(|after| format!("{prefix}{after}"));
        let rows = self
            .store
            .scan(keyspace, prefix, after.as_deref(), limit)
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(key, entry)| {
                let record = decode(keyspace, &key, &entry.value)?;
                let name = key.strip_prefix(prefix).unwrap_or(&key).to_owned();
                Ok((name, record))
            })
            .collect()
    }

    /// Every record under `prefix`, with its key less the prefix.
    pub(crate) async fn scan_all<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let all = scan_every(&self.store, keyspace, prefix)
            .await
            .map_err(store_error)?;
        Ok(all
            .into_iter()
            .map(|(key, record)| {
                let name = key.strip_prefix(prefix).unwrap_or(&key).to_owned();
                (name, record.value)
            })
            .collect())
    }

    /// Runs a read-modify-write: `attempt` reads what it needs and returns the transaction that
    /// applies its change (pinning the versions it read) and the answer. When another change
    /// wins the race, `attempt` runs again on fresh reads.
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
                    "Another change to this resource happened at the same time. Retry the request.",
                ),
            })
    }
}
