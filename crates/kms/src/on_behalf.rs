//! KMS as another service calls it for a caller ([`KeyService`]), without authorization: the
//! server authorizes each call as the caller first (`crates/server/src/keys.rs`), and tests of
//! the calling services use this directly.
//!
//! `KeyRef::AwsManaged(service)` is the service's AWS managed key, created on first use; so is a
//! customer reference to that key's alias (`alias/aws/<service>`, by name or ARN), as AWS
//! creates the key then too.

use palisade_core::keys::{DataKey, EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::service::BoxFuture;
use palisade_core::value::Blob;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_kms::Kms;
use palisade_model_kms::types::{
    DataKeySpec, DecryptRequest, EncryptRequest, GenerateDataKeyRequest,
};

use crate::KmsState;

impl KmsState {
    /// The key id KMS uses for `key` when `via` asks: an AWS managed key by its ARN (created on
    /// first use), otherwise the reference as given.
    pub async fn key_for_service(
        &self,
        ctx: &RequestContext,
        via: Via<'_>,
        key: KeyRef<'_>,
    ) -> Result<String, ServiceError> {
        match key {
            KeyRef::AwsManaged(service) => self.aws_managed_key(ctx, service).await,
            KeyRef::Customer(id) if names_managed_alias(ctx, via, id) => {
                self.aws_managed_key(ctx, via.service).await
            }
            KeyRef::Customer(id) => Ok(id.to_owned()),
        }
    }
}

/// Whether `id` is the alias (name or ARN) of `via.service`'s AWS managed key in the caller's
/// account and region.
fn names_managed_alias(ctx: &RequestContext, via: Via<'_>, id: &str) -> bool {
    let name = format!("alias/aws/{}", via.service);
    let arn = format!(
        "arn:aws:kms:{}:{}:{name}",
        ctx.region.as_str(),
        ctx.account().as_str()
    );
    id == name || id == arn
}

fn context_option(context: &EncryptionContext) -> Option<EncryptionContext> {
    (!context.is_empty()).then(|| context.clone())
}

fn plaintext_of(plaintext: Option<Sensitive<Blob>>) -> Sensitive<Vec<u8>> {
    Sensitive::new(
        plaintext
            .map(|plaintext| plaintext.into_inner().0)
            .unwrap_or_default(),
    )
}

impl KeyService for KmsState {
    fn generate_data_key<'a>(
        &'a self,
        ctx: &'a RequestContext,
        via: Via<'a>,
        key: KeyRef<'a>,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>> {
        Box::pin(async move {
            let request = GenerateDataKeyRequest {
                key_id: self.key_for_service(ctx, via, key).await?,
                encryption_context: context_option(context),
                key_spec: Some(DataKeySpec::Aes256),
                ..GenerateDataKeyRequest::default()
            };
            let response = Kms::generate_data_key(self, ctx, request).await?;
            Ok(DataKey {
                plaintext: plaintext_of(response.plaintext),
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
                key_id: self.key_for_service(ctx, via, key).await?,
                plaintext: Sensitive::new(Blob(plaintext.to_vec())),
                encryption_context: context_option(context),
                ..EncryptRequest::default()
            };
            let response = Kms::encrypt(self, ctx, request).await?;
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
            let request = DecryptRequest {
                ciphertext_blob: Some(Blob(ciphertext.to_vec())),
                encryption_context: context_option(context),
                ..DecryptRequest::default()
            };
            let response = Kms::decrypt(self, ctx, request).await?;
            Ok(plaintext_of(response.plaintext))
        })
    }
}
