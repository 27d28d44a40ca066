//! Policy evaluation, layer by layer, each test pinned to the IAM User Guide statement it
//! checks ("Policy evaluation logic", "Cross-account policy evaluation logic", the Principal and
//! NotPrincipal element pages, "Troubleshooting access denied error messages").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use palisade_policy::*;

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";
const USER: &str = "arn:aws:iam::111122223333:user/alice";
const ROLE: &str = "arn:aws:iam::111122223333:role/app";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/s1";
const ROOT: &str = "arn:aws:iam::111122223333:root";
const BUCKET_OBJECT: &str = "arn:aws:s3:::bucket/report.csv";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

fn identity(text: &str) -> Policy {
    Policy::parse(text).unwrap()
}

fn of_kind(kind: PolicyKind, text: &str) -> Policy {
    Policy::parse_with(text, &ParseOptions::new(kind)).unwrap()
}

fn allow(action: &str) -> Policy {
    identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Sid":"Allow","Effect":"Allow","Action":"{action}","Resource":"*"}}}}"#
    ))
}

fn deny(action: &str) -> Policy {
    identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Sid":"Deny","Effect":"Deny","Action":"{action}","Resource":"*"}}}}"#
    ))
}

fn resource_policy(principal: &str, effect: &str, action: &str) -> Policy {
    of_kind(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Sid":"R","Effect":"{effect}","Principal":{principal},"Action":"{action}","Resource":"*"}}}}"#
        ),
    )
}

fn request<'a>(
    principal: Principal<'a>,
    action: &'a str,
    resource: &'a str,
    context: &'a Context<'a>,
) -> Request<'a> {
    Request {
        principal,
        action,
        resource,
        context,
    }
}

fn same_account<'a>() -> PolicySet<'a> {
    PolicySet {
        principal_account: ACCOUNT,
        resource_account: ACCOUNT,
        ..PolicySet::default()
    }
}

fn reason(decision: &Decision<'_>) -> String {
    decision.reason_text().unwrap_or_default()
}

#[test]
fn an_identity_policy_allow_is_needed_by_default() {
    // "By default, all requests are implicitly denied with the exception of the AWS account
    // root user" / "An explicit allow in an identity-based or resource-based policy overrides
    // this default."
    let context = Context::new();
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let decision = evaluate(&req, &same_account());
    assert_eq!(decision.effect(), Verdict::ImplicitDeny);
    assert_eq!(decision.outcome, Outcome::Denied(DeniedBy::NoIdentityAllow));
    assert_eq!(
        reason(&decision),
        "because no identity-based policy allows the s3:GetObject action"
    );

    let policies = [&allow("s3:Get*")];
    let set = PolicySet {
        identity: &policies,
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(
        decision.outcome,
        Outcome::Allowed(AllowedBy::IdentityPolicies)
    );
    assert_eq!(decision.matched.len(), 1);
    assert_eq!(decision.matched[0].sid(), Some("Allow"));
    assert_eq!(decision.reason_text(), None);
}

#[test]
fn an_explicit_deny_anywhere_overrides_every_allow() {
    // "An explicit deny in any policy overrides any allows."
    let context = Context::new();
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let (allow_all, deny_get) = (allow("*"), deny("s3:GetObject"));
    let policies = [&allow_all, &deny_get];
    let bucket = resource_policy(&format!(r#"{{"AWS":"{USER}"}}"#), "Allow", "s3:*");
    let set = PolicySet {
        identity: &policies,
        resource: Some(&bucket),
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(decision.effect(), Verdict::ExplicitDeny);
    let Outcome::Denied(DeniedBy::ExplicitDeny(statement)) = decision.outcome else {
        panic!("{decision:?}")
    };
    assert_eq!(
        (statement.layer, statement.policy_index, statement.sid()),
        (Layer::Identity, 1, Some("Deny"))
    );
    assert_eq!(
        reason(&decision),
        "with an explicit deny in an identity-based policy"
    );
    assert_eq!(
        decision.access_denied_message(USER, BUCKET_OBJECT).unwrap(),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: \
         arn:aws:s3:::bucket/report.csv with an explicit deny in an identity-based policy"
    );

    // A Deny in the resource-based policy wins over the identity allow too.
    let deny_bucket = resource_policy(r#""*""#, "Deny", "s3:GetObject");
    let only_allow = [&allow_all];
    let set = PolicySet {
        identity: &only_allow,
        resource: Some(&deny_bucket),
        ..same_account()
    };
    assert_eq!(
        reason(&evaluate(&req, &set)),
        "with an explicit deny in a resource-based policy"
    );
}

#[test]
fn a_permissions_boundary_must_allow_too() {
    // "the entity can perform only the actions that are allowed by both its identity-based
    // policies and its permissions boundaries".
    let context = Context::new();
    let req = request(Principal::user(USER), "kms:Decrypt", KEY, &context);
    let policies = [&allow("kms:*")];
    let narrow = allow("kms:Encrypt");
    let set = PolicySet {
        identity: &policies,
        boundary: Some(&narrow),
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::BoundaryImplicit)
    );
    assert_eq!(
        reason(&decision),
        "because no permissions boundary allows the kms:Decrypt action"
    );

    let wide = allow("kms:*");
    let set = PolicySet {
        identity: &policies,
        boundary: Some(&wide),
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());

    let denying = deny("kms:Decrypt");
    let set = PolicySet {
        identity: &policies,
        boundary: Some(&denying),
        ..same_account()
    };
    assert_eq!(
        reason(&evaluate(&req, &set)),
        "with an explicit deny in a permissions boundary"
    );

    // A boundary alone grants nothing.
    let set = PolicySet {
        boundary: Some(&wide),
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::NoIdentityAllow)
    );
}

#[test]
fn session_policies_limit_sessions() {
    // "If a session policy is present and does not allow the requested action, then the request
    // is implicitly denied." / "If there is no session policy, the code checks whether the
    // principal is a role session. If the principal is a role session, then the request is
    // Allowed. Otherwise, the request is implicitly denied".
    let context = Context::new();
    let role_policies = [&allow("s3:*")];
    let session = Principal::assumed_role(SESSION, ROLE);
    let req = request(session, "s3:PutObject", BUCKET_OBJECT, &context);
    let read_only = allow("s3:Get*");
    let sessions = [&read_only];
    let set = PolicySet {
        identity: &role_policies,
        session: &sessions,
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(decision.outcome, Outcome::Denied(DeniedBy::SessionImplicit));
    assert_eq!(
        reason(&decision),
        "because no session policy allows the s3:PutObject action"
    );

    let set = PolicySet {
        identity: &role_policies,
        ..same_account()
    };
    assert!(
        evaluate(&req, &set).is_allowed(),
        "a role session without a session policy"
    );

    let federated = Principal::federated_user("arn:aws:sts::111122223333:federated-user/bob", USER);
    let req = request(federated, "s3:GetObject", BUCKET_OBJECT, &context);
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::SessionImplicit),
        "a federated user needs one"
    );
    let set = PolicySet {
        identity: &role_policies,
        session: &sessions,
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());

    // Session policies are ignored for principals that are not sessions.
    let req = request(
        Principal::user(USER),
        "s3:PutObject",
        BUCKET_OBJECT,
        &context,
    );
    assert!(evaluate(&req, &set).is_allowed());
}

#[test]
fn every_scp_level_must_allow() {
    // "If the enforcement code does not find any applicable Allow statements in the SCPs, then
    // the request is implicitly denied"; SCPs at the root, each OU and the account all filter.
    let context = Context::new();
    let req = request(Principal::user(USER), "ec2:RunInstances", "*", &context);
    let full = allow("*");
    let only_s3 = allow("s3:*");
    let policies = [&full];
    let levels = [vec![&full], vec![&only_s3]];
    let set = PolicySet {
        identity: &policies,
        scps: &levels,
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::ScpImplicit { level: 1 })
    );
    assert_eq!(
        reason(&decision),
        "because no service control policy allows the ec2:RunInstances action"
    );

    let deny_ec2 = deny("ec2:*");
    let levels = [vec![&full], vec![&full, &deny_ec2]];
    let set = PolicySet {
        identity: &policies,
        scps: &levels,
        ..same_account()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(
        reason(&decision),
        "with an explicit deny in a service control policy"
    );
    let Outcome::Denied(DeniedBy::ExplicitDeny(statement)) = decision.outcome else {
        panic!()
    };
    assert_eq!(
        (statement.layer, statement.policy_index),
        (Layer::Scp { level: 1 }, 1)
    );

    // "SCPs don't affect users or roles in the management account."
    let set = PolicySet {
        identity: &policies,
        scps: &levels,
        organizations: Organizations {
            principal_in_management_account: true,
            ..Organizations::default()
        },
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());

    // Nor service-linked roles.
    let linked = Principal::assumed_role(
        "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForSupport/s",
        "arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
    );
    let req = request(linked, "ec2:RunInstances", "*", &context);
    let set = PolicySet {
        identity: &policies,
        scps: &levels,
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());
}

#[test]
fn the_root_user_is_bypassed_by_identity_policies_but_not_by_scps_or_denies() {
    // "By default, all requests are implicitly denied with the exception of the AWS account
    // root user, which has full access." / "The SCP maximum applies to principals in member
    // accounts, including each AWS account root user."
    let context = Context::new();
    let root = Principal::root(ROOT);
    let req = request(root, "s3:DeleteBucket", "arn:aws:s3:::bucket", &context);
    assert_eq!(
        evaluate(&req, &same_account()).outcome,
        Outcome::Allowed(AllowedBy::RootUser)
    );

    let only_s3_read = allow("s3:Get*");
    let levels = [vec![&only_s3_read]];
    let set = PolicySet {
        scps: &levels,
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::ScpImplicit { level: 0 })
    );

    let deny_delete = resource_policy(r#""*""#, "Deny", "s3:DeleteBucket");
    let set = PolicySet {
        resource: Some(&deny_delete),
        ..same_account()
    };
    assert_eq!(evaluate(&req, &set).effect(), Verdict::ExplicitDeny);

    // Another account's resource: its resource-based policy must name the account.
    let cross = PolicySet {
        principal_account: ACCOUNT,
        resource_account: OTHER,
        ..PolicySet::default()
    };
    assert_eq!(
        evaluate(&req, &cross).outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
    let shared = resource_policy(&format!(r#"{{"AWS":"{ACCOUNT}"}}"#), "Allow", "s3:*");
    let cross = PolicySet {
        resource: Some(&shared),
        ..cross
    };
    assert!(evaluate(&req, &cross).is_allowed());
}

#[test]
fn same_account_resource_policies_depend_on_whom_they_name() {
    let context = Context::new();
    let narrow = allow("kms:Encrypt");

    // "resource-based policies that grant permissions to an IAM user ARN … are not limited by
    // an implicit deny in an identity-based policy or permissions boundary."
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let names_user = resource_policy(&format!(r#"{{"AWS":"{USER}"}}"#), "Allow", "s3:GetObject");
    let set = PolicySet {
        resource: Some(&names_user),
        boundary: Some(&narrow),
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Allowed(AllowedBy::ResourcePolicy(Grant::Direct))
    );

    // "Resource-based policies that grant permissions to an IAM role ARN are limited by an
    // implicit deny in a permissions boundary or session policy."
    let session = Principal::assumed_role(SESSION, ROLE);
    let req = request(session, "s3:GetObject", BUCKET_OBJECT, &context);
    let names_role = resource_policy(&format!(r#"{{"AWS":"{ROLE}"}}"#), "Allow", "s3:GetObject");
    let set = PolicySet {
        resource: Some(&names_role),
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Allowed(AllowedBy::ResourcePolicy(Grant::Entity))
    );
    let set = PolicySet {
        resource: Some(&names_role),
        boundary: Some(&narrow),
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::BoundaryImplicit)
    );
    let sessions = [&narrow];
    let set = PolicySet {
        resource: Some(&names_role),
        session: &sessions,
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::SessionImplicit)
    );

    // "Permissions granted directly to a session are not limited by an implicit deny in an
    // identity-based policy, a permissions boundary, or session policy."
    let names_session = resource_policy(
        &format!(r#"{{"AWS":"{SESSION}"}}"#),
        "Allow",
        "s3:GetObject",
    );
    let set = PolicySet {
        resource: Some(&names_session),
        boundary: Some(&narrow),
        session: &sessions,
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());

    // "When you use an AWS account identifier as the principal in a policy, you delegate
    // authority to the account. All identities inside the account can access the resource if
    // they have the appropriate IAM permissions attached".
    let names_account = resource_policy(
        &format!(r#"{{"AWS":"{ACCOUNT}"}}"#),
        "Allow",
        "s3:GetObject",
    );
    let set = PolicySet {
        resource: Some(&names_account),
        ..same_account()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::NoIdentityAllow)
    );
    let policies = [&allow("s3:GetObject")];
    let set = PolicySet {
        identity: &policies,
        resource: Some(&names_account),
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());
}

#[test]
fn cross_account_requests_need_both_sides() {
    // "The request is allowed only if both evaluations return a decision of Allow."
    let context = Context::new();
    let external = Principal::user("arn:aws:iam::444455556666:user/bob");
    let req = request(external, "s3:GetObject", BUCKET_OBJECT, &context);
    let grants = [&allow("s3:GetObject")];
    let bucket = resource_policy(&format!(r#"{{"AWS":"{OTHER}"}}"#), "Allow", "s3:GetObject");
    let base = PolicySet {
        principal_account: OTHER,
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };

    let decision = evaluate(
        &req,
        &PolicySet {
            identity: &grants,
            ..base
        },
    );
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
    assert_eq!(
        reason(&decision),
        "because no resource-based policy allows the s3:GetObject action"
    );

    let decision = evaluate(
        &req,
        &PolicySet {
            resource: Some(&bucket),
            ..base
        },
    );
    assert_eq!(decision.outcome, Outcome::Denied(DeniedBy::NoIdentityAllow));

    let decision = evaluate(
        &req,
        &PolicySet {
            identity: &grants,
            resource: Some(&bucket),
            ..base
        },
    );
    assert_eq!(
        decision.outcome,
        Outcome::Allowed(AllowedBy::IdentityAndResourcePolicies)
    );

    // Even a grant to the principal's own ARN does not replace its identity policy.
    let direct = resource_policy(
        r#"{"AWS":"arn:aws:iam::444455556666:user/bob"}"#,
        "Allow",
        "s3:GetObject",
    );
    let decision = evaluate(
        &req,
        &PolicySet {
            resource: Some(&direct),
            ..base
        },
    );
    assert_eq!(decision.outcome, Outcome::Denied(DeniedBy::NoIdentityAllow));

    // A resource policy naming a third account grants nothing.
    let third = resource_policy(r#"{"AWS":"999999999999"}"#, "Allow", "s3:GetObject");
    let decision = evaluate(
        &req,
        &PolicySet {
            identity: &grants,
            resource: Some(&third),
            ..base
        },
    );
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
}

#[test]
fn kms_key_policies_must_allow_or_delegate_to_the_account() {
    // "IAM role trust policies and KMS key policies are exceptions to this logic, because they
    // must explicitly allow access for principals."
    let context = Context::new();
    let req = request(Principal::user(USER), "kms:Decrypt", KEY, &context);
    let iam = [&allow("kms:Decrypt")];
    let kms = |key_policy| PolicySet {
        identity: &iam,
        resource: key_policy,
        special: Some(Special::KmsKeyPolicy),
        ..same_account()
    };

    // No key policy statement for the caller: IAM policies alone do nothing.
    let other_admin = of_kind(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let decision = evaluate(&req, &kms(Some(&other_admin)));
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
    assert_eq!(
        reason(&decision),
        "because no resource-based policy allows the kms:Decrypt action"
    );
    assert_eq!(
        evaluate(&req, &kms(None)).outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );

    // The default key policy delegates to the account root: IAM policies then count.
    let delegating = of_kind(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}"#,
    );
    assert!(evaluate(&req, &kms(Some(&delegating))).is_allowed());
    let without_iam = PolicySet {
        identity: &[],
        ..kms(Some(&delegating))
    };
    assert_eq!(
        evaluate(&req, &without_iam).outcome,
        Outcome::Denied(DeniedBy::NoIdentityAllow)
    );

    // A key policy naming the user allows on its own.
    let direct = resource_policy(&format!(r#"{{"AWS":"{USER}"}}"#), "Allow", "kms:Decrypt");
    let direct_only = PolicySet {
        identity: &[],
        ..kms(Some(&direct))
    };
    assert!(evaluate(&req, &direct_only).is_allowed());

    // The root user needs the key policy to name the account, like everyone else.
    let root_req = request(Principal::root(ROOT), "kms:Decrypt", KEY, &context);
    assert_eq!(
        evaluate(&root_req, &kms(Some(&other_admin))).outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
    assert!(evaluate(&root_req, &kms(Some(&delegating))).is_allowed());
}

#[test]
fn role_trust_policies_must_allow_assume_role() {
    let context = Context::new();
    let role = "arn:aws:iam::111122223333:role/deploy";
    let trust = |principal: &str| {
        of_kind(
            PolicyKind::Trust,
            &format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}}}"#
            ),
        )
    };
    let assume = [&allow("sts:AssumeRole")];
    let set = |policy, identity| PolicySet {
        identity,
        resource: policy,
        special: Some(Special::RoleTrust),
        ..same_account()
    };

    // A trust policy naming the user: enough within the account.
    let names_user = trust(&format!(r#"{{"AWS":"{USER}"}}"#));
    let req = request(Principal::user(USER), "sts:AssumeRole", role, &context);
    assert!(evaluate(&req, &set(Some(&names_user), &[])).is_allowed());

    // Naming the account delegates: the user's identity policy must allow sts:AssumeRole.
    let names_account = trust(&format!(r#"{{"AWS":"{ACCOUNT}"}}"#));
    assert_eq!(
        evaluate(&req, &set(Some(&names_account), &[])).outcome,
        Outcome::Denied(DeniedBy::NoIdentityAllow)
    );
    assert!(evaluate(&req, &set(Some(&names_account), &assume)).is_allowed());

    // Without a trust policy allow, an identity policy allow is not enough.
    let names_other = trust(r#"{"AWS":"arn:aws:iam::111122223333:user/mallory"}"#);
    let decision = evaluate(&req, &set(Some(&names_other), &assume));
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );
    assert_eq!(
        reason(&decision),
        "because no role trust policy allows the sts:AssumeRole action"
    );

    // A service principal needs only the trust policy.
    let ec2 = trust(r#"{"Service":"ec2.amazonaws.com"}"#);
    let req = request(
        Principal::service("ec2.amazonaws.com"),
        "sts:AssumeRole",
        role,
        &context,
    );
    assert!(evaluate(&req, &set(Some(&ec2), &[])).is_allowed());

    // Across accounts the caller's own account must allow sts:AssumeRole as well.
    let external = Principal::user("arn:aws:iam::444455556666:user/bob");
    let req = request(external, "sts:AssumeRole", role, &context);
    let names_external = trust(&format!(r#"{{"AWS":"{OTHER}"}}"#));
    let cross = |identity| PolicySet {
        principal_account: OTHER,
        ..set(Some(&names_external), identity)
    };
    assert_eq!(
        evaluate(&req, &cross(&[])).outcome,
        Outcome::Denied(DeniedBy::NoIdentityAllow)
    );
    assert!(evaluate(&req, &cross(&assume)).is_allowed());

    let deny_trust = of_kind(
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}"#,
    );
    let req = request(Principal::user(USER), "sts:AssumeRole", role, &context);
    assert_eq!(
        reason(&evaluate(&req, &set(Some(&deny_trust), &assume))),
        "with an explicit deny in the role trust policy"
    );
}

#[test]
fn rcps_filter_access_to_member_account_resources() {
    // RCPs: "each level must allow"; "RCPs don't affect resources in the management account".
    let context = Context::new().with("aws:PrincipalOrgID", "o-other");
    let external = Principal::assumed_role(
        "arn:aws:sts::444455556666:assumed-role/x/s",
        "arn:aws:iam::444455556666:role/x",
    );
    let req = request(external, "s3:GetObject", BUCKET_OBJECT, &context);
    let full = of_kind(
        PolicyKind::ResourceControl,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
    );
    let perimeter = of_kind(
        PolicyKind::ResourceControl,
        r#"{"Version":"2012-10-17","Statement":{"Sid":"EnforceOrgIdentities","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-mine"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}}"#,
    );
    let grants = [&allow("s3:GetObject")];
    let bucket = resource_policy(r#""*""#, "Allow", "s3:GetObject");
    let levels = [vec![&full, &perimeter]];
    let set = PolicySet {
        identity: &grants,
        resource: Some(&bucket),
        rcps: &levels,
        principal_account: OTHER,
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };
    let decision = evaluate(&req, &set);
    assert_eq!(
        reason(&decision),
        "with an explicit deny in a resource control policy"
    );

    let mine = Context::new().with("aws:PrincipalOrgID", "o-mine");
    let req_mine = request(external, "s3:GetObject", BUCKET_OBJECT, &mine);
    assert!(evaluate(&req_mine, &set).is_allowed());

    // A level with nothing allowing is an implicit deny.
    let gap = [vec![&full], vec![&perimeter]];
    let set_gap = PolicySet { rcps: &gap, ..set };
    let decision = evaluate(&req_mine, &set_gap);
    assert_eq!(
        decision.outcome,
        Outcome::Denied(DeniedBy::RcpImplicit { level: 1 })
    );
    assert_eq!(
        reason(&decision),
        "because no resource control policy allows the s3:GetObject action"
    );

    let exempt = PolicySet {
        organizations: Organizations {
            resource_in_management_account: true,
            ..Organizations::default()
        },
        ..set
    };
    assert!(evaluate(&req, &exempt).is_allowed());
}

#[test]
fn not_principal_denies_everyone_not_fully_listed() {
    // "When you use NotPrincipal, you must also specify the account ARN of the not-denied
    // principal. Otherwise, the policy might deny access to the entire account".
    let context = Context::new();
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let grants = [&allow("s3:*")];
    let guard = |listed: &str| {
        of_kind(
            PolicyKind::Resource,
            &format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","NotPrincipal":{{"AWS":{listed}}},"Action":"s3:*","Resource":"*"}}}}"#
            ),
        )
    };
    let listed = guard(&format!(r#"["{USER}","{ROOT}"]"#));
    let set = PolicySet {
        identity: &grants,
        resource: Some(&listed),
        ..same_account()
    };
    assert!(evaluate(&req, &set).is_allowed());
    let user_only = guard(&format!(r#""{USER}""#));
    let set = PolicySet {
        identity: &grants,
        resource: Some(&user_only),
        ..same_account()
    };
    assert_eq!(evaluate(&req, &set).effect(), Verdict::ExplicitDeny);

    // "The NotPrincipal element with a Deny effect will always deny any IAM principal that has
    // a permissions boundary policy attached, regardless of the values specified".
    let boundary = allow("*");
    let set = PolicySet {
        identity: &grants,
        resource: Some(&listed),
        boundary: Some(&boundary),
        ..same_account()
    };
    assert_eq!(evaluate(&req, &set).effect(), Verdict::ExplicitDeny);
}

#[test]
fn anonymous_and_service_callers_need_a_resource_policy_naming_them() {
    let context = Context::new();
    let anonymous = Principal {
        arn: "anonymous",
        kind: PrincipalKind::Anonymous,
    };
    let req = request(anonymous, "s3:GetObject", BUCKET_OBJECT, &context);
    let public = resource_policy(r#""*""#, "Allow", "s3:GetObject");
    let set = PolicySet {
        resource: Some(&public),
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };
    assert!(evaluate(&req, &set).is_allowed());
    let private = resource_policy(
        &format!(r#"{{"AWS":"{ACCOUNT}"}}"#),
        "Allow",
        "s3:GetObject",
    );
    let set = PolicySet {
        resource: Some(&private),
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };
    assert_eq!(
        evaluate(&req, &set).outcome,
        Outcome::Denied(DeniedBy::ResourcePolicyImplicit)
    );

    let trail = Principal::service("cloudtrail.amazonaws.com");
    let req = request(trail, "s3:PutObject", BUCKET_OBJECT, &context);
    let logs = resource_policy(
        r#"{"Service":"cloudtrail.amazonaws.com"}"#,
        "Allow",
        "s3:PutObject",
    );
    let set = PolicySet {
        resource: Some(&logs),
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };
    assert!(evaluate(&req, &set).is_allowed());
}

#[test]
fn missing_condition_keys_are_reported() {
    let context = Context::new();
    let conditional = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalTag/Team":"blue"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#,
    );
    let policies = [&conditional];
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let decision = evaluate(
        &req,
        &PolicySet {
            identity: &policies,
            ..same_account()
        },
    );
    assert!(!decision.is_allowed());
    assert_eq!(decision.missing_keys, vec!["aws:PrincipalTag/Team"]);
}

#[test]
fn explanations_as_json() {
    let context = Context::new();
    let req = request(
        Principal::user(USER),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let named = deny("s3:*").named("arn:aws:iam::111122223333:policy/NoS3");
    let policies = [&named];
    let decision = evaluate(
        &req,
        &PolicySet {
            identity: &policies,
            ..same_account()
        },
    );
    let json = explain_json(&decision);
    assert_eq!(json["EvalActionName"], "s3:GetObject");
    assert_eq!(json["EvalDecision"], "explicitDeny");
    assert_eq!(
        json["Reason"],
        "with an explicit deny in an identity-based policy"
    );
    assert_eq!(json["DeniedBy"]["Type"], "ExplicitDeny");
    assert_eq!(
        json["MatchedStatements"][0]["SourcePolicyId"],
        "arn:aws:iam::111122223333:policy/NoS3"
    );
    assert_eq!(json["MatchedStatements"][0]["Sid"], "Deny");
    assert_eq!(json["MatchedStatements"][0]["Effect"], "Deny");
    assert_eq!(json["MissingContextValues"], serde_json::json!([]));

    let decision = evaluate(&req, &same_account());
    let json = explain_json(&decision);
    assert_eq!(json["EvalDecision"], "implicitDeny");
    assert_eq!(json["DeniedBy"]["Type"], "NoIdentityAllow");
    let root_req = request(
        Principal::root(ROOT),
        "s3:GetObject",
        BUCKET_OBJECT,
        &context,
    );
    let json = explain_json(&evaluate(&root_req, &same_account()));
    assert_eq!(json["EvalDecision"], "allowed");
    assert_eq!(json["AllowedBy"]["Type"], "RootUser");
    assert_eq!(json["Reason"], serde_json::Value::Null);
}
