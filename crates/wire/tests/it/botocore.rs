//! Real requests, as botocore serializes them (`tests/fixtures/requests.json`, written by
//! `generate_requests.py`), routed and decoded with the generated models of the real services.

use base64::Engine as _;
use palisade_core::Value;
use palisade_core::model::{Protocol, ServiceModel};
use palisade_wire::{Route, Router};

use crate::support::*;

static MODELS: &[&ServiceModel] = &[
    &palisade_model_sts::MODEL,
    &palisade_model_iam::MODEL,
    &palisade_model_kms::MODEL,
    &palisade_model_cloudwatch::MODEL,
    &palisade_model_guardduty::MODEL,
];

struct Fixture {
    parts: http::request::Parts,
    body: Vec<u8>,
    protocol: Protocol,
    operation: String,
    signing_service: &'static str,
}

fn fixture(name: &str) -> Fixture {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/requests.json")).unwrap();
    let request = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|request| request["name"] == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let url: http::Uri = request["url"].as_str().unwrap().parse().unwrap();
    let mut builder = http::Request::builder()
        .method(request["method"].as_str().unwrap())
        .uri(url.path_and_query().unwrap().as_str())
        .header("host", url.host().unwrap());
    for (name, value) in request["headers"].as_object().unwrap() {
        builder = builder.header(name, value.as_str().unwrap());
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(request["body_base64"].as_str().unwrap())
        .unwrap();
    let protocol = match request["protocol"].as_str().unwrap() {
        "query" => Protocol::Query,
        "json" => Protocol::Json,
        "rest-json" => Protocol::RestJson,
        "smithy-rpc-v2-cbor" => Protocol::RpcV2Cbor,
        other => panic!("protocol {other}"),
    };
    let signing_service = match request["service"].as_str().unwrap() {
        "sts" => "sts",
        "iam" => "iam",
        "kms" => "kms",
        "cloudwatch" => "monitoring",
        "guardduty" => "guardduty",
        other => panic!("service {other}"),
    };
    Fixture {
        parts: builder.body(()).unwrap().into_parts().0,
        body,
        protocol,
        operation: request["operation"].as_str().unwrap().to_owned(),
        signing_service,
    }
}

/// Routes the fixture (with and without the signing service, which must agree), checks the
/// route, and decodes it.
fn decode_fixture(name: &str) -> (Route, Value) {
    let fixture = fixture(name);
    let router = Router::new(MODELS);
    let route = router
        .route(&fixture.parts, &fixture.body, Some(fixture.signing_service))
        .unwrap_or_else(|error| panic!("{name}: {error}"));
    let unsigned = router.route(&fixture.parts, &fixture.body, None).unwrap();
    assert_eq!(route.model.name, unsigned.model.name, "{name}");
    assert_eq!(route.protocol, fixture.protocol, "{name}");
    assert_eq!(route.operation.name, fixture.operation, "{name}");
    let value = palisade_wire::decode(&route, &fixture.parts, &fixture.body)
        .unwrap_or_else(|error| panic!("{name}: {error:?}"));
    (route, value)
}

#[test]
fn sts_get_caller_identity() {
    let (route, value) = decode_fixture("sts-get-caller-identity");
    assert_eq!(route.model.name, "sts");
    assert_eq!(value, Value::empty_struct());
}

#[test]
fn sts_assume_role_with_tags_and_policy_arns() {
    let (_, value) = decode_fixture("sts-assume-role");
    assert_eq!(value.get("RoleSessionName"), Some(&s("session-one")));
    assert_eq!(value.get("DurationSeconds"), Some(&Value::Int(3600)));
    assert_eq!(
        value.get("Tags"),
        Some(&Value::List(vec![
            obj(&[("Key", s("team")), ("Value", s("a+b=c @x"))]),
            obj(&[("Key", s("env")), ("Value", s("prod"))]),
        ]))
    );
    assert_eq!(
        value.get("TransitiveTagKeys"),
        Some(&Value::List(vec![s("team")]))
    );
    assert_eq!(
        value.get("PolicyArns"),
        Some(&Value::List(vec![obj(&[(
            "arn",
            s("arn:aws:iam::aws:policy/ReadOnlyAccess")
        )])]))
    );
    assert_eq!(
        value.get("Policy"),
        Some(&s("{\"Version\":\"2012-10-17\"}"))
    );
}

#[test]
fn iam_create_user_with_tags() {
    let (route, value) = decode_fixture("iam-create-user");
    assert_eq!(route.model.name, "iam");
    assert_eq!(
        value,
        obj(&[
            ("UserName", s("alice")),
            ("Path", s("/engineering/")),
            (
                "Tags",
                Value::List(vec![obj(&[
                    ("Key", s("Department")),
                    ("Value", s("Accounting Ü"))
                ])])
            ),
        ])
    );
}

#[test]
fn kms_encrypt_with_binary_plaintext() {
    let (_, value) = decode_fixture("kms-encrypt");
    assert_eq!(
        value,
        obj(&[
            ("KeyId", s("alias/demo")),
            ("Plaintext", Value::Blob(b"\x00\x01secret\xff".to_vec())),
            (
                "EncryptionContext",
                obj(&[("purpose", s("test")), ("ü", s("ß"))])
            ),
            ("GrantTokens", Value::List(vec![s("token-1"), s("token-2")])),
            ("EncryptionAlgorithm", s("SYMMETRIC_DEFAULT")),
        ])
    );
    let (_, empty) = decode_fixture("kms-list-keys");
    assert_eq!(empty, Value::empty_struct());
}

#[test]
fn cloudwatch_put_metric_data_in_all_three_protocols() {
    let (route, cbor) = decode_fixture("cloudwatch-put-metric-data-cbor");
    assert_eq!(route.model.name, "cloudwatch");
    let data = match cbor.get("MetricData") {
        Some(Value::List(items)) => items.clone(),
        other => panic!("{other:?}"),
    };
    let first = &data[0];
    assert_eq!(first.get("MetricName"), Some(&s("Latency")));
    assert_eq!(
        first.get("Timestamp"),
        Some(&Value::Timestamp(1_704_067_200.0))
    );
    assert_eq!(first.get("Value"), Some(&Value::Float(12.5)));
    assert_eq!(first.get("StorageResolution"), Some(&Value::Int(1)));
    assert_eq!(
        first.get("Values"),
        Some(&Value::List(vec![
            Value::Float(1.5),
            Value::Float(-2.0),
            Value::Float(f64::INFINITY)
        ]))
    );
    assert_eq!(
        first.get("Dimensions"),
        Some(&Value::List(vec![obj(&[
            ("Name", s("Service")),
            ("Value", s("kms"))
        ])]))
    );
    assert_eq!(
        data[1].get("StatisticValues").and_then(|v| v.get("Sum")),
        Some(&Value::Float(4.0))
    );

    let (_, json) = decode_fixture("cloudwatch-put-metric-data-json");
    let (_, query) = decode_fixture("cloudwatch-put-metric-data-query");
    for value in [&json, &query] {
        assert_eq!(value.get("Namespace"), Some(&s("Palisade/Test")));
        let Some(Value::List(data)) = value.get("MetricData") else {
            panic!("{value:?}")
        };
        assert_eq!(data[0].get("MetricName"), Some(&s("Latency")));
        assert_eq!(data[0].get("Value"), Some(&Value::Float(12.5)));
    }
    let timestamp = |value: &Value| match value.get("MetricData") {
        Some(Value::List(data)) => data[0].get("Timestamp").cloned(),
        _ => None,
    };
    assert_eq!(timestamp(&json), Some(Value::Timestamp(1_704_067_200.0)));
    assert_eq!(timestamp(&query), Some(Value::Timestamp(1_704_067_200.25)));
}

#[test]
fn cloudwatch_get_metric_data_over_cbor() {
    let (_, value) = decode_fixture("cloudwatch-get-metric-data-cbor");
    assert_eq!(
        value.get("StartTime"),
        Some(&Value::Timestamp(1_704_067_200.0))
    );
    assert_eq!(
        value.get("EndTime"),
        Some(&Value::Timestamp(1_704_070_800.0))
    );
    assert_eq!(value.get("MaxDatapoints"), Some(&Value::Int(100)));
    assert_eq!(
        value.get("MetricDataQueries"),
        Some(&Value::List(vec![obj(&[
            ("Id", s("q1")),
            ("Expression", s("SELECT 1")),
            ("Period", Value::Int(60)),
        ])]))
    );
}

#[test]
fn guardduty_rest_requests() {
    let (route, value) = decode_fixture("guardduty-list-findings");
    assert_eq!(route.model.name, "guardduty");
    assert_eq!(
        route.path_labels,
        [(
            "DetectorId".to_owned(),
            "12abc34d567e8fa901bc2d34e56789f0".to_owned()
        )],
        "labels are named as in the path template, by locationName"
    );
    assert_eq!(
        value.get("DetectorId"),
        Some(&s("12abc34d567e8fa901bc2d34e56789f0"))
    );
    assert_eq!(value.get("MaxResults"), Some(&Value::Int(10)));
    assert_eq!(
        value.get("SortCriteria"),
        Some(&obj(&[
            ("AttributeName", s("updatedAt")),
            ("OrderBy", s("DESC"))
        ]))
    );
    assert_eq!(
        value
            .get("FindingCriteria")
            .and_then(|criteria| criteria.get("Criterion"))
            .and_then(|criterion| criterion.get("severity"))
            .and_then(|condition| condition.get("Gte")),
        Some(&Value::Int(4))
    );

    let (_, untag) = decode_fixture("guardduty-untag-resource");
    assert_eq!(
        untag,
        obj(&[
            (
                "ResourceArn",
                s(
                    "arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0"
                )
            ),
            ("TagKeys", Value::List(vec![s("team"), s("cost center")])),
        ])
    );
    let (route, get) = decode_fixture("guardduty-get-detector");
    assert_eq!(route.operation.name, "GetDetector");
    assert_eq!(
        get.get("DetectorId"),
        Some(&s("12abc34d567e8fa901bc2d34e56789f0"))
    );
}

/// A response to check with botocore's parsers.
fn dumped(
    name: &str,
    model: &'static ServiceModel,
    protocol: Protocol,
    operation: &str,
    response: http::Response<bytes::Bytes>,
) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().into()))
        .collect();
    serde_json::json!({
        "name": name,
        "service": model.name,
        "protocol": match protocol {
            Protocol::Json => "json",
            Protocol::Query => "query",
            Protocol::RestJson => "rest-json",
            Protocol::RpcV2Cbor => "smithy-rpc-v2-cbor",
        },
        "operation": operation,
        "status": response.status().as_u16(),
        "headers": headers,
        "body_base64": base64::engine::general_purpose::STANDARD.encode(response.body()),
    })
}

fn route_to(model: &'static ServiceModel, protocol: Protocol, operation: &str) -> Route {
    Route {
        model,
        protocol,
        operation: model.operation(operation).unwrap(),
        path_labels: Vec::new(),
    }
}

/// Writes responses from every encoder to `$PALISADE_WIRE_DUMP`, for
/// `tests/fixtures/check_responses.py` to parse with botocore's own parsers.
#[test]
#[ignore = "run by hand with PALISADE_WIRE_DUMP set, then run check_responses.py"]
fn dump_responses_for_botocore() {
    use palisade_core::service::{CommonError, ServiceError};
    use palisade_model_cloudwatch::MODEL as CLOUDWATCH;
    use palisade_model_guardduty::MODEL as GUARDDUTY;
    use palisade_model_iam::MODEL as IAM;
    use palisade_model_kms::MODEL as KMS;
    use palisade_model_sts::MODEL as STS;

    let path = std::env::var("PALISADE_WIRE_DUMP").expect("PALISADE_WIRE_DUMP");
    let when = Value::Timestamp(1_704_067_200.0);
    let mut out = Vec::new();
    let mut success = |name: &str, model, protocol, operation: &str, output: Value| {
        let route = route_to(model, protocol, operation);
        let response = palisade_wire::encode(&route, &output, &format!("rid-{name}"));
        out.push(dumped(name, model, protocol, operation, response));
    };
    success(
        "sts-get-caller-identity",
        &STS,
        Protocol::Query,
        "GetCallerIdentity",
        obj(&[
            ("UserId", s("AIDAEXAMPLE")),
            ("Account", s("123456789012")),
            ("Arn", s("arn:aws:iam::123456789012:user/a<b>&c")),
        ]),
    );
    success(
        "sts-assume-role",
        &STS,
        Protocol::Query,
        "AssumeRole",
        obj(&[
            (
                "Credentials",
                obj(&[
                    ("AccessKeyId", s("ASIAEXAMPLE")),
                    ("SecretAccessKey", s("secret/key+")),
                    ("SessionToken", s("token")),
                    ("Expiration", Value::Timestamp(1_704_067_200.5)),
                ]),
            ),
            (
                "AssumedRoleUser",
                obj(&[
                    ("AssumedRoleId", s("AROAEXAMPLE:s")),
                    ("Arn", s("arn:aws:sts::123456789012:assumed-role/demo/s")),
                ]),
            ),
            ("PackedPolicySize", Value::Int(6)),
        ]),
    );
    success(
        "iam-create-user",
        &IAM,
        Protocol::Query,
        "CreateUser",
        obj(&[(
            "User",
            obj(&[
                ("Path", s("/")),
                ("UserName", s("alice")),
                ("UserId", s("AIDAALICE")),
                ("Arn", s("arn:aws:iam::123456789012:user/alice")),
                ("CreateDate", when.clone()),
                (
                    "Tags",
                    Value::List(vec![obj(&[("Key", s("team")), ("Value", s("x"))])]),
                ),
            ]),
        )]),
    );
    success(
        "iam-list-users-empty",
        &IAM,
        Protocol::Query,
        "ListUsers",
        obj(&[
            ("Users", Value::List(vec![])),
            ("IsTruncated", Value::Bool(false)),
        ]),
    );
    success(
        "kms-encrypt",
        &KMS,
        Protocol::Json,
        "Encrypt",
        obj(&[
            ("CiphertextBlob", Value::Blob(vec![0, 1, 2, 254, 255])),
            ("KeyId", s("arn:aws:kms:us-east-1:123456789012:key/k")),
            ("EncryptionAlgorithm", s("SYMMETRIC_DEFAULT")),
        ]),
    );
    success(
        "kms-describe-key",
        &KMS,
        Protocol::Json,
        "DescribeKey",
        obj(&[(
            "KeyMetadata",
            obj(&[
                ("KeyId", s("k")),
                ("CreationDate", Value::Timestamp(1_704_067_200.25)),
                ("Enabled", Value::Bool(true)),
            ]),
        )]),
    );
    let metric_results = obj(&[(
        "MetricDataResults",
        Value::List(vec![obj(&[
            ("Id", s("q1")),
            ("Timestamps", Value::List(vec![when.clone()])),
            (
                "Values",
                Value::List(vec![Value::Float(1.5), Value::Float(-0.25)]),
            ),
            ("StatusCode", s("Complete")),
        ])]),
    )]);
    for protocol in [Protocol::RpcV2Cbor, Protocol::Json, Protocol::Query] {
        let name = format!("cloudwatch-get-metric-data-{protocol:?}");
        success(
            &name,
            &CLOUDWATCH,
            protocol,
            "GetMetricData",
            metric_results.clone(),
        );
    }
    success(
        "guardduty-get-detector",
        &GUARDDUTY,
        Protocol::RestJson,
        "GetDetector",
        obj(&[
            ("CreatedAt", s("2024-01-01T00:00:00.000Z")),
            ("ServiceRole", s("arn:aws:iam::123456789012:role/r")),
            ("Status", s("ENABLED")),
            ("Tags", obj(&[("team", s("x"))])),
        ]),
    );

    let mut failure = |name: &str,
                       model: &'static ServiceModel,
                       protocol,
                       operation: &str,
                       error: ServiceError| {
        let request_id = format!("rid-{name}");
        let response = palisade_wire::encode_error(protocol, Some(model), &error, &request_id);
        out.push(dumped(name, model, protocol, operation, response));
    };
    failure(
        "sts-error",
        &STS,
        Protocol::Query,
        "GetCallerIdentity",
        ServiceError::common(
            CommonError::InvalidSignature,
            "The request signature we calculated does not match",
        ),
    );
    failure(
        "kms-error",
        &KMS,
        Protocol::Json,
        "Encrypt",
        ServiceError::common(CommonError::AccessDenied, "denied <&>"),
    );
    let not_found = palisade_model_cloudwatch::MODEL
        .shapes()
        .find(|shape| shape.name == "ResourceNotFound")
        .and_then(|shape| match shape.kind {
            palisade_core::model::ShapeKind::Structure(structure) => structure.error,
            _ => None,
        })
        .unwrap();
    for protocol in [Protocol::RpcV2Cbor, Protocol::Json, Protocol::Query] {
        let name = format!("cloudwatch-error-{protocol:?}");
        let error = ServiceError::modeled(&not_found, "no dashboard");
        failure(&name, &CLOUDWATCH, protocol, "GetDashboard", error);
    }
    failure(
        "guardduty-error",
        &GUARDDUTY,
        Protocol::RestJson,
        "GetDetector",
        ServiceError::validation("1 validation error detected"),
    );
    std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
}
