//! Invitations: `InviteAccountToOrganization` and the handshake it opens, which the invited
//! account accepts (joining the organization) or declines, and the management account may
//! cancel. Invitations are by account id.

use std::collections::BTreeSet;

use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    AcceptHandshakeRequest, AcceptHandshakeResponse, ActionType, CancelHandshakeRequest,
    CancelHandshakeResponse, DeclineHandshakeRequest, DeclineHandshakeResponse,
    DescribeHandshakeRequest, DescribeHandshakeResponse, Handshake, HandshakeFilter,
    HandshakePartyType, InviteAccountToOrganizationRequest, InviteAccountToOrganizationResponse,
    ListHandshakesForAccountRequest, ListHandshakesForAccountResponse,
    ListHandshakesForOrganizationRequest, ListHandshakesForOrganizationResponse,
};

use crate::OrganizationsState;
use crate::admin::{checked_tags, tag_map};
use crate::db::{Access, Edit};
use crate::ids;
use crate::organization::placeholder_email;
use crate::paging::page;
use crate::records::{Account, HandshakeRecord, Org};

/// "The invitation expires after 15 days."
const INVITATION_LIFETIME_MILLIS: i64 = 15 * 24 * 3600 * 1000;

pub(crate) async fn invite(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: InviteAccountToOrganizationRequest,
) -> Result<InviteAccountToOrganizationResponse, ServiceError> {
    if input.target.r#type != HandshakePartyType::Account {
        return Err(errors::invalid_input_exception(
            "Palisade invites accounts by account id: the target's Type must be ACCOUNT.",
        ));
    }
    let target = input.target.id.expose().clone();
    if AccountId::parse(&target).is_none() {
        return Err(errors::invalid_input_exception(
            "You specified an invalid value for the target account id.",
        ));
    }
    let tags = tag_map(checked_tags(input.tags.as_deref().unwrap_or_default())?);
    let notes = input.notes.as_ref().map(|notes| notes.expose().clone());
    let id = ids::handshake()?;
    let in_another = !state.is_free(&target).await?;
    state
        .edit(ctx, Access::Manage, |edit| {
            if in_another || edit.org.accounts.contains_key(&target) {
                return Err(already_in_an_organization());
            }
            let open = edit.org.handshakes.values().any(|handshake| {
                handshake.target == target && handshake.state_at(edit.now) == "OPEN"
            });
            if open {
                return Err(errors::duplicate_handshake_exception(
                    "A handshake with the same action and target already exists.",
                ));
            }
            let record = HandshakeRecord {
                target: target.clone(),
                notes: notes.clone(),
                tags: tags.clone(),
                requested_at: edit.now,
                expires_at: edit.now + INVITATION_LIFETIME_MILLIS,
                state: "OPEN".to_owned(),
            };
            let answer = edit.org.handshake_to_api(&id, &record, edit.now);
            edit.org.handshakes.insert(id.clone(), record);
            edit.invited.push((target.clone(), id.clone()));
            Ok(InviteAccountToOrganizationResponse {
                handshake: Some(answer),
            })
        })
        .await
}

pub(crate) async fn accept(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: AcceptHandshakeRequest,
) -> Result<AcceptHandshakeResponse, ServiceError> {
    let caller = ctx.account().as_str().to_owned();
    let org_id = invitation(state, &caller, &input.handshake_id).await?;
    // A member of the inviting organization learns where its handshake stands instead.
    if state
        .membership(&caller)
        .await?
        .is_some_and(|member_of| member_of != org_id)
    {
        return Err(already_in_an_organization());
    }
    let handshake = state
        .edit_organization(&org_id, |edit| {
            let answer = transition(edit, &input.handshake_id, "ACCEPTED")?;
            let tags = edit
                .org
                .handshakes
                .get(&input.handshake_id)
                .map(|handshake| handshake.tags.clone())
                .unwrap_or_default();
            let parent = edit.org.root.id.clone();
            edit.org.accounts.insert(
                caller.clone(),
                Account {
                    name: caller.clone(),
                    email: placeholder_email(&caller),
                    parent,
                    joined_method: "INVITED".to_owned(),
                    joined_at: edit.now,
                    closed: false,
                },
            );
            edit.org.attach_defaults(&caller);
            if !tags.is_empty() {
                edit.org.tags.insert(caller.clone(), tags);
            }
            edit.joined.push(caller.clone());
            Ok(answer)
        })
        .await?;
    Ok(AcceptHandshakeResponse {
        handshake: Some(handshake),
    })
}

pub(crate) async fn decline(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DeclineHandshakeRequest,
) -> Result<DeclineHandshakeResponse, ServiceError> {
    let caller = ctx.account().as_str();
    let org_id = invitation(state, caller, &input.handshake_id).await?;
    let handshake = state
        .edit_organization(&org_id, |edit| {
            transition(edit, &input.handshake_id, "DECLINED")
        })
        .await?;
    Ok(DeclineHandshakeResponse {
        handshake: Some(handshake),
    })
}

pub(crate) async fn cancel(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CancelHandshakeRequest,
) -> Result<CancelHandshakeResponse, ServiceError> {
    let handshake = state
        .edit(ctx, Access::Manage, |edit| {
            transition(edit, &input.handshake_id, "CANCELED")
        })
        .await?;
    Ok(CancelHandshakeResponse {
        handshake: Some(handshake),
    })
}

/// `DescribeHandshake`, for the organization's management account or the invited account.
pub(crate) async fn describe(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribeHandshakeRequest,
) -> Result<DescribeHandshakeResponse, ServiceError> {
    let caller = ctx.account().as_str();
    let now = state.now();
    if let Some(loaded) = state.organization_of(caller).await? {
        let org = loaded.org;
        if let Some(record) = org.handshakes.get(&input.handshake_id)
            && org.management_account == caller
        {
            return Ok(DescribeHandshakeResponse {
                handshake: Some(org.handshake_to_api(&input.handshake_id, record, now)),
            });
        }
    }
    let org_id = invitation(state, caller, &input.handshake_id).await?;
    let org = state
        .organization(&org_id)
        .await?
        .ok_or_else(not_found)?
        .org;
    let record = org
        .handshakes
        .get(&input.handshake_id)
        .ok_or_else(not_found)?;
    Ok(DescribeHandshakeResponse {
        handshake: Some(org.handshake_to_api(&input.handshake_id, record, now)),
    })
}

pub(crate) async fn list_for_organization(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListHandshakesForOrganizationRequest,
) -> Result<ListHandshakesForOrganizationResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let now = state.now();
    let handshakes = if invitations_wanted(input.filter.as_ref()) {
        handshakes_of(&org, now, |_| true)
    } else {
        Vec::new()
    };
    let (handshakes, next_token) =
        page(handshakes, input.next_token.as_deref(), input.max_results)?;
    Ok(ListHandshakesForOrganizationResponse {
        handshakes: Some(handshakes),
        next_token,
    })
}

/// `ListHandshakesForAccount`: the invitations the caller's account received.
pub(crate) async fn list_for_account(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListHandshakesForAccountRequest,
) -> Result<ListHandshakesForAccountResponse, ServiceError> {
    let caller = ctx.account().as_str();
    let now = state.now();
    let mut handshakes = Vec::new();
    if invitations_wanted(input.filter.as_ref()) {
        let org_ids: BTreeSet<String> = state
            .invitations(caller)
            .await?
            .into_iter()
            .map(|(_, org_id)| org_id)
            .collect();
        let mut orgs = Vec::new();
        for org_id in org_ids {
            // An organization deleted since it invited the account leaves nothing to list.
            if let Some(loaded) = state.organization(&org_id).await? {
                orgs.push(loaded.org);
            }
        }
        for org in &orgs {
            handshakes.extend(handshakes_of(org, now, |record| record.target == caller));
        }
        handshakes.sort_by(|(a, _), (b, _)| a.cmp(b));
    }
    let (handshakes, next_token) =
        page(handshakes, input.next_token.as_deref(), input.max_results)?;
    Ok(ListHandshakesForAccountResponse {
        handshakes: Some(handshakes),
        next_token,
    })
}

/// Moves the handshake `id` from `OPEN` to `target`, and answers it as it then is.
fn transition(edit: &mut Edit, id: &str, target: &str) -> Result<Handshake, ServiceError> {
    let now = edit.now;
    let record = edit.org.handshakes.get_mut(id).ok_or_else(not_found)?;
    let current = record.state_at(now);
    if current == target {
        return Err(errors::handshake_already_in_state_exception(
            "The specified handshake is already in the requested state, for example, accepting \
             a handshake that was already accepted.",
        ));
    }
    if current != "OPEN" {
        return Err(errors::invalid_handshake_transition_exception(
            "You can't perform the operation on the handshake in its current state. For \
             example, you can't cancel a handshake that was already accepted or accept a \
             handshake that was already declined.",
        ));
    }
    target.clone_into(&mut record.state);
    let record = record.clone();
    Ok(edit.org.handshake_to_api(id, &record, now))
}

/// The organization that invited `account` by the handshake `id`.
async fn invitation(
    state: &OrganizationsState,
    account: &str,
    id: &str,
) -> Result<String, ServiceError> {
    state.inviter(account, id).await?.ok_or_else(not_found)
}

/// Every handshake is an invitation: a filter for another action lists none.
fn invitations_wanted(filter: Option<&HandshakeFilter>) -> bool {
    filter
        .and_then(|filter| filter.action_type.as_ref())
        .is_none_or(|action| *action == ActionType::Invite)
}

fn handshakes_of(
    org: &Org,
    now: i64,
    wanted: impl Fn(&HandshakeRecord) -> bool,
) -> Vec<(String, Handshake)> {
    org.handshakes
        .iter()
        .filter(|(_, record)| wanted(record))
        .map(|(id, record)| (id.clone(), org.handshake_to_api(id, record, now)))
        .collect()
}

fn already_in_an_organization() -> ServiceError {
    errors::handshake_constraint_violation_exception(
        "The handshake request is invalid because the invited account is already a member of \
         an organization.",
    )
}

fn not_found() -> ServiceError {
    errors::handshake_not_found_exception(
        "We can't find a handshake with the HandshakeId that you specified.",
    )
}
