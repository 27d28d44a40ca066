//! DeleteSecret with a recovery window, RestoreSecret, forced deletion and the purge sweeper.

use palisade_model_secretsmanager::types::*;

use crate::common::*;

fn delete(id: &str, days: Option<i64>, force: Option<bool>) -> DeleteSecretRequest {
    DeleteSecretRequest {
        secret_id: id.to_owned(),
        recovery_window_in_days: days,
        force_delete_without_recovery: force,
    }
}

#[tokio::test]
async fn a_deleted_secret_waits_its_window_then_is_purged() {
    let h = Harness::new().await;
    h.create("doomed", "v").await;
    let deleted: DeleteSecretResponse = h
        .call("DeleteSecret", delete("doomed", Some(7), None))
        .await
        .unwrap();
    assert_eq!(
        deleted.deletion_date.unwrap().0,
        h.now_seconds() + 7.0 * DAY_SECONDS
    );

    let message = assert_code(h.get("doomed").await, "InvalidRequestException");
    assert_eq!(
        message,
        "You can't perform this operation on the secret because it was marked for deletion."
    );
    let described = h.describe("doomed").await.unwrap();
    assert_eq!(
        described.deleted_date.unwrap().0,
        h.now_seconds() + 7.0 * DAY_SECONDS
    );
    let listed: ListSecretsResponse = h
        .call("ListSecrets", ListSecretsRequest::default())
        .await
        .unwrap();
    assert!(listed.secret_list.unwrap().is_empty());
    let planned: ListSecretsResponse = h
        .call(
            "ListSecrets",
            ListSecretsRequest {
                include_planned_deletion: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(planned.secret_list.unwrap().len(), 1);
    assert_code(
        h.call::<CreateSecretResponse>(
            "CreateSecret",
            CreateSecretRequest {
                name: "doomed".into(),
                ..Default::default()
            },
        )
        .await,
        "InvalidRequestException",
    );

    h.clock.advance(DAY * 6);
    assert_eq!(h.state().delete_due_secrets().await.unwrap(), 0);
    h.clock.advance(DAY);
    assert_eq!(h.state().delete_due_secrets().await.unwrap(), 1);
    assert_code(h.describe("doomed").await, "ResourceNotFoundException");
    // The name is free again.
    h.create("doomed", "again").await;
    assert_eq!(h.current("doomed").await, "again");
}

#[tokio::test]
async fn restore_brings_a_secret_back() {
    let h = Harness::new().await;
    h.create("back", "v").await;
    let deleted: DeleteSecretResponse = h
        .call("DeleteSecret", delete("back", None, None))
        .await
        .unwrap();
    assert_eq!(
        deleted.deletion_date.unwrap().0,
        h.now_seconds() + 30.0 * DAY_SECONDS
    );
    let restored: RestoreSecretResponse = h
        .call(
            "RestoreSecret",
            RestoreSecretRequest {
                secret_id: "back".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(restored.name.as_deref(), Some("back"));
    assert_eq!(h.current("back").await, "v");
    assert!(h.describe("back").await.unwrap().deleted_date.is_none());
    h.clock.advance(DAY * 31);
    assert_eq!(h.state().delete_due_secrets().await.unwrap(), 0);
    assert_eq!(h.current("back").await, "v");
}

#[tokio::test]
async fn forced_deletion_is_immediate_and_parameters_are_checked() {
    let h = Harness::new().await;
    h.create("gone", "v").await;
    let both = h
        .call::<DeleteSecretResponse>("DeleteSecret", delete("gone", Some(7), Some(true)))
        .await;
    assert_eq!(
        assert_code(both, "InvalidParameterException"),
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
    );
    for days in [6, 31] {
        let out_of_range = h
            .call::<DeleteSecretResponse>("DeleteSecret", delete("gone", Some(days), None))
            .await;
        assert_code(out_of_range, "InvalidParameterException");
    }
    let forced: DeleteSecretResponse = h
        .call("DeleteSecret", delete("gone", None, Some(true)))
        .await
        .unwrap();
    assert_eq!(forced.deletion_date.unwrap().0, h.now_seconds());
    assert_code(h.describe("gone").await, "ResourceNotFoundException");
    let values = h
        .store
        .scan("secretsmanager/values", "", None, 100)
        .await
        .unwrap();
    assert!(values.is_empty());
}
