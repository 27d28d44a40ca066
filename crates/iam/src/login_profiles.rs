//! Login profiles: a user's console password, checked against the account's password policy
//! and kept only as a salted PBKDF2 hash, in a sealed record keyed by the user's id (so that
//! renaming the user leaves it in place).

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use palisade_core::service::CommonError;
use palisade_core::{AccountId, PrincipalKind, RequestContext, Sensitive, ServiceError};
use palisade_model_iam::errors;
use palisade_model_iam::types::{
    ChangePasswordRequest, CreateLoginProfileRequest, CreateLoginProfileResponse,
    DeleteLoginProfileRequest, GetLoginProfileRequest, GetLoginProfileResponse, LoginProfile,
    UpdateLoginProfileRequest,
};
use palisade_store::Transaction;
use serde::{Deserialize, Serialize};

use crate::IamState;
use crate::account::PasswordPolicyRecord;
use crate::db::{self, IAM, Kind, Stored, sealed};
use crate::ids::random_bytes;
use crate::records::{UserRecord, sensitive, timestamp};
use crate::users::{Subject, root_credentials_unsupported, subject};

/// PBKDF2-HMAC-SHA256 rounds: OWASP's figure for this hash.
const ROUNDS: NonZeroU32 = match NonZeroU32::new(600_000) {
    Some(rounds) => rounds,
    None => NonZeroU32::MIN,
};
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
/// The length AWS asks for when the account has no password policy.
const DEFAULT_MINIMUM_LENGTH: usize = 8;

/// A user's login profile, as stored (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoginRecord {
    created: i64,
    reset_required: bool,
    password: PasswordHash,
}

impl LoginRecord {
    fn to_api(&self, user: &str) -> LoginProfile {
        LoginProfile {
            user_name: user.to_owned(),
            create_date: timestamp(self.created),
            password_reset_required: Some(self.reset_required),
        }
    }
}

/// A salted PBKDF2 hash of a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PasswordHash {
    salt: Vec<u8>,
    #[serde(with = "sensitive")]
    hash: Sensitive<Vec<u8>>,
}

impl PasswordHash {
    fn new(password: &str) -> Result<Self, ServiceError> {
        let salt = random_bytes::<SALT_BYTES>()?.to_vec();
        let mut hash = vec![0u8; HASH_BYTES];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            ROUNDS,
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Ok(Self {
            salt,
            hash: Sensitive::new(hash),
        })
    }

    /// Whether `password` is the one hashed, compared in constant time.
    fn verify(&self, password: &str) -> bool {
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            ROUNDS,
            &self.salt,
            password.as_bytes(),
            self.hash.expose(),
        )
        .is_ok()
    }
}

/// Checks `password` against the account's policy, or AWS's default when it has none.
fn check_password(
    policy: Option<&PasswordPolicyRecord>,
    password: &str,
) -> Result<(), ServiceError> {
    let violation = |rule: &str| {
        Err(errors::password_policy_violation_exception(format!(
            "Password should {rule}"
        )))
    };
    let length = password.chars().count();
    let minimum = policy.map_or(DEFAULT_MINIMUM_LENGTH, |p| {
        usize::try_from(p.minimum_length).unwrap_or(0)
    });
    if length < minimum {
        return violation(&format!("have a minimum length of {minimum}"));
    }
    let Some(policy) = policy else {
        return Ok(());
    };
    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    if policy.require_uppercase && !has(char::is_ascii_uppercase) {
        return violation("have at least one uppercase letter");
    }
    if policy.require_lowercase && !has(char::is_ascii_lowercase) {
        return violation("have at least one lowercase letter");
    }
    if policy.require_numbers && !has(char::is_ascii_digit) {
        return violation("have at least one number");
    }
    if policy.require_symbols && !has(char::is_ascii_punctuation) {
        return violation("have at least one symbol");
    }
    Ok(())
}

impl IamState {
    async fn password_policy(
        &self,
        account: &AccountId,
    ) -> Result<Option<PasswordPolicyRecord>, ServiceError> {
        Ok(self
            .settings(account)
            .await?
            .and_then(|s| s.value.password_policy))
    }

    async fn login(
        &self,
        account: &AccountId,
        user: &UserRecord,
    ) -> Result<Stored<LoginRecord>, ServiceError> {
        self.get(IAM, &db::key(account, Kind::Login, &user.id))
            .await?
            .ok_or_else(|| {
                errors::no_such_entity_exception(format!(
                    "Login Profile for User {} cannot be found.",
                    user.name
                ))
            })
    }
}

/// The user a login-profile call names, or the calling user.
fn named_user(ctx: &RequestContext, name: Option<String>) -> Result<String, ServiceError> {
    match subject(ctx, name)? {
        Subject::User(name) => Ok(name),
        Subject::Root => Err(root_credentials_unsupported()),
    }
}

pub(crate) async fn create(
    iam: &IamState,
    ctx: &RequestContext,
    input: CreateLoginProfileRequest,
) -> Result<CreateLoginProfileResponse, ServiceError> {
    let account = ctx.account();
    let name = named_user(ctx, input.user_name)?;
    let password = input.password.ok_or_else(|| {
        ServiceError::validation(
            "1 validation error detected: Value null at 'password' failed to satisfy constraint: \
             Member must not be null",
        )
    })?;
    check_password(
        iam.password_policy(account).await?.as_ref(),
        password.expose(),
    )?;
    let record = LoginRecord {
        created: iam.now(),
        reset_required: input.password_reset_required.unwrap_or(false),
        password: PasswordHash::new(password.expose())?,
    };
    let (name, record) = (&name, &record);
    iam.mutate(move || async move {
        let user = iam.entity::<UserRecord>(account, name).await?.value;
        let key = db::key(account, Kind::Login, &user.id);
        if iam.get::<LoginRecord>(IAM, &key).await?.is_some() {
            return Err(errors::entity_already_exists_exception(format!(
                "Login Profile for user {} already exists.",
                user.name
            )));
        }
        let txn = Transaction::new()
            .expect_absent(IAM, &key)
            .put(IAM, &key, sealed(record)?);
        Ok((
            txn,
            CreateLoginProfileResponse {
                login_profile: record.to_api(&user.name),
            },
        ))
    })
    .await
}

pub(crate) async fn get(
    iam: &IamState,
    ctx: &RequestContext,
    input: GetLoginProfileRequest,
) -> Result<GetLoginProfileResponse, ServiceError> {
    let account = ctx.account();
    let name = named_user(ctx, input.user_name)?;
    let user = iam.entity::<UserRecord>(account, &name).await?.value;
    let login = iam.login(account, &user).await?;
    Ok(GetLoginProfileResponse {
        login_profile: login.value.to_api(&user.name),
    })
}

pub(crate) async fn update(
    iam: &IamState,
    ctx: &RequestContext,
    input: UpdateLoginProfileRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let replacement = match &input.password {
        Some(password) => {
            check_password(
                iam.password_policy(account).await?.as_ref(),
                password.expose(),
            )?;
            Some(PasswordHash::new(password.expose())?)
        }
        None => None,
    };
    let (input, replacement) = (&input, &replacement);
    iam.mutate(move || async move {
        let user = iam
            .entity::<UserRecord>(account, &input.user_name)
            .await?
            .value;
        let mut login = iam.login(account, &user).await?;
        if let Some(replacement) = replacement {
            login.value.password = replacement.clone();
        }
        if let Some(reset) = input.password_reset_required {
            login.value.reset_required = reset;
        }
        let key = db::key(account, Kind::Login, &user.id);
        Ok((
            login.replace(Transaction::new(), IAM, &key, sealed(&login.value)?),
            (),
        ))
    })
    .await
}

pub(crate) async fn delete(
    iam: &IamState,
    ctx: &RequestContext,
    input: DeleteLoginProfileRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let name = &named_user(ctx, input.user_name)?;
    iam.mutate(move || async move {
        let user = iam.entity::<UserRecord>(account, name).await?.value;
        let login = iam.login(account, &user).await?;
        let key = db::key(account, Kind::Login, &user.id);
        let txn = Transaction::new()
            .expect_version(IAM, &key, login.version)
            .delete(IAM, &key);
        Ok((txn, ()))
    })
    .await
}

pub(crate) async fn change_password(
    iam: &IamState,
    ctx: &RequestContext,
    input: ChangePasswordRequest,
) -> Result<(), ServiceError> {
    let account = ctx.account();
    let PrincipalKind::User { name } = &ctx.principal.kind else {
        return Err(errors::invalid_user_type_exception(
            "Only IAM users can change their own password.",
        ));
    };
    let policy = iam.password_policy(account).await?;
    if policy
        .as_ref()
        .is_some_and(|policy| !policy.allow_users_to_change)
    {
        return Err(ServiceError::common(
            CommonError::AccessDenied,
            "The account's password policy does not allow users to change their passwords.",
        ));
    }
    let user = iam.entity::<UserRecord>(account, name).await?.value;
    if !iam
        .login(account, &user)
        .await?
        .value
        .password
        .verify(input.old_password.expose())
    {
        return Err(ServiceError::common(
            CommonError::AccessDenied,
            "The old password is incorrect.",
        ));
    }
    check_password(policy.as_ref(), input.new_password.expose())?;
    let replacement = PasswordHash::new(input.new_password.expose())?;
    let (user, replacement) = (&user, &replacement);
    iam.mutate(move || async move {
        let mut login = iam.login(account, user).await?;
        login.value.password = replacement.clone();
        login.value.reset_required = false;
        let key = db::key(account, Kind::Login, &user.id);
        Ok((
            login.replace(Transaction::new(), IAM, &key, sealed(&login.value)?),
            (),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_policy() {
        assert!(check_password(None, "short").is_err());
        check_password(None, "long enough").unwrap();
        let policy = PasswordPolicyRecord {
            minimum_length: 10,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age: None,
            reuse_prevention: None,
            hard_expiry: None,
        };
        let message = |password| check_password(Some(&policy), password).unwrap_err().message;
        assert_eq!(
            message("Ab1!"),
            "Password should have a minimum length of 10"
        );
        assert_eq!(
            message("abcdefghij1!"),
            "Password should have at least one uppercase letter"
        );
        assert_eq!(
            message("ABCDEFGHIJ1!"),
            "Password should have at least one lowercase letter"
        );
        assert_eq!(
            message("Abcdefghij!"),
            "Password should have at least one number"
        );
        assert_eq!(
            message("Abcdefghij1"),
            "Password should have at least one symbol"
        );
        check_password(Some(&policy), "Abcdefghij1!").unwrap();
    }
}
