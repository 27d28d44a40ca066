use palisade_model_iam::Iam;
use palisade_model_iam::types::*;

use crate::common::*;

#[tokio::test]
async fn group_lifecycle_and_membership() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    let group = iam
        .create_group(
            ctx,
            CreateGroupRequest {
                group_name: "admins".into(),
                path: Some("/team/".into()),
            },
        )
        .await
        .unwrap()
        .group;
    assert_eq!(group.arn, "arn:aws:iam::000000000000:group/team/admins");
    assert!(group.group_id.starts_with("AGPA"));
    assert_error(
        iam.create_group(
            ctx,
            CreateGroupRequest {
                group_name: "Admins".into(),
                path: None,
            },
        )
        .await,
        "EntityAlreadyExists",
        "Group with name Admins already exists.",
    );
    for name in ["zoe", "amy", "mia"] {
        iam.create_user(
            ctx,
            CreateUserRequest {
                user_name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        iam.add_user_to_group(
            ctx,
            AddUserToGroupRequest {
                group_name: "admins".into(),
                user_name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    // Adding a member again changes nothing.
    iam.add_user_to_group(
        ctx,
        AddUserToGroupRequest {
            group_name: "ADMINS".into(),
            user_name: "Zoe".into(),
        },
    )
    .await
    .unwrap();
    let first = iam
        .get_group(
            ctx,
            GetGroupRequest {
                group_name: "admins".into(),
                max_items: Some(2),
                marker: None,
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = first.users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["amy", "mia"]);
    assert_eq!(first.is_truncated, Some(true));
    let rest = iam
        .get_group(
            ctx,
            GetGroupRequest {
                group_name: "admins".into(),
                max_items: Some(2),
                marker: first.marker,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.users.len(), 1);
    assert_eq!(rest.users[0].user_name, "zoe");

    let groups = iam
        .list_groups_for_user(
            ctx,
            ListGroupsForUserRequest {
                user_name: "amy".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(groups.groups.len(), 1);
    assert_eq!(groups.groups[0].group_name, "admins");

    assert_error(
        iam.delete_group(
            ctx,
            DeleteGroupRequest {
                group_name: "admins".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
    );

    // Renaming the group and a user keeps the membership on both sides.
    iam.update_group(
        ctx,
        UpdateGroupRequest {
            group_name: "admins".into(),
            new_group_name: Some("operators".into()),
            new_path: None,
        },
    )
    .await
    .unwrap();
    iam.update_user(
        ctx,
        UpdateUserRequest {
            user_name: "amy".into(),
            new_user_name: Some("amelia".into()),
            new_path: None,
        },
    )
    .await
    .unwrap();
    let group = iam
        .get_group(
            ctx,
            GetGroupRequest {
                group_name: "operators".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut names: Vec<_> = group.users.iter().map(|u| u.user_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["amelia", "mia", "zoe"]);
    let groups = iam
        .list_groups_for_user(
            ctx,
            ListGroupsForUserRequest {
                user_name: "amelia".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(groups.groups[0].group_name, "operators");

    for name in ["amelia", "mia", "zoe"] {
        iam.remove_user_from_group(
            ctx,
            RemoveUserFromGroupRequest {
                group_name: "operators".into(),
                user_name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        code(
            &iam.remove_user_from_group(
                ctx,
                RemoveUserFromGroupRequest {
                    group_name: "operators".into(),
                    user_name: "mia".into()
                }
            )
            .await
            .unwrap_err()
        ),
        "NoSuchEntity"
    );

    iam.put_group_policy(
        ctx,
        PutGroupPolicyRequest {
            group_name: "operators".into(),
            policy_name: "p".into(),
            policy_document: ALLOW_S3.into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_group(
            ctx,
            DeleteGroupRequest {
                group_name: "operators".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    );
    iam.delete_group_policy(
        ctx,
        DeleteGroupPolicyRequest {
            group_name: "operators".into(),
            policy_name: "p".into(),
        },
    )
    .await
    .unwrap();
    iam.attach_group_policy(
        ctx,
        AttachGroupPolicyRequest {
            group_name: "operators".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
    )
    .await
    .unwrap();
    assert_error(
        iam.delete_group(
            ctx,
            DeleteGroupRequest {
                group_name: "operators".into(),
            },
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    );
    iam.detach_group_policy(
        ctx,
        DetachGroupPolicyRequest {
            group_name: "operators".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
    )
    .await
    .unwrap();
    iam.delete_group(
        ctx,
        DeleteGroupRequest {
            group_name: "operators".into(),
        },
    )
    .await
    .unwrap();
    let groups = iam
        .list_groups(ctx, ListGroupsRequest::default())
        .await
        .unwrap();
    assert!(groups.groups.is_empty());
}

#[tokio::test]
async fn a_user_is_in_at_most_ten_groups() {
    let h = Harness::new().await;
    let iam = h.iam();
    let ctx = &h.root;
    iam.create_user(
        ctx,
        CreateUserRequest {
            user_name: "joiner".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for i in 0..11 {
        let group = format!("g{i}");
        iam.create_group(
            ctx,
            CreateGroupRequest {
                group_name: group.clone(),
                path: None,
            },
        )
        .await
        .unwrap();
        let added = iam
            .add_user_to_group(
                ctx,
                AddUserToGroupRequest {
                    group_name: group,
                    user_name: "joiner".into(),
                },
            )
            .await;
        if i < 10 {
            added.unwrap();
        } else {
            assert_error(
                added,
                "LimitExceeded",
                "Cannot exceed quota for GroupsPerUser: 10",
            );
        }
    }
}
