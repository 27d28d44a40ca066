//! Time-based one-time passwords (RFC 6238) as virtual MFA apps compute them: HMAC-SHA1
//! (RFC 4226's dynamic truncation), 30-second steps, six digits.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;

/// Seconds per time step.
pub(crate) const STEP_SECS: i64 = 30;

/// The time step that `unix_secs` falls in.
pub(crate) fn step(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The six-digit code for `step`.
pub(crate) fn code(seed: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    // RFC 4226 §5.3: the low nibble of the last byte picks four bytes; their low 31 bits,
    // modulo 10^6, are the code.
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
    let mut word = [0u8; 4];
    if let Some(bytes) = digest.get(offset..offset + 4) {
        word.copy_from_slice(bytes);
    }
    let value = u32::from_be_bytes(word) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// Whether `given` is the code for `step`, compared in constant time.
pub(crate) fn matches(seed: &[u8], step: i64, given: &str) -> bool {
    verify_slices_are_equal(code(seed, step).as_bytes(), given.as_bytes()).is_ok()
}

/// `bytes` in RFC 4648 base32 without padding, as authenticator apps take seeds.
pub(crate) fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = usize::try_from((buffer >> bits) & 31).unwrap_or(0);
            out.extend(ALPHABET.get(index).map(|c| char::from(*c)));
        }
    }
    if bits > 0 {
        let index = usize::try_from((buffer << (5 - bits)) & 31).unwrap_or(0);
        out.extend(ALPHABET.get(index).map(|c| char::from(*c)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows, keeping the low six of the eight digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(seed, step(time)), expected, "t={time}");
            assert!(matches(seed, step(time), expected));
        }
        assert!(!matches(seed, step(59), "287083"));
        assert!(!matches(seed, step(59), "28708"));
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
