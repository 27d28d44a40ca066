//! Managed policies in use: attached to users, groups and roles, or set as a user's or role's
//! permissions boundary. Each change writes the entity and the policy's use record in one
//! transaction, so `AttachmentCount`, `ListEntitiesForPolicy` and `DeletePolicy`'s conflict
//! check always agree with the entities.

use std::collections::BTreeMap;

use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    AttachedPolicy, EntityType, ListEntitiesForPolicyRequest, ListEntitiesForPolicyResponse,
    PolicyGroup, PolicyRole, PolicyUsageType, PolicyUser,
};
use palisade_store::Transaction;

use crate::IamState;
use crate::db::{self, IAM, Kind, Stored, plain};
use crate::managed_policies::{ManagedPolicy, name_of, path_of, policy_not_found};
use crate::paging::{Page, PageRequest};
use crate::records::{
    BoundaryHolder, EntityKind, EntityRef, PolicyHolder, PolicyUseRecord, write_entity,
};

/// The most managed policies attached to one entity (AWS's default quota).
const MAX_ATTACHED: usize = 10;

/// A policy's use record being changed: written back, created, or deleted once unused.
pub(crate) struct UseUpdate {
    key: String,
    stored: Option<Stored<PolicyUseRecord>>,
    pub record: PolicyUseRecord,
}

impl UseUpdate {
    /// Reads the use record of `arn` in `account`.
    pub async fn load(
        iam: &IamState,
        account: &AccountId,
        arn: &str,
    ) -> Result<Self, ServiceError> {
        let stored = iam.policy_use(account, arn).await?;
        Ok(Self {
            key: db::key(account, Kind::PolicyUse, arn),
            record: stored.as_ref().map(|s| s.value.clone()).unwrap_or_default(),
            stored,
        })
    }

    /// Adds the write (pinned to the version read) to `txn`.
    pub fn write(self, txn: Transaction) -> Result<Transaction, ServiceError> {
        Ok(match (self.stored, self.record.is_unused()) {
            (None, true) => txn.expect_absent(IAM, &self.key),
            (None, false) => {
                txn.expect_absent(IAM, &self.key)
                    .put(IAM, &self.key, plain(&self.record)?)
            }
            (Some(stored), true) => txn
                .expect_version(IAM, &self.key, stored.version)
                .delete(IAM, &self.key),
            (Some(stored), false) => stored.replace(txn, IAM, &self.key, plain(&self.record)?),
        })
    }
}

/// A permissions boundary about to be set on an entity: the policy (pinned, so that it cannot
/// vanish meanwhile) and its use record with the entity added.
pub(crate) struct NewBoundary {
    pub arn: String,
    policy: ManagedPolicy,
    uses: UseUpdate,
}

impl NewBoundary {
    /// Checks that `arn` names a policy `entity` may use as its boundary.
    pub async fn load(
        iam: &IamState,
        account: &AccountId,
        arn: &str,
        entity: &EntityRef,
    ) -> Result<Self, ServiceError> {
        let policy = iam.find_policy(account, arn).await?.ok_or_else(|| {
            errors::no_such_entity_exception(format!(
                "Scope ARN: {arn} does not exist or is not attachable."
            ))
        })?;
        let arn = policy.arn(account);
        let mut uses = UseUpdate::load(iam, account, &arn).await?;
        uses.record
            .boundary
            .insert(entity.use_key(), entity.clone());
        Ok(Self { arn, policy, uses })
    }

    /// Adds the boundary's writes to `txn`.
    pub fn write(self, txn: Transaction, account: &AccountId) -> Result<Transaction, ServiceError> {
        self.uses.write(self.policy.pin(txn, account))
    }
}

/// `Attach{User,Group,Role}Policy`.
pub(crate) async fn attach<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    name: &str,
    arn: &str,
) -> Result<(), ServiceError> {
    iam.mutate(move || async move {
        let mut entity = iam.entity::<H>(account, name).await?;
        let policy = iam.find_policy(account, arn).await?.ok_or_else(|| {
            errors::no_such_entity_exception(format!(
                "Policy {arn} does not exist or is not attachable."
            ))
        })?;
        let arn = policy.arn(account);
        if entity.value.attached().contains(&arn) {
            return Ok((Transaction::new(), ()));
        }
        if entity.value.attached().len() >= MAX_ATTACHED {
            return Err(errors::limit_exceeded_exception(format!(
                "Cannot exceed quota for {}: {MAX_ATTACHED}",
                H::ATTACHED_QUOTA_NAME
            )));
        }
        entity.value.attached_mut().push(arn.clone());
        let mut uses = UseUpdate::load(iam, account, &arn).await?;
        let entity_ref = entity.value.entity_ref();
        uses.record
            .attached
            .insert(entity_ref.use_key(), entity_ref);
        let txn = write_entity(Transaction::new(), account, &entity)?;
        let txn = uses.write(policy.pin(txn, account))?;
        Ok((txn, ()))
    })
    .await
}

/// `Detach{User,Group,Role}Policy`.
pub(crate) async fn detach<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    name: &str,
    arn: &str,
) -> Result<(), ServiceError> {
    iam.mutate(move || async move {
        let mut entity = iam.entity::<H>(account, name).await?;
        let attached = entity.value.attached_mut();
        let before = attached.len();
        attached.retain(|attached| attached != arn);
        if attached.len() == before {
            return Err(policy_not_found(arn));
        }
        let mut uses = UseUpdate::load(iam, account, arn).await?;
        uses.record
            .attached
            .remove(&entity.value.entity_ref().use_key());
        let txn = write_entity(Transaction::new(), account, &entity)?;
        Ok((uses.write(txn)?, ()))
    })
    .await
}

/// `ListAttached{User,Group,Role}Policies`.
pub(crate) async fn list_attached<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    name: &str,
    path_prefix: Option<&str>,
    page: &PageRequest,
) -> Result<Page<AttachedPolicy>, ServiceError> {
    let entity = iam.entity::<H>(account, name).await?;
    let prefix = path_prefix.unwrap_or("/");
    let attached = entity
        .value
        .attached()
        .iter()
        .filter(|arn| path_of(arn).starts_with(prefix))
        .map(|arn| AttachedPolicy {
            policy_name: Some(name_of(arn).to_owned()),
            policy_arn: Some(arn.clone()),
        });
    Ok(page.take_sorted(attached, attached_key))
}

/// The sort key of an attached policy: by name, AWS's before the account's of the same name
/// (an account's policy names are unique, so this is unique too and keeps markers short).
pub(crate) fn attached_key(policy: &AttachedPolicy) -> String {
    let arn = policy.policy_arn.as_deref().unwrap_or_default();
    let owner = if arn.starts_with("arn:aws:iam::aws:") {
        'a'
    } else {
        'l'
    };
    format!(
        "{}\u{1}{owner}",
        policy
            .policy_name
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
    )
}

/// `Put{User,Role}PermissionsBoundary`.
pub(crate) async fn put_boundary<H: BoundaryHolder>(
    iam: &IamState,
    account: &AccountId,
    name: &str,
    arn: &str,
) -> Result<(), ServiceError> {
    iam.mutate(move || async move {
        let mut entity = iam.entity::<H>(account, name).await?;
        let entity_ref = entity.value.entity_ref();
        let boundary = NewBoundary::load(iam, account, arn, &entity_ref).await?;
        let old = entity.value.boundary_mut().replace(boundary.arn.clone());
        if old.as_deref() == Some(boundary.arn.as_str()) {
            return Ok((Transaction::new(), ()));
        }
        let mut txn = write_entity(Transaction::new(), account, &entity)?;
        if let Some(old) = old {
            let mut uses = UseUpdate::load(iam, account, &old).await?;
            uses.record.boundary.remove(&entity_ref.use_key());
            txn = uses.write(txn)?;
        }
        Ok((boundary.write(txn, account)?, ()))
    })
    .await
}

/// `Delete{User,Role}PermissionsBoundary`.
pub(crate) async fn delete_boundary<H: BoundaryHolder>(
    iam: &IamState,
    account: &AccountId,
    name: &str,
) -> Result<(), ServiceError> {
    iam.mutate(move || async move {
        let mut entity = iam.entity::<H>(account, name).await?;
        let Some(old) = entity.value.boundary_mut().take() else {
            return Ok((Transaction::new(), ()));
        };
        let mut uses = UseUpdate::load(iam, account, &old).await?;
        uses.record
            .boundary
            .remove(&entity.value.entity_ref().use_key());
        let txn = write_entity(Transaction::new(), account, &entity)?;
        Ok((uses.write(txn)?, ()))
    })
    .await
}

/// Removes a deleted entity from the use records of its permissions boundary.
pub(crate) async fn release_boundary(
    iam: &IamState,
    txn: Transaction,
    account: &AccountId,
    boundary: Option<&str>,
    entity: &EntityRef,
) -> Result<Transaction, ServiceError> {
    let Some(arn) = boundary else {
        return Ok(txn);
    };
    let mut uses = UseUpdate::load(iam, account, arn).await?;
    uses.record.boundary.remove(&entity.use_key());
    uses.write(txn)
}

/// Moves a renamed (or re-pathed) entity's entries in the use records of its policies.
pub(crate) async fn rename_uses(
    iam: &IamState,
    mut txn: Transaction,
    account: &AccountId,
    arns: &[String],
    old: &EntityRef,
    new: &EntityRef,
) -> Result<Transaction, ServiceError> {
    let mut seen = std::collections::HashSet::new();
    for arn in arns {
        if seen.insert(arn) {
            let mut uses = UseUpdate::load(iam, account, arn).await?;
            uses.record.rename(old, new);
            txn = uses.write(txn)?;
        }
    }
    Ok(txn)
}

pub(crate) async fn list_entities(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListEntitiesForPolicyRequest,
) -> Result<ListEntitiesForPolicyResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    if iam.find_policy(account, &input.policy_arn).await?.is_none() {
        return Err(policy_not_found(&input.policy_arn));
    }
    let uses = iam
        .policy_use(account, &input.policy_arn)
        .await?
        .map(|stored| stored.value)
        .unwrap_or_default();
    let mut entities: BTreeMap<String, EntityRef> = BTreeMap::new();
    let (permissions, boundaries) = match input.policy_usage_filter {
        Some(PolicyUsageType::PermissionsPolicy) => (true, false),
        Some(PolicyUsageType::PermissionsBoundary) => (false, true),
        _ => (true, true),
    };
    if permissions {
        entities.extend(uses.attached);
    }
    if boundaries {
        entities.extend(uses.boundary);
    }
    let kind = match input.entity_filter {
        None => None,
        Some(EntityType::User) => Some(EntityKind::User),
        Some(EntityType::Group) => Some(EntityKind::Group),
        Some(EntityType::Role) => Some(EntityKind::Role),
        // Policies are not attached to policies.
        Some(_) => return Ok(empty_entities()),
    };
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let listed = entities
        .into_iter()
        .filter(|(_, entity)| kind.is_none_or(|kind| entity.kind == kind))
        .filter(|(_, entity)| entity.path.starts_with(prefix));
    let page = page.take(listed);
    let mut answer = empty_entities();
    for entity in page.items {
        match entity.kind {
            EntityKind::User => answer
                .policy_users
                .get_or_insert_default()
                .push(PolicyUser {
                    user_name: Some(entity.name),
                    user_id: Some(entity.id),
                }),
            EntityKind::Group => answer
                .policy_groups
                .get_or_insert_default()
                .push(PolicyGroup {
                    group_name: Some(entity.name),
                    group_id: Some(entity.id),
                }),
            EntityKind::Role => answer
                .policy_roles
                .get_or_insert_default()
                .push(PolicyRole {
                    role_name: Some(entity.name),
                    role_id: Some(entity.id),
                }),
        }
    }
    answer.is_truncated = Some(page.marker.is_some());
    answer.marker = page.marker;
    Ok(answer)
}

fn empty_entities() -> ListEntitiesForPolicyResponse {
    ListEntitiesForPolicyResponse {
        policy_groups: Some(Vec::new()),
        policy_users: Some(Vec::new()),
        policy_roles: Some(Vec::new()),
        is_truncated: Some(false),
        marker: None,
    }
}
