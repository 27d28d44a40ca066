//! A trail's event selectors (classic or advanced, never both) and Insights selectors: AWS's
//! validation, how they are stored, and how they read back.
//!
//! Which records selectors let through is `crate::selection`'s.

use std::collections::BTreeSet;

use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector,
    GetEventSelectorsRequest, GetEventSelectorsResponse, GetInsightSelectorsRequest,
    GetInsightSelectorsResponse, InsightSelector, InsightType, PutEventSelectorsRequest,
    PutEventSelectorsResponse, PutInsightSelectorsRequest, PutInsightSelectorsResponse,
    ReadWriteType, SourceEventCategory,
};
use palisade_model_cloudtrail::{MODEL, errors};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;

/// At most this many classic event selectors per trail.
const MAX_EVENT_SELECTORS: usize = 5;
/// At most this many data resources over all of a trail's classic selectors.
const MAX_DATA_RESOURCES: usize = 250;
/// At most this many values over all conditions of a trail's advanced selectors.
const MAX_ADVANCED_VALUES: usize = 500;
/// The management event sources a classic selector may exclude.
const EXCLUDABLE_SOURCES: [&str; 2] = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];
/// Data resource types of classic selectors, each with the ARN prefix its values start with.
pub(crate) const DATA_RESOURCE_TYPES: [(&str, &str); 3] = [
    ("AWS::S3::Object", "arn:aws:s3"),
    ("AWS::Lambda::Function", "arn:aws:lambda"),
    ("AWS::DynamoDB::Table", "arn:aws:dynamodb"),
];
/// The fields advanced field selectors may test on a trail.
const ADVANCED_FIELDS: [&str; 11] = [
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "errorCode",
    "sessionCredentialFromConsole",
    "userIdentity.arn",
    "vpcEndpointId",
];
/// The fields an advanced selector of management events may test.
const MANAGEMENT_FIELDS: [&str; 3] = ["eventCategory", "readOnly", "eventSource"];

/// A trail's event selectors, once `PutEventSelectors` set them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EventSelectorsRecord {
    Classic(Vec<ClassicSelector>),
    Advanced(Vec<AdvancedSelector>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClassicSelector {
    pub(crate) read_write_type: String,
    pub(crate) include_management_events: bool,
    pub(crate) data_resources: Vec<DataResourceRecord>,
    pub(crate) exclude_management_event_sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DataResourceRecord {
    pub(crate) resource_type: String,
    pub(crate) values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AdvancedSelector {
    pub(crate) name: Option<String>,
    pub(crate) field_selectors: Vec<FieldSelectorRecord>,
}

/// One condition of an advanced selector: the field and its operators' values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FieldSelectorRecord {
    pub(crate) field: String,
    pub(crate) equals: Option<Vec<String>>,
    pub(crate) starts_with: Option<Vec<String>>,
    pub(crate) ends_with: Option<Vec<String>>,
    pub(crate) not_equals: Option<Vec<String>>,
    pub(crate) not_starts_with: Option<Vec<String>>,
    pub(crate) not_ends_with: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InsightSelectorRecord {
    insight_type: String,
    event_categories: Option<Vec<String>>,
}

pub(crate) async fn put_event_selectors(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: PutEventSelectorsRequest,
) -> Result<PutEventSelectorsResponse, ServiceError> {
    let selectors = match (input.event_selectors, input.advanced_event_selectors) {
        (Some(classic), None) => EventSelectorsRecord::Classic(classic_selectors(classic)?),
        (None, Some(advanced)) => EventSelectorsRecord::Advanced(advanced_selectors(advanced)?),
        // PutEventSelectors models no InvalidParameterCombinationException: AWS reports a bad
        // combination of selectors as invalid selectors.
        (Some(_), Some(_)) => {
            return Err(errors::invalid_event_selectors_exception(
                "You cannot specify both EventSelectors and AdvancedEventSelectors in one request.",
            ));
        }
        (None, None) => {
            return Err(errors::invalid_event_selectors_exception(
                "You must specify either EventSelectors or AdvancedEventSelectors.",
            ));
        }
    };
    let trail = state
        .change_trail(ctx, &input.trail_name, |trail| {
            trail.event_selectors = Some(selectors.clone());
            Ok(())
        })
        .await?;
    let (event_selectors, advanced_event_selectors) = selectors_view(&selectors);
    Ok(PutEventSelectorsResponse {
        trail_arn: Some(trail.arn()),
        event_selectors,
        advanced_event_selectors,
    })
}

pub(crate) async fn get_event_selectors(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetEventSelectorsRequest,
) -> Result<GetEventSelectorsResponse, ServiceError> {
    let trail = state.find_trail(ctx, &input.trail_name).await?.value;
    // A trail nobody gave selectors logs every management event, read and write.
    let default = EventSelectorsRecord::Classic(vec![ClassicSelector {
        read_write_type: ReadWriteType::All.as_str().to_owned(),
        include_management_events: true,
        data_resources: Vec::new(),
        exclude_management_event_sources: Vec::new(),
    }]);
    let (event_selectors, advanced_event_selectors) =
        selectors_view(trail.event_selectors.as_ref().unwrap_or(&default));
    Ok(GetEventSelectorsResponse {
        trail_arn: Some(trail.arn()),
        event_selectors,
        advanced_event_selectors,
    })
}

pub(crate) async fn put_insight_selectors(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: PutInsightSelectorsRequest,
) -> Result<PutInsightSelectorsResponse, ServiceError> {
    let trail_name = trail_of_insights_request(
        input.trail_name.as_deref(),
        input.event_data_store.as_deref(),
        "PutInsightSelectors",
    )?;
    if input.insights_destination.is_some() {
        return Err(errors::invalid_parameter_combination_exception(
            "InsightsDestination applies to event data stores, not to trails.",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut selectors = Vec::with_capacity(input.insight_selectors.len());
    for selector in input.insight_selectors {
        let insight_type = match selector.insight_type {
            Some(
                insight_type @ (InsightType::ApiCallRateInsight | InsightType::ApiErrorRateInsight),
            ) => insight_type.as_str().to_owned(),
            _ => {
                return Err(errors::invalid_insight_selectors_exception(
                    "Each insight selector needs an InsightType: ApiCallRateInsight or ApiErrorRateInsight.",
                ));
            }
        };
        if !seen.insert(insight_type.clone()) {
            return Err(errors::invalid_insight_selectors_exception(format!(
                "The InsightType {insight_type} is specified more than once."
            )));
        }
        let event_categories = selector
            .event_categories
            .map(|categories| {
                categories
                    .into_iter()
                    .map(|category| match category {
                        SourceEventCategory::Management | SourceEventCategory::Data => {
                            Ok(category.as_str().to_owned())
                        }
                        SourceEventCategory::Unknown(other) => {
                            Err(errors::invalid_insight_selectors_exception(format!(
                                "The event category {other} is not valid for Insights."
                            )))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        selectors.push(InsightSelectorRecord {
            insight_type,
            event_categories,
        });
    }
    let trail = state
        .change_trail(ctx, trail_name, |trail| {
            trail.insight_selectors = selectors.clone();
            Ok(())
        })
        .await?;
    Ok(PutInsightSelectorsResponse {
        trail_arn: Some(trail.arn()),
        insight_selectors: Some(insight_selectors_view(&trail.insight_selectors)),
        ..PutInsightSelectorsResponse::default()
    })
}

pub(crate) async fn get_insight_selectors(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: GetInsightSelectorsRequest,
) -> Result<GetInsightSelectorsResponse, ServiceError> {
    let trail_name = trail_of_insights_request(
        input.trail_name.as_deref(),
        input.event_data_store.as_deref(),
        "GetInsightSelectors",
    )?;
    let trail = state.find_trail(ctx, trail_name).await?.value;
    if trail.insight_selectors.is_empty() {
        return Err(errors::insight_not_enabled_exception(format!(
            "Trail {} does not have Insights enabled.",
            trail.arn()
        )));
    }
    Ok(GetInsightSelectorsResponse {
        trail_arn: Some(trail.arn()),
        insight_selectors: Some(insight_selectors_view(&trail.insight_selectors)),
        ..GetInsightSelectorsResponse::default()
    })
}

/// The trail an Insights request names; event data stores are not built.
fn trail_of_insights_request<'a>(
    trail_name: Option<&'a str>,
    event_data_store: Option<&str>,
    operation: &str,
) -> Result<&'a str, ServiceError> {
    match (trail_name, event_data_store) {
        (Some(trail_name), None) => Ok(trail_name),
        (None, Some(_)) => Err(ServiceError::not_implemented(&MODEL, operation)),
        (Some(_), Some(_)) => Err(errors::invalid_parameter_combination_exception(
            "You cannot specify both TrailName and EventDataStore.",
        )),
        (None, None) => Err(errors::invalid_parameter_combination_exception(
            "You must specify either TrailName or EventDataStore.",
        )),
    }
}

fn invalid_selectors(message: impl Into<String>) -> ServiceError {
    errors::invalid_event_selectors_exception(message)
}

fn classic_selectors(selectors: Vec<EventSelector>) -> Result<Vec<ClassicSelector>, ServiceError> {
    if selectors.is_empty() || selectors.len() > MAX_EVENT_SELECTORS {
        return Err(invalid_selectors(format!(
            "A trail must have between 1 and {MAX_EVENT_SELECTORS} event selectors."
        )));
    }
    let data_resources: usize = selectors
        .iter()
        .map(|selector| {
            selector
                .data_resources
                .iter()
                .flatten()
                .map(|resource| resource.values.as_ref().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .sum();
    if data_resources > MAX_DATA_RESOURCES {
        return Err(invalid_selectors(format!(
            "A trail can have at most {MAX_DATA_RESOURCES} data resources over all its event selectors."
        )));
    }
    selectors
        .into_iter()
        .map(|selector| {
            let exclude_management_event_sources =
                selector.exclude_management_event_sources.unwrap_or_default();
            if let Some(source) = exclude_management_event_sources
                .iter()
                .find(|source| !EXCLUDABLE_SOURCES.contains(&source.as_str()))
            {
                return Err(invalid_selectors(format!(
                    "Value {source} for ExcludeManagementEventSources is invalid. Valid values: {}.",
                    EXCLUDABLE_SOURCES.join(", ")
                )));
            }
            Ok(ClassicSelector {
                read_write_type: selector
                    .read_write_type
                    .unwrap_or(ReadWriteType::All)
                    .as_str()
                    .to_owned(),
                include_management_events: selector.include_management_events.unwrap_or(true),
                data_resources: selector
                    .data_resources
                    .unwrap_or_default()
                    .into_iter()
                    .map(data_resource)
                    .collect::<Result<_, _>>()?,
                exclude_management_event_sources,
            })
        })
        .collect()
}

fn data_resource(resource: DataResource) -> Result<DataResourceRecord, ServiceError> {
    let resource_type = resource.r#type.unwrap_or_default();
    let Some((_, arn_prefix)) = DATA_RESOURCE_TYPES
        .iter()
        .find(|(known, _)| *known == resource_type)
    else {
        return Err(invalid_selectors(format!(
            "Value {resource_type} for DataResources.Type is invalid. Use advanced event selectors \
             for other resource types."
        )));
    };
    let values = resource.values.unwrap_or_default();
    if values.is_empty() {
        return Err(invalid_selectors(format!(
            "DataResources of type {resource_type} need at least one value."
        )));
    }
    // A value is every resource of the type (the bare prefix) or an ARN under it.
    if let Some(value) = values.iter().find(|value| {
        value.as_str() != *arn_prefix && !value.starts_with(&format!("{arn_prefix}:"))
    }) {
        return Err(invalid_selectors(format!(
            "Value {value} for DataResources.Values is invalid."
        )));
    }
    Ok(DataResourceRecord {
        resource_type,
        values,
    })
}

/// The category of the events a channel brings from outside AWS: an event data store of them
/// has one selector, on `eventCategory` alone (CloudTrail User Guide, "Create an integration
/// with an event source outside of AWS").
pub(crate) const ACTIVITY_AUDIT_LOG: &str = "ActivityAuditLog";

/// An event data store's advanced selectors: a trail's, or one selector of events from outside
/// AWS (`eventCategory` equals `ActivityAuditLog`, no other field).
pub(crate) fn event_data_store_selectors(
    selectors: Vec<AdvancedEventSelector>,
) -> Result<Vec<AdvancedSelector>, ServiceError> {
    let outside_aws = |selector: &AdvancedEventSelector| {
        selector.field_selectors.iter().any(|field| {
            field.field == "eventCategory"
                && field
                    .equals
                    .as_ref()
                    .is_some_and(|values| values.iter().any(|value| value == ACTIVITY_AUDIT_LOG))
        })
    };
    if !selectors.iter().any(outside_aws) {
        return advanced_selectors(selectors);
    }
    match selectors.as_slice() {
        [selector] if selector.field_selectors.len() == 1 => {
            let condition =
                field_selector(selector.field_selectors.first().cloned().ok_or_else(|| {
                    invalid_selectors("An advanced event selector needs a field selector.")
                })?)?;
            if condition.only_equals() != Some(&[ACTIVITY_AUDIT_LOG.to_owned()][..]) {
                return Err(invalid_selectors(
                    "An event data store of events from outside AWS takes eventCategory Equals \
                     ActivityAuditLog.",
                ));
            }
            Ok(vec![AdvancedSelector {
                name: selector.name.clone(),
                field_selectors: vec![condition],
            }])
        }
        _ => Err(invalid_selectors(
            "An event data store of events from outside AWS has one advanced event selector, \
             with eventCategory Equals ActivityAuditLog and no other field.",
        )),
    }
}

pub(crate) fn advanced_selectors(
    selectors: Vec<AdvancedEventSelector>,
) -> Result<Vec<AdvancedSelector>, ServiceError> {
    if selectors.is_empty() {
        return Err(invalid_selectors(
            "AdvancedEventSelectors must hold at least one selector.",
        ));
    }
    let mut total_values = 0;
    let mut stored = Vec::with_capacity(selectors.len());
    for selector in selectors {
        let conditions: Vec<FieldSelectorRecord> = selector
            .field_selectors
            .into_iter()
            .map(field_selector)
            .collect::<Result<_, _>>()?;
        total_values += conditions
            .iter()
            .map(FieldSelectorRecord::value_count)
            .sum::<usize>();
        check_advanced_selector(&conditions)?;
        stored.push(AdvancedSelector {
            name: selector.name,
            field_selectors: conditions,
        });
    }
    if total_values > MAX_ADVANCED_VALUES {
        return Err(invalid_selectors(format!(
            "Advanced event selectors can have at most {MAX_ADVANCED_VALUES} values over all their conditions."
        )));
    }
    Ok(stored)
}

fn field_selector(selector: AdvancedFieldSelector) -> Result<FieldSelectorRecord, ServiceError> {
    if !ADVANCED_FIELDS.contains(&selector.field.as_str()) {
        return Err(invalid_selectors(format!(
            "The field {} is not valid in an advanced event selector of a trail. Valid fields: {}.",
            selector.field,
            ADVANCED_FIELDS.join(", ")
        )));
    }
    let record = FieldSelectorRecord {
        field: selector.field,
        equals: selector.equals,
        starts_with: selector.starts_with,
        ends_with: selector.ends_with,
        not_equals: selector.not_equals,
        not_starts_with: selector.not_starts_with,
        not_ends_with: selector.not_ends_with,
    };
    if record.value_count() == 0 {
        return Err(invalid_selectors(format!(
            "The field selector for {} needs at least one operator.",
            record.field
        )));
    }
    Ok(record)
}

/// The rules between the conditions of one advanced selector: each field once, an
/// `eventCategory` that says what the selector logs, and the fields that kind of event allows.
fn check_advanced_selector(conditions: &[FieldSelectorRecord]) -> Result<(), ServiceError> {
    let mut fields = BTreeSet::new();
    for condition in conditions {
        if !fields.insert(condition.field.as_str()) {
            return Err(invalid_selectors(format!(
                "The field {} appears more than once in one advanced event selector.",
                condition.field
            )));
        }
    }
    let find = |field: &str| conditions.iter().find(|condition| condition.field == field);
    let category = find("eventCategory")
        .and_then(FieldSelectorRecord::only_equals)
        .and_then(|values| match values {
            [category] => Some(category.as_str()),
            _ => None,
        })
        .ok_or_else(|| {
            invalid_selectors(
                "Each advanced event selector needs an eventCategory field selector with Equals \
                 and one value: Management, Data or NetworkActivity.",
            )
        })?;
    if let Some(read_only) = find("readOnly") {
        let valid = read_only.only_equals().is_some_and(|values| {
            values
                .iter()
                .all(|value| value == "true" || value == "false")
        });
        if !valid {
            return Err(invalid_selectors(
                "The readOnly field selector takes Equals with the value true or false.",
            ));
        }
    }
    match category {
        "Management" => {
            if let Some(condition) = conditions
                .iter()
                .find(|condition| !MANAGEMENT_FIELDS.contains(&condition.field.as_str()))
            {
                return Err(invalid_selectors(format!(
                    "The field {} is not valid in an advanced event selector of management events.",
                    condition.field
                )));
            }
            Ok(())
        }
        "Data" => {
            let has_one_type = find("resources.type")
                .and_then(FieldSelectorRecord::only_equals)
                .is_some_and(|values| values.len() == 1);
            if has_one_type {
                Ok(())
            } else {
                Err(invalid_selectors(
                    "An advanced event selector of data events needs a resources.type field \
                     selector with Equals and one value.",
                ))
            }
        }
        "NetworkActivity" => {
            if find("eventSource")
                .and_then(FieldSelectorRecord::only_equals)
                .is_some()
            {
                Ok(())
            } else {
                Err(invalid_selectors(
                    "An advanced event selector of network activity events needs an eventSource \
                     field selector with Equals.",
                ))
            }
        }
        other => Err(invalid_selectors(format!(
            "Value {other} for eventCategory is invalid. Valid values: Management, Data, NetworkActivity."
        ))),
    }
}

impl FieldSelectorRecord {
    fn operators(&self) -> [Option<&Vec<String>>; 6] {
        [
            self.equals.as_ref(),
            self.starts_with.as_ref(),
            self.ends_with.as_ref(),
            self.not_equals.as_ref(),
            self.not_starts_with.as_ref(),
            self.not_ends_with.as_ref(),
        ]
    }

    fn value_count(&self) -> usize {
        self.operators().into_iter().flatten().map(Vec::len).sum()
    }

    /// The `Equals` values, when `Equals` is the condition's only operator.
    fn only_equals(&self) -> Option<&[String]> {
        let equals = self.equals.as_deref()?;
        let others = self.operators().into_iter().skip(1).flatten().count();
        (others == 0).then_some(equals)
    }
}

/// The selectors as the API returns them: classic or advanced, the other absent.
fn selectors_view(
    selectors: &EventSelectorsRecord,
) -> (
    Option<Vec<EventSelector>>,
    Option<Vec<AdvancedEventSelector>>,
) {
    match selectors {
        EventSelectorsRecord::Classic(selectors) => {
            let view = selectors
                .iter()
                .map(|selector| EventSelector {
                    read_write_type: Some(ReadWriteType::from(selector.read_write_type.as_str())),
                    include_management_events: Some(selector.include_management_events),
                    data_resources: Some(
                        selector
                            .data_resources
                            .iter()
                            .map(|resource| DataResource {
                                r#type: Some(resource.resource_type.clone()),
                                values: Some(resource.values.clone()),
                            })
                            .collect(),
                    ),
                    exclude_management_event_sources: Some(
                        selector.exclude_management_event_sources.clone(),
                    ),
                })
                .collect();
            (Some(view), None)
        }
        EventSelectorsRecord::Advanced(selectors) => (None, Some(advanced_view(selectors))),
    }
}

/// Advanced selectors as the API returns them.
pub(crate) fn advanced_view(selectors: &[AdvancedSelector]) -> Vec<AdvancedEventSelector> {
    selectors
        .iter()
        .map(|selector| AdvancedEventSelector {
            name: selector.name.clone(),
            field_selectors: selector
                .field_selectors
                .iter()
                .map(|condition| AdvancedFieldSelector {
                    field: condition.field.clone(),
                    equals: condition.equals.clone(),
                    starts_with: condition.starts_with.clone(),
                    ends_with: condition.ends_with.clone(),
                    not_equals: condition.not_equals.clone(),
                    not_starts_with: condition.not_starts_with.clone(),
                    not_ends_with: condition.not_ends_with.clone(),
                })
                .collect(),
        })
        .collect()
}

fn insight_selectors_view(selectors: &[InsightSelectorRecord]) -> Vec<InsightSelector> {
    selectors
        .iter()
        .map(|selector| InsightSelector {
            insight_type: Some(InsightType::from(selector.insight_type.as_str())),
            event_categories: selector.event_categories.as_ref().map(|categories| {
                categories
                    .iter()
                    .map(|category| SourceEventCategory::from(category.as_str()))
                    .collect()
            }),
        })
        .collect()
}
