//! The key lifecycle: creating, describing and listing keys, enabling and disabling them,
//! scheduling and cancelling their deletion (and the sweeper that deletes them when due), their
//! descriptions, tags and key policy.

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_policy::{ParseOptions, Policy, PolicyKind};
use palisade_store::Transaction;

use crate::KmsState;
use crate::db::{ALIASES, GRANTS, IMPORT_KEYS, KEYS, MATERIAL, Tenant, plain};
use crate::ids::{check_not_pending_deletion, new_key_id, new_multi_region_key_id, pending_import};
use crate::managed::check_customer_managed;
use crate::material::{self, Materials, new_material_id};
use crate::paging;
use crate::records::{
    AliasRecord, GrantRecord, KeyRecord, Lifecycle, Manager, MaterialRecord, Origin, Regions,
    TagRecord,
};
use crate::specs::non_empty;
use crate::specs::{KeyKind, Spec, Usage};

/// The only policy name a key has.
const POLICY_NAME: &str = "default";
const DAY_MILLIS: i64 = 86_400_000;
/// AWS's key policy quota: 32 KiB (the model admits up to 128 KiB).
const MAX_POLICY_BYTES: usize = 32_768;
/// Tag keys AWS reserves for itself.
const RESERVED_TAG_PREFIX: &str = "aws:";

pub(crate) async fn create(
    state: &KmsState,
    ctx: &RequestContext,
    input: CreateKeyRequest,
) -> Result<CreateKeyResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    if let Some(store) = &input.custom_key_store_id {
        return Err(crate::custom_key_stores::not_found(store));
    }
    let origin = match input.origin {
        None | Some(OriginType::AwsKms) => Origin::AwsKms,
        Some(OriginType::External) => Origin::External,
        Some(origin) => {
            return Err(errors::unsupported_operation_exception(format!(
                "Origin {origin} is not supported by Palisade."
            )));
        }
    };
    if input.xks_key_id.is_some() {
        return Err(errors::unsupported_operation_exception(
            "Custom key stores are not supported by Palisade.",
        ));
    }
    let spec = match (&input.key_spec, &input.customer_master_key_spec) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. \
                 CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead.",
            ));
        }
        (Some(spec), None) => spec.clone(),
        (None, Some(spec)) => KeySpec::from(spec.as_str()),
        (None, None) => KeySpec::SymmetricDefault,
    };
    let spec = Spec::from_model(&spec).ok_or_else(|| {
        errors::unsupported_operation_exception(format!(
            "KeySpec {spec} is not supported by Palisade."
        ))
    })?;
    let usage = match &input.key_usage {
        None => Usage::EncryptDecrypt,
        Some(usage) => Usage::from_model(usage)
            .ok_or_else(|| ServiceError::validation(format!("KeyUsage {usage} is not valid.")))?,
    };
    let kind = KeyKind::new(spec, usage)?;
    if origin == Origin::External && spec != Spec::SymmetricDefault {
        return Err(errors::unsupported_operation_exception(format!(
            "Palisade imports key material for SYMMETRIC_DEFAULT keys only, not {}.",
            spec.as_str()
        )));
    }
    let (policy, tags) = policy_and_tags(&tenant, input.policy, input.tags)?;

    let multi_region = input.multi_region.unwrap_or(false);
    let id = if multi_region {
        new_multi_region_key_id()?
    } else {
        new_key_id()?
    };
    let now = state.now();
    let mut record = KeyRecord {
        id: id.clone(),
        created: now,
        description: input.description.unwrap_or_default(),
        kind,
        origin,
        lifecycle: Lifecycle::PendingImport,
        policy,
        tags: merge_tags(Vec::new(), tags),
        multi_region,
        regions: multi_region.then(|| Regions {
            primary: tenant.region.clone(),
            replicas: Vec::new(),
        }),
        manager: Manager::Customer,
        rotation: None,
        materials: Vec::new(),
        material_expires: None,
        import: None,
    };
    let store_key = tenant.store_key(&id);
    let mut txn = Transaction::new().expect_absent(KEYS, &store_key);
    // A key of external origin waits, without material, for the customer's.
    if origin == Origin::AwsKms {
        let materials = Materials::new(material::generate(spec)?);
        record.lifecycle = Lifecycle::Enabled;
        record.materials.push(MaterialRecord {
            id: new_material_id()?,
            created: now,
            rotation: None,
        });
        txn = txn.put(MATERIAL, &store_key, materials.encode());
    }
    let txn = txn.put(KEYS, &store_key, plain(&record)?);
    state
        .store
        .commit(txn)
        .await
        .map_err(crate::db::store_error)?;
    Ok(CreateKeyResponse {
        key_metadata: Some(metadata(&tenant, &record)),
    })
}

pub(crate) async fn describe(
    state: &KmsState,
    ctx: &RequestContext,
    input: DescribeKeyRequest,
) -> Result<DescribeKeyResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = state.resolve_key(&tenant, &input.key_id).await?;
    Ok(DescribeKeyResponse {
        key_metadata: Some(metadata(&tenant, &key.value)),
    })
}

pub(crate) async fn list(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListKeysRequest,
) -> Result<ListKeysResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let marker = input.marker.as_deref();
    let rows: Vec<(String, KeyRecord)> = state
        .scan_page(
            KEYS,
            &tenant,
            paging::name_marker(marker)?,
            paging::page_limit(input.limit) + 1,
        )
        .await?;
    let (page, next_marker) = paging::by_name(rows, marker, input.limit)?;
    Ok(ListKeysResponse {
        keys: Some(
            page.into_iter()
                .map(|(id, _)| KeyListEntry {
                    key_arn: Some(tenant.key_arn(&id)),
                    key_id: Some(id),
                })
                .collect(),
        ),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

pub(crate) async fn set_enabled(
    state: &KmsState,
    ctx: &RequestContext,
    key_id: &str,
    enabled: bool,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .update_key(&tenant, key_id, |key| {
            let action = if enabled {
                "kms:EnableKey"
            } else {
                "kms:DisableKey"
            };
            check_customer_managed(ctx, &tenant, key, action)?;
            check_not_pending_deletion(&tenant, key)?;
            if key.lifecycle == Lifecycle::PendingImport {
                return Err(pending_import(&tenant, key));
            }
            key.lifecycle = if enabled {
                Lifecycle::Enabled
            } else {
                Lifecycle::Disabled
            };
            Ok(())
        })
        .await
        .map(|_| ())
}

pub(crate) async fn schedule_deletion(
    state: &KmsState,
    ctx: &RequestContext,
    input: ScheduleKeyDeletionRequest,
) -> Result<ScheduleKeyDeletionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let window_days = input.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&window_days) {
        return Err(ServiceError::validation(format!(
            "1 validation error detected: Value '{window_days}' at 'pendingWindowInDays' failed \
             to satisfy constraint: Member must have value between 7 and 30"
        )));
    }
    let deletion_date = state.now() + i64::from(window_days) * DAY_MILLIS;
    let key = state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:ScheduleKeyDeletion")?;
            check_not_pending_deletion(&tenant, key)?;
            // A multi-Region primary key outlives its replicas: its waiting period starts
            // when the last of them is deleted.
            let has_replicas = key.regions.as_ref().is_some_and(|regions| {
                regions.primary == tenant.region && !regions.replicas.is_empty()
            });
            key.lifecycle = if has_replicas {
                Lifecycle::PendingReplicaDeletion { window_days }
            } else {
                Lifecycle::PendingDeletion {
                    deletion_date,
                    window_days,
                }
            };
            Ok(())
        })
        .await?;
    let deletion_date = match key.lifecycle {
        Lifecycle::PendingDeletion { deletion_date, .. } => {
            Some(Timestamp::from_millis(deletion_date))
        }
        _ => None,
    };
    Ok(ScheduleKeyDeletionResponse {
        key_id: Some(tenant.key_arn(&key.id)),
        deletion_date,
        key_state: Some(key.lifecycle.key_state()),
        pending_window_in_days: Some(window_days),
    })
}

pub(crate) async fn cancel_deletion(
    state: &KmsState,
    ctx: &RequestContext,
    input: CancelKeyDeletionRequest,
) -> Result<CancelKeyDeletionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:CancelKeyDeletion")?;
            if !key.lifecycle.is_pending_deletion() {
                return Err(errors::kms_invalid_state_exception(format!(
                    "{} is not pending deletion.",
                    tenant.key_arn(&key.id)
                )));
            }
            // As in AWS, a key whose deletion is cancelled comes back disabled (or, without
            // material, still waiting for its import).
            key.lifecycle = if key.materials.is_empty() {
                Lifecycle::PendingImport
            } else {
                Lifecycle::Disabled
            };
            Ok(())
        })
        .await?;
    Ok(CancelKeyDeletionResponse {
        key_id: Some(tenant.key_arn(&key.id)),
    })
}

pub(crate) async fn update_description(
    state: &KmsState,
    ctx: &RequestContext,
    input: UpdateKeyDescriptionRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:UpdateKeyDescription")?;
            check_not_pending_deletion(&tenant, key)?;
            key.description.clone_from(&input.description);
            Ok(())
        })
        .await
        .map(|_| ())
}

pub(crate) async fn tag(
    state: &KmsState,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let tags = input
        .tags
        .into_iter()
        .map(tag_record)
        .collect::<Result<Vec<_>, _>>()?;
    state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:TagResource")?;
            check_not_pending_deletion(&tenant, key)?;
            key.tags = merge_tags(std::mem::take(&mut key.tags), tags.clone());
            Ok(())
        })
        .await
        .map(|_| ())
}

pub(crate) async fn untag(
    state: &KmsState,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:UntagResource")?;
            check_not_pending_deletion(&tenant, key)?;
            key.tags.retain(|tag| !input.tag_keys.contains(&tag.key));
            Ok(())
        })
        .await
        .map(|_| ())
}

pub(crate) async fn list_tags(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListResourceTagsRequest,
) -> Result<ListResourceTagsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    let tags = key.tags.into_iter().map(|tag| Tag {
        tag_key: tag.key,
        tag_value: tag.value,
    });
    let (tags, next_marker) = paging::by_index(tags, input.marker.as_deref(), input.limit)?;
    Ok(ListResourceTagsResponse {
        tags: Some(tags),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

pub(crate) async fn get_policy(
    state: &KmsState,
    ctx: &RequestContext,
    input: GetKeyPolicyRequest,
) -> Result<GetKeyPolicyResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    check_policy_name(input.policy_name.as_deref())?;
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?;
    Ok(GetKeyPolicyResponse {
        policy: Some(key.value.policy),
        policy_name: Some(POLICY_NAME.to_owned()),
    })
}

pub(crate) async fn put_policy(
    state: &KmsState,
    ctx: &RequestContext,
    input: PutKeyPolicyRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    check_policy_name(input.policy_name.as_deref())?;
    validate_policy(&input.policy)?;
    state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:PutKeyPolicy")?;
            check_not_pending_deletion(&tenant, key)?;
            key.policy.clone_from(&input.policy);
            Ok(())
        })
        .await
        .map(|_| ())
}

pub(crate) async fn list_policies(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListKeyPoliciesRequest,
) -> Result<ListKeyPoliciesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?;
    Ok(ListKeyPoliciesResponse {
        policy_names: Some(vec![POLICY_NAME.to_owned()]),
        next_marker: None,
        truncated: Some(false),
    })
}

impl KmsState {
    /// Deletes every key whose scheduled deletion date has passed, with its material and the
    /// aliases that point at it; returns how many keys were deleted. The server runs this
    /// periodically.
    pub async fn delete_due_keys(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut deleted = 0;
        for (tenant, key) in self.all_keys().await? {
            let Lifecycle::PendingDeletion { deletion_date, .. } = key.lifecycle else {
                continue;
            };
            if deletion_date > now {
                continue;
            }
            if self.delete_key(&tenant, &key.id).await? {
                self.forget_use(&tenant, &key.id);
                self.publish_deletion(&tenant, &key.id);
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Deletes the key `id`, with its material, aliases and grants, if it is still pending
    /// deletion when the transaction commits (its deletion may have been cancelled since the
    /// sweep read it).
    async fn delete_key(&self, tenant: &Tenant, id: &str) -> Result<bool, ServiceError> {
        let aliases: Vec<(String, AliasRecord)> = self.scan_tenant(ALIASES, tenant).await?;
        let grants: Vec<(String, GrantRecord)> =
            self.scan_under(GRANTS, tenant, &format!("{id}/")).await?;
        self.mutate(|| async {
            let Some(key) = self.key_record(tenant, id).await? else {
                return Ok((Transaction::new(), false));
            };
            if !matches!(key.value.lifecycle, Lifecycle::PendingDeletion { .. }) {
                return Ok((Transaction::new(), false));
            }
            let store_key = tenant.store_key(id);
            let mut txn = Transaction::new()
                .expect_version(KEYS, &store_key, key.version)
                .delete(KEYS, &store_key)
                .delete(MATERIAL, &store_key)
                .delete(IMPORT_KEYS, &store_key);
            for (name, alias) in &aliases {
                if alias.target_key_id == id {
                    txn = txn.delete(ALIASES, &tenant.store_key(name));
                }
            }
            for (name, _) in &grants {
                txn = txn.delete(GRANTS, &tenant.store_key(name));
            }
            let txn = self.forget_region(txn, tenant, &key.value).await?;
            Ok((txn, true))
        })
        .await
    }

    /// Applies `change` to the key a `KeyId` member names (by key id or ARN: management
    /// operations take no alias), as one read-modify-write, and returns the key as written.
    pub(crate) async fn update_key(
        &self,
        tenant: &Tenant,
        key_id: &str,
        change: impl Fn(&mut KeyRecord) -> Result<(), ServiceError>,
    ) -> Result<KeyRecord, ServiceError> {
        let id = self
            .resolve_key_without_alias(tenant, key_id)
            .await?
            .value
            .id;
        self.mutate(|| async {
            let key = self.key_by_id(tenant, &id).await?;
            let mut record = key.value;
            change(&mut record)?;
            let store_key = tenant.store_key(&id);
            let txn = Transaction::new()
                .expect_version(KEYS, &store_key, key.version)
                .put(KEYS, &store_key, plain(&record)?);
            Ok((txn, record))
        })
        .await
    }
}

/// The key's metadata as `DescribeKey` and `CreateKey` report it.
pub(crate) fn metadata(tenant: &Tenant, key: &KeyRecord) -> KeyMetadata {
    let (deletion_date, pending_window) = match key.lifecycle {
        Lifecycle::PendingDeletion {
            deletion_date,
            window_days,
        } => (
            Some(Timestamp::from_millis(deletion_date)),
            Some(window_days),
        ),
        Lifecycle::PendingReplicaDeletion { window_days } => (None, Some(window_days)),
        Lifecycle::Enabled | Lifecycle::Disabled | Lifecycle::PendingImport => (None, None),
    };
    // AWS reports the material id of symmetric encryption keys only.
    let current_key_material_id = (key.kind.spec == Spec::SymmetricDefault)
        .then(|| key.current_material().map(|(_, m)| m.id.clone()))
        .flatten();
    KeyMetadata {
        aws_account_id: Some(tenant.account.clone()),
        key_id: key.id.clone(),
        arn: Some(tenant.key_arn(&key.id)),
        creation_date: Some(Timestamp::from_millis(key.created)),
        enabled: Some(key.lifecycle == Lifecycle::Enabled),
        description: Some(key.description.clone()),
        key_usage: Some(key.kind.usage.key_usage()),
        key_state: Some(key.lifecycle.key_state()),
        deletion_date,
        pending_deletion_window_in_days: pending_window,
        origin: Some(match key.origin {
            Origin::AwsKms => OriginType::AwsKms,
            Origin::External => OriginType::External,
        }),
        expiration_model: (key.origin == Origin::External && !key.materials.is_empty()).then_some(
            match key.material_expires {
                Some(_) => ExpirationModelType::KeyMaterialExpires,
                None => ExpirationModelType::KeyMaterialDoesNotExpire,
            },
        ),
        valid_to: key.material_expires.map(Timestamp::from_millis),
        key_manager: Some(match key.manager {
            Manager::Customer => KeyManagerType::Customer,
            Manager::Aws => KeyManagerType::Aws,
        }),
        customer_master_key_spec: Some(key.kind.spec.customer_master_key_spec()),
        key_spec: Some(key.kind.spec.key_spec()),
        encryption_algorithms: non_empty(key.kind.encryption_algorithms()),
        signing_algorithms: non_empty(key.kind.signing_algorithms()),
        mac_algorithms: non_empty(key.kind.mac_algorithms()),
        key_agreement_algorithms: non_empty(key.kind.key_agreement_algorithms()),
        multi_region: Some(key.multi_region),
        multi_region_configuration: key.regions.as_ref().map(|regions| {
            let in_region = |region: &str| MultiRegionKey {
                arn: Some(tenant.in_region(region).key_arn(&key.id)),
                region: Some(region.to_owned()),
            };
            MultiRegionConfiguration {
                multi_region_key_type: key
                    .multi_region_key_type(&tenant.region)
                    .map(MultiRegionKeyType::from),
                primary_key: Some(in_region(&regions.primary)),
                replica_keys: Some(regions.replicas.iter().map(|r| in_region(r)).collect()),
            }
        }),
        current_key_material_id,
        ..KeyMetadata::default()
    }
}

/// The key policy (validated, or AWS's default) and tags a new key, or a new replica, is
/// created with.
pub(crate) fn policy_and_tags(
    tenant: &Tenant,
    policy: Option<String>,
    tags: Option<Vec<Tag>>,
) -> Result<(String, Vec<TagRecord>), ServiceError> {
    let policy = match policy {
        Some(policy) => {
            validate_policy(&policy)?;
            policy
        }
        None => default_policy(&tenant.account),
    };
    let tags = tags
        .unwrap_or_default()
        .into_iter()
        .map(tag_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((policy, tags))
}

/// AWS's default key policy: the account (through IAM policies) may do everything with the key.
fn default_policy(account: &str) -> String {
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"#
    )
}

fn validate_policy(policy: &str) -> Result<(), ServiceError> {
    if policy.len() > MAX_POLICY_BYTES {
        return Err(errors::limit_exceeded_exception(format!(
            "The key policy is larger than the quota of {MAX_POLICY_BYTES} bytes."
        )));
    }
    Policy::parse_with(policy, &ParseOptions::new(PolicyKind::Resource))
        .map(|_| ())
        .map_err(|error| errors::malformed_policy_document_exception(error.message()))
}

fn check_policy_name(name: Option<&str>) -> Result<(), ServiceError> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(_) => Err(errors::not_found_exception("No such policy exists")),
    }
}

fn tag_record(tag: Tag) -> Result<TagRecord, ServiceError> {
    if tag.tag_key.starts_with(RESERVED_TAG_PREFIX) {
        return Err(errors::tag_exception(format!(
            "Tag key {} uses the reserved prefix aws:",
            tag.tag_key
        )));
    }
    Ok(TagRecord {
        key: tag.tag_key,
        value: tag.tag_value,
    })
}

/// `existing` with `new` applied: a tag whose key exists replaces the old value.
pub(crate) fn merge_tags(mut existing: Vec<TagRecord>, new: Vec<TagRecord>) -> Vec<TagRecord> {
    for tag in new {
        match existing.iter_mut().find(|old| old.key == tag.key) {
            Some(old) => old.value = tag.value,
            None => existing.push(tag),
        }
    }
    existing
}
