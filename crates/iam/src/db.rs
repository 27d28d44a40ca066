//! Where IAM keeps its records in the store, and the read-modify-write loop every change uses.
//!
//! Layout (records are JSON):
//! - keyspace [`IAM`], per account: `<account>/user/<name>`, `<account>/group/<name>`,
//!   `<account>/role/<name>`, `<account>/policy/<name>` (customer managed policies),
//!   `<account>/policy-use/<policy arn>` (who uses a managed policy, AWS's or the account's),
//!   `<account>/mfa/<serial>` (sealed: holds the TOTP seed), `<account>/login/<user id>`
//!   (sealed: the password hash) and `<account>/settings` (alias, password policy). Names are
//!   lower-cased in keys because IAM names are unique regardless of case; records keep the
//!   case they were created with.
//! - keyspace [`ACCESS_KEYS`], global: `<access key id>`, sealed, because the authenticator
//!   knows only the key id and the record holds the secret.
//! - keyspace [`KEY_LAST_USED`], global: `<access key id>`, when and where a key was last used.
//! - keyspace [`ALIASES`], global: `<alias>`, the account that owns an alias (aliases are
//!   unique across accounts).

use std::future::Future;

use palisade_core::{AccountId, ServiceError};
use palisade_model_iam::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{SecretBytes, StoreError, Transaction, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::IamState;
use crate::paging::{Page, PageRequest};

/// Per-account records.
pub(crate) const IAM: &str = "iam";
/// Access keys by id, across accounts.
pub(crate) const ACCESS_KEYS: &str = "iam/access-keys";
/// Last use of each access key.
pub(crate) const KEY_LAST_USED: &str = "iam/access-key-last-used";
/// Account aliases, across accounts.
pub(crate) const ALIASES: &str = "iam/account-aliases";

/// The kinds of per-account record, each a key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
    Role,
    Policy,
    PolicyUse,
    Mfa,
    Login,
}

impl Kind {
    fn segment(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
            Kind::Policy => "policy",
            Kind::PolicyUse => "policy-use",
            Kind::Mfa => "mfa",
            Kind::Login => "login",
        }
    }
}

/// The key prefix of every record of `kind` in `account`.
pub(crate) fn prefix(account: &AccountId, kind: Kind) -> String {
    format!("{account}/{}/", kind.segment())
}

/// The key of the record of `kind` called `name`. Entity names are case-insensitive, so their
/// keys are lower-cased; ARNs, serials and ids are kept as they are.
pub(crate) fn key(account: &AccountId, kind: Kind, name: &str) -> String {
    match kind {
        Kind::User | Kind::Group | Kind::Role | Kind::Policy => {
            format!("{}{}", prefix(account, kind), name.to_lowercase())
        }
        Kind::PolicyUse | Kind::Mfa | Kind::Login => format!("{}{name}", prefix(account, kind)),
    }
}

/// The key of an account's settings record.
pub(crate) fn settings_key(account: &AccountId) -> String {
    format!("{account}/settings")
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
pub(crate) fn store_error(error: StoreError) -> ServiceError {
    ServiceError::internal(format!("IAM storage failed: {error}"))
}

/// A record serialized for storage in the clear.
pub(crate) fn plain<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    typed::plain_json(record).map_err(store_error)
}

/// A record serialized for storage sealed by the store's barrier, because it holds a secret.
pub(crate) fn sealed<T: Serialize>(record: &T) -> Result<Value, ServiceError> {
    serde_json::to_vec(record)
        .map(|bytes| Value::Secret(SecretBytes::new(bytes)))
        .map_err(|error| ServiceError::internal(format!("IAM record encoding failed: {error}")))
}

fn decode<T: DeserializeOwned>(keyspace: &str, key: &str, value: &Value) -> Result<T, StoreError> {
    typed::decode_json(keyspace, key, value)
}

impl IamState {
    /// The record under `key`, if any. The public lookups use this one, which keeps the
    /// store's error type.
    pub(crate) async fn get_raw<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        key: &str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        match self.store.get(keyspace, key).await? {
            None => Ok(None),
            Some(entry) => Ok(Some(Stored {
                value: decode(keyspace, key, &entry.value)?,
                version: entry.version,
            })),
        }
    }

    /// The record under `key`, if any.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        key: &str,
    ) -> Result<Option<Stored<T>>, ServiceError> {
        self.get_raw(keyspace, key).await.map_err(store_error)
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub(crate) async fn scan_all<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Stored<T>)>, StoreError> {
        const CHUNK: usize = 500;
        let mut records = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .scan(keyspace, prefix, after.as_deref(), CHUNK)
                .await?;
            let done = rows.len() < CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let value = decode(keyspace, &key, &entry.value)?;
                records.push((
                    key,
                    Stored {
                        value,
                        version: entry.version,
                    },
                ));
            }
            if done {
                return Ok(records);
            }
        }
    }

    /// One page of the records under `prefix` that pass `keep`, in key order. The marker is
    /// the key (less the prefix) of the page's last record.
    pub(crate) async fn scan_page<T: DeserializeOwned>(
        &self,
        prefix: &str,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, ServiceError> {
        // Filtered records may be sparse, so keep reading until one more than a page has
        // passed the filter (which tells whether the listing is truncated) or the prefix ends.
        let chunk = (page.max_items() + 1).max(100);
        let mut after = page.after().map(|after| format!("{prefix}{after}"));
        let mut kept: Vec<(String, T)> = Vec::new();
        loop {
            let rows = self
                .store
                .scan(IAM, prefix, after.as_deref(), chunk)
                .await
                .map_err(store_error)?;
            let done = rows.len() < chunk;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let record: T = decode(IAM, &key, &entry.value).map_err(store_error)?;
                if keep(&record) {
                    let suffix = key.strip_prefix(prefix).unwrap_or(&key).to_owned();
                    kept.push((suffix, record));
                }
            }
            if done || kept.len() > page.max_items() {
                return Ok(page.take(kept));
            }
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
                MutateError::Contended => errors::concurrent_modification_exception(
                    "The request was rejected because multiple requests to change this object were \
             submitted simultaneously. Wait a few minutes and submit your request again.",
                ),
            })
    }
}
