//! AWS CloudTrail behind the generated [`palisade_model_cloudtrail::Cloudtrail`] trait. What is
//! built: event history (`LookupEvents`) over the audit records the pipeline writes for every
//! call; trails, delivery and digests are not built yet and answer `NotImplemented`.

mod lookup;

use std::sync::Arc;

use palisade_audit::AuditLog;
use palisade_core::clock::Clock;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{LookupEventsRequest, LookupEventsResponse};
use palisade_store::Store;

/// The CloudTrail service: register it as
/// `palisade_model_cloudtrail::CloudtrailService(Arc::new(CloudTrailState::new(..)))`.
pub struct CloudTrailState {
    store: Store,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
}

impl CloudTrailState {
    /// Event history read from `store`, where `audit` copies its records.
    pub fn new(store: Store, clock: Arc<dyn Clock>, audit: AuditLog) -> Self {
        Self {
            store,
            clock,
            audit,
        }
    }
}

impl std::fmt::Debug for CloudTrailState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrailState").finish_non_exhaustive()
    }
}

impl Cloudtrail for CloudTrailState {
    async fn lookup_events(
        &self,
        ctx: &RequestContext,
        input: LookupEventsRequest,
    ) -> Result<LookupEventsResponse, ServiceError> {
        lookup::lookup_events(self, ctx, input).await
    }
}
