//! Log events: `PutLogEvents` with AWS's batch rules, `GetLogEvents` with its forward and
//! backward tokens, and `FilterLogEvents` across a group's streams.
//!
//! An event's position in its stream is its timestamp then its ingestion sequence number; the
//! event key ends with both, zero-padded, so positions order like keys.
//!
//! The message of an event written to a group with a KMS key is stored sealed (module
//! `encryption`); reads open it, and fail as a write would when Logs may no longer use the key.

use std::collections::VecDeque;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::errors;
use palisade_model_logs::types::*;
use palisade_store::{Transaction, Value};
use serde::Deserialize;

use crate::LogsState;
use crate::chunks::{self, StreamEvents, Written};
use crate::db::{EVENTS, STREAMS, Tenant, plain};
use crate::encryption::SealedMessage;
use crate::pattern::FilterPattern;
use crate::streams::{StreamRecord, group_name};

const MAX_BATCH_BYTES: usize = 1_048_576;
/// What AWS counts per event on top of its message, towards the batch size.
const EVENT_OVERHEAD: usize = 26;
const HOUR_MILLIS: i64 = 3_600_000;
const MAX_BATCH_SPAN: i64 = 24 * HOUR_MILLIS;
const MAX_AGE: i64 = 14 * 24 * HOUR_MILLIS;
const MAX_AHEAD: i64 = 2 * HOUR_MILLIS;
const DAY_MILLIS: i64 = 24 * HOUR_MILLIS;
/// Events a page holds when the request gives no limit.
const DEFAULT_EVENTS: usize = 10_000;

/// An event as it is read: from a chunk, or stored alone in JSON by an earlier build.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventRecord {
    pub timestamp: i64,
    pub ingestion_time: i64,
    /// The message; empty when it is sealed.
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub sealed: Option<SealedMessage>,
}

impl EventRecord {
    /// The length of the message, as stored bytes count it.
    pub fn size(&self) -> usize {
        self.sealed
            .as_ref()
            .map_or(self.message.len(), SealedMessage::plain_len)
    }
}

/// Where an event sits in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub timestamp: i64,
    pub sequence: u64,
}

impl Position {
    pub fn suffix(self) -> String {
        format!("{:019}:{:019}", self.timestamp.max(0), self.sequence)
    }

    pub fn parse_suffix(suffix: &str) -> Option<Self> {
        let (timestamp, sequence) = suffix.split_once(':')?;
        Some(Self {
            timestamp: timestamp.parse().ok()?,
            sequence: sequence.parse().ok()?,
        })
    }
}

/// The sequence token AWS still reports, though it no longer requires one.
pub(crate) fn sequence_token(sequence: u64) -> String {
    format!("{sequence:056}")
}

pub(crate) async fn put(
    state: &LogsState,
    ctx: &RequestContext,
    input: PutLogEventsRequest,
) -> Result<PutLogEventsResponse, ServiceError> {
    put_for(state, &Tenant::of(ctx), input).await
}

impl LogsState {
    /// Writes `events` (in time order, within what one `PutLogEvents` takes) to the stream
    /// `stream` of the log group `group` in `account`/`region`, creating the stream when it does
    /// not exist yet: how EventBridge delivers to a log group target and CloudTrail streams a
    /// trail's records. Events CloudWatch Logs would refuse (too old, too far ahead, past the
    /// group's retention) are an error here rather than a partial success.
    pub async fn append_events(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        events: Vec<InputLogEvent>,
    ) -> Result<(), ServiceError> {
        let tenant = Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        };
        crate::streams::create_if_absent(self, &tenant, group, stream).await?;
        let request = PutLogEventsRequest {
            log_group_name: group.to_owned(),
            log_stream_name: stream.to_owned(),
            log_events: events,
            sequence_token: None,
            entity: None,
        };
        let response = put_for(self, &tenant, request).await?;
        if response.rejected_log_events_info.is_some() {
            return Err(errors::invalid_parameter_exception(
                "Log events were too old, too far in the future or past the log group's retention.",
            ));
        }
        Ok(())
    }
}

async fn put_for(
    state: &LogsState,
    tenant: &Tenant,
    input: PutLogEventsRequest,
) -> Result<PutLogEventsResponse, ServiceError> {
    let events = &input.log_events;
    check_batch(events)?;
    let (group, stream) = (&input.log_group_name, &input.log_stream_name);
    let group_record = state.group(tenant, group).await?.value;
    let retention = group_record.retention_in_days;
    let now = state.now();
    let too_old = events
        .iter()
        .rposition(|event| event.timestamp < now - MAX_AGE);
    let expired = retention.and_then(|days| {
        let cutoff = now - i64::from(days) * DAY_MILLIS;
        events.iter().rposition(|event| event.timestamp < cutoff)
    });
    let too_new = events
        .iter()
        .position(|event| event.timestamp > now + MAX_AHEAD);
    let first = too_old.max(expired).map_or(0, |index| index + 1);
    let end = too_new.unwrap_or(events.len());
    let accepted = events.get(first..end).unwrap_or_default();
    // Sealed once, outside the transaction that may run again.
    let sealer = state.sealer(tenant, &group_record).await?;
    let stored: Vec<(&InputLogEvent, Option<SealedMessage>)> = accepted
        .iter()
        .map(|event| {
            let sealed = sealer.as_ref().map(|sealer| sealer.seal(&event.message));
            Ok((event, sealed.transpose()?))
        })
        .collect::<Result<_, ServiceError>>()?;
    let key = tenant.child_key(group, stream);
    let sequence = state
        .mutate(|| async {
            let mut record = state.stream(tenant, group, stream).await?;
            let mut txn = Transaction::new().expect_version(STREAMS, &key, record.version);
            let stream_record: &mut StreamRecord = &mut record.value;
            // One chunk per run of events with one timestamp (the batch is in time order).
            for run in stored.chunk_by(|(a, _), (b, _)| a.timestamp == b.timestamp) {
                let Some(((first, _), _)) = run.split_first() else {
                    continue;
                };
                let position = Position {
                    timestamp: first.timestamp,
                    sequence: stream_record.sequence + 1,
                };
                let chunk = chunks::encode(
                    now,
                    run.iter().map(|(event, sealed)| Written {
                        message: &event.message,
                        sealed: sealed.as_ref(),
                    }),
                );
                let chunk_key = format!(
                    "{}{}",
                    tenant.under_stream(group, stream),
                    position.suffix()
                );
                txn = txn.put(EVENTS, &chunk_key, Value::Plain(chunk));
                for (event, _) in run {
                    stream_record.sequence += 1;
                    stream_record.first_event = Some(
                        stream_record
                            .first_event
                            .map_or(event.timestamp, |first| first.min(event.timestamp)),
                    );
                    stream_record.last_event = Some(
                        stream_record
                            .last_event
                            .map_or(event.timestamp, |last| last.max(event.timestamp)),
                    );
                    stream_record.stored_bytes += i64::try_from(event.message.len()).unwrap_or(0);
                }
            }
            if !accepted.is_empty() {
                stream_record.last_ingestion = Some(now);
            }
            let sequence = stream_record.sequence;
            txn = txn.put(STREAMS, &key, plain(&record.value)?);
            Ok((txn, sequence))
        })
        .await?;
    state.record_metrics(tenant, group, accepted).await;
    let index = |index: usize| i32::try_from(index).ok();
    let rejected = (too_old.is_some() || expired.is_some() || too_new.is_some()).then(|| {
        RejectedLogEventsInfo {
            too_new_log_event_start_index: too_new.and_then(index),
            too_old_log_event_end_index: too_old.and_then(index),
            expired_log_event_end_index: expired.and_then(index),
        }
    });
    Ok(PutLogEventsResponse {
        next_sequence_token: Some(sequence_token(sequence)),
        rejected_log_events_info: rejected,
        rejected_entity_info: None,
    })
}

/// AWS's rules for a whole batch: chronological order, a span of at most 24 hours, and at most
/// 1,048,576 bytes counting 26 per event (the model bounds the count to 10,000).
fn check_batch(events: &[InputLogEvent]) -> Result<(), ServiceError> {
    if events
        .windows(2)
        .any(|pair| matches!(pair, [earlier, later] if later.timestamp < earlier.timestamp))
    {
        return Err(errors::invalid_parameter_exception(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    if let (Some(first), Some(last)) = (events.first(), events.last())
        && last.timestamp - first.timestamp > MAX_BATCH_SPAN
    {
        return Err(errors::invalid_parameter_exception(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }
    let size: usize = events
        .iter()
        .map(|event| event.message.len() + EVENT_OVERHEAD)
        .sum();
    if size > MAX_BATCH_BYTES {
        return Err(errors::invalid_parameter_exception(format!(
            "Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    Ok(())
}

/// Which way a `GetLogEvents` page reads, and from where (exclusive).
enum Direction {
    Forward(Position),
    Backward(Position),
}

fn parse_token(token: &str) -> Option<Direction> {
    let (direction, position) = token.split_at_checked(2)?;
    let position = Position {
        timestamp: position.get(..19)?.parse().ok()?,
        sequence: position.get(19..)?.parse().ok()?,
    };
    match direction {
        "f/" => Some(Direction::Forward(position)),
        "b/" => Some(Direction::Backward(position)),
        _ => None,
    }
}

/// A `GetLogEvents` token: `f/` or `b/` (the direction) and 38 digits (the position).
fn token(direction: &str, position: Position) -> String {
    format!(
        "{direction}/{:019}{:019}",
        position.timestamp.max(0),
        position.sequence
    )
}

pub(crate) async fn get(
    state: &LogsState,
    ctx: &RequestContext,
    input: GetLogEventsRequest,
) -> Result<GetLogEventsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let group = group_name(&tenant, input.log_group_name, input.log_group_identifier)?;
    let group_record = state.group(&tenant, &group).await?.value;
    state
        .stream(&tenant, &group, &input.log_stream_name)
        .await?;
    let limit = crate::paging::limit(input.limit, DEFAULT_EVENTS);
    let start = input.start_time.unwrap_or(0).max(0);
    let end = input.end_time.unwrap_or(i64::MAX);
    let direction = match input.next_token.as_deref() {
        Some(token) => parse_token(token).ok_or_else(crate::paging::invalid_token)?,
        None if input.start_from_head == Some(true) => Direction::Forward(Position {
            timestamp: start,
            sequence: 0,
        }),
        None => Direction::Backward(Position {
            timestamp: end,
            sequence: 0,
        }),
    };
    let prefix = tenant.under_stream(&group, &input.log_stream_name);
    let mut page: VecDeque<(Position, EventRecord)> = VecDeque::new();
    match direction {
        Direction::Forward(after) => {
            let from = after.max(Position {
                timestamp: start,
                sequence: 0,
            });
            let mut events = StreamEvents::from(prefix, from.timestamp);
            while let Some((position, event)) = events.next(state).await? {
                if position <= from {
                    continue;
                }
                if event.timestamp >= end || page.len() == limit {
                    break;
                }
                page.push_back((position, event));
            }
        }
        // Read from the end, so a page of the newest events costs what a page of the oldest
        // does, however long the stream.
        Direction::Backward(before) => {
            let mut events = StreamEvents::before(prefix, before);
            while let Some((position, event)) = events.next(state).await? {
                if position >= before || event.timestamp >= end {
                    continue;
                }
                if event.timestamp < start || page.len() == limit {
                    break;
                }
                page.push_front((position, event));
            }
        }
    }
    let (next_forward, next_backward) = match (page.front(), page.back(), direction) {
        (Some((first, _)), Some((last, _)), _) => (token("f", *last), token("b", *first)),
        (_, _, Direction::Forward(at)) => (
            token("f", at),
            token(
                "b",
                Position {
                    sequence: at.sequence + 1,
                    ..at
                },
            ),
        ),
        (_, _, Direction::Backward(at)) => (
            token(
                "f",
                Position {
                    sequence: at.sequence.saturating_sub(1),
                    ..at
                },
            ),
            token("b", at),
        ),
    };
    let mut opener = state.opener(&tenant, &group_record);
    let mut events = Vec::with_capacity(page.len());
    for (_, event) in page {
        events.push(OutputLogEvent {
            timestamp: Some(event.timestamp),
            message: Some(opener.message(event.message, event.sealed.as_ref()).await?),
            ingestion_time: Some(event.ingestion_time),
        });
    }
    Ok(GetLogEventsResponse {
        events: Some(events),
        next_forward_token: Some(next_forward),
        next_backward_token: Some(next_backward),
    })
}

/// Where a `FilterLogEvents` page stopped: the last event returned, across streams ordered by
/// timestamp, then stream name, then sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cursor {
    timestamp: i64,
    stream: String,
    sequence: u64,
}

impl Cursor {
    /// The cursor as the text its token encodes.
    fn position(&self) -> String {
        format!("{}:{}:{}", self.timestamp, self.sequence, self.stream)
    }

    fn decode(token: &str) -> Result<Self, ServiceError> {
        let text = crate::paging::decode_token(Some(token))?.unwrap_or_default();
        let mut parts = text.splitn(3, ':');
        let parsed = (|| {
            Some(Self {
                timestamp: parts.next()?.parse().ok()?,
                sequence: parts.next()?.parse().ok()?,
                stream: parts.next()?.to_owned(),
            })
        })();
        parsed.ok_or_else(crate::paging::invalid_token)
    }
}

pub(crate) async fn filter(
    state: &LogsState,
    ctx: &RequestContext,
    input: FilterLogEventsRequest,
) -> Result<FilterLogEventsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let group = group_name(&tenant, input.log_group_name, input.log_group_identifier)?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(errors::invalid_parameter_exception(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    let pattern = FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or_default())
        .map_err(|error| errors::invalid_parameter_exception(error.to_string()))?;
    let group_record = state.group(&tenant, &group).await?.value;
    let mut opener = state.opener(&tenant, &group_record);
    let cursor = input
        .next_token
        .as_deref()
        .map(Cursor::decode)
        .transpose()?;
    let limit = crate::paging::limit(input.limit, DEFAULT_EVENTS);
    let start = input.start_time.unwrap_or(0).max(0);
    let end = input.end_time.unwrap_or(i64::MAX);
    let prefix = format!(
        "{}{}",
        tenant.under_group(&group),
        input.log_stream_name_prefix.as_deref().unwrap_or_default()
    );
    let streams: Vec<String> = state
        .scan_all::<StreamRecord>(STREAMS, &prefix)
        .await?
        .into_iter()
        .map(|(_, stream)| stream.name)
        .filter(|name| {
            input
                .log_stream_names
                .as_ref()
                .is_none_or(|names| names.contains(name))
        })
        .collect();
    let mut found: Vec<(Cursor, EventRecord)> = Vec::new();
    for stream in &streams {
        let from = start.max(cursor.as_ref().map_or(0, |cursor| cursor.timestamp));
        let mut events = StreamEvents::from(tenant.under_stream(&group, stream), from);
        let mut matched = 0;
        while let Some((position, mut event)) = events.next(state).await? {
            if event.timestamp > end || matched > limit {
                break;
            }
            let here = Cursor {
                timestamp: position.timestamp,
                stream: stream.clone(),
                sequence: position.sequence,
            };
            if cursor.as_ref().is_some_and(|cursor| here <= *cursor) {
                continue;
            }
            if let Some(sealed) = event.sealed.take() {
                event.message = opener.message(String::new(), Some(&sealed)).await?;
            }
            if !pattern.matches(&event.message) {
                continue;
            }
            matched += 1;
            found.push((here, event));
        }
    }
    found.sort_by(|(a, _), (b, _)| a.cmp(b));
    let (found, next_token) = crate::paging::page(found, limit, |(cursor, _)| cursor.position());
    Ok(FilterLogEventsResponse {
        events: Some(
            found
                .into_iter()
                .map(|(at, event)| FilteredLogEvent {
                    event_id: Some(event_id(&at)),
                    log_stream_name: Some(at.stream),
                    timestamp: Some(event.timestamp),
                    message: Some(event.message),
                    ingestion_time: Some(event.ingestion_time),
                })
                .collect(),
        ),
        // AWS stopped reporting searched streams in 2020 and always answers an empty list.
        searched_log_streams: Some(Vec::new()),
        next_token,
    })
}

/// A 56-digit event id, as AWS's look: the timestamp, the sequence number and a digest of the
/// stream name, so that ids differ across a group's streams.
fn event_id(at: &Cursor) -> String {
    let digest = at
        .stream
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!(
        "{:020}{:020}{:016}",
        at.timestamp.max(0),
        at.sequence,
        digest % 10_u64.pow(16)
    )
}
