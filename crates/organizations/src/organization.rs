//! The organization itself: `CreateOrganization`, `DescribeOrganization`,
//! `DeleteOrganization`.

use std::collections::BTreeMap;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    CreateOrganizationRequest, CreateOrganizationResponse, DescribeOrganizationResponse,
    OrganizationFeatureSet,
};

use crate::OrganizationsState;
use crate::db::Access;
use crate::ids;
use crate::records::{Account, Org, Root};

/// The email of an account Palisade did not create (a management account, an invited
/// account): Palisade does not know it, so it is made up from the account id.
pub(crate) fn placeholder_email(account: &str) -> String {
    format!("{account}@example.com")
}

pub(crate) async fn create(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CreateOrganizationRequest,
) -> Result<CreateOrganizationResponse, ServiceError> {
    let feature_set = match input.feature_set {
        None | Some(OrganizationFeatureSet::All) => "ALL",
        Some(OrganizationFeatureSet::ConsolidatedBilling) => "CONSOLIDATED_BILLING",
        Some(OrganizationFeatureSet::Unknown(other)) => {
            return Err(errors::invalid_input_exception(format!(
                "You specified an invalid value for FeatureSet: {other}."
            )));
        }
    };
    let account = ctx.account().as_str().to_owned();
    let now = state.now();
    let root_id = ids::root()?;
    let org = Org {
        id: ids::organization()?,
        feature_set: feature_set.to_owned(),
        management_account: account.clone(),
        root: Root {
            id: root_id.clone(),
            policy_types: Default::default(),
        },
        accounts: BTreeMap::from([(
            account.clone(),
            Account {
                name: account.clone(),
                email: placeholder_email(&account),
                parent: root_id,
                joined_method: "INVITED".to_owned(),
                joined_at: now,
                closed: false,
            },
        )]),
        units: BTreeMap::new(),
        policies: BTreeMap::new(),
        attachments: BTreeMap::new(),
        tags: BTreeMap::new(),
        create_requests: BTreeMap::new(),
        service_access: BTreeMap::new(),
        delegated: BTreeMap::new(),
        handshakes: BTreeMap::new(),
        resource_policy: None,
    };
    if !state.insert(&org).await? {
        return Err(errors::already_in_organization_exception(
            "The AWS account is already a member of an organization.",
        ));
    }
    Ok(CreateOrganizationResponse {
        organization: Some(org.to_api()),
    })
}

pub(crate) async fn describe(
    state: &OrganizationsState,
    ctx: &RequestContext,
) -> Result<DescribeOrganizationResponse, ServiceError> {
    let org = state.read(ctx, Access::Member).await?;
    Ok(DescribeOrganizationResponse {
        organization: Some(org.to_api()),
    })
}

pub(crate) async fn delete(
    state: &OrganizationsState,
    ctx: &RequestContext,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            if edit.org.accounts.len() > 1 {
                return Err(errors::organization_not_empty_exception(
                    "The organization isn't empty. To delete an organization, you must first \
                     remove all accounts except the management account.",
                ));
            }
            edit.delete = true;
            edit.left.push(edit.org.management_account.clone());
            Ok(())
        })
        .await
}
