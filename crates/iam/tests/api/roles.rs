use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

fn create_role(name: &str) -> CreateRoleRequest {
    CreateRoleRequest {
        role_name: name.into(),
        assume_role_policy_document: TRUST_EC2.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn role_lifecycle() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    let role = iam
        .create_role(
            ctx,
            CreateRoleRequest {
                description: Some("for EC2".into()),
                path: Some("/service/".into()),
                tags: Some(vec![Tag {
                    key: "env".into(),
                    value: "prod".into(),
                }]),
                ..create_role("web")
            },
        )
        .await
        .unwrap()
        .role;
    assert_eq!(role.arn, "arn:aws:iam::000000000000:role/service/web");
    assert!(role.role_id.starts_with("AROA"));
    assert_eq!(role.max_session_duration, Some(3600));
    assert_eq!(
        url_decode(role.assume_role_policy_document.as_deref().unwrap()),
        TRUST_EC2
    );
    assert_error(
        iam.create_role(ctx, create_role("WEB")).await,
        "EntityAlreadyExists",
        "Role with name WEB already exists.",
    );

    let fetched = iam
        .get_role(
            ctx,
            GetRoleRequest {
                role_name: "web".into(),
            },
        )
        .await
        .unwrap()
        .role;
    assert_eq!(fetched.description.as_deref(), Some("for EC2"));
    assert_eq!(fetched.tags.unwrap()[0].key, "env");
    assert!(
        fetched.role_last_used.is_some(),
        "GetRole always reports RoleLastUsed"
    );

    iam.update_role(
        ctx,
        UpdateRoleRequest {
            role_name: "web".into(),
            description: Some("web tier".into()),
            max_session_duration: Some(43200),
        },
    )
    .await
    .unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.update_assume_role_policy(
        ctx,
        UpdateAssumeRolePolicyRequest {
            role_name: "web".into(),
            policy_document: trust.into(),
        },
    )
    .await
    .unwrap();
    let info = iam.role(&account(), "WEB").await.unwrap().unwrap();
    assert_eq!(info.trust_policy, trust);
    assert_eq!(info.max_session_duration, 43200);
    assert_eq!(info.tags, [("env".to_owned(), "prod".to_owned())]);
    assert_eq!(info.arn, role.arn);

    // Role sessions can be noted for RoleLastUsed.
    iam.note_role_used(&account(), "web", "eu-central-1").await;
    let used = iam
        .get_role(
            ctx,
            GetRoleRequest {
                role_name: "web".into(),
            },
        )
        .await
        .unwrap()
        .role
        .role_last_used
        .unwrap();
    assert_eq!(used.region.as_deref(), Some("eu-central-1"));

    // Trust policies need principals and no resources; identity documents are refused.
    assert_error(
        iam.update_assume_role_policy(
            ctx,
            UpdateAssumeRolePolicyRequest {
                role_name: "web".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .await,
        "MalformedPolicyDocument",
        "Has prohibited field Resource",
    );
    assert_error(
        iam.create_role(
            ctx,
            CreateRoleRequest {
                assume_role_policy_document:
                    r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#.into(),
                ..create_role("other")
            },
        )
        .await,
        "MalformedPolicyDocument",
        "Missing required field Principal",
    );
    assert!(iam.role(&account(), "other").await.unwrap().is_none());

    // MaxSessionDuration is 3,600 to 43,200 seconds, checked against the model.
    let error = h
        .call(
            "CreateRole",
            CreateRoleRequest {
                max_session_duration: Some(100),
                ..create_role("short")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "Validation");
    assert!(
        error.message.contains("greater than or equal to 3600"),
        "{}",
        error.message
    );
    // A missing trust policy is refused before the handler.
    let error = h
        .call(
            "CreateRole",
            CreateRoleRequest {
                role_name: "x".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        error.message.contains("assumeRolePolicyDocument"),
        "{}",
        error.message
    );

    iam.put_role_policy(
        ctx,
        PutRolePolicyRequest {
            role_name: "web".into(),
            policy_name: "s3".into(),
            policy_document: ALLOW_S3.into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_role(
            ctx,
            DeleteRoleRequest {
                role_name: "web".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    );
    iam.delete_role_policy(
        ctx,
        DeleteRolePolicyRequest {
            role_name: "web".into(),
            policy_name: "s3".into(),
        },
    )
    .await
    .unwrap();
    iam.attach_role_policy(
        ctx,
        AttachRolePolicyRequest {
            role_name: "web".into(),
            policy_arn: "arn:aws:iam::aws:policy/SecurityAudit".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_role(
            ctx,
            DeleteRoleRequest {
                role_name: "web".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    );
    iam.detach_role_policy(
        ctx,
        DetachRolePolicyRequest {
            role_name: "web".into(),
            policy_arn: "arn:aws:iam::aws:policy/SecurityAudit".into(),
        },
    )
    .await
    .unwrap();

    let listed = iam
        .list_roles(ctx, ListRolesRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.roles.len(), 1);
    assert!(listed.roles[0].tags.is_none() && listed.roles[0].role_last_used.is_none());

    iam.untag_role(
        ctx,
        UntagRoleRequest {
            role_name: "web".into(),
            tag_keys: vec!["ENV".into()],
        },
    )
    .await
    .unwrap();
    let tags = iam
        .list_role_tags(
            ctx,
            ListRoleTagsRequest {
                role_name: "web".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(tags.tags.is_empty());

    iam.delete_role(
        ctx,
        DeleteRoleRequest {
            role_name: "web".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.get_role(
            ctx,
            GetRoleRequest {
                role_name: "web".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "The role with name web cannot be found.",
    );
    assert!(iam.role(&account(), "web").await.unwrap().is_none());
}

#[tokio::test]
async fn principal_policies_gather_everything_that_applies() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "kim".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.put_user_policy(
        ctx,
        PutUserPolicyRequest {
            user_name: "kim".into(),
            policy_name: "own".into(),
            policy_document: ALLOW_S3.into(),
        },
    )
    .await
    .unwrap();
    iam.attach_user_policy(
        ctx,
        AttachUserPolicyRequest {
            user_name: "kim".into(),
            policy_arn: "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess".into(),
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
    iam.add_user_to_group(
        ctx,
        AddUserToGroupRequest {
            group_name: "g".into(),
            user_name: "kim".into(),
        },
    )
    .await
    .unwrap();
    let deny = r#"{"Statement":{"Effect":"Deny","Action":"kms:*","Resource":"*"}}"#;
    iam.put_group_policy(
        ctx,
        PutGroupPolicyRequest {
            group_name: "g".into(),
            policy_name: "no-kms".into(),
            policy_document: deny.into(),
        },
    )
    .await
    .unwrap();
    let boundary = iam
        .create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "boundary".into(),
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
    iam.put_user_permissions_boundary(
        ctx,
        PutUserPermissionsBoundaryRequest {
            user_name: "kim".into(),
            permissions_boundary: boundary.clone(),
        },
    )
    .await
    .unwrap();

    let kim = palisade_core::PrincipalKind::User { name: "kim".into() };
    let policies = iam
        .principal_policies(&account(), &kim)
        .await
        .unwrap()
        .unwrap();
    let documents: Vec<&str> = policies
        .identity
        .iter()
        .map(|p| p.document.as_str())
        .collect();
    assert_eq!(documents.len(), 3);
    assert!(documents.contains(&ALLOW_S3));
    assert!(documents.contains(&deny));
    assert!(documents.iter().any(|d| d.contains("ssm:Describe*")));
    let boundary_text = policies.boundary.unwrap();
    assert_eq!(boundary_text.document, ALLOW_S3);
    assert_eq!(
        boundary_text.source,
        palisade_iam::PolicySource::Managed {
            arn: boundary,
            version_id: "v1".into()
        }
    );

    let gone = palisade_core::PrincipalKind::User {
        name: "nobody".into(),
    };
    assert!(
        iam.principal_policies(&account(), &gone)
            .await
            .unwrap()
            .is_none()
    );

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
    iam.attach_role_policy(
        ctx,
        AttachRolePolicyRequest {
            role_name: "r".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        },
    )
    .await
    .unwrap();
    let session = palisade_core::PrincipalKind::AssumedRole {
        role_name: "r".into(),
        session_name: "s".into(),
    };
    let policies = iam
        .principal_policies(&account(), &session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(policies.identity.len(), 1);
    assert!(policies.boundary.is_none());
}
