//! The stored shape of a secret: its metadata, its versions with their staging labels, its
//! rotation configuration and resource policy. Values live apart, encrypted (see `db`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The label of the version clients read by default.
pub(crate) const AWSCURRENT: &str = "AWSCURRENT";
/// The label the previous `AWSCURRENT` version receives when another takes that label.
pub(crate) const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// The label of the version a rotation is creating.
pub(crate) const AWSPENDING: &str = "AWSPENDING";

/// One secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SecretRecord {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    /// The key as the caller named it; `None` for the AWS managed key.
    pub kms_key_id: Option<String>,
    pub secret_type: Option<String>,
    pub tags: Vec<(String, String)>,
    pub created_ms: i64,
    pub last_changed_ms: i64,
    /// Day resolution, as AWS records it.
    pub last_accessed_ms: Option<i64>,
    /// When DeleteSecret scheduled the deletion.
    pub deleted_ms: Option<i64>,
    /// When the secret is purged for good.
    pub deletion_ms: Option<i64>,
    pub rotation_enabled: bool,
    pub rotation: Option<RotationConfig>,
    pub last_rotated_ms: Option<i64>,
    pub next_rotation_ms: Option<i64>,
    pub policy: Option<String>,
    /// By version id.
    pub versions: BTreeMap<String, VersionMeta>,
    /// On a replica: the region of its primary secret.
    #[serde(default)]
    pub primary_region: Option<String>,
    /// On a primary: the regions it is replicated to.
    #[serde(default)]
    pub replicas: Vec<ReplicaRecord>,
}

/// One region a primary secret is replicated to, and how that went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReplicaRecord {
    pub region: String,
    /// The key the replica encrypts under there; `None` for that region's AWS managed key.
    pub kms_key_id: Option<String>,
    /// `InProgress`, `InSync` or `Failed`.
    pub status: String,
    pub status_message: Option<String>,
}

/// One version of a secret's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionMeta {
    pub created_ms: i64,
    pub stages: Vec<String>,
    pub last_accessed_ms: Option<i64>,
    /// The ARN of the KMS key that encrypted the value's data key; `None` while the version has
    /// no value (the `AWSPENDING` version a rotation starts with, before createSecret fills it).
    pub key_arn: Option<String>,
}

/// How and when a secret rotates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RotationConfig {
    pub lambda_arn: Option<String>,
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
    pub duration: Option<String>,
}

impl SecretRecord {
    /// A secret created at `now`, with no versions, tags, rotation or policy yet.
    pub fn new(name: String, arn: String, now: i64) -> Self {
        Self {
            name,
            arn,
            description: None,
            kms_key_id: None,
            secret_type: None,
            tags: Vec::new(),
            created_ms: now,
            last_changed_ms: now,
            last_accessed_ms: None,
            deleted_ms: None,
            deletion_ms: None,
            rotation_enabled: false,
            rotation: None,
            last_rotated_ms: None,
            next_rotation_ms: None,
            policy: None,
            versions: BTreeMap::new(),
            primary_region: None,
            replicas: Vec::new(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_ms.is_some()
    }

    /// The version carrying `stage`, if any.
    pub fn version_with_stage(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, version)| version.stages.iter().any(|label| label == stage))
            .map(|(id, _)| id.as_str())
    }

    /// Version ids to their labels, leaving out versions without labels (deprecated).
    pub fn versions_to_stages(&self) -> BTreeMap<String, Vec<String>> {
        self.versions
            .iter()
            .filter(|(_, version)| !version.stages.is_empty())
            .map(|(id, version)| (id.clone(), version.stages.clone()))
            .collect()
    }
}
