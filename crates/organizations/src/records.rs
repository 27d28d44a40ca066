//! The organization as stored (one JSON record), its lookups, and its parts as the API
//! shows them.

use std::collections::{BTreeMap, BTreeSet};

use palisade_core::ServiceError;
use palisade_core::value::Timestamp;
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    self as api, AccountJoinedMethod, AccountState, AccountStatus, ActionType, HandshakeParty,
    HandshakePartyType, HandshakeResource, HandshakeResourceType, OrganizationFeatureSet,
    PolicyTypeStatus, PolicyTypeSummary,
};
use serde::{Deserialize, Serialize};

/// The policy types whose documents Palisade validates and enforces.
pub(crate) const SCP: &str = "SERVICE_CONTROL_POLICY";
pub(crate) const RCP: &str = "RESOURCE_CONTROL_POLICY";

/// An organization, everything in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Org {
    pub id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    pub management_account: String,
    pub root: Root,
    pub accounts: BTreeMap<String, Account>,
    pub units: BTreeMap<String, Unit>,
    /// Customer managed policies; the AWS managed ones are [`MANAGED_POLICIES`].
    pub policies: BTreeMap<String, PolicyRecord>,
    /// Target (root, OU or account) id → the ids of the policies attached to it.
    pub attachments: BTreeMap<String, BTreeSet<String>>,
    /// Resource (root, OU, account or policy) id → its tags.
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    /// `CreateAccount` requests by id.
    pub create_requests: BTreeMap<String, CreateRequest>,
    /// Service principal → when trusted access was enabled, in milliseconds.
    pub service_access: BTreeMap<String, i64>,
    /// Account → service principal → when it became the service's delegated administrator.
    pub delegated: BTreeMap<String, BTreeMap<String, i64>>,
    /// Invitations sent, by handshake id.
    pub handshakes: BTreeMap<String, HandshakeRecord>,
    /// The organization's resource-based policy.
    pub resource_policy: Option<ResourcePolicyRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourcePolicyRecord {
    pub id: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Root {
    pub id: String,
    /// The policy types enabled in the root.
    pub policy_types: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    pub name: String,
    pub email: String,
    /// The root or OU the account is in.
    pub parent: String,
    /// `CREATED` or `INVITED`.
    pub joined_method: String,
    pub joined_at: i64,
    /// Set by `CloseAccount`.
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unit {
    pub name: String,
    pub parent: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PolicyRecord {
    pub name: String,
    pub description: String,
    pub kind: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CreateRequest {
    pub account_name: String,
    pub requested_at: i64,
    pub completed_at: i64,
    pub account_id: Option<String>,
    /// Set when the request failed: a `CreateAccountFailureReason`.
    pub failure_reason: Option<String>,
}

/// An invitation to join the organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HandshakeRecord {
    /// The invited account.
    pub target: String,
    pub notes: Option<String>,
    /// The tags the account gets when it joins.
    pub tags: BTreeMap<String, String>,
    pub requested_at: i64,
    pub expires_at: i64,
    /// `OPEN`, `ACCEPTED`, `DECLINED` or `CANCELED`; an open one past its expiry is `EXPIRED`.
    pub state: String,
}

impl HandshakeRecord {
    /// The state at `now`.
    pub fn state_at(&self, now: i64) -> &str {
        if self.state == "OPEN" && now >= self.expires_at {
            "EXPIRED"
        } else {
            &self.state
        }
    }
}

/// A policy AWS manages, the same in every organization.
pub(crate) struct ManagedPolicy {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
    pub content: &'static str,
}

/// `FullAWSAccess` and `RCPFullAWSAccess`, attached everywhere when their type is enabled.
pub(crate) const MANAGED_POLICIES: [ManagedPolicy; 2] = [
    ManagedPolicy {
        id: "p-FullAWSAccess",
        name: "FullAWSAccess",
        kind: SCP,
        description: "Allows access to every operation",
        content: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \
                  \"Allow\",\n      \"Action\": \"*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}",
    },
    ManagedPolicy {
        id: "p-RCPFullAWSAccess",
        name: "RCPFullAWSAccess",
        kind: RCP,
        description: "Allows access to every operation",
        content: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \
                  \"Allow\",\n      \"Principal\": \"*\",\n      \"Action\": \"*\",\n      \
                  \"Resource\": \"*\"\n    }\n  ]\n}",
    },
];

/// The AWS managed policy attached by default wherever policies of `kind` are enabled.
pub(crate) fn default_policy(kind: &str) -> Option<&'static ManagedPolicy> {
    MANAGED_POLICIES.iter().find(|policy| policy.kind == kind)
}

/// A policy, managed or not, as the API describes it.
pub(crate) struct PolicyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub description: &'a str,
    pub content: &'a str,
    pub aws_managed: bool,
}

/// What a target id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Root,
    Unit,
    Account,
}

impl Org {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.management_account, self.id
        )
    }

    pub fn root_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:root/{}/{}",
            self.management_account, self.id, self.root.id
        )
    }

    pub fn account_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{account}",
            self.management_account, self.id
        )
    }

    pub fn unit_arn(&self, unit: &str) -> String {
        format!(
            "arn:aws:organizations::{}:ou/{}/{unit}",
            self.management_account, self.id
        )
    }

    pub fn policy_arn(&self, policy: &PolicyView<'_>) -> String {
        let kind = policy.kind.to_ascii_lowercase();
        if policy.aws_managed {
            format!("arn:aws:organizations::aws:policy/{kind}/{}", policy.id)
        } else {
            format!(
                "arn:aws:organizations::{}:policy/{}/{kind}/{}",
                self.management_account, self.id, policy.id
            )
        }
    }

    pub fn all_features(&self) -> bool {
        self.feature_set == "ALL"
    }

    pub fn member_emails(&self) -> impl Iterator<Item = &str> {
        self.accounts.values().map(|account| account.email.as_str())
    }

    /// What `id` names in this organization, if anything.
    pub fn target(&self, id: &str) -> Option<Target> {
        if id == self.root.id {
            Some(Target::Root)
        } else if self.units.contains_key(id) {
            Some(Target::Unit)
        } else if self.accounts.contains_key(id) {
            Some(Target::Account)
        } else {
            None
        }
    }

    /// Whether `id` is the root or an OU.
    pub fn is_parent(&self, id: &str) -> bool {
        matches!(self.target(id), Some(Target::Root | Target::Unit))
    }

    pub fn account(&self, id: &str) -> Result<&Account, ServiceError> {
        self.accounts.get(id).ok_or_else(account_not_found)
    }

    pub fn unit(&self, id: &str) -> Result<&Unit, ServiceError> {
        self.units.get(id).ok_or_else(|| {
            errors::organizational_unit_not_found_exception(
                "We can't find an OU with the OrganizationalUnitId that you specified.",
            )
        })
    }

    /// The policy `id`: an AWS managed one or one of the organization's.
    pub fn policy(&self, id: &str) -> Result<PolicyView<'_>, ServiceError> {
        if let Some(managed) = MANAGED_POLICIES.iter().find(|policy| policy.id == id) {
            return Ok(PolicyView {
                id: managed.id,
                name: managed.name,
                kind: managed.kind,
                description: managed.description,
                content: managed.content,
                aws_managed: true,
            });
        }
        let (id, record) = self.policies.get_key_value(id).ok_or_else(|| {
            errors::policy_not_found_exception(
                "We can't find a policy with the PolicyId that you specified.",
            )
        })?;
        Ok(PolicyView {
            id,
            name: &record.name,
            kind: &record.kind,
            description: &record.description,
            content: &record.content,
            aws_managed: false,
        })
    }

    /// Every policy of `kind`, managed ones included, in id order.
    pub fn policies_of_kind(&self, kind: &str) -> Vec<PolicyView<'_>> {
        let mut all: Vec<PolicyView<'_>> = MANAGED_POLICIES
            .iter()
            .filter_map(|managed| self.policy(managed.id).ok())
            .chain(self.policies.keys().filter_map(|id| self.policy(id).ok()))
            .filter(|policy| policy.kind == kind)
            .collect();
        all.sort_by(|a, b| a.id.cmp(b.id));
        all
    }

    /// The chain of parents of `id` from the root down to its own parent.
    pub fn ancestors(&self, id: &str) -> Vec<&str> {
        let mut chain = Vec::new();
        let mut current = self.parent_of(id);
        while let Some(parent) = current {
            chain.push(parent);
            // A cycle cannot be built through the API; the bound is there all the same.
            if chain.len() > self.units.len() + 1 {
                break;
            }
            current = self.parent_of(parent);
        }
        chain.reverse();
        chain
    }

    fn parent_of(&self, id: &str) -> Option<&str> {
        if let Some(unit) = self.units.get(id) {
            Some(&unit.parent)
        } else {
            self.accounts.get(id).map(|account| account.parent.as_str())
        }
    }

    /// The path of a root or OU, as `aws:PrincipalOrgPaths` and the API's `Path` show it:
    /// `o-.../r-.../ou-.../`.
    pub fn path(&self, parent: &str) -> String {
        let mut path = format!("{}/", self.id);
        for step in self.ancestors(parent).into_iter().chain([parent]) {
            path.push_str(step);
            path.push('/');
        }
        path
    }

    /// How many OUs deep `parent` is: 0 for the root.
    pub fn depth(&self, parent: &str) -> usize {
        self.ancestors(parent).len()
    }

    pub fn attached(&self, target: &str) -> impl Iterator<Item = &str> {
        self.attachments
            .get(target)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Attaches the default policy of every enabled type to a new OU or account.
    pub fn attach_defaults(&mut self, target: &str) {
        let defaults: Vec<&str> = self
            .root
            .policy_types
            .iter()
            .filter_map(|kind| default_policy(kind))
            .map(|policy| policy.id)
            .collect();
        if !defaults.is_empty() {
            let attached = self.attachments.entry(target.to_owned()).or_default();
            attached.extend(defaults.into_iter().map(str::to_owned));
        }
    }

    /// Forgets everything about a target that is going away.
    pub fn forget(&mut self, id: &str) {
        self.attachments.remove(id);
        self.tags.remove(id);
        self.delegated.remove(id);
    }

    pub fn policy_type_summaries(&self) -> Vec<PolicyTypeSummary> {
        self.root
            .policy_types
            .iter()
            .map(|kind| PolicyTypeSummary {
                r#type: Some(kind.as_str().into()),
                status: Some(PolicyTypeStatus::Enabled),
            })
            .collect()
    }

    pub fn to_api(&self) -> api::Organization {
        let management = self.accounts.get(&self.management_account);
        api::Organization {
            id: Some(self.id.clone()),
            arn: Some(self.arn()),
            feature_set: Some(OrganizationFeatureSet::from(self.feature_set.as_str())),
            master_account_arn: Some(self.account_arn(&self.management_account)),
            master_account_id: Some(self.management_account.clone()),
            master_account_email: management.map(|account| account.email.clone().into()),
            available_policy_types: Some(self.policy_type_summaries()),
        }
    }

    pub fn root_to_api(&self) -> api::Root {
        api::Root {
            id: Some(self.root.id.clone()),
            arn: Some(self.root_arn()),
            name: Some("Root".to_owned()),
            policy_types: Some(self.policy_type_summaries()),
        }
    }

    pub fn account_to_api(&self, id: &str, account: &Account) -> api::Account {
        api::Account {
            id: Some(id.to_owned()),
            arn: Some(self.account_arn(id)),
            email: Some(account.email.clone().into()),
            name: Some(account.name.clone().into()),
            status: Some(if account.closed {
                AccountStatus::Suspended
            } else {
                AccountStatus::Active
            }),
            state: Some(if account.closed {
                AccountState::Suspended
            } else {
                AccountState::Active
            }),
            paths: Some(vec![format!("{}{id}/", self.path(&account.parent))]),
            joined_method: Some(AccountJoinedMethod::from(account.joined_method.as_str())),
            joined_timestamp: Some(Timestamp::from_millis(account.joined_at)),
        }
    }

    pub fn unit_to_api(&self, id: &str, unit: &Unit) -> api::OrganizationalUnit {
        api::OrganizationalUnit {
            id: Some(id.to_owned()),
            arn: Some(self.unit_arn(id)),
            name: Some(unit.name.clone()),
            path: Some(self.path(id)),
        }
    }

    pub fn handshake_to_api(
        &self,
        id: &str,
        handshake: &HandshakeRecord,
        now: i64,
    ) -> api::Handshake {
        let resource = |kind: HandshakeResourceType, value: &str| HandshakeResource {
            value: Some(value.to_owned().into()),
            r#type: Some(kind),
            resources: None,
        };
        let management = self.accounts.get(&self.management_account);
        let mut organization = resource(HandshakeResourceType::Organization, &self.id);
        organization.resources = Some(vec![
            resource(
                HandshakeResourceType::MasterEmail,
                management.map_or("", |account| account.email.as_str()),
            ),
            resource(
                HandshakeResourceType::MasterName,
                management.map_or("", |account| account.name.as_str()),
            ),
            resource(
                HandshakeResourceType::OrganizationFeatureSet,
                &self.feature_set,
            ),
        ]);
        let mut resources = vec![
            organization,
            resource(HandshakeResourceType::Account, &handshake.target),
        ];
        if let Some(notes) = &handshake.notes {
            resources.push(resource(HandshakeResourceType::Notes, notes));
        }
        api::Handshake {
            id: Some(id.to_owned()),
            arn: Some(format!(
                "arn:aws:organizations::{}:handshake/{}/invite/{id}",
                self.management_account, self.id
            )),
            parties: Some(vec![
                HandshakeParty {
                    id: self.id.clone().into(),
                    r#type: HandshakePartyType::Organization,
                },
                HandshakeParty {
                    id: handshake.target.clone().into(),
                    r#type: HandshakePartyType::Account,
                },
            ]),
            state: Some(handshake.state_at(now).into()),
            requested_timestamp: Some(Timestamp::from_millis(handshake.requested_at)),
            expiration_timestamp: Some(Timestamp::from_millis(handshake.expires_at)),
            action: Some(ActionType::Invite),
            resources: Some(resources),
        }
    }

    pub fn policy_summary(&self, policy: &PolicyView<'_>) -> api::PolicySummary {
        api::PolicySummary {
            id: Some(policy.id.to_owned()),
            arn: Some(self.policy_arn(policy)),
            name: Some(policy.name.to_owned()),
            description: Some(policy.description.to_owned()),
            r#type: Some(policy.kind.into()),
            aws_managed: Some(policy.aws_managed),
        }
    }

    pub fn policy_to_api(&self, policy: &PolicyView<'_>) -> api::Policy {
        api::Policy {
            policy_summary: Some(self.policy_summary(policy)),
            content: Some(policy.content.to_owned()),
        }
    }
}

impl CreateRequest {
    /// The request as `DescribeCreateAccountStatus` shows it once it completed.
    pub fn to_api(&self, id: &str) -> api::CreateAccountStatus {
        let state = if self.failure_reason.is_some() {
            api::CreateAccountState::Failed
        } else {
            api::CreateAccountState::Succeeded
        };
        api::CreateAccountStatus {
            id: Some(id.to_owned()),
            account_name: Some(self.account_name.clone().into()),
            state: Some(state),
            requested_timestamp: Some(Timestamp::from_millis(self.requested_at)),
            completed_timestamp: Some(Timestamp::from_millis(self.completed_at)),
            account_id: self.account_id.clone(),
            gov_cloud_account_id: None,
            failure_reason: self.failure_reason.as_deref().map(Into::into),
        }
    }
}

pub(crate) fn account_not_found() -> ServiceError {
    errors::account_not_found_exception(
        "We can't find an AWS account with the AccountId that you specified, or the account \
         whose credentials you used to make this request isn't a member of an organization.",
    )
}

pub(crate) fn parent_not_found() -> ServiceError {
    errors::parent_not_found_exception(
        "We can't find a root or OU with the ParentId that you specified.",
    )
}

pub(crate) fn target_not_found() -> ServiceError {
    errors::target_not_found_exception(
        "We can't find a root, OU, account, or policy with the TargetId that you specified.",
    )
}
