use std::fmt;

/// Why a request failed authentication.
///
/// Each variant is one of the outcomes AWS distinguishes; the server turns it
/// into its protocol's error code. The usual mapping (JSON protocol such as
/// KMS / query protocol such as STS and IAM / S3):
///
/// | variant | JSON | query | S3 |
/// | --- | --- | --- | --- |
/// | `MissingAuthenticationToken` | `MissingAuthenticationTokenException` | `MissingAuthenticationToken` | `AccessDenied` |
/// | `IncompleteSignature`, `MissingSignedHeader` | `IncompleteSignatureException` | `IncompleteSignature` | `AuthorizationHeaderMalformed` |
/// | `InvalidSignature` | `InvalidSignatureException` | `SignatureDoesNotMatch` | `SignatureDoesNotMatch` |
/// | `SignatureExpired` | `InvalidSignatureException` | `SignatureDoesNotMatch` | `AccessDenied` |
/// | `RequestTimeTooSkewed` | `InvalidSignatureException` | `SignatureDoesNotMatch` | `RequestTimeTooSkewed` |
/// | `ScopeMismatch` | `InvalidSignatureException` | `SignatureDoesNotMatch` | `AuthorizationHeaderMalformed` |
/// | `ContentSha256Mismatch`, `InvalidContentSha256` | `InvalidSignatureException` | `SignatureDoesNotMatch` | `XAmzContentSHA256Mismatch` / `InvalidArgument` |
///
/// [`Error::message`] gives the human-readable text in AWS's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The request carries no SigV4 authentication at all.
    MissingAuthenticationToken,
    /// The authentication is present but malformed or incomplete; the text
    /// says what is wrong.
    IncompleteSignature(String),
    /// The signature is well formed but is not the one we compute.
    InvalidSignature,
    /// A presigned URL is used after `X-Amz-Date + X-Amz-Expires`.
    SignatureExpired(String),
    /// The request time is outside the allowed clock skew: either
    /// "Signature expired: ..." (too old) or "Signature not yet current: ..."
    /// (too far in the future).
    RequestTimeTooSkewed(String),
    /// The credential scope does not fit the request: its date differs from
    /// the request date, or its region, service or terminator is wrong.
    ScopeMismatch(String),
    /// A header that must be covered by the signature (`host`, the header
    /// carrying the request time, `x-amz-content-sha256`) is not among the
    /// signed headers. Holds the lowercase header name.
    MissingSignedHeader(&'static str),
    /// The body does not hash to the value declared in
    /// `x-amz-content-sha256`.
    ContentSha256Mismatch,
    /// `x-amz-content-sha256` holds a value this verifier does not accept
    /// (a streaming mode, garbage, or `UNSIGNED-PAYLOAD` where not allowed).
    InvalidContentSha256(String),
}

impl Error {
    /// The error text a client sees, worded as AWS words it.
    pub fn message(&self) -> String {
        match self {
            Error::MissingAuthenticationToken => "Request is missing Authentication Token".into(),
            Error::IncompleteSignature(m)
            | Error::SignatureExpired(m)
            | Error::RequestTimeTooSkewed(m)
            | Error::ScopeMismatch(m)
            | Error::InvalidContentSha256(m) => m.clone(),
            Error::InvalidSignature => "The request signature we calculated does not match the \
                signature you provided. Check your AWS Secret Access Key and signing method. \
                Consult the service documentation for details."
                .into(),
            Error::MissingSignedHeader("host") => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
            }
            Error::MissingSignedHeader(name) => {
                format!("'{name}' must be a 'SignedHeader' in the AWS Authorization.")
            }
            Error::ContentSha256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into()
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

/// Quotes client input for an error message, cut short and with control
/// characters masked, so that a huge or hostile value can neither bloat the
/// response nor forge lines in a log.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut chars = s.chars();
    let head: String = chars
        .by_ref()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if chars.next().is_some() {
        format!("'{head}...'")
    } else {
        format!("'{head}'")
    }
}
