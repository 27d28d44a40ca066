//! Names and hierarchies: name rules, GetParametersByPath, DescribeParameters filters and
//! paging, and the public `/aws/service/...` parameters.

use palisade_model_ssm::types::*;

use crate::common::*;

#[tokio::test]
async fn names_follow_aws_rules() {
    let h = Harness::new().await;
    for bad in [
        "/aws/mine",
        "awsthing",
        "/SSM/x",
        "/has space",
        "/a//b",
        "no-slash/child",
    ] {
        expect_error(h.put(string(bad, "x")).await, "Validation");
    }
    let deep = "/l".repeat(16);
    expect_error(
        h.put(string(&deep, "x")).await,
        "HierarchyLevelLimitExceededException",
    );
    h.put_string(&"/l".repeat(15), "x").await;
    // 1011 characters with the ARN prefix (45 characters here) is the longest name.
    let prefix_len = "arn:aws:ssm:us-east-1:000000000000:parameter/".len();
    let longest = format!("/{}", "n".repeat(1011 - prefix_len));
    h.put_string(&longest, "x").await;
    let too_long = format!("/{}", "n".repeat(1012 - prefix_len));
    expect_error(h.put(string(&too_long, "x")).await, "Validation");
}

async fn tree(h: &Harness) {
    for name in [
        "/app/a",
        "/app/b",
        "/app/sub/c",
        "/app/sub/deeper/d",
        "/apple",
        "/other/x",
        "top",
    ] {
        h.put_string(name, name).await;
    }
    h.put(PutParameterRequest {
        r#type: Some(ParameterType::StringList),
        ..string("/app/list", "a,b")
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn by_path_is_one_level_or_recursive() {
    let h = Harness::new().await;
    tree(&h).await;
    let path = |path: &str, recursive| GetParametersByPathRequest {
        path: path.into(),
        recursive: Some(recursive),
        ..Default::default()
    };
    let one = h.by_path(path("/app", false)).await.unwrap();
    assert_eq!(
        names(&one.parameters.unwrap()),
        ["/app/a", "/app/b", "/app/list"]
    );
    assert_eq!(one.next_token, None);
    let all = h.by_path(path("/app/", true)).await.unwrap();
    assert_eq!(
        names(&all.parameters.unwrap()),
        [
            "/app/a",
            "/app/b",
            "/app/list",
            "/app/sub/c",
            "/app/sub/deeper/d"
        ]
    );
    let root = h.by_path(path("/", false)).await.unwrap();
    assert_eq!(names(&root.parameters.unwrap()), ["/apple", "top"]);
    // Page by page, across the subtrees a one-level read skips.
    let first = h
        .by_path(GetParametersByPathRequest {
            max_results: Some(1),
            ..path("/", false)
        })
        .await
        .unwrap();
    assert_eq!(names(&first.parameters.unwrap()), ["/apple"]);
    let second = h
        .by_path(GetParametersByPathRequest {
            max_results: Some(1),
            next_token: first.next_token,
            ..path("/", false)
        })
        .await
        .unwrap();
    assert_eq!(names(&second.parameters.unwrap()), ["top"]);
    assert_eq!(second.next_token, None);
    let typed = h
        .by_path(GetParametersByPathRequest {
            parameter_filters: Some(vec![ParameterStringFilter {
                key: "Type".into(),
                option: Some("Equals".into()),
                values: Some(vec!["StringList".into()]),
            }]),
            ..path("/app", true)
        })
        .await
        .unwrap();
    assert_eq!(names(&typed.parameters.unwrap()), ["/app/list"]);
    expect_error(
        h.by_path(GetParametersByPathRequest {
            parameter_filters: Some(vec![ParameterStringFilter {
                key: "Name".into(),
                option: None,
                values: Some(vec!["x".into()]),
            }]),
            ..path("/app", true)
        })
        .await,
        "InvalidFilterKey",
    );
    expect_error(h.by_path(path("app", true)).await, "Validation");
}

#[tokio::test]
async fn by_path_pages_with_next_token() {
    let h = Harness::new().await;
    for n in 0..25 {
        h.put_string(&format!("/paged/p{n:02}"), "x").await;
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .by_path(GetParametersByPathRequest {
                path: "/paged".into(),
                max_results: Some(10),
                next_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let page_names = names(&page.parameters.unwrap());
        assert!(page_names.len() <= 10);
        seen.extend(page_names);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (0..25).map(|n| format!("/paged/p{n:02}")).collect();
    assert_eq!(seen, expected);
    expect_error(
        h.by_path(GetParametersByPathRequest {
            path: "/paged".into(),
            max_results: Some(11),
            ..Default::default()
        })
        .await,
        "Validation",
    );
    expect_error(
        h.by_path(GetParametersByPathRequest {
            path: "/paged".into(),
            next_token: Some("!!".into()),
            ..Default::default()
        })
        .await,
        "InvalidNextToken",
    );
}

#[tokio::test]
async fn describe_filters_by_path_name_type_tier_and_tag() {
    let h = Harness::new().await;
    tree(&h).await;
    h.put(PutParameterRequest {
        tier: Some(ParameterTier::Advanced),
        tags: Some(vec![Tag {
            key: "team".into(),
            value: "blue".into(),
        }]),
        ..string("/app/sub/advanced", "x")
    })
    .await
    .unwrap();
    let filter = |key: &str, option: Option<&str>, values: &[&str]| ParameterStringFilter {
        key: key.into(),
        option: option.map(Into::into),
        values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
    };
    let described = |filters: Vec<ParameterStringFilter>| DescribeParametersRequest {
        parameter_filters: Some(filters),
        ..Default::default()
    };
    let listed = |result: DescribeParametersResult| -> Vec<String> {
        result
            .parameters
            .unwrap()
            .into_iter()
            .map(|p| p.name.unwrap())
            .collect()
    };
    let one_level = h
        .describe(described(vec![filter(
            "Path",
            Some("OneLevel"),
            &["/app/sub"],
        )]))
        .await
        .unwrap();
    assert_eq!(listed(one_level), ["/app/sub/advanced", "/app/sub/c"]);
    let recursive = h
        .describe(described(vec![filter(
            "Path",
            Some("Recursive"),
            &["/app/sub"],
        )]))
        .await
        .unwrap();
    assert_eq!(
        listed(recursive),
        ["/app/sub/advanced", "/app/sub/c", "/app/sub/deeper/d"]
    );
    let begins = h
        .describe(described(vec![filter(
            "Name",
            Some("BeginsWith"),
            &["/app/s"],
        )]))
        .await
        .unwrap();
    assert_eq!(
        listed(begins),
        ["/app/sub/advanced", "/app/sub/c", "/app/sub/deeper/d"]
    );
    let tier = h
        .describe(described(vec![filter("Tier", None, &["Advanced"])]))
        .await
        .unwrap();
    assert_eq!(listed(tier), ["/app/sub/advanced"]);
    let tagged = h
        .describe(described(vec![filter("tag:team", None, &["blue"])]))
        .await
        .unwrap();
    assert_eq!(listed(tagged), ["/app/sub/advanced"]);
    let typed = h
        .describe(DescribeParametersRequest {
            filters: Some(vec![ParametersFilter {
                key: ParametersFilterKey::Type,
                values: vec!["StringList".into()],
            }]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed(typed), ["/app/list"]);
    expect_error(
        h.describe(described(vec![filter("Type", Some("BeginsWith"), &["S"])]))
            .await,
        "InvalidFilterOption",
    );
    // Paging: 9 parameters in pages of 4.
    let mut count = 0;
    let mut token = None;
    loop {
        let page = h
            .describe(DescribeParametersRequest {
                max_results: Some(4),
                next_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let metadata = page.parameters.unwrap();
        assert!(metadata.len() <= 4);
        count += metadata.len();
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(count, 9);
    let metadata = h
        .describe(described(vec![filter("Name", Some("Equals"), &["/app/a"])]))
        .await
        .unwrap()
        .parameters
        .unwrap();
    assert_eq!(metadata[0].version, Some(1));
    assert_eq!(
        metadata[0].last_modified_user.as_deref(),
        Some("arn:aws:iam::000000000000:root")
    );
}

#[tokio::test]
async fn public_parameters_are_readable_everywhere_and_read_only() {
    let h = Harness::new().await;
    let image = h
        .get(
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            false,
        )
        .await
        .unwrap();
    assert!(value(&image).starts_with("ami-"));
    assert_eq!(image.data_type.as_deref(), Some("aws:ec2:image"));
    let regions = h
        .by_path(GetParametersByPathRequest {
            path: "/aws/service/global-infrastructure/regions".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let regions: Vec<String> = regions.parameters.unwrap().iter().map(value).collect();
    assert!(regions.contains(&"us-east-1".to_owned()));
    assert!(regions.len() <= 10);
    let long_name = h
        .get(
            "/aws/service/global-infrastructure/regions/us-east-1/longName",
            false,
        )
        .await
        .unwrap();
    assert_eq!(value(&long_name), "US East (N. Virginia)");
    expect_error(
        h.put(PutParameterRequest {
            overwrite: Some(true),
            ..string(
                "/aws/service/global-infrastructure/regions/us-east-1",
                "mine",
            )
        })
        .await,
        "Validation",
    );
    expect_error(
        h.get("/aws/service/does/not/exist", false).await,
        "ParameterNotFound",
    );
}

#[tokio::test]
async fn secrets_manager_references_answer_as_a_missing_secret() {
    let h = Harness::new().await;
    expect_error(
        h.get("/aws/reference/secretsmanager/db", false).await,
        "Validation",
    );
    expect_error(
        h.get("/aws/reference/secretsmanager/db", true).await,
        "ParameterNotFound",
    );
}
