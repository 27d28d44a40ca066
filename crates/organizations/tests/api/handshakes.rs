//! Invitations: the handshake's life from the organization's side and the invited account's,
//! and closing accounts.

use std::time::Duration;

use palisade_model_organizations::types::*;

use crate::common::*;

const OUTSIDER: &str = "111111111111";

#[tokio::test]
async fn an_invited_account_accepts_and_joins() {
    let h = Harness::with_organization().await;
    let handshake = h.invite(OUTSIDER).await.unwrap();
    let id = handshake_id(&handshake);
    assert!(id.starts_with("h-"), "{id}");
    assert_eq!(handshake.state, Some(HandshakeState::Open));
    assert_eq!(handshake.action, Some(ActionType::Invite));
    assert_code(h.invite(OUTSIDER).await, "DuplicateHandshakeException");

    let for_org: ListHandshakesForOrganizationResponse = h
        .call(
            "ListHandshakesForOrganization",
            ListHandshakesForOrganizationRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(for_org.handshakes.unwrap().len(), 1);

    let outsider = context(OUTSIDER);
    let for_account: ListHandshakesForAccountResponse = h
        .call_as(
            &outsider,
            "ListHandshakesForAccount",
            ListHandshakesForAccountRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        for_account.handshakes.unwrap()[0].id.as_deref(),
        Some(id.as_str())
    );

    let accepted: AcceptHandshakeResponse = h
        .call_as(
            &outsider,
            "AcceptHandshake",
            AcceptHandshakeRequest {
                handshake_id: id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        accepted.handshake.unwrap().state,
        Some(HandshakeState::Accepted)
    );
    assert_code(
        h.act_as(
            &outsider,
            "AcceptHandshake",
            AcceptHandshakeRequest {
                handshake_id: id.clone(),
            },
        )
        .await,
        "HandshakeAlreadyInStateException",
    );

    let described: DescribeAccountResponse = h
        .call(
            "DescribeAccount",
            DescribeAccountRequest {
                account_id: OUTSIDER.to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.account.unwrap().joined_method,
        Some(AccountJoinedMethod::Invited)
    );
    let tags: ListTagsForResourceResponse = h
        .call(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_id: OUTSIDER.to_owned(),
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(tags.tags.unwrap()[0].value, "by-invitation");
    let org: DescribeOrganizationResponse = h
        .call_as(&outsider, "DescribeOrganization", none())
        .await
        .unwrap();
    assert_eq!(
        org.organization.unwrap().master_account_id.as_deref(),
        Some(MANAGEMENT)
    );
    // A member cannot invite.
    assert_code(
        h.act_as(
            &outsider,
            "InviteAccountToOrganization",
            InviteAccountToOrganizationRequest {
                target: HandshakeParty {
                    id: "222222222222".to_owned().into(),
                    r#type: HandshakePartyType::Account,
                },
                notes: None,
                tags: None,
            },
        )
        .await,
        "AccessDeniedException",
    );
}

#[tokio::test]
async fn declined_canceled_and_expired_handshakes_cannot_be_accepted() {
    let h = Harness::with_organization().await;
    let declined = handshake_id(&h.invite("222222222222").await.unwrap());
    let as_declining = context("222222222222");
    let answer: DeclineHandshakeResponse = h
        .call_as(
            &as_declining,
            "DeclineHandshake",
            DeclineHandshakeRequest {
                handshake_id: declined.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        answer.handshake.unwrap().state,
        Some(HandshakeState::Declined)
    );
    assert_code(
        h.act(
            "CancelHandshake",
            CancelHandshakeRequest {
                handshake_id: declined,
            },
        )
        .await,
        "InvalidHandshakeTransitionException",
    );

    let canceled = handshake_id(&h.invite("333333333333").await.unwrap());
    h.act(
        "CancelHandshake",
        CancelHandshakeRequest {
            handshake_id: canceled.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act_as(
            &context("333333333333"),
            "AcceptHandshake",
            AcceptHandshakeRequest {
                handshake_id: canceled,
            },
        )
        .await,
        "InvalidHandshakeTransitionException",
    );

    let expiring = handshake_id(&h.invite("444444444444").await.unwrap());
    h.clock.advance(Duration::from_secs(16 * 86_400));
    let described: DescribeHandshakeResponse = h
        .call(
            "DescribeHandshake",
            DescribeHandshakeRequest {
                handshake_id: expiring.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.handshake.unwrap().state,
        Some(HandshakeState::Expired)
    );
    assert_code(
        h.act_as(
            &context("444444444444"),
            "AcceptHandshake",
            AcceptHandshakeRequest {
                handshake_id: expiring,
            },
        )
        .await,
        "InvalidHandshakeTransitionException",
    );
    // Someone else's handshake is not found.
    assert_code(
        h.act_as(
            &context("555555555555"),
            "DescribeHandshake",
            DescribeHandshakeRequest {
                handshake_id: "h-00000000000000000000000000000000".to_owned(),
            },
        )
        .await,
        "HandshakeNotFoundException",
    );
}

#[tokio::test]
async fn accounts_in_another_organization_cannot_be_invited() {
    let h = Harness::with_organization().await;
    h.call_as::<CreateOrganizationResponse>(
        &context(OUTSIDER),
        "CreateOrganization",
        CreateOrganizationRequest::default(),
    )
    .await
    .unwrap();
    assert_code(
        h.invite(OUTSIDER).await,
        "HandshakeConstraintViolationException",
    );
    assert_code(
        h.invite(MANAGEMENT).await,
        "HandshakeConstraintViolationException",
    );
}

#[tokio::test]
async fn closing_an_account_suspends_it() {
    let h = Harness::with_organization().await;
    let account = h.create_account("old").await;
    let close = |id: &str| CloseAccountRequest {
        account_id: id.to_owned(),
    };
    h.act("CloseAccount", close(&account)).await.unwrap();
    let described: DescribeAccountResponse = h
        .call(
            "DescribeAccount",
            DescribeAccountRequest {
                account_id: account.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.account.unwrap().status,
        Some(AccountStatus::Suspended)
    );
    assert_code(
        h.act("CloseAccount", close(&account)).await,
        "AccountAlreadyClosedException",
    );
    assert_code(
        h.act("CloseAccount", close(MANAGEMENT)).await,
        "ConstraintViolationException",
    );
}
