//! Who is calling, in which account and region.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    pub fn parse(id: &str) -> Option<Self> {
        (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then(|| Self(id.to_owned()))
    }

    /// `000000000000`, the account of local mode's well-known `test`/`test` credentials.
    pub fn local_default() -> Self {
        Self("000000000000".to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name, such as `us-east-1`, taken from the credential scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Parses a region name: lowercase letters, digits and dashes, 1 to 32 characters.
    pub fn parse(name: &str) -> Option<Self> {
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| Self(name.to_owned()))
    }

    /// `us-east-1`, where AWS's global endpoints (STS, IAM) act.
    pub fn us_east_1() -> Self {
        Self("us-east-1".to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of identity a principal is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    User {
        /// The user's name.
        name: String,
    },
    /// A role session from `sts:AssumeRole`.
    AssumedRole {
        /// The role's name.
        role_name: String,
        /// The session's name.
        session_name: String,
    },
    /// The unsigned caller of an operation AWS accepts without a signature (such as
    /// `AssumeRoleWithWebIdentity`); who it is comes from its input, checked by the handler.
    Anonymous,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account the principal belongs to.
    pub account: AccountId,
    /// The principal's ARN, as `GetCallerIdentity` reports it.
    pub arn: String,
    /// The unique id, as `GetCallerIdentity` reports it (`aws:userid`).
    pub user_id: String,
    /// What kind of identity it is.
    pub kind: PrincipalKind,
    /// The access key that signed the request.
    pub access_key_id: String,
    /// The principal's tags (`aws:PrincipalTag/<key>`), as (key, value).
    pub tags: Vec<(String, String)>,
}

impl Principal {
    /// The root user of `account`, signing with `access_key_id`.
    pub fn root(account: AccountId, access_key_id: impl Into<String>) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:root"),
            user_id: account.as_str().to_owned(),
            account,
            kind: PrincipalKind::Root,
            access_key_id: access_key_id.into(),
            tags: Vec::new(),
        }
    }
}

impl Principal {
    /// The unsigned caller of an anonymous operation, acting in `account`.
    pub fn anonymous(account: AccountId) -> Self {
        Self {
            arn: String::new(),
            user_id: String::new(),
            account,
            kind: PrincipalKind::Anonymous,
            access_key_id: String::new(),
            tags: Vec::new(),
        }
    }
}

/// Everything a service knows about the request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id, echoed to the client and in the audit record.
    pub request_id: String,
    /// The caller.
    pub principal: Principal,
    /// The region from the credential scope.
    pub region: Region,
    /// The caller's address (`aws:SourceIp`).
    pub source_ip: IpAddr,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// When the request arrived.
    pub time: SystemTime,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}

impl RequestContext {
    /// The account the request acts in: the caller's own.
    pub fn account(&self) -> &AccountId {
        &self.principal.account
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("000000000000").is_some());
        assert!(AccountId::parse("00000000000").is_none());
        assert!(AccountId::parse("00000000000a").is_none());
    }

    #[test]
    fn regions_are_plain_names() {
        assert!(Region::parse("us-east-1").is_some());
        assert!(Region::parse("US-EAST-1").is_none());
        assert!(Region::parse("").is_none());
        assert!(Region::parse("a/b").is_none());
    }

    #[test]
    fn root_principal_has_the_aws_arn() {
        let root = Principal::root(AccountId::parse("123456789012").unwrap(), "AKIA");
        assert_eq!(root.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(root.user_id, "123456789012");
    }
}
