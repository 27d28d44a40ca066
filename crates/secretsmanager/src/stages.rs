//! Staging labels: which version carries which label, how labels move when a version is added or
//! a label is moved, and the pruning of old unlabeled versions. Pure functions on a
//! [`SecretRecord`], so the rules are tested apart from storage.

use palisade_core::ServiceError;
use palisade_model_secretsmanager::errors;

use crate::records::{AWSCURRENT, AWSPREVIOUS, SecretRecord, VersionMeta};

/// How many versions a secret keeps: beyond 100, AWS removes the oldest versions without labels
/// (deprecated), but none created less than 24 hours ago.
pub(crate) const MAX_VERSIONS: usize = 100;
const PRUNABLE_AFTER_MS: i64 = 24 * 3_600_000;

/// How many labels one version can carry.
const MAX_LABELS_PER_VERSION: usize = 20;

/// Adds `version_id` carrying `stages`: each label leaves the version that had it, and the version
/// that loses `AWSCURRENT` becomes `AWSPREVIOUS`. Answers the ids of the deprecated versions
/// pruned to stay within [`MAX_VERSIONS`], whose values the caller deletes.
pub(crate) fn add_version(
    record: &mut SecretRecord,
    version_id: &str,
    mut version: VersionMeta,
) -> Result<Vec<String>, ServiceError> {
    check_label_count(&version.stages)?;
    // The labels are attached one by one, so each leaves the version that had it.
    let stages = std::mem::take(&mut version.stages);
    record.versions.insert(version_id.to_owned(), version);
    for stage in &stages {
        attach(record, stage, version_id);
    }
    Ok(prune(record, version_id))
}

/// `UpdateSecretVersionStage`: moves `stage` to `move_to`, removing it from `remove_from`, or
/// only removes it when `move_to` is absent.
pub(crate) fn move_stage(
    record: &mut SecretRecord,
    stage: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> Result<Vec<String>, ServiceError> {
    for id in remove_from.iter().chain(move_to.iter()) {
        if !record.versions.contains_key(*id) {
            return Err(errors::resource_not_found_exception(format!(
                "Secrets Manager can't find the specified secret version: {id}"
            )));
        }
    }
    let holder = record.version_with_stage(stage).map(str::to_owned);
    if let Some(from) = remove_from
        && holder.as_deref() != Some(from)
    {
        return Err(errors::invalid_parameter_exception(format!(
            "The parameter RemoveFromVersionId can't be {from} because the staging label {stage} \
             isn't attached to that version."
        )));
    }
    match move_to {
        None => {
            if stage == AWSCURRENT {
                return Err(errors::invalid_parameter_exception(
                    "You can't remove the staging label AWSCURRENT from a version without moving \
                     it to another version, because a secret must always have an AWSCURRENT \
                     version.",
                ));
            }
            if let Some(from) = remove_from {
                detach(record, stage, from);
            }
            Ok(Vec::new())
        }
        Some(to) => {
            if let Some(current) = holder.as_deref()
                && current != to
                && remove_from.is_none()
            {
                return Err(errors::invalid_parameter_exception(format!(
                    "The staging label {stage} is currently attached to version {current}, so \
                     you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            if holder.as_deref() != Some(to)
                && let Some(target) = record.versions.get(to)
            {
                let mut labels = target.stages.clone();
                labels.push(stage.to_owned());
                check_label_count(&labels)?;
            }
            attach(record, stage, to);
            Ok(prune(record, to))
        }
    }
}

fn check_label_count(labels: &[String]) -> Result<(), ServiceError> {
    if labels.len() > MAX_LABELS_PER_VERSION {
        return Err(errors::limit_exceeded_exception(format!(
            "A version can have at most {MAX_LABELS_PER_VERSION} staging labels."
        )));
    }
    Ok(())
}

/// Puts `stage` on `version_id` alone; `AWSCURRENT` leaves `AWSPREVIOUS` on the version that had it.
fn attach(record: &mut SecretRecord, stage: &str, version_id: &str) {
    let previous_holder = record
        .versions
        .iter()
        .find(|(id, version)| {
            id.as_str() != version_id && version.stages.iter().any(|label| label == stage)
        })
        .map(|(id, _)| id.clone());
    if let Some(holder) = &previous_holder {
        detach(record, stage, holder);
    }
    if let Some(version) = record.versions.get_mut(version_id)
        && !version.stages.iter().any(|label| label == stage)
    {
        version.stages.push(stage.to_owned());
    }
    if stage == AWSCURRENT
        && let Some(holder) = previous_holder
    {
        attach(record, AWSPREVIOUS, &holder);
    }
}

fn detach(record: &mut SecretRecord, stage: &str, version_id: &str) {
    if let Some(version) = record.versions.get_mut(version_id) {
        version.stages.retain(|label| label != stage);
    }
}

/// Removes the oldest versions without labels beyond [`MAX_VERSIONS`] that are more than a day
/// older than `keep`, the version just written.
fn prune(record: &mut SecretRecord, keep: &str) -> Vec<String> {
    let excess = record.versions.len().saturating_sub(MAX_VERSIONS);
    if excess == 0 {
        return Vec::new();
    }
    let newest = record
        .versions
        .get(keep)
        .map_or(i64::MAX, |version| version.created_ms);
    let mut deprecated: Vec<(i64, String)> = record
        .versions
        .iter()
        .filter(|(id, version)| {
            version.stages.is_empty()
                && id.as_str() != keep
                && version.created_ms <= newest.saturating_sub(PRUNABLE_AFTER_MS)
        })
        .map(|(id, version)| (version.created_ms, id.clone()))
        .collect();
    deprecated.sort();
    deprecated.truncate(excess);
    deprecated
        .into_iter()
        .map(|(_, id)| {
            record.versions.remove(&id);
            id
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::AWSPENDING;

    fn secret() -> SecretRecord {
        SecretRecord::new(
            "s".into(),
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-abcdef".into(),
            0,
        )
    }

    fn version(at: i64, stages: &[&str]) -> VersionMeta {
        VersionMeta {
            created_ms: at,
            stages: stages.iter().map(|stage| (*stage).to_owned()).collect(),
            last_accessed_ms: None,
            key_arn: None,
        }
    }

    fn stages_of(record: &SecretRecord, id: &str) -> Vec<String> {
        record
            .versions
            .get(id)
            .map(|v| v.stages.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_new_current_version_demotes_the_old_one_to_previous() {
        let mut record = secret();
        add_version(&mut record, "v1", version(1, &[AWSCURRENT])).unwrap_or_default();
        add_version(&mut record, "v2", version(2, &[AWSCURRENT])).unwrap_or_default();
        add_version(&mut record, "v3", version(3, &[AWSCURRENT])).unwrap_or_default();
        assert_eq!(stages_of(&record, "v3"), [AWSCURRENT]);
        assert_eq!(stages_of(&record, "v2"), [AWSPREVIOUS]);
        assert!(stages_of(&record, "v1").is_empty());
    }

    #[test]
    fn demotion_does_not_depend_on_how_version_ids_sort() {
        let mut record = secret();
        add_version(&mut record, "b", version(1, &[AWSCURRENT])).unwrap_or_default();
        add_version(&mut record, "a", version(2, &[AWSCURRENT])).unwrap_or_default();
        assert_eq!(stages_of(&record, "a"), [AWSCURRENT]);
        assert_eq!(stages_of(&record, "b"), [AWSPREVIOUS]);
    }

    #[test]
    fn awscurrent_cannot_be_removed_without_a_destination() {
        let mut record = secret();
        add_version(&mut record, "v1", version(1, &[AWSCURRENT])).unwrap_or_default();
        let refused = move_stage(&mut record, AWSCURRENT, Some("v1"), None);
        assert!(refused.is_err());
        assert_eq!(stages_of(&record, "v1"), [AWSCURRENT]);
    }

    #[test]
    fn moving_a_held_label_needs_remove_from() {
        let mut record = secret();
        add_version(&mut record, "v1", version(1, &[AWSCURRENT])).unwrap_or_default();
        add_version(&mut record, "v2", version(2, &[AWSPENDING])).unwrap_or_default();
        assert!(move_stage(&mut record, AWSCURRENT, None, Some("v2")).is_err());
        assert!(move_stage(&mut record, AWSCURRENT, Some("v1"), Some("v2")).is_ok());
        assert_eq!(stages_of(&record, "v2"), [AWSPENDING, AWSCURRENT]);
        assert_eq!(stages_of(&record, "v1"), [AWSPREVIOUS]);
    }

    #[test]
    fn deprecated_versions_beyond_the_quota_are_pruned_oldest_first() {
        let mut record = secret();
        let mut pruned = Vec::new();
        let hour = 3_600_000;
        for at in 0..105 {
            pruned.extend(
                add_version(
                    &mut record,
                    &format!("v{at:03}"),
                    version(at * hour, &[AWSCURRENT]),
                )
                .unwrap_or_default(),
            );
        }
        assert_eq!(record.versions.len(), MAX_VERSIONS);
        assert_eq!(pruned, ["v000", "v001", "v002", "v003", "v004"]);
        assert_eq!(stages_of(&record, "v104"), [AWSCURRENT]);
        assert_eq!(stages_of(&record, "v103"), [AWSPREVIOUS]);
    }

    #[test]
    fn versions_younger_than_a_day_are_kept_beyond_the_quota() {
        let mut record = secret();
        for at in 0..105 {
            add_version(
                &mut record,
                &format!("v{at:03}"),
                version(at, &[AWSCURRENT]),
            )
            .unwrap_or_default();
        }
        assert_eq!(record.versions.len(), 105);
    }
}
