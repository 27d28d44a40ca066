//! Metric filters: their definitions, `TestMetricFilter`, and the metric data points a batch of
//! events produces through them ([`LogsState::metric_data`]).

use std::collections::BTreeMap;

use palisade_core::metrics::MetricDatum;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_logs::errors;
use palisade_model_logs::types::*;
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::LogsState;
use crate::db::{GROUPS, METRIC_FILTERS, Tenant, plain};
use crate::pattern::{FilterPattern, Matched};

/// Metric filters a log group may have.
const MAX_FILTERS_PER_GROUP: usize = 100;
/// Dimensions a metric transformation may have.
const MAX_DIMENSIONS: usize = 3;
/// Filters a `DescribeMetricFilters` page holds when the request gives no limit.
const DEFAULT_PAGE: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MetricFilterRecord {
    group: String,
    name: String,
    pattern: String,
    transformations: Vec<Transformation>,
    creation_time: i64,
    apply_on_transformed_logs: bool,
    field_selection_criteria: Option<String>,
    emit_system_field_dimensions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Transformation {
    metric_name: String,
    namespace: String,
    value: String,
    default_value: Option<f64>,
    dimensions: BTreeMap<String, String>,
    unit: Option<String>,
}

fn parse_pattern(text: &str) -> Result<FilterPattern, ServiceError> {
    FilterPattern::parse(text)
        .map_err(|error| errors::invalid_parameter_exception(error.to_string()))
}

/// Whether `text` refers to a field of the event, `$.path` or `$name`.
fn is_field(text: &str) -> bool {
    text.starts_with('$')
}

pub(crate) async fn put(
    state: &LogsState,
    ctx: &RequestContext,
    input: PutMetricFilterRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let pattern = parse_pattern(&input.filter_pattern)?;
    let transformations = input
        .metric_transformations
        .into_iter()
        .map(|transformation| check_transformation(&pattern, transformation))
        .collect::<Result<Vec<_>, _>>()?;
    let group = input.log_group_name;
    let record = MetricFilterRecord {
        group: group.clone(),
        name: input.filter_name.clone(),
        pattern: input.filter_pattern,
        transformations,
        creation_time: state.now(),
        apply_on_transformed_logs: input.apply_on_transformed_logs.unwrap_or(false),
        field_selection_criteria: input.field_selection_criteria,
        emit_system_field_dimensions: input.emit_system_field_dimensions,
    };
    let key = tenant.child_key(&group, &input.filter_name);
    let group_key = tenant.group_key(&group);
    state
        .mutate(|| async {
            let stored = state.group(&tenant, &group).await?;
            let existing: Vec<(String, MetricFilterRecord)> = state
                .scan_all(METRIC_FILTERS, &tenant.under_group(&group))
                .await?;
            let replaced = existing.iter().find(|(other, _)| *other == key);
            if replaced.is_none() && existing.len() >= MAX_FILTERS_PER_GROUP {
                return Err(errors::limit_exceeded_exception("Resource limit exceeded."));
            }
            let mut record = record.clone();
            if let Some((_, previous)) = replaced {
                record.creation_time = previous.creation_time;
            }
            let txn = Transaction::new()
                .expect_version(GROUPS, &group_key, stored.version)
                .put(METRIC_FILTERS, &key, plain(&record)?);
            Ok((txn, ()))
        })
        .await
}

/// AWS's rules for a transformation: the value is a number or a field of the event, and
/// dimensions (at most three, each a field) need a pattern that selects fields and no default
/// value.
fn check_transformation(
    pattern: &FilterPattern,
    input: MetricTransformation,
) -> Result<Transformation, ServiceError> {
    let dimensions = input.dimensions.unwrap_or_default();
    if is_field(&input.metric_value) {
        if !pattern.selects_fields() {
            return Err(errors::invalid_parameter_exception(format!(
                "Invalid metric value: {} (a field reference needs a JSON or space-delimited \
                 filter pattern)",
                input.metric_value
            )));
        }
    } else if input.metric_value.parse::<f64>().is_err() {
        return Err(errors::invalid_parameter_exception(format!(
            "Invalid metric value: {}",
            input.metric_value
        )));
    }
    if !dimensions.is_empty() {
        if !pattern.selects_fields() {
            return Err(errors::invalid_parameter_exception(
                "The specified filter pattern does not support dimensions",
            ));
        }
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(errors::invalid_parameter_exception(format!(
                "A metric transformation can have at most {MAX_DIMENSIONS} dimensions."
            )));
        }
        if input.default_value.is_some() {
            return Err(errors::invalid_parameter_exception(
                "A metric transformation with dimensions cannot have a default value.",
            ));
        }
        if let Some((name, value)) = dimensions.iter().find(|(_, value)| !is_field(value)) {
            return Err(errors::invalid_parameter_exception(format!(
                "Invalid value '{value}' for dimension '{name}': dimension values must be fields \
                 of the filter pattern."
            )));
        }
    }
    Ok(Transformation {
        metric_name: input.metric_name,
        namespace: input.metric_namespace,
        value: input.metric_value,
        default_value: input.default_value,
        dimensions,
        unit: input.unit.map(|unit| unit.as_str().to_owned()),
    })
}

pub(crate) async fn describe(
    state: &LogsState,
    ctx: &RequestContext,
    input: DescribeMetricFiltersRequest,
) -> Result<DescribeMetricFiltersResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    if input.filter_name_prefix.is_some() && input.log_group_name.is_none() {
        return Err(errors::invalid_parameter_exception(
            "If you specify filterNamePrefix, you must also specify logGroupName.",
        ));
    }
    if input.metric_name.is_some() != input.metric_namespace.is_some() {
        return Err(errors::invalid_parameter_exception(
            "If you specify metricName or metricNamespace, you must specify both.",
        ));
    }
    let prefix = match &input.log_group_name {
        Some(group) => {
            state.group(&tenant, group).await?;
            format!(
                "{}{}",
                tenant.under_group(group),
                input.filter_name_prefix.as_deref().unwrap_or_default()
            )
        }
        None => tenant.prefix(),
    };
    let after = crate::paging::decode_token(input.next_token.as_deref())?;
    let limit = crate::paging::limit(input.limit, DEFAULT_PAGE);
    let filters = state
        .scan_all::<MetricFilterRecord>(METRIC_FILTERS, &prefix)
        .await?;
    let (page, next_token) = crate::paging::page(
        filters.into_iter().filter(|(key, filter)| {
            after.as_ref().is_none_or(|after| key > after)
                && input.metric_name.as_ref().is_none_or(|name| {
                    filter.transformations.iter().any(|transformation| {
                        transformation.metric_name == *name
                            && Some(&transformation.namespace) == input.metric_namespace.as_ref()
                    })
                })
        }),
        limit,
        |(key, _)| key.clone(),
    );
    Ok(DescribeMetricFiltersResponse {
        metric_filters: Some(
            page.into_iter()
                .map(|(_, filter)| describe_filter(filter))
                .collect(),
        ),
        next_token,
    })
}

fn describe_filter(filter: MetricFilterRecord) -> MetricFilter {
    MetricFilter {
        filter_name: Some(filter.name),
        filter_pattern: Some(filter.pattern),
        metric_transformations: Some(
            filter
                .transformations
                .into_iter()
                .map(|transformation| MetricTransformation {
                    metric_name: transformation.metric_name,
                    metric_namespace: transformation.namespace,
                    metric_value: transformation.value,
                    default_value: transformation.default_value,
                    dimensions: (!transformation.dimensions.is_empty())
                        .then_some(transformation.dimensions),
                    unit: transformation.unit.as_deref().map(StandardUnit::from),
                })
                .collect(),
        ),
        creation_time: Some(filter.creation_time),
        log_group_name: Some(filter.group),
        apply_on_transformed_logs: Some(filter.apply_on_transformed_logs),
        field_selection_criteria: filter.field_selection_criteria,
        emit_system_field_dimensions: filter.emit_system_field_dimensions,
    }
}

pub(crate) async fn delete(
    state: &LogsState,
    ctx: &RequestContext,
    input: DeleteMetricFilterRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    state.group(&tenant, &input.log_group_name).await?;
    let key = tenant.child_key(&input.log_group_name, &input.filter_name);
    state
        .mutate(|| async {
            let filter = state
                .get::<MetricFilterRecord>(METRIC_FILTERS, &key)
                .await?
                .ok_or_else(|| {
                    errors::resource_not_found_exception(
                        "The specified metric filter does not exist.",
                    )
                })?;
            let txn = Transaction::new()
                .expect_version(METRIC_FILTERS, &key, filter.version)
                .delete(METRIC_FILTERS, &key);
            Ok((txn, ()))
        })
        .await
}

pub(crate) fn test(
    input: TestMetricFilterRequest,
) -> Result<TestMetricFilterResponse, ServiceError> {
    let pattern = parse_pattern(&input.filter_pattern)?;
    let matches = input
        .log_event_messages
        .into_iter()
        .zip(1_i64..)
        .filter_map(|(message, number)| {
            let matched = pattern.evaluate(&message)?;
            Some(MetricFilterMatchRecord {
                event_number: Some(number),
                extracted_values: Some(matched.extracted_values().clone()),
                event_message: Some(message),
            })
        })
        .collect();
    Ok(TestMetricFilterResponse {
        matches: Some(matches),
    })
}

impl LogsState {
    /// The metric data points the metric filters of log group `log_group_name` (of `account`
    /// in `region`) produce from `events`, a batch `PutLogEvents` accepted: for every filter
    /// and event, one point per transformation when the event matches (its value the
    /// transformation's number or the event's field, its dimensions the event's fields; an
    /// event lacking a numeric value or a dimension gives none), and the transformation's
    /// default value, without dimensions, when it does not match and has one. Points carry the
    /// event's timestamp; AWS aggregates them per minute, which is the metrics service's
    /// business.
    pub async fn metric_data(
        &self,
        account: &str,
        region: &str,
        log_group_name: &str,
        events: &[InputLogEvent],
    ) -> Result<Vec<MetricDatum>, ServiceError> {
        let tenant = Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        };
        let filters: Vec<(String, MetricFilterRecord)> = self
            .scan_all(METRIC_FILTERS, &tenant.under_group(log_group_name))
            .await?;
        let mut data = Vec::new();
        for (_, filter) in filters {
            let Ok(pattern) = FilterPattern::parse(&filter.pattern) else {
                continue;
            };
            for event in events {
                let matched = pattern.evaluate(&event.message);
                for transformation in &filter.transformations {
                    let point = match &matched {
                        Some(matched) => matched_point(transformation, matched),
                        None => transformation
                            .default_value
                            .map(|value| (value, BTreeMap::new())),
                    };
                    if let Some((value, dimensions)) = point {
                        data.push(MetricDatum {
                            namespace: transformation.namespace.clone(),
                            metric_name: transformation.metric_name.clone(),
                            value,
                            unit: transformation.unit.clone(),
                            dimensions,
                            timestamp: event.timestamp,
                        });
                    }
                }
            }
        }
        Ok(data)
    }
}

impl LogsState {
    /// Hands the data points the group's metric filters produce from `accepted`, events just
    /// stored, to the metric sink, if there is one. A failure loses the batch's points, not its
    /// events, which are durable already; it is logged rather than failing the put, which a
    /// client would retry and so store the events twice.
    pub(crate) async fn record_metrics(
        &self,
        tenant: &Tenant,
        group: &str,
        accepted: &[InputLogEvent],
    ) {
        let Some(sink) = &self.metrics else {
            return;
        };
        if accepted.is_empty() {
            return;
        }
        match self
            .metric_data(&tenant.account, &tenant.region, group, accepted)
            .await
        {
            Ok(data) if data.is_empty() => {}
            Ok(data) => sink.record(&tenant.account, &tenant.region, data).await,
            Err(error) => {
                tracing::warn!(error = %error.message, group, "reading metric filters failed");
            }
        }
    }
}

/// The value and dimensions a matching event gives a transformation, if it has them all.
fn matched_point(
    transformation: &Transformation,
    matched: &Matched,
) -> Option<(f64, BTreeMap<String, String>)> {
    let value = if is_field(&transformation.value) {
        matched.field(&transformation.value)?.parse().ok()?
    } else {
        transformation.value.parse().ok()?
    };
    let dimensions = transformation
        .dimensions
        .iter()
        .map(|(name, field)| Some((name.clone(), matched.field(field)?)))
        .collect::<Option<BTreeMap<_, _>>>()?;
    Some((value, dimensions))
}
