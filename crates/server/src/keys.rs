//! KMS as Secrets Manager and Parameter Store call it on a caller's behalf: each call is
//! authorized as the caller's own `kms:<Operation>` on the key, then run by KMS.

use std::sync::Arc;

use palisade_core::keys::{DataKey, EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::BoxFuture;
use palisade_core::value::{Blob, StructBuilder};
use palisade_core::{RequestContext, Sensitive, ServiceError, Value};
use palisade_kms::KmsState;
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
        operation_name: &str,
        input: &Value,
    ) -> Result<(), ServiceError> {
        let model: &'static ServiceModel = &palisade_model_kms::MODEL;
        let operation: &'static Operation = model
            .operation(operation_name)
            .ok_or_else(|| ServiceError::internal(format!("KMS has no {operation_name}")))?;
        self.authorizer
            .authorize(ctx, model, operation, input)
            .await
    }
}

/// The key id KMS is asked for: an AWS managed key by its alias.
fn key_id(key: KeyRef<'_>) -> String {
    match key {
        KeyRef::AwsManaged(service) => format!("alias/aws/{service}"),
        KeyRef::Customer(id) => id.to_owned(),
    }
}

/// The part of a request the authorizer reads: the key it names.
fn naming_key(key_id: &str) -> Value {
    let mut input = StructBuilder::new();
    input.set("KeyId", key_id.to_owned());
    input.build()
}

fn context_option(context: &EncryptionContext) -> Option<EncryptionContext> {
    (!context.is_empty()).then(|| context.clone())
}

impl KeyService for ServiceKeys {
    fn generate_data_key<'a>(
        &'a self,
        ctx: &'a RequestContext,
        _via: Via<'a>,
        key: KeyRef<'a>,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>> {
        Box::pin(async move {
            let request = GenerateDataKeyRequest {
                key_id: key_id(key),
                encryption_context: context_option(context),
                key_spec: Some(DataKeySpec::Aes256),
                ..GenerateDataKeyRequest::default()
            };
            self.authorize(ctx, "GenerateDataKey", &naming_key(&request.key_id))
                .await?;
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
        _via: Via<'a>,
        key: KeyRef<'a>,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<(Vec<u8>, String), ServiceError>> {
        Box::pin(async move {
            let request = EncryptRequest {
                key_id: key_id(key),
                plaintext: Sensitive::new(Blob(plaintext.to_vec())),
                encryption_context: context_option(context),
                ..EncryptRequest::default()
            };
            self.authorize(ctx, "Encrypt", &naming_key(&request.key_id))
                .await?;
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
        _via: Via<'a>,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>> {
        Box::pin(async move {
            // The authorizer finds the key in the ciphertext's header, as for a direct call.
            let mut naming_ciphertext = StructBuilder::new();
            naming_ciphertext.set("CiphertextBlob", Blob(ciphertext.to_vec()));
            self.authorize(ctx, "Decrypt", &naming_ciphertext.build())
                .await?;
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
