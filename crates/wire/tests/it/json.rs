//! awsJson: routing by `X-Amz-Target`, decoding, encoding and errors.

use palisade_core::Value;
use palisade_core::model::Protocol;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{encode, encode_error};
use serde_json::json;

use crate::models;
use crate::support::*;

const ECHO: &[(&str, &str)] = &[
    ("x-amz-target", "JsonTest_20240101.Echo"),
    ("content-type", "application/x-amz-json-1.1"),
];

fn echo(body: &str) -> Result<Value, ServiceError> {
    decode(&parts("POST", "/", ECHO), body.as_bytes())
}

#[test]
fn routes_by_target_prefix_and_operation() {
    let route = route(&parts("POST", "/", ECHO), b"{}", None);
    assert_eq!(route.model.name, "jsontest");
    assert_eq!(route.protocol, Protocol::Json);
    assert_eq!(route.operation.name, "Echo");
    let multi = route_for("MultiService_20100801.Ping");
    assert_eq!(multi.model.name, "multitest");
    assert_eq!(multi.operation.name, "Ping");
}

fn route_for(target: &str) -> palisade_wire::Route {
    route(&parts("POST", "/", &[("x-amz-target", target)]), b"", None)
}

#[test]
fn unknown_targets_are_unknown_operations() {
    for target in ["JsonTest_20240101.Nope", "Nobody.Echo", "NoDot", ""] {
        let error = try_route(
            &parts("POST", "/", &[("x-amz-target", target)]),
            b"{}",
            None,
        )
        .unwrap_err();
        assert_eq!(error.protocol, Protocol::Json, "{target}");
        assert_eq!(
            error.error.common_kind(),
            Some(CommonError::UnknownOperation),
            "{target}"
        );
        let response = error.into_response("req-1");
        assert_eq!(response.status(), 400);
        assert_eq!(json_body(&response)["__type"], "UnknownOperationException");
    }
}

#[test]
fn a_non_json_content_type_is_refused() {
    let error = try_route(
        &parts(
            "POST",
            "/",
            &[
                ("x-amz-target", "JsonTest_20240101.Echo"),
                ("content-type", "text/xml"),
            ],
        ),
        b"{}",
        None,
    )
    .unwrap_err();
    assert_eq!(error.error.common_kind(), Some(CommonError::Serialization));
}

#[test]
fn every_type_decodes() {
    let value = echo(
        r#"{
            "Name": "alice", "Mode": "fast", "Count": 7, "Big": 9007199254740993,
            "Ratio": 0.5, "Precise": 2, "Flag": true, "Data": "aGVsbG8=",
            "When": 1704067200.5, "WhenIso": "2024-01-01T00:00:00Z",
            "Tags": ["a", "b"], "Labels": {"x": 1},
            "Node": {"Name": "root", "Child": {"Name": "leaf"}},
            "Doc": {"any": [1, 2.5, "three", null, {"deep": true}]},
            "Items": [{"Key": "k", "Value": "v"}],
            "renamedOnWire": "on the wire"
        }"#,
    )
    .unwrap();
    let expected = obj(&[
        ("Name", s("alice")),
        ("Mode", s("fast")),
        ("Count", Value::Int(7)),
        ("Big", Value::Int(9_007_199_254_740_993)),
        ("Ratio", Value::Float(0.5)),
        ("Precise", Value::Float(2.0)),
        ("Flag", Value::Bool(true)),
        ("Data", Value::Blob(b"hello".to_vec())),
        ("When", Value::Timestamp(1_704_067_200.5)),
        ("WhenIso", Value::Timestamp(1_704_067_200.0)),
        ("Tags", Value::List(vec![s("a"), s("b")])),
        ("Labels", obj(&[("x", Value::Int(1))])),
        (
            "Node",
            obj(&[("Name", s("root")), ("Child", obj(&[("Name", s("leaf"))]))]),
        ),
        (
            "Doc",
            obj(&[(
                "any",
                Value::List(vec![
                    Value::Int(1),
                    Value::Float(2.5),
                    s("three"),
                    Value::Null,
                    obj(&[("deep", Value::Bool(true))]),
                ]),
            )]),
        ),
        (
            "Items",
            Value::List(vec![obj(&[("Key", s("k")), ("Value", s("v"))])]),
        ),
        ("Renamed", s("on the wire")),
    ]);
    assert_eq!(value, expected);
}

#[test]
fn nulls_are_absent_and_unknown_members_ignored() {
    let value =
        echo(r#"{"Name": "bob", "Count": null, "Tags": ["a", null], "Bogus": {"x": 1}}"#).unwrap();
    assert_eq!(
        value,
        obj(&[("Name", s("bob")), ("Tags", Value::List(vec![s("a")]))])
    );
}

#[test]
fn special_floats_arrive_as_strings() {
    let value = echo(r#"{"Name": "n", "Precise": "-Infinity", "Ratio": "NaN"}"#).unwrap();
    assert_eq!(value.get("Precise"), Some(&Value::Float(f64::NEG_INFINITY)));
    assert!(matches!(value.get("Ratio"), Some(Value::Float(x)) if x.is_nan()));
    let (kind, _) = common(echo(r#"{"Name": "n", "Precise": "1.5"}"#));
    assert_eq!(kind, CommonError::Serialization);
}

#[test]
fn an_empty_body_is_an_empty_structure() {
    let route = route_for("JsonTest_20240101.Ping");
    let parts = parts("POST", "/", &[("x-amz-target", "JsonTest_20240101.Ping")]);
    assert_eq!(
        palisade_wire::decode(&route, &parts, b"").unwrap(),
        Value::empty_struct()
    );
    // Echo requires Name, so an empty body reaches validation, not a parse error.
    let (kind, message) = common(echo(""));
    assert_eq!(kind, CommonError::Validation);
    assert_eq!(
        message,
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn wrong_types_are_serialization_errors_in_aws_words() {
    let cases = [
        (
            r#"{"Name": 5}"#,
            "NUMBER_VALUE can not be converted to a String",
        ),
        (
            r#"{"Name": "n", "Count": "7"}"#,
            "STRING_VALUE can not be converted to an Integer",
        ),
        (
            r#"{"Name": "n", "Count": 1.5}"#,
            "NUMBER_VALUE can not be converted to an Integer",
        ),
        (
            r#"{"Name": "n", "Count": 4294967296}"#,
            "NUMBER_VALUE can not be converted to an Integer",
        ),
        (
            r#"{"Name": "n", "Big": 1e30}"#,
            "NUMBER_VALUE can not be converted to a Long",
        ),
        (
            r#"{"Name": "n", "Flag": "true"}"#,
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            r#"{"Name": {"a": 1}}"#,
            "Start of structure or map found where not expected.",
        ),
        (
            r#"{"Name": ["a"]}"#,
            "Start of list found where not expected.",
        ),
        (
            r#"{"Name": "n", "Tags": "a"}"#,
            "STRING_VALUE can not be converted to a List",
        ),
        (
            r#"{"Name": "n", "Node": true}"#,
            "TRUE_VALUE can not be converted to a Structure",
        ),
        (r#"["Name"]"#, "Start of list found where not expected."),
    ];
    for (body, message) in cases {
        assert_eq!(
            common(echo(body)),
            (CommonError::Serialization, message.to_owned()),
            "{body}"
        );
    }
}

#[test]
fn whole_floats_are_accepted_for_integers() {
    let value = echo(r#"{"Name": "n", "Count": 5.0, "Big": -9223372036854775808}"#).unwrap();
    assert_eq!(value.get("Count"), Some(&Value::Int(5)));
    assert_eq!(value.get("Big"), Some(&Value::Int(i64::MIN)));
}

#[test]
fn broken_bodies_are_serialization_errors() {
    for body in [
        &b"{"[..],
        b"{\"Name\": \"a\"",
        b"not json",
        b"{\"Name\": \"\xff\xfe\"}",
        b"{\"Name\": 1e999}",
        b"{} trailing",
        b"\"just a string\"",
        b"{\"Data\": \"not base64!\", \"Name\": \"n\"}",
        b"{\"When\": \"yesterday\", \"Name\": \"n\"}",
    ] {
        let (kind, _) = common(decode(&parts("POST", "/", ECHO), body));
        assert_eq!(
            kind,
            CommonError::Serialization,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 100;
    let mut body = String::from(r#"{"Name": "n", "Node": "#);
    for _ in 0..depth {
        body.push_str(r#"{"Child": "#);
    }
    body.push_str("{}");
    for _ in 0..depth {
        body.push('}');
    }
    body.push('}');
    let (kind, message) = common(echo(&body));
    assert_eq!(kind, CommonError::Serialization);
    assert!(message.contains("nested"), "{message}");
    // Documents are bounded too, and beyond serde_json's own limit the parse itself refuses.
    let doc = format!(
        r#"{{"Name": "n", "Doc": {}1{}}}"#,
        "[".repeat(70),
        "]".repeat(70)
    );
    assert_eq!(common(echo(&doc)).0, CommonError::Serialization);
    let deeper = format!(
        r#"{{"Name": "n", "Doc": {}1{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(common(echo(&deeper)).0, CommonError::Serialization);
}

#[test]
fn constraints_are_validated_with_aws_messages() {
    let (kind, message) = common(echo(
        r#"{"Name": "UPPER", "Mode": "medium", "Count": 0, "Tags": ["a","b","c","d"], "Secret": "hunter2"}"#,
    ));
    assert_eq!(kind, CommonError::Validation);
    assert!(
        message.starts_with("5 validation errors detected: "),
        "{message}"
    );
    assert!(message.contains("Value 'UPPER' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z ]+"));
    assert!(message.contains("Value 'medium' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [fast, slow]"));
    assert!(message.contains("Value '0' at 'count' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    assert!(message.contains(
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 3"
    ));
    assert!(message.contains("Value at 'secret' failed to satisfy constraint"));
    assert!(!message.contains("hunter2"));
}

#[test]
fn output_is_written_by_wire_name_with_aws_formats() {
    let route = route(&parts("POST", "/", ECHO), b"", None);
    let output = obj(&[
        ("Name", s("alice")),
        ("Count", Value::Int(3)),
        ("Ratio", Value::Float(f64::INFINITY)),
        ("Precise", Value::Float(f64::NAN)),
        ("Data", Value::Blob(vec![0, 1, 2, 255])),
        ("When", Value::Timestamp(1_704_067_200.0)),
        ("WhenIso", Value::Timestamp(1_704_067_200.25)),
        ("Tags", Value::List(vec![s("x")])),
        ("Labels", obj(&[("k", Value::Int(2))])),
        (
            "Doc",
            obj(&[("free", Value::List(vec![Value::Bool(false)]))]),
        ),
        ("Renamed", s("r")),
        ("NotInModel", s("dropped")),
        ("Items", Value::Null),
    ]);
    let response = encode(&route, &output, "req-42");
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(header(&response, "x-amzn-requestid"), Some("req-42"));
    assert_eq!(
        json_body(&response),
        json!({
            "Name": "alice", "Count": 3, "Ratio": "Infinity", "Precise": "NaN",
            "Data": "AAEC/w==", "When": 1704067200, "WhenIso": "2024-01-01T00:00:00.250Z",
            "Tags": ["x"], "Labels": {"k": 2}, "Doc": {"free": [false]},
            "renamedOnWire": "r"
        })
    );
    let fraction = encode(&route, &obj(&[("When", Value::Timestamp(1.5))]), "r");
    assert_eq!(
        std::str::from_utf8(fraction.body()).unwrap(),
        r#"{"When":1.5}"#
    );
}

#[test]
fn operations_without_output_answer_an_empty_object() {
    let route = route_for("MultiService_20100801.Ping");
    let response = encode(&route, &Value::empty_struct(), "r");
    assert_eq!(text_body(&response), "{}");
    assert_eq!(
        header(&response, "content-type"),
        Some("application/x-amz-json-1.0")
    );
}

#[test]
fn round_trip_through_encode_and_decode() {
    let route = route(&parts("POST", "/", ECHO), b"", None);
    let value = obj(&[
        ("Name", s("round trip")),
        ("Count", Value::Int(42)),
        ("Big", Value::Int(-7)),
        ("Flag", Value::Bool(false)),
        ("Data", Value::Blob(b"\x00bytes\xff".to_vec())),
        ("When", Value::Timestamp(1_704_067_200.123)),
        ("Tags", Value::List(vec![s("a"), s("b")])),
        ("Labels", obj(&[("one", Value::Int(1))])),
        ("Node", obj(&[("Child", obj(&[("Name", s("c"))]))])),
        ("Renamed", s("r")),
    ]);
    let response = encode(&route, &value, "r");
    let decoded =
        palisade_wire::decode(&route, &parts("POST", "/", ECHO), response.body()).unwrap();
    assert_eq!(decoded, value);
}

#[test]
fn errors_carry_type_message_and_headers() {
    let error = ServiceError::validation("bad \"input\" <here>");
    let response = encode_error(Protocol::Json, Some(&*models::JSON), &error, "req-9");
    assert_eq!(response.status(), 400);
    assert_eq!(
        header(&response, "x-amzn-errortype"),
        Some("ValidationException")
    );
    assert_eq!(header(&response, "x-amzn-requestid"), Some("req-9"));
    assert_eq!(
        header(&response, "content-type"),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(header(&response, "x-amzn-query-error"), None);
    assert_eq!(
        json_body(&response),
        json!({"__type": "ValidationException", "message": "bad \"input\" <here>"})
    );
}

#[test]
fn query_compatible_services_name_the_shape_and_send_the_query_code() {
    let Some(palisade_core::model::ShapeKind::Structure(shape)) =
        models::JSON.shape(20).map(|shape| shape.kind)
    else {
        panic!("shape 20 is the modeled error");
    };
    let info = shape.error.unwrap();
    let error = ServiceError::modeled(&info, "no such thing");
    let response = encode_error(Protocol::Json, Some(&*models::MULTI), &error, "r");
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(&response)["__type"], "ResourceNotFoundException");
    assert_eq!(
        header(&response, "x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        header(&response, "x-amzn-query-error"),
        Some("ResourceNotFound;Sender")
    );
    let common = ServiceError::validation("v");
    let response = encode_error(Protocol::Json, Some(&*models::MULTI), &common, "r");
    assert_eq!(
        header(&response, "x-amzn-query-error"),
        Some("ValidationError;Sender")
    );
    let internal = ServiceError::internal("boom");
    let response = encode_error(Protocol::Json, Some(&*models::MULTI), &internal, "r");
    assert_eq!(response.status(), 500);
    assert_eq!(
        header(&response, "x-amzn-query-error"),
        Some("InternalFailure;Receiver")
    );
}
