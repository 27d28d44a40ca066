//! The reads: `GetParameter`, `GetParameters`, `GetParametersByPath`, `DescribeParameters` and
//! `GetParameterHistory`, over the tenant's parameters and the public `/aws/service/...` ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_ssm::errors;
use palisade_model_ssm::types::*;

use crate::ParameterStore;
use crate::filters::{self, Filter};
use crate::names::{self, Pick, Reference};
use crate::public::{self, PublicParameter};
use crate::records::{self, ParameterRecord, StoredValue, Tenant, VersionRecord};
use crate::{reference, secure};

/// The most results of one `DescribeParameters` or `GetParameterHistory` page.
const MAX_DESCRIBE_RESULTS: usize = 50;
/// The results of one `DescribeParameters` page when `MaxResults` is not given.
const DEFAULT_DESCRIBE_RESULTS: usize = 10;
/// The most (and default) results of one `GetParametersByPath` page.
const MAX_BY_PATH_RESULTS: usize = 10;

pub(crate) async fn get_parameter(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: GetParameterRequest,
) -> Result<GetParameterResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let decrypt = input.with_decryption.unwrap_or(false);
    let given = input.name.trim();
    if given.starts_with(reference::PREFIX) {
        let parameter = reference::read(service.secrets.as_deref(), ctx, given, decrypt)
            .await?
            .ok_or_else(|| reference::not_found(given))?;
        return Ok(GetParameterResult {
            parameter: Some(parameter),
        });
    }
    let reference = names::parse_reference(&tenant.account, &tenant.region, given)?;
    names::check_readable_name(&tenant.account, &tenant.region, &reference.name)?;
    let parameter = find(service, ctx, &tenant, &reference, decrypt)
        .await?
        .ok_or_else(|| not_found(&reference))??;
    Ok(GetParameterResult {
        parameter: Some(parameter),
    })
}

pub(crate) async fn get_parameters(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: GetParametersRequest,
) -> Result<GetParametersResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let decrypt = input.with_decryption.unwrap_or(false);
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    let mut seen = Vec::new();
    for given in &input.names {
        let given = given.trim();
        if seen.contains(&given) {
            continue;
        }
        seen.push(given);
        if given.starts_with(reference::PREFIX) {
            match reference::read(service.secrets.as_deref(), ctx, given, decrypt).await? {
                Some(parameter) => parameters.push(parameter),
                None => invalid.push(given.to_owned()),
            }
            continue;
        }
        let reference = match names::parse_reference(&tenant.account, &tenant.region, given) {
            Ok(reference)
                if names::check_readable_name(&tenant.account, &tenant.region, &reference.name)
                    .is_ok() =>
            {
                reference
            }
            _ => {
                invalid.push(given.to_owned());
                continue;
            }
        };
        match find(service, ctx, &tenant, &reference, decrypt).await? {
            Some(Ok(parameter)) => parameters.push(parameter),
            Some(Err(_)) | None => invalid.push(given.to_owned()),
        }
    }
    Ok(GetParametersResult {
        parameters: Some(parameters),
        invalid_parameters: Some(invalid),
    })
}

pub(crate) async fn get_parameters_by_path(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: GetParametersByPathRequest,
) -> Result<GetParametersByPathResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let path = input.path.trim();
    names::check_path(path)?;
    let recursive = input.recursive.unwrap_or(false);
    let decrypt = input.with_decryption.unwrap_or(false);
    let limit = page_size(input.max_results, MAX_BY_PATH_RESULTS, MAX_BY_PATH_RESULTS)?;
    let filters = filters::parse(
        filters::Operation::GetParametersByPath,
        input.parameter_filters.as_deref().unwrap_or_default(),
    )?;
    if path.starts_with(public::ROOT.trim_end_matches('/')) {
        return public_by_path(&tenant, path, recursive, &filters, limit, input.next_token);
    }
    let labels = filters.iter().find_map(|filter| match filter {
        Filter::Label(labels) => Some(labels),
        _ => None,
    });
    let scan_prefix = scan_prefix(&tenant, Some(path));
    let (page, next_token) = collect(
        service,
        &tenant,
        &scan_prefix,
        (!recursive).then_some(path),
        input.next_token.as_deref(),
        limit,
        |record| {
            let Some(version) = answered_version(record, labels) else {
                return false;
            };
            filters::is_under(&record.name, path, recursive)
                && filters::matches(&filters, record, version)
        },
    )
    .await?;
    let mut parameters = Vec::with_capacity(page.len());
    for record in &page {
        if let Some(version) = answered_version(record, labels) {
            parameters
                .push(to_parameter(service, ctx, &tenant, record, version, None, decrypt).await?);
        }
    }
    Ok(GetParametersByPathResult {
        parameters: Some(parameters),
        next_token,
    })
}

pub(crate) async fn describe_parameters(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: DescribeParametersRequest,
) -> Result<DescribeParametersResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let limit = page_size(
        input.max_results,
        DEFAULT_DESCRIBE_RESULTS,
        MAX_DESCRIBE_RESULTS,
    )?;
    let filters = match (&input.filters, &input.parameter_filters) {
        (Some(legacy), Some(current)) if !legacy.is_empty() && !current.is_empty() => {
            return Err(ServiceError::validation(
                "You can use either Filters or ParameterFilters in a single request, but not \
                 both.",
            ));
        }
        (Some(legacy), _) if !legacy.is_empty() => filters::from_legacy(legacy)?,
        (_, current) => filters::parse(
            filters::Operation::DescribeParameters,
            current.as_deref().unwrap_or_default(),
        )?,
    };
    if input.shared == Some(true) {
        // Parameters shared from other accounts (through AWS RAM) are not modelled.
        return Ok(DescribeParametersResult {
            parameters: Some(Vec::new()),
            next_token: None,
        });
    }
    let scan_prefix = scan_prefix(&tenant, filters::path_of(&filters).map(|(path, _)| path));
    let one_level = match filters::path_of(&filters) {
        Some((path, false)) => Some(path),
        _ => None,
    };
    let (page, next_token) = collect(
        service,
        &tenant,
        &scan_prefix,
        one_level,
        input.next_token.as_deref(),
        limit,
        |record| {
            record
                .latest()
                .is_some_and(|latest| filters::matches(&filters, record, latest))
        },
    )
    .await?;
    let parameters = page
        .iter()
        .filter_map(|record| Some(metadata(&tenant, record, record.latest()?)))
        .collect();
    Ok(DescribeParametersResult {
        parameters: Some(parameters),
        next_token,
    })
}

pub(crate) async fn get_parameter_history(
    service: &ParameterStore,
    ctx: &RequestContext,
    input: GetParameterHistoryRequest,
) -> Result<GetParameterHistoryResult, ServiceError> {
    let tenant = Tenant::of(ctx);
    let decrypt = input.with_decryption.unwrap_or(false);
    let limit = page_size(
        input.max_results,
        MAX_DESCRIBE_RESULTS,
        MAX_DESCRIBE_RESULTS,
    )?;
    let reference = names::parse_reference(&tenant.account, &tenant.region, input.name.trim())?;
    let record = lookup(service, &tenant, &reference.name)
        .await?
        .ok_or_else(|| not_found(&reference))?;
    let after: i64 = match input.next_token.as_deref() {
        None => 0,
        Some(token) => decode_token(token)?.parse().map_err(|_| invalid_token())?,
    };
    let versions: Vec<&VersionRecord> = record
        .versions
        .iter()
        .filter(|v| v.version > after)
        .collect();
    let more = versions.len() > limit;
    let mut parameters = Vec::new();
    for version in versions.into_iter().take(limit) {
        let arn = tenant.arn(&record.name);
        let value = value_of(service, ctx, &arn, &version.value, decrypt).await?;
        parameters.push(ParameterHistory {
            name: Some(record.name.clone()),
            r#type: Some(version.kind.to_model()),
            key_id: version.key_id.clone(),
            last_modified_date: Some(Timestamp::from_millis(version.modified_millis)),
            last_modified_user: Some(version.modified_by.clone()),
            description: version.description.clone(),
            value: Some(value),
            allowed_pattern: version.allowed_pattern.clone(),
            version: Some(version.version),
            labels: Some(version.labels.clone()),
            tier: Some(version.tier.to_model()),
            policies: Some(version.policies.iter().map(|p| p.to_model()).collect()),
            data_type: Some(version.data_type.clone()),
        });
    }
    let next_token = match (more, parameters.last()) {
        (true, Some(last)) => last.version.map(|v| encode_token(&v.to_string())),
        _ => None,
    };
    Ok(GetParameterHistoryResult {
        parameters: Some(parameters),
        next_token,
    })
}

/// The stored name `name` stands for: itself, or the hierarchical name a one-level name from an
/// ARN may stand for; `None` when neither exists.
pub(crate) async fn stored_name(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
) -> Result<Option<String>, ServiceError> {
    Ok(lookup(service, tenant, name)
        .await?
        .map(|record| record.name))
}

/// The record of `name`, also when it was named by an ARN that drops a one-level name's slash.
pub(crate) async fn lookup(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
) -> Result<Option<ParameterRecord>, ServiceError> {
    if let Some(stored) = records::parameter(service, tenant, name).await? {
        return Ok(Some(stored.value));
    }
    match names::flat_alternative(name) {
        Some(other) => Ok(records::parameter(service, tenant, &other)
            .await?
            .map(|stored| stored.value)),
        None => Ok(None),
    }
}

/// The parameter a reference picks: `None` when there is no such parameter, `Some(Err)` when
/// the parameter exists but the selected version or label does not.
async fn find(
    service: &ParameterStore,
    ctx: &RequestContext,
    tenant: &Tenant,
    reference: &Reference,
    decrypt: bool,
) -> Result<Option<Result<Parameter, ServiceError>>, ServiceError> {
    if reference.name.starts_with(public::ROOT) {
        return Ok(
            public::get(&reference.name).map(|public| match reference.pick {
                Pick::Latest | Pick::Version(1) => Ok(public_parameter(
                    tenant,
                    &public,
                    reference.selector.clone(),
                )),
                _ => Err(selected_version_not_found(reference)),
            }),
        );
    }
    let Some(record) = lookup(service, tenant, &reference.name).await? else {
        return Ok(None);
    };
    let version = match &reference.pick {
        Pick::Latest => record.latest(),
        Pick::Version(version) => record.version(*version),
        Pick::Label(label) => record.labelled(label),
    };
    let Some(version) = version else {
        return Ok(Some(Err(selected_version_not_found(reference))));
    };
    let parameter = to_parameter(
        service,
        ctx,
        tenant,
        &record,
        version,
        reference.selector.clone(),
        decrypt,
    )
    .await?;
    Ok(Some(Ok(parameter)))
}

async fn to_parameter(
    service: &ParameterStore,
    ctx: &RequestContext,
    tenant: &Tenant,
    record: &ParameterRecord,
    version: &VersionRecord,
    selector: Option<String>,
    decrypt: bool,
) -> Result<Parameter, ServiceError> {
    let arn = tenant.arn(&record.name);
    let value = value_of(service, ctx, &arn, &version.value, decrypt).await?;
    Ok(Parameter {
        name: Some(record.name.clone()),
        r#type: Some(version.kind.to_model()),
        value: Some(value),
        version: Some(version.version),
        selector,
        source_result: None,
        last_modified_date: Some(Timestamp::from_millis(version.modified_millis)),
        arn: Some(arn),
        data_type: Some(version.data_type.clone()),
    })
}

/// A value as answered: plain values as they are; SecureStrings decrypted, or as their
/// ciphertext in base64 without decryption.
async fn value_of(
    service: &ParameterStore,
    ctx: &RequestContext,
    arn: &str,
    value: &StoredValue,
    decrypt: bool,
) -> Result<Sensitive<String>, ServiceError> {
    match value {
        StoredValue::Plain(text) => Ok(Sensitive::new(text.clone())),
        StoredValue::Encrypted(sealed) if decrypt => {
            secure::open(service.keys.as_ref(), ctx, arn, sealed).await
        }
        StoredValue::Encrypted(sealed) => Ok(Sensitive::new(sealed.blob.clone())),
    }
}

fn metadata(
    tenant: &Tenant,
    record: &ParameterRecord,
    latest: &VersionRecord,
) -> ParameterMetadata {
    ParameterMetadata {
        name: Some(record.name.clone()),
        arn: Some(tenant.arn(&record.name)),
        r#type: Some(latest.kind.to_model()),
        key_id: latest.key_id.clone(),
        last_modified_date: Some(Timestamp::from_millis(latest.modified_millis)),
        last_modified_user: Some(latest.modified_by.clone()),
        description: latest.description.clone(),
        allowed_pattern: latest.allowed_pattern.clone(),
        version: Some(latest.version),
        tier: Some(record.tier.to_model()),
        policies: Some(latest.policies.iter().map(|p| p.to_model()).collect()),
        data_type: Some(latest.data_type.clone()),
    }
}

/// The version a by-path read answers: the latest, or with a `Label` filter the labelled one.
fn answered_version<'r>(
    record: &'r ParameterRecord,
    labels: Option<&Vec<String>>,
) -> Option<&'r VersionRecord> {
    match labels {
        None => record.latest(),
        Some(labels) => record
            .versions
            .iter()
            .find(|v| v.labels.iter().any(|label| labels.contains(label))),
    }
}

/// The store prefix of the parameters under `path` (of the whole tenant without one). Flat
/// names sit at the root, so only the root path scans the whole tenant.
fn scan_prefix(tenant: &Tenant, path: Option<&str>) -> String {
    match path.map(|path| path.trim_end_matches('/')) {
        Some(base) if !base.is_empty() => tenant.store_key(&format!("{base}/")),
        _ => tenant.prefix(),
    }
}

/// One page of the records under the store prefix `scan_prefix` that `keep` accepts, resuming
/// after the name in `token`, with the token of the next page when more records are accepted.
/// With `one_level_below`, a path, whole subtrees deeper than its children are skipped in the
/// store rather than read and refused.
async fn collect(
    service: &ParameterStore,
    tenant: &Tenant,
    scan_prefix: &str,
    one_level_below: Option<&str>,
    token: Option<&str>,
    limit: usize,
    mut keep: impl FnMut(&ParameterRecord) -> bool,
) -> Result<(Vec<ParameterRecord>, Option<String>), ServiceError> {
    let mut after = match token {
        Some(token) => Some(tenant.store_key(&decode_token(token)?)),
        None => None,
    };
    // One record past the page tells whether there is a next page.
    let full_chunk = (limit + 1).max(16);
    let mut chunk = full_chunk;
    let tenant_prefix = tenant.prefix();
    let mut page: Vec<ParameterRecord> = Vec::with_capacity(limit);
    loop {
        let rows = records::scan(&service.store, scan_prefix, after.as_deref(), chunk).await?;
        let mut exhausted = rows.len() < chunk;
        after = rows.last().map(|(key, _)| key.clone());
        chunk = full_chunk;
        for (key, entry) in rows {
            let name = key.strip_prefix(&tenant_prefix).unwrap_or(&key);
            if let Some(skip) = one_level_below.and_then(|path| past_deeper(tenant, path, name)) {
                after = Some(skip);
                exhausted = false;
                // What follows a skipped subtree is often another one: read it alone.
                chunk = 1;
                break;
            }
            let record: ParameterRecord = records::decode(&key, &entry)?;
            if !keep(&record) {
                continue;
            }
            if page.len() == limit {
                let next = page.last().map(|last| encode_token(&last.name));
                return Ok((page, next));
            }
            page.push(record);
        }
        if exhausted || after.is_none() {
            return Ok((page, None));
        }
    }
}

/// For a one-level read of `path`: when `name` lies deeper than a child of `path`, the store key
/// past every parameter under that child. Names are ASCII, so the highest character ends the
/// child's range.
fn past_deeper(tenant: &Tenant, path: &str, name: &str) -> Option<String> {
    let base = path.trim_end_matches('/');
    let rest = name.strip_prefix(base)?.strip_prefix('/')?;
    let child = rest.get(..rest.find('/')?)?;
    Some(format!(
        "{}\u{10FFFF}",
        tenant.store_key(&format!("{base}/{child}/"))
    ))
}

fn public_by_path(
    tenant: &Tenant,
    path: &str,
    recursive: bool,
    filters: &[Filter],
    limit: usize,
    token: Option<String>,
) -> Result<GetParametersByPathResult, ServiceError> {
    let after = token.as_deref().map(decode_token).transpose()?;
    // Public parameters are all String, version 1, unlabelled, with no key.
    let passes = |filter: &Filter| match filter {
        Filter::Type(types) => types.iter().any(|t| t == "String"),
        _ => false,
    };
    let matching: Vec<PublicParameter> = public::under(path, recursive)
        .into_iter()
        .filter(|p| after.as_ref().is_none_or(|after| p.name > *after))
        .filter(|_| filters.iter().all(passes))
        .collect();
    let more = matching.len() > limit;
    let parameters: Vec<Parameter> = matching
        .iter()
        .take(limit)
        .map(|p| public_parameter(tenant, p, None))
        .collect();
    let next_token = match (more, parameters.last()) {
        (true, Some(last)) => last.name.as_deref().map(encode_token),
        _ => None,
    };
    Ok(GetParametersByPathResult {
        parameters: Some(parameters),
        next_token,
    })
}

fn public_parameter(
    tenant: &Tenant,
    public: &PublicParameter,
    selector: Option<String>,
) -> Parameter {
    Parameter {
        name: Some(public.name.clone()),
        r#type: Some(ParameterType::String),
        value: Some(Sensitive::new(public.value.clone())),
        version: Some(1),
        selector,
        source_result: None,
        last_modified_date: Some(Timestamp::from_millis(public::MODIFIED_MILLIS)),
        arn: Some(public::arn(&tenant.region, &public.name)),
        data_type: Some(public.data_type.to_owned()),
    }
}

/// `MaxResults` checked against the operation's limit, or the operation's default.
fn page_size(asked: Option<i32>, default: usize, max: usize) -> Result<usize, ServiceError> {
    match asked {
        None => Ok(default),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ServiceError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
                     constraint: Member must have value less than or equal to {max}"
                ))
            }),
    }
}

fn encode_token(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

fn decode_token(token: &str) -> Result<String, ServiceError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_token)
}

fn invalid_token() -> ServiceError {
    errors::invalid_next_token("The specified token isn't valid.")
}

pub(crate) fn not_found(reference: &Reference) -> ServiceError {
    errors::parameter_not_found(format!("Parameter {} not found.", reference.name))
}

fn selected_version_not_found(reference: &Reference) -> ServiceError {
    let selector = reference.selector.as_deref().unwrap_or_default();
    version_not_found(&reference.name, selector.trim_start_matches(':'))
}

/// No version (or label) `selected` of parameter `name`.
pub(crate) fn version_not_found(name: &str, selected: &str) -> ServiceError {
    errors::parameter_version_not_found(format!(
        "Systems Manager could not find version {selected} of {name}. Verify the version and try \
         again."
    ))
}
