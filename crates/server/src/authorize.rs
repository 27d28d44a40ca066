//! The authorize step: may this principal do this operation to these resources?
//!
//! The pipeline calls an [`Authorizer`] after decoding and before the handler. The one the server
//! runs, [`PolicyAuthorizer`], evaluates the caller's IAM policies with the policy engine.
//!
//! What is built so far: identity-based policies (users' inline, managed and group policies)
//! and permissions boundaries, with the global condition keys. Each operation's action is
//! `<prefix>:<Operation>`; its resource is `*` until the services declare their resource ARNs
//! (so a policy that names specific resource ARNs does not yet match). Resource policies,
//! sessions, SCPs and RCPs join as their services land.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::{BoxFuture, CommonError};
use palisade_core::{PrincipalKind, RequestContext, ServiceError, Value};
use palisade_iam::IamState;
use palisade_policy::{Context, ParseOptions, Policy, PolicyKind, PolicySet, Request};

/// Decides whether a request may proceed.
pub trait Authorizer: Send + Sync + 'static {
    /// `Ok` to proceed, or the AccessDenied error to answer.
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        model: &'static ServiceModel,
        operation: &'static Operation,
        input: &'a Value,
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

/// Actions AWS lets every authenticated caller perform, whatever its policies say
/// ("No permissions are required to perform this operation").
const UNRESTRICTED: &[&str] = &["sts:GetCallerIdentity"];

/// Parsed policies kept by document text; past this many the cache starts over.
const MAX_CACHED_POLICIES: usize = 10_000;

/// Evaluates IAM policies.
pub struct PolicyAuthorizer {
    iam: Arc<IamState>,
    parsed: Mutex<HashMap<(PolicyKind, String), Arc<Policy>>>,
}

impl PolicyAuthorizer {
    /// An authorizer reading principals' policies from IAM.
    pub fn new(iam: Arc<IamState>) -> Self {
        Self {
            iam,
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// Parses `document` once; stored documents were validated when they were written, so a
    /// failure here means the document no longer parses, and it is left out (which can only
    /// deny more, never allow more).
    fn parse(&self, kind: PolicyKind, document: &str) -> Option<Arc<Policy>> {
        let key = (kind, document.to_owned());
        if let Ok(cache) = self.parsed.lock()
            && let Some(policy) = cache.get(&key)
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
            if cache.len() >= MAX_CACHED_POLICIES {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&policy));
        }
        Some(policy)
    }

    async fn decide(
        &self,
        ctx: &RequestContext,
        model: &'static ServiceModel,
        operation: &'static Operation,
    ) -> Result<(), ServiceError> {
        let action = format!("{}:{}", action_prefix(model), operation.name);
        if UNRESTRICTED.contains(&action.as_str()) {
            return Ok(());
        }
        let principal = &ctx.principal;
        let engine_principal = match &principal.kind {
            // The root user may do everything in its own account; SCPs will bound it once
            // Organizations is built.
            PrincipalKind::Root | PrincipalKind::Anonymous => return Ok(()),
            PrincipalKind::User { .. } => palisade_policy::Principal::user(&principal.arn),
            PrincipalKind::AssumedRole { .. } => {
                return Err(denied(ctx, &action, "because no session policy allows it"));
            }
        };
        let policies = self
            .iam
            .principal_policies(&principal.account, &principal.kind)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?
            .unwrap_or_default();
        let identity: Vec<Arc<Policy>> = policies
            .identity
            .iter()
            .filter_map(|text| self.parse(PolicyKind::Identity, &text.document))
            .collect();
        let boundary = policies
            .boundary
            .as_ref()
            .and_then(|text| self.parse(PolicyKind::Boundary, &text.document));
        let identity_refs: Vec<&Policy> = identity.iter().map(Arc::as_ref).collect();

        let context = request_context(ctx);
        let request = Request {
            principal: engine_principal,
            action: &action,
            resource: "*",
            context: &context,
        };
        let set = PolicySet {
            identity: &identity_refs,
            boundary: boundary.as_deref(),
            resource_account: principal.account.as_str(),
            principal_account: principal.account.as_str(),
            ..PolicySet::default()
        };
        let decision = palisade_policy::evaluate(&request, &set);
        if decision.is_allowed() {
            return Ok(());
        }
        let message = decision
            .access_denied_message(&principal.arn, "*")
            .unwrap_or_else(|| {
                format!(
                    "User: {} is not authorized to perform: {action} on resource: *",
                    principal.arn
                )
            });
        Err(ServiceError::common(CommonError::AccessDenied, message))
    }
}

impl Authorizer for PolicyAuthorizer {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        model: &'static ServiceModel,
        operation: &'static Operation,
        _input: &'a Value,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(self.decide(ctx, model, operation))
    }
}

fn denied(ctx: &RequestContext, action: &str, reason: &str) -> ServiceError {
    ServiceError::common(
        CommonError::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: * {reason}",
            ctx.principal.arn
        ),
    )
}

/// The global condition keys every request supplies.
fn request_context(ctx: &RequestContext) -> Context<'_> {
    let principal = &ctx.principal;
    let millis = palisade_core::clock::millis_since_epoch(ctx.time);
    let epoch_seconds = millis.div_euclid(1000);
    let mut context = Context::new();
    context
        .insert("aws:SourceIp", ctx.source_ip.to_canonical().to_string())
        .insert("aws:RequestedRegion", ctx.region.as_str())
        .insert("aws:CurrentTime", iso8601(epoch_seconds))
        .insert("aws:EpochTime", epoch_seconds.to_string())
        .insert("aws:SecureTransport", ctx.secure_transport.to_string())
        .insert("aws:PrincipalArn", principal.arn.as_str())
        .insert("aws:PrincipalAccount", principal.account.as_str())
        .insert("aws:userid", principal.user_id.as_str());
    match &principal.kind {
        PrincipalKind::User { name } => {
            context
                .insert("aws:PrincipalType", "User")
                .insert("aws:username", name.as_str());
        }
        PrincipalKind::AssumedRole { .. } => {
            context.insert("aws:PrincipalType", "AssumedRole");
        }
        PrincipalKind::Root => {
            context.insert("aws:PrincipalType", "Account");
        }
        PrincipalKind::Anonymous => {
            context.insert("aws:PrincipalType", "Anonymous");
        }
    }
    for (key, value) in &principal.tags {
        context.insert(format!("aws:PrincipalTag/{key}"), value.as_str());
    }
    context
}

/// `aws:CurrentTime`: ISO 8601 in UTC, whole seconds.
fn iso8601(epoch_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|moment| {
            moment
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
