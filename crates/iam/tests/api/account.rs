use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

#[tokio::test]
async fn password_policy() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    assert_error(
        iam.get_account_password_policy(ctx).await,
        "NoSuchEntity",
        "The Password Policy with domain name 000000000000 cannot be found.",
    );
    assert_error(
        iam.delete_account_password_policy(ctx).await,
        "NoSuchEntity",
        "The Password Policy with domain name 000000000000 cannot be found.",
    );
    iam.update_account_password_policy(
        ctx,
        UpdateAccountPasswordPolicyRequest {
            minimum_password_length: Some(12),
            require_symbols: Some(true),
            require_uppercase_characters: Some(true),
            max_password_age: Some(90),
            password_reuse_prevention: Some(5),
            allow_users_to_change_password: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let policy = iam
        .get_account_password_policy(ctx)
        .await
        .unwrap()
        .password_policy;
    assert_eq!(policy.minimum_password_length, Some(12));
    assert_eq!(policy.require_symbols, Some(true));
    assert_eq!(policy.require_numbers, Some(false));
    assert_eq!(policy.expire_passwords, Some(true));
    assert_eq!(policy.max_password_age, Some(90));
    assert_eq!(policy.password_reuse_prevention, Some(5));

    // Login profiles must follow it.
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "pat".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let profile = |password: &str| CreateLoginProfileRequest {
        user_name: Some("pat".into()),
        password: Some(palisade_core::Sensitive::new(password.to_owned())),
        password_reset_required: None,
    };
    assert_error(
        iam.create_login_profile(ctx, profile("Short!1")).await,
        "PasswordPolicyViolation",
        "Password should have a minimum length of 12",
    );
    assert_error(
        iam.create_login_profile(ctx, profile("longbutnoupper!"))
            .await,
        "PasswordPolicyViolation",
        "Password should have at least one uppercase letter",
    );
    iam.create_login_profile(ctx, profile("Long-Enough-Pass"))
        .await
        .unwrap();
    let login = iam
        .get_login_profile(
            ctx,
            GetLoginProfileRequest {
                user_name: Some("pat".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(login.login_profile.user_name, "pat");
    assert_error(
        iam.create_login_profile(ctx, profile("Long-Enough-Pass"))
            .await,
        "EntityAlreadyExists",
        "Login Profile for user pat already exists.",
    );
    // The user changes its own password, knowing the old one.
    let pat = user_context("pat");
    let change = |old: &str, new: &str| ChangePasswordRequest {
        old_password: palisade_core::Sensitive::new(old.to_owned()),
        new_password: palisade_core::Sensitive::new(new.to_owned()),
    };
    assert_eq!(
        code(
            &iam.change_password(&pat, change("wrong", "Another-Pass-1"))
                .await
                .unwrap_err()
        ),
        "AccessDenied"
    );
    iam.change_password(&pat, change("Long-Enough-Pass", "Another-Pass-1"))
        .await
        .unwrap();
    iam.change_password(&pat, change("Another-Pass-1", "Third-Pass-123"))
        .await
        .unwrap();

    iam.delete_account_password_policy(ctx).await.unwrap();
    assert!(iam.get_account_password_policy(ctx).await.is_err());
}

#[tokio::test]
async fn account_aliases() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_account_alias(
        ctx,
        CreateAccountAliasRequest {
            account_alias: "my-company".into(),
        },
    )
    .await
    .unwrap();
    let aliases = iam
        .list_account_aliases(ctx, ListAccountAliasesRequest::default())
        .await
        .unwrap();
    assert_eq!(aliases.account_aliases, ["my-company"]);

    let other = context(palisade_core::Principal::root(
        palisade_core::AccountId::parse("333333333333").unwrap(),
        "k",
    ));
    assert_error(
        iam.create_account_alias(
            &other,
            CreateAccountAliasRequest {
                account_alias: "my-company".into(),
            },
        )
        .await,
        "EntityAlreadyExists",
        "The account alias my-company already exists.",
    );
    // One alias per account: a new one replaces the old, which others may then take.
    iam.create_account_alias(
        ctx,
        CreateAccountAliasRequest {
            account_alias: "renamed".into(),
        },
    )
    .await
    .unwrap();
    iam.create_account_alias(
        &other,
        CreateAccountAliasRequest {
            account_alias: "my-company".into(),
        },
    )
    .await
    .unwrap();
    let aliases = iam
        .list_account_aliases(ctx, ListAccountAliasesRequest::default())
        .await
        .unwrap();
    assert_eq!(aliases.account_aliases, ["renamed"]);

    assert_error(
        iam.create_account_alias(
            ctx,
            CreateAccountAliasRequest {
                account_alias: "double--hyphen".into(),
            },
        )
        .await,
        "Validation",
        "1 validation error detected: Value 'double--hyphen' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
    );
    assert_error(
        iam.delete_account_alias(
            ctx,
            DeleteAccountAliasRequest {
                account_alias: "my-company".into(),
            },
        )
        .await,
        "NoSuchEntity",
        "The account alias my-company cannot be found.",
    );
    iam.delete_account_alias(
        ctx,
        DeleteAccountAliasRequest {
            account_alias: "renamed".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        iam.list_account_aliases(ctx, ListAccountAliasesRequest::default())
            .await
            .unwrap()
            .account_aliases
            .is_empty()
    );
}

#[tokio::test]
async fn account_summary_counts() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    for name in ["a", "b"] {
        iam.create_user(
            ctx,
            CreateUserRequest {
                user_name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    iam.create_group(
        ctx,
        CreateGroupRequest {
            group_name: "g".into(),
            path: None,
        },
    )
    .await
    .unwrap();
    iam.create_policy(
        ctx,
        CreatePolicyRequest {
            policy_name: "p".into(),
            policy_document: ALLOW_S3.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.create_virtual_mfa_device(
        ctx,
        CreateVirtualMFADeviceRequest {
            virtual_mfa_device_name: "d".into(),
            path: None,
            tags: None,
        },
    )
    .await
    .unwrap();
    let summary = iam
        .get_account_summary(ctx)
        .await
        .unwrap()
        .summary_map
        .unwrap();
    assert_eq!(summary["Users"], 2);
    assert_eq!(summary["Groups"], 1);
    assert_eq!(summary["Roles"], 0);
    assert_eq!(summary["Policies"], 1);
    assert_eq!(summary["PolicyVersionsInUse"], 1);
    assert_eq!(summary["MFADevices"], 1);
    assert_eq!(summary["MFADevicesInUse"], 0);
    assert_eq!(summary["AccessKeysPerUserQuota"], 2);
}

#[tokio::test]
async fn authorization_details() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "ursula".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.put_user_policy(
        ctx,
        PutUserPolicyRequest {
            user_name: "ursula".into(),
            policy_name: "own".into(),
            policy_document: ALLOW_S3.into(),
        },
    )
    .await
    .unwrap();
    iam.create_group(
        ctx,
        CreateGroupRequest {
            group_name: "team".into(),
            path: None,
        },
    )
    .await
    .unwrap();
    iam.add_user_to_group(
        ctx,
        AddUserToGroupRequest {
            group_name: "team".into(),
            user_name: "ursula".into(),
        },
    )
    .await
    .unwrap();
    iam.create_role(
        ctx,
        CreateRoleRequest {
            role_name: "svc".into(),
            assume_role_policy_document: TRUST_EC2.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.attach_role_policy(
        ctx,
        AttachRolePolicyRequest {
            role_name: "svc".into(),
            policy_arn: "arn:aws:iam::aws:policy/SecretsManagerReadWrite".into(),
        },
    )
    .await
    .unwrap();
    let local = iam
        .create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "local".into(),
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

    let all = iam
        .get_account_authorization_details(ctx, GetAccountAuthorizationDetailsRequest::default())
        .await
        .unwrap();
    let users = all.user_detail_list.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0].group_list.as_deref(),
        Some(&["team".to_owned()][..])
    );
    let inline = &users[0].user_policy_list.as_ref().unwrap()[0];
    assert_eq!(
        url_decode(inline.policy_document.as_deref().unwrap()),
        ALLOW_S3
    );
    assert_eq!(all.group_detail_list.unwrap().len(), 1);
    let roles = all.role_detail_list.unwrap();
    assert_eq!(
        url_decode(roles[0].assume_role_policy_document.as_deref().unwrap()),
        TRUST_EC2
    );
    assert_eq!(
        roles[0].attached_managed_policies.as_ref().unwrap()[0]
            .policy_name
            .as_deref(),
        Some("SecretsManagerReadWrite")
    );
    let policies = all.policies.unwrap();
    let arns: Vec<_> = policies.iter().map(|p| p.arn.clone().unwrap()).collect();
    assert_eq!(
        arns,
        [
            local.clone(),
            "arn:aws:iam::aws:policy/SecretsManagerReadWrite".to_owned()
        ],
        "AWS policies only where used"
    );
    assert_eq!(policies[1].attachment_count, Some(1));
    assert!(
        policies[0].policy_version_list.as_ref().unwrap()[0]
            .document
            .is_some()
    );

    let only_roles = iam
        .get_account_authorization_details(
            ctx,
            GetAccountAuthorizationDetailsRequest {
                filter: Some(vec![EntityType::Role]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(only_roles.user_detail_list.unwrap().is_empty());
    assert_eq!(only_roles.role_detail_list.unwrap().len(), 1);
    assert!(only_roles.policies.unwrap().is_empty());

    // Paged one item at a time: users, groups, roles, then policies, five in all.
    let mut marker = None;
    let mut kinds = Vec::new();
    loop {
        let page = iam
            .get_account_authorization_details(
                ctx,
                GetAccountAuthorizationDetailsRequest {
                    max_items: Some(1),
                    marker: marker.take(),
                    filter: None,
                },
            )
            .await
            .unwrap();
        for (kind, n) in [
            ("user", page.user_detail_list.unwrap().len()),
            ("group", page.group_detail_list.unwrap().len()),
            ("role", page.role_detail_list.unwrap().len()),
            ("policy", page.policies.unwrap().len()),
        ] {
            kinds.extend(std::iter::repeat_n(kind, n));
        }
        match page.marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    assert_eq!(kinds, ["user", "group", "role", "policy", "policy"]);
}
