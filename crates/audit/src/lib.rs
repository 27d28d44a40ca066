//! Audit: one CloudTrail-format record for every call, failed ones included.
//!
//! [`AuditLog::record`] resolves only once the record is durable, and the pipeline sends the
//! response only after that: audit is fail-closed. Records are group-committed by the store:
//! the embedded store's single writer applies every commit queued while it was busy in one
//! SQLite transaction, with one fsync, so under load one fsync serves many requests; PostgreSQL
//! shares WAL flushes between concurrent commits the same way.

mod record;

pub use record::{Anonymous, AuditRecord, CallOutcome, is_read_only, request_parameters};

use std::sync::Arc;

use palisade_store::{Store, Transaction, Value};

/// The keyspace holding audit records, keyed `<account>/<region>/<millis>/<eventID>`.
pub const KEYSPACE: &str = "audit";

/// The record could not be made durable; the call must fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError(pub String);

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the audit record could not be persisted: {}", self.0)
    }
}

impl std::error::Error for AuditError {}

/// The handle through which the pipeline persists records.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<Store>,
}

impl AuditLog {
    /// Records persist in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Persists `record`; resolves once it is durable.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let transaction = Transaction::new().put(
            KEYSPACE,
            &record.storage_key(),
            Value::Plain(record.to_json_bytes()),
        );
        self.store
            .commit(transaction)
            .await
            .map_err(|error| AuditError(error.to_string()))
    }
}
