//! Log groups: creation and deletion, listing, retention, KMS key association, tags, and the
//! retention sweeper.

use std::collections::BTreeMap;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::errors;
use palisade_model_logs::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::LogsState;
use crate::chunks;
use crate::db::{
    EVENTS, GROUPS, METRIC_FILTERS, ROWS_PER_DELETE, ROWS_PER_SCAN, STREAMS, Stored, Tenant, plain,
};
use crate::encryption::SealedDataKey;
use crate::events::Position;
use crate::streams::StreamRecord;

/// The retention periods AWS accepts, in days.
const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Tags a log group may carry.
const MAX_TAGS: usize = 50;
/// Log groups a `DescribeLogGroups` page holds when the request gives no limit.
const DEFAULT_PAGE: usize = 50;
const DAY_MILLIS: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GroupRecord {
    pub name: String,
    pub creation_time: i64,
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub class: String,
    pub deletion_protection: bool,
    /// Every data key events were sealed under, kept after the key is disassociated so that
    /// those events stay readable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_keys: Vec<SealedDataKey>,
}

pub(crate) fn group_not_found() -> ServiceError {
    errors::resource_not_found_exception("The specified log group does not exist.")
}

impl LogsState {
    /// The log group `name` of `tenant`, or `ResourceNotFoundException`.
    pub(crate) async fn group(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Stored<GroupRecord>, ServiceError> {
        self.get(GROUPS, &tenant.group_key(name))
            .await?
            .ok_or_else(group_not_found)
    }
}

pub(crate) async fn create(
    state: &LogsState,
    ctx: &RequestContext,
    input: CreateLogGroupRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.log_group_name;
    if name.starts_with("aws/") {
        return Err(errors::invalid_parameter_exception(
            "Log group names starting with 'aws/' are reserved for AWS.",
        ));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let kms_key_id = match input.kms_key_id {
        Some(key_id) => Some(state.check_group_key(&tenant, &name, &key_id).await?),
        None => None,
    };
    let record = GroupRecord {
        name: name.clone(),
        creation_time: state.now(),
        retention_in_days: None,
        kms_key_id,
        tags,
        class: input
            .log_group_class
            .map_or_else(|| "STANDARD".to_owned(), |class| class.as_str().to_owned()),
        deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
        data_keys: Vec::new(),
    };
    let key = tenant.group_key(&name);
    let txn = Transaction::new()
        .expect_absent(GROUPS, &key)
        .put(GROUPS, &key, plain(&record)?);
    state.commit_or(txn, already_exists).await
}

fn already_exists() -> ServiceError {
    errors::resource_already_exists_exception("The specified log group already exists")
}

/// Deletes the group, then its streams, events and metric filters.
pub(crate) async fn delete(
    state: &LogsState,
    ctx: &RequestContext,
    name: &str,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let group = state.group(&tenant, name).await?;
    if group.value.deletion_protection {
        return Err(errors::invalid_operation_exception(
            "Log group deletion protection is enabled. Disable it before deleting the log group.",
        ));
    }
    let key = tenant.group_key(name);
    let txn = Transaction::new()
        .expect_version(GROUPS, &key, group.version)
        .delete(GROUPS, &key);
    state.commit_or(txn, group_not_found).await?;
    state
        .data_keys
        .forget(group.value.data_keys.into_iter().map(|key| key.id));
    let under = tenant.under_group(name);
    for keyspace in [EVENTS, STREAMS, METRIC_FILTERS] {
        state.delete_under(keyspace, &under).await?;
    }
    Ok(())
}

pub(crate) async fn describe(
    state: &LogsState,
    ctx: &RequestContext,
    input: DescribeLogGroupsRequest,
) -> Result<DescribeLogGroupsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(errors::invalid_parameter_exception(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let limit = crate::paging::limit(input.limit, DEFAULT_PAGE);
    let prefix = format!(
        "{}{}",
        tenant.prefix(),
        input.log_group_name_prefix.as_deref().unwrap_or_default()
    );
    let mut after = crate::paging::decode_token(input.next_token.as_deref())?
        .map(|name| tenant.group_key(&name));
    let pattern = input
        .log_group_name_pattern
        .as_deref()
        .map(str::to_ascii_lowercase);
    let identifiers = input.log_group_identifiers.as_ref();
    let mut page = Vec::new();
    let mut more = false;
    'scan: loop {
        let rows: Vec<(String, GroupRecord)> = state
            .scan(GROUPS, &prefix, after.as_deref(), ROWS_PER_SCAN)
            .await?;
        let done = rows.len() < ROWS_PER_SCAN;
        after = rows.last().map(|(key, _)| key.clone());
        for (_, group) in rows {
            let wanted = pattern
                .as_ref()
                .is_none_or(|pattern| group.name.to_ascii_lowercase().contains(pattern))
                && input
                    .log_group_class
                    .as_ref()
                    .is_none_or(|class| class.as_str() == group.class)
                && identifiers.is_none_or(|ids| {
                    ids.iter().any(|id| {
                        *id == group.name || tenant.group_in_arn(id) == Some(group.name.as_str())
                    })
                });
            if !wanted {
                continue;
            }
            if page.len() == limit {
                more = true;
                break 'scan;
            }
            page.push(group);
        }
        if done {
            break;
        }
    }
    let next_token = more
        .then(|| {
            page.last()
                .map(|group| crate::paging::encode_token(&group.name))
        })
        .flatten();
    let mut log_groups = Vec::with_capacity(page.len());
    for group in page {
        let under = tenant.under_group(&group.name);
        let filters = state
            .scan_all::<serde_json::Value>(METRIC_FILTERS, &under)
            .await?
            .len();
        let stored_bytes = state
            .scan_all::<StreamRecord>(STREAMS, &under)
            .await?
            .iter()
            .map(|(_, stream)| stream.stored_bytes)
            .sum();
        log_groups.push(describe_group(&tenant, group, filters, stored_bytes));
    }
    Ok(DescribeLogGroupsResponse {
        log_groups: Some(log_groups),
        next_token,
    })
}

fn describe_group(
    tenant: &Tenant,
    group: GroupRecord,
    metric_filters: usize,
    stored_bytes: i64,
) -> LogGroup {
    let arn = tenant.group_arn(&group.name);
    LogGroup {
        arn: Some(format!("{arn}:*")),
        log_group_arn: Some(arn),
        creation_time: Some(group.creation_time),
        retention_in_days: group.retention_in_days,
        metric_filter_count: Some(i32::try_from(metric_filters).unwrap_or(i32::MAX)),
        stored_bytes: Some(stored_bytes),
        kms_key_id: group.kms_key_id,
        log_group_class: Some(LogGroupClass::from(group.class.as_str())),
        deletion_protection_enabled: Some(group.deletion_protection),
        log_group_name: Some(group.name),
        ..Default::default()
    }
}

pub(crate) async fn put_retention(
    state: &LogsState,
    ctx: &RequestContext,
    name: &str,
    days: Option<i32>,
) -> Result<(), ServiceError> {
    if let Some(days) = days
        && !RETENTION_DAYS.contains(&days)
    {
        return Err(errors::invalid_parameter_exception(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy \
             constraint: Member must satisfy enum value set: [{}]",
            RETENTION_DAYS.map(|days| days.to_string()).join(", ")
        )));
    }
    update(state, &Tenant::of(ctx), name, |group| {
        group.retention_in_days = days;
        Ok(())
    })
    .await
}

pub(crate) async fn set_deletion_protection(
    state: &LogsState,
    ctx: &RequestContext,
    input: PutLogGroupDeletionProtectionRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = crate::streams::group_name(&tenant, None, Some(input.log_group_identifier))?;
    update(state, &tenant, &name, |group| {
        group.deletion_protection = input.deletion_protection_enabled;
        Ok(())
    })
    .await
}

/// The log group an `AssociateKmsKey` or `DisassociateKmsKey` request names: by name, or by
/// the log group ARN in `resourceIdentifier`. The account's query results, the other resource
/// AWS takes there, are not built (Logs Insights queries are not).
fn kms_target(
    operation: &str,
    tenant: &Tenant,
    name: Option<String>,
    resource: Option<String>,
) -> Result<String, ServiceError> {
    match (name, resource) {
        (Some(name), None) => Ok(name),
        (None, Some(resource)) => {
            if let Some(name) = tenant.group_in_arn(&resource) {
                return Ok(name.to_owned());
            }
            if resource
                == format!(
                    "arn:aws:logs:{}:{}:query-result:*",
                    tenant.region, tenant.account
                )
            {
                return Err(ServiceError::not_implemented(
                    &palisade_model_logs::MODEL,
                    &format!("{operation} for query results"),
                ));
            }
            Err(errors::invalid_parameter_exception(format!(
                "Invalid resourceIdentifier: {resource}"
            )))
        }
        _ => Err(errors::invalid_parameter_exception(
            "Exactly one of logGroupName and resourceIdentifier must be specified.",
        )),
    }
}

pub(crate) async fn associate_kms_key(
    state: &LogsState,
    ctx: &RequestContext,
    input: AssociateKmsKeyRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = kms_target(
        "AssociateKmsKey",
        &tenant,
        input.log_group_name,
        input.resource_identifier,
    )?;
    state.group(&tenant, &name).await?;
    let key_arn = state
        .check_group_key(&tenant, &name, &input.kms_key_id)
        .await?;
    update(state, &tenant, &name, |group| {
        group.kms_key_id = Some(key_arn.clone());
        Ok(())
    })
    .await
}

pub(crate) async fn disassociate_kms_key(
    state: &LogsState,
    ctx: &RequestContext,
    input: DisassociateKmsKeyRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = kms_target(
        "DisassociateKmsKey",
        &tenant,
        input.log_group_name,
        input.resource_identifier,
    )?;
    update(state, &tenant, &name, |group| {
        group.kms_key_id = None;
        Ok(())
    })
    .await
}

/// Records a data key in the group `name`, which new events are sealed under.
pub(crate) async fn add_data_key(
    state: &LogsState,
    tenant: &Tenant,
    name: &str,
    data_key: SealedDataKey,
) -> Result<(), ServiceError> {
    update(state, tenant, name, |group| {
        group.data_keys.push(data_key.clone());
        Ok(())
    })
    .await
}

/// Applies `change` to the group `name`, in a transaction pinning the version read.
async fn update(
    state: &LogsState,
    tenant: &Tenant,
    name: &str,
    change: impl Fn(&mut GroupRecord) -> Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    let key = tenant.group_key(name);
    state
        .mutate(|| async {
            let mut group = state.group(tenant, name).await?;
            change(&mut group.value)?;
            let txn = Transaction::new()
                .expect_version(GROUPS, &key, group.version)
                .put(GROUPS, &key, plain(&group.value)?);
            Ok((txn, ()))
        })
        .await
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(errors::too_many_tags_exception(format!(
            "A resource can have no more than {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

/// The log group a tagging ARN names: `arn:aws:logs:<region>:<account>:log-group:<name>`, in
/// the caller's account and region.
fn group_of_arn<'a>(tenant: &Tenant, arn: &'a str) -> Result<&'a str, ServiceError> {
    tenant.group_in_arn(arn).ok_or_else(|| {
        errors::resource_not_found_exception(format!(
            "The specified resource {arn} does not exist."
        ))
    })
}

pub(crate) async fn tag(
    state: &LogsState,
    ctx: &RequestContext,
    name_or_arn: Target<'_>,
    tags: BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = name_or_arn.group(&tenant)?;
    update(state, &tenant, name, |group| {
        let mut merged = group.tags.clone();
        merged.extend(tags.clone());
        check_tags(&merged)?;
        group.tags = merged;
        Ok(())
    })
    .await
}

pub(crate) async fn untag(
    state: &LogsState,
    ctx: &RequestContext,
    name_or_arn: Target<'_>,
    keys: &[String],
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = name_or_arn.group(&tenant)?;
    update(state, &tenant, name, |group| {
        group.tags.retain(|key, _| !keys.contains(key));
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags(
    state: &LogsState,
    ctx: &RequestContext,
    name_or_arn: Target<'_>,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = name_or_arn.group(&tenant)?;
    Ok(state.group(&tenant, name).await?.value.tags)
}

/// How a tagging operation names its log group: the older operations by name, the newer by ARN.
pub(crate) enum Target<'a> {
    Name(&'a str),
    Arn(&'a str),
}

impl<'a> Target<'a> {
    fn group(&self, tenant: &Tenant) -> Result<&'a str, ServiceError> {
        match *self {
            Self::Name(name) => Ok(name),
            Self::Arn(arn) => group_of_arn(tenant, arn),
        }
    }
}

impl LogsState {
    /// Deletes every event older than its log group's retention period, measured from the
    /// clock's now; returns how many it deleted. Groups without a retention policy keep their
    /// events forever. Meant to run periodically (AWS deletes expired events within days).
    pub async fn expire_events(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let groups: Vec<(String, GroupRecord)> = self.scan_all(GROUPS, "").await?;
        let mut deleted = 0;
        for (key, group) in groups {
            let (Some(days), Some((tenant, _))) =
                (group.retention_in_days, Tenant::split_store_key(&key))
            else {
                continue;
            };
            let cutoff = now.saturating_sub(i64::from(days).saturating_mul(DAY_MILLIS));
            for (_, stream) in self
                .scan_all::<StreamRecord>(STREAMS, &tenant.under_group(&group.name))
                .await?
            {
                deleted += self
                    .delete_events_before(&tenant, &group.name, &stream.name, cutoff)
                    .await?;
            }
        }
        Ok(deleted)
    }

    /// Deletes the events of a stream with timestamps before `cutoff` (a key range from the
    /// start of the stream), a scan of chunks per transaction, each also taking their size off
    /// the stream's stored bytes. A chunk's events share one timestamp: it goes whole.
    async fn delete_events_before(
        &self,
        tenant: &Tenant,
        group: &str,
        stream: &str,
        cutoff: i64,
    ) -> Result<usize, ServiceError> {
        let prefix = tenant.under_stream(group, stream);
        let stream_key = tenant.child_key(group, stream);
        let mut deleted = 0;
        loop {
            let (count, exhausted) = self
                .mutate(|| async {
                    let Some(mut record) = self.get::<StreamRecord>(STREAMS, &stream_key).await?
                    else {
                        return Ok((Transaction::new(), (0, true)));
                    };
                    let rows = self
                        .scan_values(EVENTS, &prefix, None, ROWS_PER_DELETE)
                        .await?;
                    let mut txn =
                        Transaction::new().expect_version(STREAMS, &stream_key, record.version);
                    let mut count = 0;
                    let mut exhausted = rows.len() < ROWS_PER_DELETE;
                    for (key, value) in &rows {
                        let first = key.strip_prefix(&prefix).and_then(Position::parse_suffix);
                        let Some(first) = first.filter(|first| first.timestamp < cutoff) else {
                            exhausted = true;
                            break;
                        };
                        for (_, event) in chunks::decode(first, value.bytes()).unwrap_or_default() {
                            record.value.stored_bytes -= i64::try_from(event.size()).unwrap_or(0);
                            count += 1;
                        }
                        txn = txn.delete(EVENTS, key);
                    }
                    txn = txn.put(STREAMS, &stream_key, plain(&record.value)?);
                    Ok((txn, (count, exhausted)))
                })
                .await?;
            deleted += count;
            if exhausted {
                return Ok(deleted);
            }
        }
    }
}
