//! Model values (such as a rule's targets, with all their parameters) stored as JSON, so that a
//! target reads back exactly as it was put.

use palisade_core::{FromValue, IntoValue, ServiceError, Value};
use palisade_model_events::errors;
use serde_json::{Map, Number};

/// `item` as JSON. Blobs and timestamps do not occur in what EventBridge stores this way
/// (targets), so they are kept as the nearest JSON (a timestamp's seconds; a blob is dropped).
pub(crate) fn to_json(item: impl IntoValue) -> serde_json::Value {
    json_of(item.into_value())
}

/// The model value stored as `json` by [`to_json`].
pub(crate) fn from_json<T: FromValue>(json: &serde_json::Value) -> Result<T, ServiceError> {
    T::from_value(value_of(json)).map_err(|error| {
        errors::internal_exception(format!("unreadable stored EventBridge value: {error:?}"))
    })
}

fn json_of(value: Value) -> serde_json::Value {
    match value {
        Value::Null | Value::Blob(_) => serde_json::Value::Null,
        Value::Bool(flag) => serde_json::Value::Bool(flag),
        Value::Int(number) => serde_json::Value::Number(number.into()),
        Value::Float(number) | Value::Timestamp(number) => {
            Number::from_f64(number).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        Value::String(text) => serde_json::Value::String(text),
        Value::List(items) => serde_json::Value::Array(items.into_iter().map(json_of).collect()),
        Value::Map(fields) => serde_json::Value::Object(
            fields
                .into_iter()
                .map(|(name, field)| (name, json_of(field)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn value_of(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(flag) => Value::Bool(*flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(integer) => Value::Int(integer),
            None => Value::Float(number.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(text) => Value::String(text.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(value_of).collect()),
        serde_json::Value::Object(fields) => Value::Map(
            fields
                .iter()
                .map(|(name, field)| (name.clone(), value_of(field)))
                .collect(),
        ),
    }
}
