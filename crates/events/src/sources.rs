//! Partner event sources. A SaaS partner offers an event source to a customer's account
//! (`CreatePartnerEventSource`); the customer sees it (`ListEventSources`, state `PENDING`) and
//! takes it by creating the partner event bus of the same name (`CreateEventBus` with
//! `EventSourceName`; `ACTIVE`); events the partner then sends (`PutPartnerEvents`) arrive on
//! that bus, where rules route them as any other. The customer may pause the source
//! (`DeactivateEventSource`, `PENDING` again, the bus kept) and resume it
//! (`ActivateEventSource`); when the partner deletes the source, a customer who holds its bus
//! sees it `DELETED`.
//!
//! AWS lets only registered partners make sources. Here any account may, but the first
//! account to make a source under `aws.partner/<partner>/` owns that partner name in the region,
//! so no other account can send events as that partner.

use palisade_core::clock::millis_since_epoch;
use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::EventsState;
use crate::db::{EVENT_SOURCES, PARTNER_NAMES, PARTNER_OFFERS, Tenant, plain};
use crate::events::{
    check_fields, check_size, entry_time, envelope, failed_entry, rfc3339, settle,
};
use crate::outbox::QueuedEvent;
use crate::paging::{page_size, paginate};

/// A source as its customer's account holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SourceRecord {
    pub name: String,
    /// The partner's account.
    pub partner: String,
    pub created_millis: i64,
    pub state: SourceState,
}

/// Where a source stands for its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SourceState {
    /// Offered; no partner event bus yet.
    Offered,
    /// The partner event bus exists and receives the partner's events.
    Active,
    /// The bus exists; the customer has paused it.
    Deactivated,
    /// The bus exists; the partner has deleted the source.
    Deleted,
}

impl SourceState {
    fn answered(self) -> EventSourceState {
        match self {
            Self::Offered | Self::Deactivated => EventSourceState::Pending,
            Self::Active => EventSourceState::Active,
            Self::Deleted => EventSourceState::Deleted,
        }
    }
}

/// The account that owns a partner name (see the module's notes).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartnerName {
    account: String,
}

/// The partner's record of one offer of a source to one account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Offer {
    created_millis: i64,
}

fn source_arn(region: &str, name: &str) -> String {
    format!("arn:aws:events:{region}::event-source/{name}")
}

/// The partner's name in a source's name: `aws.partner/<partner>/...`.
fn partner_of(name: &str) -> &str {
    name.strip_prefix("aws.partner/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(name)
}

/// The key of the partner's offer of `name` to `account`; offers of one source sort together,
/// after `<partner>/<region>/<name>|`.
fn offer_key(partner: &Tenant, name: &str, account: &str) -> String {
    format!("{}|{account}", partner.key(name))
}

fn not_found(name: &str) -> ServiceError {
    errors::resource_not_found_exception(format!("Event source {name} does not exist."))
}

fn summary(tenant: &Tenant, record: SourceRecord) -> EventSource {
    EventSource {
        arn: Some(source_arn(&tenant.region, &record.name)),
        created_by: Some(partner_of(&record.name).to_owned()),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        expiration_time: None,
        state: Some(record.state.answered()),
        name: Some(record.name),
    }
}

// The partner's side.

pub(crate) async fn create_partner(
    state: &EventsState,
    ctx: &RequestContext,
    input: CreatePartnerEventSourceRequest,
) -> Result<CreatePartnerEventSourceResponse, ServiceError> {
    let partner = Tenant::of(ctx);
    let name = input.name;
    let customer = Tenant {
        account: input.account,
        region: partner.region.clone(),
    };
    let owner_key = format!("{}/{}", partner.region, partner_of(&name));
    let source_key = customer.key(&name);
    let offer_key = offer_key(&partner, &name, &customer.account);
    let now = state.now_millis();
    state
        .mutate(|| async {
            let owner = state.get::<PartnerName>(PARTNER_NAMES, &owner_key).await?;
            let mut txn = match owner {
                Some(owner) if owner.value.account != partner.account => {
                    return Err(errors::access_denied_exception(format!(
                        "Account {} is not the partner {}.",
                        partner.account,
                        partner_of(&name)
                    )));
                }
                Some(owner) => {
                    Transaction::new().expect_version(PARTNER_NAMES, &owner_key, owner.version)
                }
                None => Transaction::new()
                    .expect_absent(PARTNER_NAMES, &owner_key)
                    .put(
                        PARTNER_NAMES,
                        &owner_key,
                        plain(&PartnerName {
                            account: partner.account.clone(),
                        })?,
                    ),
            };
            if state
                .get::<SourceRecord>(EVENT_SOURCES, &source_key)
                .await?
                .is_some()
            {
                return Err(errors::resource_already_exists_exception(format!(
                    "Event source {name} already exists."
                )));
            }
            txn = txn
                .expect_absent(EVENT_SOURCES, &source_key)
                .put(
                    EVENT_SOURCES,
                    &source_key,
                    plain(&SourceRecord {
                        name: name.clone(),
                        partner: partner.account.clone(),
                        created_millis: now,
                        state: SourceState::Offered,
                    })?,
                )
                .put(
                    PARTNER_OFFERS,
                    &offer_key,
                    plain(&Offer {
                        created_millis: now,
                    })?,
                );
            Ok((txn, ()))
        })
        .await?;
    Ok(CreatePartnerEventSourceResponse {
        event_source_arn: Some(source_arn(&partner.region, &name)),
    })
}

pub(crate) async fn delete_partner(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeletePartnerEventSourceRequest,
) -> Result<(), ServiceError> {
    let partner = Tenant::of(ctx);
    let customer = Tenant {
        account: input.account,
        region: partner.region.clone(),
    };
    let offer_key = offer_key(&partner, &input.name, &customer.account);
    let source_key = customer.key(&input.name);
    state
        .mutate(|| async {
            let Some(offer) = state.get::<Offer>(PARTNER_OFFERS, &offer_key).await? else {
                return Ok((Transaction::new(), ()));
            };
            let mut txn = Transaction::new()
                .expect_version(PARTNER_OFFERS, &offer_key, offer.version)
                .delete(PARTNER_OFFERS, &offer_key);
            if let Some(source) = state
                .get::<SourceRecord>(EVENT_SOURCES, &source_key)
                .await?
            {
                txn = txn.expect_version(EVENT_SOURCES, &source_key, source.version);
                txn = if source.value.state == SourceState::Offered {
                    txn.delete(EVENT_SOURCES, &source_key)
                } else {
                    // The customer's bus stays, and tells them the source is gone.
                    let mut record = source.value;
                    record.state = SourceState::Deleted;
                    txn.put(EVENT_SOURCES, &source_key, plain(&record)?)
                };
            }
            Ok((txn, ()))
        })
        .await
}

pub(crate) async fn describe_partner(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribePartnerEventSourceRequest,
) -> Result<DescribePartnerEventSourceResponse, ServiceError> {
    let partner = Tenant::of(ctx);
    if state
        .offers(&partner, &input.name, None, 1)
        .await?
        .is_empty()
    {
        return Err(not_found(&input.name));
    }
    Ok(DescribePartnerEventSourceResponse {
        arn: Some(source_arn(&partner.region, &input.name)),
        name: Some(input.name),
    })
}

pub(crate) async fn list_partner(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListPartnerEventSourcesRequest,
) -> Result<ListPartnerEventSourcesResponse, ServiceError> {
    let partner = Tenant::of(ctx);
    let limit = page_size(input.limit);
    // Offers of one source sort together: a page starts past every offer of the token's source
    // (`~` sorts after every account digit).
    let after = input
        .next_token
        .as_deref()
        .and_then(|token| token.strip_prefix(input.name_prefix.as_str()))
        .map(|rest| format!("{rest}|~"));
    let mut names: Vec<String> = Vec::new();
    let mut position = after;
    // Each source may have many offers: read until the page is full or the offers end.
    loop {
        let offers: Vec<(String, Offer)> = state
            .scan_page(
                PARTNER_OFFERS,
                &partner.key(&input.name_prefix),
                position.as_deref(),
                500,
            )
            .await?;
        let done = offers.len() < 500;
        position = offers.last().map(|(key, _)| key.clone());
        for (key, _) in offers {
            let name = format!(
                "{}{}",
                input.name_prefix,
                key.rsplit_once('|').map_or(key.as_str(), |(name, _)| name)
            );
            if names.last() != Some(&name) {
                names.push(name);
            }
        }
        if done || names.len() > limit {
            break;
        }
    }
    let next_token = paginate(&mut names, limit, String::clone);
    Ok(ListPartnerEventSourcesResponse {
        partner_event_sources: Some(
            names
                .into_iter()
                .map(|name| PartnerEventSource {
                    arn: Some(source_arn(&partner.region, &name)),
                    name: Some(name),
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn list_partner_accounts(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListPartnerEventSourceAccountsRequest,
) -> Result<ListPartnerEventSourceAccountsResponse, ServiceError> {
    let partner = Tenant::of(ctx);
    let name = input.event_source_name;
    let limit = page_size(input.limit);
    let offers = state
        .offers(&partner, &name, input.next_token.as_deref(), limit + 1)
        .await?;
    if offers.is_empty() && input.next_token.is_none() {
        return Err(not_found(&name));
    }
    let mut accounts = Vec::with_capacity(offers.len());
    for (account, offer) in offers {
        let (customer, source_state) = state.offered_to(&partner, account, &name).await?;
        accounts.push(PartnerEventSourceAccount {
            account: Some(customer.account),
            creation_time: Some(Timestamp::from_millis(offer.created_millis)),
            expiration_time: None,
            state: source_state.map(SourceState::answered),
        });
    }
    let next_token = paginate(&mut accounts, limit, |account| {
        account.account.clone().unwrap_or_default()
    });
    Ok(ListPartnerEventSourceAccountsResponse {
        partner_event_source_accounts: Some(accounts),
        next_token,
    })
}

pub(crate) async fn put_partner_events(
    state: &EventsState,
    ctx: &RequestContext,
    input: PutPartnerEventsRequest,
) -> Result<PutPartnerEventsResponse, ServiceError> {
    let partner = Tenant::of(ctx);
    let now = state.clock.now();
    // Each entry goes to every account whose bus takes its source: `copies[i]` counts entry
    // `i`'s events in `accepted`, or holds its failure.
    let mut copies = Vec::with_capacity(input.entries.len());
    let mut accepted = Vec::new();
    let entries: Vec<PutEventsRequestEntry> = input
        .entries
        .into_iter()
        .map(|entry| PutEventsRequestEntry {
            time: entry.time,
            source: entry.source,
            resources: entry.resources,
            detail_type: entry.detail_type,
            detail: entry.detail,
            ..PutEventsRequestEntry::default()
        })
        .collect();
    check_size(&entries)?;
    for entry in entries {
        if let Err(failure) = check_fields(&entry) {
            copies.push(Err(failure));
            continue;
        }
        let source = entry.source.clone().unwrap_or_default();
        let offers: Vec<(String, Offer)> = state
            .scan_all(PARTNER_OFFERS, &format!("{}|", partner.key(&source)))
            .await?;
        if offers.is_empty() {
            copies.push(Err(failed_entry(
                "NotAuthorizedForSourceException",
                "Not authorized for the source.",
            )));
            continue;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let time = entry_time(&entry, now);
        let mut count = 0;
        for (account, _) in offers {
            let (customer, source_state) = state.offered_to(&partner, account, &source).await?;
            if source_state != Some(SourceState::Active) {
                continue;
            }
            // The event names the customer's account, on the customer's partner event bus.
            accepted.push(QueuedEvent {
                event: envelope(&id, &customer.account, &customer.region, time, &entry),
                tenant: customer,
                bus: source.clone(),
                ingestion_time: rfc3339(now),
                ingestion_millis: millis_since_epoch(now),
                forwarded: false,
                rules: None,
                schedule_of: None,
            });
            count += 1;
        }
        copies.push(Ok((id, count)));
    }
    let (outcomes, failed) = settle(copies, state.accept_durably(accepted).await);
    let results = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(id) => PutPartnerEventsResultEntry {
                event_id: Some(id),
                ..PutPartnerEventsResultEntry::default()
            },
            Err((code, message)) => PutPartnerEventsResultEntry {
                event_id: None,
                error_code: Some(code.to_owned()),
                error_message: Some(message),
            },
        })
        .collect();
    Ok(PutPartnerEventsResponse {
        failed_entry_count: Some(failed),
        entries: Some(results),
    })
}

impl EventsState {
    /// The customer `account` of `partner`'s region, and where the source `name` stands for it
    /// (`None` once the customer no longer holds it).
    async fn offered_to(
        &self,
        partner: &Tenant,
        account: String,
        name: &str,
    ) -> Result<(Tenant, Option<SourceState>), ServiceError> {
        let customer = Tenant {
            account,
            region: partner.region.clone(),
        };
        let source_state = self
            .get::<SourceRecord>(EVENT_SOURCES, &customer.key(name))
            .await?
            .map(|source| source.value.state);
        Ok((customer, source_state))
    }

    /// Up to `limit` of `partner`'s offers of the source `name`, by account, after the account
    /// `after`.
    async fn offers(
        &self,
        partner: &Tenant,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Offer)>, ServiceError> {
        self.scan_page(
            PARTNER_OFFERS,
            &format!("{}|", partner.key(name)),
            after,
            limit,
        )
        .await
    }
}

// The customer's side.

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListEventSourcesRequest,
) -> Result<ListEventSourcesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let prefix = input.name_prefix.unwrap_or_default();
    let limit = page_size(input.limit);
    let mut sources: Vec<(String, SourceRecord)> = state
        .scan_page(
            EVENT_SOURCES,
            &tenant.key(&prefix),
            input
                .next_token
                .as_deref()
                .and_then(|token| token.strip_prefix(prefix.as_str())),
            limit + 1,
        )
        .await?;
    let next_token = paginate(&mut sources, limit, |(_, source)| source.name.clone());
    Ok(ListEventSourcesResponse {
        event_sources: Some(
            sources
                .into_iter()
                .map(|(_, source)| summary(&tenant, source))
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeEventSourceRequest,
) -> Result<DescribeEventSourceResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let Some(source) = state
        .get::<SourceRecord>(EVENT_SOURCES, &tenant.key(&input.name))
        .await?
    else {
        return Err(not_found(&input.name));
    };
    let source = summary(&tenant, source.value);
    Ok(DescribeEventSourceResponse {
        arn: source.arn,
        created_by: source.created_by,
        creation_time: source.creation_time,
        expiration_time: source.expiration_time,
        name: source.name,
        state: source.state,
    })
}

/// `ActivateEventSource` (`activate`) or `DeactivateEventSource`: only a source whose bus
/// exists, and that the partner has not deleted, changes.
pub(crate) async fn set_active(
    state: &EventsState,
    ctx: &RequestContext,
    name: &str,
    activate: bool,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = tenant.key(name);
    state
        .mutate(|| async {
            let Some(source) = state.get::<SourceRecord>(EVENT_SOURCES, &key).await? else {
                return Err(not_found(name));
            };
            let (from, to) = if activate {
                (SourceState::Deactivated, SourceState::Active)
            } else {
                (SourceState::Active, SourceState::Deactivated)
            };
            match source.value.state {
                current if current == to => Ok((Transaction::new(), ())),
                current if current == from => {
                    let mut record = source.value;
                    record.state = to;
                    let txn = Transaction::new()
                        .expect_version(EVENT_SOURCES, &key, source.version)
                        .put(EVENT_SOURCES, &key, plain(&record)?);
                    Ok((txn, ()))
                }
                SourceState::Offered => Err(errors::invalid_state_exception(format!(
                    "Event source {name} has no partner event bus."
                ))),
                _ => Err(errors::invalid_state_exception(format!(
                    "Event source {name} has been deleted by its partner."
                ))),
            }
        })
        .await
}

/// The transaction's part in making the partner event bus of `source`: the source, offered
/// and not yet taken, becomes active.
pub(crate) async fn take(
    state: &EventsState,
    tenant: &Tenant,
    source: &str,
    txn: Transaction,
) -> Result<Transaction, ServiceError> {
    let key = tenant.key(source);
    let Some(record) = state.get::<SourceRecord>(EVENT_SOURCES, &key).await? else {
        return Err(not_found(source));
    };
    if record.value.state != SourceState::Offered {
        return Err(errors::resource_already_exists_exception(format!(
            "Event bus {source} already exists."
        )));
    }
    let mut taken = record.value;
    taken.state = SourceState::Active;
    Ok(txn.expect_version(EVENT_SOURCES, &key, record.version).put(
        EVENT_SOURCES,
        &key,
        plain(&taken)?,
    ))
}

/// The transaction's part in deleting the partner event bus of `source`: the source is offered
/// again, or forgotten when its partner has deleted it.
pub(crate) async fn release(
    state: &EventsState,
    tenant: &Tenant,
    source: &str,
    txn: Transaction,
) -> Result<Transaction, ServiceError> {
    let key = tenant.key(source);
    let Some(record) = state.get::<SourceRecord>(EVENT_SOURCES, &key).await? else {
        return Ok(txn);
    };
    let txn = txn.expect_version(EVENT_SOURCES, &key, record.version);
    if record.value.state == SourceState::Deleted {
        return Ok(txn.delete(EVENT_SOURCES, &key));
    }
    let mut released = record.value;
    released.state = SourceState::Offered;
    Ok(txn.put(EVENT_SOURCES, &key, plain(&released)?))
}
