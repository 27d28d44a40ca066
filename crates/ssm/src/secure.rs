//! SecureString values: encrypted through KMS on the caller's behalf, bound to the encryption
//! context `{"PARAMETER_ARN": <parameter ARN>}` as Parameter Store binds it.
//!
//! Two encodings, recorded with each value:
//! - [`Scheme::Kms`]: a value of at most 4096 bytes is sent to KMS `Encrypt`; the stored blob is
//!   KMS's ciphertext.
//! - [`Scheme::Envelope`]: a larger (Advanced, up to 8 KB) value is encrypted locally with
//!   AES-256-GCM under a fresh KMS data key; the blob is `len(wrapped key) as u16 BE ‖ wrapped
//!   key ‖ nonce ‖ ciphertext and tag`, with the parameter ARN as associated data.
//!
//! Without decryption a reader gets the blob in base64, as AWS answers the ciphertext.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use palisade_core::keys::{EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::service::ErrorKind;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_ssm::errors;
use serde::{Deserialize, Serialize};

/// The largest value KMS `Encrypt` takes.
const KMS_ENCRYPT_LIMIT: usize = 4096;
/// The key AWS reports for SecureStrings under the default key.
pub(crate) const DEFAULT_KEY_ALIAS: &str = "alias/aws/ssm";

const VIA: Via<'static> = Via { service: "ssm" };

/// An encrypted value and how it was encrypted.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub scheme: Scheme,
    /// The encrypted blob, base64.
    pub blob: String,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum Scheme {
    Kms,
    Envelope,
}

/// The key a SecureString is encrypted under: the caller's `KeyId`, or the AWS managed key.
pub(crate) fn key_ref(key_id: Option<&str>) -> KeyRef<'_> {
    match key_id {
        Some(DEFAULT_KEY_ALIAS) | None => KeyRef::AwsManaged("ssm"),
        Some(key) => KeyRef::Customer(key),
    }
}

/// Encrypts `plaintext` for parameter `arn` under `key_id` (the default key when `None`).
pub(crate) async fn seal(
    keys: &dyn KeyService,
    ctx: &RequestContext,
    key_id: Option<&str>,
    arn: &str,
    plaintext: &[u8],
) -> Result<Sealed, ServiceError> {
    let context = context(arn);
    let key = key_ref(key_id);
    if plaintext.len() <= KMS_ENCRYPT_LIMIT {
        let (ciphertext, _key_arn) = keys
            .encrypt(ctx, VIA, key, plaintext, &context)
            .await
            .map_err(kms_error)?;
        return Ok(Sealed {
            scheme: Scheme::Kms,
            blob: STANDARD.encode(ciphertext),
        });
    }
    let data_key = keys
        .generate_data_key(ctx, VIA, key, &context)
        .await
        .map_err(kms_error)?;
    let wrapped_len = u16::try_from(data_key.ciphertext.len())
        .map_err(|_| ServiceError::internal("The KMS data key ciphertext is too long."))?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ServiceError::internal("The random number generator failed."))?;
    let mut sealed = plaintext.to_vec();
    aead_key(data_key.plaintext.expose())?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(arn.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| ServiceError::internal("SecureString encryption failed."))?;
    let mut blob = Vec::with_capacity(2 + data_key.ciphertext.len() + NONCE_LEN + sealed.len());
    blob.extend_from_slice(&wrapped_len.to_be_bytes());
    blob.extend_from_slice(&data_key.ciphertext);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(Sealed {
        scheme: Scheme::Envelope,
        blob: STANDARD.encode(blob),
    })
}

/// Decrypts a value sealed by [`seal`] for parameter `arn`.
pub(crate) async fn open(
    keys: &dyn KeyService,
    ctx: &RequestContext,
    arn: &str,
    sealed: &Sealed,
) -> Result<Sensitive<String>, ServiceError> {
    let context = context(arn);
    let blob = STANDARD.decode(&sealed.blob).map_err(|_| corrupt())?;
    let plaintext = match sealed.scheme {
        Scheme::Kms => keys
            .decrypt(ctx, VIA, &blob, &context)
            .await
            .map_err(kms_error)?
            .into_inner(),
        Scheme::Envelope => {
            let (len, rest) = blob.split_at_checked(2).ok_or_else(corrupt)?;
            let len = u16::from_be_bytes([
                *len.first().ok_or_else(corrupt)?,
                *len.get(1).ok_or_else(corrupt)?,
            ]);
            let (wrapped, rest) = rest
                .split_at_checked(usize::from(len))
                .ok_or_else(corrupt)?;
            let (nonce, sealed_bytes) = rest.split_at_checked(NONCE_LEN).ok_or_else(corrupt)?;
            let data_key = keys
                .decrypt(ctx, VIA, wrapped, &context)
                .await
                .map_err(kms_error)?;
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
            let mut buffer = sealed_bytes.to_vec();
            let opened = aead_key(data_key.expose())?
                .open_in_place(nonce, Aad::from(arn.as_bytes()), &mut buffer)
                .map_err(|_| corrupt())?;
            opened.to_vec()
        }
    };
    String::from_utf8(plaintext)
        .map(Sensitive::new)
        .map_err(|_| corrupt())
}

fn context(arn: &str) -> EncryptionContext {
    EncryptionContext::from([("PARAMETER_ARN".to_owned(), arn.to_owned())])
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, ServiceError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| ServiceError::internal("The KMS data key is not an AES-256 key."))
}

fn corrupt() -> ServiceError {
    errors::internal_server_error("The stored SecureString value could not be decrypted.")
}

/// A KMS failure, in Parameter Store's words: key problems are `InvalidKeyId`; access denial
/// and throttling keep their own codes.
fn kms_error(error: ServiceError) -> ServiceError {
    let ErrorKind::Modeled { code, .. } = &error.kind else {
        return error;
    };
    match code.as_ref() {
        "NotFoundException"
        | "DisabledException"
        | "KMSInvalidStateException"
        | "InvalidKeyUsageException"
        | "KeyUnavailableException"
        | "InvalidArnException" => errors::invalid_key_id(error.message),
        "InvalidCiphertextException" | "IncorrectKeyException" => corrupt(),
        _ => error,
    }
}
