//! Small hand-written models: one table of shapes, and services over it that speak each protocol.

use palisade_core::model::*;

const fn shape(name: &'static str, kind: ShapeKind) -> Shape {
    Shape {
        name,
        sensitive: false,
        kind,
    }
}

const fn member(name: &'static str, target: ShapeId, required: bool) -> Member {
    Member {
        name,
        target,
        required,
        location: Location::Body,
        location_name: None,
        idempotency_token: false,
    }
}

const fn located(
    name: &'static str,
    target: ShapeId,
    location: Location,
    location_name: Option<&'static str>,
) -> Member {
    Member {
        name,
        target,
        required: false,
        location,
        location_name,
        idempotency_token: false,
    }
}

const fn structure(members: &'static [Member]) -> ShapeKind {
    ShapeKind::Structure(Structure {
        members,
        union: false,
        error: None,
    })
}

const fn plain_string() -> ShapeKind {
    ShapeKind::String {
        length: Range::ANY,
        pattern: None,
        enum_values: &[],
    }
}

pub const INPUT: ShapeId = 0;
pub const NAME: ShapeId = 1;
pub const PLAIN: ShapeId = 13;
pub const NODE: ShapeId = 14;
pub const OUTPUT: ShapeId = 19;
pub const REST_INPUT: ShapeId = 22;
pub const REST_OUTPUT: ShapeId = 24;

pub static SHAPES: &[Shape] = &[
    // 0
    shape(
        "EchoInput",
        structure(&[
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
        ShapeKind::String {
            length: Range {
                min: Some(1),
                max: Some(16),
            },
            pattern: Some("[a-z ]+"),
            enum_values: &[],
        },
    ),
    // 2
    shape(
        "ModeType",
        ShapeKind::String {
            length: Range::ANY,
            pattern: None,
            enum_values: &["fast", "slow"],
        },
    ),
    // 3
    shape(
        "CountType",
        ShapeKind::Integer(Range {
            min: Some(1),
            max: Some(100),
        }),
    ),
    // 4
    shape("BigType", ShapeKind::Long(Range::ANY)),
    // 5
    shape("RatioType", ShapeKind::Float(Range::ANY)),
    // 6
    shape("PreciseType", ShapeKind::Double(Range::ANY)),
    // 7
    shape("FlagType", ShapeKind::Boolean),
    // 8
    shape("DataType", ShapeKind::Blob { length: Range::ANY }),
    // 9
    shape("WhenType", ShapeKind::Timestamp { format: None }),
    // 10
    shape(
        "WhenIsoType",
        ShapeKind::Timestamp {
            format: Some(TimestampFormat::Iso8601),
        },
    ),
    // 11
    shape(
        "TagList",
        ShapeKind::List {
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
        ShapeKind::Map {
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
        structure(&[member("Name", PLAIN, false), member("Child", NODE, false)]),
    ),
    // 15
    shape("Doc", ShapeKind::Document),
    // 16
    Shape {
        name: "SecretType",
        sensitive: true,
        kind: ShapeKind::String {
            length: Range {
                min: None,
                max: Some(4),
            },
            pattern: None,
            enum_values: &[],
        },
    },
    // 17
    shape(
        "ItemList",
        ShapeKind::List {
            member: 18,
            member_name: Some("item"),
            length: Range::ANY,
        },
    ),
    // 18
    shape(
        "Item",
        structure(&[member("Key", PLAIN, true), member("Value", PLAIN, false)]),
    ),
    // 19
    shape(
        "EchoOutput",
        structure(&[
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
        ShapeKind::Structure(Structure {
            members: &[member("message", PLAIN, false)],
            union: false,
            error: Some(ErrorInfo {
                code: "ResourceNotFound",
                status: 404,
                sender_fault: true,
            }),
        }),
    ),
    // 21
    shape("PlainInteger", ShapeKind::Integer(Range::ANY)),
    // 22
    shape(
        "RestInput",
        structure(&[
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
        ShapeKind::Map {
            key: PLAIN,
            value: PLAIN,
            length: Range::ANY,
        },
    ),
    // 24
    shape(
        "RestOutput",
        structure(&[
            located("ETag", PLAIN, Location::Header, Some("ETag")),
            located("Modified", 9, Location::Header, Some("Last-Modified")),
            located("Status", 21, Location::StatusCode, None),
            located("Meta", 23, Location::Headers, Some("X-Meta-")),
            located("Name", PLAIN, Location::Body, Some("name")),
            located("When", 9, Location::Body, Some("when")),
            located("WhenIso", 10, Location::Body, Some("whenIso")),
        ]),
    ),
];

const fn post(
    name: &'static str,
    input: Option<ShapeId>,
    output: Option<ShapeId>,
    result_wrapper: Option<&'static str>,
) -> Operation {
    Operation {
        name,
        http: HttpBinding {
            method: "POST",
            request_uri: "/",
            response_code: 200,
        },
        input,
        output,
        result_wrapper,
        errors: &[20],
        anonymous: false,
    }
}

/// The operations of the RPC-style services (awsJson, CBOR, awsQuery), sorted by name.
pub static RPC_OPERATIONS: &[Operation] = &[
    post("Echo", Some(INPUT), Some(OUTPUT), Some("EchoResult")),
    post("Ping", None, None, None),
];

const fn rest(
    name: &'static str,
    method: &'static str,
    request_uri: &'static str,
    response_code: u16,
    input: Option<ShapeId>,
    output: Option<ShapeId>,
) -> Operation {
    Operation {
        name,
        http: HttpBinding {
            method,
            request_uri,
            response_code,
        },
        input,
        output,
        result_wrapper: None,
        errors: &[20],
        anonymous: false,
    }
}

/// The restJson1 operations, sorted by name.
pub static REST_OPERATIONS: &[Operation] = &[
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

/// An awsJson 1.1 service.
pub static JSON: ServiceModel = ServiceModel {
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
    operations: RPC_OPERATIONS,
    shapes: SHAPES,
};

/// A query-compatible service speaking RPC v2 CBOR, awsJson 1.0 and awsQuery, as CloudWatch does.
pub static MULTI: ServiceModel = ServiceModel {
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
    operations: RPC_OPERATIONS,
    shapes: SHAPES,
};

/// An awsQuery service.
pub static QUERY: ServiceModel = ServiceModel {
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
    operations: RPC_OPERATIONS,
    shapes: SHAPES,
};

/// A restJson1 service.
pub static REST: ServiceModel = ServiceModel {
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
    operations: REST_OPERATIONS,
    shapes: SHAPES,
};

/// Another restJson1 service with the same paths, told apart by signing name or host.
pub static OTHER_REST: ServiceModel = ServiceModel {
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
    operations: REST_OPERATIONS,
    shapes: SHAPES,
};

/// Every test service.
pub static ALL: &[&ServiceModel] = &[&JSON, &MULTI, &QUERY, &REST, &OTHER_REST];
