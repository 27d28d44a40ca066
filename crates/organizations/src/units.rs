//! The tree: the root, organizational units, and the children and parents of each.

use palisade_core::{RequestContext, ServiceError};
use palisade_model_organizations::errors;
use palisade_model_organizations::types::{
    Child, ChildType, CreateOrganizationalUnitRequest, CreateOrganizationalUnitResponse,
    DeleteOrganizationalUnitRequest, DescribeOrganizationalUnitRequest,
    DescribeOrganizationalUnitResponse, ListChildrenRequest, ListChildrenResponse,
    ListOrganizationalUnitsForParentRequest, ListOrganizationalUnitsForParentResponse,
    ListParentsRequest, ListParentsResponse, ListRootsRequest, ListRootsResponse, Parent,
    ParentType, UpdateOrganizationalUnitRequest, UpdateOrganizationalUnitResponse,
};

use crate::OrganizationsState;
use crate::admin::{checked_tags, tag_map};
use crate::db::Access;
use crate::ids;
use crate::paging::page;
use crate::records::{Org, Target, Unit, parent_not_found};

/// "You can nest OUs up to five levels deep under the root."
const MAX_DEPTH: usize = 5;

pub(crate) async fn create(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: CreateOrganizationalUnitRequest,
) -> Result<CreateOrganizationalUnitResponse, ServiceError> {
    let tags = checked_tags(input.tags.as_deref().unwrap_or_default())?;
    let mut unit_id = None;
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            if !org.is_parent(&input.parent_id) {
                return Err(parent_not_found());
            }
            if org.depth(&input.parent_id) >= MAX_DEPTH {
                return Err(errors::constraint_violation_exception(
                    "You attempted to create an OU tree that is too many levels deep.",
                ));
            }
            check_unique_name(org, &input.parent_id, &input.name)?;
            let id = match &unit_id {
                Some(id) => String::clone(id),
                None => ids::unit(&org.root.id)?,
            };
            unit_id = Some(id.clone());
            org.units.insert(
                id.clone(),
                Unit {
                    name: input.name.clone(),
                    parent: input.parent_id.clone(),
                },
            );
            org.attach_defaults(&id);
            if !tags.is_empty() {
                org.tags.insert(id.clone(), tag_map(tags));
            }
            Ok(CreateOrganizationalUnitResponse {
                organizational_unit: Some(org.unit_to_api(&id, org.unit(&id)?)),
            })
        })
        .await
}

pub(crate) async fn update(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: UpdateOrganizationalUnitRequest,
) -> Result<UpdateOrganizationalUnitResponse, ServiceError> {
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            let unit = org.unit(&input.organizational_unit_id)?.clone();
            let mut renamed = unit.clone();
            if let Some(name) = &input.name {
                if *name != unit.name {
                    check_unique_name(org, &unit.parent, name)?;
                }
                renamed.name.clone_from(name);
            }
            let answer = org.unit_to_api(&input.organizational_unit_id, &renamed);
            org.units
                .insert(input.organizational_unit_id.clone(), renamed);
            Ok(UpdateOrganizationalUnitResponse {
                organizational_unit: Some(answer),
            })
        })
        .await
}

pub(crate) async fn delete(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DeleteOrganizationalUnitRequest,
) -> Result<(), ServiceError> {
    let id = &input.organizational_unit_id;
    state
        .edit(ctx, Access::Manage, |edit| {
            let org = &mut edit.org;
            org.unit(id)?;
            let occupied = org.units.values().any(|unit| unit.parent == *id)
                || org.accounts.values().any(|account| account.parent == *id);
            if occupied {
                return Err(errors::organizational_unit_not_empty_exception(
                    "The specified OU is not empty. Move all accounts to another root or OU, \
                     remove all child OUs, and try the operation again.",
                ));
            }
            org.units.remove(id);
            org.forget(id);
            Ok(())
        })
        .await
}

pub(crate) async fn describe(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: DescribeOrganizationalUnitRequest,
) -> Result<DescribeOrganizationalUnitResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let unit = org.unit(&input.organizational_unit_id)?;
    Ok(DescribeOrganizationalUnitResponse {
        organizational_unit: Some(org.unit_to_api(&input.organizational_unit_id, unit)),
    })
}

pub(crate) async fn list_for_parent(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListOrganizationalUnitsForParentRequest,
) -> Result<ListOrganizationalUnitsForParentResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    if !org.is_parent(&input.parent_id) {
        return Err(parent_not_found());
    }
    let units = org
        .units
        .iter()
        .filter(|(_, unit)| unit.parent == input.parent_id)
        .map(|(id, unit)| (id, org.unit_to_api(id, unit)));
    let (units, next_token) = page(units, input.next_token.as_deref(), input.max_results)?;
    Ok(ListOrganizationalUnitsForParentResponse {
        organizational_units: Some(units),
        next_token,
    })
}

pub(crate) async fn list_children(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListChildrenRequest,
) -> Result<ListChildrenResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    if !org.is_parent(&input.parent_id) {
        return Err(parent_not_found());
    }
    let parent = input.parent_id.as_str();
    let children: Vec<&String> = match input.child_type {
        ChildType::Account => org
            .accounts
            .iter()
            .filter(|(_, account)| account.parent == parent)
            .map(|(id, _)| id)
            .collect(),
        ChildType::OrganizationalUnit => org
            .units
            .iter()
            .filter(|(_, unit)| unit.parent == parent)
            .map(|(id, _)| id)
            .collect(),
        ChildType::Unknown(_) => Vec::new(),
    };
    let children = children.into_iter().map(|id| {
        (
            id,
            Child {
                id: Some(id.clone()),
                r#type: Some(input.child_type.clone()),
            },
        )
    });
    let (children, next_token) = page(children, input.next_token.as_deref(), input.max_results)?;
    Ok(ListChildrenResponse {
        children: Some(children),
        next_token,
    })
}

pub(crate) async fn list_parents(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListParentsRequest,
) -> Result<ListParentsResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let parent = match org.target(&input.child_id) {
        Some(Target::Unit) => org.unit(&input.child_id)?.parent.clone(),
        Some(Target::Account) => org.account(&input.child_id)?.parent.clone(),
        Some(Target::Root) | None => {
            return Err(errors::child_not_found_exception(
                "We can't find an organizational unit (OU) or AWS account with the ChildId \
                 that you specified.",
            ));
        }
    };
    let kind = if parent == org.root.id {
        ParentType::Root
    } else {
        ParentType::OrganizationalUnit
    };
    let parents = [(
        parent.clone(),
        Parent {
            id: Some(parent),
            r#type: Some(kind),
        },
    )];
    let (parents, next_token) = page(parents, input.next_token.as_deref(), input.max_results)?;
    Ok(ListParentsResponse {
        parents: Some(parents),
        next_token,
    })
}

pub(crate) async fn list_roots(
    state: &OrganizationsState,
    ctx: &RequestContext,
    input: ListRootsRequest,
) -> Result<ListRootsResponse, ServiceError> {
    let org = state.read(ctx, Access::Read).await?;
    let roots = [(org.root.id.clone(), org.root_to_api())];
    let (roots, next_token) = page(roots, input.next_token.as_deref(), input.max_results)?;
    Ok(ListRootsResponse {
        roots: Some(roots),
        next_token,
    })
}

fn check_unique_name(org: &Org, parent: &str, name: &str) -> Result<(), ServiceError> {
    if org
        .units
        .values()
        .any(|unit| unit.parent == parent && unit.name == name)
    {
        return Err(errors::duplicate_organizational_unit_exception(
            "An OU with the same name already exists.",
        ));
    }
    Ok(())
}
