//! Policy documents as IAM accepts and returns them: the checks IAM makes before it stores a
//! policy (grammar and size, with AWS's messages), and the URL encoding of documents in
//! responses.
//!
//! The grammar is the policy engine's ([`palisade_policy`]), so that what IAM accepts is what
//! the authorizer can evaluate. AWS returns documents exactly as they were given, so callers
//! store the text they validated, not a re-serialization.

use palisade_core::ServiceError;
use palisade_model_iam::errors;
use palisade_policy::{ParseOptions, Policy, PolicyError, PolicyKind, limits};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Which policy a document is, which decides its grammar and size quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A customer managed policy version: an identity policy of at most 6,144 characters.
    Managed,
    /// An inline policy of a user, group or role: an identity policy, whose quota applies to
    /// the total of the entity's inline policies (see [`check_inline_total`]).
    Inline,
    /// A role's trust policy: names principals, not resources; at most 2,048 characters.
    Trust,
}

/// Checks `document` as IAM does for a policy of `kind`: `MalformedPolicyDocument` or
/// `LimitExceeded`, with AWS's message, for the first problem found.
pub fn validate(document: &str, kind: DocumentKind) -> Result<(), ServiceError> {
    let options = match kind {
        DocumentKind::Managed => {
            ParseOptions::new(PolicyKind::Identity).with_max_size(limits::MANAGED)
        }
        DocumentKind::Inline => ParseOptions::new(PolicyKind::Identity),
        DocumentKind::Trust => ParseOptions::new(PolicyKind::Trust).with_max_size(limits::TRUST),
    };
    Policy::parse_with(document, &options)
        .map(|_| ())
        .map_err(|error| match error {
            PolicyError::Malformed(message) => errors::malformed_policy_document_exception(message),
            PolicyError::LimitExceeded(message) => errors::limit_exceeded_exception(message),
        })
}

/// The size of `document` as IAM counts it against quotas: white space does not count.
pub fn size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// Refuses inline policies whose sizes add up past the entity's quota: IAM limits the total
/// of an entity's inline policies, not each one. `entity` is e.g. `user alice`.
pub(crate) fn check_inline_total<'a>(
    documents: impl IntoIterator<Item = &'a str>,
    quota: usize,
    entity: &str,
) -> Result<(), ServiceError> {
    let total: usize = documents.into_iter().map(size).sum();
    if total > quota {
        return Err(errors::limit_exceeded_exception(format!(
            "Maximum policy size of {quota} bytes exceeded for {entity}"
        )));
    }
    Ok(())
}

/// `document` percent-encoded as RFC 3986 says (everything but unreserved characters), which
/// is how IAM returns policy documents; SDKs decode them (botocore back into a dict).
pub fn url_encode(document: &str) -> String {
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(document, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(document: &str, kind: DocumentKind) -> (String, String) {
        let error = validate(document, kind).unwrap_err();
        let code = match error.kind {
            palisade_core::service::ErrorKind::Modeled { code, .. } => code.to_string(),
            other => format!("{other:?}"),
        };
        (code, error.message)
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;

    #[test]
    fn each_kind_has_its_grammar() {
        validate(ALLOW_ALL, DocumentKind::Managed).unwrap();
        validate(ALLOW_ALL, DocumentKind::Inline).unwrap();
        validate(TRUST, DocumentKind::Trust).unwrap();
        let malformed = |message: &str| ("MalformedPolicyDocument".to_owned(), message.to_owned());
        assert_eq!(
            refusal(TRUST, DocumentKind::Inline),
            malformed("Policy document should not specify a principal.")
        );
        assert_eq!(
            refusal("{not json", DocumentKind::Managed),
            malformed("Syntax errors in policy.")
        );
        assert_eq!(
            refusal(
                r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}"#,
                DocumentKind::Managed
            ),
            malformed("Policy statement must contain resources.")
        );
        assert_eq!(
            refusal(ALLOW_ALL, DocumentKind::Trust).0,
            "MalformedPolicyDocument"
        );
    }

    #[test]
    fn managed_and_trust_sizes_ignore_white_space() {
        let statement = |resource_len: usize| {
            format!(
                r#"{{"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::{}"}}}}"#,
                "b".repeat(resource_len)
            )
        };
        let base = size(&statement(0));
        let fits = statement(limits::MANAGED - base);
        validate(
            &format!("{}{fits}", " ".repeat(10_000)),
            DocumentKind::Managed,
        )
        .unwrap();
        assert_eq!(
            refusal(
                &statement(limits::MANAGED - base + 1),
                DocumentKind::Managed
            ),
            (
                "LimitExceeded".to_owned(),
                "Cannot exceed quota for PolicySize: 6144".to_owned()
            )
        );
        // Inline policies are limited by their total, not one by one.
        validate(&statement(limits::MANAGED), DocumentKind::Inline).unwrap();
        let long_trust = format!(
            r#"{{"Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:role/{}"}},"Action":"sts:AssumeRole"}}}}"#,
            "r".repeat(2100)
        );
        assert_eq!(
            refusal(&long_trust, DocumentKind::Trust),
            (
                "LimitExceeded".to_owned(),
                "Cannot exceed quota for ACLSizePerRole: 2048".to_owned()
            )
        );
        assert_eq!(size("{ \"a\" :\n\t1 }"), 7);
        assert_eq!(
            check_inline_total(
                ["x".repeat(1500).as_str(), "y".repeat(600).as_str()],
                2048,
                "user alice"
            )
            .unwrap_err()
            .message,
            "Maximum policy size of 2048 bytes exceeded for user alice"
        );
    }

    #[test]
    fn documents_are_url_encoded_as_rfc_3986() {
        assert_eq!(
            url_encode(r#"{"Action": "s3:Get*", "x": "a-b_c.d~"}"#),
            "%7B%22Action%22%3A%20%22s3%3AGet%2A%22%2C%20%22x%22%3A%20%22a-b_c.d~%22%7D"
        );
    }
}
