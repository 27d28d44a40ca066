//! A parsed policy document: its statements, compiled once into the form evaluation reads
//! (lowercased action patterns, resource patterns split into segments, typed condition values),
//! after the checks IAM makes when a policy is created.

use crate::condition::{
    Condition, VENDOR_PREFIX_MESSAGE, has_vendor_prefix, parse_condition_block,
};
use crate::context::Context;
use crate::error::PolicyError;
use crate::glob::{
    Case, Glob, Segment, Tok, push_wildcard_text, resource_matches, resource_segments,
};
use crate::json::{self, Json};
use crate::principal::PrincipalElement;
use crate::template::{Part, has_variables, parse_parts, push_tokens};

/// What a policy is attached as; it decides which elements a statement must or must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed). No Principal.
    #[default]
    Identity,
    /// Attached to a resource (bucket, key, queue, secret…). Names a Principal.
    Resource,
    /// A role's trust policy. Names a Principal; has no Resource.
    Trust,
    /// An Organizations service control policy. No Principal.
    ServiceControl,
    /// An Organizations resource control policy. `"Principal": "*"` only.
    ResourceControl,
    /// A session policy passed to `AssumeRole*` or `GetFederationToken`. No Principal.
    Session,
    /// A permissions boundary. No Principal.
    Boundary,
}

/// IAM's size quotas, in characters excluding whitespace ("IAM doesn't count white space when
/// calculating the size of a policy").
pub mod limits {
    /// An inline policy of a user.
    pub const USER_INLINE: usize = 2_048;
    /// An inline policy of a role.
    pub const ROLE_INLINE: usize = 10_240;
    /// An inline policy of a group.
    pub const GROUP_INLINE: usize = 5_120;
    /// A managed policy.
    pub const MANAGED: usize = 6_144;
    /// A role trust policy (the default `ACLSizePerRole` quota).
    pub const TRUST: usize = 2_048;
    /// An SCP or RCP.
    pub const ORGANIZATIONS: usize = 5_120;
    /// Documents larger than this many bytes are refused before any of them is read, whatever
    /// the configured quota; no AWS policy type allows a larger one.
    pub const MAX_DOCUMENT_BYTES: usize = 128 * 1024;
    /// Arrays and objects may nest this deep (a valid policy needs six levels).
    pub const MAX_DEPTH: usize = 32;
}

/// How to parse a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// The size quota in characters excluding whitespace; `None` applies only
    /// [`limits::MAX_DOCUMENT_BYTES`].
    pub max_size: Option<usize>,
    pub kind: PolicyKind,
}

impl ParseOptions {
    pub fn new(kind: PolicyKind) -> Self {
        ParseOptions {
            max_size: None,
            kind,
        }
    }

    pub fn with_max_size(self, max_size: usize) -> Self {
        ParseOptions {
            max_size: Some(max_size),
            ..self
        }
    }
}

/// The policy language version. "If you do not include a Version element, the value defaults
/// to 2008-10-17", which has no policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    name: Option<Box<str>>,
    id: Option<Box<str>>,
    version: Version,
    kind: PolicyKind,
    statements: Box<[Statement]>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    sid: Option<Box<str>>,
    effect: Effect,
    pub(crate) principal: Option<PrincipalElement>,
    actions: Patterns<Glob>,
    resources: Option<Patterns<ResourcePattern>>,
    pub(crate) conditions: Box<[Condition]>,
}

/// An Action/NotAction or Resource/NotResource element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patterns<T> {
    negated: bool,
    patterns: Box<[T]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ResourcePattern {
    /// `*`.
    Any,
    /// No wildcard: the ARN itself.
    Exact(Box<str>),
    /// Literal text then a final `*`, which as the last character of its segment may run on
    /// across colons: any ARN starting with the text.
    Prefix(Box<str>),
    Segmented {
        tokens: Box<[Tok]>,
        segments: Box<[Segment]>,
    },
    Dynamic(Box<[Part]>),
}

impl Policy {
    /// Parses an identity-based policy with no size quota.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse_with(text, &ParseOptions::default())
    }

    pub fn parse_with(text: &str, options: &ParseOptions) -> Result<Policy, PolicyError> {
        check_size(text, options)?;
        let document = json::parse(text, limits::MAX_DEPTH).map_err(|_| PolicyError::syntax())?;
        parse_document(&document, options.kind)
    }

    /// Labels the policy (an ARN or a name) for decisions and explanations.
    pub fn named(self, name: impl Into<Box<str>>) -> Policy {
        Policy {
            name: Some(name.into()),
            ..self
        }
    }

    /// The label given with [`Policy::named`], else the document's `Id`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().or(self.id.as_deref())
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The condition keys the policy's statements test, as written (a key may repeat). A caller
    /// that supplies a costly key (one that needs a lookup) asks here first.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .flat_map(|statement| statement.conditions.iter())
            .map(|condition| condition.key())
    }
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Whether the Action/NotAction element covers `action` ("service:Name", any case).
    pub(crate) fn covers_action(&self, action: &str) -> bool {
        let matched = self
            .actions
            .patterns
            .iter()
            .any(|pattern| pattern.matches(action, Case::AsciiInsensitive));
        matched != self.actions.negated
    }

    /// Whether the Resource/NotResource element covers `resource`; `None` when a policy
    /// variable in it does not resolve (the statement is then invalid). A statement without the
    /// element (trust policies, some resource policies) covers the resource it is attached to.
    pub(crate) fn covers_resource(&self, resource: &str, context: &Context<'_>) -> Option<bool> {
        let Some(element) = &self.resources else {
            return Some(true);
        };
        let mut matched = false;
        for pattern in element.patterns.iter() {
            let hit = match pattern {
                ResourcePattern::Any => true,
                ResourcePattern::Exact(arn) => **arn == *resource,
                ResourcePattern::Prefix(prefix) => resource.starts_with(&**prefix),
                ResourcePattern::Segmented { tokens, segments } => {
                    resource_matches(tokens, segments, resource)
                }
                ResourcePattern::Dynamic(parts) => {
                    let mut tokens = Vec::new();
                    push_tokens(parts, context, &mut tokens)?;
                    resource_matches(&tokens, &resource_segments(&tokens), resource)
                }
            };
            if hit {
                matched = true;
                break;
            }
        }
        Some(matched != element.negated)
    }
}

/// Refuses documents over the quota before parsing them: first by raw length (a 10 MB document
/// is refused without being read), then by characters excluding whitespace, stopping as soon as
/// the count passes the quota.
fn check_size(text: &str, options: &ParseOptions) -> Result<(), PolicyError> {
    let quota_name = match options.kind {
        PolicyKind::Trust => "ACLSizePerRole",
        _ => "PolicySize",
    };
    let exceeded = |limit: usize| {
        PolicyError::LimitExceeded(format!("Cannot exceed quota for {quota_name}: {limit}"))
    };
    if text.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(exceeded(
            options.max_size.unwrap_or(limits::MAX_DOCUMENT_BYTES),
        ));
    }
    if let Some(limit) = options.max_size {
        let mut counted = 0usize;
        for c in text.chars() {
            if !c.is_whitespace() {
                counted += 1;
                if counted > limit {
                    return Err(exceeded(limit));
                }
            }
        }
    }
    Ok(())
}

/// What each kind of policy requires and forbids.
struct Rules {
    principal: Requirement,
    /// Resource control policies: "Principal": "*" only.
    principal_everyone_only: bool,
    resource: Requirement,
    not_principal: bool,
    not_action: bool,
    version_required: bool,
    /// IAM's own documents restrict Sids to letters and digits.
    alphanumeric_sids: bool,
}

#[derive(PartialEq, Eq)]
enum Requirement {
    Required,
    Optional,
    Forbidden,
}

impl PolicyKind {
    fn rules(self) -> Rules {
        use Requirement::*;
        let identity_like = Rules {
            principal: Forbidden,
            principal_everyone_only: false,
            resource: Required,
            not_principal: false,
            not_action: true,
            version_required: false,
            alphanumeric_sids: true,
        };
        match self {
            PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session => identity_like,
            PolicyKind::ServiceControl => Rules {
                alphanumeric_sids: false,
                ..identity_like
            },
            PolicyKind::Resource => Rules {
                principal: Required,
                principal_everyone_only: false,
                resource: Optional,
                not_principal: true,
                not_action: true,
                version_required: false,
                alphanumeric_sids: false,
            },
            PolicyKind::Trust => Rules {
                principal: Required,
                principal_everyone_only: false,
                resource: Forbidden,
                not_principal: false,
                not_action: true,
                version_required: false,
                alphanumeric_sids: true,
            },
            // RCP syntax: Principal must be "*", no NotPrincipal or NotAction, Version required.
            PolicyKind::ResourceControl => Rules {
                principal: Required,
                principal_everyone_only: true,
                resource: Required,
                not_principal: false,
                not_action: false,
                version_required: true,
                alphanumeric_sids: false,
            },
        }
    }
}

fn parse_document(document: &Json, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let Json::Object(members) = document else {
        return Err(PolicyError::syntax());
    };
    let rules = kind.rules();
    let mut version = None;
    let mut id = None;
    let mut statement = None;
    for (name, value) in members {
        match (&**name, value) {
            ("Version", Json::String(text)) => {
                version = Some(match &**text {
                    "2012-10-17" => Version::V2012_10_17,
                    "2008-10-17" => Version::V2008_10_17,
                    _ => return Err(PolicyError::syntax()),
                });
            }
            ("Id", Json::String(text)) => id = Some(text.clone()),
            ("Statement", value) => statement = Some(value),
            _ => return Err(PolicyError::syntax()),
        }
    }
    if rules.version_required && version != Some(Version::V2012_10_17) {
        return Err(PolicyError::syntax());
    }
    let version = version.unwrap_or(Version::V2008_10_17);
    let statement_values: &[Json] = match statement {
        Some(Json::Array(items)) if !items.is_empty() => items,
        Some(single @ Json::Object(_)) => std::slice::from_ref(single),
        _ => return Err(PolicyError::syntax()),
    };
    let statements = statement_values
        .iter()
        .map(|value| parse_statement(value, &rules, version))
        .collect::<Result<Box<[_]>, _>>()?;
    check_sids(&statements, &rules)?;
    Ok(Policy {
        name: None,
        id,
        version,
        kind,
        statements,
    })
}

fn check_sids(statements: &[Statement], rules: &Rules) -> Result<(), PolicyError> {
    let mut sids: Vec<&str> = statements.iter().filter_map(Statement::sid).collect();
    if rules.alphanumeric_sids
        && sids
            .iter()
            .any(|sid| !sid.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(PolicyError::malformed(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ));
    }
    sids.sort_unstable();
    if sids.windows(2).any(|pair| pair.first() == pair.get(1)) {
        return Err(PolicyError::malformed(
            "Statement IDs (SID) in a single policy must be unique.",
        ));
    }
    Ok(())
}

fn parse_statement(
    value: &Json,
    rules: &Rules,
    version: Version,
) -> Result<Statement, PolicyError> {
    let Json::Object(members) = value else {
        return Err(PolicyError::syntax());
    };
    let variables = version == Version::V2012_10_17;
    let mut sid = None;
    let mut effect = None;
    let mut principal = None;
    let mut actions = None;
    let mut resources = None;
    let mut conditions = Vec::new();
    for (name, value) in members {
        match &**name {
            "Sid" => match value {
                Json::String(text) => sid = Some(text.clone()),
                _ => return Err(PolicyError::syntax()),
            },
            "Effect" => {
                effect = Some(match value {
                    Json::String(text) if &**text == "Allow" => Effect::Allow,
                    Json::String(text) if &**text == "Deny" => Effect::Deny,
                    _ => return Err(PolicyError::syntax()),
                });
            }
            "Principal" | "NotPrincipal" => {
                let negated = &**name == "NotPrincipal";
                if rules.principal == Requirement::Forbidden {
                    return Err(PolicyError::malformed(
                        "Policy document should not specify a principal.",
                    ));
                }
                if negated && !rules.not_principal {
                    return Err(PolicyError::malformed("Has prohibited field NotPrincipal"));
                }
                if principal.is_some() {
                    return Err(PolicyError::syntax());
                }
                principal = Some(PrincipalElement::parse(value, negated)?);
            }
            "Action" | "NotAction" => {
                let negated = &**name == "NotAction";
                if negated && !rules.not_action {
                    return Err(PolicyError::malformed("Has prohibited field NotAction"));
                }
                if actions.is_some() {
                    return Err(PolicyError::syntax());
                }
                actions = Some(Patterns {
                    negated,
                    patterns: strings(value, "Policy statement must contain actions.")?
                        .into_iter()
                        .map(parse_action)
                        .collect::<Result<_, _>>()?,
                });
            }
            "Resource" | "NotResource" => {
                if rules.resource == Requirement::Forbidden {
                    return Err(PolicyError::malformed(format!(
                        "Has prohibited field {name}"
                    )));
                }
                if resources.is_some() {
                    return Err(PolicyError::syntax());
                }
                resources = Some(Patterns {
                    negated: &**name == "NotResource",
                    patterns: strings(value, "Policy statement must contain resources.")?
                        .into_iter()
                        .map(|text| parse_resource(text, variables))
                        .collect::<Result<_, _>>()?,
                });
            }
            "Condition" => conditions = parse_condition_block(value, variables)?,
            _ => return Err(PolicyError::syntax()),
        }
    }
    let effect = effect.ok_or_else(|| PolicyError::malformed("Missing required field Effect"))?;
    let actions =
        actions.ok_or_else(|| PolicyError::malformed("Policy statement must contain actions."))?;
    if rules.resource == Requirement::Required && resources.is_none() {
        return Err(PolicyError::malformed(
            "Policy statement must contain resources.",
        ));
    }
    match &principal {
        None if rules.principal == Requirement::Required => {
            return Err(PolicyError::malformed("Missing required field Principal"));
        }
        // "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not
        // supported."
        Some(element) if element.negated && effect == Effect::Allow => {
            return Err(PolicyError::malformed(
                "NotPrincipal must be used with \"Effect\":\"Deny\"",
            ));
        }
        Some(element) if rules.principal_everyone_only && !element.is_everyone() => {
            return Err(PolicyError::malformed(
                "The Principal element of a resource control policy must be \"*\"",
            ));
        }
        _ => {}
    }
    Ok(Statement {
        sid,
        effect,
        principal,
        actions,
        resources,
        conditions: conditions.into(),
    })
}

/// A string or a non-empty array of strings; `empty_message` for an empty array.
fn strings<'j>(value: &'j Json, empty_message: &str) -> Result<Vec<&'j str>, PolicyError> {
    match value {
        Json::String(text) => Ok(vec![text]),
        Json::Array(items) if items.is_empty() => Err(PolicyError::malformed(empty_message)),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(text) => Ok(&**text),
                _ => Err(PolicyError::syntax()),
            })
            .collect(),
        _ => Err(PolicyError::syntax()),
    }
}

/// `*`, or `service:ActionPattern`; matched without regard to case, so lowercased now.
fn parse_action(text: &str) -> Result<Glob, PolicyError> {
    if text != "*" && !has_vendor_prefix(text) {
        return Err(PolicyError::malformed(VENDOR_PREFIX_MESSAGE));
    }
    let mut tokens = Vec::new();
    push_wildcard_text(&text.to_ascii_lowercase(), &mut tokens);
    Ok(Glob::new(tokens))
}

/// `*`, or an ARN pattern (`arn:partition:service:region:account:resource`, wildcards allowed).
fn parse_resource(text: &str, variables: bool) -> Result<ResourcePattern, PolicyError> {
    let is_arn = text.starts_with("arn:") && text.matches(':').count() >= 5;
    if text != "*" && !is_arn {
        return Err(PolicyError::malformed(format!(
            "Resource {text} must be in ARN format or \"*\"."
        )));
    }
    let parts = parse_parts(text, variables);
    if has_variables(&parts) {
        return Ok(ResourcePattern::Dynamic(parts.into()));
    }
    let mut tokens = Vec::new();
    // Without variables every part is text or an escape, which the empty context resolves.
    push_tokens(&parts, &Context::new(), &mut tokens).ok_or_else(PolicyError::syntax)?;
    let literal = |toks: &[Tok]| -> Option<String> {
        let bytes = toks
            .iter()
            .map(|tok| match tok {
                Tok::Lit(byte) => Some(*byte),
                Tok::One | Tok::Star => None,
            })
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    };
    let shortcut = match tokens.split_last() {
        Some((Tok::Star, [])) => Some(ResourcePattern::Any),
        Some((Tok::Star, head)) => {
            literal(head).map(|prefix| ResourcePattern::Prefix(prefix.into()))
        }
        _ => literal(&tokens).map(|exact| ResourcePattern::Exact(exact.into())),
    };
    Ok(match shortcut {
        Some(pattern) => pattern,
        None => ResourcePattern::Segmented {
            segments: resource_segments(&tokens).into(),
            tokens: tokens.into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: PolicyKind, text: &str) -> Result<Policy, PolicyError> {
        Policy::parse_with(text, &ParseOptions::new(kind))
    }

    fn message(kind: PolicyKind, text: &str) -> String {
        parse(kind, text).unwrap_err().message().to_owned()
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

    #[test]
    fn statement_may_be_an_object_or_an_array() {
        let single = Policy::parse(ALLOW_ALL).unwrap();
        assert_eq!(single.statements().len(), 1);
        let many = Policy::parse(
            r#"{"Version":"2012-10-17","Id":"p1","Statement":[
                {"Sid":"A","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
                {"Sid":"B","Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:role/x"}]}"#,
        )
        .unwrap();
        assert_eq!(many.statements().len(), 2);
        assert_eq!(many.id(), Some("p1"));
        assert_eq!(many.name(), Some("p1"));
        assert_eq!(
            many.clone().named("arn:aws:iam::aws:policy/X").name(),
            Some("arn:aws:iam::aws:policy/X")
        );
        assert_eq!(many.statements()[1].sid(), Some("B"));
        assert_eq!(many.statements()[1].effect(), Effect::Deny);
        assert_eq!(many.version(), Version::V2012_10_17);
    }

    #[test]
    fn version_defaults_to_2008() {
        let policy =
            Policy::parse(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
                .unwrap();
        assert_eq!(policy.version(), Version::V2008_10_17);
        assert_eq!(
            message(
                PolicyKind::Identity,
                r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#
            ),
            "Syntax errors in policy."
        );
    }

    #[test]
    fn structural_errors_use_aws_wording() {
        use PolicyKind::*;
        let cases: &[(PolicyKind, &str, &str)] = &[
            (Identity, "not json", "Syntax errors in policy."),
            (Identity, "[]", "Syntax errors in policy."),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":[]}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17"}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Extra":1}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Action":"*","Resource":"*"}}"#,
                "Missing required field Effect",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}"#,
                "Policy statement must contain actions.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
                "Policy statement must contain actions.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}"#,
                "Policy statement must contain resources.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
                VENDOR_PREFIX_MESSAGE,
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":":GetObject","Resource":"*"}}"#,
                VENDOR_PREFIX_MESSAGE,
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"bucket"}}"#,
                "Resource bucket must be in ARN format or \"*\".",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3"}}"#,
                "Resource arn:aws:s3 must be in ARN format or \"*\".",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
                "Policy document should not specify a principal.",
            ),
            (
                Boundary,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
                "Policy document should not specify a principal.",
            ),
            (
                ServiceControl,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}}"#,
                "Policy document should not specify a principal.",
            ),
            (
                Resource,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                "Missing required field Principal",
            ),
            (
                Resource,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}"#,
                "NotPrincipal must be used with \"Effect\":\"Deny\"",
            ),
            (
                Trust,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                "Missing required field Principal",
            ),
            (
                Trust,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
                "Has prohibited field Resource",
            ),
            (
                Trust,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
                "Has prohibited field NotPrincipal",
            ),
            (
                ResourceControl,
                r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                "Syntax errors in policy.",
            ),
            (
                ResourceControl,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}"#,
                "The Principal element of a resource control policy must be \"*\"",
            ),
            (
                ResourceControl,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"s3:*","Resource":"*"}}"#,
                "Has prohibited field NotAction",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Sid":"my sid","Effect":"Allow","Action":"*","Resource":"*"}}"#,
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
                "Statement IDs (SID) in a single policy must be unique.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}"#,
                "Syntax errors in policy.",
            ),
            (
                Identity,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}"#,
                "Syntax errors in policy.",
            ),
        ];
        for (kind, text, expected) in cases {
            assert_eq!(message(*kind, text), *expected, "{kind:?} {text}");
        }
    }

    #[test]
    fn kinds_accept_their_own_shapes() {
        use PolicyKind::*;
        for (kind, text) in [
            (
                Resource,
                r#"{"Version":"2012-10-17","Statement":{"Sid":"Allow bucket reads","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
            ),
            (
                Resource,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*"}}"#,
            ),
            (
                Trust,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            ),
            (
                ResourceControl,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}}"#,
            ),
            (
                ServiceControl,
                r#"{"Version":"2012-10-17","Statement":{"Sid":"deny outside regions","Effect":"Deny","NotAction":"iam:*","Resource":"*"}}"#,
            ),
            (Session, ALLOW_ALL),
        ] {
            assert!(parse(kind, text).is_ok(), "{kind:?} {text}");
        }
    }

    #[test]
    fn size_quotas_count_characters_without_whitespace() {
        let options = ParseOptions::new(PolicyKind::Identity).with_max_size(ALLOW_ALL.len());
        let padded = ALLOW_ALL.replace(',', " ,\n\t ");
        assert!(Policy::parse_with(&padded, &options).is_ok());
        let small = ParseOptions::new(PolicyKind::Identity).with_max_size(ALLOW_ALL.len() - 1);
        assert_eq!(
            Policy::parse_with(ALLOW_ALL, &small),
            Err(PolicyError::LimitExceeded(format!(
                "Cannot exceed quota for PolicySize: {}",
                ALLOW_ALL.len() - 1
            )))
        );
        let trust = ParseOptions::new(PolicyKind::Trust).with_max_size(10);
        assert_eq!(
            Policy::parse_with(ALLOW_ALL, &trust).unwrap_err().message(),
            "Cannot exceed quota for ACLSizePerRole: 10"
        );
    }

    #[test]
    fn covers_actions_case_insensitively_and_resources_by_segment() {
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"KMS:Decrypt","Resource":"arn:aws:kms:*:111122223333:key/*"},
                {"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secret/*"}]}"#,
        )
        .unwrap();
        let [first, second] = policy.statements() else {
            panic!()
        };
        let context = Context::new();
        assert!(first.covers_action("kms:decrypt"));
        assert!(!first.covers_action("kms:Encrypt"));
        assert_eq!(
            first.covers_resource("arn:aws:kms:us-east-1:111122223333:key/abc", &context),
            Some(true)
        );
        assert_eq!(
            first.covers_resource("arn:aws:kms:us-east-1:999999999999:key/abc", &context),
            Some(false)
        );
        assert!(second.covers_action("s3:GetObject"));
        assert!(!second.covers_action("IAM:CreateUser"));
        assert_eq!(
            second.covers_resource("arn:aws:s3:::secret/x", &context),
            Some(false)
        );
        assert_eq!(
            second.covers_resource("arn:aws:s3:::public/x", &context),
            Some(true)
        );
    }

    #[test]
    fn resource_variables_resolve_per_request() {
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}}"#,
        )
        .unwrap();
        let statement = &policy.statements()[0];
        let alice = Context::new().with("aws:username", "alice");
        assert_eq!(
            statement.covers_resource("arn:aws:s3:::bucket/home/alice/f", &alice),
            Some(true)
        );
        assert_eq!(
            statement.covers_resource("arn:aws:s3:::bucket/home/bob/f", &alice),
            Some(false)
        );
        assert_eq!(
            statement.covers_resource("arn:aws:s3:::bucket/home/alice/f", &Context::new()),
            None
        );
        // Under 2008-10-17 the variable is literal text.
        let old = Policy::parse(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${aws:username}"}}"#,
        )
        .unwrap();
        assert_eq!(
            old.statements()[0].covers_resource("arn:aws:s3:::bucket/${aws:username}", &alice),
            Some(true)
        );
        assert_eq!(
            old.statements()[0].covers_resource("arn:aws:s3:::bucket/alice", &alice),
            Some(false)
        );
    }
}
