//! [`Tables`] made from a model described in plain values: how the code generator makes each
//! service's tables (then prints them as Rust), and how tests make small models (then leak them).

use std::collections::HashMap;

use super::{
    ErrorEntry, KindEntry, Location, MemberEntry, OperationEntry, Range, ShapeEntry, ShapeId, Span,
    Tables, Text, TimestampFormat,
};

/// An operation.
#[derive(Debug, Clone)]
#[expect(missing_docs, reason = "each field is its `model::Operation` namesake")]
pub struct Operation<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub request_uri: &'a str,
    pub response_code: u16,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    pub result_wrapper: Option<&'a str>,
    pub errors: Vec<ShapeId>,
    pub anonymous: bool,
}

/// A shape; its id is its position in the list given to [`tables`].
#[derive(Debug, Clone)]
#[expect(missing_docs, reason = "each field is its `model::Shape` namesake")]
pub struct Shape<'a> {
    pub name: &'a str,
    pub sensitive: bool,
    pub kind: Kind<'a>,
}

/// A shape's kind.
#[derive(Debug, Clone)]
#[expect(
    missing_docs,
    reason = "each variant and field is its `model::ShapeKind` namesake"
)]
pub enum Kind<'a> {
    Structure {
        members: Vec<Member<'a>>,
        union: bool,
        error: Option<Error<'a>>,
    },
    List {
        member: ShapeId,
        member_name: Option<&'a str>,
        length: Range<u64>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        length: Range<u64>,
    },
    String {
        length: Range<u64>,
        pattern: Option<&'a str>,
        enum_values: Vec<&'a str>,
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

/// How a modeled error is rendered.
#[derive(Debug, Clone, Copy)]
#[expect(missing_docs, reason = "each field is its `model::ErrorInfo` namesake")]
pub struct Error<'a> {
    pub code: &'a str,
    pub status: u16,
    pub sender_fault: bool,
}

/// A member of a structure.
#[derive(Debug, Clone)]
#[expect(missing_docs, reason = "each field is its `model::Member` namesake")]
pub struct Member<'a> {
    pub name: &'a str,
    pub target: ShapeId,
    pub required: bool,
    pub location: Location,
    pub location_name: Option<&'a str>,
    pub idempotency_token: bool,
}

/// The tables of a model, owned: what [`Tables`] borrow.
#[derive(Debug, Default)]
#[expect(missing_docs, reason = "each field is its `Tables` namesake")]
pub struct Built {
    pub strings: String,
    pub operations: Vec<OperationEntry>,
    pub shapes: Vec<ShapeEntry>,
    pub members: Vec<MemberEntry>,
    pub texts: Vec<Text>,
    pub shape_ids: Vec<ShapeId>,
}

impl Built {
    /// The tables, for the rest of the process: for tests, whose models are made at run time.
    pub fn leak(self) -> &'static Tables {
        Box::leak(Box::new(Tables {
            strings: Box::leak(self.strings.into_boxed_str()),
            operations: Box::leak(self.operations.into_boxed_slice()),
            shapes: Box::leak(self.shapes.into_boxed_slice()),
            members: Box::leak(self.members.into_boxed_slice()),
            texts: Box::leak(self.texts.into_boxed_slice()),
            shape_ids: Box::leak(self.shape_ids.into_boxed_slice()),
        }))
    }
}

/// The tables of `operations` (sorted here by name) and `shapes`. Each distinct string is kept
/// once.
pub fn tables(operations: &[Operation<'_>], shapes: &[Shape<'_>]) -> Built {
    let mut maker = Maker::default();
    let mut operations: Vec<&Operation<'_>> = operations.iter().collect();
    operations.sort_by_key(|operation| operation.name);
    for operation in operations {
        let errors = maker.shape_ids(&operation.errors);
        let entry = OperationEntry {
            name: maker.text(operation.name),
            method: maker.text(operation.method),
            request_uri: maker.text(operation.request_uri),
            response_code: operation.response_code,
            input: operation.input,
            output: operation.output,
            result_wrapper: operation.result_wrapper.map(|text| maker.text(text)),
            errors,
            anonymous: operation.anonymous,
        };
        maker.built.operations.push(entry);
    }
    for shape in shapes {
        let entry = ShapeEntry {
            name: maker.text(shape.name),
            sensitive: shape.sensitive,
            kind: maker.kind(&shape.kind),
        };
        maker.built.shapes.push(entry);
    }
    maker.built
}

#[derive(Default)]
struct Maker {
    built: Built,
    seen: HashMap<String, Text>,
}

/// A position or length in a table as the tables hold it. No model comes near 4 GiB.
fn index(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Maker {
    fn text(&mut self, text: &str) -> Text {
        if let Some(found) = self.seen.get(text) {
            return *found;
        }
        let made = Text::new(index(self.built.strings.len()), index(text.len()));
        self.built.strings.push_str(text);
        self.seen.insert(text.to_owned(), made);
        made
    }

    fn shape_ids(&mut self, ids: &[ShapeId]) -> Span {
        if ids.is_empty() {
            return Span::EMPTY;
        }
        let start = index(self.built.shape_ids.len());
        self.built.shape_ids.extend_from_slice(ids);
        Span::new(start, index(ids.len()))
    }

    fn kind(&mut self, kind: &Kind<'_>) -> KindEntry {
        match kind {
            Kind::Structure {
                members,
                union,
                error,
            } => {
                let entries: Vec<MemberEntry> = members
                    .iter()
                    .map(|member| MemberEntry {
                        name: self.text(member.name),
                        target: member.target,
                        required: member.required,
                        location: member.location,
                        location_name: member.location_name.map(|text| self.text(text)),
                        idempotency_token: member.idempotency_token,
                    })
                    .collect();
                let members = if entries.is_empty() {
                    Span::EMPTY
                } else {
                    let start = index(self.built.members.len());
                    self.built.members.extend(entries);
                    Span::new(start, index(members.len()))
                };
                KindEntry::Structure {
                    members,
                    union: *union,
                    error: error.map(|error| ErrorEntry {
                        code: self.text(error.code),
                        status: error.status,
                        sender_fault: error.sender_fault,
                    }),
                }
            }
            Kind::List {
                member,
                member_name,
                length,
            } => KindEntry::List {
                member: *member,
                member_name: member_name.map(|text| self.text(text)),
                length: *length,
            },
            Kind::Map { key, value, length } => KindEntry::Map {
                key: *key,
                value: *value,
                length: *length,
            },
            Kind::String {
                length,
                pattern,
                enum_values,
            } => {
                let texts: Vec<Text> = enum_values.iter().map(|value| self.text(value)).collect();
                let enum_values = if texts.is_empty() {
                    Span::EMPTY
                } else {
                    let start = index(self.built.texts.len());
                    self.built.texts.extend(texts);
                    Span::new(start, index(enum_values.len()))
                };
                KindEntry::String {
                    length: *length,
                    pattern: pattern.map(|text| self.text(text)),
                    enum_values,
                }
            }
            Kind::Integer(range) => KindEntry::Integer(*range),
            Kind::Long(range) => KindEntry::Long(*range),
            Kind::Float(range) => KindEntry::Float(*range),
            Kind::Double(range) => KindEntry::Double(*range),
            Kind::Boolean => KindEntry::Boolean,
            Kind::Blob { length } => KindEntry::Blob { length: *length },
            Kind::Timestamp { format } => KindEntry::Timestamp { format: *format },
            Kind::Document => KindEntry::Document,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServiceModel, ShapeKind};

    #[test]
    fn built_tables_read_back_as_described() {
        let shapes = vec![
            Shape {
                name: "Input",
                sensitive: false,
                kind: Kind::Structure {
                    members: vec![Member {
                        name: "Mode",
                        target: 1,
                        required: true,
                        location: Location::Header,
                        location_name: Some("x-mode"),
                        idempotency_token: false,
                    }],
                    union: false,
                    error: None,
                },
            },
            Shape {
                name: "Mode",
                sensitive: true,
                kind: Kind::String {
                    length: Range::ANY,
                    pattern: None,
                    enum_values: vec!["fast", "Input"],
                },
            },
        ];
        let operation = |name| Operation {
            name,
            method: "POST",
            request_uri: "/",
            response_code: 200,
            input: Some(0),
            output: None,
            result_wrapper: None,
            errors: vec![1],
            anonymous: false,
        };
        let model: &'static ServiceModel = Box::leak(Box::new(ServiceModel {
            name: "test",
            service_id: "Test",
            api_version: "2024-01-01",
            endpoint_prefix: "test",
            signing_name: "test",
            target_prefix: None,
            json_version: None,
            xml_namespace: None,
            protocols: &[],
            query_compatible: false,
            tables: tables(&[operation("Zeta"), operation("Alpha")], &shapes).leak(),
        }));

        let names: Vec<&str> = model.operations().map(|op| op.name).collect();
        assert_eq!(names, ["Alpha", "Zeta"], "sorted by name");
        assert_eq!(model.operation("Zeta").map(|op| op.errors), Some(&[1][..]));
        let Some(ShapeKind::Structure(input)) = model.shape(0).map(|shape| shape.kind) else {
            panic!("a structure");
        };
        let mode = input.member("Mode").expect("the member");
        assert_eq!((mode.wire_name(), mode.target), ("x-mode", 1));
        let shape = model.shape(1).expect("the enum");
        assert!(shape.sensitive);
        let ShapeKind::String { enum_values, .. } = shape.kind else {
            panic!("a string");
        };
        assert_eq!(enum_values.iter().collect::<Vec<_>>(), ["fast", "Input"]);
        assert!(model.shape(2).is_none());
    }
}
