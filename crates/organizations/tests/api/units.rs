//! The tree: OUs, children, parents and moving accounts.

use palisade_model_organizations::types::*;

use crate::common::*;

#[tokio::test]
async fn ous_nest_five_deep_with_paths_and_arns() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let mut parent = root.clone();
    let mut chain = Vec::new();
    for depth in 1..=5 {
        let id = h
            .create_unit(&parent, &format!("level{depth}"))
            .await
            .unwrap();
        let suffix = root.strip_prefix("r-").unwrap();
        assert!(id.starts_with(&format!("ou-{suffix}-")), "{id}");
        chain.push(id.clone());
        parent = id;
    }
    let message = assert_code(
        h.create_unit(&parent, "level6").await,
        "ConstraintViolationException",
    );
    assert!(message.contains("too many levels deep"), "{message}");

    let described: DescribeOrganizationalUnitResponse = h
        .call(
            "DescribeOrganizationalUnit",
            DescribeOrganizationalUnitRequest {
                organizational_unit_id: chain[1].clone(),
            },
        )
        .await
        .unwrap();
    let unit = described.organizational_unit.unwrap();
    let org: DescribeOrganizationResponse = h.call("DescribeOrganization", none()).await.unwrap();
    let org_id = org.organization.unwrap().id.unwrap();
    assert_eq!(unit.name.as_deref(), Some("level2"));
    assert_eq!(
        unit.path.as_deref(),
        Some(format!("{org_id}/{root}/{}/{}/", chain[0], chain[1]).as_str())
    );
    assert_eq!(
        unit.arn.as_deref(),
        Some(
            format!(
                "arn:aws:organizations::{MANAGEMENT}:ou/{org_id}/{}",
                chain[1]
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn ou_names_are_unique_under_a_parent_and_renames_check_it() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let prod = h.create_unit(&root, "prod").await.unwrap();
    h.create_unit(&root, "dev").await.unwrap();
    assert_code(
        h.create_unit(&root, "prod").await,
        "DuplicateOrganizationalUnitException",
    );
    // The same name under another parent is fine.
    h.create_unit(&prod, "prod").await.unwrap();
    assert_code(
        h.act(
            "UpdateOrganizationalUnit",
            UpdateOrganizationalUnitRequest {
                organizational_unit_id: prod.clone(),
                name: Some("dev".to_owned()),
            },
        )
        .await,
        "DuplicateOrganizationalUnitException",
    );
    let renamed: UpdateOrganizationalUnitResponse = h
        .call(
            "UpdateOrganizationalUnit",
            UpdateOrganizationalUnitRequest {
                organizational_unit_id: prod.clone(),
                name: Some("production".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        renamed.organizational_unit.unwrap().name.as_deref(),
        Some("production")
    );
    assert_code(
        h.create_unit("ou-abcd-00000000", "x").await,
        "ParentNotFoundException",
    );
}

#[tokio::test]
async fn moving_accounts_checks_source_and_destination() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let prod = h.create_unit(&root, "prod").await.unwrap();
    let dev = h.create_unit(&root, "dev").await.unwrap();
    let account = h.create_account("app").await;

    assert_code(
        h.move_account(&account, &prod, &dev).await,
        "SourceParentNotFoundException",
    );
    assert_code(
        h.move_account(&account, &root, &root).await,
        "DuplicateAccountException",
    );
    assert_code(
        h.move_account(&account, &root, "ou-abcd-00000000").await,
        "DestinationParentNotFoundException",
    );
    assert_code(
        h.move_account("111111111111", &root, &prod).await,
        "AccountNotFoundException",
    );
    h.move_account(&account, &root, &prod).await.unwrap();

    let children: ListChildrenResponse = h
        .call(
            "ListChildren",
            ListChildrenRequest {
                parent_id: prod.clone(),
                child_type: ChildType::Account,
                next_token: None,
                max_results: None,
            },
        )
        .await
        .unwrap();
    let children = children.children.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].id.as_deref(), Some(account.as_str()));
    let units: ListChildrenResponse = h
        .call(
            "ListChildren",
            ListChildrenRequest {
                parent_id: root.clone(),
                child_type: ChildType::OrganizationalUnit,
                next_token: None,
                max_results: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(units.children.unwrap().len(), 2);

    let parents: ListParentsResponse = h
        .call(
            "ListParents",
            ListParentsRequest {
                child_id: account.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let parent = &parents.parents.unwrap()[0];
    assert_eq!(parent.id.as_deref(), Some(prod.as_str()));
    assert_eq!(parent.r#type, Some(ParentType::OrganizationalUnit));
    let parents: ListParentsResponse = h
        .call(
            "ListParents",
            ListParentsRequest {
                child_id: prod.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(parents.parents.unwrap()[0].r#type, Some(ParentType::Root));
    assert_code(
        h.act(
            "ListParents",
            ListParentsRequest {
                child_id: "111111111111".to_owned(),
                ..Default::default()
            },
        )
        .await,
        "ChildNotFoundException",
    );

    let in_prod: ListAccountsForParentResponse = h
        .call(
            "ListAccountsForParent",
            ListAccountsForParentRequest {
                parent_id: prod.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_prod.accounts.unwrap().len(), 1);

    // A non-empty OU cannot be deleted; an empty one can.
    let message = assert_code(
        h.act(
            "DeleteOrganizationalUnit",
            DeleteOrganizationalUnitRequest {
                organizational_unit_id: prod.clone(),
            },
        )
        .await,
        "OrganizationalUnitNotEmptyException",
    );
    assert!(message.starts_with("The specified OU is not empty."));
    h.move_account(&account, &prod, &dev).await.unwrap();
    h.act(
        "DeleteOrganizationalUnit",
        DeleteOrganizationalUnitRequest {
            organizational_unit_id: prod.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        h.act(
            "DescribeOrganizationalUnit",
            DescribeOrganizationalUnitRequest {
                organizational_unit_id: prod,
            },
        )
        .await,
        "OrganizationalUnitNotFoundException",
    );
}

#[tokio::test]
async fn ous_for_parent_page() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    for i in 0..5 {
        h.create_unit(&root, &format!("unit{i}")).await.unwrap();
    }
    let first: ListOrganizationalUnitsForParentResponse = h
        .call(
            "ListOrganizationalUnitsForParent",
            ListOrganizationalUnitsForParentRequest {
                parent_id: root.clone(),
                next_token: None,
                max_results: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(first.organizational_units.unwrap().len(), 3);
    let second: ListOrganizationalUnitsForParentResponse = h
        .call(
            "ListOrganizationalUnitsForParent",
            ListOrganizationalUnitsForParentRequest {
                parent_id: root.clone(),
                next_token: first.next_token,
                max_results: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(second.organizational_units.unwrap().len(), 2);
    assert_eq!(second.next_token, None);
}

#[tokio::test]
async fn concurrent_changes_all_land() {
    let h = Harness::with_organization().await;
    let root = h.root_id().await;
    let (a, b, c, d) = tokio::join!(
        h.create_unit(&root, "a"),
        h.create_unit(&root, "b"),
        h.create_unit(&root, "c"),
        h.create_unit(&root, "d"),
    );
    for created in [a, b, c, d] {
        created.unwrap();
    }
    let children: ListChildrenResponse = h
        .call(
            "ListChildren",
            ListChildrenRequest {
                parent_id: root,
                child_type: ChildType::OrganizationalUnit,
                next_token: None,
                max_results: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(children.children.unwrap().len(), 4);
}
