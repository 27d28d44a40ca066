//! Palisade's own endpoints beside the AWS API: health, metrics, and (in local mode) reset, with
//! the aliases that LocalStack and moto users already call, trail delivery and CloudWatch alarm
//! evaluation on demand.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// `GET /_palisade/health`: liveness is answering at all; readiness is the store answering.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.store.health().await {
        Ok(()) => Json(json!({ "status": "ok", "live": true, "ready": true })).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "live": true, "ready": false, "reason": error.to_string() })),
        )
            .into_response(),
    }
}

/// `GET /_localstack/health`, in LocalStack's shape, for tooling that waits on it.
pub async fn localstack_health(State(state): State<Arc<AppState>>) -> Response {
    let services: Map<String, Value> = state
        .services
        .models()
        .into_iter()
        .map(|model| (model.name.to_owned(), Value::from("available")))
        .collect();
    Json(json!({
        "services": services,
        "edition": "palisade",
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// `POST /_palisade/reset` (and moto's `POST /moto-api/reset`): wipes all state. Only in local
/// mode; with configured credentials the endpoint does not exist.
pub async fn reset(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.local_mode() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.audit.reset().await {
        Ok(()) => {
            tracing::info!("state reset");
            Json(json!({ "status": "ok" })).into_response()
        }
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "failed", "reason": error.to_string() })),
        )
            .into_response(),
    }
}

/// `POST /_palisade/cloudtrail/deliver`: delivers every trail's records of the calls answered
/// so far and closes their digests now, rather than at the next period. Only in local mode.
pub async fn deliver_trails(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.local_mode() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.cloudtrail.deliver_now().await {
        Ok(report) => Json(json!({
            "status": "ok",
            "logFiles": report.log_files,
            "digests": report.digests,
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "failed", "reason": error.message })),
        )
            .into_response(),
    }
}

/// `POST /_palisade/cloudwatch/evaluate`: evaluates every CloudWatch alarm now, rather than at
/// the next minute. Only in local mode.
pub async fn evaluate_alarms(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.local_mode() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.services.cloudwatch().evaluate_alarms().await {
        Ok(changed) => Json(json!({ "status": "ok", "stateChanges": changed })).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "failed", "reason": error.message })),
        )
            .into_response(),
    }
}

/// `POST /_palisade/events/schedule`: fires the EventBridge rules whose schedules are due now,
/// rather than at the scheduler's next look. Only in local mode.
pub async fn fire_schedules(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.local_mode() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.events.fire_schedules().await {
        Ok(fired) => Json(json!({ "status": "ok", "fired": fired })).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "failed", "reason": error.message })),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
