use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

fn create(name: &str) -> CreateUserRequest {
    CreateUserRequest {
        user_name: name.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn user_lifecycle() {
    let h = Harness::new().await;
    let iam = h.iam();
    let created = iam
        .create_user(
            &h.root,
            CreateUserRequest {
                user_name: "alice".into(),
                path: Some("/division/".into()),
                tags: Some(vec![Tag {
                    key: "team".into(),
                    value: "blue".into(),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(created.arn, "arn:aws:iam::000000000000:user/division/alice");
    assert_eq!(created.path, "/division/");
    assert!(created.user_id.starts_with("AIDA") && created.user_id.len() == 21);
    assert_eq!(created.create_date.0, START as f64);
    assert_eq!(created.tags.as_ref().unwrap()[0].value, "blue");

    // Names are unique regardless of case.
    assert_error(
        iam.create_user(&h.root, create("ALICE")).await,
        "EntityAlreadyExists",
        "User with name ALICE already exists.",
    );

    let fetched = iam
        .get_user(
            &h.root,
            GetUserRequest {
                user_name: Some("Alice".into()),
            },
        )
        .await
        .unwrap()
        .user;
    assert_eq!(fetched.user_name, "alice");
    assert_eq!(fetched.user_id, created.user_id);

    // A user asking about itself need not name itself.
    let me = iam
        .get_user(&user_context("alice"), GetUserRequest::default())
        .await
        .unwrap()
        .user;
    assert_eq!(me.arn, created.arn);
    let root = iam
        .get_user(&h.root, GetUserRequest::default())
        .await
        .unwrap()
        .user;
    assert_eq!(root.arn, "arn:aws:iam::000000000000:root");
    assert_eq!(root.user_id, "000000000000");

    iam.update_user(
        &h.root,
        UpdateUserRequest {
            user_name: "alice".into(),
            new_user_name: Some("alicia".into()),
            new_path: Some("/ops/".into()),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.get_user(
            &h.root,
            GetUserRequest {
                user_name: Some("alice".into()),
            },
        )
        .await,
        "NoSuchEntity",
        "The user with name alice cannot be found.",
    );
    let renamed = iam
        .get_user(
            &h.root,
            GetUserRequest {
                user_name: Some("alicia".into()),
            },
        )
        .await
        .unwrap()
        .user;
    assert_eq!(renamed.arn, "arn:aws:iam::000000000000:user/ops/alicia");
    assert_eq!(renamed.user_id, created.user_id, "the id survives a rename");

    iam.create_user(&h.root, create("bob")).await.unwrap();
    assert_error(
        iam.update_user(
            &h.root,
            UpdateUserRequest {
                user_name: "bob".into(),
                new_user_name: Some("ALICIA".into()),
                new_path: None,
            },
        )
        .await,
        "EntityAlreadyExists",
        "User with name ALICIA already exists.",
    );

    let listed = iam
        .list_users(&h.root, ListUsersRequest::default())
        .await
        .unwrap();
    let names: Vec<_> = listed.users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["alicia", "bob"]);
    assert_eq!(listed.is_truncated, Some(false));
    assert!(listed.users[0].tags.is_none(), "ListUsers leaves tags out");
    let ops = iam
        .list_users(
            &h.root,
            ListUsersRequest {
                path_prefix: Some("/ops/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ops.users.len(), 1);

    iam.delete_user(
        &h.root,
        DeleteUserRequest {
            user_name: "alicia".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_user(
            &h.root,
            DeleteUserRequest {
                user_name: "alicia".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "The user with name alicia cannot be found.",
    );
}

#[tokio::test]
async fn paging_250_users_with_markers() {
    let h = Harness::new().await;
    let iam = h.iam();
    for i in 0..250 {
        iam.create_user(&h.root, create(&format!("user-{i:03}")))
            .await
            .unwrap();
    }
    let mut marker = None;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let page = iam
            .list_users(
                &h.root,
                ListUsersRequest {
                    marker: marker.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pages.push(page.users.len());
        seen.extend(page.users.into_iter().map(|u| u.user_name));
        if page.is_truncated != Some(true) {
            assert!(page.marker.is_none());
            break;
        }
        marker = Some(page.marker.unwrap());
    }
    assert_eq!(pages, [100, 100, 50], "MaxItems defaults to 100");
    let expected: Vec<String> = (0..250).map(|i| format!("user-{i:03}")).collect();
    assert_eq!(seen, expected);

    // Through the service, with the model's validation: MaxItems is 1 to 1000.
    let page = h
        .call(
            "ListUsers",
            ListUsersRequest {
                max_items: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.get("IsTruncated"),
        Some(&palisade_core::Value::Bool(false))
    );
    let error = h
        .call(
            "ListUsers",
            ListUsersRequest {
                max_items: Some(1001),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        error.message.contains("less than or equal to 1000"),
        "{}",
        error.message
    );
    assert_error(
        iam.list_users(
            &h.root,
            ListUsersRequest {
                marker: Some("not-a-marker".into()),
                ..Default::default()
            },
        )
        .await,
        "Validation",
        "Invalid Marker.",
    );
}

#[tokio::test]
async fn tags_follow_iam_rules() {
    let h = Harness::new().await;
    let iam = h.iam();
    iam.create_user(&h.root, create("carol")).await.unwrap();
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("key{i:02}"), "v")).collect();
    iam.tag_user(
        &h.root,
        TagUserRequest {
            user_name: "carol".into(),
            tags: fifty,
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.tag_user(
            &h.root,
            TagUserRequest {
                user_name: "carol".into(),
                tags: vec![tag("one-more", "v")],
            },
        )
        .await,
        "LimitExceeded",
        "The number of tags has reached the maximum limit of 50.",
    );
    // Replacing a key in another case is not a 51st tag.
    iam.tag_user(
        &h.root,
        TagUserRequest {
            user_name: "carol".into(),
            tags: vec![tag("KEY07", "new")],
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.tag_user(
            &h.root,
            TagUserRequest {
                user_name: "carol".into(),
                tags: vec![tag("dup", "1"), tag("DUP", "2")],
            },
        )
        .await,
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    );
    let first = iam
        .list_user_tags(
            &h.root,
            ListUserTagsRequest {
                user_name: "carol".into(),
                max_items: Some(30),
                marker: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.tags.len(), 30);
    let rest = iam
        .list_user_tags(
            &h.root,
            ListUserTagsRequest {
                user_name: "carol".into(),
                max_items: Some(30),
                marker: first.marker,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.tags.len(), 20);
    assert_eq!(rest.is_truncated, Some(false));
    let all: Vec<Tag> = first.tags.into_iter().chain(rest.tags).collect();
    assert!(all.contains(&tag("KEY07", "new")));
    assert!(!all.iter().any(|t| t.key == "key07"));

    iam.untag_user(
        &h.root,
        UntagUserRequest {
            user_name: "carol".into(),
            tag_keys: vec!["key07".into(), "absent".into()],
        },
    )
    .await
    .unwrap();
    let user = iam
        .get_user(
            &h.root,
            GetUserRequest {
                user_name: Some("carol".into()),
            },
        )
        .await
        .unwrap()
        .user;
    assert_eq!(user.tags.unwrap().len(), 49);

    // The model's limits apply before the handler: at most 50 in one request, 128-char keys.
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert!(
        h.call(
            "TagUser",
            TagUserRequest {
                user_name: "carol".into(),
                tags: too_many
            }
        )
        .await
        .is_err()
    );
    let long_key = tag(&"k".repeat(129), "v");
    assert!(
        h.call(
            "TagUser",
            TagUserRequest {
                user_name: "carol".into(),
                tags: vec![long_key]
            }
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_user_with_attachments_cannot_be_deleted() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(ctx, create("dave")).await.unwrap();
    let delete = || {
        iam.delete_user(
            ctx,
            DeleteUserRequest {
                user_name: "dave".into(),
            },
        )
    };
    let conflict = |what: &str| format!("Cannot delete entity, must {what} first.");

    iam.create_login_profile(
        ctx,
        CreateLoginProfileRequest {
            user_name: Some("dave".into()),
            password: Some(palisade_core::Sensitive::new(
                "correct horse battery".into(),
            )),
            password_reset_required: Some(true),
        },
    )
    .await
    .unwrap();
    assert_error(
        delete().await,
        "DeleteConflict",
        &conflict("delete login profile"),
    );
    iam.delete_login_profile(
        ctx,
        DeleteLoginProfileRequest {
            user_name: Some("dave".into()),
        },
    )
    .await
    .unwrap();

    let key = iam
        .create_access_key(
            ctx,
            CreateAccessKeyRequest {
                user_name: Some("dave".into()),
            },
        )
        .await
        .unwrap();
    assert_error(
        delete().await,
        "DeleteConflict",
        &conflict("delete access keys"),
    );
    iam.delete_access_key(
        ctx,
        DeleteAccessKeyRequest {
            user_name: Some("dave".into()),
            access_key_id: key.access_key.access_key_id,
        },
    )
    .await
    .unwrap();

    iam.put_user_policy(
        ctx,
        PutUserPolicyRequest {
            user_name: "dave".into(),
            policy_name: "s3".into(),
            policy_document: ALLOW_S3.into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        delete().await,
        "DeleteConflict",
        &conflict("delete policies"),
    );
    iam.delete_user_policy(
        ctx,
        DeleteUserPolicyRequest {
            user_name: "dave".into(),
            policy_name: "S3".into(),
        },
    )
    .await
    .unwrap();

    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    iam.attach_user_policy(
        ctx,
        AttachUserPolicyRequest {
            user_name: "dave".into(),
            policy_arn: admin.into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        delete().await,
        "DeleteConflict",
        &conflict("detach all policies"),
    );
    iam.detach_user_policy(
        ctx,
        DetachUserPolicyRequest {
            user_name: "dave".into(),
            policy_arn: admin.into(),
        },
    )
    .await
    .unwrap();

    iam.create_group(
        ctx,
        CreateGroupRequest {
            group_name: "devs".into(),
            path: None,
        },
    )
    .await
    .unwrap();
    iam.add_user_to_group(
        ctx,
        AddUserToGroupRequest {
            group_name: "devs".into(),
            user_name: "dave".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        delete().await,
        "DeleteConflict",
        &conflict("remove users from group"),
    );
    iam.remove_user_from_group(
        ctx,
        RemoveUserFromGroupRequest {
            group_name: "devs".into(),
            user_name: "dave".into(),
        },
    )
    .await
    .unwrap();

    // A permissions boundary does not stop the deletion; the policy's use is released.
    iam.put_user_permissions_boundary(
        ctx,
        PutUserPermissionsBoundaryRequest {
            user_name: "dave".into(),
            permissions_boundary: admin.into(),
        },
    )
    .await
    .unwrap();
    delete().await.unwrap();
    let policy = iam
        .get_policy(
            ctx,
            GetPolicyRequest {
                policy_arn: admin.into(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy.permissions_boundary_usage_count, Some(0));
}

#[tokio::test]
async fn inline_policies_are_checked_and_url_encoded() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(ctx, create("erin")).await.unwrap();
    let put = |name: &str, document: &str| {
        iam.put_user_policy(
            ctx,
            PutUserPolicyRequest {
                user_name: "erin".into(),
                policy_name: name.into(),
                policy_document: document.into(),
            },
        )
    };
    put("read", ALLOW_S3).await.unwrap();
    let got = iam
        .get_user_policy(
            ctx,
            GetUserPolicyRequest {
                user_name: "erin".into(),
                policy_name: "read".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        got.policy_document
            .starts_with("%7B%22Version%22%3A%20%222012-10-17%22")
    );
    assert_eq!(
        url_decode(&got.policy_document),
        ALLOW_S3,
        "the document comes back as given"
    );

    assert_error(
        put("bad", "{\"Version\": ").await,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    );
    assert_error(
        put("bad", TRUST_EC2).await,
        "MalformedPolicyDocument",
        "Policy document should not specify a principal.",
    );
    assert_error(
        put(
            "bad",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}"#,
        )
        .await,
        "MalformedPolicyDocument",
        "Policy statement must contain resources.",
    );

    // 2,048 non-blank characters across all of a user's inline policies.
    let padded = |n: usize| {
        format!(
            r#"{{"Statement":{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}}}"#,
            "b".repeat(n)
        )
    };
    put("big", &padded(1200)).await.unwrap();
    assert_error(
        put("bigger", &padded(900)).await,
        "LimitExceeded",
        "Maximum policy size of 2048 bytes exceeded for user erin",
    );
    // White space does not count.
    put("spaced", &format!("{}{}", " ".repeat(5000), padded(10)))
        .await
        .unwrap();

    let names = iam
        .list_user_policies(
            ctx,
            ListUserPoliciesRequest {
                user_name: "erin".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names.policy_names, ["big", "read", "spaced"]);
    assert_error(
        iam.get_user_policy(
            ctx,
            GetUserPolicyRequest {
                user_name: "erin".into(),
                policy_name: "nope".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "The user policy with name nope cannot be found.",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_do_not_lose_updates() {
    let h = std::sync::Arc::new(Harness::new().await);
    let ctx = h.root.clone();
    h.iam()
        .create_group(
            &ctx,
            CreateGroupRequest {
                group_name: "all".into(),
                path: None,
            },
        )
        .await
        .unwrap();
    for i in 0..10 {
        h.iam()
            .create_user(&ctx, create(&format!("u{i}")))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (h, ctx) = (h.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            h.iam()
                .add_user_to_group(
                    &ctx,
                    AddUserToGroupRequest {
                        group_name: "all".into(),
                        user_name: format!("u{i}"),
                    },
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let group = h
        .iam()
        .get_group(
            &ctx,
            GetGroupRequest {
                group_name: "all".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(group.users.len(), 10, "every membership is kept");

    // Two keys at most, however many requests race for them.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (h, ctx) = (h.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            h.iam()
                .create_access_key(
                    &ctx,
                    CreateAccessKeyRequest {
                        user_name: Some("u0".into()),
                    },
                )
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            created += 1;
        }
    }
    assert_eq!(created, 2);
    let keys = h
        .iam()
        .list_access_keys(
            &ctx,
            ListAccessKeysRequest {
                user_name: Some("u0".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(keys.access_key_metadata.len(), 2);
}
