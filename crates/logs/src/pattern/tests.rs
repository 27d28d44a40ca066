//! The parser and matcher on AWS's documented examples, and on hostile patterns.

use super::*;

fn parse(text: &str) -> FilterPattern {
    FilterPattern::parse(text).unwrap()
}

fn rejects(text: &str) -> String {
    FilterPattern::parse(text).unwrap_err().to_string()
}

#[test]
fn an_empty_pattern_matches_everything() {
    assert!(parse("").matches("anything"));
    assert!(parse("   ").matches(""));
}

#[test]
fn terms_are_case_sensitive_and_all_required() {
    let pattern = parse("ERROR Exception");
    assert!(pattern.matches("[ERROR] Exception in thread main"));
    assert!(!pattern.matches("[error] Exception"));
    assert!(!pattern.matches("ERROR only"));
}

#[test]
fn quoted_phrases_optional_and_excluded_terms() {
    assert!(parse("\"Exception in thread\"").matches("Exception in thread main"));
    assert!(!parse("\"Exception in thread\"").matches("Exception in the thread"));
    let either = parse("?ERROR ?WARN");
    assert!(either.matches("WARN low disk"));
    assert!(!either.matches("INFO ok"));
    let excluding = parse("ERROR -Exiting");
    assert!(excluding.matches("ERROR failed"));
    assert!(!excluding.matches("ERROR Exiting now"));
}

#[test]
fn unquoted_terms_refuse_special_characters() {
    assert_eq!(
        rejects("user@example.com"),
        "Invalid filter pattern: Invalid character(s) in term 'user@example.com'"
    );
    assert_eq!(
        rejects("\"\""),
        "Invalid filter pattern: Invalid character(s) in term '\"\"'"
    );
    assert!(parse("\"user@example.com\"").matches("login user@example.com"));
}

#[test]
fn json_comparisons() {
    let message = r#"{"eventType": "UpdateTrail", "latency": 72, "user": {"id": 1, "name": "Ana"},
        "tags": ["a", "b"], "gone": null, "ok": true}"#;
    for pattern in [
        r#"{ $.eventType = "UpdateTrail" }"#,
        r#"{ $.eventType = Update* }"#,
        "{ $.latency > 50 }",
        "{ $.latency >= 72 && $.latency <= 72 }",
        "{ $.latency != 10 }",
        "{ $.user.id = 1 }",
        "{ $.tags[1] = b }",
        "{ $.gone IS NULL }",
        "{ $.missing NOT EXISTS }",
        "{ $.ok IS TRUE }",
        "{ ($.latency < 10) || ($.user.name = \"Ana\" && $.tags[0] = \"a\") }",
        "{ $.eventType = %Update.*% }",
    ] {
        assert!(parse(pattern).matches(message), "{pattern}");
    }
    for pattern in [
        "{ $.latency < 50 }",
        "{ $.eventType = \"updatetrail\" }",
        "{ $.missing = 1 }",
        "{ $.missing != 1 }",
        "{ $.gone NOT EXISTS }",
        "{ $.tags[5] = b }",
        "{ $.ok IS FALSE }",
    ] {
        assert!(!parse(pattern).matches(message), "{pattern}");
    }
    assert!(!parse("{ $.a = 1 }").matches("not json"));
}

#[test]
fn json_patterns_extract_the_fields_they_test() {
    let matched = parse("{ $.code = 200 && $.user.name = * }")
        .evaluate(r#"{"code": 200, "user": {"name": "Ana"}, "bytes": 5}"#)
        .unwrap();
    let expected: BTreeMap<String, String> = [("$.code", "200"), ("$.user.name", "Ana")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(matched.extracted_values(), &expected);
    assert_eq!(matched.field("$.bytes").as_deref(), Some("5"));
}

#[test]
fn malformed_json_patterns_are_refused() {
    assert_eq!(
        rejects("{ $.a = 1"),
        "Invalid filter pattern: If a filter pattern starts with '{' it must end with '}'"
    );
    for pattern in [
        "{ }",
        "{ $.a }",
        "{ $.a = }",
        "{ a = 1 }",
        "{ $.a < abc }",
        "{ ($.a = 1 }",
        "{ $.a = 1 && }",
        "{ $.a IS MAYBE }",
    ] {
        assert!(FilterPattern::parse(pattern).is_err(), "{pattern}");
    }
}

#[test]
fn space_delimited_patterns() {
    let line =
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534"#;
    let pattern = parse("[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]");
    let matched = pattern.evaluate(line).unwrap();
    let values = matched.extracted_values();
    assert_eq!(
        values.get("$timestamp").map(String::as_str),
        Some("10/Oct/2000:13:25:15 -0700")
    );
    assert_eq!(
        values.get("$request").map(String::as_str),
        Some("GET /apache_pb.gif HTTP/1.0")
    );
    assert_eq!(values.get("$bytes").map(String::as_str), Some("1534"));
    assert!(
        !parse("[ip, user, username, timestamp, request, status_code = 5*, bytes]").matches(line)
    );
    assert!(parse("[ip, ..., status_code = 404 || status_code = 410, bytes]").matches(line));
    assert!(parse("[..., status_code, bytes]").matches(line));
    assert!(parse("[ip, ...]").matches(line));
    // Without `...` the field counts must agree.
    assert!(!parse("[ip, user]").matches(line));
    assert!(
        FilterPattern::parse("[a, b = 1 && c = 2]").is_err(),
        "a condition names its own field"
    );
    assert_eq!(
        rejects("[a, b"),
        "Invalid filter pattern: If a filter pattern starts with '[' it must end with ']'"
    );
}

#[test]
fn wildcards() {
    assert!(wildcard_match("a*c", "abbbc"));
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match("4*", "404"));
    assert!(!wildcard_match("a*c", "abcd"));
    assert!(wildcard_match("*a*a*a*b", "aaaaaaaaaaab"));
}

#[test]
fn regex_patterns() {
    assert!(parse("%colou?r%").matches("the colour red"));
    assert!(!parse("%^ERROR%").matches("an ERROR"));
    assert!(FilterPattern::parse("%a(b)%").is_err());
    assert!(FilterPattern::parse("{ $.a = %x% || $.b = %y% || $.c = %z% }").is_err());
}

#[test]
fn hostile_patterns_are_errors_not_crashes() {
    let deep = format!(
        "{{ {}$.a = 1{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(rejects(&deep).contains("nested"));
    let within = format!(
        "{{ {}$.a = 1{} }}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert!(parse(&within).matches(r#"{"a": 1}"#));
    let wide = format!("{{ {} }}", vec!["$.a = 1"; 5_000].join(" || "));
    assert!(parse(&wide).matches(r#"{"a": 1}"#));
    let many_rests = format!("[{}]", vec!["..."; 500].join(", "));
    assert!(parse(&many_rests).matches(&"x ".repeat(2_000)));
    for garbage in [
        "{",
        "[",
        "{{}}",
        "[[",
        "\"",
        "?",
        "-",
        "{ $",
        "{ $.",
        "{ $[",
        "{ $[99999999999999999999999] = 1 }",
        "[,]",
        "[...,,]",
    ] {
        assert!(FilterPattern::parse(garbage).is_err(), "{garbage}");
    }
}
