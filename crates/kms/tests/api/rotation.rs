//! Automatic and on-demand rotation: new material for new ciphertexts, old material kept.

use palisade_core::value::Timestamp;
use palisade_kms::parse_ciphertext;
use palisade_model_kms::types::*;

use crate::common::*;

#[tokio::test]
async fn automatic_rotation_is_scheduled_and_swept() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let idle = h.symmetric_key().await;
    assert_eq!(
        h.rotation_status(&id).await.key_rotation_enabled,
        Some(false)
    );
    for days in [89, 2561] {
        assert_code(
            h.act(
                "EnableKeyRotation",
                EnableKeyRotationRequest {
                    key_id: id.clone(),
                    rotation_period_in_days: Some(days),
                },
            )
            .await,
            "Validation",
        );
    }
    h.act(
        "EnableKeyRotation",
        EnableKeyRotationRequest {
            key_id: id.clone(),
            rotation_period_in_days: None,
        },
    )
    .await
    .unwrap();
    let s = h.rotation_status(&id).await;
    assert_eq!(s.key_rotation_enabled, Some(true));
    assert_eq!(s.rotation_period_in_days, Some(365));
    assert_eq!(
        s.next_rotation_date,
        Some(Timestamp((START + 365 * 86_400) as f64))
    );

    let old = h.encrypt(&id, b"before", &[]).await.unwrap();
    h.clock.advance(DAY * 364);
    assert_eq!(h.kms().rotate_due_keys().await.unwrap(), 0);
    h.clock.advance(DAY);
    assert_eq!(h.kms().rotate_due_keys().await.unwrap(), 1);
    assert_eq!(h.kms().rotate_due_keys().await.unwrap(), 0);
    let s = h.rotation_status(&id).await;
    assert_eq!(
        s.next_rotation_date,
        Some(Timestamp((START + 730 * 86_400) as f64))
    );

    let new = h.encrypt(&id, b"after", &[]).await.unwrap();
    assert_eq!(parse_ciphertext(&old).unwrap().material_version, 0);
    assert_eq!(parse_ciphertext(&new).unwrap().material_version, 1);
    assert_eq!(h.decrypt(None, &old, &[]).await.unwrap(), b"before");
    assert_eq!(h.decrypt(None, &new, &[]).await.unwrap(), b"after");

    let listed = h.rotations(&id, false).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].rotation_type, Some(RotationType::Automatic));
    assert_eq!(
        listed[0].key_material_state,
        Some(KeyMaterialState::Current)
    );
    assert_eq!(
        listed[0].key_material_id,
        h.describe(&id).await.current_key_material_id
    );
    assert_eq!(h.rotations(&id, true).await.len(), 2);
    assert!(h.rotations(&idle, false).await.is_empty());

    h.act(
        "DisableKeyRotation",
        DisableKeyRotationRequest { key_id: id.clone() },
    )
    .await
    .unwrap();
    assert_eq!(
        h.rotation_status(&id).await.key_rotation_enabled,
        Some(false)
    );
    h.clock.advance(DAY * 1000);
    assert_eq!(h.kms().rotate_due_keys().await.unwrap(), 0);
}

#[tokio::test]
async fn on_demand_rotation_keeps_old_ciphertexts_and_is_limited() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let first_material = h.describe(&id).await.current_key_material_id;
    let mut blobs = vec![h.encrypt(&id, b"v0", &[]).await.unwrap()];
    for round in 1..=10 {
        let rotated: RotateKeyOnDemandResponse = h
            .call(
                "RotateKeyOnDemand",
                RotateKeyOnDemandRequest { key_id: id.clone() },
            )
            .await
            .unwrap();
        assert_eq!(rotated.key_id, Some(arn(&id)));
        blobs.push(
            h.encrypt(&id, format!("v{round}").as_bytes(), &[])
                .await
                .unwrap(),
        );
    }
    assert_ne!(
        h.describe(&id).await.current_key_material_id,
        first_material
    );
    for (version, blob) in blobs.iter().enumerate() {
        assert_eq!(
            parse_ciphertext(blob).unwrap().material_version as usize,
            version
        );
        assert_eq!(
            h.decrypt(None, blob, &[]).await.unwrap(),
            format!("v{version}").as_bytes()
        );
    }
    let message = assert_code(
        h.call::<RotateKeyOnDemandResponse>(
            "RotateKeyOnDemand",
            RotateKeyOnDemandRequest { key_id: id.clone() },
        )
        .await,
        "LimitExceededException",
    );
    assert!(message.contains(&arn(&id)), "{message}");
    let listed = h.rotations(&id, false).await;
    assert_eq!(listed.len(), 10);
    assert!(
        listed
            .iter()
            .all(|r| r.rotation_type == Some(RotationType::OnDemand))
    );
    let page: ListKeyRotationsResponse = h
        .call(
            "ListKeyRotations",
            ListKeyRotationsRequest {
                key_id: id.clone(),
                limit: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.rotations.unwrap().len(), 4);
    assert_eq!(page.truncated, Some(true));
    assert_eq!(page.next_marker.as_deref(), Some("4"));
}

#[tokio::test]
async fn rotation_is_for_enabled_symmetric_keys() {
    let h = Harness::new().await;
    let rsa = h.create_key("RSA_2048", "SIGN_VERIFY").await.key_id;
    assert_code(
        h.act(
            "EnableKeyRotation",
            EnableKeyRotationRequest {
                key_id: rsa.clone(),
                rotation_period_in_days: None,
            },
        )
        .await,
        "UnsupportedOperationException",
    );
    assert_code(
        h.call::<RotateKeyOnDemandResponse>(
            "RotateKeyOnDemand",
            RotateKeyOnDemandRequest { key_id: rsa },
        )
        .await,
        "UnsupportedOperationException",
    );
    let id = h.symmetric_key().await;
    h.act("DisableKey", DisableKeyRequest { key_id: id.clone() })
        .await
        .unwrap();
    assert_code(
        h.act(
            "EnableKeyRotation",
            EnableKeyRotationRequest {
                key_id: id.clone(),
                rotation_period_in_days: None,
            },
        )
        .await,
        "DisabledException",
    );
}
