//! The embedded engine: SQLite in `data_dir/palisade.db`, and its backup and restore.
//!
//! One writer connection lives on a dedicated thread and takes commands from a queue, so the
//! tokio runtime never waits on SQLite. Commits that queue up while the writer syncs are
//! applied together in one SQLite transaction, each in its own savepoint (a failed
//! precondition rolls back only its own transaction), so many concurrent callers share one
//! fsync. Reads go to a small pool of read connections on the blocking pool: WAL lets them
//! run beside the writer and always see the last committed state.
//!
//! A lock file (`palisade.lock`, `flock`) keeps a second server, or a restore, off a data
//! directory that is in use. `palisade backup` needs no lock: SQLite's online backup reads a
//! consistent snapshot while the server writes.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, ErrorKind};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::backend::{Backend, RawBatch, RawEntry, ScanRange, WriteOp, version_from_i64};
use crate::cache::ReadCache;
use crate::{StoreError, fsutil};

/// The database file's name in the data directory.
pub const DB_FILE: &str = "palisade.db";
const LOCK_FILE: &str = "palisade.lock";
const RESTORE_TMP: &str = "palisade.db.restore";

/// Read connections at most: the machine has few cores, and reads are short.
const READERS: usize = 4;
/// Most commits applied in one SQLite transaction (one fsync).
const GROUP_MAX: usize = 256;
/// Commands waiting for the writer before senders wait too (backpressure).
const QUEUE: usize = 1024;
/// How long a connection waits on another process's lock (a backup, a second reader).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS entries (
        keyspace TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (keyspace, key)
    );
    CREATE TABLE IF NOT EXISTS meta (
        name TEXT NOT NULL PRIMARY KEY,
        value BLOB NOT NULL
    );";

const GET: &str = "SELECT version, value FROM entries WHERE keyspace = ?1 AND key = ?2";
const UPSERT: &str = "INSERT INTO entries (keyspace, key, version, value) VALUES (?1, ?2, 1, ?3) \
     ON CONFLICT (keyspace, key) DO UPDATE SET version = version + 1, value = excluded.value";
const DELETE: &str = "DELETE FROM entries WHERE keyspace = ?1 AND key = ?2";

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Command {
    Commit(RawBatch, Reply<()>),
    Reset(Reply<()>),
    Meta(String, Vec<u8>, Reply<Vec<u8>>),
    Ping(Reply<()>),
}

pub(crate) struct SqliteBackend {
    writer: mpsc::Sender<Command>,
    readers: Arc<Readers>,
    /// Exact, because the lock below makes this process the only writer.
    cache: Arc<ReadCache>,
    /// Held (flock) for as long as the backend lives.
    _lock: File,
}

/// The read connections, each opened when first needed: a connection holds its own page cache
/// and lookaside memory, so a server that reads one thing at a time keeps one open, and only
/// concurrent reads open more.
struct Readers {
    path: PathBuf,
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
}

impl Readers {
    /// Runs `f` on the first read connection free, or else on the next in turn once it is.
    fn run<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = match self.free() {
            Some(slot) => slot,
            None => {
                let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len().max(1);
                self.slots
                    .get(turn)
                    .ok_or_else(|| StoreError::Backend("sqlite: no read connection".to_owned()))?
                    // A poisoned lock only means another reader panicked; the connection is
                    // still sound.
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            }
        };
        let conn = match &mut *slot {
            Some(conn) => conn,
            unopened @ None => unopened.insert(open_reader(&self.path)?),
        };
        f(conn)
    }

    /// The first read connection no one is using right now, if there is one; it may not be
    /// open yet.
    fn free(&self) -> Option<MutexGuard<'_, Option<Connection>>> {
        self.slots.iter().find_map(try_take)
    }

    /// The first open read connection no one is using right now, if there is one.
    fn free_open(&self) -> Option<MutexGuard<'_, Option<Connection>>> {
        self.slots
            .iter()
            .filter_map(try_take)
            .find(|slot| slot.is_some())
    }
}

fn try_take(slot: &Mutex<Option<Connection>>) -> Option<MutexGuard<'_, Option<Connection>>> {
    match slot.try_lock() {
        Ok(slot) => Some(slot),
        // A poisoned lock only means another reader panicked; the connection is still sound.
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

fn get_entry(conn: &Connection, keyspace: &str, key: &str) -> Result<Option<RawEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(GET).map_err(sql)?;
    let row = stmt
        .query_row((keyspace, key), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()
        .map_err(sql)?;
    row.map(|(version, bytes)| {
        Ok(RawEntry {
            bytes,
            version: version_from_i64(version)?,
        })
    })
    .transpose()
}

fn sql(err: rusqlite::Error) -> StoreError {
    StoreError::backend("sqlite", err)
}

fn join_err(err: tokio::task::JoinError) -> StoreError {
    StoreError::backend("sqlite task", err)
}

fn writer_gone() -> StoreError {
    StoreError::Backend("sqlite: the writer thread has stopped".to_owned())
}

impl SqliteBackend {
    pub(crate) async fn open(data_dir: PathBuf) -> Result<SqliteBackend, StoreError> {
        tokio::task::spawn_blocking(move || SqliteBackend::open_blocking(&data_dir))
            .await
            .map_err(join_err)?
    }

    fn open_blocking(data_dir: &Path) -> Result<SqliteBackend, StoreError> {
        fsutil::ensure_private_dir(data_dir)?;
        let lock = lock_data_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        // Created by us rather than by SQLite so that it (and the -wal and -shm files, which
        // SQLite creates with the database's mode) is 0600 from the first byte.
        match fsutil::create_private_file(&path) {
            Ok(_) => fsutil::sync_dir(data_dir)?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StoreError::config(
                    &format!("creating {}", path.display()),
                    e,
                ));
            }
        }
        let writer = open_connection(&path)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "sqlite: could not enable WAL (journal_mode is {mode})"
            )));
        }
        // FULL: a commit is acknowledged only once the WAL is fsynced.
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        writer.execute_batch(SCHEMA).map_err(sql)?;

        // One reader is opened now, so that a database that cannot be read fails the start.
        let mut slots = vec![Mutex::new(Some(open_reader(&path)?))];
        slots.extend((1..READERS).map(|_| Mutex::new(None)));

        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("palisade-sqlite-writer".to_owned())
            .spawn(move || run_writer(writer, rx))
            .map_err(|e| StoreError::backend("starting the sqlite writer thread", e))?;
        Ok(SqliteBackend {
            writer: tx,
            readers: Arc::new(Readers {
                slots,
                path,
                next: AtomicUsize::new(0),
            }),
            cache: Arc::default(),
            _lock: lock,
        })
    }

    async fn scan_rows(&self, range: ScanRange<'_>) -> Result<Vec<(String, RawEntry)>, StoreError> {
        let query = range.sql("entries", '?');
        let keyspace = range.keyspace.to_owned();
        let lower = range.lower_key().to_owned();
        let upper = range.upper.map(str::to_owned);
        let limit = range.limit_i64();
        let capacity = range.limit.min(1024);
        self.read(move |conn| {
            let mut params: Vec<&dyn ToSql> = vec![&keyspace, &lower, &limit];
            if let Some(upper) = &upper {
                params.push(upper);
            }
            let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
            let mut rows = stmt.query(params.as_slice()).map_err(sql)?;
            let mut out = Vec::with_capacity(capacity);
            while let Some(row) = rows.next().map_err(sql)? {
                let key: String = row.get(0).map_err(sql)?;
                let version = version_from_i64(row.get(1).map_err(sql)?)?;
                let bytes: Vec<u8> = row.get(2).map_err(sql)?;
                out.push((key, RawEntry { bytes, version }));
            }
            Ok(out)
        })
        .await
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(make(reply))
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || readers.run(f))
            .await
            .map_err(join_err)?
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let reader = open_connection(path)?;
    reader
        .pragma_update(None, "query_only", true)
        .map_err(sql)?;
    Ok(reader)
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    // No CREATE: the file was made (0600) by the caller; a missing one is an error.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    Ok(conn)
}

fn lock_data_dir(data_dir: &Path) -> Result<File, StoreError> {
    let path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| StoreError::config(&format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Config(format!(
            "data directory {} is in use by another Palisade process",
            data_dir.display()
        ))),
        Err(TryLockError::Error(e)) => Err(StoreError::config(
            &format!("locking {}", path.display()),
            e,
        )),
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn get(&self, keyspace: &str, key: &str) -> Result<Option<RawEntry>, StoreError> {
        // A point read touches a few pages SQLite has cached and takes microseconds: less than
        // the two thread switches of a trip through the blocking pool, which it takes only when
        // no open read connection is free (opening one is left to the blocking pool).
        if let Some(row) = self.cache.row(keyspace, key) {
            return Ok(row);
        }
        let started = self.cache.start();
        let here = self
            .readers
            .free_open()
            .and_then(|slot| slot.as_ref().map(|conn| get_entry(conn, keyspace, key)));
        let row = match here {
            Some(row) => row?,
            None => {
                let (keyspace, key) = (keyspace.to_owned(), key.to_owned());
                self.read(move |conn| get_entry(conn, &keyspace, &key))
                    .await?
            }
        };
        self.cache.keep_row(started, keyspace, key, row.as_ref());
        Ok(row)
    }

    async fn scan(&self, range: ScanRange<'_>) -> Result<Vec<(String, RawEntry)>, StoreError> {
        let scan = range.cache_key();
        if let Some(rows) = self.cache.scan(range.keyspace, &scan) {
            return Ok(rows);
        }
        let started = self.cache.start();
        let rows = self.scan_rows(range).await?;
        self.cache.keep_scan(started, range.keyspace, scan, &rows);
        Ok(rows)
    }

    async fn commit(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut keyspaces: Vec<String> = batch
            .writes
            .iter()
            .map(|write| write.keyspace.clone())
            .collect();
        keyspaces.dedup();
        let committed = self.ask(|reply| Command::Commit(batch, reply)).await;
        // Whatever the outcome: a failed commit wrote nothing, but dropping reads costs little.
        self.cache.invalidate(keyspaces.iter().map(String::as_str));
        committed
    }

    fn change_mark(&self, keyspaces: &[&str]) -> Option<u64> {
        Some(self.cache.change_mark(keyspaces))
    }

    async fn reset(&self) -> Result<(), StoreError> {
        let reset = self.ask(Command::Reset).await;
        self.cache.clear();
        reset
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.ask(Command::Ping).await?;
        self.read(select_one).await
    }

    async fn meta_get_or_init(&self, name: &str, value: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let name = name.to_owned();
        self.ask(|reply| Command::Meta(name, value, reply)).await
    }
}

fn select_one(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT 1", [], |_| Ok(())).map_err(sql)
}

/// The writer thread: runs until every sender is gone (the backend was dropped).
fn run_writer(mut conn: Connection, mut rx: mpsc::Receiver<Command>) {
    let mut pending: Option<Command> = None;
    loop {
        let command = match pending.take() {
            Some(command) => command,
            None => match rx.blocking_recv() {
                Some(command) => command,
                None => break,
            },
        };
        match command {
            Command::Commit(batch, reply) => {
                let mut group = vec![(batch, reply)];
                while group.len() < GROUP_MAX {
                    match rx.try_recv() {
                        Ok(Command::Commit(batch, reply)) => group.push((batch, reply)),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_group(&mut conn, group);
            }
            Command::Reset(reply) => {
                let result = conn.execute("DELETE FROM entries", []).map(drop);
                let _ = reply.send(result.map_err(sql));
            }
            Command::Meta(name, value, reply) => {
                let _ = reply.send(meta_get_or_init(&conn, &name, &value));
            }
            Command::Ping(reply) => {
                let _ = reply.send(select_one(&conn));
            }
        }
    }
}

/// Applies several callers' batches in one SQLite transaction, each in a savepoint.
fn commit_group(conn: &mut Connection, group: Vec<(RawBatch, Reply<()>)>) {
    let mut results = Vec::with_capacity(group.len());
    let outcome = (|| {
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        for (batch, _) in &group {
            let savepoint = tx.savepoint().map_err(sql)?;
            let result = apply(&savepoint, batch);
            // Dropping behaviour is rollback: `finish` undoes a failed batch only.
            if result.is_ok() {
                savepoint.commit().map_err(sql)?;
            } else {
                savepoint.finish().map_err(sql)?;
            }
            results.push(result);
        }
        tx.commit().map_err(sql)
    })();
    let mut results = results.into_iter();
    for (_, reply) in group {
        let result = match (&outcome, results.next()) {
            (Ok(()), Some(result)) => result,
            // Nothing of the group is written: a conflict stays a conflict, a success is not.
            (Err(_), Some(Err(conflict @ StoreError::Conflict(_)))) => Err(conflict),
            (Err(e), _) => Err(e.clone()),
            (Ok(()), None) => Err(StoreError::Backend(
                "sqlite: lost a commit result".to_owned(),
            )),
        };
        let _ = reply.send(result);
    }
}

fn apply(conn: &Connection, batch: &RawBatch) -> Result<(), StoreError> {
    if !batch.checks.is_empty() {
        let mut get = conn
            .prepare_cached("SELECT version FROM entries WHERE keyspace = ?1 AND key = ?2")
            .map_err(sql)?;
        for check in &batch.checks {
            let current: Option<i64> = get
                .query_row((&check.keyspace, &check.key), |row| row.get(0))
                .optional()
                .map_err(sql)?;
            check.verify(current.map(version_from_i64).transpose()?)?;
        }
    }
    let mut upsert = conn.prepare_cached(UPSERT).map_err(sql)?;
    let mut delete = conn.prepare_cached(DELETE).map_err(sql)?;
    for write in &batch.writes {
        match &write.op {
            WriteOp::Put(bytes) => upsert.execute((&write.keyspace, &write.key, bytes)),
            WriteOp::Delete => delete.execute((&write.keyspace, &write.key)),
        }
        .map_err(sql)?;
    }
    Ok(())
}

fn meta_get_or_init(conn: &Connection, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        (name, value),
    )
    .map_err(sql)?;
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
        row.get(0)
    })
    .map_err(sql)
}

/// Copies the embedded database of `data_dir` to `dest` (a new file, mode 0600) with SQLite's
/// online backup, while the server may be running: the copy is one consistent snapshot, and
/// writers are not blocked (WAL). The copy is a self-contained database file (no -wal).
///
/// The root key file is deliberately not copied: keep it apart from the backups (a backup
/// holding both would defeat encryption at rest), since a restore is useless without it.
pub async fn backup_embedded(data_dir: &Path, dest: &Path) -> Result<(), StoreError> {
    let source = data_dir.join(DB_FILE);
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || backup_blocking(&source, &dest))
        .await
        .map_err(join_err)?
}

fn backup_blocking(source: &Path, dest: &Path) -> Result<(), StoreError> {
    if !source.is_file() {
        return Err(StoreError::Config(format!(
            "no database at {}",
            source.display()
        )));
    }
    let src = open_connection(source)?;
    let file = fsutil::create_private_file(dest)
        .map_err(|e| StoreError::config(&format!("creating backup file {}", dest.display()), e))?;
    let result = copy_database(&src, dest).and_then(|()| {
        file.sync_all()
            .map_err(|e| StoreError::backend(&format!("syncing {}", dest.display()), e))?;
        match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => fsutil::sync_dir(dir),
            _ => Ok(()),
        }
    });
    if result.is_err() {
        // Leave no half-written backup that could later pass for a good one.
        drop(file);
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn copy_database(src: &Connection, dest: &Path) -> Result<(), StoreError> {
    let mut dst = open_connection(dest)?;
    {
        let backup = Backup::new(src, &mut dst).map_err(sql)?;
        // All pages in one step: the step reads one snapshot of the source, whereas smaller
        // steps would restart whenever the server commits in between.
        let mut waits = 0u32;
        loop {
            match backup.step(-1).map_err(sql)? {
                StepResult::Done => break,
                StepResult::More => {}
                _ => {
                    waits += 1;
                    if waits > 200 {
                        return Err(StoreError::Backend(
                            "sqlite backup: the database stayed locked".to_owned(),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    // The pages came from a WAL database; a backup is one file, so leave WAL mode.
    dst.pragma_update_and_check(None, "journal_mode", "DELETE", |row| {
        row.get::<_, String>(0)
    })
    .map_err(sql)?;
    dst.close().map_err(|(_, e)| sql(e))
}

/// Replaces the embedded database of `data_dir` with `backup_file`.
///
/// The server must be stopped: the data directory's lock is taken, and held by a running
/// server. The backup is first copied into the data directory and checked (`PRAGMA
/// integrity_check`, expected tables); only then does it replace the database, so a bad
/// backup leaves the current data as it was. An existing database is replaced only with
/// `force`. Restore the root key file (or `PALISADE_ROOT_KEY`) that the backup was written
/// with: without it, the store opens as sealed.
pub fn restore_embedded(
    backup_file: &Path,
    data_dir: &Path,
    force: bool,
) -> Result<(), StoreError> {
    fsutil::ensure_private_dir(data_dir)?;
    let _lock = lock_data_dir(data_dir)?;
    let db = data_dir.join(DB_FILE);
    if !force && db.exists() {
        return Err(StoreError::Config(format!(
            "{} already exists; restoring would replace it (use force to overwrite)",
            db.display()
        )));
    }
    let tmp = data_dir.join(RESTORE_TMP);
    fsutil::remove_if_exists(&tmp)?;
    let checked = copy_file(backup_file, &tmp).and_then(|()| verify_database(&tmp));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The old database's WAL must not be replayed onto the restored file: remove it first.
    for suffix in ["-wal", "-shm"] {
        fsutil::remove_if_exists(&data_dir.join(format!("{DB_FILE}{suffix}")))?;
    }
    std::fs::rename(&tmp, &db).map_err(|e| {
        StoreError::backend(
            &format!("moving the restored database to {}", db.display()),
            e,
        )
    })?;
    fsutil::sync_dir(data_dir)
}

fn copy_file(from: &Path, to: &Path) -> Result<(), StoreError> {
    let context = || format!("copying {} to {}", from.display(), to.display());
    let mut source = File::open(from).map_err(|e| StoreError::config(&context(), e))?;
    let mut target =
        fsutil::create_private_file(to).map_err(|e| StoreError::backend(&context(), e))?;
    io::copy(&mut source, &mut target)
        .and_then(|_| target.sync_all())
        .map_err(|e| StoreError::backend(&context(), e))
}

fn verify_database(path: &Path) -> Result<(), StoreError> {
    let invalid = |detail: String| {
        StoreError::Config(format!(
            "{} is not a sound Palisade backup: {detail}",
            path.display()
        ))
    };
    let conn = open_connection(path).map_err(|e| invalid(e.to_string()))?;
    let mut report = Vec::new();
    conn.pragma_query(None, "integrity_check", |row| {
        report.push(row.get::<_, String>(0)?);
        Ok(())
    })
    .map_err(|e| invalid(e.to_string()))?;
    if report != ["ok"] {
        return Err(invalid(format!("integrity check: {}", report.join("; "))));
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('entries', 'meta')",
            [],
            |row| row.get(0),
        )
        .map_err(|e| invalid(e.to_string()))?;
    if tables != 2 {
        return Err(invalid(
            "the entries and meta tables are missing".to_owned(),
        ));
    }
    conn.close().map_err(|(_, e)| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use super::*;
    use crate::conformance::{self, contains, test_barrier};
    use crate::{Barrier, SecretBytes, Store, StoreConfig, Transaction, Value};

    struct Fixture {
        store: Store,
        _dir: tempfile::TempDir,
    }

    impl Fixture {
        fn store(&self) -> &Store {
            &self.store
        }
    }

    async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let config = StoreConfig::Embedded {
            data_dir: data_dir.to_owned(),
        };
        Store::open_with_barrier(&config, test_barrier()).await
    }

    async fn fixture() -> Option<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("data")).await.unwrap();
        Some(Fixture { store, _dir: dir })
    }

    conformance::conformance_suite!(fixture);

    fn plain(bytes: &[u8]) -> Value {
        Value::Plain(bytes.to_vec())
    }

    #[test]
    fn read_connections_open_only_as_reads_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        Connection::open(&path)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        let readers = Readers {
            path,
            slots: (0..READERS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        let opened = |readers: &Readers| {
            readers
                .slots
                .iter()
                .filter(|slot| slot.lock().unwrap().is_some())
                .count()
        };
        assert_eq!(opened(&readers), 0);
        for _ in 0..10 {
            readers.run(select_one).unwrap();
        }
        assert_eq!(opened(&readers), 1);

        // A read while the first connection is busy opens a second, and reads only.
        let busy = readers.slots.first().unwrap().lock().unwrap();
        let write = readers.run(|conn| {
            conn.execute("INSERT INTO meta (name, value) VALUES ('a', x'00')", [])
                .map_err(sql)
        });
        assert!(write.is_err(), "{write:?}");
        drop(busy);
        assert_eq!(opened(&readers), 2);
        readers.run(select_one).unwrap();
        assert_eq!(opened(&readers), 2);
    }

    #[tokio::test]
    async fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        let store = open(&data).await.unwrap();
        store
            .commit(Transaction::new().put("t", "k", plain(b"v")))
            .await
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        for file in [DB_FILE, "palisade.db-wal", LOCK_FILE] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }

    #[tokio::test]
    async fn store_open_creates_the_key_file() {
        if std::env::var_os(crate::ROOT_KEY_ENV).is_some() {
            eprintln!("skipping: {} is set", crate::ROOT_KEY_ENV);
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = StoreConfig::Embedded {
            data_dir: data.clone(),
        };
        let store = Store::open(&config).await.unwrap();
        store
            .commit(Transaction::new().put("s", "k", SecretBytes::new(b"v".to_vec())))
            .await
            .unwrap();
        drop(store);
        let key_file = data.join(crate::ROOT_KEY_FILE);
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Reopened with the same (file) key: the secret reads back.
        let store = Store::open(&config).await.unwrap();
        assert_eq!(
            store.get("s", "k").await.unwrap().unwrap().value.bytes(),
            b"v"
        );
        drop(store);
        // A key file that others can read stops the start.
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Store::open(&config).await,
            Err(StoreError::Config(_))
        ));
    }

    #[tokio::test]
    async fn secrets_are_not_in_the_database_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = open(&data).await.unwrap();
        let secret = b"zebra-unicorn-secret-7781";
        let visible = b"plain-marker-value-4412";
        store
            .commit(
                Transaction::new()
                    .put("s", "k", SecretBytes::new(secret.to_vec()))
                    .put("s", "p", plain(visible)),
            )
            .await
            .unwrap();
        let mut files = Vec::new();
        for name in [DB_FILE, "palisade.db-wal"] {
            files.extend(std::fs::read(data.join(name)).unwrap());
        }
        assert!(contains(&files, visible), "the check must see plain values");
        assert!(!contains(&files, secret));
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = open(&data).await.unwrap();
        for i in 0..50u32 {
            store
                .commit(Transaction::new().put("t", &format!("{i:03}"), plain(&i.to_be_bytes())))
                .await
                .unwrap();
        }
        store
            .commit(Transaction::new().put("s", "k", SecretBytes::new(b"kept".to_vec())))
            .await
            .unwrap();
        drop(store);
        let store = open(&data).await.unwrap();
        let all = store.scan("t", "", None, 100).await.unwrap();
        assert_eq!(all.len(), 50);
        assert_eq!(
            store.get("s", "k").await.unwrap().unwrap().value.bytes(),
            b"kept"
        );
    }

    #[tokio::test]
    async fn a_data_dir_serves_one_store() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = open(&data).await.unwrap();
        let second = open(&data).await;
        assert!(
            matches!(&second, Err(StoreError::Config(m)) if m.contains("in use")),
            "{second:?}"
        );
        drop(store);
        assert!(open(&data).await.is_ok());
    }

    #[tokio::test]
    async fn reopen_with_another_key_is_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(open(&data).await.unwrap());
        let config = StoreConfig::Embedded {
            data_dir: data.clone(),
        };
        let other = Barrier::from_env_value(conformance::OTHER_KEY).unwrap();
        let result = Store::open_with_barrier(&config, other).await;
        assert!(matches!(result, Err(StoreError::Sealed)), "{result:?}");
        assert!(open(&data).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backup_while_writing_then_restore() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Arc::new(open(&data).await.unwrap());
        store
            .commit(Transaction::new().put("s", "k", SecretBytes::new(b"secret".to_vec())))
            .await
            .unwrap();
        for i in 0..100u32 {
            store
                .commit(Transaction::new().put("seq", &format!("{i:06}"), plain(b"v")))
                .await
                .unwrap();
        }

        // A writer goes on committing one key at a time while the backup runs.
        let writer = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 100..2000u32 {
                    store
                        .commit(Transaction::new().put("seq", &format!("{i:06}"), plain(&[7; 300])))
                        .await
                        .unwrap();
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let backup = dir.path().join("backup.db");
        backup_embedded(&data, &backup).await.unwrap();
        writer.await.unwrap();
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A backup never overwrites a file.
        assert!(backup_embedded(&data, &backup).await.is_err());
        // Standalone: no -wal next to the backup.
        assert!(!dir.path().join("backup.db-wal").exists());

        let restored = dir.path().join("restored");
        restore_embedded(&backup, &restored, false).unwrap();
        let copy = open(&restored).await.unwrap();
        // One consistent snapshot: the keys form an unbroken run from the start, and hold at
        // least what was acknowledged before the backup began.
        let keys: Vec<String> = copy
            .scan("seq", "", None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(keys.len() >= 100, "{}", keys.len());
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(*key, format!("{i:06}"));
        }
        eprintln!("backup caught {} of 2000 sequential writes", keys.len());
        assert_eq!(
            copy.get("s", "k").await.unwrap().unwrap().value.bytes(),
            b"secret"
        );
    }

    #[tokio::test]
    async fn restore_needs_force_to_replace() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let store_a = open(&a).await.unwrap();
        store_a
            .commit(Transaction::new().put("t", "from", plain(b"a")))
            .await
            .unwrap();
        let store_b = open(&b).await.unwrap();
        store_b
            .commit(Transaction::new().put("t", "from", plain(b"b")))
            .await
            .unwrap();
        let backup = dir.path().join("a.backup");
        backup_embedded(&a, &backup).await.unwrap();

        // A running server holds the directory: no restore under it, even with force.
        let busy = restore_embedded(&backup, &b, true);
        assert!(
            matches!(&busy, Err(StoreError::Config(m)) if m.contains("in use")),
            "{busy:?}"
        );
        drop(store_b);

        let refused = restore_embedded(&backup, &b, false);
        assert!(
            matches!(&refused, Err(StoreError::Config(m)) if m.contains("force")),
            "{refused:?}"
        );
        assert_eq!(
            open(&b)
                .await
                .unwrap()
                .get("t", "from")
                .await
                .unwrap()
                .unwrap()
                .value
                .bytes(),
            b"b"
        );

        restore_embedded(&backup, &b, true).unwrap();
        let restored = open(&b).await.unwrap();
        assert_eq!(
            restored
                .get("t", "from")
                .await
                .unwrap()
                .unwrap()
                .value
                .bytes(),
            b"a"
        );
        assert!(!b.join(RESTORE_TMP).exists());
    }

    #[tokio::test]
    async fn restore_refuses_a_bad_backup() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = open(&data).await.unwrap();
        store
            .commit(Transaction::new().put("t", "k", plain(b"kept")))
            .await
            .unwrap();
        drop(store);

        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
        let other_db = dir.path().join("other.db");
        Connection::open(&other_db)
            .unwrap()
            .execute_batch("CREATE TABLE unrelated (x)")
            .unwrap();
        // A real backup with a damaged page.
        let damaged = dir.path().join("damaged.db");
        backup_embedded(&data, &damaged).await.unwrap();
        let mut bytes = std::fs::read(&damaged).unwrap();
        let len = bytes.len();
        bytes.truncate(len - 100);
        std::fs::write(&damaged, &bytes).unwrap();

        for bad in [&garbage, &other_db, &damaged, &dir.path().join("missing")] {
            let result = restore_embedded(bad, &data, true);
            assert!(
                matches!(result, Err(StoreError::Config(_))),
                "{bad:?}: {result:?}"
            );
            assert!(!data.join(RESTORE_TMP).exists());
        }
        // The current data is untouched.
        let store = open(&data).await.unwrap();
        assert_eq!(
            store.get("t", "k").await.unwrap().unwrap().value.bytes(),
            b"kept"
        );
    }

    #[tokio::test]
    async fn backup_of_a_missing_database_fails() {
        let dir = tempfile::tempdir().unwrap();
        let result = backup_embedded(&dir.path().join("none"), &dir.path().join("b.db")).await;
        assert!(matches!(result, Err(StoreError::Config(_))));
        assert!(!dir.path().join("b.db").exists());
    }
}
