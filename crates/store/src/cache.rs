//! The embedded engine's read cache: recent point reads and small scans, as the backend returned
//! them (secret values still sealed by the barrier).
//!
//! It can be exact because one process owns an embedded data directory (the lock file sees to
//! that), so every write passes through this process and drops the cached reads of its keyspace.
//! A read that raced a write is the one subtle case: it may have seen the old row, and must not
//! be cached after the write's invalidation. Each read therefore notes the cache's clock when it
//! starts, and is kept only if no invalidation of its keyspace happened since.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::backend::RawEntry;

/// Past this many bytes of keys and values the cache starts over.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Scans are cached only when they are this small: KMS key material versions, a secret's
/// versions; not event history pages.
const MAX_SCAN_ROWS: usize = 16;
/// What one cached row costs beyond its key and value bytes.
const ROW_OVERHEAD: usize = 64;

/// When a read started, on the cache's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadStart(u64);

/// A scan's bounds and limit, as the key of its cached result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ScanKey {
    pub(crate) lower: String,
    pub(crate) inclusive: bool,
    pub(crate) upper: Option<String>,
    pub(crate) limit: usize,
    pub(crate) descending: bool,
}

#[derive(Default)]
pub(crate) struct ReadCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Ticks at every invalidation.
    clock: u64,
    /// Reads that started before this are not kept, whatever their keyspace.
    cleared_at: u64,
    keyspaces: HashMap<String, Keyspace>,
    /// What was kept since the cache last started over, dropped rows included.
    bytes: usize,
}

#[derive(Default)]
struct Keyspace {
    /// Reads of this keyspace that started before this are not kept.
    written_at: u64,
    rows: HashMap<String, Option<RawEntry>>,
    scans: HashMap<ScanKey, Vec<(String, RawEntry)>>,
}

impl ReadCache {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is only ever replaced whole or cleared; a panic elsewhere leaves it sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes the start of a read that may be cached afterwards.
    pub(crate) fn start(&self) -> ReadStart {
        ReadStart(self.state().clock)
    }

    /// The cached row of `key` (`Some(None)`: known to be absent).
    pub(crate) fn row(&self, keyspace: &str, key: &str) -> Option<Option<RawEntry>> {
        self.state().keyspaces.get(keyspace)?.rows.get(key).cloned()
    }

    pub(crate) fn scan(&self, keyspace: &str, scan: &ScanKey) -> Option<Vec<(String, RawEntry)>> {
        self.state()
            .keyspaces
            .get(keyspace)?
            .scans
            .get(scan)
            .cloned()
    }

    /// Keeps the row a read that started at `started` found.
    pub(crate) fn keep_row(
        &self,
        started: ReadStart,
        keyspace: &str,
        key: &str,
        row: Option<&RawEntry>,
    ) {
        let cost = key.len() + row.map_or(0, |entry| entry.bytes.len()) + ROW_OVERHEAD;
        let mut state = self.state();
        if let Some(space) = state.admit(started, keyspace, cost) {
            space.rows.insert(key.to_owned(), row.cloned());
        }
    }

    /// Keeps the rows a scan that started at `started` found, if they are few.
    pub(crate) fn keep_scan(
        &self,
        started: ReadStart,
        keyspace: &str,
        scan: ScanKey,
        rows: &[(String, RawEntry)],
    ) {
        if rows.len() > MAX_SCAN_ROWS {
            return;
        }
        let cost = rows
            .iter()
            .map(|(key, entry)| key.len() + entry.bytes.len() + ROW_OVERHEAD)
            .sum::<usize>()
            + scan.lower.len()
            + ROW_OVERHEAD;
        let mut state = self.state();
        if let Some(space) = state.admit(started, keyspace, cost) {
            space.scans.insert(scan, rows.to_vec());
        }
    }

    /// Drops what is cached of `keyspace`, which a write is changing or has changed.
    pub(crate) fn invalidate<'a>(&self, keyspaces: impl IntoIterator<Item = &'a str>) {
        let mut state = self.state();
        state.clock += 1;
        let now = state.clock;
        for keyspace in keyspaces {
            let space = state.keyspaces.entry(keyspace.to_owned()).or_default();
            space.written_at = now;
            space.rows.clear();
            space.scans.clear();
        }
    }

    /// The latest invalidation of any of `keyspaces` (a reset included) on the cache's clock:
    /// it grows with every write to one of them, since each write ticks the clock, and a write
    /// invalidates once it is visible to reads.
    pub(crate) fn change_mark(&self, keyspaces: &[&str]) -> u64 {
        let state = self.state();
        keyspaces
            .iter()
            .filter_map(|keyspace| state.keyspaces.get(*keyspace))
            .map(|space| space.written_at)
            .fold(state.cleared_at, u64::max)
    }

    /// Drops everything (a reset).
    pub(crate) fn clear(&self) {
        let mut state = self.state();
        state.clock += 1;
        state.cleared_at = state.clock;
        state.keyspaces.clear();
        state.bytes = 0;
    }
}

impl State {
    /// The keyspace to keep a read of `cost` bytes in, unless a write or reset of it came after
    /// the read started.
    fn admit(&mut self, started: ReadStart, keyspace: &str, cost: usize) -> Option<&mut Keyspace> {
        if started.0 < self.cleared_at {
            return None;
        }
        if self.bytes + cost > MAX_BYTES {
            // Starting over keeps no write-time bookkeeping from being lost: only cached reads
            // go, each keyspace keeps its `written_at`.
            for space in self.keyspaces.values_mut() {
                space.rows.clear();
                space.scans.clear();
            }
            self.bytes = 0;
        }
        let space = self.keyspaces.entry(keyspace.to_owned()).or_default();
        if started.0 < space.written_at {
            return None;
        }
        self.bytes += cost;
        Some(space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8], version: u64) -> RawEntry {
        RawEntry {
            bytes: bytes.to_vec(),
            version,
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = ReadCache::default();
        let before = cache.start();
        cache.invalidate(["keys"]);
        cache.keep_row(before, "keys", "k", Some(&entry(b"old", 1)));
        assert!(cache.row("keys", "k").is_none());

        let after = cache.start();
        cache.keep_row(after, "keys", "k", Some(&entry(b"new", 2)));
        let row = cache.row("keys", "k").unwrap().unwrap();
        assert_eq!((row.bytes.as_slice(), row.version), (&b"new"[..], 2));
    }

    #[test]
    fn writes_drop_their_keyspace_only_and_reset_drops_all() {
        let cache = ReadCache::default();
        let start = cache.start();
        cache.keep_row(start, "a", "k", None);
        cache.keep_row(start, "b", "k", Some(&entry(b"v", 1)));
        assert_eq!(cache.row("a", "k").map(|row| row.is_none()), Some(true));
        cache.invalidate(["a"]);
        assert!(cache.row("a", "k").is_none());
        assert!(cache.row("b", "k").is_some());
        let racing = cache.start();
        cache.clear();
        cache.keep_row(racing, "c", "k", None);
        assert!(cache.row("b", "k").is_none());
        assert!(cache.row("c", "k").is_none());
    }

    #[test]
    fn only_small_scans_are_kept() {
        let cache = ReadCache::default();
        let scan = ScanKey {
            lower: "p/".to_owned(),
            inclusive: true,
            upper: Some("p0".to_owned()),
            limit: 100,
            descending: false,
        };
        let few: Vec<_> = (0..3).map(|i| (format!("p/{i}"), entry(b"v", 1))).collect();
        let many: Vec<_> = (0..=MAX_SCAN_ROWS)
            .map(|i| (format!("p/{i}"), entry(b"v", 1)))
            .collect();
        cache.keep_scan(cache.start(), "s", scan.clone(), &many);
        assert!(cache.scan("s", &scan).is_none());
        cache.keep_scan(cache.start(), "s", scan.clone(), &few);
        assert_eq!(cache.scan("s", &scan).unwrap().len(), 3);
    }
}
