//! Accounts: `CreateAccount` (with its access role), the create-account requests, describing
//! and listing accounts, moving them between parents, and removing them or leaving.

use palisade_core::value::Timestamp;
use palisade_core::{AccountId, Principal, RequestContext, ServiceError};
use palisade_iam::IamState;
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{AttachRolePolicyRequest, CreateRoleRequest};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    CloseAccountRequest, CreateAccountRequest, CreateAccountResponse, CreateAccountState,
    CreateAccountStatus, DescribeAccountRequest, DescribeAccountResponse,
    DescribeCreateAccountStatusRequest, DescribeCreateAccountStatusResponse,
    ListAccountsForParentRequest, ListAccountsForParentResponse, ListAccountsRequest,
    ListAccountsResponse, ListCreateAccountStatusRequest, ListCreateAccountStatusResponse,
    MoveAccountRequest, RemoveAccountFromOrganizationRequest,
};

use crate::OrganizationsState;
use crate::admin::{checked_tags, tag_map};
use crate::db::{Access, concurrent_modification};
use crate::ids;
use crate::paging::page;
use crate::records::{Account, CreateRequest, Org, account_not_found, parent_not_found};

/// The role `CreateAccount` creates when the request names none.
const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";
/// The AWS managed policy the access role gets.
const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// How many fresh account ids to try before giving up: a collision is already unlikely.
const ACCOUNT_ID_ATTEMPTS: usize = 8;

/// `CreateAccount`. AWS creates the account asynchronously and answers `IN_PROGRESS`; here the
/// account exists by the time the answer leaves, so `DescribeCreateAccountStatus` already shows
/// the outcome: `SUCCEEDED` with the account id, or `FAILED` with the reason.
pub(crate) async fn create(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CreateAccountRequest,
) -> Result<CreateAccountResponse, ServiceError> {
    let org = state.read(ctx, Access::Manage).await?;
    let email = input.email.expose().clone();
    let name = input.account_name.expose().clone();
    let tags = checked_tags(input.tags.as_deref().unwrap_or_default())?;
    let role_name = input.role_name.as_deref().unwrap_or(DEFAULT_ROLE);
    let account_id = fresh_account_id(state).await?;
    // The account's role is made before the account joins, so that a member account always
    // has it. A refusal is the request's failure reason, as AWS reports it.
    let prepared = if email_taken(&org, &email) {
        Err("EMAIL_ALREADY_EXISTS")
    } else if let Some(iam) = &state.iam {
        create_access_role(iam, ctx, &account_id, &org.management_account, role_name)
            .await
            .map_err(|_| "INTERNAL_FAILURE")
    } else {
        Ok(())
    };
    let request_id = ids::create_request()?;
    let requested_at = state
        .edit(ctx, Access::Manage, |edit| {
            let failure = match prepared {
                Err(reason) => Some(reason),
                Ok(()) if email_taken(&edit.org, &email) => Some("EMAIL_ALREADY_EXISTS"),
                Ok(()) => None,
            };
            if failure.is_none() {
                let parent = edit.org.root.id.clone();
                edit.org.accounts.insert(
                    account_id.clone(),
                    Account {
                        name: name.clone(),
                        email: email.clone(),
                        parent,
                        joined_method: "CREATED".to_owned(),
                        joined_at: edit.now,
                        closed: false,
                    },
                );
                edit.org.attach_defaults(&account_id);
                if !tags.is_empty() {
                    edit.org.tags.insert(account_id.clone(), tag_map(tags));
                }
                edit.joined.push(account_id.clone());
            }
            edit.org.create_requests.insert(
                request_id.clone(),
                CreateRequest {
                    account_name: name.clone(),
                    requested_at: edit.now,
                    completed_at: edit.now,
                    account_id: failure.is_none().then(|| account_id.clone()),
                    failure_reason: failure.map(str::to_owned),
                },
            );
            Ok(edit.now)
        })
        .await?;
    Ok(CreateAccountResponse {
        create_account_status: Some(CreateAccountStatus {
            id: Some(request_id),
            account_name: Some(name.into()),
            state: Some(CreateAccountState::InProgress),
            requested_timestamp: Some(Timestamp::from_millis(requested_at)),
            ..Default::default()
        }),
    })
}

pub(crate) async fn describe_create_status(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribeCreateAccountStatusRequest,
) -> Result<DescribeCreateAccountStatusResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let request = org
        .create_requests
        .get(&input.create_account_request_id)
        .ok_or_else(|| {
            errors::create_account_status_not_found_exception(
                "We can't find a create account request with the CreateAccountRequestId that \
                 you specified.",
            )
        })?;
    Ok(DescribeCreateAccountStatusResponse {
        create_account_status: Some(request.to_api(&input.create_account_request_id)),
    })
}

pub(crate) async fn list_create_statuses(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListCreateAccountStatusRequest,
) -> Result<ListCreateAccountStatusResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let statuses = org
        .create_requests
        .iter()
        .map(|(id, request)| (id, request.to_api(id)))
        .filter(|(_, status)| {
            input.states.as_ref().is_none_or(|states| {
                status
                    .state
                    .as_ref()
                    .is_some_and(|state| states.contains(state))
            })
        });
    let (statuses, next_token) = page(statuses, input.next_token.as_deref(), input.max_results)?;
    Ok(ListCreateAccountStatusResponse {
        create_account_statuses: Some(statuses),
        next_token,
    })
}

pub(crate) async fn describe(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribeAccountRequest,
) -> Result<DescribeAccountResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let account = org.account(&input.account_id)?;
    Ok(DescribeAccountResponse {
        account: Some(org.account_to_api(&input.account_id, account)),
    })
}

pub(crate) async fn list(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListAccountsRequest,
) -> Result<ListAccountsResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let accounts = org
        .accounts
        .iter()
        .map(|(id, account)| (id, org.account_to_api(id, account)));
    let (accounts, next_token) = page(accounts, input.next_token.as_deref(), input.max_results)?;
    Ok(ListAccountsResponse {
        accounts: Some(accounts),
        next_token,
    })
}

pub(crate) async fn list_for_parent(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListAccountsForParentRequest,
) -> Result<ListAccountsForParentResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    if !org.is_parent(&input.parent_id) {
        return Err(parent_not_found());
    }
    let accounts = org
        .accounts
        .iter()
        .filter(|(_, account)| account.parent == input.parent_id)
        .map(|(id, account)| (id, org.account_to_api(id, account)));
    let (accounts, next_token) = page(accounts, input.next_token.as_deref(), input.max_results)?;
    Ok(ListAccountsForParentResponse {
        accounts: Some(accounts),
        next_token,
    })
}

pub(crate) async fn move_account(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: MoveAccountRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            if !org.is_parent(&input.source_parent_id) {
                return Err(errors::source_parent_not_found_exception(
                    "We can't find a source root or OU with the ParentId that you specified.",
                ));
            }
            if !org.is_parent(&input.destination_parent_id) {
                return Err(errors::destination_parent_not_found_exception(
                    "We can't find the destination container (a root or OU) with the ParentId \
                     that you specified.",
                ));
            }
            let current = &org.account(&input.account_id)?.parent;
            if *current == input.destination_parent_id {
                return Err(errors::duplicate_account_exception(
                    "That account is already present in the specified destination.",
                ));
            }
            if *current != input.source_parent_id {
                return Err(errors::source_parent_not_found_exception(
                    "We can't find a source root or OU with the ParentId that you specified.",
                ));
            }
            if let Some(account) = org.accounts.get_mut(&input.account_id) {
                account.parent.clone_from(&input.destination_parent_id);
            }
            Ok(())
        })
        .await
}

/// `CloseAccount`. AWS takes the account through `PENDING_CLOSURE` to `SUSPENDED`; here it is
/// suspended at once. It stays in the organization, as in AWS until the closure completes.
pub(crate) async fn close(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CloseAccountRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            if input.account_id == edit.org.management_account {
                return Err(errors::constraint_violation_exception(
                    "You attempted to close the management account.",
                ));
            }
            let account = edit
                .org
                .accounts
                .get_mut(&input.account_id)
                .ok_or_else(account_not_found)?;
            if account.closed {
                return Err(errors::account_already_closed_exception(
                    "You attempted to close an account that is already closed.",
                ));
            }
            account.closed = true;
            Ok(())
        })
        .await
}

pub(crate) async fn remove(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: RemoveAccountFromOrganizationRequest,
) -> Result<(), ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            edit.org.account(&input.account_id)?;
            remove_member(edit, &input.account_id)
        })
        .await
}

pub(crate) async fn leave(
    state: &OrganizationsState,
    ctx: &RequestContext,
) -> Result<(), ServiceError> {
    let caller = ctx.account().as_str().to_owned();
    state
        .edit(ctx, Access::Member, |edit| remove_member(edit, &caller))
        .await
}

fn remove_member(edit: &mut crate::db::Edit, account: &str) -> Result<(), ServiceError> {
    if edit.org.management_account == account {
        return Err(errors::master_cannot_leave_organization_exception(
            "You can't remove a management account from an organization. If you want the \
             management account to become a member account in another organization, you must \
             first delete the current organization of the management account.",
        ));
    }
    edit.org.accounts.remove(account);
    edit.org.forget(account);
    edit.left.push(account.to_owned());
    Ok(())
}

fn email_taken(org: &Org, email: &str) -> bool {
    org.member_emails()
        .any(|taken| taken.eq_ignore_ascii_case(email))
}

/// A new account id that no organization has.
async fn fresh_account_id(state: &OrganizationsState) -> Result<String, ServiceError> {
    for _ in 0..ACCOUNT_ID_ATTEMPTS {
        let id = ids::account()?;
        if state.is_free(&id).await? {
            return Ok(id);
        }
    }
    Err(concurrent_modification())
}

/// Creates `role_name` in the new account, trusting the management account and with
/// `AdministratorAccess`, acting as the new account's root user.
async fn create_access_role(
    iam: &IamState,
    ctx: &RequestContext,
    account: &str,
    management: &str,
    role_name: &str,
) -> Result<(), ServiceError> {
    let account_id = AccountId::parse(account)
        .ok_or_else(|| ServiceError::internal("A generated account id was malformed."))?;
    let root = RequestContext {
        principal: Principal::root(account_id, String::new()),
        ..ctx.clone()
    };
    let trust = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":\
         {{\"AWS\":\"arn:aws:iam::{management}:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}"
    );
    iam.create_role(
        &root,
        CreateRoleRequest {
            role_name: role_name.to_owned(),
            assume_role_policy_document: trust,
            ..Default::default()
        },
    )
    .await?;
    iam.attach_role_policy(
        &root,
        AttachRolePolicyRequest {
            role_name: role_name.to_owned(),
            policy_arn: ADMINISTRATOR_ACCESS.to_owned(),
        },
    )
    .await
}
