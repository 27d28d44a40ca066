//! CloudTrail Lake custom dashboards: creating, reading, listing, updating and deleting them,
//! their refreshes (by `StartDashboardRefresh`, or by their refresh schedule through
//! [`CloudTrailState::refresh_due_dashboards`]), their tags and their resource policies.
//!
//! A dashboard is a named list of widgets, each a Lake SQL statement (`crate::queries` runs it)
//! with the dashboard parameters `$StartTime$`, `$EndTime$` and `$Period$` in the places of its
//! `?`s. A refresh resolves those parameters, checks that the resource policy of each widget's
//! event data store lets CloudTrail query it for the dashboard
//! (`crate::resource_policies::dashboard_may_query`), and queues one query per widget, tagged
//! with the widget's `QueryAlias` and the refresh's `RefreshId` so that `DescribeQuery` finds it.
//!
//! Managed dashboards (`Type` `MANAGED`, including the Highlights dashboard) are AWS's own and
//! are not provided: creating `AWSCloudTrail-Highlights` answers `UnsupportedOperationException`
//! and listing `MANAGED` dashboards answers none.
//!
//! # AWS facts relied on
//!
//! - At most 100 custom dashboards per region, 10 widgets per dashboard, one refresh of a
//!   dashboard at a time (CloudTrail User Guide, "Quotas in AWS CloudTrail"); exceeding one
//!   answers `ServiceQuotaExceededException`.
//! - A name is unique in the account and region; `DashboardId` is the name or the ARN
//!   `arn:aws:cloudtrail:<region>:<account>:dashboard/<name>`; a dashboard with termination
//!   protection cannot be deleted (API reference, `CreateDashboard`, `DeleteDashboard`, whose
//!   only fitting error is `ConflictException`, which also answers a name already taken).
//! - Widget `QueryParameters` name `$StartTime$`, `$EndTime$` and `$Period$`, which
//!   `QueryParameterValues` give values for; values match `^[a-zA-Z0-9._/\-:]+$` (API
//!   reference, `RequestWidget`, `StartDashboardRefresh`).
//! - `RefreshSchedule`: `HOURS` with 1, 6, 12 or 24, or `DAYS` with 1; `TimeOfDay` is UTC,
//!   `00:00` by default, and only its minutes count for an hourly schedule (API reference,
//!   `RefreshScheduleFrequency`, `RefreshSchedule`).
//! - `RefreshId` is 10 to 20 digits (API reference, `StartDashboardRefresh`).
//! - CloudTrail runs a refresh's queries itself, so each widget's event data store must have a
//!   resource policy letting `cloudtrail.amazonaws.com` call `cloudtrail:StartQuery` with the
//!   dashboard as `aws:SourceArn` (User Guide, "Example: Allow CloudTrail to run queries to
//!   populate a dashboard"). `LastRefreshFailureReason` tells about failures of the last
//!   scheduled refresh (API reference, `GetDashboard`).
//!
//! # What AWS does not document, and what is done here
//!
//! - `$StartTime$` and `$EndTime$` are RFC 3339 timestamps (`2024-11-05T10:45:24Z`), written
//!   into the statement as Lake's timestamp literal text (`2024-11-05 10:45:24`); by default
//!   the refresh covers the 24 hours before it. `$Period$` is a `date_trunc` unit (`minute`,
//!   `hour`, `day`, `week`, `month`, `quarter`, `year`), `hour` by default.
//! - Termination protection is off unless asked for: unlike event data stores', AWS documents
//!   no default of on.
//! - A widget keeps its `QueryAlias` across `UpdateDashboard` while its query (statement and
//!   parameters) is unchanged, whatever its view properties or position; a new or changed query
//!   gets a new alias, so a refresh's results never answer for a different query.
//! - A refresh that an event data store's policy does not allow fails as a whole, before any
//!   query is queued: `StartDashboardRefresh` answers `AccessDeniedException` (what the
//!   `StartQuery` CloudTrail would make on the caller's behalf answers), and a scheduled refresh
//!   keeps the message as `LastRefreshFailureReason`. So no refresh shows some widgets' results
//!   and not others.
//! - A schedule refreshes at the times `TimeOfDay + k × period` (UTC), from when it was set; a
//!   time missed while the server was down, or while the previous refresh still ran, is caught
//!   up once, not once per missed time. The dashboard's own resource policy (which AWS needs to
//!   let CloudTrail call `StartDashboardRefresh` for a schedule) is stored but not consulted.
//!
//! Layout: keyspace [`DASHBOARDS`], `<account>/<region>/<name>` → a JSON [`DashboardRecord`],
//! with its tags and resource policy, so a dashboard changes in one write.

use std::collections::BTreeMap;

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::errors;
use palisade_model_cloudtrail::types::{
    CreateDashboardRequest, CreateDashboardResponse, DashboardDetail, DashboardStatus,
    DashboardType, DeleteDashboardRequest, DeleteDashboardResponse, GetDashboardRequest,
    GetDashboardResponse, ListDashboardsRequest, ListDashboardsResponse, RefreshSchedule,
    RefreshScheduleFrequency, RefreshScheduleFrequencyUnit, RefreshScheduleStatus, RequestWidget,
    StartDashboardRefreshRequest, StartDashboardRefreshResponse, UpdateDashboardRequest,
    UpdateDashboardResponse, Widget,
};
use palisade_store::Transaction;
use palisade_store::typed::{self, Stored};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::CloudTrailState;
use crate::db::{plain, store_error};
use crate::names::split_arn;
use crate::queries::{QueryScope, WidgetRun};
use crate::resource_policies::dashboard_may_query;
use crate::tags::{Tags, add_tags_to, tags_view};

const DASHBOARDS: &str = "cloudtrail/dashboards";

/// At most this many custom dashboards per account and region.
const MAX_PER_REGION: usize = 100;
/// At most this many widgets per dashboard.
const MAX_WIDGETS: usize = 10;
/// Dashboards per `ListDashboards` page when the request sets no `MaxResults` (its maximum).
const DEFAULT_PAGE: usize = 1000;
/// Dashboards read from the store at a time while looking for due schedules.
const CHUNK: usize = 500;
/// The name that asks `CreateDashboard` for the managed Highlights dashboard.
const HIGHLIGHTS: &str = "AWSCloudTrail-Highlights";
const MINUTE_MILLIS: i64 = 60 * 1000;
const HOUR_MILLIS: i64 = 60 * MINUTE_MILLIS;
const DAY_MILLIS: i64 = 24 * HOUR_MILLIS;
/// How far before `$EndTime$` a refresh's `$StartTime$` is when the refresh gives none.
const DEFAULT_WINDOW_MILLIS: i64 = DAY_MILLIS;
const DEFAULT_PERIOD: &str = "hour";
/// The `date_trunc` units `$Period$` may be.
const PERIODS: [&str; 7] = ["minute", "hour", "day", "week", "month", "quarter", "year"];
const START_TIME: &str = "$StartTime$";
const END_TIME: &str = "$EndTime$";
const PERIOD: &str = "$Period$";

/// A custom dashboard as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DashboardRecord {
    account: String,
    region: String,
    name: String,
    widgets: Vec<WidgetRecord>,
    schedule: Option<ScheduleRecord>,
    termination_protection: bool,
    /// `CREATED` until its first update, `UPDATED` after.
    updated: bool,
    created_millis: i64,
    updated_millis: i64,
    last_refresh_id: Option<String>,
    /// The ids of the last refresh's queries: while one of them is queued or running, the
    /// dashboard is refreshing.
    refresh_queries: Vec<String>,
    /// Why the last scheduled refresh failed, when it did.
    last_refresh_failure_reason: Option<String>,
    /// The schedule's refresh times up to this one are done (or were before the schedule).
    scheduled_through: i64,
    tags: Tags,
    /// The resource-based policy document, if it has one.
    resource_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WidgetRecord {
    alias: String,
    statement: String,
    /// As the request gave them: `None` when it gave no `QueryParameters`.
    parameters: Option<Vec<Parameter>>,
    view_properties: BTreeMap<String, String>,
}

/// A dashboard parameter a widget's placeholder takes the value of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Parameter {
    StartTime,
    EndTime,
    Period,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScheduleRecord {
    frequency: Option<Frequency>,
    /// `Status` as given: `None` when the request gave none, which enables nothing.
    enabled: Option<bool>,
    /// `TimeOfDay` as hour and minute, when given.
    time_of_day: Option<(u8, u8)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Frequency {
    Hours(u8),
    Days,
}

impl DashboardRecord {
    fn key(&self) -> String {
        dashboard_key(&self.account, &self.region, &self.name)
    }

    fn arn(&self) -> String {
        dashboard_arn(&self.region, &self.account, &self.name)
    }

    fn status(&self) -> DashboardStatus {
        if self.updated {
            DashboardStatus::Updated
        } else {
            DashboardStatus::Created
        }
    }

    /// The refresh time of its enabled schedule that is due at `now` and not yet done.
    fn due_refresh(&self, now: i64) -> Option<i64> {
        let schedule = self.schedule.as_ref()?;
        if schedule.enabled != Some(true) {
            return None;
        }
        let latest = schedule.latest_time(now)?;
        (latest > self.scheduled_through).then_some(latest)
    }
}

impl ScheduleRecord {
    /// The last refresh time at or before `now`: times fall every period from UTC midnight,
    /// offset by `TimeOfDay` (its minutes alone for an hourly schedule).
    fn latest_time(&self, now: i64) -> Option<i64> {
        let (period, offset) = match self.frequency? {
            Frequency::Hours(hours) => (
                i64::from(hours) * HOUR_MILLIS,
                self.time_of_day
                    .map_or(0, |(_, minute)| i64::from(minute) * MINUTE_MILLIS),
            ),
            Frequency::Days => (
                DAY_MILLIS,
                self.time_of_day.map_or(0, |(hour, minute)| {
                    i64::from(hour) * HOUR_MILLIS + i64::from(minute) * MINUTE_MILLIS
                }),
            ),
        };
        let periods = now.saturating_sub(offset).div_euclid(period);
        Some(periods.saturating_mul(period).saturating_add(offset))
    }

    fn view(&self) -> RefreshSchedule {
        RefreshSchedule {
            frequency: self.frequency.map(|frequency| match frequency {
                Frequency::Hours(hours) => RefreshScheduleFrequency {
                    unit: Some(RefreshScheduleFrequencyUnit::Hours),
                    value: Some(i32::from(hours)),
                },
                Frequency::Days => RefreshScheduleFrequency {
                    unit: Some(RefreshScheduleFrequencyUnit::Days),
                    value: Some(1),
                },
            }),
            status: self.enabled.map(|enabled| {
                if enabled {
                    RefreshScheduleStatus::Enabled
                } else {
                    RefreshScheduleStatus::Disabled
                }
            }),
            time_of_day: self
                .time_of_day
                .map(|(hour, minute)| format!("{hour:02}:{minute:02}")),
        }
    }
}

impl Parameter {
    fn parse(name: &str) -> Result<Self, ServiceError> {
        match name {
            START_TIME => Ok(Self::StartTime),
            END_TIME => Ok(Self::EndTime),
            PERIOD => Ok(Self::Period),
            other => Err(errors::invalid_parameter_exception(format!(
                "The query parameter {other} is not valid. For custom dashboards, the following \
                 query parameters are valid: {START_TIME}, {END_TIME}, and {PERIOD}."
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::StartTime => START_TIME,
            Self::EndTime => END_TIME,
            Self::Period => PERIOD,
        }
    }
}

/// The values a refresh gives the dashboard parameters, as written into statements.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ParameterValues {
    start_time: String,
    end_time: String,
    period: String,
}

impl ParameterValues {
    /// `QueryParameterValues` (those it leaves out take their defaults at `now`).
    fn resolve(given: Option<&BTreeMap<String, String>>, now: i64) -> Result<Self, ServiceError> {
        let mut start = None;
        let mut end = None;
        let mut period = None;
        for (name, value) in given.into_iter().flatten() {
            match Parameter::parse(name)? {
                Parameter::StartTime => start = Some(parse_time(name, value)?),
                Parameter::EndTime => end = Some(parse_time(name, value)?),
                Parameter::Period => period = Some(parse_period(value)?),
            }
        }
        let end = end.unwrap_or(now);
        let start = start.unwrap_or_else(|| end.saturating_sub(DEFAULT_WINDOW_MILLIS));
        if start > end {
            return Err(errors::invalid_parameter_exception(format!(
                "The value of {START_TIME} must not be later than the value of {END_TIME}."
            )));
        }
        Ok(Self {
            start_time: sql_timestamp(start),
            end_time: sql_timestamp(end),
            period: period.unwrap_or_else(|| DEFAULT_PERIOD.to_owned()),
        })
    }

    /// The values of `parameters`, in order, for a widget's placeholders.
    fn for_widget(&self, parameters: Option<&[Parameter]>) -> Vec<String> {
        parameters
            .unwrap_or_default()
            .iter()
            .map(|parameter| match parameter {
                Parameter::StartTime => self.start_time.clone(),
                Parameter::EndTime => self.end_time.clone(),
                Parameter::Period => self.period.clone(),
            })
            .collect()
    }
}

/// A widget of a request, checked, before it has an alias.
struct CheckedWidget {
    statement: String,
    parameters: Option<Vec<Parameter>>,
    view_properties: BTreeMap<String, String>,
}

pub(crate) async fn create_dashboard(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: CreateDashboardRequest,
) -> Result<CreateDashboardResponse, ServiceError> {
    if input.name == HIGHLIGHTS {
        return Err(errors::unsupported_operation_exception(
            "The Highlights dashboard is a managed dashboard, which this server does not provide.",
        ));
    }
    let account = ctx.account().as_str().to_owned();
    let region = ctx.region.as_str().to_owned();
    let now = state.clock.now_millis();
    let widgets = state
        .check_widgets(&account, &region, input.widgets.unwrap_or_default())
        .await?;
    let schedule = input.refresh_schedule.map(schedule_record).transpose()?;
    let mut tags = Tags::new();
    add_tags_to(&mut tags, input.tags_list.unwrap_or_default())?;
    let record = DashboardRecord {
        account: account.clone(),
        region: region.clone(),
        name: input.name,
        widgets: assign_aliases(widgets, &[]),
        schedule,
        termination_protection: input.termination_protection_enabled.unwrap_or(false),
        updated: false,
        created_millis: now,
        updated_millis: now,
        last_refresh_id: None,
        refresh_queries: Vec::new(),
        last_refresh_failure_reason: None,
        // A schedule's first refresh is its first time after it was set.
        scheduled_through: now.saturating_sub(1),
        tags,
        resource_policy: None,
    };
    let key = record.key();
    let region_prefix = format!("{account}/{region}/");
    let created = state
        .mutate(|| async {
            let guard = state.guard(format!("dashboards/{region_prefix}")).await?;
            if typed::get_json::<DashboardRecord>(&state.store, DASHBOARDS, &key)
                .await
                .map_err(store_error)?
                .is_some()
            {
                return Err(errors::conflict_exception(format!(
                    "A dashboard named {} already exists in this account and Region.",
                    record.name
                )));
            }
            let existing = state
                .store
                .scan(DASHBOARDS, &region_prefix, None, MAX_PER_REGION)
                .await
                .map_err(store_error)?;
            if existing.len() >= MAX_PER_REGION {
                return Err(errors::service_quota_exceeded_exception(format!(
                    "Your account has the maximum number of dashboards in this Region \
                     ({MAX_PER_REGION})."
                )));
            }
            let transaction = guard
                .pin(Transaction::new())
                .expect_absent(DASHBOARDS, &key)
                .put(DASHBOARDS, &key, plain(&record)?);
            Ok((transaction, record.clone()))
        })
        .await?;
    Ok(CreateDashboardResponse {
        dashboard_arn: Some(created.arn()),
        name: Some(created.name.clone()),
        r#type: Some(DashboardType::Custom),
        widgets: Some(widgets_view(&created.widgets)),
        tags_list: Some(tags_view(&created.tags)),
        refresh_schedule: created.schedule.as_ref().map(ScheduleRecord::view),
        termination_protection_enabled: Some(created.termination_protection),
    })
}

pub(crate) async fn get_dashboard(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetDashboardRequest,
) -> Result<GetDashboardResponse, ServiceError> {
    let dashboard = state.find_dashboard(ctx, &input.dashboard_id).await?.value;
    Ok(GetDashboardResponse {
        dashboard_arn: Some(dashboard.arn()),
        r#type: Some(DashboardType::Custom),
        status: Some(dashboard.status()),
        widgets: Some(widgets_view(&dashboard.widgets)),
        refresh_schedule: dashboard.schedule.as_ref().map(ScheduleRecord::view),
        created_timestamp: Some(Timestamp::from_millis(dashboard.created_millis)),
        updated_timestamp: Some(Timestamp::from_millis(dashboard.updated_millis)),
        last_refresh_id: dashboard.last_refresh_id,
        last_refresh_failure_reason: dashboard.last_refresh_failure_reason,
        termination_protection_enabled: Some(dashboard.termination_protection),
    })
}

pub(crate) async fn list_dashboards(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListDashboardsRequest,
) -> Result<ListDashboardsResponse, ServiceError> {
    if input
        .r#type
        .is_some_and(|kind| kind != DashboardType::Custom)
    {
        // Managed dashboards are AWS's own, and none is provided here.
        return Ok(ListDashboardsResponse {
            dashboards: Some(Vec::new()),
            next_token: None,
        });
    }
    let page_size = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, DEFAULT_PAGE);
    let region_prefix = format!("{}/{}/", ctx.account().as_str(), ctx.region.as_str());
    let prefix = format!("{region_prefix}{}", input.name_prefix.unwrap_or_default());
    let after = match input.next_token.as_deref() {
        Some(token) => {
            let name = crate::tokens::decode(token)?;
            if !is_name(&name) {
                return Err(errors::invalid_next_token_exception("Invalid NextToken."));
            }
            Some(format!("{region_prefix}{name}"))
        }
        None => None,
    };
    let mut page = typed::scan_json::<DashboardRecord>(
        &state.store,
        DASHBOARDS,
        &prefix,
        after.as_deref(),
        page_size.saturating_add(1),
    )
    .await
    .map_err(store_error)?;
    let more = page.len() > page_size;
    page.truncate(page_size);
    let next_token = page
        .last()
        .filter(|_| more)
        .map(|(_, last)| crate::tokens::encode(&last.value.name));
    Ok(ListDashboardsResponse {
        dashboards: Some(
            page.into_iter()
                .map(|(_, stored)| DashboardDetail {
                    dashboard_arn: Some(stored.value.arn()),
                    r#type: Some(DashboardType::Custom),
                })
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn update_dashboard(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: UpdateDashboardRequest,
) -> Result<UpdateDashboardResponse, ServiceError> {
    let account = ctx.account().as_str().to_owned();
    let region = ctx.region.as_str().to_owned();
    let widgets = match input.widgets {
        Some(widgets) => Some(state.check_widgets(&account, &region, widgets).await?),
        None => None,
    };
    let schedule = input.refresh_schedule.map(schedule_record).transpose()?;
    let updated = state
        .change_dashboard(ctx, &input.dashboard_id, |dashboard, now| {
            if let Some(widgets) = &widgets {
                let requested = widgets.iter().map(|widget| CheckedWidget {
                    statement: widget.statement.clone(),
                    parameters: widget.parameters.clone(),
                    view_properties: widget.view_properties.clone(),
                });
                dashboard.widgets = assign_aliases(requested.collect(), &dashboard.widgets);
            }
            if let Some(schedule) = &schedule
                && dashboard.schedule.as_ref() != Some(schedule)
            {
                dashboard.schedule = Some(schedule.clone());
                dashboard.scheduled_through = now.saturating_sub(1);
            }
            if let Some(protection) = input.termination_protection_enabled {
                dashboard.termination_protection = protection;
            }
            dashboard.updated = true;
            dashboard.updated_millis = now;
            Ok(())
        })
        .await?;
    Ok(UpdateDashboardResponse {
        dashboard_arn: Some(updated.arn()),
        name: Some(updated.name.clone()),
        r#type: Some(DashboardType::Custom),
        widgets: Some(widgets_view(&updated.widgets)),
        refresh_schedule: updated.schedule.as_ref().map(ScheduleRecord::view),
        termination_protection_enabled: Some(updated.termination_protection),
        created_timestamp: Some(Timestamp::from_millis(updated.created_millis)),
        updated_timestamp: Some(Timestamp::from_millis(updated.updated_millis)),
    })
}

pub(crate) async fn delete_dashboard(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: DeleteDashboardRequest,
) -> Result<DeleteDashboardResponse, ServiceError> {
    state
        .mutate(|| async {
            let stored = state.find_dashboard(ctx, &input.dashboard_id).await?;
            let dashboard = &stored.value;
            if dashboard.termination_protection {
                return Err(errors::conflict_exception(format!(
                    "Dashboard {} cannot be deleted because termination protection is enabled.",
                    dashboard.arn()
                )));
            }
            let key = dashboard.key();
            let transaction = Transaction::new()
                .expect_version(DASHBOARDS, &key, stored.version)
                .delete(DASHBOARDS, &key);
            Ok((transaction, ()))
        })
        .await?;
    Ok(DeleteDashboardResponse::default())
}

pub(crate) async fn start_dashboard_refresh(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: StartDashboardRefreshRequest,
) -> Result<StartDashboardRefreshResponse, ServiceError> {
    let dashboard = state.find_dashboard(ctx, &input.dashboard_id).await?.value;
    let values = ParameterValues::resolve(
        input.query_parameter_values.as_ref(),
        state.clock.now_millis(),
    )?;
    let (refresh_id, queries) = state.start_refresh(&dashboard, &values).await?;
    // Two refreshes started at the same instant can both pass the one-at-a-time check, and the
    // later one is recorded: claiming the dashboard across the queueing would need a lease that
    // a crash could leave held.
    state
        .change_dashboard_at(&dashboard.key(), |dashboard, _| {
            dashboard.last_refresh_id = Some(refresh_id.clone());
            dashboard.refresh_queries.clone_from(&queries);
            Ok(())
        })
        .await?
        .ok_or_else(|| not_found(&input.dashboard_id))?;
    Ok(StartDashboardRefreshResponse {
        refresh_id: Some(refresh_id),
    })
}

impl CloudTrailState {
    /// Applies `change` to the tags of the dashboard `arn` (of the caller's account and region).
    pub(crate) async fn change_dashboard_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut Tags) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.change_dashboard(ctx, arn, |dashboard, _| change(&mut dashboard.tags))
            .await
            .map(|_| ())
    }

    /// The tags of the dashboard `arn`.
    pub(crate) async fn dashboard_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Tags, ServiceError> {
        Ok(self.find_dashboard(ctx, arn).await?.value.tags)
    }

    /// Applies `change` to the resource policy (the JSON document, `None` when it has none) of
    /// the dashboard `arn`.
    pub(crate) async fn change_dashboard_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
        change: impl Fn(&mut Option<String>) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        self.change_dashboard(ctx, arn, |dashboard, _| {
            change(&mut dashboard.resource_policy)
        })
        .await
        .map(|_| ())
    }

    /// The resource policy of the dashboard `arn`, if it has one.
    pub(crate) async fn dashboard_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self.find_dashboard(ctx, arn).await?.value.resource_policy)
    }

    /// Refreshes every dashboard whose refresh schedule is due now; answers how many.
    pub async fn refresh_due_dashboards(&self) -> Result<usize, ServiceError> {
        let now = self.clock.now_millis();
        let mut refreshed = 0;
        let mut after: Option<String> = None;
        loop {
            let page = typed::scan_json::<DashboardRecord>(
                &self.store,
                DASHBOARDS,
                "",
                after.as_deref(),
                CHUNK,
            )
            .await
            .map_err(store_error)?;
            let done = page.len() < CHUNK;
            after = page.last().map(|(key, _)| key.clone());
            for (key, stored) in page {
                let dashboard = stored.value;
                let Some(due) = dashboard.due_refresh(now) else {
                    continue;
                };
                // One refresh at a time: this one starts once the previous one is over. A
                // dashboard that cannot be looked at waits for the next sweep; the rest go on.
                match self.refreshing(&dashboard).await {
                    Ok(false) => {}
                    Ok(true) => continue,
                    Err(error) => {
                        tracing::warn!(%error, dashboard = %dashboard.arn(), "scheduled refresh skipped");
                        continue;
                    }
                }
                let values = ParameterValues::resolve(None, now)?;
                let outcome = self.start_refresh(&dashboard, &values).await;
                if outcome.is_ok() {
                    refreshed += 1;
                }
                let recorded = self.change_dashboard_at(&key, |dashboard, _| {
                    dashboard.scheduled_through = due;
                    match &outcome {
                        Ok((refresh_id, queries)) => {
                            dashboard.last_refresh_id = Some(refresh_id.clone());
                            dashboard.refresh_queries.clone_from(queries);
                            dashboard.last_refresh_failure_reason = None;
                        }
                        Err(error) => {
                            dashboard.last_refresh_failure_reason = Some(error.message.clone());
                        }
                    }
                    Ok(())
                });
                if let Err(error) = recorded.await {
                    tracing::warn!(%error, dashboard = %dashboard.arn(), "scheduled refresh not recorded");
                }
            }
            if done {
                return Ok(refreshed);
            }
        }
    }

    /// The dashboard a request names by name or ARN: one of the caller's account in the
    /// caller's region.
    async fn find_dashboard(
        &self,
        ctx: &RequestContext,
        reference: &str,
    ) -> Result<Stored<DashboardRecord>, ServiceError> {
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        let name =
            dashboard_name(account, region, reference).ok_or_else(|| not_found(reference))?;
        typed::get_json::<DashboardRecord>(
            &self.store,
            DASHBOARDS,
            &dashboard_key(account, region, name),
        )
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found(reference))
    }

    /// Applies `change` to the dashboard `reference` names (given the time) and stores it.
    async fn change_dashboard(
        &self,
        ctx: &RequestContext,
        reference: &str,
        change: impl Fn(&mut DashboardRecord, i64) -> Result<(), ServiceError>,
    ) -> Result<DashboardRecord, ServiceError> {
        let account = ctx.account().as_str();
        let region = ctx.region.as_str();
        let name =
            dashboard_name(account, region, reference).ok_or_else(|| not_found(reference))?;
        self.change_dashboard_at(&dashboard_key(account, region, name), change)
            .await?
            .ok_or_else(|| not_found(reference))
    }

    /// Applies `change` to the dashboard stored under `key` and stores it; `None` when there is
    /// none.
    async fn change_dashboard_at(
        &self,
        key: &str,
        change: impl Fn(&mut DashboardRecord, i64) -> Result<(), ServiceError>,
    ) -> Result<Option<DashboardRecord>, ServiceError> {
        self.mutate(|| async {
            let Some(stored) = typed::get_json::<DashboardRecord>(&self.store, DASHBOARDS, key)
                .await
                .map_err(store_error)?
            else {
                return Ok((Transaction::new(), None));
            };
            let mut dashboard = stored.value.clone();
            change(&mut dashboard, self.clock.now_millis())?;
            let transaction =
                stored.replace(Transaction::new(), DASHBOARDS, key, plain(&dashboard)?);
            Ok((transaction, Some(dashboard)))
        })
        .await
    }

    /// Checks the widgets of a create or update: how many, their parameters, and that each
    /// statement parses (with the parameters' default values) and reads an active event data
    /// store of `account` in `region`.
    async fn check_widgets(
        &self,
        account: &str,
        region: &str,
        widgets: Vec<RequestWidget>,
    ) -> Result<Vec<CheckedWidget>, ServiceError> {
        if widgets.len() > MAX_WIDGETS {
            return Err(errors::service_quota_exceeded_exception(format!(
                "A dashboard can have at most {MAX_WIDGETS} widgets; the request has {}.",
                widgets.len()
            )));
        }
        let defaults = ParameterValues::resolve(None, self.clock.now_millis())?;
        let mut checked = Vec::with_capacity(widgets.len());
        for widget in widgets {
            let parameters = widget
                .query_parameters
                .map(|names| {
                    names
                        .iter()
                        .map(|name| Parameter::parse(name))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            self.queryable_store(
                account,
                region,
                &widget.query_statement,
                &defaults.for_widget(parameters.as_deref()),
            )
            .await?;
            checked.push(CheckedWidget {
                statement: widget.query_statement,
                parameters,
                view_properties: widget.view_properties,
            });
        }
        Ok(checked)
    }

    /// Whether a refresh of `dashboard` is still going: one of its queries is queued or
    /// running.
    async fn refreshing(&self, dashboard: &DashboardRecord) -> Result<bool, ServiceError> {
        for query in &dashboard.refresh_queries {
            if self.query_in_progress(&dashboard.account, query).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Starts a refresh of `dashboard` with `values`: checks every widget first, so that a
    /// refresh runs whole or not at all, then queues each widget's query. Answers the refresh
    /// id and the queries' ids.
    async fn start_refresh(
        &self,
        dashboard: &DashboardRecord,
        values: &ParameterValues,
    ) -> Result<(String, Vec<String>), ServiceError> {
        let arn = dashboard.arn();
        if self.refreshing(dashboard).await? {
            return Err(errors::service_quota_exceeded_exception(format!(
                "The dashboard {arn} is already refreshing; a dashboard can have only one \
                 refresh in progress."
            )));
        }
        let mut runs = Vec::with_capacity(dashboard.widgets.len());
        for widget in &dashboard.widgets {
            let parameters = values.for_widget(widget.parameters.as_deref());
            let store = self
                .queryable_store(
                    &dashboard.account,
                    &dashboard.region,
                    &widget.statement,
                    &parameters,
                )
                .await?;
            if !dashboard_may_query(&store, &arn) {
                return Err(errors::access_denied_exception(format!(
                    "CloudTrail is not authorized to run queries on the event data store {} \
                     for the dashboard {arn}. Attach a resource-based policy to the event data \
                     store that allows cloudtrail.amazonaws.com to perform cloudtrail:StartQuery \
                     with aws:SourceArn {arn}.",
                    store.arn()
                )));
            }
            runs.push((widget, parameters));
        }
        let refresh_id = refresh_id(self.clock.now_millis());
        let mut queries = Vec::with_capacity(runs.len());
        for (widget, parameters) in runs {
            let query = self
                .queue_query(
                    // A widget reads an event data store of the dashboard's own account.
                    QueryScope {
                        account: &dashboard.account,
                        region: &dashboard.region,
                        store_account: &dashboard.account,
                    },
                    widget.statement.clone(),
                    parameters,
                    Some(WidgetRun {
                        dashboard: arn.clone(),
                        alias: widget.alias.clone(),
                        refresh_id: refresh_id.clone(),
                    }),
                )
                .await?;
            queries.push(query);
        }
        Ok((refresh_id, queries))
    }
}

fn dashboard_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn dashboard_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:dashboard/{name}")
}

/// The name of the dashboard `reference` names for a caller of `account` in `region`: the
/// reference itself, or the end of an ARN of that account and region. `None` when it cannot
/// name one of the caller's dashboards.
fn dashboard_name<'a>(account: &str, region: &str, reference: &'a str) -> Option<&'a str> {
    let name = if reference.starts_with("arn:") {
        let parts = split_arn(reference)
            .filter(|parts| parts.region == region && parts.account == account)?;
        parts.resource.strip_prefix("dashboard/")?
    } else {
        reference
    };
    is_name(name).then_some(name)
}

/// Whether `name` is a dashboard name `CreateDashboard` accepts (`DashboardName`), so that it
/// is safe in a key.
fn is_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

fn not_found(reference: &str) -> ServiceError {
    errors::resource_not_found_exception(format!("The dashboard {reference} was not found."))
}

/// The widgets `requested`, each keeping the alias of an unused widget of `existing` with the
/// same query, or getting a new one.
fn assign_aliases(requested: Vec<CheckedWidget>, existing: &[WidgetRecord]) -> Vec<WidgetRecord> {
    let mut unused: Vec<&WidgetRecord> = existing.iter().collect();
    requested
        .into_iter()
        .map(|widget| {
            let kept = unused.iter().position(|old| {
                old.statement == widget.statement && old.parameters == widget.parameters
            });
            let alias = match kept {
                Some(position) => unused.remove(position).alias.clone(),
                None => format!("widget-{}", uuid::Uuid::new_v4().simple()),
            };
            WidgetRecord {
                alias,
                statement: widget.statement,
                parameters: widget.parameters,
                view_properties: widget.view_properties,
            }
        })
        .collect()
}

fn widgets_view(widgets: &[WidgetRecord]) -> Vec<Widget> {
    widgets
        .iter()
        .map(|widget| Widget {
            query_alias: Some(widget.alias.clone()),
            query_statement: Some(widget.statement.clone()),
            query_parameters: widget.parameters.as_ref().map(|parameters| {
                parameters
                    .iter()
                    .map(|parameter| parameter.name().to_owned())
                    .collect()
            }),
            view_properties: Some(widget.view_properties.clone()),
        })
        .collect()
}

/// `RefreshSchedule` as stored, with AWS's rules for its frequency and time of day.
fn schedule_record(schedule: RefreshSchedule) -> Result<ScheduleRecord, ServiceError> {
    let frequency = schedule.frequency.map(frequency).transpose()?;
    let enabled = match schedule.status {
        None => None,
        Some(RefreshScheduleStatus::Enabled) => Some(true),
        Some(RefreshScheduleStatus::Disabled) => Some(false),
        Some(other) => {
            return Err(errors::invalid_parameter_exception(format!(
                "Value {} for RefreshSchedule Status is invalid. Valid values: ENABLED, DISABLED.",
                other.as_str()
            )));
        }
    };
    if enabled == Some(true) && frequency.is_none() {
        return Err(errors::invalid_parameter_exception(
            "An enabled refresh schedule must specify a Frequency.",
        ));
    }
    let time_of_day = schedule
        .time_of_day
        .as_deref()
        .map(time_of_day)
        .transpose()?;
    Ok(ScheduleRecord {
        frequency,
        enabled,
        time_of_day,
    })
}

fn frequency(frequency: RefreshScheduleFrequency) -> Result<Frequency, ServiceError> {
    let invalid = |unit: &str, value: Option<i32>| {
        errors::invalid_parameter_exception(format!(
            "Refresh schedule frequency {} {unit} is not valid. For custom dashboards, the valid \
             values are 1, 6, 12 or 24 HOURS, or 1 DAYS.",
            value.map_or_else(|| "(no value)".to_owned(), |value| value.to_string())
        ))
    };
    match (frequency.unit, frequency.value) {
        (Some(RefreshScheduleFrequencyUnit::Hours), Some(hours @ (1 | 6 | 12 | 24))) => Ok(
            Frequency::Hours(u8::try_from(hours).map_err(|_| invalid("HOURS", Some(hours)))?),
        ),
        (Some(RefreshScheduleFrequencyUnit::Days), Some(1)) => Ok(Frequency::Days),
        (Some(unit), value) => Err(invalid(unit.as_str(), value)),
        (None, value) => Err(invalid("(no unit)", value)),
    }
}

/// `HH:MM`, UTC.
fn time_of_day(text: &str) -> Result<(u8, u8), ServiceError> {
    let parsed = text.split_once(':').and_then(|(hour, minute)| {
        let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hour) || !two_digits(minute) {
            return None;
        }
        let (hour, minute) = (hour.parse::<u8>().ok()?, minute.parse::<u8>().ok()?);
        (hour < 24 && minute < 60).then_some((hour, minute))
    });
    parsed.ok_or_else(|| {
        errors::invalid_parameter_exception(format!(
            "TimeOfDay {text} is not valid. Specify a time of day in UTC as HH:MM, from 00:00 to \
             23:59."
        ))
    })
}

/// An RFC 3339 timestamp given for the parameter `name`, in milliseconds since the epoch.
fn parse_time(name: &str, text: &str) -> Result<i64, ServiceError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|time| i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            errors::invalid_parameter_exception(format!(
                "The value {text} for {name} is not valid. Specify a timestamp such as \
                 2024-11-05T10:45:24Z."
            ))
        })
}

fn parse_period(text: &str) -> Result<String, ServiceError> {
    let unit = text.to_ascii_lowercase();
    if PERIODS.contains(&unit.as_str()) {
        return Ok(unit);
    }
    Err(errors::invalid_parameter_exception(format!(
        "The value {text} for {PERIOD} is not valid. Valid values: {}.",
        PERIODS.join(", ")
    )))
}

/// `millis` as Lake's timestamp literal text: `2024-11-05 10:45:24`, with milliseconds when it
/// has any.
fn sql_timestamp(millis: i64) -> String {
    let time = crate::layout::utc(millis);
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    if time.millisecond() != 0 {
        text.push_str(&format!(".{:03}", time.millisecond()));
    }
    text
}

/// A new refresh id: digits, the time first so that ids sort as refreshes started, then
/// randomness so that refreshes started together differ.
fn refresh_id(now: i64) -> String {
    let random = uuid::Uuid::new_v4().as_u128() % 1_000_000;
    format!("{}{random:06}", now.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";
    /// 2024-03-01T00:00:00Z.
    const MARCH: i64 = 1_709_251_200_000;

    fn schedule(frequency: Frequency, time_of_day: Option<(u8, u8)>) -> ScheduleRecord {
        ScheduleRecord {
            frequency: Some(frequency),
            enabled: Some(true),
            time_of_day,
        }
    }

    #[test]
    fn schedules_fall_every_period_from_their_time_of_day() {
        let daily = schedule(Frequency::Days, Some((10, 30)));
        let at = |hour: i64, minute: i64| MARCH + hour * HOUR_MILLIS + minute * MINUTE_MILLIS;
        assert_eq!(daily.latest_time(at(10, 30)), Some(at(10, 30)));
        assert_eq!(daily.latest_time(at(10, 29)), Some(at(-24 + 10, 30)));
        // An hourly schedule's TimeOfDay counts for its minutes alone.
        let six_hourly = schedule(Frequency::Hours(6), Some((10, 30)));
        assert_eq!(six_hourly.latest_time(at(12, 29)), Some(at(6, 30)));
        assert_eq!(six_hourly.latest_time(at(13, 0)), Some(at(12, 30)));
        let hourly = schedule(Frequency::Hours(1), None);
        assert_eq!(hourly.latest_time(at(13, 59)), Some(at(13, 0)));
    }

    #[test]
    fn schedules_follow_aws_rules() {
        let request = |unit: RefreshScheduleFrequencyUnit, value: i32| RefreshSchedule {
            frequency: Some(RefreshScheduleFrequency {
                unit: Some(unit),
                value: Some(value),
            }),
            status: Some(RefreshScheduleStatus::Enabled),
            time_of_day: Some("07:05".to_owned()),
        };
        for hours in [1, 6, 12, 24] {
            let record = schedule_record(request(RefreshScheduleFrequencyUnit::Hours, hours));
            assert!(record.is_ok(), "{hours}");
        }
        let daily = schedule_record(request(RefreshScheduleFrequencyUnit::Days, 1)).ok();
        assert_eq!(daily, Some(schedule(Frequency::Days, Some((7, 5)))));
        assert_eq!(
            daily.map(|record| record.view()),
            Some(request(RefreshScheduleFrequencyUnit::Days, 1))
        );
        assert!(schedule_record(request(RefreshScheduleFrequencyUnit::Hours, 2)).is_err());
        assert!(schedule_record(request(RefreshScheduleFrequencyUnit::Days, 7)).is_err());
        for bad in ["24:00", "12:60", "7:05", "07:05:00"] {
            assert!(time_of_day(bad).is_err(), "{bad}");
        }
        let without_frequency = RefreshSchedule {
            status: Some(RefreshScheduleStatus::Enabled),
            ..RefreshSchedule::default()
        };
        assert!(schedule_record(without_frequency).is_err());
    }

    #[test]
    fn parameter_values_resolve_with_defaults() {
        let now = MARCH + 90 * MINUTE_MILLIS + 250;
        let defaults = ParameterValues::resolve(None, now).ok();
        assert_eq!(
            defaults,
            Some(ParameterValues {
                start_time: "2024-02-29 01:30:00.250".to_owned(),
                end_time: "2024-03-01 01:30:00.250".to_owned(),
                period: "hour".to_owned(),
            })
        );
        let given = BTreeMap::from([
            (START_TIME.to_owned(), "2024-03-01T00:00:00Z".to_owned()),
            (PERIOD.to_owned(), "DAY".to_owned()),
        ]);
        let values = ParameterValues::resolve(Some(&given), now).ok();
        assert_eq!(
            values.as_ref().map(|values| values.for_widget(Some(&[
                Parameter::Period,
                Parameter::StartTime,
                Parameter::EndTime
            ]))),
            Some(vec![
                "day".to_owned(),
                "2024-03-01 00:00:00".to_owned(),
                "2024-03-01 01:30:00.250".to_owned()
            ])
        );
        for (name, bad) in [
            (START_TIME, "2024-03-01"),
            (END_TIME, "yesterday"),
            (PERIOD, "fortnight"),
            ("$EventDataStoreId$", "x"),
            (START_TIME, "2024-03-02T00:00:00Z"),
        ] {
            let given = BTreeMap::from([(name.to_owned(), bad.to_owned())]);
            assert!(
                ParameterValues::resolve(Some(&given), now).is_err(),
                "{name} {bad}"
            );
        }
    }

    #[test]
    fn references_name_dashboards_of_the_caller() {
        let arn = dashboard_arn(REGION, ACCOUNT, "ops-board");
        assert_eq!(dashboard_name(ACCOUNT, REGION, &arn), Some("ops-board"));
        assert_eq!(
            dashboard_name(ACCOUNT, REGION, "ops-board"),
            Some("ops-board")
        );
        for other in [
            dashboard_arn("eu-west-1", ACCOUNT, "ops-board"),
            dashboard_arn(REGION, "444455556666", "ops-board"),
            format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/ops-board"),
            "ops/board".to_owned(),
            "ab".to_owned(),
        ] {
            assert_eq!(dashboard_name(ACCOUNT, REGION, &other), None, "{other}");
        }
    }

    #[test]
    fn unchanged_queries_keep_their_aliases() {
        let widget = |statement: &str, title: &str| CheckedWidget {
            statement: statement.to_owned(),
            parameters: None,
            view_properties: BTreeMap::from([("Title".to_owned(), title.to_owned())]),
        };
        let first = assign_aliases(vec![widget("a", "A"), widget("b", "B")], &[]);
        let second = assign_aliases(
            vec![widget("c", "C"), widget("b", "Bee"), widget("a", "A")],
            &first,
        );
        let aliases = |widgets: &[WidgetRecord]| -> Vec<String> {
            widgets.iter().map(|widget| widget.alias.clone()).collect()
        };
        let (first, second) = (aliases(&first), aliases(&second));
        assert_eq!(second.get(1), first.get(1));
        assert_eq!(second.get(2), first.first());
        assert!(!first.contains(second.first().unwrap_or(&String::new())));
        let id = refresh_id(MARCH);
        assert!((10..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()));
    }
}
