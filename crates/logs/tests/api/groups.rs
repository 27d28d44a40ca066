//! Log groups: creation rules, listing and paging, retention and tags.

use std::collections::BTreeMap;

use palisade_model_logs::types::*;

use crate::common::*;

const ARN: &str = "arn:aws:logs:us-east-1:000000000000:log-group:";

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn create_describes_the_group_as_aws_does() {
    let h = Harness::new().await;
    h.act(
        "CreateLogGroup",
        CreateLogGroupRequest {
            log_group_name: "/app/web".to_owned(),
            kms_key_id: Some("arn:aws:kms:us-east-1:000000000000:key/k".to_owned()),
            tags: Some(tags(&[("team", "core")])),
            log_group_class: Some(LogGroupClass::InfrequentAccess),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let groups = h.groups(DescribeLogGroupsRequest::default()).await;
    let group = &groups.log_groups.unwrap()[0];
    assert_eq!(group.log_group_name.as_deref(), Some("/app/web"));
    assert_eq!(group.arn, Some(format!("{ARN}/app/web:*")));
    assert_eq!(group.log_group_arn, Some(format!("{ARN}/app/web")));
    assert_eq!(group.creation_time, Some(START));
    assert_eq!(group.log_group_class, Some(LogGroupClass::InfrequentAccess));
    assert_eq!(
        group.kms_key_id.as_deref(),
        Some("arn:aws:kms:us-east-1:000000000000:key/k")
    );
    assert_eq!(group.retention_in_days, None);
    assert_eq!(group.metric_filter_count, Some(0));

    let again = h
        .act(
            "CreateLogGroup",
            CreateLogGroupRequest {
                log_group_name: "/app/web".to_owned(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        assert_code(again, "ResourceAlreadyExistsException"),
        "The specified log group already exists"
    );
    let bad_name = h
        .act(
            "CreateLogGroup",
            CreateLogGroupRequest {
                log_group_name: "bad name!".to_owned(),
                ..Default::default()
            },
        )
        .await;
    assert_code(bad_name, "Validation");
}

#[tokio::test]
async fn delete_removes_the_group_and_its_streams() {
    let h = Harness::new().await;
    h.create_group("g").await;
    h.create_stream("g", "s").await;
    h.put("g", "s", &[(START, "hello")]).await.unwrap();
    h.act(
        "DeleteLogGroup",
        DeleteLogGroupRequest {
            log_group_name: "g".to_owned(),
        },
    )
    .await
    .unwrap();
    let missing = h
        .act(
            "DeleteLogGroup",
            DeleteLogGroupRequest {
                log_group_name: "g".to_owned(),
            },
        )
        .await;
    assert_eq!(
        assert_code(missing, "ResourceNotFoundException"),
        "The specified log group does not exist."
    );
    h.create_group("g").await;
    let streams: DescribeLogStreamsResponse = h
        .call(
            "DescribeLogStreams",
            DescribeLogStreamsRequest {
                log_group_name: Some("g".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(streams.log_streams, Some(vec![]));
}

#[tokio::test]
async fn describe_filters_by_prefix_or_pattern_and_pages() {
    let h = Harness::new().await;
    for name in [
        "/aws/lambda/a",
        "/aws/lambda/b",
        "/app/Web",
        "/app/worker",
        "other",
    ] {
        h.create_group(name).await;
    }
    let names = |response: &DescribeLogGroupsResponse| -> Vec<String> {
        response
            .log_groups
            .iter()
            .flatten()
            .filter_map(|group| group.log_group_name.clone())
            .collect()
    };
    let by_prefix = h
        .groups(DescribeLogGroupsRequest {
            log_group_name_prefix: Some("/app/".to_owned()),
            ..Default::default()
        })
        .await;
    assert_eq!(names(&by_prefix), ["/app/Web", "/app/worker"]);
    let by_pattern = h
        .groups(DescribeLogGroupsRequest {
            log_group_name_pattern: Some("WEB".to_owned()),
            ..Default::default()
        })
        .await;
    assert_eq!(names(&by_pattern), ["/app/Web"]);
    let both = h
        .call::<DescribeLogGroupsResponse>(
            "DescribeLogGroups",
            DescribeLogGroupsRequest {
                log_group_name_prefix: Some("/a".to_owned()),
                log_group_name_pattern: Some("a".to_owned()),
                ..Default::default()
            },
        )
        .await;
    assert_code(both, "InvalidParameterException");

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .groups(DescribeLogGroupsRequest {
                limit: Some(2),
                next_token: token,
                ..Default::default()
            })
            .await;
        assert!(names(&page).len() <= 2);
        seen.extend(names(&page));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "/app/Web",
            "/app/worker",
            "/aws/lambda/a",
            "/aws/lambda/b",
            "other"
        ]
    );
    let too_many = h
        .call::<DescribeLogGroupsResponse>(
            "DescribeLogGroups",
            DescribeLogGroupsRequest {
                limit: Some(51),
                ..Default::default()
            },
        )
        .await;
    assert_code(too_many, "Validation");
}

#[tokio::test]
async fn retention_takes_only_aws_day_values() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let put = |days| PutRetentionPolicyRequest {
        log_group_name: "g".to_owned(),
        retention_in_days: days,
    };
    let refused = h.act("PutRetentionPolicy", put(2)).await;
    assert!(assert_code(refused, "InvalidParameterException").contains("enum value set: [1, 3, 5"));
    h.act("PutRetentionPolicy", put(731)).await.unwrap();
    let group = h.groups(DescribeLogGroupsRequest::default()).await;
    assert_eq!(group.log_groups.unwrap()[0].retention_in_days, Some(731));
    h.act(
        "DeleteRetentionPolicy",
        DeleteRetentionPolicyRequest {
            log_group_name: "g".to_owned(),
        },
    )
    .await
    .unwrap();
    let group = h.groups(DescribeLogGroupsRequest::default()).await;
    assert_eq!(group.log_groups.unwrap()[0].retention_in_days, None);
    let missing = h
        .act(
            "PutRetentionPolicy",
            PutRetentionPolicyRequest {
                log_group_name: "nope".to_owned(),
                retention_in_days: 1,
            },
        )
        .await;
    assert_code(missing, "ResourceNotFoundException");
}

#[tokio::test]
async fn tags_by_arn_and_by_name() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let arn = format!("{ARN}g");
    h.act(
        "TagResource",
        TagResourceRequest {
            resource_arn: arn.clone(),
            tags: tags(&[("a", "1"), ("b", "2")]),
        },
    )
    .await
    .unwrap();
    h.act(
        "UntagResource",
        UntagResourceRequest {
            resource_arn: arn.clone(),
            tag_keys: vec!["a".to_owned()],
        },
    )
    .await
    .unwrap();
    h.act(
        "TagLogGroup",
        TagLogGroupRequest {
            log_group_name: "g".to_owned(),
            tags: tags(&[("c", "3")]),
        },
    )
    .await
    .unwrap();
    let listed: ListTagsForResourceResponse = h
        .call(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.tags, Some(tags(&[("b", "2"), ("c", "3")])));
    h.act(
        "UntagLogGroup",
        UntagLogGroupRequest {
            log_group_name: "g".to_owned(),
            tags: vec!["b".to_owned()],
        },
    )
    .await
    .unwrap();
    let old: ListTagsLogGroupResponse = h
        .call(
            "ListTagsLogGroup",
            ListTagsLogGroupRequest {
                log_group_name: "g".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(old.tags, Some(tags(&[("c", "3")])));

    let many: BTreeMap<String, String> =
        (0..50).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let over = h
        .act(
            "TagResource",
            TagResourceRequest {
                resource_arn: arn,
                tags: many,
            },
        )
        .await;
    assert_code(over, "TooManyTagsException");
    let unknown = h
        .act(
            "TagResource",
            TagResourceRequest {
                resource_arn: format!("{ARN}missing"),
                tags: tags(&[("a", "1")]),
            },
        )
        .await;
    assert_code(unknown, "ResourceNotFoundException");
}

#[tokio::test]
async fn deletion_protection_blocks_deletion_until_lifted() {
    let h = Harness::new().await;
    h.create_group("g").await;
    let protect = |enabled| PutLogGroupDeletionProtectionRequest {
        log_group_identifier: format!("{ARN}g"),
        deletion_protection_enabled: enabled,
    };
    let delete = || DeleteLogGroupRequest {
        log_group_name: "g".to_owned(),
    };
    h.act("PutLogGroupDeletionProtection", protect(true))
        .await
        .unwrap();
    let group = h.groups(DescribeLogGroupsRequest::default()).await;
    assert_eq!(
        group.log_groups.unwrap()[0].deletion_protection_enabled,
        Some(true)
    );
    assert_code(
        h.act("DeleteLogGroup", delete()).await,
        "InvalidOperationException",
    );
    h.act("PutLogGroupDeletionProtection", protect(false))
        .await
        .unwrap();
    h.act("DeleteLogGroup", delete()).await.unwrap();
}
