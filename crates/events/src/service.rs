//! The generated EventBridge trait, implemented by handing each operation to the module that
//! owns it. Operations not listed here answer `NotImplemented` (the trait's default).

use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::Events;
use palisade_model_events::types::*;

use crate::{
    EventsState, api_destinations, archives, buses, connections, events, permissions, replays,
    rules, sources, tags, targets,
};

impl Events for EventsState {
    // Tags.

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ServiceError> {
        tags::tag(self, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ServiceError> {
        tags::untag(self, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ServiceError> {
        tags::list(self, ctx, input).await
    }

    // Event buses.

    async fn create_event_bus(
        &self,
        ctx: &RequestContext,
        input: CreateEventBusRequest,
    ) -> Result<CreateEventBusResponse, ServiceError> {
        buses::create(self, ctx, input).await
    }

    async fn delete_event_bus(
        &self,
        ctx: &RequestContext,
        input: DeleteEventBusRequest,
    ) -> Result<(), ServiceError> {
        buses::delete(self, ctx, input).await
    }

    async fn describe_event_bus(
        &self,
        ctx: &RequestContext,
        input: DescribeEventBusRequest,
    ) -> Result<DescribeEventBusResponse, ServiceError> {
        buses::describe(self, ctx, input).await
    }

    async fn list_event_buses(
        &self,
        ctx: &RequestContext,
        input: ListEventBusesRequest,
    ) -> Result<ListEventBusesResponse, ServiceError> {
        buses::list(self, ctx, input).await
    }

    async fn update_event_bus(
        &self,
        ctx: &RequestContext,
        input: UpdateEventBusRequest,
    ) -> Result<UpdateEventBusResponse, ServiceError> {
        buses::update(self, ctx, input).await
    }

    // Partner event sources: the partner's side, then the customer's.

    async fn create_partner_event_source(
        &self,
        ctx: &RequestContext,
        input: CreatePartnerEventSourceRequest,
    ) -> Result<CreatePartnerEventSourceResponse, ServiceError> {
        sources::create_partner(self, ctx, input).await
    }

    async fn delete_partner_event_source(
        &self,
        ctx: &RequestContext,
        input: DeletePartnerEventSourceRequest,
    ) -> Result<(), ServiceError> {
        sources::delete_partner(self, ctx, input).await
    }

    async fn describe_partner_event_source(
        &self,
        ctx: &RequestContext,
        input: DescribePartnerEventSourceRequest,
    ) -> Result<DescribePartnerEventSourceResponse, ServiceError> {
        sources::describe_partner(self, ctx, input).await
    }

    async fn list_partner_event_sources(
        &self,
        ctx: &RequestContext,
        input: ListPartnerEventSourcesRequest,
    ) -> Result<ListPartnerEventSourcesResponse, ServiceError> {
        sources::list_partner(self, ctx, input).await
    }

    async fn list_partner_event_source_accounts(
        &self,
        ctx: &RequestContext,
        input: ListPartnerEventSourceAccountsRequest,
    ) -> Result<ListPartnerEventSourceAccountsResponse, ServiceError> {
        sources::list_partner_accounts(self, ctx, input).await
    }

    async fn put_partner_events(
        &self,
        ctx: &RequestContext,
        input: PutPartnerEventsRequest,
    ) -> Result<PutPartnerEventsResponse, ServiceError> {
        sources::put_partner_events(self, ctx, input).await
    }

    async fn list_event_sources(
        &self,
        ctx: &RequestContext,
        input: ListEventSourcesRequest,
    ) -> Result<ListEventSourcesResponse, ServiceError> {
        sources::list(self, ctx, input).await
    }

    async fn describe_event_source(
        &self,
        ctx: &RequestContext,
        input: DescribeEventSourceRequest,
    ) -> Result<DescribeEventSourceResponse, ServiceError> {
        sources::describe(self, ctx, input).await
    }

    async fn activate_event_source(
        &self,
        ctx: &RequestContext,
        input: ActivateEventSourceRequest,
    ) -> Result<(), ServiceError> {
        sources::set_active(self, ctx, &input.name, true).await
    }

    async fn deactivate_event_source(
        &self,
        ctx: &RequestContext,
        input: DeactivateEventSourceRequest,
    ) -> Result<(), ServiceError> {
        sources::set_active(self, ctx, &input.name, false).await
    }

    async fn put_permission(
        &self,
        ctx: &RequestContext,
        input: PutPermissionRequest,
    ) -> Result<(), ServiceError> {
        permissions::put(self, ctx, input).await
    }

    async fn remove_permission(
        &self,
        ctx: &RequestContext,
        input: RemovePermissionRequest,
    ) -> Result<(), ServiceError> {
        permissions::remove(self, ctx, input).await
    }

    // Rules.

    async fn put_rule(
        &self,
        ctx: &RequestContext,
        input: PutRuleRequest,
    ) -> Result<PutRuleResponse, ServiceError> {
        rules::put(self, ctx, input).await
    }

    async fn describe_rule(
        &self,
        ctx: &RequestContext,
        input: DescribeRuleRequest,
    ) -> Result<DescribeRuleResponse, ServiceError> {
        rules::describe(self, ctx, input).await
    }

    async fn list_rules(
        &self,
        ctx: &RequestContext,
        input: ListRulesRequest,
    ) -> Result<ListRulesResponse, ServiceError> {
        rules::list(self, ctx, input).await
    }

    async fn delete_rule(
        &self,
        ctx: &RequestContext,
        input: DeleteRuleRequest,
    ) -> Result<(), ServiceError> {
        rules::delete(self, ctx, input).await
    }

    async fn enable_rule(
        &self,
        ctx: &RequestContext,
        input: EnableRuleRequest,
    ) -> Result<(), ServiceError> {
        rules::set_state(
            self,
            ctx,
            &input.name,
            input.event_bus_name.as_deref(),
            true,
        )
        .await
    }

    async fn disable_rule(
        &self,
        ctx: &RequestContext,
        input: DisableRuleRequest,
    ) -> Result<(), ServiceError> {
        rules::set_state(
            self,
            ctx,
            &input.name,
            input.event_bus_name.as_deref(),
            false,
        )
        .await
    }

    async fn list_rule_names_by_target(
        &self,
        ctx: &RequestContext,
        input: ListRuleNamesByTargetRequest,
    ) -> Result<ListRuleNamesByTargetResponse, ServiceError> {
        rules::names_by_target(self, ctx, input).await
    }

    // Targets.

    async fn put_targets(
        &self,
        ctx: &RequestContext,
        input: PutTargetsRequest,
    ) -> Result<PutTargetsResponse, ServiceError> {
        targets::put(self, ctx, input).await
    }

    async fn remove_targets(
        &self,
        ctx: &RequestContext,
        input: RemoveTargetsRequest,
    ) -> Result<RemoveTargetsResponse, ServiceError> {
        targets::remove(self, ctx, input).await
    }

    async fn list_targets_by_rule(
        &self,
        ctx: &RequestContext,
        input: ListTargetsByRuleRequest,
    ) -> Result<ListTargetsByRuleResponse, ServiceError> {
        targets::list(self, ctx, input).await
    }

    // Events.

    async fn put_events(
        &self,
        ctx: &RequestContext,
        input: PutEventsRequest,
    ) -> Result<PutEventsResponse, ServiceError> {
        events::put(self, ctx, input).await
    }

    async fn test_event_pattern(
        &self,
        _ctx: &RequestContext,
        input: TestEventPatternRequest,
    ) -> Result<TestEventPatternResponse, ServiceError> {
        events::test_pattern(&input)
    }

    // Connections.

    async fn create_connection(
        &self,
        ctx: &RequestContext,
        input: CreateConnectionRequest,
    ) -> Result<CreateConnectionResponse, ServiceError> {
        connections::create(self, ctx, input).await
    }

    async fn describe_connection(
        &self,
        ctx: &RequestContext,
        input: DescribeConnectionRequest,
    ) -> Result<DescribeConnectionResponse, ServiceError> {
        connections::describe(self, ctx, input).await
    }

    async fn update_connection(
        &self,
        ctx: &RequestContext,
        input: UpdateConnectionRequest,
    ) -> Result<UpdateConnectionResponse, ServiceError> {
        connections::update(self, ctx, input).await
    }

    async fn deauthorize_connection(
        &self,
        ctx: &RequestContext,
        input: DeauthorizeConnectionRequest,
    ) -> Result<DeauthorizeConnectionResponse, ServiceError> {
        connections::deauthorize(self, ctx, input).await
    }

    async fn delete_connection(
        &self,
        ctx: &RequestContext,
        input: DeleteConnectionRequest,
    ) -> Result<DeleteConnectionResponse, ServiceError> {
        connections::delete(self, ctx, input).await
    }

    async fn list_connections(
        &self,
        ctx: &RequestContext,
        input: ListConnectionsRequest,
    ) -> Result<ListConnectionsResponse, ServiceError> {
        connections::list(self, ctx, input).await
    }

    // API destinations.

    async fn create_api_destination(
        &self,
        ctx: &RequestContext,
        input: CreateApiDestinationRequest,
    ) -> Result<CreateApiDestinationResponse, ServiceError> {
        api_destinations::create(self, ctx, input).await
    }

    async fn describe_api_destination(
        &self,
        ctx: &RequestContext,
        input: DescribeApiDestinationRequest,
    ) -> Result<DescribeApiDestinationResponse, ServiceError> {
        api_destinations::describe(self, ctx, input).await
    }

    async fn update_api_destination(
        &self,
        ctx: &RequestContext,
        input: UpdateApiDestinationRequest,
    ) -> Result<UpdateApiDestinationResponse, ServiceError> {
        api_destinations::update(self, ctx, input).await
    }

    async fn delete_api_destination(
        &self,
        ctx: &RequestContext,
        input: DeleteApiDestinationRequest,
    ) -> Result<DeleteApiDestinationResponse, ServiceError> {
        api_destinations::delete(self, ctx, input).await
    }

    async fn list_api_destinations(
        &self,
        ctx: &RequestContext,
        input: ListApiDestinationsRequest,
    ) -> Result<ListApiDestinationsResponse, ServiceError> {
        api_destinations::list(self, ctx, input).await
    }

    // Archives.

    async fn create_archive(
        &self,
        ctx: &RequestContext,
        input: CreateArchiveRequest,
    ) -> Result<CreateArchiveResponse, ServiceError> {
        archives::create(self, ctx, input).await
    }

    async fn describe_archive(
        &self,
        ctx: &RequestContext,
        input: DescribeArchiveRequest,
    ) -> Result<DescribeArchiveResponse, ServiceError> {
        archives::describe(self, ctx, input).await
    }

    async fn update_archive(
        &self,
        ctx: &RequestContext,
        input: UpdateArchiveRequest,
    ) -> Result<UpdateArchiveResponse, ServiceError> {
        archives::update(self, ctx, input).await
    }

    async fn delete_archive(
        &self,
        ctx: &RequestContext,
        input: DeleteArchiveRequest,
    ) -> Result<DeleteArchiveResponse, ServiceError> {
        archives::delete(self, ctx, input).await
    }

    async fn list_archives(
        &self,
        ctx: &RequestContext,
        input: ListArchivesRequest,
    ) -> Result<ListArchivesResponse, ServiceError> {
        archives::list(self, ctx, input).await
    }

    // Replays.

    async fn start_replay(
        &self,
        ctx: &RequestContext,
        input: StartReplayRequest,
    ) -> Result<StartReplayResponse, ServiceError> {
        replays::start(self, ctx, input).await
    }

    async fn describe_replay(
        &self,
        ctx: &RequestContext,
        input: DescribeReplayRequest,
    ) -> Result<DescribeReplayResponse, ServiceError> {
        replays::describe(self, ctx, input).await
    }

    async fn cancel_replay(
        &self,
        ctx: &RequestContext,
        input: CancelReplayRequest,
    ) -> Result<CancelReplayResponse, ServiceError> {
        replays::cancel(self, ctx, input).await
    }

    async fn list_replays(
        &self,
        ctx: &RequestContext,
        input: ListReplaysRequest,
    ) -> Result<ListReplaysResponse, ServiceError> {
        replays::list(self, ctx, input).await
    }
}
