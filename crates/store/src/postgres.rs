//! The PostgreSQL engine: every table in one schema, connections from a small pool.
//!
//! Isolation: a batch with preconditions runs SERIALIZABLE, so that checking and writing is
//! one serializable step even when the checked keys are not written (a write skew between
//! two such batches is refused, as the embedded engine's single writer refuses it). A batch
//! without preconditions only upserts and deletes under row locks, which READ COMMITTED
//! already makes exact, and is spared serialization failures. A serialization failure or
//! deadlock is retried a few times; only a precondition that still fails is a `Conflict`.
//!
//! Keys use the "C" collation: bytewise order, like SQLite's, whatever the database locale.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::StoreError;
use crate::backend::{Backend, RawBatch, RawEntry, ScanRange, WriteOp, version_from_i64};

const POOL_SIZE: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const POOL_WAIT: Duration = Duration::from_secs(30);
const ATTEMPTS: u32 = 8;
const MAX_SCHEMA_LEN: usize = 63;

pub(crate) struct PostgresBackend {
    pool: Pool,
    /// `"schema".entries` and `"schema".meta`, the schema validated as an identifier.
    entries: String,
    meta: String,
}

/// Renders an error without the server's DETAIL, which may quote row values.
fn pg(context: &str, err: &tokio_postgres::Error) -> StoreError {
    match err.as_db_error() {
        Some(db) => StoreError::Backend(format!(
            "postgres: {context}: {}: {} ({})",
            db.severity(),
            db.message(),
            db.code().code()
        )),
        None => StoreError::backend(&format!("postgres: {context}"), err),
    }
}

fn pool_err(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Backend(e) => pg("connecting", &e),
        other => StoreError::backend("postgres pool", other),
    }
}

/// Checks a schema name so that it can be spliced into SQL: `[a-z_][a-z0-9_]*`, at most 63
/// bytes (PostgreSQL's identifier length), and not a `pg_` system name.
pub(crate) fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || schema.len() > MAX_SCHEMA_LEN || schema.starts_with("pg_") {
        return Err(StoreError::Config(format!(
            "schema {schema:?} must match [a-z_][a-z0-9_]* (at most {MAX_SCHEMA_LEN} characters, not pg_*)"
        )));
    }
    Ok(())
}

/// A failed attempt at a batch: either worth another try or final.
enum Attempt {
    Retry(StoreError),
    Fail(StoreError),
}

fn classify(context: &str, err: &tokio_postgres::Error) -> Attempt {
    let transient = matches!(
        err.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            | Some(&SqlState::T_R_DEADLOCK_DETECTED)
            | Some(&SqlState::UNIQUE_VIOLATION)
    );
    if transient {
        Attempt::Retry(pg(context, err))
    } else {
        Attempt::Fail(pg(context, err))
    }
}

impl PostgresBackend {
    pub(crate) async fn open(url: &str, schema: &str) -> Result<PostgresBackend, StoreError> {
        validate_schema(schema)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::config("postgres connection string", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("palisade");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::config("postgres pool", e))?;
        let backend = PostgresBackend {
            pool,
            entries: format!("\"{schema}\".entries"),
            meta: format!("\"{schema}\".meta"),
        };
        backend.migrate(schema).await?;
        Ok(backend)
    }

    /// Creates the schema and tables if missing. The advisory lock serialises servers that
    /// start together: `CREATE ... IF NOT EXISTS` alone races on the catalog.
    async fn migrate(&self, schema: &str) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg("migrating", &e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("palisade-store migrate {schema}")],
        )
        .await
        .map_err(|e| pg("migrating", &e))?;
        let ddl = format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             CREATE TABLE IF NOT EXISTS {entries} (
                 keyspace text COLLATE \"C\" NOT NULL,
                 key text COLLATE \"C\" NOT NULL,
                 version bigint NOT NULL,
                 value bytea NOT NULL,
                 PRIMARY KEY (keyspace, key)
             );
             CREATE TABLE IF NOT EXISTS {meta} (
                 name text NOT NULL PRIMARY KEY,
                 value bytea NOT NULL
             );",
            entries = self.entries,
            meta = self.meta,
        );
        tx.batch_execute(&ddl)
            .await
            .map_err(|e| pg("migrating", &e))?;
        tx.commit().await.map_err(|e| pg("migrating", &e))
    }

    async fn try_commit(&self, batch: &RawBatch) -> Result<(), Attempt> {
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| Attempt::Fail(pool_err(e)))?;
        let isolation = if batch.checks.is_empty() {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::Serializable
        };
        let tx = client
            .build_transaction()
            .isolation_level(isolation)
            .start()
            .await
            .map_err(|e| classify("begin", &e))?;

        if !batch.checks.is_empty() {
            let keyspaces: Vec<&str> = batch.checks.iter().map(|c| c.keyspace.as_str()).collect();
            let keys: Vec<&str> = batch.checks.iter().map(|c| c.key.as_str()).collect();
            let query = format!(
                "SELECT e.keyspace, e.key, e.version FROM {} e \
                 JOIN unnest($1::text[], $2::text[]) AS t(keyspace, key) \
                 ON e.keyspace = t.keyspace AND e.key = t.key",
                self.entries
            );
            let stmt = tx
                .prepare_cached(&query)
                .await
                .map_err(|e| classify("checking", &e))?;
            let rows = tx
                .query(&stmt, &[&keyspaces, &keys])
                .await
                .map_err(|e| classify("checking", &e))?;
            let mut found = Vec::with_capacity(rows.len());
            for row in rows {
                let keyspace: String = row.try_get(0).map_err(|e| classify("checking", &e))?;
                let key: String = row.try_get(1).map_err(|e| classify("checking", &e))?;
                let version: i64 = row.try_get(2).map_err(|e| classify("checking", &e))?;
                let version = version_from_i64(version).map_err(Attempt::Fail)?;
                found.push((keyspace, key, version));
            }
            for check in &batch.checks {
                let current = found
                    .iter()
                    .find(|(ks, k, _)| *ks == check.keyspace && *k == check.key)
                    .map(|(_, _, v)| *v);
                check.verify(current).map_err(Attempt::Fail)?;
            }
        }

        let mut del_keyspaces = Vec::new();
        let mut del_keys = Vec::new();
        let mut put_keyspaces = Vec::new();
        let mut put_keys = Vec::new();
        let mut put_values: Vec<&[u8]> = Vec::new();
        for write in &batch.writes {
            match &write.op {
                WriteOp::Delete => {
                    del_keyspaces.push(write.keyspace.as_str());
                    del_keys.push(write.key.as_str());
                }
                WriteOp::Put(bytes) => {
                    put_keyspaces.push(write.keyspace.as_str());
                    put_keys.push(write.key.as_str());
                    put_values.push(bytes.as_slice());
                }
            }
        }
        // Whole arrays in one statement each: a batch of thousands of audit records costs
        // two round trips, not thousands. Keys are unique within a batch (normalised), as
        // ON CONFLICT DO UPDATE requires.
        if !del_keys.is_empty() {
            let query = format!(
                "DELETE FROM {} e USING unnest($1::text[], $2::text[]) AS t(keyspace, key) \
                 WHERE e.keyspace = t.keyspace AND e.key = t.key",
                self.entries
            );
            let stmt = tx
                .prepare_cached(&query)
                .await
                .map_err(|e| classify("deleting", &e))?;
            tx.execute(&stmt, &[&del_keyspaces, &del_keys])
                .await
                .map_err(|e| classify("deleting", &e))?;
        }
        if !put_keys.is_empty() {
            let query = format!(
                "INSERT INTO {entries} AS e (keyspace, key, version, value) \
                 SELECT keyspace, key, 1, value \
                 FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(keyspace, key, value) \
                 ON CONFLICT (keyspace, key) \
                 DO UPDATE SET version = e.version + 1, value = EXCLUDED.value",
                entries = self.entries
            );
            let stmt = tx
                .prepare_cached(&query)
                .await
                .map_err(|e| classify("writing", &e))?;
            tx.execute(&stmt, &[&put_keyspaces, &put_keys, &put_values])
                .await
                .map_err(|e| classify("writing", &e))?;
        }
        tx.commit().await.map_err(|e| classify("commit", &e))
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn get(&self, keyspace: &str, key: &str) -> Result<Option<RawEntry>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let query = format!(
            "SELECT version, value FROM {} WHERE keyspace = $1 AND key = $2",
            self.entries
        );
        let stmt = client
            .prepare_cached(&query)
            .await
            .map_err(|e| pg("get", &e))?;
        let row = client
            .query_opt(&stmt, &[&keyspace, &key])
            .await
            .map_err(|e| pg("get", &e))?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(RawEntry {
                version: version_from_i64(row.try_get(0).map_err(|e| pg("get", &e))?)?,
                bytes: row.try_get(1).map_err(|e| pg("get", &e))?,
            })),
        }
    }

    async fn scan(&self, range: ScanRange<'_>) -> Result<Vec<(String, RawEntry)>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let query = range.sql(&self.entries, '$');
        let stmt = client
            .prepare_cached(&query)
            .await
            .map_err(|e| pg("scan", &e))?;
        let lower = range.lower_key();
        let limit = range.limit_i64();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&range.keyspace, &lower, &limit];
        if let Some(upper) = &range.upper {
            params.push(upper);
        }
        let rows = client
            .query(&stmt, &params)
            .await
            .map_err(|e| pg("scan", &e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let key: String = row.try_get(0).map_err(|e| pg("scan", &e))?;
            let version = version_from_i64(row.try_get(1).map_err(|e| pg("scan", &e))?)?;
            let bytes: Vec<u8> = row.try_get(2).map_err(|e| pg("scan", &e))?;
            out.push((key, RawEntry { bytes, version }));
        }
        Ok(out)
    }

    async fn commit(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_commit(&batch).await {
                Ok(()) => return Ok(()),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(e)) if attempt >= ATTEMPTS => {
                    return Err(StoreError::Conflict(format!(
                        "concurrent transactions kept colliding ({e})"
                    )));
                }
                Err(Attempt::Retry(_)) => tokio::time::sleep(backoff(attempt)).await,
            }
        }
    }

    async fn reset(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .batch_execute(&format!("TRUNCATE {}", self.entries))
            .await
            .map_err(|e| pg("reset", &e))
    }

    async fn health(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| pg("health", &e))
    }

    async fn meta_get_or_init(&self, name: &str, value: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                &format!(
                    "INSERT INTO {} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    self.meta
                ),
                &[&name, &value],
            )
            .await
            .map_err(|e| pg("metadata", &e))?;
        let row = client
            .query_one(
                &format!("SELECT value FROM {} WHERE name = $1", self.meta),
                &[&name],
            )
            .await
            .map_err(|e| pg("metadata", &e))?;
        row.try_get(0).map_err(|e| pg("metadata", &e))
    }
}

/// Exponential backoff with jitter, so that the transactions that collided do not collide
/// again in step.
fn backoff(attempt: u32) -> Duration {
    let base = 2u64.saturating_pow(attempt.min(8));
    let mut byte = [0u8; 1];
    let jitter = match aws_lc_rs::rand::fill(&mut byte) {
        Ok(()) => {
            let [b] = byte;
            u64::from(b % 8)
        }
        Err(_) => 0,
    };
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for ok in ["palisade", "_x", "a1_b2", &"a".repeat(63)] {
            assert!(validate_schema(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "Palisade",
            "a-b",
            "a\"b",
            "a;drop",
            "pg_catalog",
            "é",
            &"a".repeat(64),
        ] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }
}

/// The PostgreSQL fixture: a fresh schema per test, dropped afterwards, even on failure.
#[cfg(test)]
mod fixture {
    use std::path::PathBuf;

    use super::*;
    use crate::conformance::test_barrier;
    use crate::{Barrier, Store, StoreConfig};

    const URL_ENV: &str = "PALISADE_TEST_POSTGRES_URL";
    const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    pub(super) struct Fixture {
        // Fields drop in order: the pool before the schema guard.
        pub(super) store: Store,
        pub(super) schema: SchemaGuard,
        pub(super) dir: tempfile::TempDir,
    }

    impl Fixture {
        pub(super) fn store(&self) -> &Store {
            &self.store
        }

        pub(super) fn config(&self) -> StoreConfig {
            StoreConfig::Postgres {
                url: self.schema.url.clone(),
                schema: self.schema.name.clone(),
                data_dir: PathBuf::from(self.dir.path()),
            }
        }

        pub(super) async fn open_again(&self, barrier: Barrier) -> Result<Store, StoreError> {
            Store::open_with_barrier(&self.config(), barrier).await
        }
    }

    pub(super) struct SchemaGuard {
        url: String,
        pub(super) name: String,
    }

    impl Drop for SchemaGuard {
        fn drop(&mut self) {
            // Drop cannot await; a thread with its own runtime can, whatever the caller's
            // runtime is doing.
            let (url, name) = (self.url.clone(), self.name.clone());
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
                    let conn = tokio::spawn(conn);
                    client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .await
                        .unwrap();
                    drop(client);
                    let _ = conn.await;
                });
            })
            .join();
            if dropped.is_err() {
                eprintln!("could not drop test schema {}", self.name);
            }
        }
    }

    fn random_suffix() -> String {
        let mut bytes = [0u8; 8];
        aws_lc_rs::rand::fill(&mut bytes).unwrap();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A store on a fresh schema, or `None` (with a message) when PostgreSQL is unreachable
    /// outside CI. Under CI (`CI` set), an unreachable server fails the test.
    pub(super) async fn fixture() -> Option<Fixture> {
        let url = std::env::var(URL_ENV).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, conn)) => {
                drop(client);
                let _ = conn.await;
            }
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("PostgreSQL unreachable ({URL_ENV} or {DEFAULT_URL}) under CI: {e}")
            }
            Err(e) => {
                eprintln!("skipping: PostgreSQL unreachable ({URL_ENV} or {DEFAULT_URL}): {e}");
                return None;
            }
        }
        let schema = SchemaGuard {
            url,
            name: format!("palisade_test_{}", random_suffix()),
        };
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::Postgres {
            url: schema.url.clone(),
            schema: schema.name.clone(),
            data_dir: PathBuf::from(dir.path()),
        };
        let store = Store::open_with_barrier(&config, test_barrier())
            .await
            .unwrap();
        Some(Fixture { store, schema, dir })
    }
}

#[cfg(test)]
mod conformance_tests {
    use super::fixture::fixture;
    use crate::conformance::{self, OTHER_KEY, test_barrier};
    use crate::{Barrier, StoreError, Transaction, Value};

    conformance::conformance_suite!(fixture);

    #[tokio::test]
    async fn reopen_shares_data_and_checks_the_key() {
        let Some(fixture) = fixture().await else {
            return;
        };
        fixture
            .store()
            .commit(Transaction::new().put("t", "k", Value::Plain(b"v".to_vec())))
            .await
            .unwrap();
        // A second server on the same schema (migration is idempotent) sees the data.
        let again = fixture.open_again(test_barrier()).await.unwrap();
        assert_eq!(again.get("t", "k").await.unwrap().unwrap().version, 1);
        let wrong = fixture
            .open_again(Barrier::from_env_value(OTHER_KEY).unwrap())
            .await;
        assert!(matches!(wrong, Err(StoreError::Sealed)), "{wrong:?}");
    }

    #[tokio::test]
    async fn bad_schema_or_url_is_a_config_error() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let mut config = fixture.config();
        if let crate::StoreConfig::Postgres { schema, .. } = &mut config {
            *schema = "bad\"name".to_owned();
        }
        let result = crate::Store::open_with_barrier(&config, test_barrier()).await;
        assert!(matches!(result, Err(StoreError::Config(_))), "{result:?}");
        if let crate::StoreConfig::Postgres { url, .. } = &mut config {
            *url = "postgres://[::1".to_owned();
        }
        let result = crate::Store::open_with_barrier(&config, test_barrier()).await;
        assert!(matches!(result, Err(StoreError::Config(_))), "{result:?}");
    }

    #[tokio::test]
    async fn unreachable_server_is_a_backend_error() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let mut config = fixture.config();
        if let crate::StoreConfig::Postgres { url, .. } = &mut config {
            // Port 1 on loopback: nothing listens there.
            *url = "postgres://postgres@127.0.0.1:1/test".to_owned();
        }
        let result = crate::Store::open_with_barrier(&config, test_barrier()).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
    }
}
