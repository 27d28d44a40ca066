//! AWS Identity and Access Management: users, groups, roles, managed and inline policies,
//! access keys, virtual MFA devices, login profiles and account settings, and the policy
//! simulator, behind the generated [`palisade_model_iam::Iam`] trait.
//!
//! IAM is global: its state belongs to the caller's account, never to a region. It lives in the
//! store (the `db` module describes the layout), and every change is one transaction whose
//! preconditions pin the versions it read, retried a few times on a conflict.
//!
//! Besides the AWS API, [`IamState`] answers the server's own questions: which access key signed
//! a request ([`IamState::access_key`]), which policies apply to a principal
//! ([`IamState::principal_policies`]), what a role allows STS to do ([`IamState::role`]), and
//! whether an MFA code is right ([`IamState::verify_mfa_code`]).

mod access_keys;
mod account;
mod attachments;
mod authorization_details;
mod aws_policies;
mod db;
mod groups;
pub mod ids;
mod inline_policies;
mod login_profiles;
mod managed_policies;
mod mfa;
mod paging;
mod png;
pub mod policy_document;
mod policy_layout;
mod principals;
mod records;
mod roles;
mod service;
mod simulation;
mod tags;
mod totp;
mod users;

use std::sync::Arc;

use palisade_core::clock::Clock;
use palisade_store::Store;

pub use access_keys::{AccessKeyRecord, AccessKeyStatus};
pub use principals::{PolicySource, PolicyText, PrincipalPolicies, RoleInfo};

/// The IAM service: register it as `palisade_model_iam::IamService(IamState::new(store, clock))`.
pub struct IamState {
    store: Store,
    clock: Arc<dyn Clock>,
    key_usage: access_keys::UsageCache,
}

impl IamState {
    /// The service over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            key_usage: access_keys::UsageCache::default(),
        }
    }

    /// The current time in whole seconds since the epoch: IAM reports dates to the second.
    fn now(&self) -> i64 {
        self.clock.now_millis().div_euclid(1000)
    }
}

impl std::fmt::Debug for IamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamState").finish_non_exhaustive()
    }
}
