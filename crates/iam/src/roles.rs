//! IAM roles: identities that STS sessions assume, each with a trust policy saying who may.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    CreateRoleRequest, CreateRoleResponse, DeleteRoleRequest, GetRoleRequest, GetRoleResponse,
    ListRoleTagsRequest, ListRoleTagsResponse, ListRolesRequest, ListRolesResponse, TagRoleRequest,
    UntagRoleRequest, UpdateAssumeRolePolicyRequest, UpdateRoleDescriptionRequest,
    UpdateRoleDescriptionResponse, UpdateRoleRequest, UpdateRoleResponse,
};
use palisade_store::Transaction;

use crate::attachments::{NewBoundary, release_boundary};
use crate::db::{self, IAM, Kind, plain};
use crate::ids::{IdKind, unique_id};
use crate::paging::PageRequest;
use crate::policy_document::{DocumentKind, validate};
use crate::records::{PolicyHolder, RoleRecord, delete_conflict, write_entity};
use crate::{IamState, tags};

/// A role's maximum session duration when none is given: one hour.
const DEFAULT_MAX_SESSION_DURATION: i32 = 3600;

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateRoleRequest,
) -> Result<CreateRoleResponse, ServiceError> {
    let account = ctx.account();
    validate(&input.assume_role_policy_document, DocumentKind::Trust)?;
    let record = RoleRecord {
        name: input.role_name,
        id: unique_id(IdKind::Role)?,
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: iam.now(),
        trust_policy: input.assume_role_policy_document,
        description: input.description,
        max_session_duration: input
            .max_session_duration
            .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
        tags: tags::initial(input.tags)?,
        boundary: None,
        inline: Default::default(),
        attached: Vec::new(),
        last_used: None,
    };
    let (record, boundary) = (&record, input.permissions_boundary.as_deref());
    let role = iam
        .mutate(move || async move {
            let key = db::key(account, Kind::Role, &record.name);
            if iam.get::<RoleRecord>(IAM, &key).await?.is_some() {
                return Err(errors::entity_already_exists_exception(format!(
                    "Role with name {} already exists.",
                    record.name
                )));
            }
            let mut record = record.clone();
            let mut txn = Transaction::new().expect_absent(IAM, &key);
            if let Some(arn) = boundary {
                let boundary = NewBoundary::load(iam, account, arn, &record.entity_ref()).await?;
                record.boundary = Some(boundary.arn.clone());
                txn = boundary.write(txn, account)?;
            }
            Ok((txn.put(IAM, &key, plain(&record)?), record))
        })
        .await?;
    let mut role = role.to_api(account);
    // CreateRole does not report last use.
    role.role_last_used = None;
    Ok(CreateRoleResponse { role })
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetRoleRequest,
) -> Result<GetRoleResponse, ServiceError> {
    let account = ctx.account();
    let role = iam.entity::<RoleRecord>(account, &input.role_name).await?;
    Ok(GetRoleResponse {
        role: role.value.to_api(account),
    })
}

/// Applies `change` to the role called `name`.
async fn change_role(
    iam: &IamState,
    ctx: &RequestContext,
    name: &str,
    change: impl Fn(&mut RoleRecord) + Send + Sync,
) -> Result<RoleRecord, ServiceError> {
    let account = ctx.account();
    let change = &change;
    iam.mutate(move || async move {
        let mut role = iam.entity::<RoleRecord>(account, name).await?;
        change(&mut role.value);
        Ok((
            write_entity(Transaction::new(), account, &role)?,
            role.value,
        ))
    })
    .await
}

pub(crate) async fn update(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateRoleRequest,
) -> Result<UpdateRoleResponse, ServiceError> {
    change_role(iam, ctx, &input.role_name, |role| {
        if let Some(description) = &input.description {
            role.description = Some(description.clone());
        }
        if let Some(duration) = input.max_session_duration {
            role.max_session_duration = duration;
        }
    })
    .await?;
    Ok(UpdateRoleResponse {})
}

pub(crate) async fn update_description(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateRoleDescriptionRequest,
) -> Result<UpdateRoleDescriptionResponse, ServiceError> {
    let role = change_role(iam, ctx, &input.role_name, |role| {
        role.description = Some(input.description.clone());
    })
    .await?;
    Ok(UpdateRoleDescriptionResponse {
        role: Some(role.to_api(ctx.account())),
    })
}

pub(crate) async fn update_trust_policy(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateAssumeRolePolicyRequest,
) -> Result<(), ServiceError> {
    validate(&input.policy_document, DocumentKind::Trust)?;
    change_role(iam, ctx, &input.role_name, |role| {
        role.trust_policy.clone_from(&input.policy_document);
    })
    .await?;
    Ok(())
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteRoleRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let name = &input.role_name;
    iam.mutate(move || async move {
        let role = iam.entity::<RoleRecord>(account, name).await?;
        let record = &role.value;
        if !record.inline.is_empty() {
            return Err(delete_conflict("delete policies"));
        }
        if !record.attached.is_empty() {
            return Err(delete_conflict("detach all policies"));
        }
        let key = db::key(account, Kind::Role, &record.name);
        let txn = Transaction::new()
            .expect_version(IAM, &key, role.version)
            .delete(IAM, &key);
        let txn = release_boundary(
            iam,
            txn,
            account,
            record.boundary.as_deref(),
            &record.entity_ref(),
        )
        .await?;
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn list(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListRolesRequest,
) -> Result<ListRolesResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let page = iam
        .entities::<RoleRecord>(account, input.path_prefix.as_deref(), &page)
        .await?
        .map(|role| role.to_api_summary(account));
    Ok(ListRolesResponse {
        is_truncated: page.is_truncated(),
        roles: page.items,
        marker: page.marker,
    })
}

pub(crate) async fn tag(
    iam: &IamState,
    ctx: &RequestContext,
    input: TagRoleRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut role = iam.entity::<RoleRecord>(account, &input.role_name).await?;
        tags::add(&mut role.value.tags, input.tags.clone())?;
        Ok((write_entity(Transaction::new(), account, &role)?, ()))
    })
    .await
}

pub(crate) async fn untag(
    iam: &IamState,
    ctx: &RequestContext,
    input: UntagRoleRequest,
) -> Result<(), ServiceError> {
    change_role(iam, ctx, &input.role_name, |role| {
        tags::remove(&mut role.tags, &input.tag_keys);
    })
    .await?;
    Ok(())
}

pub(crate) async fn list_tags(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListRoleTagsRequest,
) -> Result<ListRoleTagsResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let role = iam
        .entity::<RoleRecord>(ctx.account(), &input.role_name)
        .await?;
    let page = tags::page(&role.value.tags, &page);
    Ok(ListRoleTagsResponse {
        is_truncated: page.is_truncated(),
        tags: page.items,
        marker: page.marker,
    })
}
