//! AWS CloudTrail behind the generated [`palisade_model_cloudtrail::Cloudtrail`] trait. What is
//! built: event history (`LookupEvents`) over the audit records the pipeline writes for every
//! call, the trails' control plane (`trails`: create, read, list, update, delete, logging
//! status, tags; `selectors`: event and Insights selectors), delivery of logging trails' log
//! files to an S3 endpoint or a local directory standing in for S3 (`delivery`, `layout`, `sink`,
//! `s3`), encrypted with the trail's KMS key (`encryption`), streaming of their records to
//! CloudWatch Logs log groups (`streaming`), both filtered by the trails' event selectors
//! (`selection`), signed digests for log file validation with `ListPublicKeys` (`digest`), the
//! offline validator behind `palisade trail validate` (`validate`), and organization trails,
//! which cover every account of an organization and which delegated administrators manage too
//! (`organization`). CloudTrail Lake: event data stores over the same audit records
//! (`event_data_stores`), SQL queries over them (`queries`, in `palisade_lake_query`'s SQL),
//! dashboards of queries (`dashboards`), events imported from trail log files (`imports`),
//! channels, configuration only (`channels`), resource policies
//! (`resource_policies`) and tags (`tags`) of them all, and the Insights metrics (`insights`).
//! Event configuration, federation and the generated or sample queries are not built and answer
//! `NotImplemented`.

mod channels;
mod dashboards;
mod db;
mod delivery;
pub mod digest;
mod encryption;
mod event_data_stores;
mod imports;
mod insights;
pub mod layout;
mod lookup;
mod names;
mod organization;
mod queries;
mod resource_policies;
pub mod s3;
mod selection;
mod selectors;
pub mod sink;
mod streaming;
mod tags;
mod tokens;
mod trails;
pub mod validate;

pub use delivery::{DeliveryReport, SETTLE_MILLIS};
pub use organization::{MemberAccount, TrailOrganization, TrailOrganizations};
pub use queries::queried_event_data_store;
pub use streaming::{LogBatch, LogEvent, TrailLogGroups};

use std::sync::Arc;

use palisade_audit::AuditLog;
use palisade_core::clock::Clock;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::Cloudtrail;
use palisade_model_cloudtrail::types::{
    AddTagsRequest, AddTagsResponse, CancelQueryRequest, CancelQueryResponse, CreateChannelRequest,
    CreateChannelResponse, CreateDashboardRequest, CreateDashboardResponse,
    CreateEventDataStoreRequest, CreateEventDataStoreResponse, CreateTrailRequest,
    CreateTrailResponse, DeleteChannelRequest, DeleteChannelResponse, DeleteDashboardRequest,
    DeleteDashboardResponse, DeleteEventDataStoreRequest, DeleteEventDataStoreResponse,
    DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, DeleteTrailRequest,
    DeleteTrailResponse, DeregisterOrganizationDelegatedAdminRequest,
    DeregisterOrganizationDelegatedAdminResponse, DescribeQueryRequest, DescribeQueryResponse,
    DescribeTrailsRequest, DescribeTrailsResponse, GetChannelRequest, GetChannelResponse,
    GetDashboardRequest, GetDashboardResponse, GetEventDataStoreRequest, GetEventDataStoreResponse,
    GetEventSelectorsRequest, GetEventSelectorsResponse, GetImportRequest, GetImportResponse,
    GetInsightSelectorsRequest, GetInsightSelectorsResponse, GetQueryResultsRequest,
    GetQueryResultsResponse, GetResourcePolicyRequest, GetResourcePolicyResponse, GetTrailRequest,
    GetTrailResponse, GetTrailStatusRequest, GetTrailStatusResponse, ListChannelsRequest,
    ListChannelsResponse, ListDashboardsRequest, ListDashboardsResponse,
    ListEventDataStoresRequest, ListEventDataStoresResponse, ListImportFailuresRequest,
    ListImportFailuresResponse, ListImportsRequest, ListImportsResponse, ListInsightsDataRequest,
    ListInsightsDataResponse, ListInsightsMetricDataRequest, ListInsightsMetricDataResponse,
    ListPublicKeysRequest, ListPublicKeysResponse, ListQueriesRequest, ListQueriesResponse,
    ListTagsRequest, ListTagsResponse, ListTrailsRequest, ListTrailsResponse, LookupEventsRequest,
    LookupEventsResponse, PutEventSelectorsRequest, PutEventSelectorsResponse,
    PutInsightSelectorsRequest, PutInsightSelectorsResponse, PutResourcePolicyRequest,
    PutResourcePolicyResponse, RegisterOrganizationDelegatedAdminRequest,
    RegisterOrganizationDelegatedAdminResponse, RemoveTagsRequest, RemoveTagsResponse,
    RestoreEventDataStoreRequest, RestoreEventDataStoreResponse, StartDashboardRefreshRequest,
    StartDashboardRefreshResponse, StartEventDataStoreIngestionRequest,
    StartEventDataStoreIngestionResponse, StartImportRequest, StartImportResponse,
    StartLoggingRequest, StartLoggingResponse, StartQueryRequest, StartQueryResponse,
    StopEventDataStoreIngestionRequest, StopEventDataStoreIngestionResponse, StopImportRequest,
    StopImportResponse, StopLoggingRequest, StopLoggingResponse, UpdateChannelRequest,
    UpdateChannelResponse, UpdateDashboardRequest, UpdateDashboardResponse,
    UpdateEventDataStoreRequest, UpdateEventDataStoreResponse, UpdateTrailRequest,
    UpdateTrailResponse,
};
use palisade_store::Store;

/// The CloudTrail service: register it as
/// `palisade_model_cloudtrail::CloudtrailService(Arc::new(CloudTrailState::new(..)))`.
pub struct CloudTrailState {
    store: Store,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    /// Where trails' files go; `None` delivers nothing.
    sink: Option<Arc<dyn sink::TrailSink>>,
    /// Held by the delivery run in progress.
    delivering: tokio::sync::Mutex<()>,
    /// Where trails' records stream; `None` streams nothing.
    log_groups: Option<Arc<dyn streaming::TrailLogGroups>>,
    /// Who belongs to which organization; `None` makes every account organization-less.
    organizations: Option<Arc<dyn organization::TrailOrganizations>>,
    /// Trails' KMS keys; `None` checks `KmsKeyId` for form only.
    keys: Option<Arc<dyn palisade_core::keys::ServiceKeyLookup>>,
    /// Counts changes to trails, and wakes the streaming task on each.
    trails_generation: std::sync::atomic::AtomicU64,
    trails_changed: tokio::sync::Notify,
    /// Wakes the query runner when `StartQuery` queues a query.
    queries_queued: tokio::sync::Notify,
    /// Wakes the import runner when `StartImport` queues an import.
    imports_queued: tokio::sync::Notify,
}

impl CloudTrailState {
    /// Event history read from `store`, where `audit` copies its records.
    pub fn new(store: Store, clock: Arc<dyn Clock>, audit: AuditLog) -> Self {
        Self {
            store,
            clock,
            audit,
            sink: None,
            delivering: tokio::sync::Mutex::new(()),
            log_groups: None,
            organizations: None,
            keys: None,
            trails_generation: std::sync::atomic::AtomicU64::new(0),
            trails_changed: tokio::sync::Notify::new(),
            queries_queued: tokio::sync::Notify::new(),
            imports_queued: tokio::sync::Notify::new(),
        }
    }
}

impl std::fmt::Debug for CloudTrailState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrailState").finish_non_exhaustive()
    }
}

impl Cloudtrail for CloudTrailState {
    async fn add_tags(
        &self,
        ctx: &RequestContext,
        input: AddTagsRequest,
    ) -> Result<AddTagsResponse, ServiceError> {
        tags::add_tags(self, ctx, input).await
    }

    async fn create_trail(
        &self,
        ctx: &RequestContext,
        input: CreateTrailRequest,
    ) -> Result<CreateTrailResponse, ServiceError> {
        trails::create_trail(self, ctx, input).await
    }

    async fn delete_trail(
        &self,
        ctx: &RequestContext,
        input: DeleteTrailRequest,
    ) -> Result<DeleteTrailResponse, ServiceError> {
        trails::delete_trail(self, ctx, input).await
    }

    async fn deregister_organization_delegated_admin(
        &self,
        ctx: &RequestContext,
        input: DeregisterOrganizationDelegatedAdminRequest,
    ) -> Result<DeregisterOrganizationDelegatedAdminResponse, ServiceError> {
        organization::deregister_delegated_admin(self, ctx, input).await
    }

    async fn describe_trails(
        &self,
        ctx: &RequestContext,
        input: DescribeTrailsRequest,
    ) -> Result<DescribeTrailsResponse, ServiceError> {
        trails::describe_trails(self, ctx, input).await
    }

    async fn get_event_selectors(
        &self,
        ctx: &RequestContext,
        input: GetEventSelectorsRequest,
    ) -> Result<GetEventSelectorsResponse, ServiceError> {
        selectors::get_event_selectors(self, ctx, input).await
    }

    async fn get_insight_selectors(
        &self,
        ctx: &RequestContext,
        input: GetInsightSelectorsRequest,
    ) -> Result<GetInsightSelectorsResponse, ServiceError> {
        selectors::get_insight_selectors(self, ctx, input).await
    }

    async fn get_trail(
        &self,
        ctx: &RequestContext,
        input: GetTrailRequest,
    ) -> Result<GetTrailResponse, ServiceError> {
        trails::get_trail(self, ctx, input).await
    }

    async fn get_trail_status(
        &self,
        ctx: &RequestContext,
        input: GetTrailStatusRequest,
    ) -> Result<GetTrailStatusResponse, ServiceError> {
        trails::get_trail_status(self, ctx, input).await
    }

    async fn list_public_keys(
        &self,
        ctx: &RequestContext,
        input: ListPublicKeysRequest,
    ) -> Result<ListPublicKeysResponse, ServiceError> {
        digest::list_public_keys(self, ctx, input).await
    }

    async fn list_tags(
        &self,
        ctx: &RequestContext,
        input: ListTagsRequest,
    ) -> Result<ListTagsResponse, ServiceError> {
        tags::list_tags(self, ctx, input).await
    }

    async fn list_trails(
        &self,
        ctx: &RequestContext,
        input: ListTrailsRequest,
    ) -> Result<ListTrailsResponse, ServiceError> {
        trails::list_trails(self, ctx, input).await
    }

    async fn lookup_events(
        &self,
        ctx: &RequestContext,
        input: LookupEventsRequest,
    ) -> Result<LookupEventsResponse, ServiceError> {
        lookup::lookup_events(self, ctx, input).await
    }

    async fn put_event_selectors(
        &self,
        ctx: &RequestContext,
        input: PutEventSelectorsRequest,
    ) -> Result<PutEventSelectorsResponse, ServiceError> {
        selectors::put_event_selectors(self, ctx, input).await
    }

    async fn put_insight_selectors(
        &self,
        ctx: &RequestContext,
        input: PutInsightSelectorsRequest,
    ) -> Result<PutInsightSelectorsResponse, ServiceError> {
        selectors::put_insight_selectors(self, ctx, input).await
    }

    async fn register_organization_delegated_admin(
        &self,
        ctx: &RequestContext,
        input: RegisterOrganizationDelegatedAdminRequest,
    ) -> Result<RegisterOrganizationDelegatedAdminResponse, ServiceError> {
        organization::register_delegated_admin(self, ctx, input).await
    }

    async fn remove_tags(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsRequest,
    ) -> Result<RemoveTagsResponse, ServiceError> {
        tags::remove_tags(self, ctx, input).await
    }

    async fn start_logging(
        &self,
        ctx: &RequestContext,
        input: StartLoggingRequest,
    ) -> Result<StartLoggingResponse, ServiceError> {
        trails::start_logging(self, ctx, input).await
    }

    async fn stop_logging(
        &self,
        ctx: &RequestContext,
        input: StopLoggingRequest,
    ) -> Result<StopLoggingResponse, ServiceError> {
        trails::stop_logging(self, ctx, input).await
    }

    async fn update_trail(
        &self,
        ctx: &RequestContext,
        input: UpdateTrailRequest,
    ) -> Result<UpdateTrailResponse, ServiceError> {
        trails::update_trail(self, ctx, input).await
    }

    async fn create_event_data_store(
        &self,
        ctx: &RequestContext,
        input: CreateEventDataStoreRequest,
    ) -> Result<CreateEventDataStoreResponse, ServiceError> {
        event_data_stores::create_event_data_store(self, ctx, input).await
    }

    async fn delete_event_data_store(
        &self,
        ctx: &RequestContext,
        input: DeleteEventDataStoreRequest,
    ) -> Result<DeleteEventDataStoreResponse, ServiceError> {
        event_data_stores::delete_event_data_store(self, ctx, input).await
    }

    async fn get_event_data_store(
        &self,
        ctx: &RequestContext,
        input: GetEventDataStoreRequest,
    ) -> Result<GetEventDataStoreResponse, ServiceError> {
        event_data_stores::get_event_data_store(self, ctx, input).await
    }

    async fn list_event_data_stores(
        &self,
        ctx: &RequestContext,
        input: ListEventDataStoresRequest,
    ) -> Result<ListEventDataStoresResponse, ServiceError> {
        event_data_stores::list_event_data_stores(self, ctx, input).await
    }

    async fn restore_event_data_store(
        &self,
        ctx: &RequestContext,
        input: RestoreEventDataStoreRequest,
    ) -> Result<RestoreEventDataStoreResponse, ServiceError> {
        event_data_stores::restore_event_data_store(self, ctx, input).await
    }

    async fn start_event_data_store_ingestion(
        &self,
        ctx: &RequestContext,
        input: StartEventDataStoreIngestionRequest,
    ) -> Result<StartEventDataStoreIngestionResponse, ServiceError> {
        event_data_stores::start_ingestion(self, ctx, input).await
    }

    async fn stop_event_data_store_ingestion(
        &self,
        ctx: &RequestContext,
        input: StopEventDataStoreIngestionRequest,
    ) -> Result<StopEventDataStoreIngestionResponse, ServiceError> {
        event_data_stores::stop_ingestion(self, ctx, input).await
    }

    async fn update_event_data_store(
        &self,
        ctx: &RequestContext,
        input: UpdateEventDataStoreRequest,
    ) -> Result<UpdateEventDataStoreResponse, ServiceError> {
        event_data_stores::update_event_data_store(self, ctx, input).await
    }

    async fn cancel_query(
        &self,
        ctx: &RequestContext,
        input: CancelQueryRequest,
    ) -> Result<CancelQueryResponse, ServiceError> {
        queries::cancel_query(self, ctx, input).await
    }

    async fn describe_query(
        &self,
        ctx: &RequestContext,
        input: DescribeQueryRequest,
    ) -> Result<DescribeQueryResponse, ServiceError> {
        queries::describe_query(self, ctx, input).await
    }

    async fn get_query_results(
        &self,
        ctx: &RequestContext,
        input: GetQueryResultsRequest,
    ) -> Result<GetQueryResultsResponse, ServiceError> {
        queries::get_query_results(self, ctx, input).await
    }

    async fn list_queries(
        &self,
        ctx: &RequestContext,
        input: ListQueriesRequest,
    ) -> Result<ListQueriesResponse, ServiceError> {
        queries::list_queries(self, ctx, input).await
    }

    async fn start_query(
        &self,
        ctx: &RequestContext,
        input: StartQueryRequest,
    ) -> Result<StartQueryResponse, ServiceError> {
        queries::start_query(self, ctx, input).await
    }

    async fn create_dashboard(
        &self,
        ctx: &RequestContext,
        input: CreateDashboardRequest,
    ) -> Result<CreateDashboardResponse, ServiceError> {
        dashboards::create_dashboard(self, ctx, input).await
    }

    async fn delete_dashboard(
        &self,
        ctx: &RequestContext,
        input: DeleteDashboardRequest,
    ) -> Result<DeleteDashboardResponse, ServiceError> {
        dashboards::delete_dashboard(self, ctx, input).await
    }

    async fn get_dashboard(
        &self,
        ctx: &RequestContext,
        input: GetDashboardRequest,
    ) -> Result<GetDashboardResponse, ServiceError> {
        dashboards::get_dashboard(self, ctx, input).await
    }

    async fn list_dashboards(
        &self,
        ctx: &RequestContext,
        input: ListDashboardsRequest,
    ) -> Result<ListDashboardsResponse, ServiceError> {
        dashboards::list_dashboards(self, ctx, input).await
    }

    async fn start_dashboard_refresh(
        &self,
        ctx: &RequestContext,
        input: StartDashboardRefreshRequest,
    ) -> Result<StartDashboardRefreshResponse, ServiceError> {
        dashboards::start_dashboard_refresh(self, ctx, input).await
    }

    async fn update_dashboard(
        &self,
        ctx: &RequestContext,
        input: UpdateDashboardRequest,
    ) -> Result<UpdateDashboardResponse, ServiceError> {
        dashboards::update_dashboard(self, ctx, input).await
    }

    async fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteResourcePolicyRequest,
    ) -> Result<DeleteResourcePolicyResponse, ServiceError> {
        resource_policies::delete_resource_policy(self, ctx, input).await
    }

    async fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: GetResourcePolicyRequest,
    ) -> Result<GetResourcePolicyResponse, ServiceError> {
        resource_policies::get_resource_policy(self, ctx, input).await
    }

    async fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: PutResourcePolicyRequest,
    ) -> Result<PutResourcePolicyResponse, ServiceError> {
        resource_policies::put_resource_policy(self, ctx, input).await
    }

    async fn get_import(
        &self,
        ctx: &RequestContext,
        input: GetImportRequest,
    ) -> Result<GetImportResponse, ServiceError> {
        imports::get_import(self, ctx, input).await
    }

    async fn list_import_failures(
        &self,
        ctx: &RequestContext,
        input: ListImportFailuresRequest,
    ) -> Result<ListImportFailuresResponse, ServiceError> {
        imports::list_import_failures(self, ctx, input).await
    }

    async fn list_imports(
        &self,
        ctx: &RequestContext,
        input: ListImportsRequest,
    ) -> Result<ListImportsResponse, ServiceError> {
        imports::list_imports(self, ctx, input).await
    }

    async fn start_import(
        &self,
        ctx: &RequestContext,
        input: StartImportRequest,
    ) -> Result<StartImportResponse, ServiceError> {
        imports::start_import(self, ctx, input).await
    }

    async fn stop_import(
        &self,
        ctx: &RequestContext,
        input: StopImportRequest,
    ) -> Result<StopImportResponse, ServiceError> {
        imports::stop_import(self, ctx, input).await
    }

    async fn list_insights_data(
        &self,
        ctx: &RequestContext,
        input: ListInsightsDataRequest,
    ) -> Result<ListInsightsDataResponse, ServiceError> {
        insights::list_insights_data(self, ctx, input).await
    }

    async fn list_insights_metric_data(
        &self,
        ctx: &RequestContext,
        input: ListInsightsMetricDataRequest,
    ) -> Result<ListInsightsMetricDataResponse, ServiceError> {
        insights::list_insights_metric_data(self, ctx, input).await
    }

    async fn create_channel(
        &self,
        ctx: &RequestContext,
        input: CreateChannelRequest,
    ) -> Result<CreateChannelResponse, ServiceError> {
        channels::create_channel(self, ctx, input).await
    }

    async fn delete_channel(
        &self,
        ctx: &RequestContext,
        input: DeleteChannelRequest,
    ) -> Result<DeleteChannelResponse, ServiceError> {
        channels::delete_channel(self, ctx, input).await
    }

    async fn get_channel(
        &self,
        ctx: &RequestContext,
        input: GetChannelRequest,
    ) -> Result<GetChannelResponse, ServiceError> {
        channels::get_channel(self, ctx, input).await
    }

    async fn list_channels(
        &self,
        ctx: &RequestContext,
        input: ListChannelsRequest,
    ) -> Result<ListChannelsResponse, ServiceError> {
        channels::list_channels(self, ctx, input).await
    }

    async fn update_channel(
        &self,
        ctx: &RequestContext,
        input: UpdateChannelRequest,
    ) -> Result<UpdateChannelResponse, ServiceError> {
        channels::update_channel(self, ctx, input).await
    }
}
