//! `src/model.rs`: the `ServiceModel` as static tables without pointers (see
//! `palisade_core::model`), made by `palisade_core::model::build` and printed here.

use std::fmt::Display;

use palisade_core::model::build::{self, Built};
use palisade_core::model::{KindEntry, Location, MemberEntry, Range, ShapeId, Span, Text};

use super::{line, lit, opt_lit};
use crate::lower::{Kind, Member, Service, Shape};

pub fn model_rs(service: &Service) -> String {
    let built = tables(service);
    let meta = &service.meta;
    let mut out = String::new();
    line!(
        out,
        "//! The static tables of the {} model.",
        meta.service_id
    );
    line!(out);
    line!(out, "use palisade_core::model::*;");
    line!(out);

    // Helpers keep the entries short; each is printed only when used, so no crate has dead code.
    line!(out, "const fn text(start: u32, len: u32) -> Text {{");
    line!(out, "    Text::new(start, len)");
    line!(out, "}}");
    line!(out);
    let plain_shapes = built.shapes.iter().any(|shape| !shape.sensitive);
    if plain_shapes {
        line!(out, "/// A shape that is not sensitive.");
        line!(
            out,
            "const fn shape(name: Text, kind: KindEntry) -> ShapeEntry {{"
        );
        line!(out, "    ShapeEntry {{ name, sensitive: false, kind }}");
        line!(out, "}}");
        line!(out);
    }
    if built.members.iter().any(is_plain) {
        line!(
            out,
            "/// A member carried in the body under its own name, not an idempotency token."
        );
        line!(
            out,
            "const fn member(name: Text, target: ShapeId, required: bool) -> MemberEntry {{"
        );
        line!(
            out,
            "    MemberEntry {{ name, target, required, location: Location::Body, location_name: None, idempotency_token: false }}"
        );
        line!(out, "}}");
        line!(out);
    }

    line!(out, "/// The {} model.", meta.service_id);
    line!(out, "pub static MODEL: ServiceModel = ServiceModel {{");
    line!(out, "    name: {},", lit(&service.name));
    line!(out, "    service_id: {},", lit(&meta.service_id));
    line!(out, "    api_version: {},", lit(&meta.api_version));
    line!(out, "    endpoint_prefix: {},", lit(&meta.endpoint_prefix));
    line!(out, "    signing_name: {},", lit(&meta.signing_name));
    line!(
        out,
        "    target_prefix: {},",
        opt_lit(meta.target_prefix.as_deref())
    );
    line!(
        out,
        "    json_version: {},",
        opt_lit(meta.json_version.as_deref())
    );
    line!(
        out,
        "    xml_namespace: {},",
        opt_lit(meta.xml_namespace.as_deref())
    );
    let protocols: Vec<String> = meta
        .protocols
        .iter()
        .map(|protocol| format!("Protocol::{protocol}"))
        .collect();
    line!(out, "    protocols: &[{}],", protocols.join(", "));
    line!(out, "    query_compatible: {},", meta.query_compatible);
    line!(out, "    tables: &TABLES,");
    line!(out, "}};");
    line!(out);
    line!(out, "static TABLES: Tables = Tables {{");
    line!(out, "    strings: STRINGS,");
    line!(out, "    operations: OPERATIONS,");
    line!(out, "    shapes: SHAPES,");
    line!(out, "    members: MEMBERS,");
    line!(out, "    texts: TEXTS,");
    line!(out, "    shape_ids: SHAPE_IDS,");
    line!(out, "}};");
    line!(out);

    line!(out, "/// Every string of the model, one after another.");
    line!(out, "static STRINGS: &str = {};", lit(&built.strings));
    line!(out);

    line!(out, "/// The operations, sorted by name.");
    line!(out, "static OPERATIONS: &[OperationEntry] = &[");
    for op in &built.operations {
        line!(out, "    // {}", quoted(&built, op.name));
        line!(out, "    OperationEntry {{");
        line!(out, "        name: {},", text(op.name));
        line!(out, "        method: {},", text(op.method));
        line!(out, "        request_uri: {},", text(op.request_uri));
        line!(out, "        response_code: {},", op.response_code);
        line!(out, "        input: {},", option(op.input));
        line!(out, "        output: {},", option(op.output));
        line!(
            out,
            "        result_wrapper: {},",
            option(op.result_wrapper.map(text))
        );
        line!(out, "        errors: {},", span(op.errors));
        line!(out, "        anonymous: {},", op.anonymous);
        line!(out, "    }},");
    }
    line!(out, "];");
    line!(out);

    line!(
        out,
        "/// Every shape an operation can reach; a `ShapeId` is an index into this table."
    );
    line!(out, "static SHAPES: &[ShapeEntry] = &[");
    for (id, shape) in built.shapes.iter().enumerate() {
        line!(out, "    // {id} {}", quoted(&built, shape.name));
        let kind = kind(&shape.kind);
        if shape.sensitive {
            line!(
                out,
                "    ShapeEntry {{ name: {}, sensitive: true, kind: {kind} }},",
                text(shape.name)
            );
        } else {
            line!(out, "    shape({}, {kind}),", text(shape.name));
        }
    }
    line!(out, "];");
    line!(out);

    line!(out, "/// The members of every structure, in model order.");
    line!(out, "static MEMBERS: &[MemberEntry] = &[");
    for (index, entry) in built.members.iter().enumerate() {
        line!(
            out,
            "    {}, // {index} {}",
            member(entry),
            quoted(&built, entry.name)
        );
    }
    line!(out, "];");
    line!(out);

    line!(out, "/// The values of every enum.");
    line!(out, "static TEXTS: &[Text] = &[");
    for (index, entry) in built.texts.iter().enumerate() {
        line!(
            out,
            "    {}, // {index} {}",
            text(*entry),
            quoted(&built, *entry)
        );
    }
    line!(out, "];");
    line!(out);

    let ids: Vec<String> = built.shape_ids.iter().map(ToString::to_string).collect();
    line!(out, "/// The errors of every operation.");
    line!(out, "static SHAPE_IDS: &[ShapeId] = &[{}];", ids.join(", "));
    out
}

/// The service's tables, as `palisade_core::model::build` makes them.
fn tables(service: &Service) -> Built {
    let shape_id = |id: usize| ShapeId::try_from(id).unwrap_or(ShapeId::MAX);
    let operations: Vec<build::Operation<'_>> = service
        .operations
        .iter()
        .map(|op| build::Operation {
            name: &op.name,
            method: &op.http_method,
            request_uri: &op.request_uri,
            response_code: op.response_code,
            input: op.input.map(shape_id),
            output: op.output.map(shape_id),
            result_wrapper: op.result_wrapper.as_deref(),
            errors: op.errors.iter().copied().map(shape_id).collect(),
            anonymous: op.anonymous,
        })
        .collect();
    let shapes: Vec<build::Shape<'_>> = service
        .shapes
        .iter()
        .map(|shape| described(shape, shape_id))
        .collect();
    build::tables(&operations, &shapes)
}

fn described(shape: &Shape, shape_id: impl Fn(usize) -> ShapeId) -> build::Shape<'_> {
    let kind = match &shape.kind {
        Kind::Structure {
            members,
            union,
            error,
        } => build::Kind::Structure {
            members: members
                .iter()
                .map(|member| described_member(member, &shape_id))
                .collect(),
            union: *union,
            error: error.as_ref().map(|error| build::Error {
                code: &error.code,
                status: error.status,
                sender_fault: error.sender_fault,
            }),
        },
        Kind::List {
            member,
            member_name,
            length,
        } => build::Kind::List {
            member: shape_id(*member),
            member_name: member_name.as_deref(),
            length: *length,
        },
        Kind::Map { key, value, length } => build::Kind::Map {
            key: shape_id(*key),
            value: shape_id(*value),
            length: *length,
        },
        Kind::String {
            length,
            pattern,
            enum_values,
        } => build::Kind::String {
            length: *length,
            pattern: pattern.as_deref(),
            enum_values: enum_values.iter().map(String::as_str).collect(),
        },
        Kind::Integer(bounds) => build::Kind::Integer(*bounds),
        Kind::Long(bounds) => build::Kind::Long(*bounds),
        Kind::Float(bounds) => build::Kind::Float(*bounds),
        Kind::Double(bounds) => build::Kind::Double(*bounds),
        Kind::Boolean => build::Kind::Boolean,
        Kind::Blob { length } => build::Kind::Blob { length: *length },
        Kind::Timestamp { format } => build::Kind::Timestamp { format: *format },
        Kind::Document => build::Kind::Document,
    };
    build::Shape {
        name: &shape.name,
        sensitive: shape.sensitive,
        kind,
    }
}

fn described_member(member: &Member, shape_id: impl Fn(usize) -> ShapeId) -> build::Member<'_> {
    build::Member {
        name: &member.name,
        target: shape_id(member.target),
        required: member.required,
        location: member.location,
        location_name: member.location_name.as_deref(),
        idempotency_token: member.idempotency_token,
    }
}

/// The string `text` names, quoted, for a comment.
fn quoted(built: &Built, text: Text) -> String {
    let start = text.start as usize;
    let end = start + text.len as usize;
    lit(built.strings.get(start..end).unwrap_or_default())
}

fn text(text: Text) -> String {
    format!("text({}, {})", text.start, text.len)
}

fn span(span: Span) -> String {
    if span == Span::EMPTY {
        "Span::EMPTY".to_owned()
    } else {
        format!("Span::new({}, {})", span.start, span.len)
    }
}

fn option(value: Option<impl Display>) -> String {
    value.map_or_else(|| "None".to_owned(), |value| format!("Some({value})"))
}

fn range_code<T: Display>(range: &Range<T>) -> String {
    let bound = |value: &Option<T>| {
        value
            .as_ref()
            .map_or_else(|| "None".to_owned(), |value| format!("Some({value})"))
    };
    if range.min.is_none() && range.max.is_none() {
        "Range::ANY".to_owned()
    } else {
        format!(
            "Range {{ min: {}, max: {} }}",
            bound(&range.min),
            bound(&range.max)
        )
    }
}

/// Float bounds as Rust float literals: `Debug` always prints a `.` or an exponent (`1.0`,
/// `1e20`), which `Display` does not (`1`).
fn float_range_code(range: &Range<f64>) -> String {
    range_code(&Range {
        min: range.min.map(|x| format!("{x:?}")),
        max: range.max.map(|x| format!("{x:?}")),
    })
}

fn is_plain(member: &MemberEntry) -> bool {
    member.location == Location::Body && member.location_name.is_none() && !member.idempotency_token
}

fn kind(kind: &KindEntry) -> String {
    match kind {
        KindEntry::Structure {
            members,
            union,
            error,
        } => {
            let error = error.map_or_else(
                || "None".to_owned(),
                |error| {
                    format!(
                        "Some(ErrorEntry {{ code: {}, status: {}, sender_fault: {} }})",
                        text(error.code),
                        error.status,
                        error.sender_fault
                    )
                },
            );
            format!(
                "KindEntry::Structure {{ members: {}, union: {union}, error: {error} }}",
                span(*members)
            )
        }
        KindEntry::List {
            member,
            member_name,
            length,
        } => format!(
            "KindEntry::List {{ member: {member}, member_name: {}, length: {} }}",
            option(member_name.map(text)),
            range_code(length)
        ),
        KindEntry::Map { key, value, length } => format!(
            "KindEntry::Map {{ key: {key}, value: {value}, length: {} }}",
            range_code(length)
        ),
        KindEntry::String {
            length,
            pattern,
            enum_values,
        } => format!(
            "KindEntry::String {{ length: {}, pattern: {}, enum_values: {} }}",
            range_code(length),
            option(pattern.map(text)),
            span(*enum_values)
        ),
        KindEntry::Integer(range) => format!("KindEntry::Integer({})", range_code(range)),
        KindEntry::Long(range) => format!("KindEntry::Long({})", range_code(range)),
        KindEntry::Float(range) => format!("KindEntry::Float({})", float_range_code(range)),
        KindEntry::Double(range) => format!("KindEntry::Double({})", float_range_code(range)),
        KindEntry::Boolean => "KindEntry::Boolean".to_owned(),
        KindEntry::Blob { length } => {
            format!("KindEntry::Blob {{ length: {} }}", range_code(length))
        }
        KindEntry::Timestamp { format } => format!(
            "KindEntry::Timestamp {{ format: {} }}",
            option(format.map(|format| format!("TimestampFormat::{format:?}")))
        ),
        KindEntry::Document => "KindEntry::Document".to_owned(),
    }
}

fn member(member: &MemberEntry) -> String {
    if is_plain(member) {
        return format!(
            "member({}, {}, {})",
            text(member.name),
            member.target,
            member.required
        );
    }
    format!(
        "MemberEntry {{ name: {}, target: {}, required: {}, location: Location::{:?}, location_name: {}, idempotency_token: {} }}",
        text(member.name),
        member.target,
        member.required,
        member.location,
        option(member.location_name.map(text)),
        member.idempotency_token
    )
}
