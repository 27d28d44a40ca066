//! The at-rest barrier: encodes values for the backend, encrypting secret ones.
//!
//! Encoded format (first byte says which):
//! - `0x00` plain: `0x00 || bytes`
//! - `0x01` secret: `0x01 || nonce (12) || AES-256-GCM ciphertext || tag (16)`
//!
//! The additional authenticated data binds a ciphertext to its format byte, keyspace and key
//! (`format || len(keyspace) as u32 BE || keyspace || key`), so a row copied to another key
//! fails to decrypt instead of answering for it. Nonces are random (96 bits), which keeps the
//! collision risk negligible up to about 2^32 encryptions under one root key.
//!
//! The 32-byte root key comes from `PALISADE_ROOT_KEY` (64 hex characters) when that variable
//! is set, or else from the file `root.key` in the data directory (64 hex characters and a
//! newline), created with mode 0600 at first start. The key file is not part of any backup:
//! the operator keeps it apart from the data, since a copy of both defeats encryption at rest.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::fsutil;
use crate::{SecretBytes, StoreError, Value};

/// The environment variable that carries the root key, as 64 hex characters.
pub const ROOT_KEY_ENV: &str = "PALISADE_ROOT_KEY";

/// The key file's name in the data directory.
pub const ROOT_KEY_FILE: &str = "root.key";

const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const FORMAT_PLAIN: u8 = 0x00;
const FORMAT_SECRET_V1: u8 = 0x01;

/// Encrypts and decrypts secret values with the root key. Its `Debug` shows no key material.
pub struct Barrier {
    key: LessSafeKey,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Barrier([redacted])")
    }
}

impl Barrier {
    /// The root key from `PALISADE_ROOT_KEY` if set, else from `data_dir/root.key` (created,
    /// with the data directory, at first start).
    pub fn load(data_dir: &Path) -> Result<Barrier, StoreError> {
        match std::env::var(ROOT_KEY_ENV) {
            Ok(value) => Barrier::from_env_value(&Zeroizing::new(value)),
            Err(std::env::VarError::NotPresent) => {
                fsutil::ensure_private_dir(data_dir)?;
                Barrier::from_key_file(&data_dir.join(ROOT_KEY_FILE))
            }
            Err(std::env::VarError::NotUnicode(_)) => Err(StoreError::Config(format!(
                "{ROOT_KEY_ENV} must be 64 hex characters"
            ))),
        }
    }

    /// A root key given as 64 hex characters (surrounding whitespace is ignored), as in
    /// `PALISADE_ROOT_KEY`. Generate one with `openssl rand -hex 32`.
    pub fn from_env_value(value: &str) -> Result<Barrier, StoreError> {
        let key = decode_hex_key(value.trim()).ok_or_else(|| {
            StoreError::Config(format!(
                "the root key must be exactly 64 hex characters (32 bytes), as in {ROOT_KEY_ENV}"
            ))
        })?;
        Barrier::from_key_bytes(&key[..])
    }

    /// Reads the root key from `path`, or creates the file with a fresh random key (mode
    /// 0600) when it does not exist. An existing file that group or others can access is
    /// refused.
    pub fn from_key_file(path: &Path) -> Result<Barrier, StoreError> {
        match fsutil::create_private_file(path) {
            Ok(file) => write_new_key_file(file, path),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => read_key_file(path),
            Err(e) => Err(StoreError::config(
                &format!("creating root key file {}", path.display()),
                e,
            )),
        }
    }

    pub(crate) fn from_key_bytes(key: &[u8]) -> Result<Barrier, StoreError> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| StoreError::Config("the root key must be 32 bytes".to_owned()))?;
        Ok(Barrier {
            key: LessSafeKey::new(key),
        })
    }

    /// Encodes a value for the backend, encrypting it if it is a secret.
    pub(crate) fn encode(
        &self,
        keyspace: &str,
        key: &str,
        value: &Value,
    ) -> Result<Vec<u8>, StoreError> {
        match value {
            Value::Plain(bytes) => {
                let mut out = Vec::with_capacity(1 + bytes.len());
                out.push(FORMAT_PLAIN);
                out.extend_from_slice(bytes);
                Ok(out)
            }
            Value::Secret(secret) => self.seal(keyspace, key, secret.expose()),
        }
    }

    /// Decodes bytes from the backend, decrypting a secret.
    pub(crate) fn decode(
        &self,
        keyspace: &str,
        key: &str,
        raw: Vec<u8>,
    ) -> Result<Value, StoreError> {
        match raw.first().copied() {
            Some(FORMAT_PLAIN) => {
                let mut bytes = raw;
                bytes.remove(0);
                Ok(Value::Plain(bytes))
            }
            Some(FORMAT_SECRET_V1) => self.open(keyspace, key, &raw).map(Value::Secret),
            Some(other) => Err(StoreError::Backend(format!(
                "{keyspace} {key:?}: unknown value format {other:#04x}"
            ))),
            None => Err(StoreError::Backend(format!(
                "{keyspace} {key:?}: empty stored value"
            ))),
        }
    }

    /// `0x01 || nonce || ciphertext || tag`.
    fn seal(&self, keyspace: &str, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_SECRET_V1);
        out.extend_from_slice(&[0u8; NONCE_LEN]);
        out.extend_from_slice(plaintext);
        let aad = aad(FORMAT_SECRET_V1, keyspace, key);
        let header = 1 + NONCE_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        let sealed = random_bytes(&mut nonce).and_then(|()| {
            let body = out
                .get_mut(header..)
                .ok_or_else(|| StoreError::Backend("sealing: buffer too short".to_owned()))?;
            self.key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&aad),
                    body,
                )
                .map_err(|_| StoreError::Backend("sealing a secret value failed".to_owned()))
        });
        let tag = match sealed {
            Ok(tag) => tag,
            Err(e) => {
                // The buffer may still hold plaintext.
                out.zeroize();
                return Err(e);
            }
        };
        if let Some(slot) = out.get_mut(1..header) {
            slot.copy_from_slice(&nonce);
        }
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open(&self, keyspace: &str, key: &str, raw: &[u8]) -> Result<SecretBytes, StoreError> {
        let (nonce, ciphertext) = raw
            .get(1..)
            .and_then(|rest| rest.split_at_checked(NONCE_LEN))
            .ok_or(StoreError::Sealed)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StoreError::Sealed)?;
        let aad = aad(FORMAT_SECRET_V1, keyspace, key);
        // Zeroizing from the start: a failed open may leave partial plaintext behind.
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(&aad), &mut buf[..])
            .map_err(|_| StoreError::Sealed)?
            .len();
        buf.truncate(len);
        Ok(SecretBytes::new(std::mem::take(&mut *buf)))
    }
}

/// Fills `buf` from the operating system's generator. Not aws-lc's: its first use seeds it
/// with CPU jitter entropy, tens of milliseconds that would otherwise sit on every first start
/// (the root key and the barrier's check value are made then), while a root key and random
/// nonces need nothing beyond the system generator.
fn random_bytes(buf: &mut [u8]) -> Result<(), StoreError> {
    getrandom::fill(buf)
        .map_err(|_| StoreError::Config("the system random generator failed".to_owned()))
}

fn aad(format: u8, keyspace: &str, key: &str) -> Vec<u8> {
    // Keyspaces are at most 256 bytes (validated by the store), so the length fits.
    let ks_len = u32::try_from(keyspace.len()).unwrap_or(u32::MAX);
    let mut aad = Vec::with_capacity(5 + keyspace.len() + key.len());
    aad.push(format);
    aad.extend_from_slice(&ks_len.to_be_bytes());
    aad.extend_from_slice(keyspace.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

fn write_new_key_file(mut file: std::fs::File, path: &Path) -> Result<Barrier, StoreError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let result = random_bytes(&mut key[..])
        .and_then(|()| {
            let mut text = encode_hex(&key[..]);
            text.push('\n');
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| StoreError::config(&format!("writing {}", path.display()), e))
        })
        .and_then(|()| match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => fsutil::sync_dir(dir),
            _ => Ok(()),
        });
    if let Err(e) = result {
        // A half-written key file would be read as a wrong key at the next start.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Barrier::from_key_bytes(&key[..])
}

fn read_key_file(path: &Path) -> Result<Barrier, StoreError> {
    fsutil::check_private_file(path)?;
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| StoreError::config(&format!("reading root key file {}", path.display()), e))?;
    let key = decode_hex_key(text.trim()).ok_or_else(|| {
        StoreError::Config(format!(
            "root key file {} must hold exactly 64 hex characters",
            path.display()
        ))
    })?;
    Barrier::from_key_bytes(&key[..])
}

fn encode_hex(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 2 + 1));
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

fn decode_hex_key(text: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let digits = text.as_bytes();
    if digits.len() != KEY_LEN * 2 {
        return None;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (slot, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *slot = (hex_value(*hi)? << 4) | hex_value(*lo)?;
    }
    Some(key)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const KEY_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    fn secret(bytes: &[u8]) -> Value {
        Value::Secret(SecretBytes::new(bytes.to_vec()))
    }

    #[test]
    fn secret_round_trips_and_is_not_plaintext() {
        let barrier = Barrier::from_env_value(KEY_A).unwrap();
        let raw = barrier
            .encode("ks", "k", &secret(b"top secret value"))
            .unwrap();
        assert_eq!(raw.first(), Some(&FORMAT_SECRET_V1));
        assert!(!raw.windows(16).any(|w| w == b"top secret value"));
        let value = barrier.decode("ks", "k", raw).unwrap();
        assert!(value.is_secret());
        assert_eq!(value.bytes(), b"top secret value");
    }

    #[test]
    fn nonces_differ() {
        let barrier = Barrier::from_env_value(KEY_A).unwrap();
        let a = barrier.encode("ks", "k", &secret(b"same")).unwrap();
        let b = barrier.encode("ks", "k", &secret(b"same")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn moved_or_altered_ciphertext_is_sealed() {
        let barrier = Barrier::from_env_value(KEY_A).unwrap();
        let raw = barrier.encode("ks", "k1", &secret(b"v")).unwrap();
        assert!(matches!(
            barrier.decode("ks", "k2", raw.clone()),
            Err(StoreError::Sealed)
        ));
        // Same bytes of keyspace+key, split differently: the length prefix tells them apart.
        assert!(matches!(
            barrier.decode("ksk", "1", raw.clone()),
            Err(StoreError::Sealed)
        ));
        let mut altered = raw.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(
            barrier.decode("ks", "k1", altered),
            Err(StoreError::Sealed)
        ));
        let other = Barrier::from_env_value(KEY_B).unwrap();
        assert!(matches!(
            other.decode("ks", "k1", raw),
            Err(StoreError::Sealed)
        ));
    }

    #[test]
    fn truncated_or_unknown_encodings_are_errors_not_panics() {
        let barrier = Barrier::from_env_value(KEY_A).unwrap();
        for raw in [vec![], vec![1], vec![1; 12], vec![1; 28], vec![7, 1, 2]] {
            assert!(barrier.decode("ks", "k", raw).is_err());
        }
        assert_eq!(barrier.decode("ks", "k", vec![0]).unwrap().bytes(), b"");
    }

    #[test]
    fn env_value_must_be_64_hex_digits() {
        assert!(Barrier::from_env_value(&format!("  {KEY_A}\n")).is_ok());
        assert!(Barrier::from_env_value(&KEY_A.to_uppercase()).is_ok());
        for bad in [
            "",
            "00",
            &KEY_A[..62],
            &format!("{KEY_A}00"),
            &KEY_A.replace('0', "g"),
        ] {
            assert!(
                matches!(Barrier::from_env_value(bad), Err(StoreError::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let barrier = Barrier::from_env_value(KEY_A).unwrap();
        assert_eq!(format!("{barrier:?}"), "Barrier([redacted])");
    }

    #[test]
    fn key_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOT_KEY_FILE);
        let first = Barrier::from_key_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        // The same key is read back: what one sealed, the other opens.
        let raw = first.encode("ks", "k", &secret(b"x")).unwrap();
        let second = Barrier::from_key_file(&path).unwrap();
        assert_eq!(second.decode("ks", "k", raw).unwrap().bytes(), b"x");
    }

    #[test]
    fn readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOT_KEY_FILE);
        std::fs::write(&path, format!("{KEY_A}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Barrier::from_key_file(&path).unwrap_err();
        assert!(
            matches!(&err, StoreError::Config(m) if m.contains("0644")),
            "{err}"
        );
        assert!(!err.to_string().contains(KEY_A));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Barrier::from_key_file(&path).is_ok());
    }

    #[test]
    fn malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOT_KEY_FILE);
        let mut file = fsutil::create_private_file(&path).unwrap();
        file.write_all(b"not a key\n").unwrap();
        assert!(matches!(
            Barrier::from_key_file(&path),
            Err(StoreError::Config(_))
        ));
    }
}
