//! Rules: an event pattern or a schedule on a bus, enabled or disabled, with up to five
//! targets (see `targets`).

use palisade_core::{RequestContext, ServiceError};
use palisade_event_pattern::Pattern;
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;

use crate::buses::{DEFAULT, bus_name};
use crate::db::{RULES, Stored, TAGS, Tenant, plain};
use crate::paging::{page_size, paginate};
use crate::records::RuleRecord;
use crate::{EventsState, schedule};

impl EventsState {
    /// The rule `name` on `bus`, or AWS's error for a missing one.
    pub(crate) async fn rule(
        &self,
        tenant: &Tenant,
        bus: &str,
        name: &str,
    ) -> Result<Stored<RuleRecord>, ServiceError> {
        self.get(RULES, &tenant.rule_key(bus, name))
            .await?
            .ok_or_else(|| {
                errors::resource_not_found_exception(format!(
                    "Rule {name} does not exist on EventBus {bus}."
                ))
            })
    }

    /// Applies `change` to the rule `name` on `bus` and stores it.
    pub(crate) async fn update_rule<T>(
        &self,
        tenant: &Tenant,
        bus: &str,
        name: &str,
        change: impl Fn(&mut RuleRecord) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let key = tenant.rule_key(bus, name);
        let answer = self
            .mutate(|| async {
                let mut rule = self.rule(tenant, bus, name).await?;
                let answer = change(&mut rule.value)?;
                let txn = Transaction::new()
                    .expect_version(RULES, &key, rule.version)
                    .put(RULES, &key, plain(&rule.value)?);
                Ok((txn, answer))
            })
            .await?;
        self.forget_machine(tenant, bus);
        Ok(answer)
    }
}

pub(crate) async fn put(
    state: &EventsState,
    ctx: &RequestContext,
    input: PutRuleRequest,
) -> Result<PutRuleResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    if input.event_pattern.is_none() && input.schedule_expression.is_none() {
        return Err(ServiceError::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    let uses_wildcards = match &input.event_pattern {
        Some(pattern) => Pattern::parse(pattern)
            .map_err(|error| errors::invalid_event_pattern_exception(error.to_string()))?
            .uses_wildcards(),
        None => false,
    };
    if let Some(expression) = &input.schedule_expression {
        if bus != DEFAULT {
            return Err(ServiceError::validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        schedule::validate(expression)?;
    }
    let state_name = match input.state {
        None => RuleState::Enabled.as_str().to_owned(),
        Some(RuleState::Unknown(other)) => {
            return Err(ServiceError::validation(format!(
                "1 validation error detected: Value '{other}' at 'state' failed to satisfy \
                 constraint: Member must satisfy enum value set: [ENABLED, DISABLED, \
                 ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )));
        }
        Some(known) => known.as_str().to_owned(),
    };
    state.require_bus(&tenant, &bus).await?;
    let key = tenant.rule_key(&bus, &input.name);
    state
        .mutate(|| async {
            if uses_wildcards {
                check_wildcard_quota(state, &tenant, &bus, &input.name).await?;
            }
            let existing = state.get::<RuleRecord>(RULES, &key).await?;
            let record = RuleRecord {
                name: input.name.clone(),
                bus: bus.clone(),
                event_pattern: input.event_pattern.clone(),
                schedule_expression: input.schedule_expression.clone(),
                state: state_name.clone(),
                description: input.description.clone(),
                role_arn: input.role_arn.clone(),
                created_by: tenant.account.clone(),
                targets: existing
                    .as_ref()
                    .map(|rule| rule.value.targets.clone())
                    .unwrap_or_default(),
            };
            // Tags are the new rule's; an update keeps the rule's own.
            let txn = match &existing {
                Some(rule) => Transaction::new().expect_version(RULES, &key, rule.version),
                None => crate::tags::put_new(
                    Transaction::new().expect_absent(RULES, &key),
                    &tenant.rule_arn(&bus, &input.name),
                    input.tags.as_deref(),
                )?,
            };
            Ok((txn.put(RULES, &key, plain(&record)?), ()))
        })
        .await?;
    state.forget_machine(&tenant, &bus);
    Ok(PutRuleResponse {
        rule_arn: Some(tenant.rule_arn(&bus, &input.name)),
    })
}

/// AWS allows 30 rules with wildcard filters per bus, a quota that cannot be raised.
async fn check_wildcard_quota(
    state: &EventsState,
    tenant: &Tenant,
    bus: &str,
    replacing: &str,
) -> Result<(), ServiceError> {
    const MAX_WILDCARD_RULES: usize = 30;
    let rules: Vec<(String, RuleRecord)> = state.scan_all(RULES, &tenant.rules_prefix(bus)).await?;
    let others = rules
        .iter()
        .filter(|(name, rule)| {
            name != replacing
                && rule.event_pattern.as_deref().is_some_and(|pattern| {
                    Pattern::parse(pattern).is_ok_and(|p| p.uses_wildcards())
                })
        })
        .count();
    if others >= MAX_WILDCARD_RULES {
        return Err(errors::limit_exceeded_exception(format!(
            "The event bus {bus} already has {MAX_WILDCARD_RULES} rules with wildcard filters, \
             the maximum."
        )));
    }
    Ok(())
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeRuleRequest,
) -> Result<DescribeRuleResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    let rule = state.rule(&tenant, &bus, &input.name).await?.value;
    let summary = summary(&tenant, rule.clone());
    Ok(DescribeRuleResponse {
        name: summary.name,
        arn: summary.arn,
        event_pattern: summary.event_pattern,
        schedule_expression: summary.schedule_expression,
        state: summary.state,
        description: summary.description,
        role_arn: summary.role_arn,
        managed_by: None,
        event_bus_name: summary.event_bus_name,
        created_by: Some(rule.created_by),
    })
}

fn summary(tenant: &Tenant, rule: RuleRecord) -> Rule {
    Rule {
        arn: Some(tenant.rule_arn(&rule.bus, &rule.name)),
        name: Some(rule.name),
        event_pattern: rule.event_pattern,
        state: Some(RuleState::from(rule.state.as_str())),
        description: rule.description,
        schedule_expression: rule.schedule_expression,
        role_arn: rule.role_arn,
        managed_by: None,
        event_bus_name: Some(rule.bus),
    }
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListRulesRequest,
) -> Result<ListRulesResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    state.require_bus(&tenant, &bus).await?;
    let name_prefix = input.name_prefix.unwrap_or_default();
    let limit = page_size(input.limit);
    let prefix = format!("{}{name_prefix}", tenant.rules_prefix(&bus));
    let after = input
        .next_token
        .as_deref()
        .and_then(|token| token.strip_prefix(name_prefix.as_str()))
        .map(str::to_owned);
    let mut page: Vec<(String, RuleRecord)> = state
        .scan_page(RULES, &prefix, after.as_deref(), limit + 1)
        .await?;
    let next_token = paginate(&mut page, limit, |(_, rule)| rule.name.clone());
    Ok(ListRulesResponse {
        rules: Some(
            page.into_iter()
                .map(|(_, rule)| summary(&tenant, rule))
                .collect(),
        ),
        next_token,
    })
}

pub(crate) async fn delete(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeleteRuleRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    let key = tenant.rule_key(&bus, &input.name);
    state
        .mutate(|| async {
            let Some(rule) = state.get::<RuleRecord>(RULES, &key).await? else {
                return Ok((Transaction::new(), ()));
            };
            if !rule.value.targets.is_empty() {
                return Err(ServiceError::validation(
                    "Rule can't be deleted since it has targets.",
                ));
            }
            let txn = Transaction::new()
                .expect_version(RULES, &key, rule.version)
                .delete(RULES, &key)
                .delete(TAGS, &tenant.rule_arn(&bus, &input.name));
            Ok((txn, ()))
        })
        .await?;
    state.forget_machine(&tenant, &bus);
    Ok(())
}

pub(crate) async fn set_state(
    state: &EventsState,
    ctx: &RequestContext,
    name: &str,
    bus: Option<&str>,
    enabled: bool,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(bus);
    let wanted = if enabled {
        RuleState::Enabled
    } else {
        RuleState::Disabled
    };
    state
        .update_rule(&tenant, &bus, name, |rule| {
            rule.state = wanted.as_str().to_owned();
            Ok(())
        })
        .await
}

pub(crate) async fn names_by_target(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListRuleNamesByTargetRequest,
) -> Result<ListRuleNamesByTargetResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    state.require_bus(&tenant, &bus).await?;
    let limit = page_size(input.limit);
    let rules: Vec<(String, RuleRecord)> =
        state.scan_all(RULES, &tenant.rules_prefix(&bus)).await?;
    let mut names: Vec<String> = rules
        .into_iter()
        .filter(|(name, rule)| {
            input
                .next_token
                .as_deref()
                .is_none_or(|after| name.as_str() > after)
                && rule.targets.iter().any(|target| {
                    target.get("Arn").and_then(serde_json::Value::as_str)
                        == Some(input.target_arn.as_str())
                })
        })
        .map(|(name, _)| name)
        .collect();
    let next_token = paginate(&mut names, limit, String::clone);
    Ok(ListRuleNamesByTargetResponse {
        rule_names: Some(names),
        next_token,
    })
}
