//! Service and resource control policies: enabling their types in the root, the policies
//! themselves (validated by palisade-policy), and attaching them to the root, OUs and accounts.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    AttachPolicyRequest, CreatePolicyRequest, CreatePolicyResponse, DeletePolicyRequest,
    DescribeEffectivePolicyRequest, DescribeEffectivePolicyResponse, DescribePolicyRequest,
    DescribePolicyResponse, DetachPolicyRequest, DisablePolicyTypeRequest,
    DisablePolicyTypeResponse, EnablePolicyTypeRequest, EnablePolicyTypeResponse,
    ListPoliciesForTargetRequest, ListPoliciesForTargetResponse, ListPoliciesRequest,
    ListPoliciesResponse, ListTargetsForPolicyRequest, ListTargetsForPolicyResponse,
    PolicyTargetSummary, PolicyType, TargetType, UpdatePolicyRequest, UpdatePolicyResponse,
};
use palisade_policy::{ParseOptions, Policy, PolicyKind, limits};

use crate::OrganizationsState;
use crate::admin::{checked_tags, tag_map};
use crate::db::Access;
use crate::ids;
use crate::paging::page;
use crate::records::{Org, PolicyRecord, RCP, SCP, Target, default_policy, target_not_found};

/// "You can attach up to 5 SCPs (or RCPs) to each root, OU and account."
const MAX_ATTACHED: usize = 5;

pub(crate) async fn enable_type(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: EnablePolicyTypeRequest,
) -> Result<EnablePolicyTypeResponse, ServiceError> {
    let kind = supported_kind(&input.policy_type)?;
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            check_root(org, &input.root_id)?;
            require_all_features(org)?;
            if org.root.policy_types.contains(kind) {
                return Err(errors::policy_type_already_enabled_exception(
                    "The specified policy type is already enabled.",
                ));
            }
            org.root.policy_types.insert(kind.to_owned());
            let targets: Vec<String> = [org.root.id.clone()]
                .into_iter()
                .chain(org.units.keys().cloned())
                .chain(org.accounts.keys().cloned())
                .collect();
            if let Some(default) = default_policy(kind) {
                for target in targets {
                    org.attachments
                        .entry(target)
                        .or_default()
                        .insert(default.id.to_owned());
                }
            }
            Ok(EnablePolicyTypeResponse {
                root: Some(org.root_to_api()),
            })
        })
        .await
}

pub(crate) async fn disable_type(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DisablePolicyTypeRequest,
) -> Result<DisablePolicyTypeResponse, ServiceError> {
    let kind = input.policy_type.as_str().to_owned();
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            check_root(org, &input.root_id)?;
            if !org.root.policy_types.remove(&kind) {
                return Err(type_not_enabled());
            }
            let of_kind: Vec<String> = org
                .attachments
                .values()
                .flatten()
                .filter(|id| org.policy(id).is_ok_and(|policy| policy.kind == kind))
                .cloned()
                .collect();
            for attached in org.attachments.values_mut() {
                attached.retain(|id| !of_kind.contains(id));
            }
            org.attachments.retain(|_, attached| !attached.is_empty());
            Ok(DisablePolicyTypeResponse {
                root: Some(org.root_to_api()),
            })
        })
        .await
}

pub(crate) async fn create(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CreatePolicyRequest,
) -> Result<CreatePolicyResponse, ServiceError> {
    let kind = supported_kind(&input.r#type)?;
    validate_content(kind, &input.content)?;
    let tags = checked_tags(input.tags.as_deref().unwrap_or_default())?;
    let id = ids::policy()?;
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            require_all_features(org)?;
            check_unique_name(org, kind, &input.name)?;
            org.policies.insert(
                id.clone(),
                PolicyRecord {
                    name: input.name.clone(),
                    description: input.description.clone(),
                    kind: kind.to_owned(),
                    content: input.content.clone(),
                },
            );
            if !tags.is_empty() {
                org.tags.insert(id.clone(), tag_map(tags));
            }
            let policy = org.policy(&id)?;
            Ok(CreatePolicyResponse {
                policy: Some(org.policy_to_api(&policy)),
            })
        })
        .await
}

pub(crate) async fn update(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: UpdatePolicyRequest,
) -> Result<UpdatePolicyResponse, ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            let mut record = customer_policy(org, &input.policy_id)?.clone();
            if let Some(name) = &input.name {
                if *name != record.name {
                    check_unique_name(org, &record.kind, name)?;
                }
                record.name.clone_from(name);
            }
            if let Some(description) = &input.description {
                record.description.clone_from(description);
            }
            if let Some(content) = &input.content {
                validate_content(&record.kind, content)?;
                record.content.clone_from(content);
            }
            org.policies.insert(input.policy_id.clone(), record);
            let policy = org.policy(&input.policy_id)?;
            Ok(UpdatePolicyResponse {
                policy: Some(org.policy_to_api(&policy)),
            })
        })
        .await
}

pub(crate) async fn delete(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DeletePolicyRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            customer_policy(org, &input.policy_id)?;
            if org
                .attachments
                .values()
                .any(|attached| attached.contains(&input.policy_id))
            {
                return Err(errors::policy_in_use_exception(
                    "The policy is attached to one or more entities. You must detach it from \
                     all roots, OUs, and accounts before performing this operation.",
                ));
            }
            org.policies.remove(&input.policy_id);
            org.tags.remove(&input.policy_id);
            Ok(())
        })
        .await
}

pub(crate) async fn describe(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribePolicyRequest,
) -> Result<DescribePolicyResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let policy = org.policy(&input.policy_id)?;
    Ok(DescribePolicyResponse {
        policy: Some(org.policy_to_api(&policy)),
    })
}

pub(crate) async fn list(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListPoliciesRequest,
) -> Result<ListPoliciesResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let policies = org
        .policies_of_kind(input.filter.as_str())
        .into_iter()
        .map(|policy| (policy.id, org.policy_summary(&policy)));
    let (policies, next_token) = page(policies, input.next_token.as_deref(), input.max_results)?;
    Ok(ListPoliciesResponse {
        policies: Some(policies),
        next_token,
    })
}

pub(crate) async fn attach(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: AttachPolicyRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            let kind = org.policy(&input.policy_id)?.kind.to_owned();
            org.target(&input.target_id).ok_or_else(target_not_found)?;
            if !org.root.policy_types.contains(&kind) {
                return Err(type_not_enabled());
            }
            let attached_of_kind = attached_of_kind(org, &input.target_id, &kind);
            if attached_of_kind.contains(&input.policy_id) {
                return Err(errors::duplicate_policy_attachment_exception(
                    "The selected policy is already attached to the specified target.",
                ));
            }
            if attached_of_kind.len() >= MAX_ATTACHED {
                return Err(errors::constraint_violation_exception(
                    "You attempted to exceed the number of policies of a certain type that can \
                     be attached to an entity at one time.",
                ));
            }
            org.attachments
                .entry(input.target_id.clone())
                .or_default()
                .insert(input.policy_id.clone());
            Ok(())
        })
        .await
}

pub(crate) async fn detach(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DetachPolicyRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            let kind = org.policy(&input.policy_id)?.kind.to_owned();
            org.target(&input.target_id).ok_or_else(target_not_found)?;
            let attached_of_kind = attached_of_kind(org, &input.target_id, &kind);
            if !attached_of_kind.contains(&input.policy_id) {
                return Err(errors::policy_not_attached_exception(
                    "The policy isn't attached to the specified target in the specified root.",
                ));
            }
            // RCPFullAWSAccess can never be detached, and every target keeps at least one SCP.
            if kind == RCP
                && default_policy(RCP).is_some_and(|default| default.id == input.policy_id)
            {
                return Err(errors::invalid_input_exception(
                    "You can't detach this AWS Managed Policy.",
                ));
            }
            if kind == SCP && attached_of_kind.len() < 2 {
                return Err(errors::constraint_violation_exception(
                    "You attempted to detach a policy from an entity that would cause the \
                     entity to have fewer than the minimum number of policies of a certain \
                     type required.",
                ));
            }
            if let Some(attached) = org.attachments.get_mut(&input.target_id) {
                attached.remove(&input.policy_id);
            }
            Ok(())
        })
        .await
}

pub(crate) async fn list_for_target(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListPoliciesForTargetRequest,
) -> Result<ListPoliciesForTargetResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    org.target(&input.target_id).ok_or_else(target_not_found)?;
    let policies = org
        .attached(&input.target_id)
        .filter_map(|id| org.policy(id).ok())
        .filter(|policy| policy.kind == input.filter.as_str())
        .map(|policy| (policy.id, org.policy_summary(&policy)));
    let (policies, next_token) = page(policies, input.next_token.as_deref(), input.max_results)?;
    Ok(ListPoliciesForTargetResponse {
        policies: Some(policies),
        next_token,
    })
}

pub(crate) async fn list_targets(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListTargetsForPolicyRequest,
) -> Result<ListTargetsForPolicyResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    org.policy(&input.policy_id)?;
    let targets = org
        .attachments
        .iter()
        .filter(|(_, attached)| attached.contains(&input.policy_id))
        .filter_map(|(target, _)| Some((target, target_summary(&org, target)?)));
    let (targets, next_token) = page(targets, input.next_token.as_deref(), input.max_results)?;
    Ok(ListTargetsForPolicyResponse {
        targets: Some(targets),
        next_token,
    })
}

/// `DescribeEffectivePolicy`. Effective policies are those of the management policy types (tag,
/// backup, AI opt-out, ...), which Palisade does not offer, so no target ever has one. A member
/// account may ask about itself; other targets need the management account or a delegated
/// administrator.
pub(crate) async fn describe_effective(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribeEffectivePolicyRequest,
) -> Result<DescribeEffectivePolicyResponse, ServiceError> {
    let caller = ctx.account().as_str();
    let target = input.target_id.as_deref().unwrap_or(caller);
    let access = if target == caller {
        Access::Member
    } else {
        Access::Read
    };
    let org = state.read(ctx, access).await?;
    if org.target(target).is_none() {
        return Err(target_not_found());
    }
    Err(errors::effective_policy_not_found_exception(
        "We can't find an effective policy of the specified type for the target.",
    ))
}

/// The policy kind Palisade validates and enforces for `kind`: SCPs and RCPs.
fn supported_kind(kind: &PolicyType) -> Result<&'static str, ServiceError> {
    match kind {
        PolicyType::ServiceControlPolicy => Ok(SCP),
        PolicyType::ResourceControlPolicy => Ok(RCP),
        other => Err(
            errors::policy_type_not_available_for_organization_exception(format!(
                "The policy type {other} is not available in Palisade."
            )),
        ),
    }
}

/// Checks `content` as a policy of `kind`. The size quota counts every character, whitespace
/// included, as the API does (only the console minifies).
fn validate_content(kind: &str, content: &str) -> Result<(), ServiceError> {
    if content.chars().count() > limits::ORGANIZATIONS {
        return Err(errors::constraint_violation_exception(
            "You attempted to create a policy that is larger than the maximum size.",
        ));
    }
    let kind = if kind == RCP {
        PolicyKind::ResourceControl
    } else {
        PolicyKind::ServiceControl
    };
    Policy::parse_with(content, &ParseOptions::new(kind))
        .map(|_| ())
        .map_err(|_| {
            errors::malformed_policy_document_exception(
                "The provided policy document doesn't meet the requirements of the specified \
                 policy type.",
            )
        })
}

fn check_root(org: &Org, root_id: &str) -> Result<(), ServiceError> {
    if org.root.id == root_id {
        Ok(())
    } else {
        Err(errors::root_not_found_exception(
            "We can't find a root with the RootId that you specified.",
        ))
    }
}

fn require_all_features(org: &Org) -> Result<(), ServiceError> {
    if org.all_features() {
        Ok(())
    } else {
        Err(errors::constraint_violation_exception(
            "You attempted to perform an operation that requires the organization to be \
             configured to support all features.",
        ))
    }
}

fn type_not_enabled() -> ServiceError {
    errors::policy_type_not_enabled_exception(
        "This operation can be performed only for enabled policy types.",
    )
}

fn check_unique_name(org: &Org, kind: &str, name: &str) -> Result<(), ServiceError> {
    if org
        .policies_of_kind(kind)
        .iter()
        .any(|policy| policy.name == name)
    {
        return Err(errors::duplicate_policy_exception(
            "A policy with the same name already exists.",
        ));
    }
    Ok(())
}

/// One of the organization's own policies: AWS managed ones cannot change.
fn customer_policy<'a>(org: &'a Org, id: &str) -> Result<&'a PolicyRecord, ServiceError> {
    let policy = org.policy(id)?;
    if policy.aws_managed {
        return Err(errors::invalid_input_exception(
            "You specified a policy that is managed by AWS and can't be modified.",
        ));
    }
    org.policies.get(id).ok_or_else(|| {
        errors::policy_not_found_exception(
            "We can't find a policy with the PolicyId that you specified.",
        )
    })
}

fn attached_of_kind(org: &Org, target: &str, kind: &str) -> Vec<String> {
    org.attached(target)
        .filter(|id| org.policy(id).is_ok_and(|policy| policy.kind == kind))
        .map(str::to_owned)
        .collect()
}

fn target_summary(org: &Org, id: &str) -> Option<PolicyTargetSummary> {
    let (arn, name, kind) = match org.target(id)? {
        Target::Root => (org.root_arn(), "Root".to_owned(), TargetType::Root),
        Target::Unit => (
            org.unit_arn(id),
            org.units.get(id)?.name.clone(),
            TargetType::OrganizationalUnit,
        ),
        Target::Account => (
            org.account_arn(id),
            org.accounts.get(id)?.name.clone(),
            TargetType::Account,
        ),
    };
    Some(PolicyTargetSummary {
        target_id: Some(id.to_owned()),
        arn: Some(arn),
        name: Some(name),
        r#type: Some(kind),
    })
}
