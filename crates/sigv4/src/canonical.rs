//! The canonical request: the byte string both sides hash, built from the
//! request exactly as AWS specifies, so that the verifier's result matches the
//! signer's whatever transport-level variation (header case, parameter order,
//! optional whitespace) happened in between.

use crate::{Authorization, Error, Options, Payload, Request, UNSIGNED_PAYLOAD, sha256_hex};

pub(crate) const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";
pub(crate) const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
pub(crate) const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// The pieces of a canonical request, with every alternative the verifier
/// accepts for the parts where signers legitimately differ.
pub(crate) struct Candidates {
    // method, URI and query; one entry per accepted form of the query.
    heads: Vec<Vec<u8>>,
    // canonical headers, the signed-headers line, each ending in '\n'.
    headers: Vec<u8>,
    payload_hashes: Vec<String>,
}

impl Candidates {
    pub(crate) fn build(
        req: &Request<'_>,
        auth: &Authorization,
        options: &Options,
    ) -> Result<Self, Error> {
        if req.method.is_empty() || !req.method.bytes().all(is_tchar) {
            return Err(Error::IncompleteSignature("Invalid HTTP method.".into()));
        }
        let mut head = Vec::with_capacity(req.method.len() + req.path.len() * 3 + 2);
        head.extend_from_slice(req.method.as_bytes());
        head.push(b'\n');
        push_canonical_uri(&mut head, req.path, options.normalize_path);
        head.push(b'\n');

        let mut heads = Vec::with_capacity(2);
        if auth.presigned.is_none() {
            heads.push(with_query(&head, req.query, &[]));
        } else {
            heads.push(with_query(&head, req.query, &[X_AMZ_SIGNATURE]));
            // Some signers (the CRT's "omit session token" mode, used by IoT)
            // add X-Amz-Security-Token after signing. Accepting that costs
            // nothing in security: the server must check the token against
            // the access key in any case, and a signature proves nothing
            // about a token the signer chose.
            if auth.security_token.is_some() {
                heads.push(with_query(
                    &head,
                    req.query,
                    &[X_AMZ_SIGNATURE, X_AMZ_SECURITY_TOKEN],
                ));
            }
        }

        let mut headers = Vec::new();
        for name in &auth.signed_headers {
            headers.extend_from_slice(name.as_bytes());
            headers.push(b':');
            push_header_values(&mut headers, req.headers, name);
            headers.push(b'\n');
        }
        headers.push(b'\n');
        headers.extend_from_slice(auth.signed_headers.join(";").as_bytes());
        headers.push(b'\n');

        Ok(Candidates {
            heads,
            headers,
            payload_hashes: payload_hashes(req, auth, options)?,
        })
    }

    /// Every canonical request the signature may have been computed over,
    /// the most common form first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.heads.iter().flat_map(move |head| {
            self.payload_hashes.iter().map(move |hash| {
                let mut out = Vec::with_capacity(head.len() + self.headers.len() + hash.len());
                out.extend_from_slice(head);
                out.extend_from_slice(&self.headers);
                out.extend_from_slice(hash.as_bytes());
                out
            })
        })
    }
}

fn with_query(head: &[u8], query: &str, excluded: &[&str]) -> Vec<u8> {
    let mut out = head.to_vec();
    push_canonical_query(&mut out, query, excluded);
    out.push(b'\n');
    out
}

/// The hashed-payload line(s) the verifier accepts for this request.
fn payload_hashes(
    req: &Request<'_>,
    auth: &Authorization,
    options: &Options,
) -> Result<Vec<String>, Error> {
    let Payload::Bytes(body) = req.payload;
    let declared = single_header(req.headers, X_AMZ_CONTENT_SHA256)?;
    match declared {
        Some(value) => {
            let value = trimmed_value(value);
            if value == UNSIGNED_PAYLOAD.as_bytes() {
                return if options.allow_unsigned_payload {
                    Ok(vec![UNSIGNED_PAYLOAD.to_owned()])
                } else {
                    Err(Error::InvalidContentSha256(
                        "UNSIGNED-PAYLOAD is not accepted by this service; sign the payload."
                            .into(),
                    ))
                };
            }
            if value.len() != 64 || !value.iter().all(u8::is_ascii_hexdigit) {
                return Err(Error::InvalidContentSha256(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.".into(),
                ));
            }
            // The signature covers the declared hash, not the body, so the
            // body is authenticated only once it is shown to match.
            let actual = sha256_hex(body);
            if !value.eq_ignore_ascii_case(actual.as_bytes()) {
                return Err(Error::ContentSha256Mismatch);
            }
            Ok(vec![String::from_utf8_lossy(&value).into_owned()])
        }
        None if auth.presigned.is_some() => {
            // AWS documents UNSIGNED-PAYLOAD for presigned URLs and botocore
            // always uses it, but the CRT and aws-sigv4 hash the body. With
            // an empty body both bind the same (nothing); with a body,
            // UNSIGNED-PAYLOAD leaves it unauthenticated, so it needs the
            // service's consent.
            let mut hashes = vec![sha256_hex(body)];
            if body.is_empty() || options.allow_unsigned_payload {
                hashes.push(UNSIGNED_PAYLOAD.to_owned());
            }
            Ok(hashes)
        }
        None => Ok(vec![sha256_hex(body)]),
    }
}

/// The value of a header that may appear at most once.
pub(crate) fn single_header<'a>(
    headers: &[(&str, &'a [u8])],
    name: &str,
) -> Result<Option<&'a [u8]>, Error> {
    let mut found = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v);
    let first = found.next();
    if first.is_some() && found.next().is_some() {
        return Err(Error::IncompleteSignature(format!(
            "The request must not carry more than one '{name}' header."
        )));
    }
    Ok(first)
}

/// Header value with the SigV4 "trimall" applied: leading and trailing
/// spaces removed and runs of spaces collapsed to one. CR and LF count as
/// spaces because they only occur in obsolete line folding, which the
/// conformance suite canonicalises to a single space; tabs are kept, as AWS
/// and the AWS SDKs trim spaces only.
pub(crate) fn trimmed_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    push_trimmed_value(&mut out, value);
    out
}

fn push_trimmed_value(out: &mut Vec<u8>, value: &[u8]) {
    // A space is written only between two visible bytes, which both trims
    // the ends and collapses runs.
    let mut started = false;
    let mut pending_space = false;
    for &b in value {
        if matches!(b, b' ' | b'\r' | b'\n') {
            pending_space = started;
            continue;
        }
        if pending_space {
            out.push(b' ');
        }
        pending_space = false;
        started = true;
        out.push(b);
    }
}

fn push_header_values(out: &mut Vec<u8>, headers: &[(&str, &[u8])], name: &str) {
    for (i, (_, value)) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        push_trimmed_value(out, value);
    }
}

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Bytes that may stand literally in a path as sent; S3 signs its path as
/// sent, so only bytes that could not have been sent that way get encoded.
fn is_path_literal(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'/' | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

/// HTTP token characters (RFC 9110), used for methods and header names so
/// that neither can smuggle a line break or separator into the canonical
/// request.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

fn push_pct(out: &mut Vec<u8>, b: u8) {
    let hex = |n: u8| if n < 10 { b'0' + n } else { b'A' + n - 10 };
    out.extend_from_slice(&[b'%', hex(b >> 4), hex(b & 0x0f)]);
}

fn push_encoded(out: &mut Vec<u8>, bytes: &[u8], keep: impl Fn(u8) -> bool) {
    for &b in bytes {
        if keep(b) {
            out.push(b);
        } else {
            push_pct(out, b);
        }
    }
}

/// The canonical URI.
///
/// With `normalize` (every service but S3) the path is first normalised
/// (dot segments resolved, empty segments dropped) and then percent-encoded
/// as a whole, including its '%' signs: the path arrives already encoded
/// once, and these services sign the encoding of that encoded form ("double
/// encoding"). Without it (S3) the path is signed as sent.
fn push_canonical_uri(out: &mut Vec<u8>, path: &str, normalize: bool) {
    if normalize {
        let mut kept: Vec<&str> = Vec::new();
        let mut ends_with_slash = false;
        for segment in path.split('/') {
            ends_with_slash = matches!(segment, "" | "." | "..");
            match segment {
                "" | "." => {}
                ".." => {
                    kept.pop();
                }
                _ => kept.push(segment),
            }
        }
        out.push(b'/');
        for (i, segment) in kept.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            push_encoded(out, segment.as_bytes(), is_unreserved);
        }
        if ends_with_slash && !kept.is_empty() {
            out.push(b'/');
        }
    } else {
        if !path.starts_with('/') {
            out.push(b'/');
        }
        push_encoded(out, path.as_bytes(), is_path_literal);
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a query-string component: `%XX` escapes and '+' for space, as
/// form encoding (and the AWS SDK for Rust) reads them. A '%' not followed
/// by two hex digits stands for itself.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let mut lookahead = bytes.clone();
                match (
                    lookahead.next().and_then(hex_value),
                    lookahead.next().and_then(hex_value),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        bytes = lookahead;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
    }
    out
}

/// Splits a raw query string into its `name=value` pairs, undecoded.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The canonical query string: every parameter decoded, re-encoded with the
/// unreserved set, and sorted by name then value. Parameters named in
/// `excluded` (compared after decoding) are left out.
fn push_canonical_query(out: &mut Vec<u8>, query: &str, excluded: &[&str]) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query_pairs(query)
        .filter_map(|(name, value)| {
            let name = percent_decode(name);
            if excluded.iter().any(|e| e.as_bytes() == name.as_slice()) {
                return None;
            }
            let mut enc_name = Vec::with_capacity(name.len());
            push_encoded(&mut enc_name, &name, is_unreserved);
            let mut enc_value = Vec::with_capacity(value.len());
            push_encoded(&mut enc_value, &percent_decode(value), is_unreserved);
            Some((enc_name, enc_value))
        })
        .collect();
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uri(path: &str, normalize: bool) -> String {
        let mut out = Vec::new();
        push_canonical_uri(&mut out, path, normalize);
        String::from_utf8(out).unwrap()
    }

    fn query(q: &str) -> String {
        let mut out = Vec::new();
        push_canonical_query(&mut out, q, &[X_AMZ_SIGNATURE]);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn normalised_paths_are_resolved_then_encoded_again() {
        for (path, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/a/b/../..", "/"),
            ("/a/b/..", "/a/"),
            ("/a/./b", "/a/b"),
            ("/a/.", "/a/"),
            ("/../../a", "/a"),
            ("//example//", "/example/"),
            ("relative/path", "/relative/path"),
            ("/foo%20bar", "/foo%2520bar"),
            ("/a b", "/a%20b"),
            ("/a+b=c", "/a%2Bb%3Dc"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/...", "/..."),
        ] {
            assert_eq!(uri(path, true), want, "{path:?}");
        }
    }

    #[test]
    fn s3_paths_are_signed_as_sent() {
        for (path, want) in [
            ("", "/"),
            ("//a/./b/..", "//a/./b/.."),
            ("/foo%20bar", "/foo%20bar"),
            ("/a+b=c!", "/a+b=c!"),
            ("/a b", "/a%20b"),
            ("/a\nb", "/a%0Ab"),
            ("key", "/key"),
        ] {
            assert_eq!(uri(path, false), want, "{path:?}");
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(query(""), "");
        assert_eq!(query("&&"), "");
        assert_eq!(query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(query("Param-3=3&Param=2"), "Param=2&Param-3=3");
        assert_eq!(query("flag"), "flag=");
        assert_eq!(query("k=a%2fb+c"), "k=a%2Fb%20c");
        assert_eq!(query("k=%7E%zz%"), "k=~%25zz%25");
        assert_eq!(query("a=1&X-Amz-Signature=00&X%2DAmz-Signature=11"), "a=1");
        assert_eq!(query("%E1%88%B4=x"), "%E1%88%B4=x");
    }

    #[test]
    fn header_values_are_trimmed_and_folded() {
        let t = |v: &str| String::from_utf8(trimmed_value(v.as_bytes())).unwrap();
        assert_eq!(t("  a   b  "), "a b");
        assert_eq!(t("\"a   b   c\""), "\"a b c\"");
        assert_eq!(t("value1\n  value2\r\n     value3"), "value1 value2 value3");
        assert_eq!(t("a\tb"), "a\tb");
        assert_eq!(t("   "), "");
        assert_eq!(t("a:  b, c"), "a: b, c");
    }

    #[test]
    fn repeated_headers_join_in_arrival_order() {
        let headers: &[(&str, &[u8])] = &[
            ("My-Header", b" b "),
            ("other", b"x"),
            ("my-header", b"a"),
            ("MY-HEADER", b"  "),
        ];
        let mut out = Vec::new();
        push_header_values(&mut out, headers, "my-header");
        assert_eq!(out, b"b,a,");
    }

    proptest! {
        #[test]
        fn canonical_parts_never_hold_line_breaks(s in "\\PC*|[\\s\\S]{0,64}") {
            for normalize in [true, false] {
                prop_assert!(!uri(&s, normalize).contains('\n'));
            }
            let mut q = Vec::new();
            push_canonical_query(&mut q, &s, &[]);
            prop_assert!(!q.contains(&b'\n'));
            prop_assert!(!trimmed_value(s.as_bytes()).contains(&b'\n'));
        }
    }
}
