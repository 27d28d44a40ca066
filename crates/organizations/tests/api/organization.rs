//! The organization: creating, describing and deleting it, and who may do what.

use palisade_model_organizations::types::*;

use crate::common::*;

#[tokio::test]
async fn create_organization_makes_the_caller_the_management_account() {
    let h = Harness::new().await;
    let org = h.create_organization(None).await;
    let id = org.id.clone().unwrap();
    assert!(id.starts_with("o-") && id.len() == 12, "{id}");
    assert_eq!(
        org.arn.as_deref(),
        Some(format!("arn:aws:organizations::{MANAGEMENT}:organization/{id}").as_str())
    );
    assert_eq!(org.feature_set, Some(OrganizationFeatureSet::All));
    assert_eq!(org.master_account_id.as_deref(), Some(MANAGEMENT));
    assert_eq!(
        org.master_account_arn.as_deref(),
        Some(format!("arn:aws:organizations::{MANAGEMENT}:account/{id}/{MANAGEMENT}").as_str())
    );

    let described: DescribeOrganizationResponse =
        h.call("DescribeOrganization", none()).await.unwrap();
    assert_eq!(described.organization.unwrap().id, org.id);

    let roots: ListRootsResponse = h
        .call("ListRoots", ListRootsRequest::default())
        .await
        .unwrap();
    let root = &roots.roots.unwrap()[0];
    let root_id = root.id.clone().unwrap();
    assert!(root_id.starts_with("r-") && root_id.len() == 6);
    assert_eq!(
        root.arn.as_deref(),
        Some(format!("arn:aws:organizations::{MANAGEMENT}:root/{id}/{root_id}").as_str())
    );
    assert_eq!(root.policy_types.as_deref(), Some(&[][..]));

    let message = assert_code(
        h.call::<CreateOrganizationResponse>(
            "CreateOrganization",
            CreateOrganizationRequest::default(),
        )
        .await,
        "AlreadyInOrganizationException",
    );
    assert_eq!(
        message,
        "The AWS account is already a member of an organization."
    );
}

#[tokio::test]
async fn consolidated_billing_has_no_policies() {
    let h = Harness::new().await;
    let org = h.create_organization(Some("CONSOLIDATED_BILLING")).await;
    assert_eq!(
        org.feature_set,
        Some(OrganizationFeatureSet::ConsolidatedBilling)
    );
    let root_id = h.root_id().await;
    assert_code(
        h.act(
            "EnablePolicyType",
            EnablePolicyTypeRequest {
                root_id,
                policy_type: PolicyType::ServiceControlPolicy,
            },
        )
        .await,
        "ConstraintViolationException",
    );
}

#[tokio::test]
async fn without_an_organization_calls_are_refused() {
    let h = Harness::new().await;
    let message = assert_code(
        h.call::<DescribeOrganizationResponse>("DescribeOrganization", none())
            .await,
        "AWSOrganizationsNotInUseException",
    );
    assert_eq!(message, "Your account is not a member of an organization.");
    assert_code(
        h.act("ListAccounts", ListAccountsRequest::default()).await,
        "AWSOrganizationsNotInUseException",
    );
    assert_code(
        h.act("DeleteOrganization", none()).await,
        "AWSOrganizationsNotInUseException",
    );
}

#[tokio::test]
async fn delete_organization_only_when_no_member_accounts_remain() {
    let h = Harness::with_organization().await;
    let member = h.create_account("dev").await;
    assert_code(
        h.act("DeleteOrganization", none()).await,
        "OrganizationNotEmptyException",
    );
    h.act(
        "RemoveAccountFromOrganization",
        RemoveAccountFromOrganizationRequest { account_id: member },
    )
    .await
    .unwrap();
    h.act("DeleteOrganization", none()).await.unwrap();
    assert_code(
        h.call::<DescribeOrganizationResponse>("DescribeOrganization", none())
            .await,
        "AWSOrganizationsNotInUseException",
    );
    // The management account is free to create another.
    h.create_organization(None).await;
}

#[tokio::test]
async fn members_may_describe_and_leave_but_not_manage() {
    let h = Harness::with_organization().await;
    let member = h.create_account("dev").await;
    let as_member = context(&member);

    let described: DescribeOrganizationResponse = h
        .call_as(&as_member, "DescribeOrganization", none())
        .await
        .unwrap();
    assert_eq!(
        described.organization.unwrap().master_account_id.as_deref(),
        Some(MANAGEMENT)
    );
    let message = assert_code(
        h.act_as(&as_member, "ListAccounts", ListAccountsRequest::default())
            .await,
        "AccessDeniedException",
    );
    assert_eq!(
        message,
        "You don't have permissions to access this resource."
    );
    assert_code(
        h.act_as(
            &as_member,
            "CreateAccount",
            CreateAccountRequest {
                email: "x@example.org".to_owned().into(),
                account_name: "x".to_owned().into(),
                ..Default::default()
            },
        )
        .await,
        "AccessDeniedException",
    );
    assert_code(
        h.act_as(&as_member, "DeleteOrganization", none()).await,
        "AccessDeniedException",
    );

    assert_code(
        h.act("LeaveOrganization", none()).await,
        "MasterCannotLeaveOrganizationException",
    );
    h.act_as(&as_member, "LeaveOrganization", none())
        .await
        .unwrap();
    assert_code(
        h.call_as::<DescribeOrganizationResponse>(&as_member, "DescribeOrganization", none())
            .await,
        "AWSOrganizationsNotInUseException",
    );
    // Having left, it may found an organization of its own.
    h.call_as::<CreateOrganizationResponse>(
        &as_member,
        "CreateOrganization",
        CreateOrganizationRequest::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn delegated_administrators_need_trusted_access_and_may_read() {
    let h = Harness::with_organization().await;
    let member = h.create_account("security").await;
    let register = RegisterDelegatedAdministratorRequest {
        account_id: member.clone(),
        service_principal: "guardduty.amazonaws.com".to_owned(),
    };
    assert_code(
        h.act("RegisterDelegatedAdministrator", register.clone())
            .await,
        "ConstraintViolationException",
    );
    h.act(
        "EnableAWSServiceAccess",
        EnableAWSServiceAccessRequest {
            service_principal: "guardduty.amazonaws.com".to_owned(),
        },
    )
    .await
    .unwrap();
    let access: ListAWSServiceAccessForOrganizationResponse = h
        .call(
            "ListAWSServiceAccessForOrganization",
            ListAWSServiceAccessForOrganizationRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        access.enabled_service_principals.unwrap()[0]
            .service_principal
            .as_deref(),
        Some("guardduty.amazonaws.com")
    );
    assert_code(
        h.act(
            "RegisterDelegatedAdministrator",
            RegisterDelegatedAdministratorRequest {
                account_id: MANAGEMENT.to_owned(),
                service_principal: "guardduty.amazonaws.com".to_owned(),
            },
        )
        .await,
        "ConstraintViolationException",
    );
    h.act("RegisterDelegatedAdministrator", register.clone())
        .await
        .unwrap();
    assert_code(
        h.act("RegisterDelegatedAdministrator", register.clone())
            .await,
        "AccountAlreadyRegisteredException",
    );

    let admins: ListDelegatedAdministratorsResponse = h
        .call(
            "ListDelegatedAdministrators",
            ListDelegatedAdministratorsRequest::default(),
        )
        .await
        .unwrap();
    let admins = admins.delegated_administrators.unwrap();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].id.as_deref(), Some(member.as_str()));
    let services: ListDelegatedServicesForAccountResponse = h
        .call(
            "ListDelegatedServicesForAccount",
            ListDelegatedServicesForAccountRequest {
                account_id: member.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        services.delegated_services.unwrap()[0]
            .service_principal
            .as_deref(),
        Some("guardduty.amazonaws.com")
    );

    // The delegated administrator reads the organization but does not manage it.
    let as_admin = context(&member);
    let accounts: ListAccountsResponse = h
        .call_as(&as_admin, "ListAccounts", ListAccountsRequest::default())
        .await
        .unwrap();
    assert_eq!(accounts.accounts.unwrap().len(), 2);
    assert_code(
        h.act_as(
            &as_admin,
            "CreateOrganizationalUnit",
            CreateOrganizationalUnitRequest {
                parent_id: h.root_id().await,
                name: "x".to_owned(),
                tags: None,
            },
        )
        .await,
        "AccessDeniedException",
    );

    h.act(
        "DeregisterDelegatedAdministrator",
        DeregisterDelegatedAdministratorRequest {
            account_id: member.clone(),
            service_principal: "guardduty.amazonaws.com".to_owned(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act(
            "DeregisterDelegatedAdministrator",
            DeregisterDelegatedAdministratorRequest {
                account_id: member.clone(),
                service_principal: "guardduty.amazonaws.com".to_owned(),
            },
        )
        .await,
        "AccountNotRegisteredException",
    );
    assert_code(
        h.act_as(&as_admin, "ListAccounts", ListAccountsRequest::default())
            .await,
        "AccessDeniedException",
    );
}

#[tokio::test]
async fn the_resource_policy_is_stored_validated_and_deleted() {
    let h = Harness::with_organization().await;
    let member = h.create_account("audit").await;
    let content = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{member}:root"}},"Action":"organizations:Describe*","Resource":"*"}}]}}"#
    );
    assert_code(
        h.act("DescribeResourcePolicy", none()).await,
        "ResourcePolicyNotFoundException",
    );
    let put = |content: &str| PutResourcePolicyRequest {
        content: content.to_owned(),
        tags: None,
    };
    let created: PutResourcePolicyResponse =
        h.call("PutResourcePolicy", put(&content)).await.unwrap();
    let summary = created
        .resource_policy
        .unwrap()
        .resource_policy_summary
        .unwrap();
    let id = summary.id.unwrap();
    assert!(id.starts_with("rp-"), "{id}");
    let org: DescribeOrganizationResponse = h.call("DescribeOrganization", none()).await.unwrap();
    let org_id = org.organization.unwrap().id.unwrap();
    assert_eq!(
        summary.arn.unwrap(),
        format!("arn:aws:organizations::{MANAGEMENT}:resourcepolicy/{org_id}/{id}")
    );
    // Replacing keeps the id.
    let replaced: PutResourcePolicyResponse =
        h.call("PutResourcePolicy", put(&content)).await.unwrap();
    assert_eq!(
        replaced
            .resource_policy
            .unwrap()
            .resource_policy_summary
            .unwrap()
            .id,
        Some(id.clone())
    );
    h.act(
        "TagResource",
        TagResourceRequest {
            resource_id: id.clone(),
            tags: vec![Tag {
                key: "k".to_owned(),
                value: "v".to_owned(),
            }],
        },
    )
    .await
    .unwrap();
    let described: DescribeResourcePolicyResponse =
        h.call("DescribeResourcePolicy", none()).await.unwrap();
    assert_eq!(described.resource_policy.unwrap().content, Some(content));
    assert_code(
        h.act("PutResourcePolicy", put(r#"{"Statement":[]}"#)).await,
        "InvalidInputException",
    );
    assert_code(
        h.act_as(&context(&member), "DeleteResourcePolicy", none())
            .await,
        "AccessDeniedException",
    );
    h.act("DeleteResourcePolicy", none()).await.unwrap();
    assert_code(
        h.act("DeleteResourcePolicy", none()).await,
        "ResourcePolicyNotFoundException",
    );
}
