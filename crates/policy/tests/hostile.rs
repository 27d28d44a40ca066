//! Hostile documents are refused (or decided) after bounded work. The bounds are structural —
//! the size cap is checked before reading, nesting is refused where it happens, matching is
//! O(pattern × input) (asserted step by step in the glob unit tests) — so these tests check the
//! answers, not the clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use palisade_policy::*;

fn malformed(text: &str) -> String {
    match Policy::parse(text) {
        Err(PolicyError::Malformed(message)) => message,
        other => panic!("expected MalformedPolicyDocument, got {other:?}"),
    }
}

#[test]
fn deep_nesting_is_refused() {
    assert_eq!(malformed(&"[".repeat(100_000)), "Syntax errors in policy.");
    assert_eq!(
        malformed(&"{\"a\":".repeat(20_000)),
        "Syntax errors in policy."
    );
    let nested_value = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:k":{}"v"{}}}}}}}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_eq!(malformed(&nested_value), "Syntax errors in policy.");
}

#[test]
fn ten_megabytes_are_refused_before_reading() {
    let huge = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Sid":"{}"}}}}"#,
        "a".repeat(10 * 1024 * 1024)
    );
    let error = Policy::parse(&huge).unwrap_err();
    assert_eq!(error.code(), "LimitExceeded");
    let quota = ParseOptions::new(PolicyKind::Identity).with_max_size(limits::MANAGED);
    assert_eq!(
        Policy::parse_with(&huge, &quota).unwrap_err().message(),
        "Cannot exceed quota for PolicySize: 6144"
    );
    // Whitespace does not count, but it cannot hide a large document either.
    let padded = format!("{}{}", " ".repeat(10 * 1024 * 1024), r#"{"Statement":[]}"#);
    assert_eq!(Policy::parse(&padded).unwrap_err().code(), "LimitExceeded");
}

#[test]
fn thousands_of_wildcards_match_in_bounded_work() {
    let pattern = "*?".repeat(2_000);
    let policy = Policy::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:{pattern}","Resource":"arn:aws:s3:::{pattern}",
            "Condition":{{"StringLike":{{"aws:UserAgent":"{pattern}x"}},"ArnLike":{{"aws:SourceArn":"arn:aws:s3:::{pattern}"}}}}}}}}"#
    ))
    .unwrap();
    let long = "a".repeat(10_000);
    let resource = format!("arn:aws:s3:::{long}");
    let context = Context::new()
        .with("aws:UserAgent", long.as_str())
        .with("aws:SourceArn", resource.as_str());
    let action = format!("s3:{long}");
    let request = Request {
        principal: Principal::user("arn:aws:iam::111122223333:user/u"),
        action: &action,
        resource: &resource,
        context: &context,
    };
    let policies = [&policy];
    let set = PolicySet {
        identity: &policies,
        principal_account: "111122223333",
        resource_account: "111122223333",
        ..PolicySet::default()
    };
    let decision = evaluate(&request, &set);
    // The user agent does not end in "x", so the statement does not apply.
    assert_eq!(decision.effect(), Verdict::ImplicitDeny);
}

#[test]
fn invalid_typed_values_are_refused() {
    for (operator, value) in [
        ("IpAddress", "10.0.0.0/40"),
        ("NotIpAddress", "10.0.0"),
        ("IpAddress", "fe80::/200"),
        ("DateGreaterThan", "2020-02-30"),
        ("DateLessThan", "next tuesday"),
        ("NumericLessThan", "1e9"),
        ("NumericEquals", "0x10"),
        ("BinaryEquals", "%%%"),
        ("Bool", "maybe"),
    ] {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"{operator}":{{"aws:k":"{value}"}}}}}}}}"#
        );
        let message = malformed(&text);
        assert!(
            message.starts_with(&format!("Invalid Condition value for {operator}")),
            "{operator} {value}: {message}"
        );
    }
}

#[test]
fn unknown_operators_are_refused() {
    for operator in [
        "StringEqualsAnyCase",
        "NumericBetween",
        "ForEveryValue:StringEquals",
        "StringLikeIfExistss",
        "Nul",
    ] {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"{operator}":{{"aws:k":"v"}}}}}}}}"#
        );
        assert_eq!(
            malformed(&text),
            format!("Invalid Condition type : {operator}")
        );
    }
}

#[test]
fn many_statements_parse_and_evaluate() {
    let statements: Vec<String> = (0..1_000)
        .map(|i| format!(r#"{{"Sid":"S{i}","Effect":"Allow","Action":"s3:Get{i}","Resource":"arn:aws:s3:::b{i}/*"}}"#))
        .collect();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    let policy = Policy::parse(&text).unwrap();
    let context = Context::new();
    let request = Request {
        principal: Principal::user("arn:aws:iam::111122223333:user/u"),
        action: "s3:Get999",
        resource: "arn:aws:s3:::b999/x",
        context: &context,
    };
    let policies = [&policy];
    let set = PolicySet {
        identity: &policies,
        principal_account: "1",
        resource_account: "1",
        ..PolicySet::default()
    };
    assert!(evaluate(&request, &set).is_allowed());
}
