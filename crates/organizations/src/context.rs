//! What the authorizer needs to know of an account's organization: its id, the account's
//! place in the tree (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`), and the SCPs and RCPs
//! that bind it, level by level.

use palisade_core::{AccountId, ServiceError};

use palisade_store::ChangeMark;

use crate::OrganizationsState;
use crate::db::{MEMBERS, ORGS};
use crate::records::{Org, RCP, SCP};

/// An account's organization, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgContext {
    /// `aws:PrincipalOrgID`.
    pub organization_id: String,
    pub management_account_id: String,
    pub is_management_account: bool,
    /// `aws:PrincipalOrgPaths`: the path of the account's parent,
    /// `o-.../r-.../ou-.../` (ending with `/`).
    pub org_path: String,
    /// The SCPs that bind the account's principals: one entry per level, the root first, then
    /// each OU down the path, then the account itself. A request is allowed only if every level
    /// allows it. Empty when SCPs are not enabled, and for the management account, which SCPs
    /// never restrict.
    pub service_control_policies: Vec<Vec<OrgPolicyDocument>>,
    /// The RCPs that bind the account's resources, by level as above. Empty when RCPs are not
    /// enabled, and for the management account, whose resources RCPs never restrict.
    pub resource_control_policies: Vec<Vec<OrgPolicyDocument>>,
}

/// One policy attached at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPolicyDocument {
    pub arn: String,
    /// The JSON document, as stored (already validated as an SCP or RCP).
    pub document: String,
}

impl OrganizationsState {
    /// Moves whenever what [`OrganizationsState::account_context`] answers may have changed
    /// (see [`palisade_store::derived`]).
    pub fn context_mark(&self) -> Option<ChangeMark> {
        self.store.change_mark(&[ORGS, MEMBERS])
    }

    /// The organization context of `account`, or `None` when it belongs to no organization.
    /// Two store reads: the account's membership, then its organization.
    pub async fn account_context(
        &self,
        account: &AccountId,
    ) -> Result<Option<OrgContext>, ServiceError> {
        let Some(loaded) = self.organization_of(account.as_str()).await? else {
            return Ok(None);
        };
        let org = loaded.org;
        let Some(member) = org.accounts.get(account.as_str()) else {
            return Ok(None);
        };
        let is_management_account = org.management_account == account.as_str();
        let levels: Vec<&str> = org
            .ancestors(account.as_str())
            .into_iter()
            .chain([account.as_str()])
            .collect();
        let policies_of = |kind: &str| {
            if is_management_account || !org.root.policy_types.contains(kind) {
                return Vec::new();
            }
            levels
                .iter()
                .map(|level| level_policies(&org, level, kind))
                .collect()
        };
        Ok(Some(OrgContext {
            organization_id: org.id.clone(),
            management_account_id: org.management_account.clone(),
            is_management_account,
            org_path: org.path(&member.parent),
            service_control_policies: policies_of(SCP),
            resource_control_policies: policies_of(RCP),
        }))
    }
}

fn level_policies(org: &Org, target: &str, kind: &str) -> Vec<OrgPolicyDocument> {
    org.attached(target)
        .filter_map(|id| org.policy(id).ok())
        .filter(|policy| policy.kind == kind)
        .map(|policy| OrgPolicyDocument {
            arn: org.policy_arn(&policy),
            document: policy.content.to_owned(),
        })
        .collect()
}
