//! Envelope encryption of secret values, as Secrets Manager does it: every version gets a fresh
//! 256-bit data key from KMS (`GenerateDataKey` under the secret's key, bound to the encryption
//! context `SecretARN` and `SecretVersionId`), the value is sealed with AES-256-GCM under it, and
//! the data key's KMS ciphertext is stored beside the sealed value.
//!
//! Stored encoding: `[1][data key ciphertext length: u16 BE][data key ciphertext][nonce: 12]
//! [AES-GCM ciphertext and tag]`. The plaintext is `[0]` then UTF-8 for a SecretString, `[1]` then
//! the bytes for a SecretBinary.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use palisade_core::keys::{EncryptionContext, KeyRef, Via};
use palisade_core::service::{CommonError, ErrorKind};
use palisade_core::value::Blob;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_secretsmanager::errors;

use crate::SecretsManagerState;
use crate::db::Tenant;

const FORMAT: u8 = 1;
/// The alias of the AWS managed key secrets use when they name none.
const AWS_MANAGED_ALIAS: &str = "alias/aws/secretsmanager";
const STRING: u8 = 0;
const BINARY: u8 = 1;

/// The service named to KMS as acting for the caller.
pub(crate) const VIA: Via<'static> = Via {
    service: "secretsmanager",
};

/// A secret value in the clear: only ever in zeroizing memory.
pub(crate) enum SecretValue {
    String(Sensitive<String>),
    Binary(Sensitive<Blob>),
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

impl SecretValue {
    /// The value a request carries: exactly one of SecretString and SecretBinary.
    pub fn from_request(
        string: Option<Sensitive<String>>,
        binary: Option<Sensitive<Blob>>,
    ) -> Result<Option<Self>, ServiceError> {
        match (string, binary) {
            (Some(_), Some(_)) => Err(errors::invalid_parameter_exception(
                "You can't specify both a binary secret value and a string secret value in the \
                 same secret.",
            )),
            (Some(string), None) => Ok(Some(Self::String(string))),
            (None, Some(binary)) => Ok(Some(Self::Binary(binary))),
            (None, None) => Ok(None),
        }
    }

    fn encode(&self) -> Sensitive<Vec<u8>> {
        let (kind, bytes) = match self {
            Self::String(string) => (STRING, string.expose().as_bytes()),
            Self::Binary(binary) => (BINARY, binary.expose().0.as_slice()),
        };
        let mut plain = Vec::with_capacity(bytes.len() + 1);
        plain.push(kind);
        plain.extend_from_slice(bytes);
        Sensitive::new(plain)
    }

    fn decode(plain: &[u8]) -> Result<Self, ServiceError> {
        match plain.split_first() {
            Some((&STRING, text)) => std::str::from_utf8(text)
                .map(|text| Self::String(Sensitive::new(text.to_owned())))
                .map_err(|_| corrupt()),
            Some((&BINARY, bytes)) => Ok(Self::Binary(Sensitive::new(Blob(bytes.to_vec())))),
            _ => Err(corrupt()),
        }
    }

    /// Whether both are the same value, in time independent of the contents.
    pub fn same_as(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            self.encode().expose(),
            other.encode().expose(),
        )
        .is_ok()
    }

    pub fn into_response(self) -> (Option<Sensitive<String>>, Option<Sensitive<Blob>>) {
        match self {
            Self::String(string) => (Some(string), None),
            Self::Binary(binary) => (None, Some(binary)),
        }
    }
}

fn corrupt() -> ServiceError {
    errors::internal_service_error("The stored secret value is unreadable.")
}

/// The encryption context Secrets Manager binds every version's data key to.
pub(crate) fn encryption_context(arn: &str, version_id: &str) -> EncryptionContext {
    EncryptionContext::from([
        ("SecretARN".to_owned(), arn.to_owned()),
        ("SecretVersionId".to_owned(), version_id.to_owned()),
    ])
}

/// Whether a secret that names `kms_key_id` (none: the default) is encrypted under the AWS
/// managed key `aws/secretsmanager`.
pub(crate) fn is_aws_managed(kms_key_id: Option<&str>) -> bool {
    kms_key_id.is_none_or(|key| {
        key == AWS_MANAGED_ALIAS
            || key
                .strip_prefix("arn:")
                .is_some_and(|arn| arn.ends_with(&format!(":{AWS_MANAGED_ALIAS}")))
    })
}

/// AWS's answer when KMS refuses Secrets Manager the caller's use of the key.
pub(crate) fn kms_access_denied() -> ServiceError {
    ServiceError::common(CommonError::AccessDenied, "Access to KMS is not allowed")
}

/// The key a secret encrypts under: its own, else the AWS managed `aws/secretsmanager`.
pub(crate) fn key_ref(kms_key_id: Option<&str>) -> KeyRef<'_> {
    match kms_key_id {
        Some(id) => KeyRef::Customer(id),
        None => KeyRef::AwsManaged("secretsmanager"),
    }
}

/// The ARN under which a caller of another account reaches `owner`'s key `kms_key_id`: KMS
/// finds another account's key only by its ARN, so a key id or alias name, which the owner's
/// secret means in the owner's account, is qualified with it. The AWS managed key's policy
/// admits only its own account (AWS documents that `aws/secretsmanager` cannot serve
/// cross-account access), so it is refused here as KMS would refuse it.
fn owner_key_arn(owner: &Tenant, kms_key_id: Option<&str>) -> Result<String, ServiceError> {
    let Some(key) = kms_key_id.filter(|_| !is_aws_managed(kms_key_id)) else {
        return Err(kms_access_denied());
    };
    let Tenant { account, region } = owner;
    Ok(if key.starts_with("arn:") {
        key.to_owned()
    } else if key.starts_with("alias/") {
        format!("arn:aws:kms:{region}:{account}:{key}")
    } else {
        format!("arn:aws:kms:{region}:{account}:key/{key}")
    })
}

fn cipher(data_key: &[u8]) -> Result<LessSafeKey, ServiceError> {
    UnboundKey::new(&AES_256_GCM, data_key)
        .map(LessSafeKey::new)
        .map_err(|_| errors::internal_service_error("KMS returned an unusable data key."))
}

impl SecretsManagerState {
    /// Encrypts `value` as version `version_id` of the secret `arn` of `owner`, under the key
    /// `kms_key_id` means there; answers the stored bytes and the ARN of the KMS key used. A
    /// caller of another account encrypts under the owner's key, where its key policy allows.
    pub(crate) async fn seal(
        &self,
        ctx: &RequestContext,
        owner: &Tenant,
        kms_key_id: Option<&str>,
        arn: &str,
        version_id: &str,
        value: &SecretValue,
    ) -> Result<(Vec<u8>, String), ServiceError> {
        let owner_key;
        let key = if owner.is_callers(ctx) {
            key_ref(kms_key_id)
        } else {
            owner_key = owner_key_arn(owner, kms_key_id)?;
            KeyRef::Customer(&owner_key)
        };
        let context = encryption_context(arn, version_id);
        let data_key = self
            .keys
            .generate_data_key(ctx, VIA, key, &context)
            .await
            .map_err(|error| kms_failure(error, Direction::Encrypt))?;
        let wrapped_len = u16::try_from(data_key.ciphertext.len())
            .map_err(|_| errors::internal_service_error("KMS returned an oversized data key."))?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| errors::internal_service_error("No randomness is available."))?;
        let mut sealed = value.encode().expose().clone();
        cipher(data_key.plaintext.expose())?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(arn, version_id).as_bytes()),
                &mut sealed,
            )
            .map_err(|_| errors::internal_service_error("The secret value could not be sealed."))?;
        let mut stored =
            Vec::with_capacity(3 + data_key.ciphertext.len() + NONCE_LEN + sealed.len());
        stored.push(FORMAT);
        stored.extend_from_slice(&wrapped_len.to_be_bytes());
        stored.extend_from_slice(&data_key.ciphertext);
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok((stored, data_key.key_arn))
    }

    /// Decrypts what [`SecretsManagerState::seal`] stored for version `version_id` of `arn`.
    /// The data key's ciphertext names its KMS key and that key's account, so a caller of
    /// another account decrypts with the secret owner's key, where its key policy allows.
    pub(crate) async fn unseal(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version_id: &str,
        stored: &[u8],
    ) -> Result<SecretValue, ServiceError> {
        let (wrapped, nonce, sealed) = split(stored).ok_or_else(corrupt)?;
        let context = encryption_context(arn, version_id);
        let data_key = self
            .keys
            .decrypt(ctx, VIA, wrapped, &context)
            .await
            .map_err(|error| kms_failure(error, Direction::Decrypt))?;
        let mut in_out = sealed.to_vec();
        let plain = cipher(data_key.expose())?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(arn, version_id).as_bytes()),
                &mut in_out,
            )
            .map_err(|_| {
                errors::decryption_failure(
                    "Secrets Manager can't decrypt the protected secret text using the provided \
                     KMS key.",
                )
            })?;
        let plain = Sensitive::new(plain.to_vec());
        in_out.fill(0);
        SecretValue::decode(plain.expose())
    }
}

/// The AES-GCM associated data: the version the value belongs to, so a value cannot be moved to
/// another version or secret in the store.
fn aad(arn: &str, version_id: &str) -> String {
    format!("{arn}\n{version_id}")
}

fn split(stored: &[u8]) -> Option<(&[u8], [u8; NONCE_LEN], &[u8])> {
    let (&format, rest) = stored.split_first()?;
    if format != FORMAT {
        return None;
    }
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let (wrapped, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    let (nonce, sealed) = rest.split_first_chunk::<NONCE_LEN>()?;
    Some((wrapped, *nonce, sealed))
}

#[derive(Clone, Copy)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// KMS's error, as Secrets Manager answers it.
fn kms_failure(error: ServiceError, direction: Direction) -> ServiceError {
    let code = match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(CommonError::AccessDenied) => "AccessDenied".to_owned(),
        ErrorKind::Common(_) => return error,
    };
    if code == "AccessDenied" || code == "AccessDeniedException" {
        return kms_access_denied();
    }
    // A key that is disabled, pending deletion or gone: KMS's message names the key and its state.
    let specific = matches!(
        code.as_str(),
        "DisabledException" | "KMSInvalidStateException" | "NotFoundException"
    );
    match direction {
        Direction::Encrypt if specific => errors::encryption_failure(error.message),
        Direction::Decrypt if specific => errors::decryption_failure(error.message),
        Direction::Encrypt => errors::encryption_failure(
            "Secrets Manager can't encrypt the protected secret text using the provided KMS key. \
             Check that the KMS key is available, enabled, and not in an invalid state.",
        ),
        Direction::Decrypt => errors::decryption_failure(
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
        ),
    }
}
