//! Arbitrary bytes as a CloudWatch Logs filter pattern: parsing must never panic or overflow
//! the stack whatever the nesting, and a pattern that parses must match (or not) a few
//! messages, plain, JSON and space-delimited, without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_logs::pattern::FilterPattern;

const MESSAGES: [&str; 5] = [
    "ERROR [main] Exception in thread user@example.com",
    r#"{"eventType": "UpdateTrail", "latency": 72, "user": {"id": 1, "name": "Ana"},
        "tags": ["a", "b", 3], "gone": null, "ok": true, "nested": [[{"x": -1.5e3}]]}"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534"#,
    "",
    "\"unterminated [bracket",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(pattern) = FilterPattern::parse(&text) else {
        return;
    };
    for message in MESSAGES {
        if let Some(matched) = pattern.evaluate(message) {
            for reference in ["$.user.name", "$.tags[1]", "$status", "$.missing"] {
                std::hint::black_box(matched.field(reference));
            }
        }
    }
});
