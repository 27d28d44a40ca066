//! The parameter-policy sweeper: reads the due-policy index (ordered by due time) up to the
//! clock's now, and applies the policies of each parameter found there. An expired parameter is
//! deleted; a notification is sent once and its policy marked Finished. Each action commits
//! before its event is published, so a restart between the two loses an event but never
//! repeats an action.

use palisade_core::ServiceError;
use palisade_store::Transaction;

use crate::ParameterStore;
use crate::events::{self, Operation};
use crate::policies::{PolicyKind, PolicyRecord, PolicyStatus};
use crate::records::{self, DUE, Kind, Tenant};

/// How many index entries one store scan reads.
const CHUNK: usize = 500;

pub(crate) async fn apply_due_policies(service: &ParameterStore) -> Result<usize, ServiceError> {
    let now = service.clock.now_millis();
    let mut applied = 0;
    let mut after: Option<String> = None;
    loop {
        let rows = service
            .store
            .scan(DUE, "", after.as_deref(), CHUNK)
            .await
            .map_err(records::store_error)?;
        let exhausted = rows.len() < CHUNK;
        after = rows.last().map(|(key, _)| key.clone());
        for (key, _) in rows {
            let Some((due, tenant, name)) = records::parse_due_key(&key) else {
                continue;
            };
            if due > now {
                return Ok(applied);
            }
            applied += apply(service, &tenant, name, &key, now).await?;
        }
        if exhausted {
            return Ok(applied);
        }
    }
}

/// Applies the due policies of parameter `name`, found through the index entry `index_key`;
/// answers how many acted.
async fn apply(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
    index_key: &str,
    now: i64,
) -> Result<usize, ServiceError> {
    let outcome = records::mutate(&service.store, || async {
        // The entry that led here goes in any case: a stale one must not be read again.
        let txn = Transaction::new().delete(DUE, index_key);
        let Some(stored) = records::parameter(service, tenant, name).await? else {
            return Ok((txn, None));
        };
        let mut record = stored.value.clone();
        let kind = record.current()?.kind;
        let description = record.current()?.description.clone();
        let mut acted: Vec<PolicyRecord> = Vec::new();
        if let Some(latest) = record.versions.last_mut() {
            for policy in &mut latest.policies {
                if is_due(policy, now) {
                    policy.status = PolicyStatus::Finished;
                    acted.push(policy.clone());
                }
            }
        }
        let expired = acted.iter().any(|p| p.kind == PolicyKind::Expiration);
        let txn = records::pin(txn, tenant, name, Some(stored.version));
        let txn = if expired {
            let (mut counts, counts_read_at) = records::tier_counts(&service.store, tenant).await?;
            counts.remove(record.tier);
            let txn = records::write_record(txn, tenant, name, Some(&stored.value), None)?;
            records::write_counts(txn, tenant, counts, counts_read_at)?
        } else {
            records::write_record(txn, tenant, name, Some(&stored.value), Some(&record))?
        };
        Ok((txn, Some((acted, expired, kind, description))))
    })
    .await?;
    let Some((acted, expired, kind, description)) = outcome else {
        return Ok(0);
    };
    publish(service, tenant, name, kind, &acted);
    if expired {
        service.publish_change(
            tenant,
            Operation::Delete,
            name,
            kind,
            description.as_deref(),
        );
    }
    Ok(acted.len())
}

fn publish(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
    kind: Kind,
    acted: &[PolicyRecord],
) {
    for policy in acted {
        if let Some(event) = events::policy_action(tenant, service.clock.now(), name, kind, policy)
        {
            service.events.publish(event);
        }
    }
}

fn is_due(policy: &PolicyRecord, now: i64) -> bool {
    policy.status == PolicyStatus::Pending && policy.due_millis <= now
}
