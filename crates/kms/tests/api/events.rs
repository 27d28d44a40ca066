//! The EventBridge events KMS publishes: rotation (automatic and on demand) and deletion.

use palisade_model_kms::types::*;

use crate::common::*;

#[tokio::test]
async fn rotations_and_deletions_are_published() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    h.act(
        "RotateKeyOnDemand",
        RotateKeyOnDemandRequest { key_id: id.clone() },
    )
    .await
    .unwrap();
    h.act(
        "EnableKeyRotation",
        EnableKeyRotationRequest {
            key_id: id.clone(),
            rotation_period_in_days: Some(90),
        },
    )
    .await
    .unwrap();
    h.clock.advance(DAY * 91);
    assert_eq!(h.kms().rotate_due_keys().await.unwrap(), 1);

    let published = h.published();
    assert_eq!(published.len(), 2);
    let materials = h.rotations(&id, true).await;
    for ((detail_type, resources, detail), (kind, pair)) in published
        .iter()
        .zip([("ON_DEMAND", [0, 1]), ("AUTOMATIC", [1, 2])])
    {
        assert_eq!(detail_type, "KMS CMK Rotation");
        assert_eq!(resources, &vec![arn(&id)]);
        assert_eq!(detail["key-id"], id.as_str());
        assert_eq!(detail["key-origin"], "AWS_KMS");
        assert_eq!(detail["rotation-type"], kind);
        let material = |index: usize| materials[index].key_material_id.clone().unwrap();
        assert_eq!(detail["previous-key-material-id"], material(pair[0]));
        assert_eq!(detail["current-key-material-id"], material(pair[1]));
    }

    h.act(
        "ScheduleKeyDeletion",
        ScheduleKeyDeletionRequest {
            key_id: id.clone(),
            pending_window_in_days: Some(7),
        },
    )
    .await
    .unwrap();
    h.clock.advance(DAY * 8);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 1);
    let published = h.published();
    let (detail_type, resources, detail) = published.last().unwrap();
    assert_eq!(detail_type, "KMS CMK Deletion");
    assert_eq!(resources, &vec![arn(&id)]);
    assert_eq!(detail, &serde_json::json!({ "key-id": id }));
}
