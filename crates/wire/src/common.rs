//! Pieces every protocol's decoder and encoder shares.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use palisade_core::Value;
use palisade_core::model::{ServiceModel, Shape, ShapeId, ShapeKind};
use palisade_core::service::{CommonError, ServiceError};

use crate::timestamp;

/// How deeply a request document may nest (structures, lists, maps, documents). Real inputs
/// nest a handful of levels; the bound keeps hostile input from exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// The body could not be read as the protocol's document.
pub(crate) fn serialization(message: impl Into<String>) -> ServiceError {
    ServiceError::common(CommonError::Serialization, message)
}

/// The error for input nested deeper than [`MAX_DEPTH`].
pub(crate) fn too_deep() -> ServiceError {
    serialization(format!(
        "The request is nested more than {MAX_DEPTH} levels deep."
    ))
}

/// The shape `id` of `model`. A dangling id is a generator bug, not the caller's fault.
pub(crate) fn shape(model: &ServiceModel, id: ShapeId) -> Result<Shape, ServiceError> {
    model.shape(id).ok_or_else(|| {
        ServiceError::internal(format!(
            "The model of {} refers to a missing shape {id}.",
            model.service_id
        ))
    })
}

/// Standard base64 as botocore and the SDKs write it; missing padding is tolerated as AWS
/// tolerates it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The type a scalar shape expects, worded as AWS words it in conversion errors ("... can not be
/// converted to an Integer").
pub(crate) fn expected_type(kind: &ShapeKind) -> &'static str {
    match kind {
        ShapeKind::Structure(_) => "a Structure",
        ShapeKind::List { .. } => "a List",
        ShapeKind::Map { .. } => "a Map",
        ShapeKind::String { .. } => "a String",
        ShapeKind::Integer(_) => "an Integer",
        ShapeKind::Long(_) => "a Long",
        ShapeKind::Float(_) => "a Float",
        ShapeKind::Double(_) => "a Double",
        ShapeKind::Boolean => "a Boolean",
        ShapeKind::Blob { .. } => "a Blob",
        ShapeKind::Timestamp { .. } => "a Timestamp",
        ShapeKind::Document => "a Document",
    }
}

/// An integer for an `Integer` (32-bit) or `Long` shape, `None` when out of its range.
pub(crate) fn integer_in_range(kind: &ShapeKind, value: i64) -> Option<Value> {
    let fits = match kind {
        ShapeKind::Integer(_) => i32::try_from(value).is_ok(),
        _ => true,
    };
    fits.then_some(Value::Int(value))
}

/// A float from text, including the `NaN`, `Infinity` and `-Infinity` that clients send for the
/// special values.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

/// A scalar sent as text (a query parameter, a header, a path label) for a shape of `kind`.
/// `Err` when the text is not of the shape's type, or the shape is not a scalar.
pub(crate) fn parse_text_scalar(kind: &ShapeKind, text: &str) -> Result<Value, ()> {
    match kind {
        ShapeKind::String { .. } => Ok(Value::String(text.to_owned())),
        ShapeKind::Integer(_) | ShapeKind::Long(_) => text
            .parse::<i64>()
            .ok()
            .and_then(|number| integer_in_range(kind, number))
            .ok_or(()),
        ShapeKind::Float(_) | ShapeKind::Double(_) => parse_float(text).map(Value::Float).ok_or(()),
        ShapeKind::Boolean => match text {
            _ if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            _ if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(()),
        },
        ShapeKind::Blob { .. } => decode_base64(text).map(Value::Blob).ok_or(()),
        ShapeKind::Timestamp { .. } => timestamp::parse(text).map(Value::Timestamp).ok_or(()),
        ShapeKind::Structure(_) | ShapeKind::List { .. } | ShapeKind::Map { .. } => Err(()),
        ShapeKind::Document => Err(()),
    }
}

/// A float as JSON clients read it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn float_json(value: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(value) {
        Some(number) => serde_json::Value::Number(number),
        None if value.is_nan() => "NaN".into(),
        None if value > 0.0 => "Infinity".into(),
        None => "-Infinity".into(),
    }
}

/// A float as text (query, headers): Rust's shortest round-trip form, with the special values
/// spelled as JSON clients spell them.
pub(crate) fn float_text(value: f64) -> String {
    match float_json(value) {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// A text scalar as output text: the inverse of [`parse_text_scalar`] for the scalars that travel
/// in headers and query XML. `None` for containers.
pub(crate) fn scalar_text(
    value: &Value,
    timestamp_format: palisade_core::model::TimestampFormat,
) -> Option<String> {
    Some(match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Int(number) => number.to_string(),
        Value::Float(number) => float_text(*number),
        Value::Blob(bytes) => encode_base64(bytes),
        Value::Timestamp(seconds) => timestamp::to_text(*seconds, timestamp_format),
        Value::Null | Value::List(_) | Value::Map(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::model::Range;

    #[test]
    fn text_scalars_follow_the_shape() {
        let int = ShapeKind::Integer(Range::ANY);
        assert_eq!(parse_text_scalar(&int, "42"), Ok(Value::Int(42)));
        assert_eq!(parse_text_scalar(&int, "4294967296"), Err(()));
        assert_eq!(parse_text_scalar(&int, "4.5"), Err(()));
        let long = ShapeKind::Long(Range::ANY);
        assert_eq!(
            parse_text_scalar(&long, "4294967296"),
            Ok(Value::Int(4_294_967_296))
        );
        assert_eq!(
            parse_text_scalar(&ShapeKind::Boolean, "TRUE"),
            Ok(Value::Bool(true))
        );
        assert_eq!(parse_text_scalar(&ShapeKind::Boolean, "yes"), Err(()));
        let double = ShapeKind::Double(Range::ANY);
        assert!(matches!(parse_text_scalar(&double, "NaN"), Ok(Value::Float(x)) if x.is_nan()));
        assert_eq!(parse_text_scalar(&double, "1e3"), Ok(Value::Float(1000.0)));
        assert_eq!(parse_text_scalar(&double, "inf"), Err(()));
        let blob = ShapeKind::Blob { length: Range::ANY };
        assert_eq!(
            parse_text_scalar(&blob, "aGk="),
            Ok(Value::Blob(b"hi".to_vec()))
        );
        assert_eq!(
            parse_text_scalar(&blob, "aGk"),
            Ok(Value::Blob(b"hi".to_vec()))
        );
        assert_eq!(parse_text_scalar(&blob, "!!"), Err(()));
    }

    #[test]
    fn special_floats_are_words() {
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(float_text(1.5), "1.5");
        assert_eq!(float_json(f64::INFINITY), serde_json::json!("Infinity"));
    }
}
