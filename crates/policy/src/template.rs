//! Policy variables in Resource and in string and ARN condition values.
//!
//! Rules (IAM User Guide, "IAM policy elements: Variables and tags"):
//! - A variable is `${key}`; "When the policy is evaluated, the policy variables are replaced
//!   with values that come from the context of the request itself".
//! - A default is written `${key, 'default'}` and is used when the key is absent.
//! - `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`: "inserting an * asterisk in
//!   the string would be interpreted as a wildcard … In these cases, you can use the following
//!   predefined policy variables".
//! - "Variables were introduced in version 2012-10-17 … If you don't include the Version element
//!   and set it to an appropriate version date, variables like ${aws:username} are treated as
//!   literal strings in the policy."
//! - "If AWS cannot resolve a variable, this might cause the entire statement to be invalid":
//!   a variable whose key is absent and has no default makes the statement not apply (resolution
//!   returns `None` and the statement is skipped).
//! - "You can use any available single-valued context key as a policy variable, but you can't
//!   use a multivalued context key as a policy variable": a key with several values does not
//!   resolve either.
//!
//! A substituted value is literal text: a `*` in a tag value does not become a wildcard, so a
//! principal cannot widen a pattern by choosing its own tag values.

use std::borrow::Cow;

use crate::context::{Context, KeyName};
use crate::glob::{Tok, push_literal_text, push_wildcard_text};

/// A policy value that is either fully known when the policy is parsed (`Static`, already
/// compiled) or needs the request's context (`Dynamic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template<T> {
    Static(T),
    Dynamic(Box<[Part]>),
}

/// A piece of a value containing variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text as written (wildcards in it are wildcards where the value is a pattern).
    Text(Box<str>),
    /// A character from `${*}`, `${?}` or `${$}`: always literal.
    Escaped(char),
    Variable {
        key: KeyName,
        default: Option<Box<str>>,
    },
}

/// Splits `text` into parts. Without variable support (Version 2008-10-17) the whole text is one
/// literal part. A `${` without a closing brace, or whose inside is not a key (optionally with a
/// quoted default), is ordinary text.
pub(crate) fn parse_parts(text: &str, variables_enabled: bool) -> Vec<Part> {
    let mut parts = Vec::new();
    if !variables_enabled {
        parts.push(Part::Text(text.into()));
        return parts;
    }
    let mut text_start = 0;
    let mut search_from = 0;
    while let Some(found) = text.get(search_from..).and_then(|rest| rest.find("${")) {
        let open = search_from + found;
        let inner_start = open + 2;
        let Some(close) = text.get(inner_start..).and_then(|rest| rest.find('}')) else {
            break;
        };
        let inner_end = inner_start + close;
        search_from = inner_end + 1;
        let Some(part) = text.get(inner_start..inner_end).and_then(variable) else {
            // Not a variable: leave it in the surrounding text and look further on.
            search_from = inner_start;
            continue;
        };
        if let Some(before) = text.get(text_start..open).filter(|t| !t.is_empty()) {
            parts.push(Part::Text(before.into()));
        }
        parts.push(part);
        text_start = inner_end + 1;
    }
    if let Some(rest) = text.get(text_start..).filter(|t| !t.is_empty()) {
        parts.push(Part::Text(rest.into()));
    }
    parts
}

fn variable(inner: &str) -> Option<Part> {
    match inner {
        "*" => return Some(Part::Escaped('*')),
        "?" => return Some(Part::Escaped('?')),
        "$" => return Some(Part::Escaped('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let quoted = default.trim();
            let default = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(default.into()))
        }
        None => (inner.trim(), None),
    };
    let valid_key = !key.is_empty()
        && key.contains(':')
        && !key.contains(|c: char| c.is_whitespace() || c == '$' || c == '{');
    valid_key.then(|| Part::Variable {
        key: KeyName::new(key),
        default,
    })
}

/// Whether any part needs the request context.
pub(crate) fn has_variables(parts: &[Part]) -> bool {
    parts
        .iter()
        .any(|part| matches!(part, Part::Variable { .. }))
}

/// Appends the parts as pattern tokens (text keeps its wildcards, escapes and substituted values
/// are literal). `None` when a variable does not resolve.
pub(crate) fn push_tokens(parts: &[Part], context: &Context<'_>, out: &mut Vec<Tok>) -> Option<()> {
    for part in parts {
        match part {
            Part::Text(text) => push_wildcard_text(text, out),
            Part::Escaped(c) => push_literal_text(c.encode_utf8(&mut [0; 4]), out),
            Part::Variable { key, default } => {
                push_literal_text(resolve(key, default.as_deref(), context)?, out);
            }
        }
    }
    Some(())
}

/// The parts as a plain string (nothing is a wildcard). Borrows when the value is one variable
/// or one piece of text. `None` when a variable does not resolve.
pub(crate) fn to_text<'c>(parts: &'c [Part], context: &'c Context<'_>) -> Option<Cow<'c, str>> {
    if let [single] = parts {
        return Some(match single {
            Part::Text(text) => Cow::Borrowed(&**text),
            Part::Escaped(c) => Cow::Owned(c.to_string()),
            Part::Variable { key, default } => {
                Cow::Borrowed(resolve(key, default.as_deref(), context)?)
            }
        });
    }
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Text(piece) => text.push_str(piece),
            Part::Escaped(c) => text.push(*c),
            Part::Variable { key, default } => {
                text.push_str(resolve(key, default.as_deref(), context)?);
            }
        }
    }
    Some(Cow::Owned(text))
}

/// The static text of parts without variables.
pub(crate) fn static_text(parts: &[Part]) -> String {
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Text(piece) => text.push_str(piece),
            Part::Escaped(c) => text.push(*c),
            Part::Variable { .. } => {}
        }
    }
    text
}

fn resolve<'c>(
    key: &KeyName,
    default: Option<&'c str>,
    context: &'c Context<'_>,
) -> Option<&'c str> {
    match context.lookup(key) {
        Some([value]) => Some(value),
        Some(_) => None,
        None => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::{Case, Glob};

    fn glob(text: &str, context: &Context<'_>) -> Option<Glob> {
        let mut tokens = Vec::new();
        push_tokens(&parse_parts(text, true), context, &mut tokens)?;
        Some(Glob::new(tokens))
    }

    #[test]
    fn splits_variables_defaults_and_escapes() {
        assert_eq!(
            parse_parts(
                "home/${aws:username}/${aws:PrincipalTag/team, 'company-wide'}${*}",
                true
            ),
            vec![
                Part::Text("home/".into()),
                Part::Variable {
                    key: KeyName::new("aws:username"),
                    default: None
                },
                Part::Text("/".into()),
                Part::Variable {
                    key: KeyName::new("aws:PrincipalTag/team"),
                    default: Some("company-wide".into())
                },
                Part::Escaped('*'),
            ]
        );
    }

    #[test]
    fn malformed_variables_are_text() {
        for text in ["${", "${}", "a${b", "${no-colon}", "${aws:x, unquoted}"] {
            let parts = parse_parts(text, true);
            assert!(!has_variables(&parts), "{text}");
            assert_eq!(static_text(&parts), text);
        }
    }

    #[test]
    fn version_2008_keeps_variables_literal() {
        // "If you don't include the Version element … variables like ${aws:username} are
        // treated as literal strings in the policy."
        assert_eq!(
            parse_parts("${aws:username}", false),
            vec![Part::Text("${aws:username}".into())]
        );
    }

    #[test]
    fn substituted_values_and_escapes_are_literal() {
        let context = Context::new().with("aws:username", "a*");
        let pattern = glob("home/${aws:username}", &context).unwrap();
        assert!(pattern.matches("home/a*", Case::Sensitive));
        assert!(!pattern.matches("home/abc", Case::Sensitive));
        let pattern = glob("x${?}", &context).unwrap();
        assert!(pattern.matches("x?", Case::Sensitive));
        assert!(!pattern.matches("xy", Case::Sensitive));
    }

    #[test]
    fn defaults_apply_only_to_absent_keys() {
        let context = Context::new().with("aws:PrincipalTag/team", "blue");
        let parts = parse_parts(
            "${aws:PrincipalTag/team, 'none'}/${aws:PrincipalTag/x, 'none'}",
            true,
        );
        assert_eq!(to_text(&parts, &context).as_deref(), Some("blue/none"));
    }

    #[test]
    fn unresolvable_variables_resolve_to_nothing() {
        let mut context = Context::new();
        let parts = parse_parts("${aws:username}", true);
        assert_eq!(to_text(&parts, &context), None);
        // "you can't use a multivalued context key as a policy variable"
        context.insert_many("aws:username", ["a", "b"]);
        assert_eq!(to_text(&parts, &context), None);
    }
}
