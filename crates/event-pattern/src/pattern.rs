//! Parsing an event pattern into its normal form: a disjunction of branches (one per combination
//! of `$or` alternatives), each a conjunction of conditions on leaf paths. Validation follows
//! EventBridge's rules; a rejected pattern answers `InvalidEventPatternException` with the
//! message of [`PatternError`].

use std::fmt;

use serde_json::{Map, Value};

use crate::matcher::{Bound, Literal, Matcher, NumericRange, Wildcard, parse_cidr};

/// The longest pattern accepted, in characters: the `EventPattern` length constraint of the
/// EventBridge API.
pub const MAX_PATTERN_LENGTH: usize = 4096;

/// How deep objects (fields and `$or` alternatives alike) may nest in a pattern. AWS documents
/// no figure; patterns are at most 4096 characters, and this bound keeps the parser's
/// recursion explicit and small, even for a `Value` built in code.
pub const MAX_NESTING_DEPTH: usize = 32;

/// How many branches the `$or` alternatives of one pattern may multiply into. Every branch is
/// a separate conjunction the matcher indexes, so the product is what costs memory and time.
pub const MAX_BRANCHES: usize = 1000;

/// How many conditions all the branches of one pattern may hold together: `$or` copies the
/// conditions beside it into every branch, and this bounds the copying (and the machine's
/// work) for a pattern within the length limit.
pub const MAX_CONDITIONS: usize = 10_000;

/// Numeric matching covers this closed range, as EventBridge documents (-5.0e9 to +5.0e9).
pub const NUMERIC_LIMIT: f64 = 5.0e9;

/// A valid event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) branches: Vec<Branch>,
}

/// One conjunction: the event matches the branch when every condition holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    pub(crate) conditions: Vec<Condition>,
}

/// What a pattern asks of one leaf path: a value matching any of `matchers`, or, when
/// `absent_ok` (`{"exists": false}` among them), no value at the path at all.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) path: Vec<String>,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) absent_ok: bool,
}

/// Why a pattern was refused. `Display` gives the message EventBridge answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    reason: String,
}

impl PatternError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason alone, without the "Event pattern is not valid" preamble.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event pattern is not valid. Reason: {}", self.reason)
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// Parses and validates a pattern given as JSON text.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.chars().count() > MAX_PATTERN_LENGTH {
            return Err(PatternError::new(format!(
                "Event pattern exceeds the maximum length of {MAX_PATTERN_LENGTH} characters"
            )));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|error| PatternError::new(format!("Pattern is not valid JSON: {error}")))?;
        Self::from_value(&value)
    }

    /// Validates a pattern already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Self, PatternError> {
        let Value::Object(fields) = value else {
            return Err(PatternError::new("Filter is not an object"));
        };
        let mut branches = parse_object(fields, &mut Vec::new(), 0)?;
        // Evaluation relies on each branch's conditions being sorted by path.
        for branch in &mut branches {
            branch
                .conditions
                .sort_by(|left, right| left.path.cmp(&right.path));
        }
        Ok(Self { branches })
    }

    /// Whether any `wildcard` filter appears (EventBridge counts such rules against a quota).
    pub fn uses_wildcards(&self) -> bool {
        self.branches.iter().any(|branch| {
            branch
                .conditions
                .iter()
                .any(|condition| condition.matchers.iter().any(Matcher::is_wildcard))
        })
    }
}

fn parse_object(
    fields: &Map<String, Value>,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<Vec<Branch>, PatternError> {
    if depth >= MAX_NESTING_DEPTH {
        return Err(PatternError::new(format!(
            "Pattern is nested more than {MAX_NESTING_DEPTH} levels deep"
        )));
    }
    let mut branches = vec![Branch {
        conditions: Vec::new(),
    }];
    for (key, value) in fields {
        if key == "$or" {
            let alternatives = parse_or(value, path, depth + 1)?;
            branches = cross(&branches, &alternatives)?;
            continue;
        }
        path.push(key.clone());
        let parsed = match value {
            Value::Object(inner) => parse_object(inner, path, depth + 1),
            Value::Array(items) => parse_leaf(items, path).map(|condition| {
                vec![Branch {
                    conditions: vec![condition],
                }]
            }),
            _ => Err(PatternError::new(format!(
                "\"{key}\" must be an object or an array"
            ))),
        };
        path.pop();
        branches = cross(&branches, &parsed?)?;
    }
    Ok(branches)
}

fn parse_or(
    value: &Value,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<Vec<Branch>, PatternError> {
    let Value::Array(items) = value else {
        return Err(PatternError::new(
            "Value of $or must be an array of objects",
        ));
    };
    if items.len() < 2 {
        return Err(PatternError::new("$or must have at least 2 sub-patterns"));
    }
    let mut alternatives = Vec::new();
    for item in items {
        let Value::Object(fields) = item else {
            return Err(PatternError::new(
                "Value of $or must be an array of objects",
            ));
        };
        alternatives.extend(parse_object(fields, path, depth)?);
        if alternatives.len() > MAX_BRANCHES {
            return Err(too_complex());
        }
    }
    Ok(alternatives)
}

/// Every branch of `left` joined with every branch of `right`.
fn cross(left: &[Branch], right: &[Branch]) -> Result<Vec<Branch>, PatternError> {
    let conditions = |branches: &[Branch]| -> usize {
        branches.iter().map(|branch| branch.conditions.len()).sum()
    };
    let joined_conditions = right
        .len()
        .saturating_mul(conditions(left))
        .saturating_add(left.len().saturating_mul(conditions(right)));
    if left.len().saturating_mul(right.len()) > MAX_BRANCHES || joined_conditions > MAX_CONDITIONS {
        return Err(too_complex());
    }
    let mut joined = Vec::with_capacity(left.len() * right.len());
    for first in left {
        for second in right {
            let mut conditions = first.conditions.clone();
            conditions.extend(second.conditions.iter().cloned());
            joined.push(Branch { conditions });
        }
    }
    Ok(joined)
}

fn too_complex() -> PatternError {
    PatternError::new(format!(
        "Rule is too complex: its $or alternatives combine into more than {MAX_BRANCHES} \
         patterns or {MAX_CONDITIONS} conditions"
    ))
}

fn parse_leaf(items: &[Value], path: &[String]) -> Result<Condition, PatternError> {
    let mut matchers = Vec::with_capacity(items.len());
    let mut absent_ok = false;
    for item in items {
        match item {
            Value::Object(filter) => match parse_filter(filter)? {
                Filter::Matcher(matcher) => matchers.push(matcher),
                Filter::Absent => absent_ok = true,
            },
            Value::Array(_) => {
                return Err(PatternError::new(
                    "Match value must be String, number, true, false, or null",
                ));
            }
            scalar => matchers.push(Matcher::Exact(Literal::of_scalar(scalar)?)),
        }
    }
    Ok(Condition {
        path: path.to_vec(),
        matchers,
        absent_ok,
    })
}

enum Filter {
    Matcher(Matcher),
    Absent,
}

fn parse_filter(filter: &Map<String, Value>) -> Result<Filter, PatternError> {
    let mut entries = filter.iter();
    let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
        return Err(PatternError::new(
            "Only one key allowed in match expression",
        ));
    };
    let matcher = match kind.as_str() {
        "exists" => match value {
            Value::Bool(true) => Matcher::Exists,
            Value::Bool(false) => return Ok(Filter::Absent),
            _ => {
                return Err(PatternError::new(
                    "exists match pattern must be either true or false.",
                ));
            }
        },
        "prefix" => match string_or_ignore_case(kind, value)? {
            (text, false) => Matcher::Prefix(text),
            (text, true) => Matcher::PrefixIgnoreCase(text.to_lowercase()),
        },
        "suffix" => match string_or_ignore_case(kind, value)? {
            (text, false) => Matcher::Suffix(text),
            (text, true) => Matcher::SuffixIgnoreCase(text.to_lowercase()),
        },
        "equals-ignore-case" => {
            Matcher::EqualsIgnoreCase(string_value(kind, value)?.to_lowercase())
        }
        "wildcard" => Matcher::Wildcard(Wildcard::parse(string_value(kind, value)?)?),
        "cidr" => Matcher::Cidr(parse_cidr(string_value(kind, value)?)?),
        "numeric" => Matcher::Numeric(parse_numeric(value)?),
        "anything-but" => parse_anything_but(value)?,
        other => {
            return Err(PatternError::new(format!(
                "Unrecognized match type {other}"
            )));
        }
    };
    Ok(Filter::Matcher(matcher))
}

fn string_value<'a>(kind: &str, value: &'a Value) -> Result<&'a str, PatternError> {
    value
        .as_str()
        .ok_or_else(|| PatternError::new(format!("{kind} match pattern must be a string")))
}

/// `"text"` or `{"equals-ignore-case": "text"}`; the flag says which.
fn string_or_ignore_case(kind: &str, value: &Value) -> Result<(String, bool), PatternError> {
    match value {
        Value::String(text) => Ok((text.clone(), false)),
        Value::Object(inner) => {
            let mut entries = inner.iter();
            match (entries.next(), entries.next()) {
                (Some((key, Value::String(text))), None) if key == "equals-ignore-case" => {
                    Ok((text.clone(), true))
                }
                _ => Err(PatternError::new(format!(
                    "Value of {kind} must be a string or an object with equals-ignore-case"
                ))),
            }
        }
        _ => Err(PatternError::new(format!(
            "{kind} match pattern must be a string"
        ))),
    }
}

fn parse_numeric(value: &Value) -> Result<NumericRange, PatternError> {
    let Value::Array(items) = value else {
        return Err(PatternError::new("Value of numeric must be an array."));
    };
    if items.is_empty() || items.len() > 4 || items.len() % 2 != 0 {
        return Err(PatternError::new(
            "numeric must hold one or two operator and number pairs",
        ));
    }
    let mut range = NumericRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };
    for pair in items.chunks(2) {
        let (Some(operator), Some(operand)) = (pair.first(), pair.get(1)) else {
            return Err(PatternError::new("Bad numeric range"));
        };
        let Some(operator) = operator.as_str() else {
            return Err(PatternError::new(
                "Invalid member in numeric match: operator must be a string",
            ));
        };
        let number = operand
            .as_f64()
            .filter(|number| number.abs() <= NUMERIC_LIMIT)
            .ok_or_else(|| {
                PatternError::new(format!(
                    "Value of {operator} must be a number between -5.0E9 and 5.0E9 inclusive"
                ))
            })?;
        let number = number + 0.0; // -0.0 and 0.0 are one value
        let (slot, bound) = match operator {
            "=" if items.len() == 2 => {
                return Ok(NumericRange {
                    lower: Bound::Inclusive(number),
                    upper: Bound::Inclusive(number),
                });
            }
            "=" => {
                return Err(PatternError::new(
                    "numeric = cannot be combined with another operator",
                ));
            }
            ">" => (&mut range.lower, Bound::Exclusive(number)),
            ">=" => (&mut range.lower, Bound::Inclusive(number)),
            "<" => (&mut range.upper, Bound::Exclusive(number)),
            "<=" => (&mut range.upper, Bound::Inclusive(number)),
            other => {
                return Err(PatternError::new(format!(
                    "Unrecognized numeric range operator: {other}"
                )));
            }
        };
        if *slot != Bound::Unbounded {
            return Err(PatternError::new(format!(
                "Bad numeric range: {operator} repeats a bound already given"
            )));
        }
        *slot = bound;
    }
    if range.is_empty() {
        return Err(PatternError::new(
            "Bad numeric range: the lower bound must be below the upper bound",
        ));
    }
    Ok(range)
}

fn parse_anything_but(value: &Value) -> Result<Matcher, PatternError> {
    match value {
        Value::String(_) | Value::Number(_) => {
            Ok(Matcher::AnythingBut(vec![Literal::of_scalar(value)?]))
        }
        Value::Array(items) => {
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if items.is_empty() || !(all_strings || all_numbers) {
                return Err(PatternError::new(
                    "Inside anything-but list, values must be all strings or all numbers",
                ));
            }
            Ok(Matcher::AnythingBut(
                items
                    .iter()
                    .map(Literal::of_scalar)
                    .collect::<Result<_, _>>()?,
            ))
        }
        Value::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((kind, operand)), None) = (entries.next(), entries.next()) else {
                return Err(PatternError::new(
                    "Only one key allowed in anything-but match expression",
                ));
            };
            match kind.as_str() {
                "prefix" => Ok(Matcher::AnythingButPrefix(nonempty(kind, operand)?)),
                "suffix" => Ok(Matcher::AnythingButSuffix(nonempty(kind, operand)?)),
                "equals-ignore-case" => Ok(Matcher::AnythingButIgnoreCase(
                    strings(kind, operand)?
                        .iter()
                        .map(|text| text.to_lowercase())
                        .collect(),
                )),
                "wildcard" => Ok(Matcher::AnythingButWildcard(
                    strings(kind, operand)?
                        .iter()
                        .map(|text| Wildcard::parse(text))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(PatternError::new(format!(
                    "Unsupported anything-but pattern: {other}"
                ))),
            }
        }
        _ => Err(PatternError::new(
            "Value of anything-but must be an array or single string/number value.",
        )),
    }
}

fn nonempty(kind: &str, value: &Value) -> Result<String, PatternError> {
    match value.as_str() {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(PatternError::new(format!(
            "Value of {kind} inside anything-but must be a non-empty string"
        ))),
    }
}

/// A string, or a non-empty array of strings.
fn strings(kind: &str, value: &Value) -> Result<Vec<String>, PatternError> {
    let invalid = || {
        PatternError::new(format!(
            "Value of {kind} inside anything-but must be a string or an array of strings"
        ))
    };
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect(),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reason(text: &str) -> String {
        Pattern::parse(text).unwrap_err().reason().to_owned()
    }

    #[test]
    fn accepts_every_filter_kind() {
        let pattern = r#"{
            "source": ["aws.ec2", 5, true, null],
            "detail": {
                "a": [{"prefix": "x"}, {"prefix": {"equals-ignore-case": "X"}}],
                "b": [{"suffix": "x"}, {"suffix": {"equals-ignore-case": "X"}}],
                "c": [{"anything-but": ["x", "y"]}, {"anything-but": 5}],
                "d": [{"anything-but": {"prefix": "x"}}, {"anything-but": {"suffix": "x"}}],
                "e": [{"anything-but": {"wildcard": ["*x", "y*"]}}],
                "f": [{"anything-but": {"equals-ignore-case": "x"}}],
                "g": [{"numeric": [">", 0, "<=", 5]}, {"numeric": ["=", 3.5]}],
                "h": [{"exists": true}], "i": [{"exists": false}],
                "j": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}],
                "k": [{"equals-ignore-case": "x"}, {"wildcard": "a*b\\*"}]
            },
            "$or": [{"x": [1]}, {"y": [2]}]
        }"#;
        let parsed = Pattern::parse(pattern).unwrap();
        assert_eq!(parsed.branches.len(), 2);
        assert!(parsed.uses_wildcards());
    }

    #[test]
    fn rejects_malformed_patterns_with_aws_wording() {
        let error = Pattern::parse(r#"{"source": "aws.ec2"}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("Event pattern is not valid. Reason: ")
        );
        assert_eq!(reason("[1]"), "Filter is not an object");
        assert_eq!(
            reason(r#"{"a": [[1]]}"#),
            "Match value must be String, number, true, false, or null"
        );
        assert_eq!(
            reason(r#"{"a": [{"bogus": 1}]}"#),
            "Unrecognized match type bogus"
        );
        assert_eq!(
            reason(r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#),
            "Only one key allowed in match expression"
        );
        assert_eq!(
            reason(r#"{"a": [{"exists": "yes"}]}"#),
            "exists match pattern must be either true or false."
        );
        assert_eq!(
            reason(r#"{"a": [{"prefix": 1}]}"#),
            "prefix match pattern must be a string"
        );
        assert_eq!(
            reason(r#"{"a": [{"wildcard": "a**"}]}"#),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            reason(r#"{"a": [{"cidr": "10.0.0.0/40"}]}"#),
            "Nonstandard IP address: 10.0.0.0/40"
        );
        assert_eq!(
            reason(r#"{"a": [{"anything-but": true}]}"#),
            "Value of anything-but must be an array or single string/number value."
        );
        assert!(Pattern::parse(r#"{"a": [{"anything-but": ["x", 1]}]}"#).is_err());
        assert!(Pattern::parse(r#"{"$or": [{"a": [1]}]}"#).is_err());
        assert!(Pattern::parse(r#"{"$or": {"a": [1]}}"#).is_err());
        assert!(Pattern::parse("not json").is_err());
    }

    #[test]
    fn rejects_nonsensical_numeric_ranges() {
        for range in [
            r#"[">", 5, "<", 5]"#,
            r#"[">", 10, "<", 5]"#,
            r#"[">", 1, ">=", 2]"#,
            r#"["=", 1, "<", 2]"#,
            r#"["<", 1, "<", 2]"#,
            r#"["!=", 1]"#,
            r#"[">", "1"]"#,
            r#"[">"]"#,
            r#"[">", 0, "<", 1, "=", 2]"#,
            r#"[">", 6e9]"#,
            "5",
        ] {
            assert!(
                Pattern::parse(&format!(r#"{{"n": [{{"numeric": {range}}}]}}"#)).is_err(),
                "{range}"
            );
        }
    }

    #[test]
    fn hostile_patterns_are_refused_in_bounded_time() {
        let long = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(MAX_PATTERN_LENGTH));
        assert!(reason(&long).contains("maximum length"));

        let deep = format!("{}[1]{}", r#"{"a":"#.repeat(40), "}".repeat(40));
        assert!(reason(&deep).contains("nested"));
        let mut deep_or = json!({"z": [0]});
        for _ in 0..1000 {
            deep_or = json!({"$or": [deep_or, {"y": [1]}]});
        }
        let error = Pattern::from_value(&deep_or).unwrap_err();
        assert!(error.reason().contains("nested"));

        // Each $or doubles the branches: 2^11 > MAX_BRANCHES.
        let or = r#"{"$or": [{"a": [1]}, {"b": [2]}]}"#;
        let mut nested = String::from("{");
        for level in 0..11 {
            nested.push_str(&format!(r#""f{level}": {or},"#));
        }
        nested.push_str(r#""z": [0]}"#);
        assert!(reason(&nested).contains("too complex"));

        // Few branches, but each copies hundreds of conditions.
        let mut wide = String::from("{");
        for level in 0..6 {
            wide.push_str(&format!(r#""o{level}": {or},"#));
        }
        for field in 0..300 {
            wide.push_str(&format!(r#""f{field}": [1],"#));
        }
        wide.push_str(r#""z": [0]}"#);
        assert!(reason(&wide).contains("too complex"));
    }
}
