//! The key lifecycle: creation of every spec, metadata, listing, states, deletion, policies and
//! tags; and key material never reaching the database unsealed.

use palisade_core::value::Timestamp;
use palisade_model_kms::types::*;

use crate::common::*;

fn signing(names: &[&str]) -> Option<Vec<SigningAlgorithmSpec>> {
    Some(
        names
            .iter()
            .map(|n| SigningAlgorithmSpec::from(*n))
            .collect(),
    )
}

#[tokio::test]
async fn every_key_spec_is_created_and_described_truthfully() {
    let h = Harness::new().await;
    let rsa_signing = [
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    ];
    let oaep = Some(vec![
        EncryptionAlgorithmSpec::RsaesOaepSha1,
        EncryptionAlgorithmSpec::RsaesOaepSha256,
    ]);
    type Expected = (
        Option<Vec<EncryptionAlgorithmSpec>>,
        Option<Vec<SigningAlgorithmSpec>>,
        Option<Vec<MacAlgorithmSpec>>,
        Option<Vec<KeyAgreementAlgorithmSpec>>,
    );
    let cases: Vec<(&str, &str, Expected)> = vec![
        (
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
            (
                Some(vec![EncryptionAlgorithmSpec::SymmetricDefault]),
                None,
                None,
                None,
            ),
        ),
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            (oaep.clone(), None, None, None),
        ),
        (
            "RSA_3072",
            "SIGN_VERIFY",
            (None, signing(&rsa_signing), None, None),
        ),
        (
            "RSA_4096",
            "ENCRYPT_DECRYPT",
            (oaep.clone(), None, None, None),
        ),
        (
            "ECC_NIST_P256",
            "SIGN_VERIFY",
            (None, signing(&["ECDSA_SHA_256"]), None, None),
        ),
        (
            "ECC_NIST_P384",
            "SIGN_VERIFY",
            (None, signing(&["ECDSA_SHA_384"]), None, None),
        ),
        (
            "ECC_NIST_P521",
            "SIGN_VERIFY",
            (None, signing(&["ECDSA_SHA_512"]), None, None),
        ),
        (
            "ECC_SECG_P256K1",
            "SIGN_VERIFY",
            (None, signing(&["ECDSA_SHA_256"]), None, None),
        ),
        (
            "ECC_NIST_P256",
            "KEY_AGREEMENT",
            (
                None,
                None,
                None,
                Some(vec![KeyAgreementAlgorithmSpec::Ecdh]),
            ),
        ),
        (
            "HMAC_224",
            "GENERATE_VERIFY_MAC",
            (None, None, Some(vec![MacAlgorithmSpec::HmacSha224]), None),
        ),
        (
            "HMAC_256",
            "GENERATE_VERIFY_MAC",
            (None, None, Some(vec![MacAlgorithmSpec::HmacSha256]), None),
        ),
        (
            "HMAC_384",
            "GENERATE_VERIFY_MAC",
            (None, None, Some(vec![MacAlgorithmSpec::HmacSha384]), None),
        ),
        (
            "HMAC_512",
            "GENERATE_VERIFY_MAC",
            (None, None, Some(vec![MacAlgorithmSpec::HmacSha512]), None),
        ),
    ];
    for (spec, usage, (encryption, signing, mac, agreement)) in cases {
        let created = h.create_key(spec, usage).await;
        let described = h.describe(&created.key_id).await;
        assert_eq!(created, described, "{spec}");
        let m = described;
        assert_eq!(m.arn.as_deref(), Some(arn(&m.key_id).as_str()));
        assert_eq!(m.aws_account_id.as_deref(), Some("000000000000"));
        assert_eq!(m.key_spec, Some(KeySpec::from(spec)));
        assert_eq!(
            m.customer_master_key_spec,
            Some(CustomerMasterKeySpec::from(spec))
        );
        assert_eq!(m.key_usage, Some(KeyUsageType::from(usage)));
        assert_eq!(m.key_state, Some(KeyState::Enabled));
        assert_eq!(m.enabled, Some(true));
        assert_eq!(m.key_manager, Some(KeyManagerType::Customer));
        assert_eq!(m.origin, Some(OriginType::AwsKms));
        assert_eq!(m.creation_date, Some(Timestamp(START as f64)));
        assert_eq!(m.multi_region, Some(false));
        assert_eq!(m.encryption_algorithms, encryption, "{spec}");
        assert_eq!(m.signing_algorithms, signing, "{spec}");
        assert_eq!(m.mac_algorithms, mac, "{spec}");
        assert_eq!(m.key_agreement_algorithms, agreement, "{spec}");
        assert_eq!(
            m.current_key_material_id.is_some(),
            spec == "SYMMETRIC_DEFAULT"
        );
    }
}

#[tokio::test]
async fn defaults_are_a_symmetric_encryption_key() {
    let h = Harness::new().await;
    let response: CreateKeyResponse = h
        .call(
            "CreateKey",
            CreateKeyRequest {
                description: Some("app data".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let m = response.key_metadata.unwrap();
    assert_eq!(m.key_spec, Some(KeySpec::SymmetricDefault));
    assert_eq!(m.key_usage, Some(KeyUsageType::EncryptDecrypt));
    assert_eq!(m.description.as_deref(), Some("app data"));
}

#[tokio::test]
async fn incompatible_spec_and_usage_are_refused() {
    let h = Harness::new().await;
    for (spec, usage) in [
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
        ("HMAC_256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
    ] {
        let result: Result<CreateKeyResponse, _> = h
            .call(
                "CreateKey",
                CreateKeyRequest {
                    key_spec: Some(KeySpec::from(spec)),
                    key_usage: Some(KeyUsageType::from(usage)),
                    ..Default::default()
                },
            )
            .await;
        let message = assert_code(result, "Validation");
        assert_eq!(
            message,
            format!("KeyUsage {usage} is not compatible with KeySpec {spec}")
        );
    }
    let result: Result<CreateKeyResponse, _> = h
        .call(
            "CreateKey",
            CreateKeyRequest {
                key_spec: Some(KeySpec::EccNistP256),
                ..Default::default()
            },
        )
        .await;
    assert_code(result, "Validation");
}

#[tokio::test]
async fn keys_are_found_by_id_arn_and_alias_in_their_region_only() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    h.act(
        "CreateAlias",
        CreateAliasRequest {
            alias_name: "alias/app".to_owned(),
            target_key_id: id.clone(),
        },
    )
    .await
    .unwrap();
    for name in [
        id.clone(),
        arn(&id),
        "alias/app".to_owned(),
        "arn:aws:kms:us-east-1:000000000000:alias/app".to_owned(),
    ] {
        assert_eq!(h.describe(&name).await.key_id, id, "{name}");
    }
    // Management operations take a key id or ARN, not an alias.
    let message = assert_code(
        h.act(
            "DisableKey",
            DisableKeyRequest {
                key_id: "alias/app".to_owned(),
            },
        )
        .await,
        "NotFoundException",
    );
    assert_eq!(message, "Invalid keyId alias/app");
    let missing = "00000000-0000-4000-8000-000000000000";
    let message = assert_code(
        h.call::<DescribeKeyResponse>(
            "DescribeKey",
            DescribeKeyRequest {
                key_id: missing.to_owned(),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
    assert_eq!(message, format!("Key '{}' does not exist", arn(missing)));
    let message = assert_code(
        h.call::<DescribeKeyResponse>(
            "DescribeKey",
            DescribeKeyRequest {
                key_id: "alias/nope".to_owned(),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
    assert_eq!(
        message,
        "Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found."
    );
    let elsewhere = context("eu-west-1");
    assert_code(
        h.call_as::<DescribeKeyResponse>(
            &elsewhere,
            "DescribeKey",
            DescribeKeyRequest {
                key_id: id.clone(),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
    assert_code(
        h.call::<DescribeKeyResponse>(
            "DescribeKey",
            DescribeKeyRequest {
                key_id: format!("arn:aws:kms:eu-west-1:000000000000:key/{id}"),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
}

#[tokio::test]
async fn list_keys_pages_with_markers() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.symmetric_key().await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page: ListKeysResponse = h
            .call(
                "ListKeys",
                ListKeysRequest {
                    limit: Some(2),
                    marker: marker.clone(),
                },
            )
            .await
            .unwrap();
        for entry in page.keys.unwrap() {
            assert_eq!(
                entry.key_arn.unwrap(),
                arn(entry.key_id.as_deref().unwrap())
            );
            seen.push(entry.key_id.unwrap());
        }
        if page.truncated != Some(true) {
            assert!(page.next_marker.is_none());
            break;
        }
        marker = page.next_marker;
    }
    assert_eq!(seen, ids);
    // Other regions see none of them.
    let other: ListKeysResponse = h
        .call_as(
            &context("eu-west-1"),
            "ListKeys",
            ListKeysRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(other.keys, Some(Vec::new()));
}

#[tokio::test]
async fn disabled_keys_refuse_cryptography_until_enabled() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let blob = h.encrypt(&id, b"secret", &[]).await.unwrap();
    h.act("DisableKey", DisableKeyRequest { key_id: id.clone() })
        .await
        .unwrap();
    let m = h.describe(&id).await;
    assert_eq!(
        (m.key_state, m.enabled),
        (Some(KeyState::Disabled), Some(false))
    );
    let message = assert_code(h.encrypt(&id, b"x", &[]).await, "DisabledException");
    assert_eq!(message, format!("{} is disabled.", arn(&id)));
    assert_code(h.decrypt(None, &blob, &[]).await, "DisabledException");
    h.act("EnableKey", EnableKeyRequest { key_id: id.clone() })
        .await
        .unwrap();
    assert_eq!(h.decrypt(None, &blob, &[]).await.unwrap(), b"secret");
}

#[tokio::test]
async fn scheduled_deletion_is_swept_when_due_and_can_be_cancelled() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    h.act(
        "CreateAlias",
        CreateAliasRequest {
            alias_name: "alias/doomed".to_owned(),
            target_key_id: id.clone(),
        },
    )
    .await
    .unwrap();
    let blob = h.encrypt(&id, b"secret", &[]).await.unwrap();

    for days in [6, 31] {
        assert_code(
            h.call::<ScheduleKeyDeletionResponse>(
                "ScheduleKeyDeletion",
                ScheduleKeyDeletionRequest {
                    key_id: id.clone(),
                    pending_window_in_days: Some(days),
                },
            )
            .await,
            "Validation",
        );
    }
    let scheduled: ScheduleKeyDeletionResponse = h
        .call(
            "ScheduleKeyDeletion",
            ScheduleKeyDeletionRequest {
                key_id: id.clone(),
                pending_window_in_days: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(scheduled.key_id, Some(arn(&id)));
    assert_eq!(scheduled.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days, Some(30));
    assert_eq!(
        scheduled.deletion_date,
        Some(Timestamp((START + 30 * 86_400) as f64))
    );
    let m = h.describe(&id).await;
    assert_eq!(m.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(m.deletion_date, scheduled.deletion_date);
    assert_eq!(m.pending_deletion_window_in_days, Some(30));

    let message = assert_code(
        h.decrypt(None, &blob, &[]).await,
        "KMSInvalidStateException",
    );
    assert_eq!(message, format!("{} is pending deletion.", arn(&id)));
    assert_code(
        h.act("EnableKey", EnableKeyRequest { key_id: id.clone() })
            .await,
        "KMSInvalidStateException",
    );

    // Cancelling leaves the key disabled, as in AWS.
    let cancelled: CancelKeyDeletionResponse = h
        .call(
            "CancelKeyDeletion",
            CancelKeyDeletionRequest { key_id: id.clone() },
        )
        .await
        .unwrap();
    assert_eq!(cancelled.key_id, Some(arn(&id)));
    let m = h.describe(&id).await;
    assert_eq!(m.key_state, Some(KeyState::Disabled));
    assert_eq!(m.deletion_date, None);
    assert_code(
        h.call::<CancelKeyDeletionResponse>(
            "CancelKeyDeletion",
            CancelKeyDeletionRequest { key_id: id.clone() },
        )
        .await,
        "KMSInvalidStateException",
    );

    let _: ScheduleKeyDeletionResponse = h
        .call(
            "ScheduleKeyDeletion",
            ScheduleKeyDeletionRequest {
                key_id: id.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .await
        .unwrap();
    let survivor = h.symmetric_key().await;
    h.clock.advance(DAY * 6);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 0);
    assert_eq!(
        h.describe(&id).await.key_state,
        Some(KeyState::PendingDeletion)
    );
    h.clock.advance(DAY);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 1);
    assert_code(
        h.call::<DescribeKeyResponse>(
            "DescribeKey",
            DescribeKeyRequest {
                key_id: id.clone(),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
    let aliases: ListAliasesResponse = h
        .call("ListAliases", ListAliasesRequest::default())
        .await
        .unwrap();
    assert_eq!(aliases.aliases, Some(Vec::new()));
    assert_eq!(
        h.describe(&survivor).await.key_state,
        Some(KeyState::Enabled)
    );
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 0);
}

#[tokio::test]
async fn key_policies_default_validate_and_replace() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let policy: GetKeyPolicyResponse = h
        .call(
            "GetKeyPolicy",
            GetKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: Some("default".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(policy.policy_name.as_deref(), Some("default"));
    let document: serde_json::Value = serde_json::from_str(&policy.policy.unwrap()).unwrap();
    assert_eq!(
        document["Statement"][0]["Sid"],
        "Enable IAM User Permissions"
    );
    assert_eq!(
        document["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::000000000000:root"
    );
    assert_eq!(document["Statement"][0]["Action"], "kms:*");

    assert_code(
        h.act(
            "PutKeyPolicy",
            PutKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: Some("default".to_owned()),
                policy: "{not json".to_owned(),
                bypass_policy_lockout_safety_check: None,
            },
        )
        .await,
        "MalformedPolicyDocumentException",
    );
    let padded = format!(
        r#"{{"Version":"2012-10-17","Id":"{}","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"kms:*","Resource":"*"}}]}}"#,
        "x".repeat(33_000)
    );
    assert_code(
        h.act(
            "PutKeyPolicy",
            PutKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: None,
                policy: padded,
                bypass_policy_lockout_safety_check: None,
            },
        )
        .await,
        "LimitExceededException",
    );
    let replacement = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    h.act(
        "PutKeyPolicy",
        PutKeyPolicyRequest {
            key_id: arn(&id),
            policy_name: None,
            policy: replacement.to_owned(),
            bypass_policy_lockout_safety_check: None,
        },
    )
    .await
    .unwrap();
    let policy: GetKeyPolicyResponse = h
        .call(
            "GetKeyPolicy",
            GetKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(policy.policy.as_deref(), Some(replacement));
    assert_code(
        h.call::<GetKeyPolicyResponse>(
            "GetKeyPolicy",
            GetKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: Some("other".to_owned()),
            },
        )
        .await,
        "NotFoundException",
    );
    let names: ListKeyPoliciesResponse = h
        .call(
            "ListKeyPolicies",
            ListKeyPoliciesRequest {
                key_id: id,
                limit: None,
                marker: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(names.policy_names, Some(vec!["default".to_owned()]));
}

#[tokio::test]
async fn tags_and_descriptions() {
    let h = Harness::new().await;
    let response: CreateKeyResponse = h
        .call(
            "CreateKey",
            CreateKeyRequest {
                tags: Some(vec![Tag {
                    tag_key: "team".to_owned(),
                    tag_value: "a".to_owned(),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = response.key_metadata.unwrap().key_id;
    h.act(
        "TagResource",
        TagResourceRequest {
            key_id: id.clone(),
            tags: vec![
                Tag {
                    tag_key: "team".to_owned(),
                    tag_value: "b".to_owned(),
                },
                Tag {
                    tag_key: "env".to_owned(),
                    tag_value: "prod".to_owned(),
                },
            ],
        },
    )
    .await
    .unwrap();
    let tags: ListResourceTagsResponse = h
        .call(
            "ListResourceTags",
            ListResourceTagsRequest {
                key_id: id.clone(),
                limit: None,
                marker: None,
            },
        )
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = tags
        .tags
        .unwrap()
        .into_iter()
        .map(|t| (t.tag_key, t.tag_value))
        .collect();
    assert_eq!(
        pairs,
        [("team".into(), "b".into()), ("env".into(), "prod".into())]
    );
    h.act(
        "UntagResource",
        UntagResourceRequest {
            key_id: id.clone(),
            tag_keys: vec!["team".to_owned()],
        },
    )
    .await
    .unwrap();
    let tags: ListResourceTagsResponse = h
        .call(
            "ListResourceTags",
            ListResourceTagsRequest {
                key_id: id.clone(),
                limit: None,
                marker: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(tags.tags.unwrap().len(), 1);
    assert_code(
        h.act(
            "TagResource",
            TagResourceRequest {
                key_id: id.clone(),
                tags: vec![Tag {
                    tag_key: "aws:x".to_owned(),
                    tag_value: "y".to_owned(),
                }],
            },
        )
        .await,
        "TagException",
    );
    h.act(
        "UpdateKeyDescription",
        UpdateKeyDescriptionRequest {
            key_id: id.clone(),
            description: "new words".to_owned(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        h.describe(&id).await.description.as_deref(),
        Some("new words")
    );
}

#[tokio::test]
async fn key_material_never_reaches_the_database_unsealed() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    // The KMS key's material is read through the store (which unseals it); neither it nor a
    // data key's plaintext may appear in any database file.
    let data_key: GenerateDataKeyResponse = h
        .call(
            "GenerateDataKey",
            GenerateDataKeyRequest {
                key_id: id.clone(),
                key_spec: Some(DataKeySpec::Aes256),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let plaintext = data_key.plaintext.unwrap().expose().0.clone();
    let entry = h
        .store
        .get("kms/key-material", &format!("000000000000/us-east-1/{id}"))
        .await
        .unwrap()
        .unwrap();
    assert!(entry.value.is_secret());
    // One version: its 4-byte length, then the AES-256 key.
    let material = entry.value.bytes()[4..].to_vec();
    assert_eq!(material.len(), 32);
    let mut scanned = 0;
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("palisade.db")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        assert!(
            !bytes.windows(32).any(|w| w == material.as_slice()),
            "{path:?}"
        );
        assert!(
            !bytes.windows(32).any(|w| w == plaintext.as_slice()),
            "{path:?}"
        );
    }
    assert!(scanned > 0);
}

#[tokio::test]
async fn no_custom_key_store_exists() {
    let h = Harness::new().await;
    let listed: DescribeCustomKeyStoresResponse = h
        .call(
            "DescribeCustomKeyStores",
            DescribeCustomKeyStoresRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.custom_key_stores, Some(vec![]));
    assert_eq!(listed.truncated, Some(false));
    let id = "cks-1234567890abcdef0";
    assert_code(
        h.act(
            "DescribeCustomKeyStores",
            DescribeCustomKeyStoresRequest {
                custom_key_store_id: Some(id.to_owned()),
                ..Default::default()
            },
        )
        .await,
        "CustomKeyStoreNotFoundException",
    );
    for operation in [
        "ConnectCustomKeyStore",
        "DisconnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "UpdateCustomKeyStore",
    ] {
        assert_code(
            h.act(
                operation,
                DeleteCustomKeyStoreRequest {
                    custom_key_store_id: id.to_owned(),
                },
            )
            .await,
            "CustomKeyStoreNotFoundException",
        );
    }
    assert_code(
        h.act(
            "CreateKey",
            CreateKeyRequest {
                custom_key_store_id: Some(id.to_owned()),
                origin: Some(OriginType::AwsCloudhsm),
                ..Default::default()
            },
        )
        .await,
        "CustomKeyStoreNotFoundException",
    );
    assert_code(
        h.act(
            "CreateCustomKeyStore",
            CreateCustomKeyStoreRequest {
                custom_key_store_name: "hsm".to_owned(),
                cloud_hsm_cluster_id: Some("cluster-abcdefghijk".to_owned()),
                trust_anchor_certificate: Some("cert".to_owned()),
                key_store_password: Some(palisade_core::Sensitive::new("password".to_owned())),
                ..Default::default()
            },
        )
        .await,
        "CloudHsmClusterNotFoundException",
    );
}

#[tokio::test]
async fn last_usage_is_the_last_successful_cryptographic_operation() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let fresh = h.last_usage(&id).await;
    assert!(fresh.key_last_usage.is_none());
    assert_eq!(fresh.tracking_start_date, fresh.key_creation_date);
    assert_eq!(fresh.key_id.as_deref(), Some(id.as_str()));

    let blob = h.encrypt(&id, b"x", &[]).await.unwrap();
    h.clock.advance(DAY);
    h.decrypt(None, &blob, &[]).await.unwrap();
    // A failed operation is no use.
    h.decrypt(None, &blob, &[("a", "b")]).await.unwrap_err();
    let last = h.last_usage(&id).await.key_last_usage.unwrap();
    assert_eq!(last.operation, Some(KeyLastUsageTrackingOperation::Decrypt));
    assert_eq!(
        last.timestamp,
        Some(Timestamp::from_millis(
            i64::try_from((START + 86_400) * 1000).unwrap()
        ))
    );
    assert_eq!(last.kms_request_id.as_deref(), Some("test-request"));
    assert_code(
        h.act(
            "GetKeyLastUsage",
            GetKeyLastUsageRequest {
                key_id: "alias/app".to_owned(),
            },
        )
        .await,
        "NotFoundException",
    );
}
