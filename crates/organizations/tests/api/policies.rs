//! SCPs and RCPs: policy types, validation, attachments and the AWS managed policies.

use palisade_model_organizations::types::*;

use crate::common::*;

const FULL: &str = "p-FullAWSAccess";
const RCP_FULL: &str = "p-RCPFullAWSAccess";

#[tokio::test]
async fn enabling_scps_attaches_full_aws_access_everywhere() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let unit = h.create_unit(&root, "prod").await.unwrap();
    let account = h.create_account("app").await;

    let enabled = h.enable_policy_type("SERVICE_CONTROL_POLICY").await;
    let types = enabled.policy_types.unwrap();
    assert_eq!(types[0].r#type, Some(PolicyType::ServiceControlPolicy));
    assert_eq!(types[0].status, Some(PolicyTypeStatus::Enabled));
    for target in [&root, &unit, &account, &MANAGEMENT.to_owned()] {
        assert_eq!(
            h.policies_for(target, "SERVICE_CONTROL_POLICY").await,
            [FULL]
        );
    }
    // What is created later gets it too.
    let later = h.create_unit(&root, "later").await.unwrap();
    assert_eq!(
        h.policies_for(&later, "SERVICE_CONTROL_POLICY").await,
        [FULL]
    );
    assert_code(
        h.act(
            "EnablePolicyType",
            EnablePolicyTypeRequest {
                root_id: root.clone(),
                policy_type: PolicyType::ServiceControlPolicy,
            },
        )
        .await,
        "PolicyTypeAlreadyEnabledException",
    );

    let described: DescribePolicyResponse = h
        .call(
            "DescribePolicy",
            DescribePolicyRequest {
                policy_id: FULL.to_owned(),
            },
        )
        .await
        .unwrap();
    let policy = described.policy.unwrap();
    let summary = policy.policy_summary.unwrap();
    assert_eq!(
        summary.arn.as_deref(),
        Some("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess")
    );
    assert_eq!(summary.aws_managed, Some(true));
    assert_eq!(summary.name.as_deref(), Some("FullAWSAccess"));
    assert!(policy.content.unwrap().contains("\"Action\": \"*\""));

    let roots: ListRootsResponse = h
        .call("ListRoots", ListRootsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        roots.roots.unwrap()[0].policy_types.as_ref().unwrap().len(),
        1
    );

    let disabled: DisablePolicyTypeResponse = h
        .call(
            "DisablePolicyType",
            DisablePolicyTypeRequest {
                root_id: root.clone(),
                policy_type: PolicyType::ServiceControlPolicy,
            },
        )
        .await
        .unwrap();
    assert!(disabled.root.unwrap().policy_types.unwrap().is_empty());
    assert!(
        h.policies_for(&unit, "SERVICE_CONTROL_POLICY")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn policies_are_validated_named_uniquely_and_arned() {
    let h = Harness::with_organization().await;
    let policy = h
        .create_policy("SERVICE_CONTROL_POLICY", "deny-s3", DENY_S3)
        .await
        .unwrap();
    let summary = policy.policy_summary.unwrap();
    let id = summary.id.unwrap();
    assert!(id.starts_with("p-") && id.len() == 10, "{id}");
    let org: DescribeOrganizationResponse = h.call("DescribeOrganization", none()).await.unwrap();
    let org_id = org.organization.unwrap().id.unwrap();
    assert_eq!(
        summary.arn.unwrap(),
        format!("arn:aws:organizations::{MANAGEMENT}:policy/{org_id}/service_control_policy/{id}")
    );
    assert_eq!(summary.aws_managed, Some(false));

    assert_code(
        h.create_policy("SERVICE_CONTROL_POLICY", "deny-s3", DENY_S3)
            .await,
        "DuplicatePolicyException",
    );
    assert_code(
        h.create_policy("SERVICE_CONTROL_POLICY", "bad", "{not json")
            .await,
        "MalformedPolicyDocumentException",
    );
    // An SCP names no principal.
    let with_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
    assert_code(
        h.create_policy("SERVICE_CONTROL_POLICY", "principal", with_principal)
            .await,
        "MalformedPolicyDocumentException",
    );
    // An RCP needs one.
    h.create_policy("RESOURCE_CONTROL_POLICY", "rcp", with_principal)
        .await
        .unwrap();
    // Whitespace counts toward the 5,120 characters.
    let padded = format!("{}{}", DENY_S3, " ".repeat(5_120));
    assert_code(
        h.create_policy("SERVICE_CONTROL_POLICY", "big", &padded)
            .await,
        "ConstraintViolationException",
    );

    let updated: UpdatePolicyResponse = h
        .call(
            "UpdatePolicy",
            UpdatePolicyRequest {
                policy_id: id.clone(),
                name: Some("deny-storage".to_owned()),
                description: Some("no S3".to_owned()),
                content: None,
            },
        )
        .await
        .unwrap();
    let summary = updated.policy.unwrap().policy_summary.unwrap();
    assert_eq!(summary.name.as_deref(), Some("deny-storage"));
    assert_eq!(summary.description.as_deref(), Some("no S3"));
    assert_code(
        h.act(
            "UpdatePolicy",
            UpdatePolicyRequest {
                policy_id: FULL.to_owned(),
                name: Some("mine".to_owned()),
                ..Default::default()
            },
        )
        .await,
        "InvalidInputException",
    );

    let listed: ListPoliciesResponse = h
        .call(
            "ListPolicies",
            ListPoliciesRequest {
                filter: PolicyType::ServiceControlPolicy,
                next_token: None,
                max_results: None,
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .policies
        .unwrap()
        .into_iter()
        .map(|policy| policy.id.unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&FULL.to_owned()) && ids.contains(&id));
}

#[tokio::test]
async fn attaching_and_detaching_follow_aws_rules() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let unit = h.create_unit(&root, "prod").await.unwrap();
    let policy = h.deny_s3_policy().await;
    assert_code(
        h.attach(&policy, &unit).await,
        "PolicyTypeNotEnabledException",
    );
    h.enable_policy_type("SERVICE_CONTROL_POLICY").await;
    h.attach(&policy, &unit).await.unwrap();
    assert_code(
        h.attach(&policy, &unit).await,
        "DuplicatePolicyAttachmentException",
    );
    assert_code(
        h.attach(&policy, "ou-zzzz-00000000").await,
        "TargetNotFoundException",
    );
    assert_code(
        h.attach("p-00000000", &unit).await,
        "PolicyNotFoundException",
    );

    let targets: ListTargetsForPolicyResponse = h
        .call(
            "ListTargetsForPolicy",
            ListTargetsForPolicyRequest {
                policy_id: policy.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let targets = targets.targets.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].r#type, Some(TargetType::OrganizationalUnit));
    assert_eq!(targets[0].name.as_deref(), Some("prod"));

    assert_code(
        h.act(
            "DeletePolicy",
            DeletePolicyRequest {
                policy_id: policy.clone(),
            },
        )
        .await,
        "PolicyInUseException",
    );
    h.detach(FULL, &unit).await.unwrap();
    // The last SCP stays.
    let message = assert_code(
        h.detach(&policy, &unit).await,
        "ConstraintViolationException",
    );
    assert!(message.contains("fewer than the minimum"), "{message}");
    h.attach(FULL, &unit).await.unwrap();
    h.detach(&policy, &unit).await.unwrap();
    assert_code(h.detach(&policy, &unit).await, "PolicyNotAttachedException");
    h.act(
        "DeletePolicy",
        DeletePolicyRequest {
            policy_id: policy.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act(
            "DescribePolicy",
            DescribePolicyRequest { policy_id: policy },
        )
        .await,
        "PolicyNotFoundException",
    );
}

#[tokio::test]
async fn rcp_full_access_cannot_be_detached() {
    let h = Harness::with_organization().await;
    let account = h.create_account("app").await;
    h.enable_policy_type("RESOURCE_CONTROL_POLICY").await;
    assert_eq!(
        h.policies_for(&account, "RESOURCE_CONTROL_POLICY").await,
        [RCP_FULL]
    );
    assert_code(h.detach(RCP_FULL, &account).await, "InvalidInputException");
}

#[tokio::test]
async fn tags_on_roots_ous_accounts_and_policies() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let unit = h.create_unit(&root, "prod").await.unwrap();
    let account = h.create_account("app").await;
    let policy = h.deny_s3_policy().await;
    for resource in [&root, &unit, &account, &policy] {
        h.act(
            "TagResource",
            TagResourceRequest {
                resource_id: resource.clone(),
                tags: vec![
                    Tag {
                        key: "env".to_owned(),
                        value: "prod".to_owned(),
                    },
                    Tag {
                        key: "owner".to_owned(),
                        value: "me".to_owned(),
                    },
                ],
            },
        )
        .await
        .unwrap();
        h.act(
            "UntagResource",
            UntagResourceRequest {
                resource_id: resource.clone(),
                tag_keys: vec!["owner".to_owned()],
            },
        )
        .await
        .unwrap();
        let tags: ListTagsForResourceResponse = h
            .call(
                "ListTagsForResource",
                ListTagsForResourceRequest {
                    resource_id: resource.clone(),
                    next_token: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            tags.tags.unwrap(),
            vec![Tag {
                key: "env".to_owned(),
                value: "prod".to_owned(),
            }]
        );
    }
    let tag = |key: &str| Tag {
        key: key.to_owned(),
        value: "v".to_owned(),
    };
    for tags in [vec![tag("aws:owner")], vec![tag("k"), tag("k")]] {
        assert_code(
            h.act(
                "TagResource",
                TagResourceRequest {
                    resource_id: unit.clone(),
                    tags,
                },
            )
            .await,
            "InvalidInputException",
        );
    }
    assert_code(
        h.act(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_id: "ou-zzzz-00000000".to_owned(),
                next_token: None,
            },
        )
        .await,
        "TargetNotFoundException",
    );
}

#[tokio::test]
async fn no_target_has_an_effective_policy() {
    let h = Harness::with_organization().await;
    let member = h.create_account("app").await;
    let ask = |target: Option<&str>| DescribeEffectivePolicyRequest {
        policy_type: EffectivePolicyType::TagPolicy,
        target_id: target.map(str::to_owned),
    };
    assert_code(
        h.act_as(&context(&member), "DescribeEffectivePolicy", ask(None))
            .await,
        "EffectivePolicyNotFoundException",
    );
    assert_code(
        h.act_as(
            &context(&member),
            "DescribeEffectivePolicy",
            ask(Some(MANAGEMENT)),
        )
        .await,
        "AccessDeniedException",
    );
    assert_code(
        h.act("DescribeEffectivePolicy", ask(Some("111111111111")))
            .await,
        "TargetNotFoundException",
    );
}
