//! Arbitrary requests through the wire layer's router and decoders, for every protocol: neither
//! may panic, a failure must be the client's (4xx, never a server error), and a failure must
//! render in the client's protocol.
//!
//! Input layout: one selector byte, then the rest.
//! - A selector below `HEADS.len()` picks a fixed request head that routes to a real operation
//!   (each protocol, each model kind); the rest is the body, after the head's body prefix (the
//!   `Action` of awsQuery requests), so the decoders see mostly well-routed input.
//! - Any other selector reads the head from the input: text lines `method`, `uri`, any number of
//!   `name:value` header lines, an empty line, and the body. This exercises routing itself.

#![no_main]

use http::request::Parts;
use libfuzzer_sys::fuzz_target;
use palisade_core::model::ServiceModel;
use palisade_core::service::CommonError;
use palisade_wire::Router;

static MODELS: &[&ServiceModel] = &[
    &palisade_model_kms::MODEL,
    &palisade_model_cloudwatch::MODEL,
    &palisade_model_iam::MODEL,
    &palisade_model_sts::MODEL,
    &palisade_model_guardduty::MODEL,
];

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const CBOR: (&str, &str) = ("smithy-protocol", "rpc-v2-cbor");

/// (method, uri, headers, body prefix)
type Head = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
);

const HEADS: &[Head] = &[
    (
        "POST",
        "/",
        &[("x-amz-target", "TrentService.Encrypt")],
        b"",
    ),
    (
        "POST",
        "/",
        &[("x-amz-target", "TrentService.CreateKey")],
        b"",
    ),
    (
        "POST",
        "/",
        &[(
            "x-amz-target",
            "GraniteServiceVersion20100801.PutMetricData",
        )],
        b"",
    ),
    (
        "POST",
        "/service/GraniteServiceVersion20100801/operation/PutMetricData",
        &[CBOR],
        b"",
    ),
    (
        "POST",
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        &[CBOR],
        b"",
    ),
    (
        "POST",
        "/service/TrentService/operation/Encrypt",
        &[CBOR],
        b"",
    ),
    (
        "POST",
        "/",
        &[FORM],
        b"Action=CreateUser&Version=2010-05-08&",
    ),
    (
        "POST",
        "/",
        &[FORM],
        b"Action=PutUserPolicy&Version=2010-05-08&",
    ),
    (
        "POST",
        "/",
        &[FORM],
        b"Action=AssumeRole&Version=2011-06-15&",
    ),
    (
        "POST",
        "/",
        &[FORM],
        b"Action=PutMetricData&Version=2010-08-01&",
    ),
    (
        "GET",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        &[],
        b"",
    ),
    (
        "POST",
        "/detector/0123456789abcdef0123456789abcdef/findings",
        &[("host", "guardduty.us-east-1.amazonaws.com")],
        b"",
    ),
    (
        "POST",
        "/detector/0123456789abcdef0123456789abcdef/filter",
        &[("host", "guardduty.us-east-1.amazonaws.com")],
        b"",
    ),
];

fn fixed(head: &Head, rest: &[u8]) -> Option<(Parts, Vec<u8>)> {
    let (method, uri, headers, prefix) = head;
    let mut builder = http::Request::builder().method(*method).uri(*uri);
    for (name, value) in *headers {
        builder = builder.header(*name, *value);
    }
    let parts = builder.body(()).ok()?.into_parts().0;
    Some((parts, [prefix, rest].concat()))
}

fn free(input: &[u8]) -> Option<(Parts, Vec<u8>)> {
    let (head, body) = match input.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (input.get(..at)?, input.get(at + 2..)?),
        None => (input, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let method = lines.next()?;
    let uri = lines.next()?;
    let mut builder = http::Request::builder()
        .method(http::Method::from_bytes(method).ok()?)
        .uri(http::Uri::try_from(uri).ok()?);
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = http::HeaderName::from_bytes(line.get(..colon)?).ok()?;
        let value = http::HeaderValue::from_bytes(line.get(colon + 1..)?).ok()?;
        builder = builder.header(name, value);
    }
    Some((builder.body(()).ok()?.into_parts().0, body.to_vec()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let request = match HEADS.get(usize::from(selector)) {
        Some(head) => fixed(head, rest),
        None => free(rest),
    };
    let Some((parts, body)) = request else {
        return;
    };
    let router = Router::new(MODELS);
    let route = match router.route(&parts, &body, None) {
        Ok(route) => route,
        Err(error) => {
            let message = error.to_string();
            let response = error.into_response("fuzz");
            assert!(response.status().is_client_error(), "{message}");
            return;
        }
    };
    if let Err(error) = palisade_wire::decode(&route, &parts, &body) {
        assert!(
            matches!(
                error.common_kind(),
                Some(CommonError::Serialization | CommonError::Validation)
            ),
            "{error:?}"
        );
        let response =
            palisade_wire::encode_error(route.protocol, Some(route.model), &error, "fuzz");
        assert!(response.status().is_client_error());
    }
});
