//! Helpers shared by the tests.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::Response;
use http::request::Parts;
use palisade_core::Value;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{Route, RouteError, Router};

use crate::models;

/// The head of a request.
pub fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

/// A structure or map value.
pub fn obj(members: &[(&str, Value)]) -> Value {
    Value::Map(
        members
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

pub fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

pub fn router() -> Router {
    Router::new(&*models::ALL)
}

pub fn try_route(parts: &Parts, body: &[u8], signing: Option<&str>) -> Result<Route, RouteError> {
    router().route(parts, body, signing)
}

pub fn route(parts: &Parts, body: &[u8], signing: Option<&str>) -> Route {
    try_route(parts, body, signing).unwrap_or_else(|error| panic!("not routed: {error}"))
}

/// Routes then decodes a request.
pub fn decode(parts: &Parts, body: &[u8]) -> Result<Value, ServiceError> {
    let route = route(parts, body, None);
    palisade_wire::decode(&route, parts, body)
}

/// The common error kind of a decode failure, with its message.
pub fn common(result: Result<Value, ServiceError>) -> (CommonError, String) {
    let error = result.expect_err("expected an error");
    (error.common_kind().expect("a common error"), error.message)
}

pub fn header<'a>(response: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

pub fn json_body(response: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

pub fn text_body(response: &Response<Bytes>) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}
