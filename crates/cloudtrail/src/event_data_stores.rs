//! CloudTrail Lake event data stores: creating, reading, listing, updating, deleting (seven days
//! `PENDING_DELETION`, then gone) and restoring them, starting and stopping their ingestion, and
//! their tags. Queries over them are `crate::queries`'.
//!
//! An event data store keeps no copy of its events: it is a view over the audit records every
//! call leaves (`palisade_audit`), which are never removed. Its events are the records of its
//! account (of every account of its organization, for an organization event data store) in its
//! region (every region, when multi-Region) that its advanced event selectors let through, whose
//! `eventTime` falls while it was ingesting (from its creation, or `StartEventDataStoreIngestion`,
//! to `StopEventDataStoreIngestion` or deletion) and within its retention period. Events from
//! before its creation are not in it, as in AWS, where only an import copies old events in.
//!
//! Layout: keyspace [`EVENT_DATA_STORES`], `<account>/<id>` → a JSON [`EventDataStoreRecord`].

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    BillingMode, CreateEventDataStoreRequest, CreateEventDataStoreResponse,
    DeleteEventDataStoreRequest, DeleteEventDataStoreResponse, EventDataStore,
    EventDataStoreStatus, GetEventDataStoreRequest, GetEventDataStoreResponse,
    ListEventDataStoresRequest, ListEventDataStoresResponse, RestoreEventDataStoreRequest,
    RestoreEventDataStoreResponse, StartEventDataStoreIngestionRequest,
    StartEventDataStoreIngestionResponse, StopEventDataStoreIngestionRequest,
    StopEventDataStoreIngestionResponse, UpdateEventDataStoreRequest, UpdateEventDataStoreResponse,
};
use palisade_store::Transaction;
use palisade_store::typed::{self, Stored};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::{plain, store_error};
use crate::names::split_arn;
use crate::selectors::{
    ACTIVITY_AUDIT_LOG, AdvancedSelector, FieldSelectorRecord, advanced_view,
    event_data_store_selectors,
};
use crate::tags::{Tags, add_tags_to};

pub(crate) const EVENT_DATA_STORES: &str = "cloudtrail/event-data-stores";

/// At most this many event data stores per account and region.
const MAX_PER_REGION: usize = 10;
/// How long a deleted event data store can be restored before it is gone.
const DELETION_WAIT_MILLIS: i64 = 7 * DAY_MILLIS;
const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// Retention bounds, in days, by billing mode.
const MIN_RETENTION_DAYS: i32 = 7;
const MAX_EXTENDABLE_RETENTION_DAYS: i32 = 3653;
const MAX_FIXED_RETENTION_DAYS: i32 = 2557;
/// Retention when `CreateEventDataStore` gives none: the billing mode's default.
const DEFAULT_EXTENDABLE_RETENTION_DAYS: i32 = 366;
const EXTENDABLE: &str = "EXTENDABLE_RETENTION_PRICING";
const FIXED: &str = "FIXED_RETENTION_PRICING";
/// Event data stores per `ListEventDataStores` page when the request sets no `MaxResults`.
const DEFAULT_PAGE: usize = 1000;

/// An event data store as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventDataStoreRecord {
    pub account: String,
    pub region: String,
    pub id: String,
    pub name: String,
    pub selectors: Vec<AdvancedSelector>,
    pub multi_region: bool,
    pub organization: bool,
    pub retention_days: i32,
    pub termination_protection: bool,
    pub kms_key_arn: Option<String>,
    pub billing_mode: String,
    pub created_millis: i64,
    pub updated_millis: i64,
    /// The spans of event time it ingested, oldest first: `(from, until)`, the last one open
    /// while it ingests.
    pub ingestion: Vec<(i64, Option<i64>)>,
    /// When it was deleted, while it waits to be gone (`PENDING_DELETION`).
    pub deleted_millis: Option<i64>,
    /// Whether a restore resumes ingestion: it was ingesting when deleted.
    pub ingesting_when_deleted: bool,
    pub tags: Tags,
    /// The resource-based policy document, if it has one.
    #[serde(default)]
    pub resource_policy: Option<String>,
}

impl EventDataStoreRecord {
    pub fn arn(&self) -> String {
        event_data_store_arn(&self.region, &self.account, &self.id)
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.account, self.id)
    }

    /// Whether it holds events a channel brings from outside AWS (and no audit records).
    pub fn of_events_outside_aws(&self) -> bool {
        self.selectors.iter().any(|selector| {
            selector.field_selectors.iter().any(|condition| {
                condition.field == "eventCategory"
                    && condition.equals.as_ref().is_some_and(|values| {
                        values.iter().any(|value| value == ACTIVITY_AUDIT_LOG)
                    })
            })
        })
    }

    pub fn ingesting(&self) -> bool {
        self.deleted_millis.is_none() && matches!(self.ingestion.last(), Some((_, None)))
    }

    pub fn status(&self) -> EventDataStoreStatus {
        if self.deleted_millis.is_some() {
            EventDataStoreStatus::PendingDeletion
        } else if self.ingesting() {
            EventDataStoreStatus::Enabled
        } else {
            EventDataStoreStatus::StoppedIngestion
        }
    }

    /// Whether it has outlived its seven days of `PENDING_DELETION` at `now`.
    fn gone(&self, now: i64) -> bool {
        self.deleted_millis
            .is_some_and(|deleted| now >= deleted.saturating_add(DELETION_WAIT_MILLIS))
    }

    /// The spans of event time whose events it holds at `now`, inclusive: its ingestion spans,
    /// cut to its retention period. A span that ended holds what came before its end, so spans
    /// that meet (stopped and started in the same millisecond) do not both hold that instant.
    pub fn spans(&self, now: i64) -> Vec<(i64, i64)> {
        let oldest = self.oldest_kept(now);
        self.ingestion
            .iter()
            .map(|&(from, until)| {
                let last = until.map_or(now, |until| until.saturating_sub(1));
                (from.max(oldest), last.min(now))
            })
            .filter(|(from, until)| from <= until)
            .collect()
    }

    /// The oldest event time its retention period keeps at `now`.
    pub fn oldest_kept(&self, now: i64) -> i64 {
        now.saturating_sub(i64::from(self.retention_days).saturating_mul(DAY_MILLIS))
    }

    fn stop_ingesting(&mut self, now: i64) {
        if let Some((_, until @ None)) = self.ingestion.last_mut() {
            *until = Some(now);
        }
    }

    fn start_ingesting(&mut self, now: i64) {
        if !matches!(self.ingestion.last(), Some((_, None))) {
            self.ingestion.push((now, None));
        }
    }
}

pub(crate) fn event_data_store_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:eventdatastore/{id}")
}

/// Whether `resource` names an event data store by ARN, as tagging and resource policies may.
pub(crate) fn is_event_data_store_arn(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.contains(":eventdatastore/")
}

/// The event data store fields the create, get, update and restore responses share.
macro_rules! store_response {
    ($response:ident, $store:expr, { $($extra:tt)* }) => {{
        let store: &EventDataStoreRecord = $store;
        $response {
            event_data_store_arn: Some(store.arn()),
            name: Some(store.name.clone()),
            status: Some(store.status()),
            advanced_event_selectors: Some(advanced_view(&store.selectors)),
            multi_region_enabled: Some(store.multi_region),
            organization_enabled: Some(store.organization),
            retention_period: Some(store.retention_days),
            termination_protection_enabled: Some(store.termination_protection),
            created_timestamp: Some(Timestamp::from_millis(store.created_millis)),
            updated_timestamp: Some(Timestamp::from_millis(store.updated_millis)),
            kms_key_id: store.kms_key_arn.clone(),
            billing_mode: Some(BillingMode::from(store.billing_mode.as_str())),
            $($extra)*
        }
    }};
}

impl CloudTrailState {
    /// Every event data store of `account` that shows in `region` and is not gone, by id: its
    /// own, and the multi-Region ones of other regions (as AWS counts them against the region's
    /// ten, and lists them there).
    async fn region_stores(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<Stored<EventDataStoreRecord>>, ServiceError> {
        let now = self.clock.now_millis();
        let prefix = format!("{account}/");
        Ok(typed::scan_all_json::<EventDataStoreRecord>(
            &self.store,
            EVENT_DATA_STORES,
            &prefix,
            DEFAULT_PAGE,
        )
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|(_, stored)| stored)
        .filter(|stored| {
            (stored.value.region == region || stored.value.multi_region) && !stored.value.gone(now)
        })
        .collect())
    }

    /// The event data store a request names by ARN or by the id its ARN ends in: one of the
    /// caller's account in the caller's region.
    pub(crate) async fn find_event_data_store(
        &self,
        ctx: &RequestContext,
        reference: &str,
    ) -> Result<Stored<EventDataStoreRecord>, ServiceError> {
        self.find_event_data_store_of(ctx.account().as_str(), ctx.region.as_str(), reference)
            .await
    }

    /// The event data store of `account` that shows in `region` (its home, or any for a
    /// multi-Region store) that `reference` names, by ARN or id.
    pub(crate) async fn find_event_data_store_of(
        &self,
        account: &str,
        region: &str,
        reference: &str,
    ) -> Result<Stored<EventDataStoreRecord>, ServiceError> {
        let (home, id) = match reference.strip_prefix("arn:") {
            Some(_) => {
                let (arn_region, arn_account, id) = parse_arn(reference)?;
                if arn_account != account {
                    return Err(not_found(reference));
                }
                (Some(arn_region), id)
            }
            None => (None, reference),
        };
        let stored = typed::get_json::<EventDataStoreRecord>(
            &self.store,
            EVENT_DATA_STORES,
            &format!("{account}/{id}"),
        )
        .await
        .map_err(store_error)?;
        match stored {
            // A multi-Region store shows in every region; its ARN names its home region.
            Some(stored)
                if home.is_none_or(|home| home == stored.value.region)
                    && (stored.value.region == region || stored.value.multi_region)
                    && !stored.value.gone(self.clock.now_millis()) =>
            {
                Ok(stored)
            }
            _ => Err(not_found(reference)),
        }
    }

    /// Refuses a change to the event data store `reference` names while an import copies into
    /// it.
    async fn require_no_import_into(
        &self,
        ctx: &RequestContext,
        reference: &str,
    ) -> Result<(), ServiceError> {
        let store = self.find_event_data_store(ctx, reference).await?.value;
        self.require_no_ongoing_import(&store.account, &store.region, &store.arn())
            .await
    }

    /// As [`Self::find_event_data_store_of`], for a store to send events or queries to: one
    /// pending deletion answers `InactiveEventDataStoreException`.
    pub(crate) async fn find_active_event_data_store_of(
        &self,
        account: &str,
        region: &str,
        reference: &str,
    ) -> Result<EventDataStoreRecord, ServiceError> {
        let store = self
            .find_event_data_store_of(account, region, reference)
            .await?
            .value;
        if store.deleted_millis.is_some() {
            return Err(errors::inactive_event_data_store_exception(format!(
                "The event data store {} is inactive: it is pending deletion.",
                store.arn()
            )));
        }
        Ok(store)
    }

    /// Applies `change` to the event data store `reference` names (given the time) and stores
    /// it.
    pub(crate) async fn change_event_data_store(
        &self,
        ctx: &RequestContext,
        reference: &str,
        change: impl Fn(&mut EventDataStoreRecord, i64) -> Result<(), ServiceError>,
    ) -> Result<EventDataStoreRecord, ServiceError> {
        self.mutate(|| async {
            let stored = self.find_event_data_store(ctx, reference).await?;
            let now = self.clock.now_millis();
            let mut record = stored.value.clone();
            change(&mut record, now)?;
            record.updated_millis = now;
            let transaction = stored.replace(
                Transaction::new(),
                EVENT_DATA_STORES,
                &record.key(),
                plain(&record)?,
            );
            Ok((transaction, record))
        })
        .await
    }

    /// As [`Self::change_event_data_store`], for a change that may rename the store: `change`
    /// sees the other stores that show in the region, read and pinned under the account's guard
    /// with the change, so two renames (or a rename and a create) cannot both take a name.
    async fn change_event_data_store_named(
        &self,
        ctx: &RequestContext,
        reference: &str,
        change: impl Fn(
            &mut EventDataStoreRecord,
            &[Stored<EventDataStoreRecord>],
        ) -> Result<(), ServiceError>,
    ) -> Result<EventDataStoreRecord, ServiceError> {
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        self.mutate(|| async {
            let guard = self.guard(store_guard(account)).await?;
            let others = self.region_stores(account, region).await?;
            let stored = self.find_event_data_store(ctx, reference).await?;
            let now = self.clock.now_millis();
            let mut record = stored.value.clone();
            change(&mut record, &others)?;
            record.updated_millis = now;
            let transaction = stored.replace(
                guard.pin(Transaction::new()),
                EVENT_DATA_STORES,
                &record.key(),
                plain(&record)?,
            );
            Ok((transaction, record))
        })
        .await
    }

    /// Adds or removes tags of the event data store `arn`.
    pub(crate) async fn change_event_data_store_tags<F>(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: F,
    ) -> Result<(), ServiceError>
    where
        F: Fn(&mut Tags) -> Result<(), ServiceError>,
    {
        self.change_event_data_store(ctx, arn, |store, _| change(&mut store.tags))
            .await
            .map(|_| ())
    }
}

pub(crate) async fn create_event_data_store(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: CreateEventDataStoreRequest,
) -> Result<CreateEventDataStoreResponse, ServiceError> {
    let account = ctx.account().as_str().to_owned();
    let region = ctx.region.as_str().to_owned();
    let billing_mode = billing_mode(input.billing_mode.as_ref())?;
    let retention_days = input.retention_period.unwrap_or(if billing_mode == FIXED {
        MAX_FIXED_RETENTION_DAYS
    } else {
        DEFAULT_EXTENDABLE_RETENTION_DAYS
    });
    check_retention(retention_days, &billing_mode)?;
    let selectors = match input.advanced_event_selectors {
        Some(selectors) => event_data_store_selectors(selectors)?,
        None => default_selectors(),
    };
    let organization = input.organization_enabled.unwrap_or(false);
    if organization {
        let owner = state.organization_trail_owner(&account).await?;
        if owner != account {
            return Err(errors::not_organization_master_account_exception(
                "Only the management account of the organization can create an organization \
                 event data store.",
            ));
        }
    }
    let kms_key_arn = match &input.kms_key_id {
        Some(key) => Some(
            state
                .check_event_data_store_key(&account, &region, key)
                .await?,
        ),
        None => None,
    };
    let mut tags = Tags::new();
    add_tags_to(&mut tags, input.tags_list.unwrap_or_default())?;
    let now = state.clock.now_millis();
    let record = EventDataStoreRecord {
        account: account.clone(),
        region: region.clone(),
        id: uuid::Uuid::new_v4().to_string(),
        name: input.name,
        selectors,
        multi_region: input.multi_region_enabled.unwrap_or(true),
        organization,
        retention_days,
        termination_protection: input.termination_protection_enabled.unwrap_or(true),
        kms_key_arn,
        billing_mode,
        created_millis: now,
        updated_millis: now,
        ingestion: if input.start_ingestion.unwrap_or(true) {
            vec![(now, None)]
        } else {
            Vec::new()
        },
        deleted_millis: None,
        ingesting_when_deleted: false,
        tags,
        resource_policy: None,
    };
    let created = state
        .mutate(|| {
            let guard = state.guard(store_guard(&account));
            let existing = state.region_stores(&account, &region);
            let record = record.clone();
            async move {
                let guard = guard.await?;
                let existing = existing.await?;
                check_name_is_free(&existing, &record.name, None)?;
                if existing.len() >= MAX_PER_REGION {
                    return Err(errors::event_data_store_max_limit_exceeded_exception(
                        format!(
                            "Your account has the maximum number of event data stores in this \
                             Region ({MAX_PER_REGION})."
                        ),
                    ));
                }
                let transaction = guard
                    .pin(Transaction::new())
                    .expect_absent(EVENT_DATA_STORES, &record.key())
                    .put(EVENT_DATA_STORES, &record.key(), plain(&record)?);
                Ok((transaction, record))
            }
        })
        .await?;
    Ok(store_response!(CreateEventDataStoreResponse, &created, {
        tags_list: Some(crate::tags::tags_view(&created.tags)),
    }))
}

pub(crate) async fn get_event_data_store(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetEventDataStoreRequest,
) -> Result<GetEventDataStoreResponse, ServiceError> {
    let store = state
        .find_event_data_store(ctx, &input.event_data_store)
        .await?
        .value;
    Ok(store_response!(GetEventDataStoreResponse, &store, {
        federation_status: None,
        federation_role_arn: None,
        partition_keys: None,
    }))
}

pub(crate) async fn list_event_data_stores(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListEventDataStoresRequest,
) -> Result<ListEventDataStoresResponse, ServiceError> {
    let page_size = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, DEFAULT_PAGE);
    let stores = state
        .region_stores(ctx.account().as_str(), ctx.region.as_str())
        .await?;
    let after = input
        .next_token
        .as_deref()
        .map(crate::tokens::decode)
        .transpose()?;
    let mut remaining = stores.iter().map(|stored| &stored.value).filter(|store| {
        after
            .as_deref()
            .is_none_or(|after| store.id.as_str() > after)
    });
    let page: Vec<&EventDataStoreRecord> = remaining.by_ref().take(page_size).collect();
    let next_token = match (remaining.next(), page.last()) {
        (Some(_), Some(last)) => Some(crate::tokens::encode(&last.id)),
        _ => None,
    };
    Ok(ListEventDataStoresResponse {
        event_data_stores: Some(
            page.into_iter()
                .map(|store| EventDataStore {
                    event_data_store_arn: Some(store.arn()),
                    name: Some(store.name.clone()),
                    ..EventDataStore::default()
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn update_event_data_store(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: UpdateEventDataStoreRequest,
) -> Result<UpdateEventDataStoreResponse, ServiceError> {
    let changes_nothing = input.name.is_none()
        && input.advanced_event_selectors.is_none()
        && input.multi_region_enabled.is_none()
        && input.organization_enabled.is_none()
        && input.retention_period.is_none()
        && input.termination_protection_enabled.is_none()
        && input.kms_key_id.is_none()
        && input.billing_mode.is_none();
    if changes_nothing {
        return Err(errors::invalid_parameter_exception(
            "You must specify at least one parameter to update in the event data store.",
        ));
    }
    state
        .require_no_import_into(ctx, &input.event_data_store)
        .await?;
    let selectors = input
        .advanced_event_selectors
        .map(event_data_store_selectors)
        .transpose()?;
    let billing = input
        .billing_mode
        .as_ref()
        .map(|mode| billing_mode(Some(mode)))
        .transpose()?;
    let account = ctx.account().as_str().to_owned();
    let region = ctx.region.as_str().to_owned();
    if input.organization_enabled == Some(true) {
        let owner = state.organization_trail_owner(&account).await?;
        if owner != account {
            return Err(errors::not_organization_master_account_exception(
                "Only the management account of the organization can make an event data store \
                 an organization event data store.",
            ));
        }
    }
    let kms_key_arn = match &input.kms_key_id {
        Some(key) => Some(
            state
                .check_event_data_store_key(&account, &region, key)
                .await?,
        ),
        None => None,
    };
    let updated = state
        .change_event_data_store_named(ctx, &input.event_data_store, |store, others| {
            if store.deleted_millis.is_some() {
                return Err(errors::inactive_event_data_store_exception(format!(
                    "Event data store {} is pending deletion and cannot be updated.",
                    store.arn()
                )));
            }
            if let Some(name) = &input.name {
                check_name_is_free(others, name, Some(&store.id))?;
                store.name.clone_from(name);
            }
            if let Some(mode) = &billing {
                if store.billing_mode == EXTENDABLE && mode == FIXED {
                    return Err(errors::invalid_parameter_exception(
                        "You cannot change the billing mode from EXTENDABLE_RETENTION_PRICING to \
                         FIXED_RETENTION_PRICING.",
                    ));
                }
                store.billing_mode.clone_from(mode);
            }
            if let Some(days) = input.retention_period {
                store.retention_days = days;
            }
            check_retention(store.retention_days, &store.billing_mode)?;
            if let Some(selectors) = &selectors {
                store.selectors.clone_from(selectors);
            }
            if let Some(multi_region) = input.multi_region_enabled {
                store.multi_region = multi_region;
            }
            if let Some(organization) = input.organization_enabled {
                store.organization = organization;
            }
            if let Some(protection) = input.termination_protection_enabled {
                store.termination_protection = protection;
            }
            if let Some(key) = &kms_key_arn {
                store.kms_key_arn = Some(key.clone());
            }
            Ok(())
        })
        .await?;
    Ok(store_response!(UpdateEventDataStoreResponse, &updated, {
        federation_status: None,
        federation_role_arn: None,
    }))
}

pub(crate) async fn delete_event_data_store(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeleteEventDataStoreRequest,
) -> Result<DeleteEventDataStoreResponse, ServiceError> {
    state
        .require_no_import_into(ctx, &input.event_data_store)
        .await?;
    let store = state
        .find_event_data_store(ctx, &input.event_data_store)
        .await?
        .value;
    state
        .require_no_channel_into(&store.account, &store.region, &store.arn())
        .await?;
    state
        .change_event_data_store(ctx, &input.event_data_store, |store, now| {
            if store.deleted_millis.is_some() {
                return Err(errors::inactive_event_data_store_exception(format!(
                    "Event data store {} is already pending deletion.",
                    store.arn()
                )));
            }
            if store.termination_protection {
                return Err(errors::event_data_store_termination_protected_exception(
                    format!(
                        "Event data store {} cannot be deleted because termination protection \
                         is enabled.",
                        store.arn()
                    ),
                ));
            }
            store.ingesting_when_deleted = store.ingesting();
            store.stop_ingesting(now);
            store.deleted_millis = Some(now);
            Ok(())
        })
        .await?;
    Ok(DeleteEventDataStoreResponse::default())
}

pub(crate) async fn restore_event_data_store(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: RestoreEventDataStoreRequest,
) -> Result<RestoreEventDataStoreResponse, ServiceError> {
    let restored = state
        .change_event_data_store(ctx, &input.event_data_store, |store, now| {
            if store.deleted_millis.is_none() {
                return Err(errors::invalid_event_data_store_status_exception(format!(
                    "Event data store {} is not pending deletion, so there is nothing to restore.",
                    store.arn()
                )));
            }
            store.deleted_millis = None;
            if store.ingesting_when_deleted {
                store.start_ingesting(now);
            }
            Ok(())
        })
        .await?;
    Ok(store_response!(RestoreEventDataStoreResponse, &restored, {}))
}

pub(crate) async fn start_ingestion(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StartEventDataStoreIngestionRequest,
) -> Result<StartEventDataStoreIngestionResponse, ServiceError> {
    state
        .change_event_data_store(ctx, &input.event_data_store, |store, now| {
            require_cloudtrail_events(store)?;
            if store.status() != EventDataStoreStatus::StoppedIngestion {
                return Err(wrong_status(store, "STOPPED_INGESTION"));
            }
            store.start_ingesting(now);
            Ok(())
        })
        .await?;
    Ok(StartEventDataStoreIngestionResponse::default())
}

pub(crate) async fn stop_ingestion(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StopEventDataStoreIngestionRequest,
) -> Result<StopEventDataStoreIngestionResponse, ServiceError> {
    state
        .change_event_data_store(ctx, &input.event_data_store, |store, now| {
            require_cloudtrail_events(store)?;
            if store.status() != EventDataStoreStatus::Enabled {
                return Err(wrong_status(store, "ENABLED"));
            }
            store.stop_ingesting(now);
            Ok(())
        })
        .await?;
    Ok(StopEventDataStoreIngestionResponse::default())
}

/// Ingestion starts and stops only on stores of CloudTrail's own events, as AWS documents.
fn require_cloudtrail_events(store: &EventDataStoreRecord) -> Result<(), ServiceError> {
    if store.of_events_outside_aws() {
        return Err(errors::invalid_event_data_store_category_exception(
            format!(
                "Event data store {} holds events from outside AWS: ingestion starts and stops only \
             on event data stores of Management, Data or NetworkActivity events.",
                store.arn()
            ),
        ));
    }
    Ok(())
}

fn wrong_status(store: &EventDataStoreRecord, needed: &str) -> ServiceError {
    errors::invalid_event_data_store_status_exception(format!(
        "Event data store {} has status {}; this operation needs status {needed}.",
        store.arn(),
        store.status().as_str()
    ))
}

/// The guard of `account`'s event data stores' names and count (multi-Region stores count in
/// every region, so the guard is the account's).
fn store_guard(account: &str) -> String {
    format!("event-data-stores/{account}")
}

/// The selector AWS gives an event data store created without any: every management event.
fn default_selectors() -> Vec<AdvancedSelector> {
    vec![AdvancedSelector {
        name: Some("Default management events".to_owned()),
        field_selectors: vec![FieldSelectorRecord {
            field: "eventCategory".to_owned(),
            equals: Some(vec!["Management".to_owned()]),
            starts_with: None,
            ends_with: None,
            not_equals: None,
            not_starts_with: None,
            not_ends_with: None,
        }],
    }]
}

fn billing_mode(mode: Option<&BillingMode>) -> Result<String, ServiceError> {
    match mode {
        None | Some(BillingMode::ExtendableRetentionPricing) => Ok(EXTENDABLE.to_owned()),
        Some(BillingMode::FixedRetentionPricing) => Ok(FIXED.to_owned()),
        Some(other) => Err(errors::invalid_parameter_exception(format!(
            "Value {} for BillingMode is invalid. Valid values: {EXTENDABLE}, {FIXED}.",
            other.as_str()
        ))),
    }
}

fn check_retention(days: i32, billing_mode: &str) -> Result<(), ServiceError> {
    let most = if billing_mode == FIXED {
        MAX_FIXED_RETENTION_DAYS
    } else {
        MAX_EXTENDABLE_RETENTION_DAYS
    };
    if (MIN_RETENTION_DAYS..=most).contains(&days) {
        return Ok(());
    }
    Err(errors::invalid_parameter_exception(format!(
        "The retention period {days} is not valid for billing mode {billing_mode}: it must be \
         between {MIN_RETENTION_DAYS} and {most} days."
    )))
}

/// Names are unique among an account's event data stores in a region; `except` is the id of
/// the one being renamed.
fn check_name_is_free(
    stores: &[Stored<EventDataStoreRecord>],
    name: &str,
    except: Option<&str>,
) -> Result<(), ServiceError> {
    let taken = stores
        .iter()
        .any(|stored| stored.value.name == name && except != Some(stored.value.id.as_str()));
    if taken {
        return Err(errors::event_data_store_already_exists_exception(format!(
            "An event data store named {name} already exists."
        )));
    }
    Ok(())
}

/// `arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>`, as its region, account and id.
pub(crate) fn parse_arn(text: &str) -> Result<(&str, &str, &str), ServiceError> {
    let invalid = || {
        errors::event_data_store_arn_invalid_exception(format!(
            "The specified event data store ARN {text} is not valid or does not map to an event \
             data store in your account."
        ))
    };
    let parts = split_arn(text).ok_or_else(invalid)?;
    let id = parts
        .resource
        .strip_prefix("eventdatastore/")
        .ok_or_else(invalid)?;
    if id.is_empty() || id.contains('/') {
        return Err(invalid());
    }
    Ok((parts.region, parts.account, id))
}

fn not_found(reference: &str) -> ServiceError {
    errors::event_data_store_not_found_exception(format!(
        "The specified event data store {reference} was not found."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ingestion: Vec<(i64, Option<i64>)>) -> EventDataStoreRecord {
        EventDataStoreRecord {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            id: "id".to_owned(),
            name: "store".to_owned(),
            selectors: default_selectors(),
            multi_region: true,
            organization: false,
            retention_days: 7,
            termination_protection: true,
            kms_key_arn: None,
            billing_mode: EXTENDABLE.to_owned(),
            created_millis: 0,
            updated_millis: 0,
            ingestion,
            deleted_millis: None,
            ingesting_when_deleted: false,
            tags: Tags::new(),
            resource_policy: None,
        }
    }

    #[test]
    fn spans_are_cut_to_retention_and_now() {
        let now = 30 * DAY_MILLIS;
        // Seven days of retention: nothing before day 23 is kept.
        let store = record(vec![(0, Some(2 * DAY_MILLIS)), (20 * DAY_MILLIS, None)]);
        assert_eq!(store.spans(now), vec![(23 * DAY_MILLIS, now)]);
        let store = record(vec![(0, Some(25 * DAY_MILLIS)), (26 * DAY_MILLIS, None)]);
        assert_eq!(
            store.spans(now),
            vec![
                (23 * DAY_MILLIS, 25 * DAY_MILLIS - 1),
                (26 * DAY_MILLIS, now)
            ]
        );
        // Stopped and started again in one millisecond: that instant is held once.
        let store = record(vec![(0, Some(DAY_MILLIS)), (DAY_MILLIS, None)]);
        assert_eq!(
            store.spans(2 * DAY_MILLIS),
            vec![(0, DAY_MILLIS - 1), (DAY_MILLIS, 2 * DAY_MILLIS)]
        );
        assert_eq!(store.status(), EventDataStoreStatus::Enabled);
        assert_eq!(
            record(vec![(0, Some(1))]).status(),
            EventDataStoreStatus::StoppedIngestion
        );
    }

    #[test]
    fn arns_parse_into_their_parts() {
        let arn = event_data_store_arn("us-east-1", "111122223333", "abc-123");
        assert_eq!(
            parse_arn(&arn).ok(),
            Some(("us-east-1", "111122223333", "abc-123"))
        );
        assert!(is_event_data_store_arn(&arn));
        for bad in [
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/",
            "arn:aws:s3:::bucket",
            "arn:aws:cloudtrail",
            // Another partition names none of this server's stores.
            "arn:aws-x:cloudtrail:us-east-1:111122223333:eventdatastore/abc-123",
        ] {
            assert!(parse_arn(bad).is_err(), "{bad}");
        }
    }
}
