//! Audit: one CloudTrail-format record for every call, failed ones included.
//!
//! [`AuditLog::record`] resolves only once the record is durable, and the pipeline sends the
//! response only after that: audit is fail-closed. The durable copy is the [`journal`], an
//! append-only log in the data directory whose writer group-commits (one `fdatasync` for every
//! record queued while it wrote), so a call pays for a copy and a checksum, not a database
//! transaction.
//!
//! An indexer task then copies the records, in batches of up to 2,048 (a full batch, or what
//! there is once the journal has been quiet for 100 ms, or at once when a reader flushes), into
//! the store's [`KEYSPACE`], laid out newest first by account and region ([`history`]), where
//! event history is read and where a store backup includes it; it remembers how far it got in a file beside the journal, and since a
//! record's key is fixed, copying one twice after a crash changes nothing. In the same
//! transaction it lists the records in the [`attributes`] index, by which event history is
//! looked up, in one block per value. Indexed segments of the journal are removed, except what a
//! [`follow`]er has not handled yet.

pub mod attributes;
pub mod follow;
pub mod history;
pub mod journal;
mod record;

pub use record::{
    Anonymous, AuditRecord, CallOutcome, RecordDetails, RecordResource, is_read_only,
    java_date_time, request_parameters,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_store::{Store, Transaction, Value};
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinHandle;

use crate::journal::{Journal, JournalReader};

/// The keyspace holding audit records, laid out as [`history`] says.
pub const KEYSPACE: &str = "audit";

/// Most records copied into the store in one transaction.
const INDEX_BATCH: usize = 2048;
/// How long the journal must be quiet before a partial batch is copied.
const QUIET: std::time::Duration = std::time::Duration::from_millis(100);
/// The indexer trims the journal after this many batches.
const TRIM_EVERY: u32 = 64;
/// The file beside the journal's segments that holds how far the indexer got.
const CURSOR_FILE: &str = "indexed";

/// The record could not be made durable; the call must fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError(pub String);

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the audit record could not be persisted: {}", self.0)
    }
}

impl std::error::Error for AuditError {}

impl From<journal::JournalError> for AuditError {
    fn from(error: journal::JournalError) -> Self {
        AuditError(error.0)
    }
}

/// The handle through which the pipeline persists records; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    journal: Journal,
    store: Arc<Store>,
    indexer: Arc<Indexer>,
}

/// The indexer's position, shared by its task and by [`AuditLog::reset`].
struct Indexer {
    cursor: Mutex<Cursor>,
    indexed: watch::Sender<u64>,
    /// Whether the attribute backfill is done.
    backfilled: watch::Sender<bool>,
    /// Asks the task to copy what it holds back now.
    flush: Arc<Notify>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

struct Cursor {
    /// Taken out while a blocking read runs.
    reader: Option<JournalReader>,
    path: PathBuf,
}

impl Drop for Indexer {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

impl AuditLog {
    /// Opens the journal in `dir` and starts the task that copies its records into `store`.
    /// Must be called within a Tokio runtime.
    pub fn open(dir: &Path, store: Arc<Store>) -> Result<AuditLog, AuditError> {
        let journal = Journal::open(dir)?;
        let path = dir.join(CURSOR_FILE);
        let start = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let (indexed, _) = watch::channel(start);
        let indexer = Arc::new(Indexer {
            cursor: Mutex::new(Cursor {
                reader: Some(journal.reader(start)),
                path,
            }),
            indexed,
            backfilled: watch::channel(false).0,
            flush: Arc::new(Notify::new()),
            task: std::sync::Mutex::new(None),
        });
        let log = AuditLog {
            journal,
            store,
            indexer,
        };
        let task = tokio::spawn(run_indexer(log.clone_for_indexer()));
        if let Ok(mut slot) = log.indexer.task.lock() {
            *slot = Some(task);
        }
        tokio::spawn(run_backfill(
            Arc::clone(&log.store),
            Arc::downgrade(&log.indexer),
        ));
        Ok(log)
    }

    /// Persists `record`; resolves once it is durable.
    pub async fn record(&self, record: &AuditRecord<'_>) -> Result<(), AuditError> {
        self.journal
            .append_with(|buffer| record.write_keyed_json(buffer))
            .await?;
        Ok(())
    }

    /// A reader of the journal for the consumer `name`, independent of the indexer, that
    /// resumes where the consumer left off (see [`follow`]). One follower per name at a time.
    pub fn follow(&self, name: &str) -> follow::JournalFollower {
        follow::JournalFollower::open(self.journal.clone(), name)
    }

    /// Resolves once every record durable now is in the store.
    pub async fn flush(&self) {
        let target = *self.journal.durable().borrow();
        let mut indexed = self.indexer.indexed.subscribe();
        self.indexer.flush.notify_one();
        let _ = indexed.wait_for(|&done| done >= target).await;
    }

    /// Resolves once the records stored before the [`attributes`] index existed are in it (at
    /// once when there were none).
    pub async fn backfilled(&self) {
        let mut done = self.indexer.backfilled.subscribe();
        let _ = done.wait_for(|&done| done).await;
    }

    /// Wipes every record, in the journal and then in the whole store (the local-mode reset),
    /// holding the indexer off so that nothing from before reappears.
    pub async fn reset(&self) -> Result<(), AuditError> {
        let mut cursor = self.indexer.cursor.lock().await;
        let next = self.journal.reset().await?;
        self.store
            .reset()
            .await
            .map_err(|error| AuditError(error.to_string()))?;
        // Nothing is left to backfill.
        attributes::mark_ready(&self.store)
            .await
            .map_err(|error| AuditError(error.to_string()))?;
        self.indexer.backfilled.send_replace(true);
        cursor.reader = Some(self.journal.reader(next));
        save_cursor(&cursor.path, next);
        self.indexer.indexed.send_replace(next);
        Ok(())
    }

    /// What the indexer task holds: the indexer only weakly, so that dropping the last
    /// `AuditLog` stops the task.
    fn clone_for_indexer(&self) -> IndexerHandle {
        IndexerHandle {
            journal: self.journal.clone(),
            store: Arc::clone(&self.store),
            indexer: Arc::downgrade(&self.indexer),
            indexed: self.indexer.indexed.subscribe(),
            flush: Arc::clone(&self.indexer.flush),
        }
    }
}

struct IndexerHandle {
    journal: Journal,
    store: Arc<Store>,
    indexer: std::sync::Weak<Indexer>,
    indexed: watch::Receiver<u64>,
    flush: Arc<Notify>,
}

/// Copies durable records into the store as they come, until the log is dropped.
async fn run_indexer(handle: IndexerHandle) {
    let mut durable = handle.journal.durable();
    let mut batches = 0u32;
    loop {
        let Some(target) = wait_for_work(&mut durable, &handle).await else {
            return;
        };
        let Some(indexer) = handle.indexer.upgrade() else {
            return;
        };
        if let Err(error) = index_until(&handle, &indexer, target, &mut batches).await {
            tracing::warn!(%error, "audit indexer: will retry");
            drop(indexer);
            // Backing off from a failing store, not waiting for an event.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Waits until records should be copied, and answers up to which: when a full batch is waiting,
/// when the journal has been quiet for [`QUIET`], or when someone flushes. Copying in full
/// batches keeps the store's transactions (and their syncs) few under load. `None` once the
/// journal is gone.
async fn wait_for_work(durable: &mut watch::Receiver<u64>, handle: &IndexerHandle) -> Option<u64> {
    loop {
        let target = *durable.borrow_and_update();
        let backlog = target.saturating_sub(*handle.indexed.borrow());
        if backlog >= INDEX_BATCH as u64 {
            return Some(target);
        }
        tokio::select! {
            changed = durable.changed() => changed.ok()?,
            () = handle.flush.notified() => return Some(*durable.borrow()),
            () = tokio::time::sleep(QUIET), if backlog > 0 => return Some(target),
        }
    }
}

async fn index_until(
    handle: &IndexerHandle,
    indexer: &Indexer,
    target: u64,
    batches: &mut u32,
) -> Result<(), AuditError> {
    let mut cursor = indexer.cursor.lock().await;
    loop {
        let Some(mut reader) = cursor.reader.take() else {
            return Err(AuditError("the journal reader was lost".to_owned()));
        };
        if reader.next_sequence() >= target {
            cursor.reader = Some(reader);
            return Ok(());
        }
        let from = reader.next_sequence();
        let (reader, read) = tokio::task::spawn_blocking(move || {
            let read = reader.read(target, INDEX_BATCH);
            (reader, read)
        })
        .await
        .map_err(|error| AuditError(error.to_string()))?;
        let next = reader.next_sequence();
        cursor.reader = Some(reader);
        let stored = match read {
            Ok(records) if records.is_empty() => return Ok(()),
            Ok(records) => store_batch(&handle.store, &records).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = stored {
            // Read again on the next try, or these records would be skipped.
            cursor.reader = Some(handle.journal.reader(from));
            return Err(error);
        }
        save_cursor(&cursor.path, next);
        indexer.indexed.send_replace(next);
        *batches += 1;
        if batches.is_multiple_of(TRIM_EVERY) {
            handle.journal.trim(next).await?;
        }
    }
}

/// Writes a batch of journal records into the store.
async fn store_batch(store: &Store, records: &[(u64, Vec<u8>)]) -> Result<(), AuditError> {
    let transaction = index_bodies(records.iter().map(|(_, body)| body.as_slice()));
    store
        .commit(transaction)
        .await
        .map_err(|error| AuditError(error.to_string()))
}

/// What the indexer writes for `records`, as one batch, for tools that fill a store without the
/// journal (benchmarks).
pub fn index_records(records: &[AuditRecord<'_>]) -> Transaction {
    let bodies: Vec<Vec<u8>> = records
        .iter()
        .map(|record| {
            let mut body = Vec::new();
            record.write_keyed_json(&mut body);
            body
        })
        .collect();
    index_bodies(bodies.iter().map(Vec::as_slice))
}

/// The writes of a batch of journal records (each `<key>\n<JSON>`): the records, and their
/// blocks in the attribute index.
fn index_bodies<'a>(bodies: impl Iterator<Item = &'a [u8]>) -> Transaction {
    let mut transaction = Transaction::new();
    let mut blocks = attributes::Blocks::default();
    for body in bodies {
        let Some((key, json)) = record::split_keyed(body) else {
            continue;
        };
        blocks.add(key, json);
        transaction = transaction.put(KEYSPACE, key, Value::Plain(json.to_vec()));
    }
    blocks.write(transaction)
}

/// Indexes the records stored before the attribute index existed, a batch at a time, until
/// none is left or the log is dropped.
async fn run_backfill(store: Arc<Store>, indexer: std::sync::Weak<Indexer>) {
    loop {
        let Some(indexer) = indexer.upgrade() else {
            return;
        };
        // Holding the indexer's lock: a reset cannot wipe the store between a batch's read and
        // its write, which would leave entries of records that are gone.
        let cursor = indexer.cursor.lock().await;
        let done = attributes::backfill_batch(&store).await;
        drop(cursor);
        match done {
            Ok(true) => {
                indexer.backfilled.send_replace(true);
                return;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "audit attribute backfill: will retry");
                drop(indexer);
                // Backing off from a failing store, not waiting for an event.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Remembers the indexer's position. Not synced: a lost or stale position only means copying
/// some records again, which changes nothing.
fn save_cursor(path: &Path, next: u64) {
    if let Err(error) = std::fs::write(path, next.to_string()) {
        tracing::warn!(%error, "audit indexer: could not save its position");
    }
}
