//! Resource policies: stored and validated here, enforced by the server's authorizer, which
//! reads them through [`SecretsManagerState::secret_facts`].

use palisade_core::{AccountId, Region, RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::*;
use palisade_policy::{ParseOptions, Policy, PolicyKind};

use crate::SecretsManagerState;
use crate::db::Tenant;

/// The check name of a document IAM's policy grammar refuses.
const SYNTAX_CHECK: &str = "IAM_POLICY_VALIDATION";

fn parse(document: &str) -> Result<Policy, String> {
    Policy::parse_with(document, &ParseOptions::new(PolicyKind::Resource))
        .map_err(|error| error.message().to_owned())
}

/// Whether a statement allows everyone without a condition to narrow it down: the broad access
/// `BlockPublicPolicy` refuses.
fn grants_public_access(document: &str) -> bool {
    let Ok(parsed) = serde_json::from_str::<serde_json::Value>(document) else {
        return false;
    };
    let statements = match parsed.get("Statement") {
        Some(serde_json::Value::Array(statements)) => statements.clone(),
        Some(statement) => vec![statement.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|statement| {
        let allows = statement.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        let unconditioned = statement
            .get("Condition")
            .and_then(|condition| condition.as_object())
            .is_none_or(|condition| condition.is_empty());
        allows && unconditioned && statement.get("Principal").is_some_and(is_everyone)
    })
}

fn is_everyone(principal: &serde_json::Value) -> bool {
    match principal {
        serde_json::Value::String(text) => text == "*",
        serde_json::Value::Array(items) => items.iter().any(is_everyone),
        serde_json::Value::Object(map) => map.get("AWS").is_some_and(is_everyone),
        _ => false,
    }
}

pub(crate) async fn put(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: PutResourcePolicyRequest,
) -> Result<PutResourcePolicyResponse, ServiceError> {
    parse(&input.resource_policy).map_err(errors::malformed_policy_document_exception)?;
    if input.block_public_policy.unwrap_or(false) && grants_public_access(&input.resource_policy) {
        return Err(errors::public_policy_exception(
            "The BlockPublicPolicy parameter is set to true, and the resource policy did not \
             prevent broad access to the secret.",
        ));
    }
    let document = input.resource_policy;
    let stored = state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            fresh.policy = Some(document.clone());
            Ok(())
        })
        .await?;
    Ok(PutResourcePolicyResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
    })
}

pub(crate) async fn get(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: GetResourcePolicyRequest,
) -> Result<GetResourcePolicyResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    Ok(GetResourcePolicyResponse {
        arn: Some(record.arn),
        name: Some(record.name),
        resource_policy: record.policy,
    })
}

pub(crate) async fn delete(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: DeleteResourcePolicyRequest,
) -> Result<DeleteResourcePolicyResponse, ServiceError> {
    let stored = state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            fresh.policy = None;
            Ok(())
        })
        .await?;
    Ok(DeleteResourcePolicyResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
    })
}

pub(crate) async fn validate(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: ValidateResourcePolicyRequest,
) -> Result<ValidateResourcePolicyResponse, ServiceError> {
    if let Some(secret_id) = &input.secret_id {
        state
            .existing_secret(&Tenant::owning(ctx, secret_id), secret_id)
            .await?;
    }
    let failures: Vec<ValidationErrorsEntry> = match parse(&input.resource_policy) {
        Ok(_) => Vec::new(),
        Err(message) => vec![ValidationErrorsEntry {
            check_name: Some(SYNTAX_CHECK.to_owned()),
            error_message: Some(message),
        }],
    };
    Ok(ValidateResourcePolicyResponse {
        policy_validation_passed: Some(failures.is_empty()),
        validation_errors: Some(failures),
    })
}

/// What the authorizer needs of a secret: the ARN it is decided on, its resource policy and its
/// tags (`aws:ResourceTag/*`, `secretsmanager:ResourceTag/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFacts {
    pub arn: String,
    pub policy: Option<String>,
    pub tags: Vec<(String, String)>,
}

impl SecretsManagerState {
    /// The secret `secret_id` (name, ARN or partial ARN) names for a caller of `account` in
    /// `region` (another account's by its ARN, see [`crate::secret_owner`]), for the server's
    /// authorizer; `None` when the secret does not exist.
    pub async fn secret_facts(
        &self,
        account: &AccountId,
        region: &Region,
        secret_id: &str,
    ) -> Result<Option<SecretFacts>, ServiceError> {
        let tenant = Tenant {
            account: crate::db::secret_owner(account, region, secret_id)
                .as_str()
                .to_owned(),
            region: region.as_str().to_owned(),
        };
        Ok(self
            .find_secret(&tenant, secret_id)
            .await?
            .map(|found| SecretFacts {
                arn: found.value.arn,
                policy: found.value.policy,
                tags: found.value.tags,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unconditioned_allow_to_everyone_is_public() {
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert!(grants_public_access(public));
        let conditioned = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
            "Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}}"#;
        assert!(!grants_public_access(conditioned));
        let account = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::111122223333:root"},
            "Action":"secretsmanager:GetSecretValue","Resource":"*"}}"#;
        assert!(!grants_public_access(account));
    }
}
