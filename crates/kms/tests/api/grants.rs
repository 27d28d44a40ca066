//! Grants: creation (idempotent by name), listing, retiring and revoking.

use palisade_model_kms::types::*;

use crate::common::*;

const GRANTEE: &str = "arn:aws:iam::000000000000:role/app";
const RETIREE: &str = "arn:aws:iam::000000000000:role/ops";

fn grant(key_id: &str, name: Option<&str>, operations: Vec<GrantOperation>) -> CreateGrantRequest {
    CreateGrantRequest {
        key_id: key_id.to_owned(),
        grantee_principal: GRANTEE.to_owned(),
        retiring_principal: Some(RETIREE.to_owned()),
        operations,
        constraints: Some(GrantConstraints {
            encryption_context_subset: encryption_context(&[("app", "a")]),
            encryption_context_equals: None,
        }),
        grant_tokens: None,
        name: name.map(str::to_owned),
        dry_run: None,
    }
}

#[tokio::test]
async fn grants_are_created_listed_retired_and_revoked() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let ops = vec![GrantOperation::Encrypt, GrantOperation::Decrypt];
    let first: CreateGrantResponse = h
        .call("CreateGrant", grant(&id, Some("g1"), ops.clone()))
        .await
        .unwrap();
    let again: CreateGrantResponse = h
        .call("CreateGrant", grant(&id, Some("g1"), ops.clone()))
        .await
        .unwrap();
    assert_eq!(first.grant_id, again.grant_id);
    let second: CreateGrantResponse = h
        .call("CreateGrant", grant(&id, None, ops.clone()))
        .await
        .unwrap();
    assert_ne!(first.grant_id, second.grant_id);

    let grants = h.grants(&id).await;
    assert_eq!(grants.len(), 2);
    let g1 = grants
        .iter()
        .find(|g| g.grant_id == first.grant_id)
        .unwrap();
    assert_eq!(g1.key_id, Some(arn(&id)));
    assert_eq!(g1.name.as_deref(), Some("g1"));
    assert_eq!(g1.grantee_principal.as_deref(), Some(GRANTEE));
    assert_eq!(
        g1.issuing_account.as_deref(),
        Some("arn:aws:iam::000000000000:root")
    );
    assert_eq!(g1.operations, Some(ops.clone()));
    assert_eq!(
        g1.constraints.as_ref().unwrap().encryption_context_subset,
        encryption_context(&[("app", "a")])
    );

    let retirable: ListGrantsResponse = h
        .call(
            "ListRetirableGrants",
            ListRetirableGrantsRequest {
                limit: Some(1),
                marker: None,
                retiring_principal: RETIREE.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(retirable.grants.unwrap().len(), 1);
    assert_eq!(retirable.truncated, Some(true));

    h.act(
        "RetireGrant",
        RetireGrantRequest {
            grant_token: first.grant_token.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act(
            "RetireGrant",
            RetireGrantRequest {
                grant_token: first.grant_token,
                ..Default::default()
            },
        )
        .await,
        "InvalidGrantTokenException",
    );
    h.act(
        "RevokeGrant",
        RevokeGrantRequest {
            key_id: id.clone(),
            grant_id: second.grant_id.clone().unwrap(),
            dry_run: None,
        },
    )
    .await
    .unwrap();
    assert!(h.grants(&id).await.is_empty());
    assert_code(
        h.act(
            "RevokeGrant",
            RevokeGrantRequest {
                key_id: id.clone(),
                grant_id: second.grant_id.unwrap(),
                dry_run: None,
            },
        )
        .await,
        "NotFoundException",
    );
}

#[tokio::test]
async fn grant_operations_must_suit_the_key() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    assert_code(
        h.call::<CreateGrantResponse>("CreateGrant", grant(&id, None, vec![GrantOperation::Sign]))
            .await,
        "Validation",
    );
    let signing = h.create_key("ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    let _: CreateGrantResponse = h
        .call(
            "CreateGrant",
            CreateGrantRequest {
                constraints: None,
                ..grant(
                    &signing,
                    None,
                    vec![GrantOperation::Sign, GrantOperation::GetPublicKey],
                )
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_key_deletes_its_grants() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let _: CreateGrantResponse = h
        .call(
            "CreateGrant",
            grant(&id, None, vec![GrantOperation::Decrypt]),
        )
        .await
        .unwrap();
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
    h.clock.advance(DAY * 7);
    assert_eq!(h.kms().delete_due_keys().await.unwrap(), 1);
    let retirable: ListGrantsResponse = h
        .call(
            "ListRetirableGrants",
            ListRetirableGrantsRequest {
                limit: None,
                marker: None,
                retiring_principal: RETIREE.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(retirable.grants, Some(Vec::new()));
}
