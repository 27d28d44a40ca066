//! CloudWatch Logs through the generated service, over a real store and a manual clock.

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
mod events;
mod groups;
mod metric_filters;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod retention;
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
mod streams;
