//! The wire layer's behaviour, protocol by protocol, against small hand-written models, real
//! botocore requests and generated service models.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

mod botocore;
mod cbor;
mod errors;
mod hostile;
mod json;
mod models;
mod query;
mod rest;
mod support;
