//! Identifiers and randomness: version ids, the six random characters of a secret's ARN, and
//! unbiased random choices, all from aws-lc-rs's generator.

use palisade_core::ServiceError;
use palisade_model_secretsmanager::errors;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| errors::internal_service_error("No randomness is available."))?;
    Ok(bytes)
}

/// A uniformly random index below `bound` (which must be positive), by rejection sampling so
/// that no index is favoured.
pub(crate) fn random_below(bound: usize) -> Result<usize, ServiceError> {
    let bound = u64::try_from(bound).unwrap_or(u64::MAX).max(1);
    // The largest multiple of `bound` that fits: draws at or above it are redrawn.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let draw = u64::from_be_bytes(random_bytes::<8>()?);
        if draw < zone {
            return Ok(usize::try_from(draw % bound).unwrap_or_default());
        }
    }
}

/// A random UUID (version 4), the form AWS SDKs use for version ids.
pub(crate) fn uuid() -> Result<String, ServiceError> {
    let mut bytes = random_bytes::<16>()?;
    if let Some(byte) = bytes.get_mut(6) {
        *byte = (*byte & 0x0f) | 0x40;
    }
    if let Some(byte) = bytes.get_mut(8) {
        *byte = (*byte & 0x3f) | 0x80;
    }
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    ))
}

/// The `-` and six random characters AWS appends to a secret's name in its ARN.
pub(crate) fn arn_suffix() -> Result<String, ServiceError> {
    let mut suffix = String::from("-");
    for _ in 0..6 {
        let index = random_below(ALPHANUMERIC.len())?;
        suffix.push(char::from(*ALPHANUMERIC.get(index).unwrap_or(&b'A')));
    }
    Ok(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid().unwrap_or_default();
        assert_eq!(id.len(), 36);
        assert_eq!(id.chars().nth(14), Some('4'));
        assert!(matches!(id.chars().nth(19), Some('8' | '9' | 'a' | 'b')));
    }

    #[test]
    fn arn_suffixes_are_six_alphanumerics() {
        let suffix = arn_suffix().unwrap_or_default();
        assert_eq!(suffix.len(), 7);
        assert!(suffix.starts_with('-'));
        assert!(suffix.chars().skip(1).all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn random_below_stays_in_range_and_covers_it() {
        let mut seen = [false; 7];
        for _ in 0..500 {
            let index = random_below(7).unwrap_or(99);
            assert!(index < 7);
            if let Some(slot) = seen.get_mut(index) {
                *slot = true;
            }
        }
        assert!(seen.iter().all(|hit| *hit));
    }
}
