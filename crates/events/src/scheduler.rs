//! The scheduler: fires the enabled rules that have a `ScheduleExpression` when they are due by
//! the injected clock, each time with a "Scheduled Event" from `aws.events` naming the rule, as
//! AWS sends it. The event goes to that rule's targets alone: it is matched against no pattern
//! and kept by no archive.
//!
//! State: keyspace [`SCHEDULES`], under each scheduled rule's key, when its schedule began (the
//! first time the scheduler saw the rule enabled with that expression) and when it last fired.
//! A rule that is deleted, disabled or given another expression begins again. The event is
//! stored durably before its firing is recorded, so a crash in between fires it again after the
//! restart: at least once, as delivery itself. One node fires one rule once; nodes sharing a
//! PostgreSQL store that look at the same instant may each fire it.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use palisade_core::events::ServiceEvent;
use palisade_core::{AccountId, Region, ServiceError};
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::EventsState;
use crate::buses::DEFAULT;
use crate::db::{RULES, SCHEDULES, Tenant, plain, store_error};
use crate::events::{rfc3339, service_envelope};
use crate::outbox::QueuedEvent;
use crate::records::RuleRecord;
use crate::schedule;

/// How often the server's task looks for due rules: a firing comes at most this late.
pub(crate) const TICK: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize)]
struct ScheduleState {
    expression: String,
    began_millis: i64,
    fired_millis: i64,
}

impl EventsState {
    /// Fires the scheduled rules that are due now; answers how many fired. The server's task
    /// calls it every [`TICK`].
    pub async fn fire_schedules(&self) -> Result<usize, ServiceError> {
        let _firing = self.firing.lock().await;
        let now = self.now_millis();
        let rules: Vec<(String, RuleRecord)> = self.scan_all(RULES, "").await?;
        // What is left in here once every rule is seen belongs to rules no longer scheduled.
        let mut states: HashMap<String, ScheduleState> =
            self.scan_all(SCHEDULES, "").await?.into_iter().collect();
        let mut changes = Transaction::new();
        let mut fired = 0;
        for (key, rule) in rules {
            let (Some(expression), true) = (rule.schedule_expression.as_deref(), rule.is_enabled())
            else {
                continue;
            };
            let (Some(tenant), Ok(schedule)) = (tenant_of(&key), schedule::parse(expression))
            else {
                continue;
            };
            let state = states
                .remove(&key)
                .filter(|state| state.expression == expression);
            let Some(state) = state else {
                let began = ScheduleState {
                    expression: expression.to_owned(),
                    began_millis: now,
                    fired_millis: now,
                };
                changes = changes.put(SCHEDULES, &key, plain(&began)?);
                continue;
            };
            let Some(due) = schedule.due(state.began_millis, state.fired_millis, now) else {
                continue;
            };
            let event = scheduled_event(&tenant, &rule.name, due, now)?;
            // Not stored: the next tick tries again.
            if self.accept_durably(vec![event]).await.first() != Some(&true) {
                continue;
            }
            let fired_now = ScheduleState {
                fired_millis: due,
                ..state
            };
            // Recorded at once, not with the rest: a later failure must not fire it again.
            self.store
                .commit(Transaction::new().put(SCHEDULES, &key, plain(&fired_now)?))
                .await
                .map_err(store_error)?;
            fired += 1;
        }
        for gone in states.keys() {
            changes = changes.delete(SCHEDULES, gone);
        }
        if !changes.is_empty() {
            self.store.commit(changes).await.map_err(store_error)?;
        }
        Ok(fired)
    }
}

/// The event rule `name` of `tenant`'s default bus fires with for `due`, received `now`.
fn scheduled_event(
    tenant: &Tenant,
    name: &str,
    due: i64,
    now: i64,
) -> Result<QueuedEvent, ServiceError> {
    let (Some(account), Some(region)) = (
        AccountId::parse(&tenant.account),
        Region::parse(&tenant.region),
    ) else {
        return Err(ServiceError::internal(
            "a rule is stored under an invalid tenant",
        ));
    };
    let at = |millis: i64| UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    let id = uuid::Uuid::new_v4().to_string();
    let event = ServiceEvent {
        account,
        region,
        source: "aws.events".to_owned(),
        detail_type: "Scheduled Event".to_owned(),
        resources: vec![tenant.rule_arn(DEFAULT, name)],
        detail: "{}".to_owned(),
        time: at(due),
    };
    Ok(QueuedEvent {
        tenant: tenant.clone(),
        bus: DEFAULT.to_owned(),
        event: service_envelope(&id, &event),
        ingestion_time: rfc3339(at(now)),
        ingestion_millis: now,
        forwarded: false,
        rules: None,
        schedule_of: Some(name.to_owned()),
    })
}

/// The tenant of a rule's store key, `<account>/<region>/<bus>|<rule>`, when its bus is the
/// default one (the only bus whose rules may have a schedule).
fn tenant_of(key: &str) -> Option<Tenant> {
    let (account, rest) = key.split_once('/')?;
    let (region, rest) = rest.split_once('/')?;
    let (bus, _) = rest.split_once('|')?;
    (bus == DEFAULT).then(|| Tenant {
        account: account.to_owned(),
        region: region.to_owned(),
    })
}
