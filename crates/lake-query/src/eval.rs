//! Evaluating an analyzed expression over one event (or one group), with SQL's three-valued
//! logic and Trino's run-time errors.

use std::cmp::Ordering;

use crate::error::QueryError;
use crate::like::LikePattern;
use crate::plan::{Function, LikeSpec, PExpr};
use crate::schema::{Field, Type, lookup};
use crate::syntax::{ArithOp, CompareOp};
use crate::time::{self, Unit};
use crate::value::Value;

/// What an expression reads: the event (before grouping), or a group's keys and aggregates.
pub(crate) struct Context<'a> {
    pub(crate) event: Option<&'a serde_json::Value>,
    pub(crate) keys: &'a [Value],
    pub(crate) aggregates: &'a [Value],
    /// The query's `current_timestamp`, in milliseconds since the epoch.
    pub(crate) now_millis: Option<i64>,
}

/// Evaluates `expr`. The recursion goes through this small dispatcher and the helpers below,
/// each with a small frame, so the deepest expression allowed stays cheap on the stack.
pub(crate) fn eval(expr: &PExpr, context: &Context<'_>) -> Result<Value, QueryError> {
    let eval = |expr: &PExpr| eval(expr, context);
    Ok(match expr {
        PExpr::Const(value) => value.clone(),
        PExpr::Column { path, .. } => column(path, context),
        PExpr::EventJson => context
            .event
            .map_or(Value::Null, |event| Value::Str(event.to_string())),
        PExpr::Field { base, index } => match eval(base)? {
            Value::Row(_, mut values) if *index < values.len() => values.swap_remove(*index),
            _ => Value::Null,
        },
        PExpr::Subscript { base, index } => subscript(eval(base)?, eval(index)?)?,
        PExpr::Not(operand) => match eval(operand)? {
            Value::Bool(flag) => Value::Bool(!flag),
            _ => Value::Null,
        },
        PExpr::Negate(operand) => negate(eval(operand)?)?,
        PExpr::And(terms) => junction(terms, false, context)?,
        PExpr::Or(terms) => junction(terms, true, context)?,
        PExpr::Compare { op, left, right } => compare(*op, &eval(left)?, &eval(right)?),
        PExpr::Arith { op, left, right } => arithmetic(*op, eval(left)?, eval(right)?)?,
        PExpr::Concat(left, right) => match (eval(left)?, eval(right)?) {
            (Value::Str(mut left), Value::Str(right)) => {
                left.push_str(&right);
                Value::Str(left)
            }
            _ => Value::Null,
        },
        PExpr::Like {
            value,
            pattern,
            negated,
        } => like(value, pattern, *negated, context)?,
        PExpr::In {
            value,
            list,
            negated,
        } => in_list(value, list, *negated, context)?,
        PExpr::Between {
            value,
            low,
            high,
            negated,
        } => between(eval(value)?, eval(low)?, eval(high)?, *negated),
        PExpr::IsNull { value, negated } => Value::Bool(eval(value)?.is_null() != *negated),
        PExpr::IsDistinct {
            left,
            right,
            negated,
        } => {
            let (left, right) = (eval(left)?, eval(right)?);
            Value::Bool((left != right) != *negated)
        }
        PExpr::Call { function, args } => call(*function, eval_args(args, context)?)?,
        PExpr::DateUnit {
            function,
            unit,
            args,
        } => date_function(*function, *unit, eval_args(args, context)?)?,
        PExpr::Now => now(context)?,
        PExpr::Case {
            operand,
            whens,
            otherwise,
        } => case(operand.as_deref(), whens, otherwise.as_deref(), context)?,
        PExpr::Cast {
            value,
            target,
            integer,
            is_try,
        } => match cast(eval(value)?, *target, *integer) {
            Ok(value) => value,
            Err(_) if *is_try => Value::Null,
            Err(error) => return Err(error),
        },
        PExpr::AggregateRef(index) => context
            .aggregates
            .get(*index)
            .cloned()
            .unwrap_or(Value::Null),
        PExpr::KeyRef(index) => context.keys.get(*index).cloned().unwrap_or(Value::Null),
        PExpr::Aggregate(aggregate) => {
            return Err(QueryError::new(format!(
                "Aggregate {} evaluated outside an aggregation",
                aggregate.text.text
            )));
        }
    })
}

fn column(path: &[&'static Field], context: &Context<'_>) -> Value {
    let mut json = context.event;
    for field in path {
        json = json
            .and_then(serde_json::Value::as_object)
            .and_then(|object| lookup(object, field.key));
    }
    let ty = path.last().map_or(Type::Unknown, |field| field.ty);
    Value::from_json(json, ty)
}

fn eval_args(args: &[PExpr], context: &Context<'_>) -> Result<Vec<Value>, QueryError> {
    args.iter().map(|arg| eval(arg, context)).collect()
}

fn negate(value: Value) -> Result<Value, QueryError> {
    Ok(match value {
        Value::Int(number) => Value::Int(
            number
                .checked_neg()
                .ok_or_else(|| QueryError::new("bigint negation overflow"))?,
        ),
        Value::Double(number) => Value::Double(-number),
        _ => Value::Null,
    })
}

/// `AND` (`any` false) or `OR` (`any` true), left to right, stopping at the first term that
/// decides, with NULL for unknown.
fn junction(terms: &[PExpr], any: bool, context: &Context<'_>) -> Result<Value, QueryError> {
    let mut unknown = false;
    for term in terms {
        match eval(term, context)? {
            Value::Bool(flag) if flag == any => return Ok(Value::Bool(any)),
            Value::Bool(_) => {}
            _ => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(!any)
    })
}

fn like(
    value: &PExpr,
    pattern: &LikeSpec,
    negated: bool,
    context: &Context<'_>,
) -> Result<Value, QueryError> {
    let Value::Str(text) = eval(value, context)? else {
        return Ok(Value::Null);
    };
    let matched = match pattern {
        LikeSpec::Compiled(compiled) => compiled.matches(&text),
        LikeSpec::Dynamic { pattern, escape } => {
            let Value::Str(pattern) = eval(pattern, context)? else {
                return Ok(Value::Null);
            };
            let escape = match escape {
                Some(escape) => match eval(escape, context)? {
                    Value::Str(escape) => Some(escape),
                    _ => return Ok(Value::Null),
                },
                None => None,
            };
            LikePattern::compile(&pattern, escape.as_deref())
                .map_err(QueryError::new)?
                .matches(&text)
        }
    };
    Ok(Value::Bool(matched != negated))
}

/// `IN`: true on a match; otherwise NULL when a NULL left the answer open.
fn in_list(
    value: &PExpr,
    list: &[PExpr],
    negated: bool,
    context: &Context<'_>,
) -> Result<Value, QueryError> {
    let value = eval(value, context)?;
    if value.is_null() {
        return Ok(Value::Null);
    }
    let mut unknown = false;
    for item in list {
        match value.sql_equals(&eval(item, context)?) {
            Some(true) => return Ok(Value::Bool(!negated)),
            Some(false) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(negated)
    })
}

fn between(value: Value, low: Value, high: Value, negated: bool) -> Value {
    let above = compare(CompareOp::GtEq, &value, &low);
    let below = compare(CompareOp::LtEq, &value, &high);
    match (above, below) {
        (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(negated),
        (Value::Bool(true), Value::Bool(true)) => Value::Bool(!negated),
        _ => Value::Null,
    }
}

fn now(context: &Context<'_>) -> Result<Value, QueryError> {
    let Some(now_millis) = context.now_millis else {
        return Err(QueryError::new(
            "current_timestamp is not available: the query was run without a clock",
        ));
    };
    Ok(Value::TimestampTz {
        micros: now_millis.saturating_mul(1000),
        precision: 3,
        offset_minutes: 0,
    })
}

fn case(
    operand: Option<&PExpr>,
    whens: &[(PExpr, PExpr)],
    otherwise: Option<&PExpr>,
    context: &Context<'_>,
) -> Result<Value, QueryError> {
    let operand = operand.map(|operand| eval(operand, context)).transpose()?;
    for (condition, result) in whens {
        let condition = eval(condition, context)?;
        let chosen = match &operand {
            Some(operand) => operand.sql_equals(&condition) == Some(true),
            None => matches!(condition, Value::Bool(true)),
        };
        if chosen {
            return eval(result, context);
        }
    }
    otherwise.map_or(Ok(Value::Null), |otherwise| eval(otherwise, context))
}

fn compare(op: CompareOp, left: &Value, right: &Value) -> Value {
    if left.is_null() || right.is_null() {
        return Value::Null;
    }
    let result = match op {
        CompareOp::Eq => left.sql_equals(right),
        CompareOp::NotEq => left.sql_equals(right).map(|equal| !equal),
        ordering => left.compare(right).map(|order| match ordering {
            CompareOp::Lt => order == Ordering::Less,
            CompareOp::LtEq => order != Ordering::Greater,
            CompareOp::Gt => order == Ordering::Greater,
            _ => order != Ordering::Less,
        }),
    };
    result.map_or(Value::Null, Value::Bool)
}

fn arithmetic(op: ArithOp, left: Value, right: Value) -> Result<Value, QueryError> {
    match (&left, &right) {
        (Value::Int(a), Value::Int(b)) => {
            let (a, b) = (*a, *b);
            let overflow = |name: &str| {
                QueryError::new(format!("bigint {name} overflow: {a} {} {b}", op.symbol()))
            };
            let result = match op {
                ArithOp::Add => a.checked_add(b).ok_or_else(|| overflow("addition"))?,
                ArithOp::Subtract => a.checked_sub(b).ok_or_else(|| overflow("subtraction"))?,
                ArithOp::Multiply => a.checked_mul(b).ok_or_else(|| overflow("multiplication"))?,
                ArithOp::Divide | ArithOp::Modulus if b == 0 => {
                    return Err(QueryError::new("Division by zero"));
                }
                ArithOp::Divide => a.checked_div(b).ok_or_else(|| overflow("division"))?,
                ArithOp::Modulus => a.checked_rem(b).unwrap_or(0),
            };
            Ok(Value::Int(result))
        }
        _ => {
            let (Some(a), Some(b)) = (left.as_f64(), right.as_f64()) else {
                return Ok(Value::Null);
            };
            Ok(Value::Double(match op {
                ArithOp::Add => a + b,
                ArithOp::Subtract => a - b,
                ArithOp::Multiply => a * b,
                ArithOp::Divide => a / b,
                ArithOp::Modulus => a % b,
            }))
        }
    }
}

fn subscript(base: Value, index: Value) -> Result<Value, QueryError> {
    match (base, index) {
        (Value::Array(mut items), Value::Int(position)) => {
            if position == 0 {
                return Err(QueryError::new("SQL array indices start at 1"));
            }
            if position < 0 {
                return Err(QueryError::new(format!(
                    "Array subscript is negative: {position}"
                )));
            }
            let length = items.len();
            match usize::try_from(position - 1) {
                Ok(offset) if offset < length => Ok(items.swap_remove(offset)),
                _ => Err(QueryError::new(format!(
                    "Array subscript must be less than or equal to array length: {position} > {length}"
                ))),
            }
        }
        (Value::Map(entries), Value::Str(key)) => entries
            .into_iter()
            .find(|(candidate, _)| *candidate == key)
            .map(|(_, value)| value)
            .ok_or_else(|| QueryError::new(format!("Key not present in map: {key}"))),
        _ => Ok(Value::Null),
    }
}

/// A scalar function; NULL in, NULL out, except where the function says otherwise.
fn call(function: Function, args: Vec<Value>) -> Result<Value, QueryError> {
    match function {
        Function::Coalesce => {
            return Ok(args
                .into_iter()
                .find(|arg| !arg.is_null())
                .unwrap_or(Value::Null));
        }
        Function::If => {
            let mut args = args.into_iter();
            let condition = args.next();
            let then = args.next().unwrap_or(Value::Null);
            let otherwise = args.next().unwrap_or(Value::Null);
            return Ok(if matches!(condition, Some(Value::Bool(true))) {
                then
            } else {
                otherwise
            });
        }
        Function::Nullif => {
            let mut args = args.into_iter();
            let first = args.next().unwrap_or(Value::Null);
            let second = args.next().unwrap_or(Value::Null);
            return Ok(if first.sql_equals(&second) == Some(true) {
                Value::Null
            } else {
                first
            });
        }
        _ => {}
    }
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let text = |index: usize| match args.get(index) {
        Some(Value::Str(text)) => text.as_str(),
        _ => "",
    };
    let int = |index: usize| match args.get(index) {
        Some(Value::Int(number)) => *number,
        _ => 0,
    };
    Ok(match function {
        Function::Lower => Value::Str(text(0).to_lowercase()),
        Function::Upper => Value::Str(text(0).to_uppercase()),
        Function::Trim => Value::Str(text(0).trim().to_owned()),
        Function::Ltrim => Value::Str(text(0).trim_start().to_owned()),
        Function::Rtrim => Value::Str(text(0).trim_end().to_owned()),
        Function::Length => Value::Int(count_chars(text(0))),
        Function::Substr => {
            let length = if args.len() > 2 { int(2) } else { i64::MAX };
            Value::Str(substring(text(0), int(1), length))
        }
        Function::Concat => Value::Str((0..args.len()).map(text).collect()),
        Function::Strpos => Value::Int(match text(0).find(text(1)) {
            Some(offset) => count_chars(text(0).get(..offset).unwrap_or_default()) + 1,
            None => 0,
        }),
        Function::StartsWith => Value::Bool(text(0).starts_with(text(1))),
        Function::SplitPart => {
            let index = int(2);
            if index <= 0 {
                return Err(QueryError::new("Index must be greater than zero"));
            }
            if text(1).is_empty() {
                return Err(QueryError::new("The delimiter may not be the empty string"));
            }
            usize::try_from(index - 1)
                .ok()
                .and_then(|skip| text(0).split(text(1)).nth(skip))
                .map_or(Value::Null, |part| Value::Str(part.to_owned()))
        }
        Function::JsonExtractScalar => json_extract_scalar(text(0), text(1))?,
        Function::ElementAt => {
            let mut args = args.into_iter();
            match (args.next(), args.next()) {
                (Some(Value::Map(entries)), Some(Value::Str(key))) => entries
                    .into_iter()
                    .find(|(candidate, _)| *candidate == key)
                    .map_or(Value::Null, |(_, value)| value),
                (Some(Value::Array(items)), Some(Value::Int(position))) => {
                    element_at(items, position)?
                }
                _ => Value::Null,
            }
        }
        Function::Cardinality => match args.first() {
            Some(Value::Map(entries)) => Value::Int(count(entries.len())),
            Some(Value::Array(items)) => Value::Int(count(items.len())),
            _ => Value::Null,
        },
        Function::Abs => match args.first() {
            Some(Value::Int(number)) => Value::Int(number.checked_abs().ok_or_else(|| {
                QueryError::new(format!("Value {number} is out of range for abs(bigint)"))
            })?),
            Some(Value::Double(number)) => Value::Double(number.abs()),
            _ => Value::Null,
        },
        Function::Greatest | Function::Least => {
            let wanted = if function == Function::Greatest {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            let mut args = args.into_iter();
            let mut best = args.next().unwrap_or(Value::Null);
            for arg in args {
                if arg.compare(&best) == Some(wanted) {
                    best = arg;
                }
            }
            best
        }
        Function::FromIso8601Timestamp => {
            let parsed = time::parse_iso8601(text(0))
                .ok_or_else(|| QueryError::new(format!("Invalid format: \"{}\"", text(0))))?;
            Value::TimestampTz {
                micros: parsed.micros,
                precision: 3,
                offset_minutes: parsed.offset_minutes.unwrap_or(0),
            }
        }
        Function::ToIso8601 => match args.first() {
            Some(Value::Timestamp { micros, precision }) => {
                Value::Str(time::format(*micros, *precision).replacen(' ', "T", 1))
            }
            Some(Value::TimestampTz {
                micros,
                precision,
                offset_minutes,
            }) => {
                let local = time::format(local_micros(*micros, *offset_minutes), *precision);
                let zone = match time::format_zone(*offset_minutes) {
                    zone if zone == "UTC" => "Z".to_owned(),
                    zone => zone,
                };
                Value::Str(format!("{}{zone}", local.replacen(' ', "T", 1)))
            }
            _ => Value::Null,
        },
        Function::Coalesce
        | Function::If
        | Function::Nullif
        | Function::DateTrunc
        | Function::DateAdd
        | Function::DateDiff => Value::Null,
    })
}

/// `date_trunc`, `date_add` and `date_diff`, working on local time for a zoned timestamp.
fn date_function(function: Function, unit: Unit, args: Vec<Value>) -> Result<Value, QueryError> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let out_of_range = || QueryError::new("Timestamp is out of the supported range");
    let mut args = args.into_iter();
    match function {
        Function::DateDiff => {
            let (Some(from), Some(to)) = (
                args.next().and_then(|value| value.instant()),
                args.next().and_then(|value| value.instant()),
            ) else {
                return Ok(Value::Null);
            };
            Ok(Value::Int(time::difference(from, to, unit)))
        }
        Function::DateAdd | Function::DateTrunc => {
            let amount = match function {
                Function::DateAdd => match args.next() {
                    Some(Value::Int(amount)) => Some(amount),
                    _ => return Ok(Value::Null),
                },
                _ => None,
            };
            let shift = |local: i64| match amount {
                Some(amount) => time::add(local, unit, amount).ok_or_else(out_of_range),
                None => Ok(time::truncate(local, unit)),
            };
            Ok(match args.next() {
                Some(Value::Timestamp { micros, precision }) => Value::Timestamp {
                    micros: shift(micros)?,
                    precision,
                },
                Some(Value::TimestampTz {
                    micros,
                    precision,
                    offset_minutes,
                }) => {
                    let shifted = shift(local_micros(micros, offset_minutes))?;
                    Value::TimestampTz {
                        micros: shifted - local_micros(0, offset_minutes),
                        precision,
                        offset_minutes,
                    }
                }
                _ => Value::Null,
            })
        }
        _ => Ok(Value::Null),
    }
}

fn cast(value: Value, target: Type, integer: bool) -> Result<Value, QueryError> {
    let cannot = |value: &Value, shown: &str| {
        QueryError::new(format!(
            "Cannot cast '{}' to {shown}",
            value.render().unwrap_or_default()
        ))
    };
    let cast = match (value, target) {
        (Value::Null, _) => Value::Null,
        (value @ (Value::Timestamp { .. } | Value::TimestampTz { .. }), Type::Varchar) => {
            Value::Str(value.render().unwrap_or_default())
        }
        (value, Type::Varchar) => match value {
            Value::Str(_) => value,
            other => Value::Str(other.render().unwrap_or_default()),
        },
        (Value::Int(number), Type::Bigint) => Value::Int(number),
        (Value::Double(number), Type::Bigint) => {
            let rounded = number.round();
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&rounded) {
                return Err(QueryError::new(format!(
                    "Out of range for bigint: {number}"
                )));
            }
            Value::Int(rounded as i64)
        }
        (Value::Bool(flag), Type::Bigint) => Value::Int(i64::from(flag)),
        (value @ Value::Str(_), Type::Bigint) => {
            let Value::Str(text) = &value else {
                return Ok(Value::Null);
            };
            match text.trim().parse::<i64>() {
                Ok(number) => Value::Int(number),
                Err(_) => {
                    return Err(cannot(&value, if integer { "INT" } else { "BIGINT" }));
                }
            }
        }
        (Value::Int(number), Type::Double) => Value::Double(number as f64),
        (Value::Double(number), Type::Double) => Value::Double(number),
        (Value::Bool(flag), Type::Double) => Value::Double(if flag { 1.0 } else { 0.0 }),
        (value @ Value::Str(_), Type::Double) => {
            let Value::Str(text) = &value else {
                return Ok(Value::Null);
            };
            match text.trim().parse::<f64>() {
                Ok(number) => Value::Double(number),
                Err(_) => return Err(cannot(&value, "DOUBLE")),
            }
        }
        (Value::Bool(flag), Type::Boolean) => Value::Bool(flag),
        (Value::Int(number), Type::Boolean) => Value::Bool(number != 0),
        (Value::Double(number), Type::Boolean) => Value::Bool(number != 0.0),
        (value @ Value::Str(_), Type::Boolean) => {
            let Value::Str(text) = &value else {
                return Ok(Value::Null);
            };
            match text.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "1" => Value::Bool(true),
                "false" | "f" | "0" => Value::Bool(false),
                _ => return Err(cannot(&value, "BOOLEAN")),
            }
        }
        (Value::Str(text), Type::Timestamp(precision)) => match time::parse_sql(&text) {
            Some(parsed) if parsed.offset_minutes.is_none() => Value::Timestamp {
                micros: round_to(parsed.micros, precision),
                precision,
            },
            _ => {
                return Err(QueryError::new(format!(
                    "Value cannot be cast to timestamp: {text}"
                )));
            }
        },
        (Value::Timestamp { micros, .. }, Type::Timestamp(precision)) => Value::Timestamp {
            micros: round_to(micros, precision),
            precision,
        },
        (
            Value::TimestampTz {
                micros,
                offset_minutes,
                ..
            },
            Type::Timestamp(precision),
        ) => Value::Timestamp {
            micros: round_to(local_micros(micros, offset_minutes), precision),
            precision,
        },
        (Value::Timestamp { micros, .. }, Type::TimestampTz(precision)) => Value::TimestampTz {
            micros,
            precision,
            offset_minutes: 0,
        },
        (value, _) => value,
    };
    if let (true, Value::Int(number)) = (integer, &cast)
        && i32::try_from(*number).is_err()
    {
        return Err(QueryError::new(format!(
            "Out of range for integer: {number}"
        )));
    }
    Ok(cast)
}

/// `micros` rounded half up to `precision` fractional digits.
fn round_to(micros: i64, precision: u8) -> i64 {
    let unit = 10_i64.pow(u32::from(time::MAX_PRECISION.saturating_sub(precision)));
    let down = time::truncate_to_precision(micros, precision);
    if (micros - down) * 2 >= unit {
        down + unit
    } else {
        down
    }
}

fn local_micros(micros: i64, offset_minutes: i16) -> i64 {
    micros + i64::from(offset_minutes) * 60 * time::MICROS_PER_SECOND
}

fn element_at(mut items: Vec<Value>, position: i64) -> Result<Value, QueryError> {
    if position == 0 {
        return Err(QueryError::new("SQL array indices start at 1"));
    }
    let length = count(items.len());
    let index = if position > 0 {
        position - 1
    } else {
        length + position
    };
    Ok(match usize::try_from(index) {
        Ok(index) if index < items.len() => items.swap_remove(index),
        _ => Value::Null,
    })
}

/// Trino's `substr`: 1-based; a negative start counts from the end; start 0 gives ''.
fn substring(text: &str, start: i64, length: i64) -> String {
    let total = count_chars(text);
    if start == 0 || length <= 0 {
        return String::new();
    }
    let first = if start > 0 { start - 1 } else { total + start };
    if first < 0 || first >= total {
        return String::new();
    }
    let skip = usize::try_from(first).unwrap_or(usize::MAX);
    let take = usize::try_from(length).unwrap_or(usize::MAX);
    text.chars().skip(skip).take(take).collect()
}

/// The scalar at `path` in the JSON text `json`: strings, numbers and booleans as text; NULL
/// for objects, arrays, null, a missing member or text that is not JSON.
fn json_extract_scalar(json: &str, path: &str) -> Result<Value, QueryError> {
    let steps = parse_json_path(path)
        .ok_or_else(|| QueryError::new(format!("Invalid JSON path: '{path}'")))?;
    let Ok(document) = serde_json::from_str::<serde_json::Value>(json) else {
        return Ok(Value::Null);
    };
    let mut node = &document;
    for step in &steps {
        let next = match step {
            JsonStep::Member(name) => node.get(name.as_str()),
            JsonStep::Index(index) => node.get(*index),
        };
        match next {
            Some(next) => node = next,
            None => return Ok(Value::Null),
        }
    }
    Ok(match node {
        serde_json::Value::String(text) => Value::Str(text.clone()),
        serde_json::Value::Number(number) => Value::Str(number.to_string()),
        serde_json::Value::Bool(flag) => Value::Str(flag.to_string()),
        _ => Value::Null,
    })
}

enum JsonStep {
    Member(String),
    Index(usize),
}

/// `$`, then `.name`, `["name"]` or `[index]` steps.
fn parse_json_path(path: &str) -> Option<Vec<JsonStep>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, next) = after.split_at(end);
            if name.is_empty() {
                return None;
            }
            steps.push(JsonStep::Member(name.to_owned()));
            rest = next;
        } else if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]")?;
            steps.push(JsonStep::Member(after.get(..end)?.to_owned()));
            rest = after.get(end + 2..)?;
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            steps.push(JsonStep::Index(after.get(..end)?.trim().parse().ok()?));
            rest = after.get(end + 1..)?;
        } else {
            return None;
        }
    }
    Some(steps)
}

fn count_chars(text: &str) -> i64 {
    count(text.chars().count())
}

fn count(length: usize) -> i64 {
    i64::try_from(length).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substr_follows_trino() {
        assert_eq!(substring("CloudTrail", 6, i64::MAX), "Trail");
        assert_eq!(substring("CloudTrail", -5, 3), "Tra");
        assert_eq!(substring("CloudTrail", 0, 3), "");
        assert_eq!(substring("CloudTrail", 11, 1), "");
        assert_eq!(substring("CloudTrail", -11, 1), "");
    }

    #[test]
    fn extracts_json_scalars() {
        let json = r#"{"a": {"b": [10, "x", true, null]}, "c.d": 1}"#;
        let extract = |path| json_extract_scalar(json, path).unwrap().render();
        assert_eq!(extract("$.a.b[0]"), Some("10".to_owned()));
        assert_eq!(extract("$.a.b[1]"), Some("x".to_owned()));
        assert_eq!(extract("$.a.b[2]"), Some("true".to_owned()));
        assert_eq!(extract("$.a.b[3]"), None);
        assert_eq!(extract("$.a"), None);
        assert_eq!(extract("$[\"c.d\"]"), Some("1".to_owned()));
        assert_eq!(extract("$.missing"), None);
        assert!(json_extract_scalar(json, "a.b").is_err());
        assert_eq!(json_extract_scalar("not json", "$.a").unwrap(), Value::Null);
    }

    #[test]
    fn rounds_timestamps_half_up() {
        assert_eq!(round_to(1_234_567, 3), 1_235_000);
        assert_eq!(round_to(1_234_499, 3), 1_234_000);
        assert_eq!(round_to(-1, 0), 0);
    }
}
