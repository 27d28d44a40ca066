//! Accounts: creating them (with their access role in IAM), describing, listing, moving and
//! removing them.

use std::time::Duration;

use palisade_core::AccountId;
use palisade_core::value::Timestamp;
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{GetRoleRequest, ListAttachedRolePoliciesRequest};
use palisade_model_organizations::types::*;

use crate::common::*;

#[tokio::test]
async fn create_account_answers_in_progress_then_succeeds() {
    let h = Harness::with_organization().await;
    h.clock.advance(Duration::from_secs(3600));
    let response: CreateAccountResponse = h
        .call(
            "CreateAccount",
            CreateAccountRequest {
                email: "dev@example.org".to_owned().into(),
                account_name: "dev".to_owned().into(),
                tags: Some(vec![Tag {
                    key: "team".to_owned(),
                    value: "platform".to_owned(),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let status = response.create_account_status.unwrap();
    assert_eq!(status.state, Some(CreateAccountState::InProgress));
    assert_eq!(status.account_id, None);
    assert_eq!(
        status.requested_timestamp,
        Some(Timestamp::from_millis(
            i64::try_from(START + 3600).unwrap() * 1000
        ))
    );
    let request_id = status.id.unwrap();
    assert!(request_id.starts_with("car-"), "{request_id}");

    let done = h.create_status(&request_id).await;
    assert_eq!(done.state, Some(CreateAccountState::Succeeded));
    let account_id = done.account_id.unwrap();
    assert!(AccountId::parse(&account_id).is_some(), "{account_id}");

    let described: DescribeAccountResponse = h
        .call(
            "DescribeAccount",
            DescribeAccountRequest {
                account_id: account_id.clone(),
            },
        )
        .await
        .unwrap();
    let account = described.account.unwrap();
    assert_eq!(account.email.unwrap().expose(), "dev@example.org");
    assert_eq!(account.name.unwrap().expose(), "dev");
    assert_eq!(account.joined_method, Some(AccountJoinedMethod::Created));
    assert_eq!(account.status, Some(AccountStatus::Active));
    let org: DescribeOrganizationResponse = h.call("DescribeOrganization", none()).await.unwrap();
    let org_id = org.organization.unwrap().id.unwrap();
    assert_eq!(
        account.arn.as_deref(),
        Some(format!("arn:aws:organizations::{MANAGEMENT}:account/{org_id}/{account_id}").as_str())
    );
    let root_id = h.root_id().await;
    assert_eq!(
        account.paths.unwrap(),
        vec![format!("{org_id}/{root_id}/{account_id}/")]
    );

    let tags: ListTagsForResourceResponse = h
        .call(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_id: account_id.clone(),
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(tags.tags.unwrap()[0].value, "platform");

    let statuses: ListCreateAccountStatusResponse = h
        .call(
            "ListCreateAccountStatus",
            ListCreateAccountStatusRequest {
                states: Some(vec![CreateAccountState::Succeeded]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(statuses.create_account_statuses.unwrap().len(), 1);
    let in_progress: ListCreateAccountStatusResponse = h
        .call(
            "ListCreateAccountStatus",
            ListCreateAccountStatusRequest {
                states: Some(vec![CreateAccountState::InProgress]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(in_progress.create_account_statuses.unwrap().is_empty());
}

#[tokio::test]
async fn the_new_account_has_an_access_role_trusting_the_management_account() {
    let h = Harness::with_organization().await;
    let account_id = h.create_account("dev").await;
    let as_new_root = context(&account_id);
    let role = h
        .iam
        .get_role(
            &as_new_root,
            GetRoleRequest {
                role_name: "OrganizationAccountAccessRole".to_owned(),
            },
        )
        .await
        .unwrap()
        .role;
    assert_eq!(
        role.arn,
        format!("arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole")
    );
    let trust = role.assume_role_policy_document.unwrap();
    assert!(
        trust.contains(&format!("arn%3Aaws%3Aiam%3A%3A{MANAGEMENT}%3Aroot"))
            || trust.contains(&format!("arn:aws:iam::{MANAGEMENT}:root")),
        "{trust}"
    );
    let attached = h
        .iam
        .list_attached_role_policies(
            &as_new_root,
            ListAttachedRolePoliciesRequest {
                role_name: "OrganizationAccountAccessRole".to_owned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let arns: Vec<String> = attached
        .attached_policies
        .unwrap()
        .into_iter()
        .filter_map(|policy| policy.policy_arn)
        .collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/AdministratorAccess"]);
}

#[tokio::test]
async fn a_taken_email_fails_the_request() {
    let h = Harness::with_organization().await;
    h.create_account("dev").await;
    let response: CreateAccountResponse = h
        .call(
            "CreateAccount",
            CreateAccountRequest {
                email: "DEV@example.org".to_owned().into(),
                account_name: "again".to_owned().into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let request_id = response.create_account_status.unwrap().id.unwrap();
    let status = h.create_status(&request_id).await;
    assert_eq!(status.state, Some(CreateAccountState::Failed));
    assert_eq!(
        status.failure_reason,
        Some(CreateAccountFailureReason::EmailAlreadyExists)
    );
    assert_eq!(status.account_id, None);
    assert_code(
        h.call::<DescribeCreateAccountStatusResponse>(
            "DescribeCreateAccountStatus",
            DescribeCreateAccountStatusRequest {
                create_account_request_id: "car-00000000000000000000000000000000".to_owned(),
            },
        )
        .await,
        "CreateAccountStatusNotFoundException",
    );
}

#[tokio::test]
async fn the_model_validates_email_and_name() {
    let h = Harness::with_organization().await;
    for (email, name) in [("not-an-email", "dev"), ("dev@example.org", "")] {
        assert_code(
            h.act(
                "CreateAccount",
                CreateAccountRequest {
                    email: email.to_owned().into(),
                    account_name: name.to_owned().into(),
                    ..Default::default()
                },
            )
            .await,
            "Validation",
        );
    }
}

#[tokio::test]
async fn list_accounts_pages() {
    let h = Harness::with_organization().await;
    for i in 0..4 {
        h.create_account(&format!("acct{i}")).await;
    }
    let mut seen = Vec::new();
    let mut next_token = None;
    loop {
        let page: ListAccountsResponse = h
            .call(
                "ListAccounts",
                ListAccountsRequest {
                    next_token: next_token.clone(),
                    max_results: Some(2),
                },
            )
            .await
            .unwrap();
        let accounts = page.accounts.unwrap();
        assert!(accounts.len() <= 2);
        seen.extend(accounts.into_iter().map(|account| account.id.unwrap()));
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    assert!(seen.contains(&MANAGEMENT.to_owned()));
}

#[tokio::test]
async fn remove_account_and_refusals() {
    let h = Harness::with_organization().await;
    let member = h.create_account("dev").await;
    assert_code(
        h.act(
            "RemoveAccountFromOrganization",
            RemoveAccountFromOrganizationRequest {
                account_id: MANAGEMENT.to_owned(),
            },
        )
        .await,
        "MasterCannotLeaveOrganizationException",
    );
    h.act(
        "RemoveAccountFromOrganization",
        RemoveAccountFromOrganizationRequest {
            account_id: member.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act(
            "DescribeAccount",
            DescribeAccountRequest {
                account_id: member.clone(),
            },
        )
        .await,
        "AccountNotFoundException",
    );
    assert_code(
        h.act(
            "RemoveAccountFromOrganization",
            RemoveAccountFromOrganizationRequest { account_id: member },
        )
        .await,
        "AccountNotFoundException",
    );
}
