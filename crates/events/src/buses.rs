//! Event buses: every account and region has the `default` bus, which always exists; custom
//! buses are created, updated and deleted; a partner event bus is the custom bus that receives
//! a partner event source's events (see `sources`). Deleting a custom bus deletes its rules and
//! its policy (see `permissions`).

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;

use crate::EventsState;
use crate::db::{BUSES, POLICIES, RULES, TAGS, Tenant, plain};
use crate::paging::{page_size, paginate};
use crate::permissions::bus_of_arn;
use crate::records::{BusRecord, RuleRecord};
use crate::sources;
use crate::values::{from_json, to_json};

pub(crate) const DEFAULT: &str = "default";

/// The bus a request names, by name or ARN; the `default` bus when it names none.
pub(crate) fn bus_name(named: Option<&str>) -> String {
    match named {
        None => DEFAULT.to_owned(),
        Some(named) => match named.split_once(":event-bus/") {
            Some((_, name)) if named.starts_with("arn:") => name.to_owned(),
            _ => named.to_owned(),
        },
    }
}

/// The account and region of the bus a `PutEvents` entry names, and its name: those of the
/// ARN when it is named by one (another account's bus, which its policy lets the caller use),
/// else the caller's.
pub(crate) fn bus_owner(tenant: &Tenant, named: Option<&str>) -> (Tenant, String) {
    match named.and_then(bus_of_arn) {
        Some((owner, name)) => (owner, name.to_owned()),
        None => (tenant.clone(), bus_name(named)),
    }
}

impl EventsState {
    /// Fails unless `bus` exists in `tenant`'s account and region.
    pub(crate) async fn require_bus(&self, tenant: &Tenant, bus: &str) -> Result<(), ServiceError> {
        if bus == DEFAULT
            || self
                .get::<BusRecord>(BUSES, &tenant.key(bus))
                .await?
                .is_some()
        {
            return Ok(());
        }
        Err(errors::resource_not_found_exception(format!(
            "Event bus {bus} does not exist."
        )))
    }
}

pub(crate) async fn create(
    state: &EventsState,
    ctx: &RequestContext,
    input: CreateEventBusRequest,
) -> Result<CreateEventBusResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.name;
    match input.event_source_name.as_deref() {
        None if name.starts_with("aws.") => {
            return Err(ServiceError::validation(
                "Event bus names starting with 'aws.' are reserved for partner event sources.",
            ));
        }
        Some(source) if source != name => {
            return Err(ServiceError::validation(format!(
                "Event bus name {name} must match the event source name {source}."
            )));
        }
        _ => {}
    }
    if name == DEFAULT {
        return Err(errors::resource_already_exists_exception(format!(
            "Event bus {name} already exists."
        )));
    }
    let dead_letter_arn = dead_letter_queue(input.dead_letter_config.as_ref())?;
    let now = state.now_millis();
    let record = BusRecord {
        name: name.clone(),
        description: input.description.clone(),
        created_millis: now,
        modified_millis: now,
        kms_key_identifier: input.kms_key_identifier.clone(),
        dead_letter_arn,
        log_config: input.log_config.clone().map(to_json),
        event_source: input.event_source_name.clone(),
    };
    let key = tenant.key(&name);
    state
        .mutate(|| async {
            if state.get::<BusRecord>(BUSES, &key).await?.is_some() {
                return Err(errors::resource_already_exists_exception(format!(
                    "Event bus {name} already exists."
                )));
            }
            let mut txn =
                Transaction::new()
                    .expect_absent(BUSES, &key)
                    .put(BUSES, &key, plain(&record)?);
            if let Some(source) = &record.event_source {
                txn = sources::take(state, &tenant, source, txn).await?;
            }
            let txn = crate::tags::put_new(txn, &tenant.bus_arn(&name), input.tags.as_deref())?;
            Ok((txn, ()))
        })
        .await?;
    Ok(CreateEventBusResponse {
        event_bus_arn: Some(tenant.bus_arn(&name)),
        description: input.description,
        kms_key_identifier: input.kms_key_identifier,
        dead_letter_config: input.dead_letter_config,
        log_config: input.log_config,
    })
}

/// `UpdateEventBus`: the bus's description (kept when not given), key (AWS's own when not
/// given, as in AWS), dead-letter queue and log configuration. The `default` bus takes
/// settings too.
pub(crate) async fn update(
    state: &EventsState,
    ctx: &RequestContext,
    input: UpdateEventBusRequest,
) -> Result<UpdateEventBusResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = bus_name(input.name.as_deref());
    let dead_letter_arn = dead_letter_queue(input.dead_letter_config.as_ref())?;
    let key = tenant.key(&name);
    let now = state.now_millis();
    let updated = state
        .mutate(|| async {
            let stored = state.get::<BusRecord>(BUSES, &key).await?;
            let (txn, mut record) = match stored {
                Some(stored) => (
                    Transaction::new().expect_version(BUSES, &key, stored.version),
                    stored.value,
                ),
                None if name == DEFAULT => (
                    Transaction::new().expect_absent(BUSES, &key),
                    BusRecord {
                        name: name.clone(),
                        description: None,
                        created_millis: now,
                        modified_millis: now,
                        kms_key_identifier: None,
                        dead_letter_arn: None,
                        log_config: None,
                        event_source: None,
                    },
                ),
                None => {
                    return Err(errors::resource_not_found_exception(format!(
                        "Event bus {name} does not exist."
                    )));
                }
            };
            if let Some(description) = &input.description {
                record.description = Some(description.clone());
            }
            record.kms_key_identifier = input.kms_key_identifier.clone();
            if input.dead_letter_config.is_some() {
                record.dead_letter_arn = dead_letter_arn.clone();
            }
            if let Some(log_config) = &input.log_config {
                record.log_config = Some(to_json(log_config.clone()));
            }
            record.modified_millis = now;
            let txn = txn.put(BUSES, &key, plain(&record)?);
            Ok((txn, record))
        })
        .await?;
    Ok(UpdateEventBusResponse {
        arn: Some(tenant.bus_arn(&name)),
        name: Some(name),
        kms_key_identifier: updated.kms_key_identifier,
        description: updated.description,
        dead_letter_config: updated
            .dead_letter_arn
            .map(|arn| DeadLetterConfig { arn: Some(arn) }),
        log_config: updated.log_config.as_ref().map(from_json).transpose()?,
    })
}

/// The SQS queue of a bus's `DeadLetterConfig`, checked as AWS does.
fn dead_letter_queue(config: Option<&DeadLetterConfig>) -> Result<Option<String>, ServiceError> {
    let Some(arn) = config.and_then(|config| config.arn.as_deref()) else {
        return Ok(None);
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _partition, "sqs", region, account, queue]
            if !region.is_empty() && !account.is_empty() && !queue.is_empty() =>
        {
            Ok(Some(arn.to_owned()))
        }
        _ => Err(ServiceError::validation(
            "Parameter DeadLetterConfig.Arn is not valid. Reason: Provided Arn is not an SQS \
             queue ARN.",
        )),
    }
}

pub(crate) async fn delete(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeleteEventBusRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = input.name;
    if name == DEFAULT {
        return Err(ServiceError::validation("Cannot delete event bus default."));
    }
    let key = tenant.key(&name);
    let rules_prefix = tenant.rules_prefix(&name);
    state
        .mutate(|| async {
            let Some(bus) = state.get::<BusRecord>(BUSES, &key).await? else {
                return Ok((Transaction::new(), ()));
            };
            let rules: Vec<(String, RuleRecord)> = state.scan_all(RULES, &rules_prefix).await?;
            let mut txn = Transaction::new();
            if let Some(source) = &bus.value.event_source {
                txn = sources::release(state, &tenant, source, txn).await?;
            }
            let mut txn = txn
                .expect_version(BUSES, &key, bus.version)
                .delete(BUSES, &key)
                .delete(POLICIES, &key)
                .delete(TAGS, &tenant.bus_arn(&name));
            for (rule, _) in rules {
                txn = txn
                    .delete(RULES, &format!("{rules_prefix}{rule}"))
                    .delete(TAGS, &tenant.rule_arn(&name, &rule));
            }
            Ok((txn, ()))
        })
        .await?;
    state.forget_machine(&tenant, &name);
    Ok(())
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeEventBusRequest,
) -> Result<DescribeEventBusResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let name = bus_name(input.name.as_deref());
    let stored = state.get::<BusRecord>(BUSES, &tenant.key(&name)).await?;
    let Some(record) = stored.map(|stored| stored.value) else {
        if name == DEFAULT {
            return Ok(DescribeEventBusResponse {
                name: Some(name.clone()),
                arn: Some(tenant.bus_arn(&name)),
                policy: state.policy_of(&tenant, &name).await?,
                ..DescribeEventBusResponse::default()
            });
        }
        return Err(errors::resource_not_found_exception(format!(
            "Event bus {name} does not exist."
        )));
    };
    let dead_letter_config = record
        .dead_letter_arn
        .clone()
        .map(|arn| DeadLetterConfig { arn: Some(arn) });
    let log_config = record.log_config.as_ref().map(from_json).transpose()?;
    let kms_key_identifier = record.kms_key_identifier.clone();
    let bus = summary(&tenant, record);
    Ok(DescribeEventBusResponse {
        name: bus.name,
        arn: bus.arn,
        description: bus.description,
        kms_key_identifier,
        dead_letter_config,
        policy: state.policy_of(&tenant, &name).await?,
        log_config,
        creation_time: bus.creation_time,
        last_modified_time: bus.last_modified_time,
    })
}

fn summary(tenant: &Tenant, bus: BusRecord) -> EventBus {
    EventBus {
        arn: Some(tenant.bus_arn(&bus.name)),
        description: bus.description,
        creation_time: Some(Timestamp::from_millis(bus.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(bus.modified_millis)),
        name: Some(bus.name),
        policy: None,
    }
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListEventBusesRequest,
) -> Result<ListEventBusesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let prefix = input.name_prefix.unwrap_or_default();
    let limit = page_size(input.limit);
    let after = input.next_token;
    let mut buses: Vec<EventBus> = Vec::new();
    let default_listed =
        DEFAULT.starts_with(&prefix) && after.as_deref().is_none_or(|after| DEFAULT > after);
    if default_listed {
        buses.push(EventBus {
            name: Some(DEFAULT.to_owned()),
            arn: Some(tenant.bus_arn(DEFAULT)),
            ..EventBus::default()
        });
    }
    let stored: Vec<(String, BusRecord)> = state
        .scan_page(
            BUSES,
            &format!("{}{prefix}", tenant.prefix()),
            after
                .as_deref()
                .and_then(|after| after.strip_prefix(prefix.as_str())),
            limit + 1,
        )
        .await?;
    for (name, bus) in stored {
        // The `default` bus's settings, when it has some, describe it.
        if name == DEFAULT {
            buses.retain(|listed| listed.name.as_deref() != Some(DEFAULT));
            if !default_listed {
                continue;
            }
        }
        buses.push(summary(&tenant, bus));
    }
    buses.sort_by(|left, right| left.name.cmp(&right.name));
    let next_token = paginate(&mut buses, limit, |bus| {
        bus.name.clone().unwrap_or_default()
    });
    for bus in &mut buses {
        if let Some(name) = &bus.name {
            bus.policy = state.policy_of(&tenant, name).await?;
        }
    }
    Ok(ListEventBusesResponse {
        event_buses: Some(buses),
        next_token,
    })
}
