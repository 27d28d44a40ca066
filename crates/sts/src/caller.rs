//! Who is calling an STS operation, as STS's decisions need it: the session the request was
//! signed with (if any), and the identity-based, boundary and session policies that bound it.

use palisade_core::service::CommonError;
use palisade_core::{PrincipalKind, RequestContext, ServiceError};
use palisade_policy::{ParseOptions, Policy, PolicyKind};

use crate::StsState;
use crate::sessions::SessionRecord;

/// The caller of an operation.
pub(crate) struct Caller {
    /// The session that signed the request, when it was signed with temporary credentials.
    pub session: Option<SessionRecord>,
    /// The caller's identity-based policies (a role session's: its role's).
    pub identity: Vec<Policy>,
    pub boundary: Option<Policy>,
    /// The session policies of the caller's own session.
    pub session_policies: Vec<Policy>,
}

impl Caller {
    /// The caller's role ARN when it is a role session (with the role's path).
    pub fn role_arn(&self, ctx: &RequestContext) -> Option<String> {
        match &ctx.principal.kind {
            PrincipalKind::AssumedRole { role_name, .. } => Some(
                self.session
                    .as_ref()
                    .and_then(|session| session.role_arn().map(str::to_owned))
                    .unwrap_or_else(|| format!("arn:aws:iam::{}:role/{role_name}", ctx.account())),
            ),
            PrincipalKind::Root | PrincipalKind::User { .. } | PrincipalKind::Anonymous => None,
        }
    }

    /// The policy engine's view of the caller.
    pub fn engine_principal<'a>(
        ctx: &'a RequestContext,
        role_arn: Option<&'a str>,
    ) -> palisade_policy::Principal<'a> {
        let arn = ctx.principal.arn.as_str();
        match (&ctx.principal.kind, role_arn) {
            (PrincipalKind::Root, _) => palisade_policy::Principal::root(arn),
            (PrincipalKind::AssumedRole { .. }, Some(role_arn)) => {
                palisade_policy::Principal::assumed_role(arn, role_arn)
            }
            _ => palisade_policy::Principal::user(arn),
        }
    }
}

impl StsState {
    /// Gathers what STS needs to know of `ctx`'s caller. Anonymous callers cannot call the
    /// credential-issuing operations.
    pub(crate) async fn caller(
        &self,
        ctx: &RequestContext,
        action: &str,
    ) -> Result<Caller, ServiceError> {
        if ctx.principal.kind == PrincipalKind::Anonymous {
            return Err(ServiceError::common(
                CommonError::AccessDenied,
                format!("Anonymous callers are not authorized to perform: {action}"),
            ));
        }
        let session = if ctx.principal.access_key_id.starts_with("ASIA") {
            self.session(&ctx.principal.access_key_id)
                .await
                .map_err(store_error)?
        } else {
            None
        };
        let policies = self
            .iam
            .principal_policies(ctx.account(), &ctx.principal.kind)
            .await
            .map_err(store_error)?
            .unwrap_or_default();
        let identity = policies
            .identity
            .iter()
            .filter_map(|text| parse_stored(PolicyKind::Identity, &text.document))
            .collect();
        let boundary = policies
            .boundary
            .and_then(|text| parse_stored(PolicyKind::Boundary, &text.document));
        // Unlike other policies, a session policy left out would allow more: it only narrows.
        let session_policies = session
            .iter()
            .flat_map(|session| &session.session_policies)
            .map(|document| {
                parse_stored(PolicyKind::Session, document)
                    .ok_or_else(|| ServiceError::internal("A stored session policy is unreadable."))
            })
            .collect::<Result<_, _>>()?;
        Ok(Caller {
            session,
            identity,
            boundary,
            session_policies,
        })
    }
}

/// A store failure, as the server's own.
pub(crate) fn store_error(error: palisade_store::StoreError) -> ServiceError {
    ServiceError::internal(error.to_string())
}

/// Parses a stored document. Stored documents were validated when written, so one that no
/// longer parses is left out, which can only deny more, never allow more.
pub(crate) fn parse_stored(kind: PolicyKind, document: &str) -> Option<Policy> {
    Policy::parse_with(document, &ParseOptions::new(kind)).ok()
}
