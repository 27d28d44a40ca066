//! Events: `PutEvents` validates and accepts entries onto a bus, `TestEventPattern` matches one
//! event against one pattern, and [`EventsState::matching_targets`] finds the enabled rules of
//! a bus that an event matches, with their targets, through the bus's compiled [`Machine`].
//! Accepted entries go to the outbox (durable before `PutEvents` answers), then to `delivery`,
//! which sends them to those targets.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::millis_since_epoch;
use palisade_core::events::ServiceEvent;
use palisade_core::{RequestContext, ServiceError};
use palisade_event_pattern::{Machine, Pattern};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::EventsState;
use crate::buses::{DEFAULT, bus_owner};
use crate::db::{RULES, Tenant};
use crate::outbox::QueuedEvent;
use crate::records::RuleRecord;
use crate::values::from_json;

/// AWS's limit on the total size of one `PutEvents` request's entries.
const MAX_ENTRIES_SIZE: usize = 256 * 1024;

/// The fields `TestEventPattern` requires of its event.
const REQUIRED_EVENT_FIELDS: [&str; 7] = [
    "id",
    "account",
    "source",
    "time",
    "region",
    "resources",
    "detail-type",
];

/// A rule an event matched, and where it sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub rule_arn: String,
    pub rule_name: String,
    pub targets: Vec<Target>,
}

impl EventsState {
    /// The enabled rules of `bus` (in `account`/`region`) whose patterns `event` (a full
    /// EventBridge envelope) matches, each with its targets.
    pub async fn matching_targets(
        &self,
        account: &str,
        region: &str,
        bus: &str,
        event: &Value,
    ) -> Result<Vec<Delivery>, ServiceError> {
        let tenant = Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        };
        let machine = self.machine(&tenant, bus).await?;
        let mut deliveries = Vec::new();
        for name in machine.matching_rules(event) {
            // A rule changed since the machine was compiled is read afresh.
            deliveries.extend(self.rule_targets(&tenant, bus, &name).await?);
        }
        Ok(deliveries)
    }

    /// The targets of the rule `name` of `bus`, as one delivery; none when the rule is gone
    /// or disabled.
    pub(crate) async fn rule_targets(
        &self,
        tenant: &Tenant,
        bus: &str,
        name: &str,
    ) -> Result<Vec<Delivery>, ServiceError> {
        let Some(rule) = self
            .get::<RuleRecord>(RULES, &tenant.rule_key(bus, name))
            .await?
            .filter(|rule| rule.value.is_enabled())
        else {
            return Ok(Vec::new());
        };
        Ok(vec![Delivery {
            rule_arn: tenant.rule_arn(bus, name),
            rule_name: name.to_owned(),
            targets: rule
                .value
                .targets
                .iter()
                .map(from_json)
                .collect::<Result<_, _>>()?,
        }])
    }

    /// Whether the `default` bus of `account` in `region` has an enabled rule with an event
    /// pattern: without one, an event published there reaches no target, so a publisher whose
    /// event is costly to build asks first. Answered from the bus's compiled rules (only the
    /// first question after a rule change reads the store); when that read fails, the answer is
    /// yes, and delivery reports the failure.
    pub async fn default_bus_has_rules(&self, account: &str, region: &str) -> bool {
        let tenant = Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        };
        self.machine(&tenant, DEFAULT)
            .await
            .ok()
            .is_none_or(|machine| machine.rule_count() > 0)
    }

    /// The compiled patterns of the enabled rules of `bus`, compiled on first use.
    async fn machine(
        &self,
        tenant: &Tenant,
        bus: &str,
    ) -> Result<Arc<Machine<String>>, ServiceError> {
        let key = tenant.key(bus);
        if let Some(machine) = self
            .machines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(machine));
        }
        let rules: Vec<(String, RuleRecord)> =
            self.scan_all(RULES, &tenant.rules_prefix(bus)).await?;
        let mut machine = Machine::new();
        for (name, rule) in rules {
            let pattern = rule.event_pattern.as_deref().filter(|_| rule.is_enabled());
            // Stored patterns were validated when put.
            if let Some(Ok(pattern)) = pattern.map(Pattern::parse) {
                machine.add_rule(name, &pattern);
            }
        }
        let machine = Arc::new(machine);
        self.machines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&machine));
        Ok(machine)
    }

    /// Drops the compiled machine of `bus` after a change to its rules.
    pub(crate) fn forget_machine(&self, tenant: &Tenant, bus: &str) {
        self.machines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tenant.key(bus));
    }
}

pub(crate) async fn put(
    state: &EventsState,
    ctx: &RequestContext,
    input: PutEventsRequest,
) -> Result<PutEventsResponse, ServiceError> {
    check_size(&input.entries)?;
    let tenant = Tenant::of(ctx);
    let mut checked = Vec::with_capacity(input.entries.len());
    let mut accepted = Vec::new();
    for entry in &input.entries {
        match check_entry(state, &tenant, entry).await? {
            Ok((owner, bus)) => {
                let id = uuid::Uuid::new_v4().to_string();
                let now = state.clock.now();
                let time = entry_time(entry, now);
                // The event names the account that sent it, also on another account's bus.
                accepted.push(QueuedEvent {
                    event: envelope(&id, &tenant.account, &tenant.region, time, entry),
                    tenant: owner,
                    bus,
                    ingestion_time: rfc3339(now),
                    ingestion_millis: millis_since_epoch(now),
                    forwarded: false,
                    rules: None,
                    schedule_of: None,
                });
                checked.push(Ok((id, 1)));
            }
            Err(failure) => checked.push(Err(failure)),
        }
    }
    // Every accepted entry is durable before the answer.
    let (outcomes, failed) = settle(checked, state.accept_durably(accepted).await);
    let results = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(id) => PutEventsResultEntry {
                event_id: Some(id),
                ..PutEventsResultEntry::default()
            },
            Err((code, message)) => PutEventsResultEntry {
                event_id: None,
                error_code: Some(code.to_owned()),
                error_message: Some(message),
            },
        })
        .collect();
    Ok(PutEventsResponse {
        failed_entry_count: Some(failed),
        entries: Some(results),
    })
}

/// Each entry's outcome once the store has answered for its events: `checked` holds, per entry,
/// its event id and how many of the events given to `accept_durably` are its (in order), or its
/// failure; `stored` is what `accept_durably` answered. An entry with any event not stored
/// fails as AWS reports an internal failure. Answers the outcomes and how many failed.
pub(crate) fn settle(
    checked: Vec<Result<(String, usize), EntryFailure>>,
    stored: Vec<bool>,
) -> (Vec<Result<String, EntryFailure>>, i32) {
    let mut stored = stored.into_iter();
    let mut failed = 0;
    let outcomes = checked
        .into_iter()
        .map(|outcome| {
            let outcome = outcome.and_then(|(id, count)| {
                // Every answer of the entry's events is taken, so that the next entry's
                // answers start where they should.
                let answers: Vec<bool> = stored.by_ref().take(count).collect();
                if answers.len() == count && answers.iter().all(|stored| *stored) {
                    Ok(id)
                } else {
                    Err(failed_entry(
                        "InternalFailure",
                        "The event could not be stored. Retry the request.",
                    ))
                }
            });
            if outcome.is_err() {
                failed += 1;
            }
            outcome
        })
        .collect();
    (outcomes, failed)
}

/// Refuses a request whose entries are larger in all than AWS takes.
pub(crate) fn check_size(entries: &[PutEventsRequestEntry]) -> Result<(), ServiceError> {
    let size: usize = entries.iter().map(entry_size).sum();
    if size > MAX_ENTRIES_SIZE {
        return Err(ServiceError::validation(
            "Total size of the entries in the request is over the limit.",
        ));
    }
    Ok(())
}

/// AWS's size of an entry: its strings in UTF-8 bytes, and 14 bytes for a time.
fn entry_size(entry: &PutEventsRequestEntry) -> usize {
    let text = |field: &Option<String>| field.as_deref().map_or(0, str::len);
    let resources: usize = entry.resources.iter().flatten().map(String::len).sum();
    text(&entry.source)
        + text(&entry.detail_type)
        + text(&entry.detail)
        + resources
        + if entry.time.is_some() { 14 } else { 0 }
}

/// An entry's failure, as `PutEvents` reports it in place of an event id.
pub(crate) type EntryFailure = (&'static str, String);

pub(crate) fn failed_entry(code: &'static str, message: &str) -> EntryFailure {
    (code, message.to_owned())
}

/// Checks the fields AWS requires of every entry (`PutEvents` and `PutPartnerEvents`): a
/// source, a detail type, and a detail that is a JSON object.
pub(crate) fn check_fields(entry: &PutEventsRequestEntry) -> Result<(), EntryFailure> {
    let missing = |field: &str| {
        Err((
            "InvalidArgument",
            format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
        ))
    };
    if entry.source.as_deref().is_none_or(str::is_empty) {
        return missing("Source");
    }
    if entry.detail_type.as_deref().is_none_or(str::is_empty) {
        return missing("DetailType");
    }
    let Some(detail) = entry.detail.as_deref() else {
        return missing("Detail");
    };
    if !matches!(serde_json::from_str::<Value>(detail), Ok(Value::Object(_))) {
        return Err(failed_entry("MalformedDetail", "Detail is malformed."));
    }
    Ok(())
}

/// The entry's `Time`, or `now` when it has none (or one out of range).
pub(crate) fn entry_time(entry: &PutEventsRequestEntry, now: SystemTime) -> SystemTime {
    entry
        .time
        .and_then(|time| UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(time.0).ok()?))
        .unwrap_or(now)
}

/// Checks `entry` as AWS does; answers the account and region of the bus it goes to, and the
/// bus's name.
async fn check_entry(
    state: &EventsState,
    tenant: &Tenant,
    entry: &PutEventsRequestEntry,
) -> Result<Result<(Tenant, String), EntryFailure>, ServiceError> {
    if let Err(failure) = check_fields(entry) {
        return Ok(Err(failure));
    }
    if entry
        .source
        .as_deref()
        .is_some_and(|source| source.starts_with("aws."))
    {
        return Ok(Err(failed_entry(
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        )));
    }
    let (owner, bus) = bus_owner(tenant, entry.event_bus_name.as_deref());
    // A bus of another region takes events only from rules (see `delivery`).
    let found = if owner.region == tenant.region {
        state.require_bus(&owner, &bus).await
    } else {
        Err(errors::resource_not_found_exception(format!(
            "Event bus {bus} does not exist."
        )))
    };
    if let Err(error) = found {
        return Ok(Err(("ResourceNotFoundException", error.message)));
    }
    Ok(Ok((owner, bus)))
}

pub(crate) fn test_pattern(
    input: &TestEventPatternRequest,
) -> Result<TestEventPatternResponse, ServiceError> {
    let pattern = Pattern::parse(&input.event_pattern)
        .map_err(|error| errors::invalid_event_pattern_exception(error.to_string()))?;
    let invalid_event = || ServiceError::validation("Parameter Event is not valid.");
    let event: Value = serde_json::from_str(&input.event).map_err(|_| invalid_event())?;
    let complete = event.as_object().is_some_and(|fields| {
        REQUIRED_EVENT_FIELDS
            .iter()
            .all(|field| fields.contains_key(*field))
            && fields.get("resources").is_some_and(Value::is_array)
    });
    if !complete {
        return Err(invalid_event());
    }
    Ok(TestEventPatternResponse {
        result: Some(pattern.matches(&event)),
    })
}

/// The envelope EventBridge puts around an entry, as rules see it.
pub fn envelope(
    id: &str,
    account: &str,
    region: &str,
    time: SystemTime,
    entry: &PutEventsRequestEntry,
) -> Value {
    let time = rfc3339(time);
    let detail = entry
        .detail
        .as_deref()
        .and_then(|detail| serde_json::from_str(detail).ok())
        .unwrap_or_else(|| json!({}));
    json!({
        "version": "0",
        "id": id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": time,
        "region": region,
        "resources": entry.resources.clone().unwrap_or_default(),
        "detail": detail,
    })
}

/// The envelope of an event a service published, on its account and region's bus.
pub(crate) fn service_envelope(id: &str, event: &ServiceEvent) -> Value {
    let entry = PutEventsRequestEntry {
        source: Some(event.source.clone()),
        detail_type: Some(event.detail_type.clone()),
        resources: Some(event.resources.clone()),
        detail: Some(event.detail.clone()),
        ..PutEventsRequestEntry::default()
    };
    envelope(
        id,
        event.account.as_str(),
        event.region.as_str(),
        event.time,
        &entry,
    )
}

/// `time` as an event's `time` shows it: RFC 3339 in UTC to the second,
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(0))
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_fails_when_any_of_its_events_was_not_stored() {
        let checked = vec![
            Ok(("one".to_owned(), 1)),
            Err(failed_entry("MalformedDetail", "Detail is malformed.")),
            Ok(("two".to_owned(), 2)),
            Ok(("none".to_owned(), 0)),
            Ok(("three".to_owned(), 1)),
        ];
        let (outcomes, failed) = settle(checked, vec![true, true, false, true]);
        let codes: Vec<Result<&str, &str>> = outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(id) => Ok(id.as_str()),
                Err((code, _)) => Err(*code),
            })
            .collect();
        assert_eq!(
            codes,
            [
                Ok("one"),
                Err("MalformedDetail"),
                Err("InternalFailure"),
                Ok("none"),
                Ok("three"),
            ]
        );
        assert_eq!(failed, 2);
        // An answer missing from the store counts as not stored.
        let (outcomes, failed) = settle(vec![Ok(("lost".to_owned(), 1))], Vec::new());
        assert!(outcomes.first().is_some_and(Result::is_err));
        assert_eq!(failed, 1);
    }
}
