//! The policy simulator and the context-key listings.

use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

const ALICE: &str = "arn:aws:iam::000000000000:user/alice";

fn custom(policies: &[&str], actions: &[&str]) -> SimulateCustomPolicyRequest {
    SimulateCustomPolicyRequest {
        policy_input_list: policies.iter().map(|p| p.to_string()).collect(),
        action_names: actions.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
fn decisions(response: &SimulatePolicyResponse) -> Vec<String> {
    let results = response.evaluation_results.as_ref().unwrap();
    results
        .iter()
        .map(|r| format!("{} {}", r.eval_action_name, r.eval_decision.as_str()))
        .collect()
}

/// The matched statements as `id type`.
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
fn sources(statements: &Option<Vec<Statement>>) -> Vec<String> {
    let statements = statements.as_ref().unwrap();
    statements
        .iter()
        .map(|s| {
            let kind = s.source_policy_type.as_ref().unwrap();
            format!("{} {}", s.source_policy_id.as_ref().unwrap(), kind.as_str())
        })
        .collect()
}

fn position(line: i32, column: i32) -> Option<Position> {
    Some(Position {
        line: Some(line),
        column: Some(column),
    })
}

fn ip_entry(values: &[&str]) -> ContextEntry {
    ContextEntry {
        context_key_name: Some("aws:SourceIp".into()),
        context_key_values: Some(values.iter().map(|v| v.to_string()).collect()),
        context_key_type: Some(ContextKeyTypeEnum::Ip),
    }
}

const ALLOW_S3_WRITE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Write","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]}"#;
const DENY_PUT: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"NoPut","Effect":"Deny","Action":"s3:PutObject","Resource":"*"}
]}"#;

#[tokio::test]
async fn custom_policies_allow_deny_explicitly_and_deny_implicitly() {
    let h = Harness::new().await;
    let response = h
        .iam()
        .simulate_custom_policy(
            &h.root,
            custom(
                &[ALLOW_S3_WRITE, DENY_PUT],
                &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        decisions(&response),
        [
            "s3:GetObject allowed",
            "s3:PutObject explicitDeny",
            "s3:DeleteObject implicitDeny",
        ]
    );
    assert_eq!(response.is_truncated, Some(false));
    let results = response.evaluation_results.unwrap();
    let [allowed, denied, implicit] = results.as_slice() else {
        panic!("{results:?}")
    };
    assert_eq!(allowed.eval_resource_name.as_deref(), Some("*"));
    assert_eq!(
        sources(&allowed.matched_statements),
        ["PolicyInputList.1 none"]
    );
    let statement = &allowed.matched_statements.as_ref().unwrap()[0];
    assert_eq!(statement.start_position, position(1, 38));
    assert_eq!(statement.end_position, position(1, 125));
    // The explicit deny is the only statement reported, though an Allow matched too.
    assert_eq!(
        sources(&denied.matched_statements),
        ["PolicyInputList.2 none"]
    );
    let statement = &denied.matched_statements.as_ref().unwrap()[0];
    assert_eq!(statement.start_position, position(2, 3));
    assert_eq!(statement.end_position, position(2, 72));
    assert_eq!(implicit.matched_statements, Some(vec![]));
    assert_eq!(implicit.missing_context_values, Some(vec![]));
    assert_eq!(allowed.eval_decision_details, None);
    assert_eq!(allowed.resource_specific_results, None);
    assert_eq!(allowed.permissions_boundary_decision_detail, None);
}

#[tokio::test]
async fn the_documented_date_example_decides_as_documented() {
    let h = Harness::new().await;
    let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
    let at = |time: &str| SimulateCustomPolicyRequest {
        context_entries: Some(vec![ContextEntry {
            context_key_name: Some("aws:CurrentTime".into()),
            context_key_values: Some(vec![time.into()]),
            context_key_type: Some(ContextKeyTypeEnum::Date),
        }]),
        ..custom(&[policy], &["dynamodb:CreateBackup"])
    };
    let later = h
        .iam()
        .simulate_custom_policy(&h.root, at("2019-04-25T11:00:00Z"))
        .await
        .unwrap();
    let result = &later.evaluation_results.unwrap()[0];
    assert_eq!(result.eval_decision, PolicyEvaluationDecisionType::Allowed);
    let statement = &result.matched_statements.as_ref().unwrap()[0];
    // From brace to brace. (The CLI's documentation prints 38 and 167 here, one more on both
    // sides than its own text allows; responses captured from IAM place statements at their
    // braces.)
    assert_eq!(statement.start_position, position(1, 37));
    assert_eq!(statement.end_position, position(1, 166));
    let earlier = h
        .iam()
        .simulate_custom_policy(&h.root, at("2014-04-25T11:00:00Z"))
        .await
        .unwrap();
    assert_eq!(decisions(&earlier), ["dynamodb:CreateBackup implicitDeny"]);
}

#[tokio::test]
async fn context_entries_supply_condition_keys() {
    let h = Harness::new().await;
    let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}}"#;
    let simulate = |entries: Option<Vec<ContextEntry>>| SimulateCustomPolicyRequest {
        context_entries: entries,
        ..custom(&[policy], &["s3:ListBucket"])
    };
    let inside = h
        .iam()
        .simulate_custom_policy(&h.root, simulate(Some(vec![ip_entry(&["203.0.113.7"])])))
        .await
        .unwrap();
    let result = &inside.evaluation_results.unwrap()[0];
    assert_eq!(result.eval_decision, PolicyEvaluationDecisionType::Allowed);
    assert_eq!(result.missing_context_values, Some(vec![]));

    let outside = h
        .iam()
        .simulate_custom_policy(&h.root, simulate(Some(vec![ip_entry(&["198.51.100.1"])])))
        .await
        .unwrap();
    let result = &outside.evaluation_results.unwrap()[0];
    assert_eq!(
        result.eval_decision,
        PolicyEvaluationDecisionType::ImplicitDeny
    );
    assert_eq!(result.missing_context_values, Some(vec![]));

    let without = h
        .iam()
        .simulate_custom_policy(&h.root, simulate(None))
        .await
        .unwrap();
    let result = &without.evaluation_results.unwrap()[0];
    assert_eq!(
        result.eval_decision,
        PolicyEvaluationDecisionType::ImplicitDeny
    );
    assert_eq!(
        result.missing_context_values,
        Some(vec!["aws:SourceIp".to_owned()])
    );
}

#[tokio::test]
async fn permissions_boundaries_limit_and_say_so() {
    let h = Harness::new().await;
    let boundary = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;
    let request = SimulateCustomPolicyRequest {
        permissions_boundary_policy_input_list: Some(vec![boundary.into()]),
        ..custom(&[ALLOW_S3_WRITE], &["s3:GetObject", "s3:PutObject"])
    };
    let response = h
        .iam()
        .simulate_custom_policy(&h.root, request.clone())
        .await
        .unwrap();
    assert_eq!(
        decisions(&response),
        ["s3:GetObject allowed", "s3:PutObject implicitDeny",]
    );
    let results = response.evaluation_results.unwrap();
    let detail = |result: &EvaluationResult| {
        result
            .permissions_boundary_decision_detail
            .as_ref()
            .unwrap()
            .allowed_by_permissions_boundary
    };
    assert_eq!(detail(&results[0]), Some(true));
    assert_eq!(detail(&results[1]), Some(false));
    assert_eq!(
        sources(&results[0].matched_statements),
        [
            "PolicyInputList.1 none",
            "PermissionsBoundaryPolicyInputList.1 none",
        ]
    );

    let two = SimulateCustomPolicyRequest {
        permissions_boundary_policy_input_list: Some(vec![boundary.into(), boundary.into()]),
        ..request
    };
    assert_eq!(
        code(
            &h.iam()
                .simulate_custom_policy(&h.root, two)
                .await
                .unwrap_err()
        ),
        "InvalidInput"
    );
}

const BUCKET_POLICY: &str = r#"{"Version":"2012-10-17","Statement":{"Sid":"AliceReads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}}"#;
const ALLOW_NOTHING_RELEVANT: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}}"#;

#[tokio::test]
async fn resource_policies_are_decided_for_the_caller() {
    let h = Harness::new().await;
    let request = |caller: Option<&str>, resources: &[&str]| SimulateCustomPolicyRequest {
        resource_policy: Some(BUCKET_POLICY.into()),
        caller_arn: caller.map(str::to_owned),
        resource_arns: Some(resources.iter().map(|r| r.to_string()).collect()),
        ..custom(&[ALLOW_NOTHING_RELEVANT], &["s3:GetObject"])
    };
    let alice = h
        .iam()
        .simulate_custom_policy(&h.root, request(Some(ALICE), &["arn:aws:s3:::bucket/key"]))
        .await
        .unwrap();
    let result = &alice.evaluation_results.unwrap()[0];
    assert_eq!(result.eval_decision, PolicyEvaluationDecisionType::Allowed);
    assert_eq!(
        result.eval_resource_name.as_deref(),
        Some("arn:aws:s3:::bucket/key")
    );
    assert_eq!(
        sources(&result.matched_statements),
        ["ResourcePolicy resource"]
    );
    assert_eq!(
        result.eval_decision_details,
        Some(Default::default()),
        "present but empty within one account"
    );

    let bob = h
        .iam()
        .simulate_custom_policy(
            &h.root,
            request(
                Some("arn:aws:iam::000000000000:user/bob"),
                &["arn:aws:s3:::bucket/key"],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        bob.evaluation_results.unwrap()[0].eval_decision,
        PolicyEvaluationDecisionType::ImplicitDeny
    );

    // Several resources: one result, the most restrictive decision, and each resource's own.
    let both = h
        .iam()
        .simulate_custom_policy(
            &h.root,
            request(
                Some(ALICE),
                &["arn:aws:s3:::bucket/key", "arn:aws:s3:::other/key"],
            ),
        )
        .await
        .unwrap();
    let results = both.evaluation_results.unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].eval_decision,
        PolicyEvaluationDecisionType::ImplicitDeny
    );
    let each: Vec<String> = results[0]
        .resource_specific_results
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.eval_resource_name,
                r.eval_resource_decision.as_str()
            )
        })
        .collect();
    assert_eq!(
        each,
        [
            "arn:aws:s3:::bucket/key allowed",
            "arn:aws:s3:::other/key implicitDeny",
        ]
    );

    // Another account's resource: its owner's resource policy must allow too.
    let elsewhere = |owner: Option<&str>| SimulateCustomPolicyRequest {
        resource_owner: owner.map(str::to_owned),
        ..request(Some(ALICE), &["arn:aws:s3:::bucket/key"])
    };
    let foreign = h
        .iam()
        .simulate_custom_policy(&h.root, elsewhere(Some("arn:aws:iam::111122223333:root")))
        .await
        .unwrap();
    assert_eq!(
        decisions(&foreign),
        ["s3:GetObject implicitDeny"],
        "the identity side does not allow across accounts"
    );
    // Without a resource policy only the identity side is simulated, wherever the resource is.
    let identity_only = h
        .iam()
        .simulate_custom_policy(
            &h.root,
            SimulateCustomPolicyRequest {
                resource_arns: Some(vec!["arn:aws:sqs:us-east-1:111122223333:queue".into()]),
                ..custom(&[ALLOW_NOTHING_RELEVANT], &["sqs:SendMessage"])
            },
        )
        .await
        .unwrap();
    assert_eq!(decisions(&identity_only), ["sqs:SendMessage allowed"]);

    assert_error(
        h.iam()
            .simulate_custom_policy(&h.root, request(None, &["arn:aws:s3:::bucket/key"]))
            .await,
        "InvalidInput",
        "CallerArn must be specified when a ResourcePolicy is simulated.",
    );
    assert_error(
        h.iam()
            .simulate_custom_policy(
                &h.root,
                request(
                    Some("arn:aws:iam::000000000000:role/r"),
                    &["arn:aws:s3:::bucket/key"],
                ),
            )
            .await,
        "InvalidInput",
        "Invalid CallerArn arn:aws:iam::000000000000:role/r: it must be the ARN of an IAM user.",
    );
}

#[tokio::test]
async fn results_page_by_action() {
    let h = Harness::new().await;
    let request = |marker: Option<String>| SimulateCustomPolicyRequest {
        max_items: Some(2),
        marker,
        ..custom(
            &[ALLOW_S3_WRITE],
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        )
    };
    let first = h
        .iam()
        .simulate_custom_policy(&h.root, request(None))
        .await
        .unwrap();
    assert_eq!(first.is_truncated, Some(true));
    assert_eq!(decisions(&first).len(), 2);
    let second = h
        .iam()
        .simulate_custom_policy(&h.root, request(first.marker.clone()))
        .await
        .unwrap();
    assert_eq!(second.is_truncated, Some(false));
    assert_eq!(second.marker, None);
    assert_eq!(decisions(&second), ["s3:DeleteObject implicitDeny"]);
}

#[tokio::test]
async fn bad_input_is_refused_as_aws_refuses_it() {
    let h = Harness::new().await;
    assert_error(
        h.iam()
            .simulate_custom_policy(
                &h.root,
                custom(&[ALLOW_S3_WRITE, "{not json"], &["s3:GetObject"]),
            )
            .await,
        "InvalidInput",
        "Invalid policy document in PolicyInputList.2: Syntax errors in policy.",
    );
    assert_error(
        h.iam()
            .simulate_custom_policy(
                &h.root,
                custom(
                    &[r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}"#],
                    &["s3:GetObject"],
                ),
            )
            .await,
        "InvalidInput",
        "Invalid policy document in PolicyInputList.1: Policy statement must contain resources.",
    );
    let with_option = |option: &str| SimulateCustomPolicyRequest {
        resource_handling_option: Some(option.into()),
        ..custom(&[ALLOW_S3_WRITE], &["ec2:RunInstances"])
    };
    h.iam()
        .simulate_custom_policy(&h.root, with_option("EC2-VPC-EBS"))
        .await
        .unwrap();
    assert_eq!(
        code(
            &h.iam()
                .simulate_custom_policy(&h.root, with_option("EC2-Mainframe"))
                .await
                .unwrap_err()
        ),
        "InvalidInput"
    );
}

/// alice: an inline policy, a customer managed policy, an AWS managed policy, a group with an
/// inline deny.
#[expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a failed test"
)]
async fn alice(h: &Harness) {
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.put_user_policy(
        ctx,
        PutUserPolicyRequest {
            user_name: "alice".into(),
            policy_name: "S3Write".into(),
            policy_document: ALLOW_S3_WRITE.into(),
        },
    )
    .await
    .unwrap();
    let managed = iam
        .create_policy(
            ctx,
            CreatePolicyRequest {
                policy_name: "Queues".into(),
                policy_document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    for arn in [
        managed,
        "arn:aws:iam::aws:policy/IAMReadOnlyAccess".to_owned(),
    ] {
        iam.attach_user_policy(
            ctx,
            AttachUserPolicyRequest {
                user_name: "alice".into(),
                policy_arn: arn,
            },
        )
        .await
        .unwrap();
    }
    iam.create_group(
        ctx,
        CreateGroupRequest {
            group_name: "careful".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.put_group_policy(
        ctx,
        PutGroupPolicyRequest {
            group_name: "careful".into(),
            policy_name: "NoPut".into(),
            policy_document: DENY_PUT.into(),
        },
    )
    .await
    .unwrap();
    iam.add_user_to_group(
        ctx,
        AddUserToGroupRequest {
            group_name: "careful".into(),
            user_name: "alice".into(),
        },
    )
    .await
    .unwrap();
}

fn principal(source: &str, actions: &[&str]) -> SimulatePrincipalPolicyRequest {
    SimulatePrincipalPolicyRequest {
        policy_source_arn: source.into(),
        action_names: actions.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_users_policies_include_its_groups_and_managed_policies() {
    let h = Harness::new().await;
    alice(&h).await;
    let iam = h.iam();
    let response = iam
        .simulate_principal_policy(
            &h.root,
            SimulatePrincipalPolicyRequest {
                context_entries: Some(vec![ContextEntry {
                    context_key_name: Some("aws:SecureTransport".into()),
                    context_key_values: Some(vec!["true".into()]),
                    context_key_type: Some(ContextKeyTypeEnum::Boolean),
                }]),
                ..principal(
                    ALICE,
                    &[
                        "s3:GetObject",
                        "s3:PutObject",
                        "sqs:SendMessage",
                        "iam:GetUser",
                        "kms:Decrypt",
                    ],
                )
            },
        )
        .await
        .unwrap();
    assert_eq!(
        decisions(&response),
        [
            "s3:GetObject allowed",
            "s3:PutObject explicitDeny",
            "sqs:SendMessage allowed",
            "iam:GetUser allowed",
            "kms:Decrypt implicitDeny",
        ]
    );
    let results = response.evaluation_results.unwrap();
    let source = |index: usize| sources(&results[index].matched_statements);
    assert_eq!(source(0), ["S3Write user"]);
    assert_eq!(source(1), ["NoPut group"]);
    assert_eq!(source(2), ["Queues user-managed"]);
    assert_eq!(source(3), ["IAMReadOnlyAccess aws-managed"]);

    // Extra policies join the user's; a boundary given replaces the user's.
    let boundary = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
    let kms = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#;
    let response = iam
        .simulate_principal_policy(
            &h.root,
            SimulatePrincipalPolicyRequest {
                policy_input_list: Some(vec![kms.into()]),
                permissions_boundary_policy_input_list: Some(vec![boundary.into()]),
                ..principal(ALICE, &["kms:Decrypt", "s3:GetObject"])
            },
        )
        .await
        .unwrap();
    assert_eq!(
        decisions(&response),
        ["kms:Decrypt allowed", "s3:GetObject implicitDeny",]
    );
}

#[tokio::test]
async fn a_stored_boundary_bounds_the_user() {
    let h = Harness::new().await;
    alice(&h).await;
    let iam = h.iam();
    iam.put_user_permissions_boundary(
        &h.root,
        PutUserPermissionsBoundaryRequest {
            user_name: "alice".into(),
            permissions_boundary: "arn:aws:iam::aws:policy/IAMReadOnlyAccess".into(),
        },
    )
    .await
    .unwrap();
    let response = iam
        .simulate_principal_policy(&h.root, principal(ALICE, &["iam:GetUser", "s3:GetObject"]))
        .await
        .unwrap();
    assert_eq!(
        decisions(&response),
        ["iam:GetUser allowed", "s3:GetObject implicitDeny",]
    );
    let results = response.evaluation_results.unwrap();
    assert_eq!(
        results[1]
            .permissions_boundary_decision_detail
            .as_ref()
            .unwrap()
            .allowed_by_permissions_boundary,
        Some(false)
    );
}

#[tokio::test]
async fn groups_and_roles_are_sources_and_unknown_ones_are_not() {
    let h = Harness::new().await;
    alice(&h).await;
    let iam = h.iam();
    let group = iam
        .simulate_principal_policy(
            &h.root,
            principal(
                "arn:aws:iam::000000000000:group/careful",
                &["s3:PutObject", "s3:GetObject"],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        decisions(&group),
        ["s3:PutObject explicitDeny", "s3:GetObject implicitDeny",]
    );
    iam.create_role(
        &h.root,
        CreateRoleRequest {
            role_name: "builder".into(),
            path: Some("/ci/".into()),
            assume_role_policy_document: TRUST_EC2.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.put_role_policy(
        &h.root,
        PutRolePolicyRequest {
            role_name: "builder".into(),
            policy_name: "Build".into(),
            policy_document: ALLOW_S3_WRITE.into(),
        },
    )
    .await
    .unwrap();
    let role = iam
        .simulate_principal_policy(
            &h.root,
            principal(
                "arn:aws:iam::000000000000:role/ci/builder",
                &["s3:GetObject"],
            ),
        )
        .await
        .unwrap();
    let result = &role.evaluation_results.unwrap()[0];
    assert_eq!(result.eval_decision, PolicyEvaluationDecisionType::Allowed);
    assert_eq!(sources(&result.matched_statements), ["Build role"]);
    // A role is no caller for a resource policy: CallerArn must name a user.
    assert_error(
        iam.simulate_principal_policy(
            &h.root,
            SimulatePrincipalPolicyRequest {
                resource_policy: Some(BUCKET_POLICY.into()),
                ..principal(
                    "arn:aws:iam::000000000000:role/ci/builder",
                    &["s3:GetObject"],
                )
            },
        )
        .await,
        "InvalidInput",
        "CallerArn must be specified when a ResourcePolicy is simulated and PolicySourceArn is not an IAM user.",
    );
    // A user source is its own caller.
    let resource = iam
        .simulate_principal_policy(
            &h.root,
            SimulatePrincipalPolicyRequest {
                resource_policy: Some(BUCKET_POLICY.into()),
                resource_arns: Some(vec!["arn:aws:s3:::bucket/key".into()]),
                ..principal(ALICE, &["s3:GetObject"])
            },
        )
        .await
        .unwrap();
    assert_eq!(
        resource.evaluation_results.unwrap()[0].eval_decision,
        PolicyEvaluationDecisionType::Allowed
    );

    assert_error(
        iam.simulate_principal_policy(
            &h.root,
            principal("arn:aws:iam::000000000000:user/nobody", &["s3:GetObject"]),
        )
        .await,
        "NoSuchEntity",
        "The user with name nobody cannot be found.",
    );
    assert_error(
        iam.simulate_principal_policy(
            &h.root,
            principal("arn:aws:iam::000000000000:role/nothing", &["s3:GetObject"]),
        )
        .await,
        "NoSuchEntity",
        "The role with name nothing cannot be found.",
    );
    assert_eq!(
        code(
            &iam.simulate_principal_policy(
                &h.root,
                principal("arn:aws:s3:::bucket", &["s3:GetObject"]),
            )
            .await
            .unwrap_err()
        ),
        "InvalidInput"
    );
}

/// A resource-based policy: it names a principal.
const TAGGED_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"x"}}}}"#;

#[tokio::test]
async fn context_keys_are_listed_once_in_document_order() {
    let h = Harness::new().await;
    let iam = h.iam();
    // The AWS CLI's documented example.
    let documented = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#;
    let ip = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"AWS:currenttime":"2030-01-01T00:00:00Z"}}}}"#;
    let keys = iam
        .get_context_keys_for_custom_policy(
            &h.root,
            GetContextKeysForCustomPolicyRequest {
                policy_input_list: vec![documented.into(), ip.into(), TAGGED_BUCKET.into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        keys.context_key_names.unwrap(),
        [
            "aws:username",
            "aws:CurrentTime",
            "aws:SourceIp",
            "aws:PrincipalTag/team"
        ]
    );
    assert_error(
        iam.get_context_keys_for_custom_policy(
            &h.root,
            GetContextKeysForCustomPolicyRequest {
                policy_input_list: vec!["[]".into()],
            },
        )
        .await,
        "InvalidInput",
        "Invalid policy document in PolicyInputList.1: Syntax errors in policy.",
    );

    alice(&h).await;
    let keys = iam
        .get_context_keys_for_principal_policy(
            &h.root,
            GetContextKeysForPrincipalPolicyRequest {
                policy_source_arn: ALICE.into(),
                policy_input_list: Some(vec![ip.into()]),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        keys.context_key_names.unwrap(),
        ["aws:SecureTransport", "aws:SourceIp", "AWS:currenttime"]
    );
    assert_error(
        iam.get_context_keys_for_principal_policy(
            &h.root,
            GetContextKeysForPrincipalPolicyRequest {
                policy_source_arn: "arn:aws:iam::000000000000:group/none".into(),
                policy_input_list: None,
            },
        )
        .await,
        "NoSuchEntity",
        "The group with name none cannot be found.",
    );
}
