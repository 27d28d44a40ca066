//! The raw interface that each storage engine implements: bytes in, bytes out.
//!
//! The [`crate::Store`] validates input, encrypts secrets and normalises transactions before
//! anything reaches a backend, so a backend only moves opaque bytes, keeps versions and
//! enforces preconditions atomically.

use async_trait::async_trait;

use crate::StoreError;
use crate::cache::ScanKey;

/// A stored row as the backend holds it: the encoded value (format byte first) and its version.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub(crate) bytes: Vec<u8>,
    pub(crate) version: u64,
}

/// What a transaction expects of one key before it may commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Absent,
    Version(u64),
}

/// One precondition of a transaction.
#[derive(Debug)]
pub(crate) struct Precondition {
    pub(crate) keyspace: String,
    pub(crate) key: String,
    pub(crate) expect: Expect,
}

impl Precondition {
    /// Checks the precondition against the key's current version (`None` when absent).
    pub(crate) fn verify(&self, current: Option<u64>) -> Result<(), StoreError> {
        let holds = match self.expect {
            Expect::Absent => current.is_none(),
            Expect::Version(expected) => current == Some(expected),
        };
        if holds {
            return Ok(());
        }
        let expected = match self.expect {
            Expect::Absent => "absent".to_owned(),
            Expect::Version(v) => format!("version {v}"),
        };
        let found = match current {
            None => "absent".to_owned(),
            Some(v) => format!("version {v}"),
        };
        Err(StoreError::Conflict(format!(
            "{} {:?}: expected {expected}, found {found}",
            self.keyspace, self.key
        )))
    }
}

/// A write, after normalisation.
#[derive(Debug)]
pub(crate) enum WriteOp {
    /// Store these encoded bytes; the version becomes the old version + 1, or 1.
    Put(Vec<u8>),
    /// Remove the key (absent keys are not an error).
    Delete,
}

#[derive(Debug)]
pub(crate) struct RawWrite {
    pub(crate) keyspace: String,
    pub(crate) key: String,
    pub(crate) op: WriteOp,
}

/// A normalised transaction: the preconditions, then at most one write per key, sorted by
/// (keyspace, key). Sorting gives every backend the same lock order, which keeps concurrent
/// batches from deadlocking on each other.
#[derive(Debug, Default)]
pub(crate) struct RawBatch {
    pub(crate) checks: Vec<Precondition>,
    pub(crate) writes: Vec<RawWrite>,
}

/// Where a scan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lower<'a> {
    /// Keys `>=` this one (the prefix itself).
    Inclusive(&'a str),
    /// Keys `>` this one (the caller's `start_after`).
    Exclusive(&'a str),
}

/// A range of keys within one keyspace, read from its lowest key up or from its highest down.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanRange<'a> {
    pub(crate) keyspace: &'a str,
    pub(crate) lower: Lower<'a>,
    /// Keys `<` this one; `None` when the range runs to the end of the keyspace.
    pub(crate) upper: Option<&'a str>,
    /// At least 1: the store answers a limit of 0 itself.
    pub(crate) limit: usize,
    /// Highest key first: the first `limit` rows are the range's last.
    pub(crate) descending: bool,
}

impl ScanRange<'_> {
    /// The SELECT for this range with placeholders `{p}1` keyspace, `{p}2` lower bound,
    /// `{p}3` limit and, only when there is an upper bound, `{p}4` upper bound. `p` is the
    /// engine's placeholder sigil (`?` for SQLite, `$` for PostgreSQL). Only static fragments
    /// and the (validated) table name are formatted in; every value is a parameter.
    pub(crate) fn sql(&self, table: &str, p: char) -> String {
        let lower_op = match self.lower {
            Lower::Inclusive(_) => ">=",
            Lower::Exclusive(_) => ">",
        };
        let upper = if self.upper.is_some() {
            format!(" AND key < {p}4")
        } else {
            String::new()
        };
        let order = if self.descending { " DESC" } else { "" };
        format!(
            "SELECT key, version, value FROM {table} \
             WHERE keyspace = {p}1 AND key {lower_op} {p}2{upper} \
             ORDER BY key{order} LIMIT {p}3"
        )
    }

    /// The range as the key of a cached scan.
    pub(crate) fn cache_key(&self) -> ScanKey {
        ScanKey {
            lower: self.lower_key().to_owned(),
            inclusive: matches!(self.lower, Lower::Inclusive(_)),
            upper: self.upper.map(str::to_owned),
            limit: self.limit,
            descending: self.descending,
        }
    }

    pub(crate) fn lower_key(&self) -> &str {
        match self.lower {
            Lower::Inclusive(key) | Lower::Exclusive(key) => key,
        }
    }

    /// The limit as the engines' integer type.
    pub(crate) fn limit_i64(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX)
    }
}

/// Converts a stored version to the API's type; a negative version means a damaged row.
pub(crate) fn version_from_i64(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version)
        .map_err(|_| StoreError::Backend(format!("stored version {version} is negative")))
}

/// The storage engines behind [`crate::Store`]. Implementations must make `commit` atomic and
/// durable before returning `Ok`, and must run the preconditions and the writes of one batch
/// as one serializable unit.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    async fn get(&self, keyspace: &str, key: &str) -> Result<Option<RawEntry>, StoreError>;

    async fn scan(&self, range: ScanRange<'_>) -> Result<Vec<(String, RawEntry)>, StoreError>;

    async fn commit(&self, batch: RawBatch) -> Result<(), StoreError>;

    /// Deletes every entry; the store's own metadata (format, barrier check) survives.
    async fn reset(&self) -> Result<(), StoreError>;

    async fn health(&self) -> Result<(), StoreError>;

    /// A mark that changes whenever any of `keyspaces` is written, read before deriving
    /// something from them; `None` when this engine cannot see every write (another process
    /// may write the same database), so nothing derived may be kept.
    fn change_mark(&self, _keyspaces: &[&str]) -> Option<u64> {
        None
    }

    /// Stores `value` under the metadata `name` unless a value is already there, and returns
    /// the value that is there afterwards. Used to record the store's format and the barrier's
    /// check value at first start, and to compare them at every later start.
    async fn meta_get_or_init(&self, name: &str, value: Vec<u8>) -> Result<Vec<u8>, StoreError>;
}
