//! Property tests: whatever arrives, routing and decoding answer a client error, never panic.

use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::Route;
use proptest::prelude::*;
use serde_json::Value as Json;

use crate::support::*;

fn json_route() -> (http::request::Parts, Route) {
    let parts = parts("POST", "/", &[("x-amz-target", "JsonTest_20240101.Echo")]);
    let route = route(&parts, b"", None);
    (parts, route)
}

fn cbor_route() -> (http::request::Parts, Route) {
    let parts = parts(
        "POST",
        "/service/MultiService_20100801/operation/Echo",
        &[("smithy-protocol", "rpc-v2-cbor")],
    );
    let route = route(&parts, b"", None);
    (parts, route)
}

fn query_route() -> (http::request::Parts, Route) {
    let parts = parts(
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    let route = route(&parts, b"Action=Echo&Version=2011-06-15", None);
    (parts, route)
}

fn rest_route() -> (http::request::Parts, Route) {
    let parts = parts("PUT", "/things/x", &[]);
    let route = route(&parts, b"", Some("resttest"));
    (parts, route)
}

/// A decode failure must be the client's fault, in words of its own protocol.
fn client_error(result: Result<palisade_core::Value, ServiceError>) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        let kind = error.common_kind();
        prop_assert!(
            matches!(
                kind,
                Some(CommonError::Serialization | CommonError::Validation)
            ),
            "unexpected {kind:?}: {}",
            error.message
        );
    }
    Ok(())
}

/// JSON documents shaped like the test input: member names as keys, any type as values.
fn json_value() -> impl Strategy<Value = Json> {
    let key = prop::sample::select(vec![
        "Name",
        "Count",
        "Big",
        "Ratio",
        "Precise",
        "Flag",
        "Data",
        "When",
        "WhenIso",
        "Tags",
        "Labels",
        "Node",
        "Child",
        "Doc",
        "Items",
        "Key",
        "Value",
        "renamedOnWire",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "[a-zA-Z0-9+/=: .-]{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|map| {
                Json::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let (parts, route) = json_route();
        client_error(palisade_wire::decode(&route, &parts, &body))?;
    }

    #[test]
    fn json_documents_never_panic(document in json_value()) {
        let (parts, route) = json_route();
        let body = serde_json::to_vec(&document).unwrap();
        client_error(palisade_wire::decode(&route, &parts, &body))?;
        let (rest_parts, rest) = rest_route();
        client_error(palisade_wire::decode(&rest, &rest_parts, &body))?;
    }

    #[test]
    fn cbor_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let (parts, route) = cbor_route();
        client_error(palisade_wire::decode(&route, &parts, &body))?;
        // Behind a map header and a member name, random bytes reach the typed walk.
        let framed = [&[0xa1, 0x64][..], b"Node", &body].concat();
        client_error(palisade_wire::decode(&route, &parts, &framed))?;
    }

    #[test]
    fn query_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let (parts, route) = query_route();
        client_error(palisade_wire::decode(&route, &parts, &body))?;
    }

    #[test]
    fn query_parameters_never_panic(
        params in prop::collection::vec(
            ("(Name|Count|Tags|member|item|entry|key|value|Node|Child|Items|Labels|Data|When|[0-9]{1,3}|\\.){1,8}",
             "[a-zA-Z0-9%+=.:-]{0,10}"),
            0..24,
        )
    ) {
        let (parts, route) = query_route();
        let body: Vec<String> = params.iter().map(|(name, value)| format!("{name}={value}")).collect();
        client_error(palisade_wire::decode(&route, &parts, body.join("&").as_bytes()))?;
    }

    #[test]
    fn rest_requests_never_panic(
        path in "(/[a-zA-Z0-9%.:+ ]{0,8}){0,6}",
        query in "[a-zA-Z0-9%=&+]{0,40}",
        flag in "[ -~]{0,10}",
        since in "[ -~]{0,30}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let uri = format!("{}?{query}", path.replace(' ', "%20"));
        let Ok(uri) = uri.parse::<http::Uri>() else { return Ok(()); };
        let request = parts("PUT", &uri.to_string(), &[("x-flag", &flag), ("x-since", &since)]);
        match try_route(&request, &body, Some("resttest")) {
            Ok(route) => client_error(palisade_wire::decode(&route, &request, &body))?,
            Err(error) => prop_assert!(error.into_response("r").status().is_client_error()),
        }
    }

    #[test]
    fn routing_any_request_never_panics(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        path in "(/[a-zA-Z0-9._-]{0,12}){0,5}",
        target in "[ -~]{0,40}",
        content_type in prop::sample::select(vec![
            "", "application/x-www-form-urlencoded", "application/x-amz-json-1.1",
            "application/cbor", "text/plain",
        ]),
        smithy in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers = vec![("x-amz-target", target.as_str())];
        if !content_type.is_empty() {
            headers.push(("content-type", content_type));
        }
        if smithy {
            headers.push(("smithy-protocol", "rpc-v2-cbor"));
        }
        let Ok(uri) = path.parse::<http::Uri>() else { return Ok(()); };
        let request = parts(method, &uri.to_string(), &headers);
        match try_route(&request, &body, None) {
            Ok(route) => client_error(palisade_wire::decode(&route, &request, &body))?,
            Err(error) => prop_assert!(error.into_response("r").status().is_client_error()),
        }
    }
}
