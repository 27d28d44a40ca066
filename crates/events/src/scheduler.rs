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

use std::collections::HashSet;
use std::sync::Weak;
use std::time::{Duration, UNIX_EPOCH};

use palisade_core::events::ServiceEvent;
use palisade_core::{AccountId, Region, ServiceError};
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::EventsState;
use crate::buses::DEFAULT;
use crate::db::{RULES, SCHEDULES, Tenant, plain, scan_every, store_error};
use crate::events::{rfc3339, service_envelope};
use crate::outbox::QueuedEvent;
use crate::records::RuleRecord;
use crate::schedule;

/// How often the server's task looks for due rules: a firing comes at most this late.
const TICK: Duration = Duration::from_secs(10);

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
        let rules = scan_every::<RuleRecord>(&self.store, RULES, "")
            .await
            .map_err(store_error)?;
        let mut scheduled = HashSet::new();
        let mut fired = 0;
        for (key, stored) in rules {
            let rule = stored.value;
            let (Some(expression), true) = (rule.schedule_expression.as_deref(), rule.is_enabled())
            else {
                continue;
            };
            let (Some(tenant), Ok(schedule)) = (tenant_of(&key), schedule::parse(expression))
            else {
                continue;
            };
            scheduled.insert(key.clone());
            let state = self
                .get::<ScheduleState>(SCHEDULES, &key)
                .await?
                .map(|stored| stored.value)
                .filter(|state| state.expression == expression);
            let Some(state) = state else {
                let began = ScheduleState {
                    expression: expression.to_owned(),
                    began_millis: now,
                    fired_millis: now,
                };
                self.save(&key, &began).await?;
                continue;
            };
            let Some(due) = schedule.due(state.began_millis, state.fired_millis, now) else {
                continue;
            };
            let event = self.scheduled_event(&tenant, &rule.name, due, now)?;
            // Not stored: the next tick tries again.
            if self.accept_durably(vec![event]).await.first() != Some(&true) {
                continue;
            }
            let fired_now = ScheduleState {
                fired_millis: due,
                ..state
            };
            self.save(&key, &fired_now).await?;
            fired += 1;
        }
        self.forget_schedules_except(&scheduled).await?;
        Ok(fired)
    }

    async fn save(&self, key: &str, state: &ScheduleState) -> Result<(), ServiceError> {
        self.store
            .commit(Transaction::new().put(SCHEDULES, key, plain(state)?))
            .await
            .map_err(store_error)
    }

    /// Drops the state of rules that are no longer scheduled and enabled.
    async fn forget_schedules_except(
        &self,
        scheduled: &HashSet<String>,
    ) -> Result<(), ServiceError> {
        let states = scan_every::<ScheduleState>(&self.store, SCHEDULES, "")
            .await
            .map_err(store_error)?;
        let gone: Vec<String> = states
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| !scheduled.contains(key))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let transaction = gone.iter().fold(Transaction::new(), |transaction, key| {
            transaction.delete(SCHEDULES, key)
        });
        self.store.commit(transaction).await.map_err(store_error)
    }

    /// The event rule `name` of `tenant`'s default bus fires with for `due`, received `now`.
    fn scheduled_event(
        &self,
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
        let at =
            |millis: i64| UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
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

/// The scheduler task: fires due rules every [`TICK`], until the service is dropped.
pub(crate) async fn run(state: Weak<EventsState>) {
    // The first look waits a tick too: a starting server answers before it fires.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    loop {
        ticks.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(error) = state.fire_schedules().await {
            tracing::warn!(%error, "EventBridge scheduled rules could not be fired");
        }
    }
}
