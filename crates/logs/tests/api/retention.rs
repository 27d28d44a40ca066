//! The retention sweeper.

use palisade_model_logs::types::*;

use crate::common::*;

#[tokio::test]
async fn expire_events_deletes_only_what_retention_allows() {
    let h = Harness::new().await;
    h.create_group("kept").await;
    h.create_group("short").await;
    for group in ["kept", "short"] {
        h.create_stream(group, "s").await;
        for (timestamp, message) in [(START - 2 * DAY, "old"), (START, "new")] {
            h.put(group, "s", &[(timestamp, message)]).await.unwrap();
        }
    }
    h.act(
        "PutRetentionPolicy",
        PutRetentionPolicyRequest {
            log_group_name: "short".to_owned(),
            retention_in_days: 3,
        },
    )
    .await
    .unwrap();
    assert_eq!(h.logs().expire_events().await.unwrap(), 0);
    assert_eq!(stored_bytes(&h, "short").await, 6);
    h.advance(DAY + 1);
    assert_eq!(h.logs().expire_events().await.unwrap(), 1);
    assert_eq!(stored_bytes(&h, "short").await, 3);
    h.advance(2 * DAY);
    assert_eq!(h.logs().expire_events().await.unwrap(), 1);
    for (group, left) in [("kept", 2), ("short", 0)] {
        let response: GetLogEventsResponse = h
            .call(
                "GetLogEvents",
                GetLogEventsRequest {
                    log_group_name: Some(group.to_owned()),
                    log_stream_name: "s".to_owned(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(response.events.unwrap().len(), left, "{group}");
    }
}

async fn stored_bytes(h: &Harness, group: &str) -> i64 {
    let response = h
        .groups(DescribeLogGroupsRequest {
            log_group_name_prefix: Some(group.to_owned()),
            ..Default::default()
        })
        .await;
    response
        .log_groups
        .unwrap()
        .first()
        .unwrap()
        .stored_bytes
        .unwrap()
}
