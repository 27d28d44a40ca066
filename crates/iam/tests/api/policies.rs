use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

const DENY_KMS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#;

#[tokio::test]
async fn managed_policy_versions() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    let policy = iam
        .create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "reader".into(),
                path: Some("/app/".into()),
                policy_document: ALLOW_S3.into(),
                description: Some("reads".into()),
                tags: None,
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    let arn = policy.arn.clone().unwrap();
    assert_eq!(arn, "arn:aws:iam::000000000000:policy/app/reader");
    assert!(policy.policy_id.unwrap().starts_with("ANPA"));
    assert_eq!(policy.default_version_id.as_deref(), Some("v1"));
    assert_eq!(policy.attachment_count, Some(0));
    assert_eq!(policy.is_attachable, Some(true));
    assert_error(
        iam.create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "READER".into(),
                policy_document: ALLOW_S3.into(),
                ..Default::default()
            },
        )
        .await,
        "EntityAlreadyExists",
        "A policy called READER already exists. Duplicate names are not allowed.",
    );

    let new_version = |set_as_default| CreatePolicyVersionRequest {
        policy_arn: arn.clone(),
        policy_document: DENY_KMS.into(),
        set_as_default: Some(set_as_default),
    };
    for n in 2..=5 {
        let version = iam
            .create_policy_version(ctx, new_version(n == 3))
            .await
            .unwrap()
            .policy_version
            .unwrap();
        assert_eq!(version.version_id, Some(format!("v{n}")));
        assert_eq!(version.is_default_version, Some(n == 3));
    }
    assert_error(
        iam.create_policy_version(ctx, new_version(false)).await,
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    );
    let fetched = iam
        .get_policy(
            ctx,
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(fetched.default_version_id.as_deref(), Some("v3"));
    assert_eq!(fetched.description.as_deref(), Some("reads"));

    assert_error(
        iam.delete_policy_version(
            ctx,
            DeletePolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v3".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete the default version of a policy.",
    );
    iam.delete_policy_version(
        ctx,
        DeletePolicyVersionRequest {
            policy_arn: arn.clone(),
            version_id: "v2".into(),
        },
    )
    .await
    .unwrap();
    // Version ids are never reused.
    let next = iam
        .create_policy_version(ctx, new_version(false))
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(next.version_id.as_deref(), Some("v6"));

    let versions = iam
        .list_policy_versions(
            ctx,
            ListPolicyVersionsRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .versions
        .unwrap();
    let ids: Vec<_> = versions
        .iter()
        .map(|v| v.version_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["v6", "v5", "v4", "v3", "v1"]);
    assert!(versions.iter().all(|v| v.document.is_none()));

    let v1 = iam
        .get_policy_version(
            ctx,
            GetPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v1".into(),
            },
        )
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(url_decode(v1.document.as_deref().unwrap()), ALLOW_S3);
    assert_eq!(v1.is_default_version, Some(false));

    iam.set_default_policy_version(
        ctx,
        SetDefaultPolicyVersionRequest {
            policy_arn: arn.clone(),
            version_id: "v1".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.set_default_policy_version(
            ctx,
            SetDefaultPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v2".into(),
            },
        )
        .await,
        "NoSuchEntity",
        &format!("Policy {arn} version v2 does not exist or is not attachable."),
    );

    assert_error(
        iam.delete_policy(
            ctx,
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await,
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    );
    for v in ["v3", "v4", "v5", "v6"] {
        iam.delete_policy_version(
            ctx,
            DeletePolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: v.into(),
            },
        )
        .await
        .unwrap();
    }
    iam.delete_policy(
        ctx,
        DeletePolicyRequest {
            policy_arn: arn.clone(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.get_policy(
            ctx,
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await,
        "NoSuchEntity",
        &format!("Policy {arn} was not found."),
    );
}

#[tokio::test]
async fn attachments_are_counted_and_listed() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    let arn = iam
        .create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "shared".into(),
                policy_document: ALLOW_S3.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "u".into(),
            path: Some("/a/".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.create_group(
        ctx,
        CreateGroupRequest {
            group_name: "g".into(),
            path: None,
        },
    )
    .await
    .unwrap();
    iam.create_role(
        ctx,
        CreateRoleRequest {
            role_name: "r".into(),
            assume_role_policy_document: TRUST_EC2.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.attach_user_policy(
        ctx,
        AttachUserPolicyRequest {
            user_name: "u".into(),
            policy_arn: arn.clone(),
        },
    )
    .await
    .unwrap();
    iam.attach_group_policy(
        ctx,
        AttachGroupPolicyRequest {
            group_name: "g".into(),
            policy_arn: arn.clone(),
        },
    )
    .await
    .unwrap();
    iam.attach_role_policy(
        ctx,
        AttachRolePolicyRequest {
            role_name: "r".into(),
            policy_arn: arn.clone(),
        },
    )
    .await
    .unwrap();
    // Attaching twice is not a second attachment.
    iam.attach_role_policy(
        ctx,
        AttachRolePolicyRequest {
            role_name: "r".into(),
            policy_arn: arn.clone(),
        },
    )
    .await
    .unwrap();
    iam.put_role_permissions_boundary(
        ctx,
        PutRolePermissionsBoundaryRequest {
            role_name: "r".into(),
            permissions_boundary: arn.clone(),
        },
    )
    .await
    .unwrap();

    let policy = iam
        .get_policy(
            ctx,
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy.attachment_count, Some(3));
    assert_eq!(policy.permissions_boundary_usage_count, Some(1));

    let entities = iam
        .list_entities_for_policy(
            ctx,
            ListEntitiesForPolicyRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        entities.policy_users.unwrap()[0].user_name.as_deref(),
        Some("u")
    );
    assert_eq!(
        entities.policy_groups.unwrap()[0].group_name.as_deref(),
        Some("g")
    );
    assert_eq!(
        entities.policy_roles.unwrap()[0].role_name.as_deref(),
        Some("r")
    );
    let users_under_a = iam
        .list_entities_for_policy(
            ctx,
            ListEntitiesForPolicyRequest {
                policy_arn: arn.clone(),
                entity_filter: Some(EntityType::User),
                path_prefix: Some("/a/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(users_under_a.policy_users.unwrap().len(), 1);
    assert!(users_under_a.policy_roles.unwrap().is_empty());
    let boundaries = iam
        .list_entities_for_policy(
            ctx,
            ListEntitiesForPolicyRequest {
                policy_arn: arn.clone(),
                policy_usage_filter: Some(PolicyUsageType::PermissionsBoundary),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(boundaries.policy_roles.unwrap().len(), 1);
    assert!(boundaries.policy_users.unwrap().is_empty());

    let attached = iam
        .list_attached_role_policies(
            ctx,
            ListAttachedRolePoliciesRequest {
                role_name: "r".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let attached = attached.attached_policies.unwrap();
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].policy_name.as_deref(), Some("shared"));

    assert_error(
        iam.delete_policy(
            ctx,
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
    );

    // Renaming the user moves its entry.
    iam.update_user(
        ctx,
        UpdateUserRequest {
            user_name: "u".into(),
            new_user_name: Some("u2".into()),
            new_path: None,
        },
    )
    .await
    .unwrap();
    let entities = iam
        .list_entities_for_policy(
            ctx,
            ListEntitiesForPolicyRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        entities.policy_users.unwrap()[0].user_name.as_deref(),
        Some("u2")
    );

    assert_error(
        iam.detach_user_policy(
            ctx,
            DetachUserPolicyRequest {
                user_name: "u2".into(),
                policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found.",
    );
    assert_error(
        iam.attach_user_policy(
            ctx,
            AttachUserPolicyRequest {
                user_name: "u2".into(),
                policy_arn: "arn:aws:iam::aws:policy/NoSuchPolicy".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.",
    );
    assert_error(
        iam.attach_user_policy(
            ctx,
            AttachUserPolicyRequest {
                user_name: "u2".into(),
                policy_arn: "not-an-arn".into(),
            },
        )
        .await,
        "InvalidInput",
        "ARN not-an-arn is not valid.",
    );
    assert_error(
        iam.put_user_permissions_boundary(
            ctx,
            PutUserPermissionsBoundaryRequest {
                user_name: "u2".into(),
                permissions_boundary: "arn:aws:iam::000000000000:policy/none".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "Scope ARN: arn:aws:iam::000000000000:policy/none does not exist or is not attachable.",
    );

    for (user, role, group) in [("u2", "r", "g")] {
        iam.detach_user_policy(
            ctx,
            DetachUserPolicyRequest {
                user_name: user.into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
        iam.detach_role_policy(
            ctx,
            DetachRolePolicyRequest {
                role_name: role.into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
        iam.detach_group_policy(
            ctx,
            DetachGroupPolicyRequest {
                group_name: group.into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
        iam.delete_role_permissions_boundary(
            ctx,
            DeleteRolePermissionsBoundaryRequest {
                role_name: role.into(),
            },
        )
        .await
        .unwrap();
    }
    iam.delete_policy(ctx, DeletePolicyRequest { policy_arn: arn })
        .await
        .unwrap();
}

#[tokio::test]
async fn at_most_ten_policies_attach_to_one_entity() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "many".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for i in 0..11 {
        let arn = iam
            .create_policy(
                ctx,
                CreatePolicyRequest {
                    policy_name: format!("p{i}"),
                    policy_document: ALLOW_S3.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .policy
            .unwrap()
            .arn
            .unwrap();
        let attached = iam
            .attach_user_policy(
                ctx,
                AttachUserPolicyRequest {
                    user_name: "many".into(),
                    policy_arn: arn,
                },
            )
            .await;
        if i < 10 {
            attached.unwrap();
        } else {
            assert_error(
                attached,
                "LimitExceeded",
                "Cannot exceed quota for PoliciesPerUser: 10",
            );
        }
    }
}

#[tokio::test]
async fn aws_managed_policies_are_readable_everywhere() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    let aws = iam
        .list_policies(
            ctx,
            ListPoliciesRequest {
                scope: Some(PolicyScopeType::Aws),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policies
        .unwrap();
    let names: Vec<_> = aws.iter().map(|p| p.policy_name.clone().unwrap()).collect();
    for expected in [
        "AdministratorAccess",
        "PowerUserAccess",
        "ReadOnlyAccess",
        "SecurityAudit",
        "AWSKeyManagementServicePowerUser",
        "SecretsManagerReadWrite",
        "AmazonSSMReadOnlyAccess",
        "AmazonSSMFullAccess",
        "AWSCloudTrail_FullAccess",
        "AWSCloudTrail_ReadOnlyAccess",
        "AmazonEventBridgeFullAccess",
        "AmazonEventBridgeReadOnlyAccess",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);

    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
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
    assert_eq!(policy.path.as_deref(), Some("/"));
    assert_eq!(
        policy.description.as_deref(),
        Some("Provides full access to AWS services and resources.")
    );
    let version = iam
        .get_policy_version(
            ctx,
            GetPolicyVersionRequest {
                policy_arn: admin.into(),
                version_id: "v1".into(),
            },
        )
        .await
        .unwrap()
        .policy_version
        .unwrap();
    let document: serde_json::Value =
        serde_json::from_str(&url_decode(&version.document.unwrap())).unwrap();
    assert_eq!(document["Statement"][0]["Action"], "*");
    assert_error(
        iam.delete_policy(
            ctx,
            DeletePolicyRequest {
                policy_arn: admin.into(),
            },
        )
        .await,
        "AccessDenied",
        "Policy arn:aws:iam::aws:policy/AdministratorAccess is an AWS managed policy and cannot be modified.",
    );

    // Paging through every policy, a few at a time, sees each once.
    iam.create_policy(
        ctx,
        CreatePolicyRequest {
            policy_name: "Mine".into(),
            policy_document: ALLOW_S3.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut marker = None;
    let mut all = Vec::new();
    loop {
        let page = iam
            .list_policies(
                ctx,
                ListPoliciesRequest {
                    max_items: Some(4),
                    marker: marker.take(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        all.extend(page.policies.unwrap().into_iter().map(|p| p.arn.unwrap()));
        match page.marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    assert_eq!(all.len(), aws.len() + 1);
    let local = iam
        .list_policies(
            ctx,
            ListPoliciesRequest {
                scope: Some(PolicyScopeType::Local),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policies
        .unwrap();
    assert_eq!(local.len(), 1);

    // OnlyAttached lists what the account uses, with per-account counts.
    let none = iam
        .list_policies(
            ctx,
            ListPoliciesRequest {
                only_attached: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policies
        .unwrap();
    assert!(none.is_empty());
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "reader".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.attach_user_policy(
        ctx,
        AttachUserPolicyRequest {
            user_name: "reader".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
    )
    .await
    .unwrap();
    let attached = iam
        .list_policies(
            ctx,
            ListPoliciesRequest {
                only_attached: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policies
        .unwrap();
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].attachment_count, Some(1));
    let other_account = context(palisade_core::Principal::root(
        palisade_core::AccountId::parse("222222222222").unwrap(),
        "k",
    ));
    let elsewhere = iam
        .get_policy(
            &other_account,
            GetPolicyRequest {
                policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(
        elsewhere.attachment_count,
        Some(0),
        "attachments are counted per account"
    );
}

#[tokio::test]
async fn malformed_and_oversized_managed_policies() {
    let h = Harness::new().await;
    let iam = h.iam();
    let create = |document: String| {
        iam.create_policy(
            &h.root,
            CreatePolicyRequest {
                policy_name: "p".into(),
                policy_document: document,
                ..Default::default()
            },
        )
    };
    assert_error(
        create("not json".into()).await,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    );
    assert_error(
        create(r#"{"Statement":[{"Effect":"Allow","Action":"iam","Resource":"*"}]}"#.into()).await,
        "MalformedPolicyDocument",
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    );
    assert_error(
        create(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#.into()).await,
        "MalformedPolicyDocument",
        "Policy document should not specify a principal.",
    );
    let resources: Vec<String> = (0..300)
        .map(|i| format!("\"arn:aws:s3:::bucket-{i}\""))
        .collect();
    let big = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":[{}]}}]}}"#,
        resources.join(",")
    );
    assert_error(
        create(big).await,
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
    );
}
