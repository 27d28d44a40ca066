//! Inline policies: documents embedded in one user, group or role, named within it. IAM caps
//! the total size of an entity's inline policies, not each one.

use palisade_core::{AccountId, ServiceError};
use palisade_model_iam::errors;
use palisade_store::Transaction;

use crate::IamState;
use crate::paging::{Page, PageRequest};
use crate::policy_document::{DocumentKind, check_inline_total, validate};
use crate::records::{InlinePolicy, PolicyHolder, write_entity};

/// `Put{User,Group,Role}Policy`: adds the policy or replaces the one with the same name.
pub(crate) async fn put<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    entity: &str,
    name: &str,
    document: &str,
) -> Result<(), ServiceError> {
    validate(document, DocumentKind::Inline)?;
    iam.mutate(move || async move {
        let mut stored = iam.entity::<H>(account, entity).await?;
        stored.value.inline_mut().insert(
            name.to_lowercase(),
            InlinePolicy {
                name: name.to_owned(),
                document: document.to_owned(),
            },
        );
        check_inline_total(
            stored.value.inline().values().map(|p| p.document.as_str()),
            H::INLINE_QUOTA,
            &format!("{} {}", H::ENTITY.word(), stored.value.name()),
        )?;
        Ok((write_entity(Transaction::new(), account, &stored)?, ()))
    })
    .await
}

/// `Get{User,Group,Role}Policy`: the entity's name as stored, and the policy.
pub(crate) async fn get<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    entity: &str,
    name: &str,
) -> Result<(String, InlinePolicy), ServiceError> {
    let stored = iam.entity::<H>(account, entity).await?;
    let policy = stored
        .value
        .inline()
        .get(&name.to_lowercase())
        .cloned()
        .ok_or_else(|| not_found::<H>(name))?;
    Ok((stored.value.name().to_owned(), policy))
}

/// `Delete{User,Group,Role}Policy`.
pub(crate) async fn delete<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    entity: &str,
    name: &str,
) -> Result<(), ServiceError> {
    iam.mutate(move || async move {
        let mut stored = iam.entity::<H>(account, entity).await?;
        if stored
            .value
            .inline_mut()
            .remove(&name.to_lowercase())
            .is_none()
        {
            return Err(not_found::<H>(name));
        }
        Ok((write_entity(Transaction::new(), account, &stored)?, ()))
    })
    .await
}

/// `List{User,Group,Role}Policies`: the names, in order.
pub(crate) async fn list<H: PolicyHolder>(
    iam: &IamState,
    account: &AccountId,
    entity: &str,
    page: &PageRequest,
) -> Result<Page<String>, ServiceError> {
    let stored = iam.entity::<H>(account, entity).await?;
    let names = stored
        .value
        .inline()
        .iter()
        .map(|(key, policy)| (key.clone(), policy.name.clone()));
    Ok(page.take(names))
}

fn not_found<H: PolicyHolder>(name: &str) -> ServiceError {
    errors::no_such_entity_exception(format!(
        "The {} policy with name {name} cannot be found.",
        H::ENTITY.word()
    ))
}
