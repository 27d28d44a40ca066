//! The ground every Palisade crate stands on.
//!
//! - [`model`]: the static description of an AWS service (operations, shapes, constraints) that
//!   the generated `palisade-model-*` crates fill in and the wire layer reads.
//! - [`value`]: the protocol-neutral document a request decodes into, and the conversions
//!   between it and the generated typed structs.
//! - [`validate`]: the model's constraints, checked with AWS's wording.
//! - [`service`]: the trait every service implements, and the typed error it returns.
//! - [`context`]: who is calling, in which account and region.
//! - [`events`]: events services emit for EventBridge.
//! - [`keys`]: KMS as other services call it on a caller's behalf, and the keys they use as
//!   their own service principal.
//! - [`metrics`]: metric data services record in CloudWatch.
//! - [`secrets`]: Secrets Manager as Parameter Store reads it on a caller's behalf.
//! - [`sensitive`]: a wrapper for values that must never be printed.
//! - [`clock`]: injected time, so that tests move a clock rather than sleep.

pub mod clock;
pub mod context;
pub mod events;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod secrets;
pub mod sensitive;
pub mod service;
pub mod validate;
pub mod value;

pub use context::{AccountId, Principal, PrincipalKind, Region, RequestContext};
pub use sensitive::Sensitive;
pub use service::{Service, ServiceError};
pub use value::{FromValue, IntoValue, Value};
