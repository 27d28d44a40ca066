//! Session records as the server's authenticator reads them, `GetSessionToken` and
//! `GetAccessKeyInfo`.

use std::time::Duration;

use palisade_core::clock::Clock as _;

use palisade_model_iam::Iam as _;
use palisade_model_iam::types::CreateAccessKeyRequest;
use palisade_model_sts::Sts as _;
use palisade_model_sts::types::{
    AssumeRoleRequest, GetAccessKeyInfoRequest, GetCallerIdentityRequest, GetSessionTokenRequest,
};
use palisade_sts::{SessionIdentity, token_matches};

use crate::common::*;

#[tokio::test]
async fn sessions_are_found_by_key_matched_by_token_and_sealed_at_rest() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "r",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    let credentials = h
        .assume(&alice, "r", AssumeRoleRequest::default())
        .await
        .unwrap()
        .credentials
        .unwrap();

    let record = h.session(&credentials.access_key_id).await;
    assert!(!record.expired);
    assert_eq!(
        record.secret_access_key.expose(),
        credentials.secret_access_key.expose()
    );
    assert!(token_matches(&record, &credentials.session_token));
    assert!(!token_matches(&record, "not-the-token"));
    assert_eq!(record.role_arn(), Some(role_arn("r").as_str()));
    assert!(matches!(
        &record.identity,
        SessionIdentity::AssumedRole { session_name, .. } if session_name == "session"
    ));
    assert!(!format!("{record:?}").contains(credentials.secret_access_key.expose()));
    assert!(
        h.sts
            .session("ASIAUNKNOWN000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.sts.session("").await.unwrap().is_none());

    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for secret in [
            credentials.secret_access_key.expose().as_bytes(),
            credentials.session_token.as_bytes(),
        ] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        }
    }
}

#[tokio::test]
async fn sessions_expire_with_the_clock() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "r",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    let id = h
        .assume(
            &alice,
            "r",
            AssumeRoleRequest {
                duration_seconds: Some(900),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .credentials
        .unwrap()
        .access_key_id;
    h.clock.advance(Duration::from_secs(899));
    assert!(!h.session(&id).await.expired);
    h.clock.advance(Duration::from_secs(1));
    assert!(h.session(&id).await.expired);
}

#[tokio::test]
async fn users_get_session_tokens_with_mfa() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    let (serial, seed) = h.mfa_device("alice").await;

    let plain = h
        .sts
        .get_session_token(&alice, GetSessionTokenRequest::default())
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert_eq!(plain.expiration.0, (h.now() + 43_200) as f64);
    let record = h.session(&plain.access_key_id).await;
    assert_eq!(record.mfa_authenticated_at_millis, None);
    assert_eq!(
        record.mfa_context(h.clock.now()),
        vec![("aws:MultiFactorAuthPresent", "false".to_owned())]
    );

    let mfa = h
        .sts
        .get_session_token(
            &alice,
            GetSessionTokenRequest {
                duration_seconds: Some(129_600),
                serial_number: Some(serial.clone()),
                token_code: Some(totp(&seed, h.now())),
            },
        )
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert_eq!(mfa.expiration.0, (h.now() + 129_600) as f64);
    let record = h.session(&mfa.access_key_id).await;
    assert_eq!(
        record.mfa_authenticated_at_millis,
        Some((h.now() * 1000) as i64)
    );
    let principal = record.principal();
    assert_eq!(principal.arn, user_arn("alice"));
    assert_eq!(principal.user_id, alice.principal.user_id);

    // The same code cannot be used twice.
    assert_error(
        h.sts
            .get_session_token(
                &alice,
                GetSessionTokenRequest {
                    serial_number: Some(serial),
                    token_code: Some(totp(&seed, h.now())),
                    ..Default::default()
                },
            )
            .await,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    );

    // A session acts as its user, and cannot get another session.
    let session = h.session_context(&mfa.access_key_id).await;
    let identity = h
        .sts
        .get_caller_identity(&session, GetCallerIdentityRequest {})
        .await
        .unwrap();
    assert_eq!(identity.arn.unwrap(), user_arn("alice"));
    assert_error(
        h.sts
            .get_session_token(&session, GetSessionTokenRequest::default())
            .await,
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
    );
}

#[tokio::test]
async fn root_sessions_last_at_most_an_hour() {
    let h = Harness::new().await;
    let credentials = h
        .sts
        .get_session_token(
            &h.root(),
            GetSessionTokenRequest {
                duration_seconds: Some(7200),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert_eq!(credentials.expiration.0, (START + 3600) as f64);
    let record = h.session(&credentials.access_key_id).await;
    assert_eq!(record.identity, SessionIdentity::Root);
    assert_eq!(record.principal().arn, "arn:aws:iam::000000000000:root");
}

#[tokio::test]
async fn role_sessions_cannot_get_session_tokens() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    h.role(
        "r",
        &trust(&user_arn("alice"), &["sts:AssumeRole"], None),
        None,
    )
    .await;
    let id = h
        .assume(&alice, "r", AssumeRoleRequest::default())
        .await
        .unwrap()
        .credentials
        .unwrap()
        .access_key_id;
    let session = h.session_context(&id).await;
    assert_error(
        h.sts
            .get_session_token(&session, GetSessionTokenRequest::default())
            .await,
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
    );
}

#[tokio::test]
async fn access_key_info_names_the_owning_account() {
    let h = Harness::new().await;
    let alice = h.user("alice", None).await;
    let long_term = h
        .iam
        .create_access_key(
            &h.root(),
            CreateAccessKeyRequest {
                user_name: Some("alice".into()),
            },
        )
        .await
        .unwrap()
        .access_key
        .access_key_id;
    let session = h
        .sts
        .get_session_token(&alice, GetSessionTokenRequest::default())
        .await
        .unwrap()
        .credentials
        .unwrap()
        .access_key_id;
    for id in [long_term, session, "AKIAUNKNOWN000000000".to_owned()] {
        let info = h
            .sts
            .get_access_key_info(&alice, GetAccessKeyInfoRequest { access_key_id: id })
            .await
            .unwrap();
        assert_eq!(info.account.as_deref(), Some(ACCOUNT));
    }
}
