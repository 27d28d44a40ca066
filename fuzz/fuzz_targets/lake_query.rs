//! Arbitrary bytes as a CloudTrail Lake statement, with a few parameters: parsing must never
//! panic and must finish quickly whatever the nesting, and a statement that parses must run
//! over a CloudTrail record (and an empty one) without panicking.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use palisade_lake_query::parse;
use serde_json::Value;

const RECORD: &str = r#"{
    "eventVersion": "1.09",
    "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob",
        "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob", "accountId": "111122223333",
        "sessionContext": {"attributes": {"creationDate": "2024-05-01T09:00:00Z",
            "mfaAuthenticated": "true"},
            "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin",
                "userName": "Admin"}}},
    "eventTime": "2024-05-01T10:00:00Z", "eventSource": "s3.amazonaws.com",
    "eventName": "CreateBucket", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.10",
    "errorCode": "BucketAlreadyExists",
    "requestParameters": {"bucketName": "logs", "max": 5, "nested": {"a": [1, "x", null]}},
    "responseElements": null, "eventID": "E1", "readOnly": false,
    "resources": [{"accountId": "111122223333", "type": "AWS::S3::Bucket",
        "ARN": "arn:aws:s3:::logs"}],
    "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management"
}"#;

static EVENTS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    [RECORD, "{}"]
        .iter()
        .filter_map(|event| serde_json::from_str(event).ok())
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parameters = ["2024-05-01 00:00:00".to_owned(), "CreateBucket".to_owned()];
    for given in [&parameters[..], &parameters[..1], &[]] {
        let Ok(statement) = parse(&text, given) else {
            continue;
        };
        let _ = statement.event_time_bounds();
        let mut execution = statement.execute_at(1_714_867_200_000);
        if EVENTS.iter().all(|event| execution.add(event).is_ok()) {
            let _ = execution.finish();
        }
    }
});
