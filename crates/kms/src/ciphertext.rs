//! The ciphertext blob of symmetric keys: a versioned, self-describing format.
//!
//! ```text
//! offset  size  field
//! 0       1     format version (2)
//! 1       12    the key's account id (ASCII digits), so Decrypt finds another account's key
//! 13      1     n, the length of the key id (1..=64)
//! 14      n     the key id (ASCII), so Decrypt needs no KeyId
//! 14+n    4     the key material version (big-endian), so rotated keys find old material
//! 18+n    12    the AES-256-GCM nonce
//! 30+n    ≥16   the AES-256-GCM ciphertext and its 16-byte tag
//! ```
//!
//! Version 1, which earlier builds wrote, is the same without the account id (its key is looked
//! up in the caller's account); it is still read.
//!
//! The additional authenticated data is the header (everything before the nonce) followed by the
//! encryption context, so neither the key reference nor the context can be changed without the
//! tag failing. The context is encoded unambiguously: the pair count, then each pair in key order
//! as the key's length, the key, the value's length and the value (lengths 4-byte big-endian), so
//! that `{"ab": "c"}` and `{"a": "bc"}` authenticate differently.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use palisade_core::{Sensitive, ServiceError};
use palisade_model_kms::errors;

use crate::material::random_bytes;

/// The format version that names no account.
const FORMAT_V1: u8 = 1;
/// The format version this build writes: the header names the key's account.
const FORMAT_V2: u8 = 2;
const ACCOUNT_LEN: usize = 12;
/// Key ids are UUIDs (36 characters); the bound leaves room without allowing absurd headers.
const MAX_KEY_ID_LEN: usize = 64;
const TAG_LEN: usize = 16;

/// The parts of a ciphertext blob, borrowed from it. Parsing checks only the structure; whether
/// the blob is authentic is known only once [`ParsedCiphertext`] is opened with the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedCiphertext<'a> {
    /// The account of the key that encrypted it; `None` in a version 1 blob, whose key is the
    /// caller's account's.
    pub account: Option<&'a str>,
    /// The id of the key that encrypted it.
    pub key_id: &'a str,
    /// The version of that key's material.
    pub material_version: u32,
    header: &'a [u8],
    nonce: [u8; NONCE_LEN],
    sealed: &'a [u8],
}

impl fmt::Debug for ParsedCiphertext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedCiphertext")
            .field("account", &self.account)
            .field("key_id", &self.key_id)
            .field("material_version", &self.material_version)
            .field("sealed_len", &self.sealed.len())
            .finish_non_exhaustive()
    }
}

/// A blob that is not a ciphertext of this format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedCiphertext;

/// Reads the structure of a ciphertext blob; never panics, whatever the input.
pub fn parse_ciphertext(blob: &[u8]) -> Result<ParsedCiphertext<'_>, MalformedCiphertext> {
    let (&version, rest) = blob.split_first().ok_or(MalformedCiphertext)?;
    let (account, rest) = match version {
        FORMAT_V1 => (None, rest),
        FORMAT_V2 => {
            let (account, rest) = rest
                .split_at_checked(ACCOUNT_LEN)
                .ok_or(MalformedCiphertext)?;
            if !account.iter().all(u8::is_ascii_digit) {
                return Err(MalformedCiphertext);
            }
            let account = std::str::from_utf8(account).map_err(|_| MalformedCiphertext)?;
            (Some(account), rest)
        }
        _ => return Err(MalformedCiphertext),
    };
    let (&id_len, rest) = rest.split_first().ok_or(MalformedCiphertext)?;
    let id_len = usize::from(id_len);
    if id_len == 0 || id_len > MAX_KEY_ID_LEN {
        return Err(MalformedCiphertext);
    }
    let (key_id, rest) = rest.split_at_checked(id_len).ok_or(MalformedCiphertext)?;
    if !key_id.iter().all(u8::is_ascii_graphic) {
        return Err(MalformedCiphertext);
    }
    let key_id = std::str::from_utf8(key_id).map_err(|_| MalformedCiphertext)?;
    let (material_version, rest) = rest.split_first_chunk::<4>().ok_or(MalformedCiphertext)?;
    let (nonce, sealed) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(MalformedCiphertext)?;
    if sealed.len() < TAG_LEN {
        return Err(MalformedCiphertext);
    }
    let header_len = 1 + account.map_or(0, str::len) + 1 + id_len + 4;
    let header = blob.get(..header_len).ok_or(MalformedCiphertext)?;
    Ok(ParsedCiphertext {
        account,
        key_id,
        material_version: u32::from_be_bytes(*material_version),
        header,
        nonce: *nonce,
        sealed,
    })
}

impl<'a> ParsedCiphertext<'a> {
    /// How a request in `region` names the key that encrypted this blob: its key ARN where the
    /// header names the key's account, else its key id (a key of the caller's account).
    pub fn key_reference(&self, region: &str) -> Cow<'a, str> {
        match self.account {
            Some(account) => Cow::Owned(format!(
                "arn:aws:kms:{region}:{account}:key/{}",
                self.key_id
            )),
            None => Cow::Borrowed(self.key_id),
        }
    }

    /// Decrypts and authenticates with `key` (the material version the blob names) and the
    /// encryption context given at encryption.
    pub(crate) fn open(
        &self,
        key: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<Sensitive<Vec<u8>>, ServiceError> {
        let key = aead_key(key)?;
        let aad = additional_data(self.header, context);
        // Decrypted in place in a buffer that is zeroed when dropped.
        let mut in_out = zeroize::Zeroizing::new(self.sealed.to_vec());
        let plaintext = key
            .open_in_place(
                Nonce::assume_unique_for_key(self.nonce),
                Aad::from(aad.as_slice()),
                &mut in_out,
            )
            .map_err(|_| invalid_ciphertext())?;
        Ok(Sensitive::new(plaintext.to_vec()))
    }
}

/// Encrypts `plaintext` under `key` (version `material_version` of key `key_id` of `account`),
/// binding `context`.
pub(crate) fn seal(
    account: &str,
    key_id: &str,
    material_version: u32,
    key: &[u8],
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Vec<u8>, ServiceError> {
    let id_len = u8::try_from(key_id.len())
        .ok()
        .filter(|len| usize::from(*len) <= MAX_KEY_ID_LEN)
        .ok_or_else(|| errors::kms_internal_exception("The key id is too long to encode."))?;
    if account.len() != ACCOUNT_LEN || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(errors::kms_internal_exception(
            "The account id is not 12 digits.",
        ));
    }
    let mut blob = Vec::with_capacity(
        2 + ACCOUNT_LEN + key_id.len() + 4 + NONCE_LEN + plaintext.len() + TAG_LEN,
    );
    blob.push(FORMAT_V2);
    blob.extend_from_slice(account.as_bytes());
    blob.push(id_len);
    blob.extend_from_slice(key_id.as_bytes());
    blob.extend_from_slice(&material_version.to_be_bytes());
    let aad = additional_data(&blob, context);

    let nonce_bytes = random_bytes(NONCE_LEN)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(nonce_bytes.expose());
    blob.extend_from_slice(&nonce);

    let mut sealed = plaintext.to_vec();
    let tag = aead_key(key)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_slice()),
            &mut sealed,
        )
        .map_err(|_| errors::kms_internal_exception("Encryption failed."))?;
    blob.extend_from_slice(&sealed);
    blob.extend_from_slice(tag.as_ref());
    Ok(blob)
}

/// The error for every blob that does not decrypt: AWS says no more than that.
pub(crate) fn invalid_ciphertext() -> ServiceError {
    errors::invalid_ciphertext_exception("")
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, ServiceError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| errors::kms_internal_exception("The stored key material is unusable."))
}

/// The header followed by the length-prefixed encryption context.
fn additional_data(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut aad = header.to_vec();
    push_len(&mut aad, context.len());
    for (key, value) in context {
        push_len(&mut aad, key.len());
        aad.extend_from_slice(key.as_bytes());
        push_len(&mut aad, value.len());
        aad.extend_from_slice(value.as_bytes());
    }
    aad
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Requests are at most a few megabytes, so every length fits.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const ACCOUNT: &str = "111122223333";
    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    /// Where the material version starts in a blob of [`ACCOUNT`]'s key [`ID`].
    const VERSION_AT: usize = 1 + ACCOUNT_LEN + 1 + ID.len();

    fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn round_trip_names_account_key_and_version() {
        let blob = seal(ACCOUNT, ID, 3, &KEY, &context(&[("a", "b")]), b"hello").unwrap();
        let parsed = parse_ciphertext(&blob).unwrap();
        assert_eq!(parsed.account, Some(ACCOUNT));
        assert_eq!(parsed.key_id, ID);
        assert_eq!(parsed.material_version, 3);
        let plain = parsed.open(&KEY, &context(&[("a", "b")])).unwrap();
        assert_eq!(plain.expose(), b"hello");
    }

    #[test]
    fn version_1_blobs_still_open() {
        // Version 1 as earlier builds wrote it: no account in the header.
        let mut blob = vec![FORMAT_V1, u8::try_from(ID.len()).unwrap()];
        blob.extend_from_slice(ID.as_bytes());
        blob.extend_from_slice(&2u32.to_be_bytes());
        let aad = additional_data(&blob, &context(&[]));
        let nonce = [9u8; NONCE_LEN];
        let mut sealed = b"old".to_vec();
        let tag = aead_key(&KEY)
            .unwrap()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_slice()),
                &mut sealed,
            )
            .unwrap();
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        blob.extend_from_slice(tag.as_ref());

        let parsed = parse_ciphertext(&blob).unwrap();
        assert_eq!(parsed.account, None);
        assert_eq!(parsed.key_id, ID);
        assert_eq!(parsed.material_version, 2);
        assert_eq!(parsed.open(&KEY, &context(&[])).unwrap().expose(), b"old");
    }

    #[test]
    fn context_encoding_is_unambiguous() {
        assert_ne!(
            additional_data(b"h", &context(&[("ab", "c")])),
            additional_data(b"h", &context(&[("a", "bc")]))
        );
        let blob = seal(ACCOUNT, ID, 0, &KEY, &context(&[("ab", "c")]), b"x").unwrap();
        let parsed = parse_ciphertext(&blob).unwrap();
        assert!(parsed.open(&KEY, &context(&[("a", "bc")])).is_err());
        assert!(parsed.open(&KEY, &context(&[])).is_err());
    }

    #[test]
    fn header_is_authenticated() {
        let blob = seal(ACCOUNT, ID, 0, &KEY, &context(&[]), b"x").unwrap();
        let mut changed = blob.clone();
        // The material version's last byte: the structure still parses, the tag must fail.
        changed[VERSION_AT + 3] ^= 1;
        let parsed = parse_ciphertext(&changed).unwrap();
        assert_eq!(parsed.material_version, 1);
        assert!(parsed.open(&KEY, &context(&[])).is_err());
        // So is the account: a blob cannot be passed off as another account's.
        let mut moved = blob.clone();
        moved[1] = b'9';
        let parsed = parse_ciphertext(&moved).unwrap();
        assert_eq!(parsed.account, Some("911122223333"));
        assert!(parsed.open(&KEY, &context(&[])).is_err());
    }

    #[test]
    fn malformed_blobs_are_refused() {
        let blob = seal(ACCOUNT, ID, 0, &KEY, &context(&[]), b"x").unwrap();
        for len in 0..blob.len() - 1 {
            assert!(parse_ciphertext(&blob[..len]).is_err() || len >= VERSION_AT + 4 + 12 + 16);
        }
        let mut wrong_version = blob.clone();
        wrong_version[0] = 3;
        assert_eq!(parse_ciphertext(&wrong_version), Err(MalformedCiphertext));
        let mut not_an_account = blob.clone();
        not_an_account[5] = b'x';
        assert_eq!(parse_ciphertext(&not_an_account), Err(MalformedCiphertext));
        assert_eq!(parse_ciphertext(&[1, 0]), Err(MalformedCiphertext));
        assert!(seal("12345", ID, 0, &KEY, &context(&[]), b"x").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(blob in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_ciphertext(&blob);
        }

        #[test]
        fn parse_never_panics_near_valid(prefix_len in 0usize..96, tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut blob = seal(ACCOUNT, ID, 0, &KEY, &BTreeMap::new(), b"payload").unwrap();
            blob.truncate(prefix_len);
            blob.extend_from_slice(&tail);
            if let Ok(parsed) = parse_ciphertext(&blob) {
                let _ = parsed.open(&KEY, &BTreeMap::new());
            }
        }
    }
}
