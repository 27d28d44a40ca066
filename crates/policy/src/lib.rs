//! Palisade's IAM policy engine: parses IAM JSON policy documents, checks them the way IAM does
//! when a policy is created, and decides requests against the policies that apply to them the
//! way AWS documents its policy evaluation logic. No I/O; no other Palisade crate.
//!
//! ```
//! use palisade_policy::*;
//!
//! let identity = Policy::parse(r#"{
//!     "Version": "2012-10-17",
//!     "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
//! }"#)?;
//! let context = Context::new().with("aws:SourceIp", "203.0.113.7");
//! let request = Request {
//!     principal: Principal::user("arn:aws:iam::111122223333:user/alice"),
//!     action: "kms:Decrypt",
//!     resource: "arn:aws:kms:us-east-1:111122223333:key/k1",
//!     context: &context,
//! };
//! let policies = [&identity];
//! let set = PolicySet {
//!     identity: &policies,
//!     principal_account: "111122223333",
//!     resource_account: "111122223333",
//!     ..PolicySet::default()
//! };
//! let decision = evaluate(&request, &set);
//! assert!(decision.is_allowed());
//! # Ok::<(), PolicyError>(())
//! ```
//!
//! Policies are compiled once ([`Policy::parse_with`]): actions lowercased, resource patterns
//! split at colons, condition values typed (numbers, dates, CIDRs, booleans, base64), policy
//! variables pre-split. Evaluation allocates only for what it reports (matched statements,
//! missing keys) and for values that contain policy variables.
//!
//! Hostile documents cost bounded work: documents over [`limits::MAX_DOCUMENT_BYTES`] are
//! refused before being read, nesting past [`limits::MAX_DEPTH`] is refused where it occurs, and
//! every wildcard match is O(pattern × input).

mod condition;
mod context;
mod error;
mod eval;
mod explain;
mod glob;
mod json;
mod policy;
mod principal;
mod request;
mod service_key;
mod template;
mod values;

pub use context::Context;
pub use error::PolicyError;
pub use eval::{
    AllowedBy, Decision, DeniedBy, Layer, MatchedStatement, Organizations, Outcome, PolicySet,
    Request, Special, Verdict, evaluate,
};
pub use explain::explain_json;
pub use policy::{Effect, ParseOptions, Policy, PolicyKind, Statement, Version, limits};
pub use principal::{Grant, Principal, PrincipalKind};
pub use request::global_context;
pub use service_key::{key_policy_allows_service, service_key_context, usable_service_key};
pub use values::Cidr;
