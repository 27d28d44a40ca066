//! PutParameter, GetParameter(s), DeleteParameter(s), versions, tiers and data types.

use palisade_core::Sensitive;
use palisade_model_ssm::types::*;

use crate::common::*;

#[tokio::test]
async fn put_then_get_answers_value_version_arn_and_type() {
    let h = Harness::new().await;
    let created = h
        .put(PutParameterRequest {
            description: Some("the database host".into()),
            ..string("/app/db/host", "db.internal")
        })
        .await
        .unwrap();
    assert_eq!(created.version, Some(1));
    assert_eq!(created.tier, Some(ParameterTier::Standard));
    let parameter = h.get("/app/db/host", false).await.unwrap();
    assert_eq!(value(&parameter), "db.internal");
    assert_eq!(parameter.version, Some(1));
    assert_eq!(parameter.r#type, Some(ParameterType::String));
    assert_eq!(parameter.data_type.as_deref(), Some("text"));
    assert_eq!(
        parameter.arn.as_deref(),
        Some("arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host")
    );
    // The full ARN names the parameter too.
    let by_arn = h
        .get(
            "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host",
            false,
        )
        .await
        .unwrap();
    assert_eq!(by_arn.name.as_deref(), Some("/app/db/host"));
    let flat = h.put_string("flat-name", "x").await;
    assert_eq!(flat, 1);
    let flat_by_arn = h
        .get(
            "arn:aws:ssm:us-east-1:000000000000:parameter/flat-name",
            false,
        )
        .await
        .unwrap();
    assert_eq!(flat_by_arn.name.as_deref(), Some("flat-name"));
}

#[tokio::test]
async fn a_second_put_needs_overwrite_and_adds_a_version() {
    let h = Harness::new().await;
    h.put_string("/app/mode", "blue").await;
    let message = expect_error(
        h.put(string("/app/mode", "green")).await,
        "ParameterAlreadyExists",
    );
    assert!(message.contains("overwrite"), "{message}");
    assert_eq!(h.overwrite("/app/mode", "green").await, 2);
    assert_eq!(h.value("/app/mode").await, "green");
    assert_eq!(value(&h.get("/app/mode:1", false).await.unwrap()), "blue");
    let selected = h.get("/app/mode:1", false).await.unwrap();
    assert_eq!(selected.selector.as_deref(), Some(":1"));
    assert_eq!(selected.version, Some(1));
    expect_error(
        h.get("/app/mode:7", false).await,
        "ParameterVersionNotFound",
    );
    expect_error(h.get("/app/missing", false).await, "ParameterNotFound");
    // Overwrites keep the type: omitted, it is the parameter's; a different one is refused.
    let untyped = h
        .put(PutParameterRequest {
            r#type: None,
            overwrite: Some(true),
            ..string("/app/mode", "red")
        })
        .await
        .unwrap();
    assert_eq!(untyped.version, Some(3));
    expect_error(
        h.put(PutParameterRequest {
            r#type: Some(ParameterType::SecureString),
            overwrite: Some(true),
            ..string("/app/mode", "red")
        })
        .await,
        "HierarchyTypeMismatchException",
    );
}

#[tokio::test]
async fn tags_with_overwrite_are_refused() {
    let h = Harness::new().await;
    h.put_string("/t", "1").await;
    let message = expect_error(
        h.put(PutParameterRequest {
            overwrite: Some(true),
            tags: Some(vec![Tag {
                key: "team".into(),
                value: "a".into(),
            }]),
            ..string("/t", "2")
        })
        .await,
        "Validation",
    );
    assert!(message.contains("tags and overwrite can't be used together"));
}

#[tokio::test]
async fn allowed_pattern_is_checked_now_and_on_later_versions() {
    let h = Harness::new().await;
    let pattern = Some(r"^\d+$".to_owned());
    expect_error(
        h.put(PutParameterRequest {
            allowed_pattern: pattern.clone(),
            ..string("/port", "http")
        })
        .await,
        "ParameterPatternMismatchException",
    );
    h.put(PutParameterRequest {
        allowed_pattern: pattern,
        ..string("/port", "8080")
    })
    .await
    .unwrap();
    // The pattern stays with the parameter.
    expect_error(
        h.put(PutParameterRequest {
            overwrite: Some(true),
            ..string("/port", "eighty")
        })
        .await,
        "ParameterPatternMismatchException",
    );
    expect_error(
        h.put(PutParameterRequest {
            allowed_pattern: Some("(".into()),
            ..string("/bad-pattern", "x")
        })
        .await,
        "InvalidAllowedPatternException",
    );
}

#[tokio::test]
async fn image_data_type_takes_only_image_ids() {
    let h = Harness::new().await;
    let image = |value: &str| PutParameterRequest {
        data_type: Some("aws:ec2:image".into()),
        overwrite: Some(true),
        ..string("/golden/ami", value)
    };
    h.put(image("ami-12345678")).await.unwrap();
    h.put(image("ami-0123456789abcdef0")).await.unwrap();
    expect_error(h.put(image("ami-123")).await, "Validation");
    expect_error(h.put(image("i-0123456789abcdef0")).await, "Validation");
    let parameter = h.get("/golden/ami", false).await.unwrap();
    assert_eq!(parameter.data_type.as_deref(), Some("aws:ec2:image"));
    expect_error(
        h.put(PutParameterRequest {
            data_type: Some("aws:unknown".into()),
            ..string("/odd", "x")
        })
        .await,
        "Validation",
    );
}

#[tokio::test]
async fn tiers_limit_values_and_never_go_back_to_standard() {
    let h = Harness::new().await;
    let big = "x".repeat(5000);
    let message = expect_error(h.put(string("/big", &big)).await, "Validation");
    assert!(message.contains("4096"), "{message}");
    let intelligent = h
        .put(PutParameterRequest {
            tier: Some(ParameterTier::IntelligentTiering),
            ..string("/big", &big)
        })
        .await
        .unwrap();
    assert_eq!(intelligent.tier, Some(ParameterTier::Advanced));
    let small = h
        .put(PutParameterRequest {
            tier: Some(ParameterTier::IntelligentTiering),
            ..string("/small", "x")
        })
        .await
        .unwrap();
    assert_eq!(small.tier, Some(ParameterTier::Standard));
    expect_error(
        h.put(PutParameterRequest {
            tier: Some(ParameterTier::Advanced),
            ..string("/huge", &"x".repeat(8193))
        })
        .await,
        "Validation",
    );
    let message = expect_error(
        h.put(PutParameterRequest {
            tier: Some(ParameterTier::Standard),
            overwrite: Some(true),
            ..string("/big", "small now")
        })
        .await,
        "Validation",
    );
    assert!(message.contains("can't downgrade"), "{message}");
    // Without a tier an Advanced parameter stays Advanced.
    let again = h
        .put(PutParameterRequest {
            overwrite: Some(true),
            ..string("/big", "small now")
        })
        .await
        .unwrap();
    assert_eq!(again.tier, Some(ParameterTier::Advanced));
}

#[tokio::test]
async fn the_oldest_of_100_versions_is_dropped_unless_labelled() {
    let h = Harness::new().await;
    h.put_string("/v", "0").await;
    for n in 1..100 {
        h.overwrite("/v", &n.to_string()).await;
    }
    assert_eq!(h.overwrite("/v", "100").await, 101);
    let history = h.history("/v").await;
    assert_eq!(history.len(), 50);
    assert_eq!(history[0].version, Some(2));
    expect_error(h.get("/v:1", false).await, "ParameterVersionNotFound");
    let _: LabelParameterVersionResult = h
        .call(
            "LabelParameterVersion",
            LabelParameterVersionRequest {
                name: "/v".into(),
                parameter_version: Some(2),
                labels: vec!["keep".into()],
            },
        )
        .await
        .unwrap();
    let message = expect_error(
        h.put(PutParameterRequest {
            overwrite: Some(true),
            ..string("/v", "blocked")
        })
        .await,
        "ParameterMaxVersionLimitExceeded",
    );
    assert!(message.contains("Version 2"), "{message}");
}

#[tokio::test]
async fn get_parameters_lists_the_invalid_ones() {
    let h = Harness::new().await;
    h.put_string("/a", "1").await;
    h.put_string("/b", "2").await;
    let result: GetParametersResult = h
        .call(
            "GetParameters",
            GetParametersRequest {
                names: vec!["/a".into(), "/missing".into(), "/b:1".into(), "/b:9".into()],
                with_decryption: None,
            },
        )
        .await
        .unwrap();
    let parameters = result.parameters.unwrap();
    assert_eq!(names(&parameters), ["/a", "/b"]);
    assert_eq!(parameters[1].selector.as_deref(), Some(":1"));
    assert_eq!(result.invalid_parameters.unwrap(), ["/missing", "/b:9"]);
    let too_many: Vec<String> = (0..11).map(|n| format!("/p{n}")).collect();
    expect_error(
        h.call::<GetParametersResult>(
            "GetParameters",
            GetParametersRequest {
                names: too_many,
                with_decryption: None,
            },
        )
        .await,
        "Validation",
    );
}

#[tokio::test]
async fn deletes_report_what_existed_and_publish_events() {
    let h = Harness::new().await;
    h.put_string("/d/1", "x").await;
    h.put_string("/d/2", "x").await;
    let events = h.events.take();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail_type, "Parameter Store Change");
    assert_eq!(events[0].source, "aws.ssm");
    assert!(events[0].detail.contains("\"operation\":\"Create\""));
    assert_eq!(
        events[0].resources,
        ["arn:aws:ssm:us-east-1:000000000000:parameter/d/1"]
    );
    let _: DeleteParameterResult = h
        .call(
            "DeleteParameter",
            DeleteParameterRequest {
                name: "/d/1".into(),
            },
        )
        .await
        .unwrap();
    expect_error(
        h.call::<DeleteParameterResult>(
            "DeleteParameter",
            DeleteParameterRequest {
                name: "/d/1".into(),
            },
        )
        .await,
        "ParameterNotFound",
    );
    let result: DeleteParametersResult = h
        .call(
            "DeleteParameters",
            DeleteParametersRequest {
                names: vec!["/d/2".into(), "/d/1".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(result.deleted_parameters.unwrap(), ["/d/2"]);
    assert_eq!(result.invalid_parameters.unwrap(), ["/d/1"]);
    let events = h.events.take();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e.detail.contains("\"operation\":\"Delete\""))
    );
    // A deleted name can be created again from version 1.
    assert_eq!(h.put_string("/d/1", "again").await, 1);
}

#[tokio::test]
async fn values_never_show_in_debug_output() {
    let request = PutParameterRequest {
        value: Sensitive::new("hunter2-plaintext".into()),
        ..Default::default()
    };
    assert!(!format!("{request:?}").contains("hunter2-plaintext"));
}
