//! The durable outbox. An event accepted onto a bus is written to the store (keyspace
//! `OUTBOX`) before it is delivered, and leaves it when its first delivery round has ended:
//! in the same transaction, each invocation of that round that failed and may be retried is
//! written to `RETRIES`, where it stays until it succeeds, is dead-lettered or is dropped.
//! When the server starts, everything still in either keyspace is delivered again, so delivery
//! is at least once: an event whose round was under way when the process stopped reaches
//! the targets it had already reached a second time.
//!
//! One task writes all of it, group-committing: every write queued while it was committing
//! goes into the next transaction, so a burst of events costs a few store commits, not one
//! each. `PutEvents` waits for its entries' commit (an accepted entry is durable before the
//! answer, as AWS promises); a service's `publish` does not wait, so an event published in the
//! milliseconds before a crash can be lost.
//!
//! An accepted event is archived in the same transaction, in each archive of its bus that it
//! matches (see `archives`), so it is in its archives exactly when it is durable on its bus.
//!
//! Keys: `<ingestion time, 16-digit milliseconds>/<random id>` in `OUTBOX`, so a restart
//! delivers the oldest first; `<outbox key>|<rule ARN>|<target id>` in `RETRIES`.

use std::sync::Arc;

use palisade_store::typed::{decode_json, plain_json};
use palisade_store::{Store, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use crate::archives::Archiver;
use crate::db::{OUTBOX, RETRIES, Tenant};

/// How many writes one transaction takes at most.
const MAX_BATCH: usize = 256;

/// Rows read per page when recovering at start.
const RECOVERY_PAGE: usize = 500;

/// An event on a bus, waiting to be matched and delivered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueuedEvent {
    pub tenant: Tenant,
    pub bus: String,
    /// The full envelope.
    pub event: Value,
    /// When EventBridge received it, RFC 3339, as the template variable shows it.
    pub ingestion_time: String,
    /// The same, in milliseconds since the epoch: the start of the retry policy's event age.
    pub ingestion_millis: i64,
    /// It came from another bus, so it goes to no further bus.
    pub forwarded: bool,
    /// The rules of `bus` (ARNs) it may reach, when not every rule may: a replay's
    /// `FilterArns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
    /// The rule of `bus` whose schedule made it (see `scheduler`): it goes to that rule's
    /// targets alone, unmatched, and no archive keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_of: Option<String>,
}

impl QueuedEvent {
    /// The event's id, which names the log stream a log group target writes.
    pub fn id(&self) -> &str {
        self.event
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether the rule `rule_arn` of its bus may receive it.
    pub fn reaches(&self, rule_arn: &str) -> bool {
        self.rules
            .as_ref()
            .is_none_or(|rules| rules.iter().any(|rule| rule == rule_arn))
    }
}

/// An invocation that failed and waits for its next attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingRetry {
    pub event: QueuedEvent,
    pub rule_arn: String,
    pub rule_name: String,
    /// The target as the model's `Target` in JSON (see `values`), as it was when the event
    /// matched.
    pub target: Value,
    /// Retry attempts made so far (the first invocation is not one).
    pub retries: u32,
    /// When the next attempt is due, milliseconds since the epoch.
    pub due_millis: i64,
}

/// One change to the outbox.
#[derive(Debug)]
pub(crate) enum Write {
    /// An accepted event. Once durable it goes to the dispatcher, with `permit` (its place in
    /// the bounded capacity); `durable` answers whether it was stored.
    Accept {
        key: String,
        event: QueuedEvent,
        permit: Option<OwnedSemaphorePermit>,
        durable: Option<oneshot::Sender<bool>>,
    },
    /// The first round of the event under `key` ended; `retries` wait for their next attempt.
    Handled {
        key: String,
        retries: Vec<(String, PendingRetry)>,
    },
    /// A retry under `key` ended (`None`), or failed again and waits (`Some`).
    Retried {
        key: String,
        retry: Option<PendingRetry>,
    },
}

/// An accepted, durable event handed to the dispatcher.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub key: String,
    pub event: Arc<QueuedEvent>,
    pub permit: Option<OwnedSemaphorePermit>,
}

/// The outbox key of an event received at `ingestion_millis`.
pub(crate) fn outbox_key(ingestion_millis: i64) -> String {
    format!("{:016}/{}", ingestion_millis.max(0), uuid::Uuid::new_v4())
}

/// The retry key of the invocation of `target_id` by `rule_arn` for the event under `key`.
pub(crate) fn retry_key(key: &str, rule_arn: &str, target_id: &str) -> String {
    format!("{key}|{rule_arn}|{target_id}")
}

/// Where the writer sends what became durable.
pub(crate) struct Downstream {
    pub dispatch: mpsc::UnboundedSender<Dispatch>,
    pub retries: mpsc::UnboundedSender<(String, PendingRetry)>,
}

/// The writer task: first hands over what the store still holds from before (pending events to
/// the dispatcher, retries to the scheduler), then commits `writes` in batches, archiving
/// accepted events through `archiver`, until every sender is gone.
pub(crate) async fn write(
    store: Store,
    archiver: Arc<Archiver>,
    mut writes: mpsc::UnboundedReceiver<Write>,
    downstream: Downstream,
) {
    recover(&store, &downstream).await;
    while let Some(first) = writes.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        commit(&store, &archiver, batch, &downstream).await;
    }
}

async fn commit(store: &Store, archiver: &Archiver, batch: Vec<Write>, downstream: &Downstream) {
    let mut txn = Transaction::new();
    for write in &batch {
        txn = match stage(txn, write) {
            Ok(txn) => txn,
            Err((txn, error)) => {
                tracing::warn!(%error, "an EventBridge delivery record could not be encoded");
                txn
            }
        };
    }
    let accepted = batch.iter().filter_map(|write| match write {
        Write::Accept { event, .. } => Some(event),
        _ => None,
    });
    let committed = match archiver.stage(txn, accepted).await {
        Ok(txn) => store.commit(txn).await,
        Err(error) => Err(error),
    };
    let stored = match committed {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "EventBridge delivery records could not be stored");
            false
        }
    };
    for write in batch {
        match write {
            Write::Accept {
                key,
                event,
                permit,
                durable,
            } => {
                // An entry PutEvents reports as failed must not be delivered; an event nobody
                // waits for is delivered anyway, at most once.
                let waited = durable.is_some();
                if let Some(durable) = durable {
                    let _ = durable.send(stored);
                }
                if stored || !waited {
                    let _ = downstream.dispatch.send(Dispatch {
                        key,
                        event: Arc::new(event),
                        permit,
                    });
                }
            }
            Write::Handled { retries, .. } => {
                for retry in retries {
                    let _ = downstream.retries.send(retry);
                }
            }
            Write::Retried { key, retry } => {
                if let Some(retry) = retry {
                    let _ = downstream.retries.send((key, retry));
                }
            }
        }
    }
}

/// Adds `write` to `txn`; on an encoding failure, answers `txn` unchanged with the error.
fn stage(
    txn: Transaction,
    write: &Write,
) -> Result<Transaction, (Transaction, palisade_store::StoreError)> {
    match write {
        Write::Accept { key, event, .. } => match plain_json(event) {
            Ok(value) => Ok(txn.put(OUTBOX, key, value)),
            Err(error) => Err((txn, error)),
        },
        Write::Handled { key, retries } => {
            let mut txn = txn.delete(OUTBOX, key);
            for (retry_key, retry) in retries {
                match plain_json(retry) {
                    Ok(value) => txn = txn.put(RETRIES, retry_key, value),
                    Err(error) => return Err((txn, error)),
                }
            }
            Ok(txn)
        }
        Write::Retried { key, retry: None } => Ok(txn.delete(RETRIES, key)),
        Write::Retried {
            key,
            retry: Some(retry),
        } => match plain_json(retry) {
            Ok(value) => Ok(txn.put(RETRIES, key, value)),
            Err(error) => Err((txn, error)),
        },
    }
}

/// Hands over what an earlier run left: pending events, then waiting retries.
async fn recover(store: &Store, downstream: &Downstream) {
    let mut events = 0_usize;
    let mut retries = 0_usize;
    scan(store, OUTBOX, |key, event: QueuedEvent| {
        events += 1;
        let _ = downstream.dispatch.send(Dispatch {
            key,
            event: Arc::new(event),
            permit: None,
        });
    })
    .await;
    scan(store, RETRIES, |key, retry: PendingRetry| {
        retries += 1;
        let _ = downstream.retries.send((key, retry));
    })
    .await;
    if events + retries > 0 {
        tracing::info!(
            events,
            retries,
            "EventBridge delivers again what it had not finished"
        );
    }
}

async fn scan<T: serde::de::DeserializeOwned>(
    store: &Store,
    keyspace: &str,
    mut each: impl FnMut(String, T),
) {
    let mut after: Option<String> = None;
    loop {
        let page = match store
            .scan(keyspace, "", after.as_deref(), RECOVERY_PAGE)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, keyspace, "pending EventBridge deliveries could not be read");
                return;
            }
        };
        let done = page.len() < RECOVERY_PAGE;
        for (key, entry) in page {
            match decode_json::<T>(keyspace, &key, &entry.value) {
                Ok(record) => each(key.clone(), record),
                Err(error) => {
                    tracing::warn!(%error, "a pending EventBridge delivery is unreadable")
                }
            }
            after = Some(key);
        }
        if done {
            return;
        }
    }
}
