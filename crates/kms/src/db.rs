//! Where KMS keeps its records in the store, and the read-modify-write loop every change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`:
//! - keyspace `KEYS`: `<tenant><key id>` → a JSON `KeyRecord`, in the clear;
//! - keyspace `MATERIAL`: `<tenant><key id>` → every version of the key's material, sealed by
//!   the store's barrier (`material` defines the encoding);
//! - keyspace `ALIASES`: `<tenant><alias name>` → a JSON `AliasRecord`;
//! - keyspace `GRANTS`: `<tenant><key id>/<grant id>` → a JSON `GrantRecord`;
//! - keyspace `IMPORT_KEYS`: `<tenant><key id>` → the RSA private key (PKCS#8) that unwraps
//!   material being imported into the key, sealed.
//!
//! A key and its material are always written in the same transaction. A multi-Region key has a
//! record and a material entry under the tenant of each region that holds it, same key id.

use std::future::Future;

use palisade_core::{AccountId, RequestContext, Sensitive, ServiceError};
use palisade_model_kms::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{StoreError, Transaction, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::KmsState;
use crate::material::Materials;
use crate::records::KeyRecord;

pub(crate) const KEYS: &str = "kms/keys";
pub(crate) const MATERIAL: &str = "kms/key-material";
pub(crate) const ALIASES: &str = "kms/aliases";
pub(crate) const GRANTS: &str = "kms/grants";
pub(crate) const IMPORT_KEYS: &str = "kms/import-wrapping-keys";

/// How many entries one store scan reads.
const CHUNK: usize = 500;

/// The account and region a request acts in: KMS state is per both.
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

    /// The tenant whose key a `KeyId` member names, for the operations AWS lets a caller use
    /// another account's key with ([`crate::ids::crosses_accounts`]): a key or alias ARN of another
    /// account in the caller's region names that account's key; anything else, the caller's.
    pub fn owning(ctx: &RequestContext, key_id: &str) -> Self {
        let mut fields = key_id.splitn(6, ':');
        let owner = match (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) {
            (Some("arn"), Some(_), Some("kms"), Some(region), Some(account))
                if region == ctx.region.as_str() =>
            {
                AccountId::parse(account)
            }
            _ => None,
        };
        owner.map_or_else(
            || Self::of(ctx),
            |owner| Self {
                account: owner.as_str().to_owned(),
                region: ctx.region.as_str().to_owned(),
            },
        )
    }

    /// The tenant a store key belongs to, for the sweepers that walk every tenant.
    fn from_store_key(key: &str) -> Option<(Self, &str)> {
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

    /// The same account in `region`: where a multi-Region key's other records live.
    pub fn in_region(&self, region: &str) -> Self {
        Self {
            account: self.account.clone(),
            region: region.to_owned(),
        }
    }

    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    pub fn store_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    pub fn key_arn(&self, key_id: &str) -> String {
        key_arn(&self.region, &self.account, key_id)
    }

    pub fn alias_arn(&self, alias_name: &str) -> String {
        alias_arn(&self.region, &self.account, alias_name)
    }
}

/// The ARN of the key `key_id` of `account` in `region`.
pub(crate) fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

/// The ARN of the alias `alias_name` (`alias/...`) of `account` in `region`.
pub(crate) fn alias_arn(region: &str, account: &str, alias_name: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{alias_name}")
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
pub(crate) fn store_error(error: StoreError) -> ServiceError {
    errors::kms_internal_exception(format!("KMS storage failed: {error}"))
}

/// A record serialized for storage in the clear.
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

impl KmsState {
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

    /// The key `key_id` of `tenant`, if it exists.
    pub(crate) async fn key_record(
        &self,
        tenant: &Tenant,
        key_id: &str,
    ) -> Result<Option<Stored<KeyRecord>>, ServiceError> {
        let store_key = tenant.store_key(key_id);
        let mark = self.store.change_mark(&[KEYS]);
        if let Some(found) = mark.and_then(|mark| self.decoded_keys.get(&store_key, mark)) {
            return Ok(found);
        }
        let found = self.get(KEYS, &store_key).await?;
        if let Some(mark) = mark {
            self.decoded_keys.keep(store_key, mark, found.clone());
        }
        Ok(found)
    }

    /// Every version of the material of key `key_id`, unsealed.
    pub(crate) async fn materials(
        &self,
        tenant: &Tenant,
        key_id: &str,
    ) -> Result<Stored<Materials>, ServiceError> {
        let entry = self
            .store
            .get(MATERIAL, &tenant.store_key(key_id))
            .await
            .map_err(store_error)?
            .ok_or_else(|| errors::kms_internal_exception("The key material is missing."))?;
        Ok(Stored {
            value: Materials::decode(entry.value.bytes())?,
            version: entry.version,
        })
    }

    /// The material of a key that never rotates (asymmetric and HMAC keys): its only version.
    /// For asymmetric keys it is the private key as PKCS#8.
    pub(crate) async fn fixed_material(
        &self,
        tenant: &Tenant,
        key_id: &str,
    ) -> Result<Sensitive<Vec<u8>>, ServiceError> {
        let materials = self.materials(tenant, key_id).await?.value;
        materials
            .get(0)
            .map(|material| Sensitive::new(material.to_vec()))
            .ok_or_else(|| errors::kms_internal_exception("The key material is missing."))
    }

    /// Up to `limit` records of `tenant` in `keyspace` whose names sort after `after`, in name
    /// order, each with its name.
    pub(crate) async fn scan_page<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        tenant: &Tenant,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let prefix = tenant.prefix();
        let after = after.map(|after| format!("{prefix}{after}"));
        let rows = self
            .store
            .scan(keyspace, &prefix, after.as_deref(), limit)
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(key, entry)| {
                let record = decode(keyspace, &key, &entry.value)?;
                let name = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
                Ok((name, record))
            })
            .collect()
    }

    /// Every record of `tenant` in `keyspace`, with its name.
    pub(crate) async fn scan_tenant<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        tenant: &Tenant,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        self.scan_under(keyspace, tenant, "").await
    }

    /// Every record of `tenant` in `keyspace` whose name starts with `under`, with its name.
    pub(crate) async fn scan_under<T: DeserializeOwned>(
        &self,
        keyspace: &str,
        tenant: &Tenant,
        under: &str,
    ) -> Result<Vec<(String, T)>, ServiceError> {
        let tenant_prefix = tenant.prefix();
        let prefix = format!("{tenant_prefix}{under}");
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .scan(keyspace, &prefix, after.as_deref(), CHUNK)
                .await
                .map_err(store_error)?;
            let done = rows.len() < CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let record = decode(keyspace, &key, &entry.value)?;
                let name = key.strip_prefix(&tenant_prefix).unwrap_or(&key).to_owned();
                all.push((name, record));
            }
            if done {
                return Ok(all);
            }
        }
    }

    /// Every key record of every tenant, for the sweepers.
    pub(crate) async fn all_keys(&self) -> Result<Vec<(Tenant, KeyRecord)>, ServiceError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .scan(KEYS, "", after.as_deref(), CHUNK)
                .await
                .map_err(store_error)?;
            let done = rows.len() < CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let record: KeyRecord = decode(KEYS, &key, &entry.value)?;
                if let Some((tenant, _)) = Tenant::from_store_key(&key) {
                    all.push((tenant, record));
                }
            }
            if done {
                return Ok(all);
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
                MutateError::Contended => errors::conflict_exception(
                    "The request was rejected because of a conflict with another change to the \
                     same resource. Retry the request.",
                ),
            })
    }
}
