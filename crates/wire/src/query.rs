//! awsQuery: form-encoded parameters in, XML out.
//!
//! Parameters are flattened paths, as botocore's query serializer writes them: `Name=value`,
//! `Parent.Child=value`, lists as `Name.member.N` (1-based, `member` replaced by the list's member
//! name when the model gives one, and `Name=` alone for an empty list), maps as
//! `Name.entry.N.key` and `Name.entry.N.value`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Bound;

use http::request::Parts;
use palisade_core::Value;
use palisade_core::model::{
    Operation, ServiceModel, ShapeId, ShapeKind, Structure, TimestampFormat,
};
use palisade_core::service::ServiceError;

use crate::common::{
    self, MAX_DEPTH, expected_type, parse_text_scalar, scalar_text, serialization, too_deep,
};

/// The request's parameters, keyed by their full dotted names.
pub(crate) type Params = BTreeMap<String, String>;

/// The parameters of an awsQuery request: those of the URL's query string (a GET, or a
/// presigned URL) and those of the form body. A name given twice keeps its last value.
pub(crate) fn params(parts: &Parts, body: &[u8]) -> Result<Params, ServiceError> {
    let query = parts.uri.query().unwrap_or_default();
    let mut pairs = form_pairs(query.as_bytes())?;
    pairs.extend(form_pairs(body)?);
    Ok(pairs.into_iter().collect())
}

/// Parses `application/x-www-form-urlencoded` pairs, in order. Unlike a lossy decoder, text that
/// is not UTF-8 once percent-decoded is refused rather than silently altered.
pub(crate) fn form_pairs(input: &[u8]) -> Result<Vec<(String, String)>, ServiceError> {
    let mut pairs = Vec::new();
    for pair in input.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let name = halves.next().unwrap_or_default();
        let value = halves.next().unwrap_or_default();
        pairs.push((form_decode(name)?, form_decode(value)?));
    }
    Ok(pairs)
}

fn form_decode(raw: &[u8]) -> Result<String, ServiceError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes)
        .map_err(|_| serialization("The request's parameters are not valid UTF-8."))
}

/// Decodes the input structure `shape` from `params`.
pub(crate) fn decode(
    model: &'static ServiceModel,
    shape: ShapeId,
    params: &Params,
) -> Result<Value, ServiceError> {
    let decoder = Decoder { model, params };
    let ShapeKind::Structure(structure) = &common::shape(model, shape)?.kind else {
        return Err(ServiceError::internal("the input shape is not a structure"));
    };
    decoder.structure(structure, "", 1, false)
}

struct Decoder<'a> {
    model: &'static ServiceModel,
    params: &'a Params,
}

impl Decoder<'_> {
    /// Whether any parameter name starts with `prefix`.
    fn has_prefix(&self, prefix: &str) -> bool {
        self.params
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|(name, _)| name.starts_with(prefix))
    }

    /// The distinct indices `N` of parameters named `{prefix}N` or `{prefix}N.…`, in order.
    /// Gaps are allowed, as AWS allows them; names whose `N` is not a positive number are not
    /// list items and are ignored.
    fn indices(&self, prefix: &str) -> BTreeSet<u32> {
        self.params
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(name, _)| name.starts_with(prefix))
            .filter_map(|(name, _)| {
                let rest = name.get(prefix.len()..)?;
                let index = rest.split('.').next()?;
                index.parse::<u32>().ok().filter(|index| *index > 0)
            })
            .collect()
    }

    fn structure(
        &self,
        structure: &Structure,
        prefix: &str,
        depth: usize,
        sensitive: bool,
    ) -> Result<Value, ServiceError> {
        let mut members = BTreeMap::new();
        for member in structure.members {
            let name = if prefix.is_empty() {
                member.wire_name().to_owned()
            } else {
                format!("{prefix}.{}", member.wire_name())
            };
            if let Some(value) = self.value(member.target, &name, depth, sensitive)? {
                members.insert(member.name.to_owned(), value);
            }
        }
        Ok(Value::Map(members))
    }

    /// The value of shape `shape` sent under the parameter name `name`, if any was sent.
    fn value(
        &self,
        shape: ShapeId,
        name: &str,
        depth: usize,
        sensitive: bool,
    ) -> Result<Option<Value>, ServiceError> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let shape = common::shape(self.model, shape)?;
        let sensitive = sensitive || shape.sensitive;
        let nested = format!("{name}.");
        match &shape.kind {
            ShapeKind::Structure(structure) => {
                if !self.has_prefix(&nested) {
                    return Ok(None);
                }
                self.structure(structure, name, depth + 1, sensitive)
                    .map(Some)
            }
            ShapeKind::List {
                member,
                member_name,
                ..
            } => {
                let item_prefix = format!("{nested}{}.", member_name.unwrap_or("member"));
                let indices = self.indices(&item_prefix);
                if indices.is_empty() {
                    // `Name=` with nothing under it is how an empty list is sent.
                    return Ok(self
                        .params
                        .get(name)
                        .filter(|text| text.is_empty())
                        .map(|_| Value::List(Vec::new())));
                }
                let mut items = Vec::with_capacity(indices.len());
                for index in indices {
                    let item_name = format!("{item_prefix}{index}");
                    if let Some(item) = self.value(*member, &item_name, depth + 1, sensitive)? {
                        items.push(item);
                    }
                }
                Ok(Some(Value::List(items)))
            }
            ShapeKind::Map { key, value, .. } => {
                let entry_prefix = format!("{nested}entry.");
                let indices = self.indices(&entry_prefix);
                if indices.is_empty() {
                    return Ok(None);
                }
                let mut entries = BTreeMap::new();
                for index in indices {
                    let entry = format!("{entry_prefix}{index}");
                    let key_value =
                        self.value(*key, &format!("{entry}.key"), depth + 1, sensitive)?;
                    let item =
                        self.value(*value, &format!("{entry}.value"), depth + 1, sensitive)?;
                    if let (Some(Value::String(key)), Some(item)) = (key_value, item) {
                        entries.insert(key, item);
                    }
                }
                Ok(Some(Value::Map(entries)))
            }
            // awsQuery has no way to send a document.
            ShapeKind::Document => Ok(None),
            kind => {
                let Some(text) = self.params.get(name) else {
                    return Ok(None);
                };
                parse_text_scalar(kind, text).map(Some).map_err(|()| {
                    let shown = if sensitive {
                        String::new()
                    } else {
                        format!(" '{text}'")
                    };
                    ServiceError::validation(format!(
                        "1 validation error detected: Value{shown} at '{name}' failed to satisfy constraint: Member must be {}",
                        expected_type(kind)
                    ))
                })
            }
        }
    }
}

/// Appends `text` escaped for XML content or a quoted attribute.
///
/// A carriage return is written as a character reference, since XML parsers turn a literal one
/// into a line feed. Characters XML 1.0 cannot carry at all, even escaped (most C0 controls),
/// become U+FFFD: the alternative is a document the client cannot parse.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
}

/// Appends `<name>text</name>`.
fn text_element(name: &str, text: &str, out: &mut String) {
    let _ = write!(out, "<{name}>");
    escape(text, out);
    let _ = write!(out, "</{name}>");
}

/// `<{Operation}Response xmlns="…"><{ResultWrapper}>…</{ResultWrapper}><ResponseMetadata>
/// <RequestId>…</RequestId></ResponseMetadata></{Operation}Response>`.
pub(crate) fn response_document(
    model: &'static ServiceModel,
    operation: &Operation,
    output: &Value,
    request_id: &str,
) -> String {
    let mut out = String::new();
    let _ = write!(out, "<{}Response", operation.name);
    if let Some(namespace) = model.xml_namespace {
        out.push_str(" xmlns=\"");
        escape(namespace, &mut out);
        out.push('"');
    }
    out.push('>');
    let encoder = Encoder { model };
    let members = |out: &mut String| {
        if let Some(shape) = operation.output {
            encoder.members(shape, output, out, 1);
        }
    };
    match operation.result_wrapper {
        Some(wrapper) => {
            let _ = write!(out, "<{wrapper}>");
            members(&mut out);
            let _ = write!(out, "</{wrapper}>");
        }
        None => members(&mut out),
    }
    out.push_str("<ResponseMetadata>");
    text_element("RequestId", request_id, &mut out);
    let _ = write!(out, "</ResponseMetadata></{}Response>", operation.name);
    out
}

/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
pub(crate) fn error_document(
    namespace: Option<&str>,
    fault: &str,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    let mut out = String::from("<ErrorResponse");
    if let Some(namespace) = namespace {
        out.push_str(" xmlns=\"");
        escape(namespace, &mut out);
        out.push('"');
    }
    out.push_str("><Error>");
    text_element("Type", fault, &mut out);
    text_element("Code", code, &mut out);
    text_element("Message", message, &mut out);
    out.push_str("</Error>");
    text_element("RequestId", request_id, &mut out);
    out.push_str("</ErrorResponse>");
    out
}

/// Writes output values as XML elements under the model.
struct Encoder {
    model: &'static ServiceModel,
}

impl Encoder {
    /// The members of structure `shape` present in `value`, as elements named by wire name.
    fn members(&self, shape: ShapeId, value: &Value, out: &mut String, depth: usize) {
        let Some(ShapeKind::Structure(structure)) = self.model.shape(shape).map(|shape| shape.kind)
        else {
            return;
        };
        for member in structure.members {
            if let Some(item) = value.get(member.name) {
                self.element(member.wire_name(), Some(member.target), item, out, depth);
            }
        }
    }

    /// `<name>…</name>` holding `value` as the shape `shape`.
    fn element(
        &self,
        name: &str,
        shape: Option<ShapeId>,
        value: &Value,
        out: &mut String,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let kind = shape
            .and_then(|id| self.model.shape(id))
            .map(|shape| shape.kind);
        let timestamps = match kind {
            Some(ShapeKind::Timestamp { format }) => format.unwrap_or(TimestampFormat::Iso8601),
            _ => TimestampFormat::Iso8601,
        };
        if let Some(text) = scalar_text(value, timestamps) {
            text_element(name, &text, out);
            return;
        }
        let _ = write!(out, "<{name}>");
        match (kind, value) {
            (Some(ShapeKind::Structure(_)), Value::Map(_)) => {
                if let Some(id) = shape {
                    self.members(id, value, out, depth + 1);
                }
            }
            (
                Some(ShapeKind::List {
                    member,
                    member_name,
                    ..
                }),
                Value::List(items),
            ) => {
                let item_name = member_name.unwrap_or("member");
                for item in items.iter().filter(|item| !item.is_null()) {
                    self.element(item_name, Some(member), item, out, depth + 1);
                }
            }
            (Some(ShapeKind::Map { value: target, .. }), Value::Map(entries)) => {
                self.entries(entries, Some(target), out, depth);
            }
            // A value that disagrees with its shape: written by its own structure, in element
            // names that are always valid XML whatever the keys hold.
            (_, Value::List(items)) => {
                for item in items.iter().filter(|item| !item.is_null()) {
                    self.element("member", None, item, out, depth + 1);
                }
            }
            (_, Value::Map(entries)) => self.entries(entries, None, out, depth),
            (_, _) => {}
        }
        let _ = write!(out, "</{name}>");
    }

    fn entries(
        &self,
        entries: &BTreeMap<String, Value>,
        shape: Option<ShapeId>,
        out: &mut String,
        depth: usize,
    ) {
        for (key, item) in entries.iter().filter(|(_, item)| !item.is_null()) {
            out.push_str("<entry>");
            text_element("key", key, out);
            self.element("value", shape, item, out, depth + 1);
            out.push_str("</entry>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent() {
        let params: Params = form_pairs(b"Action=Get+It&Name=a%2Bb%26c&Empty=&Flag&&x=%E2%9C%93")
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(params["Action"], "Get It");
        assert_eq!(params["Name"], "a+b&c");
        assert_eq!(params["Empty"], "");
        assert_eq!(params["Flag"], "");
        assert_eq!(params["x"], "✓");
    }

    #[test]
    fn forms_refuse_invalid_utf8() {
        assert!(form_pairs(b"Name=%FF").is_err());
        assert_eq!(
            form_pairs(b"Name=%").unwrap(),
            [("Name".to_owned(), "%".to_owned())],
            "a lone % is kept as text"
        );
    }

    #[test]
    fn escaping_keeps_xml_well_formed() {
        let mut out = String::new();
        escape("a<b>&\"c'\r\n\u{1}", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos;&#xD;\n\u{fffd}");
    }
}
