//! LabelParameterVersion, UnlabelParameterVersion, label selectors and history.

use palisade_model_ssm::types::*;

use crate::common::*;

async fn label(
    h: &Harness,
    name: &str,
    version: Option<i64>,
    labels: &[&str],
) -> Result<LabelParameterVersionResult, palisade_core::ServiceError> {
    h.call(
        "LabelParameterVersion",
        LabelParameterVersionRequest {
            name: name.into(),
            parameter_version: version,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        },
    )
    .await
}

#[tokio::test]
async fn labels_select_versions_and_move_between_them() {
    let h = Harness::new().await;
    h.put_string("/cfg", "one").await;
    h.overwrite("/cfg", "two").await;
    let result = label(
        &h,
        "/cfg",
        Some(1),
        &["prod", "1bad", "awsy", "ok.label_x-1"],
    )
    .await
    .unwrap();
    assert_eq!(result.parameter_version, Some(1));
    assert_eq!(result.invalid_labels.unwrap(), ["1bad", "awsy"]);
    let prod = h.get("/cfg:prod", false).await.unwrap();
    assert_eq!(value(&prod), "one");
    assert_eq!(prod.selector.as_deref(), Some(":prod"));
    // Without a version, the label goes on the latest, leaving version 1.
    let moved = label(&h, "/cfg", None, &["prod"]).await.unwrap();
    assert_eq!(moved.parameter_version, Some(2));
    assert_eq!(h.value("/cfg:prod").await, "two");
    let history = h.history("/cfg").await;
    assert_eq!(
        history[0].labels.as_deref(),
        Some(&["ok.label_x-1".to_owned()][..])
    );
    assert_eq!(history[1].labels.as_deref(), Some(&["prod".to_owned()][..]));
    assert_eq!(value_of(&history[0]), "one");
    expect_error(
        h.get("/cfg:nolabel", false).await,
        "ParameterVersionNotFound",
    );
    expect_error(
        label(&h, "/cfg", Some(9), &["x"]).await,
        "ParameterVersionNotFound",
    );
    expect_error(
        label(&h, "/nothing", None, &["x"]).await,
        "ParameterNotFound",
    );
    let events = h.events.take();
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("\"operation\":\"LabelParameterVersion\""))
    );
}

#[tokio::test]
async fn a_version_carries_at_most_ten_labels() {
    let h = Harness::new().await;
    h.put_string("/many", "x").await;
    let ten: Vec<String> = (0..10).map(|n| format!("l{n}")).collect();
    let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
    label(&h, "/many", Some(1), &ten).await.unwrap();
    expect_error(
        label(&h, "/many", Some(1), &["eleventh"]).await,
        "ParameterVersionLabelLimitExceeded",
    );
}

#[tokio::test]
async fn unlabel_reports_removed_and_invalid_labels() {
    let h = Harness::new().await;
    h.put_string("/u", "x").await;
    label(&h, "/u", Some(1), &["a", "b"]).await.unwrap();
    let result: UnlabelParameterVersionResult = h
        .call(
            "UnlabelParameterVersion",
            UnlabelParameterVersionRequest {
                name: "/u".into(),
                parameter_version: 1,
                labels: vec!["a".into(), "zzz".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(result.removed_labels.unwrap(), ["a"]);
    assert_eq!(result.invalid_labels.unwrap(), ["zzz"]);
    assert_eq!(
        h.history("/u").await[0].labels.as_deref(),
        Some(&["b".to_owned()][..])
    );
    expect_error(
        h.call::<UnlabelParameterVersionResult>(
            "UnlabelParameterVersion",
            UnlabelParameterVersionRequest {
                name: "/u".into(),
                parameter_version: 4,
                labels: vec!["b".into()],
            },
        )
        .await,
        "ParameterVersionNotFound",
    );
}

fn value_of(history: &ParameterHistory) -> String {
    history.value.as_ref().unwrap().expose().clone()
}

#[tokio::test]
async fn history_pages() {
    let h = Harness::new().await;
    h.put_string("/hist", "0").await;
    for n in 1..7 {
        h.overwrite("/hist", &n.to_string()).await;
    }
    let first: GetParameterHistoryResult = h
        .call(
            "GetParameterHistory",
            GetParameterHistoryRequest {
                name: "/hist".into(),
                max_results: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.parameters.as_ref().unwrap().len(), 5);
    let second: GetParameterHistoryResult = h
        .call(
            "GetParameterHistory",
            GetParameterHistoryRequest {
                name: "/hist".into(),
                max_results: Some(5),
                next_token: first.next_token,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let versions: Vec<i64> = second
        .parameters
        .unwrap()
        .iter()
        .map(|p| p.version.unwrap())
        .collect();
    assert_eq!(versions, [6, 7]);
    assert_eq!(second.next_token, None);
}

#[tokio::test]
async fn by_path_with_a_label_filter_answers_the_labelled_versions() {
    let h = Harness::new().await;
    h.put_string("/rel/a", "a1").await;
    h.overwrite("/rel/a", "a2").await;
    h.put_string("/rel/b", "b1").await;
    label(&h, "/rel/a", Some(1), &["stable"]).await.unwrap();
    let page = h
        .by_path(GetParametersByPathRequest {
            path: "/rel".into(),
            parameter_filters: Some(vec![ParameterStringFilter {
                key: "Label".into(),
                option: Some("Equals".into()),
                values: Some(vec!["stable".into()]),
            }]),
            ..Default::default()
        })
        .await
        .unwrap();
    let parameters = page.parameters.unwrap();
    assert_eq!(names(&parameters), ["/rel/a"]);
    assert_eq!(value(&parameters[0]), "a1");
    assert_eq!(parameters[0].version, Some(1));
}
