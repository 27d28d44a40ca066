//! Principals: who makes a request ([`Principal`], described by the caller) and whom a
//! resource-based policy's Principal or NotPrincipal element names.
//!
//! What a name in a policy grants depends on what it names (IAM User Guide, "Policy evaluation
//! logic" and "AWS JSON policy elements: Principal"), which [`Grant`] records:
//! - an account (`123456789012` or `arn:aws:iam::123456789012:root`): "you delegate authority
//!   to the account. All identities inside the account can access the resource if they have the
//!   appropriate IAM permissions attached" — the identity side must still allow ([`Grant::Account`]);
//!   for the account's root user, the account is the principal itself;
//! - the role of a role session, or the IAM user behind a federated-user session: "limited by an
//!   implicit deny in a permissions boundary or session policy" ([`Grant::Entity`]);
//! - the caller's own ARN (an IAM user, a role session, a federated-user session), a service, a
//!   web or SAML identity provider, a canonical user, or everyone (`*`): the grant is the
//!   caller's own and "not limited by an implicit deny in an identity-based policy, a permissions
//!   boundary, or session policy" ([`Grant::Direct`]).

use crate::error::PolicyError;
use crate::json::Json;

/// The principal making a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    /// The caller's ARN (a role session's `arn:aws:sts::…:assumed-role/…` ARN), or for a
    /// service its service principal name, for a canonical user its ID.
    pub arn: &'a str,
    pub kind: PrincipalKind<'a>,
}

/// What kind of principal makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind<'a> {
    /// The account root user.
    Root,
    User,
    /// A role session; `role_arn` is the role's `arn:aws:iam::…:role/…` ARN (with its path).
    AssumedRole {
        role_arn: &'a str,
    },
    /// A `GetFederationToken` session of the IAM user `user_arn`.
    FederatedUser {
        user_arn: &'a str,
    },
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service,
    /// A web identity or SAML user, before it has assumed a role (`AssumeRoleWith…`), identified
    /// by its provider (`cognito-identity.amazonaws.com`, `arn:aws:iam::…:saml-provider/…`).
    WebIdentity {
        provider: &'a str,
    },
    /// An Amazon S3 canonical user.
    CanonicalUser,
    /// An unauthenticated request.
    Anonymous,
}

impl<'a> Principal<'a> {
    pub fn root(arn: &'a str) -> Self {
        Principal {
            arn,
            kind: PrincipalKind::Root,
        }
    }

    pub fn user(arn: &'a str) -> Self {
        Principal {
            arn,
            kind: PrincipalKind::User,
        }
    }

    pub fn assumed_role(session_arn: &'a str, role_arn: &'a str) -> Self {
        Principal {
            arn: session_arn,
            kind: PrincipalKind::AssumedRole { role_arn },
        }
    }

    pub fn federated_user(arn: &'a str, user_arn: &'a str) -> Self {
        Principal {
            arn,
            kind: PrincipalKind::FederatedUser { user_arn },
        }
    }

    pub fn service(name: &'a str) -> Self {
        Principal {
            arn: name,
            kind: PrincipalKind::Service,
        }
    }

    /// Whether IAM identity-based policies (and so SCPs, boundaries and sessions) can apply:
    /// the root user, IAM users and their sessions, and role sessions.
    pub fn is_iam_identity(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole { .. }
                | PrincipalKind::FederatedUser { .. }
        )
    }

    /// A session of a service-linked role: such roles live under the `/aws-service-role/` path,
    /// and neither SCPs nor RCPs restrict them.
    pub fn is_service_linked_role(&self) -> bool {
        matches!(self.kind, PrincipalKind::AssumedRole { role_arn } if role_arn.contains(":role/aws-service-role/"))
    }
}

/// How directly a resource-based policy statement names the caller; ordered from weakest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// The statement names the caller's account: the identity side must allow too.
    Account,
    /// The statement names the caller's role (or the IAM user behind a federated session):
    /// boundaries and session policies still limit it.
    Entity,
    /// The statement names the caller itself.
    Direct,
}

/// A Principal or NotPrincipal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrincipalElement {
    pub(crate) negated: bool,
    entries: Box<[Entry]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Everyone,
    Account(Box<str>),
    /// An IAM user, IAM role, role session or federated-user ARN.
    Arn(Box<str>),
    Service(Box<str>),
    Federated(Box<str>),
    CanonicalUser(Box<str>),
    /// A unique ID (`AIDA…`, `AROA…`): what IAM shows in place of a deleted principal. It names
    /// nobody a request can come from.
    UniqueId,
}

impl PrincipalElement {
    /// Parses the element's value: `"*"`, or an object of `AWS`, `Service`, `Federated` and
    /// `CanonicalUser` each naming one principal or an array of them.
    pub(crate) fn parse(value: &Json, negated: bool) -> Result<PrincipalElement, PolicyError> {
        let mut entries = Vec::new();
        match value {
            Json::String(star) if &**star == "*" => entries.push(Entry::Everyone),
            Json::Object(members) if !members.is_empty() => {
                for (kind, names) in members {
                    for name in strings(names)? {
                        entries.push(entry(kind, name)?);
                    }
                }
            }
            _ => return Err(PolicyError::syntax()),
        }
        Ok(PrincipalElement {
            negated,
            entries: entries.into(),
        })
    }

    /// Whether the element is exactly `"*"` (or `{"AWS": "*"}`).
    pub(crate) fn is_everyone(&self) -> bool {
        matches!(&*self.entries, [Entry::Everyone])
    }

    /// How a Principal element names the caller, if it does.
    pub(crate) fn grant(&self, principal: &Principal<'_>, account: &str) -> Option<Grant> {
        self.entries
            .iter()
            .filter_map(|entry| entry_grant(entry, principal, account))
            .max()
    }

    /// Whether a NotPrincipal element exempts the caller. AWS checks "the account first, then
    /// the role, and then the assumed-role user", so every one of the caller's layers must be
    /// listed ("When you use NotPrincipal, you must also specify the account ARN of the
    /// not-denied principal. Otherwise, the policy might deny access to the entire account").
    pub(crate) fn exempts(&self, principal: &Principal<'_>, account: &str) -> bool {
        let listed = |wanted: &Entry| {
            self.entries.contains(wanted) || self.entries.contains(&Entry::Everyone)
        };
        let arn = |text: &str| Entry::Arn(text.into());
        let account_listed = || listed(&Entry::Account(account.into()));
        match principal.kind {
            PrincipalKind::Root => account_listed(),
            PrincipalKind::User => account_listed() && listed(&arn(principal.arn)),
            PrincipalKind::AssumedRole { role_arn } => {
                account_listed() && listed(&arn(role_arn)) && listed(&arn(principal.arn))
            }
            PrincipalKind::FederatedUser { .. } => account_listed() && listed(&arn(principal.arn)),
            PrincipalKind::Service => listed(&Entry::Service(principal.arn.into())),
            PrincipalKind::WebIdentity { provider } => listed(&Entry::Federated(provider.into())),
            PrincipalKind::CanonicalUser => listed(&Entry::CanonicalUser(principal.arn.into())),
            PrincipalKind::Anonymous => listed(&Entry::Everyone),
        }
    }
}

fn entry_grant(entry: &Entry, principal: &Principal<'_>, account: &str) -> Option<Grant> {
    match (entry, principal.kind) {
        (Entry::Everyone, _) => Some(Grant::Direct),
        (Entry::Account(named), PrincipalKind::Root) if **named == *account => Some(Grant::Direct),
        (
            Entry::Account(named),
            PrincipalKind::User
            | PrincipalKind::AssumedRole { .. }
            | PrincipalKind::FederatedUser { .. },
        ) if **named == *account => Some(Grant::Account),
        (
            Entry::Arn(named),
            PrincipalKind::User
            | PrincipalKind::AssumedRole { .. }
            | PrincipalKind::FederatedUser { .. },
        ) if **named == *principal.arn => Some(Grant::Direct),
        (Entry::Arn(named), PrincipalKind::AssumedRole { role_arn })
        | (Entry::Arn(named), PrincipalKind::FederatedUser { user_arn: role_arn })
            if **named == *role_arn =>
        {
            Some(Grant::Entity)
        }
        (Entry::Service(named), PrincipalKind::Service) if **named == *principal.arn => {
            Some(Grant::Direct)
        }
        (Entry::Federated(named), PrincipalKind::WebIdentity { provider })
            if **named == *provider =>
        {
            Some(Grant::Direct)
        }
        (Entry::CanonicalUser(named), PrincipalKind::CanonicalUser)
            if **named == *principal.arn =>
        {
            Some(Grant::Direct)
        }
        _ => None,
    }
}

fn strings(value: &Json) -> Result<Vec<&str>, PolicyError> {
    match value {
        Json::String(text) => Ok(vec![text]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Json::String(text) => Ok(&**text),
                _ => Err(PolicyError::syntax()),
            })
            .collect(),
        _ => Err(PolicyError::syntax()),
    }
}

fn entry(kind: &str, name: &str) -> Result<Entry, PolicyError> {
    let invalid = || {
        PolicyError::malformed(format!(
            "Invalid principal in policy: \"{kind}\":\"{name}\""
        ))
    };
    // "You cannot use a wildcard to match part of a principal name or ARN": only a lone `*`.
    if name.is_empty() || (name.contains('*') && name != "*") || name.contains('?') {
        return Err(invalid());
    }
    match kind {
        "AWS" if name == "*" => Ok(Entry::Everyone),
        "AWS" => aws_entry(name).ok_or_else(invalid),
        "Service" if name != "*" => Ok(Entry::Service(name.into())),
        "Federated" if name != "*" => Ok(Entry::Federated(name.into())),
        "CanonicalUser" if name != "*" => Ok(Entry::CanonicalUser(name.into())),
        _ => Err(invalid()),
    }
}

fn aws_entry(name: &str) -> Option<Entry> {
    if is_account_id(name) {
        return Some(Entry::Account(name.into()));
    }
    if name.len() >= 16
        && (name.starts_with("AIDA") || name.starts_with("AROA"))
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Some(Entry::UniqueId);
    }
    let mut parts = name.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if partition.is_empty() || !is_account_id(account) {
        return None;
    }
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty())
    };
    match service {
        "iam" if resource == "root" => Some(Entry::Account(account.into())),
        "iam" if named("user/") || named("role/") => Some(Entry::Arn(name.into())),
        "sts" if named("assumed-role/") || named("federated-user/") => {
            Some(Entry::Arn(name.into()))
        }
        _ => None,
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn element(text: &str, negated: bool) -> Result<PrincipalElement, PolicyError> {
        PrincipalElement::parse(&json::parse(text, 8).unwrap(), negated)
    }

    const ACCOUNT: &str = "111122223333";
    const USER: &str = "arn:aws:iam::111122223333:user/alice";
    const ROLE: &str = "arn:aws:iam::111122223333:role/app";
    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/s1";

    #[test]
    fn grants_by_how_directly_the_caller_is_named() {
        let session = Principal::assumed_role(SESSION, ROLE);
        let grant =
            |text: &str, who: &Principal<'_>| element(text, false).unwrap().grant(who, ACCOUNT);
        assert_eq!(
            grant(r#"{"AWS":"111122223333"}"#, &session),
            Some(Grant::Account)
        );
        assert_eq!(
            grant(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, &session),
            Some(Grant::Account)
        );
        assert_eq!(
            grant(&format!(r#"{{"AWS":"{ROLE}"}}"#), &session),
            Some(Grant::Entity)
        );
        assert_eq!(
            grant(&format!(r#"{{"AWS":["{ROLE}","{SESSION}"]}}"#), &session),
            Some(Grant::Direct)
        );
        assert_eq!(grant(r#""*""#, &session), Some(Grant::Direct));
        assert_eq!(grant(r#"{"AWS":"999999999999"}"#, &session), None);
        assert_eq!(
            grant(&format!(r#"{{"AWS":"{USER}"}}"#), &Principal::user(USER)),
            Some(Grant::Direct)
        );
        assert_eq!(
            grant(
                r#"{"AWS":"111122223333"}"#,
                &Principal::root("arn:aws:iam::111122223333:root")
            ),
            Some(Grant::Direct)
        );
        assert_eq!(
            grant(
                r#"{"Service":"cloudtrail.amazonaws.com"}"#,
                &Principal::service("cloudtrail.amazonaws.com")
            ),
            Some(Grant::Direct)
        );
        assert_eq!(
            grant(r#"{"Service":"cloudtrail.amazonaws.com"}"#, &session),
            None
        );
    }

    #[test]
    fn not_principal_exempts_only_when_every_layer_is_listed() {
        let session = Principal::assumed_role(SESSION, ROLE);
        let exempts = |text: &str| element(text, true).unwrap().exempts(&session, ACCOUNT);
        assert!(!exempts(&format!(r#"{{"AWS":"{SESSION}"}}"#)));
        assert!(!exempts(&format!(r#"{{"AWS":["{SESSION}","{ROLE}"]}}"#)));
        assert!(exempts(&format!(
            r#"{{"AWS":["{SESSION}","{ROLE}","{ACCOUNT}"]}}"#
        )));
        let user = Principal::user(USER);
        assert!(
            element(
                &format!(r#"{{"AWS":["{USER}","arn:aws:iam::{ACCOUNT}:root"]}}"#),
                true
            )
            .unwrap()
            .exempts(&user, ACCOUNT)
        );
        assert!(
            !element(&format!(r#"{{"AWS":"{USER}"}}"#), true)
                .unwrap()
                .exempts(&user, ACCOUNT)
        );
    }

    #[test]
    fn invalid_principals_are_refused() {
        for text in [
            r#"{"AWS":"arn:aws:iam::111122223333:user/*"}"#,
            r#"{"AWS":"alice"}"#,
            r#"{"AWS":"arn:aws:iam::1111:root"}"#,
            r#"{"AWS":"arn:aws:s3:::bucket"}"#,
            r#"{"AWS":"arn:aws:iam::111122223333:group/admins"}"#,
            r#"{"Service":"*"}"#,
            r#"{"Other":"x"}"#,
            r#"{"AWS":""}"#,
        ] {
            let error = element(text, false).unwrap_err();
            assert!(
                error.message().starts_with("Invalid principal in policy"),
                "{text}: {error}"
            );
        }
        for text in [r#""x""#, "{}", r#"{"AWS":[]}"#, r#"{"AWS":1}"#, "[]"] {
            assert_eq!(
                element(text, false).unwrap_err(),
                PolicyError::syntax(),
                "{text}"
            );
        }
    }
}
