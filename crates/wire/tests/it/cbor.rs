//! Smithy RPC v2 CBOR: routing by path, decoding every CBOR form, encoding and errors.

use palisade_core::Value;
use palisade_core::model::Protocol;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{encode, encode_error};

use crate::models;
use crate::support::*;

/// A tiny CBOR writer for building test bodies, including forms the server itself never writes.
mod c {
    pub fn head(major: u8, n: u64) -> Vec<u8> {
        let major = major << 5;
        match n {
            0..=23 => vec![major | n as u8],
            24..=0xff => vec![major | 24, n as u8],
            0x100..=0xffff => [vec![major | 25], (n as u16).to_be_bytes().to_vec()].concat(),
            0x1_0000..=0xffff_ffff => {
                [vec![major | 26], (n as u32).to_be_bytes().to_vec()].concat()
            }
            _ => [vec![major | 27], n.to_be_bytes().to_vec()].concat(),
        }
    }
    pub fn uint(n: u64) -> Vec<u8> {
        head(0, n)
    }
    pub fn neg(n: u64) -> Vec<u8> {
        head(1, n)
    }
    pub fn bytes(b: &[u8]) -> Vec<u8> {
        [head(2, b.len() as u64), b.to_vec()].concat()
    }
    pub fn text(s: &str) -> Vec<u8> {
        [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
    }
    pub fn array(items: &[Vec<u8>]) -> Vec<u8> {
        [head(4, items.len() as u64), items.concat()].concat()
    }
    pub fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = head(5, entries.len() as u64);
        for (key, value) in entries {
            out.extend(text(key));
            out.extend(value);
        }
        out
    }
    pub fn indefinite_map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![0xbf];
        for (key, value) in entries {
            out.extend(text(key));
            out.extend(value);
        }
        out.push(0xff);
        out
    }
    pub fn indefinite(major: u8, chunks: &[Vec<u8>]) -> Vec<u8> {
        [vec![(major << 5) | 31], chunks.concat(), vec![0xff]].concat()
    }
    pub fn tag(tag: u64, inner: Vec<u8>) -> Vec<u8> {
        [head(6, tag), inner].concat()
    }
    pub fn f16(bits: u16) -> Vec<u8> {
        [vec![0xf9], bits.to_be_bytes().to_vec()].concat()
    }
    pub fn f32(x: f32) -> Vec<u8> {
        [vec![0xfa], x.to_be_bytes().to_vec()].concat()
    }
    pub fn f64(x: f64) -> Vec<u8> {
        [vec![0xfb], x.to_be_bytes().to_vec()].concat()
    }
    pub const TRUE: u8 = 0xf5;
    pub const NULL: u8 = 0xf6;
    pub const UNDEFINED: u8 = 0xf7;
}

const HEADERS: &[(&str, &str)] = &[
    ("smithy-protocol", "rpc-v2-cbor"),
    ("content-type", "application/cbor"),
];

fn echo_parts() -> http::request::Parts {
    parts(
        "POST",
        "/service/MultiService_20100801/operation/Echo",
        HEADERS,
    )
}

fn echo(body: &[u8]) -> Result<Value, ServiceError> {
    decode(&echo_parts(), body)
}

#[test]
fn routes_by_service_and_operation_in_the_path() {
    let route = route(&echo_parts(), b"", None);
    assert_eq!(route.model.name, "multitest");
    assert_eq!(route.protocol, Protocol::RpcV2Cbor);
    assert_eq!(route.operation.name, "Echo");
    // Every awsJson service answers RPC v2 CBOR too, and an endpoint may add a path prefix.
    let json_service = parts(
        "POST",
        "/prefix/service/JsonTest_20240101/operation/Ping",
        HEADERS,
    );
    let route = super::support::route(&json_service, b"", None);
    assert_eq!(route.model.name, "jsontest");
    assert_eq!(route.operation.name, "Ping");
}

#[test]
fn bad_routes_answer_in_cbor() {
    for (method, uri, headers, kind) in [
        (
            "POST",
            "/service/MultiService_20100801/operation/Nope",
            HEADERS,
            CommonError::UnknownOperation,
        ),
        (
            "POST",
            "/service/Unknown/operation/Echo",
            HEADERS,
            CommonError::UnknownOperation,
        ),
        (
            "GET",
            "/service/MultiService_20100801/operation/Echo",
            HEADERS,
            CommonError::UnknownOperation,
        ),
        ("POST", "/", HEADERS, CommonError::UnknownOperation),
        (
            "POST",
            "/service/MultiService_20100801/operation/Echo",
            &[("smithy-protocol", "rpc-v3-json")][..],
            CommonError::Serialization,
        ),
    ] {
        let error = try_route(&parts(method, uri, headers), b"", None).unwrap_err();
        assert_eq!(error.protocol, Protocol::RpcV2Cbor, "{method} {uri}");
        assert_eq!(error.error.common_kind(), Some(kind), "{method} {uri}");
        let response = error.into_response("r");
        assert_eq!(response.status(), 400);
        assert_eq!(header(&response, "smithy-protocol"), Some("rpc-v2-cbor"));
        assert_eq!(header(&response, "content-type"), Some("application/cbor"));
    }
}

#[test]
fn every_cbor_form_decodes() {
    let body = c::map(&[
        ("Name", c::indefinite(3, &[c::text("ali"), c::text("ce")])),
        ("Count", c::uint(7)),
        ("Big", c::neg(4)),
        ("Ratio", c::f32(0.5)),
        ("Precise", c::f16(0x7c00)),
        ("Flag", vec![c::TRUE]),
        (
            "Data",
            c::indefinite(2, &[c::bytes(b"he"), c::bytes(b"llo")]),
        ),
        ("When", c::tag(1, c::uint(1_704_067_200))),
        ("WhenIso", c::tag(1, c::f64(1_704_067_200.5))),
        (
            "Tags",
            c::indefinite(4, &[c::text("a"), vec![c::NULL], c::text("b")]),
        ),
        (
            "Labels",
            c::indefinite_map(&[("x", c::uint(1)), ("y", vec![c::UNDEFINED])]),
        ),
        (
            "Node",
            c::map(&[("Child", c::map(&[("Name", c::text("leaf"))]))]),
        ),
        (
            "Doc",
            c::map(&[("n", c::array(&[c::neg(0), c::f64(1.5), c::bytes(b"z")]))]),
        ),
        ("Items", c::array(&[c::map(&[("Key", c::text("k"))])])),
        ("renamedOnWire", c::text("by wire name")),
        ("Unknown", c::array(&[c::uint(1)])),
        ("Mode", vec![c::NULL]),
    ]);
    let value = echo(&body).unwrap();
    assert_eq!(
        value,
        obj(&[
            ("Name", s("alice")),
            ("Count", Value::Int(7)),
            ("Big", Value::Int(-5)),
            ("Ratio", Value::Float(0.5)),
            ("Precise", Value::Float(f64::INFINITY)),
            ("Flag", Value::Bool(true)),
            ("Data", Value::Blob(b"hello".to_vec())),
            ("When", Value::Timestamp(1_704_067_200.0)),
            ("WhenIso", Value::Timestamp(1_704_067_200.5)),
            ("Tags", Value::List(vec![s("a"), s("b")])),
            ("Labels", obj(&[("x", Value::Int(1))])),
            ("Node", obj(&[("Child", obj(&[("Name", s("leaf"))]))])),
            (
                "Doc",
                obj(&[(
                    "n",
                    Value::List(vec![
                        Value::Int(-1),
                        Value::Float(1.5),
                        Value::Blob(b"z".to_vec())
                    ])
                )])
            ),
            ("Items", Value::List(vec![obj(&[("Key", s("k"))])])),
            ("Renamed", s("by wire name")),
        ])
    );
}

#[test]
fn half_floats_cover_their_range() {
    for (bits, expected) in [
        (0x3c00_u16, 1.0),
        (0xc000, -2.0),
        (0x0001, 5.960_464_477_539_063e-8),
        (0x7bff, 65504.0),
        (0xfc00, f64::NEG_INFINITY),
        (0x0000, 0.0),
    ] {
        let body = c::map(&[("Name", c::text("n")), ("Precise", c::f16(bits))]);
        assert_eq!(
            echo(&body).unwrap().get("Precise"),
            Some(&Value::Float(expected)),
            "{bits:#06x}"
        );
    }
    let nan = c::map(&[("Name", c::text("n")), ("Precise", c::f16(0x7e00))]);
    assert!(matches!(echo(&nan).unwrap().get("Precise"), Some(Value::Float(x)) if x.is_nan()));
}

#[test]
fn an_empty_body_is_an_empty_structure() {
    let (kind, _) = common(echo(b""));
    assert_eq!(kind, CommonError::Validation, "Name is required");
    let ping = parts(
        "POST",
        "/service/MultiService_20100801/operation/Ping",
        HEADERS,
    );
    let route = route(&ping, b"", None);
    assert_eq!(
        palisade_wire::decode(&route, &ping, &c::map(&[])).unwrap(),
        Value::empty_struct()
    );
}

#[test]
fn malformed_and_hostile_bodies_are_serialization_errors() {
    let name = c::map(&[("Name", c::text("n"))]);
    // 100 nested one-element arrays around an integer.
    let mut deep = vec![0x81; 100];
    deep.push(0x01);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", name[..name.len() - 1].to_vec()),
        ("trailing data", [name.clone(), vec![0x00]].concat()),
        ("not a map", c::array(&[])),
        ("a scalar", c::uint(1)),
        (
            "non-text key",
            [c::head(5, 1), c::uint(1), c::uint(2)].concat(),
        ),
        (
            "unknown tag",
            c::map(&[("When", c::tag(0, c::text("2024-01-01T00:00:00Z")))]),
        ),
        (
            "tag 1 on text",
            c::map(&[("When", c::tag(1, c::text("now")))]),
        ),
        ("simple value", c::map(&[("Name", vec![0xe0])])),
        ("lone break", vec![0xff]),
        ("reserved byte", vec![0x1c]),
        (
            "huge array",
            [
                vec![0xa1],
                c::text("Tags"),
                vec![0x9b, 0x10, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat(),
        ),
        (
            "huge text",
            [
                vec![0xa1],
                c::text("Name"),
                vec![0x7b, 0x10, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat(),
        ),
        ("unterminated indefinite map", vec![0xbf]),
        (
            "invalid utf-8",
            c::map(&[("Name", [c::head(3, 2), vec![0xff, 0xfe]].concat())]),
        ),
        (
            "mixed indefinite chunks",
            c::map(&[("Name", c::indefinite(3, &[c::bytes(b"x")]))]),
        ),
        ("deep nesting", c::map(&[("Doc", deep)])),
        (
            "text for integer",
            c::map(&[("Name", c::text("n")), ("Count", c::text("7"))]),
        ),
        (
            "integer overflow",
            c::map(&[("Name", c::text("n")), ("Count", c::uint(1 << 40))]),
        ),
        (
            "long overflow",
            c::map(&[("Name", c::text("n")), ("Big", c::uint(u64::MAX))]),
        ),
        (
            "negative overflow",
            c::map(&[("Name", c::text("n")), ("Big", c::neg(u64::MAX))]),
        ),
        ("bytes for text", c::map(&[("Name", c::bytes(b"n"))])),
        (
            "map for list",
            c::map(&[("Name", c::text("n")), ("Tags", c::map(&[]))]),
        ),
        (
            "infinite timestamp",
            c::map(&[("Name", c::text("n")), ("When", c::tag(1, c::f16(0x7c00)))]),
        ),
    ];
    for (what, body) in cases {
        let (kind, message) = common(echo(&body));
        assert_eq!(kind, CommonError::Serialization, "{what}: {message}");
    }
}

#[test]
fn output_is_definite_cbor_with_sdk_friendly_numbers() {
    let route = route(&echo_parts(), b"", None);
    let output = obj(&[
        ("Count", Value::Int(-3)),
        ("Ratio", Value::Float(0.5)),
        ("When", Value::Timestamp(1_704_067_200.0)),
    ]);
    let response = encode(&route, &output, "req-1");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/cbor"));
    assert_eq!(header(&response, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(header(&response, "x-amzn-requestid"), Some("req-1"));
    let expected = c::map(&[
        ("Count", c::neg(2)),
        // A float member is single precision on the wire: the SDKs read it with an f32 read.
        ("Ratio", c::f32(0.5)),
        // Timestamps are tag 1 with a double: the SDKs read them with a float read.
        ("When", c::tag(1, c::f64(1_704_067_200.0))),
    ]);
    assert_eq!(response.body().as_ref(), expected.as_slice());
    let ping = parts(
        "POST",
        "/service/MultiService_20100801/operation/Ping",
        HEADERS,
    );
    let empty = encode(
        &super::support::route(&ping, b"", None),
        &Value::empty_struct(),
        "r",
    );
    assert_eq!(empty.body().as_ref(), &[0xa0]);
}

#[test]
fn round_trip_through_encode_and_decode() {
    let route = route(&echo_parts(), b"", None);
    let value = obj(&[
        ("Name", s("round trip")),
        ("Count", Value::Int(42)),
        ("Big", Value::Int(i64::MIN)),
        ("Precise", Value::Float(-0.1)),
        ("Flag", Value::Bool(false)),
        ("Data", Value::Blob((0..=255).collect())),
        ("When", Value::Timestamp(1_704_067_200.125)),
        ("Tags", Value::List(vec![s("a"), s(&"b".repeat(300))])),
        ("Labels", obj(&[("one", Value::Int(1))])),
        ("Node", obj(&[("Child", obj(&[("Name", s("ü"))]))])),
        (
            "Doc",
            obj(&[("k", Value::List(vec![Value::Int(70_000), Value::Null]))]),
        ),
        ("Renamed", s("r")),
    ]);
    let response = encode(&route, &value, "r");
    let decoded = palisade_wire::decode(&route, &echo_parts(), response.body()).unwrap();
    // A null inside a document is part of the document, and is kept.
    assert_eq!(decoded, value);
}

#[test]
fn errors_are_cbor_maps() {
    let error = ServiceError::validation("bad");
    let response = encode_error(Protocol::RpcV2Cbor, Some(&*models::MULTI), &error, "req-2");
    assert_eq!(response.status(), 400);
    assert_eq!(header(&response, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(
        header(&response, "x-amzn-query-error"),
        Some("ValidationError;Sender")
    );
    assert_eq!(
        response.body().as_ref(),
        c::map(&[
            ("__type", c::text("ValidationException")),
            ("message", c::text("bad"))
        ])
        .as_slice()
    );
}
