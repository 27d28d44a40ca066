//! Temporary credentials: what a session is, how its keys are made, and how it is kept.
//!
//! A session lives in the keyspace [`SESSIONS`] under its access key id, as one JSON record
//! sealed by the store's barrier (the record carries the secret key and the token, so none of
//! it is written in the clear). The authenticator reads it back with [`crate::StsState::session`]
//! on every request signed with an `ASIA` key.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use palisade_core::value::Timestamp;
use palisade_core::{AccountId, Principal, PrincipalKind, Sensitive, ServiceError};
use palisade_iam::ids;
use palisade_model_sts::types::Credentials;
use palisade_store::{SecretBytes, StoreError, Transaction, Value};
use serde::{Deserialize, Serialize};

/// The keyspace of sessions, keyed by access key id.
pub const SESSIONS: &str = "sts/sessions";

/// A session issued by `AssumeRole` or `GetSessionToken`: everything the authenticator and the
/// authorizer need to act as it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// `ASIA` followed by 16 upper-case letters and digits.
    pub access_key_id: String,
    #[serde(with = "sensitive")]
    pub secret_access_key: Sensitive<String>,
    #[serde(with = "sensitive")]
    pub session_token: Sensitive<String>,
    /// The account the session acts in: the role's, or the user's.
    #[serde(with = "account")]
    pub account: AccountId,
    /// Issue and expiry times, in milliseconds since the epoch.
    pub issued_at_millis: i64,
    pub expires_at_millis: i64,
    /// Whether the session had expired when it was looked up; the server answers
    /// `ExpiredToken` then. Not stored: it depends on when the record is read.
    #[serde(skip)]
    pub expired: bool,
    /// Who the session acts as.
    pub identity: SessionIdentity,
    /// The session tags (`aws:PrincipalTag/*` for a role session), inherited transitive tags
    /// included, as (key, value).
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` that pass on to sessions this one assumes (role chaining).
    pub transitive_tag_keys: Vec<String>,
    /// `sts:SourceIdentity` (`aws:SourceIdentity` for the session's own requests); once set,
    /// every session chained from this one keeps it.
    pub source_identity: Option<String>,
    /// Session policies (the inline `Policy`, then the documents of `PolicyArns`): the session
    /// may do only what they also allow. Empty means no session policy applies.
    pub session_policies: Vec<String>,
    /// When MFA was last proven for this session (`aws:MultiFactorAuthAge` counts from it);
    /// `None`: no MFA (`aws:MultiFactorAuthPresent` is `false`).
    pub mfa_authenticated_at_millis: Option<i64>,
    /// Whether a role session assumed this role (role chaining, capped at one hour).
    pub chained: bool,
}

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionIdentity {
    /// A role session (`AssumeRole`).
    AssumedRole {
        /// The role's ARN, with its path.
        role_arn: String,
        /// The role's unique id (`AROA...`).
        role_id: String,
        role_name: String,
        session_name: String,
        /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
        session_arn: String,
        /// The role tags at issue time, under the session tags (which win on the same key).
        role_tags: Vec<(String, String)>,
    },
    /// A `GetSessionToken` session of an IAM user.
    User {
        name: String,
        user_id: String,
        arn: String,
        /// The user's tags at issue time.
        tags: Vec<(String, String)>,
    },
    /// A `GetSessionToken` session of the account's root user.
    Root,
}

impl SessionRecord {
    /// The principal the session's requests act as, for the authenticator: a role session's
    /// ARN and user id (`AROA...:<session>`), with its principal tags (the role's, overridden
    /// by the session's); or the user or root user that called `GetSessionToken`.
    pub fn principal(&self) -> Principal {
        let access_key_id = self.access_key_id.clone();
        match &self.identity {
            SessionIdentity::AssumedRole {
                role_id,
                role_name,
                session_name,
                session_arn,
                role_tags,
                ..
            } => {
                let mut tags: Vec<(String, String)> = role_tags
                    .iter()
                    .filter(|(key, _)| !self.has_tag(key))
                    .cloned()
                    .collect();
                tags.extend(self.tags.iter().cloned());
                Principal {
                    account: self.account.clone(),
                    arn: session_arn.clone(),
                    user_id: assumed_role_id(role_id, session_name),
                    kind: PrincipalKind::AssumedRole {
                        role_name: role_name.clone(),
                        session_name: session_name.clone(),
                    },
                    access_key_id,
                    tags,
                }
            }
            SessionIdentity::User {
                name,
                user_id,
                arn,
                tags,
            } => Principal {
                account: self.account.clone(),
                arn: arn.clone(),
                user_id: user_id.clone(),
                kind: PrincipalKind::User { name: name.clone() },
                access_key_id,
                tags: tags.clone(),
            },
            SessionIdentity::Root => Principal::root(self.account.clone(), access_key_id),
        }
    }

    /// The role's ARN, for a role session: the authorizer evaluates the role's policies for it.
    pub fn role_arn(&self) -> Option<&str> {
        match &self.identity {
            SessionIdentity::AssumedRole { role_arn, .. } => Some(role_arn),
            SessionIdentity::User { .. } | SessionIdentity::Root => None,
        }
    }

    /// Whether the session is past its expiry at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        palisade_core::clock::millis_since_epoch(now) >= self.expires_at_millis
    }

    /// The global condition keys for MFA, as (key, value): `aws:MultiFactorAuthPresent`, and
    /// `aws:MultiFactorAuthAge` in whole seconds when MFA was proven.
    pub fn mfa_context(&self, now: SystemTime) -> Vec<(&'static str, String)> {
        mfa_keys(self.mfa_authenticated_at_millis, now)
    }

    /// The `Credentials` structure STS answers with.
    pub(crate) fn credentials(&self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: self.session_token.expose().clone(),
            expiration: Timestamp::from_millis(self.expires_at_millis),
        }
    }

    fn has_tag(&self, key: &str) -> bool {
        // Tag keys are case-insensitive in sessions, as in IAM.
        self.tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key))
    }
}

/// Whether `presented` is the session's token, compared in constant time.
pub fn token_matches(record: &SessionRecord, presented: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(
        record.session_token.expose().as_bytes(),
        presented.as_bytes(),
    )
    .is_ok()
}

/// The MFA condition keys of temporary credentials whose MFA was proven at `mfa_at`
/// (milliseconds since the epoch), if it was.
pub(crate) fn mfa_keys(mfa_at: Option<i64>, now: SystemTime) -> Vec<(&'static str, String)> {
    match mfa_at {
        Some(at) => {
            let age = (palisade_core::clock::millis_since_epoch(now) - at).max(0) / 1000;
            vec![
                ("aws:MultiFactorAuthPresent", "true".to_owned()),
                ("aws:MultiFactorAuthAge", age.to_string()),
            ]
        }
        None => vec![("aws:MultiFactorAuthPresent", "false".to_owned())],
    }
}

/// `AROA...:<session>`: a role session's user id (`aws:userid`, `AssumedRoleId`).
pub(crate) fn assumed_role_id(role_id: &str, session_name: &str) -> String {
    format!("{role_id}:{session_name}")
}

/// Fresh keys for a session.
pub(crate) struct NewKeys {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
    pub session_token: Sensitive<String>,
}

impl NewKeys {
    /// A random access key id, secret and token.
    pub fn generate() -> Result<Self, ServiceError> {
        // AWS's tokens are opaque base64 of a few hundred bytes; clients store them whole,
        // so the length matters only in that it must fit where AWS's fit.
        let token_bytes = Sensitive::new(ids::random_bytes::<TOKEN_BYTES>()?.to_vec());
        Ok(Self {
            access_key_id: ids::temporary_access_key_id()?,
            secret_access_key: ids::secret_access_key()?,
            session_token: Sensitive::new(STANDARD.encode(token_bytes.expose())),
        })
    }
}

/// Milliseconds since the epoch, `seconds` after `now`.
pub(crate) fn expiry_millis(now: SystemTime, seconds: i32) -> i64 {
    let secs = u64::try_from(seconds).unwrap_or(0);
    palisade_core::clock::millis_since_epoch(now + Duration::from_secs(secs))
}

/// The transaction that stores a new session (its access key id must be new).
pub(crate) fn insert(record: &SessionRecord) -> Result<Transaction, ServiceError> {
    let bytes = serde_json::to_vec(record)
        .map_err(|error| ServiceError::internal(format!("session encoding failed: {error}")))?;
    Ok(Transaction::new()
        .expect_absent(SESSIONS, &record.access_key_id)
        .put(
            SESSIONS,
            &record.access_key_id,
            Value::Secret(SecretBytes::new(bytes)),
        ))
}

/// Reads the stored record, marking it expired as of `now`.
pub(crate) fn decode(
    key: &str,
    value: &Value,
    now: SystemTime,
) -> Result<SessionRecord, StoreError> {
    let mut record: SessionRecord = serde_json::from_slice(value.bytes())
        .map_err(|error| StoreError::Backend(format!("unreadable session {key}: {error}")))?;
    record.expired = record.is_expired_at(now);
    Ok(record)
}

const TOKEN_BYTES: usize = 288;

/// Serde for the secrets in the sealed record.
mod sensitive {
    use palisade_core::Sensitive;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        secret: &Sensitive<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        secret.expose().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Sensitive<String>, D::Error> {
        String::deserialize(deserializer).map(Sensitive::new)
    }
}

/// Serde for account ids, kept as their text.
mod account {
    use palisade_core::AccountId;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(account: &AccountId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(account.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AccountId, D::Error> {
        let text = String::deserialize(deserializer)?;
        AccountId::parse(&text).ok_or_else(|| D::Error::custom("not an account id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn record(keys: NewKeys) -> SessionRecord {
        SessionRecord {
            access_key_id: keys.access_key_id,
            secret_access_key: keys.secret_access_key,
            session_token: keys.session_token,
            account: AccountId::local_default(),
            issued_at_millis: 0,
            expires_at_millis: 1000,
            expired: false,
            identity: SessionIdentity::Root,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            session_policies: Vec::new(),
            mfa_authenticated_at_millis: None,
            chained: false,
        }
    }

    #[test]
    fn keys_look_like_aws_session_keys() {
        let keys = NewKeys::generate().unwrap();
        assert_eq!(keys.access_key_id.len(), 20);
        assert!(keys.access_key_id.starts_with("ASIA"));
        assert!(
            keys.access_key_id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(keys.secret_access_key.expose().len(), 40);
        assert!(keys.session_token.expose().len() > 300);
        let other = NewKeys::generate().unwrap();
        assert_ne!(keys.access_key_id, other.access_key_id);
    }

    #[test]
    fn tokens_match_only_exactly() {
        let record = record(NewKeys::generate().unwrap());
        let token = record.session_token.expose().clone();
        assert!(token_matches(&record, &token));
        assert!(!token_matches(&record, &token[1..]));
        assert!(!token_matches(&record, ""));
    }

    #[test]
    fn expiry_is_inclusive_of_the_deadline() {
        let record = record(NewKeys::generate().unwrap());
        assert!(!record.is_expired_at(UNIX_EPOCH + Duration::from_millis(999)));
        assert!(record.is_expired_at(UNIX_EPOCH + Duration::from_millis(1000)));
    }
}
