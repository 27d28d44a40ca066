//! The Condition element: every condition operator, its `IfExists` form and its set
//! qualifiers, compiled when the policy is parsed and evaluated against a [`Context`].
//!
//! The semantics, each from the IAM User Guide:
//! - "If you specify multiple condition operators, or multiple keys attached to a single
//!   condition operator, the conditions are evaluated using a logical AND"; "If a single
//!   condition operator includes multiple values for a context key, those values are evaluated
//!   using a logical OR" (Condition element). For a negated operator the OR is inside the
//!   negation: `StringNotEquals` with values `[a, b]` requires the key to be neither.
//! - "If the key that you specify in a policy condition is not present in the request context,
//!   the values do not match and the condition is false. If the policy condition requires that
//!   the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
//!   present, the condition is true. This logic applies to all condition operators except
//!   ...IfExists and Null check" (Condition operators). So a negated operator is true on a
//!   missing key.
//! - `…IfExists`: "If the key is not present, evaluate the condition element as true";
//!   available on every operator except `Null`.
//! - `Null`: `true` matches when the key is absent, `false` when it is present.
//! - `ForAllValues`: true when every request value matches at least one policy value, and when
//!   the key is absent or empty; `ForAnyValue`: true when some request value matches some policy
//!   value, false when the key is absent or empty ("Creating a condition that tests multiple key
//!   values"; "Multivalued context keys"). With a negated operator the per-value test is the
//!   negation: `ForAllValues:StringNotLike` holds when no request value matches any pattern,
//!   `ForAnyValue:StringNotEquals` when some request value equals none of the policy values.
//! - Without a set qualifier on a key that has several values (the docs only say such keys
//!   "require a condition set operator"), this engine takes the operator as true when any
//!   request value matches, and a negated operator as the exact complement (no request value
//!   matches). A single value behaves the same either way, and the negated operator stays the
//!   complement of its positive form, including on a missing key.
//! - Request values are typed by the operator; one that does not parse as that type (a
//!   non-number for `Numeric…`, a non-address for `IpAddress`) matches no policy value.
//!
//! Operators are a closed enum resolved while parsing: a document naming an unknown operator is
//! refused then, so no condition with an unknown operator can exist to be evaluated.

use std::cmp::Ordering;
use std::fmt;

use crate::context::{Context, KeyName};
use crate::error::PolicyError;
use crate::glob::{Case, Glob, Tok, arn_like, glob_match, push_wildcard_text};
use crate::json::Json;
use crate::template::{
    Part, Template, has_variables, parse_parts, push_tokens, static_text, to_text,
};
use crate::values::{Cidr, Number, Timestamp, base64_equals, decode_base64, parse_bool};

/// A condition operator, without its qualifier or `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Null,
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

const OPERATORS: [Operator; 27] = {
    use Operator::*;
    [
        StringEquals,
        StringNotEquals,
        StringEqualsIgnoreCase,
        StringNotEqualsIgnoreCase,
        StringLike,
        StringNotLike,
        NumericEquals,
        NumericNotEquals,
        NumericLessThan,
        NumericLessThanEquals,
        NumericGreaterThan,
        NumericGreaterThanEquals,
        DateEquals,
        DateNotEquals,
        DateLessThan,
        DateLessThanEquals,
        DateGreaterThan,
        DateGreaterThanEquals,
        Bool,
        BinaryEquals,
        IpAddress,
        NotIpAddress,
        ArnEquals,
        ArnNotEquals,
        ArnLike,
        ArnNotLike,
        Null,
    ]
};

impl Operator {
    pub(crate) fn name(self) -> &'static str {
        use Operator::*;
        match self {
            StringEquals => "StringEquals",
            StringNotEquals => "StringNotEquals",
            StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            StringLike => "StringLike",
            StringNotLike => "StringNotLike",
            NumericEquals => "NumericEquals",
            NumericNotEquals => "NumericNotEquals",
            NumericLessThan => "NumericLessThan",
            NumericLessThanEquals => "NumericLessThanEquals",
            NumericGreaterThan => "NumericGreaterThan",
            NumericGreaterThanEquals => "NumericGreaterThanEquals",
            DateEquals => "DateEquals",
            DateNotEquals => "DateNotEquals",
            DateLessThan => "DateLessThan",
            DateLessThanEquals => "DateLessThanEquals",
            DateGreaterThan => "DateGreaterThan",
            DateGreaterThanEquals => "DateGreaterThanEquals",
            Bool => "Bool",
            BinaryEquals => "BinaryEquals",
            IpAddress => "IpAddress",
            NotIpAddress => "NotIpAddress",
            ArnEquals => "ArnEquals",
            ArnNotEquals => "ArnNotEquals",
            ArnLike => "ArnLike",
            ArnNotLike => "ArnNotLike",
            Null => "Null",
        }
    }

    /// Whether the operator is the negation of a matching test (true on a missing key).
    pub(crate) fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// For the numeric and date operators, whether `request ⋚ policy` satisfies the (positive)
    /// test.
    fn accepts(self, order: Ordering) -> bool {
        use Operator::*;
        match self {
            NumericLessThan | DateLessThan => order == Ordering::Less,
            NumericLessThanEquals | DateLessThanEquals => order != Ordering::Greater,
            NumericGreaterThan | DateGreaterThan => order == Ordering::Greater,
            NumericGreaterThanEquals | DateGreaterThanEquals => order != Ordering::Less,
            _ => order == Ordering::Equal,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key tested by one operator: `"Operator": {"key": values}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    operator: Operator,
    qualifier: Option<SetQualifier>,
    if_exists: bool,
    /// As written, for explanations.
    key: Box<str>,
    lookup_key: KeyName,
    values: Values,
}

/// The policy values, parsed for the operator's type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    /// `StringEquals` and `StringNotEquals`.
    Strings(Box<[Template<Box<str>>]>),
    /// The `IgnoreCase` operators; static values are stored lowercased.
    StringsIgnoringCase(Box<[Template<Box<str>>]>),
    Patterns(Box<[Template<Glob>]>),
    Arns(Box<[Template<Box<[Tok]>>]>),
    Numbers(Box<[Number]>),
    Dates(Box<[Timestamp]>),
    Bools(Box<[bool]>),
    Binaries(Box<[Box<[u8]>]>),
    Cidrs(Box<[Cidr]>),
    /// `Null`: `true` means "the key is absent".
    Null(Box<[bool]>),
}

/// The result of evaluating one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evaluation {
    /// `None` when a policy variable in a value did not resolve, which invalidates the
    /// statement.
    pub(crate) holds: Option<bool>,
    /// The key was not in the request context.
    pub(crate) key_missing: bool,
}

impl Condition {
    /// The condition key as written.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn evaluate(&self, context: &Context<'_>) -> Evaluation {
        let request = context.lookup(&self.lookup_key);
        let key_missing = request.is_none();
        if let Values::Null(expected) = &self.values {
            let holds = expected.contains(&key_missing);
            return Evaluation {
                holds: Some(holds),
                key_missing: false,
            };
        }
        let Some(request) = request else {
            let holds = self.if_exists
                || match self.qualifier {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None => self.operator.is_negated(),
                };
            return Evaluation {
                holds: Some(holds),
                key_missing,
            };
        };
        let mut any = false;
        let mut all = true;
        for value in request {
            let Some(matched) = self.matches_any_policy_value(value, context) else {
                return Evaluation {
                    holds: None,
                    key_missing,
                };
            };
            any |= matched;
            all &= matched;
        }
        let holds = match (self.qualifier, self.operator.is_negated()) {
            (None | Some(SetQualifier::ForAnyValue), false) => any,
            (None, true) => !any,
            (Some(SetQualifier::ForAnyValue), true) => !all,
            (Some(SetQualifier::ForAllValues), false) => all,
            (Some(SetQualifier::ForAllValues), true) => !any,
        };
        Evaluation {
            holds: Some(holds),
            key_missing,
        }
    }

    /// Whether one request value passes the operator's positive test against at least one
    /// policy value (`None` when a variable does not resolve).
    fn matches_any_policy_value(&self, value: &str, context: &Context<'_>) -> Option<bool> {
        let operator = self.operator;
        Some(match &self.values {
            Values::Strings(templates) => {
                for template in templates.iter() {
                    let equal = match template {
                        Template::Static(text) => **text == *value,
                        Template::Dynamic(parts) => *to_text(parts, context)? == *value,
                    };
                    if equal {
                        return Some(true);
                    }
                }
                false
            }
            Values::StringsIgnoringCase(templates) => {
                for template in templates.iter() {
                    let equal = match template {
                        Template::Static(lower) => equals_lowercased(lower, value),
                        Template::Dynamic(parts) => {
                            equals_lowercased(&lowercase(&to_text(parts, context)?), value)
                        }
                    };
                    if equal {
                        return Some(true);
                    }
                }
                false
            }
            Values::Patterns(templates) => {
                for template in templates.iter() {
                    let matched = match template {
                        Template::Static(glob) => glob.matches(value, Case::Sensitive),
                        Template::Dynamic(parts) => {
                            let mut tokens = Vec::new();
                            push_tokens(parts, context, &mut tokens)?;
                            glob_match(&tokens, value.as_bytes(), Case::Sensitive)
                        }
                    };
                    if matched {
                        return Some(true);
                    }
                }
                false
            }
            Values::Arns(templates) => {
                for template in templates.iter() {
                    let matched = match template {
                        Template::Static(tokens) => arn_like(tokens, value),
                        Template::Dynamic(parts) => {
                            let mut tokens = Vec::new();
                            push_tokens(parts, context, &mut tokens)?;
                            arn_like(&tokens, value)
                        }
                    };
                    if matched {
                        return Some(true);
                    }
                }
                false
            }
            Values::Numbers(numbers) => numbers.iter().any(|number| {
                number
                    .compare_request(value)
                    .is_some_and(|order| operator.accepts(order))
            }),
            Values::Dates(dates) => Timestamp::parse(value).is_some_and(|request| {
                dates.iter().any(|date| operator.accepts(request.cmp(date)))
            }),
            Values::Bools(bools) => {
                parse_bool(value).is_some_and(|request| bools.contains(&request))
            }
            Values::Binaries(binaries) => {
                binaries.iter().any(|binary| base64_equals(value, binary))
            }
            Values::Cidrs(cidrs) => {
                let address = value.trim().parse().ok();
                address.is_some_and(|address| cidrs.iter().any(|cidr| cidr.contains(address)))
            }
            Values::Null(_) => false,
        })
    }
}

/// Parses a statement's Condition element. `variables_enabled` is false under Version
/// 2008-10-17, where `${…}` is literal text.
pub(crate) fn parse_condition_block(
    block: &Json,
    variables_enabled: bool,
) -> Result<Vec<Condition>, PolicyError> {
    let Json::Object(operators) = block else {
        return Err(PolicyError::syntax());
    };
    let mut conditions = Vec::new();
    for (name, keys) in operators {
        let (operator, qualifier, if_exists) = parse_operator_name(name)?;
        let Json::Object(keys) = keys else {
            return Err(PolicyError::syntax());
        };
        for (key, values) in keys {
            if !has_vendor_prefix(key) {
                return Err(PolicyError::malformed(VENDOR_PREFIX_MESSAGE));
            }
            let texts = value_texts(values)?;
            conditions.push(Condition {
                operator,
                qualifier,
                if_exists,
                key: key.clone(),
                lookup_key: KeyName::new(key),
                values: parse_values(operator, &texts, variables_enabled)?,
            });
        }
    }
    Ok(conditions)
}

/// AWS's message for an action or condition key without a service prefix.
pub(crate) const VENDOR_PREFIX_MESSAGE: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

/// `vendor:name` with a non-empty vendor.
pub(crate) fn has_vendor_prefix(text: &str) -> bool {
    text.split_once(':')
        .is_some_and(|(vendor, _)| !vendor.is_empty())
}

/// Splits `ForAnyValue:StringLikeIfExists` into its parts. Operator names are matched without
/// regard to case.
fn parse_operator_name(name: &str) -> Result<(Operator, Option<SetQualifier>, bool), PolicyError> {
    let invalid = || PolicyError::malformed(format!("Invalid Condition type : {name}"));
    let (qualifier, rest) = match name.split_once(':') {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
            (Some(SetQualifier::ForAllValues), rest)
        }
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
            (Some(SetQualifier::ForAnyValue), rest)
        }
        Some(_) => return Err(invalid()),
        None => (None, name),
    };
    let lookup = |text: &str| {
        OPERATORS
            .iter()
            .copied()
            .find(|operator| operator.name().eq_ignore_ascii_case(text))
    };
    let (operator, if_exists) = match lookup(rest) {
        Some(operator) => (operator, false),
        None => {
            let base = rest
                .len()
                .checked_sub("IfExists".len())
                .and_then(|at| {
                    rest.get(at..)
                        .filter(|s| s.eq_ignore_ascii_case("IfExists"))
                        .and(rest.get(..at))
                })
                .ok_or_else(invalid)?;
            let operator = lookup(base)
                .filter(|op| *op != Operator::Null)
                .ok_or_else(invalid)?;
            (operator, true)
        }
    };
    // A set qualifier compares sets of values; Null tests presence, which has no set form.
    if operator == Operator::Null && qualifier.is_some() {
        return Err(invalid());
    }
    Ok((operator, qualifier, if_exists))
}

/// The condition values as text: a string, number or boolean, or a non-empty array of them.
fn value_texts(values: &Json) -> Result<Vec<Box<str>>, PolicyError> {
    let scalar = |value: &Json| match value {
        Json::String(text) => Ok(text.clone()),
        Json::Number(text) => Ok(text.clone()),
        Json::Bool(flag) => Ok(if *flag { "true" } else { "false" }.into()),
        _ => Err(PolicyError::syntax()),
    };
    match values {
        Json::Array(items) if items.is_empty() => Err(PolicyError::syntax()),
        Json::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

fn parse_values(
    operator: Operator,
    texts: &[Box<str>],
    variables_enabled: bool,
) -> Result<Values, PolicyError> {
    use Operator::*;
    let typed = |parse| typed_values(operator, texts, parse);
    Ok(match operator {
        StringEquals | StringNotEquals => {
            Values::Strings(templates(texts, variables_enabled, |parts| {
                static_text(parts).into()
            }))
        }
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            Values::StringsIgnoringCase(templates(texts, variables_enabled, |parts| {
                lowercase(&static_text(parts)).into()
            }))
        }
        StringLike | StringNotLike => {
            Values::Patterns(templates(texts, variables_enabled, |parts| {
                Glob::new(static_tokens(parts))
            }))
        }
        ArnEquals | ArnNotEquals | ArnLike | ArnNotLike => {
            Values::Arns(templates(texts, variables_enabled, |parts| {
                static_tokens(parts).into()
            }))
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            Values::Numbers(typed_values(operator, texts, Number::parse)?)
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => Values::Dates(typed_values(operator, texts, Timestamp::parse)?),
        Bool => Values::Bools(typed(parse_bool)?),
        BinaryEquals => Values::Binaries(typed_values(operator, texts, |text| {
            decode_base64(text).map(Vec::into_boxed_slice)
        })?),
        IpAddress | NotIpAddress => Values::Cidrs(typed_values(operator, texts, Cidr::parse)?),
        Null => Values::Null(typed(parse_bool)?),
    })
}

/// Values of a typed operator, each of which must parse ("Invalid Condition value" otherwise).
fn typed_values<T>(
    operator: Operator,
    texts: &[Box<str>],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Box<[T]>, PolicyError> {
    texts
        .iter()
        .map(|text| {
            parse(text).ok_or_else(|| {
                PolicyError::malformed(format!(
                    "Invalid Condition value for {operator}: \"{text}\""
                ))
            })
        })
        .collect()
}

/// Values that may contain policy variables: compiled now when they have none.
fn templates<T>(
    texts: &[Box<str>],
    variables_enabled: bool,
    compile: impl Fn(&[Part]) -> T,
) -> Box<[Template<T>]> {
    texts
        .iter()
        .map(|text| {
            let parts = parse_parts(text, variables_enabled);
            if has_variables(&parts) {
                Template::Dynamic(parts.into())
            } else {
                Template::Static(compile(&parts))
            }
        })
        .collect()
}

/// Pattern tokens of parts known to have no variables.
fn static_tokens(parts: &[Part]) -> Vec<Tok> {
    let mut tokens = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => push_wildcard_text(text, &mut tokens),
            Part::Escaped(c) => tokens.extend(c.encode_utf8(&mut [0; 4]).bytes().map(Tok::Lit)),
            Part::Variable { .. } => {}
        }
    }
    tokens
}

/// Character-wise lowercasing, applied the same way to both sides of an ignore-case comparison.
fn lowercase(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

fn equals_lowercased(lower: &str, value: &str) -> bool {
    value.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    /// Evaluates `{"op": {"key": values}}` (values as JSON) against the context.
    fn holds(condition: &str, context: &Context<'_>) -> Option<bool> {
        holds_with_version(condition, context, true)
    }

    fn holds_with_version(condition: &str, context: &Context<'_>, variables: bool) -> Option<bool> {
        let block = json::parse(condition, 32).unwrap();
        let conditions = parse_condition_block(&block, variables).unwrap();
        let mut result = Some(true);
        for condition in &conditions {
            match condition.evaluate(context).holds {
                Some(true) => {}
                other => result = result.and(other),
            }
        }
        result
    }

    fn parse_error(condition: &str) -> PolicyError {
        let block = json::parse(condition, 32).unwrap();
        parse_condition_block(&block, true).unwrap_err()
    }

    fn ctx<'a>(pairs: &[(&'a str, &'a str)]) -> Context<'a> {
        let mut context = Context::new();
        for (key, value) in pairs {
            context.insert(*key, *value);
        }
        context
    }

    #[test]
    fn string_operators() {
        let c = ctx(&[("aws:PrincipalTag/job", "Admin")]);
        // StringEquals: "Exact matching, case sensitive".
        assert_eq!(
            holds(r#"{"StringEquals":{"aws:PrincipalTag/job":"Admin"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"StringEquals":{"aws:PrincipalTag/job":"admin"}}"#, &c),
            Some(false)
        );
        // StringEqualsIgnoreCase: "Exact matching, ignoring case".
        assert_eq!(
            holds(
                r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/job":"ADMIN"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/job":"ADMIN"}}"#,
                &c
            ),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:PrincipalTag/job":"admin"}}"#,
                &c
            ),
            Some(true)
        );
        // StringLike: "Case-sensitive matching. The values can include multi-character match
        // wildcards (*) and single-character match wildcards (?) anywhere in the string."
        assert_eq!(
            holds(r#"{"StringLike":{"aws:PrincipalTag/job":"Ad*"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"StringLike":{"aws:PrincipalTag/job":"ad*"}}"#, &c),
            Some(false)
        );
        assert_eq!(
            holds(r#"{"StringLike":{"aws:PrincipalTag/job":"Adm?n"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"StringNotLike":{"aws:PrincipalTag/job":"Ad*"}}"#, &c),
            Some(false)
        );
        // Condition keys are case-insensitive.
        assert_eq!(
            holds(r#"{"StringEquals":{"AWS:PRINCIPALTAG/JOB":"Admin"}}"#, &c),
            Some(true)
        );
    }

    #[test]
    fn values_are_ored_and_negated_values_are_nored() {
        // "If a single condition operator includes multiple values for a context key, those
        // values are evaluated using a logical OR."
        let c = ctx(&[("aws:RequestedRegion", "eu-west-1")]);
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#,
                &c
            ),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}"#,
                &c
            ),
            Some(true)
        );
    }

    #[test]
    fn keys_and_operators_are_anded() {
        // "If you specify multiple condition operators, or multiple keys attached to a single
        // condition operator, the conditions are evaluated using a logical AND."
        let c = ctx(&[("aws:a", "1"), ("aws:b", "2")]);
        assert_eq!(
            holds(r#"{"StringEquals":{"aws:a":"1","aws:b":"2"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"StringEquals":{"aws:a":"1","aws:b":"3"}}"#, &c),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:a":"1"},"NumericEquals":{"aws:b":"2"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:a":"1"},"NumericEquals":{"aws:b":"3"}}"#,
                &c
            ),
            Some(false)
        );
    }

    #[test]
    fn missing_keys() {
        let c = Context::new();
        // "If the key that you specify in a policy condition is not present in the request
        // context, the values do not match and the condition is false."
        for op in [
            "StringEquals",
            "StringEqualsIgnoreCase",
            "StringLike",
            "ArnLike",
            "ArnEquals",
        ] {
            assert_eq!(
                holds(&format!(r#"{{"{op}":{{"aws:k":"v"}}}}"#), &c),
                Some(false),
                "{op}"
            );
        }
        for (op, value) in [
            ("NumericEquals", "1"),
            ("NumericLessThan", "1"),
            ("DateLessThan", "2020-01-01"),
            ("Bool", "false"),
            ("BinaryEquals", "QQ=="),
            ("IpAddress", "10.0.0.0/8"),
        ] {
            assert_eq!(
                holds(&format!(r#"{{"{op}":{{"aws:k":"{value}"}}}}"#), &c),
                Some(false),
                "{op}"
            );
        }
        // "If the policy condition requires that the key is not matched, such as StringNotLike
        // or ArnNotLike, and the right key is not present, the condition is true."
        for (op, value) in [
            ("StringNotEquals", "v"),
            ("StringNotEqualsIgnoreCase", "v"),
            ("StringNotLike", "v"),
            ("ArnNotLike", "arn:*:*:*:*:*"),
            ("ArnNotEquals", "arn:*:*:*:*:*"),
            ("NumericNotEquals", "1"),
            ("DateNotEquals", "2020-01-01"),
            ("NotIpAddress", "10.0.0.0/8"),
        ] {
            assert_eq!(
                holds(&format!(r#"{{"{op}":{{"aws:k":"{value}"}}}}"#), &c),
                Some(true),
                "{op}"
            );
        }
    }

    #[test]
    fn if_exists_is_true_on_a_missing_key_and_tests_a_present_one() {
        // "If the policy key is present in the context of the request, process the key as
        // specified in the policy. If the key is not present, evaluate the condition element
        // as true."
        let empty = Context::new();
        let present = ctx(&[("ec2:InstanceType", "m5.large")]);
        let like = r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#;
        assert_eq!(holds(like, &empty), Some(true));
        assert_eq!(holds(like, &present), Some(false));
        assert_eq!(
            holds(
                r#"{"StringLikeIfExists":{"ec2:InstanceType":"m5.*"}}"#,
                &present
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEqualsIfExists":{"ec2:InstanceType":"m5.large"}}"#,
                &empty
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEqualsIfExists":{"ec2:InstanceType":"m5.large"}}"#,
                &present
            ),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"NumericLessThanIfExists":{"s3:max-keys":"10"}}"#,
                &empty
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
                &empty
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#,
                &empty
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#,
                &empty
            ),
            Some(true)
        );
    }

    #[test]
    fn null_checks_presence() {
        // "use either true (the key doesn't exist — it is null) or false (the key exists and
        // its value is not null)".
        let c = ctx(&[("aws:TokenIssueTime", "2020-01-01T00:00:00Z")]);
        assert_eq!(
            holds(r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, &c),
            Some(false)
        );
        assert_eq!(
            holds(r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"Null":{"aws:TokenIssueTime":true}}"#, &Context::new()),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"Null":{"aws:TokenIssueTime":"false"}}"#,
                &Context::new()
            ),
            Some(false)
        );
        // "You can add IfExists to the end of any condition operator name except the Null
        // condition."
        assert!(
            parse_error(r#"{"NullIfExists":{"aws:k":"true"}}"#)
                .message()
                .contains("Invalid Condition type")
        );
    }

    #[test]
    fn numeric_operators() {
        let c = ctx(&[("s3:max-keys", "10")]);
        for (op, value, expected) in [
            ("NumericEquals", "10", true),
            ("NumericEquals", "10.0", true),
            ("NumericNotEquals", "10", false),
            ("NumericLessThan", "10", false),
            ("NumericLessThan", "11", true),
            ("NumericLessThanEquals", "10", true),
            ("NumericGreaterThan", "9.5", true),
            ("NumericGreaterThan", "10", false),
            ("NumericGreaterThanEquals", "10", true),
        ] {
            assert_eq!(
                holds(&format!(r#"{{"{op}":{{"s3:max-keys":"{value}"}}}}"#), &c),
                Some(expected),
                "{op} {value}"
            );
        }
        // JSON numbers are accepted as written.
        assert_eq!(
            holds(r#"{"NumericLessThanEquals":{"s3:max-keys":10}}"#, &c),
            Some(true)
        );
        // A request value that is not a number matches nothing.
        let junk = ctx(&[("s3:max-keys", "ten")]);
        assert_eq!(
            holds(r#"{"NumericLessThan":{"s3:max-keys":"100"}}"#, &junk),
            Some(false)
        );
        assert_eq!(
            holds(r#"{"NumericNotEquals":{"s3:max-keys":"100"}}"#, &junk),
            Some(true)
        );
    }

    #[test]
    fn date_operators_accept_iso_8601_and_epoch_seconds() {
        let c = ctx(&[
            ("aws:CurrentTime", "2020-06-01T12:00:00Z"),
            ("aws:EpochTime", "1591012800"),
        ]);
        for (op, value, expected) in [
            ("DateEquals", "2020-06-01T12:00:00Z", true),
            ("DateEquals", "1591012800", true),
            ("DateNotEquals", "2020-06-01T12:00:00Z", false),
            ("DateLessThan", "2020-06-01T12:00:01Z", true),
            ("DateLessThan", "2020-06-01T12:00:00Z", false),
            ("DateLessThanEquals", "2020-06-01T12:00:00Z", true),
            ("DateGreaterThan", "2020-01-01", true),
            ("DateGreaterThanEquals", "2021", false),
            ("DateEquals", "2020-06-01T14:00:00+02:00", true),
        ] {
            assert_eq!(
                holds(
                    &format!(r#"{{"{op}":{{"aws:CurrentTime":"{value}"}}}}"#),
                    &c
                ),
                Some(expected),
                "{op} {value}"
            );
            assert_eq!(
                holds(&format!(r#"{{"{op}":{{"aws:EpochTime":"{value}"}}}}"#), &c),
                Some(expected),
                "epoch {op} {value}"
            );
        }
    }

    #[test]
    fn bool_binary_and_ip_operators() {
        let c = ctx(&[
            ("aws:SecureTransport", "false"),
            ("aws:SourceIp", "203.0.113.9"),
            ("s3:blob", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
        ]);
        assert_eq!(
            holds(r#"{"Bool":{"aws:SecureTransport":"false"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"Bool":{"aws:SecureTransport":true}}"#, &c),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"BinaryEquals":{"s3:blob":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"BinaryEquals":{"s3:blob":"QQ=="}}"#, &c),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]}}"#,
                &c
            ),
            Some(false)
        );
        assert_eq!(
            holds(r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, &c),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"IpAddress":{"aws:SourceIp":"2001:DB8::/32"}}"#, &c),
            Some(false)
        );
    }

    #[test]
    fn arn_operators_match_component_wise() {
        let c = ctx(&[("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")]);
        // "ArnEquals and ArnLike condition operators behave identically."
        for op in ["ArnEquals", "ArnLike"] {
            assert_eq!(
                holds(
                    &format!(r#"{{"{op}":{{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}}}"#),
                    &c
                ),
                Some(true)
            );
            assert_eq!(
                holds(
                    &format!(r#"{{"{op}":{{"aws:SourceArn":"arn:aws:sns:*:111111111111:*"}}}}"#),
                    &c
                ),
                Some(false)
            );
        }
        for op in ["ArnNotEquals", "ArnNotLike"] {
            assert_eq!(
                holds(
                    &format!(r#"{{"{op}":{{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}}}"#),
                    &c
                ),
                Some(false)
            );
        }
    }

    #[test]
    fn set_qualifiers() {
        let tags = |values: &[&'static str]| {
            let mut context = Context::new();
            context.insert_many("aws:TagKeys", values.iter().copied());
            context
        };
        let all = r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}"#;
        let any = r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}"#;
        // "ForAllValues – The condition returns true if there's a match between every one of the
        // specified key values in the request and at least one value in the policy."
        assert_eq!(holds(all, &tags(&["env"])), Some(true));
        assert_eq!(holds(all, &tags(&["env", "team"])), Some(true));
        assert_eq!(holds(all, &tags(&["env", "cost"])), Some(false));
        // "ForAnyValue – The condition returns true if any one of the key values in the request
        // matches any one of the condition values in the policy."
        assert_eq!(holds(any, &tags(&["env", "cost"])), Some(true));
        assert_eq!(holds(any, &tags(&["cost"])), Some(false));
        // "If the key values in the request resolve to an empty data set …, a condition operator
        // modified by ForAllValues returns true, and a condition operator modified by
        // ForAnyValue returns false."
        assert_eq!(holds(all, &Context::new()), Some(true));
        assert_eq!(holds(all, &tags(&[])), Some(true));
        assert_eq!(holds(any, &Context::new()), Some(false));
        assert_eq!(holds(any, &tags(&[])), Some(false));
    }

    #[test]
    fn negated_operators_under_set_qualifiers() {
        let tags = |values: &[&'static str]| {
            let mut context = Context::new();
            context.insert_many("aws:TagKeys", values.iter().copied());
            context
        };
        // The IAM User Guide's "Multivalued context key examples": ForAllValues:StringNotLike
        // with "key1*" does not match [key1:legal] or [key1:hr, key1:personnel], matches
        // [key2:audit], and matches when aws:TagKeys is absent.
        let policy = r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#;
        assert_eq!(holds(policy, &tags(&["key1:legal"])), Some(false));
        assert_eq!(
            holds(policy, &tags(&["key1:hr", "key1:personnel"])),
            Some(false)
        );
        assert_eq!(holds(policy, &tags(&["key2:audit"])), Some(true));
        assert_eq!(holds(policy, &Context::new()), Some(true));
        // ForAnyValue with a negated operator: some request value equals no policy value.
        let policy = r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}}"#;
        assert_eq!(holds(policy, &tags(&["env", "team"])), Some(false));
        assert_eq!(holds(policy, &tags(&["env", "cost"])), Some(true));
        assert_eq!(holds(policy, &Context::new()), Some(false));
    }

    #[test]
    fn multivalued_keys_without_a_qualifier_match_any_value() {
        // The documented choice of this engine (see the module comment).
        let mut c = Context::new();
        c.insert_many(
            "aws:CalledVia",
            ["cloudformation.amazonaws.com", "athena.amazonaws.com"],
        );
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:CalledVia":"athena.amazonaws.com"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:CalledVia":"athena.amazonaws.com"}}"#,
                &c
            ),
            Some(false)
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:CalledVia":"glue.amazonaws.com"}}"#,
                &c
            ),
            Some(true)
        );
    }

    #[test]
    fn variables_in_string_and_arn_values() {
        let c = ctx(&[
            ("ec2:ResourceTag/Project", "Apollo"),
            ("aws:PrincipalTag/Department", "Apollo"),
            ("aws:username", "alice"),
            ("aws:SourceArn", "arn:aws:s3:::alice-bucket"),
        ]);
        assert_eq!(
            holds(
                r#"{"StringEquals":{"ec2:ResourceTag/Project":"${aws:PrincipalTag/Department}"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringLike":{"aws:SourceArn":"*:${aws:username}-*"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${aws:username}-*"}}"#,
                &c
            ),
            Some(true)
        );
        assert_eq!(
            holds(
                r#"{"StringEqualsIgnoreCase":{"aws:username":"${aws:PrincipalTag/x, 'ALICE'}"}}"#,
                &c
            ),
            Some(true)
        );
        // "If AWS cannot resolve a variable, this might cause the entire statement to be
        // invalid": no default, key absent → the statement cannot apply, whatever the operator.
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:username":"${aws:PrincipalTag/missing}"}}"#,
                &c
            ),
            None
        );
        assert_eq!(
            holds(
                r#"{"StringNotEquals":{"aws:username":"${aws:PrincipalTag/missing}"}}"#,
                &c
            ),
            None
        );
        // With a default it resolves.
        assert_eq!(
            holds(
                r#"{"StringEquals":{"aws:username":"${aws:PrincipalTag/missing, 'alice'}"}}"#,
                &c
            ),
            Some(true)
        );
        // Escapes are literal characters.
        let star = ctx(&[("aws:username", "a*")]);
        assert_eq!(
            holds(r#"{"StringLike":{"aws:username":"a${*}"}}"#, &star),
            Some(true)
        );
        assert_eq!(
            holds(r#"{"StringLike":{"aws:username":"a${*}"}}"#, &c),
            Some(false)
        );
    }

    #[test]
    fn version_2008_treats_variables_as_text() {
        let c = ctx(&[("aws:username", "alice"), ("s3:prefix", "${aws:username}")]);
        assert_eq!(
            holds_with_version(
                r#"{"StringEquals":{"s3:prefix":"${aws:username}"}}"#,
                &c,
                false
            ),
            Some(true)
        );
        assert_eq!(
            holds_with_version(
                r#"{"StringEquals":{"aws:username":"${aws:username}"}}"#,
                &c,
                false
            ),
            Some(false)
        );
    }

    #[test]
    fn typed_values_are_checked_when_parsing() {
        for bad in [
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#,
            r#"{"NotIpAddress":{"aws:SourceIp":"999.0.0.1"}}"#,
            r#"{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}"#,
            r#"{"NumericEquals":{"s3:max-keys":"ten"}}"#,
            r#"{"NumericEquals":{"s3:max-keys":"${aws:x}"}}"#,
            r#"{"Bool":{"aws:SecureTransport":"yes"}}"#,
            r#"{"BinaryEquals":{"s3:b":"not base64!"}}"#,
            r#"{"Null":{"aws:k":"maybe"}}"#,
        ] {
            assert!(
                parse_error(bad)
                    .message()
                    .starts_with("Invalid Condition value"),
                "{bad}"
            );
        }
    }

    #[test]
    fn operator_names_and_keys_are_checked_when_parsing() {
        for bad in [
            r#"{"StringEqualz":{"aws:k":"v"}}"#,
            r#"{"ForSomeValues:StringEquals":{"aws:k":"v"}}"#,
            r#"{"ForAllValues:Null":{"aws:k":"true"}}"#,
            r#"{"IfExists":{"aws:k":"v"}}"#,
        ] {
            assert!(
                parse_error(bad)
                    .message()
                    .starts_with("Invalid Condition type"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_error(r#"{"StringEquals":{"nokey":"v"}}"#).message(),
            VENDOR_PREFIX_MESSAGE
        );
        assert_eq!(
            parse_error(r#"{"StringEquals":{"aws:k":[]}}"#),
            PolicyError::syntax()
        );
        assert_eq!(
            parse_error(r#"{"StringEquals":{"aws:k":{"a":1}}}"#),
            PolicyError::syntax()
        );
        assert_eq!(
            parse_error(r#"{"StringEquals":"v"}"#),
            PolicyError::syntax()
        );
        // Names are not case-sensitive, qualifiers and suffix included.
        let c = ctx(&[("aws:k", "v")]);
        assert_eq!(
            holds(r#"{"forallvalues:stringequalsifexists":{"aws:k":"v"}}"#, &c),
            Some(true)
        );
    }
}
