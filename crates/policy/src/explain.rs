//! Decisions put into words: AWS's AccessDenied phrasing, and a JSON account for
//! `palisade iam simulate`.
//!
//! "When a policy explicitly denies access because the policy contains a Deny statement, then
//! AWS includes the phrase `with an explicit deny in a type policy` in the access denied error
//! message. When the policy implicitly denies access, then AWS includes the phrase `because no
//! type policy allows the action action`" (IAM User Guide, Troubleshooting access denied error
//! messages), with the policy types "identity-based policy", "resource-based policy",
//! "permissions boundary", "session policy", "service control policy" (and, by the same
//! pattern, "resource control policy"); a role trust policy denial reads "with an explicit deny
//! in the role trust policy".

use serde_json::{Value, json};

use crate::eval::{
    AllowedBy, Decision, DeniedBy, Layer, MatchedStatement, Outcome, Special, Verdict,
};
use crate::policy::Effect;
use crate::principal::Grant;

impl Decision<'_> {
    /// The clause AWS appends to an AccessDenied message (`None` when allowed), e.g.
    /// "because no identity-based policy allows the kms:Decrypt action".
    pub fn reason_text(&self) -> Option<String> {
        let Outcome::Denied(denied) = self.outcome else {
            return None;
        };
        let action = self.action;
        let trust = self.special == Some(Special::RoleTrust);
        let implicit = |kind: &str| format!("because no {kind} allows the {action} action");
        Some(match denied {
            DeniedBy::ExplicitDeny(matched) => {
                let kind = match matched.layer {
                    Layer::Identity => "an identity-based policy",
                    Layer::Resource if trust => "the role trust policy",
                    Layer::Resource => "a resource-based policy",
                    Layer::Boundary => "a permissions boundary",
                    Layer::Session => "a session policy",
                    Layer::Scp { .. } => "a service control policy",
                    Layer::Rcp { .. } => "a resource control policy",
                };
                format!("with an explicit deny in {kind}")
            }
            DeniedBy::NoIdentityAllow => implicit("identity-based policy"),
            DeniedBy::BoundaryImplicit => implicit("permissions boundary"),
            DeniedBy::SessionImplicit => implicit("session policy"),
            DeniedBy::ScpImplicit { .. } => implicit("service control policy"),
            DeniedBy::RcpImplicit { .. } => implicit("resource control policy"),
            DeniedBy::ResourcePolicyImplicit if trust => implicit("role trust policy"),
            DeniedBy::ResourcePolicyImplicit => implicit("resource-based policy"),
        })
    }

    /// AWS's whole AccessDenied message, "User: ARN is not authorized to perform: ACTION on
    /// resource: RESOURCE because …" (`None` when allowed).
    pub fn access_denied_message(&self, principal_arn: &str, resource: &str) -> Option<String> {
        let reason = self.reason_text()?;
        Some(format!(
            "User: {principal_arn} is not authorized to perform: {} on resource: {resource} {reason}",
            self.action
        ))
    }
}

/// The decision as JSON, named after IAM's `SimulatePrincipalPolicy` results where they have a
/// counterpart (`EvalActionName`, `EvalDecision` as `allowed` / `explicitDeny` /
/// `implicitDeny`, `MatchedStatements`, `MissingContextValues`).
pub fn explain_json(decision: &Decision<'_>) -> Value {
    let verdict = match decision.effect() {
        Verdict::Allow => "allowed",
        Verdict::ExplicitDeny => "explicitDeny",
        Verdict::ImplicitDeny => "implicitDeny",
    };
    let (allowed_by, denied_by) = match decision.outcome {
        Outcome::Allowed(allowed) => (Some(allowed_json(allowed)), None),
        Outcome::Denied(denied) => (None, Some(denied_json(denied))),
    };
    json!({
        "EvalActionName": decision.action,
        "EvalDecision": verdict,
        "AllowedBy": allowed_by,
        "DeniedBy": denied_by,
        "Reason": decision.reason_text(),
        "MatchedStatements": decision.matched.iter().map(statement_json).collect::<Vec<_>>(),
        "MissingContextValues": decision.missing_keys,
    })
}

fn allowed_json(allowed: AllowedBy) -> Value {
    match allowed {
        AllowedBy::RootUser => json!({ "Type": "RootUser" }),
        AllowedBy::IdentityPolicies => json!({ "Type": "IdentityPolicies" }),
        AllowedBy::ResourcePolicy(grant) => json!({
            "Type": "ResourcePolicy",
            "Grant": match grant {
                Grant::Account => "Account",
                Grant::Entity => "Entity",
                Grant::Direct => "Direct",
            },
        }),
        AllowedBy::IdentityAndResourcePolicies => json!({ "Type": "IdentityAndResourcePolicies" }),
    }
}

fn denied_json(denied: DeniedBy<'_>) -> Value {
    match denied {
        DeniedBy::ExplicitDeny(matched) => {
            json!({ "Type": "ExplicitDeny", "Statement": statement_json(&matched) })
        }
        DeniedBy::NoIdentityAllow => json!({ "Type": "NoIdentityAllow" }),
        DeniedBy::BoundaryImplicit => json!({ "Type": "BoundaryImplicit" }),
        DeniedBy::SessionImplicit => json!({ "Type": "SessionImplicit" }),
        DeniedBy::ScpImplicit { level } => json!({ "Type": "ScpImplicit", "Level": level }),
        DeniedBy::RcpImplicit { level } => json!({ "Type": "RcpImplicit", "Level": level }),
        DeniedBy::ResourcePolicyImplicit => json!({ "Type": "ResourcePolicyImplicit" }),
    }
}

fn statement_json(matched: &MatchedStatement<'_>) -> Value {
    let (layer, level) = match matched.layer {
        Layer::Identity => ("identity", None),
        Layer::Resource => ("resource", None),
        Layer::Boundary => ("boundary", None),
        Layer::Session => ("session", None),
        Layer::Scp { level } => ("scp", Some(level)),
        Layer::Rcp { level } => ("rcp", Some(level)),
    };
    json!({
        "SourcePolicyId": matched.policy.name(),
        "SourcePolicyType": layer,
        "Level": level,
        "PolicyIndex": matched.policy_index,
        "StatementIndex": matched.statement_index,
        "Sid": matched.sid(),
        "Effect": match matched.effect() {
            Some(Effect::Allow) => Some("Allow"),
            Some(Effect::Deny) => Some("Deny"),
            None => None,
        },
    })
}
