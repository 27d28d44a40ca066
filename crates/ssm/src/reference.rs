//! `/aws/reference/secretsmanager/<secret-id>[:<version-id or staging label>]`: a Secrets Manager
//! secret read through `GetParameter` and `GetParameters` (and nothing else), as AWS documents in
//! "Referencing AWS Secrets Manager secrets from Parameter Store parameters". The read is the
//! caller's own, through [`SecretReader`]: Parameter Store adds no permission of its own.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use palisade_core::secrets::{SecretReader, SecretValue};
use palisade_core::service::ErrorKind;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_ssm::errors;
use palisade_model_ssm::types::{Parameter, ParameterType};

/// Where Parameter Store forwards to Secrets Manager.
pub(crate) const PREFIX: &str = "/aws/reference/secretsmanager/";

/// An ARN's fields before its resource name: `arn:aws:secretsmanager:<region>:<account>:secret:`.
const ARN_FIELDS_BEFORE_NAME: usize = 6;

/// The parameter a reference answers; `None` when the secret (or the version picked) does not
/// exist. `name` is the whole name as given, `/aws/reference/secretsmanager/` included.
pub(crate) async fn read(
    reader: Option<&dyn SecretReader>,
    ctx: &RequestContext,
    name: &str,
    decrypt: bool,
) -> Result<Option<Parameter>, ServiceError> {
    if !decrypt {
        return Err(ServiceError::validation(
            "WithDecryption flag must be True for retrieving a Secret Manager secret.",
        ));
    }
    let reference = name.strip_prefix(PREFIX).unwrap_or(name);
    let (secret_id, selector) = split_selector(reference);
    let Some(reader) = reader.filter(|_| !secret_id.is_empty()) else {
        return Ok(None);
    };
    let secret = match reader.read_secret(ctx, secret_id, selector).await {
        Ok(secret) => secret,
        Err(error) => {
            return match &error.kind {
                ErrorKind::Modeled { code, .. } if *code == "ResourceNotFoundException" => Ok(None),
                _ => Err(error),
            };
        }
    };
    Ok(Some(Parameter {
        name: Some(format!("{PREFIX}{secret_id}")),
        r#type: Some(ParameterType::SecureString),
        value: Some(match secret.value {
            SecretValue::String(text) => text,
            // A parameter's value is text: a binary secret is answered in base64, as the JSON
            // protocols carry `SecretBinary`.
            SecretValue::Binary(bytes) => Sensitive::new(STANDARD.encode(bytes.expose())),
        }),
        // A referenced secret has no Parameter Store history: AWS answers version 0.
        version: Some(0),
        selector: selector.map(|selector| format!(":{selector}")),
        source_result: Some(secret.description),
        last_modified_date: Some(secret.created),
        arn: Some(secret.arn),
        data_type: Some("text".to_owned()),
    }))
}

/// The secret id and the version selector after it. Secret names never contain `:`, so the
/// selector starts at the first `:` after the name, or after the ARN's fixed fields.
fn split_selector(reference: &str) -> (&str, Option<&str>) {
    let name_starts = if reference.starts_with("arn:") {
        reference
            .match_indices(':')
            .nth(ARN_FIELDS_BEFORE_NAME - 1)
            .map_or(reference.len(), |(at, _)| at + 1)
    } else {
        0
    };
    let selector_at = reference
        .get(name_starts..)
        .and_then(|name| name.find(':'))
        .map(|at| name_starts + at);
    match selector_at.and_then(|at| reference.split_at_checked(at)) {
        Some((secret_id, selector)) => (
            secret_id,
            selector
                .strip_prefix(':')
                .filter(|selector| !selector.is_empty()),
        ),
        None => (reference, None),
    }
}

/// AWS's answer for a reference to a secret that does not exist, `name` as given.
pub(crate) fn not_found(name: &str) -> ServiceError {
    errors::parameter_not_found(format!("Secret {name} not found."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_follow_the_name_or_the_arn() {
        assert_eq!(split_selector("db"), ("db", None));
        assert_eq!(
            split_selector("app/db:AWSPREVIOUS"),
            ("app/db", Some("AWSPREVIOUS"))
        );
        let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
        assert_eq!(split_selector(arn), (arn, None));
        assert_eq!(split_selector(&format!("{arn}:v1")), (arn, Some("v1")));
        assert_eq!(split_selector("db:"), ("db", None));
    }
}
