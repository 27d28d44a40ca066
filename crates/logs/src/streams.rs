//! Log streams: creation, deletion and listing.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::errors;
use palisade_model_logs::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::LogsState;
use crate::db::{EVENTS, STREAMS, Stored, Tenant, plain};

/// Streams a `DescribeLogStreams` page holds when the request gives no limit.
const DEFAULT_PAGE: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StreamRecord {
    pub name: String,
    pub creation_time: i64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_ingestion: Option<i64>,
    /// Events ingested so far: the last event's ingestion sequence number.
    pub sequence: u64,
    pub stored_bytes: i64,
}

pub(crate) fn stream_not_found() -> ServiceError {
    errors::resource_not_found_exception("The specified log stream does not exist.")
}

impl LogsState {
    /// The stream `stream` of group `group`; `ResourceNotFoundException` names whichever of the
    /// two is missing.
    pub(crate) async fn stream(
        &self,
        tenant: &Tenant,
        group: &str,
        stream: &str,
    ) -> Result<Stored<StreamRecord>, ServiceError> {
        match self.get(STREAMS, &tenant.child_key(group, stream)).await? {
            Some(record) => Ok(record),
            None => {
                self.group(tenant, group).await?;
                Err(stream_not_found())
            }
        }
    }
}

/// The log group an operation names by `logGroupName` or `logGroupIdentifier` (a name or an
/// ARN); exactly one must be given.
pub(crate) fn group_name(
    tenant: &Tenant,
    name: Option<String>,
    identifier: Option<String>,
) -> Result<String, ServiceError> {
    match (name, identifier) {
        (Some(name), None) => Ok(name),
        (None, Some(identifier)) => Ok(tenant
            .group_in_arn(&identifier)
            .map_or_else(|| identifier.clone(), str::to_owned)),
        (Some(_), Some(_)) => Err(errors::invalid_parameter_exception(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, None) => Err(errors::invalid_parameter_exception(
            "Should provide either name or ARN of the log group.",
        )),
    }
}

pub(crate) async fn create(
    state: &LogsState,
    ctx: &RequestContext,
    input: CreateLogStreamRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let created = create_if_absent(
        state,
        &tenant,
        &input.log_group_name,
        &input.log_stream_name,
    )
    .await?;
    if created {
        Ok(())
    } else {
        Err(errors::resource_already_exists_exception(
            "The specified log stream already exists",
        ))
    }
}

/// Creates the stream `stream` of `group` unless it exists; answers whether it created it.
pub(crate) async fn create_if_absent(
    state: &LogsState,
    tenant: &Tenant,
    group: &str,
    stream: &str,
) -> Result<bool, ServiceError> {
    state.group(tenant, group).await?;
    let key = tenant.child_key(group, stream);
    // Usually there: a read, not a commit that fails.
    if state.get::<StreamRecord>(STREAMS, &key).await?.is_some() {
        return Ok(false);
    }
    let record = StreamRecord {
        name: stream.to_owned(),
        creation_time: state.now(),
        first_event: None,
        last_event: None,
        last_ingestion: None,
        sequence: 0,
        stored_bytes: 0,
    };
    let txn = Transaction::new()
        .expect_absent(STREAMS, &key)
        .put(STREAMS, &key, plain(&record)?);
    state.try_commit(txn).await
}

pub(crate) async fn delete(
    state: &LogsState,
    ctx: &RequestContext,
    input: DeleteLogStreamRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let (group, stream) = (&input.log_group_name, &input.log_stream_name);
    let record = state.stream(&tenant, group, stream).await?;
    let key = tenant.child_key(group, stream);
    let txn = Transaction::new()
        .expect_version(STREAMS, &key, record.version)
        .delete(STREAMS, &key);
    state.commit_or(txn, stream_not_found).await?;
    state
        .delete_under(EVENTS, &tenant.under_stream(group, stream))
        .await
}

pub(crate) async fn describe(
    state: &LogsState,
    ctx: &RequestContext,
    input: DescribeLogStreamsRequest,
) -> Result<DescribeLogStreamsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let group = group_name(&tenant, input.log_group_name, input.log_group_identifier)?;
    let by_time = input.order_by == Some(OrderBy::LastEventTime);
    if by_time && input.log_stream_name_prefix.is_some() {
        return Err(errors::invalid_parameter_exception(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    state.group(&tenant, &group).await?;
    let prefix = format!(
        "{}{}",
        tenant.under_group(&group),
        input.log_stream_name_prefix.as_deref().unwrap_or_default()
    );
    let mut streams: Vec<StreamRecord> = state
        .scan_all::<StreamRecord>(STREAMS, &prefix)
        .await?
        .into_iter()
        .map(|(_, stream)| stream)
        .collect();
    // The sort key as a string, so that a page's last one can be the token.
    let position = |stream: &StreamRecord| {
        if by_time {
            format!(
                "{:020}:{}",
                stream.last_event.unwrap_or(0).max(0),
                stream.name
            )
        } else {
            stream.name.clone()
        }
    };
    streams.sort_by_key(position);
    if input.descending == Some(true) {
        streams.reverse();
    }
    let descending = input.descending == Some(true);
    let after = crate::paging::decode_token(input.next_token.as_deref())?;
    let limit = crate::paging::limit(input.limit, DEFAULT_PAGE);
    let (page, next_token) = crate::paging::page(
        streams.into_iter().filter(|stream| {
            after.as_ref().is_none_or(|after| {
                let here = position(stream);
                if descending {
                    here < *after
                } else {
                    here > *after
                }
            })
        }),
        limit,
        position,
    );
    let arn = tenant.group_arn(&group);
    Ok(DescribeLogStreamsResponse {
        log_streams: Some(
            page.into_iter()
                .map(|stream| LogStream {
                    arn: Some(format!("{arn}:log-stream:{}", stream.name)),
                    creation_time: Some(stream.creation_time),
                    first_event_timestamp: stream.first_event,
                    last_event_timestamp: stream.last_event,
                    last_ingestion_time: stream.last_ingestion,
                    upload_sequence_token: Some(crate::events::sequence_token(stream.sequence)),
                    // AWS stopped reporting a stream's stored bytes in 2019: always zero.
                    stored_bytes: Some(0),
                    log_stream_name: Some(stream.name),
                })
                .collect(),
        ),
        next_token,
    })
}
