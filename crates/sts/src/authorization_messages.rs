//! Encoded authorization messages: the server puts one in an `AccessDenied` answer to say why
//! a request was denied, and `DecodeAuthorizationMessage` turns it back into the JSON.
//!
//! A message is sealed with AES-256-GCM under a key of its own, generated on first use and
//! kept sealed in the store (keyspace [`KEYS`]), so messages survive a restart and cannot be
//! read or forged by the caller who receives them. The account the message was made for is
//! bound as associated data: only that account can decode it. The format is base64url of
//! nonce ‖ ciphertext ‖ tag.

use std::sync::OnceLock;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_core::{AccountId, RequestContext, ServiceError};
use palisade_model_sts::errors;
use palisade_model_sts::types::{
    DecodeAuthorizationMessageRequest, DecodeAuthorizationMessageResponse,
};
use palisade_store::{SecretBytes, StoreError, Transaction, Value};

use crate::StsState;
use crate::caller::store_error;

/// The keyspace of STS's own keys.
pub const KEYS: &str = "sts/keys";
const MESSAGE_KEY: &str = "authorization-message";
const KEY_LEN: usize = 32;

/// The message key, loaded once per process.
#[derive(Default)]
pub(crate) struct MessageKey(OnceLock<RandomizedNonceKey>);

impl StsState {
    /// Seals `decoded` (the JSON explaining a denial) for `account`, for the server to put in
    /// an `AccessDenied` answer as `Encoded authorization failure message: <this>`.
    pub async fn encode_authorization_message(
        &self,
        account: &AccountId,
        decoded: &str,
    ) -> Result<String, ServiceError> {
        let key = self.message_key().await?;
        let mut buffer = decoded.as_bytes().to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(account.as_str().as_bytes()), &mut buffer)
            .map_err(|_| ServiceError::internal("Sealing an authorization message failed."))?;
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&buffer);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// `DecodeAuthorizationMessage`.
    pub(crate) async fn decode_authorization_message_op(
        &self,
        ctx: &RequestContext,
        input: DecodeAuthorizationMessageRequest,
    ) -> Result<DecodeAuthorizationMessageResponse, ServiceError> {
        let invalid = || {
            errors::invalid_authorization_message_exception(
                "The error message that was provided to decode is invalid.",
            )
        };
        let key = self.message_key().await?;
        let mut sealed = URL_SAFE_NO_PAD
            .decode(input.encoded_message.trim())
            .map_err(|_| invalid())?;
        if sealed.len() < NONCE_LEN {
            return Err(invalid());
        }
        let mut body = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).map_err(|_| invalid())?;
        let opened = key
            .open_in_place(
                nonce,
                Aad::from(ctx.account().as_str().as_bytes()),
                &mut body,
            )
            .map_err(|_| invalid())?;
        let decoded = std::str::from_utf8(opened).map_err(|_| invalid())?;
        Ok(DecodeAuthorizationMessageResponse {
            decoded_message: Some(decoded.to_owned()),
        })
    }

    /// The message key: from memory, else from the store, else a new one stored for good.
    async fn message_key(&self) -> Result<&RandomizedNonceKey, ServiceError> {
        if let Some(key) = self.message_key.0.get() {
            return Ok(key);
        }
        let bytes = match self.stored_message_key().await.map_err(store_error)? {
            Some(bytes) => bytes,
            None => {
                let mut fresh = vec![0u8; KEY_LEN];
                let filled = aws_lc_rs::rand::fill(&mut fresh);
                let fresh = SecretBytes::new(fresh);
                filled
                    .map_err(|_| ServiceError::internal("The random number generator failed."))?;
                let txn = Transaction::new().expect_absent(KEYS, MESSAGE_KEY).put(
                    KEYS,
                    MESSAGE_KEY,
                    Value::Secret(fresh.clone()),
                );
                match self.store.commit(txn).await {
                    Ok(()) => fresh,
                    // Another request stored one first: use that one.
                    Err(StoreError::Conflict(_)) => self
                        .stored_message_key()
                        .await
                        .map_err(store_error)?
                        .ok_or_else(|| ServiceError::internal("The message key vanished."))?,
                    Err(error) => return Err(store_error(error)),
                }
            }
        };
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes.expose())
            .map_err(|_| ServiceError::internal("The stored message key is malformed."))?;
        Ok(self.message_key.0.get_or_init(|| key))
    }

    async fn stored_message_key(&self) -> Result<Option<SecretBytes>, StoreError> {
        Ok(self
            .store
            .get(KEYS, MESSAGE_KEY)
            .await?
            .map(|entry| SecretBytes::new(entry.value.bytes().to_vec())))
    }
}
