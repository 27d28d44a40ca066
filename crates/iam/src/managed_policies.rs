//! Managed policies: the account's own (created, versioned, tagged and deleted here) and AWS's
//! (read-only, see [`crate::aws_policies`]), looked up by ARN.
//!
//! A customer managed policy keeps up to five versions, one of them the default; version ids
//! count up and are never reused.

use std::collections::HashMap;

use palisade_core::service::CommonError;
use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    CreatePolicyRequest, CreatePolicyResponse, CreatePolicyVersionRequest,
    CreatePolicyVersionResponse, DeletePolicyRequest, DeletePolicyVersionRequest, GetPolicyRequest,
    GetPolicyResponse, GetPolicyVersionRequest, GetPolicyVersionResponse, ListPoliciesRequest,
    ListPoliciesResponse, ListPolicyTagsRequest, ListPolicyTagsResponse, ListPolicyVersionsRequest,
    ListPolicyVersionsResponse, Policy, PolicyScopeType, PolicyUsageType, PolicyVersion,
    SetDefaultPolicyVersionRequest, TagPolicyRequest, UntagPolicyRequest,
};
use palisade_store::Transaction;

use crate::aws_policies::{self, AwsPolicy};
use crate::db::{self, IAM, Kind, Stored, plain};
use crate::ids::{IdKind, unique_id};
use crate::paging::PageRequest;
use crate::policy_document::{DocumentKind, url_encode, validate};
use crate::records::{PolicyRecord, PolicyUseRecord, VersionRecord, tag_list, timestamp};
use crate::{IamState, tags};

/// The most versions a customer managed policy keeps.
const MAX_VERSIONS: usize = 5;

/// A managed policy found by ARN.
pub(crate) enum ManagedPolicy {
    /// One of AWS's.
    Aws(&'static AwsPolicy),
    /// The account's own, as stored.
    Local(Stored<PolicyRecord>),
}

impl ManagedPolicy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        match self {
            ManagedPolicy::Aws(policy) => &policy.name,
            ManagedPolicy::Local(stored) => &stored.value.name,
        }
    }

    /// The policy's ARN.
    pub fn arn(&self, account: &AccountId) -> String {
        match self {
            ManagedPolicy::Aws(policy) => policy.arn.clone(),
            ManagedPolicy::Local(stored) => stored.value.arn(account),
        }
    }

    /// The policy's path.
    pub fn path(&self) -> &str {
        match self {
            ManagedPolicy::Aws(policy) => &policy.path,
            ManagedPolicy::Local(stored) => &stored.value.path,
        }
    }

    /// Pins the policy in `txn`, so that a change made on the strength of it existing fails
    /// if it is deleted meanwhile. AWS's policies never change.
    pub fn pin(&self, txn: Transaction, account: &AccountId) -> Transaction {
        match self {
            ManagedPolicy::Aws(_) => txn,
            ManagedPolicy::Local(stored) => txn.expect_version(
                IAM,
                &db::key(account, Kind::Policy, &stored.value.name),
                stored.version,
            ),
        }
    }
}

/// What a policy ARN names.
enum PolicyArn<'a> {
    /// `arn:aws:iam::aws:policy/...`.
    Aws,
    /// A policy of the caller's account.
    Local { path: &'a str, name: &'a str },
    /// A policy of another account, which this one cannot see.
    Foreign,
}

/// Splits `arn:aws:iam::<account>:policy<path><name>`.
fn parse_arn<'a>(account: &AccountId, arn: &'a str) -> Result<PolicyArn<'a>, ServiceError> {
    let invalid = || errors::invalid_input_exception(format!("ARN {arn} is not valid."));
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(invalid)?;
    let (owner, resource) = rest.split_once(':').ok_or_else(invalid)?;
    let qualified = resource.strip_prefix("policy").ok_or_else(invalid)?;
    let slash = qualified.rfind('/').ok_or_else(invalid)?;
    let (path, name) = qualified.split_at(slash + 1);
    if !path.starts_with('/') || name.is_empty() {
        return Err(invalid());
    }
    Ok(if owner == "aws" {
        PolicyArn::Aws
    } else if owner == account.as_str() {
        PolicyArn::Local { path, name }
    } else {
        PolicyArn::Foreign
    })
}

/// The path of a policy, from its ARN (for filtering attached policies by path).
pub(crate) fn path_of(arn: &str) -> &str {
    let qualified = arn.split_once(":policy").map_or("", |(_, rest)| rest);
    qualified
        .rfind('/')
        .map_or("/", |slash| qualified.get(..=slash).unwrap_or("/"))
}

/// The name of a policy, from its ARN.
pub(crate) fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl IamState {
    /// The managed policy `arn` names, if the caller's account can see it. A malformed ARN is
    /// `InvalidInput`.
    pub(crate) async fn find_policy(
        &self,
        account: &AccountId,
        arn: &str,
    ) -> Result<Option<ManagedPolicy>, ServiceError> {
        match parse_arn(account, arn)? {
            PolicyArn::Aws => Ok(aws_policies::find(arn).map(ManagedPolicy::Aws)),
            PolicyArn::Foreign => Ok(None),
            PolicyArn::Local { path, name } => {
                let stored: Option<Stored<PolicyRecord>> =
                    self.get(IAM, &db::key(account, Kind::Policy, name)).await?;
                Ok(stored
                    .filter(|stored| stored.value.path == path)
                    .map(ManagedPolicy::Local))
            }
        }
    }

    /// The customer managed policy `arn` names, for changing it; AWS's policies cannot be.
    async fn local_policy(
        &self,
        account: &AccountId,
        arn: &str,
    ) -> Result<Stored<PolicyRecord>, ServiceError> {
        match self.find_policy(account, arn).await? {
            Some(ManagedPolicy::Local(stored)) => Ok(stored),
            Some(ManagedPolicy::Aws(_)) => Err(ServiceError::common(
                CommonError::AccessDenied,
                format!("Policy {arn} is an AWS managed policy and cannot be modified."),
            )),
            None => Err(policy_not_found(arn)),
        }
    }

    /// How every managed policy is used in `account`, by ARN.
    pub(crate) async fn policy_uses(
        &self,
        account: &AccountId,
    ) -> Result<HashMap<String, PolicyUseRecord>, ServiceError> {
        let prefix = db::prefix(account, Kind::PolicyUse);
        let records = self
            .scan_all::<PolicyUseRecord>(IAM, &prefix)
            .await
            .map_err(db::store_error)?;
        Ok(records
            .into_iter()
            .filter_map(|(key, stored)| {
                key.strip_prefix(&prefix)
                    .map(|arn| (arn.to_owned(), stored.value))
            })
            .collect())
    }

    /// How one managed policy is used in `account`.
    pub(crate) async fn policy_use(
        &self,
        account: &AccountId,
        arn: &str,
    ) -> Result<Option<Stored<PolicyUseRecord>>, ServiceError> {
        self.get(IAM, &db::key(account, Kind::PolicyUse, arn)).await
    }
}

/// `NoSuchEntity` for a managed policy.
pub(crate) fn policy_not_found(arn: &str) -> ServiceError {
    errors::no_such_entity_exception(format!("Policy {arn} was not found."))
}

/// A managed policy as the API reports it. `detail` adds what only `GetPolicy` returns
/// (description, tags).
pub(crate) fn to_api(
    policy: &ManagedPolicy,
    account: &AccountId,
    uses: Option<&PolicyUseRecord>,
    detail: bool,
) -> Policy {
    let (attachments, boundaries) = uses.map_or((0, 0), |uses| {
        (uses.attachment_count(), uses.boundary_count())
    });
    let common = Policy {
        attachment_count: Some(attachments),
        permissions_boundary_usage_count: Some(boundaries),
        is_attachable: Some(true),
        ..Policy::default()
    };
    match policy {
        ManagedPolicy::Aws(policy) => Policy {
            policy_name: Some(policy.name.clone()),
            policy_id: Some(policy.id.clone()),
            arn: Some(policy.arn.clone()),
            path: Some(policy.path.clone()),
            default_version_id: Some(policy.version.clone()),
            description: detail.then(|| policy.description.clone()),
            create_date: Some(timestamp(policy.created)),
            update_date: Some(timestamp(policy.updated)),
            ..common
        },
        ManagedPolicy::Local(stored) => {
            let policy = &stored.value;
            Policy {
                policy_name: Some(policy.name.clone()),
                policy_id: Some(policy.id.clone()),
                arn: Some(policy.arn(account)),
                path: Some(policy.path.clone()),
                default_version_id: Some(policy.default_version.clone()),
                description: if detail {
                    policy.description.clone()
                } else {
                    None
                },
                create_date: Some(timestamp(policy.created)),
                update_date: Some(timestamp(policy.updated)),
                tags: if detail { tag_list(&policy.tags) } else { None },
                ..common
            }
        }
    }
}

/// A version as the API reports it; listings leave the document out.
pub(crate) fn version_to_api(
    version: &VersionRecord,
    default: &str,
    with_document: bool,
) -> PolicyVersion {
    PolicyVersion {
        document: with_document.then(|| url_encode(&version.document)),
        version_id: Some(version.id.clone()),
        is_default_version: Some(version.id == default),
        create_date: Some(timestamp(version.created)),
    }
}

/// The version of an AWS managed policy that Palisade keeps (its default), as the API
/// reports it.
pub(crate) fn aws_version_to_api(policy: &AwsPolicy, with_document: bool) -> PolicyVersion {
    PolicyVersion {
        document: with_document.then(|| url_encode(&policy.document)),
        version_id: Some(policy.version.clone()),
        is_default_version: Some(true),
        create_date: Some(timestamp(policy.updated)),
    }
}

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreatePolicyRequest,
) -> Result<CreatePolicyResponse, ServiceError> {
    let account = ctx.account();
    validate(&input.policy_document, DocumentKind::Managed)?;
    let key = db::key(account, Kind::Policy, &input.policy_name);
    let now = iam.now();
    let record = PolicyRecord {
        id: unique_id(IdKind::Policy)?,
        path: input.path.clone().unwrap_or_else(|| "/".to_owned()),
        description: input.description.clone(),
        created: now,
        updated: now,
        default_version: "v1".to_owned(),
        next_version: 2,
        versions: vec![VersionRecord {
            id: "v1".to_owned(),
            document: input.policy_document.clone(),
            created: now,
        }],
        tags: tags::initial(input.tags.clone())?,
        name: input.policy_name.clone(),
    };
    let record = &record;
    let key = &key;
    iam.mutate(move || async move {
        if iam.get::<PolicyRecord>(IAM, key).await?.is_some() {
            return Err(errors::entity_already_exists_exception(format!(
                "A policy called {} already exists. Duplicate names are not allowed.",
                record.name
            )));
        }
        let txn = Transaction::new()
            .expect_absent(IAM, key)
            .put(IAM, key, plain(record)?);
        Ok((txn, ()))
    })
    .await?;
    let stored = ManagedPolicy::Local(Stored {
        value: record.clone(),
        version: 1,
    });
    let mut policy = to_api(&stored, account, None, false);
    policy.tags = tag_list(&record.tags);
    Ok(CreatePolicyResponse {
        policy: Some(policy),
    })
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetPolicyRequest,
) -> Result<GetPolicyResponse, ServiceError> {
    let account = ctx.account();
    let policy = iam
        .find_policy(account, &input.policy_arn)
        .await?
        .ok_or_else(|| policy_not_found(&input.policy_arn))?;
    let uses = iam.policy_use(account, &input.policy_arn).await?;
    Ok(GetPolicyResponse {
        policy: Some(to_api(
            &policy,
            account,
            uses.as_ref().map(|u| &u.value),
            true,
        )),
    })
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeletePolicyRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let arn = &input.policy_arn;
    iam.mutate(move || async move {
        let stored = iam.local_policy(account, arn).await?;
        let use_key = db::key(account, Kind::PolicyUse, arn);
        if iam.policy_use(account, arn).await?.is_some() {
            return Err(errors::delete_conflict_exception(
                "Cannot delete a policy attached to entities.",
            ));
        }
        if stored.value.versions.len() > 1 {
            return Err(errors::delete_conflict_exception(
                "This policy has more than one version. Before you delete a policy, you must \
                 delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        let key = db::key(account, Kind::Policy, &stored.value.name);
        let txn = Transaction::new()
            .expect_absent(IAM, &use_key)
            .expect_version(IAM, &key, stored.version)
            .delete(IAM, &key);
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn list(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListPoliciesRequest,
) -> Result<ListPoliciesResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let scope = input.scope.unwrap_or(PolicyScopeType::All);
    let path_prefix = input.path_prefix.as_deref().unwrap_or("/");
    let only_attached = input.only_attached.unwrap_or(false);
    let uses = iam.policy_uses(account).await?;

    let mut policies: Vec<ManagedPolicy> = Vec::new();
    if matches!(scope, PolicyScopeType::All | PolicyScopeType::Aws) {
        policies.extend(aws_policies::all().iter().map(ManagedPolicy::Aws));
    }
    if matches!(scope, PolicyScopeType::All | PolicyScopeType::Local) {
        let records = iam
            .scan_all::<PolicyRecord>(IAM, &db::prefix(account, Kind::Policy))
            .await
            .map_err(db::store_error)?;
        policies.extend(
            records
                .into_iter()
                .map(|(_, stored)| ManagedPolicy::Local(stored)),
        );
    }
    let in_use = |uses: &PolicyUseRecord| match input.policy_usage_filter {
        Some(PolicyUsageType::PermissionsPolicy) => !uses.attached.is_empty(),
        Some(PolicyUsageType::PermissionsBoundary) => !uses.boundary.is_empty(),
        _ => !uses.is_unused(),
    };
    let listed = policies.into_iter().filter_map(|policy| {
        let arn = policy.arn(account);
        let policy_uses = uses.get(&arn);
        if !policy.path().starts_with(path_prefix) {
            return None;
        }
        if only_attached && !policy_uses.is_some_and(in_use) {
            return None;
        }
        // Names are unique within AWS's policies and within the account's, so the name and
        // the owner make a unique key, and a short marker.
        let owner = if matches!(policy, ManagedPolicy::Aws(_)) {
            'a'
        } else {
            'l'
        };
        let key = format!("{}\u{1}{owner}", policy.name().to_lowercase());
        Some((key, to_api(&policy, account, policy_uses, false)))
    });
    let page = page
        .take_sorted(listed, |(key, _)| key.clone())
        .map(|(_, policy)| policy);
    Ok(ListPoliciesResponse {
        is_truncated: page.is_truncated(),
        policies: Some(page.items),
        marker: page.marker,
    })
}

/// Applies `change` to the customer managed policy `arn`, answering what it returns.
async fn change_policy<T>(
    iam: &IamState,
    account: &AccountId,
    arn: &str,
    change: impl Fn(&mut PolicyRecord) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let change = &change;
    iam.mutate(move || async move {
        let mut stored = iam.local_policy(account, arn).await?;
        let answer = change(&mut stored.value)?;
        let key = db::key(account, Kind::Policy, &stored.value.name);
        let txn = stored.replace(Transaction::new(), IAM, &key, plain(&stored.value)?);
        Ok((txn, answer))
    })
    .await
}

pub(crate) async fn create_version(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreatePolicyVersionRequest,
) -> Result<CreatePolicyVersionResponse, ServiceError> {
    validate(&input.policy_document, DocumentKind::Managed)?;
    let now = iam.now();
    let version = change_policy(iam, ctx.account(), &input.policy_arn, |policy| {
        if policy.versions.len() >= MAX_VERSIONS {
            return Err(errors::limit_exceeded_exception(format!(
                "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a \
                 new version, you must delete an existing version."
            )));
        }
        let version = VersionRecord {
            id: format!("v{}", policy.next_version),
            document: input.policy_document.clone(),
            created: now,
        };
        policy.next_version = policy.next_version.saturating_add(1);
        if input.set_as_default.unwrap_or(false) {
            policy.default_version = version.id.clone();
            policy.updated = now;
        }
        let answer = version_to_api(&version, &policy.default_version, false);
        policy.versions.push(version);
        Ok(answer)
    })
    .await?;
    Ok(CreatePolicyVersionResponse {
        policy_version: Some(version),
    })
}

pub(crate) async fn get_version(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetPolicyVersionRequest,
) -> Result<GetPolicyVersionResponse, ServiceError> {
    let account = ctx.account();
    let not_found = || {
        errors::no_such_entity_exception(format!(
            "Policy {} version {} does not exist or is not attachable.",
            input.policy_arn, input.version_id
        ))
    };
    let version = match iam.find_policy(account, &input.policy_arn).await? {
        None => return Err(policy_not_found(&input.policy_arn)),
        Some(ManagedPolicy::Aws(policy)) => {
            if policy.version != input.version_id {
                return Err(not_found());
            }
            aws_version_to_api(policy, true)
        }
        Some(ManagedPolicy::Local(stored)) => {
            let policy = &stored.value;
            let version = policy
                .versions
                .iter()
                .find(|version| version.id == input.version_id)
                .ok_or_else(not_found)?;
            version_to_api(version, &policy.default_version, true)
        }
    };
    Ok(GetPolicyVersionResponse {
        policy_version: Some(version),
    })
}

pub(crate) async fn list_versions(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListPolicyVersionsRequest,
) -> Result<ListPolicyVersionsResponse, ServiceError> {
    let account = ctx.account();
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let versions: Vec<PolicyVersion> = match iam.find_policy(account, &input.policy_arn).await? {
        None => return Err(policy_not_found(&input.policy_arn)),
        Some(ManagedPolicy::Aws(policy)) => vec![aws_version_to_api(policy, false)],
        Some(ManagedPolicy::Local(stored)) => stored
            .value
            .versions
            .iter()
            .map(|version| version_to_api(version, &stored.value.default_version, false))
            .collect(),
    };
    // Newest first, as AWS lists them: the key counts down with the version number.
    let page = page.take_sorted(versions, |version| {
        let number: u32 = version
            .version_id
            .as_deref()
            .and_then(|id| id.strip_prefix('v'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        format!("{:010}", u32::MAX - number)
    });
    Ok(ListPolicyVersionsResponse {
        is_truncated: page.is_truncated(),
        versions: Some(page.items),
        marker: page.marker,
    })
}

pub(crate) async fn delete_version(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeletePolicyVersionRequest,
) -> Result<(), ServiceError> {
    change_policy(iam, ctx.account(), &input.policy_arn, |policy| {
        if policy.default_version == input.version_id {
            return Err(errors::delete_conflict_exception(
                "Cannot delete the default version of a policy.",
            ));
        }
        let before = policy.versions.len();
        policy
            .versions
            .retain(|version| version.id != input.version_id);
        if policy.versions.len() == before {
            return Err(errors::no_such_entity_exception(format!(
                "Policy {} version {} does not exist or is not deletable.",
                input.policy_arn, input.version_id
            )));
        }
        Ok(())
    })
    .await
}

pub(crate) async fn set_default_version(
    iam: &IamState,
    ctx: &RequestContext,
    input: SetDefaultPolicyVersionRequest,
) -> Result<(), ServiceError> {
    let now = iam.now();
    change_policy(iam, ctx.account(), &input.policy_arn, |policy| {
        if !policy
            .versions
            .iter()
            .any(|version| version.id == input.version_id)
        {
            return Err(errors::no_such_entity_exception(format!(
                "Policy {} version {} does not exist or is not attachable.",
                input.policy_arn, input.version_id
            )));
        }
        policy.default_version = input.version_id.clone();
        policy.updated = now;
        Ok(())
    })
    .await
}

pub(crate) async fn tag(
    iam: &IamState,
    ctx: &RequestContext,
    input: TagPolicyRequest,
) -> Result<(), ServiceError> {
    change_policy(iam, ctx.account(), &input.policy_arn, |policy| {
        tags::add(&mut policy.tags, input.tags.clone())
    })
    .await
}

pub(crate) async fn untag(
    iam: &IamState,
    ctx: &RequestContext,
    input: UntagPolicyRequest,
) -> Result<(), ServiceError> {
    change_policy(iam, ctx.account(), &input.policy_arn, |policy| {
        tags::remove(&mut policy.tags, &input.tag_keys);
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListPolicyTagsRequest,
) -> Result<ListPolicyTagsResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let tags = match iam.find_policy(ctx.account(), &input.policy_arn).await? {
        None => return Err(policy_not_found(&input.policy_arn)),
        Some(ManagedPolicy::Aws(_)) => Vec::new(),
        Some(ManagedPolicy::Local(stored)) => stored.value.tags,
    };
    let page = tags::page(&tags, &page);
    Ok(ListPolicyTagsResponse {
        tags: page.items.clone(),
        is_truncated: page.is_truncated(),
        marker: page.marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_path_and_name() {
        let account = AccountId::parse("123456789012").unwrap();
        assert!(matches!(
            parse_arn(&account, "arn:aws:iam::123456789012:policy/division/Admins").unwrap(),
            PolicyArn::Local {
                path: "/division/",
                name: "Admins"
            }
        ));
        assert!(matches!(
            parse_arn(&account, "arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap(),
            PolicyArn::Aws
        ));
        assert!(matches!(
            parse_arn(&account, "arn:aws:iam::999999999999:policy/x").unwrap(),
            PolicyArn::Foreign
        ));
        assert!(parse_arn(&account, "arn:aws:iam::123456789012:user/x").is_err());
        assert!(parse_arn(&account, "policy/x").is_err());
        assert_eq!(path_of("arn:aws:iam::1:policy/a/b/Name"), "/a/b/");
        assert_eq!(path_of("arn:aws:iam::aws:policy/Name"), "/");
        assert_eq!(name_of("arn:aws:iam::aws:policy/a/Name"), "Name");
    }
}
