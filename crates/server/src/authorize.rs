//! The authorize step: may this principal do this operation to these resources?
//!
//! The pipeline calls an [`Authorizer`] after decoding and before the handler. The one the server
//! runs, [`PolicyAuthorizer`], evaluates the caller's IAM policies with the policy engine.
//!
//! What is built so far: identity-based policies (users' and roles' inline and managed policies,
//! users' group policies), permissions boundaries and STS session policies, with the global
//! condition keys and the MFA keys of sessions; the SCPs and RCPs of the caller's organization,
//! level by level from the root down (never for the management account), with
//! `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths`; and resource policies of KMS keys,
//! Secrets Manager secrets, EventBridge event buses (in the bus's account, which a bus ARN in
//! `PutEvents` may name) and CloudTrail event data stores (in the store's account, which the
//! ARN in a query statement may name). Each operation's action is `<prefix>:<Operation>`; its resource is
//! the KMS key's ARN for KMS operations that name a key (whose key policy is then evaluated as
//! AWS does, with IAM policies counting only where the key policy delegates to the account), the
//! secret's ARN for Secrets Manager operations that name an existing secret (with its resource
//! policy, if it has one), the ARNs [`crate::resources`] declares for Parameter Store, Logs,
//! EventBridge, CloudTrail, IAM and Organizations operations (each decided on its own, with the
//! service condition keys the input carries), and `*` elsewhere. A secret named by the
//! ARN of another account is that account's, and so is a KMS key named by the key or alias ARN
//! of another account (or by a ciphertext whose header names that account) in an operation AWS
//! allows across accounts: the request is then allowed only where both the caller's policies
//! and the secret's resource policy or the key policy allow it, with the RCPs of the owner's
//! organization; other resources are in the caller's account.
//!
//! KMS requests also carry KMS's condition keys (`kms:CallerAccount`, `kms:EncryptionContext:*`,
//! `kms:KeySpec`, `aws:ResourceTag/*`, ...; `palisade_kms::condition_keys` derives them), and a
//! KMS grant allows its grantee what policies leave implicitly denied (a grant's retiring
//! principal may retire it). `ReEncrypt` is decided as AWS does, as `kms:ReEncryptFrom` on its
//! source key and `kms:ReEncryptTo` on its destination key. A service calling KMS on the caller's behalf
//! ([`crate::keys::ServiceKeys`]) adds its own keys (`kms:ViaService`, `aws:CalledVia`, ...)
//! through [`Authorizer::authorize_with`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use palisade_cloudtrail::CloudTrailState;
use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::{BoxFuture, CommonError};
use palisade_core::{AccountId, PrincipalKind, RequestContext, ServiceError, Value};
use palisade_events::EventsState;
use palisade_iam::IamState;
use palisade_kms::{ConditionKey, KmsState};
use palisade_model_iam::Iam;
use palisade_model_iam::types::{GetGroupRequest, GetUserRequest};
use palisade_organizations::{OrgContext, OrgPolicyDocument, OrganizationsState};
use palisade_policy::{
    Organizations, ParseOptions, Policy, PolicyKind, PolicySet, Request, Special, Verdict,
};
use palisade_secretsmanager::{SecretFacts, SecretsManagerState};
use palisade_store::derived::Derived;
use palisade_sts::StsState;

use crate::auth::is_session_key;
use crate::resource_tags::{self, ResourceTags};
use crate::resources::{self, Declared, IamEntity, Resource};

/// Decides whether a request may proceed.
pub trait Authorizer: Send + Sync + 'static {
    /// `Ok` to proceed, or the AccessDenied error to answer.
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        model: &'static ServiceModel,
        operation: Operation,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        self.authorize_with(ctx, model, operation, input, &[])
    }

    /// [`Authorizer::authorize`] for a request that carries condition keys beyond those the
    /// authorizer derives from the caller and the input: those a service acting on the caller's
    /// behalf adds (`kms:ViaService`, `aws:CalledVia`, ...). They replace derived keys of the
    /// same name.
    fn authorize_with<'a>(
        &'a self,
        ctx: &'a RequestContext,
        model: &'static ServiceModel,
        operation: Operation,
        input: &'a Value,
        extra: &'a [ConditionKey],
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
}

/// The IAM action prefix of a service: its signing name, except where the Service
/// Authorization Reference says otherwise.
pub fn action_prefix(model: &ServiceModel) -> &'static str {
    match model.signing_name {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

/// Actions the pipeline does not pre-check: AWS lets every authenticated caller call
/// `GetCallerIdentity` and `GetSessionToken` ("No permissions are required"), and `AssumeRole`
/// is decided by its handler, which evaluates the role's trust policy together with the
/// caller's policies.
const UNRESTRICTED: &[&str] = &[
    "sts:GetCallerIdentity",
    "sts:GetSessionToken",
    "sts:AssumeRole",
];

/// Parsed policies kept by document text; past this many the cache starts over.
const MAX_CACHED_POLICIES: usize = 10_000;
/// Principals, and accounts, whose parsed policies are kept; past this many each cache starts
/// over.
const MAX_CACHED_PRINCIPALS: usize = 10_000;

/// A principal's identity-based policies and permissions boundary, parsed.
#[derive(Default)]
struct ParsedIdentity {
    identity: Vec<Arc<Policy>>,
    boundary: Option<Arc<Policy>>,
}

/// An account's organization, with the SCPs and RCPs that bind it parsed, level by level.
struct ParsedOrganization {
    context: OrgContext,
    scps: Vec<Vec<Arc<Policy>>>,
    rcps: Vec<Vec<Arc<Policy>>>,
}

/// Evaluates IAM policies.
pub struct PolicyAuthorizer {
    iam: Arc<IamState>,
    sts: Arc<StsState>,
    kms: Arc<KmsState>,
    organizations: Option<Arc<OrganizationsState>>,
    /// Set once the service exists: it encrypts through KMS, whose calls this authorizer decides.
    secrets: OnceLock<Arc<SecretsManagerState>>,
    /// Set once the service exists: EventBridge calls on an event bus are decided with the bus's
    /// resource policy, in the bus's account.
    buses: OnceLock<Arc<EventsState>>,
    /// Set once the service exists: CloudTrail calls on an event data store are decided with
    /// its resource policy, in its account.
    event_data_stores: OnceLock<Arc<CloudTrailState>>,
    /// Set once the services exist; until then no resource has tags.
    resource_tags: OnceLock<Arc<ResourceTags>>,
    /// By kind, then by document text (looked up by `&str`, so a hit copies nothing).
    parsed: Mutex<HashMap<PolicyKind, HashMap<String, Arc<Policy>>>>,
    /// Each principal's parsed policies, until IAM is next written: gathering them from the
    /// store costs far more than deciding on them.
    identities: Derived<(AccountId, PrincipalKind), Arc<ParsedIdentity>>,
    /// Each account's parsed organization policies, until Organizations is next written.
    organizations_of: Derived<AccountId, Option<Arc<ParsedOrganization>>>,
}

impl PolicyAuthorizer {
    /// An authorizer reading principals' policies from IAM, sessions' from STS and key policies
    /// from KMS.
    pub fn new(iam: Arc<IamState>, sts: Arc<StsState>, kms: Arc<KmsState>) -> Self {
        Self {
            iam,
            sts,
            kms,
            organizations: None,
            secrets: OnceLock::new(),
            buses: OnceLock::new(),
            event_data_stores: OnceLock::new(),
            resource_tags: OnceLock::new(),
            parsed: Mutex::new(HashMap::new()),
            identities: Derived::new(MAX_CACHED_PRINCIPALS),
            organizations_of: Derived::new(MAX_CACHED_PRINCIPALS),
        }
    }

    /// Also evaluates SCPs and RCPs, and supplies `aws:PrincipalOrgID` and
    /// `aws:PrincipalOrgPaths`, from the accounts' organization.
    pub fn with_organizations(mut self, organizations: Arc<OrganizationsState>) -> Self {
        self.organizations = Some(organizations);
        self
    }

    /// From now on, decides Secrets Manager calls that name a secret on the secret's ARN, with
    /// its resource policy. Later calls change nothing.
    pub fn attach_secrets(&self, secrets: Arc<SecretsManagerState>) {
        let _ = self.secrets.set(secrets);
    }

    /// From now on, decides EventBridge calls on an event bus (named by name, or by an ARN that
    /// may be another account's) with the bus's resource policy, in the bus's account. Later
    /// calls change nothing.
    pub fn attach_buses(&self, buses: Arc<EventsState>) {
        let _ = self.buses.set(buses);
    }

    /// From now on, decides CloudTrail calls on an event data store (named by an ARN that may be
    /// another account's) with its resource policy, in its account. Later calls change nothing.
    pub fn attach_event_data_stores(&self, cloudtrail: Arc<CloudTrailState>) {
        let _ = self.event_data_stores.set(cloudtrail);
    }

    /// From now on, supplies `aws:ResourceTag/*` of the resources other services own, read
    /// through `tags` when a policy in play tests one. Later calls change nothing.
    pub fn attach_resource_tags(&self, tags: Arc<ResourceTags>) {
        let _ = self.resource_tags.set(tags);
    }

    /// The organization of `account` with its policies parsed, when organizations are
    /// evaluated and it belongs to one.
    async fn organization_of(
        &self,
        account: &AccountId,
    ) -> Result<Option<Arc<ParsedOrganization>>, ServiceError> {
        let Some(organizations) = &self.organizations else {
            return Ok(None);
        };
        let mark = organizations.context_mark();
        if let Some(parsed) = mark.and_then(|mark| self.organizations_of.get(account, mark)) {
            return Ok(parsed);
        }
        let parsed = organizations
            .account_context(account)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?
            .map(|context| {
                Arc::new(ParsedOrganization {
                    scps: self.parse_levels(
                        PolicyKind::ServiceControl,
                        &context.service_control_policies,
                    ),
                    rcps: self.parse_levels(
                        PolicyKind::ResourceControl,
                        &context.resource_control_policies,
                    ),
                    context,
                })
            });
        if let Some(mark) = mark {
            self.organizations_of
                .keep(account.clone(), mark, parsed.clone());
        }
        Ok(parsed)
    }

    /// The identity-based policies and permissions boundary of `principal`, parsed; none when
    /// it no longer exists.
    async fn identity_of(
        &self,
        principal: &palisade_core::Principal,
    ) -> Result<Arc<ParsedIdentity>, ServiceError> {
        let key = (principal.account.clone(), principal.kind.clone());
        let mark = self.iam.policies_mark();
        if let Some(parsed) = mark.and_then(|mark| self.identities.get(&key, mark)) {
            return Ok(parsed);
        }
        let policies = self
            .iam
            .principal_policies(&principal.account, &principal.kind)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?
            .unwrap_or_default();
        let parsed = Arc::new(ParsedIdentity {
            identity: policies
                .identity
                .iter()
                .filter_map(|text| self.parse(PolicyKind::Identity, &text.document))
                .collect(),
            boundary: policies
                .boundary
                .as_ref()
                .and_then(|text| self.parse(PolicyKind::Boundary, &text.document)),
        });
        if let Some(mark) = mark {
            self.identities.keep(key, mark, Arc::clone(&parsed));
        }
        Ok(parsed)
    }

    /// Each level's organization policies, parsed.
    fn parse_levels(
        &self,
        kind: PolicyKind,
        levels: &[Vec<OrgPolicyDocument>],
    ) -> Vec<Vec<Arc<Policy>>> {
        levels
            .iter()
            .map(|level| {
                level
                    .iter()
                    .filter_map(|attached| self.parse(kind, &attached.document))
                    .collect()
            })
            .collect()
    }

    /// Parses `document` once; stored documents were validated when they were written, so a
    /// failure here means the document no longer parses, and it is left out (which can only
    /// deny more, never allow more).
    fn parse(&self, kind: PolicyKind, document: &str) -> Option<Arc<Policy>> {
        if let Ok(cache) = self.parsed.lock()
            && let Some(policy) = cache.get(&kind).and_then(|by_text| by_text.get(document))
        {
            return Some(Arc::clone(policy));
        }
        let policy = match Policy::parse_with(document, &ParseOptions::new(kind)) {
            Ok(policy) => Arc::new(policy),
            Err(error) => {
                tracing::warn!(%error, "a stored policy no longer parses; ignoring it");
                return None;
            }
        };
        if let Ok(mut cache) = self.parsed.lock() {
            if cache.values().map(HashMap::len).sum::<usize>() >= MAX_CACHED_POLICIES {
                cache.clear();
            }
            cache
                .entry(kind)
                .or_default()
                .insert(document.to_owned(), Arc::clone(&policy));
        }
        Some(policy)
    }

    async fn decide(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        operation: Operation,
        input: &Value,
        extra: &[ConditionKey],
    ) -> Result<(), ServiceError> {
        if model.name == "kms" && operation.name == "ReEncrypt" {
            // AWS authorizes ReEncrypt as two actions, each on its own key: kms:ReEncryptFrom
            // on the key that decrypts, kms:ReEncryptTo on the key that encrypts.
            let destination = input.get("DestinationKeyId").and_then(Value::as_str);
            self.decide_action(
                ctx,
                model,
                "ReEncryptFrom",
                kms_key_named(ctx, input).as_deref(),
                None,
                input,
                extra,
            )
            .await?;
            return self
                .decide_action(ctx, model, "ReEncryptTo", destination, None, input, extra)
                .await;
        }
        // Request tags are derived keys: they go before those a calling service adds.
        let tagged;
        let extra = match model.name {
            "kms" => extra,
            _ => {
                let request_tags = resources::request_tags(input);
                if request_tags.is_empty() {
                    extra
                } else {
                    tagged = [request_tags.as_slice(), extra].concat();
                    tagged.as_slice()
                }
            }
        };
        // An operation IAM knows by another action (the Service Authorization Reference).
        let action = match (model.name, operation.name) {
            ("cloudtrail", "ListInsightsMetricData") => "LookupEvents",
            (_, name) => name,
        };
        let scope = resources::Scope {
            account: ctx.principal.account.as_str(),
            region: ctx.region.as_str(),
            caller_arn: &ctx.principal.arn,
        };
        if let Some(declared) = resources::declared(model.name, operation.name, input, &scope) {
            return self
                .decide_declared(ctx, model, action, declared, input, extra)
                .await;
        }
        let key_id = kms_key_named(ctx, input).filter(|_| model.name == "kms");
        self.decide_action(ctx, model, action, key_id.as_deref(), None, input, extra)
            .await
    }

    /// Decides the operation `name` on each resource the table declares for it, with the
    /// service's condition keys from the input; denied if any one is denied.
    async fn decide_declared(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        name: &str,
        declared: Declared,
        input: &Value,
        extra: &[ConditionKey],
    ) -> Result<(), ServiceError> {
        let arns = self.resource_arns(ctx, declared.resources).await?;
        // Keys a calling service adds replace derived keys of the same name, so they go last.
        let mut condition_keys = declared.condition_keys;
        condition_keys.extend_from_slice(extra);
        if arns.is_empty() {
            return self
                .decide_action(ctx, model, name, None, None, input, &condition_keys)
                .await;
        }
        for arn in &arns {
            self.decide_action(ctx, model, name, None, Some(arn), input, &condition_keys)
                .await?;
        }
        Ok(())
    }

    /// The ARNs of declared resources: an IAM entity's with its path, an Organizations entity's
    /// with the caller's organization (left out when the caller is in none).
    async fn resource_arns(
        &self,
        ctx: &RequestContext,
        resources: Vec<Resource>,
    ) -> Result<Vec<String>, ServiceError> {
        let mut arns = Vec::with_capacity(resources.len());
        for resource in resources {
            match resource {
                Resource::Arn(arn) => arns.push(arn),
                Resource::Iam { entity, name } => {
                    arns.push(self.iam_arn(ctx, entity, &name).await?)
                }
                Resource::Organizations { entity, id } => {
                    if let Some(organization) = self.organization_of(&ctx.principal.account).await?
                    {
                        let organization = &organization.context;
                        arns.push(entity.arn(
                            &organization.management_account_id,
                            &organization.organization_id,
                            &id,
                        ));
                    }
                }
            }
        }
        Ok(arns)
    }

    /// The ARN of the IAM user, group or role `name` in the caller's account, with the path it
    /// was created with; with the default path `/` when it does not exist, as AWS names it then.
    async fn iam_arn(
        &self,
        ctx: &RequestContext,
        entity: IamEntity,
        name: &str,
    ) -> Result<String, ServiceError> {
        let found = match entity {
            IamEntity::User => self
                .iam
                .get_user(
                    ctx,
                    GetUserRequest {
                        user_name: Some(name.to_owned()),
                    },
                )
                .await
                .map(|response| Some(response.user.arn)),
            IamEntity::Group => self
                .iam
                .get_group(
                    ctx,
                    GetGroupRequest {
                        group_name: name.to_owned(),
                        marker: None,
                        max_items: Some(1),
                    },
                )
                .await
                .map(|response| Some(response.group.arn)),
            IamEntity::Role => self
                .iam
                .role(&ctx.principal.account, name)
                .await
                .map(|role| role.map(|role| role.arn))
                .map_err(|error| ServiceError::internal(error.to_string())),
        };
        match found {
            Ok(Some(arn)) => Ok(arn),
            // A failure of the server is not a missing entity.
            Err(error) if error.common_kind() == Some(CommonError::InternalFailure) => Err(error),
            Ok(None) | Err(_) => Ok(entity.arn(ctx.principal.account.as_str(), "/", name)),
        }
    }

    /// Decides the action `<prefix>:<name>`: on the KMS key `key_id` where one is named, else
    /// on `declared_resource` (from [`resources`]) where there is one.
    #[expect(
        clippy::too_many_arguments,
        reason = "the authorizer's one decision step: each argument is a part of the request decided"
    )]
    async fn decide_action(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        name: &str,
        key_id: Option<&str>,
        declared_resource: Option<&str>,
        input: &Value,
        extra: &[ConditionKey],
    ) -> Result<(), ServiceError> {
        let action = format!("{}:{name}", action_prefix(model));
        if UNRESTRICTED.contains(&action.as_str()) {
            return Ok(());
        }
        // A KMS key's policy governs every use of the key, the root user's included: IAM
        // policies count only where the key policy delegates to the account.
        let is_kms = model.name == "kms";
        let key = match key_id {
            Some(key_id) => self.kms.key_facts(ctx, name, key_id).await,
            None => None,
        };
        let principal = &ctx.principal;
        let session_key = is_session_key(&principal.access_key_id);
        let secret_id = input
            .get("SecretId")
            .and_then(Value::as_str)
            .filter(|_| model.name == "secretsmanager");
        // The account whose resource the request acts on: another account's only for a secret
        // named by its ARN, or a KMS key used by its ARN in an operation AWS allows across
        // accounts (cross-account access, where both accounts' policies must allow).
        // A resource a declared resource names whose service keeps a resource policy for it (an
        // event bus, an event data store): its account and its policy.
        let owned = match (model.name, declared_resource) {
            ("events", Some(arn)) => match self.buses.get() {
                Some(buses) => buses
                    .bus_policy(arn)
                    .await?
                    .map(|bus| (bus.account, bus.document)),
                None => None,
            },
            ("cloudtrail", Some(arn)) => match self.event_data_stores.get() {
                Some(cloudtrail) => cloudtrail.event_data_store_policy(arn).await?,
                None => None,
            },
            _ => None,
        };
        let resource_account = match (&key, secret_id) {
            (Some(key), _) => key.account.clone(),
            (None, Some(secret_id)) => {
                palisade_secretsmanager::secret_owner(&principal.account, &ctx.region, secret_id)
            }
            (None, None) => owned
                .as_ref()
                .and_then(|(account, _)| AccountId::parse(account))
                .unwrap_or_else(|| principal.account.clone()),
        };
        let cross_account = resource_account != principal.account;
        let secret = match (self.secrets.get(), secret_id) {
            (Some(secrets), Some(secret_id)) => secrets
                .secret_facts(&principal.account, &ctx.region, secret_id)
                .await
                .map_err(|error| ServiceError::internal(error.to_string()))?,
            _ => None,
        };
        let organization = self.organization_of(&principal.account).await?;
        // RCPs are the resource owner's organization's.
        let resource_organization = if cross_account {
            self.organization_of(&resource_account).await?
        } else {
            organization.clone()
        };
        let bound_by_organization = organization
            .as_ref()
            .is_some_and(|organization| !organization.scps.is_empty())
            || resource_organization
                .as_ref()
                .is_some_and(|organization| !organization.rcps.is_empty());
        if matches!(
            principal.kind,
            PrincipalKind::Root | PrincipalKind::Anonymous
        ) && !session_key
            && key.is_none()
            && !bound_by_organization
            && !cross_account
        {
            // The root user may do everything in its own account that its organization's SCPs
            // and RCPs allow. Anonymous calls were let through by the pipeline.
            return Ok(());
        }
        let (resource, resource_policy) = match (&key, &secret) {
            (Some(facts), _) => (
                facts.arn.as_str(),
                Some(
                    self.parse(PolicyKind::Resource, facts.policy())
                        .ok_or_else(|| denied(principal, &action, &facts.arn))?,
                ),
            ),
            (None, Some(SecretFacts { arn, policy, .. })) => (
                arn.as_str(),
                policy
                    .as_deref()
                    .and_then(|policy| self.parse(PolicyKind::Resource, policy)),
            ),
            // Another account's secret that does not exist: nothing there allows.
            (None, None) if owned.is_some() => (
                declared_resource.unwrap_or("*"),
                owned
                    .as_ref()
                    .and_then(|(_, document)| document.as_deref())
                    .and_then(|policy| self.parse(PolicyKind::Resource, policy)),
            ),
            (None, None) if cross_account => (secret_id.unwrap_or("*"), None),
            (None, None) => (declared_resource.unwrap_or("*"), None),
        };
        let session = if session_key {
            self.sts
                .session(&principal.access_key_id)
                .await
                .map_err(|error| ServiceError::internal(error.to_string()))?
        } else {
            None
        };
        let role_arn = session.as_ref().and_then(|session| session.role_arn());
        let engine_principal = match (&principal.kind, role_arn) {
            (PrincipalKind::Root, _) => palisade_policy::Principal::root(&principal.arn),
            (PrincipalKind::AssumedRole { .. }, Some(role_arn)) => {
                palisade_policy::Principal::assumed_role(&principal.arn, role_arn)
            }
            (PrincipalKind::User { .. }, _) => palisade_policy::Principal::user(&principal.arn),
            _ => return Err(denied(principal, &action, resource)),
        };
        let parsed_identity = self.identity_of(principal).await?;
        let identity = &parsed_identity.identity;
        let boundary = &parsed_identity.boundary;
        let session_policies: Vec<Arc<Policy>> = session
            .iter()
            .flat_map(|session| &session.session_policies)
            .filter_map(|document| self.parse(PolicyKind::Session, document))
            .collect();
        let identity_refs: Vec<&Policy> = identity.iter().map(Arc::as_ref).collect();
        let session_refs: Vec<&Policy> = session_policies.iter().map(Arc::as_ref).collect();
        let no_levels = Vec::new();
        let scps = organization
            .as_ref()
            .map_or(&no_levels, |organization| &organization.scps);
        let rcps = resource_organization
            .as_ref()
            .map_or(&no_levels, |organization| &organization.rcps);
        let scp_refs: Vec<Vec<&Policy>> = scps
            .iter()
            .map(|level| level.iter().map(Arc::as_ref).collect())
            .collect();
        let rcp_refs: Vec<Vec<&Policy>> = rcps
            .iter()
            .map(|level| level.iter().map(Arc::as_ref).collect())
            .collect();

        let resource_tags = if is_kms || resource == "*" {
            Vec::new()
        } else {
            let tested = identity
                .iter()
                .chain(&session_policies)
                .chain(boundary)
                .chain(&resource_policy)
                .chain(scps.iter().flatten())
                .chain(rcps.iter().flatten())
                .any(|policy| resource_tags::tests_resource_tags(policy));
            match (&secret, self.resource_tags.get()) {
                _ if !tested => Vec::new(),
                (Some(secret), _) => secret.tags.clone(),
                (None, Some(reader)) => reader.of(ctx, resource).await?,
                (None, None) => Vec::new(),
            }
        };

        let mut context = palisade_policy::global_context(ctx);
        if let Some(role_arn) = role_arn {
            // For a role session, `aws:PrincipalArn` is the role's ARN, not the session's.
            context.insert("aws:PrincipalArn", role_arn);
        }
        if let Some(session) = &session {
            for (key, value) in session.mfa_context(ctx.time) {
                context.insert(key, value);
            }
        }
        if let Some(organization) = &organization {
            context.insert("aws:PrincipalOrgID", &organization.context.organization_id);
            context.insert("aws:PrincipalOrgPaths", &organization.context.org_path);
        }
        if is_kms {
            let kms_keys =
                palisade_kms::condition_keys(principal.account.as_str(), name, input, key.as_ref());
            for (name, values) in kms_keys {
                context.insert_many(name, values);
            }
        }
        for (name, value) in resource_tags::condition_keys(model.name, &resource_tags) {
            context.insert(name, value);
        }
        for (name, values) in extra {
            context.insert_many(name.as_str(), values.iter().map(String::as_str));
        }
        let request = Request {
            principal: engine_principal,
            action: &action,
            resource,
            context: &context,
        };
        let in_management_account = |organization: &Option<Arc<ParsedOrganization>>| {
            organization
                .as_ref()
                .is_some_and(|organization| organization.context.is_management_account)
        };
        let set = PolicySet {
            identity: &identity_refs,
            resource: resource_policy.as_deref(),
            boundary: boundary.as_deref(),
            session: &session_refs,
            scps: &scp_refs,
            rcps: &rcp_refs,
            resource_account: resource_account.as_str(),
            principal_account: principal.account.as_str(),
            special: key.as_ref().map(|_| Special::KmsKeyPolicy),
            organizations: Organizations {
                principal_in_management_account: in_management_account(&organization),
                resource_in_management_account: in_management_account(&resource_organization),
            },
        };
        let decision = palisade_policy::evaluate(&request, &set);
        if decision.is_allowed() {
            return Ok(());
        }
        // A grant allows on its own, as a key policy statement would; an explicit deny still
        // wins.
        if is_kms && decision.effect() == Verdict::ImplicitDeny {
            let grantees: Vec<&str> = std::iter::once(principal.arn.as_str())
                .chain(role_arn)
                .collect();
            let granted = match &key {
                // Retiring is decided by the grant retired: its retiring principal may.
                _ if name == "RetireGrant" => self.kms.may_retire(ctx, &grantees, input).await,
                Some(key) => self.kms.grant_allows(key, &grantees, name, input).await,
                None => false,
            };
            if granted {
                return Ok(());
            }
        }
        Err(decision
            .access_denied_message(&principal.arn, resource)
            .map_or_else(
                || denied(principal, &action, resource),
                |message| ServiceError::common(CommonError::AccessDenied, message),
            ))
    }
}

/// The key a KMS request uses: its `KeyId` (a `ReEncrypt`'s `SourceKeyId`), or for a `Decrypt`
/// (or `ReEncrypt`) without one, the key the ciphertext's header names (by its ARN where the
/// header names the key's account), so that a ciphertext never bypasses its key's policy.
fn kms_key_named<'a>(ctx: &RequestContext, input: &'a Value) -> Option<Cow<'a, str>> {
    let named = |member: &str| input.get(member).and_then(Value::as_str);
    if let Some(key_id) = named("KeyId").or_else(|| named("SourceKeyId")) {
        return Some(Cow::Borrowed(key_id));
    }
    match input.get("CiphertextBlob") {
        Some(Value::Blob(blob)) => palisade_kms::parse_ciphertext(blob)
            .ok()
            .map(|ciphertext| ciphertext.key_reference(ctx.region.as_str())),
        _ => None,
    }
}

/// AWS's AccessDenied without a reason clause.
fn denied(principal: &palisade_core::Principal, action: &str, resource: &str) -> ServiceError {
    ServiceError::common(
        CommonError::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            principal.arn
        ),
    )
}

impl Authorizer for PolicyAuthorizer {
    fn authorize_with<'a>(
        &'a self,
        ctx: &'a RequestContext,
        model: &'static ServiceModel,
        operation: Operation,
        input: &'a Value,
        extra: &'a [ConditionKey],
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(self.decide(ctx, model, operation, input, extra))
    }
}
