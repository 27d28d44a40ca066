//! The five policies the issue names, end to end: parsed as IAM would receive them and decided
//! for the requests they are written to allow or refuse.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use palisade_policy::*;

const ACCOUNT: &str = "111122223333";
const USER: &str = "arn:aws:iam::111122223333:user/alice";

fn parse(kind: PolicyKind, text: &str) -> Policy {
    Policy::parse_with(text, &ParseOptions::new(kind)).unwrap()
}

fn decide(
    identity: &[&Policy],
    scps: &[Vec<&Policy>],
    action: &str,
    resource: &str,
    context: &Context<'_>,
) -> Verdict {
    let request = Request {
        principal: Principal::user(USER),
        action,
        resource,
        context,
    };
    let set = PolicySet {
        identity,
        scps,
        principal_account: ACCOUNT,
        resource_account: ACCOUNT,
        ..PolicySet::default()
    };
    evaluate(&request, &set).effect()
}

fn allow_all() -> Policy {
    Policy::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )
    .unwrap()
}

#[test]
fn deny_outside_the_corporate_network() {
    // The IAM User Guide's "AWS: Denies access to AWS based on the source IP".
    let guard = parse(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},
                         "Bool":{"aws:ViaAWSService":"false"}}}}"#,
    );
    let full = allow_all();
    let policies = [&full, &guard];
    let inside = Context::new()
        .with("aws:SourceIp", "192.0.2.44")
        .with("aws:ViaAWSService", "false");
    let outside = Context::new()
        .with("aws:SourceIp", "198.51.100.1")
        .with("aws:ViaAWSService", "false");
    let via_service = Context::new()
        .with("aws:SourceIp", "198.51.100.1")
        .with("aws:ViaAWSService", "true");
    assert_eq!(
        decide(&policies, &[], "s3:ListBucket", "arn:aws:s3:::b", &inside),
        Verdict::Allow
    );
    assert_eq!(
        decide(&policies, &[], "s3:ListBucket", "arn:aws:s3:::b", &outside),
        Verdict::ExplicitDeny
    );
    assert_eq!(
        decide(
            &policies,
            &[],
            "s3:ListBucket",
            "arn:aws:s3:::b",
            &via_service
        ),
        Verdict::Allow
    );
    // Through a VPC endpoint aws:SourceIp is absent; a negated operator on a missing key is
    // true, so the Deny applies.
    let no_ip = Context::new().with("aws:ViaAWSService", "false");
    assert_eq!(
        decide(&policies, &[], "s3:ListBucket", "arn:aws:s3:::b", &no_ip),
        Verdict::ExplicitDeny
    );
}

#[test]
fn deny_requests_outside_approved_regions() {
    // The Organizations example SCP "Deny access to AWS based on the requested AWS Region".
    let full = allow_all();
    let regions = parse(
        PolicyKind::ServiceControl,
        r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"DenyAllOutsideEU","Effect":"Deny",
             "NotAction":["iam:*","organizations:*","route53:*","cloudfront:*","sts:*","support:*"],
             "Resource":"*",
             "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1","eu-west-1"]}}}]}"#,
    );
    let identity = [&full];
    let scps = [vec![&full], vec![&full, &regions]];
    let frankfurt = Context::new().with("aws:RequestedRegion", "eu-central-1");
    let virginia = Context::new().with("aws:RequestedRegion", "us-east-1");
    let instance = "arn:aws:ec2:us-east-1:111122223333:instance/*";
    assert_eq!(
        decide(&identity, &scps, "ec2:RunInstances", instance, &frankfurt),
        Verdict::Allow
    );
    assert_eq!(
        decide(&identity, &scps, "ec2:RunInstances", instance, &virginia),
        Verdict::ExplicitDeny
    );
    assert_eq!(
        decide(&identity, &scps, "iam:CreateUser", "*", &virginia),
        Verdict::Allow,
        "global services are exempt"
    );
}

#[test]
fn resource_tag_must_match_the_principals_department() {
    // Attribute-based access control: "${aws:PrincipalTag/Department}" resolved per request.
    let abac = parse(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ec2:StartInstances","ec2:StopInstances"],
            "Resource":"arn:aws:ec2:*:*:instance/*",
            "Condition":{"StringEquals":{"ec2:ResourceTag/Project":"${aws:PrincipalTag/Department}"}}}}"#,
    );
    let policies = [&abac];
    let instance = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc";
    let matching = Context::new()
        .with("aws:PrincipalTag/Department", "Apollo")
        .with("ec2:ResourceTag/Project", "Apollo");
    let other = Context::new()
        .with("aws:PrincipalTag/Department", "Apollo")
        .with("ec2:ResourceTag/Project", "Gemini");
    let untagged_principal = Context::new().with("ec2:ResourceTag/Project", "Apollo");
    assert_eq!(
        decide(&policies, &[], "ec2:StartInstances", instance, &matching),
        Verdict::Allow
    );
    assert_eq!(
        decide(&policies, &[], "ec2:StartInstances", instance, &other),
        Verdict::ImplicitDeny
    );
    // The variable cannot resolve: the statement is invalid, so it allows nothing.
    assert_eq!(
        decide(
            &policies,
            &[],
            "ec2:StartInstances",
            instance,
            &untagged_principal
        ),
        Verdict::ImplicitDeny
    );
}

#[test]
fn deny_without_mfa_when_the_key_is_absent_or_false() {
    // "BoolIfExists … aws:MultiFactorAuthPresent false": denies long-term access keys (key
    // absent) and sessions without MFA (false), allows sessions with MFA.
    let mfa = parse(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":{"Sid":"DenyWithoutMFA","Effect":"Deny","Action":"iam:*","Resource":"*",
            "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}}"#,
    );
    let full = allow_all();
    let policies = [&full, &mfa];
    let absent = Context::new();
    let without = Context::new().with("aws:MultiFactorAuthPresent", "false");
    let with = Context::new().with("aws:MultiFactorAuthPresent", "true");
    assert_eq!(
        decide(&policies, &[], "iam:CreateUser", "*", &absent),
        Verdict::ExplicitDeny
    );
    assert_eq!(
        decide(&policies, &[], "iam:CreateUser", "*", &without),
        Verdict::ExplicitDeny
    );
    assert_eq!(
        decide(&policies, &[], "iam:CreateUser", "*", &with),
        Verdict::Allow
    );
}

#[test]
fn a_bucket_shared_only_with_the_organization() {
    // A resource policy limited by aws:PrincipalOrgID: principals of any account of the
    // organization, and only those, get the object (with their own identity policy).
    let bucket = parse(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject",
            "Resource":"arn:aws:s3:::shared/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}"#,
    );
    let read = Policy::parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#).unwrap();
    let identity = [&read];
    let decide_for = |org: &str| {
        let context = Context::new().with("aws:PrincipalOrgID", org);
        let request = Request {
            principal: Principal::user("arn:aws:iam::444455556666:user/bob"),
            action: "s3:GetObject",
            resource: "arn:aws:s3:::shared/report.csv",
            context: &context,
        };
        let set = PolicySet {
            identity: &identity,
            resource: Some(&bucket),
            principal_account: "444455556666",
            resource_account: ACCOUNT,
            ..PolicySet::default()
        };
        let decision = evaluate(&request, &set);
        (decision.effect(), decision.reason_text())
    };
    assert_eq!(decide_for("o-a1b2c3d4e5"), (Verdict::Allow, None));
    assert_eq!(
        decide_for("o-zzzzzzzzzz"),
        (
            Verdict::ImplicitDeny,
            Some("because no resource-based policy allows the s3:GetObject action".into())
        )
    );
}
