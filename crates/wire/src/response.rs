//! Assembling responses: status, the headers every response carries, and the body.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use palisade_core::model::ServiceModel;

/// awsQuery responses.
pub(crate) const XML: &str = "text/xml";
/// restJson1 responses.
pub(crate) const REST_JSON: &str = "application/json";
/// RPC v2 CBOR responses.
pub(crate) const CBOR: &str = "application/cbor";

/// `application/x-amz-json-1.0` or `-1.1`, as the model says; 1.0 when it says nothing (or when
/// the service is not known yet), since JSON clients read an error body whatever its version.
pub(crate) fn json_content_type(model: Option<&ServiceModel>) -> &'static str {
    match model.and_then(|model| model.json_version) {
        Some("1.1") => "application/x-amz-json-1.1",
        _ => "application/x-amz-json-1.0",
    }
}

/// A response under construction.
pub(crate) struct ResponseBuilder {
    status: StatusCode,
    headers: HeaderMap,
}

impl ResponseBuilder {
    /// A response with `status` and the request id header.
    pub(crate) fn new(status: StatusCode, request_id: &str) -> Self {
        let mut builder = Self {
            status,
            headers: HeaderMap::new(),
        };
        builder.header("x-amzn-requestid", request_id);
        builder
    }

    pub(crate) fn status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// Sets a header. A value HTTP cannot carry (a control character from a service's string,
    /// say) is left out rather than failing the whole response: the body still carries the data.
    pub(crate) fn header(&mut self, name: &str, value: &str) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.append(name, value);
        }
    }

    /// The headers that mark an RPC v2 CBOR response.
    pub(crate) fn cbor_headers(&mut self) {
        self.header("content-type", CBOR);
        self.header("smithy-protocol", "rpc-v2-cbor");
    }

    /// The finished response.
    pub(crate) fn body(self, body: Vec<u8>) -> Response<Bytes> {
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}
