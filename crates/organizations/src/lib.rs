//! AWS Organizations behind the generated [`palisade_model_organizations::Organizations`] trait.

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_store::Store;

/// The Organizations service: register it as
/// `palisade_model_organizations::OrganizationsService(Arc::new(OrganizationsState::new(..)))`.
#[expect(dead_code, reason = "the operations that read these land next")]
pub struct OrganizationsState {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl OrganizationsState {
    /// The service over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

impl std::fmt::Debug for OrganizationsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrganizationsState").finish_non_exhaustive()
    }
}

impl palisade_model_organizations::Organizations for OrganizationsState {}
