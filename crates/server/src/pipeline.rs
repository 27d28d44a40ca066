//! The path every AWS request takes, one step after another:
//!
//! read the body (within limits) → route → authenticate (SigV4) → decode and validate →
//! authorize → service handler → encode → audit (durable before the response leaves) → metrics
//!
//! Each step lives once, here or in the crate that owns it; a step that fails renders its error
//! in the client's protocol and the remaining steps are skipped, except audit and metrics,
//! which every routed request passes through.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use palisade_audit::{AuditRecord, CallOutcome, RecordDetails, request_parameters};
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::model::{Protocol, ServiceModel};
use palisade_core::service::CommonError;
use palisade_core::{AccountId, Principal, Region, RequestContext, ServiceError, Value};
use palisade_sigv4 as sigv4;
use palisade_wire::Route;

use crate::state::AppState;

/// The largest body read before a service is known; services allow at most this much.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The largest request body a service accepts, as AWS documents its quotas.
fn body_limit(model: &ServiceModel) -> usize {
    match model.name {
        // PutLogEvents: 1,048,576 bytes of events, plus the JSON around them.
        "logs" | "cloudwatch" | "events" => 2 * 1024 * 1024,
        // Security Hub and Inspector batch imports are the largest documents in scope.
        "securityhub" | "inspector2" | "guardduty" => 8 * 1024 * 1024,
        _ => 1024 * 1024,
    }
}

/// Runs one AWS request through the pipeline.
pub async fn handle(
    state: &AppState,
    peer: SocketAddr,
    request_id: String,
    request: Request<Body>,
) -> Response<Body> {
    let arrived = Instant::now();
    let now = state.clock.now();
    let (parts, body) = request.into_parts();

    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let error = ServiceError::common(
                CommonError::RequestTooLarge,
                "Request body is larger than the service accepts.",
            );
            let protocol = palisade_wire::protocol_hint(&parts, &[]);
            return into_body(palisade_wire::encode_error(
                protocol,
                None,
                &error,
                &request_id,
            ));
        }
    };

    let mut headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    // HTTP/2 carries the host as the `:authority` pseudo-header, which clients sign as `host`.
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        headers.push(("host", authority.as_str().as_bytes()));
    }
    let signed = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        payload: sigv4::Payload::Bytes(&body),
    };
    let authorization = sigv4::parse(&signed);
    let signing_service = authorization
        .as_ref()
        .ok()
        .map(|auth| auth.scope.service.as_str());

    let route = match state.router.route(&parts, &body, signing_service) {
        Ok(route) => route,
        Err(error) => return into_body(error.into_response(&request_id)),
    };
    let model = route.model;
    let operation = route.operation;
    let client = crate::client_ip::client(peer.ip(), &parts.headers, &state.config.trusted_proxies);
    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");

    // Operations AWS accepts unsigned (their credentials travel in the input) skip the
    // signature check and the authorize step when sent unsigned; their handler authorizes them.
    let anonymous = operation.anonymous
        && matches!(authorization, Err(sigv4::Error::MissingAuthenticationToken));
    let authenticated = if anonymous {
        Ok((
            Principal::anonymous(state.config.account.clone()),
            Region::us_east_1(),
        ))
    } else {
        let now_secs = palisade_core::clock::millis_since_epoch(now).div_euclid(1000);
        match &authorization {
            Ok(authorization) => {
                state
                    .credentials
                    .authenticate(&signed, authorization, model.signing_name, now_secs)
                    .await
            }
            Err(error) => Err(crate::auth::signature_error(error.clone())),
        }
    };
    let (principal, region) = match authenticated {
        Ok(identity) => identity,
        Err(error) => {
            let response = error_response(&route, &error, &request_id);
            // The record names the key and region the request claimed, if it parsed that far.
            let claimed = authorization.as_ref().ok();
            let region = claimed
                .and_then(|authorization| Region::parse(&authorization.scope.region))
                .unwrap_or_else(Region::us_east_1);
            let caller = palisade_audit::Anonymous {
                access_key_id: claimed.map(|authorization| authorization.access_key_id.as_str()),
                account: state.config.account.as_str(),
                region: region.as_str(),
                source_ip: client.ip,
                user_agent,
            };
            let record = AuditRecord::for_unauthenticated(
                &caller,
                &request_id,
                now,
                model,
                operation.name,
                failure(route.protocol, &error),
            );
            let scope = CallScope {
                account: &state.config.account,
                region: &region,
                time: now,
            };
            return finish(state, &route, scope, record, response, arrived).await;
        }
    };

    let ctx = RequestContext {
        request_id: request_id.clone(),
        principal,
        region,
        source_ip: client.ip,
        user_agent: user_agent.to_owned(),
        time: now,
        secure_transport: client.secure_transport,
    };

    if body.len() > body_limit(model) {
        let error = ServiceError::common(
            CommonError::RequestTooLarge,
            format!(
                "Request body of {} bytes is larger than the {} bytes {} accepts.",
                body.len(),
                body_limit(model),
                model.service_id
            ),
        );
        let details = RecordDetails::default();
        return audited_error(state, &ctx, &route, None, details, &error, arrived).await;
    }

    let input = match palisade_wire::decode(&route, &parts, &body) {
        Ok(input) => input,
        Err(error) => {
            let details = RecordDetails::default();
            return audited_error(state, &ctx, &route, None, details, &error, arrived).await;
        }
    };
    let mut parameters = operation
        .input
        .and_then(|shape| request_parameters(model, shape, &input));
    // KMS records show what AWS's do beyond the generic rendering: defaults, the keys used.
    let kms = model.name == "kms";
    let mut details = if kms {
        palisade_kms::audit::request_details(&ctx, operation.name, &input, &mut parameters)
    } else {
        RecordDetails::default()
    };

    if !anonymous
        && let Err(error) = state
            .authorizer
            .authorize(&ctx, model, operation, &input)
            .await
    {
        return audited_error(state, &ctx, &route, parameters, details, &error, arrived).await;
    }

    let Some(service) = state.services.get(model) else {
        let error = ServiceError::not_implemented(model, operation.name);
        return audited_error(state, &ctx, &route, parameters, details, &error, arrived).await;
    };
    let output = match service.call(&ctx, operation, input).await {
        Ok(output) => output,
        Err(error) => {
            return audited_error(state, &ctx, &route, parameters, details, &error, arrived).await;
        }
    };

    let response = palisade_wire::encode(&route, &output, &request_id);
    let mut elements = response_elements(model, &route, &output);
    if kms {
        palisade_kms::audit::amend_response(operation.name, &output, &mut elements, &mut details);
    }
    let record = AuditRecord::for_call(
        &ctx,
        model,
        operation.name,
        parameters,
        CallOutcome::Success(elements),
    )
    .with_details(details);
    finish(
        state,
        &route,
        CallScope::of(&ctx),
        record,
        response,
        arrived,
    )
    .await
}

/// CloudTrail shows what a call changed, not what it read: read-only calls carry no response
/// elements.
fn response_elements(
    model: &'static ServiceModel,
    route: &Route,
    output: &Value,
) -> Option<serde_json::Value> {
    let shape = route.operation.output?;
    let record_worthy = !palisade_audit::is_read_only(route.operation.name);
    record_worthy
        .then(|| request_parameters(model, shape, output))
        .flatten()
}

fn failure(protocol: Protocol, error: &ServiceError) -> CallOutcome {
    CallOutcome::Failure {
        code: palisade_wire::error_code(protocol, error).to_owned(),
        message: error.message.clone(),
    }
}

fn error_response(route: &Route, error: &ServiceError, request_id: &str) -> Response<Bytes> {
    palisade_wire::encode_error(route.protocol, Some(route.model), error, request_id)
}

async fn audited_error(
    state: &AppState,
    ctx: &RequestContext,
    route: &Route,
    parameters: Option<serde_json::Value>,
    details: RecordDetails,
    error: &ServiceError,
    arrived: Instant,
) -> Response<Body> {
    let response = error_response(route, error, &ctx.request_id);
    let record = AuditRecord::for_call(
        ctx,
        route.model,
        route.operation.name,
        parameters,
        failure(route.protocol, error),
    )
    .with_details(details);
    finish(state, route, CallScope::of(ctx), record, response, arrived).await
}

/// The account, region and time an audit record names: where and when the call's
/// "AWS API Call via CloudTrail" event goes.
struct CallScope<'a> {
    account: &'a AccountId,
    region: &'a Region,
    time: SystemTime,
}

impl<'a> CallScope<'a> {
    fn of(ctx: &'a RequestContext) -> Self {
        Self {
            account: &ctx.principal.account,
            region: &ctx.region,
            time: ctx.time,
        }
    }
}

/// Persists the audit record, puts it on EventBridge, then counts the request and lets the
/// response go. A record that cannot be persisted fails the request.
async fn finish(
    state: &AppState,
    route: &Route,
    scope: CallScope<'_>,
    record: AuditRecord<'_>,
    response: Response<Bytes>,
    arrived: Instant,
) -> Response<Body> {
    let response = match state.audit.record(&record).await {
        Ok(()) => {
            publish_api_call(state, route, scope, &record).await;
            response
        }
        Err(error) => {
            tracing::error!(%error, request_id = record.request_id(), "failing the request: audit record not persisted");
            let failure = ServiceError::internal("The request could not be recorded.");
            error_response(route, &failure, record.request_id())
        }
    };
    state.metrics.observe(
        route.model.name,
        route.operation.name,
        response.status().as_u16(),
        arrived.elapsed(),
    );
    into_body(response)
}

/// AWS puts each call CloudTrail records, except read-only ones, on the account's default bus
/// as an "AWS API Call via CloudTrail" event whose detail is the record: in the call's region,
/// or in `us-east-1` for the global services. The record is serialized a second time only when
/// a rule on that bus could match it.
async fn publish_api_call(
    state: &AppState,
    route: &Route,
    scope: CallScope<'_>,
    record: &AuditRecord<'_>,
) {
    /// Services whose events AWS delivers in `us-east-1`, whatever region was called.
    const GLOBAL_SERVICES: &[&str] = &["iam", "sts", "organizations"];
    if palisade_audit::is_read_only(route.operation.name) {
        return;
    }
    let region = if GLOBAL_SERVICES.contains(&route.model.name) {
        Region::us_east_1()
    } else {
        scope.region.clone()
    };
    if !state
        .events
        .default_bus_has_rules(scope.account.as_str(), region.as_str())
        .await
    {
        return;
    }
    let detail = match serde_json::to_string(record) {
        Ok(detail) => detail,
        Err(error) => {
            tracing::warn!(%error, request_id = record.request_id(), "API call event not published");
            return;
        }
    };
    state.events.publish(ServiceEvent {
        account: scope.account.clone(),
        region,
        source: format!("aws.{}", route.model.endpoint_prefix),
        detail_type: "AWS API Call via CloudTrail".to_owned(),
        resources: Vec::new(),
        detail,
        time: scope.time,
    });
}

fn into_body(response: Response<Bytes>) -> Response<Body> {
    response.map(Body::from)
}
