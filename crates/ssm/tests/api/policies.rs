//! Parameter policies: validation, the Advanced-only rule, and the sweeper acting on them as the
//! clock moves, across a restart.

use palisade_model_ssm::types::*;

use crate::common::*;

const EXPIRE_IN_3_DAYS: &str = r#"[
    {"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2024-01-04T00:00:00.000Z"}},
    {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"1","Unit":"Days"}}
]"#;

fn with_policies(name: &str, policies: &str) -> PutParameterRequest {
    PutParameterRequest {
        tier: Some(ParameterTier::Advanced),
        policies: Some(policies.into()),
        ..string(name, "x")
    }
}

#[tokio::test]
async fn policies_need_the_advanced_tier_and_valid_json() {
    let h = Harness::new().await;
    expect_error(
        h.put(PutParameterRequest {
            tier: Some(ParameterTier::Standard),
            ..with_policies("/p", EXPIRE_IN_3_DAYS)
        })
        .await,
        "Validation",
    );
    let intelligent = h
        .put(PutParameterRequest {
            tier: Some(ParameterTier::IntelligentTiering),
            ..with_policies("/p", EXPIRE_IN_3_DAYS)
        })
        .await
        .unwrap();
    assert_eq!(intelligent.tier, Some(ParameterTier::Advanced));
    expect_error(
        h.put(with_policies(
            "/q",
            r#"[{"Type":"Rotate","Version":"1.0","Attributes":{}}]"#,
        ))
        .await,
        "InvalidPolicyTypeException",
    );
    expect_error(
        h.put(with_policies(
            "/q",
            r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"x","Unit":"Days"}}]"#,
        ))
        .await,
        "InvalidPolicyAttributeException",
    );
    let described = h.described().await;
    let policies = described[0].policies.clone().unwrap();
    let kinds: Vec<_> = policies
        .iter()
        .map(|p| p.policy_type.clone().unwrap())
        .collect();
    assert_eq!(kinds, ["Expiration", "ExpirationNotification"]);
    assert!(
        policies
            .iter()
            .all(|p| p.policy_status.as_deref() == Some("Pending"))
    );
}

#[tokio::test]
async fn the_sweeper_notifies_then_deletes_as_the_clock_moves_even_after_a_restart() {
    let h = Harness::new().await;
    h.put(with_policies("/expiring", EXPIRE_IN_3_DAYS))
        .await
        .unwrap();
    h.put_string("/lasting", "x").await;
    h.events.take();
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 0);

    h.clock.advance(DAY * 2);
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 1);
    let events = h.events.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "Parameter Store Policy Action");
    assert!(
        events[0]
            .detail
            .contains("\"policy-type\":\"ExpirationNotification\"")
    );
    // A notification is sent once.
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 0);
    let history = h.history("/expiring").await;
    let statuses: Vec<_> = history[0]
        .policies
        .clone()
        .unwrap()
        .into_iter()
        .map(|p| p.policy_status.unwrap())
        .collect();
    assert_eq!(statuses, ["Pending", "Finished"]);

    h.clock.advance(DAY);
    let restarted = h.restarted();
    assert_eq!(restarted.apply_parameter_policies().await.unwrap(), 1);
    expect_error(h.get("/expiring", false).await, "ParameterNotFound");
    assert_eq!(h.value("/lasting").await, "x");
    let events = h.events.take();
    let kinds: Vec<&str> = events.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(
        kinds,
        ["Parameter Store Policy Action", "Parameter Store Change"]
    );
    assert!(events[1].detail.contains("\"operation\":\"Delete\""));
}

#[tokio::test]
async fn no_change_notification_counts_from_the_last_change() {
    let h = Harness::new().await;
    let policy = r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Days"}}]"#;
    h.put(with_policies("/quiet", policy)).await.unwrap();
    h.clock.advance(DAY);
    // A new version without Policies keeps the policy, counted again from now.
    h.overwrite("/quiet", "changed").await;
    h.clock.advance(DAY);
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 0);
    h.clock.advance(DAY);
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 1);
    assert_eq!(h.value("/quiet").await, "changed");
}

#[tokio::test]
async fn replaced_or_deleted_policies_never_fire() {
    let h = Harness::new().await;
    h.put(with_policies("/replaced", EXPIRE_IN_3_DAYS))
        .await
        .unwrap();
    h.put(with_policies("/deleted", EXPIRE_IN_3_DAYS))
        .await
        .unwrap();
    let due = h.store.scan("ssm/policy-due", "", None, 10).await.unwrap();
    assert_eq!(due.len(), 4);
    // An empty policy list removes the policies.
    h.put(PutParameterRequest {
        overwrite: Some(true),
        ..with_policies("/replaced", "[]")
    })
    .await
    .unwrap();
    let _: DeleteParameterResult = h
        .call(
            "DeleteParameter",
            DeleteParameterRequest {
                name: "/deleted".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        h.store
            .scan("ssm/policy-due", "", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    h.put_string("/deleted", "new").await;
    h.clock.advance(DAY * 4);
    assert_eq!(h.parameters().apply_parameter_policies().await.unwrap(), 0);
    assert_eq!(h.value("/replaced").await, "x");
    assert_eq!(h.value("/deleted").await, "new");
}
