//! Organizations through the generated service, over a real store and a manual clock, with IAM
//! for the access roles of new accounts.

mod accounts;
#[expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod common;
mod context;
mod handshakes;
mod organization;
mod policies;
mod units;
