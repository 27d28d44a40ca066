//! Where Organizations keeps its state, who may read or change it, and the read-modify-write
//! loop every change uses.
//!
//! Layout (global: no region in any key):
//! - keyspace `ORGS`: `<organization id>` → the JSON [`Org`], everything in the organization;
//! - keyspace `MEMBERS`: `<account id>` → the id of the organization the account belongs to;
//! - keyspace `INVITATIONS`: `<account id>/<handshake id>` → the id of the organization that
//!   invited the account, so that the invited account finds its handshakes.
//!
//! An account joins or leaves in the same transaction that changes its organization, so the
//! two never disagree; an absent member entry is what keeps an account in one organization.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_store::{StoreError, Transaction, Value};

use crate::OrganizationsState;
use crate::records::Org;

pub(crate) const ORGS: &str = "organizations/organizations";
pub(crate) const MEMBERS: &str = "organizations/members";
const INVITATIONS: &str = "organizations/invitations";

/// How many times a change is re-read and retried after losing a race.
const ATTEMPTS: usize = 16;
/// How many entries one store scan reads.
const SCAN_CHUNK: usize = 500;

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
/// it, the accounts it invites (by handshake), and whether it is being deleted.
pub(crate) struct Edit {
    pub org: Org,
    pub now: i64,
    pub joined: Vec<String>,
    pub left: Vec<String>,
    /// (account, handshake id) pairs.
    pub invited: Vec<(String, String)>,
    pub delete: bool,
}

/// Whose organization a change is to.
#[derive(Clone, Copy)]
enum Whose<'a> {
    /// The caller's, if the caller may call an operation needing the access.
    Caller(&'a RequestContext, Access),
    /// The one with this id, for an account outside it answering its invitation.
    Id(&'a str),
}

impl OrganizationsState {
    /// The organization `account` belongs to, if any.
    pub(crate) async fn organization_of(
        &self,
        account: &str,
    ) -> Result<Option<Loaded>, ServiceError> {
        match self.membership(account).await? {
            Some(org_id) => self.organization(&org_id).await,
            None => Ok(None),
        }
    }

    /// The organization `org_id`, if it (still) exists.
    pub(crate) async fn organization(&self, org_id: &str) -> Result<Option<Loaded>, ServiceError> {
        let Some(entry) = self.store.get(ORGS, org_id).await.map_err(store_error)? else {
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
        apply: impl FnMut(&mut Edit) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.change(Whose::Caller(ctx, access), apply).await
    }

    /// Changes the organization `org_id`, as [`OrganizationsState::edit`] does, for a caller
    /// outside it. An organization deleted meanwhile answers `AWSOrganizationsNotInUse`.
    pub(crate) async fn edit_organization<T>(
        &self,
        org_id: &str,
        apply: impl FnMut(&mut Edit) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.change(Whose::Id(org_id), apply).await
    }

    async fn change<T>(
        &self,
        whose: Whose<'_>,
        mut apply: impl FnMut(&mut Edit) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        for _ in 0..ATTEMPTS {
            let loaded = match whose {
                Whose::Caller(ctx, access) => self.load(ctx, access).await?,
                Whose::Id(org_id) => self.organization(org_id).await?.ok_or_else(not_in_use)?,
            };
            let mut edit = Edit {
                org: loaded.org,
                now: self.now(),
                joined: Vec::new(),
                left: Vec::new(),
                invited: Vec::new(),
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
            for (account, handshake) in &edit.invited {
                txn = txn.put(
                    INVITATIONS,
                    &format!("{account}/{handshake}"),
                    Value::Plain(org_id.clone().into_bytes()),
                );
            }
            if self.commit(txn).await? {
                return Ok(answer);
            }
        }
        Err(concurrent_modification())
    }

    /// The organization that sent `account` the invitation `handshake`, if any.
    pub(crate) async fn inviter(
        &self,
        account: &str,
        handshake: &str,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self
            .store
            .get(INVITATIONS, &format!("{account}/{handshake}"))
            .await
            .map_err(store_error)?
            .map(|entry| String::from_utf8_lossy(entry.value.bytes()).into_owned()))
    }

    /// Every invitation `account` received, as (handshake id, organization id), in handshake
    /// id order.
    pub(crate) async fn invitations(
        &self,
        account: &str,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        let prefix = format!("{account}/");
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .scan(INVITATIONS, &prefix, after.as_deref(), SCAN_CHUNK)
                .await
                .map_err(store_error)?;
            let done = rows.len() < SCAN_CHUNK;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, entry) in rows {
                let handshake = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
                let org = String::from_utf8_lossy(entry.value.bytes()).into_owned();
                all.push((handshake, org));
            }
            if done {
                return Ok(all);
            }
        }
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
        Ok(self.membership(account).await?.is_none())
    }

    /// The id of the organization `account` belongs to, if any.
    pub(crate) async fn membership(&self, account: &str) -> Result<Option<String>, ServiceError> {
        Ok(self
            .store
            .get(MEMBERS, account)
            .await
            .map_err(store_error)?
            .map(|entry| String::from_utf8_lossy(entry.value.bytes()).into_owned()))
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
