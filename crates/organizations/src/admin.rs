//! Tags on roots, OUs, accounts and policies; the organization's resource policy; trusted
//! access for AWS services; delegated administrators.

use std::collections::{BTreeMap, BTreeSet};

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    DelegatedAdministrator, DelegatedService, DeregisterDelegatedAdministratorRequest,
    DescribeResourcePolicyResponse, DisableAWSServiceAccessRequest, EnableAWSServiceAccessRequest,
    EnabledServicePrincipal, ListAWSServiceAccessForOrganizationRequest,
    ListAWSServiceAccessForOrganizationResponse, ListDelegatedAdministratorsRequest,
    ListDelegatedAdministratorsResponse, ListDelegatedServicesForAccountRequest,
    ListDelegatedServicesForAccountResponse, ListTagsForResourceRequest,
    ListTagsForResourceResponse, PutResourcePolicyRequest, PutResourcePolicyResponse,
    RegisterDelegatedAdministratorRequest, ResourcePolicy, ResourcePolicySummary, Tag,
    TagResourceRequest, UntagResourceRequest,
};
use palisade_policy::{ParseOptions, Policy, PolicyKind};

use crate::OrganizationsState;
use crate::db::Access;
use crate::ids;
use crate::paging::page;
use crate::records::{Org, ResourcePolicyRecord, account_not_found, target_not_found};

/// "Maximum number of tags that you can attach to a resource: 50."
const MAX_TAGS: usize = 50;

/// `tags`, refused if there are more than a resource may carry, if a key repeats, or if a key
/// is a system tag's.
pub(crate) fn checked_tags(tags: &[Tag]) -> Result<&[Tag], ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    check_system_keys(tags.iter().map(|tag| tag.key.as_str()))?;
    let keys: BTreeSet<&str> = tags.iter().map(|tag| tag.key.as_str()).collect();
    if keys.len() < tags.len() {
        return Err(errors::invalid_input_exception(
            "Tag keys must be unique among the tags attached to the same entity.",
        ));
    }
    Ok(tags)
}

pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|tag| (tag.key.clone(), tag.value.clone()))
        .collect()
}

pub(crate) async fn tag(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            check_taggable(org, &input.resource_id)?;
            let added = tag_map(checked_tags(&input.tags)?);
            let tags = org.tags.entry(input.resource_id.clone()).or_default();
            tags.extend(added);
            if tags.len() > MAX_TAGS {
                return Err(too_many_tags());
            }
            Ok(())
        })
        .await
}

pub(crate) async fn untag(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            check_taggable(org, &input.resource_id)?;
            check_system_keys(input.tag_keys.iter().map(String::as_str))?;
            if let Some(tags) = org.tags.get_mut(&input.resource_id) {
                for key in &input.tag_keys {
                    tags.remove(key);
                }
            }
            org.tags.retain(|_, tags| !tags.is_empty());
            Ok(())
        })
        .await
}

pub(crate) async fn list_tags(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    check_taggable(&org, &input.resource_id)?;
    let tags = org
        .tags
        .get(&input.resource_id)
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            (
                key,
                Tag {
                    key: key.clone(),
                    value: value.clone(),
                },
            )
        });
    let (tags, next_token) = page(tags, input.next_token.as_deref(), None)?;
    Ok(ListTagsForResourceResponse {
        tags: Some(tags),
        next_token,
    })
}

/// `PutResourcePolicy`: stored and validated as a resource-based policy. Which member accounts
/// it lets call Organizations is not enforced yet: only the management account and delegated
/// administrators are let in, as without a policy.
pub(crate) async fn put_resource_policy(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: PutResourcePolicyRequest,
) -> Result<PutResourcePolicyResponse, ServiceError> {
    Policy::parse_with(&input.content, &ParseOptions::new(PolicyKind::Resource))
        .map_err(|error| errors::invalid_input_exception(error.message().to_owned()))?;
    let tags = tag_map(checked_tags(input.tags.as_deref().unwrap_or_default())?);
    let new_id = ids::resource_policy()?;
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            let id = org
                .resource_policy
                .as_ref()
                .map_or_else(|| new_id.clone(), |policy| policy.id.clone());
            let record = ResourcePolicyRecord {
                id: id.clone(),
                content: input.content.clone(),
            };
            if !tags.is_empty() {
                org.tags.entry(id).or_default().extend(tags.clone());
            }
            let answer = resource_policy_to_api(org, &record);
            org.resource_policy = Some(record);
            Ok(PutResourcePolicyResponse {
                resource_policy: Some(answer),
            })
        })
        .await
}

pub(crate) async fn describe_resource_policy(
    state: &OrganizationsState,
    ctx: &RequestContext,
) -> Result<DescribeResourcePolicyResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let record = org
        .resource_policy
        .as_ref()
        .ok_or_else(resource_policy_not_found)?;
    Ok(DescribeResourcePolicyResponse {
        resource_policy: Some(resource_policy_to_api(&org, record)),
    })
}

pub(crate) async fn delete_resource_policy(
    state: &OrganizationsState,
    ctx: &RequestContext,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let record = edit
                .org
                .resource_policy
                .take()
                .ok_or_else(resource_policy_not_found)?;
            edit.org.tags.remove(&record.id);
            Ok(())
        })
        .await
}

pub(crate) async fn enable_service_access(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: EnableAWSServiceAccessRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            if !edit.org.all_features() {
                return Err(errors::constraint_violation_exception(
                    "You attempted to perform an operation that requires the organization to be \
                     configured to support all features.",
                ));
            }
            let now = edit.now;
            edit.org
                .service_access
                .entry(input.service_principal.clone())
                .or_insert(now);
            Ok(())
        })
        .await
}

pub(crate) async fn disable_service_access(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DisableAWSServiceAccessRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            edit.org.service_access.remove(&input.service_principal);
            Ok(())
        })
        .await
}

pub(crate) async fn list_service_access(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListAWSServiceAccessForOrganizationRequest,
) -> Result<ListAWSServiceAccessForOrganizationResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let enabled = org.service_access.iter().map(|(principal, enabled_at)| {
        (
            principal,
            EnabledServicePrincipal {
                service_principal: Some(principal.clone()),
                date_enabled: Some(Timestamp::from_millis(*enabled_at)),
            },
        )
    });
    let (enabled, next_token) = page(enabled, input.next_token.as_deref(), input.max_results)?;
    Ok(ListAWSServiceAccessForOrganizationResponse {
        enabled_service_principals: Some(enabled),
        next_token,
    })
}

pub(crate) async fn register_delegated(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: RegisterDelegatedAdministratorRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            org.account(&input.account_id)?;
            if input.account_id == org.management_account {
                return Err(errors::constraint_violation_exception(
                    "You attempted to register the management account of the organization as \
                     a delegated administrator for an AWS service integrated with \
                     Organizations. You can designate only a member account as a delegated \
                     administrator.",
                ));
            }
            if !org.service_access.contains_key(&input.service_principal) {
                return Err(errors::constraint_violation_exception(
                    "You attempted to register a delegated administrator before you enabled \
                     service access.",
                ));
            }
            let services = org.delegated.entry(input.account_id.clone()).or_default();
            if services.contains_key(&input.service_principal) {
                return Err(errors::account_already_registered_exception(
                    "The specified account is already a delegated administrator for this AWS \
                     service.",
                ));
            }
            services.insert(input.service_principal.clone(), edit.now);
            Ok(())
        })
        .await
}

pub(crate) async fn deregister_delegated(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DeregisterDelegatedAdministratorRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            org.account(&input.account_id)?;
            let registered = org
                .delegated
                .get_mut(&input.account_id)
                .and_then(|services| services.remove(&input.service_principal));
            if registered.is_none() {
                return Err(not_registered());
            }
            org.delegated.retain(|_, services| !services.is_empty());
            Ok(())
        })
        .await
}

pub(crate) async fn list_delegated(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListDelegatedAdministratorsRequest,
) -> Result<ListDelegatedAdministratorsResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let administrators = org.delegated.iter().filter_map(|(id, services)| {
        // For one service, when the account became its administrator; otherwise the first
        // time it became anyone's.
        let since = match &input.service_principal {
            Some(principal) => services.get(principal).copied(),
            None => services.values().min().copied(),
        }?;
        let account = org.accounts.get(id)?;
        let api = org.account_to_api(id, account);
        Some((
            id,
            DelegatedAdministrator {
                id: api.id,
                arn: api.arn,
                email: api.email,
                name: api.name,
                status: api.status,
                state: api.state,
                joined_method: api.joined_method,
                joined_timestamp: api.joined_timestamp,
                delegation_enabled_date: Some(Timestamp::from_millis(since)),
            },
        ))
    });
    let (administrators, next_token) = page(
        administrators,
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(ListDelegatedAdministratorsResponse {
        delegated_administrators: Some(administrators),
        next_token,
    })
}

pub(crate) async fn list_delegated_services(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListDelegatedServicesForAccountRequest,
) -> Result<ListDelegatedServicesForAccountResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    org.account(&input.account_id)?;
    let services = org
        .delegated
        .get(&input.account_id)
        .ok_or_else(not_registered)?
        .iter()
        .map(|(principal, since)| {
            (
                principal,
                DelegatedService {
                    service_principal: Some(principal.clone()),
                    delegation_enabled_date: Some(Timestamp::from_millis(*since)),
                },
            )
        });
    let (services, next_token) = page(services, input.next_token.as_deref(), input.max_results)?;
    Ok(ListDelegatedServicesForAccountResponse {
        delegated_services: Some(services),
        next_token,
    })
}

/// Roots, OUs, accounts, the organization's own policies and its resource policy carry tags.
fn check_taggable(org: &Org, id: &str) -> Result<(), ServiceError> {
    let resource_policy = org
        .resource_policy
        .as_ref()
        .is_some_and(|policy| policy.id == id);
    if org.target(id).is_some() || org.policies.contains_key(id) || resource_policy {
        Ok(())
    } else if id.len() == 12 && id.bytes().all(|byte| byte.is_ascii_digit()) {
        Err(account_not_found())
    } else {
        Err(target_not_found())
    }
}

fn resource_policy_to_api(org: &Org, record: &ResourcePolicyRecord) -> ResourcePolicy {
    ResourcePolicy {
        resource_policy_summary: Some(ResourcePolicySummary {
            id: Some(record.id.clone()),
            arn: Some(format!(
                "arn:aws:organizations::{}:resourcepolicy/{}/{}",
                org.management_account, org.id, record.id
            )),
        }),
        content: Some(record.content.clone()),
    }
}

fn resource_policy_not_found() -> ServiceError {
    errors::resource_policy_not_found_exception(
        "We can't find a resource policy request with the parameter that you specified.",
    )
}

/// Keys starting `aws:` belong to AWS.
fn check_system_keys<'a>(mut keys: impl Iterator<Item = &'a str>) -> Result<(), ServiceError> {
    if keys.any(|key| key.starts_with("aws:")) {
        return Err(errors::invalid_input_exception(
            "You specified a tag key that is a system tag.",
        ));
    }
    Ok(())
}

fn too_many_tags() -> ServiceError {
    errors::constraint_violation_exception(
        "You have exceeded the number of tags allowed on this resource.",
    )
}

fn not_registered() -> ServiceError {
    errors::account_not_registered_exception(
        "The specified account is not a delegated administrator for this AWS service.",
    )
}
