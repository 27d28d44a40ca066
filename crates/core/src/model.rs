//! The static description of an AWS service, as read from the AWS service models.
//!
//! The generated `palisade-model-<service>` crates hold one [`ServiceModel`] each, as `static`
//! tables. The wire layer reads them to route, decode and encode; [`crate::validate`] reads them to
//! check constraints. Nothing here is written by hand per service.

/// Index of a shape in [`ServiceModel::shapes`].
pub type ShapeId = u16;

/// A wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// awsJson 1.0 or 1.1: `POST /`, `X-Amz-Target: <prefix>.<Operation>`.
    Json,
    /// awsQuery: form-encoded `Action=...&Version=...`, XML responses.
    Query,
    /// restJson1: the operation is chosen by method and path.
    RestJson,
    /// Smithy RPC v2 CBOR: `POST /service/<Service>/operation/<Operation>`.
    RpcV2Cbor,
}

/// One AWS service.
#[derive(Debug)]
pub struct ServiceModel {
    /// The model's folder name, e.g. `kms`, `ec2-instance-connect`.
    pub name: &'static str,
    /// `serviceId`, e.g. `KMS`.
    pub service_id: &'static str,
    /// `apiVersion`, e.g. `2014-11-01`.
    pub api_version: &'static str,
    /// The host prefix, e.g. `monitoring` for CloudWatch.
    pub endpoint_prefix: &'static str,
    /// The SigV4 service name in the credential scope.
    pub signing_name: &'static str,
    /// The `X-Amz-Target` prefix (awsJson) and the service name in RPC v2 CBOR paths.
    pub target_prefix: Option<&'static str>,
    /// `1.0` or `1.1` for awsJson.
    pub json_version: Option<&'static str>,
    /// The XML namespace of awsQuery responses.
    pub xml_namespace: Option<&'static str>,
    /// The protocols the model lists, preferred first.
    pub protocols: &'static [Protocol],
    /// Whether a JSON service keeps its awsQuery error codes (`x-amzn-query-error`).
    pub query_compatible: bool,
    /// Operations, sorted by name.
    pub operations: &'static [Operation],
    /// Every shape, addressed by [`ShapeId`].
    pub shapes: &'static [Shape],
}

impl ServiceModel {
    /// The operation called `name`, if the model has one.
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        let operations: &'static [Operation] = self.operations;
        operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .and_then(|index| operations.get(index))
    }

    /// The shape with id `id`.
    pub fn shape(&self, id: ShapeId) -> Option<&'static Shape> {
        let shapes: &'static [Shape] = self.shapes;
        shapes.get(usize::from(id))
    }

    /// Whether the model lists `protocol`.
    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }
}

/// One operation of a service.
#[derive(Debug)]
pub struct Operation {
    /// The operation's name, e.g. `CreateKey`.
    pub name: &'static str,
    /// The HTTP binding (used by restJson1; `POST /` elsewhere).
    pub http: HttpBinding,
    /// The input structure.
    pub input: Option<ShapeId>,
    /// The output structure.
    pub output: Option<ShapeId>,
    /// The awsQuery result wrapper element, e.g. `GetCallerIdentityResult`.
    pub result_wrapper: Option<&'static str>,
    /// The modeled errors.
    pub errors: &'static [ShapeId],
    /// Whether AWS accepts the operation unsigned (its credentials are in the input, as with
    /// `AssumeRoleWithWebIdentity`).
    pub anonymous: bool,
}

/// Method, path template and success status of an operation.
#[derive(Debug)]
pub struct HttpBinding {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path template, e.g. `/detector/{detectorId}/findings/get`, query literals included.
    pub request_uri: &'static str,
    /// The status of a successful response.
    pub response_code: u16,
}

/// A named shape.
#[derive(Debug)]
pub struct Shape {
    /// The shape's name in the model.
    pub name: &'static str,
    /// Whether values of this shape must be redacted from logs and audit records.
    pub sensitive: bool,
    /// What the shape is.
    pub kind: ShapeKind,
}

/// The kinds of shape, with their constraints.
#[derive(Debug)]
pub enum ShapeKind {
    /// A structure (or a union, or an error).
    Structure(Structure),
    /// A list.
    List {
        /// The element shape.
        member: ShapeId,
        /// The XML element name of each member (awsQuery), `member` when absent.
        member_name: Option<&'static str>,
        /// Length bounds.
        length: Range<u64>,
    },
    /// A map with string keys.
    Map {
        /// The key shape.
        key: ShapeId,
        /// The value shape.
        value: ShapeId,
        /// Entry count bounds.
        length: Range<u64>,
    },
    /// A string, maybe an enum.
    String {
        /// Length bounds, in characters.
        length: Range<u64>,
        /// A regular expression the whole value must match.
        pattern: Option<&'static str>,
        /// The enum values, empty when the string is free.
        enum_values: &'static [&'static str],
    },
    /// A 32-bit integer.
    Integer(Range<i64>),
    /// A 64-bit integer.
    Long(Range<i64>),
    /// A 32-bit float.
    Float(Range<f64>),
    /// A 64-bit float.
    Double(Range<f64>),
    /// A boolean.
    Boolean,
    /// Bytes.
    Blob {
        /// Length bounds, in bytes.
        length: Range<u64>,
    },
    /// A point in time.
    Timestamp {
        /// The model's `timestampFormat`, when it overrides the protocol's default.
        format: Option<TimestampFormat>,
    },
    /// An untyped JSON document.
    Document,
}

/// Inclusive bounds; `None` means unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range<T> {
    /// The least allowed value.
    pub min: Option<T>,
    /// The greatest allowed value.
    pub max: Option<T>,
}

impl<T> Range<T> {
    /// No bounds.
    pub const ANY: Self = Self {
        min: None,
        max: None,
    };
}

/// A timestamp's wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Seconds since the epoch, as a number.
    EpochSeconds,
    /// RFC 3339 / ISO 8601.
    Iso8601,
    /// RFC 7231 HTTP date.
    Rfc822,
}

/// A structure's members and traits.
#[derive(Debug)]
pub struct Structure {
    /// Members, in model order.
    pub members: &'static [Member],
    /// Whether exactly one member may be set.
    pub union: bool,
    /// Present when the structure is a modeled error.
    pub error: Option<ErrorInfo>,
}

impl Structure {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        let members: &'static [Member] = self.members;
        members.iter().find(|member| member.name == name)
    }
}

/// How a modeled error is rendered.
#[derive(Debug, Clone, Copy)]
pub struct ErrorInfo {
    /// The code: the shape name, or the model's awsQuery code where it has one.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
    pub sender_fault: bool,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member's name, e.g. `KeyId`.
    pub name: &'static str,
    /// The member's shape.
    pub target: ShapeId,
    /// Whether the member is required.
    pub required: bool,
    /// Where the member travels in restJson1.
    pub location: Location,
    /// The name on the wire where it differs from `name` (header, query key, XML element).
    pub location_name: Option<&'static str>,
    /// Whether a client fills it with a fresh token when absent.
    pub idempotency_token: bool,
}

impl Member {
    /// The name on the wire.
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}

/// Where a member travels in an HTTP-bound protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the body document.
    Body,
    /// A label of the path template.
    Uri,
    /// A query string parameter.
    QueryString,
    /// A header.
    Header,
    /// All headers with a prefix, as a map.
    Headers,
    /// The HTTP status code.
    StatusCode,
}
