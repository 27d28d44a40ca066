//! Listing: ListSecrets with its filters, sorting and paging, ListSecretVersionIds, and
//! BatchGetSecretValue (by ids or by filters).

use std::cmp::Ordering;

use palisade_core::service::{CommonError, ErrorKind};
use palisade_core::{RequestContext, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::*;

use crate::SecretsManagerState;
use crate::db::Tenant;
use crate::records::SecretRecord;
use crate::secrets::{describe_record, timestamp};

const DEFAULT_PAGE: usize = 100;
const DEFAULT_BATCH_PAGE: usize = 20;

/// Where the next page starts: an offset into the (deterministically ordered) result.
fn start_of(next_token: Option<&str>) -> Result<usize, ServiceError> {
    let Some(token) = next_token else {
        return Ok(0);
    };
    token
        .strip_prefix("page-")
        .and_then(|offset| offset.parse().ok())
        .ok_or_else(|| errors::invalid_next_token_exception("The NextToken value is invalid."))
}

/// The page of `items` starting at `start`, and the token of the next page if any.
fn page<T>(items: Vec<T>, start: usize, size: usize) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let end = start.saturating_add(size);
    let page = items.into_iter().skip(start).take(size).collect();
    (page, (end < total).then(|| format!("page-{end}")))
}

fn page_size(max_results: Option<i32>, default: usize) -> usize {
    max_results
        .and_then(|max| usize::try_from(max).ok())
        .filter(|max| *max > 0)
        .unwrap_or(default)
}

/// One ListSecrets filter, its values already split into positive and negated ones.
struct Matcher {
    key: FilterNameStringType,
    values: Vec<(bool, String)>,
}

impl Matcher {
    fn new(filter: Filter) -> Result<Self, ServiceError> {
        let key = filter
            .key
            .ok_or_else(|| errors::invalid_parameter_exception("Each filter needs a Key."))?;
        if let FilterNameStringType::Unknown(unknown) = &key {
            return Err(errors::invalid_parameter_exception(format!(
                "Invalid filter key: {unknown}"
            )));
        }
        let values = filter
            .values
            .unwrap_or_default()
            .into_iter()
            .map(|value| match value.strip_prefix('!') {
                Some(negated) => (true, negated.to_owned()),
                None => (false, value),
            })
            .collect();
        Ok(Self { key, values })
    }

    /// Values of one filter are alternatives; a negated value matches secrets the plain value
    /// would not.
    fn matches(&self, record: &SecretRecord, region: &str) -> bool {
        self.values.iter().any(|(negated, value)| {
            let hit = match &self.key {
                FilterNameStringType::Name => record.name.starts_with(value.as_str()),
                FilterNameStringType::Description => record
                    .description
                    .as_deref()
                    .is_some_and(|description| text_matches(description, value)),
                FilterNameStringType::TagKey => record
                    .tags
                    .iter()
                    .any(|(key, _)| key.starts_with(value.as_str())),
                FilterNameStringType::TagValue => record
                    .tags
                    .iter()
                    .any(|(_, tag_value)| tag_value.starts_with(value.as_str())),
                FilterNameStringType::PrimaryRegion => record
                    .primary_region
                    .as_deref()
                    .unwrap_or(region)
                    .starts_with(value.as_str()),
                FilterNameStringType::OwningService | FilterNameStringType::Unknown(_) => false,
                FilterNameStringType::All => all_matches(record, value),
            };
            hit != *negated
        })
    }
}

/// Case-insensitive prefix match of `value` against the whole text or any word of it.
fn text_matches(text: &str, value: &str) -> bool {
    let value = value.to_lowercase();
    let text = text.to_lowercase();
    text.starts_with(&value) || words(&text).iter().any(|word| word.starts_with(&value))
}

/// The `all` filter: the value is broken into words, and each must start a word of the name,
/// description, a tag key or a tag value; not case-sensitive.
fn all_matches(record: &SecretRecord, value: &str) -> bool {
    let mut haystack = words(&record.name);
    if let Some(description) = &record.description {
        haystack.extend(words(description));
    }
    for (key, tag_value) in &record.tags {
        haystack.extend(words(key));
        haystack.extend(words(tag_value));
    }
    let haystack: Vec<String> = haystack.iter().map(|word| word.to_lowercase()).collect();
    let wanted = words(value);
    !wanted.is_empty()
        && wanted.iter().all(|word| {
            let word = word.to_lowercase();
            haystack
                .iter()
                .any(|candidate| candidate.starts_with(&word))
        })
}

/// Words as Secrets Manager splits them: at anything but letters and digits, at a change from
/// lowercase to uppercase and between letters and digits.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        let boundary = previous.is_some_and(|p| {
            (p.is_lowercase() && c.is_uppercase()) || (p.is_alphabetic() != c.is_alphabetic())
        });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
        previous = Some(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn matchers(filters: Option<Vec<Filter>>) -> Result<Vec<Matcher>, ServiceError> {
    filters
        .unwrap_or_default()
        .into_iter()
        .map(Matcher::new)
        .collect()
}

fn compare(a: &SecretRecord, b: &SecretRecord, by: &SortByType) -> Ordering {
    let primary = match by {
        SortByType::Name => a.name.cmp(&b.name),
        SortByType::LastAccessedDate => a.last_accessed_ms.cmp(&b.last_accessed_ms),
        SortByType::LastChangedDate => a.last_changed_ms.cmp(&b.last_changed_ms),
        SortByType::CreatedDate | SortByType::Unknown(_) => a.created_ms.cmp(&b.created_ms),
    };
    primary.then_with(|| a.name.cmp(&b.name))
}

impl SecretsManagerState {
    /// The tenant's secrets that pass every filter, in the requested order.
    async fn filtered(
        &self,
        tenant: &Tenant,
        filters: Option<Vec<Filter>>,
        include_deleted: bool,
        sort_by: &SortByType,
        descending: bool,
    ) -> Result<Vec<SecretRecord>, ServiceError> {
        let matchers = matchers(filters)?;
        let mut secrets: Vec<SecretRecord> = self
            .tenant_secrets(tenant)
            .await?
            .into_iter()
            .filter(|record| include_deleted || !record.is_deleted())
            .filter(|record| {
                matchers
                    .iter()
                    .all(|matcher| matcher.matches(record, &tenant.region))
            })
            .collect();
        secrets.sort_by(|a, b| {
            let order = compare(a, b, sort_by);
            if descending { order.reverse() } else { order }
        });
        Ok(secrets)
    }
}

pub(crate) async fn list(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: ListSecretsRequest,
) -> Result<ListSecretsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let start = start_of(input.next_token.as_deref())?;
    let sort_by = input.sort_by.unwrap_or(SortByType::CreatedDate);
    let descending = matches!(input.sort_order, Some(SortOrderType::Desc));
    let secrets = state
        .filtered(
            &tenant,
            input.filters,
            input.include_planned_deletion.unwrap_or(false),
            &sort_by,
            descending,
        )
        .await?;
    let (secrets, next_token) = page(secrets, start, page_size(input.max_results, DEFAULT_PAGE));
    Ok(ListSecretsResponse {
        secret_list: Some(secrets.iter().map(list_entry).collect()),
        next_token,
    })
}

fn list_entry(record: &SecretRecord) -> SecretListEntry {
    let described = describe_record(record);
    SecretListEntry {
        arn: described.arn,
        name: described.name,
        r#type: described.r#type,
        description: described.description,
        kms_key_id: described.kms_key_id,
        rotation_enabled: described.rotation_enabled,
        rotation_lambda_arn: described.rotation_lambda_arn,
        rotation_rules: described.rotation_rules,
        external_secret_rotation_metadata: None,
        external_secret_rotation_role_arn: None,
        last_rotated_date: described.last_rotated_date,
        last_changed_date: described.last_changed_date,
        last_accessed_date: described.last_accessed_date,
        deleted_date: described.deleted_date,
        next_rotation_date: described.next_rotation_date,
        tags: described.tags,
        secret_versions_to_stages: described.version_ids_to_stages,
        owning_service: None,
        created_date: described.created_date,
        primary_region: described.primary_region,
    }
}

pub(crate) async fn list_versions(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: ListSecretVersionIdsRequest,
) -> Result<ListSecretVersionIdsResponse, ServiceError> {
    let tenant = Tenant::owning(ctx, &input.secret_id);
    let record = state
        .existing_secret(&tenant, &input.secret_id)
        .await?
        .value;
    let start = start_of(input.next_token.as_deref())?;
    let include_deprecated = input.include_deprecated.unwrap_or(false);
    let mut versions: Vec<(&String, &crate::records::VersionMeta)> = record
        .versions
        .iter()
        .filter(|(_, version)| include_deprecated || !version.stages.is_empty())
        .collect();
    versions.sort_by(|(a_id, a), (b_id, b)| b.created_ms.cmp(&a.created_ms).then(a_id.cmp(b_id)));
    let entries: Vec<SecretVersionsListEntry> = versions
        .into_iter()
        .map(|(id, version)| SecretVersionsListEntry {
            version_id: Some(id.clone()),
            version_stages: Some(version.stages.clone()),
            last_accessed_date: version.last_accessed_ms.map(timestamp),
            created_date: Some(timestamp(version.created_ms)),
            kms_key_ids: version.key_arn.clone().map(|arn| vec![arn]),
        })
        .collect();
    let (versions, next_token) = page(entries, start, page_size(input.max_results, DEFAULT_PAGE));
    Ok(ListSecretVersionIdsResponse {
        versions: Some(versions),
        next_token,
        arn: Some(record.arn),
        name: Some(record.name),
    })
}

/// The error code a failure carries, for BatchGetSecretValue's per-secret errors.
fn error_code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(CommonError::AccessDenied) => "AccessDeniedException".to_owned(),
        ErrorKind::Common(_) => "InternalServiceError".to_owned(),
    }
}

pub(crate) async fn batch_get(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    input: BatchGetSecretValueRequest,
) -> Result<BatchGetSecretValueResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let (ids, next_token): (Vec<String>, Option<String>) =
        match (input.secret_id_list, input.filters) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(errors::invalid_parameter_exception(
                    "Either SecretIdList or Filters must be provided, but not both.",
                ));
            }
            (Some(ids), None) => {
                if input.max_results.is_some() || input.next_token.is_some() {
                    return Err(errors::invalid_parameter_exception(
                        "MaxResults and NextToken can be used only with Filters.",
                    ));
                }
                (ids, None)
            }
            (None, Some(filters)) => {
                let start = start_of(input.next_token.as_deref())?;
                let secrets = state
                    .filtered(
                        &tenant,
                        Some(filters),
                        false,
                        &SortByType::CreatedDate,
                        false,
                    )
                    .await?;
                let (secrets, next_token) = page(
                    secrets,
                    start,
                    page_size(input.max_results, DEFAULT_BATCH_PAGE),
                );
                (
                    secrets.into_iter().map(|record| record.arn).collect(),
                    next_token,
                )
            }
        };
    let mut values = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let read = async {
            let found = state.existing_secret(&tenant, &id).await?;
            let read = state.read_value(ctx, &tenant, &found, None, None).await?;
            Ok::<_, ServiceError>((found.value, read))
        };
        match read.await {
            Ok((record, read)) => {
                let (secret_string, secret_binary) = read.value.into_response();
                values.push(SecretValueEntry {
                    arn: Some(record.arn),
                    name: Some(record.name),
                    version_id: Some(read.version_id),
                    secret_binary,
                    secret_string,
                    version_stages: Some(read.stages),
                    created_date: Some(timestamp(read.created_ms)),
                });
            }
            Err(error) => failures.push(APIErrorType {
                secret_id: Some(id),
                error_code: Some(error_code(&error)),
                message: Some(error.message),
            }),
        }
    }
    Ok(BatchGetSecretValueResponse {
        secret_values: Some(values),
        next_token,
        errors: Some(failures),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_case_digits_and_punctuation() {
        assert_eq!(words("credsDatabase#892"), ["creds", "Database", "892"]);
        assert_eq!(words("prod/app_db-2"), ["prod", "app", "db", "2"]);
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let (first, next) = page((0..5).collect::<Vec<_>>(), 0, 2);
        assert_eq!(first, [0, 1]);
        let start = start_of(next.as_deref()).unwrap_or_default();
        assert_eq!(start, 2);
        assert!(start_of(Some("garbage")).is_err());
    }
}
