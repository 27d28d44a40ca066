//! `LookupEvents`: the account's event history in the caller's region, newest first, over the
//! last 90 days, filtered by at most one attribute.
//!
//! The records were copied into the store by the audit indexer; a lookup first waits for the
//! indexer to catch up with every record durable when it starts, so a caller sees its own calls
//! (AWS is eventually consistent here; being consistent is a refinement clients cannot tell
//! apart from a fast CloudTrail).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_audit::attributes::{self, Attribute};
use palisade_audit::{KEYSPACE, history};
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    Event, EventCategory, LookupAttribute, LookupAttributeKey, LookupEventsRequest,
    LookupEventsResponse, Resource,
};
use palisade_store::StoreError;
use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::CloudTrailState;

/// How far back event history reaches.
const RETENTION_MILLIS: i64 = 90 * 24 * 60 * 60 * 1000;
/// `MaxResults` when the request gives none.
const DEFAULT_MAX_RESULTS: i32 = 50;
/// Records read from the store at a time while filtering records one by one.
const SCAN_BATCH: usize = 500;

pub(crate) async fn lookup_events(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: LookupEventsRequest,
) -> Result<LookupEventsResponse, ServiceError> {
    // The model bounds MaxResults to 1..=50, checked before the handler runs.
    let page_size = usize::try_from(input.max_results.unwrap_or(DEFAULT_MAX_RESULTS))
        .unwrap_or(1)
        .clamp(1, 50);
    let filter = match input.lookup_attributes.as_deref().unwrap_or_default() {
        [] => None,
        [attribute] => Some(attribute),
        _ => {
            return Err(errors::invalid_lookup_attributes_exception(
                "You can only specify one lookup attribute.",
            ));
        }
    };
    let now = state.clock.now_millis();
    let start = input.start_time.map_or(now - RETENTION_MILLIS, millis);
    let end = input.end_time.map_or(now, millis);
    if start > end {
        return Err(errors::invalid_time_range_exception(
            "Start time must be before end time.",
        ));
    }
    // Palisade records no Insights events.
    if matches!(input.event_category, Some(EventCategory::Insight)) {
        return Ok(LookupEventsResponse::default());
    }
    let query = query_fingerprint(filter, input.start_time, input.end_time);
    let position = match &input.next_token {
        Some(token) => decode_token(token, &query)?,
        None => history::tail_at_or_before(end),
    };
    let filter = match filter {
        None => None,
        // No record has a value for a key this build does not know.
        Some(filter) => match attribute(&filter.attribute_key) {
            Some(attribute) => Some((attribute, filter.attribute_value.as_str())),
            None => return Ok(empty_page()),
        },
    };

    state.audit.flush().await;
    let account = ctx.account().as_str();
    let region = ctx.region.as_str();
    let tenant = (account, region);
    let page = match filter {
        None => read_records_page(state, tenant, None, position, start, page_size).await?,
        Some((Attribute::EventId, id))
            if let Some(key) = history::key_of_event(account, region, id) =>
        {
            return Ok(LookupEventsResponse {
                events: Some(read_event(state, &key, &position, start).await?),
                next_token: None,
            });
        }
        Some((attribute, value)) => match attributes::prefix(account, region, attribute, value) {
            Some(prefix) if attributes::ready(&state.store).await.map_err(internal)? => {
                read_index_page(state, tenant, prefix, position, start, page_size).await?
            }
            // Not indexed (yet, or at all): the records themselves are read and filtered.
            _ => {
                let filter = Some((attribute, value));
                read_records_page(state, tenant, filter, position, start, page_size).await?
            }
        },
    };
    Ok(LookupEventsResponse {
        events: Some(page.events),
        next_token: page.resume_after.map(|tail| encode_token(&tail, &query)),
    })
}

struct Page {
    events: Vec<Event>,
    /// Where the next page starts (the tail of the last record answered), when there may be
    /// one.
    resume_after: Option<String>,
}

/// Reads up to `page_size` events of the account and region `tenant` after `position` (a
/// [`history::tail`]) back to `start`, and one candidate beyond them, whose presence means there
/// is a next page; from the records themselves, those without the `filter`'s value skipped.
async fn read_records_page(
    state: &CloudTrailState,
    (account, region): (&str, &str),
    filter: Option<(Attribute, &str)>,
    mut position: String,
    start: i64,
    page_size: usize,
) -> Result<Page, ServiceError> {
    let prefix = history::prefix(account, region);
    let batch_size = if filter.is_some() {
        SCAN_BATCH
    } else {
        page_size + 1
    };
    let mut events = Vec::new();
    loop {
        let after = format!("{prefix}{position}");
        let batch = state
            .store
            .scan(KEYSPACE, &prefix, Some(&after), batch_size)
            .await
            .map_err(internal)?;
        let last_batch = batch.len() < batch_size;
        for (key, entry) in batch {
            let Some(tail) = history::tail(&key) else {
                continue;
            };
            if history::millis_of(tail).is_none_or(|time| time < start) {
                return Ok(Page {
                    events,
                    resume_after: None,
                });
            }
            if events.len() == page_size {
                return Ok(Page {
                    events,
                    resume_after: Some(position),
                });
            }
            position = tail.to_owned();
            let Ok(record) = serde_json::from_slice::<Json>(entry.value.bytes()) else {
                continue;
            };
            let wanted =
                filter.is_none_or(|(attribute, value)| attributes::has(&record, attribute, value));
            if wanted {
                events.push(event(record));
            }
        }
        if last_batch {
            return Ok(Page {
                events,
                resume_after: None,
            });
        }
    }
}

/// As [`read_records_page`], from the attribute index's entries of one value (its `prefix`).
async fn read_index_page(
    state: &CloudTrailState,
    (account, region): (&str, &str),
    prefix: String,
    mut position: String,
    start: i64,
    page_size: usize,
) -> Result<Page, ServiceError> {
    let records = history::prefix(account, region);
    let mut entries = attributes::Entries::new(prefix, &position, start);
    let mut events = Vec::new();
    while let Some(tail) = entries.next(&state.store).await.map_err(internal)? {
        if events.len() == page_size {
            return Ok(Page {
                events,
                resume_after: Some(position),
            });
        }
        let record = state
            .store
            .get(KEYSPACE, &format!("{records}{tail}"))
            .await
            .map_err(internal)?;
        position = tail;
        // An entry whose record is gone (wiped by a reset as it was written) is skipped.
        if let Some(record) =
            record.and_then(|record| serde_json::from_slice::<Json>(record.value.bytes()).ok())
        {
            events.push(event(record));
        }
    }
    Ok(Page {
        events,
        resume_after: None,
    })
}

/// The event stored under `key`, when it is after `position` and not before `start`.
async fn read_event(
    state: &CloudTrailState,
    key: &str,
    position: &str,
    start: i64,
) -> Result<Vec<Event>, ServiceError> {
    let in_range = history::tail(key).is_some_and(|tail| tail > position)
        && history::millis_of(key).is_some_and(|time| time >= start);
    if !in_range {
        return Ok(Vec::new());
    }
    let record = state.store.get(KEYSPACE, key).await.map_err(internal)?;
    Ok(record
        .and_then(|record| serde_json::from_slice::<Json>(record.value.bytes()).ok())
        .map(event)
        .into_iter()
        .collect())
}

fn empty_page() -> LookupEventsResponse {
    LookupEventsResponse {
        events: Some(Vec::new()),
        next_token: None,
    }
}

fn internal(error: StoreError) -> ServiceError {
    ServiceError::internal(error.to_string())
}

fn attribute(key: &LookupAttributeKey) -> Option<Attribute> {
    Some(match key {
        LookupAttributeKey::EventId => Attribute::EventId,
        LookupAttributeKey::EventName => Attribute::EventName,
        LookupAttributeKey::ReadOnly => Attribute::ReadOnly,
        LookupAttributeKey::Username => Attribute::Username,
        LookupAttributeKey::ResourceType => Attribute::ResourceType,
        LookupAttributeKey::ResourceName => Attribute::ResourceName,
        LookupAttributeKey::EventSource => Attribute::EventSource,
        LookupAttributeKey::AccessKeyId => Attribute::AccessKeyId,
        _ => return None,
    })
}

/// A timestamp of the API in whole milliseconds.
pub(crate) fn millis(time: Timestamp) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a timestamp's milliseconds fit an i64 for any date the API accepts; the cast saturates"
    )]
    let millis = (time.0 * 1000.0).floor() as i64;
    millis
}

/// The event as `LookupEvents` lists it: a summary, and the record itself as JSON text.
fn event(record: Json) -> Event {
    let text = |name: &str| record.get(name).and_then(Json::as_str).map(str::to_owned);
    let event_time = record
        .get("eventTime")
        .and_then(Json::as_str)
        .and_then(parse_event_time)
        .map(Timestamp::from_millis);
    Event {
        event_id: text("eventID"),
        event_name: text("eventName"),
        read_only: record
            .get("readOnly")
            .and_then(Json::as_bool)
            .map(|read_only| read_only.to_string()),
        access_key_id: record
            .pointer("/userIdentity/accessKeyId")
            .and_then(Json::as_str)
            .filter(|key| !key.is_empty())
            .map(str::to_owned),
        event_time,
        event_source: text("eventSource"),
        username: attributes::username(&record),
        resources: Some(resources(&record)),
        cloud_trail_event: Some(record.to_string()),
    }
}

fn resources(record: &Json) -> Vec<Resource> {
    attributes::resources(record)
        .into_iter()
        .map(|(resource_type, resource_name)| Resource {
            resource_type,
            resource_name,
        })
        .collect()
}

/// `eventTime` (`2023-11-14T22:13:20Z`) in milliseconds.
pub(crate) fn parse_event_time(text: &str) -> Option<i64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

/// What a NextToken must be used with: the same filter and time range, as the request gave
/// them (a default end is "now", which moves between pages).
fn query_fingerprint(
    filter: Option<&LookupAttribute>,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> String {
    let filter = filter.map_or_else(String::new, |filter| {
        format!(
            "{}={}",
            filter.attribute_key.as_str(),
            filter.attribute_value
        )
    });
    let time =
        |time: Option<Timestamp>| time.map_or_else(String::new, |time| millis(time).to_string());
    format!("{}:{}:{filter}", time(start), time(end))
}

fn encode_token(tail: &str, query: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{query}\n{tail}"))
}

/// The position a token resumes after: a record's [`history::tail`]. Tokens of earlier builds
/// hold the record's whole key, which ends in it.
fn decode_token(token: &str, query: &str) -> Result<String, ServiceError> {
    let invalid = || errors::invalid_next_token_exception("Invalid NextToken.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (token_query, position) = text.split_once('\n').ok_or_else(invalid)?;
    if token_query != query {
        return Err(invalid());
    }
    let tail = history::tail(position).unwrap_or(position);
    let (time, event_id) = tail.split_once('/').ok_or_else(invalid)?;
    let well_formed = time.len() == 13
        && time.bytes().all(|byte| byte.is_ascii_digit())
        && (1..=64).contains(&event_id.len())
        && event_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
    if !well_formed {
        return Err(invalid());
    }
    Ok(tail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_parse_back_to_milliseconds() {
        assert_eq!(
            parse_event_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_event_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_event_time("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_event_time("garbage"), None);
    }

    #[test]
    fn a_token_only_serves_the_query_it_came_from() {
        let tail = "9999999998999/0c6a1e2f-aaaa";
        let token = encode_token(tail, "1:2:");
        assert_eq!(decode_token(&token, "1:2:").unwrap(), tail);
        assert!(decode_token(&token, "1:3:").is_err());
        assert!(decode_token("!!!", "1:2:").is_err());
        // An earlier build's token, holding the whole key.
        let old = encode_token(&format!("111122223333/us-east-1/{tail}"), "1:2:");
        assert_eq!(decode_token(&old, "1:2:").unwrap(), tail);
        for position in [
            "",
            "123/abc",
            "9999999998999/",
            "9999999998999/a\u{0}b",
            "x/y/z",
        ] {
            let token = encode_token(position, "1:2:");
            assert!(decode_token(&token, "1:2:").is_err(), "{position:?}");
        }
    }
}
