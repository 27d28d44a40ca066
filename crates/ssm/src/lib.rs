//! AWS Systems Manager Parameter Store (the parameter operations of the SSM API) behind the
//! generated [`palisade_model_ssm::Ssm`] trait. SecureString values are encrypted through KMS
//! ([`palisade_core::keys::KeyService`]) on the caller's behalf.

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_core::keys::KeyService;
use palisade_store::Store;

/// Parameter Store: register it as `palisade_model_ssm::SsmService(Arc::new(ParameterStore::new(..)))`.
#[expect(dead_code, reason = "the operations that read these land next")]
pub struct ParameterStore {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyService>,
}

impl ParameterStore {
    /// The service over `store`, telling time by `clock`, encrypting through `keys`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<dyn KeyService>) -> Self {
        Self { store, clock, keys }
    }
}

impl std::fmt::Debug for ParameterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterStore").finish_non_exhaustive()
    }
}

impl palisade_model_ssm::Ssm for ParameterStore {}
