//! Authentication: the SigV4 check on every request, and the credentials it checks against:
//! the configured root credentials (or local mode's `test`/`test`), STS session credentials
//! (`ASIA…` with their session token), then IAM users' access keys.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use palisade_core::service::CommonError;
use palisade_core::{AccountId, Principal, PrincipalKind, Region, Sensitive, ServiceError};
use palisade_iam::{AccessKeyStatus, IamState};
use palisade_sigv4 as sigv4;
use palisade_sts::StsState;

use crate::config::Config;

/// Local mode's well-known credentials.
const LOCAL_ACCESS_KEY_ID: &str = "test";
const LOCAL_SECRET_ACCESS_KEY: &str = "test";

struct Credential {
    secret: Sensitive<Vec<u8>>,
    account: AccountId,
}

/// The keys the server accepts.
pub struct Credentials {
    /// Root users' keys, from the configuration.
    long_term: HashMap<String, Credential>,
    /// IAM users' keys, read on every request so that a deactivated or deleted key stops
    /// working at once.
    iam: Arc<IamState>,
    /// STS sessions' temporary keys, read on every request for the same reason.
    sts: Arc<StsState>,
    /// Derived signing keys, by access key, date, region and service: deriving one costs four
    /// HMACs, and a client signs thousands of requests with the same one. Keyed by the access
    /// key id alone, since no key id ever names a second secret: IAM and STS give every new
    /// secret a new id, and a deleted or expired key is refused before its signing key is used.
    signing_keys: RwLock<HashMap<SigningKeyId, [u8; 32]>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SigningKeyId {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

/// Bounds the signing-key cache; past it the cache starts over (dates roll daily anyway).
const MAX_CACHED_SIGNING_KEYS: usize = 4096;

impl Credentials {
    /// The credentials a configuration names, and IAM's.
    pub fn new(config: &Config, iam: Arc<IamState>, sts: Arc<StsState>) -> Self {
        let mut long_term = HashMap::new();
        match &config.root_credentials {
            Some(root) => {
                long_term.insert(
                    root.access_key_id.clone(),
                    Credential {
                        secret: Sensitive::new(root.secret_access_key.expose().as_bytes().to_vec()),
                        account: config.account.clone(),
                    },
                );
            }
            None => {
                long_term.insert(
                    LOCAL_ACCESS_KEY_ID.to_owned(),
                    Credential {
                        secret: Sensitive::new(LOCAL_SECRET_ACCESS_KEY.as_bytes().to_vec()),
                        account: config.account.clone(),
                    },
                );
            }
        }
        Self {
            long_term,
            iam,
            sts,
            signing_keys: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies the request's signature and says who signed it, in which region.
    pub async fn authenticate(
        &self,
        request: &sigv4::Request<'_>,
        authorization: &sigv4::Authorization,
        signing_service: &str,
        now_epoch_secs: i64,
    ) -> Result<(Principal, Region), ServiceError> {
        let region = Region::parse(&authorization.scope.region).ok_or_else(|| {
            ServiceError::common(
                CommonError::InvalidSignature,
                "Credential should be scoped to a valid region.",
            )
        })?;
        authorization
            .check_scope(region.as_str(), signing_service)
            .map_err(signature_error)?;
        if let Some(credential) = self.long_term.get(&authorization.access_key_id) {
            let key = self.cached_signing_key(authorization, credential.secret.expose());
            verify(request, authorization, &key, now_epoch_secs)?;
            reject_session_token(authorization)?;
            let principal = Principal::root(
                credential.account.clone(),
                authorization.access_key_id.clone(),
            );
            return Ok((principal, region));
        }
        let principal = if is_session_key(&authorization.access_key_id) {
            self.authenticate_session(request, authorization, now_epoch_secs)
                .await?
        } else {
            let principal = self
                .authenticate_iam_user(request, authorization, now_epoch_secs)
                .await?;
            reject_session_token(authorization)?;
            principal
        };
        self.iam
            .note_key_used(
                &authorization.access_key_id,
                signing_service,
                region.as_str(),
            )
            .await;
        Ok((principal, region))
    }

    async fn authenticate_session(
        &self,
        request: &sigv4::Request<'_>,
        authorization: &sigv4::Authorization,
        now_epoch_secs: i64,
    ) -> Result<Principal, ServiceError> {
        let record = self
            .sts
            .session(&authorization.access_key_id)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?
            .ok_or_else(invalid_token)?;
        let token_matches = authorization
            .security_token
            .as_deref()
            .is_some_and(|token| palisade_sts::token_matches(&record, token));
        if !token_matches {
            return Err(invalid_token());
        }
        let key =
            self.cached_signing_key(authorization, record.secret_access_key.expose().as_bytes());
        verify(request, authorization, &key, now_epoch_secs)?;
        if record.expires_at_millis.div_euclid(1000) <= now_epoch_secs {
            return Err(ServiceError::common(
                CommonError::ExpiredToken,
                "The security token included in the request is expired",
            ));
        }
        Ok(record.principal())
    }

    async fn authenticate_iam_user(
        &self,
        request: &sigv4::Request<'_>,
        authorization: &sigv4::Authorization,
        now_epoch_secs: i64,
    ) -> Result<Principal, ServiceError> {
        let record = self
            .iam
            .access_key(&authorization.access_key_id)
            .await
            .map_err(|error| ServiceError::internal(error.to_string()))?
            .filter(|record| record.status == AccessKeyStatus::Active)
            .ok_or_else(invalid_token)?;
        let key =
            self.cached_signing_key(authorization, record.secret_access_key.expose().as_bytes());
        verify(request, authorization, &key, now_epoch_secs)?;
        Ok(Principal {
            account: record.account,
            arn: record.user_arn,
            user_id: record.user_id,
            kind: PrincipalKind::User {
                name: record.user_name,
            },
            access_key_id: record.access_key_id,
            tags: record.user_tags,
        })
    }

    /// The signing key of `authorization`'s scope for the access key whose secret is `secret`.
    fn cached_signing_key(&self, authorization: &sigv4::Authorization, secret: &[u8]) -> [u8; 32] {
        let id = SigningKeyId {
            access_key_id: authorization.access_key_id.clone(),
            date: authorization.scope.date.clone(),
            region: authorization.scope.region.clone(),
            service: authorization.scope.service.clone(),
        };
        if let Ok(cache) = self.signing_keys.read()
            && let Some(key) = cache.get(&id)
        {
            return *key;
        }
        let key = sigv4::signing_key(secret, &id.date, &id.region, &id.service);
        if let Ok(mut cache) = self.signing_keys.write() {
            if cache.len() >= MAX_CACHED_SIGNING_KEYS {
                cache.clear();
            }
            cache.insert(id, key);
        }
        key
    }
}

fn verify(
    request: &sigv4::Request<'_>,
    authorization: &sigv4::Authorization,
    key: &[u8; 32],
    now_epoch_secs: i64,
) -> Result<(), ServiceError> {
    sigv4::verify_with_key(
        request,
        authorization,
        key,
        now_epoch_secs,
        &sigv4::Options::default(),
    )
    .map_err(signature_error)
}

/// Whether `access_key_id` is a temporary key that STS issued: they start with `ASIA`, as AWS's
/// do.
pub fn is_session_key(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

/// Long-term keys carry no session token; a token means a session this server did not issue.
fn reject_session_token(authorization: &sigv4::Authorization) -> Result<(), ServiceError> {
    match authorization.security_token {
        Some(_) => Err(invalid_token()),
        None => Ok(()),
    }
}

/// AWS's answer for an access key it does not know, or one that is inactive.
fn invalid_token() -> ServiceError {
    ServiceError::common(
        CommonError::UnrecognizedClient,
        "The security token included in the request is invalid.",
    )
}

/// Maps the verifier's errors onto the errors every protocol renders in its own words.
pub fn signature_error(error: sigv4::Error) -> ServiceError {
    let common = match &error {
        sigv4::Error::MissingAuthenticationToken => CommonError::MissingAuthenticationToken,
        sigv4::Error::IncompleteSignature(_) | sigv4::Error::MissingSignedHeader(_) => {
            CommonError::IncompleteSignature
        }
        sigv4::Error::SignatureExpired(_) | sigv4::Error::RequestTimeTooSkewed(_) => {
            CommonError::RequestExpired
        }
        _ => CommonError::InvalidSignature,
    };
    ServiceError::common(common, error.message())
}
