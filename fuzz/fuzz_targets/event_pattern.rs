//! Arbitrary bytes as an EventBridge event pattern: parsing must never panic and must finish
//! quickly whatever the nesting, `$or` fan-out or wildcards, and a pattern that parses must
//! give the same answer alone (`Pattern::matches`) as compiled into a `Machine`, for a few
//! events with nesting, arrays, nulls and numbers.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use palisade_event_pattern::{Machine, Pattern};
use serde_json::Value;

const EVENTS: [&str; 4] = [
    r#"{"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "111122223333", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket"],
        "detail": {"bucket": {"name": "bucket"}, "object": {"key": "dir/a.png", "size": 1024},
                   "source-ip-address": "10.0.0.7", "reason": null, "flag": true}}"#,
    r#"{"source": "app", "detail": {"items": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        "c": [1, 2.5, -3], "d": [], "e": {}}}"#,
    r#"{"a": {"b": {"c": {"d": [[1, "2"], {"e": null}]}}}, "x": "2001:db8::1"}"#,
    r#"{}"#,
];

static PARSED: LazyLock<Vec<Value>> = LazyLock::new(|| {
    EVENTS
        .iter()
        .filter_map(|event| serde_json::from_str(event).ok())
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(pattern) = Pattern::parse(&text) else {
        return;
    };
    let mut machine = Machine::new();
    machine.add_rule(0u8, &pattern);
    for event in PARSED.iter() {
        let alone = pattern.matches(event);
        let compiled = machine.matching_rules(event) == [0];
        assert_eq!(alone, compiled, "pattern {text} on event {event}");
    }
    machine.remove_rule(&0);
    assert!(PARSED.iter().all(|event| machine.matching_rules(event).is_empty()));
});
