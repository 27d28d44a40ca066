//! Small hand-written models: one table of shapes, and services over it that speak each protocol.

use std::sync::LazyLock;

use palisade_core::model::build::{self, Error, Kind, Member, Operation, Shape};
use palisade_core::model::{
    Location, Protocol, Range, ServiceModel, ShapeId, Tables, TimestampFormat,
};

fn shape(name: &'static str, kind: Kind<'static>) -> Shape<'static> {
    Shape {
        name,
        sensitive: false,
        kind,
    }
}

fn member(name: &'static str, target: ShapeId, required: bool) -> Member<'static> {
    Member {
        name,
        target,
        required,
        location: Location::Body,
        location_name: None,
        idempotency_token: false,
    }
}

fn located(
    name: &'static str,
    target: ShapeId,
    location: Location,
    location_name: Option<&'static str>,
) -> Member<'static> {
    Member {
        name,
        target,
        required: false,
        location,
        location_name,
        idempotency_token: false,
    }
}

fn structure(members: Vec<Member<'static>>) -> Kind<'static> {
    Kind::Structure {
        members,
        union: false,
        error: None,
    }
}

fn plain_string() -> Kind<'static> {
    Kind::String {
        length: Range::ANY,
        pattern: None,
        enum_values: vec![],
    }
}

pub const INPUT: ShapeId = 0;
pub const NAME: ShapeId = 1;
pub const PLAIN: ShapeId = 13;
pub const NODE: ShapeId = 14;
pub const OUTPUT: ShapeId = 19;
pub const REST_INPUT: ShapeId = 22;
pub const REST_OUTPUT: ShapeId = 24;

fn shapes() -> Vec<Shape<'static>> {
    vec![
        // 0
        shape(
            "EchoInput",
            structure(vec![
                member("Name", NAME, true),
                member("Mode", 2, false),
                member("Count", 3, false),
                member("Big", 4, false),
                member("Ratio", 5, false),
                member("Precise", 6, false),
                member("Flag", 7, false),
                member("Data", 8, false),
                member("When", 9, false),
                member("WhenIso", 10, false),
                member("Tags", 11, false),
                member("Labels", 12, false),
                member("Node", NODE, false),
                member("Doc", 15, false),
                member("Secret", 16, false),
                member("Items", 17, false),
                located("Renamed", PLAIN, Location::Body, Some("renamedOnWire")),
            ]),
        ),
        // 1
        shape(
            "NameType",
            Kind::String {
                length: Range {
                    min: Some(1),
                    max: Some(16),
                },
                pattern: Some("[a-z ]+"),
                enum_values: vec![],
            },
        ),
        // 2
        shape(
            "ModeType",
            Kind::String {
                length: Range::ANY,
                pattern: None,
                enum_values: vec!["fast", "slow"],
            },
        ),
        // 3
        shape(
            "CountType",
            Kind::Integer(Range {
                min: Some(1),
                max: Some(100),
            }),
        ),
        // 4
        shape("BigType", Kind::Long(Range::ANY)),
        // 5
        shape("RatioType", Kind::Float(Range::ANY)),
        // 6
        shape("PreciseType", Kind::Double(Range::ANY)),
        // 7
        shape("FlagType", Kind::Boolean),
        // 8
        shape("DataType", Kind::Blob { length: Range::ANY }),
        // 9
        shape("WhenType", Kind::Timestamp { format: None }),
        // 10
        shape(
            "WhenIsoType",
            Kind::Timestamp {
                format: Some(TimestampFormat::Iso8601),
            },
        ),
        // 11
        shape(
            "TagList",
            Kind::List {
                member: PLAIN,
                member_name: None,
                length: Range {
                    min: None,
                    max: Some(3),
                },
            },
        ),
        // 12
        shape(
            "LabelMap",
            Kind::Map {
                key: PLAIN,
                value: 3,
                length: Range::ANY,
            },
        ),
        // 13
        shape("PlainString", plain_string()),
        // 14
        shape(
            "Node",
            structure(vec![
                member("Name", PLAIN, false),
                member("Child", NODE, false),
            ]),
        ),
        // 15
        shape("Doc", Kind::Document),
        // 16
        Shape {
            name: "SecretType",
            sensitive: true,
            kind: Kind::String {
                length: Range {
                    min: None,
                    max: Some(4),
                },
                pattern: None,
                enum_values: vec![],
            },
        },
        // 17
        shape(
            "ItemList",
            Kind::List {
                member: 18,
                member_name: Some("item"),
                length: Range::ANY,
            },
        ),
        // 18
        shape(
            "Item",
            structure(vec![
                member("Key", PLAIN, true),
                member("Value", PLAIN, false),
            ]),
        ),
        // 19
        shape(
            "EchoOutput",
            structure(vec![
                member("Name", PLAIN, false),
                member("Count", 3, false),
                member("Big", 4, false),
                member("Ratio", 5, false),
                member("Precise", 6, false),
                member("Flag", 7, false),
                member("Data", 8, false),
                member("When", 9, false),
                member("WhenIso", 10, false),
                member("Tags", 11, false),
                member("Labels", 12, false),
                member("Node", NODE, false),
                member("Doc", 15, false),
                member("Items", 17, false),
                located("Renamed", PLAIN, Location::Body, Some("renamedOnWire")),
            ]),
        ),
        // 20
        shape(
            "ResourceNotFoundException",
            Kind::Structure {
                members: vec![member("message", PLAIN, false)],
                union: false,
                error: Some(Error {
                    code: "ResourceNotFound",
                    status: 404,
                    sender_fault: true,
                }),
            },
        ),
        // 21
        shape("PlainInteger", Kind::Integer(Range::ANY)),
        // 22
        shape(
            "RestInput",
            structure(vec![
                Member {
                    required: true,
                    ..located("Id", PLAIN, Location::Uri, Some("Id"))
                },
                located("Path", PLAIN, Location::Uri, Some("Path")),
                located("Limit", 3, Location::QueryString, Some("limit")),
                located("Kinds", 11, Location::QueryString, Some("kind")),
                located("Extra", 23, Location::QueryString, None),
                located("Flag", 7, Location::Header, Some("X-Flag")),
                located("Since", 9, Location::Header, Some("X-Since")),
                located("Names", 11, Location::Header, Some("X-Names")),
                located("Meta", 23, Location::Headers, Some("X-Meta-")),
                located("Name", PLAIN, Location::Body, Some("name")),
                located("Node", NODE, Location::Body, Some("node")),
            ]),
        ),
        // 23
        shape(
            "StringMap",
            Kind::Map {
                key: PLAIN,
                value: PLAIN,
                length: Range::ANY,
            },
        ),
        // 24
        shape(
            "RestOutput",
            structure(vec![
                located("ETag", PLAIN, Location::Header, Some("ETag")),
                located("Modified", 9, Location::Header, Some("Last-Modified")),
                located("Status", 21, Location::StatusCode, None),
                located("Meta", 23, Location::Headers, Some("X-Meta-")),
                located("Name", PLAIN, Location::Body, Some("name")),
                located("When", 9, Location::Body, Some("when")),
                located("WhenIso", 10, Location::Body, Some("whenIso")),
            ]),
        ),
    ]
}

fn post(
    name: &'static str,
    input: Option<ShapeId>,
    output: Option<ShapeId>,
    result_wrapper: Option<&'static str>,
) -> Operation<'static> {
    Operation {
        name,
        method: "POST",
        request_uri: "/",
        response_code: 200,
        input,
        output,
        result_wrapper,
        errors: vec![20],
        anonymous: false,
    }
}

/// The tables of the RPC-style services (awsJson, CBOR, awsQuery).
static RPC_TABLES: LazyLock<&'static Tables> = LazyLock::new(|| {
    let operations = [
        post("Echo", Some(INPUT), Some(OUTPUT), Some("EchoResult")),
        post("Ping", None, None, None),
    ];
    build::tables(&operations, &shapes()).leak()
});

fn rest(
    name: &'static str,
    method: &'static str,
    request_uri: &'static str,
    response_code: u16,
    input: Option<ShapeId>,
    output: Option<ShapeId>,
) -> Operation<'static> {
    Operation {
        name,
        method,
        request_uri,
        response_code,
        input,
        output,
        result_wrapper: None,
        errors: vec![20],
        anonymous: false,
    }
}

/// The tables of the restJson1 services.
static REST_TABLES: LazyLock<&'static Tables> = LazyLock::new(|| {
    let operations = [
        rest(
            "DeleteThing",
            "DELETE",
            "/things/{Id}",
            204,
            Some(REST_INPUT),
            None,
        ),
        rest(
            "GetSpecial",
            "GET",
            "/things/special",
            200,
            None,
            Some(REST_OUTPUT),
        ),
        rest(
            "GetThing",
            "GET",
            "/things/{Id}",
            200,
            Some(REST_INPUT),
            Some(REST_OUTPUT),
        ),
        rest(
            "GetThingFile",
            "GET",
            "/things/{Id}/files/{Path+}",
            200,
            Some(REST_INPUT),
            Some(REST_OUTPUT),
        ),
        rest(
            "ReplaceThing",
            "PUT",
            "/things/{Id}?mode=replace",
            201,
            Some(REST_INPUT),
            Some(REST_OUTPUT),
        ),
        rest(
            "UpdateThing",
            "PUT",
            "/things/{Id}",
            200,
            Some(REST_INPUT),
            Some(REST_OUTPUT),
        ),
    ];
    build::tables(&operations, &shapes()).leak()
});

/// An awsJson 1.1 service.
pub static JSON: LazyLock<ServiceModel> = LazyLock::new(|| ServiceModel {
    name: "jsontest",
    service_id: "JsonTest",
    api_version: "2024-01-01",
    endpoint_prefix: "jsontest",
    signing_name: "jsontest",
    target_prefix: Some("JsonTest_20240101"),
    json_version: Some("1.1"),
    xml_namespace: None,
    protocols: &[Protocol::Json],
    query_compatible: false,
    tables: *RPC_TABLES,
});

/// A query-compatible service speaking RPC v2 CBOR, awsJson 1.0 and awsQuery, as CloudWatch does.
pub static MULTI: LazyLock<ServiceModel> = LazyLock::new(|| ServiceModel {
    name: "multitest",
    service_id: "MultiTest",
    api_version: "2010-08-01",
    endpoint_prefix: "multi",
    signing_name: "multi",
    target_prefix: Some("MultiService_20100801"),
    json_version: Some("1.0"),
    xml_namespace: Some("http://multi.amazonaws.com/doc/2010-08-01/"),
    protocols: &[Protocol::RpcV2Cbor, Protocol::Json, Protocol::Query],
    query_compatible: true,
    tables: *RPC_TABLES,
});

/// An awsQuery service.
pub static QUERY: LazyLock<ServiceModel> = LazyLock::new(|| ServiceModel {
    name: "querytest",
    service_id: "QueryTest",
    api_version: "2011-06-15",
    endpoint_prefix: "querytest",
    signing_name: "querytest",
    target_prefix: None,
    json_version: None,
    xml_namespace: Some("https://querytest.amazonaws.com/doc/2011-06-15/"),
    protocols: &[Protocol::Query],
    query_compatible: false,
    tables: *RPC_TABLES,
});

/// A restJson1 service.
pub static REST: LazyLock<ServiceModel> = LazyLock::new(|| ServiceModel {
    name: "resttest",
    service_id: "RestTest",
    api_version: "2020-01-01",
    endpoint_prefix: "api.resttest",
    signing_name: "resttest",
    target_prefix: None,
    json_version: Some("1.1"),
    xml_namespace: None,
    protocols: &[Protocol::RestJson],
    query_compatible: false,
    tables: *REST_TABLES,
});

/// Another restJson1 service with the same paths, told apart by signing name or host.
pub static OTHER_REST: LazyLock<ServiceModel> = LazyLock::new(|| ServiceModel {
    name: "otherrest",
    service_id: "OtherRest",
    api_version: "2020-01-01",
    endpoint_prefix: "otherrest",
    signing_name: "otherrest",
    target_prefix: None,
    json_version: Some("1.1"),
    xml_namespace: None,
    protocols: &[Protocol::RestJson],
    query_compatible: false,
    tables: *REST_TABLES,
});

/// Every test service.
pub static ALL: LazyLock<[&'static ServiceModel; 5]> =
    LazyLock::new(|| [&*JSON, &*MULTI, &*QUERY, &*REST, &*OTHER_REST]);
