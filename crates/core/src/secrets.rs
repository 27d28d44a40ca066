//! What Parameter Store asks of Secrets Manager when it answers a reference to a secret
//! (`GetParameter` on `/aws/reference/secretsmanager/<secret-id>`), as AWS does.
//!
//! Parameter Store holds an `Arc<dyn SecretReader>` and never sees the Secrets Manager crate.
//! The server's implementation authorizes the read as the caller's own
//! `secretsmanager:GetSecretValue` on the secret (with `aws:CalledVia = ssm.amazonaws.com`), then
//! reads it in Secrets Manager, whose decryption is in turn the caller's `kms:Decrypt` through
//! Secrets Manager. Errors are Secrets Manager's own ([`ServiceError`] with its codes, such as
//! `ResourceNotFoundException`), so Parameter Store can answer with its documented error.

use crate::service::BoxFuture;
use crate::value::Timestamp;
use crate::{RequestContext, Sensitive, ServiceError};

/// One version of a secret, read for a reference.
#[derive(Debug)]
pub struct ReferencedSecret {
    /// The secret's ARN.
    pub arn: String,
    /// The value; never logged or printed.
    pub value: SecretValue,
    /// When the version was created.
    pub created: Timestamp,
    /// The secret's `DescribeSecret` output as Secrets Manager's JSON document, which Parameter
    /// Store answers as `SourceResult`. It holds no secret value.
    pub description: String,
}

/// A secret version's value, as it was stored: exactly one of `SecretString` and `SecretBinary`.
#[derive(Debug)]
pub enum SecretValue {
    /// A `SecretString`.
    String(Sensitive<String>),
    /// A `SecretBinary`.
    Binary(Sensitive<Vec<u8>>),
}

/// Secrets Manager, as Parameter Store reads it on a caller's behalf.
pub trait SecretReader: Send + Sync + 'static {
    /// The version of `secret_id` (a name or ARN) that `version` picks (a version id or a staging
    /// label; `AWSCURRENT` when `None`), read as the caller of `ctx`.
    fn read_secret<'a>(
        &'a self,
        ctx: &'a RequestContext,
        secret_id: &'a str,
        version: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ReferencedSecret, ServiceError>>;
}
