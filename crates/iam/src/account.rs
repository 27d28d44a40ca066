//! Account-wide settings and reports: the account alias (one per account, unique across
//! accounts), the password policy, and the summary of entity counts and quotas.

use std::collections::BTreeMap;

use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    CreateAccountAliasRequest, DeleteAccountAliasRequest, GetAccountPasswordPolicyResponse,
    GetAccountSummaryResponse, ListAccountAliasesRequest, ListAccountAliasesResponse,
    PasswordPolicy, UpdateAccountPasswordPolicyRequest,
};
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::IamState;
use crate::db::{self, ALIASES, IAM, Kind, Stored, plain, store_error};
use crate::paging::PageRequest;
use crate::records::{GroupRecord, PolicyRecord, RoleRecord, UserRecord};

/// An account's settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Settings {
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    pub password_policy: Option<PasswordPolicyRecord>,
}

/// The account's password policy, as `UpdateAccountPasswordPolicy` set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordPolicyRecord {
    pub minimum_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    /// Days; none when passwords do not expire.
    pub max_age: Option<i32>,
    pub reuse_prevention: Option<i32>,
    pub hard_expiry: Option<bool>,
}

/// `MinimumPasswordLength` when `UpdateAccountPasswordPolicy` leaves it out.
const DEFAULT_MINIMUM_PASSWORD_LENGTH: i32 = 6;

impl IamState {
    /// The account's settings, as stored.
    pub(crate) async fn settings(
        &self,
        account: &AccountId,
    ) -> Result<Option<Stored<Settings>>, ServiceError> {
        self.get(IAM, &db::settings_key(account)).await
    }

    /// The account's alias, if it has one.
    pub(crate) async fn account_alias(
        &self,
        account: &AccountId,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self.settings(account).await?.and_then(|s| s.value.alias))
    }

    /// Applies `change` to the account's settings.
    async fn change_settings(
        &self,
        account: &AccountId,
        change: impl Fn(&mut Settings) -> Result<(), ServiceError> + Send + Sync,
    ) -> Result<(), ServiceError> {
        let change = &change;
        self.mutate(move || async move {
            let stored = self.settings(account).await?;
            let mut settings = stored.as_ref().map(|s| s.value.clone()).unwrap_or_default();
            change(&mut settings)?;
            Ok((
                write_settings(Transaction::new(), account, stored.as_ref(), &settings)?,
                (),
            ))
        })
        .await
    }
}

/// Adds the write of `settings`, pinned to what was read, to `txn`.
fn write_settings(
    txn: Transaction,
    account: &AccountId,
    stored: Option<&Stored<Settings>>,
    settings: &Settings,
) -> Result<Transaction, ServiceError> {
    let key = db::settings_key(account);
    Ok(match stored {
        Some(stored) => stored.replace(txn, IAM, &key, plain(settings)?),
        None => txn
            .expect_absent(IAM, &key)
            .put(IAM, &key, plain(settings)?),
    })
}

/// The model's pattern for aliases uses a look-ahead, which the model validator's regular
/// expressions cannot run, so it is checked here: lower-case letters, digits and single
/// hyphens, starting and ending with a letter or digit.
fn check_alias(alias: &str) -> Result<(), ServiceError> {
    let bytes = alias.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let valid = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alphanumeric(b) || *b == b'-')
        && bytes.first().is_some_and(alphanumeric)
        && bytes.last().is_some_and(alphanumeric)
        && !alias.contains("--");
    if valid {
        return Ok(());
    }
    Err(ServiceError::validation(format!(
        "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: \
         ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
    )))
}

pub(crate) async fn create_alias(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateAccountAliasRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let alias = &input.account_alias;
    check_alias(alias)?;
    iam.mutate(move || async move {
        if iam.get::<String>(ALIASES, alias).await?.is_some() {
            return Err(errors::entity_already_exists_exception(format!(
                "The account alias {alias} already exists."
            )));
        }
        let stored = iam.settings(account).await?;
        let mut settings = stored.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        let mut txn = Transaction::new().expect_absent(ALIASES, alias).put(
            ALIASES,
            alias,
            plain(&account.as_str())?,
        );
        // An account has one alias: a new one replaces the old.
        if let Some(old) = settings.alias.replace(alias.clone()) {
            txn = txn.delete(ALIASES, &old);
        }
        Ok((
            write_settings(txn, account, stored.as_ref(), &settings)?,
            (),
        ))
    })
    .await
}

pub(crate) async fn delete_alias(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteAccountAliasRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let alias = &input.account_alias;
    iam.mutate(move || async move {
        let stored = iam.settings(account).await?;
        let mut settings = stored.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        if settings.alias.as_deref() != Some(alias.as_str()) {
            return Err(errors::no_such_entity_exception(format!(
                "The account alias {alias} cannot be found."
            )));
        }
        settings.alias = None;
        let txn = Transaction::new().delete(ALIASES, alias);
        Ok((
            write_settings(txn, account, stored.as_ref(), &settings)?,
            (),
        ))
    })
    .await
}

pub(crate) async fn list_aliases(
    iam: &IamState,
    ctx: &RequestContext,
    input: ListAccountAliasesRequest,
) -> Result<ListAccountAliasesResponse, ServiceError> {
    let page = PageRequest::new(input.marker.as_deref(), input.max_items)?;
    let aliases = iam.account_alias(ctx.account()).await?;
    let page = page.take_sorted(aliases, Clone::clone);
    Ok(ListAccountAliasesResponse {
        is_truncated: page.is_truncated(),
        account_aliases: page.items,
        marker: page.marker,
    })
}

pub(crate) async fn update_password_policy(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateAccountPasswordPolicyRequest,
) -> Result<(), ServiceError> {
    // Every call sets the whole policy: what it leaves out takes its default.
    let policy = PasswordPolicyRecord {
        minimum_length: input
            .minimum_password_length
            .unwrap_or(DEFAULT_MINIMUM_PASSWORD_LENGTH),
        require_symbols: input.require_symbols.unwrap_or(false),
        require_numbers: input.require_numbers.unwrap_or(false),
        require_uppercase: input.require_uppercase_characters.unwrap_or(false),
        require_lowercase: input.require_lowercase_characters.unwrap_or(false),
        allow_users_to_change: input.allow_users_to_change_password.unwrap_or(false),
        max_age: input.max_password_age.filter(|days| *days > 0),
        reuse_prevention: input.password_reuse_prevention.filter(|n| *n > 0),
        hard_expiry: input.hard_expiry,
    };
    iam.change_settings(ctx.account(), |settings| {
        settings.password_policy = Some(policy.clone());
        Ok(())
    })
    .await
}

pub(crate) async fn get_password_policy(
    iam: &IamState,
    ctx: &RequestContext,
) -> Result<GetAccountPasswordPolicyResponse, ServiceError> {
    let account = ctx.account();
    let policy = iam
        .settings(account)
        .await?
        .and_then(|s| s.value.password_policy)
        .ok_or_else(|| no_password_policy(account))?;
    Ok(GetAccountPasswordPolicyResponse {
        password_policy: PasswordPolicy {
            minimum_password_length: Some(policy.minimum_length),
            require_symbols: Some(policy.require_symbols),
            require_numbers: Some(policy.require_numbers),
            require_uppercase_characters: Some(policy.require_uppercase),
            require_lowercase_characters: Some(policy.require_lowercase),
            allow_users_to_change_password: Some(policy.allow_users_to_change),
            expire_passwords: Some(policy.max_age.is_some()),
            max_password_age: policy.max_age,
            password_reuse_prevention: policy.reuse_prevention,
            hard_expiry: policy.hard_expiry,
        },
    })
}

pub(crate) async fn delete_password_policy(
    iam: &IamState,
    ctx: &RequestContext,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    iam.change_settings(account, |settings| {
        settings
            .password_policy
            .take()
            .map(|_| ())
            .ok_or_else(|| no_password_policy(account))
    })
    .await
}

fn no_password_policy(account: &AccountId) -> ServiceError {
    errors::no_such_entity_exception(format!(
        "The Password Policy with domain name {account} cannot be found."
    ))
}

pub(crate) async fn summary(
    iam: &IamState,
    ctx: &RequestContext,
) -> Result<GetAccountSummaryResponse, ServiceError> {
    let account = ctx.account();
    let users: Vec<(String, Stored<UserRecord>)> = iam
        .scan_all(IAM, &db::prefix(account, Kind::User))
        .await
        .map_err(store_error)?;
    let groups = iam
        .scan_all::<GroupRecord>(IAM, &db::prefix(account, Kind::Group))
        .await
        .map_err(store_error)?;
    let roles = iam
        .scan_all::<RoleRecord>(IAM, &db::prefix(account, Kind::Role))
        .await
        .map_err(store_error)?;
    let policies = iam
        .scan_all::<PolicyRecord>(IAM, &db::prefix(account, Kind::Policy))
        .await
        .map_err(store_error)?;
    let devices = iam.mfa_device_count(account).await?;
    let devices_in_use: usize = users.iter().map(|(_, u)| u.value.mfa_devices.len()).sum();
    let versions: usize = policies.iter().map(|(_, p)| p.value.versions.len()).sum();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let map: BTreeMap<String, i32> = [
        ("Users", count(users.len())),
        ("UsersQuota", 5000),
        ("Groups", count(groups.len())),
        ("GroupsQuota", 300),
        ("Roles", count(roles.len())),
        ("RolesQuota", 1000),
        ("Policies", count(policies.len())),
        ("PoliciesQuota", 1500),
        ("PolicyVersionsInUse", count(versions)),
        ("PolicyVersionsInUseQuota", 10000),
        ("VersionsPerPolicyQuota", 5),
        ("PolicySizeQuota", 6144),
        ("UserPolicySizeQuota", 2048),
        ("GroupPolicySizeQuota", 5120),
        ("RolePolicySizeQuota", 10240),
        ("AssumeRolePolicySizeQuota", 2048),
        ("GroupsPerUserQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AccessKeysPerUserQuota", 2),
        ("SigningCertificatesPerUserQuota", 2),
        ("MFADevices", count(devices)),
        ("MFADevicesInUse", count(devices_in_use)),
        // The root user's keys are the server's configured credentials; its MFA and password
        // are not managed here.
        ("AccountAccessKeysPresent", 1),
        ("AccountMFAEnabled", 0),
        ("AccountPasswordPresent", 0),
        ("AccountSigningCertificatesPresent", 0),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("Providers", 0),
        ("GlobalEndpointTokenVersion", 1),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    Ok(GetAccountSummaryResponse {
        summary_map: Some(map),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_the_pattern() {
        for good in ["abc", "my-company-1", "a1b"] {
            check_alias(good).unwrap();
        }
        for bad in ["ab", "-abc", "abc-", "a--b", "ABC", "a_b", &"a".repeat(64)] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
    }
}
