//! Values are encrypted through KMS under the secret's key, bound to the documented encryption
//! context, and never stored in the clear.

use palisade_core::Sensitive;
use palisade_core::keys::Via;
use palisade_model_kms::Kms;
use palisade_model_kms::types as kms;
use palisade_model_secretsmanager::types::*;

use crate::common::*;

const PLAINTEXT: &str = "hunter2-very-distinctive-plaintext-7d1f";

#[tokio::test]
async fn the_plaintext_never_reaches_the_store() {
    let h = Harness::new().await;
    h.create("at-rest", PLAINTEXT).await;
    h.put("at-rest", &format!("{PLAINTEXT}-2")).await;
    assert_eq!(h.current("at-rest").await, format!("{PLAINTEXT}-2"));

    // Through the store's own API (the barrier already removed): still ciphertext.
    for keyspace in ["secretsmanager/values", "secretsmanager/secrets"] {
        let rows = h.store.scan(keyspace, "", None, 1000).await.unwrap();
        assert!(!rows.is_empty());
        for (_, entry) in rows {
            let bytes = entry.value.bytes();
            assert!(
                !contains(bytes, PLAINTEXT.as_bytes()),
                "{keyspace} holds the plaintext"
            );
        }
    }
    let values = h
        .store
        .scan("secretsmanager/values", "", None, 10)
        .await
        .unwrap();
    assert!(values.iter().all(|(_, entry)| entry.value.is_secret()));
    // And on disk.
    for file in std::fs::read_dir(h.dir.path()).unwrap() {
        let path = file.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !contains(&bytes, PLAINTEXT.as_bytes()),
                "{path:?} holds the plaintext"
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn data_keys_are_bound_to_the_secret_arn_and_version() {
    let h = Harness::new().await;
    let created = h.create("bound", PLAINTEXT).await;
    let arn = created.arn.unwrap();
    let version = created.version_id.unwrap();
    let key = format!("000000000000/us-east-1/bound#{version}");
    let stored = h
        .store
        .get("secretsmanager/values", &key)
        .await
        .unwrap()
        .unwrap();
    let bytes = stored.value.bytes();
    let wrapped_len = usize::from(u16::from_be_bytes([bytes[1], bytes[2]]));
    let wrapped = &bytes[3..3 + wrapped_len];
    let via = Via {
        service: "secretsmanager",
    };
    let right = palisade_core::keys::EncryptionContext::from([
        ("SecretARN".to_owned(), arn.clone()),
        ("SecretVersionId".to_owned(), version.clone()),
    ]);
    let data_key = h.keys.decrypt(&h.root, via, wrapped, &right).await.unwrap();
    assert_eq!(data_key.expose().len(), 32);
    let wrong = palisade_core::keys::EncryptionContext::from([
        ("SecretARN".to_owned(), arn),
        ("SecretVersionId".to_owned(), "another".to_owned()),
    ]);
    assert!(h.keys.decrypt(&h.root, via, wrapped, &wrong).await.is_err());
}

#[tokio::test]
async fn a_customer_key_is_used_and_its_state_matters() {
    let h = Harness::new().await;
    let key = h
        .kms
        .create_key(&h.root, kms::CreateKeyRequest::default())
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let _: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "cmk".into(),
                kms_key_id: Some(key.key_id.clone()),
                secret_string: Some(Sensitive::new(PLAINTEXT.into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let described = h.describe("cmk").await.unwrap();
    assert_eq!(described.kms_key_id.as_deref(), Some(key.key_id.as_str()));
    let versions: ListSecretVersionIdsResponse = h
        .call(
            "ListSecretVersionIds",
            ListSecretVersionIdsRequest {
                secret_id: "cmk".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        versions.versions.unwrap()[0].kms_key_ids.as_deref(),
        Some([key.arn.clone().unwrap()].as_slice())
    );

    h.kms
        .disable_key(
            &h.root,
            kms::DisableKeyRequest {
                key_id: key.key_id.clone(),
            },
        )
        .await
        .unwrap();
    let message = assert_code(h.get("cmk").await, "DecryptionFailure");
    assert!(message.contains("disabled"), "{message}");
    let put = h
        .call::<PutSecretValueResponse>(
            "PutSecretValue",
            PutSecretValueRequest {
                secret_id: "cmk".into(),
                secret_string: Some(Sensitive::new("new".into())),
                ..Default::default()
            },
        )
        .await;
    assert_code(put, "EncryptionFailure");
    h.kms
        .enable_key(
            &h.root,
            kms::EnableKeyRequest {
                key_id: key.key_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(h.current("cmk").await, PLAINTEXT);

    let missing = h
        .call::<CreateSecretResponse>(
            "CreateSecret",
            CreateSecretRequest {
                name: "no-key".into(),
                kms_key_id: Some("alias/does-not-exist".into()),
                secret_string: Some(Sensitive::new("x".into())),
                ..Default::default()
            },
        )
        .await;
    assert_code(missing, "EncryptionFailure");
    assert_code(h.describe("no-key").await, "ResourceNotFoundException");
}

#[tokio::test]
async fn changing_the_key_reencrypts_the_labeled_versions() {
    let h = Harness::new().await;
    let mut keys = Vec::new();
    for _ in 0..2 {
        let created = h
            .kms
            .create_key(&h.root, kms::CreateKeyRequest::default())
            .await
            .unwrap();
        keys.push(created.key_metadata.unwrap());
    }
    let (old, new) = (&keys[0], &keys[1]);
    let _: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "rekeyed".into(),
                kms_key_id: Some(old.key_id.clone()),
                secret_string: Some(Sensitive::new("one".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let deprecated = h
        .describe("rekeyed")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap()
        .into_keys()
        .next()
        .unwrap();
    h.put("rekeyed", "two").await;
    h.put("rekeyed", "three").await;
    let _: UpdateSecretResponse = h
        .call(
            "UpdateSecret",
            UpdateSecretRequest {
                secret_id: "rekeyed".into(),
                kms_key_id: Some(new.key_id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let versions: ListSecretVersionIdsResponse = h
        .call(
            "ListSecretVersionIds",
            ListSecretVersionIdsRequest {
                secret_id: "rekeyed".into(),
                include_deprecated: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for version in versions.versions.unwrap() {
        let expected = if version.version_id.as_deref() == Some(deprecated.as_str()) {
            old.arn.clone()
        } else {
            new.arn.clone()
        };
        assert_eq!(version.kms_key_ids.unwrap(), [expected.unwrap()]);
    }
    h.kms
        .disable_key(
            &h.root,
            kms::DisableKeyRequest {
                key_id: old.key_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(h.current("rekeyed").await, "three");
    let previous: GetSecretValueResponse = h
        .call(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "rekeyed".into(),
                version_stage: Some("AWSPREVIOUS".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(previous.secret_string.unwrap().expose(), "two");
}
