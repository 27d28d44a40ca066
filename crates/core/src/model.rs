//! The static description of an AWS service, as read from the AWS service models.
//!
//! The generated `palisade-model-<service>` crates hold one [`ServiceModel`] each, as `static`
//! tables. The wire layer reads them to route, decode and encode; [`crate::validate`] reads them to
//! check constraints. Nothing here is written by hand per service.
//!
//! The tables ([`Tables`]) hold no pointer: an entry names its strings by position in the
//! model's one string ([`Text`]) and its lists by a run of another table ([`Span`]). A table of
//! pointers would be written by the loader at every start (each pointer relocated), making all
//! of it resident; these stay on disk until read. What callers see are views built on the way
//! out ([`Operation`], [`Shape`], [`Member`]), whose strings borrow the model's.

pub mod build;

/// Index of a shape in a model's shape table.
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
    /// Operations (sorted by name) and shapes.
    pub tables: &'static Tables,
}

impl ServiceModel {
    /// The operation called `name`, if the model has one.
    pub fn operation(&self, name: &str) -> Option<Operation> {
        let tables = self.tables;
        tables
            .operations
            .binary_search_by(|op| tables.text(op.name).cmp(name))
            .ok()
            .and_then(|index| tables.operations.get(index))
            .map(|entry| tables.operation(entry))
    }

    /// Every operation, sorted by name.
    pub fn operations(&self) -> impl Iterator<Item = Operation> {
        let tables = self.tables;
        tables
            .operations
            .iter()
            .map(move |entry| tables.operation(entry))
    }

    /// The shape with id `id`.
    pub fn shape(&self, id: ShapeId) -> Option<Shape> {
        let tables = self.tables;
        tables
            .shapes
            .get(usize::from(id))
            .map(|entry| tables.shape(entry))
    }

    /// Every shape, by id.
    pub fn shapes(&self) -> impl Iterator<Item = Shape> {
        let tables = self.tables;
        tables.shapes.iter().map(move |entry| tables.shape(entry))
    }

    /// Whether the model lists `protocol`.
    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }
}

/// A model's tables. Entries refer to strings by [`Text`] and to lists by [`Span`].
#[derive(Debug)]
pub struct Tables {
    /// Every string of the model, one after another.
    pub strings: &'static str,
    /// Operations, sorted by name.
    pub operations: &'static [OperationEntry],
    /// Every shape, addressed by [`ShapeId`].
    pub shapes: &'static [ShapeEntry],
    /// The members of every structure, each structure's a run.
    pub members: &'static [MemberEntry],
    /// The values of every enum, each enum's a run.
    pub texts: &'static [Text],
    /// The errors of every operation, each operation's a run.
    pub shape_ids: &'static [ShapeId],
}

impl Tables {
    /// Tables with nothing in them.
    pub const EMPTY: Tables = Tables {
        strings: "",
        operations: &[],
        shapes: &[],
        members: &[],
        texts: &[],
        shape_ids: &[],
    };

    /// The string `text` names; empty when it is out of bounds, which a generated table never is.
    fn text(&self, text: Text) -> &'static str {
        let strings: &'static str = self.strings;
        strings.get(text.range()).unwrap_or_default()
    }

    fn operation(&'static self, entry: &OperationEntry) -> Operation {
        Operation {
            name: self.text(entry.name),
            http: HttpBinding {
                method: self.text(entry.method),
                request_uri: self.text(entry.request_uri),
                response_code: entry.response_code,
            },
            input: entry.input,
            output: entry.output,
            result_wrapper: entry.result_wrapper.map(|text| self.text(text)),
            errors: self.shape_ids.get(entry.errors.range()).unwrap_or_default(),
            anonymous: entry.anonymous,
        }
    }

    fn shape(&'static self, entry: &ShapeEntry) -> Shape {
        let kind = match entry.kind {
            KindEntry::Structure {
                members,
                union,
                error,
            } => ShapeKind::Structure(Structure {
                members: Members {
                    tables: self,
                    span: members,
                },
                union,
                error: error.map(|error| ErrorInfo {
                    code: self.text(error.code),
                    status: error.status,
                    sender_fault: error.sender_fault,
                }),
            }),
            KindEntry::List {
                member,
                member_name,
                length,
            } => ShapeKind::List {
                member,
                member_name: member_name.map(|text| self.text(text)),
                length,
            },
            KindEntry::Map { key, value, length } => ShapeKind::Map { key, value, length },
            KindEntry::String {
                length,
                pattern,
                enum_values,
            } => ShapeKind::String {
                length,
                pattern: pattern.map(|text| self.text(text)),
                enum_values: EnumValues {
                    tables: self,
                    span: enum_values,
                },
            },
            KindEntry::Integer(range) => ShapeKind::Integer(range),
            KindEntry::Long(range) => ShapeKind::Long(range),
            KindEntry::Float(range) => ShapeKind::Float(range),
            KindEntry::Double(range) => ShapeKind::Double(range),
            KindEntry::Boolean => ShapeKind::Boolean,
            KindEntry::Blob { length } => ShapeKind::Blob { length },
            KindEntry::Timestamp { format } => ShapeKind::Timestamp { format },
            KindEntry::Document => ShapeKind::Document,
        };
        Shape {
            name: self.text(entry.name),
            sensitive: entry.sensitive,
            kind,
        }
    }

    fn member(&self, entry: &MemberEntry) -> Member {
        Member {
            name: self.text(entry.name),
            target: entry.target,
            required: entry.required,
            location: entry.location,
            location_name: entry.location_name.map(|text| self.text(text)),
            idempotency_token: entry.idempotency_token,
        }
    }
}

/// A string of a model: its byte offset and length in [`Tables::strings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// Where it starts.
    pub start: u32,
    /// Its length in bytes.
    pub len: u32,
}

impl Text {
    /// The text at `start`, `len` bytes long.
    pub const fn new(start: u32, len: u32) -> Self {
        Self { start, len }
    }

    fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start.saturating_add(self.len as usize)
    }
}

/// A run of entries of one of a model's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first entry.
    pub start: u32,
    /// How many.
    pub len: u32,
}

impl Span {
    /// No entries.
    pub const EMPTY: Self = Self { start: 0, len: 0 };

    /// The `len` entries from `start`.
    pub const fn new(start: u32, len: u32) -> Self {
        Self { start, len }
    }

    fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start.saturating_add(self.len as usize)
    }
}

/// An operation in [`Tables::operations`].
#[derive(Debug, Clone, Copy)]
pub struct OperationEntry {
    /// See [`Operation::name`].
    pub name: Text,
    /// See [`HttpBinding::method`].
    pub method: Text,
    /// See [`HttpBinding::request_uri`].
    pub request_uri: Text,
    /// See [`HttpBinding::response_code`].
    pub response_code: u16,
    /// See [`Operation::input`].
    pub input: Option<ShapeId>,
    /// See [`Operation::output`].
    pub output: Option<ShapeId>,
    /// See [`Operation::result_wrapper`].
    pub result_wrapper: Option<Text>,
    /// See [`Operation::errors`]: a run of [`Tables::shape_ids`].
    pub errors: Span,
    /// See [`Operation::anonymous`].
    pub anonymous: bool,
}

/// A shape in [`Tables::shapes`].
#[derive(Debug, Clone, Copy)]
pub struct ShapeEntry {
    /// See [`Shape::name`].
    pub name: Text,
    /// See [`Shape::sensitive`].
    pub sensitive: bool,
    /// See [`Shape::kind`].
    pub kind: KindEntry,
}

/// A shape's kind as [`Tables`] hold it: [`ShapeKind`] with texts and runs for strings and
/// lists.
#[derive(Debug, Clone, Copy)]
#[expect(
    missing_docs,
    reason = "each variant and field is its `ShapeKind` namesake"
)]
pub enum KindEntry {
    Structure {
        /// A run of [`Tables::members`].
        members: Span,
        union: bool,
        error: Option<ErrorEntry>,
    },
    List {
        member: ShapeId,
        member_name: Option<Text>,
        length: Range<u64>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        length: Range<u64>,
    },
    String {
        length: Range<u64>,
        pattern: Option<Text>,
        /// A run of [`Tables::texts`].
        enum_values: Span,
    },
    Integer(Range<i64>),
    Long(Range<i64>),
    Float(Range<f64>),
    Double(Range<f64>),
    Boolean,
    Blob {
        length: Range<u64>,
    },
    Timestamp {
        format: Option<TimestampFormat>,
    },
    Document,
}

/// [`ErrorInfo`] as [`Tables`] hold it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorEntry {
    /// See [`ErrorInfo::code`].
    pub code: Text,
    /// See [`ErrorInfo::status`].
    pub status: u16,
    /// See [`ErrorInfo::sender_fault`].
    pub sender_fault: bool,
}

/// A member in [`Tables::members`].
#[derive(Debug, Clone, Copy)]
pub struct MemberEntry {
    /// See [`Member::name`].
    pub name: Text,
    /// See [`Member::target`].
    pub target: ShapeId,
    /// See [`Member::required`].
    pub required: bool,
    /// See [`Member::location`].
    pub location: Location,
    /// See [`Member::location_name`].
    pub location_name: Option<Text>,
    /// See [`Member::idempotency_token`].
    pub idempotency_token: bool,
}

/// One operation of a service.
#[derive(Debug, Clone, Copy)]
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
#[derive(Debug, Clone, Copy)]
pub struct HttpBinding {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path template, e.g. `/detector/{detectorId}/findings/get`, query literals included.
    pub request_uri: &'static str,
    /// The status of a successful response.
    pub response_code: u16,
}

/// A named shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The shape's name in the model.
    pub name: &'static str,
    /// Whether values of this shape must be redacted from logs and audit records.
    pub sensitive: bool,
    /// What the shape is.
    pub kind: ShapeKind,
}

/// The kinds of shape, with their constraints.
#[derive(Debug, Clone, Copy)]
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
        /// The enum values, none when the string is free.
        enum_values: EnumValues,
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
#[derive(Debug, Clone, Copy)]
pub struct Structure {
    /// Members, in model order.
    pub members: Members,
    /// Whether exactly one member may be set.
    pub union: bool,
    /// Present when the structure is a modeled error.
    pub error: Option<ErrorInfo>,
}

impl Structure {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<Member> {
        self.members.into_iter().find(|member| member.name == name)
    }
}

/// A structure's members, in model order.
#[derive(Clone, Copy)]
pub struct Members {
    tables: &'static Tables,
    span: Span,
}

impl Default for Members {
    /// No members.
    fn default() -> Self {
        Self {
            tables: &Tables::EMPTY,
            span: Span::EMPTY,
        }
    }
}

impl Members {
    /// Each member, in model order.
    pub fn iter(&self) -> MembersIter {
        self.into_iter()
    }

    fn entries(&self) -> &'static [MemberEntry] {
        let members: &'static [MemberEntry] = self.tables.members;
        members.get(self.span.range()).unwrap_or_default()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }
}

impl IntoIterator for Members {
    type Item = Member;
    type IntoIter = MembersIter;

    fn into_iter(self) -> MembersIter {
        MembersIter {
            tables: self.tables,
            entries: self.entries().iter(),
        }
    }
}

/// The iterator over [`Members`].
pub struct MembersIter {
    tables: &'static Tables,
    entries: std::slice::Iter<'static, MemberEntry>,
}

impl Iterator for MembersIter {
    type Item = Member;

    fn next(&mut self) -> Option<Member> {
        self.entries.next().map(|entry| self.tables.member(entry))
    }
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

/// An enum's values, in model order.
#[derive(Clone, Copy)]
pub struct EnumValues {
    tables: &'static Tables,
    span: Span,
}

impl EnumValues {
    /// Each value.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> {
        let tables = self.tables;
        let texts: &'static [Text] = tables.texts;
        texts
            .get(self.span.range())
            .unwrap_or_default()
            .iter()
            .map(move |text| tables.text(*text))
    }

    /// Whether `value` is one of them.
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|known| known == value)
    }

    /// Whether there are none: the string is free.
    pub fn is_empty(&self) -> bool {
        self.span.len == 0
    }
}

impl std::fmt::Debug for EnumValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
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
#[derive(Debug, Clone, Copy)]
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
