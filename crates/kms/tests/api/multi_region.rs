//! Multi-Region keys: `mrk-` ids, replicas in other regions with their own settings and the
//! same material, moving the primary, and deleting replicas before their primary.

use palisade_core::value::Timestamp;
use palisade_model_kms::types::*;

use crate::common::*;

async fn multi_region_key(h: &Harness) -> KeyMetadata {
    let response: CreateKeyResponse = h
        .call(
            "CreateKey",
            CreateKeyRequest {
                multi_region: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    response.key_metadata.unwrap()
}

async fn replicate(
    h: &Harness,
    id: &str,
    region: &str,
) -> Result<ReplicateKeyResponse, palisade_core::ServiceError> {
    h.call(
        "ReplicateKey",
        ReplicateKeyRequest {
            key_id: id.to_owned(),
            replica_region: region.to_owned(),
            description: Some("the west copy".to_owned()),
            tags: Some(vec![Tag {
                tag_key: "copy".to_owned(),
                tag_value: "yes".to_owned(),
            }]),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_replica_shares_the_material_and_reports_its_configuration() {
    let h = Harness::new().await;
    let key = multi_region_key(&h).await;
    assert!(key.key_id.starts_with("mrk-"), "{}", key.key_id);
    assert_eq!(key.multi_region, Some(true));
    let configuration = key.multi_region_configuration.unwrap();
    assert_eq!(
        configuration.multi_region_key_type,
        Some(MultiRegionKeyType::Primary)
    );
    assert_eq!(configuration.replica_keys, Some(vec![]));

    let blob = h
        .encrypt(&key.key_id, b"everywhere", &[("a", "b")])
        .await
        .unwrap();
    let replica = replicate(&h, &key.key_id, "us-west-2").await.unwrap();
    let metadata = replica.replica_key_metadata.unwrap();
    assert_eq!(
        metadata.arn.as_deref(),
        Some(format!("arn:aws:kms:us-west-2:000000000000:key/{}", key.key_id).as_str())
    );
    assert_eq!(metadata.description.as_deref(), Some("the west copy"));
    assert_eq!(replica.replica_tags.unwrap().len(), 1);
    assert!(
        replica
            .replica_policy
            .unwrap()
            .contains("Enable IAM User Permissions")
    );

    let west = context("us-west-2");
    let described: DescribeKeyResponse = h
        .call_as(
            &west,
            "DescribeKey",
            DescribeKeyRequest {
                key_id: key.key_id.clone(),
                grant_tokens: None,
            },
        )
        .await
        .unwrap();
    let configuration = described
        .key_metadata
        .unwrap()
        .multi_region_configuration
        .unwrap();
    assert_eq!(
        configuration.multi_region_key_type,
        Some(MultiRegionKeyType::Replica)
    );
    assert_eq!(
        configuration.primary_key.unwrap().region.as_deref(),
        Some("us-east-1")
    );
    // The primary lists its replica too.
    let primary = h
        .describe(&key.key_id)
        .await
        .multi_region_configuration
        .unwrap();
    assert_eq!(
        primary.replica_keys.unwrap()[0].region.as_deref(),
        Some("us-west-2")
    );

    // A ciphertext from the primary's region decrypts in the replica's.
    let decrypted: DecryptResponse = h
        .call_as(
            &west,
            "Decrypt",
            DecryptRequest {
                ciphertext_blob: Some(palisade_core::value::Blob(blob)),
                encryption_context: encryption_context(&[("a", "b")]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext.unwrap().expose().0, b"everywhere");

    assert_code(
        replicate(&h, &key.key_id, "us-west-2").await,
        "AlreadyExistsException",
    );
    let single = h.symmetric_key().await;
    assert_code(
        replicate(&h, &single, "us-west-2").await,
        "UnsupportedOperationException",
    );
}

#[tokio::test]
async fn rotation_of_the_primary_reaches_its_replicas() {
    let h = Harness::new().await;
    let key = multi_region_key(&h).await.key_id;
    replicate(&h, &key, "eu-west-1").await.unwrap();
    h.act(
        "RotateKeyOnDemand",
        RotateKeyOnDemandRequest {
            key_id: key.clone(),
        },
    )
    .await
    .unwrap();
    let blob = h.encrypt(&key, b"new material", &[]).await.unwrap();
    let west = context("eu-west-1");
    let decrypted: DecryptResponse = h
        .call_as(
            &west,
            "Decrypt",
            DecryptRequest {
                ciphertext_blob: Some(palisade_core::value::Blob(blob)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext.unwrap().expose().0, b"new material");

    // The automatic rotation schedule is shared: the replica reports the primary's.
    h.act(
        "EnableKeyRotation",
        EnableKeyRotationRequest {
            key_id: key.clone(),
            rotation_period_in_days: Some(180),
        },
    )
    .await
    .unwrap();
    let status: GetKeyRotationStatusResponse = h
        .call_as(
            &west,
            "GetKeyRotationStatus",
            GetKeyRotationStatusRequest {
                key_id: key.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.key_rotation_enabled, Some(true));
    assert_eq!(status.rotation_period_in_days, Some(180));
    assert_code(
        h.call_as::<RotateKeyOnDemandResponse>(
            &west,
            "RotateKeyOnDemand",
            RotateKeyOnDemandRequest {
                key_id: key.clone(),
            },
        )
        .await,
        "UnsupportedOperationException",
    );
}

#[tokio::test]
async fn the_primary_region_moves_to_a_replica() {
    let h = Harness::new().await;
    let key = multi_region_key(&h).await.key_id;
    replicate(&h, &key, "eu-west-1").await.unwrap();
    assert_code(
        h.act(
            "UpdatePrimaryRegion",
            UpdatePrimaryRegionRequest {
                key_id: key.clone(),
                primary_region: "ap-south-1".to_owned(),
            },
        )
        .await,
        "NotFoundException",
    );
    h.act(
        "UpdatePrimaryRegion",
        UpdatePrimaryRegionRequest {
            key_id: key.clone(),
            primary_region: "eu-west-1".to_owned(),
        },
    )
    .await
    .unwrap();
    let here = h.describe(&key).await.multi_region_configuration.unwrap();
    assert_eq!(
        here.multi_region_key_type,
        Some(MultiRegionKeyType::Replica)
    );
    assert_eq!(
        here.primary_key.unwrap().region.as_deref(),
        Some("eu-west-1")
    );
    // The old primary can no longer replicate; the new one can.
    assert_code(
        replicate(&h, &key, "ap-south-1").await,
        "UnsupportedOperationException",
    );
    let west = context("eu-west-1");
    let replica: ReplicateKeyResponse = h
        .call_as(
            &west,
            "ReplicateKey",
            ReplicateKeyRequest {
                key_id: key.clone(),
                replica_region: "ap-south-1".to_owned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let replicas = replica
        .replica_key_metadata
        .unwrap()
        .multi_region_configuration
        .unwrap()
        .replica_keys
        .unwrap();
    let regions: Vec<_> = replicas.iter().map(|r| r.region.clone().unwrap()).collect();
    assert_eq!(regions, ["ap-south-1", "us-east-1"]);
}

#[tokio::test]
async fn a_primary_waits_for_its_replicas_to_be_deleted() {
    let h = Harness::new().await;
    let key = multi_region_key(&h).await.key_id;
    replicate(&h, &key, "eu-west-1").await.unwrap();
    let scheduled: ScheduleKeyDeletionResponse = h
        .call(
            "ScheduleKeyDeletion",
            ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .await
        .unwrap();
    assert_eq!(scheduled.key_state, Some(KeyState::PendingReplicaDeletion));
    assert_eq!(scheduled.deletion_date, None);
    assert_eq!(
        h.describe(&key).await.key_state,
        Some(KeyState::PendingReplicaDeletion)
    );
    // Time passes; the primary stays while its replica lives.
    h.clock.advance(DAY * 40);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 0);

    let west = context("eu-west-1");
    h.call_as::<ScheduleKeyDeletionResponse>(
        &west,
        "ScheduleKeyDeletion",
        ScheduleKeyDeletionRequest {
            key_id: key.clone(),
            pending_window_in_days: Some(7),
        },
    )
    .await
    .unwrap();
    h.clock.advance(DAY * 8);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 1);
    // With its last replica gone, the primary's own waiting period starts.
    let primary = h.describe(&key).await;
    assert_eq!(primary.key_state, Some(KeyState::PendingDeletion));
    let deletion = primary.deletion_date.unwrap();
    let expected = palisade_core::clock::Clock::now_millis(&h.clock) + 7 * 86_400_000;
    assert_eq!(deletion, Timestamp::from_millis(expected));
    assert_eq!(
        primary.multi_region_configuration.unwrap().replica_keys,
        Some(vec![])
    );
    h.clock.advance(DAY * 8);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 1);
}
