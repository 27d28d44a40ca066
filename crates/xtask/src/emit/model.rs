//! `src/model.rs`: the `ServiceModel` as static tables.

use std::fmt::Display;

use super::{line, lit, opt_lit};
use crate::lower::{Bounds, Kind, Member, Service, Shape};

pub fn model_rs(service: &Service) -> String {
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

    // Most shapes are not sensitive and most members are plain body members: helpers keep those
    // entries on one line. They are printed only when used, so no crate has dead code.
    let plain_shapes = service.shapes.iter().any(|shape| !shape.sensitive);
    let plain_members = service.shapes.iter().any(|shape| {
        matches!(&shape.kind, Kind::Structure { members, .. } if members.iter().any(is_plain))
    });
    if plain_shapes {
        line!(out, "/// A shape that is not sensitive.");
        line!(
            out,
            "const fn shape(name: &'static str, kind: ShapeKind) -> Shape {{"
        );
        line!(out, "    Shape {{ name, sensitive: false, kind }}");
        line!(out, "}}");
        line!(out);
    }
    if plain_members {
        line!(
            out,
            "/// A member carried in the body under its own name, not an idempotency token."
        );
        line!(
            out,
            "const fn member(name: &'static str, target: ShapeId, required: bool) -> Member {{"
        );
        line!(
            out,
            "    Member {{ name, target, required, location: Location::Body, location_name: None, idempotency_token: false }}"
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
    line!(out, "    operations: OPERATIONS,");
    line!(out, "    shapes: SHAPES,");
    line!(out, "}};");
    line!(out);

    line!(out, "/// The operations, sorted by name.");
    line!(out, "pub static OPERATIONS: &[Operation] = &[");
    for op in &service.operations {
        let errors: Vec<String> = op.errors.iter().map(ToString::to_string).collect();
        line!(out, "    Operation {{");
        line!(out, "        name: {},", lit(&op.name));
        line!(
            out,
            "        http: HttpBinding {{ method: {}, request_uri: {}, response_code: {} }},",
            lit(&op.http_method),
            lit(&op.request_uri),
            op.response_code
        );
        line!(out, "        input: {},", opt_id(op.input));
        line!(out, "        output: {},", opt_id(op.output));
        line!(
            out,
            "        result_wrapper: {},",
            opt_lit(op.result_wrapper.as_deref())
        );
        line!(out, "        errors: &[{}],", errors.join(", "));
        line!(out, "        anonymous: {},", op.anonymous);
        line!(out, "    }},");
    }
    line!(out, "];");
    line!(out);

    line!(
        out,
        "/// Every shape an operation can reach; a `ShapeId` is an index into this table."
    );
    line!(out, "pub static SHAPES: &[Shape] = &[");
    for (id, shape) in service.shapes.iter().enumerate() {
        line!(out, "    // {id}");
        let kind = shape_kind(shape);
        if shape.sensitive {
            line!(
                out,
                "    Shape {{ name: {}, sensitive: true, kind: {kind} }},",
                lit(&shape.name)
            );
        } else {
            line!(out, "    shape({}, {kind}),", lit(&shape.name));
        }
    }
    line!(out, "];");
    out
}

fn opt_id(id: Option<usize>) -> String {
    id.map_or_else(|| "None".to_owned(), |id| format!("Some({id})"))
}

fn range<T: Display>(bounds: &Bounds<T>) -> String {
    let bound = |value: &Option<T>| {
        value
            .as_ref()
            .map_or_else(|| "None".to_owned(), |value| format!("Some({value})"))
    };
    if bounds.min.is_none() && bounds.max.is_none() {
        "Range::ANY".to_owned()
    } else {
        format!(
            "Range {{ min: {}, max: {} }}",
            bound(&bounds.min),
            bound(&bounds.max)
        )
    }
}

/// Float bounds as Rust float literals: `Debug` always prints a `.` or an exponent (`1.0`,
/// `1e20`), which `Display` does not (`1`).
fn float_range(bounds: &Bounds<f64>) -> String {
    let debug = Bounds {
        min: bounds.min.map(|x| format!("{x:?}")),
        max: bounds.max.map(|x| format!("{x:?}")),
    };
    range(&debug)
}

fn is_plain(member: &Member) -> bool {
    member.location == "Body" && member.location_name.is_none() && !member.idempotency_token
}

fn shape_kind(shape: &Shape) -> String {
    match &shape.kind {
        Kind::Structure {
            members,
            union,
            error,
        } => {
            let members: Vec<String> = members.iter().map(member).collect();
            let error = error.as_ref().map_or_else(
                || "None".to_owned(),
                |error| format!("Some(crate::errors::{})", error.const_name),
            );
            format!(
                "ShapeKind::Structure(Structure {{ members: &[{}], union: {union}, error: {error} }})",
                members.join(", ")
            )
        }
        Kind::List {
            member,
            member_name,
            length,
        } => format!(
            "ShapeKind::List {{ member: {member}, member_name: {}, length: {} }}",
            opt_lit(member_name.as_deref()),
            range(length)
        ),
        Kind::Map { key, value, length } => format!(
            "ShapeKind::Map {{ key: {key}, value: {value}, length: {} }}",
            range(length)
        ),
        Kind::String {
            length,
            pattern,
            enum_values,
        } => {
            let values: Vec<String> = enum_values.iter().map(|value| lit(value)).collect();
            format!(
                "ShapeKind::String {{ length: {}, pattern: {}, enum_values: &[{}] }}",
                range(length),
                opt_lit(pattern.as_deref()),
                values.join(", ")
            )
        }
        Kind::Integer(bounds) => format!("ShapeKind::Integer({})", range(bounds)),
        Kind::Long(bounds) => format!("ShapeKind::Long({})", range(bounds)),
        Kind::Float(bounds) => format!("ShapeKind::Float({})", float_range(bounds)),
        Kind::Double(bounds) => format!("ShapeKind::Double({})", float_range(bounds)),
        Kind::Boolean => "ShapeKind::Boolean".to_owned(),
        Kind::Blob { length } => format!("ShapeKind::Blob {{ length: {} }}", range(length)),
        Kind::Timestamp { format } => format!(
            "ShapeKind::Timestamp {{ format: {} }}",
            format.map_or_else(
                || "None".to_owned(),
                |format| format!("Some(TimestampFormat::{format})")
            )
        ),
        Kind::Document => "ShapeKind::Document".to_owned(),
    }
}

fn member(member: &Member) -> String {
    if is_plain(member) {
        return format!(
            "member({}, {}, {})",
            lit(&member.name),
            member.target,
            member.required
        );
    }
    format!(
        "Member {{ name: {}, target: {}, required: {}, location: Location::{}, location_name: {}, idempotency_token: {} }}",
        lit(&member.name),
        member.target,
        member.required,
        member.location,
        opt_lit(member.location_name.as_deref()),
        member.idempotency_token
    )
}
