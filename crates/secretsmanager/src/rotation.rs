//! Rotation: RotateSecret and CancelRotateSecret, the four-step protocol run against the
//! secret's rotation function, and the sweeper that starts scheduled rotations.
//!
//! Steps run in order (createSecret, setSecret, testSecret, finishSecret) with the new version's
//! id as ClientRequestToken. The function creates the `AWSPENDING` version and, in finishSecret,
//! moves `AWSCURRENT` to it. As in AWS, RotateSecret answers once rotation has been attempted
//! whatever its outcome: a failed step leaves `AWSPENDING` where it is, so the next rotation is
//! refused until it is cleared (or retries that version when the sweeper starts it).

use std::sync::Arc;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::*;

use crate::SecretsManagerState;
use crate::db::Tenant;
use crate::functions::{RotationEvent, RotationFunction, RotationStep};
use crate::ids::uuid;
use crate::records::{AWSCURRENT, AWSPENDING, RotationConfig, SecretRecord, VersionMeta};
use crate::schedule::{apply_rules, next_rotation};
use crate::secrets::writable;
use crate::stages::add_version;

/// The version a rotation left unfinished: `AWSPENDING` on a version that is not `AWSCURRENT`.
fn unfinished_rotation(record: &SecretRecord) -> Option<String> {
    let pending = record.version_with_stage(AWSPENDING)?;
    (record.version_with_stage(AWSCURRENT) != Some(pending)).then(|| pending.to_owned())
}

fn cannot_invoke() -> ServiceError {
    errors::invalid_request_exception(
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function \
         policy grants access to the principal secretsmanager.amazonaws.com.",
    )
}

pub(crate) async fn rotate(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: RotateSecretRequest,
) -> Result<RotateSecretResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    writable(&record)?;
    let mut config = record.rotation.clone().unwrap_or_default();
    if let Some(arn) = input.rotation_lambda_arn {
        config.lambda_arn = Some(arn);
    }
    if let Some(rules) = input.rotation_rules {
        apply_rules(&mut config, rules)?;
    }
    let lambda_arn = config.lambda_arn.clone().ok_or_else(|| {
        errors::invalid_request_exception(
            "No Lambda rotation function ARN is associated with this secret.",
        )
    })?;
    if unfinished_rotation(&record).is_some() {
        return Err(errors::invalid_request_exception(
            "A previous rotation isn't complete. That rotation will be reattempted.",
        ));
    }
    let function = state
        .rotation_functions
        .get(&lambda_arn)
        .ok_or_else(cannot_invoke)?;
    let token = match input.client_request_token {
        Some(token) => token,
        None => uuid()?,
    };
    let rotate_now = input.rotate_immediately.unwrap_or(true);
    let now = state.now();
    let scheduled = config.clone();
    let stored = state
        .change_secret(&tenant, &record, |fresh| {
            writable(fresh)?;
            fresh.rotation = Some(scheduled.clone());
            fresh.rotation_enabled = true;
            // A rotation that completes reschedules from its own time.
            fresh.next_rotation_ms = next_rotation(&scheduled, now);
            Ok(())
        })
        .await?;
    if rotate_now {
        state
            .run_rotation(&tenant, &stored, &config, &token, function.as_ref())
            .await?;
    } else {
        state
            .test_rotation(&tenant, &stored, &token, function.as_ref())
            .await?;
    }
    Ok(RotateSecretResponse {
        arn: Some(stored.arn),
        name: Some(stored.name),
        version_id: rotate_now.then_some(token),
    })
}

pub(crate) async fn cancel(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: CancelRotateSecretRequest,
) -> Result<CancelRotateSecretResponse, ServiceError> {
    let stored = state
        .change_writable_secret(ctx, &input.secret_id, |fresh| {
            fresh.rotation_enabled = false;
            fresh.next_rotation_ms = None;
            Ok(())
        })
        .await?;
    Ok(CancelRotateSecretResponse {
        version_id: unfinished_rotation(&stored),
        arn: Some(stored.arn),
        name: Some(stored.name),
    })
}

fn event(
    record: &SecretRecord,
    step: RotationStep,
    token: &str,
    rotation_token: &str,
) -> RotationEvent {
    RotationEvent {
        step,
        secret_id: record.arn.clone(),
        client_request_token: token.to_owned(),
        rotation_token: rotation_token.to_owned(),
    }
}

impl SecretsManagerState {
    /// Starts a rotation's version as AWS does: `token`, labeled `AWSPENDING`, with no value
    /// until the function's createSecret step puts one. A version that exists already (a
    /// rotation being retried) is left as it is.
    async fn start_pending_version(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        token: &str,
    ) -> Result<SecretRecord, ServiceError> {
        let now = self.now();
        self.change_secret(tenant, record, |fresh| {
            if !fresh.versions.contains_key(token) {
                add_version(
                    fresh,
                    token,
                    VersionMeta {
                        created_ms: now,
                        stages: vec![AWSPENDING.to_owned()],
                        last_accessed_ms: None,
                        key_arn: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
    }

    /// RotateSecret without RotateImmediately: the configuration is tested by running the
    /// testSecret step against a pending version that is removed afterwards, whatever the
    /// outcome.
    async fn test_rotation(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        token: &str,
        function: &dyn RotationFunction,
    ) -> Result<(), ServiceError> {
        let record = self.start_pending_version(tenant, record, token).await?;
        let _outcome = function
            .invoke(&event(&record, RotationStep::TestSecret, token, &uuid()?))
            .await;
        self.change_secret(tenant, &record, |fresh| {
            let unfilled = fresh
                .versions
                .get(token)
                .is_some_and(|version| version.key_arn.is_none());
            if unfilled {
                fresh.versions.remove(token);
            } else if let Some(version) = fresh.versions.get_mut(token) {
                version.stages.retain(|label| label != AWSPENDING);
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Runs the four steps for version `token`. Answers whether the rotation completed; a failed
    /// step is not an error of the caller's request.
    async fn run_rotation(
        &self,
        tenant: &Tenant,
        record: &SecretRecord,
        config: &RotationConfig,
        token: &str,
        function: &dyn RotationFunction,
    ) -> Result<bool, ServiceError> {
        let record = self.start_pending_version(tenant, record, token).await?;
        let rotation_token = uuid()?;
        for step in RotationStep::ALL {
            let step_event = event(&record, step, token, &rotation_token);
            if function.invoke(&step_event).await.is_err() {
                return Ok(false);
            }
        }
        let now = self.now();
        let finished = self
            .change_secret(tenant, &record, |fresh| {
                let current = fresh.version_with_stage(AWSCURRENT) == Some(token);
                if current && let Some(version) = fresh.versions.get_mut(token) {
                    // Rotation ends with AWSPENDING gone, so the next one can start.
                    version.stages.retain(|label| label != AWSPENDING);
                    fresh.last_rotated_ms = Some(now);
                    fresh.next_rotation_ms = next_rotation(config, now);
                }
                Ok(())
            })
            .await?;
        Ok(finished.last_rotated_ms == Some(now)
            && finished.version_with_stage(AWSCURRENT) == Some(token))
    }

    /// Starts every rotation that is due (rotation enabled, next rotation date passed, secret
    /// not scheduled for deletion); a rotation left unfinished is retried with its pending
    /// version. Answers how many completed. The server calls this every minute.
    pub async fn rotate_due_secrets(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut completed = 0;
        for (tenant, record) in self.all_secrets().await? {
            let due = record.rotation_enabled
                && !record.is_deleted()
                && record.primary_region.is_none()
                && record.next_rotation_ms.is_some_and(|next| next <= now);
            let Some(config) = record.rotation.clone().filter(|_| due) else {
                continue;
            };
            let Some(function) = config
                .lambda_arn
                .as_deref()
                .and_then(|arn| self.rotation_functions.get(arn))
            else {
                continue;
            };
            let token = match unfinished_rotation(&record) {
                Some(pending) => pending,
                None => uuid()?,
            };
            if self
                .run_rotation(&tenant, &record, &config, &token, function.as_ref())
                .await?
            {
                completed += 1;
            }
        }
        Ok(completed)
    }

    /// The registry of rotation functions, by Lambda ARN.
    pub fn rotation_functions(&self) -> &Arc<crate::RotationFunctions> {
        &self.rotation_functions
    }
}
