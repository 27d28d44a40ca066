//! JSON documents (awsJson bodies and restJson1 bodies), read and written under the model.
//!
//! Member keys are the member's wire name (`locationName` where the model sets one, as botocore's
//! JSON serializer and parser both do); the decoded [`Value`] is keyed by member name.

use std::collections::BTreeMap;

use palisade_core::Value;
use palisade_core::model::{
    Location, ServiceModel, ShapeId, ShapeKind, Structure, TimestampFormat,
};
use palisade_core::service::ServiceError;
use serde_json::Value as Json;

use crate::common::{
    self, MAX_DEPTH, decode_base64, encode_base64, expected_type, float_json, integer_in_range,
    parse_float, serialization, too_deep,
};
use crate::timestamp;

/// Reads a request body as a JSON object; an empty body is an empty object, as clients send no
/// body for an input with no members.
pub(crate) fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Json>, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    // serde_json refuses to nest past 128 levels on its own, so parsing cannot exhaust the stack;
    // the model walk below applies the tighter MAX_DEPTH.
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(object)) => Ok(object),
        Ok(other) => Err(unexpected(&other, "a Structure")),
        Err(error) => Err(serialization(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

/// The token names AWS's JSON front end uses in conversion errors.
fn unexpected(found: &Json, expected: &str) -> ServiceError {
    let token = match found {
        Json::Object(_) => {
            return serialization("Start of structure or map found where not expected.");
        }
        Json::Array(_) => return serialization("Start of list found where not expected."),
        Json::String(_) => "STRING_VALUE",
        Json::Number(_) => "NUMBER_VALUE",
        Json::Bool(true) => "TRUE_VALUE",
        Json::Bool(false) => "FALSE_VALUE",
        Json::Null => "NULL_VALUE",
    };
    serialization(format!("{token} can not be converted to {expected}"))
}

/// Decodes the body members of the input structure `shape` from `object`. Members bound
/// elsewhere (restJson1 headers, labels, query) are skipped: their values come from the HTTP
/// message, and a body key of the same name is not theirs.
pub(crate) fn decode_members(
    model: &'static ServiceModel,
    shape: ShapeId,
    object: serde_json::Map<String, Json>,
) -> Result<BTreeMap<String, Value>, ServiceError> {
    let ShapeKind::Structure(structure) = &common::shape(model, shape)?.kind else {
        return Err(ServiceError::internal("the input shape is not a structure"));
    };
    structure_members(model, structure, object, 1, true)
}

fn structure_members(
    model: &'static ServiceModel,
    structure: &Structure,
    mut object: serde_json::Map<String, Json>,
    depth: usize,
    body_only: bool,
) -> Result<BTreeMap<String, Value>, ServiceError> {
    let mut members = BTreeMap::new();
    for member in structure.members {
        if body_only && member.location != Location::Body {
            continue;
        }
        if let Some(json) = object.remove(member.wire_name()) {
            let value = decode(model, member.target, json, depth)?;
            if !value.is_null() {
                members.insert(member.name.to_owned(), value);
            }
        }
    }
    Ok(members)
}

/// Decodes `json` as the shape `shape`. JSON `null` decodes to [`Value::Null`], which callers
/// drop: AWS treats a null member as an absent one.
fn decode(
    model: &'static ServiceModel,
    shape: ShapeId,
    json: Json,
    depth: usize,
) -> Result<Value, ServiceError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let kind = &common::shape(model, shape)?.kind;
    match (kind, json) {
        (ShapeKind::Structure(structure), Json::Object(object)) => Ok(Value::Map(
            structure_members(model, structure, object, depth + 1, false)?,
        )),
        (ShapeKind::List { member, .. }, Json::Array(items)) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                let value = decode(model, *member, item, depth + 1)?;
                if !value.is_null() {
                    list.push(value);
                }
            }
            Ok(Value::List(list))
        }
        (ShapeKind::Map { value, .. }, Json::Object(object)) => {
            let mut map = BTreeMap::new();
            for (key, json) in object {
                let item = decode(model, *value, json, depth + 1)?;
                if !item.is_null() {
                    map.insert(key, item);
                }
            }
            Ok(Value::Map(map))
        }
        (ShapeKind::String { .. }, Json::String(text)) => Ok(Value::String(text)),
        (ShapeKind::Boolean, Json::Bool(flag)) => Ok(Value::Bool(flag)),
        (ShapeKind::Integer(_) | ShapeKind::Long(_), Json::Number(number)) => whole_number(&number)
            .and_then(|whole| integer_in_range(kind, whole))
            .ok_or_else(|| unexpected(&Json::Number(number), expected_type(kind))),
        (ShapeKind::Float(_) | ShapeKind::Double(_), Json::Number(number)) => number
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| unexpected(&Json::Number(number), expected_type(kind))),
        (ShapeKind::Float(_) | ShapeKind::Double(_), Json::String(text)) => {
            // Clients send the special values as strings; a number in a string is not accepted.
            match parse_float(&text).filter(|number| !number.is_finite()) {
                Some(number) => Ok(Value::Float(number)),
                None => Err(unexpected(&Json::String(text), expected_type(kind))),
            }
        }
        (ShapeKind::Blob { .. }, Json::String(text)) => decode_base64(&text)
            .map(Value::Blob)
            .ok_or_else(|| serialization("Invalid Base64 value for a Blob member.")),
        (ShapeKind::Timestamp { .. }, Json::Number(number)) => number
            .as_f64()
            .filter(|seconds| seconds.is_finite())
            .map(Value::Timestamp)
            .ok_or_else(|| unexpected(&Json::Number(number), "a Timestamp")),
        (ShapeKind::Timestamp { .. }, Json::String(text)) => timestamp::parse(&text)
            .map(Value::Timestamp)
            .ok_or_else(|| serialization(format!("Unable to parse '{text}' as a timestamp."))),
        (ShapeKind::Document, json) => document(json, depth),
        (kind, json) => Err(unexpected(&json, expected_type(kind))),
    }
}

/// A JSON number as an `i64` when it is whole: `5` and `5.0` are, `5.5` and `1e30` are not.
fn whole_number(number: &serde_json::Number) -> Option<i64> {
    if let Some(whole) = number.as_i64() {
        return Some(whole);
    }
    // ±2^63, exact in f64: every whole float in [-2^63, 2^63) converts to i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let float = number.as_f64()?;
    if float.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&float) {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked whole and within i64 range just above"
    )]
    let whole = float as i64;
    Some(whole)
}

/// An untyped document, converted as it stands.
fn document(json: Json, depth: usize) -> Result<Value, ServiceError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(flag) => Value::Bool(flag),
        Json::Number(number) => match number.as_i64() {
            Some(whole) => Value::Int(whole),
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(text) => Value::String(text),
        Json::Array(items) => Value::List(
            items
                .into_iter()
                .map(|item| document(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(object) => Value::Map(
            object
                .into_iter()
                .map(|(key, item)| document(item, depth + 1).map(|value| (key, value)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Writes values as JSON under the model.
pub(crate) struct Encoder {
    pub(crate) model: &'static ServiceModel,
    /// The protocol's timestamp format where the shape does not set one: epoch seconds for
    /// both JSON protocols.
    pub(crate) timestamps: TimestampFormat,
}

impl Encoder {
    /// The body members of the structure `shape` held in `value`, as a JSON object.
    pub(crate) fn members(&self, shape: Option<ShapeId>, value: &Value) -> Json {
        let mut object = serde_json::Map::new();
        let structure =
            shape
                .and_then(|id| self.model.shape(id))
                .and_then(|shape| match shape.kind {
                    ShapeKind::Structure(structure) => Some(structure),
                    _ => None,
                });
        if let Some(structure) = structure {
            for member in structure.members {
                if member.location != Location::Body {
                    continue;
                }
                if let Some(item) = value.get(member.name) {
                    object.insert(
                        member.wire_name().to_owned(),
                        self.encode(Some(member.target), item, 1),
                    );
                }
            }
        }
        Json::Object(object)
    }

    /// `value` as the shape `shape`. A value whose type disagrees with the shape (a service bug)
    /// is written as it is rather than dropped, so the client sees what the service produced.
    fn encode(&self, shape: Option<ShapeId>, value: &Value, depth: usize) -> Json {
        if depth > MAX_DEPTH {
            return Json::Null;
        }
        let kind = shape
            .and_then(|id| self.model.shape(id))
            .map(|shape| shape.kind);
        match (kind, value) {
            (Some(ShapeKind::Structure(structure)), Value::Map(members)) => {
                let mut object = serde_json::Map::new();
                for member in structure.members {
                    if let Some(item) = members.get(member.name).filter(|item| !item.is_null()) {
                        object.insert(
                            member.wire_name().to_owned(),
                            self.encode(Some(member.target), item, depth + 1),
                        );
                    }
                }
                Json::Object(object)
            }
            (Some(ShapeKind::List { member, .. }), Value::List(items)) => Json::Array(
                items
                    .iter()
                    .map(|item| self.encode(Some(member), item, depth + 1))
                    .collect(),
            ),
            (Some(ShapeKind::Map { value: target, .. }), Value::Map(entries)) => Json::Object(
                entries
                    .iter()
                    .filter(|(_, item)| !item.is_null())
                    .map(|(key, item)| (key.clone(), self.encode(Some(target), item, depth + 1)))
                    .collect(),
            ),
            (Some(ShapeKind::Timestamp { format }), Value::Timestamp(seconds)) => {
                match format.unwrap_or(self.timestamps) {
                    TimestampFormat::EpochSeconds => {
                        Json::Number(timestamp::epoch_number(*seconds))
                    }
                    other => Json::String(timestamp::to_text(*seconds, other)),
                }
            }
            (_, value) => self.untyped(value, depth),
        }
    }

    /// A value with no shape to follow (documents, or a disagreeing value).
    fn untyped(&self, value: &Value, depth: usize) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Int(number) => Json::from(*number),
            Value::Float(number) => float_json(*number),
            Value::String(text) => Json::String(text.clone()),
            Value::Blob(bytes) => Json::String(encode_base64(bytes)),
            Value::Timestamp(seconds) => Json::Number(timestamp::epoch_number(*seconds)),
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|item| self.encode(None, item, depth + 1))
                    .collect(),
            ),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(key, item)| (key.clone(), self.encode(None, item, depth + 1)))
                    .collect(),
            ),
        }
    }
}
