//! CloudTrail Lake channels: integrations that bring events from outside AWS into event data
//! stores (`CreateChannel`, `GetChannel`, `ListChannels`, `UpdateChannel`, `DeleteChannel`),
//! with their tags and resource policies.
//!
//! A channel names its source (`Custom`, or a partner's source) and the event data stores its
//! events go to, each one of events from outside AWS (`eventCategory` `ActivityAuditLog`). Events
//! reach a channel through the CloudTrail Data service's `PutAuditEvents`, which this server
//! does not serve: a channel here is configuration only, and its `IngestionStatus` stays empty.
//! Its destinations stay while it names them: deleting one answers `ChannelExistsForEDSException`.
//!
//! Layout: keyspace [`CHANNELS`], `<account>/<region>/<id>` → a JSON [`ChannelRecord`].

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    Channel, CreateChannelRequest, CreateChannelResponse, DeleteChannelRequest,
    DeleteChannelResponse, Destination, DestinationType, GetChannelRequest, GetChannelResponse,
    IngestionStatus, ListChannelsRequest, ListChannelsResponse, UpdateChannelRequest,
    UpdateChannelResponse,
};
use palisade_store::Transaction;
use palisade_store::typed::{self, Stored};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::{plain, store_error};
use crate::names::split_arn;
use crate::tags::{Tags, add_tags_to, tags_view};

const CHANNELS: &str = "cloudtrail/channels";
/// At most this many channels per account and region (CloudTrail User Guide, "Quotas").
const MAX_PER_REGION: usize = 25;
/// At most this many destinations per channel (the API reference, `Destinations`).
const MAX_DESTINATIONS: usize = 200;
/// Channels per `ListChannels` page when the request sets no `MaxResults` (its maximum).
const DEFAULT_PAGE: usize = 1000;

/// A channel as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChannelRecord {
    account: String,
    region: String,
    id: String,
    name: String,
    source: String,
    /// The ARNs of the event data stores its events go to.
    destinations: Vec<String>,
    tags: Tags,
    resource_policy: Option<String>,
}

impl ChannelRecord {
    fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:channel/{}",
            self.region, self.account, self.id
        )
    }

    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.id)
    }

    fn destinations_view(&self) -> Vec<Destination> {
        self.destinations
            .iter()
            .map(|arn| Destination {
                r#type: DestinationType::EventDataStore,
                location: arn.clone(),
            })
            .collect()
    }
}

pub(crate) async fn create_channel(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: CreateChannelRequest,
) -> Result<CreateChannelResponse, ServiceError> {
    let account = ctx.account().as_str();
    let region = ctx.region.as_str();
    let destinations = state.check_destinations(ctx, input.destinations).await?;
    let mut tags = Tags::new();
    add_tags_to(&mut tags, input.tags.unwrap_or_default())?;
    let record = ChannelRecord {
        account: account.to_owned(),
        region: region.to_owned(),
        id: uuid::Uuid::new_v4().to_string(),
        name: input.name,
        source: input.source,
        destinations,
        tags,
        resource_policy: None,
    };
    let created = state
        .mutate(|| async {
            let guard = state.guard(format!("channels/{account}/{region}")).await?;
            let existing = state.region_channels(account, region).await?;
            if existing
                .iter()
                .any(|stored| stored.value.name == record.name)
            {
                return Err(errors::channel_already_exists_exception(format!(
                    "A channel named {} already exists.",
                    record.name
                )));
            }
            if existing.len() >= MAX_PER_REGION {
                return Err(errors::channel_max_limit_exceeded_exception(format!(
                    "Your account has the maximum number of channels in this Region \
                     ({MAX_PER_REGION})."
                )));
            }
            let transaction = guard
                .pin(Transaction::new())
                .expect_absent(CHANNELS, &record.key())
                .put(CHANNELS, &record.key(), plain(&record)?);
            Ok((transaction, record.clone()))
        })
        .await?;
    Ok(CreateChannelResponse {
        channel_arn: Some(created.arn()),
        name: Some(created.name.clone()),
        source: Some(created.source.clone()),
        destinations: Some(created.destinations_view()),
        tags: Some(tags_view(&created.tags)),
    })
}

pub(crate) async fn get_channel(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetChannelRequest,
) -> Result<GetChannelResponse, ServiceError> {
    let channel = state.find_channel(ctx, &input.channel).await?.value;
    Ok(GetChannelResponse {
        channel_arn: Some(channel.arn()),
        name: Some(channel.name.clone()),
        source: Some(channel.source.clone()),
        source_config: None,
        destinations: Some(channel.destinations_view()),
        // Nothing has been ingested: PutAuditEvents is not served.
        ingestion_status: Some(IngestionStatus::default()),
    })
}

pub(crate) async fn list_channels(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListChannelsRequest,
) -> Result<ListChannelsResponse, ServiceError> {
    let page_size = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, DEFAULT_PAGE);
    let after = input
        .next_token
        .as_deref()
        .map(crate::tokens::decode)
        .transpose()?;
    let channels = state
        .region_channels(ctx.account().as_str(), ctx.region.as_str())
        .await?;
    let mut remaining = channels
        .iter()
        .map(|stored| &stored.value)
        .filter(|channel| {
            after
                .as_deref()
                .is_none_or(|after| channel.id.as_str() > after)
        });
    let page: Vec<&ChannelRecord> = remaining.by_ref().take(page_size).collect();
    let next_token = match (remaining.next(), page.last()) {
        (Some(_), Some(last)) => Some(crate::tokens::encode(&last.id)),
        _ => None,
    };
    Ok(ListChannelsResponse {
        channels: Some(
            page.into_iter()
                .map(|channel| Channel {
                    channel_arn: Some(channel.arn()),
                    name: Some(channel.name.clone()),
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn update_channel(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: UpdateChannelRequest,
) -> Result<UpdateChannelResponse, ServiceError> {
    let destinations = match input.destinations {
        Some(destinations) => Some(state.check_destinations(ctx, destinations).await?),
        None => None,
    };
    let account = ctx.account().as_str();
    let region = ctx.region.as_str();
    let updated = state
        .mutate(|| async {
            let guard = state.guard(format!("channels/{account}/{region}")).await?;
            let stored = state.find_channel(ctx, &input.channel).await?;
            let mut channel = stored.value.clone();
            if let Some(name) = &input.name {
                let taken = state
                    .region_channels(account, region)
                    .await?
                    .iter()
                    .any(|other| other.value.name == *name && other.value.id != channel.id);
                if taken {
                    return Err(errors::channel_already_exists_exception(format!(
                        "A channel named {name} already exists."
                    )));
                }
                channel.name.clone_from(name);
            }
            if let Some(destinations) = &destinations {
                channel.destinations.clone_from(destinations);
            }
            let transaction = stored.replace(
                guard.pin(Transaction::new()),
                CHANNELS,
                &channel.key(),
                plain(&channel)?,
            );
            Ok((transaction, channel))
        })
        .await?;
    Ok(UpdateChannelResponse {
        channel_arn: Some(updated.arn()),
        name: Some(updated.name.clone()),
        source: Some(updated.source.clone()),
        destinations: Some(updated.destinations_view()),
    })
}

pub(crate) async fn delete_channel(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeleteChannelRequest,
) -> Result<DeleteChannelResponse, ServiceError> {
    state
        .mutate(|| async {
            let stored = state.find_channel(ctx, &input.channel).await?;
            let transaction = Transaction::new()
                .expect_version(CHANNELS, &stored.value.key(), stored.version)
                .delete(CHANNELS, &stored.value.key());
            Ok((transaction, ()))
        })
        .await?;
    Ok(DeleteChannelResponse::default())
}

impl CloudTrailState {
    /// Every channel of `account` in `region`, by id.
    async fn region_channels(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<Stored<ChannelRecord>>, ServiceError> {
        Ok(typed::scan_all_json::<ChannelRecord>(
            &self.store,
            CHANNELS,
            &format!("{account}/{region}/"),
            DEFAULT_PAGE,
        )
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|(_, stored)| stored)
        .collect())
    }

    /// The channel a request names by ARN or by the id its ARN ends in: one of the caller's
    /// account in the caller's region.
    async fn find_channel(
        &self,
        ctx: &RequestContext,
        reference: &str,
    ) -> Result<Stored<ChannelRecord>, ServiceError> {
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        let id = if reference.starts_with("arn:") {
            let parts = split_arn(reference)
                .filter(|parts| parts.resource.starts_with("channel/"))
                .ok_or_else(|| {
                    errors::channel_arn_invalid_exception(format!(
                        "The channel ARN {reference} is not valid."
                    ))
                })?;
            if parts.account != account || parts.region != region {
                return Err(channel_not_found(reference));
            }
            parts.resource.trim_start_matches("channel/")
        } else {
            reference
        };
        typed::get_json::<ChannelRecord>(&self.store, CHANNELS, &format!("{account}/{region}/{id}"))
            .await
            .map_err(store_error)?
            .ok_or_else(|| channel_not_found(reference))
    }

    /// The event data stores `destinations` names, as ARNs: each an event data store of the
    /// caller's that holds events from outside AWS and is not pending deletion.
    async fn check_destinations(
        &self,
        ctx: &RequestContext,
        destinations: Vec<Destination>,
    ) -> Result<Vec<String>, ServiceError> {
        if destinations.is_empty() || destinations.len() > MAX_DESTINATIONS {
            return Err(errors::invalid_parameter_exception(format!(
                "A channel has between 1 and {MAX_DESTINATIONS} destinations."
            )));
        }
        let mut arns = Vec::with_capacity(destinations.len());
        for destination in destinations {
            if destination.r#type != DestinationType::EventDataStore {
                return Err(errors::invalid_parameter_exception(format!(
                    "Destination type {} is not valid for a channel you create: it must be \
                     EVENT_DATA_STORE.",
                    destination.r#type.as_str()
                )));
            }
            let store = self
                .find_active_event_data_store_of(
                    ctx.account().as_str(),
                    ctx.region.as_str(),
                    &destination.location,
                )
                .await?;
            if !store.of_events_outside_aws() {
                return Err(errors::invalid_event_data_store_category_exception(
                    format!(
                        "The event data store {} does not hold events from outside AWS: a channel's \
                     destination must have eventCategory ActivityAuditLog.",
                        store.arn()
                    ),
                ));
            }
            if !arns.contains(&store.arn()) {
                arns.push(store.arn());
            }
        }
        Ok(arns)
    }

    /// Refuses to delete the event data store `store_arn` of `account` in `region` while a
    /// channel sends to it.
    pub(crate) async fn require_no_channel_into(
        &self,
        account: &str,
        region: &str,
        store_arn: &str,
    ) -> Result<(), ServiceError> {
        let channels = self.region_channels(account, region).await?;
        match channels
            .iter()
            .find(|stored| stored.value.destinations.iter().any(|arn| arn == store_arn))
        {
            Some(channel) => Err(errors::channel_exists_for_eds_exception(format!(
                "The channel {} sends events to the event data store {store_arn}; remove it \
                 from the channel's destinations first.",
                channel.value.arn()
            ))),
            None => Ok(()),
        }
    }

    /// Applies `change` to the tags of the channel `arn`.
    pub(crate) async fn change_channel_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut Tags) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.change_channel(ctx, arn, |channel| change(&mut channel.tags))
            .await
    }

    pub(crate) async fn channel_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Tags, ServiceError> {
        Ok(self
            .find_channel(ctx, arn)
            .await
            .map_err(not_found)?
            .value
            .tags)
    }

    /// Applies `change` to the resource policy of the channel `arn`.
    pub(crate) async fn change_channel_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut Option<String>) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.change_channel(ctx, arn, |channel| change(&mut channel.resource_policy))
            .await
    }

    pub(crate) async fn channel_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self
            .find_channel(ctx, arn)
            .await
            .map_err(not_found)?
            .value
            .resource_policy)
    }

    async fn change_channel(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut ChannelRecord) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.mutate(|| async {
            let stored = self.find_channel(ctx, arn).await.map_err(not_found)?;
            let mut channel = stored.value.clone();
            change(&mut channel)?;
            let transaction = stored.replace(
                Transaction::new(),
                CHANNELS,
                &channel.key(),
                plain(&channel)?,
            );
            Ok((transaction, ()))
        })
        .await
    }
}

fn channel_not_found(reference: &str) -> ServiceError {
    errors::channel_not_found_exception(format!("The channel {reference} was not found."))
}

/// Tagging and policy calls name a missing channel with `ResourceNotFoundException`.
fn not_found(error: ServiceError) -> ServiceError {
    let missing = matches!(
        &error.kind,
        palisade_core::service::ErrorKind::Modeled { code, .. }
            if code == errors::CHANNEL_NOT_FOUND_EXCEPTION.code
    );
    if missing {
        return errors::resource_not_found_exception(error.message);
    }
    error
}
