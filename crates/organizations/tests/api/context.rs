//! `account_context`: what the authorizer learns of an account's organization.

use palisade_core::AccountId;
use palisade_model_organizations::types::*;

use crate::common::*;

#[tokio::test]
async fn account_context_gives_the_path_and_policies_by_level() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let prod = h.create_unit(&root, "prod").await.unwrap();
    let web = h.create_unit(&prod, "web").await.unwrap();
    let account = h.create_account("app").await;
    h.move_account(&account, &root, &web).await.unwrap();

    let id = AccountId::parse(&account).unwrap();
    let before = h.orgs().account_context(&id).await.unwrap().unwrap();
    assert!(!before.is_management_account);
    assert!(before.service_control_policies.is_empty());

    h.enable_policy_type("SERVICE_CONTROL_POLICY").await;
    let deny = h
        .create_policy("SERVICE_CONTROL_POLICY", "deny-s3", DENY_S3)
        .await
        .unwrap()
        .policy_summary
        .unwrap();
    h.attach(deny.id.as_deref().unwrap(), &prod).await.unwrap();

    let context = h.orgs().account_context(&id).await.unwrap().unwrap();
    let org: DescribeOrganizationResponse = h.call("DescribeOrganization", none()).await.unwrap();
    let org_id = org.organization.unwrap().id.unwrap();
    assert_eq!(context.organization_id, org_id);
    assert_eq!(context.management_account_id, MANAGEMENT);
    assert_eq!(context.org_path, format!("{org_id}/{root}/{prod}/{web}/"));
    // Root, prod, web, the account.
    let levels = &context.service_control_policies;
    assert_eq!(levels.len(), 4);
    let names: Vec<Vec<&str>> = levels
        .iter()
        .map(|level| level.iter().map(|policy| policy.arn.as_str()).collect())
        .collect();
    let full = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess";
    assert_eq!(names[0], [full]);
    assert_eq!(names[1].len(), 2);
    assert!(names[1].contains(&deny.arn.as_deref().unwrap()));
    assert_eq!(names[2], [full]);
    assert_eq!(names[3], [full]);
    assert!(levels[1].iter().any(|policy| policy.document == DENY_S3));
    assert!(context.resource_control_policies.is_empty());

    // SCPs never bind the management account.
    let management = h
        .orgs()
        .account_context(&AccountId::parse(MANAGEMENT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(management.is_management_account);
    assert!(management.service_control_policies.is_empty());
    assert_eq!(management.org_path, format!("{org_id}/{root}/"));

    // An account outside any organization has none.
    let outsider = AccountId::parse("123456789012").unwrap();
    assert_eq!(h.orgs().account_context(&outsider).await.unwrap(), None);
}

#[tokio::test]
async fn resource_control_policies_bind_member_accounts() {
    let h = Harness::with_organization().await;
    let account = h.create_account("data").await;
    h.enable_policy_type("RESOURCE_CONTROL_POLICY").await;
    let context = h
        .orgs()
        .account_context(&AccountId::parse(&account).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(context.service_control_policies.is_empty());
    let levels = &context.resource_control_policies;
    // The root and the account, each with RCPFullAWSAccess.
    assert_eq!(levels.len(), 2);
    for level in levels {
        assert_eq!(
            level[0].arn,
            "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"
        );
    }
}
