//! `palisade iam simulate --file request.json`: decides a full request context offline and prints
//! the decision with its explanation, as JSON.
//!
//! The request file:
//! ```json
//! {
//!   "principal": { "arn": "arn:aws:iam::111122223333:user/alice", "type": "User" },
//!   "action": "kms:Decrypt",
//!   "resource": "arn:aws:kms:us-east-1:111122223333:key/k",
//!   "principalAccount": "111122223333",
//!   "resourceAccount": "111122223333",
//!   "context": { "aws:SourceIp": "10.1.2.3", "aws:TagKeys": ["team", "env"] },
//!   "identityPolicies": [ { "Version": "2012-10-17", "Statement": [] } ],
//!   "resourcePolicy": null,
//!   "permissionsBoundary": null,
//!   "sessionPolicies": [],
//!   "serviceControlPolicies": [ [ { "...": "root level" } ], [ { "...": "OU level" } ] ],
//!   "resourceControlPolicies": [],
//!   "special": "KmsKeyPolicy"
//! }
//! ```
//! `type` is `Root`, `User`, `AssumedRole` (with `roleArn`), `FederatedUser` (with `userArn`) or
//! `Service`; `special` is `RoleTrust` or `KmsKeyPolicy`. A policy may be a JSON object or a
//! string holding one.

use palisade_policy::{
    Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request, Special,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimulationRequest {
    principal: PrincipalSpec,
    action: String,
    #[serde(default = "any_resource")]
    resource: String,
    principal_account: Option<String>,
    resource_account: Option<String>,
    #[serde(default)]
    context: serde_json::Map<String, Value>,
    #[serde(default)]
    identity_policies: Vec<Value>,
    resource_policy: Option<Value>,
    permissions_boundary: Option<Value>,
    #[serde(default)]
    session_policies: Vec<Value>,
    #[serde(default)]
    service_control_policies: Vec<Vec<Value>>,
    #[serde(default)]
    resource_control_policies: Vec<Vec<Value>>,
    special: Option<SpecialSpec>,
}

fn any_resource() -> String {
    "*".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PrincipalSpec {
    arn: String,
    #[serde(rename = "type")]
    kind: PrincipalType,
    role_arn: Option<String>,
    user_arn: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum PrincipalType {
    Root,
    User,
    AssumedRole,
    FederatedUser,
    Service,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum SpecialSpec {
    RoleTrust,
    KmsKeyPolicy,
}

/// Decides the request in `text` and returns the explanation as JSON.
pub fn simulate(text: &str) -> Result<Value, String> {
    let request: SimulationRequest =
        serde_json::from_str(text).map_err(|error| format!("cannot read the request: {error}"))?;
    let parse = |kind: PolicyKind, what: &str, document: &Value| -> Result<Policy, String> {
        let text = match document {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Policy::parse_with(&text, &ParseOptions::new(kind))
            .map_err(|error| format!("{what}: {}", error.message()))
    };
    let parse_all = |kind: PolicyKind, what: &str, documents: &[Value]| {
        documents
            .iter()
            .enumerate()
            .map(|(index, document)| parse(kind, &format!("{what} {index}"), document))
            .collect::<Result<Vec<_>, _>>()
    };
    let identity = parse_all(
        PolicyKind::Identity,
        "identity policy",
        &request.identity_policies,
    )?;
    let session = parse_all(
        PolicyKind::Session,
        "session policy",
        &request.session_policies,
    )?;
    let special = request.special.map(|special| match special {
        SpecialSpec::RoleTrust => Special::RoleTrust,
        SpecialSpec::KmsKeyPolicy => Special::KmsKeyPolicy,
    });
    let resource_kind = match special {
        Some(Special::RoleTrust) => PolicyKind::Trust,
        _ => PolicyKind::Resource,
    };
    let resource = request
        .resource_policy
        .as_ref()
        .map(|document| parse(resource_kind, "resource policy", document))
        .transpose()?;
    let boundary = request
        .permissions_boundary
        .as_ref()
        .map(|document| parse(PolicyKind::Boundary, "permissions boundary", document))
        .transpose()?;
    let scps = request
        .service_control_policies
        .iter()
        .enumerate()
        .map(|(level, documents)| {
            parse_all(
                PolicyKind::ServiceControl,
                &format!("SCP level {level}"),
                documents,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rcps = request
        .resource_control_policies
        .iter()
        .enumerate()
        .map(|(level, documents)| {
            parse_all(
                PolicyKind::ResourceControl,
                &format!("RCP level {level}"),
                documents,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut context = Context::new();
    for (key, value) in &request.context {
        match value {
            Value::Array(values) => {
                context.insert_many(key.as_str(), values.iter().map(scalar_text));
            }
            other => {
                context.insert(key.as_str(), scalar_text(other));
            }
        }
    }
    let spec = &request.principal;
    let principal = match spec.kind {
        PrincipalType::Root => Principal::root(&spec.arn),
        PrincipalType::User => Principal::user(&spec.arn),
        PrincipalType::AssumedRole => Principal::assumed_role(
            &spec.arn,
            spec.role_arn
                .as_deref()
                .ok_or("an AssumedRole principal needs roleArn")?,
        ),
        PrincipalType::FederatedUser => Principal::federated_user(
            &spec.arn,
            spec.user_arn
                .as_deref()
                .ok_or("a FederatedUser principal needs userArn")?,
        ),
        PrincipalType::Service => Principal::service(&spec.arn),
    };
    let principal_account = request
        .principal_account
        .clone()
        .or_else(|| account_of(&spec.arn))
        .unwrap_or_default();
    let resource_account = request
        .resource_account
        .clone()
        .or_else(|| account_of(&request.resource))
        .unwrap_or_else(|| principal_account.clone());

    let identity_refs: Vec<&Policy> = identity.iter().collect();
    let session_refs: Vec<&Policy> = session.iter().collect();
    let scp_refs: Vec<Vec<&Policy>> = scps.iter().map(|level| level.iter().collect()).collect();
    let rcp_refs: Vec<Vec<&Policy>> = rcps.iter().map(|level| level.iter().collect()).collect();
    let set = PolicySet {
        identity: &identity_refs,
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: &session_refs,
        scps: &scp_refs,
        rcps: &rcp_refs,
        resource_account: &resource_account,
        principal_account: &principal_account,
        special,
        ..PolicySet::default()
    };
    let decision = palisade_policy::evaluate(
        &Request {
            principal,
            action: &request.action,
            resource: &request.resource,
            context: &context,
        },
        &set,
    );
    Ok(palisade_policy::explain_json(&decision))
}

/// Context values are strings in IAM; numbers and booleans given as JSON are their text.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The account of an ARN (`arn:aws:iam::111122223333:user/x`), if it names one.
fn account_of(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

    fn request(extra: &str) -> String {
        format!(
            r#"{{
                "principal": {{ "arn": "{ALICE}", "type": "User" }},
                "action": "kms:Decrypt",
                "resource": "arn:aws:kms:us-east-1:111122223333:key/k",
                "context": {{ "aws:SourceIp": "10.1.2.3" }},
                "identityPolicies": [
                    {{ "Version": "2012-10-17", "Statement": [
                        {{ "Effect": "Allow", "Action": "kms:*", "Resource": "*" }} ] }}
                ]
                {extra}
            }}"#
        )
    }

    #[test]
    fn an_identity_allow_is_explained() {
        let answer = simulate(&request("")).unwrap();
        assert_eq!(answer["EvalDecision"], "allowed", "{answer}");
    }

    #[test]
    fn an_scp_level_that_does_not_allow_denies_and_says_so() {
        let answer = simulate(&request(
            r#", "serviceControlPolicies": [
                [ { "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "*", "Resource": "*" } ] } ],
                [ { "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "s3:*", "Resource": "*" } ] } ]
            ]"#,
        ))
        .unwrap();
        assert_eq!(answer["EvalDecision"], "implicitDeny", "{answer}");
        assert_eq!(
            answer["Reason"],
            "because no service control policy allows the kms:Decrypt action"
        );
    }

    #[test]
    fn a_source_ip_deny_is_explicit() {
        let answer = simulate(&request(
            r#", "permissionsBoundary": { "Version": "2012-10-17", "Statement": [
                { "Effect": "Allow", "Action": "*", "Resource": "*" },
                { "Effect": "Deny", "Action": "*", "Resource": "*",
                  "Condition": { "NotIpAddress": { "aws:SourceIp": "192.0.2.0/24" } } } ] }"#,
        ))
        .unwrap();
        assert_eq!(answer["EvalDecision"], "explicitDeny", "{answer}");
    }

    #[test]
    fn malformed_policies_and_requests_are_errors() {
        assert!(simulate("{").is_err());
        let error = simulate(&request(r#", "resourcePolicy": { "Statement": 7 }"#)).unwrap_err();
        assert!(error.starts_with("resource policy:"), "{error}");
    }
}
