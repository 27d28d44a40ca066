//! The Palisade server: one binary that answers the AWS security services.
//!
//! [`app`] is the whole HTTP surface as an axum `Router`; [`start`] opens the store, starts the
//! background writers and serves `app` on a listener. The layers, outermost first:
//!
//! 1. connection: hyper with a header read timeout, so a client that trickles its headers is cut
//!    off and holds nothing;
//! 2. [`request_id`]: every response, AWS or not, carries `x-amzn-RequestId`;
//! 3. routing between Palisade's own endpoints ([`admin`]) and the AWS API;
//! 4. the AWS [`pipeline`]: body limits → route → authenticate → decode and validate →
//!    authorize → handler → encode → audit → metrics.

pub mod admin;
pub mod auth;
pub mod authorize;
pub mod client_ip;
pub mod config;
pub mod keys;
pub mod metrics;
pub mod pipeline;
pub mod resource_tags;
pub mod resources;
pub mod secret_reader;
pub mod services;
pub mod simulate;
pub mod state;

mod serve;

pub use serve::{RunningServer, StartError, start, start_with_authorizer, start_with_clock};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use http::HeaderValue;

use crate::state::AppState;

/// The request id of the request being served, set by the outermost layer.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The whole HTTP surface.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_palisade/health", get(admin::health))
        .route("/_palisade/reset", post(admin::reset))
        .route("/_palisade/cloudtrail/deliver", post(admin::deliver_trails))
        .route(
            "/_palisade/cloudwatch/evaluate",
            post(admin::evaluate_alarms),
        )
        .route("/_palisade/events/schedule", post(admin::fire_schedules))
        .route("/moto-api/reset", post(admin::reset))
        .route("/_localstack/health", get(admin::localstack_health))
        .route("/metrics", get(admin::metrics))
        .fallback(aws)
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// Gives the request an id and puts it on the response.
async fn request_id(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let header = HeaderValue::from_str(&id).ok();
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    if let Some(header) = header {
        response
            .headers_mut()
            .entry("x-amzn-requestid")
            .or_insert(header);
    }
    response
}

async fn aws(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(RequestId(id)): Extension<RequestId>,
    request: Request<Body>,
) -> Response {
    pipeline::handle(&state, peer, id, request).await
}
