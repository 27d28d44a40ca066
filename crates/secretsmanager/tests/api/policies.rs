//! Resource policies: put (with BlockPublicPolicy), get, delete, validate, and the lookup the
//! server's authorizer uses.

use palisade_core::{AccountId, Region};
use palisade_model_secretsmanager::types::*;

use crate::common::*;

const ACCOUNT_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"AWS":"arn:aws:iam::111122223333:root"},
  "Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const PUBLIC_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

fn put(policy: &str, block: Option<bool>) -> PutResourcePolicyRequest {
    PutResourcePolicyRequest {
        secret_id: "guarded".into(),
        resource_policy: policy.into(),
        block_public_policy: block,
    }
}

#[tokio::test]
async fn policies_are_stored_checked_and_removed() {
    let h = Harness::new().await;
    let arn = h.create("guarded", "v").await.arn.unwrap();
    let _: PutResourcePolicyResponse = h
        .call("PutResourcePolicy", put(ACCOUNT_POLICY, Some(true)))
        .await
        .unwrap();
    let got: GetResourcePolicyResponse = h
        .call(
            "GetResourcePolicy",
            GetResourcePolicyRequest {
                secret_id: "guarded".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.resource_policy.as_deref(), Some(ACCOUNT_POLICY));
    let for_authorizer = h
        .state()
        .secret_facts(&AccountId::local_default(), &Region::us_east_1(), &arn)
        .await
        .unwrap();
    let facts = for_authorizer.unwrap();
    assert_eq!(facts.arn, arn);
    assert_eq!(facts.policy.as_deref(), Some(ACCOUNT_POLICY));

    let blocked = h
        .call::<PutResourcePolicyResponse>("PutResourcePolicy", put(PUBLIC_POLICY, Some(true)))
        .await;
    assert_code(blocked, "PublicPolicyException");
    let _: PutResourcePolicyResponse = h
        .call("PutResourcePolicy", put(PUBLIC_POLICY, None))
        .await
        .unwrap();
    let malformed = h
        .call::<PutResourcePolicyResponse>("PutResourcePolicy", put("{\"Version\":", None))
        .await;
    assert_code(malformed, "MalformedPolicyDocumentException");

    let _: DeleteResourcePolicyResponse = h
        .call(
            "DeleteResourcePolicy",
            DeleteResourcePolicyRequest {
                secret_id: "guarded".into(),
            },
        )
        .await
        .unwrap();
    let gone = h
        .state()
        .secret_facts(&AccountId::local_default(), &Region::us_east_1(), "guarded")
        .await
        .unwrap();
    let facts = gone.unwrap();
    assert_eq!((facts.arn, facts.policy), (arn, None));
}

#[tokio::test]
async fn validate_reports_errors_without_storing() {
    let h = Harness::new().await;
    let passed: ValidateResourcePolicyResponse = h
        .call(
            "ValidateResourcePolicy",
            ValidateResourcePolicyRequest {
                secret_id: None,
                resource_policy: ACCOUNT_POLICY.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(passed.policy_validation_passed, Some(true));
    assert!(passed.validation_errors.unwrap().is_empty());
    let failed: ValidateResourcePolicyResponse = h
        .call(
            "ValidateResourcePolicy",
            ValidateResourcePolicyRequest {
                secret_id: None,
                resource_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}"#
                    .into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.policy_validation_passed, Some(false));
    let errors = failed.validation_errors.unwrap();
    assert_eq!(errors.len(), 1);
    assert!(!errors[0].error_message.as_deref().unwrap().is_empty());
}
