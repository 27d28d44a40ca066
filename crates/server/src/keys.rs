//! KMS as Secrets Manager and Parameter Store call it on a caller's behalf: each call is
//! authorized as the caller's own `kms:<Operation>` on the key, with the condition keys AWS adds
//! to a request a service makes for its caller (`kms:ViaService`, `aws:CalledVia`, ...), then run
//! by KMS. `KeyRef::AwsManaged` is the service's AWS managed key, created on first use.

use std::sync::Arc;

use palisade_core::keys::{DataKey, EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::BoxFuture;
use palisade_core::value::{Blob, IntoValue, StructBuilder};
use palisade_core::{RequestContext, Sensitive, ServiceError, Value};
use palisade_kms::{ConditionKey, KmsState};
use palisade_model_kms::Kms;
use palisade_model_kms::types::{
    DataKeySpec, DecryptRequest, EncryptRequest, GenerateDataKeyRequest,
};

use crate::authorize::Authorizer;

/// [`KeyService`] over the server's KMS and authorizer.
pub struct ServiceKeys {
    kms: Arc<KmsState>,
    authorizer: Arc<dyn Authorizer>,
}

impl ServiceKeys {
    /// Calls run in `kms` once `authorizer` allows them.
    pub fn new(kms: Arc<KmsState>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { kms, authorizer }
    }

    async fn authorize(
        &self,
        ctx: &RequestContext,
        via: Via<'_>,
        operation_name: &str,
        input: &Value,
    ) -> Result<(), ServiceError> {
        let model: &'static ServiceModel = &palisade_model_kms::MODEL;
        let operation: &'static Operation = model
            .operation(operation_name)
            .ok_or_else(|| ServiceError::internal(format!("KMS has no {operation_name}")))?;
        self.authorizer
            .authorize_with(ctx, model, operation, input, &on_behalf(ctx, via))
            .await
    }

    /// The key id KMS is asked for: an AWS managed key by its ARN, created on first use.
    async fn key_id(&self, ctx: &RequestContext, key: KeyRef<'_>) -> Result<String, ServiceError> {
        match key {
            KeyRef::AwsManaged(service) => self.kms.aws_managed_key(ctx, service).await,
            KeyRef::Customer(id) => Ok(id.to_owned()),
        }
    }
}

/// The condition keys of a request `via.service` makes to KMS for the caller of `ctx`.
fn on_behalf(ctx: &RequestContext, via: Via<'_>) -> Vec<ConditionKey> {
    let service = via.service;
    let called_via = format!("{service}.amazonaws.com");
    let key = |name: &str, value: String| (name.to_owned(), vec![value]);
    vec![
        key(
            "kms:ViaService",
            format!("{service}.{}.amazonaws.com", ctx.region.as_str()),
        ),
        key("aws:CalledVia", called_via.clone()),
        key("aws:CalledViaFirst", called_via.clone()),
        key("aws:CalledViaLast", called_via),
        key("aws:ViaAWSService", "true".to_owned()),
    ]
}

/// The part of a request the authorizer reads: the key it uses (`member` names it: `KeyId`, or
/// the ciphertext that names it) and the encryption context.
fn naming(member: &str, value: impl IntoValue, context: &EncryptionContext) -> Value {
    let mut input = StructBuilder::new();
    input.set(member, value);
    input.set_opt("EncryptionContext", context_option(context));
    input.build()
}

fn context_option(context: &EncryptionContext) -> Option<EncryptionContext> {
    (!context.is_empty()).then(|| context.clone())
}

impl KeyService for ServiceKeys {
    fn generate_data_key<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>> {
        Box::pin(async move {
            let request = GenerateDataKeyRequest {
                key_id: self.key_id(ctx, key).await?,
                encryption_context: context_option(context),
                key_spec: Some(DataKeySpec::Aes256),
                ..GenerateDataKeyRequest::default()
            };
            let input = naming("KeyId", request.key_id.clone(), context);
            self.authorize(ctx, via, "GenerateDataKey", &input).await?;
            let response = self.kms.generate_data_key(ctx, request).await?;
            Ok(DataKey {
                plaintext: Sensitive::new(
                    response
                        .plaintext
                        .map(|plaintext| plaintext.into_inner().0)
                        .unwrap_or_default(),
                ),
                ciphertext: response.ciphertext_blob.unwrap_or_default().0,
                key_arn: response.key_id.unwrap_or_default(),
            })
        })
    }

    fn encrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<(Vec<u8>, String), ServiceError>> {
        Box::pin(async move {
            let request = EncryptRequest {
                key_id: self.key_id(ctx, key).await?,
                plaintext: Sensitive::new(Blob(plaintext.to_vec())),
                encryption_context: context_option(context),
                ..EncryptRequest::default()
            };
            let input = naming("KeyId", request.key_id.clone(), context);
            self.authorize(ctx, via, "Encrypt", &input).await?;
            let response = self.kms.encrypt(ctx, request).await?;
            Ok((
                response.ciphertext_blob.unwrap_or_default().0,
                response.key_id.unwrap_or_default(),
            ))
        })
    }

    fn decrypt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>> {
        Box::pin(async move {
            // The authorizer finds the key in the ciphertext's header, as for a direct call.
            let input = naming("CiphertextBlob", Blob(ciphertext.to_vec()), context);
            self.authorize(ctx, via, "Decrypt", &input).await?;
            let request = DecryptRequest {
                ciphertext_blob: Some(Blob(ciphertext.to_vec())),
                encryption_context: context_option(context),
                ..DecryptRequest::default()
            };
            let response = self.kms.decrypt(ctx, request).await?;
            Ok(Sensitive::new(
                response
                    .plaintext
                    .map(|plaintext| plaintext.into_inner().0)
                    .unwrap_or_default(),
            ))
        })
    }
}
