//! Replication: replicas in other regions follow their primary, refuse direct changes, and are
//! removed or promoted on request.

use palisade_core::Sensitive;
use palisade_model_secretsmanager::types::*;

use crate::common::*;

const REPLICA: &str = "eu-west-1";

fn regions(names: &[&str]) -> Vec<ReplicaRegionType> {
    names
        .iter()
        .map(|region| ReplicaRegionType {
            region: Some((*region).to_owned()),
            kms_key_id: None,
        })
        .collect()
}

/// Replicates the secret `name` to [`REPLICA`], overwriting a secret there if `force`.
async fn replicate(h: &Harness, name: &str, force: bool) -> ReplicateSecretToRegionsResponse {
    h.call(
        "ReplicateSecretToRegions",
        ReplicateSecretToRegionsRequest {
            secret_id: name.to_owned(),
            add_replica_regions: regions(&[REPLICA]),
            force_overwrite_replica_secret: force.then_some(true),
        },
    )
    .await
    .unwrap()
}

async fn replica_value(
    h: &Harness,
    id: &str,
) -> Result<GetSecretValueResponse, palisade_core::ServiceError> {
    h.call_in(
        REPLICA,
        "GetSecretValue",
        GetSecretValueRequest {
            secret_id: id.to_owned(),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_replica_follows_its_primary_and_is_read_only() {
    let h = Harness::new().await;
    let arn = h.create("shared", "one").await.arn.unwrap();
    let replicated = replicate(&h, "shared", false).await;
    let status = &replicated.replication_status.unwrap()[0];
    assert_eq!(status.region.as_deref(), Some(REPLICA));
    assert_eq!(status.status, Some(StatusType::InSync));

    let copy = replica_value(&h, "shared").await.unwrap();
    assert_eq!(copy.secret_string.unwrap().expose(), "one");
    let replica_arn = copy.arn.unwrap();
    assert_eq!(replica_arn, arn.replace("us-east-1", REPLICA));
    let described: DescribeSecretResponse = h
        .call_in(
            REPLICA,
            "DescribeSecret",
            DescribeSecretRequest {
                secret_id: replica_arn.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(described.primary_region.as_deref(), Some("us-east-1"));
    assert_eq!(
        h.describe("shared")
            .await
            .unwrap()
            .primary_region
            .as_deref(),
        Some("us-east-1")
    );

    // Changes go through the primary, and reach the replica.
    let direct = h
        .call_in::<PutSecretValueResponse>(
            REPLICA,
            "PutSecretValue",
            PutSecretValueRequest {
                secret_id: "shared".into(),
                secret_string: Some(Sensitive::new("sneaky".into())),
                ..Default::default()
            },
        )
        .await;
    assert_code(direct, "InvalidRequestException");
    h.put("shared", "two").await;
    h.act(
        "TagResource",
        TagResourceRequest {
            secret_id: "shared".into(),
            tags: vec![Tag {
                key: Some("k".into()),
                value: Some("v".into()),
            }],
        },
    )
    .await
    .unwrap();
    let copy = replica_value(&h, "shared").await.unwrap();
    assert_eq!(copy.secret_string.unwrap().expose(), "two");
    assert_eq!(copy.version_stages.unwrap(), ["AWSCURRENT"]);
    let described: DescribeSecretResponse = h
        .call_in(
            REPLICA,
            "DescribeSecret",
            DescribeSecretRequest {
                secret_id: "shared".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(described.tags.unwrap().len(), 1);

    // The primary can't be deleted while it has replicas.
    let refused = h
        .call::<DeleteSecretResponse>(
            "DeleteSecret",
            DeleteSecretRequest {
                secret_id: "shared".into(),
                ..Default::default()
            },
        )
        .await;
    assert_code(refused, "InvalidRequestException");
    let removed: RemoveRegionsFromReplicationResponse = h
        .call(
            "RemoveRegionsFromReplication",
            RemoveRegionsFromReplicationRequest {
                secret_id: "shared".into(),
                remove_replica_regions: vec![REPLICA.into()],
            },
        )
        .await
        .unwrap();
    assert!(removed.replication_status.unwrap().is_empty());
    assert_code(
        replica_value(&h, "shared").await,
        "ResourceNotFoundException",
    );
    assert!(h.describe("shared").await.unwrap().primary_region.is_none());
}

#[tokio::test]
async fn a_name_taken_in_the_replica_region_fails_unless_overwritten() {
    let h = Harness::new().await;
    let _: CreateSecretResponse = h
        .call_in(
            REPLICA,
            "CreateSecret",
            CreateSecretRequest {
                name: "taken".into(),
                secret_string: Some(Sensitive::new("local".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let created: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: "taken".into(),
                secret_string: Some(Sensitive::new("primary".into())),
                add_replica_regions: Some(regions(&[REPLICA])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let status = &created.replication_status.unwrap()[0];
    assert_eq!(status.status, Some(StatusType::Failed));
    assert!(
        status
            .status_message
            .as_deref()
            .unwrap()
            .contains("already exists")
    );
    assert_eq!(
        replica_value(&h, "taken")
            .await
            .unwrap()
            .secret_string
            .unwrap()
            .expose(),
        "local"
    );

    let forced = replicate(&h, "taken", true).await;
    assert_eq!(
        forced.replication_status.unwrap()[0].status,
        Some(StatusType::InSync)
    );
    assert_eq!(
        replica_value(&h, "taken")
            .await
            .unwrap()
            .secret_string
            .unwrap()
            .expose(),
        "primary"
    );
}

#[tokio::test]
async fn stopping_replication_promotes_the_replica() {
    let h = Harness::new().await;
    h.create("promoted", "one").await;
    replicate(&h, "promoted", false).await;
    let not_a_replica = h
        .call::<StopReplicationToReplicaResponse>(
            "StopReplicationToReplica",
            StopReplicationToReplicaRequest {
                secret_id: "promoted".into(),
            },
        )
        .await;
    assert_code(not_a_replica, "InvalidRequestException");
    let _: StopReplicationToReplicaResponse = h
        .call_in(
            REPLICA,
            "StopReplicationToReplica",
            StopReplicationToReplicaRequest {
                secret_id: "promoted".into(),
            },
        )
        .await
        .unwrap();
    let _: PutSecretValueResponse = h
        .call_in(
            REPLICA,
            "PutSecretValue",
            PutSecretValueRequest {
                secret_id: "promoted".into(),
                secret_string: Some(Sensitive::new("independent".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        h.describe("promoted")
            .await
            .unwrap()
            .replication_status
            .is_none()
    );
    h.put("promoted", "two").await;
    assert_eq!(
        replica_value(&h, "promoted")
            .await
            .unwrap()
            .secret_string
            .unwrap()
            .expose(),
        "independent"
    );
}
