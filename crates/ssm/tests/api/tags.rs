//! AddTagsToResource, RemoveTagsFromResource and ListTagsForResource on parameters.

use palisade_model_ssm::types::*;

use crate::common::*;

async fn tags(h: &Harness, id: &str) -> Vec<(String, String)> {
    let result: ListTagsForResourceResult = h
        .call(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_type: ResourceTypeForTagging::Parameter,
                resource_id: id.into(),
            },
        )
        .await
        .unwrap();
    result
        .tag_list
        .unwrap()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

#[tokio::test]
async fn tags_are_added_replaced_listed_and_removed() {
    let h = Harness::new().await;
    h.put(PutParameterRequest {
        tags: Some(vec![tag("team", "blue")]),
        ..string("/tagged", "x")
    })
    .await
    .unwrap();
    let _: AddTagsToResourceResult = h
        .call(
            "AddTagsToResource",
            AddTagsToResourceRequest {
                resource_type: ResourceTypeForTagging::Parameter,
                resource_id: "/tagged".into(),
                tags: vec![tag("team", "green"), tag("env", "prod")],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tags(&h, "/tagged").await,
        [
            ("team".into(), "green".into()),
            ("env".into(), "prod".into())
        ]
    );
    let _: RemoveTagsFromResourceResult = h
        .call(
            "RemoveTagsFromResource",
            RemoveTagsFromResourceRequest {
                resource_type: ResourceTypeForTagging::Parameter,
                resource_id: "arn:aws:ssm:us-east-1:000000000000:parameter/tagged".into(),
                tag_keys: vec!["team".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(tags(&h, "/tagged").await, [("env".into(), "prod".into())]);
    expect_error(
        h.call::<ListTagsForResourceResult>(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_type: ResourceTypeForTagging::Parameter,
                resource_id: "/absent".into(),
            },
        )
        .await,
        "InvalidResourceId",
    );
    expect_error(
        h.call::<ListTagsForResourceResult>(
            "ListTagsForResource",
            ListTagsForResourceRequest {
                resource_type: ResourceTypeForTagging::Document,
                resource_id: "/tagged".into(),
            },
        )
        .await,
        "InvalidResourceType",
    );
}
