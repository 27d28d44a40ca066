//! Verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`) requests.
//!
//! The crate does no I/O and knows no HTTP library: the server hands it a
//! borrowed view of the request ([`Request`]), [`parse`] extracts the
//! authentication (from the `Authorization` header or, for presigned URLs,
//! from the query string), the server looks up the secret for
//! [`Authorization::access_key_id`], and [`verify`] (or [`verify_with_key`]
//! with a cached [`signing_key`]) checks the time window, the credential
//! scope and the signature.
//!
//! ```
//! # use palisade_sigv4::*;
//! # fn lookup_secret(_: &str) -> Option<Vec<u8>> { None }
//! # fn handle(req: &Request<'_>, now: i64) -> Result<(), Error> {
//! let auth = parse(req)?;
//! auth.check_scope("us-east-1", "kms")?;
//! let secret = lookup_secret(&auth.access_key_id).ok_or(Error::InvalidSignature)?;
//! verify(req, &auth, &secret, now, &Options::default())?;
//! # Ok(()) }
//! ```
//!
//! Parsing never panics and its work and allocations grow linearly with the
//! request; the sizes it reads are bounded by [`MAX_AUTHORIZATION_LEN`] and
//! [`MAX_SIGNED_HEADERS`].

mod auth;
mod canonical;
mod error;
mod time;

use std::fmt;

use aws_lc_rs::{constant_time, digest, hmac};

pub use auth::parse;
pub use error::Error;
pub use time::{format_amz_date, parse_amz_date};

/// The only signing algorithm this crate verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash a signer uses when it does not sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The last element of every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// The most headers a signature may cover; more is refused as malformed.
pub const MAX_SIGNED_HEADERS: usize = 64;
/// The longest `Authorization` header accepted, in bytes.
pub const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;
/// The longest validity a presigned URL may claim (`X-Amz-Expires`): 7 days.
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;
/// The clock skew AWS tolerates between client and server: 15 minutes.
pub const DEFAULT_MAX_SKEW_SECS: i64 = 900;

/// A request as it arrived, borrowed from the HTTP layer.
///
/// For HTTP/2 the caller passes the `:authority` pseudo-header as `host`.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `"POST"`.
    pub method: &'a str,
    /// The path as sent, still percent-encoded, e.g. `"/foo%20bar"`.
    pub path: &'a str,
    /// The raw query string without the '?', possibly empty.
    pub query: &'a str,
    /// The headers in arrival order; names in any case, repeats allowed.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The body.
    pub payload: Payload<'a>,
}

/// The request body as the verifier sees it.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    /// The complete body. The verifier hashes it, unless the request declares
    /// `UNSIGNED-PAYLOAD` (see [`Options::allow_unsigned_payload`]); a hash
    /// declared in `x-amz-content-sha256` is checked against it.
    Bytes(&'a [u8]),
}

/// The scope a signing key is derived for: `date/region/service/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// `YYYYMMDD`, which must be the date of the request time.
    pub date: String,
    /// The region the client signed for, e.g. `us-east-1`.
    pub region: String,
    /// The signing name of the service, e.g. `kms`.
    pub service: String,
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The authentication a request carries, as found by [`parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id that signed the request.
    pub access_key_id: String,
    /// The credential scope the signing key was derived for.
    pub scope: CredentialScope,
    /// The lowercase names of the signed headers, sorted.
    pub signed_headers: Vec<String>,
    /// The signature the client sent.
    pub signature: [u8; 32],
    /// The request time in seconds since the epoch, from `X-Amz-Date` (or
    /// the `Date` header when `X-Amz-Date` is absent).
    pub request_time: i64,
    /// The session token, from the `X-Amz-Security-Token` header (header
    /// form) or query parameter (presigned form).
    pub security_token: Option<String>,
    /// `Some(X-Amz-Expires)` for a presigned URL, `None` for header auth.
    pub presigned: Option<u64>,
}

impl fmt::Debug for Authorization {
    // The token is a bearer credential and the signature is valid for up to
    // a week as a presigned URL: neither belongs in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"<redacted>")
            .field("request_time", &format_amz_date(self.request_time))
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("presigned", &self.presigned)
            .finish()
    }
}

impl Authorization {
    /// Checks that the client signed for this region and service.
    ///
    /// [`verify`] cannot know where the request was sent, so the server
    /// calls this with its own region and the service's signing name.
    pub fn check_scope(&self, region: &str, service: &str) -> Result<(), Error> {
        if self.scope.region != region {
            return Err(Error::ScopeMismatch(format!(
                "Credential should be scoped to a valid region, not {}.",
                error::excerpt(&self.scope.region)
            )));
        }
        if self.scope.service != service {
            return Err(Error::ScopeMismatch(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
        Ok(())
    }
}

/// How a service checks signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// `true` for every service but S3: the path is normalised (dot segments
    /// resolved, repeated slashes merged) and its percent-encoding is itself
    /// encoded again for the canonical URI. `false` (S3) signs the path as
    /// sent.
    pub normalize_path: bool,
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (an S3 feature), and
    /// presigned URLs signed with UNSIGNED-PAYLOAD for a non-empty body. The
    /// body is then not covered by the signature.
    pub allow_unsigned_payload: bool,
    /// How far, in seconds, the request time may be from the server's clock
    /// ([`DEFAULT_MAX_SKEW_SECS`]).
    pub max_skew_secs: i64,
}

impl Default for Options {
    /// The settings of a non-S3 service: normalised paths, signed payloads,
    /// 15 minutes of skew.
    fn default() -> Self {
        Options {
            normalize_path: true,
            allow_unsigned_payload: false,
            max_skew_secs: DEFAULT_MAX_SKEW_SECS,
        }
    }
}

/// Derives the signing key for a scope. It depends only on the secret and
/// the scope, so the server may cache it per `(access key, date, region,
/// service)` and call [`verify_with_key`].
pub fn signing_key(secret_access_key: &[u8], date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut seed = Vec::with_capacity(4 + secret_access_key.len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret_access_key);
    let mut key = hmac_sha256(&seed, date.as_bytes());
    // Best effort: the copy of the secret should not outlive this call.
    seed.fill(0);
    std::hint::black_box(&seed);
    for part in [region, service, SCOPE_TERMINATOR] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    key
}

/// Verifies a request with the secret access key of `auth.access_key_id`.
///
/// Equivalent to [`verify_with_key`] with the key from [`signing_key`].
pub fn verify(
    req: &Request<'_>,
    auth: &Authorization,
    secret_access_key: &[u8],
    now_epoch_secs: i64,
    options: &Options,
) -> Result<(), Error> {
    let key = signing_key(
        secret_access_key,
        &auth.scope.date,
        &auth.scope.region,
        &auth.scope.service,
    );
    verify_with_key(req, auth, &key, now_epoch_secs, options)
}

/// Verifies a request with a signing key derived for `auth.scope`.
///
/// Checks, in this order: that the scope date is the request date, that the
/// request time is within the allowed window (or, presigned, not expired),
/// that `host` and the other headers that must be signed are, and finally
/// the signature, compared in constant time. `auth` must come from
/// [`parse`] of the same request.
pub fn verify_with_key(
    req: &Request<'_>,
    auth: &Authorization,
    signing_key: &[u8; 32],
    now_epoch_secs: i64,
    options: &Options,
) -> Result<(), Error> {
    check_scope_date(auth)?;
    check_time(auth, now_epoch_secs, options.max_skew_secs)?;
    check_required_headers(req, auth)?;
    let candidates = canonical::Candidates::build(req, auth, options)?;
    let mut matched = false;
    for canonical_request in candidates.iter() {
        let expected = signature(signing_key, &string_to_sign(auth, &canonical_request));
        // Every candidate is checked so that the time taken does not tell
        // which form came closest.
        matched |= constant_time::verify_slices_are_equal(&expected, &auth.signature).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(Error::InvalidSignature)
    }
}

/// The canonical request as AWS defines it, in the form the verifier tries
/// first. (For presigned URLs it may also accept the same request with
/// `UNSIGNED-PAYLOAD` as the payload hash, or without a session token that
/// was added after signing.) Useful to explain a signature mismatch.
///
/// Bytes rather than a `String` because header values need not be UTF-8.
pub fn canonical_request(
    req: &Request<'_>,
    auth: &Authorization,
    options: &Options,
) -> Result<Vec<u8>, Error> {
    canonical::Candidates::build(req, auth, options)?
        .iter()
        .next()
        .ok_or(Error::InvalidSignature)
}

/// The string to sign for a canonical request:
/// `AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(auth: &Authorization, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        format_amz_date(auth.request_time),
        auth.scope,
        sha256_hex(canonical_request)
    )
}

/// The signature of a string to sign: what a signer puts in `Signature=`
/// (hex-encoded). Exposed for tests and tools that sign requests.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> [u8; 32] {
    hmac_sha256(signing_key, string_to_sign.as_bytes())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

fn check_scope_date(auth: &Authorization) -> Result<(), Error> {
    let amz_date = format_amz_date(auth.request_time);
    let request_date = amz_date.get(..8).unwrap_or_default();
    if auth.scope.date == request_date {
        return Ok(());
    }
    Err(Error::ScopeMismatch(format!(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: {} != '{request_date}', from '{amz_date}'.",
        error::excerpt(&auth.scope.date)
    )))
}

fn check_time(auth: &Authorization, now: i64, max_skew_secs: i64) -> Result<(), Error> {
    let skew = max_skew_secs.max(0);
    let skew_text = if skew % 60 == 0 {
        format!("{} min.", skew / 60)
    } else {
        format!("{skew} sec.")
    };
    let t = auth.request_time;
    let latest = now.saturating_add(skew);
    if t > latest {
        return Err(Error::RequestTimeTooSkewed(format!(
            "Signature not yet current: {} is still later than {} ({} + {skew_text})",
            format_amz_date(t),
            format_amz_date(latest),
            format_amz_date(now)
        )));
    }
    match auth.presigned {
        Some(expires) => {
            let expires = i64::try_from(expires).unwrap_or(i64::MAX);
            let earliest = now.saturating_sub(expires);
            if t < earliest {
                return Err(Error::SignatureExpired(format!(
                    "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                    format_amz_date(t),
                    format_amz_date(earliest),
                    format_amz_date(now)
                )));
            }
        }
        None => {
            let earliest = now.saturating_sub(skew);
            if t < earliest {
                return Err(Error::RequestTimeTooSkewed(format!(
                    "Signature expired: {} is now earlier than {} ({} - {skew_text})",
                    format_amz_date(t),
                    format_amz_date(earliest),
                    format_amz_date(now)
                )));
            }
        }
    }
    Ok(())
}

/// Headers that must be signed whenever they matter: `host` always (it
/// names the endpoint), the header carrying the request time for header auth
/// (else a captured request could be replayed with a fresh date), and
/// `x-amz-content-sha256` when present (else the declared body hash could be
/// swapped).
fn check_required_headers(req: &Request<'_>, auth: &Authorization) -> Result<(), Error> {
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    let present = |name: &str| {
        req.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !signed("host") {
        return Err(Error::MissingSignedHeader("host"));
    }
    if auth.presigned.is_none() {
        let date_header = if present(auth::X_AMZ_DATE) {
            "x-amz-date"
        } else {
            "date"
        };
        if !signed(date_header) {
            return Err(Error::MissingSignedHeader(date_header));
        }
    }
    if present(canonical::X_AMZ_CONTENT_SHA256) && !signed(canonical::X_AMZ_CONTENT_SHA256) {
        return Err(Error::MissingSignedHeader(canonical::X_AMZ_CONTENT_SHA256));
    }
    Ok(())
}
