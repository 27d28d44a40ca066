//! What a service asks of KMS when it encrypts its own data on a caller's behalf, the way
//! Secrets Manager and Parameter Store use KMS in AWS.
//!
//! A service holds an `Arc<dyn KeyService>` and never sees the KMS crate. The server's
//! implementation authorizes each call as the caller (the action is `kms:<Operation>`, with
//! `kms:ViaService = <service>.<region>.amazonaws.com`, `kms:EncryptionContext:*` and
//! `aws:CalledVia` in the request context) and then runs it in KMS. Errors are KMS's own
//! ([`ServiceError`] with KMS's codes, such as `DisabledException` or `NotFoundException`), so the
//! calling service can answer with its documented error for each.
//!
//! A service that uses a key as its own service principal (CloudTrail for a trail's log files,
//! CloudWatch Logs for a group's events) is not authorized as a caller: only the key policy can
//! allow a service principal, and the service decides it itself. It reads the key's facts as a
//! [`ServiceKey`] through [`ServiceKeyLookup`], checks them with [`ServiceKey::usable_in`], and
//! decides the policy with `palisade_policy::key_policy_allows_service`.

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

/// What a service that uses a KMS key as its own service principal needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    /// The key's ARN.
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ... as `DescribeKey` reports it.
    pub state: String,
    /// Whether it is a symmetric encryption key (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`), the
    /// only kind the services encrypt with.
    pub symmetric_encryption: bool,
    /// The key policy document.
    pub policy: String,
    /// KMS's condition keys that describe the key, as a `GenerateDataKey` on it bears them
    /// (`kms:KeySpec`, `kms:KeyOrigin`, `aws:ResourceTag/*`, ...).
    pub condition_keys: Vec<(String, Vec<String>)>,
}

/// Why a service principal's call on a KMS key would fail. Each service answers its own
/// documented error for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// No such key in the resource's region.
    NotFound,
    /// Not enabled: the key state.
    State(String),
    NotSymmetric,
    /// The key policy does not allow the service principal.
    PolicyDenies,
}

impl ServiceKey {
    /// `found`, when a service may use it for a resource of `region`: a key of another region
    /// does not exist there, and the key must be enabled and a symmetric encryption key. The key
    /// policy is decided apart.
    pub fn usable_in(found: Option<ServiceKey>, region: &str) -> Result<ServiceKey, KeyRefusal> {
        let key = found
            .filter(|key| key.arn.split(':').nth(3) == Some(region))
            .ok_or(KeyRefusal::NotFound)?;
        if key.state != "Enabled" {
            return Err(KeyRefusal::State(key.state));
        }
        if !key.symmetric_encryption {
            return Err(KeyRefusal::NotSymmetric);
        }
        Ok(key)
    }
}

/// KMS, as a service reads a key it uses as its own service principal. The server implements it;
/// the service knows nothing of the KMS service.
pub trait ServiceKeyLookup: Send + Sync + 'static {
    /// The key `key_id` (key id, key ARN, alias name or alias ARN) names, as `account` sees it
    /// in `region`: a key or alias ARN may name another account's key. `None` when there is no
    /// such key there.
    fn find_key<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ServiceKey>, ServiceError>>;
}
