//! A secret named by its ARN from another account is the owner's: the handlers of every
//! operation AWS allows across accounts act on it (the server's authorizer decides whether they
//! may), values written from there are encrypted under the owner's key, the AWS managed key
//! never serves another account, and the operations AWS does not allow across accounts find
//! nothing.

use std::sync::{Arc, Mutex};

use palisade_core::service::{BoxFuture, CommonError, Service};
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, RequestContext, Sensitive, ServiceError,
};
use palisade_model_kms::Kms;
use palisade_model_kms::types as kms;
use palisade_model_secretsmanager::MODEL;
use palisade_model_secretsmanager::types::*;
use palisade_secretsmanager::{RotationEvent, RotationFunction, RotationStep};

use crate::common::*;

const OTHER_ACCOUNT: &str = "111122223333";

fn other_account(region: &str) -> RequestContext {
    let mut ctx = context(region);
    ctx.principal = Principal::root(AccountId::parse(OTHER_ACCOUNT).unwrap(), "other");
    ctx
}

async fn call_as<O: FromValue>(
    h: &Harness,
    ctx: &RequestContext,
    operation: &str,
    input: impl IntoValue,
) -> Result<O, ServiceError> {
    let operation = MODEL.operation(operation).unwrap();
    let output = h.service.call(ctx, operation, input.into_value()).await?;
    Ok(O::from_value(output).unwrap())
}

fn describe(secret_id: &str) -> DescribeSecretRequest {
    DescribeSecretRequest {
        secret_id: secret_id.to_owned(),
    }
}

#[tokio::test]
async fn another_accounts_secret_is_reached_by_its_arn_only() {
    let h = Harness::new().await;
    let arn = h.create("shared", "v").await.arn.unwrap();
    let other = other_account("us-east-1");

    let described: DescribeSecretResponse = call_as(&h, &other, "DescribeSecret", describe(&arn))
        .await
        .unwrap();
    assert_eq!(described.arn.as_deref(), Some(arn.as_str()));
    let partial = arn.get(..arn.len() - 7).unwrap();
    let described: DescribeSecretResponse =
        call_as(&h, &other, "DescribeSecret", describe(partial))
            .await
            .unwrap();
    assert_eq!(described.arn.as_deref(), Some(arn.as_str()));
    let versions: ListSecretVersionIdsResponse = call_as(
        &h,
        &other,
        "ListSecretVersionIds",
        ListSecretVersionIdsRequest {
            secret_id: arn.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(versions.versions.unwrap().len(), 1);

    // By name, a caller names its own account's secrets; in another region, nothing.
    let by_name =
        call_as::<DescribeSecretResponse>(&h, &other, "DescribeSecret", describe("shared"))
            .await
            .unwrap_err();
    assert_eq!(code(&by_name), "ResourceNotFoundException");
    let in_europe = other_account("eu-west-1");
    let elsewhere =
        call_as::<DescribeSecretResponse>(&h, &in_europe, "DescribeSecret", describe(&arn))
            .await
            .unwrap_err();
    assert_eq!(code(&elsewhere), "ResourceNotFoundException");
}

#[tokio::test]
async fn the_aws_managed_key_never_serves_another_account() {
    let h = Harness::new().await;
    let arn = h.create("managed", "v").await.arn.unwrap();
    let error = call_as::<GetSecretValueResponse>(
        &h,
        &other_account("us-east-1"),
        "GetSecretValue",
        GetSecretValueRequest {
            secret_id: arn.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.common_kind(), Some(CommonError::AccessDenied));
    assert_eq!(error.message, "Access to KMS is not allowed");
    // The owner still reads it.
    assert_eq!(h.current(&arn).await, "v");
}

fn put_value(secret_id: &str, value: &str) -> PutSecretValueRequest {
    PutSecretValueRequest {
        secret_id: secret_id.to_owned(),
        secret_string: Some(Sensitive::new(value.to_owned())),
        ..Default::default()
    }
}

fn update_value(secret_id: &str, value: &str) -> UpdateSecretRequest {
    UpdateSecretRequest {
        secret_id: secret_id.to_owned(),
        secret_string: Some(Sensitive::new(value.to_owned())),
        ..Default::default()
    }
}

/// A customer managed key of the owner (the default account): its id and ARN.
async fn owners_key(h: &Harness) -> (String, String) {
    let key = h
        .kms
        .create_key(&h.root, kms::CreateKeyRequest::default())
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    (key.key_id, key.arn.unwrap())
}

/// A secret of the owner under `kms_key_id` (as the owner names the key); its ARN.
async fn secret_under(h: &Harness, name: &str, kms_key_id: &str) -> String {
    h.call::<CreateSecretResponse>(
        "CreateSecret",
        CreateSecretRequest {
            name: name.to_owned(),
            kms_key_id: Some(kms_key_id.to_owned()),
            secret_string: Some(Sensitive::new("first".to_owned())),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .arn
    .unwrap()
}

/// The KMS key ARNs of each version of the owner's secret `id`.
async fn version_keys(h: &Harness, id: &str) -> Vec<Vec<String>> {
    h.call::<ListSecretVersionIdsResponse>(
        "ListSecretVersionIds",
        ListSecretVersionIdsRequest {
            secret_id: id.to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .versions
    .unwrap()
    .into_iter()
    .map(|version| version.kms_key_ids.unwrap_or_default())
    .collect()
}

#[tokio::test]
async fn another_account_writes_values_under_the_owners_key() {
    let h = Harness::new().await;
    let (key_id, key_arn) = owners_key(&h).await;
    h.kms
        .create_alias(
            &h.root,
            kms::CreateAliasRequest {
                alias_name: "alias/shared".to_owned(),
                target_key_id: key_id.clone(),
            },
        )
        .await
        .unwrap();
    let other = other_account("us-east-1");
    // The owner's secret names its key by id, alias or ARN, each meant in the owner's account.
    for (name, kms_key_id) in [
        ("by-id", key_id.as_str()),
        ("by-alias", "alias/shared"),
        ("by-arn", key_arn.as_str()),
    ] {
        let arn = secret_under(&h, name, kms_key_id).await;
        let put: PutSecretValueResponse =
            call_as(&h, &other, "PutSecretValue", put_value(&arn, "second"))
                .await
                .unwrap();
        assert_eq!(put.arn.as_deref(), Some(arn.as_str()), "{name}");
        assert_eq!(
            put.version_stages.as_deref(),
            Some(["AWSCURRENT".to_owned()].as_slice())
        );
        assert_eq!(h.current(name).await, "second");
        let updated: UpdateSecretResponse =
            call_as(&h, &other, "UpdateSecret", update_value(&arn, "third"))
                .await
                .unwrap();
        assert!(updated.version_id.is_some());
        assert_eq!(h.current(name).await, "third");
        let read: GetSecretValueResponse = call_as(
            &h,
            &other,
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(read.secret_string.unwrap().expose(), "third");
        assert!(
            version_keys(&h, name)
                .await
                .iter()
                .all(|keys| keys == std::slice::from_ref(&key_arn)),
            "{name}"
        );
    }
    // The caller's own secret of the same name is untouched: none exists.
    let own = call_as::<DescribeSecretResponse>(&h, &other, "DescribeSecret", describe("by-id"))
        .await
        .unwrap_err();
    assert_eq!(code(&own), "ResourceNotFoundException");
}

#[tokio::test]
async fn the_aws_managed_key_refuses_values_written_by_another_account() {
    let h = Harness::new().await;
    let arn = h.create("managed", "v").await.arn.unwrap();
    let other = other_account("us-east-1");
    let put = call_as::<PutSecretValueResponse>(&h, &other, "PutSecretValue", put_value(&arn, "w"))
        .await
        .unwrap_err();
    assert_eq!(put.common_kind(), Some(CommonError::AccessDenied));
    assert_eq!(put.message, "Access to KMS is not allowed");
    let update =
        call_as::<UpdateSecretResponse>(&h, &other, "UpdateSecret", update_value(&arn, "w"))
            .await
            .unwrap_err();
    assert_eq!(update.message, "Access to KMS is not allowed");
    // Nor may another account name the AWS managed key for a new value.
    let (key_id, _) = owners_key(&h).await;
    let cmk = secret_under(&h, "cmk", &key_id).await;
    let rekeyed = call_as::<UpdateSecretResponse>(
        &h,
        &other,
        "UpdateSecret",
        UpdateSecretRequest {
            kms_key_id: Some("alias/aws/secretsmanager".to_owned()),
            ..update_value(&cmk, "w")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(rekeyed.message, "Access to KMS is not allowed");
    assert_eq!(h.current("managed").await, "v");
    assert_eq!(h.current("cmk").await, "first");

    // Metadata alone needs no key.
    let described: UpdateSecretResponse = call_as(
        &h,
        &other,
        "UpdateSecret",
        UpdateSecretRequest {
            secret_id: arn.clone(),
            description: Some("shared".to_owned()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(described.version_id.is_none());
    assert_eq!(
        h.describe("managed").await.unwrap().description.as_deref(),
        Some("shared")
    );
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:owners-rotator";

/// A rotation function that records its events and does nothing, so every rotation stays
/// unfinished.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<RotationEvent>>,
}

impl RotationFunction for Recorder {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        self.events.lock().unwrap().push(event.clone());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn another_account_rotates_the_owners_secret_with_its_function() {
    let h = Harness::new().await;
    let arn = h.create("rotating", "v").await.arn.unwrap();
    let recorder = Arc::new(Recorder::default());
    h.state()
        .rotation_functions()
        .register(LAMBDA, recorder.clone());
    let other = other_account("us-east-1");
    let rotated: RotateSecretResponse = call_as(
        &h,
        &other,
        "RotateSecret",
        RotateSecretRequest {
            secret_id: arn.clone(),
            rotation_lambda_arn: Some(LAMBDA.to_owned()),
            rotation_rules: Some(RotationRulesType {
                automatically_after_days: Some(30),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rotated.arn.as_deref(), Some(arn.as_str()));
    let token = rotated.version_id.unwrap();
    let events = recorder.events.lock().unwrap().clone();
    assert_eq!(
        events.iter().map(|event| event.step).collect::<Vec<_>>(),
        RotationStep::ALL
    );
    assert!(
        events
            .iter()
            .all(|event| event.secret_id == arn && event.client_request_token == token)
    );
    let described = h.describe("rotating").await.unwrap();
    assert_eq!(described.rotation_enabled, Some(true));
    assert_eq!(described.rotation_lambda_arn.as_deref(), Some(LAMBDA));

    let cancelled: CancelRotateSecretResponse = call_as(
        &h,
        &other,
        "CancelRotateSecret",
        CancelRotateSecretRequest {
            secret_id: arn.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(cancelled.version_id.as_deref(), Some(token.as_str()));
    assert_eq!(
        h.describe("rotating").await.unwrap().rotation_enabled,
        Some(false)
    );
}

/// ReplicateSecretToRegions of the secret `arn` to `region`, called from `ctx`.
async fn replicate_as(
    h: &Harness,
    ctx: &RequestContext,
    arn: &str,
    region: &str,
) -> ReplicateSecretToRegionsResponse {
    call_as(
        h,
        ctx,
        "ReplicateSecretToRegions",
        ReplicateSecretToRegionsRequest {
            secret_id: arn.to_owned(),
            add_replica_regions: vec![ReplicaRegionType {
                region: Some(region.to_owned()),
                kms_key_id: None,
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn another_account_replicates_the_owners_secret() {
    let h = Harness::new().await;
    let arn = h.create("replicated", "v").await.arn.unwrap();
    let other = other_account("us-east-1");
    let replicated = replicate_as(&h, &other, &arn, "eu-west-1").await;
    assert_eq!(replicated.arn.as_deref(), Some(arn.as_str()));
    assert_eq!(
        replicated.replication_status.unwrap()[0].status,
        Some(StatusType::InSync)
    );
    // The replica is the owner's, copied by Secrets Manager with the owner's key there.
    let copy: GetSecretValueResponse = h
        .call_in(
            "eu-west-1",
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "replicated".to_owned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(copy.secret_string.unwrap().expose(), "v");
    let replica_arn = copy.arn.unwrap();

    let stopped: StopReplicationToReplicaResponse = call_as(
        &h,
        &other_account("eu-west-1"),
        "StopReplicationToReplica",
        StopReplicationToReplicaRequest {
            secret_id: replica_arn.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(stopped.arn.as_deref(), Some(replica_arn.as_str()));
    assert!(
        h.describe("replicated")
            .await
            .unwrap()
            .replication_status
            .is_none()
    );

    replicate_as(&h, &other, &arn, "eu-central-1").await;
    let removed: RemoveRegionsFromReplicationResponse = call_as(
        &h,
        &other,
        "RemoveRegionsFromReplication",
        RemoveRegionsFromReplicationRequest {
            secret_id: arn.clone(),
            remove_replica_regions: vec!["eu-central-1".to_owned()],
        },
    )
    .await
    .unwrap();
    assert_eq!(removed.replication_status, Some(Vec::new()));
    let gone = h
        .call_in::<DescribeSecretResponse>("eu-central-1", "DescribeSecret", describe("replicated"))
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
}

#[tokio::test]
async fn batch_reads_find_no_secret_of_another_account() {
    let h = Harness::new().await;
    let (key_id, _) = owners_key(&h).await;
    let arn = secret_under(&h, "batched", &key_id).await;
    let batch: BatchGetSecretValueResponse = call_as(
        &h,
        &other_account("us-east-1"),
        "BatchGetSecretValue",
        BatchGetSecretValueRequest {
            secret_id_list: Some(vec![arn.clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(batch.secret_values, Some(Vec::new()));
    let errors = batch.errors.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].secret_id.as_deref(), Some(arn.as_str()));
    assert_eq!(
        errors[0].error_code.as_deref(),
        Some("ResourceNotFoundException")
    );
}
