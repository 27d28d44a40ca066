//! Trails: creating, reading, listing, updating and deleting them, starting and stopping their
//! logging, and their tags.
//!
//! A trail belongs to its account and home region. A multi-Region trail also shows in every
//! other region as a shadow trail: it can be read there, but changed only from home. Delivery
//! of a logging trail's files is `crate::delivery`'s.

use std::collections::BTreeMap;

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    CreateTrailRequest, CreateTrailResponse, DeleteTrailRequest, DeleteTrailResponse,
    DescribeTrailsRequest, DescribeTrailsResponse, GetTrailRequest, GetTrailResponse,
    GetTrailStatusRequest, GetTrailStatusResponse, ListTrailsRequest, ListTrailsResponse,
    StartLoggingRequest, StartLoggingResponse, StopLoggingRequest, StopLoggingResponse, Trail,
    TrailInfo, UpdateTrailRequest, UpdateTrailResponse,
};
use palisade_store::Transaction;
use palisade_store::typed::Stored;

use crate::CloudTrailState;
use crate::db::{TRAILS, TrailRecord, plain};
use crate::delivery::{DELIVERIES, DeliveryRecord};
use crate::names::{
    TrailRef, check_bucket_name, check_s3_key_prefix, check_trail_name, kms_key_arn, sns_topic_arn,
    trail_arn,
};
use crate::streaming::{LogGroup, STREAMING, StreamingStatus};
use crate::tags::add_tags_to;

/// `CreateTrailResponse` and `UpdateTrailResponse` share their fields: the trail's settings.
macro_rules! settings_response {
    ($response:ident, $trail:expr) => {{
        let trail: &TrailRecord = $trail;
        $response {
            name: Some(trail.name.clone()),
            s3_bucket_name: Some(trail.s3_bucket_name.clone()),
            s3_key_prefix: trail.s3_key_prefix.clone(),
            sns_topic_name: trail.sns_topic_name.clone(),
            sns_topic_arn: trail.sns_topic_arn.clone(),
            include_global_service_events: Some(trail.include_global_service_events),
            is_multi_region_trail: Some(trail.is_multi_region_trail),
            trail_arn: Some(trail.arn()),
            log_file_validation_enabled: Some(trail.log_file_validation_enabled),
            cloud_watch_logs_log_group_arn: trail.cloud_watch_logs_log_group_arn.clone(),
            cloud_watch_logs_role_arn: trail.cloud_watch_logs_role_arn.clone(),
            kms_key_id: trail.kms_key_id.clone(),
            is_organization_trail: Some(trail.is_organization_trail),
        }
    }};
}

/// At most this many trails show in one region, shadow trails included.
const MAX_TRAILS_PER_REGION: usize = 5;
/// Trails per `ListTrails` page.
const LIST_PAGE: usize = 10;

impl CloudTrailState {
    /// The trail a request names, by name (as the caller's region sees it: its own trail, or
    /// another region's multi-Region trail) or by ARN.
    pub(crate) async fn find_trail(
        &self,
        ctx: &RequestContext,
        reference: &str,
    ) -> Result<Stored<TrailRecord>, ServiceError> {
        let reference = TrailRef::parse(reference)?;
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        let trails = self.visible_trails(account).await?;
        let found = match &reference {
            TrailRef::Name(name) => {
                let named = || trails.iter().filter(|trail| trail.value.name == *name);
                named()
                    .find(|trail| trail.value.home_region == region)
                    .or_else(|| named().find(|trail| trail.value.visible_in(region)))
            }
            TrailRef::Arn {
                region: home,
                account: owner,
                name,
            } => trails.iter().find(|trail| {
                trail.value.account == *owner
                    && trail.value.name == *name
                    && trail.value.home_region == *home
                    && trail.value.visible_in(region)
            }),
        };
        found.cloned().ok_or_else(|| {
            let arn = match &reference {
                TrailRef::Name(name) => trail_arn(region, account, name),
                TrailRef::Arn {
                    region,
                    account,
                    name,
                } => trail_arn(region, account, name),
            };
            errors::trail_not_found_exception(format!(
                "Unknown trail: {arn} for the user: {account}"
            ))
        })
    }

    /// The trails `account` sees: its own, then its organization's organization trails (when it
    /// is a member account), ordered by key.
    pub(crate) async fn visible_trails(
        &self,
        account: &str,
    ) -> Result<Vec<Stored<TrailRecord>>, ServiceError> {
        let mut trails = self.account_trails(account).await?;
        trails.extend(self.member_view(account).await?);
        Ok(trails)
    }

    /// Applies `change` to the trail a request names and stores it; a trail changes only from
    /// its account and its home region. Answers the trail as changed.
    pub(crate) async fn change_trail(
        &self,
        ctx: &RequestContext,
        reference: &str,
        change: impl Fn(&mut TrailRecord) -> Result<(), ServiceError>,
    ) -> Result<TrailRecord, ServiceError> {
        self.mutate_trails(|| async {
            let stored = self.find_trail(ctx, reference).await?;
            self.require_owner(ctx, &stored.value).await?;
            require_home_region(ctx, &stored.value)?;
            let mut trail = stored.value.clone();
            change(&mut trail)?;
            let transaction =
                stored.replace(Transaction::new(), TRAILS, &trail.key(), plain(&trail)?);
            Ok((transaction, trail))
        })
        .await
    }
}

pub(crate) async fn create_trail(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: CreateTrailRequest,
) -> Result<CreateTrailResponse, ServiceError> {
    check_trail_name(&input.name)?;
    // A delegated administrator's organization trail belongs to the management account.
    let account = if input.is_organization_trail == Some(true) {
        state
            .organization_trail_owner(ctx.account().as_str())
            .await?
    } else {
        ctx.account().as_str().to_owned()
    };
    let region = ctx.region.as_str().to_owned();
    let tags = input.tags_list.unwrap_or_default();
    let kms_key_id = input.kms_key_id.clone().filter(|key| !key.is_empty());
    let mut trail = TrailRecord {
        account: account.clone(),
        name: input.name,
        home_region: region.clone(),
        s3_bucket_name: String::new(),
        s3_key_prefix: None,
        sns_topic_name: None,
        sns_topic_arn: None,
        include_global_service_events: input.include_global_service_events.unwrap_or(true),
        is_multi_region_trail: input.is_multi_region_trail.unwrap_or(false),
        log_file_validation_enabled: input.enable_log_file_validation.unwrap_or(false),
        cloud_watch_logs_log_group_arn: None,
        cloud_watch_logs_role_arn: None,
        kms_key_id: None,
        is_organization_trail: input.is_organization_trail.unwrap_or(false),
        tags: BTreeMap::new(),
        is_logging: false,
        start_logging_millis: None,
        stop_logging_millis: None,
        event_selectors: None,
        insight_selectors: Vec::new(),
    };
    apply_settings(
        &mut trail,
        Settings {
            s3_bucket_name: Some(input.s3_bucket_name),
            s3_key_prefix: input.s3_key_prefix,
            sns_topic_name: input.sns_topic_name,
            cloud_watch_logs_log_group_arn: input.cloud_watch_logs_log_group_arn,
            cloud_watch_logs_role_arn: input.cloud_watch_logs_role_arn,
            kms_key_id: input.kms_key_id,
        },
    )?;
    add_tags_to(&mut trail.tags, tags)?;
    if let Some(key) = &kms_key_id {
        trail.kms_key_id = state.check_trail_key(&trail, key).await?;
    }
    let trail = state
        .mutate_trails(|| async {
            let trails = state.account_trails(&account).await?;
            check_name_is_free(&trails, &trail, None)?;
            let visible = trails
                .iter()
                .filter(|existing| existing.value.visible_in(&region))
                .count();
            if visible >= MAX_TRAILS_PER_REGION {
                return Err(errors::maximum_number_of_trails_exceeded_exception(
                    format!(
                        "User: {account} already has {MAX_TRAILS_PER_REGION} trails in {region}."
                    ),
                ));
            }
            let key = trail.key();
            let transaction =
                Transaction::new()
                    .expect_absent(TRAILS, &key)
                    .put(TRAILS, &key, plain(&trail)?);
            Ok((transaction, trail.clone()))
        })
        .await?;
    Ok(settings_response!(CreateTrailResponse, &trail))
}

pub(crate) async fn get_trail(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetTrailRequest,
) -> Result<GetTrailResponse, ServiceError> {
    let trail = state.find_trail(ctx, &input.name).await?.value;
    Ok(GetTrailResponse {
        trail: Some(trail_view(&trail)),
    })
}

pub(crate) async fn describe_trails(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DescribeTrailsRequest,
) -> Result<DescribeTrailsResponse, ServiceError> {
    let account = ctx.account().as_str();
    let region = ctx.region.as_str();
    let include_shadows = input.include_shadow_trails.unwrap_or(true);
    let shows_here = |trail: &TrailRecord| {
        trail.home_region == region || (include_shadows && trail.is_multi_region_trail)
    };
    let trails = state.visible_trails(account).await?;
    let references = input
        .trail_name_list
        .unwrap_or_default()
        .iter()
        .map(|reference| TrailRef::parse(reference))
        .collect::<Result<Vec<_>, _>>()?;
    let listed: Vec<Trail> = trails
        .iter()
        .map(|stored| &stored.value)
        .filter(|trail| {
            if references.is_empty() {
                return shows_here(trail);
            }
            // Names look in the caller's region; an ARN reaches a trail of any region.
            references.iter().any(|reference| match reference {
                TrailRef::Name(name) => trail.name == *name && shows_here(trail),
                TrailRef::Arn {
                    region: home,
                    account: owner,
                    name,
                } => trail.account == *owner && trail.home_region == *home && trail.name == *name,
            })
        })
        .map(trail_view)
        .collect();
    Ok(DescribeTrailsResponse {
        trail_list: Some(listed),
    })
}

pub(crate) async fn list_trails(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListTrailsRequest,
) -> Result<ListTrailsResponse, ServiceError> {
    let after = input
        .next_token
        .as_deref()
        .map(crate::tokens::decode)
        .transpose()?;
    let mut trails = state.visible_trails(ctx.account().as_str()).await?;
    trails.sort_by_key(|stored| stored.value.key());
    let mut page: Vec<&TrailRecord> = trails
        .iter()
        .map(|stored| &stored.value)
        .filter(|trail| after.as_ref().is_none_or(|after| trail.key() > *after))
        .take(LIST_PAGE + 1)
        .collect();
    let more = page.len() > LIST_PAGE;
    page.truncate(LIST_PAGE);
    let next_token = more
        .then(|| page.last().map(|last| crate::tokens::encode(&last.key())))
        .flatten();
    Ok(ListTrailsResponse {
        trails: Some(
            page.into_iter()
                .map(|trail| TrailInfo {
                    trail_arn: Some(trail.arn()),
                    name: Some(trail.name.clone()),
                    home_region: Some(trail.home_region.clone()),
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn update_trail(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: UpdateTrailRequest,
) -> Result<UpdateTrailResponse, ServiceError> {
    let settings = Settings {
        s3_bucket_name: input.s3_bucket_name,
        s3_key_prefix: input.s3_key_prefix,
        sns_topic_name: input.sns_topic_name,
        cloud_watch_logs_log_group_arn: input.cloud_watch_logs_log_group_arn,
        cloud_watch_logs_role_arn: input.cloud_watch_logs_role_arn,
        kms_key_id: input.kms_key_id,
    };
    let trail = state
        .mutate_trails(|| async {
            let stored = state.find_trail(ctx, &input.name).await?;
            state.require_owner(ctx, &stored.value).await?;
            require_home_region(ctx, &stored.value)?;
            let mut trail = stored.value.clone();
            if let Some(include) = input.include_global_service_events {
                trail.include_global_service_events = include;
            }
            if let Some(validation) = input.enable_log_file_validation {
                trail.log_file_validation_enabled = validation;
            }
            if let Some(organization) = input.is_organization_trail {
                if organization {
                    state.check_organization_trail(&trail).await?;
                }
                trail.is_organization_trail = organization;
            }
            apply_settings(&mut trail, settings.clone())?;
            if let Some(key) = settings.kms_key_id.as_deref().filter(|key| !key.is_empty()) {
                trail.kms_key_id = state.check_trail_key(&trail, key).await?;
            }
            if let Some(multi_region) = input.is_multi_region_trail {
                if multi_region && !trail.is_multi_region_trail {
                    // The name now has to be free in every region.
                    let trails = state.account_trails(&trail.account).await?;
                    trail.is_multi_region_trail = true;
                    check_name_is_free(&trails, &trail, Some(&trail.key()))?;
                }
                trail.is_multi_region_trail = multi_region;
            }
            check_multi_region_includes_global_events(&trail)?;
            let transaction =
                stored.replace(Transaction::new(), TRAILS, &trail.key(), plain(&trail)?);
            Ok((transaction, trail))
        })
        .await?;
    Ok(settings_response!(UpdateTrailResponse, &trail))
}

pub(crate) async fn delete_trail(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeleteTrailRequest,
) -> Result<DeleteTrailResponse, ServiceError> {
    state
        .mutate_trails(|| async {
            let stored = state.find_trail(ctx, &input.name).await?;
            state.require_owner(ctx, &stored.value).await?;
            require_home_region(ctx, &stored.value)?;
            let key = stored.value.key();
            // The trail's delivery state goes with it: a trail made again under the name
            // starts afresh.
            let transaction = Transaction::new()
                .expect_version(TRAILS, &key, stored.version)
                .delete(TRAILS, &key)
                .delete(DELIVERIES, &key)
                .delete(STREAMING, &key);
            Ok((transaction, ()))
        })
        .await?;
    Ok(DeleteTrailResponse::default())
}

pub(crate) async fn start_logging(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StartLoggingRequest,
) -> Result<StartLoggingResponse, ServiceError> {
    let now = state.clock.now_millis();
    state
        .change_trail(ctx, &input.name, |trail| {
            if !trail.is_logging {
                trail.is_logging = true;
                trail.start_logging_millis = Some(now);
            }
            Ok(())
        })
        .await?;
    Ok(StartLoggingResponse::default())
}

pub(crate) async fn stop_logging(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StopLoggingRequest,
) -> Result<StopLoggingResponse, ServiceError> {
    let now = state.clock.now_millis();
    state
        .change_trail(ctx, &input.name, |trail| {
            if trail.is_logging {
                trail.is_logging = false;
                trail.stop_logging_millis = Some(now);
            }
            Ok(())
        })
        .await?;
    Ok(StopLoggingResponse::default())
}

/// Whether the trail logs and since or until when, and how its deliveries (log files, CloudWatch
/// Logs) went. Notifications are not sent, so their fields stay absent.
pub(crate) async fn get_trail_status(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetTrailStatusRequest,
) -> Result<GetTrailStatusResponse, ServiceError> {
    let trail = state.find_trail(ctx, &input.name).await?.value;
    let delivery: DeliveryRecord = state
        .trail_state(DELIVERIES, &trail)
        .await?
        .unwrap_or_default();
    let streaming: StreamingStatus = state
        .trail_state(STREAMING, &trail)
        .await?
        .unwrap_or_default();
    let iso = |millis: Option<i64>| millis.map(crate::layout::iso_seconds);
    Ok(GetTrailStatusResponse {
        is_logging: Some(trail.is_logging),
        start_logging_time: trail.start_logging_millis.map(Timestamp::from_millis),
        stop_logging_time: trail.stop_logging_millis.map(Timestamp::from_millis),
        time_logging_started: iso(trail.start_logging_millis),
        time_logging_stopped: iso(trail.stop_logging_millis),
        latest_delivery_time: delivery.latest_delivery_millis.map(Timestamp::from_millis),
        latest_delivery_attempt_time: iso(delivery.latest_attempt_millis),
        latest_delivery_attempt_succeeded: delivery
            .latest_attempt_succeeded
            .map(|succeeded| succeeded.to_string()),
        latest_delivery_error: delivery.latest_delivery_error,
        latest_digest_delivery_time: delivery.latest_digest_millis.map(Timestamp::from_millis),
        latest_digest_delivery_error: delivery.latest_digest_delivery_error,
        latest_cloud_watch_logs_delivery_time: streaming
            .latest_delivery_millis
            .map(Timestamp::from_millis),
        latest_cloud_watch_logs_delivery_error: streaming.latest_delivery_error,
        ..GetTrailStatusResponse::default()
    })
}

/// The settings that name other resources, set at creation and changed by `UpdateTrail`; on
/// update an empty string removes an optional one.
#[derive(Debug, Clone)]
struct Settings {
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
}

fn apply_settings(trail: &mut TrailRecord, settings: Settings) -> Result<(), ServiceError> {
    let given =
        |setting: Option<String>| setting.map(|text| Some(text).filter(|text| !text.is_empty()));
    if let Some(bucket) = settings.s3_bucket_name {
        check_bucket_name(&bucket)?;
        trail.s3_bucket_name = bucket;
    }
    if let Some(prefix) = given(settings.s3_key_prefix) {
        prefix.as_deref().map(check_s3_key_prefix).transpose()?;
        trail.s3_key_prefix = prefix;
    }
    if let Some(topic) = given(settings.sns_topic_name) {
        trail.sns_topic_arn = topic
            .as_deref()
            .map(|topic| sns_topic_arn(topic, &trail.home_region, &trail.account))
            .transpose()?;
        trail.sns_topic_name = topic;
    }
    if let Some(key) = given(settings.kms_key_id) {
        trail.kms_key_id = key
            .as_deref()
            .map(|key| kms_key_arn(key, &trail.home_region, &trail.account))
            .transpose()?;
    }
    if let Some(group) = given(settings.cloud_watch_logs_log_group_arn) {
        trail.cloud_watch_logs_log_group_arn = group;
    }
    if let Some(role) = given(settings.cloud_watch_logs_role_arn) {
        trail.cloud_watch_logs_role_arn = role;
    }
    check_cloud_watch_logs(trail)?;
    check_multi_region_includes_global_events(trail)
}

/// CloudWatch Logs delivery needs both a log group and the role that writes to it.
fn check_cloud_watch_logs(trail: &TrailRecord) -> Result<(), ServiceError> {
    match (
        &trail.cloud_watch_logs_log_group_arn,
        &trail.cloud_watch_logs_role_arn,
    ) {
        (Some(group), Some(role)) => {
            if LogGroup::parse(group).is_none() {
                return Err(errors::invalid_cloud_watch_logs_log_group_arn_exception(
                    "CloudTrail cannot validate the specified log group ARN.",
                ));
            }
            if !(role.starts_with("arn:aws:iam::") && role.contains(":role/")) {
                return Err(errors::invalid_cloud_watch_logs_role_arn_exception(
                    format!("Invalid CloudWatch Logs role ARN: {role}"),
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(errors::invalid_cloud_watch_logs_role_arn_exception(
            "You must specify a role ARN as well as a log group.",
        )),
        (None, Some(_)) => Err(errors::invalid_cloud_watch_logs_log_group_arn_exception(
            "You must specify a log group ARN with a CloudWatch Logs role ARN.",
        )),
        (None, None) => Ok(()),
    }
}

fn check_multi_region_includes_global_events(trail: &TrailRecord) -> Result<(), ServiceError> {
    if trail.is_multi_region_trail && !trail.include_global_service_events {
        return Err(errors::invalid_parameter_combination_exception(
            "Multi-Region trail must include global service events.",
        ));
    }
    Ok(())
}

/// A trail's name is taken where a trail of that name shows: its home region, and every
/// region for a multi-Region trail. `except` is the key of the trail being changed.
fn check_name_is_free(
    trails: &[Stored<TrailRecord>],
    trail: &TrailRecord,
    except: Option<&str>,
) -> Result<(), ServiceError> {
    let clash = trails.iter().map(|stored| &stored.value).any(|existing| {
        existing.name == trail.name
            && except != Some(existing.key().as_str())
            && (existing.home_region == trail.home_region
                || existing.is_multi_region_trail
                || trail.is_multi_region_trail)
    });
    if clash {
        return Err(errors::trail_already_exists_exception(format!(
            "Trail {} already exists for customer: {}",
            trail.name, trail.account
        )));
    }
    Ok(())
}

fn require_home_region(ctx: &RequestContext, trail: &TrailRecord) -> Result<(), ServiceError> {
    if trail.home_region == ctx.region.as_str() {
        return Ok(());
    }
    Err(errors::invalid_home_region_exception(format!(
        "This operation must be called from the trail's home region, {}.",
        trail.home_region
    )))
}

fn trail_view(trail: &TrailRecord) -> Trail {
    Trail {
        name: Some(trail.name.clone()),
        s3_bucket_name: Some(trail.s3_bucket_name.clone()),
        s3_key_prefix: trail.s3_key_prefix.clone(),
        sns_topic_name: trail.sns_topic_name.clone(),
        sns_topic_arn: trail.sns_topic_arn.clone(),
        include_global_service_events: Some(trail.include_global_service_events),
        is_multi_region_trail: Some(trail.is_multi_region_trail),
        home_region: Some(trail.home_region.clone()),
        trail_arn: Some(trail.arn()),
        log_file_validation_enabled: Some(trail.log_file_validation_enabled),
        cloud_watch_logs_log_group_arn: trail.cloud_watch_logs_log_group_arn.clone(),
        cloud_watch_logs_role_arn: trail.cloud_watch_logs_role_arn.clone(),
        kms_key_id: trail.kms_key_id.clone(),
        has_custom_event_selectors: Some(trail.event_selectors.is_some()),
        has_insight_selectors: Some(!trail.insight_selectors.is_empty()),
        is_organization_trail: Some(trail.is_organization_trail),
    }
}
