//! Aliases: friendly names (`alias/<name>`) for keys, unique in an account and region.

use palisade_core::model::ErrorInfo;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_store::Transaction;

use crate::KmsState;
use crate::db::{ALIASES, Tenant, plain};
use crate::ids::check_not_pending_deletion;
use crate::managed::check_customer_managed;
use crate::paging;
use crate::records::{AliasRecord, KeyRecord};

const PREFIX: &str = "alias/";
/// AWS managed keys' aliases; customers may not create or change them.
const RESERVED_PREFIX: &str = "alias/aws/";

/// AWS answers a change to a reserved alias with this error, which the KMS model does not list.
const NOT_AUTHORIZED: ErrorInfo = ErrorInfo {
    code: "NotAuthorizedException",
    status: 400,
    sender_fault: true,
};

pub(crate) async fn create(
    state: &KmsState,
    ctx: &RequestContext,
    input: CreateAliasRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let target = target_key(state, ctx, &tenant, &input.alias_name, &input.target_key_id).await?;
    let now = state.now();
    let record = AliasRecord {
        target_key_id: target.id,
        created: now,
        updated: now,
    };
    let store_key = tenant.store_key(&input.alias_name);
    let txn = Transaction::new().expect_absent(ALIASES, &store_key).put(
        ALIASES,
        &store_key,
        plain(&record)?,
    );
    match state.store.commit(txn).await {
        Ok(()) => Ok(()),
        Err(palisade_store::StoreError::Conflict(_)) => {
            Err(errors::already_exists_exception(format!(
                "An alias with the name {} already exists",
                tenant.alias_arn(&input.alias_name)
            )))
        }
        Err(error) => Err(crate::db::store_error(error)),
    }
}

pub(crate) async fn update(
    state: &KmsState,
    ctx: &RequestContext,
    input: UpdateAliasRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let target = target_key(state, ctx, &tenant, &input.alias_name, &input.target_key_id).await?;
    let store_key = tenant.store_key(&input.alias_name);
    state
        .mutate(|| async {
            let alias = state
                .get::<AliasRecord>(ALIASES, &store_key)
                .await?
                .ok_or_else(|| alias_not_found(&tenant, &input.alias_name))?;
            let current = state
                .key_by_id(&tenant, &alias.value.target_key_id)
                .await?
                .value;
            // An alias keeps pointing at the same kind of key, so code that uses it keeps
            // working.
            if current.kind.usage != target.kind.usage {
                return Err(ServiceError::validation(format!(
                    "{} key usage is {}, which differs from the alias's current key usage {}.",
                    tenant.key_arn(&target.id),
                    target.kind.usage.as_str(),
                    current.kind.usage.as_str()
                )));
            }
            let record = AliasRecord {
                target_key_id: target.id.clone(),
                created: alias.value.created,
                updated: state.now(),
            };
            let txn = Transaction::new()
                .expect_version(ALIASES, &store_key, alias.version)
                .put(ALIASES, &store_key, plain(&record)?);
            Ok((txn, ()))
        })
        .await
}

pub(crate) async fn delete(
    state: &KmsState,
    ctx: &RequestContext,
    input: DeleteAliasRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    check_alias_name(&input.alias_name)?;
    let store_key = tenant.store_key(&input.alias_name);
    state
        .mutate(|| async {
            let alias = state
                .get::<AliasRecord>(ALIASES, &store_key)
                .await?
                .ok_or_else(|| alias_not_found(&tenant, &input.alias_name))?;
            let txn = Transaction::new()
                .expect_version(ALIASES, &store_key, alias.version)
                .delete(ALIASES, &store_key);
            Ok((txn, ()))
        })
        .await
}

pub(crate) async fn list(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListAliasesRequest,
) -> Result<ListAliasesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let target = match &input.key_id {
        Some(key_id) => Some(
            state
                .resolve_key_without_alias(&tenant, key_id)
                .await?
                .value
                .id,
        ),
        None => None,
    };
    let all: Vec<(String, AliasRecord)> = state.scan_tenant(ALIASES, &tenant).await?;
    let of_target = all.into_iter().filter(|(_, alias)| {
        target
            .as_deref()
            .is_none_or(|target| alias.target_key_id == target)
    });
    let (page, next_marker) = paging::by_name(of_target, input.marker.as_deref(), input.limit)?;
    Ok(ListAliasesResponse {
        aliases: Some(
            page.into_iter()
                .map(|(name, alias)| AliasListEntry {
                    alias_arn: Some(tenant.alias_arn(&name)),
                    alias_name: Some(name),
                    target_key_id: Some(alias.target_key_id),
                    creation_date: Some(Timestamp::from_millis(alias.created)),
                    last_updated_date: Some(Timestamp::from_millis(alias.updated)),
                })
                .collect(),
        ),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

/// The key an alias called `alias_name` may point at: one named by key id or ARN, and not
/// pending deletion.
async fn target_key(
    state: &KmsState,
    ctx: &RequestContext,
    tenant: &Tenant,
    alias_name: &str,
    target_key_id: &str,
) -> Result<KeyRecord, ServiceError> {
    check_alias_name(alias_name)?;
    let target = state
        .resolve_key_without_alias(tenant, target_key_id)
        .await?
        .value;
    check_customer_managed(ctx, tenant, &target, "kms:CreateAlias")?;
    check_not_pending_deletion(tenant, &target)?;
    Ok(target)
}

/// Checks what the model's pattern does not: the prefix, the reserved names, and the characters
/// an alias name may hold (the model's pattern also admits `:`, for alias ARNs elsewhere).
fn check_alias_name(name: &str) -> Result<(), ServiceError> {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return Err(ServiceError::validation(
            "Alias must start with the prefix \"alias/\". Please see \
             https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    };
    if name.starts_with(RESERVED_PREFIX) {
        return Err(ServiceError::modeled(
            &NOT_AUTHORIZED,
            format!("The alias {name} is reserved for AWS managed keys."),
        ));
    }
    let valid_chars = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
    if rest.is_empty() || !valid_chars {
        return Err(ServiceError::validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    Ok(())
}

fn alias_not_found(tenant: &Tenant, name: &str) -> ServiceError {
    errors::not_found_exception(format!("Alias {} is not found.", tenant.alias_arn(name)))
}
