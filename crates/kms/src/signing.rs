//! Asymmetric signatures: Sign and Verify with RSA (PSS and PKCS #1 v1.5) and ECDSA keys, over a
//! raw message or a digest the caller computed, and GetPublicKey.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, RsaEncoding, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm,
};
use palisade_core::value::Blob;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;

use crate::KmsState;
use crate::crypto::{check_dry_run, usable_key};
use crate::db::Tenant;
use crate::ids::check_enabled;
use crate::material::{ecdsa_signing, public_key_der};
use crate::records::KeyRecord;
use crate::specs::non_empty;
use crate::specs::{Spec, Usage};

pub(crate) async fn sign(
    state: &KmsState,
    ctx: &RequestContext,
    input: SignRequest,
) -> Result<SignResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = usable_key(state, &tenant, &input.key_id, Usage::SignVerify).await?;
    let scheme = Scheme::of(&tenant, &key, &input.signing_algorithm)?;
    let message = Message::of(
        &scheme,
        &input.signing_algorithm,
        input.message_type.as_ref(),
        &input.message.expose().0,
    )?;
    check_dry_run(input.dry_run)?;
    let pair = state.signing_keys.pair(state, &tenant, &key).await?;
    let failed = |_| errors::kms_internal_exception("Signing failed.");
    let signature = match (scheme, pair.as_ref()) {
        (Scheme::Rsa { encoding, .. }, SigningPair::Rsa(pair)) => {
            let mut signature = vec![0; pair.public_modulus_len()];
            match message {
                Message::Raw(raw) => pair
                    .sign(encoding, &SystemRandom::new(), raw, &mut signature)
                    .map_err(failed)?,
                Message::Digest(digest) => pair
                    .sign_digest(encoding, &digest, &mut signature)
                    .map_err(failed)?,
            }
            signature
        }
        (Scheme::Ecdsa { .. }, SigningPair::Ecdsa(pair)) => {
            let signature = match message {
                Message::Raw(raw) => pair.sign(&SystemRandom::new(), raw).map_err(failed)?,
                Message::Digest(digest) => pair.sign_digest(&digest).map_err(failed)?,
            };
            signature.as_ref().to_vec()
        }
        _ => return Err(unreadable_material()),
    };
    Ok(SignResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        signature: Some(Blob(signature)),
        signing_algorithm: Some(input.signing_algorithm),
    })
}

/// Parsed private keys of signing keys, by key ARN. Parsing one (PKCS#8, with its public key
/// recomputed and checked) costs about as much as a signature, and an asymmetric key's material
/// never changes: it does not rotate, and imported material may only be imported again as the
/// same bytes. Whether the key may be used is decided before the cache is consulted.
#[derive(Default)]
pub(crate) struct SigningKeys(Mutex<HashMap<String, Arc<SigningPair>>>);

/// Past this many parsed keys the cache starts over.
const MAX_SIGNING_KEYS: usize = 1024;

pub(crate) enum SigningPair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl SigningKeys {
    async fn pair(
        &self,
        state: &KmsState,
        tenant: &Tenant,
        key: &KeyRecord,
    ) -> Result<Arc<SigningPair>, ServiceError> {
        let arn = tenant.key_arn(&key.id);
        if let Some(pair) = self.lock().get(&arn) {
            return Ok(Arc::clone(pair));
        }
        let material = state.fixed_material(tenant, &key.id).await?;
        let pair = Arc::new(match key.kind.spec {
            Spec::Rsa2048 | Spec::Rsa3072 | Spec::Rsa4096 => SigningPair::Rsa(
                RsaKeyPair::from_pkcs8(material.expose()).map_err(|_| unreadable_material())?,
            ),
            spec @ (Spec::EccNistP256
            | Spec::EccNistP384
            | Spec::EccNistP521
            | Spec::EccSecgP256k1) => SigningPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(spec), material.expose())
                    .map_err(|_| unreadable_material())?,
            ),
            Spec::SymmetricDefault
            | Spec::Hmac224
            | Spec::Hmac256
            | Spec::Hmac384
            | Spec::Hmac512 => return Err(unreadable_material()),
        });
        let mut pairs = self.lock();
        if pairs.len() >= MAX_SIGNING_KEYS {
            pairs.clear();
        }
        pairs.insert(arn, Arc::clone(&pair));
        Ok(pair)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningPair>>> {
        // Entries are inserted whole; a panic elsewhere leaves the map sound.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn unreadable_material() -> ServiceError {
    errors::kms_internal_exception("The stored key material is unreadable.")
}

pub(crate) async fn verify(
    state: &KmsState,
    ctx: &RequestContext,
    input: VerifyRequest,
) -> Result<VerifyResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = usable_key(state, &tenant, &input.key_id, Usage::SignVerify).await?;
    let scheme = Scheme::of(&tenant, &key, &input.signing_algorithm)?;
    let message = Message::of(
        &scheme,
        &input.signing_algorithm,
        input.message_type.as_ref(),
        &input.message.expose().0,
    )?;
    check_dry_run(input.dry_run)?;
    let material = state.fixed_material(&tenant, &key.id).await?;
    let public = public_key_der(key.kind.spec, material.expose())?;
    let public = UnparsedPublicKey::new(scheme.verification(), public);
    let verified = match message {
        Message::Raw(raw) => public.verify(raw, &input.signature.0),
        Message::Digest(digest) => public.verify_digest(&digest, &input.signature.0),
    };
    if verified.is_err() {
        return Err(errors::kms_invalid_signature_exception(""));
    }
    Ok(VerifyResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        signature_valid: Some(true),
        signing_algorithm: Some(input.signing_algorithm),
    })
}

pub(crate) async fn get_public_key(
    state: &KmsState,
    ctx: &RequestContext,
    input: GetPublicKeyRequest,
) -> Result<GetPublicKeyResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = state.resolve_key(&tenant, &input.key_id).await?.value;
    check_enabled(&tenant, &key)?;
    if !(key.kind.spec.is_rsa() || key.kind.spec.is_ecc()) {
        return Err(errors::unsupported_operation_exception(format!(
            "{} is not an asymmetric KMS key; it has no public key.",
            tenant.key_arn(&key.id)
        )));
    }
    let material = state.fixed_material(&tenant, &key.id).await?;
    let public = public_key_der(key.kind.spec, material.expose())?;
    Ok(GetPublicKeyResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        public_key: Some(Blob(public)),
        customer_master_key_spec: Some(key.kind.spec.customer_master_key_spec()),
        key_spec: Some(key.kind.spec.key_spec()),
        key_usage: Some(key.kind.usage.key_usage()),
        encryption_algorithms: non_empty(key.kind.encryption_algorithms()),
        signing_algorithms: non_empty(key.kind.signing_algorithms()),
        key_agreement_algorithms: non_empty(key.kind.key_agreement_algorithms()),
    })
}

/// How a signing algorithm signs with a key: the padding (RSA) or curve (ECDSA), and the hash.
enum Scheme {
    Rsa {
        encoding: &'static dyn RsaEncoding,
        verification: &'static signature::RsaParameters,
        hash: &'static digest::Algorithm,
    },
    Ecdsa {
        verification: &'static signature::EcdsaVerificationAlgorithm,
        hash: &'static digest::Algorithm,
    },
}

impl Scheme {
    /// The scheme of `algorithm` with `key`, if the key supports it.
    fn of(
        tenant: &Tenant,
        key: &KeyRecord,
        algorithm: &SigningAlgorithmSpec,
    ) -> Result<Self, ServiceError> {
        use SigningAlgorithmSpec as A;
        if !key.kind.signing_algorithms().contains(algorithm) {
            return Err(errors::invalid_key_usage_exception(format!(
                "Signing algorithm {algorithm} is not supported by {} (KeySpec {}).",
                tenant.key_arn(&key.id),
                key.kind.spec.as_str()
            )));
        }
        let rsa = |encoding: &'static dyn RsaEncoding, verification, hash| Scheme::Rsa {
            encoding,
            verification,
            hash,
        };
        Ok(match (algorithm, key.kind.spec) {
            (A::RsassaPssSha256, _) => rsa(
                &signature::RSA_PSS_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
                &digest::SHA256,
            ),
            (A::RsassaPssSha384, _) => rsa(
                &signature::RSA_PSS_SHA384,
                &signature::RSA_PSS_2048_8192_SHA384,
                &digest::SHA384,
            ),
            (A::RsassaPssSha512, _) => rsa(
                &signature::RSA_PSS_SHA512,
                &signature::RSA_PSS_2048_8192_SHA512,
                &digest::SHA512,
            ),
            (A::RsassaPkcs1V1_5Sha256, _) => rsa(
                &signature::RSA_PKCS1_SHA256,
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &digest::SHA256,
            ),
            (A::RsassaPkcs1V1_5Sha384, _) => rsa(
                &signature::RSA_PKCS1_SHA384,
                &signature::RSA_PKCS1_2048_8192_SHA384,
                &digest::SHA384,
            ),
            (A::RsassaPkcs1V1_5Sha512, _) => rsa(
                &signature::RSA_PKCS1_SHA512,
                &signature::RSA_PKCS1_2048_8192_SHA512,
                &digest::SHA512,
            ),
            (_, Spec::EccNistP384) => Scheme::Ecdsa {
                verification: &signature::ECDSA_P384_SHA384_ASN1,
                hash: &digest::SHA384,
            },
            (_, Spec::EccNistP521) => Scheme::Ecdsa {
                verification: &signature::ECDSA_P521_SHA512_ASN1,
                hash: &digest::SHA512,
            },
            (_, Spec::EccSecgP256k1) => Scheme::Ecdsa {
                verification: &signature::ECDSA_P256K1_SHA256_ASN1,
                hash: &digest::SHA256,
            },
            _ => Scheme::Ecdsa {
                verification: &signature::ECDSA_P256_SHA256_ASN1,
                hash: &digest::SHA256,
            },
        })
    }

    fn hash(&self) -> &'static digest::Algorithm {
        match self {
            Scheme::Rsa { hash, .. } | Scheme::Ecdsa { hash, .. } => hash,
        }
    }

    fn verification(&self) -> &'static dyn VerificationAlgorithm {
        match self {
            Scheme::Rsa { verification, .. } => *verification,
            Scheme::Ecdsa { verification, .. } => *verification,
        }
    }
}

/// What is signed: the message itself, or its digest computed by the caller.
enum Message<'a> {
    Raw(&'a [u8]),
    Digest(Digest),
}

impl<'a> Message<'a> {
    fn of(
        scheme: &Scheme,
        algorithm: &SigningAlgorithmSpec,
        message_type: Option<&MessageType>,
        message: &'a [u8],
    ) -> Result<Self, ServiceError> {
        match message_type {
            None | Some(MessageType::Raw) => Ok(Message::Raw(message)),
            Some(MessageType::Digest) => Digest::import_less_safe(message, scheme.hash())
                .map(Message::Digest)
                .map_err(|_| {
                    ServiceError::validation(format!(
                        "Digest is invalid length for algorithm {algorithm}."
                    ))
                }),
            Some(other) => Err(ServiceError::validation(format!(
                "MessageType {other} is not supported for algorithm {algorithm}."
            ))),
        }
    }
}
