//! Encoded authorization messages: sealed by the server, decoded by `DecodeAuthorizationMessage`
//! in the same account only.

use std::sync::Arc;

use palisade_core::{AccountId, Principal};
use palisade_model_sts::Sts as _;
use palisade_model_sts::types::DecodeAuthorizationMessageRequest;
use palisade_sts::StsState;

use crate::common::*;

const DECODED: &str =
    r#"{"allowed":false,"explicitDeny":false,"context":{"action":"s3:GetObject"}}"#;

fn decode(encoded: &str) -> DecodeAuthorizationMessageRequest {
    DecodeAuthorizationMessageRequest {
        encoded_message: encoded.to_owned(),
    }
}

#[tokio::test]
async fn messages_decode_in_their_account_only() {
    let h = Harness::new().await;
    let encoded = h
        .sts
        .encode_authorization_message(&account(), DECODED)
        .await
        .unwrap();
    assert!(!encoded.contains("s3:GetObject"));
    let decoded = h
        .sts
        .decode_authorization_message(&h.root(), decode(&encoded))
        .await
        .unwrap();
    assert_eq!(decoded.decoded_message.as_deref(), Some(DECODED));

    let other = h.context(Principal::root(
        AccountId::parse("111122223333").unwrap(),
        "other",
    ));
    let invalid = "The error message that was provided to decode is invalid.";
    assert_error(
        h.sts
            .decode_authorization_message(&other, decode(&encoded))
            .await,
        "InvalidAuthorizationMessageException",
        invalid,
    );
    let mut tampered = encoded.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert_error(
        h.sts
            .decode_authorization_message(&h.root(), decode(&String::from_utf8(tampered).unwrap()))
            .await,
        "InvalidAuthorizationMessageException",
        invalid,
    );
    assert_error(
        h.sts
            .decode_authorization_message(&h.root(), decode("not base64!"))
            .await,
        "InvalidAuthorizationMessageException",
        invalid,
    );
}

#[tokio::test]
async fn the_message_key_outlives_the_process() {
    let h = Harness::new().await;
    let encoded = h
        .sts
        .encode_authorization_message(&account(), DECODED)
        .await
        .unwrap();
    // A new service over the same data, as after a restart: it finds the key in the store.
    let again = StsState::new(
        h.store.clone(),
        Arc::new(h.clock.clone()),
        Arc::clone(&h.iam),
    );
    let decoded = again
        .decode_authorization_message(&h.root(), decode(&encoded))
        .await
        .unwrap();
    assert_eq!(decoded.decoded_message.as_deref(), Some(DECODED));
}
