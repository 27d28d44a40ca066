//! Audit: one CloudTrail-format record for every call, failed ones included.
//!
//! [`AuditLog::record`] resolves only once the record is durable, and the pipeline sends the
//! response only after that: audit is fail-closed. Records from concurrent requests are written
//! together, one transaction (one fsync) a batch, by a single writer task; while one batch
//! commits, the next one gathers, so the batch size follows the load.

mod record;

pub use record::{Anonymous, AuditRecord, CallOutcome, is_read_only, request_parameters};

use std::sync::Arc;

use palisade_store::{Store, Transaction, Value};
use tokio::sync::{mpsc, oneshot};

/// The keyspace holding audit records, keyed `<account>/<region>/<millis>/<eventID>`.
pub const KEYSPACE: &str = "audit";

/// The most records written in one transaction.
const MAX_BATCH: usize = 4096;

/// The record could not be made durable; the call must fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError(pub String);

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the audit record could not be persisted: {}", self.0)
    }
}

impl std::error::Error for AuditError {}

struct Pending {
    key: String,
    body: Vec<u8>,
    done: oneshot::Sender<Result<(), AuditError>>,
}

/// The handle through which the pipeline persists records.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Arc<Store>) -> Self {
        let (queue, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(store, incoming));
        Self { queue }
    }

    /// Persists `record`; resolves once it is durable.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let (done, durable) = oneshot::channel();
        let pending = Pending {
            key: record.storage_key(),
            body: record.to_json_bytes(),
            done,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| AuditError("the audit writer has stopped".to_owned()))?;
        durable
            .await
            .map_err(|_| AuditError("the audit writer has stopped".to_owned()))?
    }
}

async fn write_batches(store: Arc<Store>, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut transaction = Transaction::new();
        for pending in &mut batch {
            let body = std::mem::take(&mut pending.body);
            transaction = transaction.put(KEYSPACE, &pending.key, Value::Plain(body));
        }
        let outcome = store
            .commit(transaction)
            .await
            .map_err(|error| AuditError(error.to_string()));
        if let Err(error) = &outcome {
            tracing::error!(%error, records = batch.len(), "audit batch failed");
        }
        for pending in batch.drain(..) {
            // A requester that gave up no longer waits for its answer; nothing to do.
            let _ = pending.done.send(outcome.clone());
        }
    }
}
