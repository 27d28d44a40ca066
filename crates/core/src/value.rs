//! The protocol-neutral document that every protocol decodes a request into and encodes a
//! response from, and its conversions to and from the generated typed structs.
//!
//! Decoders are guided by the model, so a [`Value`] already has the shape's types: a `Timestamp`
//! member holds [`Value::Timestamp`], a blob holds [`Value::Blob`]. Structures and maps are both
//! [`Value::Map`]; a structure's keys are member names.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroize;

use crate::Sensitive;

/// A decoded document.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// An explicit null; treated as absent.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer or long.
    Int(i64),
    /// A float or double.
    Float(f64),
    /// A string or enum.
    String(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// Seconds since the Unix epoch, with fraction.
    Timestamp(f64),
    /// A list.
    List(Vec<Value>),
    /// A structure (keyed by member name) or a map.
    Map(BTreeMap<String, Value>),
}

impl fmt::Debug for Value {
    // Values can hold secrets; the redacting happens where the shape is known (audit), so Debug
    // shows only the structure, never a string or blob.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "<string: {} chars>", s.chars().count()),
            Value::Blob(b) => write!(f, "<blob: {} bytes>", b.len()),
            Value::Timestamp(t) => write!(f, "<timestamp {t}>"),
            Value::List(items) => f.debug_list().entries(items).finish(),
            Value::Map(map) => f.debug_map().entries(map).finish(),
        }
    }
}

impl Value {
    /// An empty structure.
    pub fn empty_struct() -> Self {
        Value::Map(BTreeMap::new())
    }

    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Blob(_) => "blob",
            Value::Timestamp(_) => "timestamp",
            Value::List(_) => "list",
            Value::Map(_) => "structure",
        }
    }

    /// Whether the value counts as absent.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The member or map entry called `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(map) => map.get(key).filter(|value| !value.is_null()),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A value did not have the type the typed struct expects.
///
/// Decoders check types against the model, so this means a model and its generated types
/// disagree; the wire layer still answers it as a client error, never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// What was expected.
    pub expected: &'static str,
    /// What was found.
    pub found: &'static str,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl std::error::Error for ConvertError {}

fn mismatch<T>(expected: &'static str, found: &Value) -> Result<T, ConvertError> {
    Err(ConvertError {
        expected,
        found: found.kind(),
    })
}

/// Builds a typed value from a [`Value`].
pub trait FromValue: Sized {
    /// Converts `value`.
    fn from_value(value: Value) -> Result<Self, ConvertError>;
}

/// Turns a typed value into a [`Value`].
pub trait IntoValue {
    /// Converts `self`.
    fn into_value(self) -> Value;
}

/// Bytes: a blob member.
#[derive(Clone, Default, PartialEq, Eq, Zeroize)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

/// A point in time: seconds since the Unix epoch, with fraction.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Timestamp(pub f64);

impl Timestamp {
    /// The time `millis` milliseconds after the epoch.
    pub fn from_millis(millis: i64) -> Self {
        // Exact for every millisecond count within ±2^53.
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds within ±2^53 are exact"
        )]
        Self(millis as f64 / 1000.0)
    }
}

/// An untyped JSON document member.
#[derive(Debug, Clone, PartialEq)]
pub struct Document(pub Value);

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        Ok(value)
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl FromValue for Document {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        Ok(Document(value))
    }
}

impl IntoValue for Document {
    fn into_value(self) -> Value {
        self.0
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::String(s) => Ok(s),
            other => mismatch("string", &other),
        }
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Bool(b) => Ok(b),
            other => mismatch("boolean", &other),
        }
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl FromValue for i32 {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Int(i) => i32::try_from(i).or(mismatch("integer", &Value::Int(i))),
            other => mismatch("integer", &other),
        }
    }
}

impl IntoValue for i32 {
    fn into_value(self) -> Value {
        Value::Int(i64::from(self))
    }
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Int(i) => Ok(i),
            other => mismatch("long", &other),
        }
    }
}

impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Int(self)
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Float(x) => Ok(x),
            #[expect(
                clippy::cast_precision_loss,
                reason = "a whole number sent for a double member"
            )]
            Value::Int(i) => Ok(i as f64),
            other => mismatch("number", &other),
        }
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl FromValue for f32 {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the model says float; precision beyond f32 is not kept by AWS either"
        )]
        f64::from_value(value).map(|x| x as f32)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(f64::from(self))
    }
}

impl FromValue for Blob {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Blob(bytes) => Ok(Blob(bytes)),
            other => mismatch("blob", &other),
        }
    }
}

impl IntoValue for Blob {
    fn into_value(self) -> Value {
        Value::Blob(self.0)
    }
}

impl FromValue for Timestamp {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Timestamp(t) => Ok(Timestamp(t)),
            other => mismatch("timestamp", &other),
        }
    }
}

impl IntoValue for Timestamp {
    fn into_value(self) -> Value {
        Value::Timestamp(self.0)
    }
}

impl<T: FromValue + Zeroize> FromValue for Sensitive<T> {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        T::from_value(value).map(Sensitive::new)
    }
}

impl<T: IntoValue + Zeroize + Clone> IntoValue for Sensitive<T> {
    fn into_value(self) -> Value {
        self.expose().clone().into_value()
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::List(items) => items.into_iter().map(T::from_value).collect(),
            other => mismatch("list", &other),
        }
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(key, value)| T::from_value(value).map(|value| (key, value)))
                .collect(),
            other => mismatch("map", &other),
        }
    }
}

impl<T: IntoValue> IntoValue for BTreeMap<String, T> {
    fn into_value(self) -> Value {
        Value::Map(
            self.into_iter()
                .map(|(key, value)| (key, value.into_value()))
                .collect(),
        )
    }
}

impl<T: FromValue> FromValue for Box<T> {
    fn from_value(value: Value) -> Result<Self, ConvertError> {
        T::from_value(value).map(Box::new)
    }
}

impl<T: IntoValue> IntoValue for Box<T> {
    fn into_value(self) -> Value {
        (*self).into_value()
    }
}

/// The members of a structure being taken apart by a generated `FromValue` impl.
#[derive(Debug)]
pub struct Fields(BTreeMap<String, Value>);

impl Fields {
    /// Opens a structure value.
    pub fn open(value: Value) -> Result<Self, ConvertError> {
        match value {
            Value::Map(members) => Ok(Fields(members)),
            other => mismatch("structure", &other),
        }
    }

    /// Takes an optional member.
    pub fn optional<T: FromValue>(&mut self, name: &str) -> Result<Option<T>, ConvertError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::from_value(value).map(Some),
        }
    }

    /// Takes a required member. Validation has already checked presence, so absence here is a
    /// type disagreement, reported as such.
    pub fn required<T: FromValue>(&mut self, name: &str) -> Result<T, ConvertError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Err(ConvertError {
                expected: "a required member",
                found: "null",
            }),
            Some(value) => T::from_value(value),
        }
    }
}

/// Builds a structure value in a generated `IntoValue` impl.
#[derive(Debug, Default)]
pub struct StructBuilder(BTreeMap<String, Value>);

impl StructBuilder {
    /// An empty structure.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a member.
    pub fn set(&mut self, name: &str, value: impl IntoValue) {
        self.0.insert(name.to_owned(), value.into_value());
    }

    /// Sets a member if present.
    pub fn set_opt(&mut self, name: &str, value: Option<impl IntoValue>) {
        if let Some(value) = value {
            self.set(name, value);
        }
    }

    /// The finished structure.
    pub fn build(self) -> Value {
        Value::Map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_strings_and_blobs() {
        let mut map = BTreeMap::new();
        map.insert("Plaintext".to_owned(), Value::Blob(b"secret".to_vec()));
        map.insert("Name".to_owned(), Value::String("hunter2".to_owned()));
        let printed = format!("{:?}", Value::Map(map));
        assert!(!printed.contains("secret"));
        assert!(!printed.contains("hunter2"));
    }

    #[test]
    fn fields_take_members_by_name() {
        let mut builder = StructBuilder::new();
        builder.set("A", String::from("x"));
        builder.set_opt("B", Some(7_i32));
        builder.set_opt("C", None::<i32>);
        let mut fields = Fields::open(builder.build()).unwrap();
        assert_eq!(fields.required::<String>("A").unwrap(), "x");
        assert_eq!(fields.optional::<i32>("B").unwrap(), Some(7));
        assert_eq!(fields.optional::<i32>("C").unwrap(), None);
        assert!(fields.required::<String>("C").is_err());
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        assert!(i32::from_value(Value::Int(i64::MAX)).is_err());
        assert!(String::from_value(Value::Int(1)).is_err());
        assert!(Vec::<String>::from_value(Value::List(vec![Value::Bool(true)])).is_err());
    }
}
