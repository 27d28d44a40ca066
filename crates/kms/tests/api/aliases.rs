//! Aliases: naming rules, uniqueness, retargeting, listing.

use palisade_model_kms::types::*;

use crate::common::*;

fn create(name: &str, target: &str) -> CreateAliasRequest {
    CreateAliasRequest {
        alias_name: name.to_owned(),
        target_key_id: target.to_owned(),
    }
}

#[tokio::test]
async fn alias_names_follow_aws_rules() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
    let message = assert_code(h.act("CreateAlias", create("app", &id)).await, "Validation");
    assert!(
        message.starts_with("Alias must start with the prefix \"alias/\"."),
        "{message}"
    );
    assert_code(
        h.act("CreateAlias", create("alias/aws/s3", &id)).await,
        "NotAuthorizedException",
    );
    assert_code(
        h.act("CreateAlias", create("alias/a:b", &id)).await,
        "Validation",
    );
    h.act("CreateAlias", create("alias/app", &id))
        .await
        .unwrap();
    let message = assert_code(
        h.act("CreateAlias", create("alias/app", &id)).await,
        "AlreadyExistsException",
    );
    assert_eq!(
        message,
        "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/app already exists"
    );
    // The target must be a key, not another alias.
    assert_code(
        h.act("CreateAlias", create("alias/other", "alias/app"))
            .await,
        "NotFoundException",
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_code(
        h.act("CreateAlias", create("alias/other", missing)).await,
        "NotFoundException",
    );
}

#[tokio::test]
async fn aliases_are_listed_retargeted_and_deleted() {
    let h = Harness::new().await;
    let first = h.symmetric_key().await;
    let second = h.symmetric_key().await;
    for name in ["alias/a", "alias/b", "alias/c"] {
        h.act("CreateAlias", create(name, &first)).await.unwrap();
    }
    h.act("CreateAlias", create("alias/d", &second))
        .await
        .unwrap();

    let all: ListAliasesResponse = h
        .call(
            "ListAliases",
            ListAliasesRequest {
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.truncated, Some(true));
    let names: Vec<_> = all
        .aliases
        .unwrap()
        .into_iter()
        .map(|a| a.alias_name.unwrap())
        .collect();
    assert_eq!(names, ["alias/a", "alias/b", "alias/c"]);
    let rest: ListAliasesResponse = h
        .call(
            "ListAliases",
            ListAliasesRequest {
                marker: all.next_marker,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rest = rest.aliases.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        rest[0].alias_arn.as_deref(),
        Some("arn:aws:kms:us-east-1:000000000000:alias/d")
    );
    assert_eq!(rest[0].target_key_id.as_deref(), Some(second.as_str()));

    h.act(
        "UpdateAlias",
        UpdateAliasRequest {
            alias_name: "alias/a".to_owned(),
            target_key_id: second.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(h.describe("alias/a").await.key_id, second);
    let of_second: ListAliasesResponse = h
        .call(
            "ListAliases",
            ListAliasesRequest {
                key_id: Some(second.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(of_second.aliases.unwrap().len(), 2);

    let signing = h.create_key("ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    assert_code(
        h.act(
            "UpdateAlias",
            UpdateAliasRequest {
                alias_name: "alias/a".to_owned(),
                target_key_id: signing,
            },
        )
        .await,
        "Validation",
    );

    h.act(
        "DeleteAlias",
        DeleteAliasRequest {
            alias_name: "alias/a".to_owned(),
        },
    )
    .await
    .unwrap();
    let message = assert_code(
        h.act(
            "DeleteAlias",
            DeleteAliasRequest {
                alias_name: "alias/a".to_owned(),
            },
        )
        .await,
        "NotFoundException",
    );
    assert_eq!(
        message,
        "Alias arn:aws:kms:us-east-1:000000000000:alias/a is not found."
    );
    assert_code(
        h.call::<DescribeKeyResponse>(
            "DescribeKey",
            DescribeKeyRequest {
                key_id: "alias/a".to_owned(),
                grant_tokens: None,
            },
        )
        .await,
        "NotFoundException",
    );
}

#[tokio::test]
async fn aliases_cannot_point_at_keys_pending_deletion() {
    let h = Harness::new().await;
    let id = h.symmetric_key().await;
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
    assert_code(
        h.act("CreateAlias", create("alias/late", &id)).await,
        "KMSInvalidStateException",
    );
}
