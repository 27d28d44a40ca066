//! Where Secrets Manager keeps its records in the store, how a secret is found from the id a
//! caller gives, and the read-modify-write loop every change uses.
//!
//! Layout, every key prefixed by the tenant `<account>/<region>/`:
//! - keyspace `SECRETS`: `<tenant><secret name>` → a JSON `SecretRecord` (metadata, versions
//!   and staging labels, rotation, resource policy), in the clear;
//! - keyspace `VALUES`: `<tenant><secret name>#<version id>` → the version's value, encrypted
//!   under a KMS data key (`crypto` defines the encoding) and sealed again by the store's barrier.
//!
//! A secret name never contains `#`, so value keys never collide across secrets.

use std::future::Future;

use palisade_core::{AccountId, Region, RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_store::typed::{self, MutateError};
use palisade_store::{StoreError, Transaction, Value};

use crate::SecretsManagerState;
use crate::records::SecretRecord;

pub(crate) const SECRETS: &str = "secretsmanager/secrets";
pub(crate) const VALUES: &str = "secretsmanager/values";

/// How many entries one store scan reads.
const CHUNK: usize = 500;

/// The account and region a request acts in: secrets belong to both.
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

    /// The tenant whose secret `secret_id` names, for the caller of `ctx`: its own account's,
    /// unless the id is the ARN of another account's secret (see [`secret_owner`]).
    pub fn owning(ctx: &RequestContext, secret_id: &str) -> Self {
        Self {
            account: secret_owner(ctx.account(), &ctx.region, secret_id)
                .as_str()
                .to_owned(),
            region: ctx.region.as_str().to_owned(),
        }
    }

    /// Whether this is the account of the caller of `ctx` (not another account whose secret
    /// the caller names by its ARN).
    pub fn is_callers(&self, ctx: &RequestContext) -> bool {
        self.account == ctx.account().as_str()
    }

    /// The tenant a store key belongs to, for the sweepers that walk every tenant.
    fn from_store_key(key: &str) -> Option<Self> {
        let mut parts = key.splitn(3, '/');
        Some(Self {
            account: parts.next()?.to_owned(),
            region: parts.next()?.to_owned(),
        })
    }

    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    pub fn secret_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    pub fn value_key(&self, name: &str, version_id: &str) -> String {
        format!("{}{name}#{version_id}", self.prefix())
    }

    /// The ARN prefix of this tenant's secrets, up to and including `secret:`.
    pub fn arn_prefix(&self) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:",
            self.region, self.account
        )
    }
}

/// The account whose secret `secret_id` names when a caller of `caller` calls in `region`: the
/// caller's own, unless the id is a secret ARN (full or partial) of another account in the same
/// region. AWS lets a caller name another account's secret only by its ARN; whether it may act
/// on it is the authorizer's decision (the caller's policies and the secret's resource policy
/// must both allow).
pub fn secret_owner(caller: &AccountId, region: &Region, secret_id: &str) -> AccountId {
    let mut fields = secret_id.splitn(7, ':');
    let named = match (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) {
        (
            Some("arn"),
            Some(_),
            Some("secretsmanager"),
            Some(arn_region),
            Some(owner),
            Some("secret"),
        ) if arn_region == region.as_str() => AccountId::parse(owner),
        _ => None,
    };
    named.unwrap_or_else(|| caller.clone())
}

pub(crate) use palisade_store::typed::Stored;

/// A store failure, as the client sees it: the server's fault.
pub(crate) fn store_error(error: StoreError) -> ServiceError {
    errors::internal_service_error(format!("Secrets Manager storage failed: {error}"))
}

/// A secret record serialized for storage in the clear.
pub(crate) fn plain(record: &SecretRecord) -> Result<Value, ServiceError> {
    serde_json::to_vec(record)
        .map(Value::Plain)
        .map_err(|error| {
            errors::internal_service_error(format!(
                "Secrets Manager record encoding failed: {error}"
            ))
        })
}

fn decode(key: &str, value: &Value) -> Result<SecretRecord, ServiceError> {
    serde_json::from_slice(value.bytes()).map_err(|error| {
        errors::internal_service_error(format!("unreadable secret record {key}: {error}"))
    })
}

/// AWS's answer for a secret id that names no secret.
pub(crate) fn not_found() -> ServiceError {
    errors::resource_not_found_exception("Secrets Manager can't find the specified secret.")
}

impl SecretsManagerState {
    /// The secret named `name` of `tenant`, if any.
    pub(crate) async fn secret_by_name(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Option<Stored<SecretRecord>>, ServiceError> {
        let key = tenant.secret_key(name);
        let mark = self.store.change_mark(&[SECRETS]);
        if let Some(found) = mark.and_then(|mark| self.decoded_secrets.get(&key, mark)) {
            return Ok(found);
        }
        let found = match self.store.get(SECRETS, &key).await.map_err(store_error)? {
            None => None,
            Some(entry) => Some(Stored {
                value: decode(&key, &entry.value)?,
                version: entry.version,
            }),
        };
        if let Some(mark) = mark {
            self.decoded_secrets.keep(key, mark, found.clone());
        }
        Ok(found)
    }

    /// The secret `secret_id` names: its name, its full ARN, or its ARN without the six random
    /// characters AWS appends (a partial ARN).
    pub(crate) async fn find_secret(
        &self,
        tenant: &Tenant,
        secret_id: &str,
    ) -> Result<Option<Stored<SecretRecord>>, ServiceError> {
        let Some(named) = secret_id.strip_prefix("arn:") else {
            return self.secret_by_name(tenant, secret_id).await;
        };
        let Some(after) = format!("arn:{named}")
            .strip_prefix(&tenant.arn_prefix())
            .map(str::to_owned)
        else {
            return Ok(None);
        };
        // A full ARN ends in `-` and six characters; the name is what precedes them.
        if let Some((name, suffix)) = after.rsplit_once('-')
            && suffix.len() == 6
            && let Some(found) = self.secret_by_name(tenant, name).await?
            && found.value.arn == secret_id
        {
            return Ok(Some(found));
        }
        Ok(self
            .secret_by_name(tenant, &after)
            .await?
            .filter(|found| found.value.arn.starts_with(secret_id)))
    }

    /// The secret `secret_id` names, or AWS's `ResourceNotFoundException`.
    pub(crate) async fn existing_secret(
        &self,
        tenant: &Tenant,
        secret_id: &str,
    ) -> Result<Stored<SecretRecord>, ServiceError> {
        self.find_secret(tenant, secret_id)
            .await?
            .ok_or_else(not_found)
    }

    /// Every secret of `tenant`, in name order.
    pub(crate) async fn tenant_secrets(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<SecretRecord>, ServiceError> {
        Ok(self
            .scan_secrets(&tenant.prefix())
            .await?
            .into_iter()
            .map(|(_, record)| record)
            .collect())
    }

    /// Every secret of every tenant, for the sweepers.
    pub(crate) async fn all_secrets(&self) -> Result<Vec<(Tenant, SecretRecord)>, ServiceError> {
        Ok(self
            .scan_secrets("")
            .await?
            .into_iter()
            .filter_map(|(key, record)| Some((Tenant::from_store_key(&key)?, record)))
            .collect())
    }

    async fn scan_secrets(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, SecretRecord)>, ServiceError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .scan(SECRETS, prefix, after.as_deref(), CHUNK)
                .await
                .map_err(store_error)?;
            let done = rows.len() < CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let record = decode(&key, &entry.value)?;
                all.push((key, record));
            }
            if done {
                return Ok(all);
            }
        }
    }

    /// The stored (encrypted) value of one version.
    pub(crate) async fn sealed_value(
        &self,
        tenant: &Tenant,
        name: &str,
        version_id: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        self.store
            .get(VALUES, &tenant.value_key(name, version_id))
            .await
            .map_err(store_error)?
            .map(|entry| entry.value.bytes().to_vec())
            .ok_or_else(|| errors::internal_service_error("The secret value is missing."))
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
                MutateError::Contended => errors::internal_service_error(
            "The request was rejected because of a conflict with another change to the same \
             secret. Retry the request.",
        ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_arn_names_another_accounts_secret() {
        let caller = AccountId::parse("111122223333").unwrap();
        let region = Region::us_east_1();
        let owner = |secret_id: &str| secret_owner(&caller, &region, secret_id);
        let other = "arn:aws:secretsmanager:us-east-1:444455556666:secret:db-AbCdEf";
        assert_eq!(owner(other).as_str(), "444455556666");
        assert_eq!(
            owner("arn:aws:secretsmanager:us-east-1:444455556666:secret:db").as_str(),
            "444455556666"
        );
        for own in [
            "db",
            "arn:aws:secretsmanager:eu-west-1:444455556666:secret:db-AbCdEf",
            "arn:aws:kms:us-east-1:444455556666:secret:db",
            "arn:aws:secretsmanager:us-east-1:4444:secret:db",
        ] {
            assert_eq!(owner(own), caller, "{own}");
        }
    }
}
