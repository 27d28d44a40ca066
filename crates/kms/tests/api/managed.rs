//! AWS managed keys: created once on a service's first use, listed under their alias, and
//! closed to every change.

use palisade_model_kms::types::*;

use crate::common::*;

#[tokio::test]
async fn an_aws_managed_key_is_created_once_with_aws_settings() {
    let h = Harness::new().await;
    let arn_first = h
        .kms()
        .aws_managed_key(&h.root, "secretsmanager")
        .await
        .unwrap();
    let arn_again = h
        .kms()
        .aws_managed_key(&h.root, "secretsmanager")
        .await
        .unwrap();
    assert_eq!(arn_first, arn_again);
    let key = h.describe("alias/aws/secretsmanager").await;
    assert_eq!(key.arn.as_deref(), Some(arn_first.as_str()));
    assert_eq!(key.key_manager, Some(KeyManagerType::Aws));
    assert_eq!(key.key_spec, Some(KeySpec::SymmetricDefault));
    assert_eq!(key.key_state, Some(KeyState::Enabled));
    assert_eq!(
        key.description.as_deref(),
        Some("Default key that protects my Secrets Manager data when no other key is defined")
    );
    let rotation = h.rotation_status(&key.key_id).await;
    assert_eq!(rotation.key_rotation_enabled, Some(true));
    assert_eq!(rotation.rotation_period_in_days, Some(365));

    let policy: GetKeyPolicyResponse = h
        .call(
            "GetKeyPolicy",
            GetKeyPolicyRequest {
                key_id: key.key_id.clone(),
                policy_name: None,
            },
        )
        .await
        .unwrap();
    let policy = policy.policy.unwrap();
    assert!(
        policy.contains(r#""kms:ViaService" : "secretsmanager.us-east-1.amazonaws.com""#),
        "{policy}"
    );
    assert!(
        policy.contains(r#""kms:CallerAccount" : "000000000000""#),
        "{policy}"
    );

    let aliases: ListAliasesResponse = h
        .call("ListAliases", ListAliasesRequest::default())
        .await
        .unwrap();
    let alias = aliases
        .aliases
        .unwrap()
        .into_iter()
        .find(|alias| alias.alias_name.as_deref() == Some("alias/aws/secretsmanager"))
        .unwrap();
    assert_eq!(alias.target_key_id.as_deref(), Some(key.key_id.as_str()));

    // Another service, region or account has its own.
    let ssm = h.kms().aws_managed_key(&h.root, "ssm").await.unwrap();
    assert_ne!(ssm, arn_first);
    let elsewhere = h
        .kms()
        .aws_managed_key(&context("eu-west-1"), "secretsmanager")
        .await
        .unwrap();
    assert!(elsewhere.starts_with("arn:aws:kms:eu-west-1:000000000000:key/"));
}

#[tokio::test]
async fn concurrent_first_uses_create_one_key() {
    let h = Harness::new().await;
    let kms = h.kms();
    let (a, b, c) = tokio::join!(
        kms.aws_managed_key(&h.root, "ssm"),
        kms.aws_managed_key(&h.root, "ssm"),
        kms.aws_managed_key(&h.root, "ssm"),
    );
    assert_eq!(a.as_ref().unwrap(), b.as_ref().unwrap());
    assert_eq!(a.unwrap(), c.unwrap());
    let keys: ListKeysResponse = h
        .call("ListKeys", ListKeysRequest::default())
        .await
        .unwrap();
    assert_eq!(keys.keys.unwrap().len(), 1);
}

#[tokio::test]
async fn an_aws_managed_key_cannot_be_changed() {
    let h = Harness::new().await;
    h.kms()
        .aws_managed_key(&h.root, "secretsmanager")
        .await
        .unwrap();
    let id = h.describe("alias/aws/secretsmanager").await.key_id;
    let message = assert_code(
        h.act(
            "PutKeyPolicy",
            PutKeyPolicyRequest {
                key_id: id.clone(),
                policy_name: None,
                policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#.to_owned(),
                bypass_policy_lockout_safety_check: None,
            },
        )
        .await,
        "AccessDenied",
    );
    assert_eq!(
        message,
        format!(
            "User: arn:aws:iam::000000000000:root is not authorized to perform: kms:PutKeyPolicy \
             on resource: {} because no resource-based policy allows the kms:PutKeyPolicy action",
            arn(&id)
        )
    );
    assert_code(
        h.act(
            "ScheduleKeyDeletion",
            ScheduleKeyDeletionRequest {
                key_id: id.clone(),
                pending_window_in_days: None,
            },
        )
        .await,
        "AccessDenied",
    );
    assert_code(
        h.act("DisableKey", DisableKeyRequest { key_id: id.clone() })
            .await,
        "AccessDenied",
    );
    assert_code(
        h.act(
            "EnableKeyRotation",
            EnableKeyRotationRequest {
                key_id: id.clone(),
                rotation_period_in_days: Some(90),
            },
        )
        .await,
        "AccessDenied",
    );
    assert_code(
        h.act(
            "DisableKeyRotation",
            DisableKeyRotationRequest { key_id: id.clone() },
        )
        .await,
        "AccessDenied",
    );
    assert_code(
        h.act(
            "CreateAlias",
            CreateAliasRequest {
                alias_name: "alias/mine".to_owned(),
                target_key_id: id.clone(),
            },
        )
        .await,
        "AccessDenied",
    );
    let customer = h.symmetric_key().await;
    for operation in ["UpdateAlias", "CreateAlias"] {
        assert_code(
            h.act(
                operation,
                CreateAliasRequest {
                    alias_name: "alias/aws/secretsmanager".to_owned(),
                    target_key_id: customer.clone(),
                },
            )
            .await,
            "NotAuthorizedException",
        );
    }
    assert_code(
        h.act(
            "DeleteAlias",
            DeleteAliasRequest {
                alias_name: "alias/aws/secretsmanager".to_owned(),
            },
        )
        .await,
        "NotAuthorizedException",
    );
    // The key still works for cryptography.
    let blob = h.encrypt(&id, b"data", &[]).await.unwrap();
    assert_eq!(h.decrypt(None, &blob, &[]).await.unwrap(), b"data");
}
