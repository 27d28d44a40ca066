//! Sign, Verify, GetPublicKey, GenerateMac and VerifyMac. Signatures are also checked against
//! the public key from GetPublicKey with aws-lc-rs directly, independent of KMS's own Verify.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use palisade_core::Sensitive;
use palisade_core::value::Blob;
use palisade_model_kms::types::*;

use crate::common::*;

fn sign_request(key_id: &str, message: &[u8], kind: MessageType, algorithm: &str) -> SignRequest {
    SignRequest {
        key_id: key_id.to_owned(),
        message: Sensitive::new(Blob(message.to_vec())),
        message_type: Some(kind),
        grant_tokens: None,
        signing_algorithm: SigningAlgorithmSpec::from(algorithm),
        dry_run: None,
    }
}

fn verify_request(
    key_id: &str,
    message: &[u8],
    kind: MessageType,
    algorithm: &str,
    signature: &[u8],
) -> VerifyRequest {
    VerifyRequest {
        key_id: key_id.to_owned(),
        message: Sensitive::new(Blob(message.to_vec())),
        message_type: Some(kind),
        signature: Blob(signature.to_vec()),
        signing_algorithm: SigningAlgorithmSpec::from(algorithm),
        grant_tokens: None,
        dry_run: None,
    }
}

/// The hash and the independent verifier of each algorithm on each spec.
fn reference(
    spec: &str,
    algorithm: &str,
) -> Option<(
    &'static digest::Algorithm,
    &'static dyn VerificationAlgorithm,
)> {
    Some(match (spec, algorithm) {
        (_, "RSASSA_PSS_SHA_256") => (&digest::SHA256, &signature::RSA_PSS_2048_8192_SHA256),
        (_, "RSASSA_PSS_SHA_384") => (&digest::SHA384, &signature::RSA_PSS_2048_8192_SHA384),
        (_, "RSASSA_PSS_SHA_512") => (&digest::SHA512, &signature::RSA_PSS_2048_8192_SHA512),
        (_, "RSASSA_PKCS1_V1_5_SHA_256") => {
            (&digest::SHA256, &signature::RSA_PKCS1_2048_8192_SHA256)
        }
        (_, "RSASSA_PKCS1_V1_5_SHA_384") => {
            (&digest::SHA384, &signature::RSA_PKCS1_2048_8192_SHA384)
        }
        (_, "RSASSA_PKCS1_V1_5_SHA_512") => {
            (&digest::SHA512, &signature::RSA_PKCS1_2048_8192_SHA512)
        }
        ("ECC_NIST_P256", _) => (&digest::SHA256, &signature::ECDSA_P256_SHA256_ASN1),
        ("ECC_NIST_P384", _) => (&digest::SHA384, &signature::ECDSA_P384_SHA384_ASN1),
        ("ECC_NIST_P521", _) => (&digest::SHA512, &signature::ECDSA_P521_SHA512_ASN1),
        ("ECC_SECG_P256K1", _) => (&digest::SHA256, &signature::ECDSA_P256K1_SHA256_ASN1),
        _ => return None,
    })
}

#[tokio::test]
async fn every_signing_algorithm_signs_raw_and_digest_messages() {
    let h = Harness::new().await;
    let rsa = [
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    ];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("RSA_2048", rsa.to_vec()),
        ("RSA_3072", vec!["RSASSA_PSS_SHA_384"]),
        ("ECC_NIST_P256", vec!["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", vec!["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", vec!["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", vec!["ECDSA_SHA_256"]),
    ];
    let message = b"the message to sign";
    for (spec, algorithms) in cases {
        let id = h.create_key(spec, "SIGN_VERIFY").await.key_id;
        let public: GetPublicKeyResponse = h
            .call(
                "GetPublicKey",
                GetPublicKeyRequest {
                    key_id: id.clone(),
                    grant_tokens: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(public.key_id, Some(arn(&id)));
        assert_eq!(public.key_spec, Some(KeySpec::from(spec)));
        assert_eq!(public.key_usage, Some(KeyUsageType::SignVerify));
        assert!(public.signing_algorithms.is_some());
        let public_der = public.public_key.unwrap().0;
        for algorithm in algorithms {
            let (hash, verifier) = reference(spec, algorithm).unwrap();
            let digest = digest::digest(hash, message);
            for (kind, input) in [
                (MessageType::Raw, message.as_slice()),
                (MessageType::Digest, digest.as_ref()),
            ] {
                let signed: SignResponse = h
                    .call("Sign", sign_request(&id, input, kind.clone(), algorithm))
                    .await
                    .unwrap();
                assert_eq!(signed.key_id, Some(arn(&id)));
                let sig = signed.signature.unwrap().0;
                // Independently: the public key from GetPublicKey verifies the raw message.
                UnparsedPublicKey::new(verifier, &public_der)
                    .verify(message, &sig)
                    .unwrap_or_else(|_| panic!("{spec} {algorithm} {kind:?}"));
                let verified: VerifyResponse = h
                    .call(
                        "Verify",
                        verify_request(&id, input, kind.clone(), algorithm, &sig),
                    )
                    .await
                    .unwrap();
                assert_eq!(verified.signature_valid, Some(true));
                let mut wrong = input.to_vec();
                wrong[0] ^= 1;
                assert_code(
                    h.call::<VerifyResponse>(
                        "Verify",
                        verify_request(&id, &wrong, kind, algorithm, &sig),
                    )
                    .await,
                    "KMSInvalidSignatureException",
                );
            }
            let message = assert_code(
                h.call::<SignResponse>(
                    "Sign",
                    sign_request(&id, &[0; 20], MessageType::Digest, algorithm),
                )
                .await,
                "Validation",
            );
            assert_eq!(
                message,
                format!("Digest is invalid length for algorithm {algorithm}.")
            );
        }
    }
}

#[tokio::test]
async fn signing_refuses_other_algorithms_and_keys() {
    let h = Harness::new().await;
    let ecc = h.create_key("ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    assert_code(
        h.call::<SignResponse>(
            "Sign",
            sign_request(&ecc, b"m", MessageType::Raw, "ECDSA_SHA_384"),
        )
        .await,
        "InvalidKeyUsageException",
    );
    assert_code(
        h.call::<SignResponse>(
            "Sign",
            sign_request(&ecc, b"m", MessageType::Raw, "RSASSA_PSS_SHA_256"),
        )
        .await,
        "InvalidKeyUsageException",
    );
    let symmetric = h.symmetric_key().await;
    assert_code(
        h.call::<SignResponse>(
            "Sign",
            sign_request(&symmetric, b"m", MessageType::Raw, "ECDSA_SHA_256"),
        )
        .await,
        "InvalidKeyUsageException",
    );
    assert_code(
        h.call::<GetPublicKeyResponse>(
            "GetPublicKey",
            GetPublicKeyRequest {
                key_id: symmetric,
                grant_tokens: None,
            },
        )
        .await,
        "UnsupportedOperationException",
    );
    h.act(
        "DisableKey",
        DisableKeyRequest {
            key_id: ecc.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.call::<SignResponse>(
            "Sign",
            sign_request(&ecc, b"m", MessageType::Raw, "ECDSA_SHA_256"),
        )
        .await,
        "DisabledException",
    );
    // RSA encryption keys do not sign.
    let rsa = h.create_key("RSA_2048", "ENCRYPT_DECRYPT").await.key_id;
    assert_code(
        h.call::<SignResponse>(
            "Sign",
            sign_request(&rsa, b"m", MessageType::Raw, "RSASSA_PSS_SHA_256"),
        )
        .await,
        "InvalidKeyUsageException",
    );
    let public: GetPublicKeyResponse = h
        .call(
            "GetPublicKey",
            GetPublicKeyRequest {
                key_id: rsa,
                grant_tokens: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        public.encryption_algorithms,
        Some(vec![
            EncryptionAlgorithmSpec::RsaesOaepSha1,
            EncryptionAlgorithmSpec::RsaesOaepSha256
        ])
    );
}

#[tokio::test]
async fn hmac_keys_generate_and_verify_macs() {
    let h = Harness::new().await;
    for (spec, algorithm, len) in [
        ("HMAC_224", MacAlgorithmSpec::HmacSha224, 28),
        ("HMAC_256", MacAlgorithmSpec::HmacSha256, 32),
        ("HMAC_384", MacAlgorithmSpec::HmacSha384, 48),
        ("HMAC_512", MacAlgorithmSpec::HmacSha512, 64),
    ] {
        let id = h.create_key(spec, "GENERATE_VERIFY_MAC").await.key_id;
        let generated: GenerateMacResponse = h
            .call(
                "GenerateMac",
                GenerateMacRequest {
                    message: Sensitive::new(Blob(b"authentic".to_vec())),
                    key_id: id.clone(),
                    mac_algorithm: algorithm.clone(),
                    grant_tokens: None,
                    dry_run: None,
                },
            )
            .await
            .unwrap();
        let mac = generated.mac.unwrap().0;
        assert_eq!(mac.len(), len);
        assert_eq!(generated.key_id, Some(arn(&id)));
        let verify = |message: &[u8], mac: Vec<u8>| VerifyMacRequest {
            message: Sensitive::new(Blob(message.to_vec())),
            key_id: id.clone(),
            mac_algorithm: algorithm.clone(),
            mac: Blob(mac),
            grant_tokens: None,
            dry_run: None,
        };
        let verified: VerifyMacResponse = h
            .call("VerifyMac", verify(b"authentic", mac.clone()))
            .await
            .unwrap();
        assert_eq!(verified.mac_valid, Some(true));
        assert_code(
            h.call::<VerifyMacResponse>("VerifyMac", verify(b"forged", mac.clone()))
                .await,
            "KMSInvalidMacException",
        );
        let mut truncated = mac.clone();
        truncated.pop();
        assert_code(
            h.call::<VerifyMacResponse>("VerifyMac", verify(b"authentic", truncated))
                .await,
            "KMSInvalidMacException",
        );
    }
    let id = h.create_key("HMAC_256", "GENERATE_VERIFY_MAC").await.key_id;
    assert_code(
        h.call::<GenerateMacResponse>(
            "GenerateMac",
            GenerateMacRequest {
                message: Sensitive::new(Blob(b"m".to_vec())),
                key_id: id,
                mac_algorithm: MacAlgorithmSpec::HmacSha512,
                grant_tokens: None,
                dry_run: None,
            },
        )
        .await,
        "InvalidKeyUsageException",
    );
}

#[tokio::test]
async fn key_agreement_derives_the_peers_shared_secret() {
    use aws_lc_rs::agreement;
    use aws_lc_rs::encoding::AsDer;

    let h = Harness::new().await;
    for (spec, curve) in [
        ("ECC_NIST_P256", &agreement::ECDH_P256),
        ("ECC_NIST_P384", &agreement::ECDH_P384),
        ("ECC_NIST_P521", &agreement::ECDH_P521),
    ] {
        let id = h.create_key(spec, "KEY_AGREEMENT").await.key_id;
        let kms_public: GetPublicKeyResponse = h
            .call(
                "GetPublicKey",
                GetPublicKeyRequest {
                    key_id: id.clone(),
                    grant_tokens: None,
                },
            )
            .await
            .unwrap();
        let kms_public = kms_public.public_key.unwrap().0;
        let local = agreement::PrivateKey::generate(curve).unwrap();
        let local_public = local.compute_public_key().unwrap().as_der().unwrap();
        let derived: DeriveSharedSecretResponse = h
            .call(
                "DeriveSharedSecret",
                DeriveSharedSecretRequest {
                    key_id: id.clone(),
                    key_agreement_algorithm: KeyAgreementAlgorithmSpec::Ecdh,
                    public_key: Blob(local_public.as_ref().to_vec()),
                    grant_tokens: None,
                    dry_run: None,
                    recipient: None,
                },
            )
            .await
            .unwrap();
        let expected = agreement::agree(
            &local,
            agreement::UnparsedPublicKey::new(curve, &kms_public),
            (),
            |secret| Ok(secret.to_vec()),
        )
        .unwrap();
        assert_eq!(
            derived.shared_secret.unwrap().expose().0,
            expected,
            "{spec}"
        );
    }
    let p256 = h.create_key("ECC_NIST_P256", "KEY_AGREEMENT").await.key_id;
    let other = agreement::PrivateKey::generate(&agreement::ECDH_P384).unwrap();
    let other_public = other.compute_public_key().unwrap().as_der().unwrap();
    assert_code(
        h.call::<DeriveSharedSecretResponse>(
            "DeriveSharedSecret",
            DeriveSharedSecretRequest {
                key_id: p256,
                key_agreement_algorithm: KeyAgreementAlgorithmSpec::Ecdh,
                public_key: Blob(other_public.as_ref().to_vec()),
                grant_tokens: None,
                dry_run: None,
                recipient: None,
            },
        )
        .await,
        "Validation",
    );
    let signing = h.create_key("ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    assert_code(
        h.call::<DeriveSharedSecretResponse>(
            "DeriveSharedSecret",
            DeriveSharedSecretRequest {
                key_id: signing,
                key_agreement_algorithm: KeyAgreementAlgorithmSpec::Ecdh,
                public_key: Blob(vec![4; 65]),
                grant_tokens: None,
                dry_run: None,
                recipient: None,
            },
        )
        .await,
        "InvalidKeyUsageException",
    );
}
