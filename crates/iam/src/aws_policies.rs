//! The AWS managed policies (`arn:aws:iam::aws:policy/...`): the same in every account,
//! readable and attachable everywhere, never changed by a caller.
//!
//! Their documents and dates are AWS's published ones (the AWS Managed Policy Reference), one
//! JSON file per policy under `aws-managed-policies/`, each holding the default version only.
//! AWS does not publish policy ids, so each id is derived from the policy's ARN: stable across
//! restarts and accounts, but not the id AWS shows.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::ids::{IdKind, derived_id};

/// The policy files, by name.
const FILES: &[&str] = &[
    include_str!("../aws-managed-policies/AdministratorAccess.json"),
    include_str!("../aws-managed-policies/AmazonEventBridgeFullAccess.json"),
    include_str!("../aws-managed-policies/AmazonEventBridgeReadOnlyAccess.json"),
    include_str!("../aws-managed-policies/AmazonSSMFullAccess.json"),
    include_str!("../aws-managed-policies/AmazonSSMReadOnlyAccess.json"),
    include_str!("../aws-managed-policies/AWSCloudTrail_FullAccess.json"),
    include_str!("../aws-managed-policies/AWSCloudTrail_ReadOnlyAccess.json"),
    include_str!("../aws-managed-policies/AWSKeyManagementServicePowerUser.json"),
    include_str!("../aws-managed-policies/IAMFullAccess.json"),
    include_str!("../aws-managed-policies/IAMReadOnlyAccess.json"),
    include_str!("../aws-managed-policies/IAMUserChangePassword.json"),
    include_str!("../aws-managed-policies/PowerUserAccess.json"),
    include_str!("../aws-managed-policies/ReadOnlyAccess.json"),
    include_str!("../aws-managed-policies/SecretsManagerReadWrite.json"),
    include_str!("../aws-managed-policies/SecurityAudit.json"),
];

/// One AWS managed policy.
#[derive(Debug)]
pub(crate) struct AwsPolicy {
    pub name: String,
    pub path: String,
    pub description: String,
    pub id: String,
    pub arn: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// When the default version was made: seconds since the epoch.
    pub updated: i64,
    pub version: String,
    pub document: String,
}

/// Every AWS managed policy, sorted by lower-cased name.
pub(crate) fn all() -> &'static [AwsPolicy] {
    static POLICIES: OnceLock<Vec<AwsPolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        // The files are part of the build and checked by a test, so one that does not parse
        // is left out rather than taking the server down.
        let mut policies: Vec<AwsPolicy> = FILES.iter().filter_map(|file| parse(file)).collect();
        policies.sort_by_key(|policy| policy.name.to_lowercase());
        policies
    })
}

/// The AWS managed policy with `arn`.
pub(crate) fn find(arn: &str) -> Option<&'static AwsPolicy> {
    all().iter().find(|policy| policy.arn == arn)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct File {
    policy_name: String,
    path: String,
    description: String,
    create_date: i64,
    update_date: i64,
    default_version_id: String,
    document: serde_json::Value,
}

fn parse(text: &str) -> Option<AwsPolicy> {
    let file: File = serde_json::from_str(text).ok()?;
    let arn = format!("arn:aws:iam::aws:policy{}{}", file.path, file.policy_name);
    Some(AwsPolicy {
        id: derived_id(IdKind::Policy, &arn),
        document: serde_json::to_string_pretty(&file.document).ok()?,
        name: file.policy_name,
        path: file.path,
        description: file.description,
        arn,
        created: file.create_date,
        updated: file.update_date,
        version: file.default_version_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_document::{DocumentKind, validate};

    #[test]
    fn every_file_parses_and_is_a_valid_identity_policy() {
        assert_eq!(all().len(), FILES.len());
        for policy in all() {
            validate(&policy.document, DocumentKind::Inline)
                .unwrap_or_else(|e| panic!("{}: {}", policy.name, e.message));
            assert!(policy.id.starts_with("ANPA") && policy.id.len() == 21);
            assert!(policy.version.starts_with('v'));
        }
        let admin = find("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert!(admin.document.contains("\"Action\": \"*\""));
        assert!(
            find("arn:aws:iam::aws:policy/ReadOnlyAccess")
                .unwrap()
                .document
                .contains("kms:Describe*")
        );
    }
}
