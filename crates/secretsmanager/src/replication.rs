//! Replication to other regions: ReplicateSecretToRegions, RemoveRegionsFromReplication and
//! StopReplicationToReplica, and the synchronization that copies a primary secret to its
//! replicas after every change.
//!
//! A replica is a secret of the same account in another region, with the same name and random
//! suffix, its primary's metadata, and every version's value re-encrypted under the replica's
//! key in that region (bound to the replica's ARN). Replicas change only through their primary;
//! Secrets Manager itself does the copying, so KMS is called as the account there.

use std::net::{IpAddr, Ipv4Addr};

use palisade_core::{AccountId, Principal, Region, RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::*;
use palisade_store::{SecretBytes, StoreError, Transaction, Value};

use crate::SecretsManagerState;
use crate::db::{SECRETS, Tenant, VALUES, plain, store_error};
use crate::ids::uuid;
use crate::records::{ReplicaRecord, SecretRecord};
use crate::secrets::{usable, writable};

const IN_PROGRESS: &str = "InProgress";
const IN_SYNC: &str = "InSync";
const FAILED: &str = "Failed";

/// The status AWS reports for each replica of `record`.
pub(crate) fn replication_status(record: &SecretRecord) -> Option<Vec<ReplicationStatusType>> {
    (!record.replicas.is_empty()).then(|| {
        record
            .replicas
            .iter()
            .map(|replica| ReplicationStatusType {
                region: Some(replica.region.clone()),
                kms_key_id: Some(
                    replica
                        .kms_key_id
                        .clone()
                        .unwrap_or_else(|| "alias/aws/secretsmanager".to_owned()),
                ),
                status: Some(StatusType::from(replica.status.as_str())),
                status_message: replica.status_message.clone(),
                last_accessed_date: None,
            })
            .collect()
    })
}

/// The context Secrets Manager acts in on its own (copying a secret, a built-in rotation): the
/// account's root in `tenant`'s region.
pub(crate) fn acting_in(tenant: &Tenant, time: std::time::SystemTime) -> Option<RequestContext> {
    Some(RequestContext {
        request_id: uuid().ok()?,
        principal: Principal::root(AccountId::parse(&tenant.account)?, "secretsmanager"),
        region: Region::parse(&tenant.region)?,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "secretsmanager.amazonaws.com".to_owned(),
        time,
        secure_transport: true,
    })
}

fn replica_arn(primary: &SecretRecord, tenant: &Tenant, region: &str) -> String {
    let suffix = primary
        .arn
        .strip_prefix(&tenant.arn_prefix())
        .and_then(|rest| rest.strip_prefix(primary.name.as_str()))
        .unwrap_or_default();
    format!(
        "arn:aws:secretsmanager:{region}:{}:secret:{}{suffix}",
        tenant.account, primary.name
    )
}

impl SecretsManagerState {
    /// Copies `primary` to every replica region and records each outcome on it; a replica
    /// region in `overwrite` replaces a secret of the same name that is not its replica.
    pub(crate) async fn sync_replicas_overwriting(
        &self,
        tenant: &Tenant,
        primary: &SecretRecord,
        overwrite: &[String],
    ) -> Result<SecretRecord, ServiceError> {
        let mut outcomes = Vec::new();
        for replica in &primary.replicas {
            let force = overwrite.contains(&replica.region);
            let outcome = self.sync_replica(tenant, primary, replica, force).await;
            outcomes.push((replica.region.clone(), outcome));
        }
        self.change_replicas(tenant, primary, |fresh| {
            for replica in &mut fresh.replicas {
                let outcome = outcomes
                    .iter()
                    .find(|(region, _)| *region == replica.region)
                    .map(|(_, outcome)| outcome);
                let (status, message) = match outcome {
                    None => continue,
                    Some(Ok(())) => (IN_SYNC, None),
                    Some(Err(message)) => (FAILED, Some(message.clone())),
                };
                replica.status = status.to_owned();
                replica.status_message = message;
            }
            Ok(())
        })
        .await
    }

    /// [`SecretsManagerState::sync_replicas_overwriting`] with no overwriting: after a change.
    pub(crate) async fn sync_replicas(
        &self,
        tenant: &Tenant,
        primary: &SecretRecord,
    ) -> Result<SecretRecord, ServiceError> {
        self.sync_replicas_overwriting(tenant, primary, &[]).await
    }

    /// Writes the replica of `primary` in `replica.region`, re-encrypting the values it lacks.
    /// The error is the status message AWS would show.
    async fn sync_replica(
        &self,
        tenant: &Tenant,
        primary: &SecretRecord,
        replica: &ReplicaRecord,
        overwrite: bool,
    ) -> Result<(), String> {
        let target = Tenant {
            account: tenant.account.clone(),
            region: replica.region.clone(),
        };
        let now = self.clock.now();
        let (Some(primary_ctx), Some(replica_ctx)) =
            (acting_in(tenant, now), acting_in(&target, now))
        else {
            return Err(format!(
                "Replication failed: {} is not a valid Region.",
                replica.region
            ));
        };
        let arn = replica_arn(primary, tenant, &replica.region);
        let existing = self
            .secret_by_name(&target, &primary.name)
            .await
            .map_err(|error| error.message)?;
        let ours = existing.as_ref().is_some_and(|found| {
            found.value.arn == arn && found.value.primary_region.as_deref() == Some(&tenant.region)
        });
        if existing.is_some() && !ours && !overwrite {
            return Err(
                "Replication failed: A secret with this name already exists in this Region."
                    .to_owned(),
            );
        }
        let mut copy = primary.clone();
        copy.arn = arn.clone();
        copy.kms_key_id = replica.kms_key_id.clone();
        copy.primary_region = Some(tenant.region.clone());
        copy.replicas = Vec::new();
        let mut sealed_values = Vec::new();
        for (id, version) in &mut copy.versions {
            if version.key_arn.is_none() {
                continue;
            }
            let already = existing
                .as_ref()
                .filter(|_| ours)
                .and_then(|found| found.value.versions.get(id))
                .and_then(|kept| kept.key_arn.clone());
            if let Some(key_arn) = already {
                version.key_arn = Some(key_arn);
                continue;
            }
            let value = self
                .version_value(&primary_ctx, tenant, primary, id)
                .await
                .map_err(|error| format!("Replication failed: {}", error.message))?;
            let (sealed, key_arn) = self
                .seal(
                    &replica_ctx,
                    &target,
                    replica.kms_key_id.as_deref(),
                    &arn,
                    id,
                    &value,
                )
                .await
                .map_err(|error| format!("Replication failed: {}", error.message))?;
            version.key_arn = Some(key_arn);
            sealed_values.push((id.clone(), sealed));
        }
        let key = target.secret_key(&copy.name);
        let mut txn = match &existing {
            Some(found) => Transaction::new().expect_version(SECRETS, &key, found.version),
            None => Transaction::new().expect_absent(SECRETS, &key),
        };
        if let Some(found) = &existing {
            for id in found.value.versions.keys() {
                if !ours || !copy.versions.contains_key(id) {
                    txn = txn.delete(VALUES, &target.value_key(&copy.name, id));
                }
            }
        }
        txn = txn.put(SECRETS, &key, plain(&copy).map_err(|error| error.message)?);
        for (id, sealed) in sealed_values {
            txn = txn.put(
                VALUES,
                &target.value_key(&copy.name, &id),
                Value::Secret(SecretBytes::new(sealed)),
            );
        }
        match self.store.commit(txn).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                Err("Replication failed: the replica changed during replication; retry.".to_owned())
            }
            Err(error) => Err(store_error(error).message),
        }
    }

    /// Deletes the replica of `primary` in `region`, if it is one.
    async fn delete_replica(
        &self,
        tenant: &Tenant,
        primary: &SecretRecord,
        region: &str,
    ) -> Result<(), ServiceError> {
        let target = Tenant {
            account: tenant.account.clone(),
            region: region.to_owned(),
        };
        let arn = replica_arn(primary, tenant, region);
        self.mutate(|| async {
            let Some(found) = self
                .secret_by_name(&target, &primary.name)
                .await?
                .filter(|found| found.value.arn == arn)
            else {
                return Ok((Transaction::new(), ()));
            };
            let key = target.secret_key(&primary.name);
            let mut txn = Transaction::new()
                .expect_version(SECRETS, &key, found.version)
                .delete(SECRETS, &key);
            for id in found.value.versions.keys() {
                txn = txn.delete(VALUES, &target.value_key(&primary.name, id));
            }
            Ok((txn, ()))
        })
        .await
    }

    /// Applies `change` to the secret's replication settings, without copying it again.
    async fn change_replicas(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        change: impl Fn(&mut SecretRecord) -> Result<(), ServiceError>,
    ) -> Result<SecretRecord, ServiceError> {
        self.write_change(tenant, record, change, &[]).await
    }

    /// Adds replicas of the secret `secret_id` and copies it there.
    pub(crate) async fn replicate(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        regions: Vec<ReplicaRegionType>,
        overwrite: bool,
    ) -> Result<SecretRecord, ServiceError> {
        let tenant = Tenant::owning(ctx, secret_id);
        let record = self.existing_secret(&tenant, secret_id).await?.value;
        writable(&record)?;
        let mut wanted = Vec::new();
        for replica in regions {
            let region = replica.region.unwrap_or_default();
            if Region::parse(&region).is_none() || region == tenant.region {
                return Err(errors::invalid_parameter_exception(format!(
                    "Invalid replica Region: {region}. Choose a valid Region other than the \
                     primary secret's."
                )));
            }
            wanted.push(ReplicaRecord {
                region,
                kms_key_id: replica.kms_key_id,
                status: IN_PROGRESS.to_owned(),
                status_message: None,
            });
        }
        let stored = self
            .change_replicas(&tenant, &record, |fresh| {
                writable(fresh)?;
                for replica in &wanted {
                    fresh.replicas.retain(|kept| kept.region != replica.region);
                    fresh.replicas.push(replica.clone());
                }
                Ok(())
            })
            .await?;
        let overwriting: Vec<String> = if overwrite {
            wanted
                .iter()
                .map(|replica| replica.region.clone())
                .collect()
        } else {
            Vec::new()
        };
        self.sync_replicas_overwriting(&tenant, &stored, &overwriting)
            .await
    }
}

pub(crate) async fn replicate_to_regions(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: ReplicateSecretToRegionsRequest,
) -> Result<ReplicateSecretToRegionsResponse, ServiceError> {
    let stored = state
        .replicate(
            ctx,
            &input.secret_id,
            input.add_replica_regions,
            input.force_overwrite_replica_secret.unwrap_or(false),
        )
        .await?;
    Ok(ReplicateSecretToRegionsResponse {
        replication_status: replication_status(&stored),
        arn: Some(stored.arn),
    })
}

pub(crate) async fn remove_regions(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: RemoveRegionsFromReplicationRequest,
) -> Result<RemoveRegionsFromReplicationResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    writable(&record)?;
    for region in &input.remove_replica_regions {
        if record
            .replicas
            .iter()
            .any(|replica| replica.region == *region)
        {
            state.delete_replica(&tenant, &record, region).await?;
        }
    }
    let removed = input.remove_replica_regions;
    let stored = state
        .change_replicas(&tenant, &record, |fresh| {
            fresh
                .replicas
                .retain(|replica| !removed.contains(&replica.region));
            Ok(())
        })
        .await?;
    Ok(RemoveRegionsFromReplicationResponse {
        replication_status: Some(replication_status(&stored).unwrap_or_default()),
        arn: Some(stored.arn),
    })
}

pub(crate) async fn stop_replication(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: StopReplicationToReplicaRequest,
) -> Result<StopReplicationToReplicaResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    usable(&record)?;
    let Some(primary_region) = record.primary_region.clone() else {
        return Err(errors::invalid_request_exception(
            "This secret is not a replica, so replication to it can't be stopped.",
        ));
    };
    let stored = state
        .change_replicas(&tenant, &record, |fresh| {
            fresh.primary_region = None;
            Ok(())
        })
        .await?;
    let primary_tenant = Tenant {
        account: tenant.account.clone(),
        region: primary_region,
    };
    if let Some(primary) = state.secret_by_name(&primary_tenant, &record.name).await? {
        let region = tenant.region.clone();
        state
            .change_replicas(&primary_tenant, &primary.value, |fresh| {
                fresh.replicas.retain(|replica| replica.region != region);
                Ok(())
            })
            .await?;
    }
    Ok(StopReplicationToReplicaResponse {
        arn: Some(stored.arn),
    })
}
