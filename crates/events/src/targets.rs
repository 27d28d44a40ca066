//! A rule's targets: where its matching events go (see `delivery`). A rule
//! holds at most five; a target is known by its id within the rule. A target's `RetryPolicy`
//! (its ranges are the model's, checked by the wire layer) and `DeadLetterConfig` are kept
//! with it: the dead-letter queue is an SQS queue, as in AWS (Palisade cannot write to one),
//! or a CloudWatch Logs log group.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;

use crate::EventsState;
use crate::buses::bus_name;
use crate::db::Tenant;
use crate::paging::{page_size, paginate};
use crate::records::RuleRecord;
use crate::values::{from_json, to_json};

/// AWS's quota of targets per rule.
const MAX_TARGETS: usize = 5;

pub(crate) async fn put(
    state: &EventsState,
    ctx: &RequestContext,
    input: PutTargetsRequest,
) -> Result<PutTargetsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    let mut accepted = Vec::new();
    let mut failed = Vec::new();
    for target in input.targets {
        match check(&target) {
            Ok(()) => accepted.push(target),
            Err(message) => failed.push(PutTargetsResultEntry {
                target_id: Some(target.id),
                error_code: Some("ValidationException".to_owned()),
                error_message: Some(message.to_owned()),
            }),
        }
    }
    state
        .update_rule(&tenant, &bus, &input.rule, |rule| {
            for target in &accepted {
                rule.targets
                    .retain(|stored| RuleRecord::target_id(stored) != Some(target.id.as_str()));
                rule.targets.push(to_json(target.clone()));
            }
            if rule.targets.len() > MAX_TARGETS {
                return Err(errors::limit_exceeded_exception(
                    "The requested resource exceeds the maximum number allowed.",
                ));
            }
            rule.targets.sort_by(|left, right| {
                RuleRecord::target_id(left).cmp(&RuleRecord::target_id(right))
            });
            Ok(())
        })
        .await?;
    Ok(PutTargetsResponse {
        failed_entry_count: Some(i32::try_from(failed.len()).unwrap_or(i32::MAX)),
        failed_entries: Some(failed),
    })
}

/// What AWS refuses in one target, entry by entry.
fn check(target: &Target) -> Result<(), &'static str> {
    let inputs = [
        target.input.is_some(),
        target.input_path.is_some(),
        target.input_transformer.is_some(),
    ];
    if inputs.into_iter().filter(|given| *given).count() > 1 {
        return Err("Only one of Input, InputPath, or InputTransformer must be provided.");
    }
    if let Some(input) = &target.input
        && serde_json::from_str::<serde_json::Value>(input).is_err()
    {
        return Err("Input is not valid JSON text.");
    }
    if let Some(queue) = target
        .dead_letter_config
        .as_ref()
        .and_then(|config| config.arn.as_deref())
        && !dead_letter_queue(queue)
    {
        return Err(
            "Parameter DeadLetterConfig.Arn is not valid. Reason: Provided Arn is not \
                    an SQS queue or CloudWatch Logs log group ARN.",
        );
    }
    Ok(())
}

/// Whether `arn` names what can be a dead-letter queue: an SQS queue or a log group.
fn dead_letter_queue(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _partition, "sqs", region, account, queue] => {
            !region.is_empty() && !account.is_empty() && !queue.is_empty()
        }
        ["arn", _partition, "logs", region, account, group] => {
            !region.is_empty()
                && !account.is_empty()
                && group
                    .strip_prefix("log-group:")
                    .is_some_and(|name| !name.is_empty())
        }
        _ => false,
    }
}

pub(crate) async fn remove(
    state: &EventsState,
    ctx: &RequestContext,
    input: RemoveTargetsRequest,
) -> Result<RemoveTargetsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    state
        .update_rule(&tenant, &bus, &input.rule, |rule| {
            rule.targets.retain(|stored| {
                RuleRecord::target_id(stored)
                    .is_none_or(|id| !input.ids.iter().any(|removed| removed == id))
            });
            Ok(())
        })
        .await?;
    Ok(RemoveTargetsResponse {
        failed_entry_count: Some(0),
        failed_entries: Some(Vec::new()),
    })
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListTargetsByRuleRequest,
) -> Result<ListTargetsByRuleResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    let rule = state.rule(&tenant, &bus, &input.rule).await?.value;
    let mut targets: Vec<Target> = rule
        .targets
        .iter()
        .filter(|target| {
            input
                .next_token
                .as_deref()
                .is_none_or(|after| RuleRecord::target_id(target).is_some_and(|id| id > after))
        })
        .map(from_json)
        .collect::<Result<_, _>>()?;
    let next_token = paginate(&mut targets, page_size(input.limit), |target| {
        target.id.clone()
    });
    Ok(ListTargetsByRuleResponse {
        targets: Some(targets),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_queues_are_queues_or_log_groups() {
        for queue in [
            "arn:aws:sqs:us-east-1:000000000000:failed",
            "arn:aws:logs:us-east-1:000000000000:log-group:/dlq",
            "arn:aws:logs:us-east-1:000000000000:log-group:/dlq:*",
        ] {
            assert!(dead_letter_queue(queue), "{queue}");
        }
        for other in [
            "arn:aws:sns:us-east-1:000000000000:topic",
            "arn:aws:logs:us-east-1:000000000000:log-group:",
            "arn:aws:sqs:us-east-1::q",
            "queue",
        ] {
            assert!(!dead_letter_queue(other), "{other}");
        }
    }
}
