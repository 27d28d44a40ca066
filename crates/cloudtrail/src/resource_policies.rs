//! Resource-based policies of event data stores, dashboards and channels (`PutResourcePolicy`,
//! `GetResourcePolicy`, `DeleteResourcePolicy`), and the one decision CloudTrail makes on them
//! itself: whether an event data store lets CloudTrail run a dashboard's queries on it.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, GetResourcePolicyRequest,
    GetResourcePolicyResponse, PutResourcePolicyRequest, PutResourcePolicyResponse,
};
use palisade_policy::{
    Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};

use crate::CloudTrailState;
use crate::event_data_stores::EventDataStoreRecord;
use crate::names::split_arn;
use crate::organization::SERVICE_PRINCIPAL;

/// The largest policy document accepted, in bytes.
const MAX_POLICY_BYTES: usize = 8192;

/// What a resource ARN names, for the policy operations.
enum PolicyResource {
    EventDataStore,
    Dashboard,
    Channel,
}

pub(crate) async fn put_resource_policy(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: PutResourcePolicyRequest,
) -> Result<PutResourcePolicyResponse, ServiceError> {
    let kind = resource_kind(&input.resource_arn)?;
    check_policy(&input.resource_policy)?;
    let document = input.resource_policy;
    let arn = &input.resource_arn;
    match kind {
        PolicyResource::EventDataStore => {
            state
                .change_event_data_store_policy(ctx, arn, |policy| {
                    *policy = Some(document.clone());
                    Ok(())
                })
                .await?;
        }
        PolicyResource::Dashboard => {
            state
                .change_dashboard_policy(ctx, arn, |policy| {
                    *policy = Some(document.clone());
                    Ok(())
                })
                .await?;
        }
        PolicyResource::Channel => {
            state
                .change_channel_policy(ctx, arn, |policy| {
                    *policy = Some(document.clone());
                    Ok(())
                })
                .await?;
        }
    }
    Ok(PutResourcePolicyResponse {
        resource_arn: Some(input.resource_arn),
        resource_policy: Some(document),
        delegated_admin_resource_policy: None,
    })
}

pub(crate) async fn get_resource_policy(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetResourcePolicyRequest,
) -> Result<GetResourcePolicyResponse, ServiceError> {
    let arn = &input.resource_arn;
    let policy = match resource_kind(arn)? {
        PolicyResource::EventDataStore => {
            state
                .find_event_data_store(ctx, arn)
                .await
                .map_err(not_found)?
                .value
                .resource_policy
        }
        PolicyResource::Dashboard => state.dashboard_policy(ctx, arn).await?,
        PolicyResource::Channel => state.channel_policy(ctx, arn).await?,
    };
    let policy = policy.ok_or_else(|| no_policy(arn))?;
    Ok(GetResourcePolicyResponse {
        resource_arn: Some(input.resource_arn),
        resource_policy: Some(policy),
        delegated_admin_resource_policy: None,
    })
}

pub(crate) async fn delete_resource_policy(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeleteResourcePolicyRequest,
) -> Result<DeleteResourcePolicyResponse, ServiceError> {
    let arn = &input.resource_arn;
    let remove = |policy: &mut Option<String>| match policy.take() {
        Some(_) => Ok(()),
        None => Err(no_policy(arn)),
    };
    match resource_kind(arn)? {
        PolicyResource::EventDataStore => {
            state
                .change_event_data_store_policy(ctx, arn, remove)
                .await?;
        }
        PolicyResource::Dashboard => state.change_dashboard_policy(ctx, arn, remove).await?,
        PolicyResource::Channel => state.change_channel_policy(ctx, arn, remove).await?,
    }
    Ok(DeleteResourcePolicyResponse::default())
}

impl CloudTrailState {
    /// The account of the event data store `arn` and its resource policy, for deciding calls on
    /// it (another account's, when the ARN names one); `None` when `arn` names no event data
    /// store that exists.
    pub async fn event_data_store_policy(
        &self,
        arn: &str,
    ) -> Result<Option<(String, Option<String>)>, ServiceError> {
        let Some((region, account, _)) = crate::event_data_stores::parse_arn(arn).ok() else {
            return Ok(None);
        };
        match self.find_event_data_store_of(account, region, arn).await {
            Ok(stored) => Ok(Some((stored.value.account, stored.value.resource_policy))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn change_event_data_store_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut Option<String>) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.change_event_data_store(ctx, arn, |store, _| change(&mut store.resource_policy))
            .await
            .map(|_| ())
            .map_err(not_found)
    }
}

/// Whether the resource policy of `store` lets CloudTrail run the queries of the dashboard
/// `dashboard_arn` on it: `cloudtrail:StartQuery` by `cloudtrail.amazonaws.com`, with the
/// dashboard as `aws:SourceArn` and its account as `aws:SourceAccount`. No policy allows
/// nothing.
pub(crate) fn dashboard_may_query(store: &EventDataStoreRecord, dashboard_arn: &str) -> bool {
    let Some(policy) = store
        .resource_policy
        .as_deref()
        .and_then(|document| parse(document).ok())
    else {
        return false;
    };
    let dashboard_account = dashboard_arn.split(':').nth(4).unwrap_or_default();
    let context = Context::new()
        .with("aws:SourceArn", dashboard_arn)
        .with("aws:SourceAccount", dashboard_account);
    let store_arn = store.arn();
    let request = Request {
        principal: Principal::service(SERVICE_PRINCIPAL),
        action: "cloudtrail:StartQuery",
        resource: &store_arn,
        context: &context,
    };
    let set = PolicySet {
        resource: Some(&policy),
        resource_account: &store.account,
        ..PolicySet::default()
    };
    evaluate(&request, &set).is_allowed()
}

fn parse(document: &str) -> Result<Policy, palisade_policy::PolicyError> {
    Policy::parse_with(document, &ParseOptions::new(PolicyKind::Resource))
}

/// A policy IAM's grammar for resource policies accepts (every statement names its principals),
/// within CloudTrail's size.
fn check_policy(document: &str) -> Result<(), ServiceError> {
    if document.len() > MAX_POLICY_BYTES {
        return Err(errors::resource_policy_not_valid_exception(format!(
            "The resource policy is {} bytes; the most allowed is {MAX_POLICY_BYTES}.",
            document.len()
        )));
    }
    parse(document).map(|_| ()).map_err(|error| {
        errors::resource_policy_not_valid_exception(format!(
            "The resource policy is not valid: {}",
            error.message()
        ))
    })
}

fn resource_kind(arn: &str) -> Result<PolicyResource, ServiceError> {
    let resource = split_arn(arn)
        .ok_or_else(|| {
            errors::resource_arn_not_valid_exception(format!(
                "{arn} is not a valid CloudTrail resource ARN."
            ))
        })?
        .resource;
    if resource.starts_with("eventdatastore/") {
        Ok(PolicyResource::EventDataStore)
    } else if resource.starts_with("dashboard/") {
        Ok(PolicyResource::Dashboard)
    } else if resource.starts_with("channel/") {
        Ok(PolicyResource::Channel)
    } else {
        Err(errors::resource_type_not_supported_exception(format!(
            "{arn} names a resource that cannot have a resource policy: only event data stores, \
             dashboards and channels can."
        )))
    }
}

fn no_policy(arn: &str) -> ServiceError {
    errors::resource_policy_not_found_exception(format!(
        "The resource {arn} has no resource policy."
    ))
}

fn is_not_found(error: &ServiceError) -> bool {
    matches!(
        &error.kind,
        palisade_core::service::ErrorKind::Modeled { code, .. }
            if code == errors::EVENT_DATA_STORE_NOT_FOUND_EXCEPTION.code
    )
}

/// A resource the policy operations name that does not exist answers
/// `ResourceNotFoundException`.
fn not_found(error: ServiceError) -> ServiceError {
    if is_not_found(&error) {
        return errors::resource_not_found_exception(error.message);
    }
    error
}
