//! The model's constraints, checked on a decoded [`Value`], with AWS's wording:
//!
//! `2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must
//! not be null; Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value
//! greater than or equal to 1`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, RwLock};

use regex::Regex;

use crate::Value;
use crate::model::{Range, ServiceModel, ShapeId, ShapeKind};

/// Checks `value` against the shape `shape` of `model`. `Ok` when every constraint holds, else the
/// AWS message listing every violation.
pub fn validate(model: &ServiceModel, shape: ShapeId, value: &Value) -> Result<(), String> {
    let mut violations = Vec::new();
    check(model, shape, value, "", false, &mut violations);
    if violations.is_empty() {
        return Ok(());
    }
    let count = violations.len();
    let noun = if count == 1 { "error" } else { "errors" };
    Err(format!(
        "{count} validation {noun} detected: {}",
        violations.join("; ")
    ))
}

/// AWS names members in messages in lower camel case: `KeyId` becomes `keyId`.
fn wire_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let camel: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if parent.is_empty() {
        camel
    } else {
        format!("{parent}.{camel}")
    }
}

fn violation(path: &str, value: &Value, sensitive: bool, constraint: &str) -> String {
    if sensitive {
        return format!("Value at '{path}' failed to satisfy constraint: {constraint}");
    }
    let mut shown = String::new();
    render(value, &mut shown);
    format!("Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}")
}

/// Renders a value as AWS's (Java) messages do: lists as `[a, b]`, maps as `{k=v}`.
fn render(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) | Value::Timestamp(x) => {
            let _ = write!(out, "{x}");
        }
        Value::String(s) => out.push_str(s),
        Value::Blob(_) => out.push_str("java.nio.HeapByteBuffer"),
        Value::List(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render(item, out);
            }
            out.push('}');
        }
    }
}

fn check(
    model: &ServiceModel,
    shape_id: ShapeId,
    value: &Value,
    path: &str,
    inherited_sensitive: bool,
    out: &mut Vec<String>,
) {
    let Some(shape) = model.shape(shape_id) else {
        return;
    };
    let sensitive = inherited_sensitive || shape.sensitive;
    match &shape.kind {
        ShapeKind::Structure(structure) => {
            for member in structure.members {
                let member_path = wire_path(path, member.name);
                match value.get(member.name) {
                    None if member.required => out.push(format!(
                        "Value null at '{member_path}' failed to satisfy constraint: Member must not be null"
                    )),
                    None => {}
                    Some(member_value) => {
                        check(model, member.target, member_value, &member_path, sensitive, out)
                    }
                }
            }
        }
        ShapeKind::List { member, length, .. } => {
            if let Value::List(items) = value {
                check_length(items.len(), length, path, value, sensitive, out);
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.{}.member", index + 1);
                    check(model, *member, item, &item_path, sensitive, out);
                }
            }
        }
        ShapeKind::Map {
            key,
            value: value_shape,
            length,
        } => {
            if let Value::Map(entries) = value {
                check_length(entries.len(), length, path, value, sensitive, out);
                for (entry_key, entry_value) in entries {
                    let key_value = Value::String(entry_key.clone());
                    check(model, *key, &key_value, path, sensitive, out);
                    check(model, *value_shape, entry_value, path, sensitive, out);
                }
            }
        }
        ShapeKind::String {
            length,
            pattern,
            enum_values,
        } => {
            if let Value::String(text) = value {
                check_length(text.chars().count(), length, path, value, sensitive, out);
                if !enum_values.is_empty() && !enum_values.contains(text) {
                    let set = enum_values.iter().collect::<Vec<_>>().join(", ");
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must satisfy enum value set: [{set}]"),
                    ));
                }
                if let Some(pattern) = pattern.filter(|pattern| !matches_pattern(pattern, text)) {
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must satisfy regular expression pattern: {pattern}"),
                    ));
                }
            }
        }
        ShapeKind::Integer(range) | ShapeKind::Long(range) => {
            if let Value::Int(number) = value {
                if let Some(min) = range.min.filter(|min| number < min) {
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must have value greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = range.max.filter(|max| number > max) {
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must have value less than or equal to {max}"),
                    ));
                }
            }
        }
        ShapeKind::Float(range) | ShapeKind::Double(range) => {
            if let Value::Float(number) = value {
                if let Some(min) = range.min.filter(|min| number < min) {
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must have value greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = range.max.filter(|max| number > max) {
                    out.push(violation(
                        path,
                        value,
                        sensitive,
                        &format!("Member must have value less than or equal to {max}"),
                    ));
                }
            }
        }
        ShapeKind::Blob { length } => {
            if let Value::Blob(bytes) = value {
                check_length(bytes.len(), length, path, value, sensitive, out);
            }
        }
        ShapeKind::Boolean | ShapeKind::Timestamp { .. } | ShapeKind::Document => {}
    }
}

fn check_length(
    actual: usize,
    length: &Range<u64>,
    path: &str,
    value: &Value,
    sensitive: bool,
    out: &mut Vec<String>,
) {
    let actual = u64::try_from(actual).unwrap_or(u64::MAX);
    if let Some(min) = length.min.filter(|min| actual < *min) {
        out.push(violation(
            path,
            value,
            sensitive,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if let Some(max) = length.max.filter(|max| actual > *max) {
        out.push(violation(
            path,
            value,
            sensitive,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
}

/// Compiled model patterns, shared process-wide. A pattern the regex engine cannot compile (the
/// models are written for Java's engine) is not enforced rather than rejecting every request.
fn matches_pattern(pattern: &'static str, text: &str) -> bool {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
    if let Ok(compiled) = cache.read()
        && let Some(regex) = compiled.get(pattern)
    {
        return regex.as_ref().is_none_or(|regex| regex.is_match(text));
    }
    let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .ok();
    let matched = regex.as_ref().is_none_or(|regex| regex.is_match(text));
    if let Ok(mut compiled) = cache.write() {
        compiled.insert(pattern, regex);
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;
    use crate::model::build::{self, Kind, Member, Operation, Shape};
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    fn shapes() -> Vec<Shape<'static>> {
        vec![
            Shape {
                name: "Input",
                sensitive: false,
                kind: Kind::Structure {
                    members: vec![
                        Member {
                            name: "KeyId",
                            target: 1,
                            required: true,
                            location: Location::Body,
                            location_name: None,
                            idempotency_token: false,
                        },
                        Member {
                            name: "NumberOfBytes",
                            target: 2,
                            required: false,
                            location: Location::Body,
                            location_name: None,
                            idempotency_token: false,
                        },
                        Member {
                            name: "Plaintext",
                            target: 3,
                            required: false,
                            location: Location::Body,
                            location_name: None,
                            idempotency_token: false,
                        },
                        Member {
                            name: "Spec",
                            target: 4,
                            required: false,
                            location: Location::Body,
                            location_name: None,
                            idempotency_token: false,
                        },
                    ],
                    union: false,
                    error: None,
                },
            },
            Shape {
                name: "KeyIdType",
                sensitive: false,
                kind: Kind::String {
                    length: Range {
                        min: Some(1),
                        max: Some(8),
                    },
                    pattern: Some("[a-z]+"),
                    enum_values: vec![],
                },
            },
            Shape {
                name: "NumberOfBytesType",
                sensitive: false,
                kind: Kind::Integer(Range {
                    min: Some(1),
                    max: Some(1024),
                }),
            },
            Shape {
                name: "PlaintextType",
                sensitive: true,
                kind: Kind::Blob {
                    length: Range {
                        min: Some(1),
                        max: Some(4),
                    },
                },
            },
            Shape {
                name: "SpecType",
                sensitive: false,
                kind: Kind::String {
                    length: Range::ANY,
                    pattern: None,
                    enum_values: vec!["AES_256", "AES_128"],
                },
            },
        ]
    }

    static MODEL: LazyLock<ServiceModel> = LazyLock::new(|| {
        let operation = Operation {
            name: "Op",
            method: "POST",
            request_uri: "/",
            response_code: 200,
            input: Some(0),
            output: None,
            result_wrapper: None,
            errors: vec![],
            anonymous: false,
        };
        ServiceModel {
            name: "test",
            service_id: "Test",
            api_version: "2020-01-01",
            endpoint_prefix: "test",
            signing_name: "test",
            target_prefix: Some("Test"),
            json_version: Some("1.1"),
            xml_namespace: None,
            protocols: &[crate::model::Protocol::Json],
            query_compatible: false,
            tables: build::tables(&[operation], &shapes()).leak(),
        }
    });

    fn input(members: &[(&str, Value)]) -> Value {
        Value::Map(
            members
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn valid_input_passes() {
        let value = input(&[("KeyId", Value::String("abc".into()))]);
        assert_eq!(validate(&MODEL, 0, &value), Ok(()));
    }

    #[test]
    fn missing_required_member_is_named() {
        let message = validate(&MODEL, 0, &input(&[])).unwrap_err();
        assert_eq!(
            message,
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn every_violation_is_listed() {
        let value = input(&[
            ("KeyId", Value::String("ABCDEFGHIJ".into())),
            ("NumberOfBytes", Value::Int(0)),
            ("Spec", Value::String("DES".into())),
        ]);
        let message = validate(&MODEL, 0, &value).unwrap_err();
        assert!(
            message.starts_with("4 validation errors detected: "),
            "{message}"
        );
        assert!(message.contains("Value 'ABCDEFGHIJ' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 8"));
        assert!(message.contains("Member must satisfy regular expression pattern: [a-z]+"));
        assert!(message.contains("Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"));
        assert!(message.contains("Value 'DES' at 'spec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"));
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let value = input(&[
            ("KeyId", Value::String("abc".into())),
            ("Plaintext", Value::Blob(b"secret".to_vec())),
        ]);
        let message = validate(&MODEL, 0, &value).unwrap_err();
        assert!(message.contains("Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4"));
        assert!(!message.contains("secret"));
    }
}
