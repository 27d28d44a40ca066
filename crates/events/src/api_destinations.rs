//! API destinations: HTTP endpoints that rule targets invoke (see `http`), each with a method,
//! a connection that authorizes the calls, and a rate limit (300 calls a second unless set).
//!
//! AWS takes only HTTPS endpoints; Palisade also takes `http://`, for receivers on a local
//! network. An API destination is always `ACTIVE`.

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;

use crate::EventsState;
use crate::db::{API_DESTINATIONS, Stored, Tenant, plain};
use crate::http::connection_name;
use crate::paging::{page_size, paginate};
use crate::records::ApiDestinationRecord;

/// AWS's rate when a destination sets none.
const DEFAULT_RATE_PER_SECOND: i32 = 300;

impl EventsState {
    /// The API destination `name`, or AWS's error for a missing one, worded for `action`.
    async fn stored_destination(
        &self,
        tenant: &Tenant,
        name: &str,
        action: &str,
    ) -> Result<Stored<ApiDestinationRecord>, ServiceError> {
        self.get(API_DESTINATIONS, &tenant.key(name))
            .await?
            .ok_or_else(|| {
                errors::resource_not_found_exception(format!(
                    "Failed to {action} the api-destination(s). An api-destination '{name}' does \
                     not exist."
                ))
            })
    }

    /// Fails unless `arn` names a connection of `tenant`.
    async fn require_connection(&self, tenant: &Tenant, arn: &str) -> Result<(), ServiceError> {
        let name = connection_name(arn).unwrap_or(arn);
        match self.connection(tenant, name).await? {
            Some(connection) if connection.arn == arn => Ok(()),
            _ => Err(errors::resource_not_found_exception(format!(
                "Connection '{name}' does not exist."
            ))),
        }
    }
}

pub(crate) async fn create(
    state: &EventsState,
    ctx: &RequestContext,
    input: CreateApiDestinationRequest,
) -> Result<CreateApiDestinationResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    check_endpoint(&input.invocation_endpoint)?;
    let http_method = method(&input.http_method)?;
    state
        .require_connection(&tenant, &input.connection_arn)
        .await?;
    let now = state.now_millis();
    let record = ApiDestinationRecord {
        name: input.name.clone(),
        arn: tenant.resource_arn("api-destination", &input.name),
        description: input.description,
        connection_arn: input.connection_arn,
        invocation_endpoint: input.invocation_endpoint,
        http_method,
        invocation_rate_limit_per_second: input
            .invocation_rate_limit_per_second
            .unwrap_or(DEFAULT_RATE_PER_SECOND),
        created_millis: now,
        modified_millis: now,
    };
    let key = tenant.key(&input.name);
    state
        .mutate(|| async {
            if state
                .get::<ApiDestinationRecord>(API_DESTINATIONS, &key)
                .await?
                .is_some()
            {
                return Err(errors::resource_already_exists_exception(format!(
                    "An api-destination '{}' already exists.",
                    input.name
                )));
            }
            let txn = Transaction::new()
                .expect_absent(API_DESTINATIONS, &key)
                .put(API_DESTINATIONS, &key, plain(&record)?);
            Ok((txn, ()))
        })
        .await?;
    Ok(CreateApiDestinationResponse {
        api_destination_arn: Some(record.arn),
        api_destination_state: Some(ApiDestinationState::Active),
        creation_time: Some(Timestamp::from_millis(now)),
        last_modified_time: Some(Timestamp::from_millis(now)),
    })
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeApiDestinationRequest,
) -> Result<DescribeApiDestinationResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let record = state
        .stored_destination(&tenant, &input.name, "describe")
        .await?
        .value;
    let summary = summary(record.clone());
    Ok(DescribeApiDestinationResponse {
        api_destination_arn: summary.api_destination_arn,
        name: summary.name,
        description: record.description,
        api_destination_state: summary.api_destination_state,
        connection_arn: summary.connection_arn,
        invocation_endpoint: summary.invocation_endpoint,
        http_method: summary.http_method,
        invocation_rate_limit_per_second: summary.invocation_rate_limit_per_second,
        creation_time: summary.creation_time,
        last_modified_time: summary.last_modified_time,
    })
}

pub(crate) async fn update(
    state: &EventsState,
    ctx: &RequestContext,
    input: UpdateApiDestinationRequest,
) -> Result<UpdateApiDestinationResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    if let Some(endpoint) = &input.invocation_endpoint {
        check_endpoint(endpoint)?;
    }
    let http_method = input.http_method.as_ref().map(method).transpose()?;
    if let Some(connection) = &input.connection_arn {
        state.require_connection(&tenant, connection).await?;
    }
    let key = tenant.key(&input.name);
    let now = state.now_millis();
    let record = state
        .mutate(|| async {
            let stored = state
                .stored_destination(&tenant, &input.name, "update")
                .await?;
            let mut record = stored.value.clone();
            if let Some(description) = &input.description {
                record.description = Some(description.clone());
            }
            if let Some(connection) = &input.connection_arn {
                record.connection_arn = connection.clone();
            }
            if let Some(endpoint) = &input.invocation_endpoint {
                record.invocation_endpoint = endpoint.clone();
            }
            if let Some(http_method) = &http_method {
                record.http_method = http_method.clone();
            }
            if let Some(rate) = input.invocation_rate_limit_per_second {
                record.invocation_rate_limit_per_second = rate;
            }
            record.modified_millis = now;
            let txn = stored.replace(Transaction::new(), API_DESTINATIONS, &key, plain(&record)?);
            Ok((txn, record))
        })
        .await?;
    Ok(UpdateApiDestinationResponse {
        api_destination_arn: Some(record.arn),
        api_destination_state: Some(ApiDestinationState::Active),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
    })
}

pub(crate) async fn delete(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeleteApiDestinationRequest,
) -> Result<DeleteApiDestinationResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = tenant.key(&input.name);
    state
        .mutate(|| async {
            let stored = state
                .stored_destination(&tenant, &input.name, "delete")
                .await?;
            let txn = Transaction::new()
                .expect_version(API_DESTINATIONS, &key, stored.version)
                .delete(API_DESTINATIONS, &key);
            Ok((txn, ()))
        })
        .await?;
    Ok(DeleteApiDestinationResponse {})
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListApiDestinationsRequest,
) -> Result<ListApiDestinationsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let prefix = format!(
        "{}{}",
        tenant.prefix(),
        input.name_prefix.as_deref().unwrap_or_default()
    );
    let all: Vec<(String, ApiDestinationRecord)> =
        state.scan_all(API_DESTINATIONS, &prefix).await?;
    let mut destinations: Vec<ApiDestination> = all
        .into_iter()
        .map(|(_, record)| record)
        .filter(|record| {
            input
                .next_token
                .as_deref()
                .is_none_or(|after| record.name.as_str() > after)
                && input
                    .connection_arn
                    .as_deref()
                    .is_none_or(|connection| connection == record.connection_arn)
        })
        .map(summary)
        .collect();
    let next_token = paginate(&mut destinations, page_size(input.limit), |destination| {
        destination.name.clone().unwrap_or_default()
    });
    Ok(ListApiDestinationsResponse {
        api_destinations: Some(destinations),
        next_token,
    })
}

fn summary(record: ApiDestinationRecord) -> ApiDestination {
    ApiDestination {
        api_destination_arn: Some(record.arn),
        name: Some(record.name),
        api_destination_state: Some(ApiDestinationState::Active),
        connection_arn: Some(record.connection_arn),
        invocation_endpoint: Some(record.invocation_endpoint),
        http_method: Some(ApiDestinationHttpMethod::from(record.http_method.as_str())),
        invocation_rate_limit_per_second: Some(record.invocation_rate_limit_per_second),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
    }
}

/// Refuses an endpoint that is not an absolute HTTP(S) URL.
fn check_endpoint(endpoint: &str) -> Result<(), ServiceError> {
    let valid = endpoint.parse::<hyper::Uri>().ok().is_some_and(|uri| {
        matches!(uri.scheme_str(), Some("https" | "http")) && uri.authority().is_some()
    });
    if valid {
        return Ok(());
    }
    Err(ServiceError::validation(format!(
        "Parameter InvocationEndpoint is not valid. Reason: {endpoint} is not a valid HTTPS URL."
    )))
}

/// The method's name; refused when the model does not list it.
fn method(method: &ApiDestinationHttpMethod) -> Result<String, ServiceError> {
    match method {
        ApiDestinationHttpMethod::Unknown(other) => Err(ServiceError::validation(format!(
            "1 validation error detected: Value '{other}' at 'httpMethod' failed to satisfy \
             constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, \
             PATCH, DELETE]"
        ))),
        known => Ok(known.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_absolute_http_urls() {
        for valid in [
            "https://api.example.com/hooks/*",
            "http://127.0.0.1:8080/events?x=1",
        ] {
            assert!(check_endpoint(valid).is_ok(), "{valid}");
        }
        for invalid in ["ftp://example.com/", "/relative", "example.com", "https://"] {
            assert!(check_endpoint(invalid).is_err(), "{invalid}");
        }
    }
}
