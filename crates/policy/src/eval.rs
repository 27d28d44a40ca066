//! Evaluating a request against every policy that applies to it, following the IAM User
//! Guide's "Policy evaluation logic" and "Cross-account policy evaluation logic".
//!
//! The order of the decision, each step from those pages:
//! 1. "an explicit deny in any policy overrides any allows": every applicable policy is searched
//!    for a matching `Deny` first (RCPs, SCPs, the resource-based policy, identity-based
//!    policies, the permissions boundary, session policies).
//! 2. RCPs, then SCPs: "If the enforcement code does not find any applicable Allow statements in
//!    the SCPs, then the request is implicitly denied". Policies attached at each level of the
//!    organization (root, each OU, the account) filter what passes, so every level must allow.
//!    SCPs apply to the IAM principals of member accounts, their root users included; neither
//!    SCPs nor RCPs apply to service-linked roles, SCPs not to the management account's
//!    principals and RCPs not to its resources ([`Organizations`]).
//! 3. Resource-based policy, within one account: an `Allow` that names the caller's own ARN (an
//!    IAM user, a role session, a federated-user session) is enough: "an implicit deny in an
//!    identity-based policy, a permissions boundary, or a session policy does not impact the
//!    final decision". One that names the caller's role (or the IAM user who federated) is
//!    "limited by an implicit deny in a permissions boundary or session policy". One that names
//!    the account delegates to it: the identity side must allow. Role trust policies and KMS key
//!    policies "must explicitly allow access for principals" ([`Special`]): without an allow
//!    there, nothing else helps.
//! 4. Identity-based policies must allow; then the permissions boundary, if any; then, for a
//!    session, the session policies if any were passed ("If there is no session policy … If the
//!    principal is a role session, then the request is Allowed. Otherwise [a federated-user
//!    session] the request is implicitly denied").
//! 5. Across accounts "the request is allowed only if both evaluations return a decision of
//!    Allow": the identity side in the principal's account and the resource-based policy in the
//!    resource's.
//!
//! The root user "has full access" in its own account: identity-based policies are not consulted
//! for it, but SCPs (of a member account), RCPs and explicit denies still apply, and a KMS key
//! policy or trust policy must still allow it.

use crate::context::Context;
use crate::policy::{Effect, Policy, Statement};
use crate::principal::{Grant, Principal, PrincipalKind};

/// One request to authorize.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: Principal<'a>,
    /// `service:Action`, e.g. `kms:Decrypt` (any case).
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without one.
    pub resource: &'a str,
    pub context: &'a Context<'a>,
}

/// Every policy that applies to a request, grouped by the role it plays.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// The principal's identity-based policies: inline and managed policies of the user or role,
    /// and those of the user's groups. For a federated-user session, its IAM user's.
    pub identity: &'a [&'a Policy],
    /// The resource's resource-based policy (for [`Special::RoleTrust`] the role's trust policy,
    /// for [`Special::KmsKeyPolicy`] the key policy).
    pub resource: Option<&'a Policy>,
    /// The permissions boundary of the user or role.
    pub boundary: Option<&'a Policy>,
    /// Session policies passed when the session was created (inline and managed together).
    pub session: &'a [&'a Policy],
    /// SCPs of the principal's account, one entry per level from the organization root down to
    /// the account; each level must allow. Empty outside an organization.
    pub scps: &'a [Vec<&'a Policy>],
    /// RCPs of the resource's account, by level as for `scps`.
    pub rcps: &'a [Vec<&'a Policy>],
    pub resource_account: &'a str,
    pub principal_account: &'a str,
    pub special: Option<Special>,
    pub organizations: Organizations,
}

/// Resource-based policies that must allow on their own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Special {
    /// `sts:AssumeRole*` against a role: the trust policy must allow.
    RoleTrust,
    /// A KMS key: the key policy must allow, directly or by naming the account (which lets IAM
    /// policies grant access).
    KmsKeyPolicy,
}

/// The documented exemptions from organization policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Organizations {
    /// "SCPs don't affect users or roles in the management account."
    pub principal_in_management_account: bool,
    /// "RCPs don't affect resources in the management account."
    pub resource_in_management_account: bool,
}

/// The kind of policy a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Identity,
    Resource,
    Boundary,
    Session,
    /// `level` counts from the organization root (0).
    Scp {
        level: usize,
    },
    Rcp {
        level: usize,
    },
}

/// A statement that applied to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedStatement<'a> {
    pub layer: Layer,
    pub policy: &'a Policy,
    /// The policy's position in its list (identity policies, session policies, one SCP or RCP
    /// level).
    pub policy_index: usize,
    /// The statement's position in the policy.
    pub statement_index: usize,
}

impl<'a> MatchedStatement<'a> {
    pub fn statement(&self) -> Option<&'a Statement> {
        self.policy.statements().get(self.statement_index)
    }

    pub fn sid(&self) -> Option<&'a str> {
        self.statement().and_then(Statement::sid)
    }

    pub fn effect(&self) -> Option<Effect> {
        self.statement().map(Statement::effect)
    }
}

/// The three answers AWS distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Why a request was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowedBy {
    /// The root user in its own account.
    RootUser,
    /// Identity-based policies (with boundary and session policies where present).
    IdentityPolicies,
    /// A resource-based policy on its own, naming the caller as `Grant` says.
    ResourcePolicy(Grant),
    /// Across accounts: the identity side and the resource-based policy both allowed.
    IdentityAndResourcePolicies,
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeniedBy<'a> {
    ExplicitDeny(MatchedStatement<'a>),
    NoIdentityAllow,
    BoundaryImplicit,
    SessionImplicit,
    ScpImplicit {
        level: usize,
    },
    RcpImplicit {
        level: usize,
    },
    /// The resource-based policy does not allow (across accounts, or where it is required).
    ResourcePolicyImplicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Allowed(AllowedBy),
    Denied(DeniedBy<'a>),
}

/// The decision and what led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub outcome: Outcome<'a>,
    /// Every statement that applied, `Allow` and `Deny`, in evaluation order.
    pub matched: Vec<MatchedStatement<'a>>,
    /// Condition keys that conditions of otherwise-applicable statements looked for and the
    /// request context lacked (as the policy wrote them), each once.
    pub missing_keys: Vec<&'a str>,
    pub action: &'a str,
    pub special: Option<Special>,
}

impl Decision<'_> {
    pub fn effect(&self) -> Verdict {
        match self.outcome {
            Outcome::Allowed(_) => Verdict::Allow,
            Outcome::Denied(DeniedBy::ExplicitDeny(_)) => Verdict::ExplicitDeny,
            Outcome::Denied(_) => Verdict::ImplicitDeny,
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.effect() == Verdict::Allow
    }
}

/// Decides `request` against `set`.
pub fn evaluate<'a>(request: &Request<'a>, set: &PolicySet<'a>) -> Decision<'a> {
    let mut run = Run {
        request,
        set,
        // A typical allowed request matches a handful of statements: one allocation for them.
        matched: Vec::with_capacity(8),
        missing_keys: Vec::new(),
        first_deny: None,
    };
    let outcome = run.decide();
    let mut missing_keys = run.missing_keys;
    if missing_keys.len() > 1 {
        missing_keys.sort_unstable();
        missing_keys.dedup();
    }
    Decision {
        outcome,
        matched: run.matched,
        missing_keys,
        action: request.action,
        special: set.special,
    }
}

struct Run<'r, 'a> {
    request: &'r Request<'a>,
    set: &'r PolicySet<'a>,
    matched: Vec<MatchedStatement<'a>>,
    missing_keys: Vec<&'a str>,
    first_deny: Option<MatchedStatement<'a>>,
}

impl<'a> Run<'_, 'a> {
    fn decide(&mut self) -> Outcome<'a> {
        let set = self.set;
        let principal = self.request.principal;
        let iam = principal.is_iam_identity();
        let root = principal.kind == PrincipalKind::Root;
        let service_linked = principal.is_service_linked_role();
        let session = matches!(
            principal.kind,
            PrincipalKind::AssumedRole { .. } | PrincipalKind::FederatedUser { .. }
        );

        // Every applicable statement is evaluated once: its Deny is final wherever it is, its
        // Allow is needed by the layer it belongs to.
        let rcps_apply = !service_linked && !set.organizations.resource_in_management_account;
        let scps_apply =
            iam && !service_linked && !set.organizations.principal_in_management_account;
        let rcp_gap = if rcps_apply {
            self.levels(set.rcps, |level| Layer::Rcp { level })
        } else {
            None
        };
        let scp_gap = if scps_apply {
            self.levels(set.scps, |level| Layer::Scp { level })
        } else {
            None
        };
        let grant = set
            .resource
            .and_then(|policy| self.policy(Layer::Resource, 0, policy));
        let identity_side = iam && !root;
        let identity_allows = identity_side && self.layer(Layer::Identity, set.identity).is_some();
        let boundary_allows = match set.boundary {
            Some(boundary) if identity_side => self.policy(Layer::Boundary, 0, boundary).is_some(),
            _ => true,
        };
        let session_allows = if !session {
            true
        } else if set.session.is_empty() {
            // Without a session policy a role session keeps its role's permissions; a
            // federated-user session has none.
            !matches!(principal.kind, PrincipalKind::FederatedUser { .. })
        } else {
            self.layer(Layer::Session, set.session).is_some()
        };

        if let Some(deny) = self.first_deny {
            return Outcome::Denied(DeniedBy::ExplicitDeny(deny));
        }
        if let Some(level) = rcp_gap {
            return Outcome::Denied(DeniedBy::RcpImplicit { level });
        }
        if let Some(level) = scp_gap {
            return Outcome::Denied(DeniedBy::ScpImplicit { level });
        }
        if !iam {
            // Services, web identities, canonical users and anonymous callers have no identity
            // policies: only a resource-based policy naming them can allow.
            return match grant {
                Some(Grant::Direct) => Outcome::Allowed(AllowedBy::ResourcePolicy(Grant::Direct)),
                _ => Outcome::Denied(DeniedBy::ResourcePolicyImplicit),
            };
        }
        let limits = || {
            if !boundary_allows {
                Err(DeniedBy::BoundaryImplicit)
            } else if !session_allows {
                Err(DeniedBy::SessionImplicit)
            } else {
                Ok(())
            }
        };
        let identity = || {
            if root {
                Ok(())
            } else if !identity_allows {
                Err(DeniedBy::NoIdentityAllow)
            } else {
                limits()
            }
        };
        let same_account = set.resource_account == set.principal_account;
        let resource_required = set.special.is_some();
        let result = if same_account {
            match grant {
                Some(Grant::Direct) => Ok(AllowedBy::ResourcePolicy(Grant::Direct)),
                Some(Grant::Entity) => limits().map(|()| AllowedBy::ResourcePolicy(Grant::Entity)),
                None if resource_required => Err(DeniedBy::ResourcePolicyImplicit),
                Some(Grant::Account) | None => identity().map(|()| {
                    if root {
                        AllowedBy::RootUser
                    } else {
                        AllowedBy::IdentityPolicies
                    }
                }),
            }
        } else {
            identity().and(match grant {
                Some(_) => Ok(AllowedBy::IdentityAndResourcePolicies),
                None => Err(DeniedBy::ResourcePolicyImplicit),
            })
        };
        match result {
            Ok(allowed) => Outcome::Allowed(allowed),
            Err(denied) => Outcome::Denied(denied),
        }
    }

    /// Evaluates organization policies level by level; the first level with no Allow, if any.
    fn levels(
        &mut self,
        levels: &'a [Vec<&'a Policy>],
        layer: impl Fn(usize) -> Layer,
    ) -> Option<usize> {
        let mut gap = None;
        for (level, policies) in levels.iter().enumerate() {
            // Every level is evaluated even past a gap: a Deny further down still explains the
            // decision as explicit.
            if self.layer(layer(level), policies).is_none() && gap.is_none() {
                gap = Some(level);
            }
        }
        gap
    }

    /// The strongest grant among the Allow statements of `policies` that apply.
    fn layer(&mut self, layer: Layer, policies: &'a [&'a Policy]) -> Option<Grant> {
        let mut best = None;
        for (index, policy) in policies.iter().enumerate() {
            best = best.max(self.policy(layer, index, policy));
        }
        best
    }

    fn policy(&mut self, layer: Layer, policy_index: usize, policy: &'a Policy) -> Option<Grant> {
        let mut best = None;
        for (statement_index, statement) in policy.statements().iter().enumerate() {
            let Some(grant) = self.applies(statement) else {
                continue;
            };
            let matched = MatchedStatement {
                layer,
                policy,
                policy_index,
                statement_index,
            };
            self.matched.push(matched);
            match statement.effect() {
                Effect::Deny => {
                    self.first_deny.get_or_insert(matched);
                }
                Effect::Allow => best = best.max(Some(grant)),
            }
        }
        best
    }

    /// Whether the statement applies to the request, and how it names the caller (statements
    /// without a Principal element name the caller they are attached to: [`Grant::Direct`]).
    fn applies(&mut self, statement: &'a Statement) -> Option<Grant> {
        let request = self.request;
        if !statement.covers_action(request.action) {
            return None;
        }
        let grant = match &statement.principal {
            None => Grant::Direct,
            Some(element) if element.negated => {
                // "The NotPrincipal element with a Deny effect will always deny any IAM
                // principal that has a permissions boundary policy attached, regardless of the
                // values specified in the NotPrincipal element."
                let boundary = self.set.boundary.is_some() && request.principal.is_iam_identity();
                if !boundary && element.exempts(&request.principal, self.set.principal_account) {
                    return None;
                }
                Grant::Direct
            }
            Some(element) => element.grant(&request.principal, self.set.principal_account)?,
        };
        if !statement.covers_resource(request.resource, request.context)? {
            return None;
        }
        for condition in statement.conditions.iter() {
            let evaluation = condition.evaluate(request.context);
            if evaluation.key_missing {
                self.missing_keys.push(condition.key());
            }
            if evaluation.holds != Some(true) {
                return None;
            }
        }
        Some(grant)
    }
}
