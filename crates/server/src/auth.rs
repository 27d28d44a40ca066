//! Authentication: the SigV4 check on every request, and the credentials it checks against.

use std::collections::HashMap;
use std::sync::RwLock;

use palisade_core::service::CommonError;
use palisade_core::{AccountId, Principal, Region, Sensitive, ServiceError};
use palisade_sigv4 as sigv4;

use crate::config::Config;

/// Local mode's well-known credentials.
const LOCAL_ACCESS_KEY_ID: &str = "test";
const LOCAL_SECRET_ACCESS_KEY: &str = "test";

struct Credential {
    secret: Sensitive<Vec<u8>>,
    account: AccountId,
}

/// The keys the server accepts. IAM users' and sessions' keys join these in the IAM issue.
pub struct Credentials {
    long_term: HashMap<String, Credential>,
    /// Derived signing keys, by access key, date, region and service: deriving one costs four
    /// HMACs, and a client signs thousands of requests with the same one.
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
    /// The credentials a configuration names.
    pub fn from_config(config: &Config) -> Self {
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
            signing_keys: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies the request's signature and says who signed it, in which region.
    pub fn authenticate(
        &self,
        request: &sigv4::Request<'_>,
        authorization: &sigv4::Authorization,
        signing_service: &str,
        now_epoch_secs: i64,
    ) -> Result<(Principal, Region), ServiceError> {
        let credential = self
            .long_term
            .get(&authorization.access_key_id)
            .ok_or_else(|| {
                ServiceError::common(
                    CommonError::UnrecognizedClient,
                    "The security token included in the request is invalid.",
                )
            })?;
        let region = Region::parse(&authorization.scope.region).ok_or_else(|| {
            ServiceError::common(
                CommonError::InvalidSignature,
                "Credential should be scoped to a valid region.",
            )
        })?;
        authorization
            .check_scope(region.as_str(), signing_service)
            .map_err(signature_error)?;
        let key = self.signing_key(authorization, credential);
        sigv4::verify_with_key(
            request,
            authorization,
            &key,
            now_epoch_secs,
            &sigv4::Options::default(),
        )
        .map_err(signature_error)?;
        if authorization.security_token.is_some() {
            // Long-term keys carry no session token; a token means a session this server did
            // not issue.
            return Err(ServiceError::common(
                CommonError::UnrecognizedClient,
                "The security token included in the request is invalid.",
            ));
        }
        let principal = Principal::root(
            credential.account.clone(),
            authorization.access_key_id.clone(),
        );
        Ok((principal, region))
    }

    fn signing_key(
        &self,
        authorization: &sigv4::Authorization,
        credential: &Credential,
    ) -> [u8; 32] {
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
        let key = sigv4::signing_key(
            credential.secret.expose(),
            &id.date,
            &id.region,
            &id.service,
        );
        if let Ok(mut cache) = self.signing_keys.write() {
            if cache.len() >= MAX_CACHED_SIGNING_KEYS {
                cache.clear();
            }
            cache.insert(id, key);
        }
        key
    }
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
