//! HMAC: GenerateMac and VerifyMac with HMAC keys, verified in constant time.

use aws_lc_rs::hmac;
use palisade_core::value::Blob;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;

use crate::KmsState;
use crate::crypto::{check_dry_run, usable_key};
use crate::db::Tenant;
use crate::records::KeyRecord;
use crate::specs::{Spec, Usage};

pub(crate) async fn generate(
    state: &KmsState,
    ctx: &RequestContext,
    input: GenerateMacRequest,
) -> Result<GenerateMacResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let (key, record) = mac_key(state, &tenant, &input.key_id, &input.mac_algorithm).await?;
    check_dry_run(input.dry_run)?;
    let tag = hmac::sign(&key, &input.message.expose().0);
    Ok(GenerateMacResponse {
        mac: Some(Blob(tag.as_ref().to_vec())),
        mac_algorithm: Some(input.mac_algorithm),
        key_id: Some(tenant.key_arn(&record.id)),
    })
}

pub(crate) async fn verify(
    state: &KmsState,
    ctx: &RequestContext,
    input: VerifyMacRequest,
) -> Result<VerifyMacResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let (key, record) = mac_key(state, &tenant, &input.key_id, &input.mac_algorithm).await?;
    check_dry_run(input.dry_run)?;
    // `hmac::verify` compares in constant time.
    hmac::verify(&key, &input.message.expose().0, &input.mac.0)
        .map_err(|_| errors::kms_invalid_mac_exception(""))?;
    Ok(VerifyMacResponse {
        key_id: Some(tenant.key_arn(&record.id)),
        mac_valid: Some(true),
        mac_algorithm: Some(input.mac_algorithm),
    })
}

/// The HMAC key a request names, checked to support `algorithm`.
async fn mac_key(
    state: &KmsState,
    tenant: &Tenant,
    key_id: &str,
    algorithm: &MacAlgorithmSpec,
) -> Result<(hmac::Key, KeyRecord), ServiceError> {
    let record = usable_key(state, tenant, key_id, Usage::GenerateVerifyMac).await?;
    let hmac_algorithm = match algorithm {
        MacAlgorithmSpec::HmacSha224 if record.kind.spec == Spec::Hmac224 => hmac::HMAC_SHA224,
        MacAlgorithmSpec::HmacSha256 if record.kind.spec == Spec::Hmac256 => hmac::HMAC_SHA256,
        MacAlgorithmSpec::HmacSha384 if record.kind.spec == Spec::Hmac384 => hmac::HMAC_SHA384,
        MacAlgorithmSpec::HmacSha512 if record.kind.spec == Spec::Hmac512 => hmac::HMAC_SHA512,
        _ => {
            return Err(errors::invalid_key_usage_exception(format!(
                "MAC algorithm {algorithm} is not supported by {} (KeySpec {}).",
                tenant.key_arn(&record.id),
                record.kind.spec.as_str()
            )));
        }
    };
    let material = state.fixed_material(tenant, &record.id).await?;
    Ok((hmac::Key::new(hmac_algorithm, material.expose()), record))
}
