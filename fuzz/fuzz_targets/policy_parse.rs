//! Arbitrary bytes as an IAM policy of every kind: parsing must never panic, and a policy that
//! parses must evaluate (in every place a policy can sit) and explain itself without panicking.
//!
//! Input layout: one byte choosing the kind (its value modulo 7) and whether IAM's managed
//! policy size quota applies (bit 7), then the document.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_policy::{
    Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request, Special, evaluate,
    explain_json, limits,
};

const KINDS: [PolicyKind; 7] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::ServiceControl,
    PolicyKind::ResourceControl,
    PolicyKind::Session,
    PolicyKind::Boundary,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, document)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let mut options = ParseOptions::new(kind);
    if selector & 0x80 != 0 {
        options = options.with_max_size(limits::MANAGED);
    }
    let text = String::from_utf8_lossy(document);
    let Ok(policy) = Policy::parse_with(&text, &options) else {
        return;
    };

    let mut context = Context::new()
        .with("aws:SourceIp", "203.0.113.9")
        .with("aws:username", "alice")
        .with("aws:PrincipalTag/Department", "Apollo")
        .with("aws:CurrentTime", "2025-01-01T00:00:00Z")
        .with("aws:MultiFactorAuthPresent", "false")
        .with("s3:max-keys", "10");
    context.insert_many("aws:TagKeys", ["env", "team"]);
    let principals = [
        Principal::user("arn:aws:iam::111122223333:user/alice"),
        Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/app/s1",
            "arn:aws:iam::111122223333:role/app",
        ),
        Principal::root("arn:aws:iam::111122223333:root"),
        Principal::service("ec2.amazonaws.com"),
    ];
    let one = [&policy];
    let levels = [vec![&policy]];
    for principal in principals {
        for special in [None, Some(Special::KmsKeyPolicy), Some(Special::RoleTrust)] {
            let request = Request {
                principal,
                action: "s3:GetObject",
                resource: "arn:aws:s3:::bucket/home/alice/report.csv",
                context: &context,
            };
            let set = PolicySet {
                identity: &one,
                resource: Some(&policy),
                boundary: Some(&policy),
                session: &one,
                scps: &levels,
                rcps: &levels,
                principal_account: "111122223333",
                resource_account: "111122223333",
                special,
                ..PolicySet::default()
            };
            let decision = evaluate(&request, &set);
            let _ = explain_json(&decision);
            let _ = decision.access_denied_message(principal.arn, request.resource);
        }
    }
});
