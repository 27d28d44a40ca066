//! Events per second through the Lake query engine, for the shapes of query Lake's users run
//! most: a filter that keeps few events, the "top event names" aggregation, and a `LIKE` over
//! a nested field, each over 10,000 realistic CloudTrail records (parsing is done once, as the
//! runner does). Run with `cargo bench -p palisade-lake-query --bench evaluation`; criterion's
//! throughput line is events per second.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure is a broken benchmark"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_lake_query::parse;
use serde_json::{Value, json};

const EVENTS: usize = 10_000;
const NAMES: [&str; 8] = [
    "Decrypt",
    "GenerateDataKey",
    "GetSecretValue",
    "AssumeRole",
    "CreateKey",
    "PutParameter",
    "ListKeys",
    "DescribeKey",
];

fn event(i: usize) -> Value {
    let name = NAMES[i % NAMES.len()];
    json!({
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE:session-{}", i % 50),
            "arn": format!("arn:aws:sts::111122223333:assumed-role/app-{}/session", i % 20),
            "accountId": "111122223333",
            "accessKeyId": format!("ASIA{:016}", i % 97),
            "sessionContext": {
                "attributes": {"creationDate": "2026-11-28T10:00:00Z", "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "userName": format!("app-{}", i % 20)}
            }
        },
        "eventTime": format!("2026-11-28T{:02}:{:02}:{:02}Z", (i / 3600) % 24, (i / 60) % 60, i % 60),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": format!("10.0.{}.{}", i % 256, (i / 256) % 256),
        "userAgent": "aws-sdk-rust/1.3 os/linux lang/rust",
        "errorCode": if i.is_multiple_of(40) { Value::from("AccessDenied") } else { Value::Null },
        "requestParameters": {"keyId": format!("alias/key-{}", i % 30), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        "responseElements": null,
        "requestID": format!("req-{i}"),
        "eventID": format!("00000000-0000-7000-8000-{i:012}"),
        "readOnly": matches!(name, "Decrypt" | "GetSecretValue" | "ListKeys" | "DescribeKey"),
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:us-east-1:111122223333:key/k-{}", i % 30)}],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

fn evaluation(c: &mut Criterion) {
    let events: Vec<Value> = (0..EVENTS).map(event).collect();
    let queries = [
        (
            "filter",
            "SELECT eventTime, userIdentity.arn, sourceIPAddress FROM eds \
             WHERE errorCode = 'AccessDenied' AND eventTime > '2026-11-28 00:00:00'",
        ),
        (
            "top_names",
            "SELECT eventName, count(*) AS calls FROM eds WHERE readOnly = false \
             GROUP BY eventName ORDER BY calls DESC LIMIT 10",
        ),
        (
            "like_nested",
            "SELECT count(*) FROM eds \
             WHERE userIdentity.sessionContext.sessionIssuer.userName LIKE 'app-1%'",
        ),
    ];
    let mut group = c.benchmark_group("evaluation");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (name, sql) in queries {
        let statement = parse(sql, &[]).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut execution = statement.execute_at(1_795_000_000_000);
                for event in &events {
                    execution.add(event).unwrap();
                }
                black_box(execution.finish().unwrap())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation);
criterion_main!(benches);
