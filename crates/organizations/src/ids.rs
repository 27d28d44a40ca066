//! Random identifiers in the formats AWS uses.

use palisade_core::ServiceError;
use palisade_iam::ids::random_bytes;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

/// `o-` and 10 characters.
pub(crate) fn organization() -> Result<String, ServiceError> {
    Ok(format!("o-{}", random::<10>(LOWER_ALNUM)?))
}

/// `r-` and 4 characters.
pub(crate) fn root() -> Result<String, ServiceError> {
    Ok(format!("r-{}", random::<4>(LOWER_ALNUM)?))
}

/// `ou-`, the root's suffix, `-` and 8 characters, as AWS forms OU ids.
pub(crate) fn unit(root: &str) -> Result<String, ServiceError> {
    let suffix = root.strip_prefix("r-").unwrap_or(root);
    Ok(format!("ou-{suffix}-{}", random::<8>(LOWER_ALNUM)?))
}

/// `p-` and 8 characters.
pub(crate) fn policy() -> Result<String, ServiceError> {
    Ok(format!("p-{}", random::<8>(LOWER_ALNUM)?))
}

/// `rp-` and 8 characters.
pub(crate) fn resource_policy() -> Result<String, ServiceError> {
    Ok(format!("rp-{}", random::<8>(LOWER_ALNUM)?))
}

/// `car-` and 32 characters.
pub(crate) fn create_request() -> Result<String, ServiceError> {
    Ok(format!("car-{}", random::<32>(LOWER_ALNUM)?))
}

/// `h-` and 32 characters.
pub(crate) fn handshake() -> Result<String, ServiceError> {
    Ok(format!("h-{}", random::<32>(LOWER_ALNUM)?))
}

/// Twelve digits.
pub(crate) fn account() -> Result<String, ServiceError> {
    random::<12>(DIGITS)
}

fn random<const N: usize>(alphabet: &[u8]) -> Result<String, ServiceError> {
    Ok(random_bytes::<N>()?
        .iter()
        .map(|byte| {
            let index = usize::from(*byte) % alphabet.len();
            alphabet.get(index).map_or('0', |c| char::from(*c))
        })
        .collect())
}
