//! Tags of trails and event data stores (`AddTags`, `RemoveTags`, `ListTags`), which name either
//! by ARN, and the rules both share.

use std::collections::BTreeMap;

use palisade_core::service::ErrorKind;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    AddTagsRequest, AddTagsResponse, ListTagsRequest, ListTagsResponse, RemoveTagsRequest,
    RemoveTagsResponse, ResourceTag, Tag,
};

use crate::CloudTrailState;
use crate::event_data_stores::is_event_data_store_arn;
use crate::names::parse_arn;

/// A resource's tags: key → value (a tag may have no value).
pub(crate) type Tags = BTreeMap<String, Option<String>>;

/// At most this many tags per resource.
const MAX_TAGS: usize = 50;

impl CloudTrailState {
    /// Applies `change` to the tags of the trail or event data store `arn`.
    async fn change_tags<F>(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: F,
    ) -> Result<(), ServiceError>
    where
        F: Fn(&mut Tags) -> Result<(), ServiceError>,
    {
        if is_event_data_store_arn(arn) {
            return self.change_event_data_store_tags(ctx, arn, change).await;
        }
        if is_dashboard_arn(arn) {
            return self.change_dashboard_tags(ctx, arn, change).await;
        }
        if is_channel_arn(arn) {
            return self.change_channel_tags(ctx, arn, change).await;
        }
        parse_arn(arn)?;
        self.change_trail(ctx, arn, |trail| change(&mut trail.tags))
            .await
            .map(|_| ())
            .map_err(resource_not_found)
    }

    async fn tags_of(&self, ctx: &RequestContext, arn: &str) -> Result<Tags, ServiceError> {
        if is_event_data_store_arn(arn) {
            return Ok(self.find_event_data_store(ctx, arn).await?.value.tags);
        }
        if is_dashboard_arn(arn) {
            return self.dashboard_tags(ctx, arn).await;
        }
        if is_channel_arn(arn) {
            return self.channel_tags(ctx, arn).await;
        }
        parse_arn(arn)?;
        Ok(self
            .find_trail(ctx, arn)
            .await
            .map_err(resource_not_found)?
            .value
            .tags)
    }
}

pub(crate) async fn add_tags(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: AddTagsRequest,
) -> Result<AddTagsResponse, ServiceError> {
    state
        .change_tags(ctx, &input.resource_id, |tags| {
            add_tags_to(tags, input.tags_list.clone())
        })
        .await?;
    Ok(AddTagsResponse::default())
}

pub(crate) async fn remove_tags(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: RemoveTagsRequest,
) -> Result<RemoveTagsResponse, ServiceError> {
    state
        .change_tags(ctx, &input.resource_id, |tags| {
            for tag in &input.tags_list {
                tags.remove(&tag.key);
            }
            Ok(())
        })
        .await?;
    Ok(RemoveTagsResponse::default())
}

pub(crate) async fn list_tags(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListTagsRequest,
) -> Result<ListTagsResponse, ServiceError> {
    // Every answer fits one page, so no token was ever issued.
    if input.next_token.is_some() {
        return Err(errors::invalid_token_exception("Invalid NextToken."));
    }
    let mut resource_tags = Vec::with_capacity(input.resource_id_list.len());
    for arn in &input.resource_id_list {
        let tags = state.tags_of(ctx, arn).await?;
        resource_tags.push(ResourceTag {
            resource_id: Some(arn.clone()),
            tags_list: Some(tags_view(&tags)),
        });
    }
    Ok(ListTagsResponse {
        resource_tag_list: Some(resource_tags),
        next_token: None,
    })
}

pub(crate) fn tags_view(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

fn is_dashboard_arn(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.contains(":dashboard/")
}

fn is_channel_arn(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.contains(":channel/")
}

/// A tagging call on a trail that does not exist answers `ResourceNotFoundException`.
fn resource_not_found(error: ServiceError) -> ServiceError {
    let not_found = matches!(
        &error.kind,
        ErrorKind::Modeled { code, .. } if code == errors::TRAIL_NOT_FOUND_EXCEPTION.code
    );
    if not_found {
        return errors::resource_not_found_exception(error.message);
    }
    error
}

/// Adds `added` to `tags`, with CloudTrail's rules for keys, values and how many.
pub(crate) fn add_tags_to(tags: &mut Tags, added: Vec<Tag>) -> Result<(), ServiceError> {
    for tag in added {
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(errors::invalid_tag_parameter_exception(
                "Tag keys cannot start with the reserved prefix aws:.",
            ));
        }
        let allowed = |text: &str| {
            text.chars().all(|character| {
                character.is_alphanumeric()
                    || character.is_whitespace()
                    || "_.:/=+-@".contains(character)
            })
        };
        if !allowed(&tag.key) || !tag.value.as_deref().is_none_or(allowed) {
            return Err(errors::invalid_tag_parameter_exception(format!(
                "The tag {} has characters that are not allowed. Tags can hold letters, numbers, \
                 spaces and _ . : / = + - @.",
                tag.key
            )));
        }
        tags.insert(tag.key, tag.value);
    }
    if tags.len() > MAX_TAGS {
        return Err(errors::tags_limit_exceeded_exception(format!(
            "The number of tags on the resource exceeds the limit of {MAX_TAGS}."
        )));
    }
    Ok(())
}
