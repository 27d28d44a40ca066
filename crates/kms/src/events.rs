//! The events KMS publishes for EventBridge, each once the change it reports is committed:
//! `KMS CMK Rotation`, `KMS CMK Deletion` and `KMS Imported Key Material Expiration`, with the
//! detail AWS documents for each.

use std::time::{Duration, UNIX_EPOCH};

use palisade_core::events::ServiceEvent;
use palisade_core::{AccountId, Region};
use serde_json::json;

use crate::KmsState;
use crate::db::Tenant;
use crate::records::{KeyRecord, Origin, RotationKind};

impl KmsState {
    /// `KMS CMK Rotation`, for a key whose newest material version `kind` just added.
    pub(crate) fn publish_rotation(&self, tenant: &Tenant, key: &KeyRecord, kind: RotationKind) {
        let current = key.materials.last().map(|m| m.id.as_str());
        let previous = key
            .materials
            .len()
            .checked_sub(2)
            .and_then(|index| key.materials.get(index))
            .map(|m| m.id.as_str());
        let detail = json!({
            "key-id": key.id,
            "key-origin": match key.origin {
                Origin::AwsKms => "AWS_KMS",
                Origin::External => "EXTERNAL",
            },
            "rotation-type": match kind {
                RotationKind::Automatic => "AUTOMATIC",
                RotationKind::OnDemand => "ON_DEMAND",
            },
            "previous-key-material-id": previous,
            "current-key-material-id": current,
        });
        self.publish(tenant, &key.id, "KMS CMK Rotation", &detail);
    }

    /// `KMS CMK Deletion`, for the key `id` just deleted.
    pub(crate) fn publish_deletion(&self, tenant: &Tenant, id: &str) {
        self.publish(tenant, id, "KMS CMK Deletion", &json!({ "key-id": id }));
    }

    /// `KMS Imported Key Material Expiration`, for the material `material_id` of key `id`, just
    /// deleted because it expired.
    pub(crate) fn publish_expiration(&self, tenant: &Tenant, id: &str, material_id: &str) {
        let detail = json!({ "key-id": id, "key-material-id": material_id });
        self.publish(tenant, id, "KMS Imported Key Material Expiration", &detail);
    }

    fn publish(&self, tenant: &Tenant, id: &str, detail_type: &str, detail: &serde_json::Value) {
        // Tenants come from validated request contexts, so both always parse.
        let (Some(account), Some(region)) = (
            AccountId::parse(&tenant.account),
            Region::parse(&tenant.region),
        ) else {
            return;
        };
        let millis = u64::try_from(self.now()).unwrap_or_default();
        self.events.publish(ServiceEvent {
            account,
            region,
            source: "aws.kms".to_owned(),
            detail_type: detail_type.to_owned(),
            resources: vec![tenant.key_arn(id)],
            detail: detail.to_string(),
            time: UNIX_EPOCH + Duration::from_millis(millis),
        });
    }
}
