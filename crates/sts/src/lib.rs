//! AWS Security Token Service: `GetCallerIdentity`, `AssumeRole`, `GetSessionToken`,
//! `GetAccessKeyInfo` and `DecodeAuthorizationMessage`, behind the generated
//! [`palisade_model_sts::Sts`] trait.
//!
//! Sessions are kept in the store (keyspace [`SESSIONS`]); besides the AWS API, [`StsState`] answers
//! the server's authenticator ([`StsState::session`], [`token_matches`]): which session an
//! `ASIA` access key belongs to, whom it acts as ([`SessionRecord::principal`]), and what bounds
//! it (session policies, MFA, source identity) for the authorizer. The server seals the
//! explanation of a denial with [`StsState::encode_authorization_message`].

mod assume_role;
mod authorization_messages;
mod caller;
mod session_token;
mod sessions;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::SystemTime;

use palisade_core::clock::Clock;
use palisade_core::{AccountId, Principal, Region, RequestContext, ServiceError};
use palisade_iam::IamState;
use palisade_model_sts::Sts;
use palisade_model_sts::types::{
    AssumeRoleRequest, AssumeRoleResponse, DecodeAuthorizationMessageRequest,
    DecodeAuthorizationMessageResponse, GetAccessKeyInfoRequest, GetAccessKeyInfoResponse,
    GetCallerIdentityRequest, GetCallerIdentityResponse, GetSessionTokenRequest,
    GetSessionTokenResponse,
};
use palisade_store::{Store, StoreError};

pub use authorization_messages::KEYS;
pub use sessions::{SESSIONS, SessionIdentity, SessionRecord, token_matches};

/// The STS service: register it as `palisade_model_sts::StsService(Arc::new(StsState::new(..)))`.
pub struct StsState {
    store: Store,
    clock: Arc<dyn Clock>,
    iam: Arc<IamState>,
    message_key: authorization_messages::MessageKey,
}

impl StsState {
    /// The service over `store`, telling time by `clock`, reading roles, policies and MFA
    /// devices from `iam`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, iam: Arc<IamState>) -> Self {
        Self {
            store,
            clock,
            iam,
            message_key: authorization_messages::MessageKey::default(),
        }
    }

    /// The session whose access key is `access_key_id`, with its secret and token, marked
    /// `expired` when it is past its expiry (the server then answers `ExpiredToken`). One
    /// store read.
    pub async fn session(&self, access_key_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        if access_key_id.is_empty() || access_key_id.len() > palisade_store::MAX_KEY_LEN {
            return Ok(None);
        }
        let Some(entry) = self.store.get(sessions::SESSIONS, access_key_id).await? else {
            return Ok(None);
        };
        sessions::decode(access_key_id, &entry.value, self.clock.now()).map(Some)
    }

    /// Stores a new session.
    async fn store_session(&self, record: &SessionRecord) -> Result<(), ServiceError> {
        self.store
            .commit(sessions::insert(record)?)
            .await
            .map_err(caller::store_error)
    }
}

impl std::fmt::Debug for StsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsState").finish_non_exhaustive()
    }
}

impl Sts for StsState {
    async fn assume_role(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, ServiceError> {
        self.assume_role_op(ctx, input).await
    }

    async fn get_session_token(
        &self,
        ctx: &RequestContext,
        input: GetSessionTokenRequest,
    ) -> Result<GetSessionTokenResponse, ServiceError> {
        self.get_session_token_op(ctx, input).await
    }

    async fn decode_authorization_message(
        &self,
        ctx: &RequestContext,
        input: DecodeAuthorizationMessageRequest,
    ) -> Result<DecodeAuthorizationMessageResponse, ServiceError> {
        self.decode_authorization_message_op(ctx, input).await
    }

    /// The account of a long-term (`AKIA`) or session (`ASIA`) key. AWS reads the account out
    /// of the key id itself and so answers for any well-formed id; Palisade's ids carry no
    /// account, so an id it never issued is answered with the caller's own account, which is
    /// where the server's configured root keys belong.
    async fn get_access_key_info(
        &self,
        ctx: &RequestContext,
        input: GetAccessKeyInfoRequest,
    ) -> Result<GetAccessKeyInfoResponse, ServiceError> {
        let id = input.access_key_id.as_str();
        let account = if id.starts_with("ASIA") {
            self.session(id)
                .await
                .map_err(caller::store_error)?
                .map(|session| session.account)
        } else {
            self.iam
                .access_key(id)
                .await
                .map_err(caller::store_error)?
                .map(|key| key.account)
        };
        Ok(GetAccessKeyInfoResponse {
            account: Some(account.unwrap_or_else(|| ctx.account().clone()).to_string()),
        })
    }

    async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, ServiceError> {
        let principal = &ctx.principal;
        Ok(GetCallerIdentityResponse {
            user_id: Some(principal.user_id.clone()),
            account: Some(principal.account.as_str().to_owned()),
            arn: Some(principal.arn.clone()),
        })
    }
}

/// A request context acting as `account`'s root user, for reading IAM through its API on
/// STS's own behalf (managed session policies of a role's account).
fn account_root_context(account: AccountId, time: SystemTime) -> RequestContext {
    RequestContext {
        request_id: String::new(),
        principal: Principal::root(account, ""),
        region: Region::us_east_1(),
        source_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        user_agent: String::new(),
        time,
        secure_transport: true,
    }
}
