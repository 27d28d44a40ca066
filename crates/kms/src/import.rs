//! Imported key material (keys of `EXTERNAL` origin): GetParametersForImport hands out an RSA
//! wrapping public key and an import token, ImportKeyMaterial unwraps the customer's material
//! with the matching private key, and DeleteImportedKeyMaterial (or the material's expiry, swept
//! by [`KmsState::expire_imported_key_material`]) returns the key to `PendingImport`.
//!
//! Palisade imports material for symmetric encryption keys, with the RSAES-OAEP and
//! RSA-AES key wrap (RSA-OAEP of an AES-256 key, then AES key wrap with padding) algorithms. The
//! latest parameters of a key are the only valid ones.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    PrivateDecryptingKey,
};
use palisade_core::value::{Blob, Timestamp};
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_store::{SecretBytes, Transaction};

use crate::KmsState;
use crate::db::{IMPORT_KEYS, KEYS, MATERIAL, Tenant, plain, store_error};
use crate::ids::check_not_pending_deletion;
use crate::material::{Materials, hex, new_material_id, random_bytes};
use crate::records::{ImportParameters, KeyRecord, Lifecycle, MaterialRecord, Origin};

/// Import parameters are valid for 24 hours, as in AWS.
const PARAMETERS_VALID_MILLIS: i64 = 24 * 3_600_000;
/// Symmetric encryption key material is 256 bits.
const SYMMETRIC_MATERIAL_LEN: usize = 32;

pub(crate) async fn get_parameters(
    state: &KmsState,
    ctx: &RequestContext,
    input: GetParametersForImportRequest,
) -> Result<GetParametersForImportResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    check_importable(&tenant, &key)?;
    wrapping(&input.wrapping_algorithm)?;
    let size = match input.wrapping_key_spec {
        WrappingKeySpec::Rsa2048 => KeySize::Rsa2048,
        WrappingKeySpec::Rsa3072 => KeySize::Rsa3072,
        WrappingKeySpec::Rsa4096 => KeySize::Rsa4096,
        other => {
            return Err(errors::unsupported_operation_exception(format!(
                "WrappingKeySpec {other} is not supported by Palisade."
            )));
        }
    };
    let failed = |_| errors::kms_internal_exception("Wrapping key generation failed.");
    let private = PrivateDecryptingKey::generate(size).map_err(failed)?;
    let public = private
        .public_key()
        .as_der()
        .map_err(failed)?
        .as_ref()
        .to_vec();
    let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&private).map_err(failed)?;
    let token = random_bytes(32)?;
    let parameters = ImportParameters {
        token: hex(token.expose()),
        algorithm: input.wrapping_algorithm.as_str().to_owned(),
        valid_to: state.now() + PARAMETERS_VALID_MILLIS,
    };
    let store_key = tenant.store_key(&key.id);
    let sealed = SecretBytes::new(pkcs8.as_ref().to_vec());
    state
        .mutate(|| async {
            let current = state.key_by_id(&tenant, &key.id).await?;
            let mut record = current.value;
            check_importable(&tenant, &record)?;
            record.import = Some(parameters.clone());
            let txn = Transaction::new()
                .expect_version(KEYS, &store_key, current.version)
                .put(KEYS, &store_key, plain(&record)?)
                .put(IMPORT_KEYS, &store_key, sealed.clone());
            Ok((txn, ()))
        })
        .await?;
    Ok(GetParametersForImportResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        import_token: Some(Blob(token.expose().clone())),
        public_key: Some(Sensitive::new(Blob(public))),
        parameters_valid_to: Some(Timestamp::from_millis(parameters.valid_to)),
    })
}

pub(crate) async fn import(
    state: &KmsState,
    ctx: &RequestContext,
    input: ImportKeyMaterialRequest,
) -> Result<ImportKeyMaterialResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let now = state.now();
    let expires = expiry(&input, now)?;
    let id = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value
        .id;
    let store_key = tenant.store_key(&id);
    state
        .mutate(|| async {
            let current = state.key_by_id(&tenant, &id).await?;
            let mut record = current.value;
            check_importable(&tenant, &record)?;
            let parameters = record.import.clone().ok_or_else(invalid_token)?;
            if verify_slices_are_equal(
                hex(&input.import_token.0).as_bytes(),
                parameters.token.as_bytes(),
            )
            .is_err()
            {
                return Err(invalid_token());
            }
            if parameters.valid_to <= now {
                return Err(errors::expired_import_token_exception(
                    "The import token has expired. Call GetParametersForImport for a new one.",
                ));
            }
            let wrapping_key = state
                .store
                .get(IMPORT_KEYS, &store_key)
                .await
                .map_err(store_error)?
                .ok_or_else(invalid_token)?;
            let material = unwrap(
                &parameters.algorithm,
                wrapping_key.value.bytes(),
                &input.encrypted_key_material.0,
            )?;
            if material.expose().len() != SYMMETRIC_MATERIAL_LEN {
                return Err(errors::incorrect_key_material_exception(
                    "The key material must be 256 bits for a SYMMETRIC_DEFAULT key.",
                ));
            }
            let mut txn = Transaction::new()
                .expect_version(KEYS, &store_key, current.version)
                .delete(IMPORT_KEYS, &store_key);
            if record.materials.is_empty() {
                record.materials.push(MaterialRecord {
                    id: new_material_id()?,
                    created: now,
                    rotation: None,
                });
                txn = txn.put(MATERIAL, &store_key, Materials::new(material).encode());
            } else {
                // A key's material never changes: only the same material may be imported again.
                let stored = state.materials(&tenant, &id).await?.value;
                let same = stored
                    .get(0)
                    .is_some_and(|old| verify_slices_are_equal(old, material.expose()).is_ok());
                if !same {
                    return Err(errors::incorrect_key_material_exception(
                        "The key material you are importing is not the key material previously \
                         imported into this KMS key.",
                    ));
                }
            }
            if record.lifecycle == Lifecycle::PendingImport {
                record.lifecycle = Lifecycle::Enabled;
            }
            record.material_expires = expires;
            record.import = None;
            let material_id = record.materials.first().map(|m| m.id.clone());
            let txn = txn.put(KEYS, &store_key, plain(&record)?);
            Ok((txn, material_id))
        })
        .await
        .map(|material_id| ImportKeyMaterialResponse {
            key_id: Some(tenant.key_arn(&id)),
            key_material_id: material_id,
        })
}

pub(crate) async fn delete(
    state: &KmsState,
    ctx: &RequestContext,
    input: DeleteImportedKeyMaterialRequest,
) -> Result<DeleteImportedKeyMaterialResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let id = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value
        .id;
    let removed = state
        .remove_imported_material(&tenant, &id, |key| {
            check_importable(&tenant, key)?;
            if key.materials.is_empty() {
                return Err(crate::ids::pending_import(&tenant, key));
            }
            Ok(true)
        })
        .await?;
    Ok(DeleteImportedKeyMaterialResponse {
        key_id: Some(tenant.key_arn(&id)),
        key_material_id: removed,
    })
}

impl KmsState {
    /// Deletes imported key material whose expiry has passed, leaving its key pending import;
    /// returns how many keys lost their material. The server runs this periodically.
    pub async fn expire_imported_key_material(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut expired = 0;
        for (tenant, key) in self.all_keys().await? {
            if !is_expired(&key, now) {
                continue;
            }
            let removed = self
                .remove_imported_material(&tenant, &key.id, |key| Ok(is_expired(key, now)))
                .await?;
            if let Some(material_id) = &removed {
                self.publish_expiration(&tenant, &key.id, material_id);
            }
            expired += usize::from(removed.is_some());
        }
        Ok(expired)
    }

    /// Deletes the material of key `id` when `check` (given the fresh record) says so; returns
    /// the removed material's id.
    async fn remove_imported_material(
        &self,
        tenant: &Tenant,
        id: &str,
        check: impl Fn(&KeyRecord) -> Result<bool, ServiceError>,
    ) -> Result<Option<String>, ServiceError> {
        let store_key = tenant.store_key(id);
        self.mutate(|| async {
            let current = self.key_by_id(tenant, id).await?;
            let mut record = current.value;
            if !check(&record)? {
                return Ok((Transaction::new(), None));
            }
            let removed = record.materials.first().map(|m| m.id.clone());
            record.materials.clear();
            record.material_expires = None;
            // A key pending deletion stays so; any other waits for new material.
            if !record.lifecycle.is_pending_deletion() {
                record.lifecycle = Lifecycle::PendingImport;
            }
            let txn = Transaction::new()
                .expect_version(KEYS, &store_key, current.version)
                .put(KEYS, &store_key, plain(&record)?)
                .delete(MATERIAL, &store_key);
            Ok((txn, removed))
        })
        .await
    }
}

fn is_expired(key: &KeyRecord, now: i64) -> bool {
    key.material_expires.is_some_and(|expires| expires <= now)
}

/// Import is for keys of external origin that are not pending deletion.
fn check_importable(tenant: &Tenant, key: &KeyRecord) -> Result<(), ServiceError> {
    if key.origin != Origin::External {
        return Err(errors::unsupported_operation_exception(format!(
            "{} origin is AWS_KMS which is not valid for this operation.",
            tenant.key_arn(&key.id)
        )));
    }
    check_not_pending_deletion(tenant, key)
}

/// When the imported material expires, from the request's `ValidTo` and `ExpirationModel`.
fn expiry(input: &ImportKeyMaterialRequest, now: i64) -> Result<Option<i64>, ServiceError> {
    let valid_to = input.valid_to.map(timestamp_millis);
    match (&input.expiration_model, valid_to) {
        (Some(ExpirationModelType::KeyMaterialDoesNotExpire), Some(_)) => {
            Err(ServiceError::validation(
                "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.",
            ))
        }
        (Some(ExpirationModelType::KeyMaterialExpires), None) => Err(ServiceError::validation(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.",
        )),
        (_, Some(valid_to)) if valid_to <= now => {
            Err(ServiceError::validation("ValidTo must be in the future."))
        }
        (_, valid_to) => Ok(valid_to),
    }
}

fn timestamp_millis(time: Timestamp) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "saturating float-to-int conversion of a timestamp the model bounds"
    )]
    let millis = (time.0 * 1000.0) as i64;
    millis
}

/// The RSA-OAEP hash of a supported wrapping algorithm, and whether it wraps an AES key first.
fn wrapping(algorithm: &AlgorithmSpec) -> Result<(&'static OaepAlgorithm, bool), ServiceError> {
    match algorithm {
        AlgorithmSpec::RsaesOaepSha1 => Ok((&OAEP_SHA1_MGF1SHA1, false)),
        AlgorithmSpec::RsaesOaepSha256 => Ok((&OAEP_SHA256_MGF1SHA256, false)),
        AlgorithmSpec::RsaAesKeyWrapSha1 => Ok((&OAEP_SHA1_MGF1SHA1, true)),
        AlgorithmSpec::RsaAesKeyWrapSha256 => Ok((&OAEP_SHA256_MGF1SHA256, true)),
        other => Err(errors::unsupported_operation_exception(format!(
            "WrappingAlgorithm {other} is not supported by Palisade."
        ))),
    }
}

/// The customer's material, unwrapped with the wrapping private key.
fn unwrap(
    algorithm: &str,
    wrapping_pkcs8: &[u8],
    wrapped: &[u8],
) -> Result<Sensitive<Vec<u8>>, ServiceError> {
    let (oaep, with_aes) = wrapping(&AlgorithmSpec::from(algorithm))?;
    let private = PrivateDecryptingKey::from_pkcs8(wrapping_pkcs8)
        .and_then(|key| OaepPrivateDecryptingKey::new(key).map_err(Into::into))
        .map_err(|_| errors::kms_internal_exception("The wrapping key is unreadable."))?;
    let invalid = || errors::invalid_ciphertext_exception("");
    let (rsa_part, aes_part) = if with_aes {
        wrapped
            .split_at_checked(private.key_size_bytes())
            .ok_or_else(invalid)?
    } else {
        (wrapped, &[][..])
    };
    let mut out = zeroize::Zeroizing::new(vec![0; private.min_output_size()]);
    let unwrapped = private
        .decrypt(oaep, rsa_part, &mut out, None)
        .map_err(|_| invalid())?;
    if !with_aes {
        return Ok(Sensitive::new(unwrapped.to_vec()));
    }
    let kek = AesKek::new(&AES_256, unwrapped).map_err(|_| invalid())?;
    let mut material = zeroize::Zeroizing::new(vec![0; aes_part.len()]);
    let material = kek
        .unwrap_with_padding(aes_part, &mut material)
        .map_err(|_| invalid())?;
    Ok(Sensitive::new(material.to_vec()))
}

fn invalid_token() -> ServiceError {
    errors::invalid_import_token_exception("The import token is not valid for this KMS key.")
}
