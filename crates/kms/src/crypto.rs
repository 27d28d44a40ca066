//! Encryption: Encrypt, Decrypt and ReEncrypt with symmetric keys (AES-256-GCM in this crate's
//! ciphertext format) and RSA keys (RSAES-OAEP), the data key operations, and GenerateRandom.

use std::collections::BTreeMap;

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey,
};
use palisade_core::value::Blob;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;

use crate::KmsState;
use crate::ciphertext::{invalid_ciphertext, parse_ciphertext, seal};
use crate::db::Tenant;
use crate::ids::check_enabled;
use crate::material::{self, random_bytes};
use crate::records::KeyRecord;
use crate::specs::{Spec, Usage};

pub(crate) async fn encrypt(
    state: &KmsState,
    ctx: &RequestContext,
    input: EncryptRequest,
) -> Result<EncryptResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = usable_key(state, &tenant, &input.key_id, Usage::EncryptDecrypt).await?;
    let algorithm = encryption_algorithm(&tenant, &key, input.encryption_algorithm)?;
    let context = input.encryption_context.unwrap_or_default();
    check_dry_run(input.dry_run)?;
    let sealed = encrypt_with(
        state,
        &tenant,
        &key,
        &algorithm,
        &context,
        input.plaintext.expose().0.as_slice(),
    )
    .await?;
    Ok(EncryptResponse {
        ciphertext_blob: Some(Blob(sealed.blob)),
        key_id: Some(tenant.key_arn(&key.id)),
        encryption_algorithm: Some(algorithm),
    })
}

pub(crate) async fn decrypt(
    state: &KmsState,
    ctx: &RequestContext,
    input: DecryptRequest,
) -> Result<DecryptResponse, ServiceError> {
    reject_recipient(input.recipient.is_some())?;
    let blob = input.ciphertext_blob.unwrap_or_default();
    let context = input.encryption_context.unwrap_or_default();
    let opened = decrypt_with(
        state,
        ctx,
        &blob.0,
        input.key_id.as_deref(),
        input.encryption_algorithm,
        &context,
        input.dry_run,
    )
    .await?;
    Ok(DecryptResponse {
        key_id: Some(opened.tenant.key_arn(&opened.key.id)),
        plaintext: Some(Sensitive::new(Blob(opened.plaintext.into_inner()))),
        encryption_algorithm: Some(opened.algorithm),
        ciphertext_for_recipient: None,
        key_material_id: opened.material_id,
    })
}

pub(crate) async fn re_encrypt(
    state: &KmsState,
    ctx: &RequestContext,
    input: ReEncryptRequest,
) -> Result<ReEncryptResponse, ServiceError> {
    // The two keys may belong to different accounts, each named by its own ARN.
    let tenant = Tenant::owning(ctx, &input.destination_key_id);
    let destination = usable_key(
        state,
        &tenant,
        &input.destination_key_id,
        Usage::EncryptDecrypt,
    )
    .await?;
    let destination_algorithm = encryption_algorithm(
        &tenant,
        &destination,
        input.destination_encryption_algorithm,
    )?;
    let blob = input.ciphertext_blob.unwrap_or_default();
    let opened = decrypt_with(
        state,
        ctx,
        &blob.0,
        input.source_key_id.as_deref(),
        input.source_encryption_algorithm,
        &input.source_encryption_context.unwrap_or_default(),
        input.dry_run,
    )
    .await?;
    let sealed = encrypt_with(
        state,
        &tenant,
        &destination,
        &destination_algorithm,
        &input.destination_encryption_context.unwrap_or_default(),
        opened.plaintext.expose(),
    )
    .await?;
    Ok(ReEncryptResponse {
        ciphertext_blob: Some(Blob(sealed.blob)),
        source_key_id: Some(opened.tenant.key_arn(&opened.key.id)),
        key_id: Some(tenant.key_arn(&destination.id)),
        source_encryption_algorithm: Some(opened.algorithm),
        destination_encryption_algorithm: Some(destination_algorithm),
        source_key_material_id: opened.material_id,
        destination_key_material_id: sealed.material_id,
    })
}

/// A data key as the data key operations return it.
struct DataKey {
    plaintext: Sensitive<Vec<u8>>,
    key_arn: String,
    sealed: Sealed,
}

pub(crate) async fn generate_data_key(
    state: &KmsState,
    ctx: &RequestContext,
    input: GenerateDataKeyRequest,
) -> Result<GenerateDataKeyResponse, ServiceError> {
    reject_recipient(input.recipient.is_some())?;
    let data_key = new_data_key(
        state,
        ctx,
        &input.key_id,
        input.key_spec.as_ref(),
        input.number_of_bytes,
        &input.encryption_context.unwrap_or_default(),
        input.dry_run,
    )
    .await?;
    Ok(GenerateDataKeyResponse {
        ciphertext_blob: Some(Blob(data_key.sealed.blob)),
        plaintext: Some(Sensitive::new(Blob(data_key.plaintext.into_inner()))),
        key_id: Some(data_key.key_arn),
        ciphertext_for_recipient: None,
        key_material_id: data_key.sealed.material_id,
    })
}

pub(crate) async fn generate_data_key_without_plaintext(
    state: &KmsState,
    ctx: &RequestContext,
    input: GenerateDataKeyWithoutPlaintextRequest,
) -> Result<GenerateDataKeyWithoutPlaintextResponse, ServiceError> {
    let data_key = new_data_key(
        state,
        ctx,
        &input.key_id,
        input.key_spec.as_ref(),
        input.number_of_bytes,
        &input.encryption_context.unwrap_or_default(),
        input.dry_run,
    )
    .await?;
    Ok(GenerateDataKeyWithoutPlaintextResponse {
        ciphertext_blob: Some(Blob(data_key.sealed.blob)),
        key_id: Some(data_key.key_arn),
        key_material_id: data_key.sealed.material_id,
    })
}

/// A data key pair as the pair operations return it.
struct DataKeyPair {
    private_key: Sensitive<Vec<u8>>,
    public_key: Vec<u8>,
    key_arn: String,
    sealed: Sealed,
}

pub(crate) async fn generate_data_key_pair(
    state: &KmsState,
    ctx: &RequestContext,
    input: GenerateDataKeyPairRequest,
) -> Result<GenerateDataKeyPairResponse, ServiceError> {
    reject_recipient(input.recipient.is_some())?;
    let pair = new_data_key_pair(
        state,
        ctx,
        &input.key_id,
        &input.key_pair_spec,
        &input.encryption_context.unwrap_or_default(),
        input.dry_run,
    )
    .await?;
    Ok(GenerateDataKeyPairResponse {
        private_key_ciphertext_blob: Some(Blob(pair.sealed.blob)),
        private_key_plaintext: Some(Sensitive::new(Blob(pair.private_key.into_inner()))),
        public_key: Some(Blob(pair.public_key)),
        key_id: Some(pair.key_arn),
        key_pair_spec: Some(input.key_pair_spec),
        ciphertext_for_recipient: None,
        key_material_id: pair.sealed.material_id,
    })
}

pub(crate) async fn generate_data_key_pair_without_plaintext(
    state: &KmsState,
    ctx: &RequestContext,
    input: GenerateDataKeyPairWithoutPlaintextRequest,
) -> Result<GenerateDataKeyPairWithoutPlaintextResponse, ServiceError> {
    let pair = new_data_key_pair(
        state,
        ctx,
        &input.key_id,
        &input.key_pair_spec,
        &input.encryption_context.unwrap_or_default(),
        input.dry_run,
    )
    .await?;
    Ok(GenerateDataKeyPairWithoutPlaintextResponse {
        private_key_ciphertext_blob: Some(Blob(pair.sealed.blob)),
        public_key: Some(Blob(pair.public_key)),
        key_id: Some(pair.key_arn),
        key_pair_spec: Some(input.key_pair_spec),
        key_material_id: pair.sealed.material_id,
    })
}

pub(crate) fn generate_random(
    input: GenerateRandomRequest,
) -> Result<GenerateRandomResponse, ServiceError> {
    reject_recipient(input.recipient.is_some())?;
    if input.custom_key_store_id.is_some() {
        return Err(errors::unsupported_operation_exception(
            "Custom key stores are not supported by Palisade.",
        ));
    }
    let len = input
        .number_of_bytes
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ServiceError::validation("NumberOfBytes is required."))?;
    Ok(GenerateRandomResponse {
        plaintext: Some(Sensitive::new(Blob(random_bytes(len)?.into_inner()))),
        ciphertext_for_recipient: None,
    })
}

/// The key a `KeyId` member names, checked to be enabled and meant for `usage`.
pub(crate) async fn usable_key(
    state: &KmsState,
    tenant: &Tenant,
    key_id: &str,
    usage: Usage,
) -> Result<KeyRecord, ServiceError> {
    let key = state.resolve_key(tenant, key_id).await?.value;
    check_enabled(tenant, &key)?;
    if key.kind.usage != usage {
        return Err(errors::invalid_key_usage_exception(format!(
            "{} key usage is {} which is not valid for this operation.",
            tenant.key_arn(&key.id),
            key.kind.usage.as_str()
        )));
    }
    Ok(key)
}

/// Answers a dry run once every check has passed, before anything is done.
pub(crate) fn check_dry_run(dry_run: Option<bool>) -> Result<(), ServiceError> {
    if dry_run == Some(true) {
        Err(errors::dry_run_operation_exception(
            "The request would have succeeded, but the DryRun option is set.",
        ))
    } else {
        Ok(())
    }
}

/// Nitro Enclaves attestation (the `Recipient` member) is out of Palisade's reach.
pub(crate) fn reject_recipient(has_recipient: bool) -> Result<(), ServiceError> {
    if has_recipient {
        Err(errors::unsupported_operation_exception(
            "Recipient (AWS Nitro Enclaves attestation) is not supported by Palisade.",
        ))
    } else {
        Ok(())
    }
}

/// The encryption algorithm a request asks for (SYMMETRIC_DEFAULT when it names none), if the
/// key supports it.
fn encryption_algorithm(
    tenant: &Tenant,
    key: &KeyRecord,
    requested: Option<EncryptionAlgorithmSpec>,
) -> Result<EncryptionAlgorithmSpec, ServiceError> {
    let algorithm = requested.unwrap_or(EncryptionAlgorithmSpec::SymmetricDefault);
    if key.kind.encryption_algorithms().contains(&algorithm) {
        Ok(algorithm)
    } else {
        Err(errors::invalid_key_usage_exception(format!(
            "Encryption algorithm {algorithm} is not supported by {} (KeySpec {}).",
            tenant.key_arn(&key.id),
            key.kind.spec.as_str()
        )))
    }
}

/// A ciphertext, and the material id of the symmetric key that made it.
struct Sealed {
    blob: Vec<u8>,
    material_id: Option<String>,
}

/// Encrypts with `key`, which the caller has checked is usable with `algorithm`.
async fn encrypt_with(
    state: &KmsState,
    tenant: &Tenant,
    key: &KeyRecord,
    algorithm: &EncryptionAlgorithmSpec,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Sealed, ServiceError> {
    if key.kind.spec == Spec::SymmetricDefault {
        let materials = state.materials(tenant, &key.id).await?.value;
        let (version, record) = key
            .current_material()
            .ok_or_else(|| errors::kms_internal_exception("The key has no material."))?;
        let material = materials
            .get(version)
            .ok_or_else(|| errors::kms_internal_exception("The key material is missing."))?;
        return Ok(Sealed {
            blob: seal(
                &tenant.account,
                &key.id,
                version,
                material,
                context,
                plaintext,
            )?,
            material_id: Some(record.id.clone()),
        });
    }
    if !context.is_empty() {
        return Err(ServiceError::validation(
            "EncryptionContext is supported only with symmetric encryption KMS keys.",
        ));
    }
    let material = state.fixed_material(tenant, &key.id).await?;
    let private = rsa_private_key(material.expose())?;
    let public = OaepPublicEncryptingKey::new(private.public_key())
        .map_err(|_| errors::kms_internal_exception("The RSA public key is unusable."))?;
    let oaep = oaep_algorithm(algorithm);
    if plaintext.len() > public.max_plaintext_size(oaep) {
        return Err(ServiceError::validation(format!(
            "Plaintext is too long for {algorithm} with {}: at most {} bytes.",
            key.kind.spec.as_str(),
            public.max_plaintext_size(oaep)
        )));
    }
    let mut blob = vec![0; public.ciphertext_size()];
    let len = public
        .encrypt(oaep, plaintext, &mut blob, None)
        .map_err(|_| errors::kms_internal_exception("RSA encryption failed."))?
        .len();
    blob.truncate(len);
    Ok(Sealed {
        blob,
        material_id: None,
    })
}

/// A decrypted ciphertext: the plaintext and what decrypted it.
struct Opened {
    plaintext: Sensitive<Vec<u8>>,
    /// Where the key lives: another account's when the request or the ciphertext names it.
    tenant: Tenant,
    key: KeyRecord,
    algorithm: EncryptionAlgorithmSpec,
    material_id: Option<String>,
}

/// Decrypts `blob`. A symmetric ciphertext names its key, so `key_id` is optional for it; when
/// given it must be that key. An RSA ciphertext is raw, so its key must be named. The key is
/// looked up where the authorizer looked for it: in the account of the key ARN the request
/// names, else the account the ciphertext names, else the caller's.
async fn decrypt_with(
    state: &KmsState,
    ctx: &RequestContext,
    blob: &[u8],
    key_id: Option<&str>,
    algorithm: Option<EncryptionAlgorithmSpec>,
    context: &BTreeMap<String, String>,
    dry_run: Option<bool>,
) -> Result<Opened, ServiceError> {
    let named = match key_id {
        Some(key_id) => {
            let tenant = Tenant::owning(ctx, key_id);
            let key = usable_key(state, &tenant, key_id, Usage::EncryptDecrypt).await?;
            Some((tenant, key))
        }
        None => None,
    };
    if let Some((tenant, key)) = named.as_ref().filter(|(_, key)| key.kind.spec.is_rsa()) {
        let algorithm = encryption_algorithm(tenant, key, algorithm)?;
        check_dry_run(dry_run)?;
        let material = state.fixed_material(tenant, &key.id).await?;
        let private = OaepPrivateDecryptingKey::new(rsa_private_key(material.expose())?)
            .map_err(|_| errors::kms_internal_exception("The RSA private key is unusable."))?;
        let mut out = zeroize::Zeroizing::new(vec![0; private.min_output_size()]);
        let plaintext = private
            .decrypt(oaep_algorithm(&algorithm), blob, &mut out, None)
            .map_err(|_| invalid_ciphertext())?;
        return Ok(Opened {
            plaintext: Sensitive::new(plaintext.to_vec()),
            tenant: tenant.clone(),
            key: key.clone(),
            algorithm,
            material_id: None,
        });
    }

    let parsed = parse_ciphertext(blob).map_err(|_| invalid_ciphertext())?;
    let (tenant, key) = match named {
        Some((tenant, key))
            if key.id != parsed.key_id
                || parsed
                    .account
                    .is_some_and(|account| account != tenant.account) =>
        {
            return Err(errors::incorrect_key_exception(
                "The key ID in the request does not identify a CMK that can perform this \
                 operation.",
            ));
        }
        Some(named) => named,
        None => {
            let tenant = Tenant::owning(ctx, &parsed.key_reference(ctx.region.as_str()));
            // The header is unauthenticated until the key opens the blob, so a key it names that
            // does not exist here makes the blob invalid rather than the key missing.
            let key = state
                .key_record(&tenant, parsed.key_id)
                .await?
                .ok_or_else(invalid_ciphertext)?
                .value;
            check_enabled(&tenant, &key)?;
            // A blob naming a key that makes no such ciphertexts was not made by KMS.
            if key.kind.spec != Spec::SymmetricDefault {
                return Err(invalid_ciphertext());
            }
            (tenant, key)
        }
    };
    let algorithm = encryption_algorithm(&tenant, &key, algorithm)?;
    check_dry_run(dry_run)?;
    let materials = state.materials(&tenant, &key.id).await?.value;
    let material = materials
        .get(parsed.material_version)
        .ok_or_else(invalid_ciphertext)?;
    let plaintext = parsed.open(material, context)?;
    let material_id = usize::try_from(parsed.material_version)
        .ok()
        .and_then(|version| key.materials.get(version))
        .map(|record| record.id.clone());
    Ok(Opened {
        plaintext,
        tenant,
        key,
        algorithm,
        material_id,
    })
}

/// A fresh data key of `spec` or `number_of_bytes` (exactly one must be given), encrypted
/// under the symmetric key `key_id`.
async fn new_data_key(
    state: &KmsState,
    ctx: &RequestContext,
    key_id: &str,
    spec: Option<&DataKeySpec>,
    number_of_bytes: Option<i32>,
    context: &BTreeMap<String, String>,
    dry_run: Option<bool>,
) -> Result<DataKey, ServiceError> {
    let tenant = Tenant::owning(ctx, key_id);
    let len = match (spec, number_of_bytes) {
        (Some(DataKeySpec::Aes256), None) => 32,
        (Some(DataKeySpec::Aes128), None) => 16,
        (None, Some(n)) => usize::try_from(n)
            .map_err(|_| ServiceError::validation("NumberOfBytes must be positive."))?,
        (Some(DataKeySpec::Unknown(spec)), None) => {
            return Err(ServiceError::validation(format!(
                "KeySpec {spec} is not valid."
            )));
        }
        _ => {
            return Err(ServiceError::validation(
                "Please specify either number of bytes or key spec.",
            ));
        }
    };
    let key = symmetric_key(state, &tenant, key_id).await?;
    check_dry_run(dry_run)?;
    let plaintext = random_bytes(len)?;
    let sealed = encrypt_with(
        state,
        &tenant,
        &key,
        &EncryptionAlgorithmSpec::SymmetricDefault,
        context,
        plaintext.expose(),
    )
    .await?;
    Ok(DataKey {
        plaintext,
        key_arn: tenant.key_arn(&key.id),
        sealed,
    })
}

/// A fresh key pair of `spec`, its private key encrypted under the symmetric key `key_id`.
async fn new_data_key_pair(
    state: &KmsState,
    ctx: &RequestContext,
    key_id: &str,
    spec: &DataKeyPairSpec,
    context: &BTreeMap<String, String>,
    dry_run: Option<bool>,
) -> Result<DataKeyPair, ServiceError> {
    let tenant = Tenant::owning(ctx, key_id);
    let pair_spec = Spec::from_model(&KeySpec::from(spec.as_str()))
        .filter(|spec| spec.is_rsa() || spec.is_ecc())
        .ok_or_else(|| {
            errors::unsupported_operation_exception(format!(
                "KeyPairSpec {spec} is not supported by Palisade."
            ))
        })?;
    let key = symmetric_key(state, &tenant, key_id).await?;
    check_dry_run(dry_run)?;
    let private_key = material::generate(pair_spec)?;
    let public_key = material::public_key_der(pair_spec, private_key.expose())?;
    let sealed = encrypt_with(
        state,
        &tenant,
        &key,
        &EncryptionAlgorithmSpec::SymmetricDefault,
        context,
        private_key.expose(),
    )
    .await?;
    Ok(DataKeyPair {
        private_key,
        public_key,
        key_arn: tenant.key_arn(&key.id),
        sealed,
    })
}

/// The key for a data key operation: an enabled symmetric encryption key.
async fn symmetric_key(
    state: &KmsState,
    tenant: &Tenant,
    key_id: &str,
) -> Result<KeyRecord, ServiceError> {
    let key = usable_key(state, tenant, key_id, Usage::EncryptDecrypt).await?;
    if key.kind.spec == Spec::SymmetricDefault {
        Ok(key)
    } else {
        Err(errors::invalid_key_usage_exception(format!(
            "{} key spec is {}, which is not valid for this operation: data keys are \
             generated under symmetric encryption keys only.",
            tenant.key_arn(&key.id),
            key.kind.spec.as_str()
        )))
    }
}

fn rsa_private_key(pkcs8: &[u8]) -> Result<PrivateDecryptingKey, ServiceError> {
    PrivateDecryptingKey::from_pkcs8(pkcs8)
        .map_err(|_| errors::kms_internal_exception("The stored key material is unreadable."))
}

fn oaep_algorithm(algorithm: &EncryptionAlgorithmSpec) -> &'static OaepAlgorithm {
    match algorithm {
        EncryptionAlgorithmSpec::RsaesOaepSha1 => &OAEP_SHA1_MGF1SHA1,
        _ => &OAEP_SHA256_MGF1SHA256,
    }
}
