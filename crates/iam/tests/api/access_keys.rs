use std::time::Duration;

use palisade_iam::AccessKeyStatus;
use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

#[tokio::test]
async fn access_keys_are_shown_once_and_sealed_at_rest() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "frank".into(),
            tags: Some(vec![Tag {
                key: "team".into(),
                value: "red".into(),
            }]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let created = iam
        .create_access_key(
            ctx,
            CreateAccessKeyRequest {
                user_name: Some("frank".into()),
            },
        )
        .await
        .unwrap()
        .access_key;
    let secret = created.secret_access_key.expose().clone();
    assert_eq!(secret.len(), 40);
    assert!(created.access_key_id.starts_with("AKIA") && created.access_key_id.len() == 20);
    assert_eq!(created.status, StatusType::Active);
    assert_eq!(created.user_name, "frank");

    // The authenticator's lookup: one read gives the secret and the owner.
    let record = iam
        .access_key(&created.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.secret_access_key.expose(), &secret);
    assert_eq!(record.status, AccessKeyStatus::Active);
    assert_eq!(record.account, account());
    assert_eq!(record.user_name, "frank");
    assert_eq!(record.user_arn, "arn:aws:iam::000000000000:user/frank");
    assert!(record.user_id.starts_with("AIDA"));
    assert_eq!(record.user_tags, [("team".to_owned(), "red".to_owned())]);
    assert!(
        !format!("{record:?}").contains(&secret),
        "Debug redacts the secret"
    );
    assert!(
        iam.access_key("AKIANOSUCHKEY0000000")
            .await
            .unwrap()
            .is_none()
    );

    // The secret is never in the database files in the clear.
    let mut found = false;
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        found |= bytes
            .windows(created.access_key_id.len())
            .any(|w| w == created.access_key_id.as_bytes());
    }
    assert!(
        found,
        "the key id is in the database (as a key), so the search above looked in the right place"
    );

    // Listing shows metadata only; there is no way to read the secret again.
    let listed = iam
        .list_access_keys(
            ctx,
            ListAccessKeysRequest {
                user_name: Some("frank".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.access_key_metadata.len(), 1);
    assert_eq!(
        listed.access_key_metadata[0].access_key_id.as_deref(),
        Some(created.access_key_id.as_str())
    );
    let listed = h
        .call(
            "ListAccessKeys",
            ListAccessKeysRequest {
                user_name: Some("frank".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let metadata = listed.get("AccessKeyMetadata").unwrap();
    assert!(!format!("{:?}", metadata).contains("SecretAccessKey"));

    // At most two keys.
    iam.create_access_key(
        ctx,
        CreateAccessKeyRequest {
            user_name: Some("frank".into()),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.create_access_key(
            ctx,
            CreateAccessKeyRequest {
                user_name: Some("frank".into()),
            },
        )
        .await,
        "LimitExceeded",
        "Cannot exceed quota for AccessKeysPerUser: 2",
    );

    iam.update_access_key(
        ctx,
        UpdateAccessKeyRequest {
            user_name: Some("frank".into()),
            access_key_id: created.access_key_id.clone(),
            status: StatusType::Inactive,
        },
    )
    .await
    .unwrap();
    let record = iam
        .access_key(&created.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, AccessKeyStatus::Inactive);

    // The key follows its user's renames and tags.
    iam.update_user(
        ctx,
        UpdateUserRequest {
            user_name: "frank".into(),
            new_user_name: Some("francis".into()),
            new_path: Some("/x/".into()),
        },
    )
    .await
    .unwrap();
    iam.tag_user(
        ctx,
        TagUserRequest {
            user_name: "francis".into(),
            tags: vec![Tag {
                key: "level".into(),
                value: "2".into(),
            }],
        },
    )
    .await
    .unwrap();
    let record = iam
        .access_key(&created.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.user_name, "francis");
    assert_eq!(record.user_arn, "arn:aws:iam::000000000000:user/x/francis");
    assert_eq!(record.user_tags.len(), 2);

    // A key belongs to its user: another user cannot name it.
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "grace".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_access_key(
            ctx,
            DeleteAccessKeyRequest {
                user_name: Some("grace".into()),
                access_key_id: created.access_key_id.clone(),
            },
        )
        .await,
        "NoSuchEntity",
        &format!(
            "The Access Key with id {} cannot be found.",
            created.access_key_id
        ),
    );
    iam.delete_access_key(
        ctx,
        DeleteAccessKeyRequest {
            user_name: Some("francis".into()),
            access_key_id: created.access_key_id.clone(),
        },
    )
    .await
    .unwrap();
    assert!(
        iam.access_key(&created.access_key_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn last_use_is_recorded() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "hank".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = iam
        .create_access_key(
            ctx,
            CreateAccessKeyRequest {
                user_name: Some("hank".into()),
            },
        )
        .await
        .unwrap()
        .access_key
        .access_key_id;
    let never = last_used(&h, &id).await;
    assert_eq!(never.user_name.as_deref(), Some("hank"));
    let never = never.access_key_last_used.unwrap();
    assert_eq!(
        (never.service_name.as_str(), never.region.as_str()),
        ("N/A", "N/A")
    );
    assert!(never.last_used_date.is_none());

    h.clock.advance(Duration::from_secs(100));
    iam.note_key_used(&id, "s3", "eu-west-1").await;
    let used = last_used(&h, &id).await.access_key_last_used.unwrap();
    assert_eq!(used.service_name, "s3");
    assert_eq!(used.region, "eu-west-1");
    assert_eq!(used.last_used_date.unwrap().0, (START + 100) as f64);

    // Uses within the minute are noted in memory, and still reported.
    h.clock.advance(Duration::from_secs(10));
    iam.note_key_used(&id, "s3", "eu-west-1").await;
    let used = last_used(&h, &id).await.access_key_last_used.unwrap();
    assert_eq!(used.last_used_date.unwrap().0, (START + 110) as f64);

    // Another account cannot ask.
    let other = context(palisade_core::Principal::root(
        palisade_core::AccountId::parse("111111111111").unwrap(),
        "k",
    ));
    assert!(
        iam.get_access_key_last_used(&other, GetAccessKeyLastUsedRequest { access_key_id: id })
            .await
            .is_err()
    );
}

#[tokio::test]
async fn users_manage_their_own_keys() {
    let h = Harness::new().await;
    let iam = h.iam();
    iam.create_user(
        &h.root,
        CreateUserRequest {
            user_name: "ivy".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ivy = user_context("ivy");
    let key = iam
        .create_access_key(&ivy, CreateAccessKeyRequest::default())
        .await
        .unwrap()
        .access_key;
    assert_eq!(key.user_name, "ivy");
    let listed = iam
        .list_access_keys(&ivy, ListAccessKeysRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.access_key_metadata.len(), 1);
    // The root user's keys are the server's configuration, not IAM's.
    let root_keys = iam
        .list_access_keys(&h.root, ListAccessKeysRequest::default())
        .await
        .unwrap();
    assert!(root_keys.access_key_metadata.is_empty());
    assert!(
        iam.create_access_key(&h.root, CreateAccessKeyRequest::default())
            .await
            .is_err()
    );
}
