//! The AWS wire protocols, as pure functions over [`http`] types.
//!
//! Palisade's services see only a protocol-neutral [`Value`]; this crate stands between them and
//! the HTTP messages that real AWS SDKs send and expect:
//!
//! - [`Router::route`] finds the service, the protocol and the operation of a request.
//! - [`decode`] reads the request's input under the model and checks the model's constraints.
//! - [`encode`] writes an operation's output, and [`encode_error`] an error, as the protocol
//!   the client spoke.
//! - [`protocol_hint`] guesses the protocol of a request that fails before it is routed.
//!
//! The protocols: awsJson 1.0 and 1.1, awsQuery, restJson1 and Smithy RPC v2 CBOR (which every
//! awsJson service also accepts). botocore's serializers and parsers are the reference for what
//! clients send and read.
//!
//! Nothing here panics on network input: malformed bodies, wrong types and hostile nesting
//! (more than 64 levels) become 4xx errors in the client's protocol.

mod cbor;
mod common;
mod errors;
mod json;
mod query;
mod response;
mod rest;
mod router;
mod timestamp;

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use palisade_core::Value;
use palisade_core::model::{Protocol, TimestampFormat};
use palisade_core::service::ServiceError;

pub use errors::{ErrorCode, common_error_code, encode_error, error_code};
pub use router::{Route, RouteError, Router, protocol_hint};

use response::ResponseBuilder;

/// Reads the input of a routed request, then checks it against the model's constraints.
///
/// An operation without an input shape reads as an empty structure. A body that is not the
/// protocol's document, or a member of the wrong type, is a `Serialization` error (awsQuery
/// reports a parameter of the wrong type as a `Validation` error, as AWS does); a broken
/// constraint is a `Validation` error worded as AWS words it.
pub fn decode(route: &Route, parts: &Parts, body: &[u8]) -> Result<Value, ServiceError> {
    let model = route.model;
    let Some(input) = route.operation.input else {
        return Ok(Value::empty_struct());
    };
    let value = match route.protocol {
        Protocol::Json => {
            let object = json::parse_object(body)?;
            Value::Map(json::decode_members(model, input, object)?)
        }
        Protocol::Query => query::decode(model, input, &query::params(parts, body)?)?,
        Protocol::RestJson => rest::decode(route, parts, body)?,
        Protocol::RpcV2Cbor => cbor::decode(model, input, body)?,
    };
    palisade_core::validate::validate(model, input, &value).map_err(ServiceError::validation)?;
    Ok(value)
}

/// Writes the successful response of a routed request: `output` as the operation's output
/// shape, in the request's protocol, with the `x-amzn-RequestId` header (and, in awsQuery, the
/// `<RequestId>` element).
pub fn encode(route: &Route, output: &Value, request_id: &str) -> Response<Bytes> {
    let model = route.model;
    let operation = route.operation;
    match route.protocol {
        Protocol::RestJson => rest::encode(route, output, request_id),
        Protocol::Json => {
            let mut builder = ResponseBuilder::new(StatusCode::OK, request_id);
            builder.header("content-type", response::json_content_type(Some(model)));
            let encoder = json::Encoder {
                model,
                timestamps: TimestampFormat::EpochSeconds,
            };
            let body = encoder.members(operation.output, output).to_string();
            builder.body(body.into_bytes())
        }
        Protocol::Query => {
            let mut builder = ResponseBuilder::new(StatusCode::OK, request_id);
            builder.header("content-type", response::XML);
            let body = query::response_document(model, &operation, output, request_id);
            builder.body(body.into_bytes())
        }
        Protocol::RpcV2Cbor => {
            let mut builder = ResponseBuilder::new(StatusCode::OK, request_id);
            builder.cbor_headers();
            let mut encoder = cbor::Encoder::new(model);
            encoder.structure(operation.output, output);
            builder.body(encoder.finish())
        }
    }
}
