//! Imported key material: the import round trip with both wrapping families, expiry, deletion,
//! and the material actually being the customer's (checked by decrypting a ciphertext blob
//! independently, from the documented format).

use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPublicEncryptingKey,
    PublicEncryptingKey,
};
use palisade_core::value::{Blob, Timestamp};
use palisade_model_kms::types::*;

use crate::common::*;

async fn external_key(h: &Harness) -> String {
    let response: CreateKeyResponse = h
        .call(
            "CreateKey",
            CreateKeyRequest {
                origin: Some(OriginType::External),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    response.key_metadata.unwrap().key_id
}

async fn parameters(
    h: &Harness,
    id: &str,
    algorithm: AlgorithmSpec,
) -> GetParametersForImportResponse {
    h.call(
        "GetParametersForImport",
        GetParametersForImportRequest {
            key_id: id.to_owned(),
            wrapping_algorithm: algorithm,
            wrapping_key_spec: WrappingKeySpec::Rsa2048,
        },
    )
    .await
    .unwrap()
}

fn rsa_oaep(public_der: &[u8], oaep: &'static OaepAlgorithm, plaintext: &[u8]) -> Vec<u8> {
    let key =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(public_der).unwrap()).unwrap();
    let mut out = vec![0; key.ciphertext_size()];
    key.encrypt(oaep, plaintext, &mut out, None)
        .unwrap()
        .to_vec()
}

/// RSA_AES_KEY_WRAP: an AES-256 key under RSA-OAEP, then the material under AES-KWP.
fn rsa_aes_key_wrap(public_der: &[u8], oaep: &'static OaepAlgorithm, material: &[u8]) -> Vec<u8> {
    let aes_key = [0x5a; 32];
    let mut wrapped = rsa_oaep(public_der, oaep, &aes_key);
    let mut out = vec![0; material.len() + 16];
    let kek = AesKek::new(&AES_256, &aes_key).unwrap();
    wrapped.extend_from_slice(kek.wrap_with_padding(material, &mut out).unwrap());
    wrapped
}

fn import_request(
    id: &str,
    params: &GetParametersForImportResponse,
    wrapped: Vec<u8>,
    valid_to: Option<u64>,
) -> ImportKeyMaterialRequest {
    ImportKeyMaterialRequest {
        key_id: id.to_owned(),
        import_token: params.import_token.clone().unwrap(),
        encrypted_key_material: Blob(wrapped),
        valid_to: valid_to.map(|secs| Timestamp(secs as f64)),
        expiration_model: None,
        import_type: None,
        key_material_description: None,
        key_material_id: None,
    }
}

/// Opens a blob of an empty encryption context with `material`, following the documented
/// format rather than the crate's code.
fn open_independently(blob: &[u8], material: &[u8]) -> Vec<u8> {
    let header_len = 2 + usize::from(blob[1]) + 4;
    let (header, rest) = blob.split_at(header_len);
    let (nonce, sealed) = rest.split_at(12);
    let mut aad = header.to_vec();
    aad.extend_from_slice(&0u32.to_be_bytes());
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, material).unwrap());
    let mut in_out = sealed.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).unwrap(),
            Aad::from(aad.as_slice()),
            &mut in_out,
        )
        .unwrap();
    plain.to_vec()
}

#[tokio::test]
async fn imported_material_encrypts_expires_and_comes_back() {
    let h = Harness::new().await;
    let id = external_key(&h).await;
    let m = h.describe(&id).await;
    assert_eq!(m.origin, Some(OriginType::External));
    assert_eq!(m.key_state, Some(KeyState::PendingImport));
    assert_eq!(m.enabled, Some(false));
    assert_eq!(m.expiration_model, None);
    let message = assert_code(h.encrypt(&id, b"x", &[]).await, "KMSInvalidStateException");
    assert_eq!(message, format!("{} is pending import.", arn(&id)));
    assert_code(
        h.act("EnableKey", EnableKeyRequest { key_id: id.clone() })
            .await,
        "KMSInvalidStateException",
    );

    let material = [0x42u8; 32];
    let params = parameters(&h, &id, AlgorithmSpec::RsaesOaepSha256).await;
    assert_eq!(
        params.parameters_valid_to,
        Some(Timestamp((START + 86_400) as f64))
    );
    let public = params.public_key.clone().unwrap().expose().0.clone();
    let wrapped = rsa_oaep(&public, &OAEP_SHA256_MGF1SHA256, &material);
    let valid_to = START + 2 * 86_400;
    let imported: ImportKeyMaterialResponse = h
        .call(
            "ImportKeyMaterial",
            import_request(&id, &params, wrapped, Some(valid_to)),
        )
        .await
        .unwrap();
    assert_eq!(imported.key_id, Some(arn(&id)));
    let m = h.describe(&id).await;
    assert_eq!(m.key_state, Some(KeyState::Enabled));
    assert_eq!(
        m.expiration_model,
        Some(ExpirationModelType::KeyMaterialExpires)
    );
    assert_eq!(m.valid_to, Some(Timestamp(valid_to as f64)));
    assert_eq!(m.current_key_material_id, imported.key_material_id);

    let blob = h
        .encrypt(&id, b"under imported material", &[])
        .await
        .unwrap();
    assert_eq!(
        open_independently(&blob, &material),
        b"under imported material"
    );

    // Different material cannot replace it.
    let params = parameters(&h, &id, AlgorithmSpec::RsaesOaepSha1).await;
    let public = params.public_key.clone().unwrap().expose().0.clone();
    let other = rsa_oaep(&public, &OAEP_SHA1_MGF1SHA1, &[0x43; 32]);
    assert_code(
        h.call::<ImportKeyMaterialResponse>(
            "ImportKeyMaterial",
            import_request(&id, &params, other, None),
        )
        .await,
        "IncorrectKeyMaterialException",
    );

    h.clock.advance(DAY);
    assert_eq!(h.kms().expire_imported_key_material().await.unwrap(), 0);
    h.clock.advance(DAY);
    assert_eq!(h.kms().expire_imported_key_material().await.unwrap(), 1);
    let published = h.published();
    let (detail_type, resources, detail) = published.last().unwrap();
    assert_eq!(detail_type, "KMS Imported Key Material Expiration");
    assert_eq!(resources.len(), 1);
    assert_eq!(detail["key-id"], resources[0].rsplit('/').next().unwrap());
    assert_eq!(detail["key-material-id"].as_str().unwrap().len(), 64);
    assert_eq!(
        h.describe(&id).await.key_state,
        Some(KeyState::PendingImport)
    );
    assert_code(
        h.decrypt(None, &blob, &[]).await,
        "KMSInvalidStateException",
    );

    // The same material, reimported with RSA-AES key wrap, decrypts the old ciphertext again.
    let params = parameters(&h, &id, AlgorithmSpec::RsaAesKeyWrapSha256).await;
    let public = params.public_key.clone().unwrap().expose().0.clone();
    let wrapped = rsa_aes_key_wrap(&public, &OAEP_SHA256_MGF1SHA256, &material);
    let _: ImportKeyMaterialResponse = h
        .call(
            "ImportKeyMaterial",
            import_request(&id, &params, wrapped, None),
        )
        .await
        .unwrap();
    let m = h.describe(&id).await;
    assert_eq!(m.key_state, Some(KeyState::Enabled));
    assert_eq!(
        m.expiration_model,
        Some(ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert_eq!(
        h.decrypt(None, &blob, &[]).await.unwrap(),
        b"under imported material"
    );

    let deleted: DeleteImportedKeyMaterialResponse = h
        .call(
            "DeleteImportedKeyMaterial",
            DeleteImportedKeyMaterialRequest {
                key_id: id.clone(),
                key_material_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.key_id, Some(arn(&id)));
    assert_eq!(
        h.describe(&id).await.key_state,
        Some(KeyState::PendingImport)
    );
}

#[tokio::test]
async fn import_tokens_are_checked() {
    let h = Harness::new().await;
    let id = external_key(&h).await;
    let params = parameters(&h, &id, AlgorithmSpec::RsaesOaepSha256).await;
    let public = params.public_key.clone().unwrap().expose().0.clone();
    let wrapped = rsa_oaep(&public, &OAEP_SHA256_MGF1SHA256, &[1; 32]);

    let mut forged = import_request(&id, &params, wrapped.clone(), None);
    forged.import_token = Blob(vec![0; 32]);
    assert_code(
        h.call::<ImportKeyMaterialResponse>("ImportKeyMaterial", forged)
            .await,
        "InvalidImportTokenException",
    );
    assert_code(
        h.call::<ImportKeyMaterialResponse>(
            "ImportKeyMaterial",
            import_request(&id, &params, vec![7; 256], None),
        )
        .await,
        "InvalidCiphertextException",
    );
    let short = rsa_oaep(&public, &OAEP_SHA256_MGF1SHA256, &[1; 16]);
    assert_code(
        h.call::<ImportKeyMaterialResponse>(
            "ImportKeyMaterial",
            import_request(&id, &params, short, None),
        )
        .await,
        "IncorrectKeyMaterialException",
    );
    assert_code(
        h.call::<ImportKeyMaterialResponse>(
            "ImportKeyMaterial",
            import_request(&id, &params, wrapped.clone(), Some(START - 1)),
        )
        .await,
        "Validation",
    );
    h.clock
        .set(UNIX_EPOCH + Duration::from_secs(START + 86_400));
    assert_code(
        h.call::<ImportKeyMaterialResponse>(
            "ImportKeyMaterial",
            import_request(&id, &params, wrapped, None),
        )
        .await,
        "ExpiredImportTokenException",
    );

    let kms_key = h.symmetric_key().await;
    assert_code(
        h.call::<GetParametersForImportResponse>(
            "GetParametersForImport",
            GetParametersForImportRequest {
                key_id: kms_key,
                wrapping_algorithm: AlgorithmSpec::RsaesOaepSha256,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            },
        )
        .await,
        "UnsupportedOperationException",
    );
    assert_code(
        h.call::<CreateKeyResponse>(
            "CreateKey",
            CreateKeyRequest {
                origin: Some(OriginType::External),
                key_spec: Some(KeySpec::Rsa2048),
                key_usage: Some(KeyUsageType::SignVerify),
                ..Default::default()
            },
        )
        .await,
        "UnsupportedOperationException",
    );
}
