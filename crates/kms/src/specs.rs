//! The key specs and usages KMS offers, which combinations AWS allows, and the algorithms each
//! combination supports (what `DescribeKey` and `GetPublicKey` report and the operations accept).

use palisade_core::ServiceError;
use palisade_model_kms::types::{
    CustomerMasterKeySpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec,
    KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec,
};
use serde::{Deserialize, Serialize};

/// A key spec Palisade can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Spec {
    SymmetricDefault,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    Hmac224,
    Hmac256,
    Hmac384,
    Hmac512,
}

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Usage {
    EncryptDecrypt,
    SignVerify,
    GenerateVerifyMac,
    KeyAgreement,
}

impl Spec {
    /// The spec named by a request; `None` for the specs Palisade does not offer (SM2, ML-DSA,
    /// Ed25519).
    pub fn from_model(spec: &KeySpec) -> Option<Self> {
        Some(match spec {
            KeySpec::SymmetricDefault => Self::SymmetricDefault,
            KeySpec::Rsa2048 => Self::Rsa2048,
            KeySpec::Rsa3072 => Self::Rsa3072,
            KeySpec::Rsa4096 => Self::Rsa4096,
            KeySpec::EccNistP256 => Self::EccNistP256,
            KeySpec::EccNistP384 => Self::EccNistP384,
            KeySpec::EccNistP521 => Self::EccNistP521,
            KeySpec::EccSecgP256k1 => Self::EccSecgP256k1,
            KeySpec::Hmac224 => Self::Hmac224,
            KeySpec::Hmac256 => Self::Hmac256,
            KeySpec::Hmac384 => Self::Hmac384,
            KeySpec::Hmac512 => Self::Hmac512,
            _ => return None,
        })
    }

    pub fn key_spec(self) -> KeySpec {
        KeySpec::from(self.as_str())
    }

    /// The deprecated `CustomerMasterKeySpec` AWS still reports beside `KeySpec`.
    pub fn customer_master_key_spec(self) -> CustomerMasterKeySpec {
        CustomerMasterKeySpec::from(self.as_str())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SymmetricDefault => "SYMMETRIC_DEFAULT",
            Self::Rsa2048 => "RSA_2048",
            Self::Rsa3072 => "RSA_3072",
            Self::Rsa4096 => "RSA_4096",
            Self::EccNistP256 => "ECC_NIST_P256",
            Self::EccNistP384 => "ECC_NIST_P384",
            Self::EccNistP521 => "ECC_NIST_P521",
            Self::EccSecgP256k1 => "ECC_SECG_P256K1",
            Self::Hmac224 => "HMAC_224",
            Self::Hmac256 => "HMAC_256",
            Self::Hmac384 => "HMAC_384",
            Self::Hmac512 => "HMAC_512",
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    pub fn is_ecc(self) -> bool {
        matches!(
            self,
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521 | Self::EccSecgP256k1
        )
    }

    /// The usages AWS allows for this spec.
    fn allows(self, usage: Usage) -> bool {
        match self {
            Self::SymmetricDefault => usage == Usage::EncryptDecrypt,
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => {
                matches!(usage, Usage::EncryptDecrypt | Usage::SignVerify)
            }
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521 => {
                matches!(usage, Usage::SignVerify | Usage::KeyAgreement)
            }
            Self::EccSecgP256k1 => usage == Usage::SignVerify,
            Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512 => {
                usage == Usage::GenerateVerifyMac
            }
        }
    }
}

impl Usage {
    pub fn from_model(usage: &KeyUsageType) -> Option<Self> {
        Some(match usage {
            KeyUsageType::EncryptDecrypt => Self::EncryptDecrypt,
            KeyUsageType::SignVerify => Self::SignVerify,
            KeyUsageType::GenerateVerifyMac => Self::GenerateVerifyMac,
            KeyUsageType::KeyAgreement => Self::KeyAgreement,
            KeyUsageType::Unknown(_) => return None,
        })
    }

    pub fn key_usage(self) -> KeyUsageType {
        KeyUsageType::from(self.as_str())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EncryptDecrypt => "ENCRYPT_DECRYPT",
            Self::SignVerify => "SIGN_VERIFY",
            Self::GenerateVerifyMac => "GENERATE_VERIFY_MAC",
            Self::KeyAgreement => "KEY_AGREEMENT",
        }
    }
}

/// A spec and usage AWS allows together, with the algorithms they support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyKind {
    pub spec: Spec,
    pub usage: Usage,
}

impl KeyKind {
    /// Checks the combination as `CreateKey` does. AWS defaults the usage to `ENCRYPT_DECRYPT`
    /// whatever the spec, so an ECC or HMAC key needs its usage named.
    pub fn new(spec: Spec, usage: Usage) -> Result<Self, ServiceError> {
        if spec.allows(usage) {
            Ok(Self { spec, usage })
        } else {
            Err(ServiceError::validation(format!(
                "KeyUsage {} is not compatible with KeySpec {}",
                usage.as_str(),
                spec.as_str()
            )))
        }
    }

    pub fn encryption_algorithms(self) -> Vec<EncryptionAlgorithmSpec> {
        match (self.spec, self.usage) {
            (Spec::SymmetricDefault, _) => vec![EncryptionAlgorithmSpec::SymmetricDefault],
            (spec, Usage::EncryptDecrypt) if spec.is_rsa() => vec![
                EncryptionAlgorithmSpec::RsaesOaepSha1,
                EncryptionAlgorithmSpec::RsaesOaepSha256,
            ],
            _ => Vec::new(),
        }
    }

    pub fn signing_algorithms(self) -> Vec<SigningAlgorithmSpec> {
        if self.usage != Usage::SignVerify {
            return Vec::new();
        }
        match self.spec {
            Spec::Rsa2048 | Spec::Rsa3072 | Spec::Rsa4096 => vec![
                SigningAlgorithmSpec::RsassaPssSha256,
                SigningAlgorithmSpec::RsassaPssSha384,
                SigningAlgorithmSpec::RsassaPssSha512,
                SigningAlgorithmSpec::RsassaPkcs1V1_5Sha256,
                SigningAlgorithmSpec::RsassaPkcs1V1_5Sha384,
                SigningAlgorithmSpec::RsassaPkcs1V1_5Sha512,
            ],
            Spec::EccNistP256 | Spec::EccSecgP256k1 => vec![SigningAlgorithmSpec::EcdsaSha256],
            Spec::EccNistP384 => vec![SigningAlgorithmSpec::EcdsaSha384],
            Spec::EccNistP521 => vec![SigningAlgorithmSpec::EcdsaSha512],
            Spec::SymmetricDefault
            | Spec::Hmac224
            | Spec::Hmac256
            | Spec::Hmac384
            | Spec::Hmac512 => Vec::new(),
        }
    }

    pub fn mac_algorithms(self) -> Vec<MacAlgorithmSpec> {
        match self.spec {
            Spec::Hmac224 => vec![MacAlgorithmSpec::HmacSha224],
            Spec::Hmac256 => vec![MacAlgorithmSpec::HmacSha256],
            Spec::Hmac384 => vec![MacAlgorithmSpec::HmacSha384],
            Spec::Hmac512 => vec![MacAlgorithmSpec::HmacSha512],
            _ => Vec::new(),
        }
    }

    pub fn key_agreement_algorithms(self) -> Vec<KeyAgreementAlgorithmSpec> {
        if self.usage == Usage::KeyAgreement {
            vec![KeyAgreementAlgorithmSpec::Ecdh]
        } else {
            Vec::new()
        }
    }
}

/// A list of algorithms as AWS reports it: absent when empty.
pub(crate) fn non_empty<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}
