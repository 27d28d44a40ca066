//! IAM's behaviour through the generated trait, against a real store in a temporary directory
//! and a manual clock.

mod access_keys;
mod account;
#[expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod common;
mod groups;
mod mfa;
mod policies;
mod roles;
mod simulation;
mod users;
