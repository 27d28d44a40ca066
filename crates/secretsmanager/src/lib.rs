//! AWS Secrets Manager behind the generated [`palisade_model_secretsmanager::Secretsmanager`]
//! trait: secrets with versions and staging labels, tags, deletion with a recovery window,
//! resource policies, random passwords, rotation through registered rotation functions, and
//! replication to other regions.
//!
//! Every version's value is encrypted by envelope encryption under a KMS key
//! ([`palisade_core::keys::KeyService`], on the caller's behalf; `crypto` has the details) and
//! stored as a sealed store value; metadata is stored in the clear (`db` has the layout).
//!
//! Besides the AWS API, [`SecretsManagerState`] offers the server two sweepers to run every
//! minute, [`SecretsManagerState::rotate_due_secrets`] and
//! [`SecretsManagerState::delete_due_secrets`], the registry of rotation functions
//! ([`SecretsManagerState::rotation_functions`]) and
//! [`SecretsManagerState::secret_facts`] for the authorizer.

mod builtin;
mod crypto;
mod db;
mod functions;
mod ids;
mod listing;
mod password;
mod policy;
mod records;
mod replication;
mod rotation;
mod schedule;
mod secrets;
mod stages;

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_core::keys::KeyService;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_secretsmanager::types::*;
use palisade_store::Store;
use palisade_store::derived::Derived;
use palisade_store::typed::Stored;

use crate::records::SecretRecord;

/// Secret records kept decoded; past this many the cache starts over.
const MAX_DECODED_SECRETS: usize = 10_000;

pub use builtin::{DatabaseEngine, DatabaseRotation, RotationStrategy};
pub use db::secret_owner;
pub use functions::{
    CommandFunction, HttpFunction, RotationEvent, RotationFunction, RotationFunctions, RotationStep,
};
pub use policy::SecretFacts;

/// The Secrets Manager service: register it as
/// `palisade_model_secretsmanager::SecretsmanagerService(Arc::new(SecretsManagerState::new(..)))`.
pub struct SecretsManagerState {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyService>,
    rotation_functions: Arc<RotationFunctions>,
    /// Secret records as decoded, by store key, until the secrets keyspace is next written:
    /// every call that names a secret reads its record, the authorizer first (for its policy)
    /// and then the handler, and decoding it is a good part of a `GetSecretValue`.
    decoded_secrets: Derived<String, Option<Stored<SecretRecord>>>,
}

impl SecretsManagerState {
    /// The service over `store`, telling time by `clock`, encrypting through `keys`, with no
    /// rotation functions registered yet.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<dyn KeyService>) -> Self {
        Self {
            store,
            clock,
            keys,
            rotation_functions: Arc::default(),
            decoded_secrets: Derived::new(MAX_DECODED_SECRETS),
        }
    }

    /// The current time in milliseconds since the epoch.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for SecretsManagerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerState")
            .finish_non_exhaustive()
    }
}

impl palisade_model_secretsmanager::Secretsmanager for SecretsManagerState {
    async fn create_secret(
        &self,
        ctx: &RequestContext,
        input: CreateSecretRequest,
    ) -> Result<CreateSecretResponse, ServiceError> {
        secrets::create(self, ctx, input).await
    }

    async fn get_secret_value(
        &self,
        ctx: &RequestContext,
        input: GetSecretValueRequest,
    ) -> Result<GetSecretValueResponse, ServiceError> {
        secrets::get_value(self, ctx, input).await
    }

    async fn put_secret_value(
        &self,
        ctx: &RequestContext,
        input: PutSecretValueRequest,
    ) -> Result<PutSecretValueResponse, ServiceError> {
        secrets::put_value(self, ctx, input).await
    }

    async fn update_secret(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretRequest,
    ) -> Result<UpdateSecretResponse, ServiceError> {
        secrets::update(self, ctx, input).await
    }

    async fn update_secret_version_stage(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretVersionStageRequest,
    ) -> Result<UpdateSecretVersionStageResponse, ServiceError> {
        secrets::update_version_stage(self, ctx, input).await
    }

    async fn describe_secret(
        &self,
        ctx: &RequestContext,
        input: DescribeSecretRequest,
    ) -> Result<DescribeSecretResponse, ServiceError> {
        secrets::describe(self, ctx, input).await
    }

    async fn delete_secret(
        &self,
        ctx: &RequestContext,
        input: DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, ServiceError> {
        secrets::delete(self, ctx, input).await
    }

    async fn restore_secret(
        &self,
        ctx: &RequestContext,
        input: RestoreSecretRequest,
    ) -> Result<RestoreSecretResponse, ServiceError> {
        secrets::restore(self, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), ServiceError> {
        secrets::tag(self, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        secrets::untag(self, ctx, input).await
    }

    async fn list_secrets(
        &self,
        ctx: &RequestContext,
        input: ListSecretsRequest,
    ) -> Result<ListSecretsResponse, ServiceError> {
        listing::list(self, ctx, input).await
    }

    async fn list_secret_version_ids(
        &self,
        ctx: &RequestContext,
        input: ListSecretVersionIdsRequest,
    ) -> Result<ListSecretVersionIdsResponse, ServiceError> {
        listing::list_versions(self, ctx, input).await
    }

    async fn batch_get_secret_value(
        &self,
        ctx: &RequestContext,
        input: BatchGetSecretValueRequest,
    ) -> Result<BatchGetSecretValueResponse, ServiceError> {
        listing::batch_get(self, ctx, input).await
    }

    async fn get_random_password(
        &self,
        _ctx: &RequestContext,
        input: GetRandomPasswordRequest,
    ) -> Result<GetRandomPasswordResponse, ServiceError> {
        password::get_random_password(input)
    }

    async fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: PutResourcePolicyRequest,
    ) -> Result<PutResourcePolicyResponse, ServiceError> {
        policy::put(self, ctx, input).await
    }

    async fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: GetResourcePolicyRequest,
    ) -> Result<GetResourcePolicyResponse, ServiceError> {
        policy::get(self, ctx, input).await
    }

    async fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteResourcePolicyRequest,
    ) -> Result<DeleteResourcePolicyResponse, ServiceError> {
        policy::delete(self, ctx, input).await
    }

    async fn validate_resource_policy(
        &self,
        ctx: &RequestContext,
        input: ValidateResourcePolicyRequest,
    ) -> Result<ValidateResourcePolicyResponse, ServiceError> {
        policy::validate(self, ctx, input).await
    }

    async fn rotate_secret(
        &self,
        ctx: &RequestContext,
        input: RotateSecretRequest,
    ) -> Result<RotateSecretResponse, ServiceError> {
        rotation::rotate(self, ctx, input).await
    }

    async fn cancel_rotate_secret(
        &self,
        ctx: &RequestContext,
        input: CancelRotateSecretRequest,
    ) -> Result<CancelRotateSecretResponse, ServiceError> {
        rotation::cancel(self, ctx, input).await
    }

    async fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        input: ReplicateSecretToRegionsRequest,
    ) -> Result<ReplicateSecretToRegionsResponse, ServiceError> {
        replication::replicate_to_regions(self, ctx, input).await
    }

    async fn remove_regions_from_replication(
        &self,
        ctx: &RequestContext,
        input: RemoveRegionsFromReplicationRequest,
    ) -> Result<RemoveRegionsFromReplicationResponse, ServiceError> {
        replication::remove_regions(self, ctx, input).await
    }

    async fn stop_replication_to_replica(
        &self,
        ctx: &RequestContext,
        input: StopReplicationToReplicaRequest,
    ) -> Result<StopReplicationToReplicaResponse, ServiceError> {
        replication::stop_replication(self, ctx, input).await
    }
}
