//! One realistic decision: a user with three managed policies, an inline policy and a group
//! policy, a permissions boundary, two SCP levels and a KMS key policy, with six conditions on
//! the path (a policy variable, an IP range, regions twice, an organization ID, a service),
//! deciding `kms:Decrypt` on a key. Run with
//! `cargo bench -p palisade-policy --bench decision`; the p50 is criterion's median.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark setup: a failure is a broken benchmark"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_policy::*;

const ACCOUNT: &str = "111122223333";
const USER: &str = "arn:aws:iam::111122223333:user/engineering/alice";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const MANAGED_READ_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOnly", "Effect": "Allow",
     "Action": ["s3:Get*", "s3:List*", "kms:Describe*", "kms:List*", "kms:Get*", "iam:Get*", "iam:List*", "ec2:Describe*"],
     "Resource": "*"}
  ]
}"#;

const MANAGED_KMS_USE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "UseKeysViaS3", "Effect": "Allow",
     "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
     "Resource": "arn:aws:kms:*:111122223333:key/*",
     "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"]}}}
  ]
}"#;

const MANAGED_MFA_GUARD: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DenyIamWithoutMFA", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
  ]
}"#;

const INLINE_ABAC: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DecryptOwnProjectKeys", "Effect": "Allow", "Action": "kms:Decrypt",
     "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/Project": "${aws:PrincipalTag/Department}"}}}
  ]
}"#;

const GROUP_NETWORK_GUARD: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DenyOutsideCorporateNetwork", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24", "2001:db8::/32"]},
                   "Bool": {"aws:ViaAWSService": "false"}}}
  ]
}"#;

const BOUNDARY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Boundary", "Effect": "Allow", "Action": ["s3:*", "kms:*", "iam:Get*", "iam:List*", "ec2:Describe*"],
     "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}
  ]
}"#;

const SCP_ROOT: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]
}"#;

const SCP_OU: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "DenyOutsideRegions", "Effect": "Deny",
     "NotAction": ["iam:*", "organizations:*", "route53:*", "cloudfront:*", "sts:*", "support:*"],
     "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}},
    {"Sid": "ProtectKeys", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*"}
  ]
}"#;

const KEY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow administration", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmins"},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*"],
     "Resource": "*"},
    {"Sid": "Deny outside the organization", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
  ]
}"#;

fn parse(kind: PolicyKind, text: &str) -> Policy {
    Policy::parse_with(text, &ParseOptions::new(kind)).unwrap()
}

fn decision(c: &mut Criterion) {
    let managed = [
        parse(PolicyKind::Identity, MANAGED_READ_ONLY),
        parse(PolicyKind::Identity, MANAGED_KMS_USE),
        parse(PolicyKind::Identity, MANAGED_MFA_GUARD),
    ];
    let inline = parse(PolicyKind::Identity, INLINE_ABAC);
    let group = parse(PolicyKind::Identity, GROUP_NETWORK_GUARD);
    let boundary = parse(PolicyKind::Boundary, BOUNDARY);
    let scp_root = parse(PolicyKind::ServiceControl, SCP_ROOT);
    let scp_ou = parse(PolicyKind::ServiceControl, SCP_OU);
    let key_policy = parse(PolicyKind::Resource, KEY_POLICY);

    let identity = [&managed[0], &managed[1], &managed[2], &inline, &group];
    let scps = [vec![&scp_root], vec![&scp_ou]];
    let set = PolicySet {
        identity: &identity,
        resource: Some(&key_policy),
        boundary: Some(&boundary),
        scps: &scps,
        principal_account: ACCOUNT,
        resource_account: ACCOUNT,
        special: Some(Special::KmsKeyPolicy),
        ..PolicySet::default()
    };
    let context = Context::new()
        .with("aws:SourceIp", "203.0.113.25")
        .with("aws:ViaAWSService", "false")
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:PrincipalOrgID", "o-a1b2c3d4e5")
        .with("aws:PrincipalTag/Department", "Apollo")
        .with("aws:ResourceTag/Project", "Apollo")
        .with("kms:ViaService", "s3.us-east-1.amazonaws.com")
        .with("aws:MultiFactorAuthPresent", "true")
        .with("aws:username", "alice")
        .with("aws:userid", "AIDAJQABLZS4A3QDU576Q")
        .with("aws:PrincipalArn", USER)
        .with("aws:PrincipalAccount", ACCOUNT)
        .with("aws:SecureTransport", "true")
        .with("aws:CurrentTime", "2025-06-01T12:00:00Z");
    let request = Request {
        principal: Principal::user(USER),
        action: "kms:Decrypt",
        resource: KEY,
        context: &context,
    };
    assert!(evaluate(&request, &set).is_allowed());

    c.bench_function("decision/kms_decrypt_allowed", |b| {
        b.iter(|| evaluate(black_box(&request), black_box(&set)))
    });

    let outside = context.clone().with("aws:SourceIp", "198.51.100.7");
    let denied = Request {
        context: &outside,
        ..request
    };
    assert!(!evaluate(&denied, &set).is_allowed());
    c.bench_function("decision/kms_decrypt_explicit_deny", |b| {
        b.iter(|| evaluate(black_box(&denied), black_box(&set)))
    });

    c.bench_function("parse/key_policy", |b| {
        b.iter(|| {
            Policy::parse_with(
                black_box(KEY_POLICY),
                &ParseOptions::new(PolicyKind::Resource),
            )
        })
    });
}

/// Cedar deciding the same request against an equivalent policy set (IAM's layers expressed as
/// permits and forbid-unless rules), in the same binary, for the issue's "≥ 3× faster than
/// cedar-policy" target. Run with
/// `cargo bench -p palisade-policy --features cedar-comparison --bench decision`.
#[cfg(feature = "cedar-comparison")]
mod cedar {
    use std::hint::black_box;

    use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
    use criterion::Criterion;

    // The palisade-policy benchmark's policy set, expressed in Cedar: permits for the identity
    // policies, forbids for denies and for the intersections (boundary, SCP, key-policy perimeter).
    const POLICIES: &str = r#"
    permit(principal, action in [Action::"s3:GetObject", Action::"s3:ListBucket", Action::"kms:DescribeKey", Action::"kms:ListKeys", Action::"kms:GetKeyPolicy", Action::"iam:GetUser", Action::"iam:ListUsers", Action::"ec2:DescribeInstances"], resource);
    permit(principal, action in [Action::"kms:Decrypt", Action::"kms:Encrypt", Action::"kms:GenerateDataKey", Action::"kms:ReEncryptFrom"], resource is Key)
      when { ["s3.us-east-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"].contains(context.viaService) };
    forbid(principal, action in [Action::"iam:GetUser", Action::"iam:ListUsers", Action::"iam:CreateUser"], resource)
      unless { context has mfa && context.mfa };
    permit(principal, action == Action::"kms:Decrypt", resource is Key)
      when { resource has project && principal has department && resource.project == principal.department };
    forbid(principal, action, resource)
      unless { context.sourceIp.isInRange(ip("192.0.2.0/24")) || context.sourceIp.isInRange(ip("203.0.113.0/24")) || context.sourceIp.isInRange(ip("2001:db8::/32")) || context.viaAWSService };
    forbid(principal, action, resource)
      unless { ["us-east-1", "eu-west-1"].contains(context.requestedRegion) };
    forbid(principal, action, resource)
      unless { ["us-east-1", "eu-west-1"].contains(context.requestedRegion) };
    forbid(principal, action in [Action::"kms:ScheduleKeyDeletion", Action::"kms:DisableKey"], resource);
    forbid(principal, action, resource is Key)
      unless { context.principalOrgId == "o-a1b2c3d4e5" };
    "#;

    const ENTITIES: &str = r#"[
      {"uid": {"type": "User", "id": "alice"}, "attrs": {"department": "Apollo"}, "parents": [{"type": "Group", "id": "engineering"}]},
      {"uid": {"type": "Group", "id": "engineering"}, "attrs": {}, "parents": []},
      {"uid": {"type": "Key", "id": "1234abcd"}, "attrs": {"project": "Apollo"}, "parents": []}
    ]"#;

    fn context(ip: &str) -> Context {
        Context::from_json_str(
            &format!(
                r#"{{
          "sourceIp": {{"__extn": {{"fn": "ip", "arg": "{ip}"}}}},
          "viaAWSService": false,
          "requestedRegion": "us-east-1",
          "principalOrgId": "o-a1b2c3d4e5",
          "viaService": "s3.us-east-1.amazonaws.com",
          "mfa": true,
          "username": "alice",
          "secureTransport": true
        }}"#
            ),
            None,
        )
        .unwrap()
    }

    pub fn bench(c: &mut Criterion) {
        let policies: PolicySet = POLICIES.parse().unwrap();
        let entities = Entities::from_json_str(ENTITIES, None).unwrap();
        let principal: EntityUid = r#"User::"alice""#.parse().unwrap();
        let action: EntityUid = r#"Action::"kms:Decrypt""#.parse().unwrap();
        let resource: EntityUid = r#"Key::"1234abcd""#.parse().unwrap();
        let authorizer = Authorizer::new();
        let allowed = Request::new(
            principal.clone(),
            action.clone(),
            resource.clone(),
            context("203.0.113.25"),
            None,
        )
        .unwrap();
        assert_eq!(
            authorizer
                .is_authorized(&allowed, &policies, &entities)
                .decision(),
            Decision::Allow
        );
        c.bench_function("cedar/kms_decrypt_allowed", |b| {
            b.iter(|| {
                authorizer.is_authorized(
                    black_box(&allowed),
                    black_box(&policies),
                    black_box(&entities),
                )
            })
        });
        let denied =
            Request::new(principal, action, resource, context("198.51.100.7"), None).unwrap();
        assert_eq!(
            authorizer
                .is_authorized(&denied, &policies, &entities)
                .decision(),
            Decision::Deny
        );
        c.bench_function("cedar/kms_decrypt_denied", |b| {
            b.iter(|| {
                authorizer.is_authorized(
                    black_box(&denied),
                    black_box(&policies),
                    black_box(&entities),
                )
            })
        });
    }
}

#[cfg(not(feature = "cedar-comparison"))]
criterion_group!(benches, decision);
#[cfg(feature = "cedar-comparison")]
criterion_group!(benches, decision, cedar::bench);
criterion_main!(benches);
