//! Where Organizations keeps its state, who may read or change it, and the read-modify-write
//! loop every change uses.
//!
//! Layout (global: no region in any key):
//! - keyspace `ORGS`: `<organization id>` → the JSON [`Org`], everything in the organization;
//! - keyspace `MEMBERS`: `<account id>` → the id of the organization the account belongs to.
//!
//! An account joins or leaves in the same transaction that changes its organization, so the
//! two never disagree; an absent member entry is what keeps an account in one organization.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_store::{StoreError, Transaction, Value};

use crate::OrganizationsState;
use crate::records::Org;

const ORGS: &str = "organizations/organizations";
const MEMBERS: &str = "organizations/members";

/// How many times a change is re-read and retried after losing a race.
const ATTEMPTS: usize = 16;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Any account of the organization.
    Member,
    /// The management account, or a delegated administrator for any service (AWS gives them
    /// the read-only operations).
    Read,
    /// The management account only.
    Manage,
}

/// An organization as read, with the version to pin when writing it back.
pub(crate) struct Loaded {
    pub org: Org,
    version: u64,
}

/// A change being prepared: the organization to write back, the accounts joining or leaving
/// it, and whether it is being deleted.
pub(crate) struct Edit {
    pub org: Org,
    pub now: i64,
    pub joined: Vec<String>,
    pub left: Vec<String>,
    pub delete: bool,
}

impl OrganizationsState {
    /// The organization of the caller's account, if it is a member of one.
    pub(crate) async fn organization_of(
        &self,
        account: &str,
    ) -> Result<Option<Loaded>, ServiceError> {
        let Some(entry) = self
            .store
            .get(MEMBERS, account)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let org_id = String::from_utf8_lossy(entry.value.bytes()).into_owned();
        let Some(entry) = self.store.get(ORGS, &org_id).await.map_err(store_error)? else {
            return Ok(None);
        };
        let org = serde_json::from_slice(entry.value.bytes()).map_err(|error| {
            ServiceError::internal(format!("unreadable organization {org_id}: {error}"))
        })?;
        Ok(Some(Loaded {
            org,
            version: entry.version,
        }))
    }

    /// The caller's organization, if the caller may call an operation needing `access`.
    pub(crate) async fn read(
        &self,
        ctx: &RequestContext,
        access: Access,
    ) -> Result<Org, ServiceError> {
        Ok(self.load(ctx, access).await?.org)
    }

    async fn load(&self, ctx: &RequestContext, access: Access) -> Result<Loaded, ServiceError> {
        let caller = ctx.account().as_str();
        let loaded = self.organization_of(caller).await?.ok_or_else(not_in_use)?;
        let org = &loaded.org;
        let allowed = match access {
            Access::Member => true,
            Access::Read => org.management_account == caller || org.delegated.contains_key(caller),
            Access::Manage => org.management_account == caller,
        };
        if allowed {
            Ok(loaded)
        } else {
            Err(errors::access_denied_exception(
                "You don't have permissions to access this resource.",
            ))
        }
    }

    /// Changes the caller's organization: `apply` edits it (and says which accounts join or
    /// leave) and returns the answer. On losing a race the change is re-read and re-applied.
    pub(crate) async fn edit<T>(
        &self,
        ctx: &RequestContext,
        access: Access,
        mut apply: impl FnMut(&mut Edit) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        for _ in 0..ATTEMPTS {
            let loaded = self.load(ctx, access).await?;
            let mut edit = Edit {
                org: loaded.org,
                now: self.now(),
                joined: Vec::new(),
                left: Vec::new(),
                delete: false,
            };
            let answer = apply(&mut edit)?;
            let org_id = edit.org.id.clone();
            let mut txn = Transaction::new().expect_version(ORGS, &org_id, loaded.version);
            txn = if edit.delete {
                txn.delete(ORGS, &org_id)
            } else {
                txn.put(ORGS, &org_id, plain(&edit.org)?)
            };
            for account in &edit.joined {
                txn = txn.expect_absent(MEMBERS, account).put(
                    MEMBERS,
                    account,
                    Value::Plain(org_id.clone().into_bytes()),
                );
            }
            for account in &edit.left {
                txn = txn.delete(MEMBERS, account);
            }
            if self.commit(txn).await? {
                return Ok(answer);
            }
        }
        Err(concurrent_modification())
    }

    /// Stores a new organization and its management account's membership.
    pub(crate) async fn insert(&self, org: &Org) -> Result<bool, ServiceError> {
        let txn = Transaction::new()
            .expect_absent(MEMBERS, &org.management_account)
            .expect_absent(ORGS, &org.id)
            .put(
                MEMBERS,
                &org.management_account,
                Value::Plain(org.id.clone().into_bytes()),
            )
            .put(ORGS, &org.id, plain(org)?);
        self.commit(txn).await
    }

    /// Whether `account` belongs to no organization.
    pub(crate) async fn is_free(&self, account: &str) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .get(MEMBERS, account)
            .await
            .map_err(store_error)?
            .is_none())
    }

    /// Commits `txn`: false when another change won the race.
    async fn commit(&self, txn: Transaction) -> Result<bool, ServiceError> {
        match self.store.commit(txn).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }
}

pub(crate) fn not_in_use() -> ServiceError {
    errors::aws_organizations_not_in_use_exception(
        "Your account is not a member of an organization.",
    )
}

pub(crate) fn concurrent_modification() -> ServiceError {
    errors::concurrent_modification_exception(
        "The target of the operation is currently being modified by a different request. Try \
         again later.",
    )
}

fn plain(org: &Org) -> Result<Value, ServiceError> {
    serde_json::to_vec(org)
        .map(Value::Plain)
        .map_err(|error| ServiceError::internal(format!("organization encoding failed: {error}")))
}

fn store_error(error: StoreError) -> ServiceError {
    errors::service_exception(format!("Organizations storage failed: {error}"))
}
