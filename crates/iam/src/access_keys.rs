//! Users' long-term access keys: at most two per user, the secret shown once (by
//! `CreateAccessKey`) and kept sealed in the store, and the last use of each.
//!
//! The authenticator looks keys up by id on every request, without knowing the account, so
//! key records are kept by id across accounts and carry what the authenticator needs about
//! the owner (name, id, ARN, tags): one read answers it. Changes to a user's name, path or tags
//! rewrite its key records in the same transaction.

use std::collections::HashMap;
use std::sync::Mutex;

use palisade_core::{AccountId, RequestContext, Sensitive, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    AccessKey, AccessKeyLastUsed, AccessKeyMetadata, CreateAccessKeyRequest,
    CreateAccessKeyResponse, DeleteAccessKeyRequest, GetAccessKeyLastUsedRequest,
    GetAccessKeyLastUsedResponse, ListAccessKeysRequest, ListAccessKeysResponse, StatusType,
    UpdateAccessKeyRequest,
};
use palisade_store::{StoreError, Transaction};
use serde::{Deserialize, Serialize};

use crate::IamState;
use crate::db::{ACCESS_KEYS, KEY_LAST_USED, Stored, plain, sealed};
use crate::ids::{access_key_id, secret_access_key};
use crate::paging::PageRequest;
use crate::records::{TagRecord, UserRecord, sensitive, timestamp, write_entity};
use crate::users::{Subject, root_credentials_unsupported, subject};

/// The most access keys one user may have.
const MAX_KEYS_PER_USER: usize = 2;
/// How long a key's last use may go unwritten when the service and region stay the same:
/// AWS itself reports last use with a delay, and a write per request would cost an fsync.
const LAST_USED_WRITE_INTERVAL_SECS: i64 = 60;
/// Past this many keys the in-memory last-use cache starts over.
const MAX_CACHED_USES: usize = 100_000;

/// Whether an access key may sign requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    /// The key signs requests.
    Active,
    /// The key is refused.
    Inactive,
}

/// What the authenticator needs to know about an access key.
#[derive(Debug, Clone)]
pub struct AccessKeyRecord {
    /// The key id (`AKIA...`).
    pub access_key_id: String,
    /// The secret, to derive signing keys from.
    pub secret_access_key: Sensitive<String>,
    /// Whether the key may sign.
    pub status: AccessKeyStatus,
    /// The owner's account.
    pub account: AccountId,
    /// The owning user's name.
    pub user_name: String,
    /// The owning user's unique id (`aws:userid`).
    pub user_id: String,
    /// The owning user's ARN.
    pub user_arn: String,
    /// The owning user's tags (`aws:PrincipalTag/...`), as (key, value).
    pub user_tags: Vec<(String, String)>,
}

/// A key as stored: sealed, because it holds the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    id: String,
    #[serde(with = "sensitive")]
    secret: Sensitive<String>,
    status: AccessKeyStatus,
    created: i64,
    account: String,
    user_name: String,
    user_id: String,
    user_arn: String,
    #[serde(default)]
    user_tags: Vec<TagRecord>,
}

impl KeyRecord {
    /// Copies what the key record keeps of its owner.
    fn set_owner(&mut self, account: &AccountId, user: &UserRecord) {
        self.user_name = user.name.clone();
        self.user_id = user.id.clone();
        self.user_arn = user.arn(account);
        self.user_tags = user.tags.clone();
    }

    fn metadata(&self) -> AccessKeyMetadata {
        AccessKeyMetadata {
            user_name: Some(self.user_name.clone()),
            access_key_id: Some(self.id.clone()),
            status: Some(api_status(self.status)),
            create_date: Some(timestamp(self.created)),
        }
    }
}

/// Where and when a key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LastUse {
    at: i64,
    service: String,
    region: String,
}

/// Last uses noted in memory, and when each key's was last written to the store.
#[derive(Debug, Default)]
pub(crate) struct UsageCache {
    uses: Mutex<HashMap<String, (LastUse, i64)>>,
}

impl UsageCache {
    /// Notes a use; answers whether it should be written to the store now.
    fn note(&self, key: &str, used: LastUse) -> bool {
        let mut uses = self
            .uses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if uses.len() >= MAX_CACHED_USES && !uses.contains_key(key) {
            uses.clear();
        }
        let now = used.at;
        match uses.get_mut(key) {
            Some((last, written))
                if last.service == used.service
                    && last.region == used.region
                    && now - *written < LAST_USED_WRITE_INTERVAL_SECS =>
            {
                last.at = now;
                false
            }
            _ => {
                uses.insert(key.to_owned(), (used, now));
                true
            }
        }
    }

    fn last(&self, key: &str) -> Option<LastUse> {
        let uses = self
            .uses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        uses.get(key).map(|(last, _)| last.clone())
    }

    fn forget(&self, key: &str) {
        let mut uses = self
            .uses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        uses.remove(key);
    }
}

impl IamState {
    /// The access key `access_key_id`, with its secret, status and owner: what the
    /// authenticator needs on every request. One store read.
    pub async fn access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, StoreError> {
        let Some(stored) = self
            .get_raw::<KeyRecord>(ACCESS_KEYS, access_key_id)
            .await?
        else {
            return Ok(None);
        };
        let key = stored.value;
        let account = AccountId::parse(&key.account).ok_or_else(|| {
            StoreError::Backend(format!("access key {} has a bad account", key.id))
        })?;
        Ok(Some(AccessKeyRecord {
            access_key_id: key.id,
            secret_access_key: key.secret,
            status: key.status,
            account,
            user_name: key.user_name,
            user_id: key.user_id,
            user_arn: key.user_arn,
            user_tags: key
                .user_tags
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect(),
        }))
    }

    /// Records that `access_key_id` signed a request to `service` in `region`, for
    /// `GetAccessKeyLastUsed`. Best effort: uses are written at most once a minute per key
    /// (sooner when the service or region changes), and a failed write is forgotten.
    pub async fn note_key_used(&self, access_key_id: &str, service: &str, region: &str) {
        let used = LastUse {
            at: self.now(),
            service: service.to_owned(),
            region: region.to_owned(),
        };
        if !self.key_usage.note(access_key_id, used.clone()) {
            return;
        }
        if let Ok(value) = plain(&used) {
            let txn = Transaction::new().put(KEY_LAST_USED, access_key_id, value);
            // Last use is advisory: losing one write only makes the date older.
            let _ = self.store.commit(txn).await;
        }
    }

    async fn key_record(&self, id: &str) -> Result<Option<Stored<KeyRecord>>, ServiceError> {
        self.get(ACCESS_KEYS, id).await
    }
}

/// Adds to `txn` the rewrite of `user`'s key records with its current name, ARN and tags.
pub(crate) async fn refresh_owner(
    iam: &IamState,
    mut txn: Transaction,
    account: &AccountId,
    user: &UserRecord,
) -> Result<Transaction, ServiceError> {
    for id in &user.access_keys {
        if let Some(mut stored) = iam.key_record(id).await? {
            stored.value.set_owner(account, user);
            txn = stored.replace(txn, ACCESS_KEYS, id, sealed(&stored.value)?);
        }
    }
    Ok(txn)
}

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateAccessKeyRequest,
) -> Result<CreateAccessKeyResponse, ServiceError> {
    let account = ctx.account();
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        return Err(root_credentials_unsupported());
    };
    let name = &name;
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, name).await?;
        if user.value.access_keys.len() >= MAX_KEYS_PER_USER {
            return Err(errors::limit_exceeded_exception(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
            )));
        }
        let mut key = KeyRecord {
            id: access_key_id()?,
            secret: secret_access_key()?,
            status: AccessKeyStatus::Active,
            created: iam.now(),
            account: account.as_str().to_owned(),
            user_name: String::new(),
            user_id: String::new(),
            user_arn: String::new(),
            user_tags: Vec::new(),
        };
        key.set_owner(account, &user.value);
        user.value.access_keys.push(key.id.clone());
        let txn = write_entity(Transaction::new(), account, &user)?
            .expect_absent(ACCESS_KEYS, &key.id)
            .put(ACCESS_KEYS, &key.id, sealed(&key)?);
        let answer = AccessKey {
            user_name: key.user_name.clone(),
            access_key_id: key.id.clone(),
            status: StatusType::Active,
            secret_access_key: key.secret.clone(),
            create_date: Some(timestamp(key.created)),
        };
        Ok((txn, CreateAccessKeyResponse { access_key: answer }))
    })
    .await
}

/// The user's key `id`, or `NoSuchEntity`.
async fn users_key(
    iam: &IamState,
    user: &UserRecord,
    id: &str,
) -> Result<Stored<KeyRecord>, ServiceError> {
    let not_found = || {
        errors::no_such_entity_exception(format!("The Access Key with id {id} cannot be found."))
    };
    if !user.access_keys.iter().any(|key| key == id) {
        return Err(not_found());
    }
    iam.key_record(id).await?.ok_or_else(not_found)
}

pub(crate) async fn update(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateAccessKeyRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let status = match input.status {
        StatusType::Active => AccessKeyStatus::Active,
        StatusType::Inactive => AccessKeyStatus::Inactive,
        other => {
            return Err(ServiceError::validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Active, Inactive]"
            )));
        }
    };
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        return Err(root_credentials_unsupported());
    };
    let (name, id) = (&name, &input.access_key_id);
    iam.mutate(move || async move {
        let user = iam.entity::<UserRecord>(account, name).await?;
        let mut key = users_key(iam, &user.value, id).await?;
        key.value.status = status;
        Ok((
            key.replace(Transaction::new(), ACCESS_KEYS, id, sealed(&key.value)?),
            (),
        ))
    })
    .await
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteAccessKeyRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        return Err(root_credentials_unsupported());
    };
    let (name, id) = (&name, &input.access_key_id);
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, name).await?;
        let key = users_key(iam, &user.value, id).await?;
        user.value.access_keys.retain(|key| key != id);
        let txn = write_entity(Transaction::new(), account, &user)?
            .expect_version(ACCESS_KEYS, id, key.version)
            .delete(ACCESS_KEYS, id)
            .delete(KEY_LAST_USED, id);
        Ok((txn, ()))
    })
    .await?;
    iam.key_usage.forget(id);
    Ok(())
}

pub(crate) async fn list(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListAccessKeysRequest,
) -> Result<ListAccessKeysResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let Subject::User(name) = subject(ctx, input.user_name)? else {
        // The root user's keys come from the server's configuration, not from IAM.
        return Ok(ListAccessKeysResponse {
            access_key_metadata: Vec::new(),
            is_truncated: Some(false),
            marker: None,
        });
    };
    let user = iam.entity::<UserRecord>(ctx.account(), &name).await?;
    let mut keys = Vec::new();
    for id in &user.value.access_keys {
        if let Some(key) = iam.key_record(id).await? {
            keys.push((
                format!("{:012}{id}", key.value.created),
                key.value.metadata(),
            ));
        }
    }
    let page = page
        .take_sorted(keys, |(key, _)| key.clone())
        .map(|(_, meta)| meta);
    Ok(ListAccessKeysResponse {
        is_truncated: page.is_truncated(),
        access_key_metadata: page.items,
        marker: page.marker,
    })
}

pub(crate) async fn last_used(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetAccessKeyLastUsedRequest,
) -> Result<GetAccessKeyLastUsedResponse, ServiceError> {
    let id = &input.access_key_id;
    let key = iam
        .key_record(id)
        .await?
        .filter(|key| key.value.account == ctx.account().as_str())
        .ok_or_else(|| {
            errors::no_such_entity_exception(format!(
                "The Access Key with id {id} cannot be found."
            ))
        })?;
    let stored: Option<LastUse> = iam.get(KEY_LAST_USED, id).await?.map(|s| s.value);
    let last = match (stored, iam.key_usage.last(id)) {
        (Some(stored), Some(noted)) => Some(if noted.at >= stored.at { noted } else { stored }),
        (stored, noted) => stored.or(noted),
    };
    // AWS answers "N/A" for the service and region of a key never used.
    let last_used = match last {
        Some(last) => AccessKeyLastUsed {
            last_used_date: Some(timestamp(last.at)),
            service_name: last.service,
            region: last.region,
        },
        None => AccessKeyLastUsed {
            last_used_date: None,
            service_name: "N/A".to_owned(),
            region: "N/A".to_owned(),
        },
    };
    Ok(GetAccessKeyLastUsedResponse {
        user_name: Some(key.value.user_name),
        access_key_last_used: Some(last_used),
    })
}

fn api_status(status: AccessKeyStatus) -> StatusType {
    match status {
        AccessKeyStatus::Active => StatusType::Active,
        AccessKeyStatus::Inactive => StatusType::Inactive,
    }
}
