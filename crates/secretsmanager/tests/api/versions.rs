//! Versions and staging labels, idempotency, lookups by name and ARN, updates and tags.

use palisade_core::Sensitive;
use palisade_core::value::Blob;
use palisade_model_secretsmanager::types::*;

use crate::common::*;

#[tokio::test]
async fn put_moves_awscurrent_and_leaves_awsprevious() {
    let h = Harness::new().await;
    let created = h.create("app/db", "one").await;
    let first = created.version_id.unwrap();
    let second = h.put("app/db", "two").await;
    assert_eq!(second.version_stages.unwrap(), ["AWSCURRENT"]);
    let third = h.put("app/db", "three").await.version_id.unwrap();
    assert_eq!(h.current("app/db").await, "three");

    let previous: GetSecretValueResponse = h
        .call(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "app/db".into(),
                version_stage: Some("AWSPREVIOUS".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(previous.secret_string.unwrap().expose(), "two");
    let by_id: GetSecretValueResponse = h
        .call(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "app/db".into(),
                version_id: Some(first.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_id.secret_string.unwrap().expose(), "one");
    assert!(by_id.version_stages.unwrap().is_empty());

    // The first version has no label left: deprecated, listed only on request.
    let listed: ListSecretVersionIdsResponse = h
        .call(
            "ListSecretVersionIds",
            ListSecretVersionIdsRequest {
                secret_id: "app/db".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .versions
        .unwrap()
        .into_iter()
        .map(|v| v.version_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&first));
    let all: ListSecretVersionIdsResponse = h
        .call(
            "ListSecretVersionIds",
            ListSecretVersionIdsRequest {
                secret_id: "app/db".into(),
                include_deprecated: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.versions.unwrap().len(), 3);

    let described = h.describe("app/db").await.unwrap();
    let stages = described.version_ids_to_stages.unwrap();
    assert_eq!(stages.get(&third).unwrap(), &["AWSCURRENT"]);
    assert_eq!(stages.len(), 2);
}

#[tokio::test]
async fn update_secret_version_stage_moves_labels_and_protects_awscurrent() {
    let h = Harness::new().await;
    let first = h.create("s", "one").await.version_id.unwrap();
    let second = h.put("s", "two").await.version_id.unwrap();

    // Back to the first version: the second becomes AWSPREVIOUS.
    let refused = h
        .act(
            "UpdateSecretVersionStage",
            UpdateSecretVersionStageRequest {
                secret_id: "s".into(),
                version_stage: "AWSCURRENT".into(),
                move_to_version_id: Some(first.clone()),
                remove_from_version_id: None,
            },
        )
        .await;
    assert_code(refused, "InvalidParameterException");
    h.act(
        "UpdateSecretVersionStage",
        UpdateSecretVersionStageRequest {
            secret_id: "s".into(),
            version_stage: "AWSCURRENT".into(),
            move_to_version_id: Some(first.clone()),
            remove_from_version_id: Some(second.clone()),
        },
    )
    .await
    .unwrap();
    assert_eq!(h.current("s").await, "one");
    let stages = h
        .describe("s")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap();
    assert_eq!(stages.get(&second).unwrap(), &["AWSPREVIOUS"]);

    // Removing AWSCURRENT without a destination would leave none.
    let orphaning = h
        .act(
            "UpdateSecretVersionStage",
            UpdateSecretVersionStageRequest {
                secret_id: "s".into(),
                version_stage: "AWSCURRENT".into(),
                remove_from_version_id: Some(first.clone()),
                move_to_version_id: None,
            },
        )
        .await;
    assert_code(orphaning, "InvalidParameterException");

    // A custom label comes and goes.
    h.act(
        "UpdateSecretVersionStage",
        UpdateSecretVersionStageRequest {
            secret_id: "s".into(),
            version_stage: "BLUE".into(),
            move_to_version_id: Some(second.clone()),
            remove_from_version_id: None,
        },
    )
    .await
    .unwrap();
    let blue: GetSecretValueResponse = h
        .call(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "s".into(),
                version_stage: Some("BLUE".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(blue.secret_string.unwrap().expose(), "two");
    let unknown = h
        .call::<GetSecretValueResponse>(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "s".into(),
                version_stage: Some("GREEN".into()),
                ..Default::default()
            },
        )
        .await;
    let message = assert_code(unknown, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Secrets Manager can't find the specified secret value for staging label: GREEN"
    );
}

#[tokio::test]
async fn client_request_tokens_make_retries_idempotent() {
    let h = Harness::new().await;
    let token = "11111111-2222-4333-8444-555555555555";
    let request = |value: &str| CreateSecretRequest {
        name: "idem".into(),
        client_request_token: Some(token.into()),
        secret_string: Some(Sensitive::new(value.to_owned())),
        ..Default::default()
    };
    let first: CreateSecretResponse = h.call("CreateSecret", request("v")).await.unwrap();
    let again: CreateSecretResponse = h.call("CreateSecret", request("v")).await.unwrap();
    assert_eq!(first.arn, again.arn);
    assert_eq!(again.version_id.as_deref(), Some(token));
    let changed = h
        .call::<CreateSecretResponse>("CreateSecret", request("w"))
        .await;
    assert_code(changed, "ResourceExistsException");
    let fresh_token = h
        .call::<CreateSecretResponse>(
            "CreateSecret",
            CreateSecretRequest {
                name: "idem".into(),
                secret_string: Some(Sensitive::new("v".into())),
                ..Default::default()
            },
        )
        .await;
    let message = assert_code(fresh_token, "ResourceExistsException");
    assert_eq!(
        message,
        "The operation failed because the secret idem already exists."
    );

    let put = |value: &str| PutSecretValueRequest {
        secret_id: "idem".into(),
        client_request_token: Some("put-token-0000000000000000000000000".into()),
        secret_string: Some(Sensitive::new(value.to_owned())),
        ..Default::default()
    };
    let put_first: PutSecretValueResponse = h.call("PutSecretValue", put("x")).await.unwrap();
    let put_again: PutSecretValueResponse = h.call("PutSecretValue", put("x")).await.unwrap();
    assert_eq!(put_first.version_id, put_again.version_id);
    assert_code(
        h.call::<PutSecretValueResponse>("PutSecretValue", put("y"))
            .await,
        "ResourceExistsException",
    );
    let versions = h
        .describe("idem")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap();
    assert_eq!(versions.len(), 2);
}

#[tokio::test]
async fn binary_values_and_both_kinds_at_once() {
    let h = Harness::new().await;
    let bytes = vec![0u8, 159, 146, 150, 255];
    let _: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "bin".into(),
                secret_binary: Some(Sensitive::new(Blob(bytes.clone()))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let read = h.get("bin").await.unwrap();
    assert!(read.secret_string.is_none());
    assert_eq!(read.secret_binary.unwrap().expose().0, bytes);

    let both = h
        .call::<CreateSecretResponse>(
            "CreateSecret",
            CreateSecretRequest {
                name: "both".into(),
                secret_binary: Some(Sensitive::new(Blob(bytes))),
                secret_string: Some(Sensitive::new("s".into())),
                ..Default::default()
            },
        )
        .await;
    assert_code(both, "InvalidParameterException");
}

#[tokio::test]
async fn secrets_are_found_by_name_full_arn_and_partial_arn() {
    let h = Harness::new().await;
    let arn = h.create("prod/api-key", "k").await.arn.unwrap();
    let prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/api-key-";
    assert!(arn.starts_with(prefix));
    assert_eq!(arn.len(), prefix.len() + 6);
    assert_eq!(h.current(&arn).await, "k");
    let partial = arn.strip_suffix(&arn[arn.len() - 7..]).unwrap();
    assert_eq!(h.current(partial).await, "k");
    let wrong_suffix = format!("{partial}-ZZZZZZ");
    assert_code(h.get(&wrong_suffix).await, "ResourceNotFoundException");
    let message = assert_code(h.get("prod/none").await, "ResourceNotFoundException");
    assert_eq!(message, "Secrets Manager can't find the specified secret.");
}

#[tokio::test]
async fn a_secret_without_a_value_has_no_current_version() {
    let h = Harness::new().await;
    let created: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "empty".into(),
                description: Some("nothing yet".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(created.version_id.is_none());
    assert_code(h.get("empty").await, "ResourceNotFoundException");
    h.put("empty", "now").await;
    assert_eq!(h.current("empty").await, "now");
}

#[tokio::test]
async fn update_secret_changes_metadata_and_adds_versions() {
    let h = Harness::new().await;
    h.create("u", "one").await;
    h.clock.advance(DAY);
    let metadata: UpdateSecretResponse = h
        .call(
            "UpdateSecret",
            UpdateSecretRequest {
                secret_id: "u".into(),
                description: Some("described".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(metadata.version_id.is_none());
    let described = h.describe("u").await.unwrap();
    assert_eq!(described.description.as_deref(), Some("described"));
    assert_eq!(described.last_changed_date.unwrap().0, h.now_seconds());
    assert_eq!(
        described.created_date.unwrap().0,
        h.now_seconds() - DAY_SECONDS
    );

    let valued: UpdateSecretResponse = h
        .call(
            "UpdateSecret",
            UpdateSecretRequest {
                secret_id: "u".into(),
                secret_string: Some(Sensitive::new("two".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(valued.version_id.is_some());
    assert_eq!(h.current("u").await, "two");
}

#[tokio::test]
async fn tags_are_added_replaced_and_removed() {
    let h = Harness::new().await;
    let _: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "t".into(),
                tags: Some(vec![Tag {
                    key: Some("team".into()),
                    value: Some("blue".into()),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.act(
        "TagResource",
        TagResourceRequest {
            secret_id: "t".into(),
            tags: vec![
                Tag {
                    key: Some("team".into()),
                    value: Some("red".into()),
                },
                Tag {
                    key: Some("env".into()),
                    value: Some("prod".into()),
                },
            ],
        },
    )
    .await
    .unwrap();
    let tags = h.describe("t").await.unwrap().tags.unwrap();
    let pairs: Vec<(String, String)> = tags
        .into_iter()
        .map(|tag| (tag.key.unwrap(), tag.value.unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [("team".into(), "red".into()), ("env".into(), "prod".into())]
    );
    h.act(
        "UntagResource",
        UntagResourceRequest {
            secret_id: "t".into(),
            tag_keys: vec!["team".into()],
        },
    )
    .await
    .unwrap();
    let tags = h.describe("t").await.unwrap().tags.unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].key.as_deref(), Some("env"));
}

#[tokio::test]
async fn get_random_password_answers_through_the_service() {
    let h = Harness::new().await;
    let response: GetRandomPasswordResponse = h
        .call(
            "GetRandomPassword",
            GetRandomPasswordRequest {
                password_length: Some(64),
                exclude_punctuation: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let password = response.random_password.unwrap();
    assert_eq!(password.expose().len(), 64);
    assert!(password.expose().chars().all(|c| c.is_ascii_alphanumeric()));
}
