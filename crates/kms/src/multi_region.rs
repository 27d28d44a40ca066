//! Multi-Region keys: one key id (`mrk-...`) and one key material in several regions of an
//! account, so that a ciphertext made in one region decrypts in another. Each region holds its own
//! record of the key (its own policy, description, tags and state) and a copy of the material;
//! the shared facts (which region is primary, which hold replicas) are kept the same in every
//! record, and every change to them writes all the records in one transaction.

use palisade_core::{Region, RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_store::Transaction;

use crate::KmsState;
use crate::db::{KEYS, MATERIAL, Tenant, plain};
use crate::ids::check_not_pending_deletion;
use crate::keys::{merge_tags, metadata, policy_and_tags};
use crate::records::{KeyRecord, Lifecycle, Regions};

const DAY_MILLIS: i64 = 86_400_000;

pub(crate) async fn replicate(
    state: &KmsState,
    ctx: &RequestContext,
    input: ReplicateKeyRequest,
) -> Result<ReplicateKeyResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    if Region::parse(&input.replica_region).is_none() {
        return Err(ServiceError::validation(format!(
            "{} is not a valid region.",
            input.replica_region
        )));
    }
    let (policy, tags) = policy_and_tags(&tenant, input.policy, input.tags)?;
    let replica_tenant = tenant.in_region(&input.replica_region);
    let id = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value
        .id;
    let replica = state
        .mutate(|| async {
            let primary = state.key_by_id(&tenant, &id).await?;
            let regions = primary_regions(&tenant, &primary.value)?;
            check_not_pending_deletion(&tenant, &primary.value)?;
            if input.replica_region == tenant.region
                || regions.replicas.contains(&input.replica_region)
            {
                return Err(errors::already_exists_exception(format!(
                    "Primary or replica key already exists in region {}.",
                    input.replica_region
                )));
            }
            let mut regions = regions.clone();
            regions.replicas.push(input.replica_region.clone());
            regions.replicas.sort();
            let now = state.now();
            let replica = KeyRecord {
                created: now,
                description: input.description.clone().unwrap_or_default(),
                // An external key's replica takes its own import of the same material.
                lifecycle: if primary.value.materials.is_empty() {
                    Lifecycle::PendingImport
                } else {
                    Lifecycle::Enabled
                },
                policy: policy.clone(),
                tags: merge_tags(Vec::new(), tags.clone()),
                regions: Some(regions.clone()),
                import: None,
                ..primary.value.clone()
            };
            let replica_key = replica_tenant.store_key(&id);
            let mut txn = Transaction::new().expect_absent(KEYS, &replica_key).put(
                KEYS,
                &replica_key,
                plain(&replica)?,
            );
            if !primary.value.materials.is_empty() {
                let materials = state.materials(&tenant, &id).await?;
                txn = txn
                    .expect_version(MATERIAL, &tenant.store_key(&id), materials.version)
                    .put(MATERIAL, &replica_key, materials.value.encode());
            }
            let txn = state
                .set_regions(txn, &tenant, &id, &regions, |_| {})
                .await?;
            Ok((txn, replica))
        })
        .await?;
    Ok(ReplicateKeyResponse {
        replica_key_metadata: Some(metadata(&replica_tenant, &replica)),
        replica_policy: Some(replica.policy),
        replica_tags: Some(
            replica
                .tags
                .into_iter()
                .map(|tag| Tag {
                    tag_key: tag.key,
                    tag_value: tag.value,
                })
                .collect(),
        ),
    })
}

pub(crate) async fn update_primary_region(
    state: &KmsState,
    ctx: &RequestContext,
    input: UpdatePrimaryRegionRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let id = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value
        .id;
    state
        .mutate(|| async {
            let primary = state.key_by_id(&tenant, &id).await?;
            let regions = primary_regions(&tenant, &primary.value)?;
            check_not_pending_deletion(&tenant, &primary.value)?;
            if input.primary_region == tenant.region {
                return Err(ServiceError::validation(format!(
                    "{} is already the primary key.",
                    tenant.key_arn(&id)
                )));
            }
            if !regions.replicas.contains(&input.primary_region) {
                return Err(errors::not_found_exception(format!(
                    "Key '{}' does not exist",
                    tenant.in_region(&input.primary_region).key_arn(&id)
                )));
            }
            let mut replicas: Vec<String> = regions
                .replicas
                .iter()
                .filter(|region| **region != input.primary_region)
                .cloned()
                .chain(std::iter::once(tenant.region.clone()))
                .collect();
            replicas.sort();
            let updated = Regions {
                primary: input.primary_region.clone(),
                replicas,
            };
            let txn = state
                .set_regions(Transaction::new(), &tenant, &id, &updated, |_| {})
                .await?;
            Ok((txn, ()))
        })
        .await
}

/// The regions of a multi-Region key that is primary in `tenant`'s region, or the error AWS
/// answers when the key is not a multi-Region key or not the primary.
fn primary_regions<'a>(tenant: &Tenant, key: &'a KeyRecord) -> Result<&'a Regions, ServiceError> {
    let Some(regions) = &key.regions else {
        return Err(errors::unsupported_operation_exception(format!(
            "{} is not a multi-Region key.",
            tenant.key_arn(&key.id)
        )));
    };
    if regions.primary != tenant.region {
        return Err(errors::unsupported_operation_exception(format!(
            "{} is not a multi-Region primary key.",
            tenant.key_arn(&key.id)
        )));
    }
    Ok(regions)
}

impl KmsState {
    /// Adds to `txn` the records of key `id` in every region `regions` names, `tenant`'s own
    /// too, rewritten with `regions` and then `change`, each pinned to the version read. A
    /// region whose record is absent (it is not yet written, or already deleted) is skipped.
    pub(crate) async fn set_regions(
        &self,
        mut txn: Transaction,
        tenant: &Tenant,
        id: &str,
        regions: &Regions,
        change: impl Fn(&mut KeyRecord),
    ) -> Result<Transaction, ServiceError> {
        for region in std::iter::once(&regions.primary).chain(&regions.replicas) {
            let other = tenant.in_region(region);
            let Some(stored) = self.key_record(&other, id).await? else {
                continue;
            };
            let mut record = stored.value;
            record.regions = Some(regions.clone());
            change(&mut record);
            let store_key = other.store_key(id);
            txn = txn.expect_version(KEYS, &store_key, stored.version).put(
                KEYS,
                &store_key,
                plain(&record)?,
            );
        }
        Ok(txn)
    }

    /// Copies a multi-Region primary key's automatic rotation schedule, which its replicas
    /// share, to every replica.
    pub(crate) async fn share_rotation(
        &self,
        tenant: &Tenant,
        primary: &KeyRecord,
    ) -> Result<(), ServiceError> {
        let Some(regions) = primary
            .regions
            .as_ref()
            .filter(|regions| regions.primary == tenant.region && !regions.replicas.is_empty())
        else {
            return Ok(());
        };
        let rotation = primary.rotation;
        self.mutate(|| async {
            let txn = self
                .set_regions(Transaction::new(), tenant, &primary.id, regions, |record| {
                    record.rotation = rotation;
                })
                .await?;
            Ok((txn, ()))
        })
        .await
    }

    /// Adds to `txn` what deleting the record of multi-Region key `id` in `tenant`'s region
    /// changes elsewhere: the region leaves the other records' replicas, and a primary waiting
    /// on its replicas starts its waiting period once none is left.
    pub(crate) async fn forget_region(
        &self,
        txn: Transaction,
        tenant: &Tenant,
        key: &KeyRecord,
    ) -> Result<Transaction, ServiceError> {
        let Some(regions) = &key.regions else {
            return Ok(txn);
        };
        if regions.primary == tenant.region {
            return Ok(txn);
        }
        let remaining = Regions {
            primary: regions.primary.clone(),
            replicas: regions
                .replicas
                .iter()
                .filter(|region| **region != tenant.region)
                .cloned()
                .collect(),
        };
        let now = self.now();
        let no_replicas_left = remaining.replicas.is_empty();
        self.set_regions(txn, tenant, &key.id, &remaining, |record| {
            if let Lifecycle::PendingReplicaDeletion { window_days } = record.lifecycle
                && no_replicas_left
            {
                record.lifecycle = Lifecycle::PendingDeletion {
                    deletion_date: now + i64::from(window_days) * DAY_MILLIS,
                    window_days,
                };
            }
        })
        .await
    }
}
