//! A secret named by its ARN from another account is the owner's: the handlers act on it (the
//! server's authorizer decides whether they may), and the AWS managed key never serves it.

use palisade_core::service::{CommonError, Service};
use palisade_core::{AccountId, FromValue, IntoValue, Principal, RequestContext, ServiceError};
use palisade_model_secretsmanager::MODEL;
use palisade_model_secretsmanager::types::*;

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
