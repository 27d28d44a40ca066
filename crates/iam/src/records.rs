//! The records IAM keeps for users, groups, roles and customer managed policies, what they
//! share (inline policies, attached managed policies, tags), and how they read as the API's
//! types.
//!
//! Relations are kept on both sides, by name, so that every listing is one read per item and
//! every change is one transaction over the records it touches: a user lists its groups and a
//! group its members; an entity lists the managed policies attached to it and each policy's
//! use record lists the entities.

use std::collections::BTreeMap;

use palisade_core::value::Timestamp;
use palisade_core::{AccountId, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    AttachedPermissionsBoundary, Group, PermissionsBoundaryAttachmentType, Role, RoleLastUsed, Tag,
    User,
};
use palisade_store::Transaction;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::IamState;
use crate::db::{self, IAM, Kind, Stored, plain};
use crate::paging::{Page, PageRequest};

/// A time as the API reports it, from whole seconds since the epoch.
pub(crate) fn timestamp(seconds: i64) -> Timestamp {
    Timestamp::from_millis(seconds.saturating_mul(1000))
}

/// Whether two IAM names are the same: names are unique regardless of case.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// A tag, case preserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TagRecord {
    pub key: String,
    pub value: String,
}

impl From<Tag> for TagRecord {
    fn from(tag: Tag) -> Self {
        Self {
            key: tag.key,
            value: tag.value,
        }
    }
}

impl From<&TagRecord> for Tag {
    fn from(tag: &TagRecord) -> Self {
        Tag {
            key: tag.key.clone(),
            value: tag.value.clone(),
        }
    }
}

/// The API's tag list, or none when there are no tags (AWS leaves the member out).
pub(crate) fn tag_list(tags: &[TagRecord]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| tags.iter().map(Tag::from).collect())
}

/// An inline policy, under its name as last put.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InlinePolicy {
    pub name: String,
    pub document: String,
}

/// Inline policies by lower-cased name: policy names are unique regardless of case.
pub(crate) type InlinePolicies = BTreeMap<String, InlinePolicy>;

/// What kind of entity a policy can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum EntityKind {
    Group,
    Role,
    User,
}

impl EntityKind {
    /// The kind in lower case, as messages name it.
    pub fn word(self) -> &'static str {
        match self {
            EntityKind::Group => "group",
            EntityKind::Role => "role",
            EntityKind::User => "user",
        }
    }
}

/// An entity that uses a managed policy, as `ListEntitiesForPolicy` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntityRef {
    pub kind: EntityKind,
    pub name: String,
    pub id: String,
    pub path: String,
}

impl EntityRef {
    /// The key of this entity in a policy's use record: kind, then lower-cased name.
    pub fn use_key(&self) -> String {
        format!("{:?}/{}", self.kind, self.name.to_lowercase())
    }
}

/// Users, groups and roles: entities with inline and attached managed policies.
pub(crate) trait PolicyHolder: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// The record kind.
    const KIND: Kind;
    /// The entity kind.
    const ENTITY: EntityKind;
    /// The total size of the entity's inline policies, in non-blank characters.
    const INLINE_QUOTA: usize;
    /// AWS's name for the quota of managed policies attached to one entity.
    const ATTACHED_QUOTA_NAME: &'static str;

    /// The entity's name, case preserved.
    fn name(&self) -> &str;
    /// The entity's unique id.
    fn id(&self) -> &str;
    /// The entity's path.
    fn path(&self) -> &str;
    /// The inline policies.
    fn inline(&self) -> &InlinePolicies;
    /// The inline policies, to change.
    fn inline_mut(&mut self) -> &mut InlinePolicies;
    /// The ARNs of the attached managed policies, in attachment order.
    fn attached(&self) -> &[String];
    /// The attached managed policies, to change.
    fn attached_mut(&mut self) -> &mut Vec<String>;
    /// The error for an entity of this kind that does not exist.
    fn not_found(name: &str) -> ServiceError {
        errors::no_such_entity_exception(format!(
            "The {} with name {name} cannot be found.",
            Self::ENTITY.word()
        ))
    }

    /// This entity as a policy's use record lists it.
    fn entity_ref(&self) -> EntityRef {
        EntityRef {
            kind: Self::ENTITY,
            name: self.name().to_owned(),
            id: self.id().to_owned(),
            path: self.path().to_owned(),
        }
    }
}

/// The [`PolicyHolder`] accessors of a record whose fields have the same names.
macro_rules! policy_holder_fields {
    () => {
        fn name(&self) -> &str {
            &self.name
        }
        fn id(&self) -> &str {
            &self.id
        }
        fn path(&self) -> &str {
            &self.path
        }
        fn inline(&self) -> &InlinePolicies {
            &self.inline
        }
        fn inline_mut(&mut self) -> &mut InlinePolicies {
            &mut self.inline
        }
        fn attached(&self) -> &[String] {
            &self.attached
        }
        fn attached_mut(&mut self) -> &mut Vec<String> {
            &mut self.attached
        }
    };
}

/// `DeleteConflict` for an entity that still has something AWS makes you remove first;
/// `what` says what to do, e.g. `delete access keys`.
pub(crate) fn delete_conflict(what: &str) -> ServiceError {
    errors::delete_conflict_exception(format!("Cannot delete entity, must {what} first."))
}

/// Users and roles, which may also have a permissions boundary.
pub(crate) trait BoundaryHolder: PolicyHolder {
    /// The ARN of the permissions boundary policy, to change.
    fn boundary_mut(&mut self) -> &mut Option<String>;
}

impl IamState {
    /// The user, group or role called `name`, or its `NoSuchEntity`.
    pub(crate) async fn entity<H: PolicyHolder>(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Stored<H>, ServiceError> {
        self.get(IAM, &db::key(account, H::KIND, name))
            .await?
            .ok_or_else(|| H::not_found(name))
    }

    /// One page of the users, groups or roles whose path starts with `path_prefix`.
    pub(crate) async fn entities<H: PolicyHolder>(
        &self,
        account: &AccountId,
        path_prefix: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<H>, ServiceError> {
        let path_prefix = path_prefix.unwrap_or("/");
        self.scan_page(&db::prefix(account, H::KIND), page, |entity: &H| {
            entity.path().starts_with(path_prefix)
        })
        .await
    }
}

/// Writes `entity` back in place, pinned to the version read.
pub(crate) fn write_entity<H: PolicyHolder>(
    txn: Transaction,
    account: &AccountId,
    entity: &Stored<H>,
) -> Result<Transaction, ServiceError> {
    let key = db::key(account, H::KIND, entity.value.name());
    Ok(entity.replace(txn, IAM, &key, plain(&entity.value)?))
}

/// The API's permissions boundary member.
pub(crate) fn boundary(arn: Option<&String>) -> Option<AttachedPermissionsBoundary> {
    arn.map(|arn| AttachedPermissionsBoundary {
        permissions_boundary_type: Some(
            PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
        ),
        permissions_boundary_arn: Some(arn.clone()),
    })
}

/// An IAM user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub inline: InlinePolicies,
    #[serde(default)]
    pub attached: Vec<String>,
    /// Names of the groups the user is in.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Ids of the user's access keys.
    #[serde(default)]
    pub access_keys: Vec<String>,
    /// Serial numbers of the MFA devices enabled for the user.
    #[serde(default)]
    pub mfa_devices: Vec<String>,
    #[serde(default)]
    pub password_last_used: Option<i64>,
}

impl UserRecord {
    /// `arn:aws:iam::<account>:user<path><name>`.
    pub fn arn(&self, account: &AccountId) -> String {
        format!("arn:aws:iam::{account}:user{}{}", self.path, self.name)
    }

    /// The user as `GetUser` and `CreateUser` report it.
    pub fn to_api(&self, account: &AccountId) -> User {
        User {
            tags: tag_list(&self.tags),
            permissions_boundary: boundary(self.boundary.as_ref()),
            ..self.to_api_summary(account)
        }
    }

    /// The user as listings report it: without tags or permissions boundary.
    pub fn to_api_summary(&self, account: &AccountId) -> User {
        User {
            path: self.path.clone(),
            user_name: self.name.clone(),
            user_id: self.id.clone(),
            arn: self.arn(account),
            create_date: timestamp(self.created),
            password_last_used: self.password_last_used.map(timestamp),
            permissions_boundary: None,
            tags: None,
        }
    }
}

impl PolicyHolder for UserRecord {
    const KIND: Kind = Kind::User;
    const ENTITY: EntityKind = EntityKind::User;
    const INLINE_QUOTA: usize = 2048;
    const ATTACHED_QUOTA_NAME: &'static str = "PoliciesPerUser";

    policy_holder_fields!();
}

impl BoundaryHolder for UserRecord {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.boundary
    }
}

/// An IAM group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GroupRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: i64,
    #[serde(default)]
    pub inline: InlinePolicies,
    #[serde(default)]
    pub attached: Vec<String>,
    /// Names of the group's users.
    #[serde(default)]
    pub members: Vec<String>,
}

impl GroupRecord {
    /// `arn:aws:iam::<account>:group<path><name>`.
    pub fn arn(&self, account: &AccountId) -> String {
        format!("arn:aws:iam::{account}:group{}{}", self.path, self.name)
    }

    /// The group as the API reports it.
    pub fn to_api(&self, account: &AccountId) -> Group {
        Group {
            path: self.path.clone(),
            group_name: self.name.clone(),
            group_id: self.id.clone(),
            arn: self.arn(account),
            create_date: timestamp(self.created),
        }
    }
}

impl PolicyHolder for GroupRecord {
    const KIND: Kind = Kind::Group;
    const ENTITY: EntityKind = EntityKind::Group;
    const INLINE_QUOTA: usize = 5120;
    const ATTACHED_QUOTA_NAME: &'static str = "PoliciesPerGroup";

    policy_holder_fields!();
}

/// When and where a role was last assumed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoleUse {
    pub at: i64,
    pub region: String,
}

/// An IAM role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoleRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: i64,
    /// The trust policy, as given.
    pub trust_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i32,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub inline: InlinePolicies,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub last_used: Option<RoleUse>,
}

impl RoleRecord {
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub fn arn(&self, account: &AccountId) -> String {
        format!("arn:aws:iam::{account}:role{}{}", self.path, self.name)
    }

    /// The role as `GetRole` and `CreateRole` report it.
    pub fn to_api(&self, account: &AccountId) -> Role {
        Role {
            tags: tag_list(&self.tags),
            permissions_boundary: boundary(self.boundary.as_ref()),
            role_last_used: Some(RoleLastUsed {
                last_used_date: self.last_used.as_ref().map(|used| timestamp(used.at)),
                region: self.last_used.as_ref().map(|used| used.region.clone()),
            }),
            ..self.to_api_summary(account)
        }
    }

    /// The role as `ListRoles` reports it: without tags, permissions boundary or last use.
    pub fn to_api_summary(&self, account: &AccountId) -> Role {
        Role {
            path: self.path.clone(),
            role_name: self.name.clone(),
            role_id: self.id.clone(),
            arn: self.arn(account),
            create_date: timestamp(self.created),
            assume_role_policy_document: Some(crate::policy_document::url_encode(
                &self.trust_policy,
            )),
            description: self.description.clone(),
            max_session_duration: Some(self.max_session_duration),
            permissions_boundary: None,
            tags: None,
            role_last_used: None,
        }
    }
}

impl PolicyHolder for RoleRecord {
    const KIND: Kind = Kind::Role;
    const ENTITY: EntityKind = EntityKind::Role;
    const INLINE_QUOTA: usize = 10240;
    const ATTACHED_QUOTA_NAME: &'static str = "PoliciesPerRole";

    policy_holder_fields!();
}

impl BoundaryHolder for RoleRecord {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.boundary
    }
}

/// One version of a customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    /// `v1`, `v2`, ...
    pub id: String,
    pub document: String,
    pub created: i64,
}

/// A customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PolicyRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub default_version: String,
    /// The number of the next version: AWS never reuses a deleted version's id.
    pub next_version: u32,
    pub versions: Vec<VersionRecord>,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
}

impl PolicyRecord {
    /// `arn:aws:iam::<account>:policy<path><name>`.
    pub fn arn(&self, account: &AccountId) -> String {
        format!("arn:aws:iam::{account}:policy{}{}", self.path, self.name)
    }

    /// The default version.
    pub fn default_version(&self) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.id == self.default_version)
    }
}

/// Who uses a managed policy in one account: the entities it is attached to, and those whose
/// permissions boundary it is. Kept for AWS managed and customer managed policies alike.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PolicyUseRecord {
    /// By [`EntityRef::use_key`].
    #[serde(default)]
    pub attached: BTreeMap<String, EntityRef>,
    /// By [`EntityRef::use_key`].
    #[serde(default)]
    pub boundary: BTreeMap<String, EntityRef>,
}

impl PolicyUseRecord {
    /// Whether nothing uses the policy any more (and the record can go).
    pub fn is_unused(&self) -> bool {
        self.attached.is_empty() && self.boundary.is_empty()
    }

    /// `AttachmentCount`.
    pub fn attachment_count(&self) -> i32 {
        i32::try_from(self.attached.len()).unwrap_or(i32::MAX)
    }

    /// `PermissionsBoundaryUsageCount`.
    pub fn boundary_count(&self) -> i32 {
        i32::try_from(self.boundary.len()).unwrap_or(i32::MAX)
    }

    /// Replaces the entry of an entity whose name or path changed.
    pub fn rename(&mut self, old: &EntityRef, new: &EntityRef) {
        for uses in [&mut self.attached, &mut self.boundary] {
            if uses.remove(&old.use_key()).is_some() {
                uses.insert(new.use_key(), new.clone());
            }
        }
    }
}

/// Serde for secrets kept in sealed records: the plaintext goes into the record, which the
/// store encrypts, and comes back wrapped again.
pub(crate) mod sensitive {
    use palisade_core::Sensitive;
    use serde::de::DeserializeOwned;
    use serde::{Deserializer, Serialize, Serializer};
    use zeroize::Zeroize;

    pub fn serialize<T, S>(secret: &Sensitive<T>, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: Serialize + Zeroize,
        S: Serializer,
    {
        secret.expose().serialize(serializer)
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Sensitive<T>, D::Error>
    where
        T: DeserializeOwned + Zeroize,
        D: Deserializer<'de>,
    {
        T::deserialize(deserializer).map(Sensitive::new)
    }
}
