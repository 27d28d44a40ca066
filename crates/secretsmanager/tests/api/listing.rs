//! ListSecrets filters, sorting and paging, and BatchGetSecretValue.

use palisade_core::Sensitive;
use palisade_model_secretsmanager::types::*;

use crate::common::*;

async fn seed(h: &Harness) {
    let secrets = [
        ("prod/db", "Production database", ("team", "Payments")),
        ("prod/api", "Public API key", ("team", "Platform")),
        ("dev/db", "development DATABASE", ("env", "dev")),
        ("Prod/legacy", "old stuff", ("team", "Legacy")),
    ];
    for (name, description, (key, value)) in secrets {
        let _: CreateSecretResponse = h
            .call(
                "CreateSecret",
                CreateSecretRequest {
                    name: name.into(),
                    description: Some(description.into()),
                    secret_string: Some(Sensitive::new(format!("value of {name}"))),
                    tags: Some(vec![Tag {
                        key: Some(key.into()),
                        value: Some(value.into()),
                    }]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        h.clock.advance(DAY);
    }
}

async fn names(h: &Harness, filters: Vec<(FilterNameStringType, Vec<&str>)>) -> Vec<String> {
    let response: ListSecretsResponse = h
        .call(
            "ListSecrets",
            ListSecretsRequest {
                filters: Some(
                    filters
                        .into_iter()
                        .map(|(key, values)| Filter {
                            key: Some(key),
                            values: Some(values.into_iter().map(str::to_owned).collect()),
                        })
                        .collect(),
                ),
                sort_by: Some(SortByType::Name),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    response
        .secret_list
        .unwrap()
        .into_iter()
        .map(|entry| entry.name.unwrap())
        .collect()
}

#[tokio::test]
async fn filters_match_prefixes_with_the_documented_case_rules() {
    let h = Harness::new().await;
    seed(&h).await;
    use FilterNameStringType as F;
    assert_eq!(
        names(&h, vec![(F::Name, vec!["prod/"])]).await,
        ["prod/api", "prod/db"]
    );
    assert_eq!(
        names(&h, vec![(F::Name, vec!["!prod"])]).await,
        ["Prod/legacy", "dev/db"]
    );
    assert_eq!(
        names(&h, vec![(F::Name, vec!["dev", "Prod"])]).await,
        ["Prod/legacy", "dev/db"]
    );
    assert_eq!(
        names(&h, vec![(F::Description, vec!["database"])]).await,
        ["dev/db", "prod/db"]
    );
    assert_eq!(names(&h, vec![(F::TagKey, vec!["env"])]).await, ["dev/db"]);
    assert_eq!(
        names(&h, vec![(F::TagValue, vec!["Pla"])]).await,
        ["prod/api"]
    );
    assert_eq!(
        names(&h, vec![(F::TagValue, vec!["pla"])]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&h, vec![(F::TagKey, vec!["team"]), (F::Name, vec!["prod"])]).await,
        ["prod/api", "prod/db"]
    );
    assert_eq!(
        names(&h, vec![(F::All, vec!["payments"])]).await,
        ["prod/db"]
    );
    assert_eq!(names(&h, vec![(F::All, vec!["prodDb"])]).await, ["prod/db"]);
    assert_eq!(
        names(&h, vec![(F::PrimaryRegion, vec!["us-east"])])
            .await
            .len(),
        4
    );
    assert!(
        names(&h, vec![(F::OwningService, vec!["rds"])])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn pages_follow_the_requested_order() {
    let h = Harness::new().await;
    seed(&h).await;
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page: ListSecretsResponse = h
            .call(
                "ListSecrets",
                ListSecretsRequest {
                    max_results: Some(3),
                    next_token: token.clone(),
                    sort_order: Some(SortOrderType::Desc),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let entries = page.secret_list.unwrap();
        assert!(entries.len() <= 3);
        seen.extend(entries.into_iter().map(|entry| entry.name.unwrap()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    // Newest first: created a day apart in seed order.
    assert_eq!(seen, ["Prod/legacy", "dev/db", "prod/api", "prod/db"]);
    let bad = h
        .call::<ListSecretsResponse>(
            "ListSecrets",
            ListSecretsRequest {
                next_token: Some("not-a-token".into()),
                ..Default::default()
            },
        )
        .await;
    assert_code(bad, "InvalidNextTokenException");
}

#[tokio::test]
async fn batch_get_answers_values_and_per_secret_errors() {
    let h = Harness::new().await;
    seed(&h).await;
    let response: BatchGetSecretValueResponse = h
        .call(
            "BatchGetSecretValue",
            BatchGetSecretValueRequest {
                secret_id_list: Some(vec!["prod/db".into(), "missing".into(), "dev/db".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let values: Vec<(String, String)> = response
        .secret_values
        .unwrap()
        .into_iter()
        .map(|entry| {
            (
                entry.name.unwrap(),
                entry.secret_string.unwrap().expose().clone(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("prod/db".to_owned(), "value of prod/db".to_owned()),
            ("dev/db".to_owned(), "value of dev/db".to_owned())
        ]
    );
    let errors = response.errors.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].secret_id.as_deref(), Some("missing"));
    assert_eq!(
        errors[0].error_code.as_deref(),
        Some("ResourceNotFoundException")
    );

    let filtered: BatchGetSecretValueResponse = h
        .call(
            "BatchGetSecretValue",
            BatchGetSecretValueRequest {
                filters: Some(vec![Filter {
                    key: Some(FilterNameStringType::Name),
                    values: Some(vec!["prod".into()]),
                }]),
                max_results: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(filtered.secret_values.unwrap().len(), 1);
    assert!(filtered.next_token.is_some());

    let neither = h
        .call::<BatchGetSecretValueResponse>(
            "BatchGetSecretValue",
            BatchGetSecretValueRequest::default(),
        )
        .await;
    assert_code(neither, "InvalidParameterException");
}
