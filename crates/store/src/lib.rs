//! Palisade's storage: a transactional, versioned key-value store with two engines behind one
//! interface, and an at-rest barrier that encrypts secret values.
//!
//! - A *keyspace* (`"kms/keys"`, `"audit"`) holds entries under UTF-8 keys, ordered bytewise,
//!   so that a prefix (`"<account>/<region>/"`) selects one tenant's entries in order.
//! - Each entry has a value and a version (1 when created, +1 on each committed write). A
//!   [`Transaction`] carries preconditions (absent / at version N) and writes; it commits
//!   atomically and durably, or fails with [`StoreError::Conflict`] having written nothing.
//! - [`Value::Secret`] values are encrypted with AES-256-GCM under the root key before they
//!   reach the engine (see [`Barrier`]); [`Value::Plain`] values are stored as they are.
//! - Engines: embedded SQLite (`data_dir/palisade.db`, WAL, `synchronous=FULL`) or PostgreSQL
//!   (all tables in one schema). Both pass the same conformance suite.
//!
//! The store knows nothing of what services keep in it.

mod backend;
mod barrier;
mod cache;
pub mod derived;
mod error;
pub mod fsutil;
mod postgres;
mod sqlite;
mod txn;
pub mod typed;
mod value;

#[cfg(test)]
mod conformance;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backend::{Backend, Lower, ScanRange};

pub use barrier::{Barrier, ROOT_KEY_ENV, ROOT_KEY_FILE};
pub use derived::ChangeMark;
pub use error::StoreError;
pub use sqlite::{DB_FILE, backup_embedded, restore_embedded};
pub use txn::{MAX_KEY_LEN, MAX_KEYSPACE_LEN, Transaction};
pub use value::{Entry, SecretBytes, Value};

/// Where the data lives. The data directory holds the root key file in both cases (unless
/// `PALISADE_ROOT_KEY` is set) and, for the embedded engine, the database.
#[derive(Clone)]
pub enum StoreConfig {
    /// SQLite in `data_dir/palisade.db`; the directory is created with mode 0700.
    Embedded { data_dir: PathBuf },
    /// PostgreSQL at `url` (a `postgres://` URL or `key=value` string), every table in
    /// `schema` (created if missing; `[a-z_][a-z0-9_]*`, at most 63 characters).
    Postgres {
        url: String,
        schema: String,
        data_dir: PathBuf,
    },
}

impl StoreConfig {
    /// The data directory (root key file, and the database for the embedded engine).
    pub fn data_dir(&self) -> &Path {
        match self {
            StoreConfig::Embedded { data_dir } | StoreConfig::Postgres { data_dir, .. } => data_dir,
        }
    }
}

impl fmt::Debug for StoreConfig {
    // The URL may carry a password, so it is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Embedded { data_dir } => f
                .debug_struct("Embedded")
                .field("data_dir", data_dir)
                .finish(),
            StoreConfig::Postgres {
                schema, data_dir, ..
            } => f
                .debug_struct("Postgres")
                .field("url", &"[redacted]")
                .field("schema", schema)
                .field("data_dir", data_dir)
                .finish(),
        }
    }
}

/// Metadata names and values kept beside the entries.
const META_FORMAT: &str = "format";
const FORMAT_V1: &[u8] = b"palisade-store/1";
const META_BARRIER_CHECK: &str = "barrier-check";
/// Sealed at first start and opened at each later one, so that a wrong root key stops the
/// server at start instead of failing later on each secret (or, worse, sealing new secrets
/// under a second key). The NUL in the keyspace keeps its AAD apart from any entry's.
const CHECK_KEYSPACE: &str = "\0meta";
const CHECK_PLAINTEXT: &[u8] = b"palisade barrier check v1";

/// The store: one engine and the barrier. Cheap to clone (the clones share the engine).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    barrier: Arc<Barrier>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store, with the root key from `PALISADE_ROOT_KEY` or the data directory's
    /// key file (see [`Barrier::load`]). Must run inside a tokio runtime: the embedded engine
    /// uses the runtime's blocking pool for reads.
    pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        let barrier = Barrier::load(config.data_dir())?;
        Store::open_with_barrier(config, barrier).await
    }

    /// Opens the store with a given root key. Fails with [`StoreError::Sealed`] when the key
    /// is not the one the store was first opened with.
    pub async fn open_with_barrier(
        config: &StoreConfig,
        barrier: Barrier,
    ) -> Result<Store, StoreError> {
        let backend: Arc<dyn Backend> = match config {
            StoreConfig::Embedded { data_dir } => {
                Arc::new(sqlite::SqliteBackend::open(data_dir.clone()).await?)
            }
            StoreConfig::Postgres { url, schema, .. } => {
                Arc::new(postgres::PostgresBackend::open(url, schema).await?)
            }
        };
        let store = Store {
            backend,
            barrier: Arc::new(barrier),
        };
        store.check_format().await?;
        store.check_barrier().await?;
        Ok(store)
    }

    async fn check_format(&self) -> Result<(), StoreError> {
        let format = self
            .backend
            .meta_get_or_init(META_FORMAT, FORMAT_V1.to_vec())
            .await?;
        if format != FORMAT_V1 {
            return Err(StoreError::Config(format!(
                "the database has format {:?}; this build reads {:?}",
                String::from_utf8_lossy(&format),
                String::from_utf8_lossy(FORMAT_V1)
            )));
        }
        Ok(())
    }

    async fn check_barrier(&self) -> Result<(), StoreError> {
        let candidate = self.barrier.encode(
            CHECK_KEYSPACE,
            META_BARRIER_CHECK,
            &Value::Secret(SecretBytes::new(CHECK_PLAINTEXT.to_vec())),
        )?;
        let stored = self
            .backend
            .meta_get_or_init(META_BARRIER_CHECK, candidate)
            .await?;
        let opened = self
            .barrier
            .decode(CHECK_KEYSPACE, META_BARRIER_CHECK, stored)?;
        if opened.bytes() != CHECK_PLAINTEXT {
            return Err(StoreError::Sealed);
        }
        Ok(())
    }

    /// The entry under `key`, if any.
    pub async fn get(&self, keyspace: &str, key: &str) -> Result<Option<Entry>, StoreError> {
        txn::validate(keyspace, key)?;
        match self.backend.get(keyspace, key).await? {
            None => Ok(None),
            Some(raw) => Ok(Some(Entry {
                value: self.barrier.decode(keyspace, key, raw.bytes)?,
                version: raw.version,
            })),
        }
    }

    /// Up to `limit` entries whose keys start with `prefix` and, when `start_after` is given,
    /// sort after it; ascending by key (bytewise). To page, pass the last key of one page as
    /// `start_after` of the next.
    pub async fn scan(
        &self,
        keyspace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Entry)>, StoreError> {
        txn::validate(keyspace, prefix)?;
        if let Some(after) = start_after {
            txn::validate_key(keyspace, after)?;
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        let upper = prefix_upper_bound(prefix);
        let lower = match start_after {
            Some(after) if after >= prefix => Lower::Exclusive(after),
            _ => Lower::Inclusive(prefix),
        };
        let range = ScanRange {
            keyspace,
            lower,
            upper: upper.as_deref(),
            limit,
            descending: false,
        };
        self.scan_range(range).await
    }

    /// Up to `limit` entries whose keys start with `prefix` and, when `start_before` is given,
    /// sort before it; descending by key (bytewise). To page back, pass the last key of one page
    /// as `start_before` of the next.
    pub async fn scan_back(
        &self,
        keyspace: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Entry)>, StoreError> {
        txn::validate(keyspace, prefix)?;
        if let Some(before) = start_before {
            txn::validate_key(keyspace, before)?;
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix_end = prefix_upper_bound(prefix);
        // The lower of the two bounds; no bound at all when neither is given.
        let upper = match (start_before, prefix_end.as_deref()) {
            (Some(before), Some(end)) => Some(before.min(end)),
            (before, end) => before.or(end),
        };
        if upper.is_some_and(|upper| upper <= prefix) {
            return Ok(Vec::new());
        }
        let range = ScanRange {
            keyspace,
            lower: Lower::Inclusive(prefix),
            upper,
            limit,
            descending: true,
        };
        self.scan_range(range).await
    }

    async fn scan_range(&self, range: ScanRange<'_>) -> Result<Vec<(String, Entry)>, StoreError> {
        let keyspace = range.keyspace;
        let rows = self.backend.scan(range).await?;
        rows.into_iter()
            .map(|(key, raw)| {
                let value = self.barrier.decode(keyspace, &key, raw.bytes)?;
                Ok((
                    key,
                    Entry {
                        value,
                        version: raw.version,
                    },
                ))
            })
            .collect()
    }

    /// Applies `txn` atomically: `Ok` means it is durable (SQLite WAL fsynced with
    /// `synchronous=FULL`, or the PostgreSQL commit acknowledged); `Err(Conflict)` means a
    /// precondition failed and nothing was written. A transaction of many writes is one
    /// engine transaction and one sync, which is how the audit trail group-commits.
    pub async fn commit(&self, txn: Transaction) -> Result<(), StoreError> {
        if txn.is_empty() {
            return Ok(());
        }
        let batch = txn.into_raw(&self.barrier)?;
        self.backend.commit(batch).await
    }

    /// Deletes every entry of every keyspace (the local-mode reset). The root key stays.
    pub async fn reset(&self) -> Result<(), StoreError> {
        self.backend.reset().await
    }

    /// A mark that changes whenever any of `keyspaces` is written, for [`derived::Derived`];
    /// `None` where this process cannot see every write (PostgreSQL, which other nodes share).
    pub fn change_mark(&self, keyspaces: &[&str]) -> Option<ChangeMark> {
        self.backend.change_mark(keyspaces).map(ChangeMark)
    }

    /// Whether the engine answers (and, for SQLite, whether the writer thread is alive).
    pub async fn health(&self) -> Result<(), StoreError> {
        self.backend.health().await
    }
}

/// The smallest string above every string that starts with `prefix` (`None`: no bound).
///
/// UTF-8's byte order is code point order, so replacing the last character that can grow by
/// its successor (dropping the `char::MAX` characters after it) bounds the prefix's range.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            // The surrogates are no characters: the successor of U+D7FF is U+E000.
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper_bound("a/").as_deref(), Some("a0"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
    }

    #[test]
    fn store_is_shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Store>();
    }

    #[test]
    fn config_debug_hides_url() {
        let config = StoreConfig::Postgres {
            url: "postgres://u:hunter2@db/x".to_owned(),
            schema: "s".to_owned(),
            data_dir: PathBuf::from("/d"),
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
