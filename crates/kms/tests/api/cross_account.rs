//! Keys used across accounts: a caller of account B names account A's key by its key or alias
//! ARN in the operations AWS allows across accounts, and finds it in A. Whether the policies
//! allow it is the server's authorizer's decision (`crates/server/src/authorize.rs`); here the
//! service is called directly.

use palisade_core::value::Blob;
use palisade_core::{AccountId, IntoValue, Principal, RequestContext, Sensitive};
use palisade_model_kms::types::*;

use crate::common::*;

const OTHER_ACCOUNT: &str = "222233334444";

/// The root user of account B, in the harness's region.
fn account_b() -> RequestContext {
    let mut ctx = context("us-east-1");
    ctx.principal = Principal::root(AccountId::parse(OTHER_ACCOUNT).unwrap(), "b");
    ctx
}

async fn encrypt_as(
    h: &Harness,
    ctx: &RequestContext,
    key_id: &str,
    plaintext: &[u8],
) -> Result<EncryptResponse, palisade_core::ServiceError> {
    h.call_as(
        ctx,
        "Encrypt",
        EncryptRequest {
            key_id: key_id.to_owned(),
            plaintext: Sensitive::new(Blob(plaintext.to_vec())),
            encryption_context: encryption_context(&[("app", "b")]),
            ..Default::default()
        },
    )
    .await
}

async fn decrypt_as(
    h: &Harness,
    ctx: &RequestContext,
    key_id: Option<&str>,
    blob: &[u8],
) -> Result<DecryptResponse, palisade_core::ServiceError> {
    h.call_as(
        ctx,
        "Decrypt",
        DecryptRequest {
            key_id: key_id.map(str::to_owned),
            ciphertext_blob: Some(Blob(blob.to_vec())),
            encryption_context: encryption_context(&[("app", "b")]),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn another_account_encrypts_and_decrypts_by_key_arn() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let b = account_b();

    let encrypted = encrypt_as(&h, &b, &arn(&id), b"shared").await.unwrap();
    assert_eq!(encrypted.key_id, Some(arn(&id)));
    let blob = encrypted.ciphertext_blob.unwrap().0;
    // The ciphertext names the key's account, so neither account needs to name the key.
    for (ctx, key_id) in [
        (&b, None),
        (&b, Some(arn(&id))),
        (&h.root, None),
        (&h.root, Some(id.clone())),
    ] {
        let decrypted = decrypt_as(&h, ctx, key_id.as_deref(), &blob).await.unwrap();
        assert_eq!(decrypted.plaintext.unwrap().expose().0, b"shared");
        assert_eq!(decrypted.key_id, Some(arn(&id)));
    }
    // A key id alone is B's own key, which does not exist; nor does B's blob open as B's key.
    assert_code(encrypt_as(&h, &b, &id, b"x").await, "NotFoundException");
    assert_code(
        decrypt_as(&h, &b, Some(&id), &blob).await,
        "NotFoundException",
    );

    // Usage is recorded under the key's owner.
    let usage = h.last_usage(&id).await;
    assert!(usage.key_last_usage.is_some());
}

#[tokio::test]
async fn another_account_generates_data_keys_and_describes_by_alias_arn() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    h.act(
        "CreateAlias",
        CreateAliasRequest {
            alias_name: "alias/shared".to_owned(),
            target_key_id: id.clone(),
        },
    )
    .await
    .unwrap();
    let alias_arn = "arn:aws:kms:us-east-1:000000000000:alias/shared";
    let b = account_b();

    let data_key: GenerateDataKeyResponse = h
        .call_as(
            &b,
            "GenerateDataKey",
            GenerateDataKeyRequest {
                key_id: alias_arn.to_owned(),
                key_spec: Some(DataKeySpec::Aes256),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(data_key.key_id, Some(arn(&id)));
    let opened: DecryptResponse = h
        .call_as(
            &b,
            "Decrypt",
            DecryptRequest {
                ciphertext_blob: data_key.ciphertext_blob,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        opened.plaintext.unwrap().expose().0,
        data_key.plaintext.unwrap().expose().0
    );

    let described: DescribeKeyResponse = h
        .call_as(
            &b,
            "DescribeKey",
            DescribeKeyRequest {
                key_id: alias_arn.to_owned(),
                grant_tokens: None,
            },
        )
        .await
        .unwrap();
    let metadata = described.key_metadata.unwrap();
    assert_eq!(metadata.arn, Some(arn(&id)));
    assert_eq!(metadata.aws_account_id.as_deref(), Some("000000000000"));
}

#[tokio::test]
async fn grants_on_another_accounts_key_live_with_the_key() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let b = account_b();
    let grant: CreateGrantResponse = h
        .call_as(
            &b,
            "CreateGrant",
            CreateGrantRequest {
                key_id: arn(&id),
                grantee_principal: format!("arn:aws:iam::{OTHER_ACCOUNT}:role/app"),
                operations: vec![GrantOperation::Decrypt],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The key's owner sees the grant B made.
    let listed = h.grants(&id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].grant_id, grant.grant_id);
    let grant_id = grant.grant_id.unwrap();
    h.call_as::<palisade_core::Value>(
        &b,
        "RevokeGrant",
        RevokeGrantRequest {
            key_id: arn(&id),
            grant_id,
            dry_run: None,
        },
    )
    .await
    .unwrap();
    assert!(h.grants(&id).await.is_empty());
}

#[tokio::test]
async fn other_operations_do_not_reach_another_accounts_key() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let b = account_b();
    let key_arn = arn(&id);
    let refused = [
        (
            "DisableKey",
            DisableKeyRequest {
                key_id: key_arn.clone(),
            }
            .into_value(),
        ),
        (
            "ScheduleKeyDeletion",
            ScheduleKeyDeletionRequest {
                key_id: key_arn.clone(),
                pending_window_in_days: Some(7),
            }
            .into_value(),
        ),
        (
            "UpdateKeyDescription",
            UpdateKeyDescriptionRequest {
                key_id: key_arn.clone(),
                description: "taken".to_owned(),
            }
            .into_value(),
        ),
        (
            "ListKeyRotations",
            ListKeyRotationsRequest {
                key_id: key_arn.clone(),
                ..Default::default()
            }
            .into_value(),
        ),
    ];
    for (operation, input) in refused {
        let message = assert_code(
            h.call_as::<palisade_core::Value>(&b, operation, input)
                .await,
            "NotFoundException",
        );
        assert!(message.contains(&key_arn), "{operation}: {message}");
    }
    // The key is untouched.
    assert_eq!(h.describe(&id).await.enabled, Some(true));
    // And a key ARN of another region names nothing, in any operation.
    let elsewhere = key_arn.replace("us-east-1", "eu-west-1");
    assert_code(
        encrypt_as(&h, &b, &elsewhere, b"x").await,
        "NotFoundException",
    );
}
