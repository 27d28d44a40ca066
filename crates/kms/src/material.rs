//! Key material: generating it for each key spec, and the sealed entry that holds every version
//! of one key's material (each version a 4-byte big-endian length and the bytes).
//!
//! Symmetric and HMAC material is the raw key; RSA and ECC material is the private key as PKCS#8
//! DER, which aws-lc-rs reads back for every operation.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm};
use palisade_core::{Sensitive, ServiceError};
use palisade_model_kms::errors;
use palisade_store::SecretBytes;

use crate::specs::Spec;

/// One version of a key's material; zeroed when dropped.
pub(crate) type Material = Sensitive<Vec<u8>>;

/// Every version of one key's material, oldest first.
#[derive(Debug)]
pub(crate) struct Materials(Vec<Material>);

impl Materials {
    pub fn new(first: Material) -> Self {
        Self(vec![first])
    }

    pub fn get(&self, version: u32) -> Option<&[u8]> {
        let index = usize::try_from(version).ok()?;
        self.0
            .get(index)
            .map(|material| material.expose().as_slice())
    }

    pub fn push(&mut self, material: Material) {
        self.0.push(material);
    }

    /// The sealed entry's bytes.
    pub fn encode(&self) -> SecretBytes {
        let mut out = Vec::with_capacity(self.0.iter().map(|m| m.expose().len() + 4).sum());
        for material in &self.0 {
            let bytes = material.expose();
            // Material is at most a few kilobytes (an RSA-4096 PKCS#8 key), far below u32::MAX.
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
        SecretBytes::new(out)
    }

    pub fn decode(mut bytes: &[u8]) -> Result<Self, ServiceError> {
        let corrupt = || errors::kms_internal_exception("The stored key material is corrupt.");
        let mut versions = Vec::new();
        while !bytes.is_empty() {
            let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| corrupt())?;
            let (material, rest) = rest.split_at_checked(len).ok_or_else(corrupt)?;
            versions.push(Sensitive::new(material.to_vec()));
            bytes = rest;
        }
        Ok(Self(versions))
    }
}

/// Fresh material for a key of `spec`.
pub(crate) fn generate(spec: Spec) -> Result<Material, ServiceError> {
    let failed = |_| errors::kms_internal_exception("Key generation failed.");
    let bytes = match spec {
        Spec::SymmetricDefault => random_bytes(32)?,
        Spec::Hmac224 => random_bytes(28)?,
        Spec::Hmac256 => random_bytes(32)?,
        Spec::Hmac384 => random_bytes(48)?,
        Spec::Hmac512 => random_bytes(64)?,
        Spec::Rsa2048 | Spec::Rsa3072 | Spec::Rsa4096 => {
            let pair = RsaKeyPair::generate(rsa_size(spec)).map_err(failed)?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(failed)?;
            Sensitive::new(der.as_ref().to_vec())
        }
        Spec::EccNistP256 | Spec::EccNistP384 | Spec::EccNistP521 | Spec::EccSecgP256k1 => {
            let pair = EcdsaKeyPair::generate(ecdsa_signing(spec)).map_err(failed)?;
            Sensitive::new(pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec())
        }
    };
    Ok(bytes)
}

/// `len` bytes from the system's secure random generator.
pub(crate) fn random_bytes(len: usize) -> Result<Material, ServiceError> {
    let mut bytes = vec![0; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| errors::kms_internal_exception("The random generator failed."))?;
    Ok(Sensitive::new(bytes))
}

/// The modulus size of an RSA spec (the others never reach here; they get the smallest).
pub(crate) fn rsa_size(spec: Spec) -> KeySize {
    match spec {
        Spec::Rsa4096 => KeySize::Rsa4096,
        Spec::Rsa3072 => KeySize::Rsa3072,
        _ => KeySize::Rsa2048,
    }
}

/// The ECDSA algorithm (curve and hash, ASN.1 DER signatures as KMS returns them) of an ECC
/// spec: each curve signs with one hash in KMS.
pub(crate) fn ecdsa_signing(spec: Spec) -> &'static EcdsaSigningAlgorithm {
    match spec {
        Spec::EccNistP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        Spec::EccNistP521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        Spec::EccSecgP256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

/// The public key of asymmetric material, as DER SubjectPublicKeyInfo.
pub(crate) fn public_key_der(spec: Spec, private_pkcs8: &[u8]) -> Result<Vec<u8>, ServiceError> {
    use aws_lc_rs::signature::KeyPair as _;
    let unreadable = || errors::kms_internal_exception("The stored key material is unreadable.");
    let der = if spec.is_rsa() {
        let pair = RsaKeyPair::from_pkcs8(private_pkcs8).map_err(|_| unreadable())?;
        pair.public_key().as_der().map_err(|_| unreadable())?
    } else {
        let pair = EcdsaKeyPair::from_pkcs8(ecdsa_signing(spec), private_pkcs8)
            .map_err(|_| unreadable())?;
        pair.public_key().as_der().map_err(|_| unreadable())?
    };
    Ok(der.as_ref().to_vec())
}

/// A material id as AWS shows it: 64 hex digits.
pub(crate) fn new_material_id() -> Result<String, ServiceError> {
    Ok(hex(random_bytes(32)?.expose()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
