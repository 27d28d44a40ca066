//! `PutParameter`: creating a parameter or adding a version to it, with the tier, data type,
//! allowed pattern, policy and version-limit rules AWS applies.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_ssm::errors;
use palisade_model_ssm::types::{ParameterTier, PutParameterRequest, PutParameterResult};
use palisade_store::Transaction;
use regex::Regex;

use crate::ParameterStore;
use crate::events::Operation;
use crate::names;
use crate::policies;
use crate::records::{self, Kind, ParameterRecord, StoredValue, Tier, TierCounts, VersionRecord};
use crate::secure::{self, DEFAULT_KEY_ALIAS};

/// The largest value of a Standard parameter, in bytes.
pub(crate) const STANDARD_VALUE_LIMIT: usize = 4096;
/// The largest value of an Advanced parameter, in bytes.
const ADVANCED_VALUE_LIMIT: usize = 8192;
/// Standard parameters per account and region.
const STANDARD_COUNT_LIMIT: u64 = 10_000;
/// Advanced parameters per account and region.
const ADVANCED_COUNT_LIMIT: u64 = 100_000;
/// Versions kept per parameter.
const MAX_VERSIONS: usize = 100;
/// Tags per resource.
pub(crate) const MAX_TAGS: usize = 50;

const TIERS_GUIDE: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html";

pub(crate) async fn put_parameter(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: PutParameterRequest,
) -> Result<PutParameterResult, ServiceError> {
    let tenant = records::Tenant::of(ctx);
    let name = input.name.trim().to_owned();
    names::check_writable_name(&tenant.account, &tenant.region, &name)?;
    let overwrite = input.overwrite.unwrap_or(false);
    if overwrite && input.tags.as_ref().is_some_and(|tags| !tags.is_empty()) {
        return Err(ServiceError::validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter \
             with tags, please remove overwrite flag. To update tags for an existing parameter, \
             please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    let value = input.value.expose().as_str();
    let existing = records::parameter(service, &tenant, &name).await?;
    let previous = existing.as_ref().and_then(|stored| stored.value.latest());
    if existing.is_some() && !overwrite {
        return Err(already_exists());
    }

    let kind = match (&input.r#type, previous) {
        (Some(given), _) => Kind::from_model(given).ok_or_else(|| {
            errors::unsupported_parameter_type(format!(
                "The parameter type {} is not supported.",
                given.as_str()
            ))
        })?,
        (None, Some(previous)) => previous.kind,
        (None, None) => {
            return Err(ServiceError::validation(
                "A parameter type is required when you create a parameter.",
            ));
        }
    };
    // A parameter keeps the type it was created with, as AWS documents.
    if let Some(previous) = previous.filter(|previous| previous.kind != kind) {
        return Err(errors::hierarchy_type_mismatch_exception(format!(
            "Parameter Store doesn't support changing a parameter type in a hierarchy. The \
             parameter {name} is of type {}, not {}. You must create a new, unique parameter.",
            previous.kind.as_str(),
            kind.as_str()
        )));
    }
    let data_type = input
        .data_type
        .clone()
        .or_else(|| previous.map(|p| p.data_type.clone()))
        .unwrap_or_else(|| "text".to_owned());
    check_data_type(&data_type, kind, value)?;
    let key_id = match kind {
        Kind::SecureString => Some(
            input
                .key_id
                .clone()
                .or_else(|| previous.and_then(|p| p.key_id.clone()))
                .unwrap_or_else(|| DEFAULT_KEY_ALIAS.to_owned()),
        ),
        Kind::String | Kind::StringList => {
            if input.key_id.is_some() {
                return Err(ServiceError::validation(format!(
                    "KeyId is required for SecureString type parameter only. Parameter type: {}",
                    kind.as_str()
                )));
            }
            None
        }
    };
    let allowed_pattern = input
        .allowed_pattern
        .clone()
        .or_else(|| previous.and_then(|p| p.allowed_pattern.clone()));
    if let Some(pattern) = &allowed_pattern {
        check_pattern(pattern, value)?;
    }
    let description = input
        .description
        .clone()
        .or_else(|| previous.and_then(|p| p.description.clone()));
    let now = service.clock.now_millis();
    let given_policies = match input.policies.as_deref() {
        Some(text) => Some(policies::parse(text, now)?),
        None => None,
    };
    let current_tier = existing.as_ref().map(|stored| stored.value.tier);
    let tier = choose_tier(
        input.tier.as_ref(),
        current_tier,
        value.len(),
        given_policies.as_ref().is_some_and(|p| !p.is_empty()),
    )?;
    let version_policies = match given_policies {
        Some(given) => given,
        None => previous
            .map(|p| policies::carry_over(&p.policies, now))
            .unwrap_or_default(),
    };
    if tier == Tier::Standard && !version_policies.is_empty() {
        return Err(ServiceError::validation(
            "Parameter policies are supported only by the Advanced tier. Standard tier \
             parameters can't have policies.",
        ));
    }
    let tags: Vec<(String, String)> = input
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect();
    if tags.len() > MAX_TAGS {
        return Err(errors::too_many_tags_error(
            "The Tags parameter contains too many entries.",
        ));
    }

    let arn = tenant.arn(&name);
    let stored_value = match &key_id {
        Some(key) => StoredValue::Encrypted(
            secure::seal(
                service.keys.as_ref(),
                ctx,
                Some(key.as_str()),
                &arn,
                value.as_bytes(),
            )
            .await?,
        ),
        None => StoredValue::Plain(value.to_owned()),
    };
    let draft = VersionRecord {
        version: 0,
        kind,
        data_type,
        value: stored_value,
        description,
        allowed_pattern,
        key_id,
        labels: Vec::new(),
        tier,
        policies: version_policies,
        modified_millis: now,
        modified_by: ctx.principal.arn.clone(),
    };

    let (version, operation) = records::mutate(&service.store, || {
        let tenant = &tenant;
        let name = &name;
        let draft = &draft;
        let tags = &tags;
        async move {
            let stored = records::parameter(service, tenant, name).await?;
            let (counts, counts_read_at) = records::tier_counts(&service.store, tenant).await?;
            let mut counts_after = counts;
            let (record, operation) = match stored.as_ref() {
                None => {
                    counts_after.add(draft.tier);
                    let mut version = draft.clone();
                    version.version = 1;
                    let record = ParameterRecord {
                        name: name.clone(),
                        tier: draft.tier,
                        tags: tags.clone(),
                        versions: vec![version],
                    };
                    (record, Operation::Create)
                }
                Some(_) if !overwrite => return Err(already_exists()),
                Some(stored) => {
                    let mut record = stored.value.clone();
                    if record.tier != draft.tier {
                        counts_after.remove(record.tier);
                        counts_after.add(draft.tier);
                        record.tier = draft.tier;
                    }
                    add_version(&mut record, draft.clone())?;
                    (record, Operation::Update)
                }
            };
            check_counts(&counts, &counts_after)?;
            let mut txn = records::write_record(
                records::pin(
                    Transaction::new(),
                    tenant,
                    name,
                    stored.as_ref().map(|s| s.version),
                ),
                tenant,
                name,
                stored.as_ref().map(|s| &s.value),
                Some(&record),
            )?;
            if counts_after.standard != counts.standard || counts_after.advanced != counts.advanced
            {
                txn = records::write_counts(txn, tenant, counts_after, counts_read_at)?;
            }
            let version = record.current()?.version;
            Ok((txn, (version, operation)))
        }
    })
    .await?;

    service.publish_change(
        &tenant,
        operation,
        &name,
        kind,
        draft.description.as_deref(),
    );
    Ok(PutParameterResult {
        version: Some(version),
        tier: Some(tier.to_model()),
    })
}

/// Appends `version` to `record` as its next version, dropping the oldest at the limit unless
/// it carries a label.
fn add_version(
    record: &mut ParameterRecord,
    mut version: VersionRecord,
) -> Result<(), ServiceError> {
    version.version = record.current()?.version + 1;
    if record.versions.len() >= MAX_VERSIONS
        && let Some(oldest) = record.versions.first()
    {
        if !oldest.labels.is_empty() {
            return Err(errors::parameter_max_version_limit_exceeded(format!(
                "You attempted to create a new version of {} by calling the PutParameter API \
                 with the overwrite flag. Version {}, the oldest version, can't be deleted \
                 because it has a label associated with it. Move the label to another version \
                 of the parameter, and try again.",
                record.name, oldest.version
            )));
        }
        record.versions.remove(0);
    }
    record.versions.push(version);
    Ok(())
}

/// The tier a write lands in, from the tier asked for, the parameter's current tier, the
/// value's size and whether it has policies.
fn choose_tier(
    asked: Option<&ParameterTier>,
    current: Option<Tier>,
    value_len: usize,
    has_policies: bool,
) -> Result<Tier, ServiceError> {
    let needs_advanced = value_len > STANDARD_VALUE_LIMIT || has_policies;
    let tier = match asked {
        Some(ParameterTier::Advanced) => Tier::Advanced,
        Some(ParameterTier::IntelligentTiering) => {
            if needs_advanced || current == Some(Tier::Advanced) {
                Tier::Advanced
            } else {
                Tier::Standard
            }
        }
        Some(ParameterTier::Standard) => {
            if current == Some(Tier::Advanced) {
                return Err(ServiceError::validation(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a \
                     parameter from the advanced-parameter tier to the standard-parameter tier. \
                     If necessary, you can delete the advanced parameter and recreate it as a \
                     standard parameter.",
                ));
            }
            Tier::Standard
        }
        Some(ParameterTier::Unknown(other)) => {
            return Err(ServiceError::validation(format!(
                "The tier {other} is not valid. Valid tiers are Standard, Advanced and \
                 Intelligent-Tiering."
            )));
        }
        None => current.unwrap_or(Tier::Standard),
    };
    match tier {
        Tier::Standard if value_len > STANDARD_VALUE_LIMIT => {
            Err(ServiceError::validation(format!(
                "Standard tier parameters support a maximum parameter value of \
                 {STANDARD_VALUE_LIMIT} characters. To create a larger parameter value, upgrade \
                 the parameter to use the advanced-parameter tier. For more information, see \
                 {TIERS_GUIDE}"
            )))
        }
        Tier::Advanced if value_len > ADVANCED_VALUE_LIMIT => {
            Err(ServiceError::validation(format!(
                "Advanced tier parameters support a maximum parameter value of \
                 {ADVANCED_VALUE_LIMIT} characters. For more information, see {TIERS_GUIDE}"
            )))
        }
        tier => Ok(tier),
    }
}

/// Refuses a write that takes a tier past its per-account limit.
fn check_counts(before: &TierCounts, after: &TierCounts) -> Result<(), ServiceError> {
    let grew_past = |before: u64, after: u64, limit: u64| after > before && after > limit;
    if grew_past(before.standard, after.standard, STANDARD_COUNT_LIMIT)
        || grew_past(before.advanced, after.advanced, ADVANCED_COUNT_LIMIT)
    {
        return Err(errors::parameter_limit_exceeded(
            "You have exceeded the number of parameters for this AWS account. Delete one or \
             more parameters and try again.",
        ));
    }
    Ok(())
}

/// The data types AWS knows; `aws:ec2:image` values must be image ids.
fn check_data_type(data_type: &str, kind: Kind, value: &str) -> Result<(), ServiceError> {
    match data_type {
        "text" => Ok(()),
        "aws:ec2:image" | "aws:ssm:integration" if kind != Kind::String => {
            Err(ServiceError::validation(format!(
                "The data type {data_type} is supported only for parameters of type String."
            )))
        }
        "aws:ssm:integration" => Ok(()),
        "aws:ec2:image" if is_image_id(value) => Ok(()),
        "aws:ec2:image" => Err(ServiceError::validation(format!(
            "Parameter value, {value}, cannot be validated against allowedDataType: \
             aws:ec2:image. The value must be an Amazon Machine Image ID of the form ami-12345678 \
             or ami-1234567890abcdef0."
        ))),
        other => Err(ServiceError::validation(format!(
            "The following data type is not supported: {other} (Data type names are all \
             lowercase.)"
        ))),
    }
}

/// `ami-` followed by 8 or 17 lowercase hexadecimal digits.
fn is_image_id(value: &str) -> bool {
    value.strip_prefix("ami-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Checks `value` against the `AllowedPattern`, which must match the whole value.
fn check_pattern(pattern: &str, value: &str) -> Result<(), ServiceError> {
    let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|_| {
        errors::invalid_allowed_pattern_exception(format!(
            "The parameter AllowedPattern is not a valid regular expression: {pattern}"
        ))
    })?;
    if regex.is_match(value) {
        Ok(())
    } else {
        Err(errors::parameter_pattern_mismatch_exception(format!(
            "Parameter value, cannot be validated against allowedPattern: {pattern}"
        )))
    }
}

fn already_exists() -> ServiceError {
    errors::parameter_already_exists(
        "The parameter already exists. To overwrite this value, set the overwrite option in the \
         request to true.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids() {
        assert!(is_image_id("ami-12345678"));
        assert!(is_image_id("ami-0123456789abcdef0"));
        assert!(!is_image_id("ami-1234567"));
        assert!(!is_image_id("ami-0123456789ABCDEF0"));
        assert!(!is_image_id("img-12345678"));
    }

    #[test]
    fn intelligent_tiering_upgrades_only_when_needed() {
        let it = Some(&ParameterTier::IntelligentTiering);
        assert_eq!(choose_tier(it, None, 10, false).ok(), Some(Tier::Standard));
        assert_eq!(
            choose_tier(it, None, 5000, false).ok(),
            Some(Tier::Advanced)
        );
        assert_eq!(choose_tier(it, None, 10, true).ok(), Some(Tier::Advanced));
        assert!(choose_tier(it, None, 9000, false).is_err());
        let standard = Some(&ParameterTier::Standard);
        assert!(choose_tier(standard, Some(Tier::Advanced), 10, false).is_err());
        assert!(choose_tier(standard, None, 5000, false).is_err());
    }

    #[test]
    fn tier_counts_stop_growth_past_the_limits() {
        let at = |standard, advanced| TierCounts { standard, advanced };
        assert!(check_counts(&at(9_999, 0), &at(10_000, 0)).is_ok());
        assert!(check_counts(&at(10_000, 0), &at(10_001, 0)).is_err());
        assert!(check_counts(&at(10_000, 99_999), &at(9_999, 100_000)).is_ok());
        assert!(check_counts(&at(0, 100_000), &at(0, 100_001)).is_err());
        // Shrinking is always allowed, even above a limit.
        assert!(check_counts(&at(10_005, 0), &at(10_004, 0)).is_ok());
    }

    #[test]
    fn patterns_match_the_whole_value() {
        assert!(check_pattern(r"\d+", "123").is_ok());
        assert!(check_pattern(r"\d+", "12a").is_err());
        assert!(check_pattern("(", "x").is_err());
    }
}
