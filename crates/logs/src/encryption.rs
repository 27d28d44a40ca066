//! KMS-encrypted log groups (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs
//! using AWS KMS").
//!
//! A group's `kmsKeyId` names a key of Palisade's KMS, reached through [`LogKeys`] (the server
//! implements it over KMS, so this crate does not depend on that one). CloudWatch Logs uses the
//! key as its own service principal `logs.<region>.amazonaws.com`, so only the key policy can
//! allow it; the requests bear the encryption context `aws:logs:arn = <group ARN>`, which the
//! documented policy statement conditions on. `CreateLogGroup` and `AssociateKmsKey` take a key
//! only when Logs may both `GenerateDataKey` and `Decrypt` under it for the group.
//!
//! Envelope encryption: the first write under a key asks KMS for a data key bound to the group's
//! encryption context and keeps its KMS ciphertext in the group record (`data_keys`); each
//! event's message is then sealed with AES-256-GCM under it, with the group ARN as associated
//! data. Data keys are unsealed through KMS when first needed and kept in memory by id; every
//! read or write still checks the KMS key (enabled, policy allowing Logs) first, so disabling the
//! key or changing its policy takes effect at once. Events written before `AssociateKmsKey` stay
//! plain, and those written under a key stay sealed under it after `DisassociateKmsKey`, needing
//! that key to be read, as AWS documents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use palisade_core::keys::{DataKey, EncryptionContext, KeyRefusal, ServiceKey, ServiceKeyLookup};
use palisade_core::service::BoxFuture;
use palisade_core::{Sensitive, ServiceError};
use palisade_model_logs::errors;
use palisade_policy::{Policy, key_policy_allows_service, service_key_context, usable_service_key};
use serde::{Deserialize, Serialize};

use crate::LogsState;
use crate::db::Tenant;
use crate::groups::GroupRecord;

/// The encryption context key CloudWatch Logs binds its data keys to.
const CONTEXT_KEY: &str = "aws:logs:arn";
const TAG_LEN: usize = 16;

/// KMS, as CloudWatch Logs uses a log group's key: found through [`ServiceKeyLookup`], then
/// called. The server implements it; this crate knows nothing of the KMS service. Calls are the
/// service principal's: the implementation does not authorize them, Logs decides the key policy
/// itself.
pub trait LogKeys: ServiceKeyLookup {
    /// `GenerateDataKey` (AES_256) under the key `key_arn`, bound to `context`.
    fn generate_data_key<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        key_arn: &'a str,
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>>;

    /// `Decrypt` of a data key made by [`LogKeys::generate_data_key`].
    fn decrypt<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>>;
}

/// A data key of a log group, as its record keeps it: sealed by KMS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SealedDataKey {
    /// Random, so that it names this data key only, across groups and their re-creations.
    pub id: String,
    pub key_arn: String,
    pub ciphertext: Vec<u8>,
}

/// An event message sealed under one of its group's data keys: the nonce, then the AES-GCM
/// ciphertext and tag.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SealedMessage {
    pub data_key: String,
    pub data: Vec<u8>,
}

impl SealedMessage {
    /// The length of the message sealed.
    pub fn plain_len(&self) -> usize {
        self.data.len().saturating_sub(NONCE_LEN + TAG_LEN)
    }
}

/// The error Logs answers for `refusal`, for the group `group_arn`.
fn refused(refusal: &KeyRefusal, group_arn: &str) -> ServiceError {
    match refusal {
        KeyRefusal::NotFound | KeyRefusal::PolicyDenies => {
            errors::access_denied_exception(format!(
                "The specified KMS key does not exist or is not allowed to be used with Arn \
                 '{group_arn}'"
            ))
        }
        KeyRefusal::State(state) if state == "Disabled" => errors::invalid_parameter_exception(
            format!("The specified KMS key is disabled and cannot be used with Arn '{group_arn}'"),
        ),
        KeyRefusal::State(state) => errors::invalid_parameter_exception(format!(
            "The specified KMS key is {state} and cannot be used with Arn '{group_arn}'"
        )),
        KeyRefusal::NotSymmetric => errors::invalid_parameter_exception(format!(
            "The specified KMS key is not a symmetric encryption key and cannot be used with \
             Arn '{group_arn}'"
        )),
    }
}

/// The unsealed data keys, by id. Ids are random, so an entry never outlives its meaning; a
/// deleted group's entries are dropped with it.
#[derive(Default)]
pub(crate) struct DataKeyCache(Mutex<HashMap<String, Sensitive<Vec<u8>>>>);

impl DataKeyCache {
    fn get(&self, id: &str) -> Option<Sensitive<Vec<u8>>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn insert(&self, id: &str, key: Sensitive<Vec<u8>>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), key);
    }

    pub fn forget(&self, ids: impl IntoIterator<Item = String>) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            cache.remove(&id);
        }
    }
}

fn context_of(group_arn: &str) -> EncryptionContext {
    EncryptionContext::from([(CONTEXT_KEY.to_owned(), group_arn.to_owned())])
}

fn cipher(data_key: &[u8]) -> Result<LessSafeKey, ServiceError> {
    UnboundKey::new(&AES_256_GCM, data_key)
        .map(LessSafeKey::new)
        .map_err(|_| ServiceError::internal("KMS returned an unusable data key"))
}

fn unreadable() -> ServiceError {
    ServiceError::internal("a stored log event is unreadable")
}

/// The key ARN a group may name: AWS takes `kmsKeyId` as a key ARN only.
fn check_key_arn(key_id: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = key_id.splitn(6, ':').collect();
    let well_formed = matches!(
        parts.as_slice(),
        ["arn", _, "kms", region, account, resource]
            if !region.is_empty() && !account.is_empty()
                && resource.strip_prefix("key/").is_some_and(|id| !id.is_empty())
    );
    if well_formed {
        Ok(())
    } else {
        Err(errors::invalid_parameter_exception(format!(
            "Specified KMS key ID '{key_id}' is not a valid KMS key ARN."
        )))
    }
}

/// Whether `policy`, the key policy of `key`, lets `logs.<region>.amazonaws.com` call `action`
/// for the group `group_arn` of `tenant`.
fn policy_allows(
    key: &ServiceKey,
    policy: &Policy,
    tenant: &Tenant,
    group_arn: &str,
    action: &str,
) -> bool {
    let principal = format!("logs.{}.amazonaws.com", tenant.region);
    let mut context = service_key_context(key, &principal);
    context
        .insert("kms:EncryptionContext:aws:logs:arn", group_arn)
        .insert_many("kms:EncryptionContextKeys", [CONTEXT_KEY])
        .insert("aws:SourceArn", group_arn)
        .insert("aws:SourceAccount", tenant.account.as_str());
    key_policy_allows_service(key, policy, &principal, action, &context)
}

/// A group's events sealed or opened under one data key.
pub(crate) struct Sealer {
    id: String,
    cipher: LessSafeKey,
    aad: String,
}

impl Sealer {
    pub fn seal(&self, message: &str) -> Result<SealedMessage, ServiceError> {
        let mut nonce = [0_u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| ServiceError::internal("no randomness for a nonce"))?;
        let mut data = message.as_bytes().to_vec();
        self.cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad.as_bytes()),
                &mut data,
            )
            .map_err(|_| ServiceError::internal("sealing a log event failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.append(&mut data);
        Ok(SealedMessage {
            data_key: self.id.clone(),
            data: sealed,
        })
    }

    fn open(&self, sealed: &SealedMessage) -> Result<String, ServiceError> {
        let (nonce, data) = sealed
            .data
            .split_at_checked(NONCE_LEN)
            .ok_or_else(unreadable)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut data = data.to_vec();
        let plain = self
            .cipher
            .open_in_place(nonce, Aad::from(self.aad.as_bytes()), &mut data)
            .map_err(|_| unreadable())?;
        String::from_utf8(plain.to_vec()).map_err(|_| unreadable())
    }
}

/// What a read of one group needs to open its sealed events: the group's data keys, unsealed on
/// first use, each after checking that Logs may still decrypt under its KMS key.
pub(crate) struct Opener<'a> {
    state: &'a LogsState,
    tenant: &'a Tenant,
    group_arn: String,
    data_keys: Vec<SealedDataKey>,
    open: HashMap<String, Sealer>,
}

impl Opener<'_> {
    /// `message` of an event as written: the plain one, or `sealed` opened.
    pub async fn message(
        &mut self,
        message: String,
        sealed: Option<&SealedMessage>,
    ) -> Result<String, ServiceError> {
        let Some(sealed) = sealed else {
            return Ok(message);
        };
        if !self.open.contains_key(&sealed.data_key) {
            let data_key = self
                .data_keys
                .iter()
                .find(|key| key.id == sealed.data_key)
                .ok_or_else(unreadable)?;
            let sealer = self
                .state
                .unsealed(self.tenant, &self.group_arn, data_key, "kms:Decrypt")
                .await?;
            self.open.insert(sealed.data_key.clone(), sealer);
        }
        self.open
            .get(&sealed.data_key)
            .ok_or_else(unreadable)?
            .open(sealed)
    }
}

impl LogsState {
    /// Checks the key `key_id` a group `group` of `tenant` is to be encrypted under, answering
    /// its ARN: Logs must be able to both encrypt and decrypt under it for the group. Without
    /// [`LogKeys`] the key is checked for form only.
    pub(crate) async fn check_group_key(
        &self,
        tenant: &Tenant,
        group: &str,
        key_id: &str,
    ) -> Result<String, ServiceError> {
        check_key_arn(key_id)?;
        let Some(keys) = self.keys.get().map(Arc::as_ref) else {
            return Ok(key_id.to_owned());
        };
        let group_arn = tenant.group_arn(group);
        let found = keys
            .find_key(&tenant.account, &tenant.region, key_id)
            .await?;
        let (key, policy) = usable_service_key(found, &tenant.region)
            .map_err(|refusal| refused(&refusal, &group_arn))?;
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            if !policy_allows(&key, &policy, tenant, &group_arn, action) {
                return Err(refused(&KeyRefusal::PolicyDenies, &group_arn));
            }
        }
        Ok(key.arn)
    }

    /// The KMS key `key_arn` as Logs may use it now for `action` on the group `group_arn`.
    async fn key_for(
        &self,
        keys: &dyn LogKeys,
        tenant: &Tenant,
        group_arn: &str,
        key_arn: &str,
        action: &str,
    ) -> Result<ServiceKey, ServiceError> {
        let found = keys
            .find_key(&tenant.account, &tenant.region, key_arn)
            .await?;
        let (key, policy) = usable_service_key(found, &tenant.region)
            .map_err(|refusal| refused(&refusal, group_arn))?;
        if policy_allows(&key, &policy, tenant, group_arn, action) {
            Ok(key)
        } else {
            Err(refused(&KeyRefusal::PolicyDenies, group_arn))
        }
    }

    /// The data key `data_key` of the group `group_arn`, unsealed (from memory, else by KMS),
    /// once Logs may still `action` under its KMS key.
    async fn unsealed(
        &self,
        tenant: &Tenant,
        group_arn: &str,
        data_key: &SealedDataKey,
        action: &str,
    ) -> Result<Sealer, ServiceError> {
        let Some(keys) = self.keys.get().map(Arc::as_ref) else {
            return Err(ServiceError::internal(
                "a log group's events are encrypted but KMS is not available",
            ));
        };
        self.key_for(keys, tenant, group_arn, &data_key.key_arn, action)
            .await?;
        let plain = match self.data_keys.get(&data_key.id) {
            Some(plain) => plain,
            None => {
                let plain = keys
                    .decrypt(
                        &tenant.account,
                        &tenant.region,
                        &data_key.ciphertext,
                        &context_of(group_arn),
                    )
                    .await
                    .map_err(|_| refused(&KeyRefusal::PolicyDenies, group_arn))?;
                self.data_keys.insert(&data_key.id, plain.clone());
                plain
            }
        };
        Ok(Sealer {
            id: data_key.id.clone(),
            cipher: cipher(plain.expose())?,
            aad: group_arn.to_owned(),
        })
    }

    /// What new events of `group` are sealed with: `None` when the group has no key (or there
    /// is no [`LogKeys`] to use it with). The first write under a key makes the group's data key
    /// for it and records it in the group.
    pub(crate) async fn sealer(
        &self,
        tenant: &Tenant,
        group: &GroupRecord,
    ) -> Result<Option<Sealer>, ServiceError> {
        let (Some(key_arn), Some(keys)) = (&group.kms_key_id, self.keys.get().map(Arc::as_ref))
        else {
            return Ok(None);
        };
        let group_arn = tenant.group_arn(&group.name);
        let key = self
            .key_for(keys, tenant, &group_arn, key_arn, "kms:GenerateDataKey")
            .await?;
        if let Some(data_key) = group.data_keys.iter().rev().find(|k| k.key_arn == key.arn) {
            return self
                .unsealed(tenant, &group_arn, data_key, "kms:GenerateDataKey")
                .await
                .map(Some);
        }
        let fresh = keys
            .generate_data_key(
                &tenant.account,
                &tenant.region,
                &key.arn,
                &context_of(&group_arn),
            )
            .await
            .map_err(|_| refused(&KeyRefusal::PolicyDenies, &group_arn))?;
        let mut id = [0_u8; 16];
        SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| ServiceError::internal("no randomness for a data key id"))?;
        let data_key = SealedDataKey {
            id: id.iter().map(|byte| format!("{byte:02x}")).collect(),
            key_arn: fresh.key_arn.clone(),
            ciphertext: fresh.ciphertext,
        };
        crate::groups::add_data_key(self, tenant, &group.name, data_key.clone()).await?;
        self.data_keys.insert(&data_key.id, fresh.plaintext.clone());
        Ok(Some(Sealer {
            id: data_key.id,
            cipher: cipher(fresh.plaintext.expose())?,
            aad: group_arn,
        }))
    }

    /// An opener for the events of `group`.
    pub(crate) fn opener<'a>(&'a self, tenant: &'a Tenant, group: &GroupRecord) -> Opener<'a> {
        Opener {
            state: self,
            tenant,
            group_arn: tenant.group_arn(&group.name),
            data_keys: group.data_keys.clone(),
            open: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";

    fn tenant() -> Tenant {
        Tenant {
            account: ACCOUNT.to_owned(),
            region: REGION.to_owned(),
        }
    }

    const KEY_ARN: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    /// A key whose policy lets the account's root do anything, and has `statement` if any.
    fn key(statement: &str) -> ServiceKey {
        let root = format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},
                "Action":"kms:*","Resource":"*"}}"#
        );
        let statements = if statement.is_empty() {
            root
        } else {
            format!("{root},{statement}")
        };
        ServiceKey {
            arn: KEY_ARN.to_owned(),
            state: "Enabled".to_owned(),
            symmetric_encryption: true,
            policy: format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
            condition_keys: Vec::new(),
        }
    }

    /// The statement the user guide has users add, limited to groups matching `groups`.
    fn logs_statement(groups: &str) -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Service":"logs.{REGION}.amazonaws.com"}},
                "Action":["kms:Encrypt*","kms:Decrypt*","kms:ReEncrypt*","kms:GenerateDataKey*",
                          "kms:Describe*"],
                "Resource":"*",
                "Condition":{{"ArnLike":{{"kms:EncryptionContext:aws:logs:arn":
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{groups}"}}}}}}"#
        )
    }

    fn decide(key: ServiceKey, group: &str, action: &str) -> Result<(), KeyRefusal> {
        let (key, policy) = usable_service_key(Some(key), REGION)?;
        let arn = tenant().group_arn(group);
        if policy_allows(&key, &policy, &tenant(), &arn, action) {
            Ok(())
        } else {
            Err(KeyRefusal::PolicyDenies)
        }
    }

    #[test]
    fn the_documented_statement_allows_its_groups_only() {
        let key = key(&logs_statement("app-*"));
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            assert_eq!(decide(key.clone(), "app-web", action), Ok(()));
            assert_eq!(
                decide(key.clone(), "other", action),
                Err(KeyRefusal::PolicyDenies)
            );
        }
    }

    #[test]
    fn the_default_key_policy_does_not_allow_logs() {
        assert_eq!(
            decide(key(""), "app-web", "kms:GenerateDataKey"),
            Err(KeyRefusal::PolicyDenies)
        );
    }

    #[test]
    fn keys_logs_cannot_use_are_refused_for_what_they_are() {
        let disabled = ServiceKey {
            state: "Disabled".to_owned(),
            ..key(&logs_statement("*"))
        };
        assert_eq!(
            usable_service_key(Some(disabled), REGION).map(|_| ()),
            Err(KeyRefusal::State("Disabled".to_owned()))
        );
        let asymmetric = ServiceKey {
            symmetric_encryption: false,
            ..key(&logs_statement("*"))
        };
        assert_eq!(
            usable_service_key(Some(asymmetric), REGION).map(|_| ()),
            Err(KeyRefusal::NotSymmetric)
        );
        // A key of another region does not exist for the group.
        assert_eq!(
            usable_service_key(Some(key(&logs_statement("*"))), "eu-west-1").map(|_| ()),
            Err(KeyRefusal::NotFound)
        );
    }

    #[test]
    fn only_key_arns_are_taken() {
        assert!(check_key_arn(KEY_ARN).is_ok());
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/logs",
            "arn:aws:kms:us-east-1:111122223333:alias/logs",
            "arn:aws:kms:us-east-1:111122223333:key/",
        ] {
            assert!(check_key_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sealed_messages_open_only_in_their_group() {
        let data_key = [7_u8; 32];
        let sealer = |aad: &str| Sealer {
            id: "k".to_owned(),
            cipher: cipher(&data_key).unwrap(),
            aad: aad.to_owned(),
        };
        let group = tenant().group_arn("app");
        let sealed = sealer(&group).seal("user=alice action=login").unwrap();
        assert_eq!(sealed.plain_len(), "user=alice action=login".len());
        assert!(
            !sealed
                .data
                .windows(5)
                .any(|window| window == b"alice".as_slice())
        );
        assert_eq!(
            sealer(&group).open(&sealed).unwrap(),
            "user=alice action=login"
        );
        assert!(sealer(&tenant().group_arn("other")).open(&sealed).is_err());
    }
}
