//! Rotation of symmetric encryption keys: automatic (on a period, driven by the server through
//! [`KmsState::rotate_due_keys`]) and on demand. Rotation adds a material version; every version
//! is kept, so ciphertexts name the version that decrypts them and new ones use the newest.

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_kms::errors;
use palisade_model_kms::types::*;
use palisade_store::Transaction;

use crate::KmsState;
use crate::db::{KEYS, MATERIAL, Tenant, plain};
use crate::ids::check_enabled;
use crate::managed::check_customer_managed;
use crate::material::{self, new_material_id};
use crate::paging;
use crate::records::{
    KeyRecord, Lifecycle, MaterialRecord, Origin, RotationKind, RotationSchedule,
};
use crate::specs::Spec;

const DAY_MILLIS: i64 = 86_400_000;
const DEFAULT_PERIOD_DAYS: i32 = 365;
const PERIOD_DAYS: std::ops::RangeInclusive<i32> = 90..=2560;
/// AWS allows ten on-demand rotations per key.
const ON_DEMAND_LIMIT: usize = 10;

pub(crate) async fn enable(
    state: &KmsState,
    ctx: &RequestContext,
    input: EnableKeyRotationRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let period_days = input.rotation_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    if !PERIOD_DAYS.contains(&period_days) {
        return Err(ServiceError::validation(format!(
            "1 validation error detected: Value '{period_days}' at 'rotationPeriodInDays' failed \
             to satisfy constraint: Member must have value between 90 and 2560"
        )));
    }
    let next_rotation = state.now() + i64::from(period_days) * DAY_MILLIS;
    let key = state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:EnableKeyRotation")?;
            check_rotatable(&tenant, key)?;
            key.rotation = Some(RotationSchedule {
                period_days,
                next_rotation,
            });
            Ok(())
        })
        .await?;
    state.share_rotation(&tenant, &key).await
}

pub(crate) async fn disable(
    state: &KmsState,
    ctx: &RequestContext,
    input: DisableKeyRotationRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .update_key(&tenant, &input.key_id, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:DisableKeyRotation")?;
            check_rotatable(&tenant, key)?;
            key.rotation = None;
            Ok(())
        })
        .await?;
    state.share_rotation(&tenant, &key).await
}

pub(crate) async fn status(
    state: &KmsState,
    ctx: &RequestContext,
    input: GetKeyRotationStatusRequest,
) -> Result<GetKeyRotationStatusResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.key_id);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    check_symmetric(&tenant, &key)?;
    Ok(GetKeyRotationStatusResponse {
        key_rotation_enabled: Some(key.rotation.is_some()),
        key_id: Some(tenant.key_arn(&key.id)),
        rotation_period_in_days: key.rotation.map(|r| r.period_days),
        next_rotation_date: key
            .rotation
            .map(|r| Timestamp::from_millis(r.next_rotation)),
        // On-demand rotations complete within the call, so none is ever in progress.
        on_demand_rotation_start_date: None,
    })
}

pub(crate) async fn rotate_on_demand(
    state: &KmsState,
    ctx: &RequestContext,
    input: RotateKeyOnDemandRequest,
) -> Result<RotateKeyOnDemandResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let id = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value
        .id;
    let (key, _) = state
        .add_material(&tenant, &id, RotationKind::OnDemand, |key| {
            check_customer_managed(ctx, &tenant, key, "kms:RotateKeyOnDemand")?;
            check_rotatable(&tenant, key)?;
            if key.on_demand_rotations() >= ON_DEMAND_LIMIT {
                return Err(errors::limit_exceeded_exception(format!(
                    "The on-demand rotations limit has been reached for the given keyId. No \
                     more on-demand rotations can be performed for this key: {}",
                    tenant.key_arn(&key.id)
                )));
            }
            Ok(true)
        })
        .await?;
    Ok(RotateKeyOnDemandResponse {
        key_id: Some(tenant.key_arn(&key.id)),
    })
}

pub(crate) async fn list(
    state: &KmsState,
    ctx: &RequestContext,
    input: ListKeyRotationsRequest,
) -> Result<ListKeyRotationsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = state
        .resolve_key_without_alias(&tenant, &input.key_id)
        .await?
        .value;
    check_symmetric(&tenant, &key)?;
    let include_initial = input.include_key_material == Some(IncludeKeyMaterial::AllKeyMaterial);
    let current = key.materials.len().saturating_sub(1);
    let entries = key
        .materials
        .iter()
        .enumerate()
        .filter(|(_, material)| include_initial || material.rotation.is_some())
        .map(|(version, material)| RotationsListEntry {
            key_id: Some(tenant.key_arn(&key.id)),
            key_material_id: Some(material.id.clone()),
            key_material_state: Some(if version == current {
                KeyMaterialState::Current
            } else {
                KeyMaterialState::NonCurrent
            }),
            rotation_date: material
                .rotation
                .map(|_| Timestamp::from_millis(material.created)),
            rotation_type: material.rotation.map(|kind| match kind {
                RotationKind::Automatic => RotationType::Automatic,
                RotationKind::OnDemand => RotationType::OnDemand,
            }),
            ..RotationsListEntry::default()
        });
    let (rotations, next_marker) = paging::by_index(entries, input.marker.as_deref(), input.limit)?;
    Ok(ListKeyRotationsResponse {
        rotations: Some(rotations),
        truncated: Some(next_marker.is_some()),
        next_marker,
    })
}

impl KmsState {
    /// Rotates every enabled key whose automatic rotation is due; returns how many were
    /// rotated. The server runs this periodically.
    pub async fn rotate_due_keys(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut rotated = 0;
        for (tenant, key) in self.all_keys().await? {
            // A replica's schedule is its primary's, which rotates it.
            let replica = key.multi_region_key_type(&tenant.region) == Some("REPLICA");
            if replica || !is_due(&key, now) {
                continue;
            }
            // Re-checked on the fresh read: the key may have changed since the sweep read it.
            let (_, added) = self
                .add_material(&tenant, &key.id, RotationKind::Automatic, |key| {
                    Ok(is_due(key, now))
                })
                .await?;
            rotated += usize::from(added);
        }
        Ok(rotated)
    }

    /// Adds a material version to the key `id` when `check` (given the fresh record) says so,
    /// moving an automatic rotation's schedule on; returns the key as it stands and whether a
    /// version was added.
    async fn add_material(
        &self,
        tenant: &Tenant,
        id: &str,
        kind: RotationKind,
        check: impl Fn(&KeyRecord) -> Result<bool, ServiceError>,
    ) -> Result<(KeyRecord, bool), ServiceError> {
        let now = self.now();
        let (record, added) = self
            .mutate(|| async {
                let key = self.key_by_id(tenant, id).await?;
                let record = key.value;
                if !check(&record)? {
                    return Ok((Transaction::new(), (record, false)));
                }
                let new_material = material::generate(record.kind.spec)?;
                let material_record = MaterialRecord {
                    id: new_material_id()?,
                    created: now,
                    rotation: Some(kind),
                };
                // A multi-Region key's replicas share its material: they rotate with it.
                let regions = std::iter::once(tenant.region.clone()).chain(
                    record
                        .regions
                        .iter()
                        .filter(|regions| regions.primary == tenant.region)
                        .flat_map(|regions| regions.replicas.clone()),
                );
                let mut txn = Transaction::new();
                let mut answer = None;
                for region in regions {
                    let holder = tenant.in_region(&region);
                    let Some(stored) = self.key_record(&holder, id).await? else {
                        continue;
                    };
                    let mut record = stored.value;
                    let mut materials = self.materials(&holder, id).await?;
                    materials.value.push(new_material.clone());
                    record.materials.push(material_record.clone());
                    if let (RotationKind::Automatic, Some(schedule)) =
                        (kind, record.rotation.as_mut())
                    {
                        schedule.next_rotation = now + i64::from(schedule.period_days) * DAY_MILLIS;
                    }
                    let store_key = holder.store_key(id);
                    txn = txn
                        .expect_version(KEYS, &store_key, stored.version)
                        .expect_version(MATERIAL, &store_key, materials.version)
                        .put(KEYS, &store_key, plain(&record)?)
                        .put(MATERIAL, &store_key, materials.value.encode());
                    answer.get_or_insert(record);
                }
                let record = answer.unwrap_or(record);
                Ok((txn, (record, true)))
            })
            .await?;
        if added {
            self.publish_rotation(tenant, &record, kind);
        }
        Ok((record, added))
    }
}

fn is_due(key: &KeyRecord, now: i64) -> bool {
    key.lifecycle == Lifecycle::Enabled
        && key
            .rotation
            .is_some_and(|schedule| schedule.next_rotation <= now)
}

/// Rotation is for enabled symmetric encryption keys; a multi-Region key rotates through its
/// primary.
fn check_rotatable(tenant: &Tenant, key: &KeyRecord) -> Result<(), ServiceError> {
    check_enabled(tenant, key)?;
    if key.multi_region_key_type(&tenant.region) == Some("REPLICA") {
        return Err(errors::unsupported_operation_exception(format!(
            "{} is a multi-Region replica key; rotate its primary key.",
            tenant.key_arn(&key.id)
        )));
    }
    if key.origin == Origin::External {
        return Err(errors::unsupported_operation_exception(format!(
            "{} has imported key material; Palisade does not rotate imported key material.",
            tenant.key_arn(&key.id)
        )));
    }
    check_symmetric(tenant, key)
}

fn check_symmetric(tenant: &Tenant, key: &KeyRecord) -> Result<(), ServiceError> {
    if key.kind.spec == Spec::SymmetricDefault {
        Ok(())
    } else {
        Err(errors::unsupported_operation_exception(format!(
            "{} key spec is {}; rotation is supported for symmetric encryption keys only.",
            tenant.key_arn(&key.id),
            key.kind.spec.as_str()
        )))
    }
}
