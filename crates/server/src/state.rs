//! What every request shares.

use std::sync::Arc;

use palisade_audit::AuditLog;
use palisade_core::clock::Clock;
use palisade_store::Store;

use crate::auth::Credentials;
use crate::authorize::Authorizer;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::services::Services;

/// The server's shared state.
pub struct AppState {
    /// The resolved configuration.
    pub config: Config,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The store.
    pub store: Arc<Store>,
    /// The audit writer.
    pub audit: AuditLog,
    /// Chooses the service and operation of a request.
    pub router: palisade_wire::Router,
    /// The services.
    pub services: Services,
    /// The keys requests are signed with.
    pub credentials: Credentials,
    /// The authorize step.
    pub authorizer: Arc<dyn Authorizer>,
    /// Request metrics.
    pub metrics: Metrics,
    /// CloudTrail, for the local-mode delivery endpoint.
    pub cloudtrail: Arc<palisade_cloudtrail::CloudTrailState>,
    /// EventBridge, whose default buses receive an "AWS API Call via CloudTrail" event for each
    /// audited call that is not read-only.
    pub events: Arc<palisade_events::EventsState>,
}
