//! Requests signed by `aws-sigv4`, the signer inside the AWS SDK for Rust,
//! must verify, and every change to what they sign must be caught with the
//! error AWS would give. Also covers the clock window and presigned expiry.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use palisade_sigv4::{
    Authorization, Error, Options, Payload, Request, format_amz_date, parse, signing_key, verify,
    verify_with_key,
};

const AKID: &str = "AKIDPALISADETEST";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDH+token/with=odd+chars";
/// 2024-02-29T23:59:30Z: a leap day, seconds before midnight, so that date
/// arithmetic errors show.
const T: i64 = 1_709_251_170;

/// How the test signs a request.
#[derive(Clone, Copy)]
struct How {
    token: bool,
    presign: Option<u64>,
    /// S3 rules: path signed as sent, x-amz-content-sha256 sent.
    s3: bool,
    unsigned_payload: bool,
}

const HEADER: How = How {
    token: false,
    presign: None,
    s3: false,
    unsigned_payload: false,
};

/// A signed request, owned, in the shape the HTTP layer would hand over.
#[derive(Clone, Debug)]
struct Signed {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Signed {
    fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        f(&Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            payload: Payload::Bytes(&self.body),
        })
    }

    fn parse(&self) -> Result<Authorization, Error> {
        self.with(parse)
    }

    fn check(&self, now: i64, options: &Options) -> Result<(), Error> {
        self.with(|req| {
            let auth = parse(req)?;
            verify(req, &auth, SECRET.as_bytes(), now, options)
        })
    }

    fn header_mut(&mut self, name: &str) -> &mut Vec<u8> {
        &mut self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("no {name} header"))
            .1
    }

    fn without_header(&self, name: &str) -> Signed {
        let mut out = self.clone();
        out.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        out
    }

    fn replace_in_query(&self, from: &str, to: &str) -> Signed {
        assert!(self.query.contains(from), "{from} not in {}", self.query);
        let mut out = self.clone();
        out.query = self.query.replacen(from, to, 1);
        out
    }

    fn replace_in_authorization(&self, from: &str, to: &str) -> Signed {
        let mut out = self.clone();
        let value = String::from_utf8(out.header_mut("authorization").clone()).unwrap();
        assert!(value.contains(from));
        *out.header_mut("authorization") = value.replacen(from, to, 1).into_bytes();
        out
    }
}

fn options(how: How) -> Options {
    Options {
        normalize_path: !how.s3,
        allow_unsigned_payload: how.unsigned_payload,
        ..Options::default()
    }
}

fn sign_request(
    how: How,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Signed {
    sign_at(how, method, uri, headers, body, T, "us-east-1", "svc")
}

#[expect(
    clippy::too_many_arguments,
    reason = "a test helper spelling out a request"
)]
fn sign_at(
    how: How,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: i64,
    region: &str,
    service: &str,
) -> Signed {
    let identity = Credentials::new(
        AKID,
        SECRET,
        how.token.then(|| TOKEN.to_owned()),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = how.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    if how.s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        if how.presign.is_none() {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(time as u64))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable_body = if how.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body)
    };
    let signable =
        SignableRequest::new(method, uri, headers.iter().copied(), signable_body).unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();

    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);

    // The HTTP client adds Host from the URI, as the signer assumed.
    let mut out_headers = vec![(
        "Host".to_owned(),
        request
            .uri()
            .authority()
            .unwrap()
            .as_str()
            .as_bytes()
            .to_vec(),
    )];
    out_headers.extend(
        request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())),
    );
    Signed {
        method: method.to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        headers: out_headers,
        body: body.to_vec(),
    }
}

/// A KMS-like JSON call.
fn json_call(how: How) -> Signed {
    sign_request(
        how,
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.Encrypt"),
            ("user-agent", "aws-sdk-rust/1.0"),
            ("x-custom", "  spaced   out  "),
        ],
        br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#,
    )
}

/// An STS-like query call, as presigned for `aws eks get-token`.
fn query_call(how: How) -> Signed {
    sign_request(
        how,
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&Tag=a%20b%2Bc",
        &[("x-k8s-aws-id", "my-cluster")],
        b"",
    )
}

fn assert_signature_mismatch(signed: &Signed, options: &Options, what: &str) {
    assert_eq!(
        signed.check(T, options),
        Err(Error::InvalidSignature),
        "{what}: {signed:?}"
    );
}

/// Applies every tampering that must break the signature and checks the
/// error each one gives.
fn assert_tampering_detected(signed: &Signed, how: How) {
    let options = options(how);
    signed.check(T, &options).unwrap();
    let auth = signed.parse().unwrap();

    // Every signed header, changed in value.
    for name in &auth.signed_headers {
        let mut t = signed.clone();
        let value = t.header_mut(name);
        match name.as_str() {
            "x-amz-date" => {
                *value = format_amz_date(T + 1).into_bytes();
                assert_signature_mismatch(&t, &options, "x-amz-date + 1s");
                *t.header_mut(name) = format_amz_date(T + 60).into_bytes();
                // A minute later is also the next day: the scope no longer fits.
                assert!(matches!(t.check(T, &options), Err(Error::ScopeMismatch(_))));
            }
            "x-amz-content-sha256" if !how.unsigned_payload => {
                let last = value.last_mut().unwrap();
                *last = if *last == b'0' { b'1' } else { b'0' };
                assert_eq!(t.check(T, &options), Err(Error::ContentSha256Mismatch));
            }
            "x-amz-content-sha256" => {
                *value = b"STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_vec();
                assert!(matches!(
                    t.check(T, &options),
                    Err(Error::InvalidContentSha256(_))
                ));
            }
            _ => {
                value.push(b'x');
                assert_signature_mismatch(&t, &options, name);
            }
        }
        // A signed header that disappears: its canonical value becomes empty
        // (or, for the date, the request has no time).
        let t = signed.without_header(name);
        let result = t.check(T, &options);
        if name == "x-amz-date" && how.presign.is_none() {
            assert!(
                matches!(result, Err(Error::IncompleteSignature(_))),
                "{result:?}"
            );
        } else {
            assert!(result.is_err(), "removing {name}");
        }
    }

    // Headers outside the signature may change: proxies rewrite them.
    if signed.headers.iter().any(|(n, _)| n == "user-agent") {
        assert!(!auth.signed_headers.contains(&"user-agent".to_owned()));
        let mut t = signed.clone();
        t.header_mut("user-agent").extend_from_slice(b" via-proxy");
        t.check(T, &options).unwrap();
    }

    // The body.
    if !signed.body.is_empty() && !how.unsigned_payload {
        let mut t = signed.clone();
        t.body.push(b' ');
        let result = t.check(T, &options);
        if auth
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-content-sha256")
        {
            assert_eq!(result, Err(Error::ContentSha256Mismatch));
        } else {
            assert_eq!(result, Err(Error::InvalidSignature));
        }
    }

    // The method and the path.
    let mut t = signed.clone();
    t.method = if signed.method == "PUT" {
        "POST"
    } else {
        "PUT"
    }
    .into();
    assert_signature_mismatch(&t, &options, "method");
    let mut t = signed.clone();
    t.path.push('x');
    assert_signature_mismatch(&t, &options, "path");
    if signed.path.len() > 1 {
        let mut t = signed.clone();
        t.path.push('/');
        assert_signature_mismatch(&t, &options, "trailing slash");
    }

    // The query: an added parameter, and a changed one.
    let mut t = signed.clone();
    t.query = if t.query.is_empty() {
        "extra=1".into()
    } else {
        format!("{}&extra=1", t.query)
    };
    assert_signature_mismatch(&t, &options, "added query parameter");

    // Region and service: the key is derived for the wrong scope, and the
    // server's own scope check names the problem.
    let (region_swap, service_swap) = if how.presign.is_some() {
        (
            signed.replace_in_query("%2Fus-east-1%2F", "%2Fus-west-2%2F"),
            signed.replace_in_query("%2Fsvc%2F", "%2Fkms%2F"),
        )
    } else {
        (
            signed.replace_in_authorization("/us-east-1/", "/us-west-2/"),
            signed.replace_in_authorization("/svc/", "/kms/"),
        )
    };
    assert_signature_mismatch(&region_swap, &options, "region");
    assert_signature_mismatch(&service_swap, &options, "service");
    assert_eq!(
        region_swap.parse().unwrap().check_scope("us-east-1", "svc"),
        Err(Error::ScopeMismatch(
            "Credential should be scoped to a valid region, not 'us-west-2'.".into()
        ))
    );
    assert_eq!(
        service_swap
            .parse()
            .unwrap()
            .check_scope("us-east-1", "svc"),
        Err(Error::ScopeMismatch(
            "Credential should be scoped to correct service: 'svc'.".into()
        ))
    );
    auth.check_scope("us-east-1", "svc").unwrap();

    if let Some(expires) = how.presign {
        // Every signed query parameter counts, the expiry included.
        let t = signed.replace_in_query(
            &format!("X-Amz-Expires={expires}"),
            &format!("X-Amz-Expires={}", expires + 1),
        );
        assert_signature_mismatch(&t, &options, "X-Amz-Expires");
        let date = format_amz_date(T);
        let t = signed.replace_in_query(
            &format!("X-Amz-Date={date}"),
            &format!("X-Amz-Date={}", format_amz_date(T - 1)),
        );
        assert_signature_mismatch(&t, &options, "X-Amz-Date");
        if how.token {
            let t = signed.replace_in_query("X-Amz-Security-Token=", "X-Amz-Security-Token=x");
            assert_signature_mismatch(&t, &options, "token");
        }
    }
}

#[test]
fn json_header_auth() {
    let signed = json_call(HEADER);
    let auth = signed.parse().unwrap();
    assert_eq!(auth.access_key_id, AKID);
    assert_eq!(auth.security_token, None);
    assert_eq!(auth.request_time, T);
    assert!(auth.signed_headers.contains(&"x-custom".to_owned()));
    assert_tampering_detected(&signed, HEADER);
}

#[test]
fn json_header_auth_with_session_token() {
    let how = How {
        token: true,
        ..HEADER
    };
    let signed = json_call(how);
    let auth = signed.parse().unwrap();
    assert_eq!(auth.security_token.as_deref(), Some(TOKEN));
    assert!(
        auth.signed_headers
            .contains(&"x-amz-security-token".to_owned())
    );
    assert_tampering_detected(&signed, how);
}

#[test]
fn query_call_with_header_auth() {
    assert_tampering_detected(&query_call(HEADER), HEADER);
}

#[test]
fn presigned_url() {
    let how = How {
        presign: Some(60),
        ..HEADER
    };
    let signed = query_call(how);
    let auth = signed.parse().unwrap();
    assert_eq!(auth.presigned, Some(60));
    assert_eq!(auth.signed_headers, ["host", "x-k8s-aws-id"]);
    assert_tampering_detected(&signed, how);
}

#[test]
fn presigned_url_with_session_token() {
    let how = How {
        token: true,
        presign: Some(900),
        ..HEADER
    };
    let signed = query_call(how);
    assert_eq!(
        signed.parse().unwrap().security_token.as_deref(),
        Some(TOKEN)
    );
    assert_tampering_detected(&signed, how);
}

#[test]
fn presigned_post_binds_the_body() {
    let how = How {
        presign: Some(300),
        ..HEADER
    };
    let signed = json_call(how);
    assert_tampering_detected(&signed, how);
}

#[test]
fn encoded_paths_are_double_encoded() {
    // A Lambda-style path whose label holds characters the SDK percent-encodes.
    let signed = sign_request(
        HEADER,
        "POST",
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123%3Afunction%3Af/invocations",
        &[],
        b"{}",
    );
    assert!(signed.path.contains("%3A"));
    assert_tampering_detected(&signed, HEADER);
    // Decoding the path before verification (a common server mistake) breaks it.
    let mut t = signed.clone();
    t.path = t.path.replace("%3A", ":");
    assert_eq!(t.check(T, &options(HEADER)), Err(Error::InvalidSignature));
}

#[test]
fn s3_style_signed_payload() {
    let how = How { s3: true, ..HEADER };
    let signed = sign_request(
        how,
        "PUT",
        "https://bucket.s3.us-east-1.amazonaws.com/dir//a%20b/./c.txt",
        &[("content-type", "text/plain")],
        b"hello world",
    );
    assert_eq!(signed.path, "/dir//a%20b/./c.txt");
    let auth = signed.parse().unwrap();
    assert!(
        auth.signed_headers
            .contains(&"x-amz-content-sha256".to_owned())
    );
    assert_tampering_detected(&signed, how);
    // Non-S3 path rules (normalise, double-encode) would not match.
    assert_eq!(
        signed.check(T, &options(HEADER)),
        Err(Error::InvalidSignature)
    );
}

#[test]
fn s3_style_unsigned_payload() {
    let how = How {
        s3: true,
        unsigned_payload: true,
        ..HEADER
    };
    let signed = sign_request(
        how,
        "PUT",
        "https://bucket.s3.us-east-1.amazonaws.com/key",
        &[],
        b"streamed body",
    );
    assert_tampering_detected(&signed, how);
    // The body is not signed, so it may change...
    let mut t = signed.clone();
    t.body = b"another body".to_vec();
    t.check(T, &options(how)).unwrap();
    // ...which is why a service must opt in.
    let strict = Options {
        allow_unsigned_payload: false,
        ..options(how)
    };
    assert!(matches!(
        signed.check(T, &strict),
        Err(Error::InvalidContentSha256(_))
    ));
}

#[test]
fn s3_style_presigned_get() {
    let how = How {
        s3: true,
        presign: Some(3600),
        unsigned_payload: true,
        ..HEADER
    };
    let signed = sign_request(
        how,
        "GET",
        "https://bucket.s3.us-east-1.amazonaws.com/photos/cat%2B1.jpg?response-content-type=image%2Fjpeg",
        &[],
        b"",
    );
    assert_tampering_detected(&signed, how);
}

#[test]
fn signing_key_can_be_cached() {
    let signed = json_call(HEADER);
    signed.with(|req| {
        let auth = parse(req).unwrap();
        let key = signing_key(SECRET.as_bytes(), "20240229", "us-east-1", "svc");
        verify_with_key(req, &auth, &key, T, &Options::default()).unwrap();
        let other_day = signing_key(SECRET.as_bytes(), "20240301", "us-east-1", "svc");
        assert_eq!(
            verify_with_key(req, &auth, &other_day, T, &Options::default()),
            Err(Error::InvalidSignature)
        );
    });
}

#[test]
fn host_and_date_must_be_signed() {
    // Hand-made Authorization headers: the verifier refuses them before
    // looking at the signature, so the signature need not be valid.
    let date = format_amz_date(T);
    let sig = "0".repeat(64);
    let cred = format!("{AKID}/{}/us-east-1/svc/aws4_request", &date[..8]);
    let request = |signed_headers: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Host".to_owned(), b"example.com".to_vec()),
            ("X-Amz-Date".to_owned(), date.clone().into_bytes()),
            (
                "Authorization".to_owned(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed_headers}, Signature={sig}"
                )
                .into_bytes(),
            ),
        ];
        headers.extend(
            extra
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())),
        );
        Signed {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers,
            body: Vec::new(),
        }
    };
    let options = Options::default();
    assert_eq!(
        request("x-amz-date", &[]).check(T, &options),
        Err(Error::MissingSignedHeader("host"))
    );
    assert_eq!(
        request("host", &[]).check(T, &options),
        Err(Error::MissingSignedHeader("x-amz-date"))
    );
    let hash = "a".repeat(64);
    assert_eq!(
        request("host;x-amz-date", &[("x-amz-content-sha256", &hash)]).check(T, &options),
        Err(Error::MissingSignedHeader("x-amz-content-sha256"))
    );
    assert_eq!(
        request("host;x-amz-date", &[]).check(T, &options),
        Err(Error::InvalidSignature)
    );
    assert_eq!(
        Error::MissingSignedHeader("host").message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn header_auth_clock_window() {
    let signed = json_call(HEADER);
    let options = Options::default();
    for now in [T - 900, T - 1, T, T + 1, T + 900] {
        signed.check(now, &options).unwrap();
    }
    assert_eq!(
        signed.check(T + 901, &options),
        Err(Error::RequestTimeTooSkewed(
            "Signature expired: 20240229T235930Z is now earlier than 20240229T235931Z \
             (20240301T001431Z - 15 min.)"
                .into()
        ))
    );
    assert_eq!(
        signed.check(T - 901, &options),
        Err(Error::RequestTimeTooSkewed(
            "Signature not yet current: 20240229T235930Z is still later than 20240229T235929Z \
             (20240229T234429Z + 15 min.)"
                .into()
        ))
    );
    let tight = Options {
        max_skew_secs: 30,
        ..options
    };
    signed.check(T + 30, &tight).unwrap();
    let err = signed.check(T + 31, &tight).unwrap_err();
    assert!(err.message().ends_with("- 30 sec.)"), "{err}");
}

#[test]
fn presigned_expiry() {
    let how = How {
        presign: Some(300),
        ..HEADER
    };
    let signed = query_call(how);
    let options = Options::default();
    // Valid from (clock skew before) the signing time until it expires.
    for now in [T - 900, T, T + 299, T + 300] {
        signed.check(now, &options).unwrap();
    }
    assert_eq!(
        signed.check(T + 301, &options),
        Err(Error::SignatureExpired(
            "Signature expired: 20240229T235930Z is now earlier than 20240229T235931Z \
             (20240301T000431Z - 300 sec.)"
                .into()
        ))
    );
    assert!(matches!(
        signed.check(T - 901, &options),
        Err(Error::RequestTimeTooSkewed(m)) if m.starts_with("Signature not yet current")
    ));
    // A week is the longest a presigned URL may live.
    let week = How {
        presign: Some(604_800),
        ..HEADER
    };
    query_call(week).check(T + 604_800, &options).unwrap();
}

#[test]
fn signed_in_another_region_or_day() {
    // Signed yesterday for another region: the scope is consistent with the
    // request time, so only the clock and the server's scope check object.
    let signed = sign_at(
        HEADER,
        "POST",
        "https://kms.eu-west-1.amazonaws.com/",
        &[],
        b"{}",
        T - 86_400,
        "eu-west-1",
        "kms",
    );
    signed.check(T - 86_400, &Options::default()).unwrap();
    assert!(matches!(
        signed.check(T, &Options::default()),
        Err(Error::RequestTimeTooSkewed(_))
    ));
    assert!(matches!(
        signed.parse().unwrap().check_scope("us-east-1", "kms"),
        Err(Error::ScopeMismatch(_))
    ));
}
