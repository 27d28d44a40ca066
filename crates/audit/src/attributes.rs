//! The attribute index of event history, in the store's [`KEYSPACE`]: for every value a record
//! has for one of `LookupEvents`' lookup attributes, the record is listed in a block of that
//! value's entries. A block is one store entry `<account>/<region>/<attribute>/<escaped
//! value>/<tail>~<batch>`, where the tail is its newest record's `<inverted time>/<eventID>` and
//! the batch a random suffix, and its value lists the tails of the block's other records, older,
//! newline-separated (empty for a block of one; builds before blocks wrote such entries, without
//! the suffix).
//!
//! The indexer writes one block per value (per [`BLOCK_SPAN_MILLIS`] of time) for each batch of
//! records, in the transaction that writes the records: a few store rows per batch instead of one
//! per record and value. A lookup by one attribute reads that value's blocks in key order (their
//! newest record first), merging the blocks whose times overlap ([`Entries`]), and fetches each
//! record by its key in [`crate::KEYSPACE`], which ends in the same tail (see
//! [`crate::history`]); without the index it would read every record of the range to find the
//! few that match. Event ids this build writes tell their record's key
//! ([`crate::history::key_of_event`]), so only records of earlier builds are listed by
//! `EventId`. Records written by builds before the index existed are indexed by a backfill at
//! start; until it is done ([`ready`]), lookups read the records.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;

use palisade_store::{MAX_KEY_LEN, Store, StoreError, Transaction, Value};
use serde::Deserialize;
use serde_json::Value as Json;

/// The keyspace holding the index entries, and the backfill's progress under [`BACKFILL_KEY`].
pub const KEYSPACE: &str = "audit/attributes";

/// The backfill's progress: `{"after": <last record key indexed>}` while it runs, then
/// `{"done": true}`. `~` sorts after every account id, so no lookup's prefix reaches it.
pub(crate) const BACKFILL_KEY: &str = "~backfill";

/// The longest `<inverted time>/<eventID>~<batch>` a block's key ends in (event ids are UUIDs).
const TAIL_MAX: usize = 13 + 1 + 36 + 1 + 16;
/// Records read per backfill transaction.
const BACKFILL_BATCH: usize = 2048;
/// The most time between the newest and the oldest record of a block. A lookup from a position
/// starts reading at blocks this much newer, since they may hold records after it.
pub const BLOCK_SPAN_MILLIS: i64 = 1_000;
/// Blocks read by a lookup's first store scan; each further scan reads twice as many, up to
/// [`MAX_BLOCKS_PER_SCAN`]. A common value's blocks hold a whole batch, a rare one's a record.
const FIRST_BLOCKS_PER_SCAN: usize = 4;
const MAX_BLOCKS_PER_SCAN: usize = 256;

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
    let mut prefix = String::new();
    write_prefix(&mut prefix, account, region, attribute, value).then_some(prefix)
}

/// Writes [`prefix`] into `out` (cleared first); answers whether it is short enough.
fn write_prefix(
    out: &mut String,
    account: &str,
    region: &str,
    attribute: Attribute,
    value: &str,
) -> bool {
    out.clear();
    for part in [account, "/", region, "/", attribute.code(), "/"] {
        out.push_str(part);
    }
    escape_into(out, value);
    out.push('/');
    out.len() + TAIL_MAX <= MAX_KEY_LEN
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

/// The index entries of a batch of records, gathered by value and written as blocks.
#[derive(Default)]
pub(crate) struct Blocks<'a> {
    /// The tails listed under each value's prefix.
    tails: HashMap<String, Vec<&'a str>>,
    /// Where each prefix is built, so that a prefix seen before costs no allocation.
    scratch: String,
}

impl<'a> Blocks<'a> {
    /// Lists the record stored under `record_key` (a [`crate::history`] key), whose JSON is
    /// `record`, under each of its values.
    pub fn add(&mut self, record_key: &'a str, record: &[u8]) {
        let (Some((account, region, _)), Some(tail), Ok(listed)) = (
            crate::history::parts_of(record_key),
            crate::history::tail(record_key),
            serde_json::from_slice::<Listed>(record),
        ) else {
            return;
        };
        for (attribute, value) in listed.values() {
            // A record whose key follows from its event id is found by id without an entry.
            if attribute == Attribute::EventId
                && crate::history::key_of_event(account, region, value).as_deref()
                    == Some(record_key)
            {
                continue;
            }
            if !write_prefix(&mut self.scratch, account, region, attribute, value) {
                continue;
            }
            match self.tails.get_mut(self.scratch.as_str()) {
                Some(tails) => tails.push(tail),
                None => {
                    self.tails.insert(self.scratch.clone(), vec![tail]);
                }
            }
        }
    }

    /// Adds the blocks to `transaction`: per value, its tails newest first, cut wherever a
    /// block would span more than [`BLOCK_SPAN_MILLIS`]. A block's key ends in `~` and a
    /// suffix drawn at random for the batch, so no block overwrites another: a batch indexed
    /// again after a crash, or records both the indexer and the backfill list, make second
    /// blocks, and lookups answer such a record once.
    pub fn write(self, mut transaction: Transaction) -> Transaction {
        let batch = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut key = String::new();
        for (prefix, mut tails) in self.tails {
            tails.sort_unstable();
            tails.dedup();
            let mut rest = tails.as_slice();
            while let [newest, older @ ..] = rest {
                let newest_millis = crate::history::millis_of(newest).unwrap_or(0);
                let within = older
                    .iter()
                    .take_while(|tail| {
                        crate::history::millis_of(tail)
                            .is_some_and(|millis| newest_millis - millis <= BLOCK_SPAN_MILLIS)
                    })
                    .count();
                let (block, after) = older.split_at(within);
                rest = after;
                key.clear();
                key.push_str(&prefix);
                key.push_str(newest);
                // Writing into a String cannot fail.
                let _ = write!(key, "~{batch:016x}");
                transaction =
                    transaction.put(KEYSPACE, &key, Value::Plain(block.join("\n").into_bytes()));
            }
        }
        transaction
    }
}

/// The records listed under one value, newest first, from a position on: the blocks are read in
/// key order, and a record is answered once no block not yet read can hold a newer one.
pub struct Entries {
    prefix: String,
    /// The tail of the last record answered, or the position the lookup started from; only
    /// records after it are answered.
    answered: String,
    /// The store key of the last block read.
    scanned: String,
    /// Records before this time are not answered.
    start: i64,
    /// Tails read and not answered yet.
    pending: BinaryHeap<Reverse<String>>,
    /// The tail of the last block read: no block not yet read holds a tail before it.
    frontier: Option<String>,
    blocks_per_scan: usize,
    exhausted: bool,
}

impl Entries {
    /// The entries under `prefix` (a [`prefix`]) after the [`crate::history::tail`] or scan
    /// position `after`, back to `start` (milliseconds since the epoch).
    pub fn new(prefix: String, after: &str, start: i64) -> Entries {
        // A block holding records after `after` has its newest record at most a block's span
        // newer than `after`.
        let from = crate::history::millis_of(after)
            .map_or(i64::MAX, |millis| millis.saturating_add(BLOCK_SPAN_MILLIS));
        let scanned = format!("{prefix}{}", crate::history::tail_at_or_before(from));
        Entries {
            prefix,
            answered: after.to_owned(),
            scanned,
            start,
            pending: BinaryHeap::new(),
            frontier: None,
            blocks_per_scan: FIRST_BLOCKS_PER_SCAN,
            exhausted: false,
        }
    }

    /// The tail of the next record, newest first; `None` when none is left.
    pub async fn next(&mut self, store: &Store) -> Result<Option<String>, StoreError> {
        loop {
            while let Some(Reverse(newest)) = self.pending.peek() {
                let safe = self.exhausted
                    || self
                        .frontier
                        .as_deref()
                        .is_some_and(|frontier| newest.as_str() <= frontier);
                if !safe {
                    break;
                }
                let Some(Reverse(newest)) = self.pending.pop() else {
                    break;
                };
                // Listed twice (indexed twice after a crash), or before the position.
                if newest <= self.answered {
                    continue;
                }
                self.answered.clone_from(&newest);
                return Ok(Some(newest));
            }
            if self.exhausted {
                return Ok(None);
            }
            self.read_blocks(store).await?;
        }
    }

    async fn read_blocks(&mut self, store: &Store) -> Result<(), StoreError> {
        let blocks = store
            .scan(
                KEYSPACE,
                &self.prefix,
                Some(&self.scanned),
                self.blocks_per_scan,
            )
            .await?;
        self.exhausted = blocks.len() < self.blocks_per_scan;
        self.blocks_per_scan = (self.blocks_per_scan * 2).min(MAX_BLOCKS_PER_SCAN);
        for (key, entry) in blocks {
            let Some(named) = key.get(self.prefix.len()..) else {
                continue;
            };
            // Entries of builds before blocks have no batch suffix.
            let newest = named.split_once('~').map_or(named, |(tail, _)| tail);
            // Every later block is older still.
            if crate::history::millis_of(newest).is_none_or(|millis| millis < self.start) {
                self.exhausted = true;
                break;
            }
            let older = std::str::from_utf8(entry.value.bytes()).unwrap_or_default();
            let block =
                std::iter::once(newest).chain(older.split('\n').filter(|tail| !tail.is_empty()));
            for tail in block {
                let in_range = tail > self.answered.as_str()
                    && crate::history::millis_of(tail).is_some_and(|millis| millis >= self.start);
                if in_range {
                    self.pending.push(Reverse(tail.to_owned()));
                }
            }
            self.frontier = Some(newest.to_owned());
            self.scanned = key;
        }
        Ok(())
    }
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
/// progress; answers whether it is done. Records the indexer already listed are listed again.
pub(crate) async fn backfill_batch(store: &Store) -> Result<bool, StoreError> {
    let after = match progress(store).await? {
        Progress::Done => return Ok(true),
        Progress::After(after) => after,
    };
    let batch = store
        .scan(crate::KEYSPACE, "", after.as_deref(), BACKFILL_BATCH)
        .await?;
    let mut blocks = Blocks::default();
    for (key, entry) in &batch {
        blocks.add(key, entry.value.bytes());
    }
    let transaction = blocks.write(Transaction::new());
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

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";

    /// A record at `millis` with event id `id`, as (key, JSON).
    fn keyed(millis: i64, id: &str) -> (String, String) {
        let mut record = record();
        record["eventID"] = json!(id);
        let key = crate::history::key(ACCOUNT, REGION, millis, id);
        (key, record.to_string())
    }

    async fn index_batch(store: &Store, records: &[&(String, String)]) {
        let mut blocks = Blocks::default();
        for (key, json) in records {
            blocks.add(key, json.as_bytes());
        }
        store
            .commit(blocks.write(Transaction::new()))
            .await
            .unwrap();
    }

    /// The event ids listed under `attribute`'s `value` after `after`, back to `start`.
    async fn listed(
        store: &Store,
        attribute: Attribute,
        value: &str,
        after: &str,
        start: i64,
    ) -> Vec<String> {
        let prefix = prefix(ACCOUNT, REGION, attribute, value).unwrap();
        let mut entries = Entries::new(prefix, after, start);
        let mut ids = Vec::new();
        while let Some(tail) = entries.next(store).await.unwrap() {
            ids.push(tail.rsplit('/').next().unwrap().to_owned());
        }
        ids
    }

    #[tokio::test]
    async fn blocks_list_records_newest_first_across_overlapping_batches() {
        let dir = tempfile::tempdir().unwrap();
        let config = palisade_store::StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        };
        let store = Store::open(&config).await.unwrap();
        let a = keyed(1_000, "aaaa");
        let b = keyed(2_000, "bbbb");
        let c = keyed(1_500, "cccc");
        let d = keyed(10_000, "dddd");
        // `d` is more than a block's span after `b`: a block of its own. The second batch
        // overlaps the first in time and lists `a` again, as after a crash.
        index_batch(&store, &[&a, &b, &d]).await;
        index_batch(&store, &[&c, &a]).await;
        let name = prefix(ACCOUNT, REGION, Attribute::EventName, "Encrypt").unwrap();
        let blocks = store.scan(KEYSPACE, &name, None, 100).await.unwrap();
        let tail = |key: &str| crate::history::tail(key).unwrap().to_owned();
        let newest: Vec<String> = blocks
            .iter()
            .map(|(key, _)| key.split_once('~').unwrap().0.to_owned())
            .collect();
        assert_eq!(
            newest,
            [&d, &b, &c].map(|(key, _)| format!("{name}{}", tail(key)))
        );
        assert_eq!(blocks[1].1.value.bytes(), tail(&a.0).as_bytes());

        let from_end = crate::history::tail_at_or_before(20_000);
        let everything = ["dddd", "bbbb", "cccc", "aaaa"];
        assert_eq!(
            listed(&store, Attribute::EventName, "Encrypt", &from_end, 0).await,
            everything
        );
        // Two resources of one type: the record is listed once.
        assert_eq!(
            listed(
                &store,
                Attribute::ResourceType,
                "AWS::KMS::Key",
                &from_end,
                0
            )
            .await,
            everything
        );
        assert_eq!(
            listed(&store, Attribute::EventName, "Encrypt", &tail(&b.0), 0).await,
            ["cccc", "aaaa"]
        );
        assert_eq!(
            listed(&store, Attribute::EventName, "Encrypt", &from_end, 1_200).await,
            ["dddd", "bbbb", "cccc"]
        );
        let before_d = crate::history::tail_at_or_before(9_999);
        assert_eq!(
            listed(&store, Attribute::ReadOnly, "true", &before_d, 1_600).await,
            ["bbbb"]
        );
        assert!(
            listed(&store, Attribute::EventName, "Decrypt", &from_end, 0)
                .await
                .is_empty()
        );

        // Indexing `b` alone again adds a block, and `b` is still answered once; so is an entry
        // of a build before blocks.
        index_batch(&store, &[&b]).await;
        let old_entry = format!("{name}{}", tail(&a.0));
        store
            .commit(Transaction::new().put(KEYSPACE, &old_entry, Value::Plain(Vec::new())))
            .await
            .unwrap();
        assert_eq!(
            listed(&store, Attribute::EventName, "Encrypt", &from_end, 0).await,
            everything
        );

        // An id that tells its record's key needs no entry.
        let v7 = "018bcfe5-6800-7abc-8def-0123456789ab";
        let key = crate::history::key_of_event(ACCOUNT, REGION, v7).unwrap();
        let mut record = record();
        record["eventID"] = json!(v7);
        let record = (key, record.to_string());
        index_batch(&store, &[&record]).await;
        let ids = store
            .scan(KEYSPACE, &format!("{ACCOUNT}/{REGION}/id/"), None, 100)
            .await
            .unwrap();
        // a, b, c and d, with a and b in two blocks each (indexed again).
        assert_eq!(ids.len(), 6);
        assert!(ids.iter().all(|(key, _)| !key.contains(v7)));
    }

    #[test]
    fn prefixes_are_unambiguous() {
        assert_eq!(
            prefix(
                ACCOUNT,
                REGION,
                Attribute::ResourceName,
                "arn:aws:kms:us-east-1:111122223333:key/k1",
            )
            .unwrap(),
            "111122223333/us-east-1/rname/arn:aws:kms:us-east-1:111122223333:key%2Fk1/"
        );
        assert!(prefix("1", "r", Attribute::EventName, &"x".repeat(MAX_KEY_LEN)).is_none());
        assert_eq!(
            prefix("1", "r", Attribute::Username, "a%b/\0").unwrap(),
            "1/r/user/a%25b%2F%00/"
        );
    }
}
