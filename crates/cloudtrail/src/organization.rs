//! Organization trails: a trail the organization's management account creates with
//! `IsOrganizationTrail`, which logs the calls of every account of the organization and shows,
//! read-only, in each member account.
//!
//! CloudTrail learns about organizations through [`TrailOrganizations`], which the server
//! implements over AWS Organizations, so this crate does not depend on that one. Membership is
//! read when it matters: creating or updating a trail, a member's reads of trails, each delivery
//! run, and each time streaming reads the trails again. A record is covered when its account was
//! in the organization at the record's time, as far as the current membership tells: an account
//! from the time it joined; an account that has left is no longer delivered.

use palisade_core::service::BoxFuture;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_store::typed::Stored;

use crate::CloudTrailState;
use crate::db::TrailRecord;

/// The service principal whose trusted access an organization trail needs.
pub const SERVICE_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// AWS Organizations, as CloudTrail asks it. The server implements it; this crate knows nothing
/// of the Organizations service.
pub trait TrailOrganizations: Send + Sync + 'static {
    /// The organization `account` belongs to, `None` when it belongs to none.
    fn organization_of<'a>(
        &'a self,
        account: &'a str,
    ) -> BoxFuture<'a, Result<Option<TrailOrganization>, ServiceError>>;

    /// Every account of the organization whose management account is `management_account`,
    /// itself included.
    fn member_accounts<'a>(
        &'a self,
        management_account: &'a str,
    ) -> BoxFuture<'a, Result<Vec<MemberAccount>, ServiceError>>;

    /// Whether the organization of `management_account` has trusted access enabled for
    /// `service_principal`.
    fn service_access_enabled<'a>(
        &'a self,
        management_account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<bool, ServiceError>>;
}

/// An account's organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailOrganization {
    /// `o-...`.
    pub id: String,
    pub management_account: String,
}

/// An account of an organization, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub account: String,
    /// When it joined (or created the organization), in milliseconds since the epoch.
    pub joined_millis: i64,
}

/// The accounts an organization trail covers, as read for one delivery run or one reading of
/// the streaming trails.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    pub organization_id: String,
    pub members: Vec<MemberAccount>,
}

impl Coverage {
    /// Whether a record of `account` at `millis` is the organization's.
    pub fn covers(&self, account: &str, millis: i64) -> bool {
        self.members
            .iter()
            .any(|member| member.account == account && millis >= member.joined_millis)
    }
}

impl CloudTrailState {
    /// Answers organization questions through `organizations`; without it no trail can be an
    /// organization trail.
    pub fn with_organizations(
        mut self,
        organizations: std::sync::Arc<dyn TrailOrganizations>,
    ) -> Self {
        self.organizations = Some(organizations);
        self
    }

    /// Refuses to make `trail` an organization trail unless its account manages an organization
    /// with trusted access enabled for CloudTrail.
    pub(crate) async fn check_organization_trail(
        &self,
        trail: &TrailRecord,
    ) -> Result<(), ServiceError> {
        let organization = match &self.organizations {
            Some(organizations) => organizations.organization_of(&trail.account).await?,
            None => None,
        };
        let (Some(organizations), Some(organization)) = (&self.organizations, organization) else {
            return Err(errors::organizations_not_in_use_exception(format!(
                "This operation can be performed only by an account that is a member of an \
                 organization in AWS Organizations. Account {} is not.",
                trail.account
            )));
        };
        if organization.management_account != trail.account {
            return Err(not_management_account(&trail.account));
        }
        if !organizations
            .service_access_enabled(&trail.account, SERVICE_PRINCIPAL)
            .await?
        {
            return Err(errors::cloud_trail_access_not_enabled_exception(
                "Trusted access for CloudTrail is not enabled in your organization. Enable it \
                 with EnableAWSServiceAccess for cloudtrail.amazonaws.com.",
            ));
        }
        Ok(())
    }

    /// The organization trails `account` sees as a member: those of its organization's
    /// management account (none for the management account itself, whose own they are).
    pub(crate) async fn member_view(
        &self,
        account: &str,
    ) -> Result<Vec<Stored<TrailRecord>>, ServiceError> {
        let Some(organizations) = &self.organizations else {
            return Ok(Vec::new());
        };
        let Some(organization) = organizations.organization_of(account).await? else {
            return Ok(Vec::new());
        };
        if organization.management_account == account {
            return Ok(Vec::new());
        }
        Ok(self
            .account_trails(&organization.management_account)
            .await?
            .into_iter()
            .filter(|stored| stored.value.is_organization_trail)
            .collect())
    }

    /// What the organization trail `trail` covers now; `None` for a trail of one account, or
    /// when its account no longer manages an organization (it then logs its own account only).
    pub(crate) async fn coverage(
        &self,
        trail: &TrailRecord,
    ) -> Result<Option<Coverage>, ServiceError> {
        let Some(organizations) = self
            .organizations
            .as_ref()
            .filter(|_| trail.is_organization_trail)
        else {
            return Ok(None);
        };
        let Some(organization) = organizations.organization_of(&trail.account).await? else {
            return Ok(None);
        };
        if organization.management_account != trail.account {
            return Ok(None);
        }
        Ok(Some(Coverage {
            organization_id: organization.id,
            members: organizations.member_accounts(&trail.account).await?,
        }))
    }
}

/// A member account may read its organization's trails but change none of them.
pub(crate) fn require_owner(ctx: &RequestContext, trail: &TrailRecord) -> Result<(), ServiceError> {
    if trail.account == ctx.account().as_str() {
        return Ok(());
    }
    Err(not_management_account(ctx.account().as_str()))
}

fn not_management_account(account: &str) -> ServiceError {
    errors::not_organization_master_account_exception(format!(
        "The request was made by account {account}, which is not the management account of \
         its organization in AWS Organizations. Only the management account can create or \
         change an organization trail."
    ))
}
