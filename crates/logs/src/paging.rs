//! Page sizes and the opaque `nextToken`s of the listing operations: a token is the hex form of
//! where the previous page stopped, so a client cannot mistake it for a name.

use palisade_core::ServiceError;
use palisade_model_logs::errors;

/// The page size a request asks for, or `default` (the model bounds the limit).
pub(crate) fn limit(requested: Option<i32>, default: usize) -> usize {
    requested
        .and_then(|limit| usize::try_from(limit).ok())
        .filter(|limit| *limit > 0)
        .unwrap_or(default)
}

pub(crate) fn encode_token(position: &str) -> String {
    position.bytes().map(|byte| format!("{byte:02x}")).collect()
}

/// The position a token stands for; a token this service could not have issued is refused.
pub(crate) fn decode_token(token: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let bytes = (0..token.len())
        .step_by(2)
        .map(|at| {
            token
                .get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>();
    bytes
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|position| !position.is_empty())
        .map(Some)
        .ok_or_else(invalid_token)
}

pub(crate) fn invalid_token() -> ServiceError {
    errors::invalid_parameter_exception("The specified nextToken is invalid.")
}

/// The first `limit` of `items` and, when more remain, the token of the last one's position.
pub(crate) fn page<T>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    position: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let mut page: Vec<T> = items.into_iter().take(limit + 1).collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let token = more
        .then(|| page.last().map(|last| encode_token(&position(last))))
        .flatten();
    (page, token)
}
