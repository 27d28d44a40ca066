//! From a raw botocore document to the resolved service the emitters print: shapes numbered,
//! constraints typed, Rust names chosen, recursion found.
//!
//! Every inconsistency of the input (a dangling shape reference, an unknown protocol, a bound
//! that is not a number) is an error naming the service and shape, never a panic.

use std::collections::{BTreeMap, BTreeSet};

use palisade_core::model::{Location, Range, TimestampFormat};

use crate::botocore::{RawMember, RawModel, RawShape};
use crate::names::{self, Scope};

/// A service ready to print.
#[derive(Debug)]
pub struct Service {
    /// botocore's folder name, e.g. `ec2-instance-connect`.
    pub name: String,
    /// The service trait, e.g. `Ec2InstanceConnect`.
    pub trait_name: String,
    pub meta: Meta,
    /// Every shape reachable from an operation; the index is the `ShapeId`.
    pub shapes: Vec<Shape>,
    /// Sorted by name, as `ServiceModel::operation` binary-searches them.
    pub operations: Vec<Operation>,
    /// The error shapes, in shape order.
    pub errors: Vec<usize>,
}

#[derive(Debug)]
pub struct Meta {
    pub service_id: String,
    pub api_version: String,
    pub endpoint_prefix: String,
    pub signing_name: String,
    pub target_prefix: Option<String>,
    pub json_version: Option<String>,
    pub xml_namespace: Option<String>,
    /// `Protocol` variant names, preferred first.
    pub protocols: Vec<&'static str>,
    pub query_compatible: bool,
}

#[derive(Debug)]
pub struct Operation {
    pub name: String,
    /// The trait method, e.g. `create_key`.
    pub method_name: String,
    pub http_method: String,
    pub request_uri: String,
    pub response_code: u16,
    pub input: Option<usize>,
    pub output: Option<usize>,
    pub result_wrapper: Option<String>,
    pub errors: Vec<usize>,
    pub anonymous: bool,
}

#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub sensitive: bool,
    pub kind: Kind,
    /// The Rust item generated for the shape: structures and enums reachable from an
    /// operation's input or output. Other shapes are spelled with Rust's own types.
    pub item: Option<Item>,
}

#[derive(Debug)]
pub enum Kind {
    Structure {
        members: Vec<Member>,
        union: bool,
        error: Option<ErrorInfo>,
    },
    List {
        member: usize,
        member_name: Option<String>,
        length: Range<u64>,
    },
    Map {
        key: usize,
        value: usize,
        length: Range<u64>,
    },
    String {
        length: Range<u64>,
        pattern: Option<String>,
        enum_values: Vec<String>,
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

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub target: usize,
    pub required: bool,
    pub location: Location,
    pub location_name: Option<String>,
    pub idempotency_token: bool,
    /// The Rust field name, unique within the structure.
    pub field: String,
    /// Whether the field must be boxed because the structure contains itself through it.
    pub boxed: bool,
}

#[derive(Debug)]
pub struct ErrorInfo {
    pub code: String,
    pub status: u16,
    pub sender_fault: bool,
    /// The `errors::` constant, e.g. `NOT_FOUND_EXCEPTION`.
    pub const_name: String,
    /// The `errors::` constructor, e.g. `not_found_exception`.
    pub fn_name: String,
}

#[derive(Debug)]
pub enum Item {
    Struct {
        name: String,
        /// Whether every field's type has a `Default`, so the struct can derive it.
        default: bool,
    },
    Enum {
        name: String,
        /// `(value, variant)`, one per distinct enum value, in model order.
        variants: Vec<(String, String)>,
    },
}

impl Item {
    pub fn name(&self) -> &str {
        match self {
            Item::Struct { name, .. } | Item::Enum { name, .. } => name,
        }
    }
}

/// Names a generated type must not take: what the generated modules import or use unqualified,
/// and the prelude. A shape with such a name gets a `Shape` suffix.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "BTreeMap",
    "Blob",
    "Box",
    "Clone",
    "ConvertError",
    "Debug",
    "Default",
    "Display",
    "Document",
    "Eq",
    "Err",
    "Fields",
    "From",
    "FromValue",
    "Future",
    "Hash",
    "Into",
    "IntoValue",
    "None",
    "Ok",
    "Option",
    "PartialEq",
    "RequestContext",
    "Result",
    "Self",
    "Send",
    "Sensitive",
    "Service",
    "ServiceError",
    "Sized",
    "Some",
    "String",
    "StructBuilder",
    "Sync",
    "Timestamp",
    "ToOwned",
    "ToString",
    "Value",
    "Vec",
];

/// The catch-all variant of every enum, and `Self`, which no variant may be called.
const RESERVED_VARIANTS: &[&str] = &["Unknown", "Self"];

/// Resolves `raw`, the model of botocore folder `name`.
pub fn lower(name: &str, raw: &RawModel) -> Result<Service, String> {
    let context = |message: String| format!("{name}: {message}");
    let meta = lower_meta(&raw.metadata).map_err(context)?;
    let ids = number_shapes(raw).map_err(context)?;
    let mut shapes = Vec::with_capacity(ids.len());
    for (shape_name, raw_shape) in &raw.shapes {
        if ids.contains_key(shape_name.as_str()) {
            let shape = lower_shape(shape_name, raw_shape, &ids)
                .map_err(|message| context(format!("shape {shape_name}: {message}")))?;
            shapes.push(shape);
        }
    }

    let mut operations = Vec::with_capacity(raw.operations.len());
    for (op_name, op) in &raw.operations {
        let id = |shape: &str| {
            ids.get(shape)
                .copied()
                .ok_or_else(|| context(format!("operation {op_name} names unknown shape {shape}")))
        };
        operations.push(Operation {
            name: op_name.clone(),
            method_name: String::new(),
            http_method: op.http.method.clone(),
            request_uri: op.http.request_uri.clone(),
            response_code: op.http.response_code.unwrap_or(200),
            input: op.input.as_ref().map(|r| id(&r.shape)).transpose()?,
            output: op.output.as_ref().map(|r| id(&r.shape)).transpose()?,
            result_wrapper: op.output.as_ref().and_then(|r| r.result_wrapper.clone()),
            errors: op
                .errors
                .iter()
                .map(|r| id(&r.shape))
                .collect::<Result<_, _>>()?,
            anonymous: op.anonymous(),
        });
    }
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    let mut methods = Scope::default();
    for op in &mut operations {
        op.method_name = methods.claim(names::field_name(&op.name));
    }
    for op in &operations {
        for (what, shape) in [("input", op.input), ("output", op.output)] {
            if let Some(shape) = shape {
                let is_structure = shapes
                    .get(shape)
                    .is_some_and(|s| matches!(s.kind, Kind::Structure { .. }));
                if !is_structure {
                    return Err(context(format!(
                        "the {what} of operation {} is not a structure",
                        op.name
                    )));
                }
            }
        }
    }

    // The trait must not take the name of what lib.rs imports.
    let mut trait_name = names::pascal(name);
    if RESERVED_TYPE_NAMES.contains(&trait_name.as_str())
        || ["BoxFuture", "Operation", "ServiceModel"].contains(&trait_name.as_str())
    {
        trait_name.push_str("Api");
    }
    let mut service = Service {
        name: name.to_owned(),
        trait_name,
        meta,
        shapes,
        operations,
        errors: Vec::new(),
    };
    name_items(&mut service);
    find_recursion(&mut service);
    find_defaults(&mut service);
    name_errors(&mut service);
    Ok(service)
}

fn lower_meta(raw: &crate::botocore::RawMetadata) -> Result<Meta, String> {
    let listed = raw
        .protocols
        .clone()
        .unwrap_or_else(|| vec![raw.protocol.clone()]);
    let protocols = listed
        .iter()
        .map(|protocol| match protocol.as_str() {
            "json" => Ok("Json"),
            "query" => Ok("Query"),
            "rest-json" => Ok("RestJson"),
            "smithy-rpc-v2-cbor" => Ok("RpcV2Cbor"),
            other => Err(format!("protocol {other:?} is not one Palisade speaks")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Meta {
        service_id: raw.service_id.clone(),
        api_version: raw.api_version.clone(),
        endpoint_prefix: raw.endpoint_prefix.clone(),
        signing_name: raw
            .signing_name
            .clone()
            .unwrap_or_else(|| raw.endpoint_prefix.clone()),
        target_prefix: raw.target_prefix.clone(),
        json_version: raw.json_version.clone(),
        xml_namespace: raw.xml_namespace.clone(),
        protocols,
        query_compatible: raw.aws_query_compatible.is_some(),
    })
}

/// The shapes a shape refers to: members, list member, map key and value.
fn references(shape: &RawShape) -> impl Iterator<Item = &RawMember> {
    let members = shape.members.iter().flat_map(|members| members.values());
    members.chain(
        [&shape.member, &shape.key, &shape.value]
            .into_iter()
            .flatten(),
    )
}

/// Numbers the shapes reachable from the operations, in model order; unreachable shapes are
/// dropped (nothing can ever hold a value of them).
fn number_shapes(raw: &RawModel) -> Result<BTreeMap<&str, usize>, String> {
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&str> = Vec::new();
    for (op_name, op) in &raw.operations {
        let roots = op
            .input
            .iter()
            .map(|r| r.shape.as_str())
            .chain(op.output.iter().map(|r| r.shape.as_str()))
            .chain(op.errors.iter().map(|r| r.shape.as_str()));
        for root in roots {
            if !raw.shapes.contains_key(root) {
                return Err(format!("operation {op_name} names unknown shape {root}"));
            }
            pending.push(root);
        }
    }
    while let Some(name) = pending.pop() {
        if !reached.insert(name) {
            continue;
        }
        let shape = raw
            .shapes
            .get(name)
            .ok_or_else(|| format!("unknown shape {name}"))?;
        for reference in references(shape) {
            if !raw.shapes.contains_key(reference.shape.as_str()) {
                return Err(format!(
                    "shape {name} refers to unknown shape {}",
                    reference.shape
                ));
            }
            pending.push(&reference.shape);
        }
    }
    let ids: BTreeMap<&str, usize> = raw
        .shapes
        .keys()
        .filter(|name| reached.contains(name.as_str()))
        .enumerate()
        .map(|(id, name)| (name.as_str(), id))
        .collect();
    if ids.len() > usize::from(u16::MAX) + 1 {
        return Err(format!("{} shapes do not fit the u16 ShapeId", ids.len()));
    }
    Ok(ids)
}

fn lower_shape(name: &str, raw: &RawShape, ids: &BTreeMap<&str, usize>) -> Result<Shape, String> {
    if raw.flattened || raw.streaming {
        return Err("flattened or streaming shapes are not supported by palisade-core".into());
    }
    let target = |member: &Option<RawMember>, what: &str| -> Result<usize, String> {
        let member = member.as_ref().ok_or_else(|| format!("has no {what}"))?;
        if let Some(unsupported) = member.unsupported_trait() {
            return Err(format!("{what} has unsupported trait {unsupported}"));
        }
        ids.get(member.shape.as_str())
            .copied()
            .ok_or_else(|| format!("{what} refers to unknown shape {}", member.shape))
    };
    let kind = match raw.kind.as_str() {
        "structure" if raw.document => Kind::Document,
        "structure" => lower_structure(name, raw, ids)?,
        "list" => {
            if raw.member.as_ref().is_some_and(|m| m.location.is_some()) {
                return Err("a list member has a location".into());
            }
            Kind::List {
                member: target(&raw.member, "member")?,
                member_name: raw.member.as_ref().and_then(|m| m.location_name.clone()),
                length: bounds(raw, length)?,
            }
        }
        "map" => {
            let named = [&raw.key, &raw.value]
                .into_iter()
                .flatten()
                .any(|m| m.location_name.is_some());
            if named {
                return Err("map key and value names are not supported by palisade-core".into());
            }
            Kind::Map {
                key: target(&raw.key, "key")?,
                value: target(&raw.value, "value")?,
                length: bounds(raw, length)?,
            }
        }
        "string" => Kind::String {
            length: bounds(raw, length)?,
            pattern: raw.pattern.clone(),
            enum_values: raw.enum_values.clone().unwrap_or_default(),
        },
        "integer" => Kind::Integer(bounds(raw, integer)?),
        "long" => Kind::Long(bounds(raw, integer)?),
        "float" => Kind::Float(bounds(raw, float)?),
        "double" => Kind::Double(bounds(raw, float)?),
        "boolean" => Kind::Boolean,
        "blob" => Kind::Blob {
            length: bounds(raw, length)?,
        },
        "timestamp" => Kind::Timestamp {
            format: raw
                .timestamp_format
                .as_deref()
                .map(timestamp_format)
                .transpose()?,
        },
        other => return Err(format!("unknown shape type {other:?}")),
    };
    Ok(Shape {
        name: name.to_owned(),
        sensitive: raw.sensitive,
        kind,
        item: None,
    })
}

fn lower_structure(
    name: &str,
    raw: &RawShape,
    ids: &BTreeMap<&str, usize>,
) -> Result<Kind, String> {
    let raw_members = raw
        .members
        .as_ref()
        .ok_or_else(|| "a structure without members".to_owned())?;
    for required in &raw.required {
        if !raw_members.contains_key(required) {
            return Err(format!("required member {required} is not a member"));
        }
    }
    let mut members = Vec::with_capacity(raw_members.len());
    for (member_name, member) in raw_members {
        if let Some(unsupported) = member.unsupported_trait() {
            return Err(format!(
                "member {member_name} has unsupported trait {unsupported}"
            ));
        }
        let target = ids
            .get(member.shape.as_str())
            .copied()
            .ok_or_else(|| format!("member {member_name} refers to unknown shape"))?;
        let location = match member.location.as_deref() {
            None => Location::Body,
            Some("uri") => Location::Uri,
            Some("querystring") => Location::QueryString,
            Some("header") => Location::Header,
            Some("headers") => Location::Headers,
            Some("statusCode") => Location::StatusCode,
            Some(other) => return Err(format!("member {member_name}: unknown location {other:?}")),
        };
        members.push(Member {
            name: member_name.clone(),
            target,
            required: raw.required.contains(member_name),
            location,
            location_name: member.location_name.clone(),
            idempotency_token: member.idempotency_token,
            field: String::new(),
            boxed: false,
        });
    }
    let error = (raw.exception || raw.error.is_some()).then(|| {
        let explicit = raw.error.as_ref();
        // A `fault` (server-side) error without a status is a 500, as the SDKs treat it.
        let default_status = if raw.fault { 500 } else { 400 };
        let status = explicit
            .and_then(|e| e.http_status_code)
            .unwrap_or(default_status);
        ErrorInfo {
            code: explicit
                .and_then(|e| e.code.clone())
                .unwrap_or_else(|| name.to_owned()),
            status,
            sender_fault: explicit
                .and_then(|e| e.sender_fault)
                .unwrap_or(status < 500 && !raw.fault),
            const_name: String::new(),
            fn_name: String::new(),
        }
    });
    Ok(Kind::Structure {
        members,
        union: raw.union,
        error,
    })
}

/// Reads `min` and `max` with `convert`, which names what they bound.
fn bounds<T>(
    raw: &RawShape,
    convert: fn(&serde_json::Number) -> Option<T>,
) -> Result<Range<T>, String> {
    let read = |bound: &Option<serde_json::Number>, which: &str| {
        bound
            .as_ref()
            .map(|number| {
                convert(number).ok_or_else(|| format!("{which} {number} is out of range"))
            })
            .transpose()
    };
    Ok(Range {
        min: read(&raw.min, "min")?,
        max: read(&raw.max, "max")?,
    })
}

/// A length or count: a whole number, not negative. Some models write them as `1.0`.
fn length(number: &serde_json::Number) -> Option<u64> {
    number.as_u64().or_else(|| {
        let x = number.as_f64()?;
        // In range and whole, so the conversion is exact.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked whole and within u64 just above"
        )]
        (x.fract() == 0.0 && (0.0..1.8e19).contains(&x)).then_some(x as u64)
    })
}

fn integer(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| {
        let x = number.as_f64()?;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked whole and within i64 just above"
        )]
        (x.fract() == 0.0 && (-9.2e18..9.2e18).contains(&x)).then_some(x as i64)
    })
}

fn float(number: &serde_json::Number) -> Option<f64> {
    number.as_f64()
}

fn timestamp_format(format: &str) -> Result<TimestampFormat, String> {
    match format {
        "iso8601" => Ok(TimestampFormat::Iso8601),
        "unixTimestamp" => Ok(TimestampFormat::EpochSeconds),
        "rfc822" => Ok(TimestampFormat::Rfc822),
        other => Err(format!("unknown timestampFormat {other:?}")),
    }
}

/// The shapes reachable from some operation's input or output: those that get Rust types.
/// Error shapes reached only as errors are left out; `errors::` covers them.
fn typed_shapes(service: &Service) -> BTreeSet<usize> {
    let mut typed = BTreeSet::new();
    let mut pending: Vec<usize> = service
        .operations
        .iter()
        .flat_map(|op| op.input.into_iter().chain(op.output))
        .collect();
    while let Some(id) = pending.pop() {
        if !typed.insert(id) {
            continue;
        }
        match service.shapes.get(id).map(|shape| &shape.kind) {
            Some(Kind::Structure { members, .. }) => {
                pending.extend(members.iter().map(|member| member.target));
            }
            Some(Kind::List { member, .. }) => pending.push(*member),
            Some(Kind::Map { key, value, .. }) => pending.extend([*key, *value]),
            _ => {}
        }
    }
    typed
}

/// Names the Rust types and fields. Shapes are visited in model order, so which of two
/// colliding names gets the suffix never changes between runs.
fn name_items(service: &mut Service) {
    let typed = typed_shapes(service);
    let mut types = Scope::with_reserved(RESERVED_TYPE_NAMES);
    for (id, shape) in service.shapes.iter_mut().enumerate() {
        let mut wanted = names::pascal(&shape.name);
        if RESERVED_TYPE_NAMES.contains(&wanted.as_str()) {
            wanted.push_str("Shape");
        }
        match &mut shape.kind {
            Kind::Structure { members, .. } => {
                let mut fields = Scope::default();
                for member in members.iter_mut() {
                    member.field = fields.claim(names::field_name(&member.name));
                }
                if typed.contains(&id) {
                    shape.item = Some(Item::Struct {
                        name: types.claim(wanted),
                        default: false,
                    });
                }
            }
            // A sensitive enum stays a `Sensitive<String>`: redaction matters more than typing.
            Kind::String { enum_values, .. }
                if typed.contains(&id) && !enum_values.is_empty() && !shape.sensitive =>
            {
                let mut scope = Scope::with_reserved(RESERVED_VARIANTS);
                let mut seen = BTreeSet::new();
                let mut variants = Vec::with_capacity(enum_values.len());
                // A value listed twice gets one variant: two match arms for it would not compile
                // warning-free.
                for value in enum_values
                    .iter()
                    .filter(|value| seen.insert(value.as_str()))
                {
                    let mut wanted = names::variant(value);
                    if RESERVED_VARIANTS.contains(&wanted.as_str()) {
                        wanted.push_str("Value");
                    }
                    variants.push((value.clone(), scope.claim(wanted)));
                }
                shape.item = Some(Item::Enum {
                    name: types.claim(wanted),
                    variants,
                });
            }
            _ => {}
        }
    }
}

/// Whether shape `id` is a generated struct (the only types that can contain themselves).
fn is_struct(service: &Service, id: usize) -> bool {
    service
        .shapes
        .get(id)
        .is_some_and(|shape| matches!(shape.item, Some(Item::Struct { .. })))
}

/// Boxes every field through which a struct contains itself without a `Vec` or map between:
/// such a field closes a cycle of direct struct-in-struct edges.
fn find_recursion(service: &mut Service) {
    // Direct edges: struct → struct-typed members.
    let mut edges: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (id, shape) in service.shapes.iter().enumerate() {
        if let (Some(Item::Struct { .. }), Kind::Structure { members, .. }) =
            (&shape.item, &shape.kind)
        {
            let targets = members
                .iter()
                .map(|member| member.target)
                .filter(|&target| is_struct(service, target))
                .collect();
            edges.insert(id, targets);
        }
    }
    // Which structs each struct reaches through direct edges (itself only through a cycle).
    let reaches = |from: usize| -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut pending: Vec<usize> = edges.get(&from).cloned().unwrap_or_default();
        while let Some(id) = pending.pop() {
            if seen.insert(id) {
                pending.extend(edges.get(&id).into_iter().flatten());
            }
        }
        seen
    };
    let reach: BTreeMap<usize, BTreeSet<usize>> =
        edges.keys().map(|&id| (id, reaches(id))).collect();
    for (id, shape) in service.shapes.iter_mut().enumerate() {
        if let Kind::Structure { members, .. } = &mut shape.kind {
            for member in members.iter_mut() {
                // `id` → target closes a cycle when the target leads back to `id`.
                member.boxed = reach
                    .get(&member.target)
                    .is_some_and(|back| back.contains(&id));
            }
        }
    }
}

/// Marks the structs whose required fields all have `Default` (optional ones are `Option`s).
/// Computed as a least fixed point, so a struct that requires itself is never `Default`.
fn find_defaults(service: &mut Service) {
    let mut defaults: BTreeSet<usize> = BTreeSet::new();
    loop {
        let mut changed = false;
        for (id, shape) in service.shapes.iter().enumerate() {
            if defaults.contains(&id) || !matches!(shape.item, Some(Item::Struct { .. })) {
                continue;
            }
            let Kind::Structure { members, .. } = &shape.kind else {
                continue;
            };
            let all = members
                .iter()
                .filter(|member| member.required)
                .all(|member| has_default(service, member.target, &defaults));
            if all {
                defaults.insert(id);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for id in defaults {
        if let Some(Some(Item::Struct { default, .. })) =
            service.shapes.get_mut(id).map(|shape| &mut shape.item)
        {
            *default = true;
        }
    }
}

fn has_default(service: &Service, id: usize, defaults: &BTreeSet<usize>) -> bool {
    let Some(shape) = service.shapes.get(id) else {
        return false;
    };
    match (&shape.item, &shape.kind) {
        (Some(Item::Struct { .. }), _) => defaults.contains(&id),
        // Open enums have no natural default, nor has a document.
        (Some(Item::Enum { .. }), _) | (_, Kind::Document) => false,
        _ => true,
    }
}

/// Names the `errors::` constants and constructors.
fn name_errors(service: &mut Service) {
    let mut consts = Scope::default();
    let mut fns = Scope::default();
    for (id, shape) in service.shapes.iter_mut().enumerate() {
        if let Kind::Structure {
            error: Some(error), ..
        } = &mut shape.kind
        {
            error.const_name = consts.claim(names::screaming(&shape.name));
            error.fn_name = fns.claim(names::field_name(&shape.name));
            service.errors.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model with `shapes` and one operation `Op` from `Input` to `Output`, failing with `Oops`.
    fn model(protocol: &str, shapes: &str) -> Result<Service, String> {
        let json = format!(
            r#"{{
                "metadata": {{"apiVersion": "2020-01-01", "endpointPrefix": "ex",
                              "serviceId": "Ex", "protocol": "{protocol}"}},
                "operations": {{"Op": {{"http": {{"method": "POST", "requestUri": "/"}},
                                       "input": {{"shape": "Input"}},
                                       "output": {{"shape": "Output"}},
                                       "errors": [{{"shape": "Oops"}}]}}}},
                "shapes": {{{shapes}}}
            }}"#
        );
        let raw: RawModel = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        lower("example", &raw)
    }

    const BASIC: &str = r#"
        "Input": {"type": "structure", "required": ["Node"], "members": {
            "Node": {"shape": "Node"}, "Kind": {"shape": "Kind"}}},
        "Output": {"type": "structure", "members": {}},
        "Node": {"type": "structure", "members": {
            "Next": {"shape": "Node"}, "Children": {"shape": "Nodes"}}},
        "Nodes": {"type": "list", "member": {"shape": "Node"}, "min": 1},
        "Kind": {"type": "string", "enum": ["A_B", "a.b", "UNKNOWN", "A_B"]},
        "Oops": {"type": "structure", "members": {}, "exception": true, "fault": true},
        "Unused": {"type": "string"}
    "#;

    fn shape<'a>(service: &'a Service, name: &str) -> &'a Shape {
        service
            .shapes
            .iter()
            .find(|shape| shape.name == name)
            .unwrap()
    }

    #[test]
    fn unreachable_shapes_are_dropped() {
        let service = model("json", BASIC).unwrap();
        assert!(service.shapes.iter().all(|shape| shape.name != "Unused"));
        assert_eq!(service.meta.signing_name, "ex");
        assert_eq!(service.meta.protocols, ["Json"]);
    }

    #[test]
    fn self_containment_is_boxed_but_lists_are_not() {
        let service = model("json", BASIC).unwrap();
        let Kind::Structure { members, .. } = &shape(&service, "Node").kind else {
            panic!("Node is a structure");
        };
        let boxed: Vec<(&str, bool)> = members
            .iter()
            .map(|member| (member.name.as_str(), member.boxed))
            .collect();
        assert_eq!(boxed, [("Next", true), ("Children", false)]);
    }

    #[test]
    fn default_needs_defaultable_required_fields() {
        let service = model("json", BASIC).unwrap();
        // Node's fields are all optional; Input requires a Node, which has a Default.
        assert!(matches!(
            shape(&service, "Input").item,
            Some(Item::Struct { default: true, .. })
        ));
        let input = model("json", &BASIC.replace(r#"["Node"]"#, r#"["Kind"]"#)).unwrap();
        assert!(matches!(
            shape(&input, "Input").item,
            Some(Item::Struct { default: false, .. })
        ));
    }

    #[test]
    fn enums_get_distinct_variants() {
        let service = model("json", BASIC).unwrap();
        let Some(Item::Enum { variants, .. }) = &shape(&service, "Kind").item else {
            panic!("Kind is an enum");
        };
        let names: Vec<&str> = variants.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(names, ["AB", "AB2", "UnknownValue"]);
    }

    #[test]
    fn faults_are_server_errors() {
        let service = model("json", BASIC).unwrap();
        let Kind::Structure {
            error: Some(error), ..
        } = &shape(&service, "Oops").kind
        else {
            panic!("Oops is an error");
        };
        assert_eq!(
            (error.code.as_str(), error.status, error.sender_fault),
            ("Oops", 500, false)
        );
        assert!(shape(&service, "Oops").item.is_none());
        assert_eq!(service.errors.len(), 1);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let dangling = BASIC.replace(r#""shape": "Nodes""#, r#""shape": "Missing""#);
        assert!(model("json", &dangling).unwrap_err().contains("Missing"));
        assert!(model("rest-xml", BASIC).unwrap_err().contains("rest-xml"));
        let negative = BASIC.replace(r#""min": 1"#, r#""min": -1"#);
        assert!(model("json", &negative).unwrap_err().contains("min"));
        let located = BASIC.replace(
            r#""Kind": {"shape": "Kind"}"#,
            r#""Kind": {"shape": "Kind", "location": "cookie"}"#,
        );
        assert!(model("json", &located).unwrap_err().contains("cookie"));
    }
}
