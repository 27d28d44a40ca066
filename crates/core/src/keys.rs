//! What a service asks of KMS when it encrypts its own data on a caller's behalf, the way
//! Secrets Manager and Parameter Store use KMS in AWS.
//!
//! A service holds an `Arc<dyn KeyService>` and never sees the KMS crate. The server's
//! implementation authorizes each call as the caller (the action is `kms:<Operation>`, with
//! `kms:ViaService = <service>.<region>.amazonaws.com`, `kms:EncryptionContext:*` and
//! `aws:CalledVia` in the request context) and then runs it in KMS. Errors are KMS's own
//! ([`ServiceError`] with KMS's codes, such as `DisabledException` or `NotFoundException`), so the
//! calling service can answer with its documented error for each.

use std::collections::BTreeMap;

use crate::service::BoxFuture;
use crate::{RequestContext, Sensitive, ServiceError};

/// The key a service encrypts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// The AWS managed key `alias/aws/<service>` of the caller's account and region, created on
    /// first use. The string is the service part, such as `secretsmanager` or `ssm`.
    AwsManaged(&'a str),
    /// A customer managed key by key id, key ARN, alias name or alias ARN; another account's
    /// key by its key or alias ARN, where its key policy allows the caller.
    Customer(&'a str),
}

/// Who is asking KMS, beyond the caller: the service acting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// The calling service's endpoint prefix (`secretsmanager`, `ssm`): it becomes
    /// `kms:ViaService = <service>.<region>.amazonaws.com` and `aws:CalledVia`.
    pub service: &'a str,
}

/// A fresh 256-bit data key: its plaintext for the caller to encrypt with, and the same key
/// encrypted under the KMS key, for the caller to store.
#[derive(Debug)]
pub struct DataKey {
    /// The data key; never stored, logged or printed.
    pub plaintext: Sensitive<Vec<u8>>,
    /// The data key under the KMS key, in KMS's ciphertext format.
    pub ciphertext: Vec<u8>,
    /// The full ARN of the KMS key used.
    pub key_arn: String,
}

/// Encryption context, as KMS binds it.
pub type EncryptionContext = BTreeMap<String, String>;

/// KMS, as other services call it on a caller's behalf.
pub trait KeyService: Send + Sync + 'static {
    /// `GenerateDataKey` (AES_256) under `key`, bound to `context`.
    fn generate_data_key<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>>;

    /// `Encrypt` of at most 4096 bytes under `key`, bound to `context`; answers the ciphertext
    /// and the key's ARN.
    fn encrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<(Vec<u8>, String), ServiceError>>;

    /// `Decrypt` of a ciphertext made by [`KeyService::encrypt`] or
    /// [`KeyService::generate_data_key`]; the key is the one the ciphertext names, in the
    /// account it names (another account's key, for a value of another account's resource).
    fn decrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>>;
}
