//! The records KMS keeps in the store, as JSON. Key material is not here: it is sealed in its
//! own entry (see `material`), so that listing and describing keys never unseals it.

use std::collections::BTreeMap;

use palisade_model_kms::types::KeyState;
use serde::{Deserialize, Serialize};

use crate::specs::KeyKind;

/// One KMS key's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    /// The key id, a UUID.
    pub id: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub description: String,
    pub kind: KeyKind,
    /// Whether KMS made the material or the customer imports it.
    pub origin: Origin,
    pub lifecycle: Lifecycle,
    /// The key policy (its only policy, named `default`).
    pub policy: String,
    pub tags: Vec<TagRecord>,
    pub multi_region: bool,
    /// For a multi-Region key: its primary's region and its replicas' regions, the same in the
    /// record of every region that holds the key.
    #[serde(default)]
    pub regions: Option<Regions>,
    /// Who manages the key; records written before AWS managed keys existed are customer's.
    #[serde(default)]
    pub manager: Manager,
    /// Automatic rotation, when enabled.
    pub rotation: Option<RotationSchedule>,
    /// One entry per version of the key material, oldest first; the index is the version that
    /// ciphertexts name, and the last entry is the current material. Empty while a key of
    /// external origin awaits its material.
    pub materials: Vec<MaterialRecord>,
    /// For external origin: when the imported material expires (milliseconds since the epoch),
    /// if it does.
    pub material_expires: Option<i64>,
    /// For external origin: the parameters of the pending import, if any.
    pub import: Option<ImportParameters>,
}

/// Who manages a key: the customer, or AWS on behalf of one service (the key behind
/// `alias/aws/<service>`), in which case its settings are AWS's alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Manager {
    #[default]
    Customer,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Origin {
    AwsKms,
    External,
}

/// What the latest GetParametersForImport handed out. The wrapping private key is sealed in its
/// own entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportParameters {
    /// The import token, hex-encoded.
    pub token: String,
    /// The wrapping algorithm, as the API spells it.
    pub algorithm: String,
    /// Milliseconds since the epoch.
    pub valid_to: i64,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state")]
pub(crate) enum Lifecycle {
    Enabled,
    Disabled,
    /// A key of external origin without material.
    PendingImport,
    PendingDeletion {
        /// Milliseconds since the epoch.
        deletion_date: i64,
        window_days: i32,
    },
    /// A multi-Region primary key scheduled for deletion while it has replicas: its waiting
    /// period starts once the last replica is deleted.
    PendingReplicaDeletion {
        window_days: i32,
    },
}

impl Lifecycle {
    pub fn key_state(self) -> KeyState {
        match self {
            Self::Enabled => KeyState::Enabled,
            Self::Disabled => KeyState::Disabled,
            Self::PendingImport => KeyState::PendingImport,
            Self::PendingDeletion { .. } => KeyState::PendingDeletion,
            Self::PendingReplicaDeletion { .. } => KeyState::PendingReplicaDeletion,
        }
    }

    /// Whether the key is scheduled for deletion, waiting on its replicas or not.
    pub fn is_pending_deletion(self) -> bool {
        matches!(
            self,
            Self::PendingDeletion { .. } | Self::PendingReplicaDeletion { .. }
        )
    }
}

/// Where a multi-Region key lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Regions {
    pub primary: String,
    /// Sorted.
    pub replicas: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TagRecord {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RotationSchedule {
    pub period_days: i32,
    /// Milliseconds since the epoch.
    pub next_rotation: i64,
}

/// The public facts about one version of a key's material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MaterialRecord {
    /// The key material id AWS reports: 64 hex digits.
    pub id: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    /// How this version came to be; `None` for the key's first material.
    pub rotation: Option<RotationKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RotationKind {
    Automatic,
    OnDemand,
}

impl KeyRecord {
    /// `PRIMARY` or `REPLICA` for the record of a multi-Region key held in `region`.
    pub fn multi_region_key_type(&self, region: &str) -> Option<&'static str> {
        let regions = self.regions.as_ref()?;
        Some(if regions.primary == region {
            "PRIMARY"
        } else {
            "REPLICA"
        })
    }

    /// The current material's version and record.
    pub fn current_material(&self) -> Option<(u32, &MaterialRecord)> {
        let last = self.materials.len().checked_sub(1)?;
        Some((u32::try_from(last).ok()?, self.materials.get(last)?))
    }

    /// How many on-demand rotations the key has had.
    pub fn on_demand_rotations(&self) -> usize {
        self.materials
            .iter()
            .filter(|m| m.rotation == Some(RotationKind::OnDemand))
            .count()
    }
}

/// An alias: a name in the account and region that points at one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AliasRecord {
    pub target_key_id: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub updated: i64,
}

/// A grant: permission for a grantee principal to use a key in some operations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub key_id: String,
    pub grant_id: String,
    /// The token returned when the grant was created, which can retire it.
    pub token: String,
    pub name: Option<String>,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub grantee: String,
    pub retiring: Option<String>,
    /// Operation names as the API spells them.
    pub operations: Vec<String>,
    pub context_subset: Option<BTreeMap<String, String>>,
    pub context_equals: Option<BTreeMap<String, String>>,
}
