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

criterion_group!(benches, decision);
criterion_main!(benches);
