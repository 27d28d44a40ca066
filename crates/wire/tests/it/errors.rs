//! The common error table, and guessing the protocol before routing.

use palisade_core::model::Protocol;
use palisade_core::service::{CommonError, ServiceError};
use palisade_wire::{common_error_code, encode_error, protocol_hint};

use crate::support::*;

const ALL_ERRORS: [CommonError; 14] = [
    CommonError::Validation,
    CommonError::Serialization,
    CommonError::NotImplemented,
    CommonError::UnknownOperation,
    CommonError::MissingAction,
    CommonError::AccessDenied,
    CommonError::MissingAuthenticationToken,
    CommonError::IncompleteSignature,
    CommonError::InvalidSignature,
    CommonError::UnrecognizedClient,
    CommonError::RequestExpired,
    CommonError::ExpiredToken,
    CommonError::RequestTooLarge,
    CommonError::InternalFailure,
];

const PROTOCOLS: [Protocol; 4] = [
    Protocol::Json,
    Protocol::Query,
    Protocol::RestJson,
    Protocol::RpcV2Cbor,
];

#[test]
fn the_table_speaks_each_protocols_vocabulary() {
    let code = |protocol, error| {
        let code = common_error_code(protocol, error);
        (code.code, code.status)
    };
    assert_eq!(
        code(Protocol::Json, CommonError::Validation),
        ("ValidationException", 400)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::Validation),
        ("ValidationError", 400)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::Serialization),
        ("MalformedInput", 400)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::UnknownOperation),
        ("InvalidAction", 400)
    );
    assert_eq!(
        code(Protocol::RestJson, CommonError::UnknownOperation),
        ("UnknownOperationException", 404)
    );
    assert_eq!(
        code(Protocol::Json, CommonError::AccessDenied),
        ("AccessDeniedException", 400)
    );
    assert_eq!(
        code(Protocol::RestJson, CommonError::AccessDenied),
        ("AccessDeniedException", 403)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::AccessDenied),
        ("AccessDenied", 403)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::InvalidSignature),
        ("SignatureDoesNotMatch", 403)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::UnrecognizedClient),
        ("InvalidClientTokenId", 403)
    );
    assert_eq!(
        code(Protocol::Json, CommonError::RequestExpired),
        ("InvalidSignatureException", 400)
    );
    assert_eq!(
        code(Protocol::Query, CommonError::ExpiredToken),
        ("ExpiredToken", 400)
    );
    assert_eq!(
        code(Protocol::RpcV2Cbor, CommonError::RequestTooLarge),
        ("RequestEntityTooLargeException", 413)
    );
    assert_eq!(
        code(Protocol::Json, CommonError::NotImplemented),
        ("NotImplemented", 501)
    );
    assert_eq!(
        code(Protocol::Json, CommonError::InternalFailure),
        ("InternalFailure", 500)
    );
    for protocol in PROTOCOLS {
        for error in ALL_ERRORS {
            let code = common_error_code(protocol, error);
            // Only the server's own failures are 5xx.
            let server_side = matches!(
                error,
                CommonError::InternalFailure | CommonError::NotImplemented
            );
            assert_eq!(code.status >= 500, server_side, "{protocol:?} {error:?}");
            assert_eq!(code.sender_fault(), !server_side);
            // awsJson and CBOR front ends answer alike.
            if protocol == Protocol::RpcV2Cbor {
                assert_eq!(code, common_error_code(Protocol::Json, error));
            }
        }
    }
}

#[test]
fn every_error_renders_in_every_protocol() {
    let message = "quote \" amp & lt < gt > apos ' cr \r nul \u{0} snowman ☃";
    for protocol in PROTOCOLS {
        for error in ALL_ERRORS {
            let response = encode_error(
                protocol,
                None,
                &ServiceError::common(error, message),
                "id with spaces",
            );
            let expected = common_error_code(protocol, error);
            assert_eq!(response.status().as_u16(), expected.status);
            assert_eq!(
                header(&response, "x-amzn-requestid"),
                Some("id with spaces")
            );
            match protocol {
                Protocol::Json | Protocol::RestJson => {
                    let body = json_body(&response);
                    assert_eq!(body["__type"], expected.code);
                    assert_eq!(body["message"], message);
                }
                Protocol::Query => {
                    let body = text_body(&response);
                    assert!(body.contains(&format!("<Code>{}</Code>", expected.code)));
                    assert!(body.contains(
                        "quote &quot; amp &amp; lt &lt; gt &gt; apos &apos; cr &#xD; nul \u{fffd} snowman ☃"
                    ), "{body}");
                }
                Protocol::RpcV2Cbor => assert!(!response.body().is_empty()),
            }
        }
    }
}

#[test]
fn request_ids_http_cannot_carry_are_left_out() {
    let response = encode_error(
        Protocol::Json,
        None,
        &ServiceError::internal("x"),
        "bad\nid",
    );
    assert_eq!(header(&response, "x-amzn-requestid"), None);
    assert_eq!(response.status(), 500);
}

#[test]
fn modeled_errors_keep_their_code_and_status() {
    let info = palisade_core::model::ErrorInfo {
        code: "EntityAlreadyExists",
        status: 409,
        sender_fault: true,
    };
    let error = ServiceError::modeled(&info, "User alice already exists.");
    let query = encode_error(Protocol::Query, None, &error, "r");
    assert_eq!(query.status(), 409);
    assert!(text_body(&query).contains("<Type>Sender</Type><Code>EntityAlreadyExists</Code>"));
    let json = encode_error(Protocol::Json, None, &error, "r");
    assert_eq!(json_body(&json)["__type"], "EntityAlreadyExists");
    let odd = palisade_core::model::ErrorInfo {
        code: "Odd",
        status: 42,
        sender_fault: false,
    };
    let response = encode_error(Protocol::Json, None, &ServiceError::modeled(&odd, "m"), "r");
    assert_eq!(
        response.status(),
        400,
        "an impossible status falls back to 400"
    );
}

#[test]
fn the_protocol_is_guessed_from_the_request_head() {
    let hint = |method, uri, headers: &[(&str, &str)], body: &[u8]| {
        protocol_hint(&parts(method, uri, headers), body)
    };
    let target = ("X-Amz-Target", "TrentService.Encrypt");
    assert_eq!(hint("POST", "/", &[target], b"{}"), Protocol::Json);
    let smithy = ("smithy-protocol", "rpc-v2-cbor");
    assert_eq!(
        hint("POST", "/service/S/operation/O", &[smithy], b""),
        Protocol::RpcV2Cbor
    );
    let form = (
        "Content-Type",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    );
    assert_eq!(hint("POST", "/", &[form], b""), Protocol::Query);
    let presigned = "/?Version=2011-06-15&Action=GetCallerIdentity";
    assert_eq!(hint("GET", presigned, &[], b""), Protocol::Query);
    assert_eq!(
        hint("POST", "/", &[], b"Action=GetCallerIdentity"),
        Protocol::Query
    );
    let json = ("Content-Type", "application/json");
    assert_eq!(hint("POST", "/", &[json], b"Action=x"), Protocol::RestJson);
    assert_eq!(hint("GET", "/detector/abc", &[], b""), Protocol::RestJson);
}

#[test]
fn error_codes_for_logs_are_the_codes_the_client_sees() {
    let info = palisade_core::model::ErrorInfo {
        code: "NotFoundException",
        status: 400,
        sender_fault: true,
    };
    assert_eq!(
        palisade_wire::error_code(Protocol::Json, &ServiceError::modeled(&info, "m")),
        "NotFoundException"
    );
    assert_eq!(
        palisade_wire::error_code(Protocol::Json, &ServiceError::validation("m")),
        "ValidationException"
    );
    assert_eq!(
        palisade_wire::error_code(Protocol::Query, &ServiceError::validation("m")),
        "ValidationError"
    );
}
