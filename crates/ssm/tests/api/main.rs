//! Parameter Store through the generated service, over a real store, real KMS and a manual
//! clock.

#[expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failure is a failed test"
)]
mod common;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod hierarchy;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod labels;
mod parameters;
mod policies;
mod secure;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod tags;
