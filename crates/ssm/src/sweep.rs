//! The parameter-policy sweeper: walks every tenant's parameters and applies the policies of
//! their latest versions that have fallen due by the clock. An expired parameter is deleted;
//! a notification is sent once and its policy marked Finished. Each action commits before its
//! event is published, so a restart between the two loses an event but never repeats an action.

use palisade_core::ServiceError;
use palisade_store::Transaction;

use crate::ParameterStore;
use crate::events::{self, Operation};
use crate::policies::{PolicyKind, PolicyRecord, PolicyStatus};
use crate::records::{self, Kind, PARAMETERS, Tenant};

/// How many records one store scan reads.
const CHUNK: usize = 500;

pub(crate) async fn apply_due_policies(service: &ParameterStore) -> Result<usize, ServiceError> {
    let now = service.clock.now_millis();
    let mut applied = 0;
    let mut after: Option<String> = None;
    loop {
        let rows = records::scan(&service.store, "", after.as_deref(), CHUNK).await?;
        let exhausted = rows.len() < CHUNK;
        after = rows.last().map(|(key, _)| key.clone());
        for (key, record) in rows {
            let due = record
                .latest()
                .is_some_and(|latest| latest.policies.iter().any(|p| is_due(p, now)));
            if !due {
                continue;
            }
            if let Some((tenant, name)) = Tenant::from_store_key(&key) {
                applied += apply(service, &tenant, name, now).await?;
            }
        }
        if exhausted {
            return Ok(applied);
        }
    }
}

/// Applies the due policies of parameter `name`; answers how many acted.
async fn apply(
    service: &ParameterStore,
    tenant: &Tenant,
    name: &str,
    now: i64,
) -> Result<usize, ServiceError> {
    let outcome = records::mutate(&service.store, || async {
        let Some(stored) = records::parameter(&service.store, tenant, name).await? else {
            return Ok((Transaction::new(), None));
        };
        let mut record = stored.value;
        let kind = record.current()?.kind;
        let description = record.current()?.description.clone();
        let Some(latest) = record.versions.last_mut() else {
            return Ok((Transaction::new(), None));
        };
        let mut acted: Vec<PolicyRecord> = Vec::new();
        for policy in &mut latest.policies {
            if is_due(policy, now) {
                policy.status = PolicyStatus::Finished;
                acted.push(policy.clone());
            }
        }
        let expired = acted.iter().any(|p| p.kind == PolicyKind::Expiration);
        let key = tenant.store_key(name);
        let txn = records::pin(Transaction::new(), tenant, name, Some(stored.version));
        let txn = if expired {
            let (mut counts, counts_read_at) = records::tier_counts(&service.store, tenant).await?;
            counts.remove(record.tier);
            records::write_counts(txn.delete(PARAMETERS, &key), tenant, counts, counts_read_at)?
        } else {
            txn.put(PARAMETERS, &key, record.to_value()?)
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
