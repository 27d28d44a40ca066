//! KMS through the generated service, over a real store and a manual clock.

mod aliases;
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
mod crypto;
mod events;
mod grants;
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod import;
mod keys;
mod managed;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod multi_region;
mod rotation;
mod signing;
