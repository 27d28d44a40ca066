//! What the server's authorizer and STS read from IAM about a principal: the policy
//! documents that apply to it, and the roles it may assume. Documents are the raw JSON as
//! stored; the caller parses (and caches) them.

use palisade_core::{AccountId, PrincipalKind};
use palisade_store::{ChangeMark, StoreError, Transaction};

use crate::IamState;
use crate::aws_policies;
use crate::db::{self, IAM, Kind, Stored, plain};
use crate::records::{GroupRecord, InlinePolicies, PolicyRecord, RoleRecord, RoleUse, UserRecord};

/// How long a role's last use may go unrecorded when the region stays the same.
const ROLE_USE_WRITE_INTERVAL_SECS: i64 = 60;

/// Where a policy document comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// The default version of a managed policy.
    Managed {
        /// The policy's ARN.
        arn: String,
        /// The default version's id; with the ARN, it names this exact document.
        version_id: String,
    },
    /// An inline policy of a user, group or role.
    Inline {
        /// The ARN of the user, group or role.
        owner_arn: String,
        /// The policy's name.
        name: String,
    },
}

/// A policy document and where it comes from.
#[derive(Debug, Clone)]
pub struct PolicyText {
    /// Where the document comes from.
    pub source: PolicySource,
    /// The JSON document, as stored.
    pub document: String,
}

/// The identity-based policies that apply to a principal.
#[derive(Debug, Clone, Default)]
pub struct PrincipalPolicies {
    /// The principal's inline and attached managed policies and, for a user, those of its
    /// groups.
    pub identity: Vec<PolicyText>,
    /// The permissions boundary's default version, when the principal has one.
    pub boundary: Option<PolicyText>,
}

/// What STS needs of a role to let a session assume it.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    /// The role's name, case preserved.
    pub name: String,
    /// The role's unique id (`AROA...`).
    pub id: String,
    /// The role's ARN.
    pub arn: String,
    /// The trust policy, as stored (raw JSON).
    pub trust_policy: String,
    /// The longest session, in seconds.
    pub max_session_duration: i32,
    /// The role's tags, as (key, value).
    pub tags: Vec<(String, String)>,
}

impl IamState {
    /// Moves whenever what [`IamState::principal_policies`] answers may have changed (see
    /// [`palisade_store::derived`]).
    pub fn policies_mark(&self) -> Option<ChangeMark> {
        self.store.change_mark(&[IAM])
    }

    /// The policies that apply to `principal` in `account`, or `None` when the user or role
    /// no longer exists. The root user and anonymous callers have no identity policies.
    pub async fn principal_policies(
        &self,
        account: &AccountId,
        principal: &PrincipalKind,
    ) -> Result<Option<PrincipalPolicies>, StoreError> {
        match principal {
            PrincipalKind::Root | PrincipalKind::Anonymous => {
                Ok(Some(PrincipalPolicies::default()))
            }
            PrincipalKind::User { name } => {
                let Some(user) = self.load::<UserRecord>(account, Kind::User, name).await? else {
                    return Ok(None);
                };
                let user = user.value;
                let mut policies = PrincipalPolicies::default();
                self.add_entity_policies(
                    account,
                    &mut policies,
                    &user.arn(account),
                    &user.inline,
                    &user.attached,
                )
                .await?;
                for group in &user.groups {
                    self.add_group_policies(account, &mut policies, group)
                        .await?;
                }
                policies.boundary = self.managed_text(account, user.boundary.as_deref()).await?;
                Ok(Some(policies))
            }
            PrincipalKind::AssumedRole { role_name, .. } => {
                let Some(role) = self
                    .load::<RoleRecord>(account, Kind::Role, role_name)
                    .await?
                else {
                    return Ok(None);
                };
                let role = role.value;
                let mut policies = PrincipalPolicies::default();
                self.add_entity_policies(
                    account,
                    &mut policies,
                    &role.arn(account),
                    &role.inline,
                    &role.attached,
                )
                .await?;
                policies.boundary = self.managed_text(account, role.boundary.as_deref()).await?;
                Ok(Some(policies))
            }
        }
    }

    /// The inline and attached policies of the group `name` in `account`, or `None` when it
    /// does not exist (groups have no permissions boundary).
    pub(crate) async fn group_policies(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<PrincipalPolicies>, StoreError> {
        let mut policies = PrincipalPolicies::default();
        let found = self
            .add_group_policies(account, &mut policies, name)
            .await?;
        Ok(found.then_some(policies))
    }

    /// The role called `name` in `account`, for `sts:AssumeRole`.
    pub async fn role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<RoleInfo>, StoreError> {
        let Some(role) = self.load::<RoleRecord>(account, Kind::Role, name).await? else {
            return Ok(None);
        };
        let role = role.value;
        Ok(Some(RoleInfo {
            arn: role.arn(account),
            name: role.name,
            id: role.id,
            trust_policy: role.trust_policy,
            max_session_duration: role.max_session_duration,
            tags: role.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        }))
    }

    /// Records that a session of the role `name` was issued in `region`, for `GetRole`'s
    /// `RoleLastUsed`. Best effort, like [`IamState::note_key_used`]: written at most once a
    /// minute per role while the region stays the same, and a lost race is not retried.
    pub async fn note_role_used(&self, account: &AccountId, name: &str, region: &str) {
        let key = db::key(account, Kind::Role, name);
        let Ok(Some(mut role)) = self.get_raw::<RoleRecord>(IAM, &key).await else {
            return;
        };
        let now = self.now();
        let fresh = role.value.last_used.as_ref().is_some_and(|used| {
            used.region == region && now - used.at < ROLE_USE_WRITE_INTERVAL_SECS
        });
        if fresh {
            return;
        }
        role.value.last_used = Some(RoleUse {
            at: now,
            region: region.to_owned(),
        });
        if let Ok(value) = plain(&role.value) {
            let _ = self
                .store
                .commit(role.replace(Transaction::new(), IAM, &key, value))
                .await;
        }
    }

    async fn load<T: serde::de::DeserializeOwned>(
        &self,
        account: &AccountId,
        kind: Kind,
        name: &str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        self.get_raw(IAM, &db::key(account, kind, name)).await
    }

    /// Adds the policies of the group `name`; whether it exists.
    async fn add_group_policies(
        &self,
        account: &AccountId,
        policies: &mut PrincipalPolicies,
        name: &str,
    ) -> Result<bool, StoreError> {
        let Some(group) = self.load::<GroupRecord>(account, Kind::Group, name).await? else {
            return Ok(false);
        };
        let group = group.value;
        self.add_entity_policies(
            account,
            policies,
            &group.arn(account),
            &group.inline,
            &group.attached,
        )
        .await?;
        Ok(true)
    }

    /// Adds an entity's inline and attached policies.
    async fn add_entity_policies(
        &self,
        account: &AccountId,
        policies: &mut PrincipalPolicies,
        owner_arn: &str,
        inline: &InlinePolicies,
        attached: &[String],
    ) -> Result<(), StoreError> {
        policies
            .identity
            .extend(inline.values().map(|policy| PolicyText {
                source: PolicySource::Inline {
                    owner_arn: owner_arn.to_owned(),
                    name: policy.name.clone(),
                },
                document: policy.document.clone(),
            }));
        for arn in attached {
            policies
                .identity
                .extend(self.managed_text(account, Some(arn)).await?);
        }
        Ok(())
    }

    /// The default version of the managed policy `arn`, if it exists.
    async fn managed_text(
        &self,
        account: &AccountId,
        arn: Option<&str>,
    ) -> Result<Option<PolicyText>, StoreError> {
        let Some(arn) = arn else {
            return Ok(None);
        };
        if let Some(policy) = aws_policies::find(arn) {
            return Ok(Some(PolicyText {
                source: PolicySource::Managed {
                    arn: arn.to_owned(),
                    version_id: policy.version.clone(),
                },
                document: policy.document.clone(),
            }));
        }
        let name = crate::managed_policies::name_of(arn);
        let Some(policy) = self
            .load::<PolicyRecord>(account, Kind::Policy, name)
            .await?
        else {
            return Ok(None);
        };
        let policy = policy.value;
        Ok(policy.default_version().map(|version| PolicyText {
            source: PolicySource::Managed {
                arn: arn.to_owned(),
                version_id: version.id.clone(),
            },
            document: version.document.clone(),
        }))
    }
}
