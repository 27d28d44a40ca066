//! Secrets Manager as Parameter Store reads it for `/aws/reference/secretsmanager/...`: the read
//! is authorized as the caller's own `secretsmanager:GetSecretValue` on the secret (its resource
//! policy included), with the condition keys AWS adds when Parameter Store calls for its caller
//! (`aws:CalledVia = ssm.amazonaws.com`, ...), then run by Secrets Manager, whose decryption is
//! the caller's `kms:Decrypt` through Secrets Manager ([`crate::keys::ServiceKeys`]).

use std::sync::Arc;

use palisade_core::model::Protocol;
use palisade_core::secrets::{ReferencedSecret, SecretReader, SecretValue};
use palisade_core::service::BoxFuture;
use palisade_core::value::{IntoValue, StructBuilder};
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_secretsmanager::Secretsmanager;
use palisade_model_secretsmanager::types::{
    DescribeSecretRequest, DescribeSecretResponse, GetSecretValueRequest,
};
use palisade_secretsmanager::SecretsManagerState;

use crate::authorize::Authorizer;
use crate::keys::called_via;

/// [`SecretReader`] over the server's Secrets Manager and authorizer.
pub struct ServiceSecrets {
    secrets: Arc<SecretsManagerState>,
    authorizer: Arc<dyn Authorizer>,
}

impl ServiceSecrets {
    /// Reads run in `secrets` once `authorizer` allows them.
    pub fn new(secrets: Arc<SecretsManagerState>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            secrets,
            authorizer,
        }
    }

    async fn authorize(&self, ctx: &RequestContext, secret_id: &str) -> Result<(), ServiceError> {
        let model = &palisade_model_secretsmanager::MODEL;
        let operation = model
            .operation("GetSecretValue")
            .ok_or_else(|| ServiceError::internal("Secrets Manager has no GetSecretValue"))?;
        let mut input = StructBuilder::new();
        input.set("SecretId", secret_id.to_owned());
        self.authorizer
            .authorize_with(ctx, model, operation, &input.build(), &called_via("ssm"))
            .await
    }
}

impl SecretReader for ServiceSecrets {
    fn read_secret<'a>(
        &'a self,
        ctx: &'a RequestContext,
        secret_id: &'a str,
        version: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ReferencedSecret, ServiceError>> {
        Box::pin(async move {
            // Authorized before anything is read, so a caller learns nothing of a secret it may
            // not read, not even whether it exists.
            self.authorize(ctx, secret_id).await?;
            let secrets = self.secrets.as_ref();
            let described = secrets
                .describe_secret(
                    ctx,
                    DescribeSecretRequest {
                        secret_id: secret_id.to_owned(),
                    },
                )
                .await?;
            // The selector is a version id when the secret has such a version, else a label.
            let is_version_id = |selector: &str| {
                described
                    .version_ids_to_stages
                    .as_ref()
                    .is_some_and(|versions| versions.contains_key(selector))
            };
            let (version_id, version_stage) = match version {
                Some(id) if is_version_id(id) => (Some(id.to_owned()), None),
                Some(label) => (None, Some(label.to_owned())),
                None => (None, None),
            };
            let read = secrets
                .get_secret_value(
                    ctx,
                    GetSecretValueRequest {
                        secret_id: secret_id.to_owned(),
                        version_id,
                        version_stage,
                    },
                )
                .await?;
            let value = match (read.secret_string, read.secret_binary) {
                (Some(text), _) => SecretValue::String(text),
                (None, Some(binary)) => SecretValue::Binary(Sensitive::new(binary.into_inner().0)),
                (None, None) => SecretValue::String(Sensitive::new(String::new())),
            };
            Ok(ReferencedSecret {
                arn: read.arn.unwrap_or_default(),
                value,
                created: read.created_date.unwrap_or_default(),
                description: describe_document(described)?,
            })
        })
    }
}

/// `DescribeSecret`'s output exactly as Secrets Manager's protocol (awsJson 1.1) writes it.
fn describe_document(described: DescribeSecretResponse) -> Result<String, ServiceError> {
    let model = &palisade_model_secretsmanager::MODEL;
    let operation = model
        .operation("DescribeSecret")
        .ok_or_else(|| ServiceError::internal("Secrets Manager has no DescribeSecret"))?;
    let route = palisade_wire::Route {
        model,
        protocol: Protocol::Json,
        operation,
        path_labels: Vec::new(),
    };
    let response = palisade_wire::encode(&route, &described.into_value(), "");
    Ok(String::from_utf8_lossy(response.body()).into_owned())
}
