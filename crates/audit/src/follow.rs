//! Following the journal for a consumer that handles records off the request path (CloudTrail's
//! streaming to CloudWatch Logs), independently of the indexer.
//!
//! A follower reads durable records in journal order from its position, and the consumer moves
//! the position once it has handled what it read ([`JournalFollower::handled`]). The position is
//! saved in a file beside the journal's segments, and the journal keeps every record from it on
//! ([`Journal::hold`]), so after a restart or a crash the follower resumes where its consumer
//! left off: each durable record reaches the consumer at least once, and the records of the
//! batch in hand when the process stopped may reach it twice. The journal is per node, so each
//! node follows its own records.

use std::path::{Path, PathBuf};

use tokio::sync::watch;

use crate::AuditError;
use crate::journal::{Journal, JournalReader};
use crate::record::split_keyed;

/// The position files' names start with this, followed by the follower's name.
const POSITION_FILE_PREFIX: &str = "followed-";

/// One record read by a follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedRecord {
    /// Its key in the store's audit keyspace (see [`crate::history`]).
    pub key: String,
    /// The record, in CloudTrail's JSON.
    pub json: Vec<u8>,
}

/// Reads the journal on behalf of one consumer; see the module documentation.
pub struct JournalFollower {
    journal: Journal,
    name: String,
    path: PathBuf,
    durable: watch::Receiver<u64>,
    /// `None` only while a read runs, or after a read was cancelled.
    reader: Option<JournalReader>,
    /// The first record the consumer has not handled.
    handled: u64,
}

impl JournalFollower {
    /// The follower `name` of `journal`, at its saved position; one that never saved a position
    /// starts at the oldest record the journal holds.
    pub(crate) fn open(journal: Journal, name: &str) -> Self {
        let path = journal.dir().join(format!("{POSITION_FILE_PREFIX}{name}"));
        let handled = read_position(&path).unwrap_or(0);
        journal.hold(name, handled);
        Self {
            reader: Some(journal.reader(handled)),
            durable: journal.durable(),
            journal,
            name: name.to_owned(),
            path,
            handled,
        }
    }

    /// Resolves once a record the follower has not read is durable. Cancel-safe.
    pub async fn wait(&mut self) -> Result<(), AuditError> {
        let next = self.next_sequence();
        self.durable
            .wait_for(|&durable| durable > next)
            .await
            .map(drop)
            .map_err(|_| AuditError("the audit journal has stopped".to_owned()))
    }

    /// Resolves once a record the follower has not read is durable, then once `batch` of them
    /// are or `linger` has passed, whichever is first: a consumer that writes once per read
    /// gathers what arrives meanwhile into that one write, rather than writing per journal
    /// group. Cancel-safe.
    pub async fn wait_for_batch(
        &mut self,
        batch: usize,
        linger: std::time::Duration,
    ) -> Result<(), AuditError> {
        self.wait().await?;
        let full = self
            .next_sequence()
            .saturating_add(u64::try_from(batch).unwrap_or(u64::MAX));
        // A journal that stops meanwhile still leaves records to read; the next wait says so.
        let _ =
            tokio::time::timeout(linger, self.durable.wait_for(|&durable| durable >= full)).await;
        Ok(())
    }

    /// Reads up to `max` durable records the follower has not read yet; none when there are
    /// none. If this future is dropped before it resolves, the next read starts again at the
    /// first record not handled.
    pub async fn read(&mut self, max: usize) -> Result<Vec<FollowedRecord>, AuditError> {
        let limit = *self.durable.borrow();
        let mut reader = self
            .reader
            .take()
            .unwrap_or_else(|| self.journal.reader(self.handled));
        let (reader, read) = tokio::task::spawn_blocking(move || {
            let read = reader.read(limit, max);
            (reader, read)
        })
        .await
        .map_err(|error| AuditError(error.to_string()))?;
        self.reader = Some(reader);
        Ok(read?
            .into_iter()
            .filter_map(|(_, body)| {
                let (key, json) = split_keyed(&body)?;
                Some(FollowedRecord {
                    key: key.to_owned(),
                    json: json.to_vec(),
                })
            })
            .collect())
    }

    /// Marks every record read so far as handled: saves the position, and lets the journal
    /// trim what comes before it.
    pub fn handled(&mut self) {
        let next = self.next_sequence();
        if next == self.handled {
            return;
        }
        // Not synced: a stale position only means handing some records over again.
        if let Err(error) = std::fs::write(&self.path, next.to_string()) {
            tracing::warn!(%error, follower = %self.name, "audit journal: could not save a follower's position");
        }
        self.journal.hold(&self.name, next);
        self.handled = next;
    }

    /// The number of records durable now: where [`Self::skip_to`] that end would go.
    pub fn end(&self) -> u64 {
        *self.durable.borrow()
    }

    /// Passes over the records before `end` without reading them, and marks them handled: for
    /// a consumer that has nothing to do with them.
    pub fn skip_to(&mut self, end: u64) {
        if end > self.next_sequence() {
            self.reader = Some(self.journal.reader(end));
        }
        self.handled();
    }

    fn next_sequence(&self) -> u64 {
        self.reader
            .as_ref()
            .map_or(self.handled, JournalReader::next_sequence)
    }
}

fn read_position(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn append(journal: &Journal, key: &str, json: &str) {
        journal
            .append_with(|buffer| {
                buffer.extend_from_slice(key.as_bytes());
                buffer.push(b'\n');
                buffer.extend_from_slice(json.as_bytes());
            })
            .await
            .unwrap();
    }

    fn keys(records: &[FollowedRecord]) -> Vec<&str> {
        records.iter().map(|record| record.key.as_str()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_resumes_after_what_it_handled_and_holds_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let mut follower = JournalFollower::open(journal.clone(), "test");
        append(&journal, "a", "{}").await;
        append(&journal, "b", "{}").await;
        follower.wait().await.unwrap();
        let first = follower.read(1).await.unwrap();
        assert_eq!(keys(&first), ["a"]);
        assert_eq!(first[0].json, b"{}");
        follower.handled();
        let second = follower.read(10).await.unwrap();
        assert_eq!(keys(&second), ["b"]);
        // "b" was read but not handled when the process stopped.
        drop(follower);
        drop(journal);

        let journal = Journal::open(dir.path()).unwrap();
        let mut follower = JournalFollower::open(journal.clone(), "test");
        follower.wait().await.unwrap();
        assert_eq!(keys(&follower.read(10).await.unwrap()), ["b"]);
        follower.handled();
        assert!(follower.read(10).await.unwrap().is_empty());

        append(&journal, "c", "{}").await;
        let end = follower.end();
        follower.skip_to(end);
        append(&journal, "d", "{}").await;
        follower.wait().await.unwrap();
        assert_eq!(keys(&follower.read(10).await.unwrap()), ["d"]);
    }

    #[tokio::test]
    async fn trimming_keeps_what_a_follower_has_not_handled() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let mut follower = JournalFollower::open(journal.clone(), "test");
        let big = "x".repeat(1 << 20);
        for index in 0..70 {
            append(&journal, &format!("{index:02}"), &big).await;
        }
        // Everything is indexed; the follower has handled nothing.
        journal.trim(70).await.unwrap();
        assert_eq!(keys(&follower.read(1).await.unwrap()), ["00"]);
        let end = follower.end();
        follower.skip_to(end);
        journal.trim(70).await.unwrap();
        let mut fresh = journal.reader(0);
        assert_ne!(fresh.read(70, 1).unwrap()[0].0, 0, "trimmed once handled");
    }
}
