//! Values at run time: reading them out of a record by the schema's type, comparing them with
//! Trino's rules, and rendering them the way Lake's `GetQueryResults` does (Trino's text forms;
//! maps and rows as `{key=value, ...}`, arrays as `[a, b]`).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use crate::schema::{Field, Type, lookup};
use crate::time;

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    /// Microseconds since the epoch, and the fractional digits it renders with.
    Timestamp {
        micros: i64,
        precision: u8,
    },
    /// An instant (microseconds since the epoch, UTC) and the zone it is shown in.
    TimestampTz {
        micros: i64,
        precision: u8,
        offset_minutes: i16,
    },
    /// Entries in the record's order; values are strings or null.
    Map(Vec<(String, Value)>),
    Row(&'static [Field], Vec<Value>),
    Array(Vec<Value>),
}

impl Value {
    /// About how many bytes the value holds, for the memory a query keeps.
    pub(crate) fn footprint(&self) -> usize {
        let own = std::mem::size_of::<Self>();
        match self {
            Self::Str(text) => own + text.len(),
            Self::Map(entries) => {
                own + entries
                    .iter()
                    .map(|(key, value)| key.len() + value.footprint())
                    .sum::<usize>()
            }
            Self::Row(_, values) | Self::Array(values) => {
                own + values.iter().map(Self::footprint).sum::<usize>()
            }
            _ => own,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// A record's value for the schema type `ty`: a JSON value of another shape than the type
    /// expects reads as NULL, except that scalars read as their text where a string is expected
    /// and objects and arrays as their JSON text (how Lake stores nested request parameters).
    pub(crate) fn from_json(json: Option<&serde_json::Value>, ty: Type) -> Self {
        use serde_json::Value as Json;
        let Some(json) = json else {
            return Self::Null;
        };
        match (ty, json) {
            (_, Json::Null) => Self::Null,
            (Type::Varchar, _) => json_text(json).map_or(Self::Null, Self::Str),
            (Type::Boolean, Json::Bool(flag)) => Self::Bool(*flag),
            (Type::Boolean, Json::String(text)) => match text.as_str() {
                "true" => Self::Bool(true),
                "false" => Self::Bool(false),
                _ => Self::Null,
            },
            // Lake keeps the schema's precision; finer digits in a record are dropped.
            (Type::Timestamp(precision), Json::String(text)) => {
                time::parse_iso8601(text).map_or(Self::Null, |parsed| Self::Timestamp {
                    micros: time::truncate_to_precision(parsed.micros, precision),
                    precision,
                })
            }
            (Type::Map, Json::Object(object)) => Self::Map(
                object
                    .iter()
                    .map(|(key, value)| {
                        (key.clone(), json_text(value).map_or(Self::Null, Self::Str))
                    })
                    .collect(),
            ),
            (Type::Row(fields), Json::Object(object)) => Self::Row(
                fields,
                fields
                    .iter()
                    .map(|field| Self::from_json(lookup(object, field.key), field.ty))
                    .collect(),
            ),
            (Type::Array(element), Json::Array(items)) => Self::Array(
                items
                    .iter()
                    .map(|item| Self::from_json(Some(item), *element))
                    .collect(),
            ),
            _ => Self::Null,
        }
    }

    /// The text `GetQueryResults` shows, or `None` for NULL.
    pub(crate) fn render(&self) -> Option<String> {
        match self {
            Self::Null => None,
            _ => Some(self.to_text()),
        }
    }

    fn to_text(&self) -> String {
        match self {
            Self::Null => "null".to_owned(),
            Self::Bool(flag) => flag.to_string(),
            Self::Int(number) => number.to_string(),
            Self::Double(number) => render_double(*number),
            Self::Str(text) => text.clone(),
            Self::Timestamp { micros, precision } => time::format(*micros, *precision),
            Self::TimestampTz {
                micros,
                precision,
                offset_minutes,
            } => format!(
                "{} {}",
                time::format(
                    micros + i64::from(*offset_minutes) * 60 * time::MICROS_PER_SECOND,
                    *precision
                ),
                time::format_zone(*offset_minutes)
            ),
            Self::Map(entries) => braces(
                entries
                    .iter()
                    .map(|(key, value)| format!("{key}={}", value.to_text())),
            ),
            Self::Row(fields, values) => braces(
                fields
                    .iter()
                    .zip(values)
                    .map(|(field, value)| format!("{}={}", field.name, value.to_text())),
            ),
            Self::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Self::to_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Trino's order of two non-null values of one orderable type (numbers compare across
    /// bigint and double; timestamps by instant). `None` when they are not comparable.
    pub(crate) fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Bool(a), Self::Bool(b)) => Some(a.cmp(b)),
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(b)),
            (Self::Str(a), Self::Str(b)) => Some(a.cmp(b)),
            (Self::Int(_) | Self::Double(_), Self::Int(_) | Self::Double(_)) => {
                Some(total_order(self.as_f64()?, other.as_f64()?))
            }
            _ => match (self.instant(), other.instant()) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            },
        }
    }

    /// SQL equality: `None` (unknown) when either side is NULL, or, in a map, row or array,
    /// when NULLs leave the answer open.
    pub(crate) fn sql_equals(&self, other: &Self) -> Option<bool> {
        match (self, other) {
            (Self::Null, _) | (_, Self::Null) => None,
            (Self::Double(a), Self::Double(b)) => Some(a == b),
            // Exactly: as doubles, integers past 2^53 would compare equal to their neighbours.
            (Self::Int(a), Self::Int(b)) => Some(a == b),
            (Self::Int(_) | Self::Double(_), Self::Int(_) | Self::Double(_)) => {
                Some(self.as_f64()? == other.as_f64()?)
            }
            (Self::Map(a), Self::Map(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let pairs = a.iter().map(|(key, value)| {
                    b.iter()
                        .find(|(other_key, _)| other_key == key)
                        .map_or(Some(false), |(_, other_value)| {
                            value.sql_equals(other_value)
                        })
                });
                all_equal(pairs)
            }
            (Self::Row(_, a), Self::Row(_, b)) | (Self::Array(a), Self::Array(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                all_equal(a.iter().zip(b).map(|(x, y)| x.sql_equals(y)))
            }
            _ => self.compare(other).map(Ordering::is_eq),
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(number) => Some(*number as f64),
            Self::Double(number) => Some(*number),
            _ => None,
        }
    }

    /// The instant of a timestamp, taking a timestamp without zone to be in UTC (Lake's
    /// session zone).
    pub(crate) fn instant(&self) -> Option<i64> {
        match self {
            Self::Timestamp { micros, .. } | Self::TimestampTz { micros, .. } => Some(*micros),
            _ => None,
        }
    }
}

/// Equality for grouping and `DISTINCT`, where NULL equals NULL, as Trino groups them.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Double(a), Self::Double(b)) => canonical_bits(*a) == canonical_bits(*b),
            (Self::Str(a), Self::Str(b)) => a == b,
            (
                Self::Timestamp { micros: a, .. } | Self::TimestampTz { micros: a, .. },
                Self::Timestamp { micros: b, .. } | Self::TimestampTz { micros: b, .. },
            ) => a == b,
            (Self::Map(a), Self::Map(b)) => a == b,
            (Self::Row(_, a), Self::Row(_, b)) | (Self::Array(a), Self::Array(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::Null => state.write_u8(0),
            Self::Bool(flag) => flag.hash(state),
            Self::Int(number) => number.hash(state),
            Self::Double(number) => canonical_bits(*number).hash(state),
            Self::Str(text) => text.hash(state),
            Self::Timestamp { micros, .. } | Self::TimestampTz { micros, .. } => micros.hash(state),
            Self::Map(entries) => entries.hash(state),
            Self::Row(_, values) | Self::Array(values) => values.hash(state),
        }
    }
}

/// The order `ORDER BY` uses for one key: NULLs first or last whatever the direction.
pub(crate) fn sort_order(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) if nulls_first => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, true) if nulls_first => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let order = a.compare(b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
    }
}

/// A JSON scalar's text, or an object's or array's JSON text; `None` for null.
fn json_text(json: &serde_json::Value) -> Option<String> {
    match json {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

fn braces(parts: impl Iterator<Item = String>) -> String {
    format!("{{{}}}", parts.collect::<Vec<_>>().join(", "))
}

fn all_equal(results: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for result in results {
        match result {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

/// Doubles order with NaN above every number, as Trino sorts them.
fn total_order(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// One bit pattern per value: `-0.0` is `0.0`, and every NaN is one NaN.
fn canonical_bits(number: f64) -> u64 {
    if number == 0.0 {
        0
    } else if number.is_nan() {
        f64::NAN.to_bits()
    } else {
        number.to_bits()
    }
}

/// A double as Trino (Java's `Double.toString`) writes it: plain between 10^-3 and 10^7,
/// otherwise in scientific notation such as `1.0E7`; always with a fractional part.
fn render_double(number: f64) -> String {
    if number.is_nan() {
        return "NaN".to_owned();
    }
    if number.is_infinite() {
        return if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned();
    }
    let magnitude = number.abs();
    if number == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = number.to_string();
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let scientific = format!("{number:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{COLUMNS, find};

    #[test]
    fn renders_doubles_like_java() {
        assert_eq!(render_double(2.5), "2.5");
        assert_eq!(render_double(3.0), "3.0");
        assert_eq!(render_double(-0.0), "-0.0");
        assert_eq!(render_double(1e7), "1.0E7");
        assert_eq!(render_double(1.5e-5), "1.5E-5");
        assert_eq!(render_double(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn reads_record_values_by_schema_type() {
        let (_, identity) = find(&COLUMNS, "useridentity").unwrap();
        let value = Value::from_json(
            Some(&json!({"type": "IAMUser", "userName": "alice", "sessionContext": null})),
            identity.ty,
        );
        let text = value.render().unwrap();
        assert!(
            text.starts_with("{type=IAMUser, principalid=null, "),
            "{text}"
        );
        assert!(
            text.contains("username=alice, sessioncontext=null"),
            "{text}"
        );
        let map = Value::from_json(
            Some(&json!({"bucketName": "b", "max": 5, "nested": {"a": [1]}, "none": null})),
            Type::Map,
        );
        assert_eq!(
            map.render().unwrap(),
            "{bucketName=b, max=5, nested={\"a\":[1]}, none=null}"
        );
        assert_eq!(
            Value::from_json(Some(&json!("2024-01-01T00:00:00Z")), Type::Timestamp(3))
                .render()
                .unwrap(),
            "2024-01-01 00:00:00.000"
        );
        assert!(Value::from_json(Some(&json!("soon")), Type::Timestamp(3)).is_null());
        assert!(Value::from_json(Some(&json!(1)), Type::Boolean).is_null());
        assert_eq!(
            Value::from_json(Some(&json!(12)), Type::Varchar),
            Value::Str("12".into())
        );
    }

    #[test]
    fn compares_with_sql_rules() {
        assert_eq!(
            Value::Int(2).compare(&Value::Double(2.5)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Int(2).sql_equals(&Value::Null), None);
        assert_eq!(Value::Str("a".into()).compare(&Value::Int(1)), None);
        let array = |items: Vec<Value>| Value::Array(items);
        assert_eq!(
            array(vec![Value::Int(1), Value::Null])
                .sql_equals(&array(vec![Value::Int(2), Value::Null])),
            Some(false)
        );
        assert_eq!(
            array(vec![Value::Int(1), Value::Null])
                .sql_equals(&array(vec![Value::Int(1), Value::Null])),
            None
        );
        assert_eq!(
            sort_order(&Value::Null, &Value::Int(1), true, false),
            Ordering::Greater
        );
        assert_eq!(Value::Double(-0.0), Value::Double(0.0));
    }
}
