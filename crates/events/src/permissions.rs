//! Event bus permissions: each bus's resource-based policy, set by `PutPermission` (a whole
//! document in `Policy`, or one statement built from `Principal`, `Action`, `StatementId` and
//! `Condition`), trimmed by `RemovePermission`, shown by `DescribeEventBus` and
//! `ListEventBuses`.
//!
//! The policy is enforced in two places. The server's authorizer reads it through
//! [`EventsState::bus_policy`] and decides calls on the bus with it, as AWS does; that is what
//! lets another account's principal `PutEvents` to the bus named by its ARN. Delivery asks
//! [`allows_forwarding`] before it forwards an event to a bus of another account: the policy
//! must allow the rule's account (its root, as AWS's legacy grants name it) or, when the target
//! has a `RoleArn`, that role. The role's own identity policies are not evaluated here, since
//! this crate cannot read IAM: the bus owner's policy is the check, the role is taken to allow
//! `events:PutEvents`. Nor can a delivery carry `aws:PrincipalOrgID`, so a grant to an
//! organization does not let events be forwarded.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_policy::{Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request};
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::EventsState;
use crate::buses::{DEFAULT, bus_name};
use crate::db::{BUSES, POLICIES, Tenant, plain};
use crate::records::BusRecord;

/// AWS's quota: "The permission policy on the event bus cannot exceed 10 KB in size."
const MAX_POLICY_BYTES: usize = 10 * 1024;

/// The one action `PutPermission`'s `Action` may name, and the one delivery is decided on.
const PUT_EVENTS: &str = "events:PutEvents";

/// A bus's resource-based policy, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PolicyRecord {
    pub document: String,
}

/// The account that owns an event bus and the bus's resource-based policy, as the server's
/// authorizer decides calls on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusPolicy {
    pub account: String,
    /// None when the bus has no policy, or does not exist.
    pub document: Option<String>,
}

impl EventsState {
    /// The owner and policy of the bus `arn` names; `None` when `arn` names no event bus.
    pub async fn bus_policy(&self, arn: &str) -> Result<Option<BusPolicy>, ServiceError> {
        let Some((tenant, bus)) = bus_of_arn(arn) else {
            return Ok(None);
        };
        let document = self.policy_of(&tenant, bus).await?;
        Ok(Some(BusPolicy {
            account: tenant.account,
            document,
        }))
    }

    /// The policy document of `bus`, if it has one.
    pub(crate) async fn policy_of(
        &self,
        tenant: &Tenant,
        bus: &str,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self
            .get::<PolicyRecord>(POLICIES, &tenant.key(bus))
            .await?
            .map(|stored| stored.value.document))
    }

    /// Replaces the policy of `bus` with what `change` makes of the current one (`None`: no
    /// policy), in one transaction that pins the bus, so a policy never outlives its bus.
    async fn change_policy(
        &self,
        tenant: &Tenant,
        bus: &str,
        change: impl Fn(Option<&str>) -> Result<Option<String>, ServiceError>,
    ) -> Result<(), ServiceError> {
        let key = tenant.key(bus);
        self.mutate(|| async {
            let mut txn = Transaction::new();
            if bus != DEFAULT {
                let Some(stored) = self.get::<BusRecord>(BUSES, &key).await? else {
                    return Err(errors::resource_not_found_exception(format!(
                        "Event bus {bus} does not exist."
                    )));
                };
                txn = txn.expect_version(BUSES, &key, stored.version);
            }
            let current = self.get::<PolicyRecord>(POLICIES, &key).await?;
            txn = match &current {
                Some(stored) => txn.expect_version(POLICIES, &key, stored.version),
                None => txn.expect_absent(POLICIES, &key),
            };
            let changed = change(
                current
                    .as_ref()
                    .map(|stored| stored.value.document.as_str()),
            )?;
            txn = match changed {
                Some(document) => txn.put(POLICIES, &key, plain(&PolicyRecord { document })?),
                None => txn.delete(POLICIES, &key),
            };
            Ok((txn, ()))
        })
        .await
    }
}

pub(crate) async fn put(
    state: &EventsState,
    ctx: &RequestContext,
    input: PutPermissionRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    let change = match &input.policy {
        Some(document) => {
            if input.action.is_some()
                || input.principal.is_some()
                || input.statement_id.is_some()
                || input.condition.is_some()
            {
                return Err(ServiceError::validation(
                    "Parameter Policy cannot be specified together with Action, Principal, \
                     StatementId or Condition.",
                ));
            }
            Change::Replace(document.clone())
        }
        None => Change::Add(statement(&input, &tenant.bus_arn(&bus))?),
    };
    state
        .change_policy(&tenant, &bus, |current| {
            let document = match &change {
                Change::Replace(document) => document.clone(),
                Change::Add(statement) => with_statement(current, statement)?,
            };
            checked(&document)?;
            Ok(Some(document))
        })
        .await
}

pub(crate) async fn remove(
    state: &EventsState,
    ctx: &RequestContext,
    input: RemovePermissionRequest,
) -> Result<(), ServiceError> {
    let tenant = Tenant::of(ctx);
    let bus = bus_name(input.event_bus_name.as_deref());
    if input.remove_all_permissions == Some(true) {
        return state.change_policy(&tenant, &bus, |_| Ok(None)).await;
    }
    let Some(sid) = input.statement_id else {
        return Err(ServiceError::validation(
            "Parameter StatementId must be specified unless RemoveAllPermissions is true.",
        ));
    };
    state
        .change_policy(&tenant, &bus, |current| {
            let Some(current) = current else {
                return Err(errors::resource_not_found_exception(
                    "EventBus does not have a policy.",
                ));
            };
            without_statement(current, &sid)
        })
        .await
}

/// What `PutPermission` does to a bus's policy.
enum Change {
    /// The `Policy` form: the whole document.
    Replace(String),
    /// The statement of the `Principal` form, replacing one with its `Sid`.
    Add(Value),
}

/// The statement AWS makes of the `Principal` form: `Principal` an account (its root) or `*`,
/// `Condition` the one kind AWS takes, an organization.
fn statement(input: &PutPermissionRequest, bus_arn: &str) -> Result<Value, ServiceError> {
    let required = |value: &Option<String>, member: &str| {
        value.clone().ok_or_else(|| {
            ServiceError::validation(format!(
                "Parameter {member} must be specified when Policy is not."
            ))
        })
    };
    let action = required(&input.action, "Action")?;
    let principal = required(&input.principal, "Principal")?;
    let sid = required(&input.statement_id, "StatementId")?;
    if action != PUT_EVENTS {
        return Err(ServiceError::validation(
            "Provided value in parameter 'action' is not supported.",
        ));
    }
    let principal = if principal == "*" {
        json!("*")
    } else {
        json!({ "AWS": format!("arn:aws:iam::{principal}:root") })
    };
    let mut statement = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": bus_arn,
    });
    if let Some(condition) = &input.condition {
        if condition.r#type != "StringEquals" {
            return Err(ServiceError::validation(
                "Provided value in parameter 'condition.type' is not supported.",
            ));
        }
        if condition.key != "aws:PrincipalOrgID" {
            return Err(ServiceError::validation(
                "Provided value in parameter 'condition.key' is not supported.",
            ));
        }
        if let Some(fields) = statement.as_object_mut() {
            fields.insert(
                "Condition".to_owned(),
                json!({ "StringEquals": { "aws:PrincipalOrgID": condition.value } }),
            );
        }
    }
    Ok(statement)
}

/// `current` (or a new policy) with `statement`, in place of any statement of the same `Sid`.
fn with_statement(current: Option<&str>, statement: &Value) -> Result<String, ServiceError> {
    let mut document = match current {
        Some(current) => parsed(current)?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    let sid = statement.get("Sid");
    let mut statements = statements_of(&document);
    statements.retain(|kept| kept.get("Sid") != sid);
    statements.push(statement.clone());
    set_statements(&mut document, statements);
    Ok(document.to_string())
}

/// `current` without its statement `sid`; `None` when none is left.
fn without_statement(current: &str, sid: &str) -> Result<Option<String>, ServiceError> {
    let mut document = parsed(current)?;
    let mut statements = statements_of(&document);
    let before = statements.len();
    statements.retain(|kept| kept.get("Sid").and_then(Value::as_str) != Some(sid));
    if statements.len() == before {
        return Err(errors::resource_not_found_exception(
            "Statement with the provided id does not exist.",
        ));
    }
    if statements.is_empty() {
        return Ok(None);
    }
    set_statements(&mut document, statements);
    Ok(Some(document.to_string()))
}

/// A stored document, which was valid JSON when put.
fn parsed(document: &str) -> Result<Value, ServiceError> {
    serde_json::from_str(document).map_err(|error| {
        ServiceError::internal(format!("a stored bus policy is unreadable: {error}"))
    })
}

/// A document's statements, a single one (an object) included.
fn statements_of(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => statements.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => Vec::new(),
    }
}

fn set_statements(document: &mut Value, statements: Vec<Value>) {
    if let Some(fields) = document.as_object_mut() {
        fields.insert("Statement".to_owned(), Value::Array(statements));
    }
}

/// Refuses a document IAM's grammar for resource policies refuses, or one over AWS's quota.
fn checked(document: &str) -> Result<(), ServiceError> {
    if document.len() > MAX_POLICY_BYTES {
        return Err(errors::policy_length_exceeded_exception(
            "The event bus policy is too long.",
        ));
    }
    Policy::parse_with(document, &ParseOptions::new(PolicyKind::Resource))
        .map_err(|error| ServiceError::validation(error.message().to_owned()))?;
    Ok(())
}

/// The tenant and name of the bus `arn:<partition>:events:<region>:<account>:event-bus/<name>`.
pub(crate) fn bus_of_arn(arn: &str) -> Option<(Tenant, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("events"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = rest
        .strip_prefix("event-bus/")
        .filter(|name| !name.is_empty())?;
    if region.is_empty() || account.is_empty() {
        return None;
    }
    Some((
        Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        },
        name,
    ))
}

/// What a rule forwarding an event to a bus of another account is, as the bus's policy sees it.
pub(crate) struct Forwarding<'a> {
    /// The account whose rule forwards.
    pub source_account: &'a str,
    /// The target's `RoleArn`, when it has one.
    pub role_arn: Option<&'a str>,
    /// The bus forwarded to.
    pub bus_account: &'a str,
    pub bus_arn: &'a str,
    /// The event, whose `source` and `detail-type` a policy may test.
    pub event: &'a Value,
}

/// Whether the bus policy `document` allows `forwarding` (none allows nothing).
pub(crate) fn allows_forwarding(document: Option<&str>, forwarding: &Forwarding<'_>) -> bool {
    let Some(policy) = document.and_then(|document| {
        Policy::parse_with(document, &ParseOptions::new(PolicyKind::Resource)).ok()
    }) else {
        return false;
    };
    let source = forwarding.source_account;
    let root = format!("arn:aws:iam::{source}:root");
    let session;
    let (principal, principal_arn) = match forwarding.role_arn {
        Some(role_arn) => {
            let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
            session = format!("arn:aws:sts::{source}:assumed-role/{name}/events");
            (Principal::assumed_role(&session, role_arn), role_arn)
        }
        None => (Principal::root(&root), root.as_str()),
    };
    let text = |field: &str| {
        forwarding
            .event
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let context = Context::new()
        .with("aws:PrincipalAccount", source)
        .with("aws:PrincipalArn", principal_arn)
        .with("events:source", text("source"))
        .with("events:detail-type", text("detail-type"));
    // The role's identity side, which IAM would decide, is taken to allow (see the module's
    // documentation).
    let role_allows = Policy::parse_with(
        &json!({
            "Version": "2012-10-17",
            "Statement": { "Effect": "Allow", "Action": PUT_EVENTS, "Resource": forwarding.bus_arn },
        })
        .to_string(),
        &ParseOptions::new(PolicyKind::Identity),
    )
    .ok();
    let identity: Vec<&Policy> = role_allows.iter().collect();
    let request = Request {
        principal,
        action: PUT_EVENTS,
        resource: forwarding.bus_arn,
        context: &context,
    };
    let set = PolicySet {
        identity: &identity,
        resource: Some(&policy),
        principal_account: source,
        resource_account: forwarding.bus_account,
        ..PolicySet::default()
    };
    palisade_policy::evaluate(&request, &set).is_allowed()
}

#[cfg(test)]
mod tests {
    use palisade_core::service::{CommonError, ErrorKind};

    use super::*;

    const BUS: &str = "arn:aws:events:us-east-1:111111111111:event-bus/central";

    fn legacy(principal: &str, sid: &str) -> PutPermissionRequest {
        PutPermissionRequest {
            action: Some(PUT_EVENTS.to_owned()),
            principal: Some(principal.to_owned()),
            statement_id: Some(sid.to_owned()),
            ..PutPermissionRequest::default()
        }
    }

    fn forwarding<'a>(
        source: &'a str,
        role_arn: Option<&'a str>,
        event: &'a Value,
    ) -> Forwarding<'a> {
        Forwarding {
            source_account: source,
            role_arn,
            bus_account: "111111111111",
            bus_arn: BUS,
            event,
        }
    }

    #[test]
    fn the_principal_form_makes_the_statement_aws_makes() {
        let made = statement(&legacy("222222222222", "b"), BUS).unwrap();
        assert_eq!(
            made,
            json!({
                "Sid": "b",
                "Effect": "Allow",
                "Principal": { "AWS": "arn:aws:iam::222222222222:root" },
                "Action": "events:PutEvents",
                "Resource": BUS,
            })
        );
        let mut organization = legacy("*", "org");
        organization.condition = Some(Condition {
            r#type: "StringEquals".to_owned(),
            key: "aws:PrincipalOrgID".to_owned(),
            value: "o-abc".to_owned(),
        });
        let made = statement(&organization, BUS).unwrap();
        assert_eq!(made["Principal"], json!("*"));
        assert_eq!(
            made["Condition"],
            json!({ "StringEquals": { "aws:PrincipalOrgID": "o-abc" } })
        );
    }

    #[test]
    fn the_principal_form_is_validated() {
        let mut other_action = legacy("222222222222", "b");
        other_action.action = Some("events:PutRule".to_owned());
        let mut no_sid = legacy("222222222222", "b");
        no_sid.statement_id = None;
        let mut other_key = legacy("*", "b");
        other_key.condition = Some(Condition {
            r#type: "StringEquals".to_owned(),
            key: "aws:SourceAccount".to_owned(),
            value: "x".to_owned(),
        });
        for refused in [other_action, no_sid, other_key] {
            let error = statement(&refused, BUS).unwrap_err();
            assert_eq!(
                error.common_kind(),
                Some(CommonError::Validation),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn statements_are_added_replaced_and_removed_by_sid() {
        let first = statement(&legacy("222222222222", "b"), BUS).unwrap();
        let document = with_statement(None, &first).unwrap();
        let second = statement(&legacy("333333333333", "c"), BUS).unwrap();
        let document = with_statement(Some(&document), &second).unwrap();
        let again = statement(&legacy("444444444444", "b"), BUS).unwrap();
        let document = with_statement(Some(&document), &again).unwrap();
        let statements = statements_of(&parsed(&document).unwrap());
        let sids: Vec<&str> = statements
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, ["c", "b"]);
        assert!(checked(&document).is_ok());

        let missing = without_statement(&document, "z").unwrap_err();
        assert_eq!(
            missing.message,
            "Statement with the provided id does not exist."
        );
        let document = without_statement(&document, "b").unwrap().unwrap();
        assert_eq!(without_statement(&document, "c").unwrap(), None);
    }

    #[test]
    fn policies_are_checked_for_grammar_and_size() {
        let invalid = |document: &str| checked(document).unwrap_err().common_kind();
        assert_eq!(invalid("{"), Some(CommonError::Validation));
        let no_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}}"#;
        assert_eq!(invalid(no_principal), Some(CommonError::Validation));
        let long = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"*"}}}}"#,
            "a".repeat(MAX_POLICY_BYTES)
        );
        let error = checked(&long).unwrap_err();
        assert!(matches!(
            &error.kind,
            ErrorKind::Modeled { code, .. } if code == "PolicyLengthExceededException"
        ));
    }

    #[test]
    fn bus_arns_name_their_owner() {
        let (tenant, name) = bus_of_arn(BUS).unwrap();
        assert_eq!(
            (tenant.account.as_str(), tenant.region.as_str(), name),
            ("111111111111", "us-east-1", "central")
        );
        for other in [
            "arn:aws:events:us-east-1:111111111111:rule/r",
            "arn:aws:events:us-east-1:111111111111:event-bus/",
            "arn:aws:logs:us-east-1:111111111111:event-bus/x",
            "central",
        ] {
            assert_eq!(bus_of_arn(other), None, "{other}");
        }
    }

    #[test]
    fn forwarding_needs_the_bus_policy_to_allow_the_account_or_role() {
        let event = json!({ "source": "app.orders", "detail-type": "Created" });
        let by_account =
            with_statement(None, &statement(&legacy("222222222222", "b"), BUS).unwrap()).unwrap();
        assert!(allows_forwarding(
            Some(&by_account),
            &forwarding("222222222222", None, &event)
        ));
        let role = "arn:aws:iam::222222222222:role/path/forwarder";
        assert!(allows_forwarding(
            Some(&by_account),
            &forwarding("222222222222", Some(role), &event)
        ));
        assert!(!allows_forwarding(
            Some(&by_account),
            &forwarding("333333333333", None, &event)
        ));
        assert!(!allows_forwarding(
            None,
            &forwarding("222222222222", None, &event)
        ));

        let by_role = json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow", "Principal": { "AWS": role }, "Action": "events:PutEvents",
                "Resource": BUS, "Condition": { "StringEquals": { "events:source": "app.orders" } },
            },
        })
        .to_string();
        assert!(allows_forwarding(
            Some(&by_role),
            &forwarding("222222222222", Some(role), &event)
        ));
        assert!(!allows_forwarding(
            Some(&by_role),
            &forwarding("222222222222", None, &event)
        ));
        let other = json!({ "source": "app.billing", "detail-type": "Created" });
        assert!(!allows_forwarding(
            Some(&by_role),
            &forwarding("222222222222", Some(role), &other)
        ));

        let organization = with_statement(None, &json!({
            "Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": BUS,
            "Condition": { "StringEquals": { "aws:PrincipalOrgID": "o-abc" } },
        }))
        .unwrap();
        assert!(!allows_forwarding(
            Some(&organization),
            &forwarding("222222222222", None, &event)
        ));
    }
}
