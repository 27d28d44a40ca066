//! Key ids and the ways a request names a key: key id, key ARN, alias name or alias ARN; and the
//! key-state checks every operation makes on the key it found.

use palisade_core::ServiceError;
use palisade_model_kms::errors;

use crate::KmsState;
use crate::db::{ALIASES, Stored, Tenant};
use crate::material::{hex, random_bytes};
use crate::records::{AliasRecord, KeyRecord, Lifecycle};

/// A fresh key id: a random (version 4) UUID, as AWS's key ids are.
pub(crate) fn new_key_id() -> Result<String, ServiceError> {
    let random = random_bytes(16)?;
    let mut bytes = [0u8; 16];
    for (out, byte) in bytes.iter_mut().zip(random.expose()) {
        *out = *byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex(&bytes);
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    ))
}

/// A fresh multi-Region key id: `mrk-` and 32 hex digits, as AWS's are.
pub(crate) fn new_multi_region_key_id() -> Result<String, ServiceError> {
    Ok(format!(
        "{MULTI_REGION_PREFIX}{}",
        hex(random_bytes(16)?.expose())
    ))
}

const MULTI_REGION_PREFIX: &str = "mrk-";

/// Whether `id` has a key id's shape: a lower- or upper-case UUID, or `mrk-` and 32 hex digits.
pub(crate) fn is_key_id(id: &str) -> bool {
    if let Some(hex) = id.strip_prefix(MULTI_REGION_PREFIX) {
        return hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether AWS lets a caller use another account's key, named by its key or alias ARN, in
/// `operation` (an operation name; `ReEncrypt` is decided as `ReEncryptFrom` and `ReEncryptTo`,
/// each on its own key): the cryptographic
/// operations, `DescribeKey`, `GetPublicKey`, `GetKeyRotationStatus` and the grant operations
/// on the key. Every other operation looks the key up in the caller's account only, so another
/// account's ARN names nothing there.
pub(crate) fn crosses_accounts(operation: &str) -> bool {
    matches!(
        operation,
        "Encrypt"
            | "Decrypt"
            | "ReEncryptFrom"
            | "ReEncryptTo"
            | "GenerateDataKey"
            | "GenerateDataKeyWithoutPlaintext"
            | "GenerateDataKeyPair"
            | "GenerateDataKeyPairWithoutPlaintext"
            | "Sign"
            | "Verify"
            | "GenerateMac"
            | "VerifyMac"
            | "DeriveSharedSecret"
            | "GetPublicKey"
            | "DescribeKey"
            | "GetKeyRotationStatus"
            | "CreateGrant"
            | "ListGrants"
            | "RetireGrant"
            | "RevokeGrant"
    )
}

/// What a `KeyId` member names, once its ARN (if any) is taken apart.
enum KeyName<'a> {
    Id(&'a str),
    Alias(&'a str),
}

/// Reads a `KeyId` member. An ARN of another account or region names nothing here.
fn parse_key_name<'a>(tenant: &Tenant, input: &'a str) -> Result<KeyName<'a>, ServiceError> {
    if let Some(rest) = input.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':');
        let (_partition, service, region, account, resource) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        );
        let resource = resource
            .filter(|_| service == Some("kms"))
            .ok_or_else(|| errors::not_found_exception(format!("Invalid arn {input}")))?;
        if region != Some(tenant.region.as_str()) || account != Some(tenant.account.as_str()) {
            return Err(errors::not_found_exception(format!(
                "Key '{input}' does not exist"
            )));
        }
        if let Some(id) = resource.strip_prefix("key/") {
            return Ok(KeyName::Id(id));
        }
        if resource.starts_with("alias/") {
            return Ok(KeyName::Alias(resource));
        }
        return Err(errors::not_found_exception(format!("Invalid arn {input}")));
    }
    if input.starts_with("alias/") {
        Ok(KeyName::Alias(input))
    } else {
        Ok(KeyName::Id(input))
    }
}

impl KmsState {
    /// The key a `KeyId` member names: key id, key ARN, alias name or alias ARN.
    pub(crate) async fn resolve_key(
        &self,
        tenant: &Tenant,
        input: &str,
    ) -> Result<Stored<KeyRecord>, ServiceError> {
        self.resolve_key_and_alias(tenant, input)
            .await
            .map(|(key, _)| key)
    }

    /// [`KmsState::resolve_key`], with the alias name the member used, if it named an alias.
    pub(crate) async fn resolve_key_and_alias<'a>(
        &self,
        tenant: &Tenant,
        input: &'a str,
    ) -> Result<(Stored<KeyRecord>, Option<&'a str>), ServiceError> {
        let (id, alias) = match parse_key_name(tenant, input)? {
            KeyName::Id(id) => (id.to_owned(), None),
            KeyName::Alias(alias) => {
                let target = self
                    .get::<AliasRecord>(ALIASES, &tenant.store_key(alias))
                    .await?
                    .ok_or_else(|| {
                        errors::not_found_exception(format!(
                            "Alias {} is not found.",
                            tenant.alias_arn(alias)
                        ))
                    })?
                    .value
                    .target_key_id;
                (target, Some(alias))
            }
        };
        Ok((self.key_by_id(tenant, &id).await?, alias))
    }

    /// The key a member that accepts only a key id or key ARN names: an alias's target, and
    /// the management operations.
    pub(crate) async fn resolve_key_without_alias(
        &self,
        tenant: &Tenant,
        input: &str,
    ) -> Result<Stored<KeyRecord>, ServiceError> {
        match parse_key_name(tenant, input)? {
            KeyName::Id(id) => self.key_by_id(tenant, id).await,
            KeyName::Alias(_) => Err(errors::not_found_exception(format!(
                "Invalid keyId {input}"
            ))),
        }
    }

    /// The key with id `id`.
    pub(crate) async fn key_by_id(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Stored<KeyRecord>, ServiceError> {
        if !is_key_id(id) {
            return Err(errors::not_found_exception(format!("Invalid keyId {id}")));
        }
        self.key_record(tenant, id).await?.ok_or_else(|| {
            errors::not_found_exception(format!("Key '{}' does not exist", tenant.key_arn(id)))
        })
    }
}

/// Fails unless the key may be used in a cryptographic operation: enabled.
pub(crate) fn check_enabled(tenant: &Tenant, key: &KeyRecord) -> Result<(), ServiceError> {
    match key.lifecycle {
        Lifecycle::Enabled => Ok(()),
        Lifecycle::Disabled => Err(errors::disabled_exception(format!(
            "{} is disabled.",
            tenant.key_arn(&key.id)
        ))),
        Lifecycle::PendingImport => Err(pending_import(tenant, key)),
        Lifecycle::PendingDeletion { .. } | Lifecycle::PendingReplicaDeletion { .. } => {
            Err(pending_deletion(tenant, key))
        }
    }
}

/// Fails if the key is pending deletion: the key's settings are frozen until the deletion is
/// cancelled.
pub(crate) fn check_not_pending_deletion(
    tenant: &Tenant,
    key: &KeyRecord,
) -> Result<(), ServiceError> {
    match key.lifecycle {
        Lifecycle::PendingDeletion { .. } | Lifecycle::PendingReplicaDeletion { .. } => {
            Err(pending_deletion(tenant, key))
        }
        Lifecycle::Enabled | Lifecycle::Disabled | Lifecycle::PendingImport => Ok(()),
    }
}

pub(crate) fn pending_import(tenant: &Tenant, key: &KeyRecord) -> ServiceError {
    errors::kms_invalid_state_exception(format!("{} is pending import.", tenant.key_arn(&key.id)))
}

fn pending_deletion(tenant: &Tenant, key: &KeyRecord) -> ServiceError {
    errors::kms_invalid_state_exception(format!("{} is pending deletion.", tenant.key_arn(&key.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_key_ids_are_version_4_uuids() {
        let id = new_key_id().unwrap();
        assert!(is_key_id(&id), "{id}");
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, new_key_id().unwrap());
        let id = new_multi_region_key_id().unwrap();
        assert!(is_key_id(&id), "{id}");
        assert_eq!(id.len(), 36);
        assert!(!is_key_id("mrk-1234"));
    }
}
