//! The generated KMS trait, implemented by handing each operation to the module that owns it.
//! Operations not listed here answer `NotImplemented` (the trait's default).

use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::Kms;
use palisade_model_kms::types::*;

use crate::{
    KmsState, agreement, aliases, crypto, custom_key_stores, grants, import, keys, mac,
    multi_region, rotation, signing, usage,
};

impl Kms for KmsState {
    // Keys.

    async fn create_key(
        &self,
        ctx: &RequestContext,
        input: CreateKeyRequest,
    ) -> Result<CreateKeyResponse, ServiceError> {
        keys::create(self, ctx, input).await
    }

    async fn describe_key(
        &self,
        ctx: &RequestContext,
        input: DescribeKeyRequest,
    ) -> Result<DescribeKeyResponse, ServiceError> {
        keys::describe(self, ctx, input).await
    }

    async fn list_keys(
        &self,
        ctx: &RequestContext,
        input: ListKeysRequest,
    ) -> Result<ListKeysResponse, ServiceError> {
        keys::list(self, ctx, input).await
    }

    async fn enable_key(
        &self,
        ctx: &RequestContext,
        input: EnableKeyRequest,
    ) -> Result<(), ServiceError> {
        keys::set_enabled(self, ctx, &input.key_id, true).await
    }

    async fn disable_key(
        &self,
        ctx: &RequestContext,
        input: DisableKeyRequest,
    ) -> Result<(), ServiceError> {
        keys::set_enabled(self, ctx, &input.key_id, false).await
    }

    async fn schedule_key_deletion(
        &self,
        ctx: &RequestContext,
        input: ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse, ServiceError> {
        keys::schedule_deletion(self, ctx, input).await
    }

    async fn cancel_key_deletion(
        &self,
        ctx: &RequestContext,
        input: CancelKeyDeletionRequest,
    ) -> Result<CancelKeyDeletionResponse, ServiceError> {
        keys::cancel_deletion(self, ctx, input).await
    }

    async fn update_key_description(
        &self,
        ctx: &RequestContext,
        input: UpdateKeyDescriptionRequest,
    ) -> Result<(), ServiceError> {
        keys::update_description(self, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), ServiceError> {
        keys::tag(self, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        keys::untag(self, ctx, input).await
    }

    async fn list_resource_tags(
        &self,
        ctx: &RequestContext,
        input: ListResourceTagsRequest,
    ) -> Result<ListResourceTagsResponse, ServiceError> {
        keys::list_tags(self, ctx, input).await
    }

    async fn get_key_policy(
        &self,
        ctx: &RequestContext,
        input: GetKeyPolicyRequest,
    ) -> Result<GetKeyPolicyResponse, ServiceError> {
        keys::get_policy(self, ctx, input).await
    }

    async fn put_key_policy(
        &self,
        ctx: &RequestContext,
        input: PutKeyPolicyRequest,
    ) -> Result<(), ServiceError> {
        keys::put_policy(self, ctx, input).await
    }

    async fn list_key_policies(
        &self,
        ctx: &RequestContext,
        input: ListKeyPoliciesRequest,
    ) -> Result<ListKeyPoliciesResponse, ServiceError> {
        keys::list_policies(self, ctx, input).await
    }

    // Custom key stores, of which there are none.

    async fn describe_custom_key_stores(
        &self,
        _ctx: &RequestContext,
        input: DescribeCustomKeyStoresRequest,
    ) -> Result<DescribeCustomKeyStoresResponse, ServiceError> {
        custom_key_stores::describe(input)
    }

    async fn create_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: CreateCustomKeyStoreRequest,
    ) -> Result<CreateCustomKeyStoreResponse, ServiceError> {
        custom_key_stores::create(input)
    }

    async fn connect_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: ConnectCustomKeyStoreRequest,
    ) -> Result<ConnectCustomKeyStoreResponse, ServiceError> {
        Err(custom_key_stores::not_found(&input.custom_key_store_id))
    }

    async fn disconnect_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: DisconnectCustomKeyStoreRequest,
    ) -> Result<DisconnectCustomKeyStoreResponse, ServiceError> {
        Err(custom_key_stores::not_found(&input.custom_key_store_id))
    }

    async fn update_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: UpdateCustomKeyStoreRequest,
    ) -> Result<UpdateCustomKeyStoreResponse, ServiceError> {
        Err(custom_key_stores::not_found(&input.custom_key_store_id))
    }

    async fn delete_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: DeleteCustomKeyStoreRequest,
    ) -> Result<DeleteCustomKeyStoreResponse, ServiceError> {
        Err(custom_key_stores::not_found(&input.custom_key_store_id))
    }

    // Multi-Region keys.

    async fn replicate_key(
        &self,
        ctx: &RequestContext,
        input: ReplicateKeyRequest,
    ) -> Result<ReplicateKeyResponse, ServiceError> {
        multi_region::replicate(self, ctx, input).await
    }

    async fn update_primary_region(
        &self,
        ctx: &RequestContext,
        input: UpdatePrimaryRegionRequest,
    ) -> Result<(), ServiceError> {
        multi_region::update_primary_region(self, ctx, input).await
    }

    // Imported key material.

    async fn get_parameters_for_import(
        &self,
        ctx: &RequestContext,
        input: GetParametersForImportRequest,
    ) -> Result<GetParametersForImportResponse, ServiceError> {
        import::get_parameters(self, ctx, input).await
    }

    async fn import_key_material(
        &self,
        ctx: &RequestContext,
        input: ImportKeyMaterialRequest,
    ) -> Result<ImportKeyMaterialResponse, ServiceError> {
        import::import(self, ctx, input).await
    }

    async fn delete_imported_key_material(
        &self,
        ctx: &RequestContext,
        input: DeleteImportedKeyMaterialRequest,
    ) -> Result<DeleteImportedKeyMaterialResponse, ServiceError> {
        import::delete(self, ctx, input).await
    }

    // Aliases.

    async fn create_alias(
        &self,
        ctx: &RequestContext,
        input: CreateAliasRequest,
    ) -> Result<(), ServiceError> {
        aliases::create(self, ctx, input).await
    }

    async fn update_alias(
        &self,
        ctx: &RequestContext,
        input: UpdateAliasRequest,
    ) -> Result<(), ServiceError> {
        aliases::update(self, ctx, input).await
    }

    async fn delete_alias(
        &self,
        ctx: &RequestContext,
        input: DeleteAliasRequest,
    ) -> Result<(), ServiceError> {
        aliases::delete(self, ctx, input).await
    }

    async fn list_aliases(
        &self,
        ctx: &RequestContext,
        input: ListAliasesRequest,
    ) -> Result<ListAliasesResponse, ServiceError> {
        aliases::list(self, ctx, input).await
    }

    // Grants.

    async fn create_grant(
        &self,
        ctx: &RequestContext,
        input: CreateGrantRequest,
    ) -> Result<CreateGrantResponse, ServiceError> {
        grants::create(self, ctx, input).await
    }

    async fn list_grants(
        &self,
        ctx: &RequestContext,
        input: ListGrantsRequest,
    ) -> Result<ListGrantsResponse, ServiceError> {
        grants::list(self, ctx, input).await
    }

    async fn list_retirable_grants(
        &self,
        ctx: &RequestContext,
        input: ListRetirableGrantsRequest,
    ) -> Result<ListGrantsResponse, ServiceError> {
        grants::list_retirable(self, ctx, input).await
    }

    async fn retire_grant(
        &self,
        ctx: &RequestContext,
        input: RetireGrantRequest,
    ) -> Result<(), ServiceError> {
        grants::retire(self, ctx, input).await
    }

    async fn revoke_grant(
        &self,
        ctx: &RequestContext,
        input: RevokeGrantRequest,
    ) -> Result<(), ServiceError> {
        grants::revoke(self, ctx, input).await
    }

    // Encryption.

    async fn encrypt(
        &self,
        ctx: &RequestContext,
        input: EncryptRequest,
    ) -> Result<EncryptResponse, ServiceError> {
        let response = crypto::encrypt(self, ctx, input).await?;
        self.note_use(ctx, "Encrypt", response.key_id.as_deref());
        Ok(response)
    }

    async fn decrypt(
        &self,
        ctx: &RequestContext,
        input: DecryptRequest,
    ) -> Result<DecryptResponse, ServiceError> {
        let response = crypto::decrypt(self, ctx, input).await?;
        self.note_use(ctx, "Decrypt", response.key_id.as_deref());
        Ok(response)
    }

    async fn re_encrypt(
        &self,
        ctx: &RequestContext,
        input: ReEncryptRequest,
    ) -> Result<ReEncryptResponse, ServiceError> {
        let response = crypto::re_encrypt(self, ctx, input).await?;
        // ReEncrypt uses two keys, and counts as a use of each.
        self.note_use(ctx, "ReEncrypt", response.source_key_id.as_deref());
        self.note_use(ctx, "ReEncrypt", response.key_id.as_deref());
        Ok(response)
    }

    async fn generate_data_key(
        &self,
        ctx: &RequestContext,
        input: GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse, ServiceError> {
        let response = crypto::generate_data_key(self, ctx, input).await?;
        self.note_use(ctx, "GenerateDataKey", response.key_id.as_deref());
        Ok(response)
    }

    async fn generate_data_key_without_plaintext(
        &self,
        ctx: &RequestContext,
        input: GenerateDataKeyWithoutPlaintextRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse, ServiceError> {
        let response = crypto::generate_data_key_without_plaintext(self, ctx, input).await?;
        self.note_use(
            ctx,
            "GenerateDataKeyWithoutPlaintext",
            response.key_id.as_deref(),
        );
        Ok(response)
    }

    async fn generate_data_key_pair(
        &self,
        ctx: &RequestContext,
        input: GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse, ServiceError> {
        let response = crypto::generate_data_key_pair(self, ctx, input).await?;
        self.note_use(ctx, "GenerateDataKeyPair", response.key_id.as_deref());
        Ok(response)
    }

    async fn generate_data_key_pair_without_plaintext(
        &self,
        ctx: &RequestContext,
        input: GenerateDataKeyPairWithoutPlaintextRequest,
    ) -> Result<GenerateDataKeyPairWithoutPlaintextResponse, ServiceError> {
        let response = crypto::generate_data_key_pair_without_plaintext(self, ctx, input).await?;
        self.note_use(
            ctx,
            "GenerateDataKeyPairWithoutPlaintext",
            response.key_id.as_deref(),
        );
        Ok(response)
    }

    async fn generate_random(
        &self,
        _ctx: &RequestContext,
        input: GenerateRandomRequest,
    ) -> Result<GenerateRandomResponse, ServiceError> {
        crypto::generate_random(input)
    }

    // Signatures and MACs.

    async fn sign(
        &self,
        ctx: &RequestContext,
        input: SignRequest,
    ) -> Result<SignResponse, ServiceError> {
        let response = signing::sign(self, ctx, input).await?;
        self.note_use(ctx, "Sign", response.key_id.as_deref());
        Ok(response)
    }

    async fn verify(
        &self,
        ctx: &RequestContext,
        input: VerifyRequest,
    ) -> Result<VerifyResponse, ServiceError> {
        let response = signing::verify(self, ctx, input).await?;
        self.note_use(ctx, "Verify", response.key_id.as_deref());
        Ok(response)
    }

    async fn get_public_key(
        &self,
        ctx: &RequestContext,
        input: GetPublicKeyRequest,
    ) -> Result<GetPublicKeyResponse, ServiceError> {
        signing::get_public_key(self, ctx, input).await
    }

    async fn generate_mac(
        &self,
        ctx: &RequestContext,
        input: GenerateMacRequest,
    ) -> Result<GenerateMacResponse, ServiceError> {
        let response = mac::generate(self, ctx, input).await?;
        self.note_use(ctx, "GenerateMac", response.key_id.as_deref());
        Ok(response)
    }

    async fn verify_mac(
        &self,
        ctx: &RequestContext,
        input: VerifyMacRequest,
    ) -> Result<VerifyMacResponse, ServiceError> {
        let response = mac::verify(self, ctx, input).await?;
        self.note_use(ctx, "VerifyMac", response.key_id.as_deref());
        Ok(response)
    }

    async fn derive_shared_secret(
        &self,
        ctx: &RequestContext,
        input: DeriveSharedSecretRequest,
    ) -> Result<DeriveSharedSecretResponse, ServiceError> {
        let response = agreement::derive_shared_secret(self, ctx, input).await?;
        self.note_use(ctx, "DeriveSharedSecret", response.key_id.as_deref());
        Ok(response)
    }

    async fn get_key_last_usage(
        &self,
        ctx: &RequestContext,
        input: GetKeyLastUsageRequest,
    ) -> Result<GetKeyLastUsageResponse, ServiceError> {
        usage::get(self, ctx, input).await
    }

    // Rotation.

    async fn enable_key_rotation(
        &self,
        ctx: &RequestContext,
        input: EnableKeyRotationRequest,
    ) -> Result<(), ServiceError> {
        rotation::enable(self, ctx, input).await
    }

    async fn disable_key_rotation(
        &self,
        ctx: &RequestContext,
        input: DisableKeyRotationRequest,
    ) -> Result<(), ServiceError> {
        rotation::disable(self, ctx, input).await
    }

    async fn get_key_rotation_status(
        &self,
        ctx: &RequestContext,
        input: GetKeyRotationStatusRequest,
    ) -> Result<GetKeyRotationStatusResponse, ServiceError> {
        rotation::status(self, ctx, input).await
    }

    async fn rotate_key_on_demand(
        &self,
        ctx: &RequestContext,
        input: RotateKeyOnDemandRequest,
    ) -> Result<RotateKeyOnDemandResponse, ServiceError> {
        rotation::rotate_on_demand(self, ctx, input).await
    }

    async fn list_key_rotations(
        &self,
        ctx: &RequestContext,
        input: ListKeyRotationsRequest,
    ) -> Result<ListKeyRotationsResponse, ServiceError> {
        rotation::list(self, ctx, input).await
    }
}
