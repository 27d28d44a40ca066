//! Rendering a [`ServiceError`] in the words of each protocol.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Response, StatusCode};
use palisade_core::model::{Protocol, ServiceModel, ShapeKind};
use palisade_core::service::{CommonError, ErrorKind, ServiceError};

use crate::response::{self, ResponseBuilder};
use crate::{cbor, query};

/// How one protocol names a [`CommonError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The code clients match on, e.g. `ValidationException` or, in awsQuery, `ValidationError`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
}

impl ErrorCode {
    /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
    pub fn sender_fault(self) -> bool {
        self.status < 500
    }
}

/// The code and status of a common error in `protocol`: the one table of them.
///
/// awsJson and RPC v2 CBOR answer alike. restJson1 services answer authentication failures with
/// 403 where the JSON services say 400, and an unknown path with 404. awsQuery has its own older
/// vocabulary (AWS's "Common Errors" pages).
///
/// | error | awsJson / CBOR | restJson1 | awsQuery |
/// | --- | --- | --- | --- |
/// | Validation | `ValidationException` 400 | `ValidationException` 400 | `ValidationError` 400 |
/// | Serialization | `SerializationException` 400 | `SerializationException` 400 | `MalformedInput` 400 |
/// | NotImplemented | `NotImplemented` 501 | `NotImplemented` 501 | `NotImplemented` 501 |
/// | UnknownOperation | `UnknownOperationException` 400 | `UnknownOperationException` 404 | `InvalidAction` 400 |
/// | MissingAction | `MissingAction` 400 | `MissingAction` 400 | `MissingAction` 400 |
/// | AccessDenied | `AccessDeniedException` 400 | `AccessDeniedException` 403 | `AccessDenied` 403 |
/// | MissingAuthenticationToken | `MissingAuthenticationTokenException` 400 | `MissingAuthenticationTokenException` 403 | `MissingAuthenticationToken` 403 |
/// | IncompleteSignature | `IncompleteSignatureException` 400 | `IncompleteSignatureException` 403 | `IncompleteSignature` 400 |
/// | InvalidSignature | `InvalidSignatureException` 400 | `InvalidSignatureException` 403 | `SignatureDoesNotMatch` 403 |
/// | UnrecognizedClient | `UnrecognizedClientException` 400 | `UnrecognizedClientException` 403 | `InvalidClientTokenId` 403 |
/// | RequestExpired | `InvalidSignatureException` 400 | `InvalidSignatureException` 403 | `SignatureDoesNotMatch` 403 |
/// | ExpiredToken | `ExpiredTokenException` 400 | `ExpiredTokenException` 403 | `ExpiredToken` 400 |
/// | RequestTooLarge | `RequestEntityTooLargeException` 413 | `RequestEntityTooLargeException` 413 | `RequestEntityTooLarge` 413 |
/// | InternalFailure | `InternalFailure` 500 | `InternalFailure` 500 | `InternalFailure` 500 |
///
/// A request outside its time window is answered as AWS answers it: as a signature failure, whose
/// message (the caller words it) starts `Signature expired:`.
pub fn common_error_code(protocol: Protocol, error: CommonError) -> ErrorCode {
    use CommonError as E;
    let rest = protocol == Protocol::RestJson;
    let (code, status) = if protocol == Protocol::Query {
        match error {
            E::Validation => ("ValidationError", 400),
            E::Serialization => ("MalformedInput", 400),
            E::NotImplemented => ("NotImplemented", 501),
            E::UnknownOperation => ("InvalidAction", 400),
            E::MissingAction => ("MissingAction", 400),
            E::AccessDenied => ("AccessDenied", 403),
            E::MissingAuthenticationToken => ("MissingAuthenticationToken", 403),
            E::IncompleteSignature => ("IncompleteSignature", 400),
            E::InvalidSignature | E::RequestExpired => ("SignatureDoesNotMatch", 403),
            E::UnrecognizedClient => ("InvalidClientTokenId", 403),
            E::ExpiredToken => ("ExpiredToken", 400),
            E::RequestTooLarge => ("RequestEntityTooLarge", 413),
            E::InternalFailure => ("InternalFailure", 500),
        }
    } else {
        let auth_status = if rest { 403 } else { 400 };
        match error {
            E::Validation => ("ValidationException", 400),
            E::Serialization => ("SerializationException", 400),
            E::NotImplemented => ("NotImplemented", 501),
            E::UnknownOperation => ("UnknownOperationException", if rest { 404 } else { 400 }),
            E::MissingAction => ("MissingAction", 400),
            E::AccessDenied => ("AccessDeniedException", auth_status),
            E::MissingAuthenticationToken => ("MissingAuthenticationTokenException", auth_status),
            E::IncompleteSignature => ("IncompleteSignatureException", auth_status),
            E::InvalidSignature | E::RequestExpired => ("InvalidSignatureException", auth_status),
            E::UnrecognizedClient => ("UnrecognizedClientException", auth_status),
            E::ExpiredToken => ("ExpiredTokenException", auth_status),
            E::RequestTooLarge => ("RequestEntityTooLargeException", 413),
            E::InternalFailure => ("InternalFailure", 500),
        }
    };
    ErrorCode { code, status }
}

/// The code of `error` as a client of `protocol` sees it, for logs and audit records: a modeled
/// error's code, or a common error's code in that protocol's words (`ValidationException` in
/// awsJson, `ValidationError` in awsQuery).
pub fn error_code(protocol: Protocol, error: &ServiceError) -> &str {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code,
        ErrorKind::Common(common) => common_error_code(protocol, *common).code,
    }
}

/// An error resolved to what goes on the wire.
struct Rendered<'a> {
    /// The code in the body (`__type`, `<Code>`) and in `x-amzn-ErrorType`.
    code: Cow<'a, str>,
    /// The awsQuery code, for `x-amzn-query-error` of query-compatible JSON services.
    query_code: Cow<'a, str>,
    status: StatusCode,
    sender_fault: bool,
}

/// The name of the error shape whose code is `code`. A JSON service that was once an awsQuery
/// service keeps its query codes in the model (`ResourceNotFound`), while its JSON responses name
/// the shape (`ResourceNotFoundException`); where several shapes share a code, the one named like
/// the code wins.
fn shape_name_for_code(model: &ServiceModel, code: &str) -> Option<&'static str> {
    let mut found = None;
    for shape in model.shapes() {
        if let ShapeKind::Structure(structure) = shape.kind
            && structure.error.is_some_and(|info| info.code == code)
        {
            if shape.name == code {
                return Some(shape.name);
            }
            found = found.or(Some(shape.name));
        }
    }
    found
}

fn render<'a>(
    protocol: Protocol,
    model: Option<&'static ServiceModel>,
    error: &'a ServiceError,
) -> Rendered<'a> {
    match &error.kind {
        ErrorKind::Modeled {
            code,
            status,
            sender_fault,
        } => {
            let wire_code = match (protocol, model) {
                (Protocol::Query, _) | (_, None) => Cow::Borrowed(code.as_ref()),
                (_, Some(model)) => shape_name_for_code(model, code)
                    .map_or(Cow::Borrowed(code.as_ref()), Cow::Borrowed),
            };
            Rendered {
                code: wire_code,
                query_code: Cow::Borrowed(code.as_ref()),
                // A model status outside HTTP's range would be a generator bug; 400 keeps the
                // fault on the caller's side as the model meant.
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                sender_fault: *sender_fault,
            }
        }
        ErrorKind::Common(common) => {
            let wire = common_error_code(protocol, *common);
            Rendered {
                code: Cow::Borrowed(wire.code),
                query_code: Cow::Borrowed(common_error_code(Protocol::Query, *common).code),
                status: StatusCode::from_u16(wire.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                sender_fault: wire.sender_fault(),
            }
        }
    }
}

fn fault(sender: bool) -> &'static str {
    if sender { "Sender" } else { "Receiver" }
}

/// Renders `error` as `protocol` does. `model` is the service when it is known: it supplies the
/// XML namespace, the JSON version, the error shape names and whether the service is query
/// compatible; errors before routing pass `None`.
pub fn encode_error(
    protocol: Protocol,
    model: Option<&'static ServiceModel>,
    error: &ServiceError,
    request_id: &str,
) -> Response<Bytes> {
    let rendered = render(protocol, model, error);
    let mut builder = ResponseBuilder::new(rendered.status, request_id);
    if protocol != Protocol::Query {
        builder.header("x-amzn-errortype", &rendered.code);
    }
    if model.is_some_and(|model| model.query_compatible)
        && matches!(protocol, Protocol::Json | Protocol::RpcV2Cbor)
    {
        let query_error = format!("{};{}", rendered.query_code, fault(rendered.sender_fault));
        builder.header("x-amzn-query-error", &query_error);
    }
    let body = match protocol {
        Protocol::Query => {
            builder.header("content-type", response::XML);
            query::error_document(
                model.and_then(|model| model.xml_namespace),
                fault(rendered.sender_fault),
                &rendered.code,
                &error.message,
                request_id,
            )
            .into_bytes()
        }
        Protocol::RpcV2Cbor => {
            builder.cbor_headers();
            cbor::error_document(&rendered.code, &error.message)
        }
        Protocol::Json | Protocol::RestJson => {
            let content_type = if protocol == Protocol::Json {
                response::json_content_type(model)
            } else {
                response::REST_JSON
            };
            builder.header("content-type", content_type);
            let mut document = serde_json::Map::new();
            document.insert("__type".into(), rendered.code.as_ref().into());
            document.insert("message".into(), error.message.as_str().into());
            serde_json::Value::Object(document).to_string().into_bytes()
        }
    };
    builder.body(body)
}
