//! AWS Secrets Manager behind the generated [`palisade_model_secretsmanager::Secretsmanager`]
//! trait. Secret values are encrypted through KMS ([`palisade_core::keys::KeyService`]) on the
//! caller's behalf.

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_core::keys::KeyService;
use palisade_store::Store;

/// The Secrets Manager service: register it as
/// `palisade_model_secretsmanager::SecretsmanagerService(Arc::new(SecretsManagerState::new(..)))`.
#[expect(dead_code, reason = "the operations that read these land next")]
pub struct SecretsManagerState {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyService>,
}

impl SecretsManagerState {
    /// The service over `store`, telling time by `clock`, encrypting through `keys`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<dyn KeyService>) -> Self {
        Self { store, clock, keys }
    }
}

impl std::fmt::Debug for SecretsManagerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerState")
            .finish_non_exhaustive()
    }
}

impl palisade_model_secretsmanager::Secretsmanager for SecretsManagerState {}
