//! The attribute index of event history, in the store's [`KEYSPACE`]: for every value a record
//! has for one of `LookupEvents`' lookup attributes, an empty entry
//! `<account>/<region>/<attribute>/<escaped value>/<inverted time>/<eventID>`.
//!
//! A lookup by one attribute then reads that value's entries newest first, from the end of its
//! time range, and fetches each record by its key in [`crate::KEYSPACE`], which ends in the same
//! `<inverted time>/<eventID>` (see [`crate::history`]); without the index it would read every
//! record of the range to find the few that match. Event ids this build writes tell their
//! record's key ([`crate::history::key_of_event`]), so only records of earlier builds have an
//! `EventId` entry. The indexer writes a record's entries in the transaction that writes the
//! record. Records written by builds before the index existed are indexed by a backfill at start;
//! until it is done ([`ready`]), lookups read the records.

use std::borrow::Cow;

use palisade_store::{MAX_KEY_LEN, Store, StoreError, Transaction, Value};
use serde::Deserialize;
use serde_json::Value as Json;

/// The keyspace holding the index entries, and the backfill's progress under [`BACKFILL_KEY`].
pub const KEYSPACE: &str = "audit/attributes";

/// The backfill's progress: `{"after": <last record key indexed>}` while it runs, then
/// `{"done": true}`. `~` sorts after every account id, so no lookup's prefix reaches it.
pub(crate) const BACKFILL_KEY: &str = "~backfill";

/// The longest `<inverted time>/<eventID>` an entry ends in (event ids are UUIDs).
const TAIL_MAX: usize = 13 + 1 + 36;
/// Records read per backfill transaction.
const BACKFILL_BATCH: usize = 2048;

/// A lookup attribute, as `LookupEvents` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// `eventID`.
    EventId,
    /// `eventName`.
    EventName,
    /// `readOnly`, as `true` or `false`.
    ReadOnly,
    /// The user name history shows: `root`, the IAM user's name, or a role session's name.
    Username,
    /// The `type` of any of the record's `resources`.
    ResourceType,
    /// The `ARN` of any of the record's `resources`.
    ResourceName,
    /// `eventSource`.
    EventSource,
    /// `userIdentity.accessKeyId`.
    AccessKeyId,
}

impl Attribute {
    /// Its segment in the index's keys; short, since every entry repeats it.
    fn code(self) -> &'static str {
        match self {
            Attribute::EventId => "id",
            Attribute::EventName => "name",
            Attribute::ReadOnly => "ro",
            Attribute::Username => "user",
            Attribute::ResourceType => "rtype",
            Attribute::ResourceName => "rname",
            Attribute::EventSource => "source",
            Attribute::AccessKeyId => "key",
        }
    }
}

/// The prefix of the entries of records of `account` in `region` whose `attribute` is `value`;
/// `None` when the value is too long for its entries to fit a store key, so it is not indexed.
pub fn prefix(account: &str, region: &str, attribute: Attribute, value: &str) -> Option<String> {
    let mut prefix = format!("{account}/{region}/{}/", attribute.code());
    escape_into(&mut prefix, value);
    prefix.push('/');
    (prefix.len() + TAIL_MAX <= MAX_KEY_LEN).then_some(prefix)
}

/// Whether `record` has `value` for `attribute`: exactly when the index lists it under that
/// value.
pub fn has(record: &Json, attribute: Attribute, value: &str) -> bool {
    Listed::deserialize(record).is_ok_and(|listed| {
        listed
            .values()
            .any(|(listed, listed_value)| listed == attribute && listed_value == value)
    })
}

/// The user name event history shows for `record`: see [`Attribute::Username`].
pub fn username(record: &Json) -> Option<String> {
    let identity = Identity::deserialize(record.get("userIdentity")?).ok()?;
    identity.username().map(str::to_owned)
}

/// The record's `resources`, as (type, ARN).
pub fn resources(record: &Json) -> Vec<(Option<String>, Option<String>)> {
    let Some(Ok(resources)) = record.get("resources").map(Vec::<Resource>::deserialize) else {
        return Vec::new();
    };
    resources
        .into_iter()
        .map(|resource| {
            (
                resource.kind.map(Cow::into_owned),
                resource.arn.map(Cow::into_owned),
            )
        })
        .collect()
}

/// The fields of a record that the index lists it under. Read alone, borrowed from the record's
/// JSON where it has no escapes, they cost the indexer a fraction of a whole
/// `serde_json::Value`.
#[derive(Deserialize)]
struct Listed<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "readOnly")]
    read_only: Option<bool>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Option<Identity<'a>>,
    #[serde(borrow)]
    resources: Option<Vec<Resource<'a>>>,
}

#[derive(Deserialize)]
struct Identity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "userName", borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(rename = "accessKeyId", borrow)]
    access_key_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "ARN", borrow)]
    arn: Option<Cow<'a, str>>,
}

impl Listed<'_> {
    /// Every (attribute, value) pair the record is listed under.
    fn values(&self) -> impl Iterator<Item = (Attribute, &str)> {
        let identity = self.user_identity.as_ref();
        let single = [
            (Attribute::EventId, self.event_id.as_deref()),
            (Attribute::EventName, self.event_name.as_deref()),
            (Attribute::EventSource, self.event_source.as_deref()),
            (
                Attribute::AccessKeyId,
                identity.and_then(|identity| identity.access_key_id.as_deref()),
            ),
            (Attribute::Username, identity.and_then(Identity::username)),
        ]
        .into_iter()
        .filter_map(|(attribute, value)| Some((attribute, value?)));
        let read_only = self
            .read_only
            .map(|read_only| (Attribute::ReadOnly, bool_text(read_only)));
        let resources = self.resources.iter().flatten().flat_map(|resource| {
            [
                resource
                    .kind
                    .as_deref()
                    .map(|kind| (Attribute::ResourceType, kind)),
                resource
                    .arn
                    .as_deref()
                    .map(|arn| (Attribute::ResourceName, arn)),
            ]
            .into_iter()
            .flatten()
        });
        single.chain(read_only).chain(resources)
    }
}

impl Identity<'_> {
    /// The user name event history shows: `root`, the IAM user's name, or a role session's name.
    fn username(&self) -> Option<&str> {
        match self.kind.as_deref()? {
            "Root" => Some("root"),
            "IAMUser" => self.user_name.as_deref(),
            "AssumedRole" => self.arn.as_deref().and_then(|arn| arn.rsplit('/').next()),
            _ => None,
        }
    }
}

/// Adds the index entries of the record stored under `record_key` (a [`crate::history`] key),
/// whose JSON is `record`.
pub(crate) fn index(mut transaction: Transaction, record_key: &str, record: &[u8]) -> Transaction {
    for key in entry_keys(record_key, record) {
        transaction = transaction.put(KEYSPACE, &key, Value::Plain(Vec::new()));
    }
    transaction
}

/// Whether every record in the store is indexed, so lookups may read the index alone.
pub async fn ready(store: &Store) -> Result<bool, StoreError> {
    Ok(matches!(progress(store).await?, Progress::Done))
}

/// Notes that every record in the store is indexed: after a reset, or for tools that fill a
/// store through [`crate::index_record`].
pub async fn mark_ready(store: &Store) -> Result<(), StoreError> {
    store
        .commit(Transaction::new().put(KEYSPACE, BACKFILL_KEY, progress_value(None)))
        .await
}

/// Indexes the next records the backfill has not reached, in one transaction with its
/// progress; answers whether it is done. Entries the indexer already wrote are written again,
/// unchanged.
pub(crate) async fn backfill_batch(store: &Store) -> Result<bool, StoreError> {
    let after = match progress(store).await? {
        Progress::Done => return Ok(true),
        Progress::After(after) => after,
    };
    let batch = store
        .scan(crate::KEYSPACE, "", after.as_deref(), BACKFILL_BATCH)
        .await?;
    let mut transaction = Transaction::new();
    for (key, entry) in &batch {
        transaction = index(transaction, key, entry.value.bytes());
    }
    let done = batch.len() < BACKFILL_BATCH;
    let reached = batch.last().map(|(key, _)| key.as_str()).filter(|_| !done);
    store
        .commit(transaction.put(KEYSPACE, BACKFILL_KEY, progress_value(reached)))
        .await?;
    Ok(done)
}

enum Progress {
    Done,
    /// Every record up to this key (or none) is indexed.
    After(Option<String>),
}

async fn progress(store: &Store) -> Result<Progress, StoreError> {
    let Some(entry) = store.get(KEYSPACE, BACKFILL_KEY).await? else {
        return Ok(Progress::After(None));
    };
    let progress: Json = serde_json::from_slice(entry.value.bytes()).unwrap_or_default();
    if progress.get("done").and_then(Json::as_bool) == Some(true) {
        return Ok(Progress::Done);
    }
    Ok(Progress::After(
        progress
            .get("after")
            .and_then(Json::as_str)
            .map(str::to_owned),
    ))
}

/// `{"after": <key>}`, or `{"done": true}` for `None`.
fn progress_value(after: Option<&str>) -> Value {
    let progress = match after {
        Some(after) => serde_json::json!({ "after": after }),
        None => serde_json::json!({ "done": true }),
    };
    Value::Plain(progress.to_string().into_bytes())
}

/// The keys of the index entries of the record stored under `record_key`, whose JSON is
/// `record`. A record naming one resource twice repeats a key, which the transaction collapses.
fn entry_keys(record_key: &str, record: &[u8]) -> Vec<String> {
    let (Some((account, region, _)), Some(tail), Ok(listed)) = (
        crate::history::parts_of(record_key),
        crate::history::tail(record_key),
        serde_json::from_slice::<Listed>(record),
    ) else {
        return Vec::new();
    };
    // A record whose key follows from its event id is found by id without an entry.
    let id_tells_key =
        |id: &str| crate::history::key_of_event(account, region, id).as_deref() == Some(record_key);
    listed
        .values()
        .filter(|&(attribute, value)| attribute != Attribute::EventId || !id_tells_key(value))
        .filter_map(|(attribute, value)| {
            let mut key = prefix(account, region, attribute, value)?;
            key.push_str(tail);
            Some(key)
        })
        .collect()
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Appends `value` with `%`, `/` and control characters percent-encoded, so that no value's
/// prefix is another's and keys hold no NUL.
fn escape_into(out: &mut String, value: &str) {
    use std::fmt::Write as _;
    for c in value.chars() {
        if c == '%' || c == '/' || c.is_ascii_control() {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Json {
        json!({
            "eventID": "0c6a-1",
            "eventName": "Encrypt",
            "eventSource": "kms.amazonaws.com",
            "readOnly": true,
            "userIdentity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::111122223333:assumed-role/app/session-7",
                "accessKeyId": "ASIAEXAMPLE",
            },
            "resources": [
                {"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1"},
                {"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:111122223333:key/k2"},
            ],
        })
    }

    #[test]
    fn a_record_is_listed_under_each_of_its_values() {
        let record = record();
        assert!(has(&record, Attribute::EventId, "0c6a-1"));
        assert!(has(&record, Attribute::EventName, "Encrypt"));
        assert!(has(&record, Attribute::EventSource, "kms.amazonaws.com"));
        assert!(has(&record, Attribute::ReadOnly, "true"));
        assert!(!has(&record, Attribute::ReadOnly, "false"));
        assert!(has(&record, Attribute::Username, "session-7"));
        assert!(has(&record, Attribute::AccessKeyId, "ASIAEXAMPLE"));
        assert!(has(&record, Attribute::ResourceType, "AWS::KMS::Key"));
        assert!(has(
            &record,
            Attribute::ResourceName,
            "arn:aws:kms:us-east-1:111122223333:key/k2"
        ));
        assert!(!has(&record, Attribute::EventName, "Decrypt"));
        let root = json!({"userIdentity": {"type": "Root"}});
        assert!(has(&root, Attribute::Username, "root"));
        let unknown = json!({"userIdentity": {"type": "Unknown", "userName": "x"}});
        assert!(!has(&unknown, Attribute::Username, "x"));
    }

    #[test]
    fn entries_sort_newest_first_under_an_unambiguous_prefix() {
        let older = crate::history::key("111122223333", "us-east-1", 1_000, "aaaa");
        let newer = crate::history::key("111122223333", "us-east-1", 2_000, "bbbb");
        let mut entries = Vec::new();
        for key in [&older, &newer] {
            let mut record = record();
            record["eventID"] = json!(key.rsplit('/').next().unwrap());
            entries.extend(entry_keys(key, record.to_string().as_bytes()));
        }
        let arn = prefix(
            "111122223333",
            "us-east-1",
            Attribute::ResourceName,
            "arn:aws:kms:us-east-1:111122223333:key/k1",
        )
        .unwrap();
        assert_eq!(
            arn,
            "111122223333/us-east-1/rname/arn:aws:kms:us-east-1:111122223333:key%2Fk1/"
        );
        let mut listed: Vec<&String> = entries.iter().filter(|key| key.starts_with(&arn)).collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                &format!("{arn}{}", crate::history::tail(&newer).unwrap()),
                &format!("{arn}{}", crate::history::tail(&older).unwrap()),
            ]
        );
        // Two resources of one type: the same key twice, one entry once committed.
        let kind = prefix(
            "111122223333",
            "us-east-1",
            Attribute::ResourceType,
            "AWS::KMS::Key",
        )
        .unwrap();
        assert_eq!(
            entries.iter().filter(|key| key.starts_with(&kind)).count(),
            4
        );
        assert_eq!(entries.len(), 2 * 10);
        // An id that tells its record's key needs no entry.
        let v7 = "018bcfe5-6800-7abc-8def-0123456789ab";
        let key = crate::history::key_of_event("111122223333", "us-east-1", v7).unwrap();
        let mut record = record();
        record["eventID"] = json!(v7);
        let entries = entry_keys(&key, record.to_string().as_bytes());
        assert_eq!(entries.len(), 9);
        assert!(entries.iter().all(|entry| !entry.contains("/id/")));
        assert!(prefix("1", "r", Attribute::EventName, &"x".repeat(MAX_KEY_LEN)).is_none());
        assert_eq!(
            prefix("1", "r", Attribute::Username, "a%b/\0").unwrap(),
            "1/r/user/a%25b%2F%00/"
        );
    }
}
