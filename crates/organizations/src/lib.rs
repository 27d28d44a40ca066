//! AWS Organizations behind the generated [`palisade_model_organizations::Organizations`] trait:
//! the organization and its root, accounts (created, invited, closed, removed, leaving),
//! organizational units, service and resource control policies with their attachments, tags,
//! trusted service access, delegated administrators and the organization's resource policy
//! (stored and validated; the authorizer does not consult it yet).
//!
//! Organizations is global: its state belongs to the organization, whatever the request's
//! region. The whole organization is one record, so that the authorizer's question (which SCPs
//! and RCPs bind an account, along its OU path) costs two store reads: see
//! [`OrganizationsState::account_context`].
//!
//! `CreateAccount` creates the new account's `OrganizationAccountAccessRole` through IAM when
//! the service is given IAM with [`OrganizationsState::with_iam`].

mod accounts;
mod admin;
mod context;
mod db;
mod handshakes;
mod ids;
mod organization;
mod paging;
mod policies;
mod records;
mod service;
mod units;

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_iam::IamState;
use palisade_store::Store;

pub use context::{OrgContext, OrgPolicyDocument};

/// The Organizations service: register it as
/// `palisade_model_organizations::OrganizationsService(Arc::new(OrganizationsState::new(..)))`.
pub struct OrganizationsState {
    store: Store,
    clock: Arc<dyn Clock>,
    iam: Option<Arc<IamState>>,
}

impl OrganizationsState {
    /// The service over `store`, telling time by `clock`. Without IAM (see
    /// [`OrganizationsState::with_iam`]) new accounts get no access role.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            iam: None,
        }
    }

    /// The service creating each new account's access role in `iam`.
    pub fn with_iam(self, iam: Arc<IamState>) -> Self {
        Self {
            iam: Some(iam),
            ..self
        }
    }

    /// The current time in milliseconds since the epoch.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

impl std::fmt::Debug for OrganizationsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrganizationsState").finish_non_exhaustive()
    }
}
