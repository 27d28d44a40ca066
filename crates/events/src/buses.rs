//! Event buses: every account and region has the `default` bus, which always exists; custom
//! buses are created and deleted. Deleting a custom bus deletes its rules and its policy (see
//! `permissions`).

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
    if input.event_source_name.is_none() && name.starts_with("aws.") {
        return Err(ServiceError::validation(
            "Event bus names starting with 'aws.' are reserved for partner event sources.",
        ));
    }
    if name == DEFAULT {
        return Err(errors::resource_already_exists_exception(format!(
            "Event bus {name} already exists."
        )));
    }
    let now = state.now_millis();
    let record = BusRecord {
        name: name.clone(),
        description: input.description.clone(),
        created_millis: now,
        modified_millis: now,
    };
    let key = tenant.key(&name);
    state
        .mutate(|| async {
            if state.get::<BusRecord>(BUSES, &key).await?.is_some() {
                return Err(errors::resource_already_exists_exception(format!(
                    "Event bus {name} already exists."
                )));
            }
            let txn =
                Transaction::new()
                    .expect_absent(BUSES, &key)
                    .put(BUSES, &key, plain(&record)?);
            let txn = crate::tags::put_new(txn, &tenant.bus_arn(&name), input.tags.as_deref())?;
            Ok((txn, ()))
        })
        .await?;
    Ok(CreateEventBusResponse {
        event_bus_arn: Some(tenant.bus_arn(&name)),
        description: input.description,
        ..CreateEventBusResponse::default()
    })
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
            let mut txn = Transaction::new()
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
    let bus = describe_one(state, &tenant, &name).await?;
    Ok(DescribeEventBusResponse {
        name: bus.name,
        arn: bus.arn,
        description: bus.description,
        policy: state.policy_of(&tenant, &name).await?,
        creation_time: bus.creation_time,
        last_modified_time: bus.last_modified_time,
        ..DescribeEventBusResponse::default()
    })
}

async fn describe_one(
    state: &EventsState,
    tenant: &Tenant,
    name: &str,
) -> Result<EventBus, ServiceError> {
    if name == DEFAULT {
        return Ok(EventBus {
            name: Some(DEFAULT.to_owned()),
            arn: Some(tenant.bus_arn(DEFAULT)),
            ..EventBus::default()
        });
    }
    let Some(bus) = state.get::<BusRecord>(BUSES, &tenant.key(name)).await? else {
        return Err(errors::resource_not_found_exception(format!(
            "Event bus {name} does not exist."
        )));
    };
    Ok(summary(tenant, bus.value))
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
    if DEFAULT.starts_with(&prefix) && after.as_deref().is_none_or(|after| DEFAULT > after) {
        buses.push(describe_one(state, &tenant, DEFAULT).await?);
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
    buses.extend(stored.into_iter().map(|(_, bus)| summary(&tenant, bus)));
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
