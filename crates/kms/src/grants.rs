//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and RevokeGrant.
//!
//! Grants are recorded and listed here; like key policies, what they allow is for the server's
//! authorizer to enforce, with the answers `authorization` gives it.

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_store::Transaction;

use crate::KmsState;
use crate::crypto::check_dry_run;
use crate::db::{GRANTS, Tenant, plain};
use crate::ids::check_not_pending_deletion;
use crate::material::{hex, random_bytes};
use crate::paging;
use crate::records::{GrantRecord, KeyRecord};
use crate::specs::{Spec, Usage};

pub(crate) async fn create(
    state: &KmsState,
    ctx: &RequestContext,
    input: CreateGrantRequest,
) -> Result<CreateGrantResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    check_not_pending_deletion(&tenant, &key)?;
    check_operations(&tenant, &key, &input.operations)?;
    let operations: Vec<String> = input
        .operations
        .iter()
        .map(|op| op.as_str().to_owned())
        .collect();
    let constraints = input.constraints.unwrap_or_default();
    check_dry_run(input.dry_run)?;

    let existing: Vec<(String, GrantRecord)> = state
        .scan_under(GRANTS, &tenant, &format!("{}/", key.id))
        .await?;
    // A retried CreateGrant with the same name and parameters answers the grant it created.
    if let Some((_, same)) = existing.iter().find(|(_, grant)| {
        input.name.is_some()
            && grant.name == input.name
            && grant.grantee == input.grantee_principal
            && grant.retiring == input.retiring_principal
            && grant.operations == operations
            && grant.context_subset == constraints.encryption_context_subset
            && grant.context_equals == constraints.encryption_context_equals
    }) {
        return Ok(CreateGrantResponse {
            grant_token: Some(same.token.clone()),
            grant_id: Some(same.grant_id.clone()),
        });
    }

    let grant = GrantRecord {
        key_id: key.id.clone(),
        grant_id: hex(random_bytes(32)?.expose()),
        token: hex(random_bytes(64)?.expose()),
        name: input.name,
        created: state.now(),
        grantee: input.grantee_principal,
        retiring: input.retiring_principal,
        operations,
        context_subset: constraints.encryption_context_subset,
        context_equals: constraints.encryption_context_equals,
    };
    let store_key = tenant.store_key(&grant_name(&grant));
    let txn = Transaction::new().expect_absent(GRANTS, &store_key).put(
        GRANTS,
        &store_key,
        plain(&grant)?,
    );
    state
        .store
        .commit(txn)
        .await
        .map_err(crate::db::store_error)?;
    Ok(CreateGrantResponse {
        grant_token: Some(grant.token),
        grant_id: Some(grant.grant_id),
    })
}

pub(crate) async fn list(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListGrantsRequest,
) -> Result<ListGrantsResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    let grants: Vec<(String, GrantRecord)> = state
        .scan_under(GRANTS, &tenant, &format!("{}/", key.id))
        .await?;
    let (grants, next_marker) = page(
        &tenant,
        grants,
        input.marker.as_deref(),
        input.limit,
        |grant| {
            input
                .grant_id
                .as_ref()
                .is_none_or(|id| *id == grant.grant_id)
                && input
                    .grantee_principal
                    .as_ref()
                    .is_none_or(|grantee| *grantee == grant.grantee)
        },
    )?;
    Ok(ListGrantsResponse {
        grants: Some(grants),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

pub(crate) async fn list_retirable(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListRetirableGrantsRequest,
) -> Result<ListGrantsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let grants: Vec<(String, GrantRecord)> = state.scan_tenant(GRANTS, &tenant).await?;
    let (grants, next_marker) = page(
        &tenant,
        grants,
        input.marker.as_deref(),
        input.limit,
        |grant| grant.retiring.as_deref() == Some(input.retiring_principal.as_str()),
    )?;
    Ok(ListGrantsResponse {
        grants: Some(grants),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

pub(crate) async fn retire(
    state: &KmsState,
    ctx: &RequestContext,
    input: RetireGrantRequest,
) -> Result<(), ServiceError> {
    let tenant = retiring_tenant(ctx, input.key_id.as_deref());
    let grant = find_grant_to_retire(
        state,
        &tenant,
        input.grant_token.as_deref(),
        input.key_id.as_deref(),
        input.grant_id.as_deref(),
    )
    .await?;
    check_dry_run(input.dry_run)?;
    delete(state, &tenant, &grant).await
}

/// Where a `RetireGrant` request looks for its grant: the account of the key it names (another
/// account's key by its ARN), else the caller's. A grant token alone finds only the caller's
/// account's grants.
pub(crate) fn retiring_tenant(ctx: &RequestContext, key_id: Option<&str>) -> Tenant {
    key_id.map_or_else(|| Tenant::of(ctx), |key_id| Tenant::owning(ctx, key_id))
}

/// The grant a `RetireGrant` request names: by its token, or by its key and id.
pub(crate) async fn find_grant_to_retire(
    state: &KmsState,
    tenant: &Tenant,
    token: Option<&str>,
    key_id: Option<&str>,
    grant_id: Option<&str>,
) -> Result<GrantRecord, ServiceError> {
    match (token, key_id, grant_id) {
        (Some(token), _, _) => {
            let grants: Vec<(String, GrantRecord)> = state.scan_tenant(GRANTS, tenant).await?;
            let found = grants
                .into_iter()
                .map(|(_, grant)| grant)
                .find(|grant| grant.token == token)
                .ok_or_else(|| errors::invalid_grant_token_exception("Invalid grant token."))?;
            if grant_id.is_some_and(|id| id != found.grant_id) {
                return Err(errors::invalid_grant_id_exception(
                    "The grant ID does not match the grant token.",
                ));
            }
            Ok(found)
        }
        (None, Some(key_id), Some(grant_id)) => find_grant(state, tenant, key_id, grant_id).await,
        _ => Err(ServiceError::validation(
            "Either GrantToken, or both KeyId and GrantId, must be specified.",
        )),
    }
}

pub(crate) async fn revoke(
    state: &KmsState,
    ctx: &RequestContext,
    input: RevokeGrantRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let grant = find_grant(state, &tenant, &input.key_id, &input.grant_id).await?;
    check_dry_run(input.dry_run)?;
    delete(state, &tenant, &grant).await
}

/// The store name of a grant: under its key, so a key's grants list together.
pub(crate) fn grant_name(grant: &GrantRecord) -> String {
    format!("{}/{}", grant.key_id, grant.grant_id)
}

async fn find_grant(
    state: &KmsState,
    tenant: &Tenant,
    key_id: &str,
    grant_id: &str,
) -> Result<GrantRecord, ServiceError> {
    let key = state.resolve_key_without_alias(tenant, key_id).await?.value;
    state
        .get::<GrantRecord>(GRANTS, &tenant.store_key(&format!("{}/{grant_id}", key.id)))
        .await?
        .map(|grant| grant.value)
        .ok_or_else(|| errors::not_found_exception(format!("Grant ID {grant_id} not found")))
}

async fn delete(
    state: &KmsState,
    tenant: &Tenant,
    grant: &GrantRecord,
) -> Result<(), ServiceError> {
    let txn = Transaction::new().delete(GRANTS, &tenant.store_key(&grant_name(grant)));
    state
        .store
        .commit(txn)
        .await
        .map_err(crate::db::store_error)
}

/// Refuses operations the key cannot perform, as AWS does.
fn check_operations(
    tenant: &Tenant,
    key: &KeyRecord,
    operations: &[GrantOperation],
) -> Result<(), ServiceError> {
    use GrantOperation as G;
    let invalid: Vec<&str> = operations
        .iter()
        .filter(|op| {
            let for_any_key = matches!(op, G::CreateGrant | G::RetireGrant | G::DescribeKey);
            let for_this_key = match (key.kind.usage, key.kind.spec) {
                (Usage::EncryptDecrypt, Spec::SymmetricDefault) => matches!(
                    op,
                    G::Encrypt
                        | G::Decrypt
                        | G::ReEncryptFrom
                        | G::ReEncryptTo
                        | G::GenerateDataKey
                        | G::GenerateDataKeyWithoutPlaintext
                        | G::GenerateDataKeyPair
                        | G::GenerateDataKeyPairWithoutPlaintext
                ),
                (Usage::EncryptDecrypt, _) => matches!(
                    op,
                    G::Encrypt | G::Decrypt | G::ReEncryptFrom | G::ReEncryptTo | G::GetPublicKey
                ),
                (Usage::SignVerify, _) => matches!(op, G::Sign | G::Verify | G::GetPublicKey),
                (Usage::GenerateVerifyMac, _) => matches!(op, G::GenerateMac | G::VerifyMac),
                (Usage::KeyAgreement, _) => matches!(op, G::DeriveSharedSecret | G::GetPublicKey),
            };
            !(for_any_key || for_this_key)
        })
        .map(GrantOperation::as_str)
        .collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::validation(format!(
            "Grant operations {} are not permitted for {} (KeySpec {}, KeyUsage {}).",
            invalid.join(", "),
            tenant.key_arn(&key.id),
            key.kind.spec.as_str(),
            key.kind.usage.as_str()
        )))
    }
}

/// One page of the grants that pass `keep`, after the marker (a grant's store name), and the
/// marker of the next page if there is one.
fn page(
    tenant: &Tenant,
    grants: Vec<(String, GrantRecord)>,
    marker: Option<&str>,
    limit: Option<i32>,
    keep: impl Fn(&GrantRecord) -> bool,
) -> Result<paging::Page<GrantListEntry>, ServiceError> {
    let kept = grants.into_iter().filter(|(_, grant)| keep(grant));
    let (kept, next_marker) = paging::by_name(kept, marker, limit)?;
    let entries = kept
        .into_iter()
        .map(|(_, grant)| {
            let constraints = (grant.context_subset.is_some() || grant.context_equals.is_some())
                .then_some(GrantConstraints {
                    encryption_context_subset: grant.context_subset,
                    encryption_context_equals: grant.context_equals,
                });
            GrantListEntry {
                key_id: Some(tenant.key_arn(&grant.key_id)),
                grant_id: Some(grant.grant_id),
                name: grant.name,
                creation_date: Some(Timestamp::from_millis(grant.created)),
                grantee_principal: Some(grant.grantee),
                retiring_principal: grant.retiring,
                issuing_account: Some(format!("arn:aws:iam::{}:root", tenant.account)),
                operations: Some(
                    grant
                        .operations
                        .iter()
                        .map(|op| GrantOperation::from(op.as_str()))
                        .collect(),
                ),
                constraints,
            }
        })
        .collect();
    Ok((entries, next_marker))
}
