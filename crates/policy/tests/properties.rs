//! Properties of evaluation over generated policy sets:
//! - adding a Deny statement anywhere never turns a denial into an Allow, never turns an
//!   explicit deny into anything else, and can only change an Allow into an explicit deny;
//! - evaluation never panics, whatever document parsed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use palisade_policy::*;
use proptest::prelude::*;
use proptest::sample::select;

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "kms:Decrypt",
    "kms:*crypt",
    "iam:?et*",
    "sts:AssumeRole",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:s3:::${aws:username}/*",
    "arn:aws:*:*:*:*",
];
const CONDITIONS: &[&str] = &[
    r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#,
    r#"{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}"#,
    r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
    r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
    r#"{"ForAllValues:StringLike":{"aws:TagKeys":"env*"}}"#,
    r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}"#,
    r#"{"Null":{"aws:TokenIssueTime":"true"}}"#,
    r#"{"NumericLessThan":{"s3:max-keys":"10"}}"#,
    r#"{"StringEquals":{"aws:username":"${aws:PrincipalTag/team}"}}"#,
    r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#,
    r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/app/s1"}"#,
    r#"{"AWS":"444455556666"}"#,
    r#"{"Service":"ec2.amazonaws.com"}"#,
];

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    not_resource: bool,
    resources: Vec<&'static str>,
    condition: Option<&'static str>,
    principal: &'static str,
    not_principal: bool,
}

fn stmt(allow: impl Strategy<Value = bool>) -> impl Strategy<Value = Stmt> {
    (
        allow,
        any::<bool>(),
        prop::collection::vec(select(ACTIONS), 1..3),
        any::<bool>(),
        prop::collection::vec(select(RESOURCES), 1..3),
        prop::option::of(select(CONDITIONS)),
        select(PRINCIPALS),
        any::<bool>(),
    )
        .prop_map(
            |(
                allow,
                not_action,
                actions,
                not_resource,
                resources,
                condition,
                principal,
                not_principal,
            )| Stmt {
                allow,
                not_action: not_action && actions.len() == 1,
                actions,
                not_resource: not_resource && resources.len() == 1,
                resources,
                condition,
                principal,
                not_principal,
            },
        )
}

fn render(statements: &[Stmt], kind: PolicyKind) -> Policy {
    let json_list = |items: &[&str]| {
        format!(
            "[{}]",
            items
                .iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let body: Vec<String> = statements
        .iter()
        .map(|s| {
            let mut fields = vec![format!(
                r#""Effect":"{}""#,
                if s.allow { "Allow" } else { "Deny" }
            )];
            let not_action = s.not_action && kind != PolicyKind::ResourceControl;
            fields.push(format!(
                r#""{}":{}"#,
                if not_action { "NotAction" } else { "Action" },
                json_list(&s.actions)
            ));
            if kind != PolicyKind::Trust {
                fields.push(format!(
                    r#""{}":{}"#,
                    if s.not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    },
                    json_list(&s.resources)
                ));
            }
            match kind {
                PolicyKind::Resource => {
                    let negated = s.not_principal && !s.allow;
                    fields.push(format!(
                        r#""{}":{}"#,
                        if negated { "NotPrincipal" } else { "Principal" },
                        s.principal
                    ));
                }
                PolicyKind::Trust => fields.push(format!(r#""Principal":{}"#, s.principal)),
                PolicyKind::ResourceControl => fields.push(r#""Principal":"*""#.to_owned()),
                _ => {}
            }
            if let Some(condition) = s.condition {
                fields.push(format!(r#""Condition":{condition}"#));
            }
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        body.join(",")
    );
    Policy::parse_with(&text, &ParseOptions::new(kind)).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[derive(Debug, Clone)]
struct SetSpec {
    identity: Vec<Vec<Stmt>>,
    resource: Option<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    session: Vec<Vec<Stmt>>,
    scps: Vec<Vec<Vec<Stmt>>>,
    rcps: Vec<Vec<Vec<Stmt>>>,
    special: Option<Special>,
    cross_account: bool,
}

fn statements() -> impl Strategy<Value = Vec<Stmt>> {
    prop::collection::vec(stmt(prop::bool::weighted(0.85)), 1..4)
}

/// Statements for a policy that filters (a boundary, an SCP or RCP): often led by an allow-all
/// statement, as real ones are, so that requests get past them often enough to matter.
fn guardrail() -> impl Strategy<Value = Vec<Stmt>> {
    (any::<bool>(), statements()).prop_map(|(allow_all, mut statements)| {
        if allow_all {
            statements.insert(
                0,
                Stmt {
                    allow: true,
                    not_action: false,
                    actions: vec!["*"],
                    not_resource: false,
                    resources: vec!["*"],
                    condition: None,
                    principal: r#""*""#,
                    not_principal: false,
                },
            );
        }
        statements
    })
}

fn set_spec() -> impl Strategy<Value = SetSpec> {
    (
        prop::collection::vec(statements(), 0..3),
        prop::option::of(statements()),
        prop::option::of(guardrail()),
        prop::collection::vec(guardrail(), 0..2),
        prop::collection::vec(prop::collection::vec(guardrail(), 1..3), 0..3),
        prop::collection::vec(prop::collection::vec(guardrail(), 1..3), 0..2),
        prop::option::of(select(&[Special::RoleTrust, Special::KmsKeyPolicy][..])),
        any::<bool>(),
    )
        .prop_map(
            |(identity, resource, boundary, session, scps, rcps, special, cross_account)| SetSpec {
                identity,
                resource,
                boundary,
                session,
                scps,
                rcps,
                special,
                cross_account,
            },
        )
}

struct Built {
    identity: Vec<Policy>,
    resource: Option<Policy>,
    boundary: Option<Policy>,
    session: Vec<Policy>,
    scps: Vec<Vec<Policy>>,
    rcps: Vec<Vec<Policy>>,
}

fn build(spec: &SetSpec) -> Built {
    let resource_kind = if spec.special == Some(Special::RoleTrust) {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    };
    Built {
        identity: spec
            .identity
            .iter()
            .map(|s| render(s, PolicyKind::Identity))
            .collect(),
        resource: spec.resource.as_ref().map(|s| render(s, resource_kind)),
        boundary: spec
            .boundary
            .as_ref()
            .map(|s| render(s, PolicyKind::Boundary)),
        session: spec
            .session
            .iter()
            .map(|s| render(s, PolicyKind::Session))
            .collect(),
        scps: spec
            .scps
            .iter()
            .map(|level| {
                level
                    .iter()
                    .map(|s| render(s, PolicyKind::ServiceControl))
                    .collect()
            })
            .collect(),
        rcps: spec
            .rcps
            .iter()
            .map(|level| {
                level
                    .iter()
                    .map(|s| render(s, PolicyKind::ResourceControl))
                    .collect()
            })
            .collect(),
    }
}

fn decide(spec: &SetSpec, built: &Built, request: &Request<'_>) -> Verdict {
    let identity: Vec<&Policy> = built.identity.iter().collect();
    let session: Vec<&Policy> = built.session.iter().collect();
    let scps: Vec<Vec<&Policy>> = built
        .scps
        .iter()
        .map(|level| level.iter().collect())
        .collect();
    let rcps: Vec<Vec<&Policy>> = built
        .rcps
        .iter()
        .map(|level| level.iter().collect())
        .collect();
    let set = PolicySet {
        identity: &identity,
        resource: built.resource.as_ref(),
        boundary: built.boundary.as_ref(),
        session: &session,
        scps: &scps,
        rcps: &rcps,
        principal_account: "111122223333",
        resource_account: if spec.cross_account {
            "444455556666"
        } else {
            "111122223333"
        },
        special: spec.special,
        organizations: Organizations::default(),
    };
    evaluate(request, &set).effect()
}

fn principal(index: usize) -> Principal<'static> {
    match index {
        0 => Principal::user("arn:aws:iam::111122223333:user/alice"),
        1 => Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/app/s1",
            "arn:aws:iam::111122223333:role/app",
        ),
        2 => Principal::root("arn:aws:iam::111122223333:root"),
        3 => Principal::federated_user(
            "arn:aws:sts::111122223333:federated-user/f",
            "arn:aws:iam::111122223333:user/alice",
        ),
        _ => Principal::service("ec2.amazonaws.com"),
    }
}

fn context_strategy() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    prop::collection::vec(
        select(
            &[
                ("aws:PrincipalTag/team", "blue"),
                ("aws:PrincipalTag/team", "red"),
                ("aws:RequestedRegion", "us-east-1"),
                ("aws:RequestedRegion", "eu-west-1"),
                ("aws:MultiFactorAuthPresent", "true"),
                ("aws:MultiFactorAuthPresent", "false"),
                ("aws:SourceIp", "10.1.2.3"),
                ("aws:SourceIp", "192.0.2.1"),
                ("aws:TokenIssueTime", "2024-01-01T00:00:00Z"),
                ("s3:max-keys", "5"),
                ("aws:username", "blue"),
                ("aws:CurrentTime", "2024-05-01T00:00:00Z"),
            ][..],
        ),
        0..6,
    )
}

/// Where a new Deny statement goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    Identity,
    Resource,
    Boundary,
    Session,
    Scp,
    Rcp,
}

/// Appends a Deny statement to an existing policy of the target layer. (Creating a policy
/// would be another change: a new boundary or session policy holding only a Deny also stops
/// allowing what it does not mention.)
fn add_deny(spec: &mut SetSpec, target: Target, index: usize, deny: Stmt) {
    let pick = |policies: &mut Vec<Vec<Stmt>>| {
        let at = index % policies.len().max(1);
        if let Some(policy) = policies.get_mut(at) {
            policy.push(deny.clone());
        }
    };
    match target {
        Target::Identity => pick(&mut spec.identity),
        Target::Session => pick(&mut spec.session),
        Target::Resource => {
            if let Some(policy) = &mut spec.resource {
                policy.push(deny.clone());
            }
        }
        Target::Boundary => {
            if let Some(policy) = &mut spec.boundary {
                policy.push(deny.clone());
            }
        }
        Target::Scp | Target::Rcp => {
            let levels = if matches!(target, Target::Scp) {
                &mut spec.scps
            } else {
                &mut spec.rcps
            };
            let at = index % levels.len().max(1);
            if let Some(level) = levels.get_mut(at) {
                pick(level);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_never_grants(
        spec in set_spec(),
        deny in stmt(Just(false)),
        target in select(&[Target::Identity, Target::Resource, Target::Boundary, Target::Session, Target::Scp, Target::Rcp][..]),
        index in 0usize..3,
        who in 0usize..5,
        action in select(&["s3:GetObject", "s3:PutObject", "kms:Decrypt", "iam:GetUser", "sts:AssumeRole"][..]),
        resource in select(&["arn:aws:s3:::bucket/x", "arn:aws:s3:::bucket", "arn:aws:kms:us-east-1:111122223333:key/k", "*", "arn:aws:s3:::blue/x"][..]),
        pairs in context_strategy(),
    ) {
        let mut context = Context::new();
        for (key, value) in pairs {
            context.insert(key, value);
        }
        context.insert_many("aws:TagKeys", ["env-a", "team"]);
        let request = Request { principal: principal(who), action, resource, context: &context };
        let before = decide(&spec, &build(&spec), &request);
        let mut more = spec.clone();
        add_deny(&mut more, target, index, deny);
        let after = decide(&more, &build(&more), &request);
        match before {
            Verdict::Allow => prop_assert!(after == Verdict::Allow || after == Verdict::ExplicitDeny, "{after:?}"),
            Verdict::ImplicitDeny => prop_assert_ne!(after, Verdict::Allow),
            Verdict::ExplicitDeny => prop_assert_eq!(after, Verdict::ExplicitDeny),
        }
    }

    #[test]
    fn evaluation_never_panics_on_documents_that_parse(document in json_document(), kind in select(&[
        PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::ServiceControl,
        PolicyKind::ResourceControl, PolicyKind::Session, PolicyKind::Boundary,
    ][..]), who in 0usize..5) {
        let Ok(policy) = Policy::parse_with(&document, &ParseOptions::new(kind)) else {
            return Ok(());
        };
        let context = Context::new().with("aws:SourceIp", "10.0.0.1").with("aws:username", "alice");
        let request = Request { principal: principal(who), action: "s3:GetObject", resource: "arn:aws:s3:::bucket/x", context: &context };
        let one = [&policy];
        let levels = [vec![&policy]];
        let set = PolicySet {
            identity: &one,
            resource: Some(&policy),
            boundary: Some(&policy),
            session: &one,
            scps: &levels,
            rcps: &levels,
            principal_account: "111122223333",
            resource_account: "111122223333",
            special: None,
            organizations: Organizations::default(),
        };
        let decision = evaluate(&request, &set);
        let _ = explain_json(&decision);
        let _ = decision.reason_text();
    }
}

/// Policy-shaped JSON built from element names and values that are each sometimes right and
/// sometimes wrong.
fn json_document() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        select(
            &[
                "\"*\"",
                "\"Allow\"",
                "\"Deny\"",
                "\"s3:Get*\"",
                "\"arn:aws:s3:::b/*\"",
                "\"arn:aws:s3:::${aws:username}\"",
                "\"2012-10-17\"",
                "\"2008-10-17\"",
                "\"10.0.0.0/8\"",
                "\"true\"",
                "\"2020-01-01\"",
                "1",
                "true",
                "null",
                "\"111122223333\"",
                "\"${aws:username, 'x'}\"",
                "\"?*?\"",
                "\"\"",
            ][..]
        )
        .prop_map(str::to_owned),
        "\"[a-z:*?$/{}]{0,12}\"",
    ];
    let key = select(
        &[
            "Version",
            "Statement",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "Sid",
            "Id",
            "AWS",
            "Service",
            "StringEquals",
            "StringNotLike",
            "ForAllValues:StringLike",
            "IpAddress",
            "NotIpAddress",
            "Bool",
            "BoolIfExists",
            "Null",
            "NumericLessThan",
            "DateGreaterThan",
            "ArnLike",
            "aws:SourceIp",
            "aws:username",
            "aws:TagKeys",
            "bogus",
        ][..],
    );
    scalar.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|members| {
                let mut seen = std::collections::HashSet::new();
                let fields: Vec<String> = members
                    .into_iter()
                    .filter(|(k, _)| seen.insert(*k))
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}
