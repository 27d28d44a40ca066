//! restJson1: members bound to the path, the query string, headers and the status code, the rest
//! in a JSON body.

use std::collections::BTreeMap;

use http::StatusCode;
use http::request::Parts;
use palisade_core::Value;
use palisade_core::model::{Location, Member, ServiceModel, ShapeKind, TimestampFormat};
use palisade_core::service::ServiceError;

use crate::common::{self, expected_type, parse_text_scalar, scalar_text, serialization};
use crate::response::{self, ResponseBuilder};
use crate::{Route, json, query};

/// A value that arrived as text in the HTTP message but is not of its member's type.
fn bad_text(kind: &ShapeKind, place: &str, name: &str) -> ServiceError {
    serialization(format!(
        "The value of {place} '{name}' can not be converted to {}",
        expected_type(kind)
    ))
}

/// Parses the text `text` for `member`.
fn text_member(
    model: &ServiceModel,
    member: &Member,
    text: &str,
    place: &str,
) -> Result<Value, ServiceError> {
    let kind = &common::shape(model, member.target)?.kind;
    parse_text_scalar(kind, text).map_err(|()| bad_text(kind, place, member.wire_name()))
}

/// Splits a header holding a list: items separated by commas, an item with a comma or a quote in
/// it sent quoted with `\"` escapes (as botocore and the SDKs write it).
fn split_header_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut item = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => item.extend(chars.next()),
                    '"' => break,
                    _ => item.push(c),
                }
            }
            // Anything between the closing quote and the comma is not part of the item.
            while chars.next_if(|c| *c != ',').is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                item.push(c);
            }
            item.truncate(item.trim_end().len());
        }
        items.push(item);
        if chars.next().is_none() {
            return items;
        }
    }
}

/// Decodes a restJson1 request into its input structure.
pub(crate) fn decode(route: &Route, parts: &Parts, body: &[u8]) -> Result<Value, ServiceError> {
    let model = route.model;
    let Some(shape) = route.operation.input else {
        return Ok(Value::empty_struct());
    };
    let ShapeKind::Structure(structure) = &common::shape(model, shape)?.kind else {
        return Err(ServiceError::internal("the input shape is not a structure"));
    };
    let mut members = json::decode_members(model, shape, json::parse_object(body)?)?;
    let query = query::form_pairs(parts.uri.query().unwrap_or_default().as_bytes())?;
    // Query parameters that a named member claims; a map member bound to the query string takes
    // all the others.
    let named_query: Vec<&str> = structure
        .members
        .iter()
        .filter(|member| member.location == Location::QueryString && member.location_name.is_some())
        .map(|member| member.wire_name())
        .collect();
    for member in structure.members {
        let value = match member.location {
            Location::Body | Location::StatusCode => None,
            Location::Uri => route
                .path_labels
                .iter()
                .find(|(label, _)| label == member.wire_name())
                .map(|(_, text)| text_member(model, &member, text, "label"))
                .transpose()?,
            Location::QueryString => query_member(model, &member, &query, &named_query)?,
            Location::Header => header_member(model, &member, parts)?,
            Location::Headers => {
                let prefix = member.wire_name().to_ascii_lowercase();
                let mut map = BTreeMap::new();
                for (name, value) in &parts.headers {
                    if let Some(key) = name.as_str().strip_prefix(&prefix) {
                        let text = value.to_str().map_err(|_| {
                            serialization(format!("The header '{name}' is not valid text."))
                        })?;
                        map.insert(key.to_owned(), Value::String(text.to_owned()));
                    }
                }
                (!map.is_empty()).then_some(Value::Map(map))
            }
        };
        if let Some(value) = value {
            members.insert(member.name.to_owned(), value);
        }
    }
    Ok(Value::Map(members))
}

fn query_member(
    model: &ServiceModel,
    member: &Member,
    query: &[(String, String)],
    named: &[&str],
) -> Result<Option<Value>, ServiceError> {
    let kind = &common::shape(model, member.target)?.kind;
    let name = member.wire_name();
    match kind {
        ShapeKind::List { member: item, .. } => {
            let item_kind = &common::shape(model, *item)?.kind;
            let items = query
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, text)| {
                    parse_text_scalar(item_kind, text)
                        .map_err(|()| bad_text(item_kind, "query parameter", name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!items.is_empty()).then_some(Value::List(items)))
        }
        ShapeKind::Map { value, .. } => {
            let value_kind = &common::shape(model, *value)?.kind;
            let mut map: BTreeMap<String, Value> = BTreeMap::new();
            for (key, text) in query
                .iter()
                .filter(|(key, _)| !named.contains(&key.as_str()))
            {
                match value_kind {
                    ShapeKind::List { .. } => {
                        if let Value::List(items) = map
                            .entry(key.clone())
                            .or_insert_with(|| Value::List(Vec::new()))
                        {
                            items.push(Value::String(text.clone()));
                        }
                    }
                    _ => {
                        map.entry(key.clone())
                            .or_insert_with(|| Value::String(text.clone()));
                    }
                }
            }
            Ok((!map.is_empty()).then_some(Value::Map(map)))
        }
        _ => query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, text)| {
                parse_text_scalar(kind, text).map_err(|()| bad_text(kind, "query parameter", name))
            })
            .transpose(),
    }
}

fn header_member(
    model: &ServiceModel,
    member: &Member,
    parts: &Parts,
) -> Result<Option<Value>, ServiceError> {
    let name = member.wire_name();
    let Some(header) = parts.headers.get(name) else {
        return Ok(None);
    };
    let text = header
        .to_str()
        .map_err(|_| serialization(format!("The header '{name}' is not valid text.")))?;
    let kind = &common::shape(model, member.target)?.kind;
    match kind {
        ShapeKind::List { member: item, .. } => {
            let item_kind = &common::shape(model, *item)?.kind;
            split_header_list(text)
                .iter()
                .map(|item| {
                    parse_text_scalar(item_kind, item)
                        .map_err(|()| bad_text(item_kind, "header", name))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|items| Some(Value::List(items)))
        }
        _ => text_member(model, member, text, "header").map(Some),
    }
}

/// Quotes a header list item when it holds a comma or a quote.
fn header_list_item(text: &str) -> String {
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text.to_owned()
    }
}

/// Encodes a restJson1 response: the status, header-bound members as headers, the rest as JSON.
pub(crate) fn encode(
    route: &Route,
    output: &Value,
    request_id: &str,
) -> http::Response<bytes::Bytes> {
    let model = route.model;
    let status = StatusCode::from_u16(route.operation.http.response_code).unwrap_or(StatusCode::OK);
    let mut builder = ResponseBuilder::new(status, request_id);
    let mut status = status;
    let structure = route
        .operation
        .output
        .and_then(|id| model.shape(id))
        .and_then(|shape| match shape.kind {
            ShapeKind::Structure(structure) => Some(structure),
            _ => None,
        });
    for member in structure
        .map(|structure| structure.members)
        .unwrap_or_default()
    {
        let Some(value) = output.get(member.name) else {
            continue;
        };
        let format = match model.shape(member.target).map(|shape| shape.kind) {
            Some(ShapeKind::Timestamp { format }) => format.unwrap_or(TimestampFormat::Rfc822),
            _ => TimestampFormat::Rfc822,
        };
        match member.location {
            Location::Header => {
                let text = match value {
                    Value::List(items) => items
                        .iter()
                        .filter_map(|item| scalar_text(item, format))
                        .map(|item| header_list_item(&item))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => scalar_text(value, format).unwrap_or_default(),
                };
                builder.header(member.wire_name(), &text);
            }
            Location::Headers => {
                if let Value::Map(entries) = value {
                    for (key, item) in entries {
                        if let Some(text) = scalar_text(item, format) {
                            builder.header(&format!("{}{key}", member.wire_name()), &text);
                        }
                    }
                }
            }
            Location::StatusCode => {
                if let Value::Int(code) = value
                    && let Some(code) = u16::try_from(*code)
                        .ok()
                        .and_then(|code| StatusCode::from_u16(code).ok())
                {
                    status = code;
                }
            }
            Location::Body | Location::Uri | Location::QueryString => {}
        }
    }
    builder.status(status);
    // 204 and 304 responses cannot have a body; every other one gets a JSON object, `{}` when
    // empty, as AWS sends.
    if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return builder.body(Vec::new());
    }
    builder.header("content-type", response::REST_JSON);
    let encoder = json::Encoder {
        model,
        timestamps: TimestampFormat::EpochSeconds,
    };
    builder.body(
        encoder
            .members(route.operation.output, output)
            .to_string()
            .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_split_on_commas_outside_quotes() {
        assert_eq!(split_header_list("a, b,c"), ["a", "b", "c"]);
        assert_eq!(
            split_header_list(r#""a,b", "say \"hi\"", c"#),
            ["a,b", "say \"hi\"", "c"]
        );
        assert_eq!(split_header_list(""), [""]);
        assert_eq!(split_header_list("\"unterminated"), ["unterminated"]);
    }

    #[test]
    fn header_list_items_round_trip() {
        let items = ["plain", "a,b", "say \"hi\""];
        let joined = items
            .iter()
            .map(|item| header_list_item(item))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(split_header_list(&joined), items);
    }
}
