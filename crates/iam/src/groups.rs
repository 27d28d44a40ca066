//! IAM groups and their members. Membership is kept on both sides (the group lists its users,
//! each user its groups), written together.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    AddUserToGroupRequest, CreateGroupRequest, CreateGroupResponse, DeleteGroupRequest,
    GetGroupRequest, GetGroupResponse, ListGroupsForUserRequest, ListGroupsForUserResponse,
    ListGroupsRequest, ListGroupsResponse, RemoveUserFromGroupRequest, UpdateGroupRequest,
};
use palisade_store::Transaction;

use crate::IamState;
use crate::attachments::rename_uses;
use crate::db::{self, IAM, Kind, plain};
use crate::ids::{IdKind, unique_id};
use crate::paging::PageRequest;
use crate::records::{
    GroupRecord, PolicyHolder, UserRecord, delete_conflict, same_name, write_entity,
};

/// The most groups one user may be in (AWS's quota).
const MAX_GROUPS_PER_USER: usize = 10;

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateGroupRequest,
) -> Result<CreateGroupResponse, ServiceError> {
    let account = ctx.account();
    let record = GroupRecord {
        name: input.group_name,
        id: unique_id(IdKind::Group)?,
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: iam.now(),
        inline: Default::default(),
        attached: Vec::new(),
        members: Vec::new(),
    };
    let record = &record;
    iam.mutate(move || async move {
        let key = db::key(account, Kind::Group, &record.name);
        if iam.get::<GroupRecord>(IAM, &key).await?.is_some() {
            return Err(errors::entity_already_exists_exception(format!(
                "Group with name {} already exists.",
                record.name
            )));
        }
        let txn = Transaction::new()
            .expect_absent(IAM, &key)
            .put(IAM, &key, plain(record)?);
        Ok((txn, ()))
    })
    .await?;
    Ok(CreateGroupResponse {
        group: record.to_api(account),
    })
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetGroupRequest,
) -> Result<GetGroupResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let group = iam
        .entity::<GroupRecord>(account, &input.group_name)
        .await?
        .value;
    let members = page.take_sorted(group.members.iter().cloned(), |name| name.to_lowercase());
    let mut users = Vec::with_capacity(members.items.len());
    for name in &members.items {
        // A member deleted meanwhile is left out rather than failing the listing.
        if let Some(user) = iam
            .get::<UserRecord>(IAM, &db::key(account, Kind::User, name))
            .await?
        {
            users.push(user.value.to_api_summary(account));
        }
    }
    Ok(GetGroupResponse {
        group: group.to_api(account),
        users,
        is_truncated: members.is_truncated(),
        marker: members.marker,
    })
}

pub(crate) async fn update(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateGroupRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let old = iam
            .entity::<GroupRecord>(account, &input.group_name)
            .await?;
        let mut new = old.value.clone();
        if let Some(path) = &input.new_path {
            new.path = path.clone();
        }
        if let Some(name) = &input.new_group_name {
            new.name = name.clone();
        }
        let old_key = db::key(account, Kind::Group, &old.value.name);
        let new_key = db::key(account, Kind::Group, &new.name);
        let mut txn = Transaction::new().expect_version(IAM, &old_key, old.version);
        if new_key != old_key {
            if iam.get::<GroupRecord>(IAM, &new_key).await?.is_some() {
                return Err(errors::entity_already_exists_exception(format!(
                    "Group with name {} already exists.",
                    new.name
                )));
            }
            txn = txn.delete(IAM, &old_key).expect_absent(IAM, &new_key);
        }
        txn = txn.put(IAM, &new_key, plain(&new)?);
        for member in &new.members {
            let mut user = iam.entity::<UserRecord>(account, member).await?;
            for group in &mut user.value.groups {
                if same_name(group, &old.value.name) {
                    group.clone_from(&new.name);
                }
            }
            txn = write_entity(txn, account, &user)?;
        }
        txn = rename_uses(
            iam,
            txn,
            account,
            &new.attached,
            &old.value.entity_ref(),
            &new.entity_ref(),
        )
        .await?;
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteGroupRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let name = &input.group_name;
    iam.mutate(move || async move {
        let group = iam.entity::<GroupRecord>(account, name).await?;
        if !group.value.members.is_empty() {
            return Err(delete_conflict("remove users from group"));
        }
        if !group.value.inline.is_empty() {
            return Err(delete_conflict("delete policies"));
        }
        if !group.value.attached.is_empty() {
            return Err(delete_conflict("detach all policies"));
        }
        let key = db::key(account, Kind::Group, &group.value.name);
        let txn = Transaction::new()
            .expect_version(IAM, &key, group.version)
            .delete(IAM, &key);
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn list(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListGroupsRequest,
) -> Result<ListGroupsResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let page = iam
        .entities::<GroupRecord>(account, input.path_prefix.as_deref(), &page)
        .await?
        .map(|group| group.to_api(account));
    Ok(ListGroupsResponse {
        is_truncated: page.is_truncated(),
        groups: page.items,
        marker: page.marker,
    })
}

pub(crate) async fn add_user(
    iam: &IamState,
    ctx: &RequestContext,
    input: AddUserToGroupRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut group = iam
            .entity::<GroupRecord>(account, &input.group_name)
            .await?;
        let mut user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        if user
            .value
            .groups
            .iter()
            .any(|g| same_name(g, &group.value.name))
        {
            return Ok((Transaction::new(), ()));
        }
        if user.value.groups.len() >= MAX_GROUPS_PER_USER {
            return Err(errors::limit_exceeded_exception(format!(
                "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
            )));
        }
        user.value.groups.push(group.value.name.clone());
        group.value.members.push(user.value.name.clone());
        let txn = write_entity(Transaction::new(), account, &user)?;
        Ok((write_entity(txn, account, &group)?, ()))
    })
    .await
}

pub(crate) async fn remove_user(
    iam: &IamState,
    ctx: &RequestContext,
    input: RemoveUserFromGroupRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut group = iam
            .entity::<GroupRecord>(account, &input.group_name)
            .await?;
        let mut user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        let before = user.value.groups.len();
        user.value
            .groups
            .retain(|g| !same_name(g, &group.value.name));
        if user.value.groups.len() == before {
            return Err(errors::no_such_entity_exception(format!(
                "User {} is not in group {}.",
                user.value.name, group.value.name
            )));
        }
        group
            .value
            .members
            .retain(|m| !same_name(m, &user.value.name));
        let txn = write_entity(Transaction::new(), account, &user)?;
        Ok((write_entity(txn, account, &group)?, ()))
    })
    .await
}

pub(crate) async fn list_for_user(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListGroupsForUserRequest,
) -> Result<ListGroupsForUserResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let user = iam
        .entity::<UserRecord>(account, &input.user_name)
        .await?
        .value;
    let names = page.take_sorted(user.groups, |name| name.to_lowercase());
    let mut groups = Vec::with_capacity(names.items.len());
    for name in &names.items {
        if let Some(group) = iam
            .get::<GroupRecord>(IAM, &db::key(account, Kind::Group, name))
            .await?
        {
            groups.push(group.value.to_api(account));
        }
    }
    Ok(ListGroupsForUserResponse {
        groups,
        is_truncated: names.is_truncated(),
        marker: names.marker,
    })
}
