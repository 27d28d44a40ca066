//! STS against real IAM state: roles, users, policies and MFA devices created through the IAM
//! API, STS called through its trait as the server calls it.

mod assume_role;
mod authorization_messages;
#[expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a failed test"
)]
mod common;
mod sessions;
