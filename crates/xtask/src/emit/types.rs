//! `src/types.rs`: a struct per structure and an open enum per string enum, with their
//! `FromValue` and `IntoValue` conversions. Conversions use member names (not wire names): a
//! [`Value`](palisade_core::Value) structure is keyed by member name whatever the protocol.

use std::collections::BTreeSet;

use super::{line, lit};
use crate::lower::{Item, Kind, Member, Service, Shape};

/// Imports the module needs beyond the ones every module has; collected while printing so no
/// import is unused.
#[derive(Default)]
struct Uses {
    names: BTreeSet<&'static str>,
}

impl Uses {
    fn add(&mut self, name: &'static str) {
        self.names.insert(name);
    }

    fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

pub fn types_rs(service: &Service) -> String {
    let mut uses = Uses::default();
    let mut body = String::new();
    for shape in &service.shapes {
        match &shape.item {
            Some(Item::Struct { name, default }) => {
                emit_struct(service, shape, name, *default, &mut uses, &mut body);
            }
            Some(Item::Enum { name, variants }) => {
                uses.add("fmt");
                emit_enum(name, variants, &mut body);
            }
            None => {}
        }
    }

    let mut out = String::new();
    line!(
        out,
        "//! A Rust type for every structure and enum of the {} model that an operation takes or returns.",
        service.meta.service_id
    );
    line!(
        out,
        "//! Required members are plain fields, others `Option`s; field names are the members' in snake case."
    );
    line!(out);
    if uses.has("BTreeMap") {
        line!(out, "use std::collections::BTreeMap;");
    }
    if uses.has("fmt") {
        line!(out, "use std::fmt;");
    }
    line!(out);
    if uses.has("Sensitive") {
        line!(out, "use palisade_core::Sensitive;");
    }
    let value_names: Vec<&str> = [
        "Blob",
        "ConvertError",
        "Document",
        "Fields",
        "FromValue",
        "IntoValue",
        "StructBuilder",
        "Timestamp",
        "Value",
    ]
    .into_iter()
    .filter(|name| {
        // Every struct or enum converts, so the conversion traits are always used when any
        // type is printed at all.
        uses.has(name)
            || (!body.is_empty()
                && ["ConvertError", "FromValue", "IntoValue", "Value"].contains(name))
    })
    .collect();
    if !value_names.is_empty() {
        line!(
            out,
            "use palisade_core::value::{{{}}};",
            value_names.join(", ")
        );
    }
    out.push_str(&body);
    out
}

/// The Rust type of a value of shape `id` (without `Option` or `Box`).
fn rust_type(service: &Service, id: usize, uses: &mut Uses) -> String {
    let Some(shape) = service.shapes.get(id) else {
        return "Value".to_owned();
    };
    if let Some(item) = &shape.item {
        return item.name().to_owned();
    }
    match &shape.kind {
        // Only untyped structures land here (error shapes); they are never fields of typed ones.
        Kind::Structure { .. } => "Value".to_owned(),
        Kind::List { member, .. } => format!("Vec<{}>", rust_type(service, *member, uses)),
        Kind::Map { value, .. } => {
            uses.add("BTreeMap");
            format!("BTreeMap<String, {}>", rust_type(service, *value, uses))
        }
        Kind::String { .. } if shape.sensitive => {
            uses.add("Sensitive");
            "Sensitive<String>".to_owned()
        }
        Kind::String { .. } => "String".to_owned(),
        Kind::Integer(_) => "i32".to_owned(),
        Kind::Long(_) => "i64".to_owned(),
        Kind::Float(_) => "f32".to_owned(),
        Kind::Double(_) => "f64".to_owned(),
        Kind::Boolean => "bool".to_owned(),
        Kind::Blob { .. } if shape.sensitive => {
            uses.add("Sensitive");
            uses.add("Blob");
            "Sensitive<Blob>".to_owned()
        }
        Kind::Blob { .. } => {
            uses.add("Blob");
            "Blob".to_owned()
        }
        Kind::Timestamp { .. } => {
            uses.add("Timestamp");
            "Timestamp".to_owned()
        }
        Kind::Document => {
            uses.add("Document");
            "Document".to_owned()
        }
    }
}

fn field_type(service: &Service, member: &Member, uses: &mut Uses) -> String {
    let mut ty = rust_type(service, member.target, uses);
    if member.boxed {
        ty = format!("Box<{ty}>");
    }
    if !member.required {
        ty = format!("Option<{ty}>");
    }
    ty
}

fn emit_struct(
    service: &Service,
    shape: &Shape,
    name: &str,
    default: bool,
    uses: &mut Uses,
    out: &mut String,
) {
    let (members, union) = match &shape.kind {
        Kind::Structure { members, union, .. } => (members.as_slice(), *union),
        _ => (&[][..], false),
    };
    line!(out);
    if union {
        line!(
            out,
            "/// `{}`: a union, of which exactly one field is set.",
            shape.name
        );
    } else {
        line!(out, "/// `{}`.", shape.name);
    }
    let derives = if default {
        "Debug, Clone, PartialEq, Default"
    } else {
        "Debug, Clone, PartialEq"
    };
    line!(out, "#[derive({derives})]");
    line!(out, "pub struct {name} {{");
    for member in members {
        line!(
            out,
            "    pub {}: {},",
            member.field,
            field_type(service, member, uses)
        );
    }
    line!(out, "}}");
    line!(out);

    line!(out, "impl FromValue for {name} {{");
    line!(
        out,
        "    fn from_value(value: Value) -> Result<Self, ConvertError> {{"
    );
    if members.is_empty() {
        uses.add("Fields");
        line!(out, "        Fields::open(value).map(|_| Self {{}})");
    } else {
        uses.add("Fields");
        line!(out, "        let mut fields = Fields::open(value)?;");
        line!(out, "        Ok(Self {{");
        for member in members {
            let take = if member.required {
                "required"
            } else {
                "optional"
            };
            line!(
                out,
                "            {}: fields.{take}({})?,",
                member.field,
                lit(&member.name)
            );
        }
        line!(out, "        }})");
    }
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);

    line!(out, "impl IntoValue for {name} {{");
    line!(out, "    fn into_value(self) -> Value {{");
    if members.is_empty() {
        line!(out, "        Value::empty_struct()");
    } else {
        uses.add("StructBuilder");
        line!(out, "        let mut builder = StructBuilder::new();");
        for member in members {
            let set = if member.required { "set" } else { "set_opt" };
            line!(
                out,
                "        builder.{set}({}, self.{});",
                lit(&member.name),
                member.field
            );
        }
        line!(out, "        builder.build()");
    }
    line!(out, "    }}");
    line!(out, "}}");
}

fn emit_enum(name: &str, variants: &[(String, String)], out: &mut String) {
    line!(out);
    line!(
        out,
        "/// An open enum: values this model does not list are kept in `Unknown`."
    );
    line!(out, "#[derive(Debug, Clone, PartialEq, Eq, Hash)]");
    line!(out, "pub enum {name} {{");
    for (value, variant) in variants {
        line!(out, "    /// `{value}`");
        line!(out, "    {variant},");
    }
    line!(out, "    /// A value the model does not list.");
    line!(out, "    Unknown(String),");
    line!(out, "}}");
    line!(out);

    line!(out, "impl {name} {{");
    line!(out, "    /// The value as sent on the wire.");
    line!(out, "    pub fn as_str(&self) -> &str {{");
    line!(out, "        match self {{");
    for (value, variant) in variants {
        line!(out, "            Self::{variant} => {},", lit(value));
    }
    line!(out, "            Self::Unknown(value) => value,");
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);

    line!(out, "impl From<&str> for {name} {{");
    line!(out, "    fn from(value: &str) -> Self {{");
    line!(out, "        match value {{");
    for (value, variant) in variants {
        line!(out, "            {} => Self::{variant},", lit(value));
    }
    line!(out, "            other => Self::Unknown(other.to_owned()),");
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);

    line!(out, "impl fmt::Display for {name} {{");
    line!(
        out,
        "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{"
    );
    line!(out, "        f.write_str(self.as_str())");
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);

    line!(out, "impl FromValue for {name} {{");
    line!(
        out,
        "    fn from_value(value: Value) -> Result<Self, ConvertError> {{"
    );
    line!(
        out,
        "        String::from_value(value).map(|value| Self::from(value.as_str()))"
    );
    line!(out, "    }}");
    line!(out, "}}");
    line!(out);

    line!(out, "impl IntoValue for {name} {{");
    line!(out, "    fn into_value(self) -> Value {{");
    line!(out, "        match self {{");
    line!(
        out,
        "            Self::Unknown(value) => Value::String(value),"
    );
    line!(
        out,
        "            known => Value::String(known.as_str().to_owned()),"
    );
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out, "}}");
}
