//! SecureString parameters: encrypted through KMS under the parameter's ARN, never stored or
//! answered in plaintext unless decryption is asked for.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use palisade_core::Sensitive;
use palisade_model_kms::Kms;
use palisade_model_kms::types as kms;
use palisade_model_ssm::types::*;
use palisade_store::Value;

use crate::common::*;

fn secure(name: &str, value: &str, key_id: Option<&str>) -> PutParameterRequest {
    PutParameterRequest {
        name: name.into(),
        value: Sensitive::new(value.into()),
        r#type: Some(ParameterType::SecureString),
        key_id: key_id.map(Into::into),
        ..Default::default()
    }
}

#[tokio::test]
async fn secure_strings_round_trip_and_answer_ciphertext_without_decryption() {
    let h = Harness::new().await;
    let key = h.customer_key().await;
    h.put(secure("/s/custom", "custom-plaintext-value", Some(&key)))
        .await
        .unwrap();
    h.put(secure("/s/default", "default-plaintext-value", None))
        .await
        .unwrap();
    assert_eq!(h.value("/s/custom").await, "custom-plaintext-value");
    assert_eq!(h.value("/s/default").await, "default-plaintext-value");
    let hidden = h.get("/s/custom", false).await.unwrap();
    let ciphertext = STANDARD.decode(value(&hidden)).unwrap();
    assert_ne!(value(&hidden), "custom-plaintext-value");
    // The ciphertext is KMS's, bound to the parameter's ARN.
    let arn = "arn:aws:ssm:us-east-1:000000000000:parameter/s/custom";
    let opened = h
        .kms
        .decrypt(
            &h.root,
            kms::DecryptRequest {
                ciphertext_blob: Some(palisade_core::value::Blob(ciphertext.clone())),
                encryption_context: Some([("PARAMETER_ARN".to_owned(), arn.to_owned())].into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        opened.plaintext.unwrap().expose().0,
        b"custom-plaintext-value"
    );
    let without_context = h
        .kms
        .decrypt(
            &h.root,
            kms::DecryptRequest {
                ciphertext_blob: Some(palisade_core::value::Blob(ciphertext)),
                ..Default::default()
            },
        )
        .await;
    assert!(without_context.is_err());
    let described = h.described().await;
    let keys: Vec<Option<String>> = described.into_iter().map(|p| p.key_id).collect();
    assert_eq!(keys, [Some(key), Some("alias/aws/ssm".to_owned())]);
}

#[tokio::test]
async fn plaintext_never_reaches_the_store() {
    let h = Harness::new().await;
    let secret = "do-not-store-me-0123456789";
    h.put(secure("/s/one", secret, None)).await.unwrap();
    h.put(PutParameterRequest {
        tier: Some(ParameterTier::Advanced),
        ..secure("/s/large", &format!("{secret}{}", "y".repeat(6000)), None)
    })
    .await
    .unwrap();
    let rows = h.store.scan("ssm/parameters", "", None, 100).await.unwrap();
    assert_eq!(rows.len(), 2);
    for (_, entry) in &rows {
        assert!(matches!(entry.value, Value::Secret(_)));
        let text = String::from_utf8_lossy(entry.value.bytes());
        assert!(!text.contains(secret));
    }
    // Nor the database files, under the barrier.
    for file in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    assert!(h.value("/s/large").await.starts_with(secret));
    assert_eq!(h.value("/s/one").await, secret);
}

#[tokio::test]
async fn large_advanced_values_use_an_envelope() {
    let h = Harness::new().await;
    let large = "z".repeat(8000);
    h.put(PutParameterRequest {
        tier: Some(ParameterTier::Advanced),
        ..secure("/s/big", &large, None)
    })
    .await
    .unwrap();
    assert_eq!(h.value("/s/big").await, large);
    let by_path = h
        .by_path(GetParametersByPathRequest {
            path: "/s".into(),
            with_decryption: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(value(&by_path.parameters.unwrap()[0]), large);
    let encrypted = h
        .by_path(GetParametersByPathRequest {
            path: "/s".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_ne!(value(&encrypted.parameters.unwrap()[0]), large);
}

#[tokio::test]
async fn key_problems_are_invalid_key_id() {
    let h = Harness::new().await;
    expect_error(
        h.put(secure(
            "/s/x",
            "v",
            Some("1234abcd-12ab-34cd-56ef-1234567890ab"),
        ))
        .await,
        "InvalidKeyId",
    );
    let key = h.customer_key().await;
    h.kms
        .disable_key(
            &h.root,
            kms::DisableKeyRequest {
                key_id: key.clone(),
            },
        )
        .await
        .unwrap();
    expect_error(h.put(secure("/s/x", "v", Some(&key))).await, "InvalidKeyId");
    expect_error(
        h.put(PutParameterRequest {
            key_id: Some(key),
            ..string("/plain", "v")
        })
        .await,
        "Validation",
    );
}

#[tokio::test]
async fn history_decrypts_each_version() {
    let h = Harness::new().await;
    h.put(secure("/s/h", "first", None)).await.unwrap();
    h.put(PutParameterRequest {
        overwrite: Some(true),
        ..secure("/s/h", "second", None)
    })
    .await
    .unwrap();
    let values: Vec<String> = h
        .history("/s/h")
        .await
        .iter()
        .map(|p| p.value.as_ref().unwrap().expose().clone())
        .collect();
    assert_eq!(values, ["first", "second"]);
}
