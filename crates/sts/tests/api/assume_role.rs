//! `AssumeRole`: trust policies, conditions, durations, tags, source identity and session
//! policies.

use std::time::Duration;

use palisade_core::clock::Clock as _;

use palisade_core::{AccountId, Principal};
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{
    CreatePolicyRequest, CreateRoleRequest, PutRolePolicyRequest, Tag as IamTag, TagRoleRequest,
};
use palisade_model_sts::Sts as _;
use palisade_model_sts::types::{
    AssumeRoleRequest, GetCallerIdentityRequest, PolicyDescriptorType, Tag,
};

use crate::common::*;

const ALLOW_ASSUME_ANY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}"#;
const ALLOW_S3: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

#[tokio::test]
async fn a_trusted_user_gets_a_role_session() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "deploy",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;

    let response = h
        .assume(
            &alice,
            "deploy",
            AssumeRoleRequest {
                role_session_name: "build-42".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let credentials = response.credentials.unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"));
    assert_eq!(credentials.access_key_id.len(), 20);
    assert_eq!(credentials.secret_access_key.expose().len(), 40);
    assert_eq!(credentials.expiration.0, (START + 3600) as f64);
    let user = response.assumed_role_user.unwrap();
    assert_eq!(
        user.arn,
        "arn:aws:sts::000000000000:assumed-role/deploy/build-42"
    );
    assert!(user.assumed_role_id.starts_with("AROA"));
    assert!(user.assumed_role_id.ends_with(":build-42"));
    assert_eq!(response.packed_policy_size, None);

    // The session acts as the role session.
    let session = h.session_context(&credentials.access_key_id).await;
    let identity = h
        .sts
        .get_caller_identity(&session, GetCallerIdentityRequest {})
        .await
        .unwrap();
    assert_eq!(identity.arn.unwrap(), user.arn);
    assert_eq!(identity.user_id.unwrap(), user.assumed_role_id);
    assert_eq!(identity.account.unwrap(), ACCOUNT);
}

#[tokio::test]
async fn untrusted_callers_and_missing_roles_are_denied() {
    let h = Harness::new().await;
    let _alice = h.user("alice", None).await;
    let bob = h.user("bob", Some(ALLOW_ASSUME_ANY)).await;
    h.role(
        "deploy",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;

    assert_error(
        h.assume(&bob, "deploy", AssumeRoleRequest::default()).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: \
         sts:AssumeRole on resource: arn:aws:iam::000000000000:role/deploy",
    );
    let missing = h
        .assume(&bob, "nothing", AssumeRoleRequest::default())
        .await;
    assert_error(
        missing,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: \
         sts:AssumeRole on resource: arn:aws:iam::000000000000:role/nothing",
    );
    // The role's path is part of its ARN.
    let mut request = AssumeRoleRequest {
        role_session_name: "s".into(),
        ..Default::default()
    };
    request.role_arn = "arn:aws:iam::000000000000:role/other/deploy".into();
    assert_error(
        h.sts.assume_role(&bob, request).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/bob",
    );
}

#[tokio::test]
async fn trusting_the_account_delegates_to_identity_policies() {
    let h = Harness::new().await;
    let carol = h.user("carol", None).await;
    let dave = h.user("dave", Some(ALLOW_ASSUME_ANY)).await;
    h.role(
        "shared",
        &trust("arn:aws:iam::000000000000:root", &["sts:AssumeRole"], None),
        None,
    )
    .await;
    assert_error(
        h.assume(&carol, "shared", AssumeRoleRequest::default())
            .await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/carol is not authorized",
    );
    h.assume(&dave, "shared", AssumeRoleRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_external_id_condition_must_be_met() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "vendor",
        &trust(
            &user_arn("alice"),
            &["sts:AssumeRole"],
            Some(r#"{"StringEquals": {"sts:ExternalId": "unicorn"}}"#),
        ),
        None,
    )
    .await;
    let with_id = |id: Option<&str>| AssumeRoleRequest {
        external_id: id.map(str::to_owned),
        ..Default::default()
    };
    assert_error(
        h.assume(&alice, "vendor", with_id(None)).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized",
    );
    assert_error(
        h.assume(&alice, "vendor", with_id(Some("pony"))).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized",
    );
    h.assume(&alice, "vendor", with_id(Some("unicorn")))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_mfa_condition_needs_a_good_code_or_an_mfa_session() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    let (serial, seed) = h.mfa_device("alice").await;
    h.role(
        "admin",
        &trust(
            &user_arn("alice"),
            &["sts:AssumeRole"],
            Some(r#"{"Bool": {"aws:MultiFactorAuthPresent": "true"}}"#),
        ),
        None,
    )
    .await;
    // The admin role's sessions may chain into itself, to show that MFA carries over.
    h.role(
        "chained",
        &trust(
            &role_arn("admin"),
            &["sts:AssumeRole"],
            Some(r#"{"Bool": {"aws:MultiFactorAuthPresent": "true"}}"#),
        ),
        None,
    )
    .await;

    assert_error(
        h.assume(&alice, "admin", AssumeRoleRequest::default())
            .await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized",
    );
    let with_code = |code: String| AssumeRoleRequest {
        serial_number: Some(serial.clone()),
        token_code: Some(code),
        ..Default::default()
    };
    assert_error(
        h.assume(&alice, "admin", with_code("000000".into())).await,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    );
    assert_error(
        h.assume(
            &alice,
            "admin",
            AssumeRoleRequest {
                serial_number: Some(serial.clone()),
                ..Default::default()
            },
        )
        .await,
        "AccessDenied",
        "MultiFactorAuthentication failed",
    );
    let response = h
        .assume(&alice, "admin", with_code(totp(&seed, h.now())))
        .await
        .unwrap();
    let id = response.credentials.unwrap().access_key_id;
    let record = h.session(&id).await;
    assert_eq!(
        record.mfa_authenticated_at_millis,
        Some((h.now() * 1000) as i64)
    );

    h.clock.advance(Duration::from_secs(90));
    let session = h.session_context(&id).await;
    let chained = h
        .assume(&session, "chained", AssumeRoleRequest::default())
        .await
        .unwrap();
    let chained = h.session(&chained.credentials.unwrap().access_key_id).await;
    assert!(chained.chained);
    assert_eq!(
        chained.mfa_authenticated_at_millis,
        record.mfa_authenticated_at_millis
    );
    let now = h.clock.now();
    assert_eq!(
        chained.mfa_context(now),
        vec![
            ("aws:MultiFactorAuthPresent", "true".to_owned()),
            ("aws:MultiFactorAuthAge", "90".to_owned())
        ]
    );
}

#[tokio::test]
async fn durations_stay_within_the_role_and_chaining_limits() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "short",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    h.role(
        "long",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        Some(7200),
    )
    .await;
    h.role(
        "next",
        &trust(&role_arn("long"), &["sts:AssumeRole"], None),
        Some(43200),
    )
    .await;
    let lasting = |seconds: i32| AssumeRoleRequest {
        duration_seconds: Some(seconds),
        ..Default::default()
    };

    let short = h.assume(&alice, "short", lasting(900)).await.unwrap();
    assert_eq!(
        short.credentials.unwrap().expiration.0,
        (START + 900) as f64
    );
    assert_error(
        h.assume(&alice, "short", lasting(3601)).await,
        "Validation",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    let long = h.assume(&alice, "long", lasting(7200)).await.unwrap();

    let session = h
        .session_context(&long.credentials.unwrap().access_key_id)
        .await;
    assert_error(
        h.assume(&session, "next", lasting(3601)).await,
        "Validation",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by \
         role chaining.",
    );
    h.assume(&session, "next", lasting(3600)).await.unwrap();
}

#[tokio::test]
async fn session_tags_need_tag_session_and_transitive_ones_carry_over() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "plain",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    h.role(
        "first",
        &trust(
            &user_arn("alice"),
            &["sts:AssumeRole", "sts:TagSession"],
            Some(r#"{"StringEquals": {"aws:RequestTag/team": "blue"}}"#),
        ),
        None,
    )
    .await;
    h.role(
        "second",
        &trust(
            &role_arn("first"),
            &["sts:AssumeRole", "sts:TagSession"],
            None,
        ),
        None,
    )
    .await;
    h.iam
        .tag_role(
            &h.root(),
            TagRoleRequest {
                role_name: "first".into(),
                tags: vec![
                    IamTag {
                        key: "team".into(),
                        value: "red".into(),
                    },
                    IamTag {
                        key: "tier".into(),
                        value: "gold".into(),
                    },
                ],
            },
        )
        .await
        .unwrap();
    let tagged = |tags: Vec<Tag>, transitive: Option<Vec<String>>| AssumeRoleRequest {
        tags: Some(tags),
        transitive_tag_keys: transitive,
        ..Default::default()
    };

    assert_error(
        h.assume(&alice, "plain", tagged(vec![tag("team", "blue")], None))
            .await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: \
         sts:TagSession on resource: arn:aws:iam::000000000000:role/plain",
    );
    assert_error(
        h.assume(&alice, "first", tagged(vec![tag("team", "green")], None))
            .await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized",
    );
    assert_error(
        h.assume(
            &alice,
            "first",
            tagged(vec![tag("team", "blue"), tag("TEAM", "x")], None),
        )
        .await,
        "Validation",
        "Duplicate tag keys found.",
    );
    assert_error(
        h.assume(
            &alice,
            "first",
            tagged(vec![tag("team", "blue")], Some(vec!["cost".into()])),
        )
        .await,
        "Validation",
        "The specified transitive tag key must be included in the requested tags.",
    );

    let first = h
        .assume(
            &alice,
            "first",
            tagged(
                vec![tag("team", "blue"), tag("cost", "42")],
                Some(vec!["team".into()]),
            ),
        )
        .await
        .unwrap();
    assert!(first.packed_policy_size.unwrap() > 0);
    let first_id = first.credentials.unwrap().access_key_id;
    let record = h.session(&first_id).await;
    assert_eq!(record.transitive_tag_keys, vec!["team".to_owned()]);
    // Session tags win over the role's tags of the same key.
    let mut principal_tags = record.principal().tags;
    principal_tags.sort();
    assert_eq!(
        principal_tags,
        vec![
            ("cost".to_owned(), "42".to_owned()),
            ("team".to_owned(), "blue".to_owned()),
            ("tier".to_owned(), "gold".to_owned()),
        ]
    );

    let session = h.session_context(&first_id).await;
    assert_error(
        h.assume(&session, "second", tagged(vec![tag("Team", "red")], None))
            .await,
        "Validation",
        "The tag key Team conflicts with a transitive tag key",
    );
    let second = h
        .assume(&session, "second", AssumeRoleRequest::default())
        .await
        .unwrap();
    let second = h.session(&second.credentials.unwrap().access_key_id).await;
    assert_eq!(
        second.tags,
        vec![("team".to_owned(), "blue".to_owned())],
        "only the transitive tag carries over"
    );
    assert_eq!(second.transitive_tag_keys, vec!["team".to_owned()]);
}

#[tokio::test]
async fn a_source_identity_is_set_once_for_the_whole_chain() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "nosi",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    h.role(
        "first",
        &trust(
            &user_arn("alice"),
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            Some(r#"{"StringLike": {"sts:SourceIdentity": "alice*"}}"#),
        ),
        None,
    )
    .await;
    h.role(
        "second",
        &trust(
            &role_arn("first"),
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            None,
        ),
        None,
    )
    .await;
    let with_si = |si: Option<&str>| AssumeRoleRequest {
        source_identity: si.map(str::to_owned),
        ..Default::default()
    };

    assert_error(
        h.assume(&alice, "nosi", with_si(Some("alice"))).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: \
         sts:SetSourceIdentity",
    );
    assert_error(
        h.assume(&alice, "first", with_si(Some("mallory"))).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/alice is not authorized",
    );
    let first = h
        .assume(&alice, "first", with_si(Some("alice@example.com")))
        .await
        .unwrap();
    assert_eq!(first.source_identity.as_deref(), Some("alice@example.com"));

    let session = h
        .session_context(&first.credentials.unwrap().access_key_id)
        .await;
    assert_error(
        h.assume(&session, "second", with_si(Some("bob"))).await,
        "AccessDenied",
        "The source identity of a role session cannot be changed",
    );
    let second = h.assume(&session, "second", with_si(None)).await.unwrap();
    assert_eq!(second.source_identity.as_deref(), Some("alice@example.com"));
    let record = h.session(&second.credentials.unwrap().access_key_id).await;
    assert_eq!(record.source_identity.as_deref(), Some("alice@example.com"));
}

#[tokio::test]
async fn session_policies_are_checked_and_kept() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "r",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    let managed = h
        .iam
        .create_policy(
            &h.root(),
            CreatePolicyRequest {
                policy_name: "ReadOnly".into(),
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

    assert_error(
        h.assume(
            &alice,
            "r",
            AssumeRoleRequest {
                policy: Some(r#"{"Version": "2012-10-17", "Statement": []"#.into()),
                ..Default::default()
            },
        )
        .await,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    );
    assert_error(
        h.assume(
            &alice,
            "r",
            AssumeRoleRequest {
                policy_arns: Some(vec![PolicyDescriptorType {
                    arn: Some("arn:aws:iam::000000000000:policy/Missing".into()),
                }]),
                ..Default::default()
            },
        )
        .await,
        "Validation",
        "Policy arn:aws:iam::000000000000:policy/Missing does not exist or is not attachable.",
    );

    let response = h
        .assume(
            &alice,
            "r",
            AssumeRoleRequest {
                policy: Some(ALLOW_S3.into()),
                policy_arns: Some(vec![PolicyDescriptorType { arn: Some(managed) }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let size = response.packed_policy_size.unwrap();
    assert!((1..=100).contains(&size), "{size}");
    let record = h
        .session(&response.credentials.unwrap().access_key_id)
        .await;
    assert_eq!(
        record.session_policies,
        vec![ALLOW_S3.to_owned(), ALLOW_S3.to_owned()]
    );
}

#[tokio::test]
async fn a_session_policy_bounds_what_the_session_may_assume() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "hub",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    h.iam
        .put_role_policy(
            &h.root(),
            PutRolePolicyRequest {
                role_name: "hub".into(),
                policy_name: "assume".into(),
                policy_document: ALLOW_ASSUME_ANY.into(),
            },
        )
        .await
        .unwrap();
    h.role(
        "spoke",
        &trust("000000000000", &["sts:AssumeRole"], None),
        None,
    )
    .await;
    let open = h
        .assume(&alice, "hub", AssumeRoleRequest::default())
        .await
        .unwrap();
    let narrow = h
        .assume(
            &alice,
            "hub",
            AssumeRoleRequest {
                policy: Some(ALLOW_S3.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let open = h
        .session_context(&open.credentials.unwrap().access_key_id)
        .await;
    h.assume(&open, "spoke", AssumeRoleRequest::default())
        .await
        .unwrap();
    let narrow = h
        .session_context(&narrow.credentials.unwrap().access_key_id)
        .await;
    assert_error(
        h.assume(&narrow, "spoke", AssumeRoleRequest::default())
            .await,
        "AccessDenied",
        "User: arn:aws:sts::000000000000:assumed-role/hub/session is not authorized to perform: \
         sts:AssumeRole on resource: arn:aws:iam::000000000000:role/spoke",
    );
}

#[tokio::test]
async fn roles_of_other_accounts_issue_sessions_in_their_account() {
    let h = Harness::new().await;
    let alice = h.user("alice", Some(ALLOW_ASSUME_ANY)).await;
    let other = AccountId::parse("111122223333").unwrap();
    h.iam
        .create_role(
            &h.context(Principal::root(other.clone(), "other")),
            CreateRoleRequest {
                role_name: "partner".into(),
                assume_role_policy_document: trust(
                    "arn:aws:iam::000000000000:root",
                    &["sts:AssumeRole"],
                    None,
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut request = AssumeRoleRequest {
        role_arn: "arn:aws:iam::111122223333:role/partner".into(),
        role_session_name: "visit".into(),
        ..Default::default()
    };
    let response = h.sts.assume_role(&alice, request.clone()).await.unwrap();
    assert_eq!(
        response.assumed_role_user.unwrap().arn,
        "arn:aws:sts::111122223333:assumed-role/partner/visit"
    );
    let record = h
        .session(&response.credentials.unwrap().access_key_id)
        .await;
    assert_eq!(record.account, other);

    // Without an identity policy of its own, a user of the trusted account is refused.
    let bob = h.user("bob", None).await;
    request.role_session_name = "visit2".into();
    assert_error(
        h.sts.assume_role(&bob, request).await,
        "AccessDenied",
        "User: arn:aws:iam::000000000000:user/bob is not authorized",
    );
}
