//! Secrets Manager through the generated service, over a real store, KMS and a manual clock.

#[expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure is a failed test"
)]
mod common;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod cross_account;
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod databases;
mod deletion;
mod encryption;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod listing;
mod policies;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod replication;
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod rotation;
mod versions;
