//! Paging tokens of the listing operations: the key a page ended at, base64url-encoded, so a
//! token names where to resume and nothing else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_core::ServiceError;
use palisade_model_cloudtrail::errors;

pub(crate) fn encode(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key)
}

pub(crate) fn decode(token: &str) -> Result<String, ServiceError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| errors::invalid_next_token_exception("Invalid NextToken."))
}
