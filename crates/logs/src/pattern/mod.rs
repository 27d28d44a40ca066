//! The filter-pattern language of metric filters, subscription filters and `FilterLogEvents`:
//! parsed once by [`FilterPattern::parse`], then matched against each event's message.
//!
//! Four forms, chosen by the pattern's first character:
//! - empty: every event matches;
//! - terms: case-sensitive words or quoted phrases that must all appear in the message, `?term`
//!   alternatives of which one must appear, and `-term` exclusions;
//! - `%regex%`: a regular expression the message must contain a match of;
//! - `{ ... }`: a JSON pattern, conditions on `$.`-selected fields of a JSON message, combined by
//!   `&&`, `||` and parentheses;
//! - `[ ... ]`: a space-delimited pattern naming the message's whitespace-separated fields
//!   (`"quoted"` and `[bracketed]` text being one field), `...` standing for any number of them,
//!   each field optionally constrained by conditions on its value.
//!
//! Nesting is bounded ([`MAX_DEPTH`]) so that no pattern can exhaust the stack, and matching is
//! linear or quadratic in the message, never exponential.

mod parse;

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde_json::Value as Json;

/// The deepest parenthesis nesting a JSON pattern may use.
pub const MAX_DEPTH: usize = 32;

/// A pattern that does not parse: the detail AWS gives after "Invalid filter pattern".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(String);

impl PatternError {
    fn new(detail: impl Into<String>) -> Self {
        Self(detail.into())
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Invalid filter pattern")
        } else {
            write!(f, "Invalid filter pattern: {}", self.0)
        }
    }
}

impl std::error::Error for PatternError {}

/// A parsed filter pattern.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    form: Form,
}

#[derive(Debug, Clone)]
enum Form {
    Everything,
    Terms(Terms),
    Regex(Regex),
    Json(JsonExpr),
    Delimited(Vec<Field>),
}

/// Unstructured terms: every `required` one, at least one of `alternatives` when there are
/// any, and none of `excluded`.
#[derive(Debug, Clone, Default)]
struct Terms {
    required: Vec<String>,
    alternatives: Vec<String>,
    excluded: Vec<String>,
}

#[derive(Debug, Clone)]
enum JsonExpr {
    Any(Vec<JsonExpr>),
    All(Vec<JsonExpr>),
    Test(Selector, Check),
}

/// A `$.a.b[0]` path into a JSON message, with its text as written (the key of its
/// extracted value).
#[derive(Debug, Clone)]
struct Selector {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
enum Check {
    Compare(Op, Literal),
    IsNull,
    NotExists,
    IsBool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Literal {
    Number(f64),
    /// Text where `*` matches any run of characters.
    Text(String),
    Regex(Regex),
}

/// One field of a space-delimited pattern.
#[derive(Debug, Clone)]
enum Field {
    /// `...`: any number of fields.
    Rest,
    /// A named field; its value must satisfy one of the `any_of` conjunctions (none: any value).
    Named {
        name: String,
        any_of: Vec<Vec<(Op, Literal)>>,
    },
}

/// What a matching message yields: the values the pattern extracted, for metric values,
/// dimensions and `TestMetricFilter`.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    document: Option<Json>,
    extracted: BTreeMap<String, String>,
}

impl Matched {
    /// The values as `TestMetricFilter` shows them: `$name` of each delimited field, or the
    /// `$.path` of each JSON field the pattern tests that the message has.
    pub fn extracted_values(&self) -> &BTreeMap<String, String> {
        &self.extracted
    }

    /// The value a metric filter's `$.path` or `$name` reference stands for in this message.
    pub fn field(&self, reference: &str) -> Option<String> {
        if let Some(value) = self.extracted.get(reference) {
            return Some(value.clone());
        }
        let steps = parse::selector_steps(reference)?;
        lookup(self.document.as_ref()?, &steps).and_then(json_text)
    }
}

impl FilterPattern {
    /// Parses `text`; an error carries AWS's explanation.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        parse::pattern(text).map(|form| Self { form })
    }

    /// Whether the pattern reads fields (JSON or space-delimited), which metric values and
    /// dimensions need.
    pub fn selects_fields(&self) -> bool {
        matches!(self.form, Form::Json(_) | Form::Delimited(_))
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        self.evaluate(message).is_some()
    }

    /// The match of `message`, if it matches.
    pub fn evaluate(&self, message: &str) -> Option<Matched> {
        match &self.form {
            Form::Everything => Some(Matched::default()),
            Form::Terms(terms) => terms.matches(message).then(Matched::default),
            Form::Regex(regex) => regex.is_match(message).then(Matched::default),
            Form::Json(expr) => {
                let document: Json = serde_json::from_str(message).ok()?;
                if !expr.matches(&document) {
                    return None;
                }
                let mut extracted = BTreeMap::new();
                expr.extract(&document, &mut extracted);
                Some(Matched {
                    document: Some(document),
                    extracted,
                })
            }
            Form::Delimited(fields) => match_delimited(fields, &split_fields(message)),
        }
    }
}

impl Terms {
    fn matches(&self, message: &str) -> bool {
        self.required
            .iter()
            .all(|term| message.contains(term.as_str()))
            && (self.alternatives.is_empty()
                || self
                    .alternatives
                    .iter()
                    .any(|term| message.contains(term.as_str())))
            && !self
                .excluded
                .iter()
                .any(|term| message.contains(term.as_str()))
    }
}

impl JsonExpr {
    fn matches(&self, document: &Json) -> bool {
        match self {
            Self::Any(options) => options.iter().any(|option| option.matches(document)),
            Self::All(parts) => parts.iter().all(|part| part.matches(document)),
            Self::Test(selector, check) => {
                let value = lookup(document, &selector.steps);
                match check {
                    Check::NotExists => value.is_none(),
                    Check::IsNull => value.is_some_and(Json::is_null),
                    Check::IsBool(expected) => value.and_then(Json::as_bool) == Some(*expected),
                    Check::Compare(op, literal) => {
                        value.is_some_and(|value| compare_json(*op, literal, value))
                    }
                }
            }
        }
    }

    /// Records the value of every tested field the document has.
    fn extract(&self, document: &Json, into: &mut BTreeMap<String, String>) {
        match self {
            Self::Any(parts) | Self::All(parts) => {
                for part in parts {
                    part.extract(document, into);
                }
            }
            Self::Test(selector, _) => {
                if let Some(text) = lookup(document, &selector.steps).and_then(json_text) {
                    into.insert(selector.text.clone(), text);
                }
            }
        }
    }
}

/// The value `steps` lead to in `document`.
fn lookup<'a>(document: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    steps.iter().try_fold(document, |value, step| match step {
        Step::Key(key) => value.as_object()?.get(key),
        Step::Index(index) => value.as_array()?.get(*index),
    })
}

/// A scalar JSON value as text (strings without their quotes).
fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        Json::Null => Some("null".to_owned()),
        Json::Array(_) | Json::Object(_) => None,
    }
}

fn compare_json(op: Op, literal: &Literal, value: &Json) -> bool {
    let equal = match (literal, value) {
        (Literal::Number(expected), Json::Number(actual)) => {
            return actual
                .as_f64()
                .is_some_and(|actual| compare_numbers(op, actual, *expected));
        }
        (Literal::Number(_), _) => false,
        (_, Json::Array(_) | Json::Object(_)) => return false,
        (literal, value) => json_text(value).is_some_and(|text| literal.matches_text(&text)),
    };
    if op == Op::Ne { !equal } else { equal }
}

fn compare_numbers(op: Op, actual: f64, expected: f64) -> bool {
    match op {
        Op::Eq => actual == expected,
        Op::Ne => actual != expected,
        Op::Lt => actual < expected,
        Op::Le => actual <= expected,
        Op::Gt => actual > expected,
        Op::Ge => actual >= expected,
    }
}

impl Literal {
    /// Whether a text value equals this literal (with its wildcards or regex).
    fn matches_text(&self, text: &str) -> bool {
        match self {
            Self::Number(expected) => text.parse::<f64>().is_ok_and(|actual| actual == *expected),
            Self::Text(pattern) => wildcard_match(pattern, text),
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

/// A delimited field's value against one condition.
fn field_satisfies(op: Op, literal: &Literal, value: &str) -> bool {
    if let Literal::Number(expected) = literal {
        return match value.parse::<f64>() {
            Ok(actual) => compare_numbers(op, actual, *expected),
            Err(_) => op == Op::Ne,
        };
    }
    let equal = literal.matches_text(value);
    if op == Op::Ne { !equal } else { equal }
}

/// `text` against `pattern`, where `*` matches any run of characters: the classic greedy
/// matcher that backtracks only to the last star, so linear-times-pattern at worst.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(expected) if text.get(t) == Some(expected) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// A message split into space-delimited fields: whitespace separates them, and text in double
/// quotes or square brackets is one field (without its quotes or brackets).
fn split_fields(message: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut rest = message.trim_start();
    while let Some(first) = rest.chars().next() {
        let closing = match first {
            '"' => Some('"'),
            '[' => Some(']'),
            _ => None,
        };
        let (field, after) = match closing {
            Some(closing) => {
                let inner = rest.get(1..).unwrap_or_default();
                match inner.find(closing) {
                    Some(end) => (
                        inner.get(..end).unwrap_or_default(),
                        inner.get(end + 1..).unwrap_or_default(),
                    ),
                    None => (inner, ""),
                }
            }
            None => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (
                    rest.get(..end).unwrap_or_default(),
                    rest.get(end..).unwrap_or_default(),
                )
            }
        };
        fields.push(field);
        rest = after.trim_start();
    }
    fields
}

/// The pattern's fields against the message's: `...` takes any number of fields, every other
/// pattern field exactly one. Whether `fields[i..]` can match `values[j..]` is tabulated (a bit
/// per pair) from the end, then the first assignment is read off from the start.
fn match_delimited(fields: &[Field], values: &[&str]) -> Option<Matched> {
    let width = values.len() + 1;
    let mut table = BitTable::new((fields.len() + 1) * width);
    table.set(fields.len() * width + values.len());
    for (i, field) in fields.iter().enumerate().rev() {
        for j in (0..width).rev() {
            let possible = match field {
                Field::Rest => table.get((i + 1) * width + j) || table.get(i * width + j + 1),
                Field::Named { any_of, .. } => {
                    values.get(j).is_some_and(|value| satisfies(any_of, value))
                        && table.get((i + 1) * width + j + 1)
                }
            };
            if possible {
                table.set(i * width + j);
            }
        }
    }
    if !table.get(0) {
        return None;
    }
    let mut extracted = BTreeMap::new();
    let mut j = 0;
    for (i, field) in fields.iter().enumerate() {
        match field {
            Field::Rest => {
                while !table.get((i + 1) * width + j) {
                    j += 1;
                }
            }
            Field::Named { name, .. } => {
                if let Some(value) = values.get(j) {
                    extracted.insert(format!("${name}"), (*value).to_owned());
                }
                j += 1;
            }
        }
    }
    Some(Matched {
        document: None,
        extracted,
    })
}

fn satisfies(any_of: &[Vec<(Op, Literal)>], value: &str) -> bool {
    any_of.is_empty()
        || any_of.iter().any(|all| {
            all.iter()
                .all(|(op, literal)| field_satisfies(*op, literal, value))
        })
}

/// A fixed-size set of bits.
struct BitTable(Vec<u64>);

impl BitTable {
    fn new(bits: usize) -> Self {
        Self(vec![0; bits.div_ceil(64)])
    }

    fn get(&self, bit: usize) -> bool {
        self.0
            .get(bit / 64)
            .is_some_and(|word| word & (1 << (bit % 64)) != 0)
    }

    fn set(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }
}

#[cfg(test)]
mod tests;
