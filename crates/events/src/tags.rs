//! Tags on rules and event buses, the resources EventBridge tags: `TagResource`,
//! `UntagResource`, `ListTagsForResource`, and the `Tags` of `CreateEventBus` and of `PutRule`
//! creating a rule. Kept in keyspace [`TAGS`] under the resource's ARN, and deleted with it.

use std::collections::BTreeMap;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;

use crate::EventsState;
use crate::buses::DEFAULT;
use crate::db::{RULES, TAGS, Tenant, plain};

type Tags = BTreeMap<String, String>;

/// A taggable resource a request names by ARN, in the caller's account and region.
enum Resource {
    Rule { bus: String, name: String },
    Bus { name: String },
}

impl Resource {
    fn of(tenant: &Tenant, arn: &str) -> Result<Self, ServiceError> {
        let prefix = format!("arn:aws:events:{}:{}:", tenant.region, tenant.account);
        let not_found =
            || errors::resource_not_found_exception(format!("Resource {arn} does not exist."));
        let resource = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
        if let Some(rule) = resource.strip_prefix("rule/") {
            return Ok(match rule.rsplit_once('/') {
                Some((bus, name)) => Resource::Rule {
                    bus: bus.to_owned(),
                    name: name.to_owned(),
                },
                None => Resource::Rule {
                    bus: DEFAULT.to_owned(),
                    name: rule.to_owned(),
                },
            });
        }
        let name = resource.strip_prefix("event-bus/").ok_or_else(not_found)?;
        Ok(Resource::Bus {
            name: name.to_owned(),
        })
    }

    /// Fails as AWS does when the resource does not exist; answers a transaction that holds
    /// only while it still does.
    async fn check(
        &self,
        state: &EventsState,
        tenant: &Tenant,
    ) -> Result<Transaction, ServiceError> {
        match self {
            Resource::Rule { bus, name } => {
                let rule = state.rule(tenant, bus, name).await?;
                Ok(Transaction::new().expect_version(
                    RULES,
                    &tenant.rule_key(bus, name),
                    rule.version,
                ))
            }
            Resource::Bus { name } => {
                state.require_bus(tenant, name).await?;
                Ok(Transaction::new())
            }
        }
    }
}

impl EventsState {
    async fn tags(&self, arn: &str) -> Result<Tags, ServiceError> {
        Ok(self
            .get::<Tags>(TAGS, arn)
            .await?
            .map(|stored| stored.value)
            .unwrap_or_default())
    }
}

/// Adds `tags` to what a transaction writing a new resource `arn` puts.
pub(crate) fn put_new(
    transaction: Transaction,
    arn: &str,
    tags: Option<&[Tag]>,
) -> Result<Transaction, ServiceError> {
    let tags: Tags = tags
        .into_iter()
        .flatten()
        .map(|tag| (tag.key.clone(), tag.value.clone()))
        .collect();
    if tags.is_empty() {
        return Ok(transaction.delete(TAGS, arn));
    }
    Ok(transaction.put(TAGS, arn, plain(&tags)?))
}

pub(crate) async fn tag(
    state: &EventsState,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, ServiceError> {
    change(state, ctx, &input.resource_arn, |tags| {
        tags.extend(
            input
                .tags
                .iter()
                .map(|tag| (tag.key.clone(), tag.value.clone())),
        );
    })
    .await?;
    Ok(TagResourceResponse {})
}

pub(crate) async fn untag(
    state: &EventsState,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, ServiceError> {
    change(state, ctx, &input.resource_arn, |tags| {
        for key in &input.tag_keys {
            tags.remove(key);
        }
    })
    .await?;
    Ok(UntagResourceResponse {})
}

/// Applies `edit` to the tags of the resource `arn`, while the resource still exists.
async fn change(
    state: &EventsState,
    ctx: &RequestContext,
    arn: &str,
    edit: impl Fn(&mut Tags),
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let resource = Resource::of(&tenant, arn)?;
    state
        .mutate(|| async {
            let transaction = resource.check(state, &tenant).await?;
            let mut tags = state.tags(arn).await?;
            edit(&mut tags);
            Ok((transaction.put(TAGS, arn, plain(&tags)?), ()))
        })
        .await
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    Resource::of(&tenant, &input.resource_arn)?
        .check(state, &tenant)
        .await?;
    let tags = state.tags(&input.resource_arn).await?;
    Ok(ListTagsForResourceResponse {
        tags: Some(
            tags.into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        ),
    })
}
