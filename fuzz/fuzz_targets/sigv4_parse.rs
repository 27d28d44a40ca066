//! Arbitrary requests through the SigV4 parser and verifier: neither may
//! panic, and a signature computed from the verifier's own canonical request
//! must never be reported as a mismatch.
//!
//! Input layout: one flag byte (bit 0: normalize_path, bit 1:
//! allow_unsigned_payload), then text lines `method`, `path`, `query`, any
//! number of `name:value` header lines, an empty line, and the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_sigv4::{
    Error, Options, Payload, Request, canonical_request, parse, signature, signing_key,
    string_to_sign, verify_with_key,
};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let options = Options {
        normalize_path: flags & 1 != 0,
        allow_unsigned_payload: flags & 2 != 0,
        ..Options::default()
    };

    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let method = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let path = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let query = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let raw_headers: Vec<(String, &[u8])> = lines
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => (
                String::from_utf8_lossy(&line[..colon]).into_owned(),
                &line[colon + 1..],
            ),
            None => (String::from_utf8_lossy(line).into_owned(), &[][..]),
        })
        .collect();
    let headers: Vec<(&str, &[u8])> = raw_headers
        .iter()
        .map(|(name, value)| (name.as_str(), *value))
        .collect();
    let req = Request {
        method: &method,
        path: &path,
        query: &query,
        headers: &headers,
        payload: Payload::Bytes(body),
    };

    let Ok(mut auth) = parse(&req) else {
        return;
    };
    let key = signing_key(
        SECRET,
        &auth.scope.date,
        &auth.scope.region,
        &auth.scope.service,
    );
    let now = auth.request_time;
    let _ = verify_with_key(&req, &auth, &key, now, &options);
    let _ = verify_with_key(&req, &auth, &key, 1_440_938_160, &options);

    // Oracle: sign the verifier's own canonical request. Verification may
    // still refuse it (scope date, unsigned host, ...), but never as a
    // signature mismatch.
    if let Ok(canonical) = canonical_request(&req, &auth, &options) {
        auth.signature = signature(&key, &string_to_sign(&auth, &canonical));
        let result = verify_with_key(&req, &auth, &key, now, &options);
        assert_ne!(
            result,
            Err(Error::InvalidSignature),
            "self-signed request refused"
        );
    }
});
