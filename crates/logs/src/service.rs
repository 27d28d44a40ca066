//! The generated CloudWatch Logs trait, implemented by handing each operation to the module
//! that owns it. Operations not listed here answer `NotImplemented` (the trait's default).

use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::Logs;
use palisade_model_logs::types::*;

use crate::groups::Target;
use crate::{LogsState, events, groups, metric_filters, streams};

impl Logs for LogsState {
    // Log groups.

    async fn create_log_group(
        &self,
        ctx: &RequestContext,
        input: CreateLogGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::create(self, ctx, input).await
    }

    async fn delete_log_group(
        &self,
        ctx: &RequestContext,
        input: DeleteLogGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::delete(self, ctx, &input.log_group_name).await
    }

    async fn describe_log_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeLogGroupsRequest,
    ) -> Result<DescribeLogGroupsResponse, ServiceError> {
        groups::describe(self, ctx, input).await
    }

    async fn put_retention_policy(
        &self,
        ctx: &RequestContext,
        input: PutRetentionPolicyRequest,
    ) -> Result<(), ServiceError> {
        groups::put_retention(
            self,
            ctx,
            &input.log_group_name,
            Some(input.retention_in_days),
        )
        .await
    }

    async fn delete_retention_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRetentionPolicyRequest,
    ) -> Result<(), ServiceError> {
        groups::put_retention(self, ctx, &input.log_group_name, None).await
    }

    async fn put_log_group_deletion_protection(
        &self,
        ctx: &RequestContext,
        input: PutLogGroupDeletionProtectionRequest,
    ) -> Result<(), ServiceError> {
        groups::set_deletion_protection(self, ctx, input).await
    }

    async fn associate_kms_key(
        &self,
        ctx: &RequestContext,
        input: AssociateKmsKeyRequest,
    ) -> Result<(), ServiceError> {
        groups::associate_kms_key(self, ctx, input).await
    }

    async fn disassociate_kms_key(
        &self,
        ctx: &RequestContext,
        input: DisassociateKmsKeyRequest,
    ) -> Result<(), ServiceError> {
        groups::disassociate_kms_key(self, ctx, input).await
    }

    // Tags.

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), ServiceError> {
        groups::tag(self, ctx, Target::Arn(&input.resource_arn), input.tags).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        groups::untag(self, ctx, Target::Arn(&input.resource_arn), &input.tag_keys).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ServiceError> {
        let tags = groups::list_tags(self, ctx, Target::Arn(&input.resource_arn)).await?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }

    async fn tag_log_group(
        &self,
        ctx: &RequestContext,
        input: TagLogGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::tag(self, ctx, Target::Name(&input.log_group_name), input.tags).await
    }

    async fn untag_log_group(
        &self,
        ctx: &RequestContext,
        input: UntagLogGroupRequest,
    ) -> Result<(), ServiceError> {
        groups::untag(self, ctx, Target::Name(&input.log_group_name), &input.tags).await
    }

    async fn list_tags_log_group(
        &self,
        ctx: &RequestContext,
        input: ListTagsLogGroupRequest,
    ) -> Result<ListTagsLogGroupResponse, ServiceError> {
        let tags = groups::list_tags(self, ctx, Target::Name(&input.log_group_name)).await?;
        Ok(ListTagsLogGroupResponse { tags: Some(tags) })
    }

    // Streams and events.

    async fn create_log_stream(
        &self,
        ctx: &RequestContext,
        input: CreateLogStreamRequest,
    ) -> Result<(), ServiceError> {
        streams::create(self, ctx, input).await
    }

    async fn delete_log_stream(
        &self,
        ctx: &RequestContext,
        input: DeleteLogStreamRequest,
    ) -> Result<(), ServiceError> {
        streams::delete(self, ctx, input).await
    }

    async fn describe_log_streams(
        &self,
        ctx: &RequestContext,
        input: DescribeLogStreamsRequest,
    ) -> Result<DescribeLogStreamsResponse, ServiceError> {
        streams::describe(self, ctx, input).await
    }

    async fn put_log_events(
        &self,
        ctx: &RequestContext,
        input: PutLogEventsRequest,
    ) -> Result<PutLogEventsResponse, ServiceError> {
        events::put(self, ctx, input).await
    }

    async fn get_log_events(
        &self,
        ctx: &RequestContext,
        input: GetLogEventsRequest,
    ) -> Result<GetLogEventsResponse, ServiceError> {
        events::get(self, ctx, input).await
    }

    async fn filter_log_events(
        &self,
        ctx: &RequestContext,
        input: FilterLogEventsRequest,
    ) -> Result<FilterLogEventsResponse, ServiceError> {
        events::filter(self, ctx, input).await
    }

    // Metric filters.

    async fn put_metric_filter(
        &self,
        ctx: &RequestContext,
        input: PutMetricFilterRequest,
    ) -> Result<(), ServiceError> {
        metric_filters::put(self, ctx, input).await
    }

    async fn describe_metric_filters(
        &self,
        ctx: &RequestContext,
        input: DescribeMetricFiltersRequest,
    ) -> Result<DescribeMetricFiltersResponse, ServiceError> {
        metric_filters::describe(self, ctx, input).await
    }

    async fn delete_metric_filter(
        &self,
        ctx: &RequestContext,
        input: DeleteMetricFilterRequest,
    ) -> Result<(), ServiceError> {
        metric_filters::delete(self, ctx, input).await
    }

    async fn test_metric_filter(
        &self,
        _ctx: &RequestContext,
        input: TestMetricFilterRequest,
    ) -> Result<TestMetricFilterResponse, ServiceError> {
        metric_filters::test(input)
    }
}
