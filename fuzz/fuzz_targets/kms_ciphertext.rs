//! Arbitrary bytes as a KMS ciphertext blob (Decrypt's and ReEncrypt's `CiphertextBlob`):
//! parsing must never panic, and whatever parses names a key id that lies inside the blob.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_kms::parse_ciphertext;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_ciphertext(data) {
        assert!(!parsed.key_id.is_empty());
        assert!(parsed.key_id.len() < data.len());
        assert!(parsed.key_id.bytes().all(|b| b.is_ascii_graphic()));
    }
});
