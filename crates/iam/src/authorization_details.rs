//! `GetAccountAuthorizationDetails`: every user, group, role and managed policy of the
//! account with the policies that apply to them, documents included (URL-encoded), paged as
//! one listing in that order.

use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_iam::types::{
    AttachedPolicy, EntityType, GetAccountAuthorizationDetailsRequest,
    GetAccountAuthorizationDetailsResponse, GroupDetail, ManagedPolicyDetail, PolicyDetail,
    RoleDetail, UserDetail,
};

use crate::IamState;
use crate::attachments::attached_key;
use crate::aws_policies;
use crate::db::{self, IAM, Kind, store_error};
use crate::managed_policies::{ManagedPolicy, aws_version_to_api, name_of, to_api, version_to_api};
use crate::paging::PageRequest;
use crate::policy_document::url_encode;
use crate::records::{
    GroupRecord, InlinePolicies, PolicyRecord, PolicyUseRecord, RoleRecord, UserRecord, boundary,
    tag_list, timestamp,
};

/// One item of the listing.
enum Detail {
    User(Box<UserDetail>),
    Group(Box<GroupDetail>),
    Role(Box<RoleDetail>),
    Policy(Box<ManagedPolicyDetail>),
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetAccountAuthorizationDetailsRequest,
) -> Result<GetAccountAuthorizationDetailsResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let filter = input.filter.unwrap_or_default();
    let wanted = |kind: EntityType| filter.is_empty() || filter.contains(&kind);

    // Keys sort users, then groups, then roles, then policies, each by name.
    let mut items: Vec<(String, Detail)> = Vec::new();
    if wanted(EntityType::User) {
        for (_, user) in iam
            .scan_all::<UserRecord>(IAM, &db::prefix(account, Kind::User))
            .await
            .map_err(store_error)?
        {
            let key = format!("1{}", user.value.name.to_lowercase());
            items.push((
                key,
                Detail::User(Box::new(user_detail(account, &user.value))),
            ));
        }
    }
    if wanted(EntityType::Group) {
        for (_, group) in iam
            .scan_all::<GroupRecord>(IAM, &db::prefix(account, Kind::Group))
            .await
            .map_err(store_error)?
        {
            let key = format!("2{}", group.value.name.to_lowercase());
            items.push((
                key,
                Detail::Group(Box::new(group_detail(account, &group.value))),
            ));
        }
    }
    if wanted(EntityType::Role) {
        for (_, role) in iam
            .scan_all::<RoleRecord>(IAM, &db::prefix(account, Kind::Role))
            .await
            .map_err(store_error)?
        {
            let key = format!("3{}", role.value.name.to_lowercase());
            items.push((
                key,
                Detail::Role(Box::new(role_detail(account, &role.value))),
            ));
        }
    }
    let local = wanted(EntityType::LocalManagedPolicy);
    let aws = wanted(EntityType::AWSManagedPolicy);
    if local || aws {
        let uses = iam.policy_uses(account).await?;
        let mut policies: Vec<ManagedPolicy> = Vec::new();
        if local {
            let records = iam
                .scan_all::<PolicyRecord>(IAM, &db::prefix(account, Kind::Policy))
                .await
                .map_err(store_error)?;
            policies.extend(
                records
                    .into_iter()
                    .map(|(_, stored)| ManagedPolicy::Local(stored)),
            );
        }
        if aws {
            // AWS's policies are listed where the account uses them.
            policies.extend(
                aws_policies::all()
                    .iter()
                    .filter(|policy| uses.contains_key(&policy.arn))
                    .map(ManagedPolicy::Aws),
            );
        }
        for policy in policies {
            let owner = if matches!(policy, ManagedPolicy::Aws(_)) {
                'a'
            } else {
                'l'
            };
            let key = format!("4{}\u{1}{owner}", policy.name().to_lowercase());
            let detail = policy_detail(account, &policy, uses.get(&policy.arn(account)));
            items.push((key, Detail::Policy(Box::new(detail))));
        }
    }

    let page = page.take_sorted(items, |(key, _)| key.clone());
    let mut answer = GetAccountAuthorizationDetailsResponse {
        user_detail_list: Some(Vec::new()),
        group_detail_list: Some(Vec::new()),
        role_detail_list: Some(Vec::new()),
        policies: Some(Vec::new()),
        is_truncated: page.is_truncated(),
        marker: page.marker,
    };
    for (_, item) in page.items {
        match item {
            Detail::User(user) => answer.user_detail_list.get_or_insert_default().push(*user),
            Detail::Group(group) => answer
                .group_detail_list
                .get_or_insert_default()
                .push(*group),
            Detail::Role(role) => answer.role_detail_list.get_or_insert_default().push(*role),
            Detail::Policy(policy) => answer.policies.get_or_insert_default().push(*policy),
        }
    }
    Ok(answer)
}

fn inline_details(inline: &InlinePolicies) -> Option<Vec<PolicyDetail>> {
    Some(
        inline
            .values()
            .map(|policy| PolicyDetail {
                policy_name: Some(policy.name.clone()),
                policy_document: Some(url_encode(&policy.document)),
            })
            .collect(),
    )
}

fn attached_details(arns: &[String]) -> Option<Vec<AttachedPolicy>> {
    let mut attached: Vec<AttachedPolicy> = arns
        .iter()
        .map(|arn| AttachedPolicy {
            policy_name: Some(name_of(arn).to_owned()),
            policy_arn: Some(arn.clone()),
        })
        .collect();
    attached.sort_by_key(attached_key);
    Some(attached)
}

fn user_detail(account: &AccountId, user: &UserRecord) -> UserDetail {
    UserDetail {
        path: Some(user.path.clone()),
        user_name: Some(user.name.clone()),
        user_id: Some(user.id.clone()),
        arn: Some(user.arn(account)),
        create_date: Some(timestamp(user.created)),
        user_policy_list: inline_details(&user.inline),
        group_list: Some(user.groups.clone()),
        attached_managed_policies: attached_details(&user.attached),
        permissions_boundary: boundary(user.boundary.as_ref()),
        tags: tag_list(&user.tags),
    }
}

fn group_detail(account: &AccountId, group: &GroupRecord) -> GroupDetail {
    GroupDetail {
        path: Some(group.path.clone()),
        group_name: Some(group.name.clone()),
        group_id: Some(group.id.clone()),
        arn: Some(group.arn(account)),
        create_date: Some(timestamp(group.created)),
        group_policy_list: inline_details(&group.inline),
        attached_managed_policies: attached_details(&group.attached),
    }
}

fn role_detail(account: &AccountId, role: &RoleRecord) -> RoleDetail {
    let api = role.to_api(account);
    RoleDetail {
        path: Some(api.path),
        role_name: Some(api.role_name),
        role_id: Some(api.role_id),
        arn: Some(api.arn),
        create_date: Some(api.create_date),
        assume_role_policy_document: api.assume_role_policy_document,
        instance_profile_list: Some(Vec::new()),
        role_policy_list: inline_details(&role.inline),
        attached_managed_policies: attached_details(&role.attached),
        permissions_boundary: api.permissions_boundary,
        tags: api.tags,
        role_last_used: api.role_last_used,
    }
}

fn policy_detail(
    account: &AccountId,
    policy: &ManagedPolicy,
    uses: Option<&PolicyUseRecord>,
) -> ManagedPolicyDetail {
    let api = to_api(policy, account, uses, true);
    let versions = match policy {
        ManagedPolicy::Aws(policy) => vec![aws_version_to_api(policy, true)],
        ManagedPolicy::Local(stored) => stored
            .value
            .versions
            .iter()
            .map(|version| version_to_api(version, &stored.value.default_version, true))
            .collect(),
    };
    ManagedPolicyDetail {
        policy_name: api.policy_name,
        policy_id: api.policy_id,
        arn: api.arn,
        path: api.path,
        default_version_id: api.default_version_id,
        attachment_count: api.attachment_count,
        permissions_boundary_usage_count: api.permissions_boundary_usage_count,
        is_attachable: api.is_attachable,
        description: api.description,
        create_date: api.create_date,
        update_date: api.update_date,
        policy_version_list: Some(versions),
    }
}
