//! Secrets and their versions: create, read, write, update, describe, tag, delete (with a
//! recovery window), restore and purge.

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::*;
use palisade_store::{SecretBytes, Transaction, Value};

use crate::SecretsManagerState;
use crate::crypto::{self, SecretValue};
use crate::db::{SECRETS, Stored, Tenant, VALUES, not_found, plain};
use crate::ids::{arn_suffix, uuid};
use crate::records::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretRecord, VersionMeta};
use crate::stages::add_version;

const DAY_MS: i64 = 86_400_000;
const DEFAULT_RECOVERY_DAYS: i64 = 30;
const MAX_TAGS: usize = 50;

/// AWS's answer to reads and writes of a secret scheduled for deletion.
pub(crate) fn marked_for_deletion() -> ServiceError {
    errors::invalid_request_exception(
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

/// Refuses changes to (and reads of) a secret scheduled for deletion.
pub(crate) fn usable(record: &SecretRecord) -> Result<(), ServiceError> {
    if record.is_deleted() {
        return Err(marked_for_deletion());
    }
    Ok(())
}

/// Refuses changes to a secret scheduled for deletion, and to a replica: a replica changes only
/// through its primary.
pub(crate) fn writable(record: &SecretRecord) -> Result<(), ServiceError> {
    usable(record)?;
    if let Some(primary) = &record.primary_region {
        return Err(errors::invalid_request_exception(format!(
            "Operation is not permitted on a replica secret. Make the change to the primary \
             secret in {primary}."
        )));
    }
    Ok(())
}

pub(crate) fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// Midnight UTC of the day `millis` falls in: AWS records access dates to the day.
fn day_of(millis: i64) -> i64 {
    millis - millis.rem_euclid(DAY_MS)
}

fn tags_out(tags: &[(String, String)]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(key, value)| Tag {
                key: Some(key.clone()),
                value: Some(value.clone()),
            })
            .collect()
    })
}

fn merge_tags(into: &mut Vec<(String, String)>, tags: Vec<Tag>) -> Result<(), ServiceError> {
    for tag in tags {
        let key = tag.key.unwrap_or_default();
        let value = tag.value.unwrap_or_default();
        match into.iter_mut().find(|(existing, _)| *existing == key) {
            Some(slot) => slot.1 = value,
            None => into.push((key, value)),
        }
    }
    if into.len() > MAX_TAGS {
        return Err(errors::invalid_parameter_exception(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

/// A new version to write: its id (the client request token), value and labels.
pub(crate) struct NewVersion<'a> {
    pub token: Option<String>,
    pub value: &'a SecretValue,
    pub stages: Vec<String>,
}

impl SecretsManagerState {
    /// Adds a version to the secret `name` and applies `change` to its metadata in the same
    /// transaction. A token that already names a version with the same value answers that
    /// version unchanged; with another value it is `ResourceExistsException`, as in AWS.
    pub(crate) async fn write_version(
        &self,
        ctx: &RequestContext,
        tenant: &Tenant,
        record: &SecretRecord,
        kms_key_id: Option<&str>,
        version: NewVersion<'_>,
        change: impl Fn(&mut SecretRecord),
    ) -> Result<(SecretRecord, String), ServiceError> {
        let version_id = match version.token {
            Some(token) => token,
            None => uuid()?,
        };
        if self
            .same_version_exists(ctx, tenant, record, &version_id, version.value)
            .await?
        {
            return Ok((record.clone(), version_id));
        }
        let (sealed, key_arn) = self
            .seal(
                ctx,
                tenant,
                kms_key_id,
                &record.arn,
                &version_id,
                version.value,
            )
            .await?;
        let now = self.now();
        let stored = self
            .change_secret_storing(
                tenant,
                record,
                |fresh| {
                    writable(fresh)?;
                    // A version a rotation started without a value is filled, keeping its labels.
                    let mut stages = match fresh.versions.get(&version_id) {
                        Some(existing) if existing.key_arn.is_some() => {
                            return Err(version_exists());
                        }
                        Some(existing) => existing.stages.clone(),
                        None => Vec::new(),
                    };
                    for stage in &version.stages {
                        if !stages.contains(stage) {
                            stages.push(stage.clone());
                        }
                    }
                    change(fresh);
                    fresh.last_changed_ms = now;
                    add_version(
                        fresh,
                        &version_id,
                        VersionMeta {
                            created_ms: now,
                            stages,
                            last_accessed_ms: None,
                            key_arn: Some(key_arn.clone()),
                        },
                    )?;
                    Ok(())
                },
                &[(version_id.clone(), sealed)],
            )
            .await?;
        Ok((stored, version_id))
    }

    /// Whether version `version_id` exists with this very value; an existing version with
    /// another value is `ResourceExistsException`.
    async fn same_version_exists(
        &self,
        ctx: &RequestContext,
        tenant: &Tenant,
        record: &SecretRecord,
        version_id: &str,
        value: &SecretValue,
    ) -> Result<bool, ServiceError> {
        let has_value = record
            .versions
            .get(version_id)
            .is_some_and(|version| version.key_arn.is_some());
        if !has_value {
            return Ok(false);
        }
        let stored = self.version_value(ctx, tenant, record, version_id).await?;
        if stored.same_as(value) {
            Ok(true)
        } else {
            Err(version_exists())
        }
    }

    /// The decrypted value of one version.
    pub(crate) async fn version_value(
        &self,
        ctx: &RequestContext,
        tenant: &Tenant,
        record: &SecretRecord,
        version_id: &str,
    ) -> Result<SecretValue, ServiceError> {
        if !tenant.is_callers(ctx) && crypto::is_aws_managed(record.kms_key_id.as_deref()) {
            // The AWS managed key's policy admits only callers of its own account: AWS documents
            // that `aws/secretsmanager` cannot serve cross-account access.
            return Err(crypto::kms_access_denied());
        }
        let sealed = self.sealed_value(tenant, &record.name, version_id).await?;
        self.unseal(ctx, &record.arn, version_id, &sealed).await
    }

    /// Removes a secret and every value it has, now.
    async fn purge(&self, tenant: &Tenant, name: &str, arn: &str) -> Result<bool, ServiceError> {
        self.mutate(|| async {
            let Some(found) = self
                .secret_by_name(tenant, name)
                .await?
                .filter(|found| found.value.arn == arn)
            else {
                return Ok((Transaction::new(), false));
            };
            let key = tenant.secret_key(name);
            let mut txn = Transaction::new()
                .expect_version(SECRETS, &key, found.version)
                .delete(SECRETS, &key);
            for id in found.value.versions.keys() {
                txn = txn.delete(VALUES, &tenant.value_key(name, id));
            }
            Ok((txn, true))
        })
        .await
    }

    /// Purges every secret whose recovery window has passed; answers how many. The server calls
    /// this periodically.
    pub async fn delete_due_secrets(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut purged = 0;
        for (tenant, record) in self.all_secrets().await? {
            if record.deletion_ms.is_some_and(|due| due <= now)
                && self.purge(&tenant, &record.name, &record.arn).await?
            {
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// Records that the secret was read today, once per day, as AWS does; losing a race to
    /// another change is harmless (the next read records it).
    async fn note_access(&self, tenant: &Tenant, found: &Stored<SecretRecord>, version_id: &str) {
        let today = day_of(self.now());
        let mut record = found.value.clone();
        let version_seen = record
            .versions
            .get(version_id)
            .is_some_and(|version| version.last_accessed_ms == Some(today));
        if record.last_accessed_ms == Some(today) && version_seen {
            return;
        }
        record.last_accessed_ms = Some(today);
        if let Some(version) = record.versions.get_mut(version_id) {
            version.last_accessed_ms = Some(today);
        }
        let key = tenant.secret_key(&record.name);
        let Ok(value) = plain(&record) else { return };
        let txn = Transaction::new()
            .expect_version(SECRETS, &key, found.version)
            .put(SECRETS, &key, value);
        let _ = self.store.commit(txn).await;
    }
}

fn version_exists() -> ServiceError {
    errors::resource_exists_exception(
        "You can't modify an existing version, you can only create new versions.",
    )
}

pub(crate) async fn create(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: CreateSecretRequest,
) -> Result<CreateSecretResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let value = SecretValue::from_request(input.secret_string, input.secret_binary)?;
    let name = input.name;
    if let Some(existing) = state.secret_by_name(&tenant, &name).await? {
        return answer_existing(
            state,
            ctx,
            &tenant,
            &existing.value,
            input.client_request_token,
            value.as_ref(),
        )
        .await;
    }
    let arn = format!("{}{name}{}", tenant.arn_prefix(), arn_suffix()?);
    let now = state.now();
    let mut record = SecretRecord::new(name.clone(), arn.clone(), now);
    record.description = input.description;
    record.kms_key_id = input.kms_key_id;
    record.secret_type = input.r#type;
    merge_tags(&mut record.tags, input.tags.unwrap_or_default())?;
    let key = tenant.secret_key(&name);
    let mut txn = Transaction::new().expect_absent(SECRETS, &key);
    let mut version_id = None;
    if let Some(value) = &value {
        let id = match &input.client_request_token {
            Some(token) => token.clone(),
            None => uuid()?,
        };
        let (sealed, key_arn) = state
            .seal(ctx, &tenant, record.kms_key_id.as_deref(), &arn, &id, value)
            .await?;
        add_version(
            &mut record,
            &id,
            VersionMeta {
                created_ms: now,
                stages: vec![AWSCURRENT.to_owned()],
                last_accessed_ms: None,
                key_arn: Some(key_arn),
            },
        )?;
        txn = txn.put(
            VALUES,
            &tenant.value_key(&name, &id),
            Value::Secret(SecretBytes::new(sealed)),
        );
        version_id = Some(id);
    }
    txn = txn.put(SECRETS, &key, plain(&record)?);
    match state.store.commit(txn).await {
        Ok(()) => {
            let replicas = input.add_replica_regions.unwrap_or_default();
            let replication_status = if replicas.is_empty() {
                None
            } else {
                let overwrite = input.force_overwrite_replica_secret.unwrap_or(false);
                let stored = state.replicate(ctx, &arn, replicas, overwrite).await?;
                crate::replication::replication_status(&stored)
            };
            Ok(CreateSecretResponse {
                arn: Some(arn),
                name: Some(name),
                version_id,
                replication_status,
            })
        }
        Err(palisade_store::StoreError::Conflict(_)) => {
            let existing = state
                .secret_by_name(&tenant, &name)
                .await?
                .ok_or_else(not_found)?;
            answer_existing(
                state,
                ctx,
                &tenant,
                &existing.value,
                input.client_request_token,
                value.as_ref(),
            )
            .await
        }
        Err(error) => Err(crate::db::store_error(error)),
    }
}

/// CreateSecret of a name that exists: a retry with the same token and value answers as the
/// first call did; anything else is refused as AWS refuses it.
async fn answer_existing(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    tenant: &Tenant,
    existing: &SecretRecord,
    token: Option<String>,
    value: Option<&SecretValue>,
) -> Result<CreateSecretResponse, ServiceError> {
    if existing.is_deleted() {
        return Err(errors::invalid_request_exception(
            "You can't create this secret because a secret with this name is already scheduled \
             for deletion.",
        ));
    }
    if let (Some(token), Some(value)) = (token, value)
        && state
            .same_version_exists(ctx, tenant, existing, &token, value)
            .await?
    {
        return Ok(CreateSecretResponse {
            arn: Some(existing.arn.clone()),
            name: Some(existing.name.clone()),
            version_id: Some(token),
            replication_status: None,
        });
    }
    Err(errors::resource_exists_exception(format!(
        "The operation failed because the secret {} already exists.",
        existing.name
    )))
}

/// The version a read names: by id (and then the label must be on it), else by label
/// (`AWSCURRENT` by default).
pub(crate) fn chosen_version(
    record: &SecretRecord,
    version_id: Option<&str>,
    version_stage: Option<&str>,
) -> Result<String, ServiceError> {
    match (version_id, version_stage) {
        (Some(id), stage) => {
            let version = record
                .versions
                .get(id)
                .ok_or_else(|| no_value_for("VersionId", id))?;
            if let Some(stage) = stage
                && !version.stages.iter().any(|label| label == stage)
            {
                return Err(errors::invalid_request_exception(
                    "You provided a VersionStage that is not associated to the provided \
                     VersionId.",
                ));
            }
            if version.key_arn.is_none() {
                return Err(no_value_for("VersionId", id));
            }
            Ok(id.to_owned())
        }
        (None, stage) => {
            let stage = stage.unwrap_or(AWSCURRENT);
            record
                .version_with_stage(stage)
                .filter(|id| {
                    record
                        .versions
                        .get(*id)
                        .is_some_and(|version| version.key_arn.is_some())
                })
                .map(str::to_owned)
                .ok_or_else(|| no_value_for("staging label", stage))
        }
    }
}

fn no_value_for(selector: &str, value: &str) -> ServiceError {
    errors::resource_not_found_exception(format!(
        "Secrets Manager can't find the specified secret value for {selector}: {value}"
    ))
}

/// One version's value as GetSecretValue and BatchGetSecretValue answer it.
pub(crate) struct ReadValue {
    pub version_id: String,
    pub value: SecretValue,
    pub stages: Vec<String>,
    pub created_ms: i64,
}

impl SecretsManagerState {
    /// Reads a version of a secret that is not scheduled for deletion.
    pub(crate) async fn read_value(
        &self,
        ctx: &RequestContext,
        tenant: &Tenant,
        found: &Stored<SecretRecord>,
        version_id: Option<&str>,
        version_stage: Option<&str>,
    ) -> Result<ReadValue, ServiceError> {
        let record = &found.value;
        usable(record)?;
        let id = chosen_version(record, version_id, version_stage)?;
        let value = self.version_value(ctx, tenant, record, &id).await?;
        self.note_access(tenant, found, &id).await;
        let version = record.versions.get(&id).ok_or_else(not_found)?;
        Ok(ReadValue {
            stages: version.stages.clone(),
            created_ms: version.created_ms,
            version_id: id,
            value,
        })
    }
}

pub(crate) async fn get_value(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: GetSecretValueRequest,
) -> Result<GetSecretValueResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let found = state.existing_secret(&tenant, &input.secret_id).await?;
    let read = state
        .read_value(
            ctx,
            &tenant,
            &found,
            input.version_id.as_deref(),
            input.version_stage.as_deref(),
        )
        .await?;
    let (secret_string, secret_binary) = read.value.into_response();
    Ok(GetSecretValueResponse {
        arn: Some(found.value.arn),
        name: Some(found.value.name),
        version_id: Some(read.version_id),
        secret_binary,
        secret_string,
        version_stages: Some(read.stages),
        created_date: Some(timestamp(read.created_ms)),
    })
}

pub(crate) async fn put_value(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: PutSecretValueRequest,
) -> Result<PutSecretValueResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let value =
        SecretValue::from_request(input.secret_string, input.secret_binary)?.ok_or_else(|| {
            errors::invalid_parameter_exception(
                "You must provide either SecretString or SecretBinary.",
            )
        })?;
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    writable(&record)?;
    let stages = input
        .version_stages
        .unwrap_or_else(|| vec![AWSCURRENT.to_owned()]);
    let (stored, version_id) = state
        .write_version(
            ctx,
            &tenant,
            &record,
            record.kms_key_id.as_deref(),
            NewVersion {
                token: input.client_request_token,
                value: &value,
                stages,
            },
            |_| {},
        )
        .await?;
    let version_stages = stored
        .versions
        .get(&version_id)
        .map(|version| version.stages.clone());
    Ok(PutSecretValueResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
        version_id: Some(version_id),
        version_stages,
    })
}

pub(crate) async fn update(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: UpdateSecretRequest,
) -> Result<UpdateSecretResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let value = SecretValue::from_request(input.secret_string, input.secret_binary)?;
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    writable(&record)?;
    let description = input.description;
    let kms_key_id = input.kms_key_id;
    let secret_type = input.r#type;
    let change = |record: &mut SecretRecord| {
        if let Some(description) = &description {
            record.description = Some(description.clone());
        }
        if let Some(kms_key_id) = &kms_key_id {
            record.kms_key_id = Some(kms_key_id.clone());
        }
        if let Some(secret_type) = &secret_type {
            record.secret_type = Some(secret_type.clone());
        }
    };
    let key_for_new_version = kms_key_id.as_deref().or(record.kms_key_id.as_deref());
    if let Some(value) = &value {
        let (stored, version_id) = state
            .write_version(
                ctx,
                &tenant,
                &record,
                key_for_new_version,
                NewVersion {
                    token: input.client_request_token,
                    value,
                    stages: vec![AWSCURRENT.to_owned()],
                },
                change,
            )
            .await?;
        return Ok(UpdateSecretResponse {
            arn: Some(stored.arn),
            name: Some(stored.name),
            version_id: Some(version_id),
        });
    }
    let reencrypted = match kms_key_id.as_deref() {
        Some(new_key) if record.kms_key_id.as_deref() != Some(new_key) => {
            state
                .reencrypt_labeled(ctx, &tenant, &record, new_key)
                .await
        }
        _ => Vec::new(),
    };
    let now = state.now();
    let sealed: Vec<(String, Vec<u8>)> = reencrypted
        .iter()
        .map(|(id, sealed, _)| (id.clone(), sealed.clone()))
        .collect();
    let stored = state
        .change_secret_storing(
            &tenant,
            &record,
            |fresh| {
                writable(fresh)?;
                change(fresh);
                fresh.last_changed_ms = now;
                for (id, _, key_arn) in &reencrypted {
                    if let Some(version) = fresh.versions.get_mut(id) {
                        version.key_arn = Some(key_arn.clone());
                    }
                }
                Ok(())
            },
            &sealed,
        )
        .await?;
    Ok(UpdateSecretResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
        version_id: None,
    })
}

impl SecretsManagerState {
    /// Applies `change` to the secret `secret_id` names, refusing a secret scheduled for
    /// deletion and a replica; answers the record as written.
    pub(crate) async fn change_writable_secret(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        change: impl Fn(&mut SecretRecord) -> Result<(), ServiceError>,
    ) -> Result<SecretRecord, ServiceError> {
        let tenant = Tenant::owning(ctx, secret_id);
        let record = self.existing_secret(&tenant, secret_id).await?.value;
        writable(&record)?;
        self.change_secret(&tenant, &record, |fresh| {
            writable(fresh)?;
            change(fresh)
        })
        .await
    }

    /// Applies `change` to the secret's metadata (re-read, and retried on a race); answers the
    /// record as written.
    pub(crate) async fn change_secret(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        change: impl Fn(&mut SecretRecord) -> Result<(), ServiceError>,
    ) -> Result<SecretRecord, ServiceError> {
        self.change_secret_storing(tenant, record, change, &[])
            .await
    }

    /// [`SecretsManagerState::change_secret`], storing `values` (version ids and their sealed
    /// values) in the same transaction, then copying the result to the secret's replicas.
    async fn change_secret_storing(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        change: impl Fn(&mut SecretRecord) -> Result<(), ServiceError>,
        values: &[(String, Vec<u8>)],
    ) -> Result<SecretRecord, ServiceError> {
        let stored = self.write_change(tenant, record, change, values).await?;
        if stored.replicas.is_empty() {
            return Ok(stored);
        }
        self.sync_replicas(tenant, &stored).await
    }

    /// Applies `change` to the secret (re-read, and retried on a race), storing `values` in the
    /// same transaction; the values of versions the change removed are deleted.
    pub(crate) async fn write_change(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        change: impl Fn(&mut SecretRecord) -> Result<(), ServiceError>,
        values: &[(String, Vec<u8>)],
    ) -> Result<SecretRecord, ServiceError> {
        self.mutate(|| async {
            let Stored {
                value: mut fresh,
                version,
            } = self
                .secret_by_name(tenant, &record.name)
                .await?
                .filter(|fresh| fresh.value.arn == record.arn)
                .ok_or_else(not_found)?;
            let before: Vec<String> = fresh.versions.keys().cloned().collect();
            change(&mut fresh)?;
            let key = tenant.secret_key(&fresh.name);
            let mut txn = Transaction::new()
                .expect_version(SECRETS, &key, version)
                .put(SECRETS, &key, plain(&fresh)?);
            for removed in before.iter().filter(|id| !fresh.versions.contains_key(*id)) {
                txn = txn.delete(VALUES, &tenant.value_key(&fresh.name, removed));
            }
            for (version_id, sealed) in values {
                txn = txn.put(
                    VALUES,
                    &tenant.value_key(&fresh.name, version_id),
                    Value::Secret(SecretBytes::new(sealed.clone())),
                );
            }
            Ok((txn, fresh))
        })
        .await
    }
}

impl SecretsManagerState {
    /// The `AWSCURRENT`, `AWSPENDING` and `AWSPREVIOUS` versions encrypted again under
    /// `new_key`, as AWS does when a secret's key changes: (version id, sealed value, key ARN).
    /// When the caller cannot use both keys nothing is re-encrypted, as in AWS.
    async fn reencrypt_labeled(
        &self,
        ctx: &RequestContext,
        tenant: &Tenant,
        record: &SecretRecord,
        new_key: &str,
    ) -> Vec<(String, Vec<u8>, String)> {
        let labeled = record.versions.iter().filter(|(_, version)| {
            version.key_arn.is_some()
                && version
                    .stages
                    .iter()
                    .any(|stage| [AWSCURRENT, AWSPENDING, AWSPREVIOUS].contains(&stage.as_str()))
        });
        let mut reencrypted = Vec::new();
        for (id, _) in labeled {
            let sealed = match self.version_value(ctx, tenant, record, id).await {
                Ok(value) => {
                    self.seal(ctx, tenant, Some(new_key), &record.arn, id, &value)
                        .await
                }
                Err(error) => Err(error),
            };
            match sealed {
                Ok((sealed, key_arn)) => reencrypted.push((id.clone(), sealed, key_arn)),
                Err(_) => return Vec::new(),
            }
        }
        reencrypted
    }
}

/// Everything DescribeSecret tells about a secret.
pub(crate) fn describe_record(record: &SecretRecord) -> DescribeSecretResponse {
    let rotation = record.rotation.clone().unwrap_or_default();
    let rules = (rotation.automatically_after_days.is_some()
        || rotation.schedule_expression.is_some())
    .then(|| RotationRulesType {
        automatically_after_days: rotation.automatically_after_days,
        duration: rotation.duration.clone(),
        schedule_expression: rotation.schedule_expression.clone(),
    });
    DescribeSecretResponse {
        arn: Some(record.arn.clone()),
        name: Some(record.name.clone()),
        r#type: record.secret_type.clone(),
        description: record.description.clone(),
        kms_key_id: record.kms_key_id.clone(),
        rotation_enabled: record.rotation.as_ref().map(|_| record.rotation_enabled),
        rotation_lambda_arn: rotation.lambda_arn,
        rotation_rules: rules,
        external_secret_rotation_metadata: None,
        external_secret_rotation_role_arn: None,
        last_rotated_date: record.last_rotated_ms.map(timestamp),
        last_changed_date: Some(timestamp(record.last_changed_ms)),
        last_accessed_date: record.last_accessed_ms.map(timestamp),
        deleted_date: record.deletion_ms.map(timestamp),
        next_rotation_date: record
            .next_rotation_ms
            .filter(|_| record.rotation_enabled)
            .map(timestamp),
        tags: tags_out(&record.tags),
        version_ids_to_stages: Some(record.versions_to_stages()),
        owning_service: None,
        created_date: Some(timestamp(record.created_ms)),
        primary_region: primary_region(record),
        replication_status: crate::replication::replication_status(record),
    }
}

/// The region of the primary secret, for a replica or a replicated primary.
pub(crate) fn primary_region(record: &SecretRecord) -> Option<String> {
    record.primary_region.clone().or_else(|| {
        let own_region = record.arn.split(':').nth(3)?;
        (!record.replicas.is_empty()).then(|| own_region.to_owned())
    })
}

pub(crate) async fn describe(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: DescribeSecretRequest,
) -> Result<DescribeSecretResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    Ok(describe_record(&record))
}

pub(crate) async fn delete(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: DeleteSecretRequest,
) -> Result<DeleteSecretResponse, ServiceError> {
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if force && input.recovery_window_in_days.is_some() {
        return Err(errors::invalid_parameter_exception(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let days = input
        .recovery_window_in_days
        .unwrap_or(DEFAULT_RECOVERY_DAYS);
    if !(7..=30).contains(&days) {
        return Err(errors::invalid_parameter_exception(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ));
    }
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    if record.primary_region.is_some() {
        writable(&record)?;
    }
    if !record.replicas.is_empty() {
        return Err(errors::invalid_request_exception(format!(
            "You can't delete secret {} because it's replicated to other Regions. Remove the \
             replicas first with RemoveRegionsFromReplication.",
            record.name
        )));
    }
    let now = state.now();
    if force {
        state.purge(&tenant, &record.name, &record.arn).await?;
        return Ok(DeleteSecretResponse {
            arn: Some(record.arn),
            name: Some(record.name),
            deletion_date: Some(timestamp(now)),
        });
    }
    let stored = state
        .change_secret(&tenant, &record, |fresh| {
            writable(fresh)?;
            fresh.deleted_ms = Some(now);
            fresh.deletion_ms = Some(now + days * DAY_MS);
            Ok(())
        })
        .await?;
    Ok(DeleteSecretResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
        deletion_date: stored.deletion_ms.map(timestamp),
    })
}

pub(crate) async fn restore(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: RestoreSecretRequest,
) -> Result<RestoreSecretResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    let stored = state
        .change_secret(&tenant, &record, |fresh| {
            fresh.deleted_ms = None;
            fresh.deletion_ms = None;
            Ok(())
        })
        .await?;
    Ok(RestoreSecretResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
    })
}

pub(crate) async fn tag(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), ServiceError> {
    state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            merge_tags(&mut fresh.tags, input.tags.clone())
        })
        .await?;
    Ok(())
}

pub(crate) async fn untag(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), ServiceError> {
    state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            fresh
                .tags
                .retain(|(key, _)| !input.tag_keys.iter().any(|removed| removed == key));
            Ok(())
        })
        .await?;
    Ok(())
}

pub(crate) async fn update_version_stage(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: UpdateSecretVersionStageRequest,
) -> Result<UpdateSecretVersionStageResponse, ServiceError> {
    let now = state.now();
    let stored = state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            crate::stages::move_stage(
                fresh,
                &input.version_stage,
                input.remove_from_version_id.as_deref(),
                input.move_to_version_id.as_deref(),
            )?;
            fresh.last_changed_ms = now;
            Ok(())
        })
        .await?;
    Ok(UpdateSecretVersionStageResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
    })
}
