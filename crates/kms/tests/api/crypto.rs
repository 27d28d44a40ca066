//! Encryption, decryption, re-encryption, data keys and random bytes.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair, UnparsedPublicKey};
use palisade_core::Sensitive;
use palisade_core::value::Blob;
use palisade_model_kms::types::*;

use crate::common::*;

#[tokio::test]
async fn symmetric_round_trips_with_and_without_key_id() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    h.act(
        "CreateAlias",
        CreateAliasRequest {
            alias_name: "alias/data".to_owned(),
            target_key_id: id.clone(),
        },
    )
    .await
    .unwrap();
    let context = [("purpose", "test"), ("tenant", "t1")];
    for name in [id.clone(), arn(&id), "alias/data".to_owned()] {
        let blob = h.encrypt(&name, b"attack at dawn", &context).await.unwrap();
        assert_eq!(
            h.decrypt(None, &blob, &context).await.unwrap(),
            b"attack at dawn"
        );
        assert_eq!(
            h.decrypt(Some(&name), &blob, &context).await.unwrap(),
            b"attack at dawn"
        );
    }
    let blob = h.encrypt(&id, b"no context", &[]).await.unwrap();
    let response: DecryptResponse = h
        .call(
            "Decrypt",
            DecryptRequest {
                ciphertext_blob: Some(Blob(blob)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(response.key_id, Some(arn(&id)));
    assert_eq!(
        response.encryption_algorithm,
        Some(EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(
        response.key_material_id,
        h.describe(&id).await.current_key_material_id
    );
    // Each encryption uses a fresh nonce.
    assert_ne!(
        h.encrypt(&id, b"same", &[]).await.unwrap(),
        h.encrypt(&id, b"same", &[]).await.unwrap()
    );
}

#[tokio::test]
async fn encryption_context_must_match_exactly() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let blob = h.encrypt(&id, b"secret", &[("ab", "c")]).await.unwrap();
    assert_code(
        h.decrypt(None, &blob, &[("a", "bc")]).await,
        "InvalidCiphertextException",
    );
    assert_code(
        h.decrypt(None, &blob, &[]).await,
        "InvalidCiphertextException",
    );
    assert_code(
        h.decrypt(None, &blob, &[("ab", "c"), ("x", "y")]).await,
        "InvalidCiphertextException",
    );
    assert_eq!(
        h.decrypt(None, &blob, &[("ab", "c")]).await.unwrap(),
        b"secret"
    );
    let plain = h.encrypt(&id, b"secret", &[]).await.unwrap();
    assert_code(
        h.decrypt(None, &plain, &[("ab", "c")]).await,
        "InvalidCiphertextException",
    );
}

#[tokio::test]
async fn tampered_ciphertexts_are_invalid_and_leave_the_key_alone() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let blob = h
        .encrypt(&id, b"integrity matters", &[("k", "v")])
        .await
        .unwrap();
    for index in 0..blob.len() {
        for bit in [0x01u8, 0x80] {
            let mut flipped = blob.clone();
            flipped[index] ^= bit;
            let result = h.decrypt(None, &flipped, &[("k", "v")]).await;
            let message = assert_code(result, "InvalidCiphertextException");
            assert!(message.is_empty(), "byte {index}: {message}");
        }
    }
    for len in [0, 1, 2, 10, 40, 54, blob.len() - 1] {
        assert_code(
            h.call::<DecryptResponse>(
                "Decrypt",
                DecryptRequest {
                    ciphertext_blob: Some(Blob(blob[..len].to_vec())),
                    encryption_context: encryption_context(&[("k", "v")]),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ()),
            if len == 0 {
                "Validation"
            } else {
                "InvalidCiphertextException"
            },
        );
    }
    let mut extended = blob.clone();
    extended.push(0);
    assert_code(
        h.decrypt(None, &extended, &[("k", "v")]).await,
        "InvalidCiphertextException",
    );
    assert_code(
        h.decrypt(Some(&id), b"garbage", &[]).await,
        "InvalidCiphertextException",
    );

    let m = h.describe(&id).await;
    assert_eq!(m.key_state, Some(KeyState::Enabled));
    assert_eq!(
        h.decrypt(Some(&id), &blob, &[("k", "v")]).await.unwrap(),
        b"integrity matters"
    );
}

#[tokio::test]
async fn decrypting_with_another_key_is_incorrect_key() {
    let h = Harness::new().await;
    let first = h.symmetric_key().await;
    let second = h.symmetric_key().await;
    let blob = h.encrypt(&first, b"mine", &[]).await.unwrap();
    let message = assert_code(
        h.decrypt(Some(&second), &blob, &[]).await,
        "IncorrectKeyException",
    );
    assert_eq!(
        message,
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
}

#[tokio::test]
async fn plaintext_limits_and_key_usage_are_enforced() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    assert_code(h.encrypt(&id, &[0; 4097], &[]).await, "Validation");
    let blob = h.encrypt(&id, &[7; 4096], &[]).await.unwrap();
    assert!(blob.len() <= 6144);
    assert_eq!(h.decrypt(None, &blob, &[]).await.unwrap(), vec![7; 4096]);

    let signing = h.create_key("ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    let message = assert_code(
        h.encrypt(&signing, b"x", &[]).await,
        "InvalidKeyUsageException",
    );
    assert!(message.contains("SIGN_VERIFY"), "{message}");
    let hmac = h.create_key("HMAC_256", "GENERATE_VERIFY_MAC").await.key_id;
    assert_code(
        h.decrypt(Some(&hmac), &blob, &[]).await,
        "InvalidKeyUsageException",
    );
}

#[tokio::test]
async fn rsa_keys_encrypt_with_oaep() {
    let h = Harness::new().await;
    let id = h.create_key("RSA_2048", "ENCRYPT_DECRYPT").await.key_id;
    for algorithm in [
        EncryptionAlgorithmSpec::RsaesOaepSha1,
        EncryptionAlgorithmSpec::RsaesOaepSha256,
    ] {
        let encrypted: EncryptResponse = h
            .call(
                "Encrypt",
                EncryptRequest {
                    key_id: id.clone(),
                    plaintext: Sensitive::new(Blob(b"rsa secret".to_vec())),
                    encryption_algorithm: Some(algorithm.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(encrypted.encryption_algorithm, Some(algorithm.clone()));
        let blob = encrypted.ciphertext_blob.unwrap();
        assert_eq!(blob.0.len(), 256);
        let decrypted: DecryptResponse = h
            .call(
                "Decrypt",
                DecryptRequest {
                    key_id: Some(id.clone()),
                    ciphertext_blob: Some(blob.clone()),
                    encryption_algorithm: Some(algorithm.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(decrypted.plaintext.unwrap().expose().0, b"rsa secret");
        // Without the key, a raw RSA ciphertext is not one of ours.
        assert_code(
            h.call::<DecryptResponse>(
                "Decrypt",
                DecryptRequest {
                    ciphertext_blob: Some(blob),
                    encryption_algorithm: Some(algorithm),
                    ..Default::default()
                },
            )
            .await,
            "InvalidCiphertextException",
        );
    }
    // The default algorithm is the symmetric one, which an RSA key does not support.
    assert_code(h.encrypt(&id, b"x", &[]).await, "InvalidKeyUsageException");
    assert_code(
        h.call::<EncryptResponse>(
            "Encrypt",
            EncryptRequest {
                key_id: id.clone(),
                plaintext: Sensitive::new(Blob(vec![1; 191])),
                encryption_algorithm: Some(EncryptionAlgorithmSpec::RsaesOaepSha256),
                ..Default::default()
            },
        )
        .await,
        "Validation",
    );
}

#[tokio::test]
async fn re_encrypt_moves_a_ciphertext_between_keys_and_contexts() {
    let h = Harness::new().await;
    let source = h.symmetric_key().await;
    let destination = h.symmetric_key().await;
    let blob = h.encrypt(&source, b"moving", &[("a", "1")]).await.unwrap();
    let response: ReEncryptResponse = h
        .call(
            "ReEncrypt",
            ReEncryptRequest {
                ciphertext_blob: Some(Blob(blob)),
                source_encryption_context: encryption_context(&[("a", "1")]),
                destination_key_id: destination.clone(),
                destination_encryption_context: encryption_context(&[("b", "2")]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(response.source_key_id, Some(arn(&source)));
    assert_eq!(response.key_id, Some(arn(&destination)));
    let moved = response.ciphertext_blob.unwrap().0;
    assert_eq!(
        h.decrypt(None, &moved, &[("b", "2")]).await.unwrap(),
        b"moving"
    );
    assert_code(
        h.decrypt(Some(&source), &moved, &[("b", "2")]).await,
        "IncorrectKeyException",
    );
}

#[tokio::test]
async fn data_keys_of_every_size() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    for (spec, bytes, len) in [
        (Some(DataKeySpec::Aes256), None, 32),
        (Some(DataKeySpec::Aes128), None, 16),
        (None, Some(1), 1),
        (None, Some(1024), 1024),
    ] {
        let response: GenerateDataKeyResponse = h
            .call(
                "GenerateDataKey",
                GenerateDataKeyRequest {
                    key_id: id.clone(),
                    key_spec: spec.clone(),
                    number_of_bytes: bytes,
                    encryption_context: encryption_context(&[("file", "x")]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let plaintext = response.plaintext.unwrap().expose().0.clone();
        assert_eq!(plaintext.len(), len);
        assert_eq!(response.key_id, Some(arn(&id)));
        let blob = response.ciphertext_blob.unwrap().0;
        assert_eq!(
            h.decrypt(None, &blob, &[("file", "x")]).await.unwrap(),
            plaintext
        );
    }
    for (spec, bytes) in [(Some(DataKeySpec::Aes256), Some(32)), (None, None)] {
        let message = assert_code(
            h.call::<GenerateDataKeyResponse>(
                "GenerateDataKey",
                GenerateDataKeyRequest {
                    key_id: id.clone(),
                    key_spec: spec,
                    number_of_bytes: bytes,
                    ..Default::default()
                },
            )
            .await,
            "Validation",
        );
        assert_eq!(
            message,
            "Please specify either number of bytes or key spec."
        );
    }
    let without: GenerateDataKeyWithoutPlaintextResponse = h
        .call(
            "GenerateDataKeyWithoutPlaintext",
            GenerateDataKeyWithoutPlaintextRequest {
                key_id: id.clone(),
                key_spec: Some(DataKeySpec::Aes256),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let blob = without.ciphertext_blob.unwrap().0;
    assert_eq!(h.decrypt(None, &blob, &[]).await.unwrap().len(), 32);

    let rsa = h.create_key("RSA_2048", "ENCRYPT_DECRYPT").await.key_id;
    assert_code(
        h.call::<GenerateDataKeyResponse>(
            "GenerateDataKey",
            GenerateDataKeyRequest {
                key_id: rsa,
                key_spec: Some(DataKeySpec::Aes256),
                ..Default::default()
            },
        )
        .await,
        "InvalidKeyUsageException",
    );
}

#[tokio::test]
async fn data_key_pairs_are_usable_key_pairs() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    for spec in [
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccNistP384,
    ] {
        let response: GenerateDataKeyPairResponse = h
            .call(
                "GenerateDataKeyPair",
                GenerateDataKeyPairRequest {
                    encryption_context: encryption_context(&[("pair", "1")]),
                    key_id: id.clone(),
                    key_pair_spec: spec.clone(),
                    grant_tokens: None,
                    recipient: None,
                    dry_run: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(response.key_pair_spec, Some(spec.clone()));
        let private = response.private_key_plaintext.unwrap().expose().0.clone();
        let public = response.public_key.unwrap().0;
        let wrapped = response.private_key_ciphertext_blob.unwrap().0;
        assert_eq!(
            h.decrypt(None, &wrapped, &[("pair", "1")]).await.unwrap(),
            private
        );
        // The private key is PKCS#8 and the public key SubjectPublicKeyInfo of the same pair.
        let message = b"pair check";
        let (signature, algorithm): (Vec<u8>, &'static dyn signature::VerificationAlgorithm) =
            match spec {
                DataKeyPairSpec::Rsa2048 => {
                    let pair = RsaKeyPair::from_pkcs8(&private).unwrap();
                    let mut sig = vec![0; pair.public_modulus_len()];
                    pair.sign(
                        &signature::RSA_PKCS1_SHA256,
                        &SystemRandom::new(),
                        message,
                        &mut sig,
                    )
                    .unwrap();
                    (sig, &signature::RSA_PKCS1_2048_8192_SHA256)
                }
                DataKeyPairSpec::EccNistP256 => {
                    let pair = EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        &private,
                    )
                    .unwrap();
                    (
                        pair.sign(&SystemRandom::new(), message)
                            .unwrap()
                            .as_ref()
                            .to_vec(),
                        &signature::ECDSA_P256_SHA256_ASN1,
                    )
                }
                _ => {
                    let pair = EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                        &private,
                    )
                    .unwrap();
                    (
                        pair.sign(&SystemRandom::new(), message)
                            .unwrap()
                            .as_ref()
                            .to_vec(),
                        &signature::ECDSA_P384_SHA384_ASN1,
                    )
                }
            };
        UnparsedPublicKey::new(algorithm, &public)
            .verify(message, &signature)
            .unwrap();
    }
    let without: GenerateDataKeyPairWithoutPlaintextResponse = h
        .call(
            "GenerateDataKeyPairWithoutPlaintext",
            GenerateDataKeyPairWithoutPlaintextRequest {
                encryption_context: None,
                key_id: id.clone(),
                key_pair_spec: DataKeyPairSpec::EccSecgP256k1,
                grant_tokens: None,
                dry_run: None,
            },
        )
        .await
        .unwrap();
    assert!(!without.public_key.unwrap().0.is_empty());
    let wrapped = without.private_key_ciphertext_blob.unwrap().0;
    assert!(!h.decrypt(None, &wrapped, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn random_bytes_within_bounds() {
    let h = Harness::new().await;
    for n in [1, 32, 1024] {
        let response: GenerateRandomResponse = h
            .call(
                "GenerateRandom",
                GenerateRandomRequest {
                    number_of_bytes: Some(n),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(response.plaintext.unwrap().expose().0.len(), n as usize);
    }
    for n in [0, 1025] {
        assert_code(
            h.call::<GenerateRandomResponse>(
                "GenerateRandom",
                GenerateRandomRequest {
                    number_of_bytes: Some(n),
                    ..Default::default()
                },
            )
            .await,
            "Validation",
        );
    }
}

#[tokio::test]
async fn dry_runs_check_everything_and_do_nothing() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let message = assert_code(
        h.call::<EncryptResponse>(
            "Encrypt",
            EncryptRequest {
                key_id: id.clone(),
                plaintext: Sensitive::new(Blob(b"x".to_vec())),
                dry_run: Some(true),
                ..Default::default()
            },
        )
        .await,
        "DryRunOperationException",
    );
    assert_eq!(
        message,
        "The request would have succeeded, but the DryRun option is set."
    );
}
