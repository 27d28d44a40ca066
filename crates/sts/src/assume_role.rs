//! `AssumeRole`: the role's trust policy decides, with the caller's identity policies, whether
//! the caller may act as the role; a granted request gets a role session, bounded by the
//! session policies and tags it passed and by what it inherits from the caller's own session.

use palisade_core::service::CommonError;
use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_iam::RoleInfo;
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{GetPolicyRequest, GetPolicyVersionRequest};
use palisade_model_sts::errors;
use palisade_model_sts::types::{AssumeRoleRequest, AssumeRoleResponse, AssumedRoleUser, Tag};
use palisade_policy::{Context, ParseOptions, Policy, PolicyKind, PolicySet, Request, Special};

use crate::StsState;
use crate::caller::{Caller, parse_stored, store_error};
use crate::sessions::{
    NewKeys, SessionIdentity, SessionRecord, assumed_role_id, expiry_millis, mfa_keys,
};
use palisade_policy::global_context;

/// The default session length, and the cap for role chaining.
const ONE_HOUR: i32 = 3600;
/// "You can pass up to 50 session tags."
const MAX_SESSION_TAGS: usize = 50;
/// The budget the packed session policies and tags are measured against, in characters: the
/// inline session policy's own quota.
const PACKED_BUDGET: usize = 2048;

impl StsState {
    /// `AssumeRole`.
    pub(crate) async fn assume_role_op(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, ServiceError> {
        let caller = self.caller(ctx, "sts:AssumeRole").await?;
        let role = self.target_role(ctx, &input.role_arn).await?;
        let inherited = Inherited::from(caller.session.as_ref());

        let tags = SessionTags::new(&input, &inherited)?;
        let source_identity = source_identity(&input, &inherited)?;
        let duration = duration(&input, &role, inherited.chained)?;
        let mfa_at = self.mfa(ctx, &input, &inherited).await?;
        let packed = packed_percent(&input, &tags);
        if packed > 100 {
            return Err(errors::packed_policy_too_large_exception(format!(
                "Packed policy consumes {packed}% of allotted space, please use smaller policy."
            )));
        }

        let mut context = global_context(ctx);
        let role_arn_of_caller = caller.role_arn(ctx);
        if let Some(role_arn) = &role_arn_of_caller {
            // For a role session, `aws:PrincipalArn` is the role's ARN, not the session's.
            context.insert("aws:PrincipalArn", role_arn.as_str());
        }
        request_keys(&mut context, ctx, &input, &tags, mfa_at);
        let mut actions = vec!["sts:AssumeRole"];
        if !tags.all.is_empty() {
            actions.push("sts:TagSession");
        }
        if source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        let trust = parse_stored(PolicyKind::Trust, &role.trust_policy)
            .ok_or_else(|| not_authorized(ctx, "sts:AssumeRole", &role.arn))?;
        for action in actions {
            authorize(
                ctx,
                &caller,
                role_arn_of_caller.as_deref(),
                (&role, &trust),
                action,
                &context,
            )?;
        }
        // Resolved only once the caller is let in, so that a denied caller learns nothing of
        // the role account's managed policies.
        let session_policies = self.session_policies(&input, &role).await?;

        let keys = NewKeys::generate()?;
        let now = self.clock.now();
        let session_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            role_account(&role),
            role.name,
            input.role_session_name
        );
        let record = SessionRecord {
            access_key_id: keys.access_key_id,
            secret_access_key: keys.secret_access_key,
            session_token: keys.session_token,
            account: role_account_id(&role)?,
            issued_at_millis: palisade_core::clock::millis_since_epoch(now),
            expires_at_millis: expiry_millis(now, duration),
            expired: false,
            identity: SessionIdentity::AssumedRole {
                role_arn: role.arn.clone(),
                role_id: role.id.clone(),
                role_name: role.name.clone(),
                session_name: input.role_session_name.clone(),
                session_arn: session_arn.clone(),
                role_tags: role.tags.clone(),
            },
            tags: tags.all,
            transitive_tag_keys: tags.transitive,
            source_identity: source_identity.clone(),
            session_policies,
            mfa_authenticated_at_millis: mfa_at,
            chained: inherited.chained,
        };
        self.store_session(&record).await?;
        self.iam
            .note_role_used(&record.account, &role.name, ctx.region.as_str())
            .await;

        let passed_policies_or_tags =
            input.policy.is_some() || input.policy_arns.is_some() || input.tags.is_some();
        Ok(AssumeRoleResponse {
            credentials: Some(record.credentials()),
            assumed_role_user: Some(AssumedRoleUser {
                assumed_role_id: assumed_role_id(&role.id, &input.role_session_name),
                arn: session_arn,
            }),
            packed_policy_size: passed_policies_or_tags
                .then(|| i32::try_from(packed).unwrap_or(i32::MAX)),
            source_identity,
        })
    }

    /// The role `role_arn` names. A role that does not exist is refused as AWS refuses it: as
    /// a denial, so that callers cannot probe other accounts for role names.
    async fn target_role(
        &self,
        ctx: &RequestContext,
        role_arn: &str,
    ) -> Result<RoleInfo, ServiceError> {
        let (account, name) = parse_role_arn(role_arn)
            .ok_or_else(|| ServiceError::validation(format!("{role_arn} is invalid")))?;
        let role = self.iam.role(&account, name).await.map_err(store_error)?;
        // The ARN's path must be the role's: a role recreated elsewhere is another role.
        role.filter(|role| role.arn == role_arn)
            .ok_or_else(|| not_authorized(ctx, "sts:AssumeRole", role_arn))
    }

    /// Now, when `SerialNumber` and `TokenCode` prove MFA; `None` when neither is given. A
    /// wrong code, or one without the other, is refused. A code is good once (IAM remembers it).
    pub(crate) async fn verify_mfa(
        &self,
        ctx: &RequestContext,
        serial_number: Option<&str>,
        token_code: Option<&str>,
    ) -> Result<Option<i64>, ServiceError> {
        match (serial_number, token_code) {
            (None, None) => Ok(None),
            (Some(serial), Some(code)) => {
                let good = self
                    .iam
                    .verify_mfa_code(ctx.account(), serial, code)
                    .await
                    .map_err(store_error)?;
                if good {
                    Ok(Some(self.clock.now_millis()))
                } else {
                    Err(mfa_failed())
                }
            }
            _ => Err(mfa_failed()),
        }
    }

    /// When MFA was proven for the new session: now, by the request's code; else when it was
    /// proven for the caller's session, if it was.
    async fn mfa(
        &self,
        ctx: &RequestContext,
        input: &AssumeRoleRequest,
        inherited: &Inherited,
    ) -> Result<Option<i64>, ServiceError> {
        let proven = self
            .verify_mfa(
                ctx,
                input.serial_number.as_deref(),
                input.token_code.as_deref(),
            )
            .await?;
        Ok(proven.or(inherited.mfa_at))
    }

    /// The session policy documents: the inline `Policy`, then each `PolicyArns` entry's
    /// default version, which must be a managed policy in the role's account or AWS's.
    async fn session_policies(
        &self,
        input: &AssumeRoleRequest,
        role: &RoleInfo,
    ) -> Result<Vec<String>, ServiceError> {
        let mut documents = Vec::new();
        if let Some(policy) = &input.policy {
            let options = ParseOptions::new(PolicyKind::Session).with_max_size(PACKED_BUDGET);
            Policy::parse_with(policy, &options)
                .map_err(|error| errors::malformed_policy_document_exception(error.message()))?;
            documents.push(policy.clone());
        }
        let account = role_account_id(role)?;
        for arn in input.policy_arns.iter().flatten() {
            let Some(arn) = &arn.arn else { continue };
            documents.push(self.managed_policy_document(&account, arn).await?);
        }
        Ok(documents)
    }

    /// The default version of the managed policy `arn`, read through IAM's API as the role's
    /// account sees it.
    async fn managed_policy_document(
        &self,
        account: &AccountId,
        arn: &str,
    ) -> Result<String, ServiceError> {
        let not_found = || {
            ServiceError::validation(format!("Policy {arn} does not exist or is not attachable."))
        };
        let visible = arn.starts_with("arn:aws:iam::aws:policy/")
            || arn.starts_with(&format!("arn:aws:iam::{account}:policy/"));
        if !visible {
            return Err(not_found());
        }
        let ctx = crate::account_root_context(account.clone(), self.clock.now());
        let policy = self
            .iam
            .get_policy(
                &ctx,
                GetPolicyRequest {
                    policy_arn: arn.to_owned(),
                },
            )
            .await
            .map_err(|_| not_found())?
            .policy
            .ok_or_else(not_found)?;
        let version_id = policy.default_version_id.ok_or_else(not_found)?;
        let document = self
            .iam
            .get_policy_version(
                &ctx,
                GetPolicyVersionRequest {
                    policy_arn: arn.to_owned(),
                    version_id,
                },
            )
            .await
            .map_err(|_| not_found())?
            .policy_version
            .and_then(|version| version.document)
            .ok_or_else(not_found)?;
        // IAM answers documents URL-encoded, as AWS does.
        let document = percent_encoding::percent_decode_str(&document)
            .decode_utf8()
            .map_err(|_| ServiceError::internal("A stored policy is not UTF-8."))?
            .into_owned();
        if parse_stored(PolicyKind::Session, &document).is_none() {
            return Err(errors::malformed_policy_document_exception(format!(
                "The policy {arn} cannot be used as a session policy."
            )));
        }
        Ok(document)
    }
}

/// What a new session takes over from the caller's session (role chaining).
struct Inherited {
    /// Whether the caller is a role session.
    chained: bool,
    transitive_tags: Vec<(String, String)>,
    source_identity: Option<String>,
    mfa_at: Option<i64>,
}

impl Inherited {
    fn from(session: Option<&SessionRecord>) -> Self {
        let Some(session) = session else {
            return Self {
                chained: false,
                transitive_tags: Vec::new(),
                source_identity: None,
                mfa_at: None,
            };
        };
        let transitive_tags = session
            .tags
            .iter()
            .filter(|(key, _)| {
                session
                    .transitive_tag_keys
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
            })
            .cloned()
            .collect();
        Self {
            chained: session.role_arn().is_some(),
            transitive_tags,
            source_identity: session.source_identity.clone(),
            mfa_at: session.mfa_authenticated_at_millis,
        }
    }
}

/// The new session's tags.
struct SessionTags {
    /// The tags passed in the request, as (key, value).
    requested: Vec<(String, String)>,
    /// Those and the inherited transitive tags.
    all: Vec<(String, String)>,
    /// The keys that pass on to the next session: the inherited ones and those requested.
    transitive: Vec<String>,
}

impl SessionTags {
    fn new(input: &AssumeRoleRequest, inherited: &Inherited) -> Result<Self, ServiceError> {
        let requested: Vec<(String, String)> = input
            .tags
            .iter()
            .flatten()
            .map(|Tag { key, value }| (key.clone(), value.clone()))
            .collect();
        for (index, (key, _)) in requested.iter().enumerate() {
            let repeated = requested
                .iter()
                .skip(index + 1)
                .any(|(other, _)| other.eq_ignore_ascii_case(key));
            if repeated {
                return Err(ServiceError::validation(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
            let inherited_key = inherited
                .transitive_tags
                .iter()
                .any(|(other, _)| other.eq_ignore_ascii_case(key));
            if inherited_key {
                return Err(ServiceError::validation(format!(
                    "The tag key {key} conflicts with a transitive tag key of the calling session."
                )));
            }
        }
        let mut transitive: Vec<String> = inherited
            .transitive_tags
            .iter()
            .map(|(key, _)| key.clone())
            .collect();
        for key in input.transitive_tag_keys.iter().flatten() {
            if !requested.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(ServiceError::validation(
                    "The specified transitive tag key must be included in the requested tags.",
                ));
            }
            if !transitive.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                transitive.push(key.clone());
            }
        }
        let mut all = inherited.transitive_tags.clone();
        all.extend(requested.iter().cloned());
        if all.len() > MAX_SESSION_TAGS {
            return Err(ServiceError::validation(format!(
                "The number of session tags, including those inherited, exceeds the limit of \
                 {MAX_SESSION_TAGS}."
            )));
        }
        Ok(Self {
            requested,
            all,
            transitive,
        })
    }
}

/// The new session's source identity: the caller session's, which cannot change, or the one
/// requested.
fn source_identity(
    input: &AssumeRoleRequest,
    inherited: &Inherited,
) -> Result<Option<String>, ServiceError> {
    match (&inherited.source_identity, &input.source_identity) {
        (Some(set), Some(requested)) if set != requested => Err(ServiceError::common(
            CommonError::AccessDenied,
            "The source identity of a role session cannot be changed once it is set.",
        )),
        (Some(set), _) => Ok(Some(set.clone())),
        (None, requested) => {
            if let Some(requested) = requested
                && requested.to_ascii_lowercase().starts_with("aws:")
            {
                return Err(ServiceError::validation(
                    "SourceIdentity cannot start with the prefix 'aws:'.",
                ));
            }
            Ok(requested.clone())
        }
    }
}

/// The session length in seconds, within the role's maximum and the chaining cap.
fn duration(
    input: &AssumeRoleRequest,
    role: &RoleInfo,
    chained: bool,
) -> Result<i32, ServiceError> {
    let duration = input.duration_seconds.unwrap_or(ONE_HOUR);
    if chained && duration > ONE_HOUR {
        return Err(ServiceError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by \
             role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(ServiceError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(duration)
}

/// The request's own condition keys, on top of the global ones.
fn request_keys<'a>(
    context: &mut Context<'a>,
    ctx: &RequestContext,
    input: &'a AssumeRoleRequest,
    tags: &'a SessionTags,
    mfa_at: Option<i64>,
) {
    context.insert("sts:RoleSessionName", input.role_session_name.as_str());
    if let Some(external_id) = &input.external_id {
        context.insert("sts:ExternalId", external_id.as_str());
    }
    if let Some(source_identity) = &input.source_identity {
        context.insert("sts:SourceIdentity", source_identity.as_str());
    }
    if !tags.requested.is_empty() {
        for (key, value) in &tags.requested {
            context.insert(format!("aws:RequestTag/{key}"), value.as_str());
        }
        context.insert_many(
            "aws:TagKeys",
            tags.requested.iter().map(|(key, _)| key.as_str()),
        );
    }
    if let Some(keys) = &input.transitive_tag_keys {
        context.insert_many("sts:TransitiveTagKeys", keys.iter().map(String::as_str));
    }
    // Long-term credentials without a code carry no MFA key at all; temporary ones say
    // `false`.
    if mfa_at.is_some() || ctx.principal.access_key_id.starts_with("ASIA") {
        for (key, value) in mfa_keys(mfa_at, ctx.time) {
            context.insert(key, value);
        }
    }
}

/// Whether the role's trust policy, with the caller's policies, allows `action` on the role.
fn authorize(
    ctx: &RequestContext,
    caller: &Caller,
    caller_role_arn: Option<&str>,
    (role, trust): (&RoleInfo, &Policy),
    action: &str,
    context: &Context<'_>,
) -> Result<(), ServiceError> {
    let identity: Vec<&Policy> = caller.identity.iter().collect();
    let session: Vec<&Policy> = caller.session_policies.iter().collect();
    let request = Request {
        principal: Caller::engine_principal(ctx, caller_role_arn),
        action,
        resource: &role.arn,
        context,
    };
    let set = PolicySet {
        identity: &identity,
        resource: Some(trust),
        boundary: caller.boundary.as_ref(),
        session: &session,
        resource_account: role_account(role),
        principal_account: ctx.account().as_str(),
        special: Some(Special::RoleTrust),
        ..PolicySet::default()
    };
    let decision = palisade_policy::evaluate(&request, &set);
    if decision.is_allowed() {
        return Ok(());
    }
    Err(ServiceError::common(
        CommonError::AccessDenied,
        decision
            .access_denied_message(&ctx.principal.arn, &role.arn)
            .unwrap_or_else(|| not_authorized(ctx, action, &role.arn).message),
    ))
}

/// AWS's denial of `action` on `resource`, without a reason.
fn not_authorized(ctx: &RequestContext, action: &str, resource: &str) -> ServiceError {
    ServiceError::common(
        CommonError::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            ctx.principal.arn
        ),
    )
}

fn mfa_failed() -> ServiceError {
    ServiceError::common(
        CommonError::AccessDenied,
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    )
}

/// How much of the packed budget the session policies and tags use, in percent (rounded up).
/// AWS packs them with a compression of its own, which is not public; this counts the inline
/// policy's characters without whitespace, the managed policies' ARNs and the tags' keys and
/// values against the inline policy's quota, which keeps the figure's meaning: at most 100.
fn packed_percent(input: &AssumeRoleRequest, tags: &SessionTags) -> usize {
    let policy = input
        .policy
        .as_deref()
        .map_or(0, palisade_iam::policy_document::size);
    let arns: usize = input
        .policy_arns
        .iter()
        .flatten()
        .filter_map(|descriptor| descriptor.arn.as_ref())
        .map(String::len)
        .sum();
    let tags: usize = tags
        .all
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    (policy + arns + tags)
        .saturating_mul(100)
        .div_ceil(PACKED_BUDGET)
}

/// The account and name of `arn:<partition>:iam::<account>:role/<path><name>`.
fn parse_role_arn(arn: &str) -> Option<(AccountId, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    if name.is_empty() {
        return None;
    }
    Some((AccountId::parse(account)?, name))
}

/// The account in a role's ARN.
fn role_account(role: &RoleInfo) -> &str {
    role.arn.split(':').nth(4).unwrap_or_default()
}

fn role_account_id(role: &RoleInfo) -> Result<AccountId, ServiceError> {
    AccountId::parse(role_account(role))
        .ok_or_else(|| ServiceError::internal("A stored role has a malformed ARN."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_name_an_account_and_a_role() {
        let (account, name) = parse_role_arn("arn:aws:iam::123456789012:role/a/b/admin").unwrap();
        assert_eq!(account.as_str(), "123456789012");
        assert_eq!(name, "admin");
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/admin").is_none());
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/").is_none());
        assert!(parse_role_arn("arn:aws:s3::123456789012:role/admin").is_none());
        assert!(parse_role_arn("arn:aws:iam::12345:role/admin").is_none());
    }
}
