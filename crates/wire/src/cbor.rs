//! Smithy RPC v2 CBOR bodies, read and written under the model.
//!
//! A body is first read into a small tree of CBOR items (bounded in depth, so hostile nesting
//! cannot exhaust the stack), then walked with the model, as JSON bodies are. Structure keys are
//! member names, as Smithy specifies; the wire name is also accepted on input because botocore's
//! serializer sends `locationName` where a model has one.

use std::collections::BTreeMap;

use minicbor::data::Type;
use palisade_core::Value;
use palisade_core::model::{ServiceModel, ShapeId, ShapeKind};
use palisade_core::service::ServiceError;

use crate::common::{self, MAX_DEPTH, expected_type, integer_in_range, serialization, too_deep};

/// One decoded CBOR data item.
enum Item {
    Unsigned(u64),
    /// The integer `-1 - n`.
    Negative(u64),
    Float(f64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Item>),
    Map(Vec<(String, Item)>),
    /// Tag 1: seconds since the epoch.
    Timestamp(f64),
    Bool(bool),
    /// `null` or `undefined`.
    Null,
}

impl Item {
    /// The item's kind, for error messages.
    fn describe(&self) -> &'static str {
        match self {
            Item::Unsigned(_) | Item::Negative(_) => "an integer",
            Item::Float(_) => "a float",
            Item::Bytes(_) => "a byte string",
            Item::Text(_) => "a text string",
            Item::Array(_) => "an array",
            Item::Map(_) => "a map",
            Item::Timestamp(_) => "a timestamp",
            Item::Bool(_) => "a boolean",
            Item::Null => "null",
        }
    }

    /// The integer as an `i64`, if it fits.
    fn integer(&self) -> Option<i64> {
        match self {
            Item::Unsigned(n) => i64::try_from(*n).ok(),
            Item::Negative(n) => i64::try_from(*n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// A number as an `f64`: floats as they are, integers converted.
    fn number(&self) -> Option<f64> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "an integer sent for a float member is as precise as the member"
        )]
        match self {
            Item::Float(x) => Some(*x),
            Item::Unsigned(n) => Some(*n as f64),
            Item::Negative(n) => Some(-1.0 - *n as f64),
            _ => None,
        }
    }
}

fn malformed(error: &minicbor::decode::Error) -> ServiceError {
    serialization(format!("The request body is not valid CBOR: {error}"))
}

/// Reads CBOR items from a body.
struct Reader<'b> {
    decoder: minicbor::Decoder<'b>,
}

impl<'b> Reader<'b> {
    /// Bytes left in the input.
    fn remaining(&self) -> usize {
        self.decoder
            .input()
            .len()
            .saturating_sub(self.decoder.position())
    }

    /// The capacity to reserve for a declared item count: never more than the bytes left (each
    /// item takes at least one), nor more than a modest start, so that a header declaring 2^60
    /// items costs nothing before the body runs out.
    fn capacity(&self, declared: u64) -> usize {
        usize::try_from(declared)
            .unwrap_or(usize::MAX)
            .min(self.remaining())
            .min(1024)
    }

    /// Steps past a break byte (`0xff`) that `datatype` has just reported: minicbor has no call that consumes one.
    fn skip_break(&mut self) {
        let next = self.decoder.position().saturating_add(1);
        self.decoder.set_position(next);
    }

    fn item(&mut self, depth: usize) -> Result<Item, ServiceError> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let d = &mut self.decoder;
        let datatype = d.datatype().map_err(|error| malformed(&error))?;
        let item = match datatype {
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
                Item::Unsigned(d.u64().map_err(|e| malformed(&e))?)
            }
            Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
                // These types are major type 1, -1 - n for an n of up to 64 bits.
                let int = i128::from(d.int().map_err(|e| malformed(&e))?);
                let n = u64::try_from(-1 - int)
                    .map_err(|_| serialization("The request body is not valid CBOR."))?;
                Item::Negative(n)
            }
            Type::F16 => Item::Float(self.half()?),
            Type::F32 => Item::Float(f64::from(d.f32().map_err(|e| malformed(&e))?)),
            Type::F64 => Item::Float(d.f64().map_err(|e| malformed(&e))?),
            Type::Bytes | Type::BytesIndef => {
                let mut bytes = Vec::new();
                for chunk in d.bytes_iter().map_err(|e| malformed(&e))? {
                    bytes.extend_from_slice(chunk.map_err(|e| malformed(&e))?);
                }
                Item::Bytes(bytes)
            }
            Type::String | Type::StringIndef => Item::Text(self.text()?),
            Type::Array | Type::ArrayIndef => {
                let declared = d.array().map_err(|e| malformed(&e))?;
                let mut items = Vec::with_capacity(declared.map_or(0, |n| self.capacity(n)));
                match declared {
                    Some(count) => {
                        for _ in 0..count {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            items.push(self.item(depth + 1)?);
                        }
                        self.skip_break();
                    }
                }
                Item::Array(items)
            }
            Type::Map | Type::MapIndef => {
                let declared = d.map().map_err(|e| malformed(&e))?;
                let mut entries = Vec::with_capacity(declared.map_or(0, |n| self.capacity(n)));
                match declared {
                    Some(count) => {
                        for _ in 0..count {
                            entries.push(self.entry(depth)?);
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            entries.push(self.entry(depth)?);
                        }
                        self.skip_break();
                    }
                }
                Item::Map(entries)
            }
            Type::Tag => {
                let tag = d.tag().map_err(|e| malformed(&e))?.as_u64();
                let inner = self.item(depth + 1)?;
                match (tag, inner.number()) {
                    (1, Some(seconds)) if seconds.is_finite() => Item::Timestamp(seconds),
                    (1, _) => {
                        return Err(serialization(
                            "A CBOR epoch timestamp (tag 1) must hold a finite number.",
                        ));
                    }
                    _ => return Err(serialization(format!("Unsupported CBOR tag {tag}."))),
                }
            }
            Type::Bool => Item::Bool(d.bool().map_err(|e| malformed(&e))?),
            Type::Null => {
                d.null().map_err(|e| malformed(&e))?;
                Item::Null
            }
            Type::Undefined => {
                d.undefined().map_err(|e| malformed(&e))?;
                Item::Null
            }
            Type::Simple | Type::Break | Type::Unknown(_) => {
                return Err(serialization(format!(
                    "Unexpected CBOR {datatype} in the request body."
                )));
            }
        };
        Ok(item)
    }

    fn at_break(&self) -> Result<bool, ServiceError> {
        match self.decoder.datatype() {
            Ok(Type::Break) => Ok(true),
            Ok(_) => Ok(false),
            Err(error) => Err(malformed(&error)),
        }
    }

    /// A map entry: keys must be text, as Smithy's CBOR maps and structures have.
    fn entry(&mut self, depth: usize) -> Result<(String, Item), ServiceError> {
        let key = match self.decoder.datatype() {
            Ok(Type::String | Type::StringIndef) => self.text()?,
            Ok(other) => {
                return Err(serialization(format!(
                    "CBOR map keys must be text strings, found {other}."
                )));
            }
            Err(error) => return Err(malformed(&error)),
        };
        let value = self.item(depth + 1)?;
        Ok((key, value))
    }

    fn text(&mut self) -> Result<String, ServiceError> {
        let mut text = String::new();
        for chunk in self.decoder.str_iter().map_err(|e| malformed(&e))? {
            text.push_str(chunk.map_err(|e| malformed(&e))?);
        }
        Ok(text)
    }

    /// A half-precision float (`0xf9` and two bytes), which clients use for NaN and the
    /// infinities. Read here rather than through minicbor's optional `half` dependency.
    fn half(&mut self) -> Result<f64, ServiceError> {
        let start = self.decoder.position();
        let bits = self
            .decoder
            .input()
            .get(start.saturating_add(1)..start.saturating_add(3))
            .and_then(|bytes| <[u8; 2]>::try_from(bytes).ok())
            .map(u16::from_be_bytes)
            .ok_or_else(|| serialization("The request body is truncated CBOR."))?;
        self.decoder.set_position(start.saturating_add(3));
        Ok(half_to_f64(bits))
    }
}

/// IEEE 754 binary16 to f64.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x03ff);
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// Decodes a request body as the input structure `shape`; an empty body is an empty structure.
pub(crate) fn decode(
    model: &'static ServiceModel,
    shape: ShapeId,
    body: &[u8],
) -> Result<Value, ServiceError> {
    if body.is_empty() {
        return Ok(Value::empty_struct());
    }
    let mut reader = Reader {
        decoder: minicbor::Decoder::new(body),
    };
    let root = reader.item(1)?;
    if reader.remaining() > 0 {
        return Err(serialization(
            "The request body has data after its CBOR item.",
        ));
    }
    if !matches!(root, Item::Map(_)) {
        return Err(serialization(format!(
            "The request body must be a CBOR map, found {}.",
            root.describe()
        )));
    }
    let value = to_value(model, shape, root, 1)?;
    Ok(if value.is_null() {
        Value::empty_struct()
    } else {
        value
    })
}

fn mismatch(kind: &ShapeKind, item: &Item) -> ServiceError {
    serialization(format!(
        "Found {} where {} was expected.",
        item.describe(),
        expected_type(kind)
    ))
}

/// Walks a CBOR item as the shape `shape`.
fn to_value(
    model: &'static ServiceModel,
    shape: ShapeId,
    item: Item,
    depth: usize,
) -> Result<Value, ServiceError> {
    if matches!(item, Item::Null) {
        return Ok(Value::Null);
    }
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let kind = &common::shape(model, shape)?.kind;
    let value = match (kind, item) {
        (ShapeKind::Structure(structure), Item::Map(entries)) => {
            let mut entries: BTreeMap<String, Item> = entries.into_iter().collect();
            let mut members = BTreeMap::new();
            for member in structure.members {
                let item = entries
                    .remove(member.name)
                    .or_else(|| entries.remove(member.wire_name()));
                if let Some(item) = item {
                    let value = to_value(model, member.target, item, depth + 1)?;
                    if !value.is_null() {
                        members.insert(member.name.to_owned(), value);
                    }
                }
            }
            Value::Map(members)
        }
        (ShapeKind::List { member, .. }, Item::Array(items)) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                let value = to_value(model, *member, item, depth + 1)?;
                if !value.is_null() {
                    list.push(value);
                }
            }
            Value::List(list)
        }
        (ShapeKind::Map { value, .. }, Item::Map(entries)) => {
            let mut map = BTreeMap::new();
            for (key, item) in entries {
                let item = to_value(model, *value, item, depth + 1)?;
                if !item.is_null() {
                    map.insert(key, item);
                }
            }
            Value::Map(map)
        }
        (ShapeKind::String { .. }, Item::Text(text)) => Value::String(text),
        (ShapeKind::Boolean, Item::Bool(flag)) => Value::Bool(flag),
        (ShapeKind::Blob { .. }, Item::Bytes(bytes)) => Value::Blob(bytes),
        (ShapeKind::Integer(_) | ShapeKind::Long(_), item) => item
            .integer()
            .and_then(|number| integer_in_range(kind, number))
            .ok_or_else(|| mismatch(kind, &item))?,
        (ShapeKind::Float(_) | ShapeKind::Double(_), item) => {
            Value::Float(item.number().ok_or_else(|| mismatch(kind, &item))?)
        }
        (ShapeKind::Timestamp { .. }, Item::Timestamp(seconds)) => Value::Timestamp(seconds),
        // Untagged numbers are taken as epoch seconds too: the tag adds nothing the model does
        // not already say.
        (ShapeKind::Timestamp { .. }, item) => Value::Timestamp(
            item.number()
                .filter(|seconds| seconds.is_finite())
                .ok_or_else(|| mismatch(kind, &item))?,
        ),
        (ShapeKind::Document, item) => untyped(item),
        (kind, item) => return Err(mismatch(kind, &item)),
    };
    Ok(value)
}

/// An item with no shape to follow, converted as it stands (depth was bounded while reading).
fn untyped(item: Item) -> Value {
    match item {
        Item::Null => Value::Null,
        Item::Bool(flag) => Value::Bool(flag),
        Item::Text(text) => Value::String(text),
        Item::Bytes(bytes) => Value::Blob(bytes),
        Item::Timestamp(seconds) => Value::Timestamp(seconds),
        Item::Array(items) => Value::List(items.into_iter().map(untyped).collect()),
        Item::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, item)| (key, untyped(item)))
                .collect(),
        ),
        number => match number.integer() {
            Some(whole) => Value::Int(whole),
            None => Value::Float(number.number().unwrap_or(f64::NAN)),
        },
    }
}

/// CBOR major types.
const UNSIGNED: u8 = 0;
const NEGATIVE: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;

/// Writes CBOR items, always with definite lengths.
#[derive(Default)]
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// The head of an item: major type and argument, in the shortest form.
    fn head(&mut self, major: u8, argument: u64) {
        let major = major << 5;
        match u8::try_from(argument) {
            Ok(small) if small < 24 => self.out.push(major | small),
            Ok(byte) => self.out.extend_from_slice(&[major | 24, byte]),
            Err(_) => {
                if let Ok(short) = u16::try_from(argument) {
                    self.out.push(major | 25);
                    self.out.extend_from_slice(&short.to_be_bytes());
                } else if let Ok(word) = u32::try_from(argument) {
                    self.out.push(major | 26);
                    self.out.extend_from_slice(&word.to_be_bytes());
                } else {
                    self.out.push(major | 27);
                    self.out.extend_from_slice(&argument.to_be_bytes());
                }
            }
        }
    }

    fn len(&mut self, major: u8, len: usize) {
        self.head(major, u64::try_from(len).unwrap_or(u64::MAX));
    }

    fn text(&mut self, text: &str) {
        self.len(TEXT, text.len());
        self.out.extend_from_slice(text.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.len(BYTES, bytes.len());
        self.out.extend_from_slice(bytes);
    }

    fn int(&mut self, value: i64) {
        match u64::try_from(value) {
            Ok(positive) => self.head(UNSIGNED, positive),
            // Major type 1 carries -1 - value, which is !value and non-negative here.
            Err(_) => self.head(NEGATIVE, u64::try_from(!value).unwrap_or_default()),
        }
    }

    fn f32(&mut self, value: f32) {
        self.out.push(0xfa);
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    fn f64(&mut self, value: f64) {
        self.out.push(0xfb);
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    fn bool(&mut self, value: bool) {
        self.out.push(if value { 0xf5 } else { 0xf4 });
    }

    fn null(&mut self) {
        self.out.push(0xf6);
    }
}

/// Writes values as CBOR under the model.
pub(crate) struct Encoder {
    model: &'static ServiceModel,
    writer: Writer,
}

impl Encoder {
    pub(crate) fn new(model: &'static ServiceModel) -> Self {
        Self {
            model,
            writer: Writer::default(),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.writer.out
    }

    /// The structure `shape` held in `value`; an empty map when there is no output shape, as
    /// clients always expect a map.
    pub(crate) fn structure(&mut self, shape: Option<ShapeId>, value: &Value) {
        match shape {
            Some(_) => self.encode(shape, value, 1),
            None => self.writer.len(MAP, 0),
        }
    }

    fn encode(&mut self, shape: Option<ShapeId>, value: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            self.writer.null();
            return;
        }
        let kind = shape
            .and_then(|id| self.model.shape(id))
            .map(|shape| shape.kind);
        match (kind, value) {
            (Some(ShapeKind::Structure(structure)), Value::Map(members)) => {
                let present: Vec<_> = structure
                    .members
                    .iter()
                    .filter_map(|member| {
                        members
                            .get(member.name)
                            .filter(|item| !item.is_null())
                            .map(|item| (member, item))
                    })
                    .collect();
                self.writer.len(MAP, present.len());
                for (member, item) in present {
                    self.writer.text(member.name);
                    self.encode(Some(member.target), item, depth + 1);
                }
            }
            (Some(ShapeKind::List { member, .. }), Value::List(items)) => {
                self.writer.len(ARRAY, items.len());
                for item in items {
                    self.encode(Some(member), item, depth + 1);
                }
            }
            (Some(ShapeKind::Map { value: target, .. }), Value::Map(entries)) => {
                let present: Vec<_> = entries.iter().filter(|(_, v)| !v.is_null()).collect();
                self.writer.len(MAP, present.len());
                for (key, item) in present {
                    self.writer.text(key);
                    self.encode(Some(target), item, depth + 1);
                }
            }
            // The SDKs read a float member with a single-precision read that refuses doubles.
            (Some(ShapeKind::Float(_)), Value::Float(number)) => {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "the member is single precision"
                )]
                self.writer.f32(*number as f32);
            }
            _ => self.untyped(value, depth),
        }
    }

    /// A value with no shape to follow (documents, or a value disagreeing with its shape).
    fn untyped(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Null => self.writer.null(),
            Value::Bool(flag) => self.writer.bool(*flag),
            Value::Int(number) => self.writer.int(*number),
            Value::Float(number) => self.writer.f64(*number),
            Value::String(text) => self.writer.text(text),
            Value::Blob(bytes) => self.writer.bytes(bytes),
            // Tag 1 with a double: the SDKs read timestamps with a float read.
            Value::Timestamp(seconds) => {
                self.writer.head(TAG, 1);
                self.writer.f64(*seconds);
            }
            Value::List(items) => {
                self.writer.len(ARRAY, items.len());
                for item in items {
                    self.encode(None, item, depth + 1);
                }
            }
            Value::Map(entries) => {
                self.writer.len(MAP, entries.len());
                for (key, item) in entries {
                    self.writer.text(key);
                    self.encode(None, item, depth + 1);
                }
            }
        }
    }
}

/// `{"__type": code, "message": message}`.
pub(crate) fn error_document(code: &str, message: &str) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.len(MAP, 2);
    writer.text("__type");
    writer.text(code);
    writer.text("message");
    writer.text(message);
    writer.out
}
