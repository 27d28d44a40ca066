//! AWS Systems Manager Parameter Store (the parameter operations of the SSM API) behind the
//! generated [`palisade_model_ssm::Ssm`] trait. SecureString values are encrypted through KMS
//! ([`palisade_core::keys::KeyService`]) on the caller's behalf.
//!
//! - [`names`]: name, path, selector and label rules, and [`parameter_arn`];
//! - `records`: the store layout and the read-modify-write loop;
//! - `put`, `read`, `change`: the operations;
//! - `secure`: SecureString encryption; `policies` and `sweep`: parameter policies;
//! - `filters`: the filters of `DescribeParameters` and `GetParametersByPath`;
//! - `public`: the read-only `/aws/service/...` parameters;
//! - `reference`: `/aws/reference/secretsmanager/...`, Secrets Manager secrets read through
//!   [`SecretReader`] as the caller;
//! - `events`: the EventBridge events Parameter Store emits.
//!
//! Not built (answer NotImplemented): every SSM operation outside Parameter Store.

mod change;
mod events;
mod filters;
pub mod names;
mod policies;
mod public;
mod put;
mod read;
mod records;
mod reference;
mod secure;
mod sweep;

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_core::events::{Discard, EventSink};
use palisade_core::keys::KeyService;
use palisade_core::secrets::SecretReader;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_ssm::types::*;
use palisade_store::Store;
use palisade_store::derived::Derived;
use palisade_store::typed::Stored;

use crate::records::ParameterRecord;

/// Parameter records kept decoded; past this many the cache starts over.
const MAX_DECODED_PARAMETERS: usize = 10_000;

pub use names::parameter_arn;

/// Parameter Store: register it as `palisade_model_ssm::SsmService(Arc::new(ParameterStore::new(..)))`.
pub struct ParameterStore {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyService>,
    events: Arc<dyn EventSink>,
    /// Answers `/aws/reference/secretsmanager/...`; without one, every referenced secret is
    /// missing.
    secrets: Option<Arc<dyn SecretReader>>,
    /// Parameter records as decoded, by store key, until the parameters keyspace is next
    /// written: a read decodes the parameter's whole history otherwise, on every call.
    decoded_parameters: Derived<String, Option<Stored<ParameterRecord>>>,
}

impl ParameterStore {
    /// The service over `store`, telling time by `clock`, encrypting through `keys`. Events are
    /// discarded until [`ParameterStore::with_events`] names a sink.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<dyn KeyService>) -> Self {
        Self {
            store,
            clock,
            keys,
            events: Arc::new(Discard),
            secrets: None,
            decoded_parameters: Derived::new(MAX_DECODED_PARAMETERS),
        }
    }

    /// Answers `GetParameter` and `GetParameters` on `/aws/reference/secretsmanager/<secret>`
    /// by reading the secret through `secrets`, as the caller.
    #[must_use]
    pub fn with_secret_reader(mut self, secrets: Arc<dyn SecretReader>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Publishes "Parameter Store Change" and "Parameter Store Policy Action" events to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Applies every parameter policy that has fallen due by the clock: expired parameters are
    /// deleted, notifications are sent. Answers how many policies acted. The server calls it
    /// every minute; policy state is in the store, so nothing is lost across restarts.
    pub async fn apply_parameter_policies(&self) -> Result<usize, ServiceError> {
        sweep::apply_due_policies(self).await
    }

    /// Publishes a "Parameter Store Change" event, once the change is committed.
    fn publish_change(
        &self,
        tenant: &records::Tenant,
        operation: events::Operation,
        name: &str,
        kind: records::Kind,
        description: Option<&str>,
    ) {
        let now = self.clock.now();
        if let Some(event) = events::change(tenant, now, operation, name, kind, description) {
            self.events.publish(event);
        }
    }
}

impl std::fmt::Debug for ParameterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterStore").finish_non_exhaustive()
    }
}

impl palisade_model_ssm::Ssm for ParameterStore {
    async fn put_parameter(
        &self,
        ctx: &RequestContext,
        input: PutParameterRequest,
    ) -> Result<PutParameterResult, ServiceError> {
        put::put_parameter(self, ctx, input).await
    }

    async fn get_parameter(
        &self,
        ctx: &RequestContext,
        input: GetParameterRequest,
    ) -> Result<GetParameterResult, ServiceError> {
        read::get_parameter(self, ctx, input).await
    }

    async fn get_parameters(
        &self,
        ctx: &RequestContext,
        input: GetParametersRequest,
    ) -> Result<GetParametersResult, ServiceError> {
        read::get_parameters(self, ctx, input).await
    }

    async fn get_parameters_by_path(
        &self,
        ctx: &RequestContext,
        input: GetParametersByPathRequest,
    ) -> Result<GetParametersByPathResult, ServiceError> {
        read::get_parameters_by_path(self, ctx, input).await
    }

    async fn describe_parameters(
        &self,
        ctx: &RequestContext,
        input: DescribeParametersRequest,
    ) -> Result<DescribeParametersResult, ServiceError> {
        read::describe_parameters(self, ctx, input).await
    }

    async fn get_parameter_history(
        &self,
        ctx: &RequestContext,
        input: GetParameterHistoryRequest,
    ) -> Result<GetParameterHistoryResult, ServiceError> {
        read::get_parameter_history(self, ctx, input).await
    }

    async fn delete_parameter(
        &self,
        ctx: &RequestContext,
        input: DeleteParameterRequest,
    ) -> Result<DeleteParameterResult, ServiceError> {
        change::delete_parameter(self, ctx, input).await
    }

    async fn delete_parameters(
        &self,
        ctx: &RequestContext,
        input: DeleteParametersRequest,
    ) -> Result<DeleteParametersResult, ServiceError> {
        change::delete_parameters(self, ctx, input).await
    }

    async fn label_parameter_version(
        &self,
        ctx: &RequestContext,
        input: LabelParameterVersionRequest,
    ) -> Result<LabelParameterVersionResult, ServiceError> {
        change::label_parameter_version(self, ctx, input).await
    }

    async fn unlabel_parameter_version(
        &self,
        ctx: &RequestContext,
        input: UnlabelParameterVersionRequest,
    ) -> Result<UnlabelParameterVersionResult, ServiceError> {
        change::unlabel_parameter_version(self, ctx, input).await
    }

    async fn add_tags_to_resource(
        &self,
        ctx: &RequestContext,
        input: AddTagsToResourceRequest,
    ) -> Result<AddTagsToResourceResult, ServiceError> {
        change::add_tags_to_resource(self, ctx, input).await
    }

    async fn remove_tags_from_resource(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsFromResourceRequest,
    ) -> Result<RemoveTagsFromResourceResult, ServiceError> {
        change::remove_tags_from_resource(self, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResult, ServiceError> {
        change::list_tags_for_resource(self, ctx, input).await
    }
}
