//! The IAM policy simulator. `SimulateCustomPolicy` and `SimulatePrincipalPolicy` decide each
//! action against the resources asked about with the policy engine, as the authorizer decides
//! real requests, and explain each decision as IAM does: which statements decided it, where they
//! are in their documents, which condition keys the request lacked, and what the permissions
//! boundary said. `GetContextKeysForCustomPolicy` and `GetContextKeysForPrincipalPolicy` list the
//! condition keys the policies read, so that a caller knows which `ContextEntries` to give.
//!
//! The simulation knows only what the call gives it: no request supplies `aws:SourceIp` or
//! `aws:CurrentTime` by itself, only the `ContextEntries` do. Since IAM now answers with one
//! `EvaluationResult` per action, several `ResourceArns` give one result whose decision is the
//! most restrictive of the resources' and whose `ResourceSpecificResults` hold each resource's.

use std::collections::BTreeMap;

use palisade_core::{AccountId, PrincipalKind, RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    ContextEntry, EvaluationResult, GetContextKeysForCustomPolicyRequest,
    GetContextKeysForPolicyResponse, GetContextKeysForPrincipalPolicyRequest,
    PermissionsBoundaryDecisionDetail, PolicyEvaluationDecisionType, PolicySourceType, Position,
    ResourceSpecificResult, SimulateCustomPolicyRequest, SimulatePolicyResponse,
    SimulatePrincipalPolicyRequest, Statement,
};
use palisade_policy::{
    Context, Decision, Effect, Layer, ParseOptions, Policy, PolicyKind, PolicySet, Principal,
    Request, Verdict,
};

use crate::IamState;
use crate::db::store_error;
use crate::managed_policies::name_of;
use crate::paging::PageRequest;
use crate::policy_layout::{self, StatementPlace};
use crate::principals::{PolicySource, PolicyText, PrincipalPolicies};
use crate::records::{GroupRecord, PolicyHolder, RoleRecord, UserRecord};

/// `ResourceHandlingOption`'s values: the EC2 scenarios the simulator knows.
const RESOURCE_HANDLING_OPTIONS: &[&str] = &[
    "EC2-Classic-InstanceStore",
    "EC2-Classic-EBS",
    "EC2-VPC-InstanceStore",
    "EC2-VPC-InstanceStore-Subnet",
    "EC2-VPC-EBS",
    "EC2-VPC-EBS-Subnet",
];

/// The resource simulated when the caller names none.
const ALL_RESOURCES: &str = "*";

/// The [`Ask`] of either simulate request: the two are distinct generated types with the same
/// members.
macro_rules! ask_of {
    ($input:ident) => {
        Ask {
            resource_policy: $input.resource_policy,
            action_names: $input.action_names,
            resource_arns: $input.resource_arns,
            resource_owner: $input.resource_owner,
            context_entries: $input.context_entries,
            resource_handling_option: $input.resource_handling_option,
            max_items: $input.max_items,
            marker: $input.marker,
        }
    };
}

/// `SimulateCustomPolicy`: the policies are the ones given.
pub(crate) fn simulate_custom(
    ctx: &RequestContext,
    input: SimulateCustomPolicyRequest,
) -> Result<SimulatePolicyResponse, ServiceError> {
    if input.resource_policy.is_some() && input.caller_arn.is_none() {
        return Err(errors::invalid_input_exception(
            "CallerArn must be specified when a ResourcePolicy is simulated.",
        ));
    }
    let simulation = Simulation {
        identity: input_sources("PolicyInputList", &input.policy_input_list),
        boundary: boundary_input(input.permissions_boundary_policy_input_list.as_deref())?,
        caller_arn: input.caller_arn,
        ask: ask_of!(input),
    };
    simulation.run(ctx.account())
}

/// `SimulatePrincipalPolicy`: the policies of a user (with its groups'), group or role, its
/// permissions boundary, and any policies given besides.
pub(crate) async fn simulate_principal(
    iam: &IamState,
    ctx: &RequestContext,
    input: SimulatePrincipalPolicyRequest,
) -> Result<SimulatePolicyResponse, ServiceError> {
    let entity = SourceEntity::parse(&input.policy_source_arn)?;
    let policies = entity.policies(iam, ctx.account()).await?;
    let extra = input.policy_input_list.unwrap_or_default();
    let mut identity: Vec<Source> = policies.identity.iter().map(Source::stored).collect();
    identity.extend(input_sources("PolicyInputList", &extra));
    // "If a permissions boundary is attached to an entity and you pass in a different
    // permissions boundary policy using this parameter, then the new permissions boundary
    // policy is used for the simulation."
    let boundary = boundary_input(input.permissions_boundary_policy_input_list.as_deref())?
        .or_else(|| policies.boundary.as_ref().map(Source::stored));
    let caller_arn = input
        .caller_arn
        .or_else(|| (entity.kind == EntityKind::User).then(|| input.policy_source_arn.clone()));
    if input.resource_policy.is_some() && caller_arn.is_none() {
        return Err(errors::invalid_input_exception(
            "CallerArn must be specified when a ResourcePolicy is simulated and PolicySourceArn is not an IAM user.",
        ));
    }
    let simulation = Simulation {
        identity,
        boundary,
        caller_arn,
        ask: ask_of!(input),
    };
    simulation.run(ctx.account())
}

/// `GetContextKeysForCustomPolicy`.
pub(crate) fn context_keys_for_custom(
    input: &GetContextKeysForCustomPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, ServiceError> {
    let sources = input_sources("PolicyInputList", &input.policy_input_list);
    for source in &sources {
        // Any IAM policy may be asked about, resource-based ones (which name principals)
        // included; a document neither kind accepts is refused with the identity grammar's
        // reason.
        if let Err(error) = source.parse(PolicyKind::Identity) {
            source.parse(PolicyKind::Resource).map_err(|_| error)?;
        }
    }
    Ok(context_keys_response(&sources))
}

/// `GetContextKeysForPrincipalPolicy`: the keys of the entity's policies (its groups' for a
/// user, and its permissions boundary) and of the policies given besides.
pub(crate) async fn context_keys_for_principal(
    iam: &IamState,
    ctx: &RequestContext,
    input: &GetContextKeysForPrincipalPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, ServiceError> {
    let entity = SourceEntity::parse(&input.policy_source_arn)?;
    let policies = entity.policies(iam, ctx.account()).await?;
    let extra = input_sources(
        "PolicyInputList",
        input.policy_input_list.as_deref().unwrap_or_default(),
    );
    for source in &extra {
        source.parse(PolicyKind::Identity)?;
    }
    let mut sources: Vec<Source> = policies.identity.iter().map(Source::stored).collect();
    sources.extend(policies.boundary.as_ref().map(Source::stored));
    sources.extend(extra);
    Ok(context_keys_response(&sources))
}

/// The keys of every source, each once (keys are case-insensitive; the first spelling stays),
/// in the order the policies name them.
fn context_keys_response(sources: &[Source]) -> GetContextKeysForPolicyResponse {
    let mut keys: Vec<String> = Vec::new();
    for key in sources
        .iter()
        .flat_map(|source| policy_layout::context_keys(&source.document))
    {
        if !keys.iter().any(|known| known.eq_ignore_ascii_case(&key)) {
            keys.push(key);
        }
    }
    GetContextKeysForPolicyResponse {
        context_key_names: Some(keys),
    }
}

/// A policy in the simulation, and how the results name it.
#[derive(Debug, Clone)]
struct Source {
    /// `SourcePolicyId`: the policy's name, or its place in an input list
    /// (`PolicyInputList.1`).
    id: String,
    kind: PolicySourceType,
    document: String,
}

impl Source {
    /// A policy stored in IAM: an inline policy is named after its owner's kind, a managed
    /// policy after who manages it.
    fn stored(text: &PolicyText) -> Source {
        let (id, kind) = match &text.source {
            PolicySource::Inline { owner_arn, name } => {
                let kind = match SourceEntity::parse(owner_arn).map(|entity| entity.kind) {
                    Ok(EntityKind::Group) => PolicySourceType::Group,
                    Ok(EntityKind::Role) => PolicySourceType::Role,
                    Ok(EntityKind::User) | Err(_) => PolicySourceType::User,
                };
                (name.clone(), kind)
            }
            PolicySource::Managed { arn, .. } => {
                let kind = if arn.contains(":aws:policy/") {
                    PolicySourceType::AwsManaged
                } else {
                    PolicySourceType::UserManaged
                };
                (name_of(arn).to_owned(), kind)
            }
        };
        Source {
            id,
            kind,
            document: text.document.clone(),
        }
    }

    /// Parses the document as a policy of `kind`; a refusal is `InvalidInput` carrying IAM's
    /// `MalformedPolicyDocument` wording.
    fn parse(&self, kind: PolicyKind) -> Result<Policy, ServiceError> {
        Policy::parse_with(&self.document, &ParseOptions::new(kind)).map_err(|error| {
            errors::invalid_input_exception(format!(
                "Invalid policy document in {}: {}",
                self.id,
                error.message()
            ))
        })
    }
}

/// The documents of an input list, named by their 1-based place in it.
fn input_sources(list: &str, documents: &[String]) -> Vec<Source> {
    documents
        .iter()
        .enumerate()
        .map(|(index, document)| Source {
            id: format!("{list}.{}", index + 1),
            kind: PolicySourceType::None,
            document: document.clone(),
        })
        .collect()
}

/// The boundary given in `PermissionsBoundaryPolicyInputList`: "You can input only one
/// permissions boundary".
fn boundary_input(documents: Option<&[String]>) -> Result<Option<Source>, ServiceError> {
    match documents.unwrap_or_default() {
        [] => Ok(None),
        [document] => Ok(Some(Source {
            id: "PermissionsBoundaryPolicyInputList.1".to_owned(),
            kind: PolicySourceType::None,
            document: document.clone(),
        })),
        _ => Err(errors::invalid_input_exception(
            "Only one permissions boundary policy may be specified in PermissionsBoundaryPolicyInputList.",
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntityKind {
    User,
    Group,
    Role,
}

/// The user, group or role a `PolicySourceArn` names.
#[derive(Debug, Clone)]
struct SourceEntity {
    kind: EntityKind,
    account: String,
    name: String,
}

impl SourceEntity {
    /// `arn:aws:iam::<account>:user|group|role/<path/><name>`.
    fn parse(arn: &str) -> Result<SourceEntity, ServiceError> {
        let invalid = || {
            errors::invalid_input_exception(format!(
                "Invalid PolicySourceArn {arn}: it must be the ARN of an IAM user, group or role."
            ))
        };
        let mut fields = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(invalid());
        };
        let (kind, path_and_name) = resource.split_once('/').ok_or_else(invalid)?;
        let kind = match kind {
            "user" => EntityKind::User,
            "group" => EntityKind::Group,
            "role" => EntityKind::Role,
            _ => return Err(invalid()),
        };
        let name = path_and_name.rsplit('/').next().unwrap_or(path_and_name);
        if name.is_empty() {
            return Err(invalid());
        }
        Ok(SourceEntity {
            kind,
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The entity's policies; `NoSuchEntity` when it does not exist in the caller's account.
    async fn policies(
        &self,
        iam: &IamState,
        account: &AccountId,
    ) -> Result<PrincipalPolicies, ServiceError> {
        let not_found = || match self.kind {
            EntityKind::User => UserRecord::not_found(&self.name),
            EntityKind::Group => GroupRecord::not_found(&self.name),
            EntityKind::Role => RoleRecord::not_found(&self.name),
        };
        if self.account != account.as_str() {
            return Err(not_found());
        }
        let found = match self.kind {
            EntityKind::User => {
                let user = PrincipalKind::User {
                    name: self.name.clone(),
                };
                iam.principal_policies(account, &user).await
            }
            EntityKind::Role => {
                let role = PrincipalKind::AssumedRole {
                    role_name: self.name.clone(),
                    session_name: String::new(),
                };
                iam.principal_policies(account, &role).await
            }
            EntityKind::Group => iam.group_policies(account, &self.name).await,
        };
        found.map_err(store_error)?.ok_or_else(not_found)
    }
}

/// One simulation call, whichever operation made it.
struct Simulation {
    identity: Vec<Source>,
    boundary: Option<Source>,
    caller_arn: Option<String>,
    ask: Ask,
}

/// What both simulate requests ask besides the policies and the caller.
struct Ask {
    resource_policy: Option<String>,
    action_names: Vec<String>,
    resource_arns: Option<Vec<String>>,
    resource_owner: Option<String>,
    context_entries: Option<Vec<ContextEntry>>,
    resource_handling_option: Option<String>,
    max_items: Option<i32>,
    marker: Option<String>,
}

impl Simulation {
    fn run(self, account: &AccountId) -> Result<SimulatePolicyResponse, ServiceError> {
        if let Some(option) = &self.ask.resource_handling_option
            && !RESOURCE_HANDLING_OPTIONS.contains(&option.as_str())
        {
            return Err(errors::invalid_input_exception(format!(
                "Invalid ResourceHandlingOption {option}: it must be one of {}.",
                RESOURCE_HANDLING_OPTIONS.join(", ")
            )));
        }
        let page = PageRequest::new(self.ask.marker.as_deref(), self.ask.max_items)?;
        let caller_account = match &self.caller_arn {
            Some(caller) => user_account(caller)?,
            None => account.as_str().to_owned(),
        };
        let owner_account = self
            .ask
            .resource_owner
            .as_deref()
            .map(|owner| {
                owner_account_of(owner).ok_or_else(|| {
                    errors::invalid_input_exception(format!(
                        "Invalid ResourceOwner {owner}: it must be an ARN that names an account."
                    ))
                })
            })
            .transpose()?;
        let resource_source = self.ask.resource_policy.as_ref().map(|document| Source {
            id: "ResourcePolicy".to_owned(),
            kind: PolicySourceType::Resource,
            document: document.clone(),
        });
        let parsed = Parsed {
            identity: self
                .identity
                .iter()
                .map(|source| source.parse(PolicyKind::Identity))
                .collect::<Result<_, _>>()?,
            boundary: self
                .boundary
                .as_ref()
                .map(|source| source.parse(PolicyKind::Boundary))
                .transpose()?,
            resource: resource_source
                .as_ref()
                .map(|source| source.parse(PolicyKind::Resource))
                .transpose()?,
        };
        let explainer = Explainer {
            identity: self.identity.iter().map(Placed::new).collect(),
            boundary: self.boundary.as_ref().map(Placed::new),
            resource: resource_source.as_ref().map(Placed::new),
        };
        let mut context = Context::new();
        for entry in self.ask.context_entries.iter().flatten() {
            if let Some(name) = &entry.context_key_name {
                let values = entry.context_key_values.as_deref().unwrap_or_default();
                context.insert_many(name.as_str(), values.iter().map(String::as_str));
            }
        }
        // Without a caller the engine reads the principal's ARN only to match Principal
        // elements, which identity policies and boundaries do not have.
        let principal = Principal::user(self.caller_arn.as_deref().unwrap_or_default());
        let named = self
            .ask
            .resource_arns
            .as_deref()
            .filter(|arns| !arns.is_empty());
        let resources: Vec<&str> = match named {
            Some(arns) => arns.iter().map(String::as_str).collect(),
            None => vec![ALL_RESOURCES],
        };
        let identity_refs: Vec<&Policy> = parsed.identity.iter().collect();
        let results: Vec<EvaluationResult> = self
            .ask
            .action_names
            .iter()
            .map(|action| {
                let outcomes: Vec<ResourceOutcome> = resources
                    .iter()
                    .map(|resource| {
                        // Without a resource policy the simulation decides the identity
                        // side alone, wherever the resource is: there is no other side to
                        // decide.
                        let resource_account = account_of(resource)
                            .or_else(|| owner_account.clone())
                            .filter(|_| parsed.resource.is_some())
                            .unwrap_or_else(|| caller_account.clone());
                        let set = PolicySet {
                            identity: &identity_refs,
                            resource: parsed.resource.as_ref(),
                            boundary: parsed.boundary.as_ref(),
                            resource_account: &resource_account,
                            principal_account: &caller_account,
                            ..PolicySet::default()
                        };
                        let request = Request {
                            principal,
                            action,
                            resource,
                            context: &context,
                        };
                        let decision = palisade_policy::evaluate(&request, &set);
                        explainer.outcome(resource, &decision, set.boundary.is_some())
                    })
                    .collect();
                aggregate(action, outcomes, named.is_some())
            })
            .collect();
        let page = page.take(
            results
                .into_iter()
                .enumerate()
                .map(|(index, result)| (format!("{index:010}"), result)),
        );
        Ok(SimulatePolicyResponse {
            is_truncated: page.is_truncated(),
            marker: page.marker,
            evaluation_results: Some(page.items),
        })
    }
}

/// The parsed policies of a simulation.
struct Parsed {
    identity: Vec<Policy>,
    boundary: Option<Policy>,
    resource: Option<Policy>,
}

/// A source with where its statements are, to name matched statements.
struct Placed<'a> {
    source: &'a Source,
    places: Vec<StatementPlace>,
}

impl<'a> Placed<'a> {
    fn new(source: &'a Source) -> Self {
        Placed {
            source,
            places: policy_layout::statement_places(&source.document),
        }
    }

    fn statement(&self, index: usize) -> Statement {
        let position = |place: policy_layout::Place| Position {
            line: Some(place.line),
            column: Some(place.column),
        };
        let place = self.places.get(index);
        Statement {
            source_policy_id: Some(self.source.id.clone()),
            source_policy_type: Some(self.source.kind.clone()),
            start_position: place.map(|place| position(place.start)),
            end_position: place.map(|place| position(place.end)),
        }
    }
}

/// Turns decisions into IAM's words.
struct Explainer<'a> {
    identity: Vec<Placed<'a>>,
    boundary: Option<Placed<'a>>,
    resource: Option<Placed<'a>>,
}

/// The decision on one resource.
struct ResourceOutcome {
    resource: String,
    decision: PolicyEvaluationDecisionType,
    verdict: Verdict,
    matched: Vec<Statement>,
    missing: Vec<String>,
    allowed_by_boundary: Option<bool>,
}

impl Explainer<'_> {
    fn outcome(
        &self,
        resource: &str,
        decision: &Decision<'_>,
        has_boundary: bool,
    ) -> ResourceOutcome {
        let verdict = decision.effect();
        // "If any statement denies that operation, then the explicit deny overrides any allow.
        // In addition, the deny statement is the only entry included in the result."
        let matched = decision
            .matched
            .iter()
            .filter(|matched| {
                verdict != Verdict::ExplicitDeny || matched.effect() == Some(Effect::Deny)
            })
            .filter_map(|matched| {
                let placed = match matched.layer {
                    Layer::Identity => self.identity.get(matched.policy_index),
                    Layer::Boundary => self.boundary.as_ref(),
                    Layer::Resource => self.resource.as_ref(),
                    Layer::Session | Layer::Scp { .. } | Layer::Rcp { .. } => None,
                }?;
                Some(placed.statement(matched.statement_index))
            })
            .fold(Vec::new(), |mut statements, statement| {
                if !statements.contains(&statement) {
                    statements.push(statement);
                }
                statements
            });
        let allowed_by_boundary = has_boundary.then(|| {
            let boundary_effects = || {
                decision
                    .matched
                    .iter()
                    .filter(|matched| matched.layer == Layer::Boundary)
                    .filter_map(|matched| matched.effect())
            };
            boundary_effects().any(|effect| effect == Effect::Allow)
                && boundary_effects().all(|effect| effect == Effect::Allow)
        });
        ResourceOutcome {
            resource: resource.to_owned(),
            decision: decision_type(verdict),
            verdict,
            matched,
            missing: decision
                .missing_keys
                .iter()
                .map(|key| (*key).to_owned())
                .collect(),
            allowed_by_boundary,
        }
    }
}

fn decision_type(verdict: Verdict) -> PolicyEvaluationDecisionType {
    match verdict {
        Verdict::Allow => PolicyEvaluationDecisionType::Allowed,
        Verdict::ExplicitDeny => PolicyEvaluationDecisionType::ExplicitDeny,
        Verdict::ImplicitDeny => PolicyEvaluationDecisionType::ImplicitDeny,
    }
}

/// Orders verdicts from least to most restrictive.
fn restriction(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Allow => 0,
        Verdict::ImplicitDeny => 1,
        Verdict::ExplicitDeny => 2,
    }
}

/// The one result of an action: the most restrictive decision over the resources, the
/// statements and missing keys of the resources that reached it, and, when the caller named
/// resources, each resource's own result.
fn aggregate(action: &str, outcomes: Vec<ResourceOutcome>, named: bool) -> EvaluationResult {
    let verdict = outcomes
        .iter()
        .map(|outcome| outcome.verdict)
        .max_by_key(|verdict| restriction(*verdict))
        .unwrap_or(Verdict::ImplicitDeny);
    let mut matched: Vec<Statement> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for outcome in outcomes.iter().filter(|outcome| outcome.verdict == verdict) {
        for statement in &outcome.matched {
            if !matched.contains(statement) {
                matched.push(statement.clone());
            }
        }
        for key in &outcome.missing {
            if !missing.contains(key) {
                missing.push(key.clone());
            }
        }
    }
    missing.sort();
    let allowed_by_boundary = outcomes
        .iter()
        .map(|outcome| outcome.allowed_by_boundary)
        .try_fold(true, |all, allowed| allowed.map(|allowed| all && allowed));
    let boundary_detail = |allowed: Option<bool>| {
        allowed.map(|allowed| PermissionsBoundaryDecisionDetail {
            allowed_by_permissions_boundary: Some(allowed),
        })
    };
    let resource_name = match outcomes.as_slice() {
        [only] => Some(only.resource.clone()),
        _ => None,
    };
    // "If the simulation evaluates policies within the same account and includes a resource
    // ARN, then the parameter is present but the response is empty … and specifies all
    // resources (*), then the parameter is not returned."
    let decision_details = named.then(BTreeMap::new);
    let resource_specific_results = named.then(|| {
        outcomes
            .into_iter()
            .map(|outcome| ResourceSpecificResult {
                eval_resource_name: outcome.resource,
                eval_resource_decision: outcome.decision,
                matched_statements: Some(outcome.matched),
                missing_context_values: Some(outcome.missing),
                eval_decision_details: None,
                permissions_boundary_decision_detail: boundary_detail(outcome.allowed_by_boundary),
            })
            .collect()
    });
    EvaluationResult {
        eval_action_name: action.to_owned(),
        eval_resource_name: resource_name,
        eval_decision: decision_type(verdict),
        matched_statements: Some(matched),
        missing_context_values: Some(missing),
        organizations_decision_detail: None,
        permissions_boundary_decision_detail: boundary_detail(allowed_by_boundary),
        eval_decision_details: decision_details,
        resource_specific_results,
    }
}

/// The account a `CallerArn` belongs to; it must name an IAM user: "You can specify only the
/// ARN of an IAM user."
fn user_account(caller_arn: &str) -> Result<String, ServiceError> {
    match SourceEntity::parse(caller_arn) {
        Ok(SourceEntity {
            kind: EntityKind::User,
            account,
            ..
        }) if is_account_id(&account) => Ok(account),
        _ => Err(errors::invalid_input_exception(format!(
            "Invalid CallerArn {caller_arn}: it must be the ARN of an IAM user."
        ))),
    }
}

/// The account an ARN names, if it names one (S3 ARNs do not).
fn account_of(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    is_account_id(account).then(|| account.to_owned())
}

/// The account of a `ResourceOwner`, such as `arn:aws:iam::112233445566:root` (AWS's
/// documentation also writes it `arn:aws:iam::112233445566-ID:root`).
fn owner_account_of(owner: &str) -> Option<String> {
    let field = owner.split(':').nth(4)?;
    let account = field.strip_suffix("-ID").unwrap_or(field);
    is_account_id(account).then(|| account.to_owned())
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit())
}
