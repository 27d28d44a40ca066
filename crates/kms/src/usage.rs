//! Key last usage (`GetKeyLastUsage`): the last successful cryptographic operation with each
//! key. It is kept in memory, so tracking starts when the server starts, and that is the
//! tracking start date reported (or the key's creation date, when later), as AWS reports the
//! date it began recording.

use std::collections::HashMap;
use std::sync::Mutex;

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::types::*;

use crate::KmsState;
use crate::db::Tenant;

/// The last use of every key used since the server started.
#[derive(Debug)]
pub(crate) struct UsageLog {
    /// Milliseconds since the epoch.
    started: i64,
    /// By the key's store key (tenant and key id).
    last: Mutex<HashMap<String, LastUse>>,
}

#[derive(Debug, Clone)]
struct LastUse {
    operation: &'static str,
    /// Milliseconds since the epoch.
    at: i64,
    request_id: String,
}

impl UsageLog {
    pub fn new(started: i64) -> Self {
        Self {
            started,
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl KmsState {
    /// Records that `operation` (a `KeyLastUsageTrackingOperation` name) just succeeded with the
    /// key whose ARN its response names as `key_arn`.
    pub(crate) fn note_use(
        &self,
        ctx: &RequestContext,
        operation: &'static str,
        key_arn: Option<&str>,
    ) {
        let Some((arn, id)) = key_arn.and_then(|arn| Some((arn, arn.rsplit('/').next()?))) else {
            return;
        };
        let use_ = LastUse {
            operation,
            at: self.now(),
            request_id: ctx.request_id.clone(),
        };
        if let Ok(mut last) = self.usage.last.lock() {
            // Under the key's owner, which the ARN names (another account's, used across
            // accounts).
            last.insert(Tenant::owning(ctx, arn).store_key(id), use_);
        }
    }

    /// Forgets the last use of a deleted key.
    pub(crate) fn forget_use(&self, tenant: &Tenant, id: &str) {
        if let Ok(mut last) = self.usage.last.lock() {
            last.remove(&tenant.store_key(id));
        }
    }
}

pub(crate) async fn get(
    state: &KmsState,
    ctx: &RequestContext,
    input: GetKeyLastUsageRequest,
) -> Result<GetKeyLastUsageResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    let last = state
        .usage
        .last
        .lock()
        .ok()
        .and_then(|last| last.get(&tenant.store_key(&key.id)).cloned());
    Ok(GetKeyLastUsageResponse {
        key_id: Some(key.id),
        key_last_usage: last.map(|last| KeyLastUsageData {
            operation: Some(KeyLastUsageTrackingOperation::from(last.operation)),
            timestamp: Some(Timestamp::from_millis(last.at)),
            // The audit record of the call carries the request id as its event's request id.
            kms_request_id: Some(last.request_id),
            cloud_trail_event_id: None,
        }),
        tracking_start_date: Some(Timestamp::from_millis(state.usage.started.max(key.created))),
        key_creation_date: Some(Timestamp::from_millis(key.created)),
    })
}
