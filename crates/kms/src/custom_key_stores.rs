//! Custom key stores (CloudHSM and external key stores). Palisade has no CloudHSM cluster and
//! reaches no external key store proxy, so no custom key store ever exists: the operations answer
//! as AWS does in an account without one, and creating one fails on what it would need.

use palisade_core::ServiceError;
use palisade_model_kms::errors;
use palisade_model_kms::types::*;

pub(crate) fn describe(
    input: DescribeCustomKeyStoresRequest,
) -> Result<DescribeCustomKeyStoresResponse, ServiceError> {
    if let Some(id) = input.custom_key_store_id {
        return Err(not_found(&id));
    }
    if let Some(name) = input.custom_key_store_name {
        return Err(errors::custom_key_store_not_found_exception(format!(
            "Custom key store with name {name} does not exist."
        )));
    }
    Ok(DescribeCustomKeyStoresResponse {
        custom_key_stores: Some(Vec::new()),
        next_marker: None,
        truncated: Some(false),
    })
}

pub(crate) fn create(
    input: CreateCustomKeyStoreRequest,
) -> Result<CreateCustomKeyStoreResponse, ServiceError> {
    match input.custom_key_store_type {
        None | Some(CustomKeyStoreType::AwsCloudhsm) => {
            let cluster = input.cloud_hsm_cluster_id.ok_or_else(|| {
                ServiceError::validation(
                    "CloudHsmClusterId is required for a custom key store of type AWS_CLOUDHSM.",
                )
            })?;
            Err(errors::cloud_hsm_cluster_not_found_exception(format!(
                "AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID \
                 {cluster}."
            )))
        }
        Some(_) => Err(errors::xks_proxy_uri_unreachable_exception(
            "AWS KMS can't communicate with your external key store proxy: Palisade does not \
             connect to external key store proxies.",
        )),
    }
}

/// What every operation that names a custom key store by id answers (connect, disconnect,
/// update, delete, and `CreateKey` in one): it does not exist.
pub(crate) fn not_found(id: &str) -> ServiceError {
    errors::custom_key_store_not_found_exception(format!("Custom key store {id} does not exist."))
}
