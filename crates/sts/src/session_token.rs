//! `GetSessionToken`: temporary credentials for an IAM user or the root user, acting as
//! themselves, typically to prove MFA for the calls that follow.

use palisade_core::service::CommonError;
use palisade_core::{PrincipalKind, RequestContext, ServiceError};
use palisade_model_sts::types::{GetSessionTokenRequest, GetSessionTokenResponse};

use crate::StsState;
use crate::caller::store_error;
use crate::sessions::{NewKeys, SessionIdentity, SessionRecord, expiry_millis};

/// An IAM user's default session: 12 hours.
const USER_DEFAULT_SECONDS: i32 = 43_200;
/// "Credentials based on account credentials can range from 900 seconds (15 minutes) up to
/// 3,600 seconds (1 hour), with a default of 1 hour."
const ROOT_MAX_SECONDS: i32 = 3600;

impl StsState {
    /// `GetSessionToken`.
    pub(crate) async fn get_session_token_op(
        &self,
        ctx: &RequestContext,
        input: GetSessionTokenRequest,
    ) -> Result<GetSessionTokenResponse, ServiceError> {
        let principal = &ctx.principal;
        let signed_by_session = principal.access_key_id.starts_with("ASIA")
            && self
                .session(&principal.access_key_id)
                .await
                .map_err(store_error)?
                .is_some();
        let (identity, duration) = match &principal.kind {
            _ if signed_by_session => return Err(session_credentials()),
            PrincipalKind::AssumedRole { .. } => return Err(session_credentials()),
            PrincipalKind::Anonymous => {
                return Err(ServiceError::common(
                    CommonError::AccessDenied,
                    "Anonymous callers are not authorized to perform: sts:GetSessionToken",
                ));
            }
            // AWS shortens the root user's longer requests to its maximum rather than
            // refusing them.
            PrincipalKind::Root => (
                SessionIdentity::Root,
                input
                    .duration_seconds
                    .unwrap_or(ROOT_MAX_SECONDS)
                    .min(ROOT_MAX_SECONDS),
            ),
            PrincipalKind::User { name } => (
                SessionIdentity::User {
                    name: name.clone(),
                    user_id: principal.user_id.clone(),
                    arn: principal.arn.clone(),
                    tags: principal.tags.clone(),
                },
                input.duration_seconds.unwrap_or(USER_DEFAULT_SECONDS),
            ),
        };
        let mfa_at = self
            .verify_mfa(
                ctx,
                input.serial_number.as_deref(),
                input.token_code.as_deref(),
            )
            .await?;

        let keys = NewKeys::generate()?;
        let now = self.clock.now();
        let record = SessionRecord {
            access_key_id: keys.access_key_id,
            secret_access_key: keys.secret_access_key,
            session_token: keys.session_token,
            account: principal.account.clone(),
            issued_at_millis: palisade_core::clock::millis_since_epoch(now),
            expires_at_millis: expiry_millis(now, duration),
            expired: false,
            identity,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            session_policies: Vec::new(),
            mfa_authenticated_at_millis: mfa_at,
            chained: false,
        };
        self.store_session(&record).await?;
        Ok(GetSessionTokenResponse {
            credentials: Some(record.credentials()),
        })
    }
}

fn session_credentials() -> ServiceError {
    ServiceError::common(
        CommonError::AccessDenied,
        "Cannot call GetSessionToken with session credentials",
    )
}
