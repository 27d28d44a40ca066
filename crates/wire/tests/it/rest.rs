//! restJson1: routing by method and path, members from labels, query, headers and body.

use palisade_core::Value;
use palisade_core::model::Protocol;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{encode, encode_error};
use serde_json::json;

use crate::models;
use crate::support::*;

const SIGNED: Option<&str> = Some("resttest");

fn routed(method: &str, uri: &str) -> palisade_wire::Route {
    route(&parts(method, uri, &[]), b"", SIGNED)
}

#[test]
fn routes_by_method_and_path_preferring_literals() {
    let get = routed("GET", "/things/abc");
    assert_eq!(get.model.name, "resttest");
    assert_eq!(get.protocol, Protocol::RestJson);
    assert_eq!(get.operation.name, "GetThing");
    assert_eq!(get.path_labels, [("Id".to_owned(), "abc".to_owned())]);
    assert_eq!(
        routed("GET", "/things/special").operation.name,
        "GetSpecial"
    );
    assert_eq!(routed("GET", "/things/abc/").operation.name, "GetThing");
    assert_eq!(routed("PUT", "/things/abc").operation.name, "UpdateThing");
    assert_eq!(
        routed("PUT", "/things/abc?mode=replace").operation.name,
        "ReplaceThing"
    );
    assert_eq!(
        routed("DELETE", "/things/abc").operation.name,
        "DeleteThing"
    );
}

#[test]
fn labels_are_percent_decoded_and_greedy_labels_take_slashes() {
    let file = routed("GET", "/things/a%20b%2Fc/files/dir/sub%3A1/name.txt");
    assert_eq!(file.operation.name, "GetThingFile");
    assert_eq!(
        file.path_labels,
        [
            ("Id".to_owned(), "a b/c".to_owned()),
            ("Path".to_owned(), "dir/sub:1/name.txt".to_owned())
        ]
    );
    let error = try_route(&parts("GET", "/things/abc/files", &[]), b"", SIGNED).unwrap_err();
    assert_eq!(
        error.error.common_kind(),
        Some(CommonError::UnknownOperation)
    );
}

#[test]
fn the_signing_name_or_host_picks_among_services_with_the_same_paths() {
    assert_eq!(
        route(&parts("GET", "/things/x", &[]), b"", Some("otherrest"))
            .model
            .name,
        "otherrest"
    );
    let hosted = parts(
        "GET",
        "/things/x",
        &[("host", "api.resttest.eu-west-1.amazonaws.com")],
    );
    assert_eq!(route(&hosted, b"", None).model.name, "resttest");
}

#[test]
fn unknown_paths_are_404_unknown_operations() {
    for (method, uri) in [("GET", "/nothing"), ("POST", "/things/abc"), ("GET", "/")] {
        let error = try_route(&parts(method, uri, &[]), b"", SIGNED).unwrap_err();
        assert_eq!(error.protocol, Protocol::RestJson);
        assert_eq!(error.model.map(|model| model.name), Some("resttest"));
        let response = error.into_response("r");
        assert_eq!(response.status(), 404, "{method} {uri}");
        assert_eq!(
            header(&response, "x-amzn-errortype"),
            Some("UnknownOperationException")
        );
        assert_eq!(json_body(&response)["__type"], "UnknownOperationException");
    }
    for uri in ["/things/%FF", "/things/x?junk=%FF"] {
        let bad = try_route(&parts("GET", uri, &[]), b"", SIGNED).unwrap_err();
        assert_eq!(
            bad.error.common_kind(),
            Some(CommonError::Serialization),
            "{uri}"
        );
    }
}

#[test]
fn members_come_from_every_part_of_the_request() {
    let request = parts(
        "GET",
        "/things/id%201/files/a/b?limit=5&kind=x&kind=y%20z&other=1&more=2",
        &[
            ("X-Flag", "true"),
            ("X-Since", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("X-Names", r#"plain, "with, comma""#),
            ("X-Meta-Color", "blue"),
            ("x-meta-size", "xl"),
            ("content-type", "application/json"),
        ],
    );
    let body = br#"{"name": "thing", "node": {"Name": "n"}, "Flag": false}"#;
    let route = route(&request, body, SIGNED);
    let value = palisade_wire::decode(&route, &request, body).unwrap();
    assert_eq!(
        value,
        obj(&[
            ("Id", s("id 1")),
            ("Path", s("a/b")),
            ("Limit", Value::Int(5)),
            ("Kinds", Value::List(vec![s("x"), s("y z")])),
            ("Extra", obj(&[("other", s("1")), ("more", s("2"))])),
            ("Flag", Value::Bool(true)),
            ("Since", Value::Timestamp(1_704_067_200.0)),
            ("Names", Value::List(vec![s("plain"), s("with, comma")])),
            ("Meta", obj(&[("color", s("blue")), ("size", s("xl"))])),
            ("Name", s("thing")),
            ("Node", obj(&[("Name", s("n"))])),
        ])
    );
}

#[test]
fn operations_without_input_ignore_the_request() {
    let request = parts("GET", "/things/special?junk=1", &[("x-flag", "junk")]);
    let route = route(&request, b"garbage", SIGNED);
    assert_eq!(
        palisade_wire::decode(&route, &request, b"garbage").unwrap(),
        Value::empty_struct()
    );
}

#[test]
fn bad_text_members_are_serialization_errors() {
    for (uri, headers) in [
        ("/things/x?limit=five", vec![]),
        ("/things/x", vec![("X-Flag", "maybe")]),
        ("/things/x", vec![("X-Since", "not a date")]),
    ] {
        let request = parts("GET", uri, &headers);
        let route = route(&request, b"", SIGNED);
        let error = palisade_wire::decode(&route, &request, b"").unwrap_err();
        assert_eq!(
            error.common_kind(),
            Some(CommonError::Serialization),
            "{uri} {headers:?}: {}",
            error.message
        );
    }
    let request = parts("GET", "/things/x?limit=five", &[]);
    let route = route(&request, b"", SIGNED);
    assert_eq!(
        palisade_wire::decode(&route, &request, b"")
            .unwrap_err()
            .message,
        "The value of query parameter 'limit' can not be converted to an Integer"
    );
}

#[test]
fn body_errors_and_validation_apply() {
    let request = parts("PUT", "/things/x", &[]);
    let route = route(&request, b"", SIGNED);
    let error = palisade_wire::decode(&route, &request, b"{\"name\": 3}").unwrap_err();
    assert_eq!(error.common_kind(), Some(CommonError::Serialization));
    let error = palisade_wire::decode(&route, &request, b"{").unwrap_err();
    assert_eq!(error.common_kind(), Some(CommonError::Serialization));
    let request = parts("PUT", "/things/x?limit=0", &[]);
    let error = palisade_wire::decode(&route, &request, b"").unwrap_err();
    assert_eq!(error.common_kind(), Some(CommonError::Validation));
    assert!(error.message.contains("'limit'"), "{}", error.message);
}

#[test]
fn responses_split_members_into_status_headers_and_body() {
    let route = routed("GET", "/things/abc");
    let output = obj(&[
        ("ETag", s("\"v1\"")),
        ("Modified", Value::Timestamp(784_111_777.0)),
        ("Meta", obj(&[("owner", s("me"))])),
        ("Name", s("thing")),
        ("When", Value::Timestamp(1_704_067_200.0)),
        ("WhenIso", Value::Timestamp(1_704_067_200.0)),
    ]);
    let response = encode(&route, &output, "req-5");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "x-amzn-requestid"), Some("req-5"));
    assert_eq!(header(&response, "etag"), Some("\"v1\""));
    assert_eq!(
        header(&response, "last-modified"),
        Some("Sun, 06 Nov 1994 08:49:37 GMT")
    );
    assert_eq!(header(&response, "x-meta-owner"), Some("me"));
    assert_eq!(
        json_body(&response),
        json!({"name": "thing", "when": 1704067200, "whenIso": "2024-01-01T00:00:00.000Z"})
    );

    let created = routed("PUT", "/things/abc?mode=replace");
    assert_eq!(encode(&created, &Value::empty_struct(), "r").status(), 201);
    let status = encode(&created, &obj(&[("Status", Value::Int(202))]), "r");
    assert_eq!(status.status(), 202);
    assert_eq!(text_body(&status), "{}");
}

#[test]
fn no_content_responses_have_no_body() {
    let route = routed("DELETE", "/things/abc");
    let response = encode(&route, &Value::empty_struct(), "r");
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    assert_eq!(header(&response, "content-type"), None);
}

#[test]
fn header_values_http_cannot_carry_are_left_out() {
    let route = routed("GET", "/things/abc");
    let response = encode(
        &route,
        &obj(&[("ETag", s("bad\nvalue")), ("Name", s("n"))]),
        "r",
    );
    assert_eq!(header(&response, "etag"), None);
    assert_eq!(json_body(&response), json!({"name": "n"}));
}

#[test]
fn errors_name_the_code_in_header_and_body() {
    let error = ServiceError::common(CommonError::AccessDenied, "User is not authorized");
    let response = encode_error(Protocol::RestJson, Some(&*models::REST), &error, "req-4");
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(
        header(&response, "x-amzn-errortype"),
        Some("AccessDeniedException")
    );
    assert_eq!(
        json_body(&response),
        json!({"__type": "AccessDeniedException", "message": "User is not authorized"})
    );
}
