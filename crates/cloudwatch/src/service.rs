//! The generated trait, implemented by delegating to the module that owns each operation.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudwatch::Cloudwatch;
use palisade_model_cloudwatch::types::*;

use crate::CloudWatchState;
use crate::{alarms, metrics, queries};

impl Cloudwatch for CloudWatchState {
    // Metrics.

    async fn put_metric_data(
        &self,
        ctx: &RequestContext,
        input: PutMetricDataInput,
    ) -> Result<(), ServiceError> {
        metrics::put(self, ctx, input).await
    }

    async fn list_metrics(
        &self,
        ctx: &RequestContext,
        input: ListMetricsInput,
    ) -> Result<ListMetricsOutput, ServiceError> {
        metrics::list(self, ctx, input).await
    }

    async fn get_metric_statistics(
        &self,
        ctx: &RequestContext,
        input: GetMetricStatisticsInput,
    ) -> Result<GetMetricStatisticsOutput, ServiceError> {
        queries::statistics(self, ctx, input).await
    }

    async fn get_metric_data(
        &self,
        ctx: &RequestContext,
        input: GetMetricDataInput,
    ) -> Result<GetMetricDataOutput, ServiceError> {
        queries::data(self, ctx, input).await
    }

    // Alarms.

    async fn put_metric_alarm(
        &self,
        ctx: &RequestContext,
        input: PutMetricAlarmInput,
    ) -> Result<(), ServiceError> {
        alarms::put(self, ctx, input).await
    }

    async fn describe_alarms(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsInput,
    ) -> Result<DescribeAlarmsOutput, ServiceError> {
        alarms::describe(self, ctx, input).await
    }

    async fn describe_alarms_for_metric(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsForMetricInput,
    ) -> Result<DescribeAlarmsForMetricOutput, ServiceError> {
        alarms::describe_for_metric(self, ctx, input).await
    }

    async fn delete_alarms(
        &self,
        ctx: &RequestContext,
        input: DeleteAlarmsInput,
    ) -> Result<(), ServiceError> {
        alarms::delete(self, ctx, input).await
    }

    async fn set_alarm_state(
        &self,
        ctx: &RequestContext,
        input: SetAlarmStateInput,
    ) -> Result<(), ServiceError> {
        alarms::set_state(self, ctx, input).await
    }

    async fn enable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: EnableAlarmActionsInput,
    ) -> Result<(), ServiceError> {
        alarms::set_actions_enabled(self, ctx, &input.alarm_names, true).await
    }

    async fn disable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: DisableAlarmActionsInput,
    ) -> Result<(), ServiceError> {
        alarms::set_actions_enabled(self, ctx, &input.alarm_names, false).await
    }

    async fn describe_alarm_history(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmHistoryInput,
    ) -> Result<DescribeAlarmHistoryOutput, ServiceError> {
        alarms::history(self, ctx, input).await
    }
}
