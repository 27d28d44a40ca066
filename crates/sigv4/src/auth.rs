//! Finding and parsing the authentication a request carries: the
//! `Authorization` header or the `X-Amz-*` query parameters of a presigned
//! URL.

use crate::canonical::{
    X_AMZ_SECURITY_TOKEN, X_AMZ_SIGNATURE, is_tchar, percent_decode, query_pairs, single_header,
    trimmed_value,
};
use crate::error::excerpt;
use crate::time::{parse_amz_date, parse_http_date};
use crate::{
    ALGORITHM, Authorization, CredentialScope, Error, MAX_AUTHORIZATION_LEN,
    MAX_PRESIGNED_EXPIRES_SECS, MAX_SIGNED_HEADERS, Request, SCOPE_TERMINATOR,
};

pub(crate) const X_AMZ_DATE: &str = "x-amz-date";

const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
const X_AMZ_DATE_PARAM: &str = "X-Amz-Date";
const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const X_AMZ_EXPIRES: &str = "X-Amz-Expires";

/// Finds the request's SigV4 authentication and parses it.
///
/// Header auth (`Authorization: AWS4-HMAC-SHA256 ...`) and presigned URLs
/// (`X-Amz-Algorithm`, `X-Amz-Credential`, ... in the query) are accepted;
/// a request carrying both, several `Authorization` headers, or neither is
/// refused. Only the syntax is checked here; [`crate::verify`] checks the
/// rest.
pub fn parse(req: &Request<'_>) -> Result<Authorization, Error> {
    let mut authorization = req
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| *value);
    let header = authorization.next();
    if header.is_some() && authorization.next().is_some() {
        return Err(Error::IncompleteSignature(
            "The request must not carry more than one Authorization header.".into(),
        ));
    }
    let presigned = query_pairs(req.query).any(|(name, _)| {
        let name = percent_decode(name);
        [
            X_AMZ_ALGORITHM,
            X_AMZ_CREDENTIAL,
            X_AMZ_SIGNATURE,
            X_AMZ_SIGNED_HEADERS,
        ]
        .iter()
        .any(|p| p.as_bytes() == name.as_slice())
    });
    match (header, presigned) {
        (None, false) => Err(Error::MissingAuthenticationToken),
        (Some(_), true) => Err(Error::IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified."
                .into(),
        )),
        (Some(value), false) => parse_header(req, value),
        (None, true) => parse_query(req),
    }
}

fn parse_header(req: &Request<'_>, value: &[u8]) -> Result<Authorization, Error> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(Error::IncompleteSignature(format!(
            "Authorization header is longer than {MAX_AUTHORIZATION_LEN} bytes."
        )));
    }
    let value = std::str::from_utf8(value).map_err(|_| {
        Error::IncompleteSignature("Authorization header is not valid UTF-8.".into())
    })?;
    let value = value.trim_matches(' ');
    let (algorithm, params) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(unsupported_algorithm(algorithm));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in params.split(',').map(|c| c.trim_matches(' ')) {
        if component.is_empty() {
            continue;
        }
        let Some((key, val)) = component.split_once('=') else {
            return Err(Error::IncompleteSignature(format!(
                "{} not a valid key=value pair (missing equal-sign) in Authorization header.",
                excerpt(component)
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            // Unknown components are ignored as AWS does; only the three
            // above feed the signature.
            _ => continue,
        };
        if slot.replace(val.trim_matches(' ')).is_some() {
            return Err(Error::IncompleteSignature(format!(
                "Authorization header has a duplicate '{key}' parameter."
            )));
        }
    }
    let credential = credential.filter(|v| !v.is_empty());
    let signed_headers = signed_headers.filter(|v| !v.is_empty());
    let signature = signature.filter(|v| !v.is_empty());
    let date = request_time_from_headers(req)?;

    let (Some(credential), Some(signed_headers), Some(signature), Some(request_time)) =
        (credential, signed_headers, signature, date)
    else {
        let mut missing = Vec::new();
        if credential.is_none() {
            missing.push("Authorization header requires 'Credential' parameter.");
        }
        if signature.is_none() {
            missing.push("Authorization header requires 'Signature' parameter.");
        }
        if signed_headers.is_none() {
            missing.push("Authorization header requires 'SignedHeaders' parameter.");
        }
        if date.is_none() {
            missing.push(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header.",
            );
        }
        return Err(Error::IncompleteSignature(missing.join(" ")));
    };

    let (access_key_id, scope) = parse_credential(credential)?;
    let security_token = match single_header(req.headers, X_AMZ_SECURITY_TOKEN)? {
        Some(token) => Some(String::from_utf8(trimmed_value(token)).map_err(|_| {
            Error::IncompleteSignature("X-Amz-Security-Token is not valid UTF-8.".into())
        })?),
        None => None,
    };
    Ok(Authorization {
        access_key_id,
        scope,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: parse_signature(signature)?,
        request_time,
        security_token,
        presigned: None,
    })
}

/// The request time for header auth: `X-Amz-Date`, else `Date`. `None` when
/// neither header is present.
fn request_time_from_headers(req: &Request<'_>) -> Result<Option<i64>, Error> {
    let (value, parse): (_, fn(&str) -> Option<i64>) = match single_header(req.headers, X_AMZ_DATE)?
    {
        Some(v) => (v, parse_amz_date),
        None => match single_header(req.headers, "date")? {
            Some(v) => (v, parse_http_date),
            None => return Ok(None),
        },
    };
    let text = String::from_utf8_lossy(&trimmed_value(value)).into_owned();
    match parse(&text) {
        Some(t) => Ok(Some(t)),
        None => Err(Error::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got {}. See \
             http://en.wikipedia.org/wiki/ISO_8601",
            excerpt(&text)
        ))),
    }
}

fn parse_query(req: &Request<'_>) -> Result<Authorization, Error> {
    let mut algorithm = None;
    let mut credential = None;
    let mut date = None;
    let mut signed_headers = None;
    let mut signature = None;
    let mut expires = None;
    let mut token = None;
    for (raw_name, raw_value) in query_pairs(req.query) {
        let name = percent_decode(raw_name);
        let slot = match name.as_slice() {
            n if n == X_AMZ_ALGORITHM.as_bytes() => &mut algorithm,
            n if n == X_AMZ_CREDENTIAL.as_bytes() => &mut credential,
            n if n == X_AMZ_DATE_PARAM.as_bytes() => &mut date,
            n if n == X_AMZ_SIGNED_HEADERS.as_bytes() => &mut signed_headers,
            n if n == X_AMZ_SIGNATURE.as_bytes() => &mut signature,
            n if n == X_AMZ_EXPIRES.as_bytes() => &mut expires,
            n if n == X_AMZ_SECURITY_TOKEN.as_bytes() => &mut token,
            _ => continue,
        };
        let value = String::from_utf8(percent_decode(raw_value)).map_err(|_| {
            Error::IncompleteSignature(format!(
                "Query parameter '{}' is not valid UTF-8.",
                String::from_utf8_lossy(&name)
            ))
        })?;
        if slot.replace(value).is_some() {
            return Err(Error::IncompleteSignature(format!(
                "Query parameter '{}' must not be given more than once.",
                String::from_utf8_lossy(&name)
            )));
        }
    }
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(signed_headers),
        Some(signature),
        Some(expires),
    ) = (
        algorithm,
        credential,
        date,
        signed_headers,
        signature,
        expires,
    )
    else {
        return Err(Error::IncompleteSignature(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, \
             X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
             X-Amz-Expires parameters."
                .into(),
        ));
    };
    if algorithm != ALGORITHM {
        return Err(unsupported_algorithm(&algorithm));
    }
    let request_time = parse_amz_date(&date).ok_or_else(|| {
        Error::IncompleteSignature(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".".into(),
        )
    })?;
    let expires = parse_expires(&expires)?;
    let (access_key_id, scope) = parse_credential(&credential)?;
    Ok(Authorization {
        access_key_id,
        scope,
        signed_headers: parse_signed_headers(&signed_headers)?,
        signature: parse_signature(&signature)?,
        request_time,
        security_token: token,
        presigned: Some(expires),
    })
}

fn parse_expires(value: &str) -> Result<u64, Error> {
    // Digits only: `u64::from_str` would also take a leading '+'.
    let secs =
        if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
            value.parse::<u64>().ok()
        } else {
            None
        };
    let secs =
        secs.ok_or_else(|| Error::IncompleteSignature("X-Amz-Expires should be a number.".into()))?;
    if secs > MAX_PRESIGNED_EXPIRES_SECS {
        return Err(Error::IncompleteSignature(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is \
             {MAX_PRESIGNED_EXPIRES_SECS}."
        )));
    }
    Ok(secs)
}

fn unsupported_algorithm(algorithm: &str) -> Error {
    Error::IncompleteSignature(format!(
        "Unsupported AWS 'algorithm': {} (only {ALGORITHM} is supported).",
        excerpt(algorithm)
    ))
}

/// Splits `AKID/date/region/service/aws4_request`.
fn parse_credential(credential: &str) -> Result<(String, CredentialScope), Error> {
    let malformed = || {
        Error::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got {}",
            excerpt(credential)
        ))
    };
    let mut parts = credential.split('/');
    let (Some(key), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(malformed());
    };
    if [key, date, region, service, terminator]
        .iter()
        .any(|p| p.is_empty())
    {
        return Err(malformed());
    }
    if terminator != SCOPE_TERMINATOR {
        return Err(Error::ScopeMismatch(format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not {}.",
            excerpt(terminator)
        )));
    }
    Ok((
        key.to_owned(),
        CredentialScope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        },
    ))
}

/// Parses `host;x-amz-date;...`. The names must be lowercase header tokens
/// in strictly ascending order, as every signer produces them: the canonical
/// request lists headers in that order, so any other spelling would sign
/// something the verifier cannot reproduce unambiguously.
fn parse_signed_headers(list: &str) -> Result<Vec<String>, Error> {
    let names: Vec<&str> = list.split(';').take(MAX_SIGNED_HEADERS + 1).collect();
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(Error::IncompleteSignature(format!(
            "SignedHeaders may list at most {MAX_SIGNED_HEADERS} headers."
        )));
    }
    let well_formed = names
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()))
        && names.windows(2).all(|w| matches!(w, [a, b] if a < b));
    if !well_formed {
        return Err(Error::IncompleteSignature(
            "SignedHeaders must be a ';'-separated list of lowercase header names, sorted and \
             without duplicates."
                .into(),
        ));
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

fn parse_signature(hex_sig: &str) -> Result<[u8; 32], Error> {
    let mut signature = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut signature).map_err(|_| {
        Error::IncompleteSignature("Signature must be 64 hexadecimal characters.".into())
    })?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Payload, Request};
    use proptest::prelude::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/svc/aws4_request, \
        SignedHeaders=host;x-amz-date, \
        Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn req<'a>(query: &'a str, headers: &'a [(&'a str, &'a [u8])]) -> Request<'a> {
        Request {
            method: "GET",
            path: "/",
            query,
            headers,
            payload: Payload::Bytes(b""),
        }
    }

    fn incomplete(result: Result<Authorization, Error>) -> String {
        match result {
            Err(Error::IncompleteSignature(m)) => m,
            other => panic!("expected IncompleteSignature, got {other:?}"),
        }
    }

    #[test]
    fn parses_header_auth() {
        let headers: &[(&str, &[u8])] = &[
            ("Host", b"example.com"),
            ("X-Amz-Date", b"20150830T123600Z"),
            ("X-Amz-Security-Token", b" tok "),
            ("Authorization", GOOD.as_bytes()),
        ];
        let auth = parse(&req("", headers)).unwrap();
        assert_eq!(auth.access_key_id, "AKID");
        assert_eq!(
            auth.scope.to_string(),
            "20150830/us-east-1/svc/aws4_request"
        );
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(auth.request_time, 1_440_938_160);
        assert_eq!(auth.security_token.as_deref(), Some("tok"));
        assert_eq!(auth.presigned, None);
        assert_eq!(
            hex::encode(auth.signature),
            GOOD.rsplit('=').next().unwrap()
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let headers: &[(&str, &[u8])] = &[
            ("X-Amz-Date", b"20150830T123600Z"),
            ("X-Amz-Security-Token", b"SECRET-TOKEN"),
            ("Authorization", GOOD.as_bytes()),
        ];
        let shown = format!("{:?}", parse(&req("", headers)).unwrap());
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(!shown.contains("5fa00fa3"), "{shown}");
        assert!(shown.contains("AKID"), "{shown}");
    }

    #[test]
    fn date_header_stands_in_for_x_amz_date() {
        let headers: &[(&str, &[u8])] = &[
            ("date", b"Sun, 30 Aug 2015 12:36:00 GMT"),
            ("Authorization", GOOD.as_bytes()),
        ];
        assert_eq!(
            parse(&req("", headers)).unwrap().request_time,
            1_440_938_160
        );
    }

    #[test]
    fn no_auth_at_all() {
        assert_eq!(
            parse(&req("a=b&X-Amz-Date=20150830T123600Z", &[("host", b"h")])),
            Err(Error::MissingAuthenticationToken)
        );
    }

    #[test]
    fn both_mechanisms_or_two_headers_are_refused() {
        let headers: &[(&str, &[u8])] = &[("Authorization", GOOD.as_bytes())];
        let m = incomplete(parse(&req("X-Amz-Signature=00", headers)));
        assert!(m.starts_with("Only one auth mechanism allowed"), "{m}");
        let headers: &[(&str, &[u8])] = &[
            ("X-Amz-Date", b"20150830T123600Z"),
            ("Authorization", GOOD.as_bytes()),
            ("authorization", GOOD.as_bytes()),
        ];
        incomplete(parse(&req("", headers)));
    }

    #[test]
    fn missing_components_are_listed_like_aws() {
        let headers: &[(&str, &[u8])] = &[("Authorization", b"AWS4-HMAC-SHA256 ")];
        assert_eq!(
            incomplete(parse(&req("", headers))),
            "Authorization header requires 'Credential' parameter. Authorization header \
             requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter. Authorization header requires existence of either a 'X-Amz-Date' or a \
             'Date' header."
        );
        let headers: &[(&str, &[u8])] = &[
            ("x-amz-date", b"20150830T123600Z"),
            (
                "Authorization",
                b"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request,SignedHeaders=host",
            ),
        ];
        assert_eq!(
            incomplete(parse(&req("", headers))),
            "Authorization header requires 'Signature' parameter."
        );
    }

    #[test]
    fn malformed_header_auth() {
        let cases: &[&[u8]] = &[
            b"AWS4-HMAC-SHA512 Credential=a",
            b"AWS AKID:sig",
            b"",
            b"AWS4-HMAC-SHA256 Credential",
            b"AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00",
            b"AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request, SignedHeaders=Host, \
              Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            b"AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request, \
              SignedHeaders=x-amz-date;host, \
              Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            b"AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request, SignedHeaders=host;;a, \
              Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            b"AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request, SignedHeaders=host, \
              Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3",
            b"AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request, SignedHeaders=host, \
              SignedHeaders=host, \
              Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            b"\xff\xfe",
        ];
        for value in cases {
            let headers: &[(&str, &[u8])] = &[
                ("x-amz-date", b"20150830T123600Z"),
                ("authorization", value),
            ];
            incomplete(parse(&req("", headers)));
        }
        let bad_date: &[(&str, &[u8])] = &[
            ("x-amz-date", b"2015-08-30"),
            ("authorization", GOOD.as_bytes()),
        ];
        incomplete(parse(&req("", bad_date)));
        let two_dates: &[(&str, &[u8])] = &[
            ("x-amz-date", b"20150830T123600Z"),
            ("X-Amz-Date", b"20150830T123600Z"),
            ("authorization", GOOD.as_bytes()),
        ];
        incomplete(parse(&req("", two_dates)));
        let huge = format!("{GOOD}, {}", "x=y, ".repeat(MAX_AUTHORIZATION_LEN));
        let huge: &[(&str, &[u8])] = &[
            ("x-amz-date", b"20150830T123600Z"),
            ("authorization", huge.as_bytes()),
        ];
        incomplete(parse(&req("", huge)));
    }

    #[test]
    fn wrong_terminator_is_a_scope_error() {
        let value = GOOD.replace("aws4_request", "aws5_request");
        let headers: &[(&str, &[u8])] = &[
            ("x-amz-date", b"20150830T123600Z"),
            ("authorization", value.as_bytes()),
        ];
        assert!(matches!(
            parse(&req("", headers)),
            Err(Error::ScopeMismatch(_))
        ));
    }

    #[test]
    fn signed_header_limit() {
        let names: Vec<String> = (0..=MAX_SIGNED_HEADERS)
            .map(|i| format!("h{i:03}"))
            .collect();
        assert!(parse_signed_headers(&names.join(";")).is_err());
        assert_eq!(
            parse_signed_headers(&names[..MAX_SIGNED_HEADERS].join(";"))
                .unwrap()
                .len(),
            MAX_SIGNED_HEADERS
        );
    }

    const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fsvc%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=a%2Bb&X-Amz-Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn parses_presigned() {
        let auth = parse(&req(PRESIGNED, &[("host", b"h")])).unwrap();
        assert_eq!(auth.presigned, Some(3600));
        assert_eq!(auth.security_token.as_deref(), Some("a+b"));
        assert_eq!(auth.scope.service, "svc");
        assert_eq!(auth.signed_headers, ["host"]);
    }

    #[test]
    fn malformed_presigned() {
        let cases = [
            PRESIGNED.replace("&X-Amz-Expires=3600", ""),
            PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"),
            PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=+3600"),
            PRESIGNED.replace(
                "X-Amz-Expires=3600",
                "X-Amz-Expires=99999999999999999999999",
            ),
            PRESIGNED.replace("HMAC-SHA256", "HMAC-SHA512"),
            PRESIGNED.replace("20150830T123600Z", "2015"),
            format!("{PRESIGNED}&X-Amz-Date=20150830T123600Z"),
            format!("{PRESIGNED}&X-Amz-Signature=00"),
            PRESIGNED.replace("a%2Bb", "%FF"),
            "X-Amz-Signature=00".to_owned(),
        ];
        for query in &cases {
            incomplete(parse(&req(query, &[("host", b"h")])));
        }
    }

    proptest! {
        #[test]
        fn never_panics(
            query in "[\\s\\S]{0,200}",
            auth in "(AWS4-HMAC-SHA256 )?[\\s\\S]{0,200}",
            date in "[\\s\\S]{0,20}",
        ) {
            let headers: &[(&str, &[u8])] =
                &[("authorization", auth.as_bytes()), ("x-amz-date", date.as_bytes())];
            let _ = parse(&req(&query, headers));
            let _ = parse(&req(&query, &[]));
        }
    }
}
