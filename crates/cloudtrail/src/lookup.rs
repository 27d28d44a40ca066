//! `LookupEvents`: the account's event history in the caller's region, newest first, over the
//! last 90 days, filtered by at most one attribute.
//!
//! The records were copied into the store by the audit indexer; a lookup first waits for the
//! indexer to catch up with every record durable when it starts, so a caller sees its own calls
//! (AWS is eventually consistent here; being consistent is a refinement clients cannot tell
//! apart from a fast CloudTrail).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_audit::{KEYSPACE, history};
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    Event, EventCategory, LookupAttribute, LookupAttributeKey, LookupEventsRequest,
    LookupEventsResponse, Resource,
};
use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::CloudTrailState;

/// How far back event history reaches.
const RETENTION_MILLIS: i64 = 90 * 24 * 60 * 60 * 1000;
/// `MaxResults` when the request gives none.
const DEFAULT_MAX_RESULTS: i32 = 50;
/// Records read from the store at a time while filtering.
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

    let account = ctx.account().as_str();
    let region = ctx.region.as_str();
    let query = query_fingerprint(filter, input.start_time, input.end_time);
    let mut position = match &input.next_token {
        Some(token) => decode_token(token, &query)?,
        None => history::at_or_before(account, region, end),
    };
    state.audit.flush().await;
    let prefix = history::prefix(account, region);
    let mut events = Vec::new();
    let mut exhausted = false;
    'scan: while events.len() < page_size {
        let batch = state
            .store
            .scan(KEYSPACE, &prefix, Some(&position), SCAN_BATCH)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?;
        let last_batch = batch.len() < SCAN_BATCH;
        for (key, entry) in batch {
            if history::millis_of(&key).is_none_or(|time| time < start) {
                exhausted = true;
                break 'scan;
            }
            position = key;
            let Ok(record) = serde_json::from_slice::<Json>(entry.value.bytes()) else {
                continue;
            };
            if filter.is_none_or(|filter| matches(&record, filter)) {
                events.push(event(record));
                if events.len() == page_size {
                    break 'scan;
                }
            }
        }
        if last_batch {
            exhausted = true;
            break;
        }
    }
    // A full page may be the last; the next call then answers an empty page, as paging allows.
    let next_token = (!exhausted).then(|| encode_token(&position, &query));
    Ok(LookupEventsResponse {
        events: Some(events),
        next_token,
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
        username: username(&record),
        resources: Some(resources(&record)),
        cloud_trail_event: Some(record.to_string()),
    }
}

/// The user name history shows: `root`, the IAM user's name, or a role session's name.
fn username(record: &Json) -> Option<String> {
    let identity = record.get("userIdentity")?;
    match identity.get("type").and_then(Json::as_str)? {
        "Root" => Some("root".to_owned()),
        "IAMUser" => identity
            .get("userName")
            .and_then(Json::as_str)
            .map(str::to_owned),
        "AssumedRole" => identity
            .get("arn")
            .and_then(Json::as_str)
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned),
        _ => None,
    }
}

fn resources(record: &Json) -> Vec<Resource> {
    record
        .get("resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|resource| Resource {
            resource_type: resource
                .get("type")
                .and_then(Json::as_str)
                .map(str::to_owned),
            resource_name: resource
                .get("ARN")
                .and_then(Json::as_str)
                .map(str::to_owned),
        })
        .collect()
}

fn matches(record: &Json, filter: &LookupAttribute) -> bool {
    let wanted = filter.attribute_value.as_str();
    let text = |pointer: &str| record.pointer(pointer).and_then(Json::as_str);
    match &filter.attribute_key {
        LookupAttributeKey::EventId => text("/eventID") == Some(wanted),
        LookupAttributeKey::EventName => text("/eventName") == Some(wanted),
        LookupAttributeKey::EventSource => text("/eventSource") == Some(wanted),
        LookupAttributeKey::AccessKeyId => text("/userIdentity/accessKeyId") == Some(wanted),
        LookupAttributeKey::Username => username(record).as_deref() == Some(wanted),
        LookupAttributeKey::ReadOnly => record
            .get("readOnly")
            .and_then(Json::as_bool)
            .is_some_and(|read_only| read_only.to_string() == wanted),
        LookupAttributeKey::ResourceType => resources(record)
            .iter()
            .any(|resource| resource.resource_type.as_deref() == Some(wanted)),
        LookupAttributeKey::ResourceName => resources(record)
            .iter()
            .any(|resource| resource.resource_name.as_deref() == Some(wanted)),
        _ => false,
    }
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

fn encode_token(position: &str, query: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{query}\n{position}"))
}

fn decode_token(token: &str, query: &str) -> Result<String, ServiceError> {
    let invalid = || errors::invalid_next_token_exception("Invalid NextToken.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (token_query, position) = text.split_once('\n').ok_or_else(invalid)?;
    if token_query != query {
        return Err(invalid());
    }
    Ok(position.to_owned())
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
        let token = encode_token("acct/us-east-1/123/abc", "1:2:");
        assert_eq!(
            decode_token(&token, "1:2:").unwrap(),
            "acct/us-east-1/123/abc"
        );
        assert!(decode_token(&token, "1:3:").is_err());
        assert!(decode_token("!!!", "1:2:").is_err());
    }
}
