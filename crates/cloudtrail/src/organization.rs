//! Organization trails: a trail the organization's management account creates with
//! `IsOrganizationTrail`, which logs the calls of every account of the organization and shows,
//! read-only, in each member account.
//!
//! The management account may register up to three member accounts as CloudTrail's delegated
//! administrators (`RegisterOrganizationDelegatedAdmin`, which registers them with Organizations
//! for `cloudtrail.amazonaws.com`; an account registered through Organizations directly counts
//! too). A delegated administrator creates, changes, starts, stops and deletes organization
//! trails as the management account does; the trails it creates belong to the management
//! account all the same.
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
use palisade_model_cloudtrail::types::{
    DeregisterOrganizationDelegatedAdminRequest, DeregisterOrganizationDelegatedAdminResponse,
    RegisterOrganizationDelegatedAdminRequest, RegisterOrganizationDelegatedAdminResponse,
};
use palisade_store::typed::Stored;

use crate::CloudTrailState;
use crate::db::TrailRecord;

/// The service principal whose trusted access an organization trail needs, and for which
/// delegated administrators are registered.
pub const SERVICE_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// Most delegated administrators CloudTrail allows an organization.
const MAX_DELEGATED_ADMINISTRATORS: usize = 3;

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

    /// The accounts registered as delegated administrators for `service_principal` in the
    /// organization of `management_account`.
    fn delegated_administrators<'a>(
        &'a self,
        management_account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ServiceError>>;

    /// Registers `account` as a delegated administrator for `service_principal`, as
    /// `management_account` does with Organizations' `RegisterDelegatedAdministrator`.
    fn register_delegated_administrator<'a>(
        &'a self,
        management_account: &'a str,
        account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;

    /// Removes `account` from the delegated administrators for `service_principal`, as
    /// `management_account` does with Organizations' `DeregisterDelegatedAdministrator`.
    fn deregister_delegated_administrator<'a>(
        &'a self,
        management_account: &'a str,
        account: &'a str,
        service_principal: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
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
        let (organizations, organization) = self.organization_in_use(&trail.account).await?;
        if organization.management_account != trail.account {
            return Err(not_management_account(&trail.account));
        }
        require_trusted_access(organizations, &organization.management_account).await
    }

    /// The account that owns an organization trail `account` creates: `account` itself when it
    /// manages its organization, the management account when it is a delegated administrator.
    pub(crate) async fn organization_trail_owner(
        &self,
        account: &str,
    ) -> Result<String, ServiceError> {
        let (organizations, organization) = self.organization_in_use(account).await?;
        let management = organization.management_account;
        if management != account
            && !is_delegated_administrator(organizations, &management, account).await?
        {
            return Err(not_management_account(account));
        }
        require_trusted_access(organizations, &management).await?;
        Ok(management)
    }

    /// `account` changes `trail` only if the trail is its own, or an organization trail of the
    /// organization it is a delegated administrator of.
    pub(crate) async fn require_owner(
        &self,
        ctx: &RequestContext,
        trail: &TrailRecord,
    ) -> Result<(), ServiceError> {
        let account = ctx.account().as_str();
        if trail.account == account {
            return Ok(());
        }
        if let Some(organizations) = &self.organizations
            && trail.is_organization_trail
            && is_delegated_administrator(organizations.as_ref(), &trail.account, account).await?
        {
            return Ok(());
        }
        Err(not_management_account(account))
    }

    /// `account`'s organization, or `OrganizationsNotInUseException`.
    async fn organization_in_use(
        &self,
        account: &str,
    ) -> Result<(&dyn TrailOrganizations, TrailOrganization), ServiceError> {
        let organization = match &self.organizations {
            Some(organizations) => organizations.organization_of(account).await?,
            None => None,
        };
        match (&self.organizations, organization) {
            (Some(organizations), Some(organization)) => Ok((organizations.as_ref(), organization)),
            _ => Err(errors::organizations_not_in_use_exception(format!(
                "This operation can be performed only by an account that is a member of an \
                 organization in AWS Organizations. Account {account} is not."
            ))),
        }
    }

    /// `account`'s organization, when `account` manages it and CloudTrail's trusted access is
    /// enabled: what registering delegated administrators takes.
    async fn managed_organization(
        &self,
        account: &str,
    ) -> Result<(&dyn TrailOrganizations, TrailOrganization), ServiceError> {
        let (organizations, organization) = self.organization_in_use(account).await?;
        if organization.management_account != account {
            return Err(errors::not_organization_management_account_exception(
                format!(
                    "The request was made by account {account}, which is not the management \
                 account of its organization in AWS Organizations. Only the management account \
                 can register or deregister a CloudTrail delegated administrator."
                ),
            ));
        }
        require_trusted_access(organizations, account).await?;
        Ok((organizations, organization))
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
        self.organization_coverage(&trail.account, trail.is_organization_trail)
            .await
    }

    /// What a resource of `account` that covers its organization when `organization_wide`
    /// covers now: `None` when it is not organization-wide or `account` no longer manages an
    /// organization (its own records only, then).
    pub(crate) async fn organization_coverage(
        &self,
        account: &str,
        organization_wide: bool,
    ) -> Result<Option<Coverage>, ServiceError> {
        let Some(organizations) = self.organizations.as_ref().filter(|_| organization_wide) else {
            return Ok(None);
        };
        let Some(organization) = organizations.organization_of(account).await? else {
            return Ok(None);
        };
        if organization.management_account != account {
            return Ok(None);
        }
        Ok(Some(Coverage {
            organization_id: organization.id,
            members: organizations.member_accounts(account).await?,
        }))
    }
}

pub(crate) async fn register_delegated_admin(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: RegisterOrganizationDelegatedAdminRequest,
) -> Result<RegisterOrganizationDelegatedAdminResponse, ServiceError> {
    let management = ctx.account().as_str();
    let (organizations, _) = state.managed_organization(management).await?;
    let account = input.member_account_id.as_str();
    if account == management {
        return Err(errors::cannot_delegate_management_account_exception(
            format!(
                "Account {account} is the management account of the organization: it cannot be \
             registered as a CloudTrail delegated administrator."
            ),
        ));
    }
    require_member(organizations, management, account).await?;
    let registered = organizations
        .delegated_administrators(management, SERVICE_PRINCIPAL)
        .await?;
    if registered.iter().any(|registered| registered == account) {
        return Err(errors::account_registered_exception(format!(
            "Account {account} is already registered as a CloudTrail delegated administrator."
        )));
    }
    if registered.len() >= MAX_DELEGATED_ADMINISTRATORS {
        return Err(errors::delegated_admin_account_limit_exceeded_exception(
            format!(
                "The organization already has {MAX_DELEGATED_ADMINISTRATORS} CloudTrail delegated \
             administrators, the most it can have."
            ),
        ));
    }
    organizations
        .register_delegated_administrator(management, account, SERVICE_PRINCIPAL)
        .await?;
    Ok(RegisterOrganizationDelegatedAdminResponse::default())
}

pub(crate) async fn deregister_delegated_admin(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeregisterOrganizationDelegatedAdminRequest,
) -> Result<DeregisterOrganizationDelegatedAdminResponse, ServiceError> {
    let management = ctx.account().as_str();
    let (organizations, _) = state.managed_organization(management).await?;
    let account = input.delegated_admin_account_id.as_str();
    require_member(organizations, management, account).await?;
    if !is_delegated_administrator(organizations, management, account).await? {
        return Err(errors::account_not_registered_exception(format!(
            "Account {account} is not registered as a CloudTrail delegated administrator."
        )));
    }
    organizations
        .deregister_delegated_administrator(management, account, SERVICE_PRINCIPAL)
        .await?;
    Ok(DeregisterOrganizationDelegatedAdminResponse::default())
}

async fn is_delegated_administrator(
    organizations: &dyn TrailOrganizations,
    management_account: &str,
    account: &str,
) -> Result<bool, ServiceError> {
    Ok(organizations
        .delegated_administrators(management_account, SERVICE_PRINCIPAL)
        .await?
        .iter()
        .any(|registered| registered == account))
}

async fn require_trusted_access(
    organizations: &dyn TrailOrganizations,
    management_account: &str,
) -> Result<(), ServiceError> {
    if organizations
        .service_access_enabled(management_account, SERVICE_PRINCIPAL)
        .await?
    {
        return Ok(());
    }
    Err(errors::cloud_trail_access_not_enabled_exception(
        "Trusted access for CloudTrail is not enabled in your organization. Enable it with \
         EnableAWSServiceAccess for cloudtrail.amazonaws.com.",
    ))
}

/// `AccountNotFoundException` unless `account` belongs to the organization of
/// `management_account`.
async fn require_member(
    organizations: &dyn TrailOrganizations,
    management_account: &str,
    account: &str,
) -> Result<(), ServiceError> {
    let members = organizations.member_accounts(management_account).await?;
    if members.iter().any(|member| member.account == account) {
        return Ok(());
    }
    Err(errors::account_not_found_exception(format!(
        "Account {account} is not a member of the organization."
    )))
}

fn not_management_account(account: &str) -> ServiceError {
    errors::not_organization_master_account_exception(format!(
        "The request was made by account {account}, which is not the management account of \
         its organization in AWS Organizations. Only the management account or a CloudTrail \
         delegated administrator can create or change an organization trail."
    ))
}
