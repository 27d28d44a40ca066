//! IAM users: create, read, rename, tag, list and delete. A user cannot be deleted while it
//! has anything AWS makes you remove first (login profile, access keys, MFA devices, inline or
//! attached policies, group memberships).
//!
//! Calls that take an optional `UserName` act on the calling user when it is left out; see
//! [`subject`].

use palisade_core::service::CommonError;
use palisade_core::{AccountId, PrincipalKind, RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    CreateUserRequest, CreateUserResponse, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUserTagsRequest, ListUserTagsResponse, ListUsersRequest, ListUsersResponse, TagUserRequest,
    UntagUserRequest, UpdateUserRequest, User,
};
use palisade_store::Transaction;

use crate::attachments::{NewBoundary, release_boundary, rename_uses};
use crate::db::{self, IAM, Kind, plain};
use crate::ids::{IdKind, unique_id};
use crate::login_profiles::LoginRecord;
use crate::paging::PageRequest;
use crate::records::{
    GroupRecord, PolicyHolder, UserRecord, delete_conflict, same_name, timestamp, write_entity,
};
use crate::{IamState, access_keys, mfa, tags};

/// Whose user-scoped resources (access keys, MFA devices, login profile) a call acts on.
pub(crate) enum Subject {
    /// The user with this name.
    User(String),
    /// The account's root user.
    Root,
}

/// The user a call names, or else the caller: AWS lets users act on themselves without
/// naming themselves, and role sessions must name a user.
pub(crate) fn subject(
    ctx: &RequestContext,
    user_name: Option<String>,
) -> Result<Subject, ServiceError> {
    match (user_name, &ctx.principal.kind) {
        (Some(name), _) => Ok(Subject::User(name)),
        (None, PrincipalKind::User { name }) => Ok(Subject::User(name.clone())),
        (None, PrincipalKind::Root) => Ok(Subject::Root),
        (None, _) => Err(ServiceError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// The error for changing the root user's own credentials, which Palisade's configuration
/// holds rather than IAM.
pub(crate) fn root_credentials_unsupported() -> ServiceError {
    ServiceError::common(
        CommonError::NotImplemented,
        "The root user's credentials come from Palisade's configuration; name an IAM user.",
    )
}

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateUserRequest,
) -> Result<CreateUserResponse, ServiceError> {
    let account = ctx.account();
    let record = UserRecord {
        name: input.user_name,
        id: unique_id(IdKind::User)?,
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: iam.now(),
        tags: tags::initial(input.tags)?,
        boundary: None,
        inline: Default::default(),
        attached: Vec::new(),
        groups: Vec::new(),
        access_keys: Vec::new(),
        mfa_devices: Vec::new(),
        password_last_used: None,
    };
    let (record, boundary) = (&record, input.permissions_boundary.as_deref());
    let user = iam
        .mutate(move || async move {
            let key = db::key(account, Kind::User, &record.name);
            if iam.get::<UserRecord>(IAM, &key).await?.is_some() {
                return Err(errors::entity_already_exists_exception(format!(
                    "User with name {} already exists.",
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
    Ok(CreateUserResponse {
        user: Some(user.to_api(account)),
    })
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetUserRequest,
) -> Result<GetUserResponse, ServiceError> {
    let account = ctx.account();
    let user = match subject(ctx, input.user_name)? {
        Subject::User(name) => iam
            .entity::<UserRecord>(account, &name)
            .await?
            .value
            .to_api(account),
        Subject::Root => root_user(iam, account),
    };
    Ok(GetUserResponse { user })
}

/// The root user as `GetUser` reports it: AWS gives it no name or path.
fn root_user(iam: &IamState, account: &AccountId) -> User {
    User {
        path: String::new(),
        user_name: String::new(),
        user_id: account.as_str().to_owned(),
        arn: format!("arn:aws:iam::{account}:root"),
        create_date: timestamp(iam.now()),
        password_last_used: None,
        permissions_boundary: None,
        tags: None,
    }
}

pub(crate) async fn update(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateUserRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let old = iam.entity::<UserRecord>(account, &input.user_name).await?;
        let mut new = old.value.clone();
        if let Some(path) = &input.new_path {
            new.path = path.clone();
        }
        if let Some(name) = &input.new_user_name {
            new.name = name.clone();
        }
        let old_key = db::key(account, Kind::User, &old.value.name);
        let new_key = db::key(account, Kind::User, &new.name);
        let mut txn = Transaction::new().expect_version(IAM, &old_key, old.version);
        if new_key != old_key {
            if iam.get::<UserRecord>(IAM, &new_key).await?.is_some() {
                return Err(errors::entity_already_exists_exception(format!(
                    "User with name {} already exists.",
                    new.name
                )));
            }
            txn = txn.delete(IAM, &old_key).expect_absent(IAM, &new_key);
        }
        txn = txn.put(IAM, &new_key, plain(&new)?);
        for group_name in &new.groups {
            let mut group = iam.entity::<GroupRecord>(account, group_name).await?;
            for member in &mut group.value.members {
                if same_name(member, &old.value.name) {
                    member.clone_from(&new.name);
                }
            }
            txn = write_entity(txn, account, &group)?;
        }
        let arns: Vec<String> = new.attached.iter().chain(&new.boundary).cloned().collect();
        txn = rename_uses(
            iam,
            txn,
            account,
            &arns,
            &old.value.entity_ref(),
            &new.entity_ref(),
        )
        .await?;
        txn = access_keys::refresh_owner(iam, txn, account, &new).await?;
        txn = mfa::refresh_owner(iam, txn, account, &new).await?;
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteUserRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let name = &input.user_name;
    iam.mutate(move || async move {
        let user = iam.entity::<UserRecord>(account, name).await?;
        let record = &user.value;
        let login_key = db::key(account, Kind::Login, &record.id);
        if iam.get::<LoginRecord>(IAM, &login_key).await?.is_some() {
            return Err(delete_conflict("delete login profile"));
        }
        if !record.access_keys.is_empty() {
            return Err(delete_conflict("delete access keys"));
        }
        if !record.mfa_devices.is_empty() {
            return Err(delete_conflict("delete MFA device"));
        }
        if !record.inline.is_empty() {
            return Err(delete_conflict("delete policies"));
        }
        if !record.attached.is_empty() {
            return Err(delete_conflict("detach all policies"));
        }
        if !record.groups.is_empty() {
            return Err(delete_conflict("remove users from group"));
        }
        let key = db::key(account, Kind::User, &record.name);
        let txn = Transaction::new()
            .expect_absent(IAM, &login_key)
            .expect_version(IAM, &key, user.version)
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
    input: ListUsersRequest,
) -> Result<ListUsersResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let page = iam
        .entities::<UserRecord>(account, input.path_prefix.as_deref(), &page)
        .await?
        .map(|user| user.to_api_summary(account));
    Ok(ListUsersResponse {
        is_truncated: page.is_truncated(),
        users: page.items,
        marker: page.marker,
    })
}

pub(crate) async fn tag(
    iam: &IamState,
    ctx: &RequestContext,
    input: TagUserRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        tags::add(&mut user.value.tags, input.tags.clone())?;
        let txn = write_entity(Transaction::new(), account, &user)?;
        Ok((
            access_keys::refresh_owner(iam, txn, account, &user.value).await?,
            (),
        ))
    })
    .await
}

pub(crate) async fn untag(
    iam: &IamState,
    ctx: &RequestContext,
    input: UntagUserRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let input = &input;
    iam.mutate(move || async move {
        let mut user = iam.entity::<UserRecord>(account, &input.user_name).await?;
        tags::remove(&mut user.value.tags, &input.tag_keys);
        let txn = write_entity(Transaction::new(), account, &user)?;
        Ok((
            access_keys::refresh_owner(iam, txn, account, &user.value).await?,
            (),
        ))
    })
    .await
}

pub(crate) async fn list_tags(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListUserTagsRequest,
) -> Result<ListUserTagsResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let user = iam
        .entity::<UserRecord>(ctx.account(), &input.user_name)
        .await?;
    let page = tags::page(&user.value.tags, &page);
    Ok(ListUserTagsResponse {
        is_truncated: page.is_truncated(),
        tags: page.items,
        marker: page.marker,
    })
}
