//! Key agreement: DeriveSharedSecret, ECDH between a KMS key's private key and a peer's public
//! key, answering the raw shared secret as KMS does (no key derivation function applied).

use aws_lc_rs::agreement::{self, Algorithm, PrivateKey, UnparsedPublicKey};
use palisade_core::value::Blob;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;

use crate::KmsState;
use crate::crypto::{check_dry_run, reject_recipient, usable_key};
use crate::db::Tenant;
use crate::specs::{Spec, Usage};

pub(crate) async fn derive_shared_secret(
    state: &KmsState,
    ctx: &RequestContext,
    input: DeriveSharedSecretRequest,
) -> Result<DeriveSharedSecretResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    reject_recipient(input.recipient.is_some())?;
    let key = usable_key(state, &tenant, &input.key_id, Usage::KeyAgreement).await?;
    if input.key_agreement_algorithm != KeyAgreementAlgorithmSpec::Ecdh {
        return Err(errors::invalid_key_usage_exception(format!(
            "Key agreement algorithm {} is not supported by {}.",
            input.key_agreement_algorithm,
            tenant.key_arn(&key.id)
        )));
    }
    let algorithm = ecdh(key.kind.spec)?;
    check_dry_run(input.dry_run)?;
    let material = state.fixed_material(&tenant, &key.id).await?;
    let private = PrivateKey::from_private_key_der(algorithm, material.expose())
        .map_err(|_| errors::kms_internal_exception("The stored key material is unreadable."))?;
    let peer = UnparsedPublicKey::new(algorithm, &input.public_key.0);
    let invalid_peer = ServiceError::validation(format!(
        "PublicKey is not a valid {} public key.",
        key.kind.spec.as_str()
    ));
    let secret = agreement::agree(&private, peer, invalid_peer, |secret| {
        Ok(Sensitive::new(secret.to_vec()))
    })?;
    Ok(DeriveSharedSecretResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        shared_secret: Some(Sensitive::new(Blob(secret.into_inner()))),
        ciphertext_for_recipient: None,
        key_agreement_algorithm: Some(KeyAgreementAlgorithmSpec::Ecdh),
        key_origin: Some(OriginType::AwsKms),
    })
}

/// The ECDH curve of a key agreement key (only NIST curves may be created for key agreement).
fn ecdh(spec: Spec) -> Result<&'static Algorithm, ServiceError> {
    match spec {
        Spec::EccNistP256 => Ok(&agreement::ECDH_P256),
        Spec::EccNistP384 => Ok(&agreement::ECDH_P384),
        Spec::EccNistP521 => Ok(&agreement::ECDH_P521),
        other => Err(errors::invalid_key_usage_exception(format!(
            "KeySpec {} does not support key agreement.",
            other.as_str()
        ))),
    }
}
