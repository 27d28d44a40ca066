//! What a caller stores and reads back.

use std::fmt;

use zeroize::Zeroizing;

/// Bytes that must stay secret: their `Debug` prints `[redacted]`, and their memory is
/// zeroed when dropped. There is deliberately no `PartialEq`, so that no one compares secrets
/// in variable time by accident.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes` (without copying them).
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The plaintext. Keep its use short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SecretBytes::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A stored value. `Plain` values are stored as they are; `Secret` values are encrypted by the
/// barrier before they reach the backend.
#[derive(Clone, Debug)]
pub enum Value {
    /// Stored in the clear (still protected by the file permissions or the database's access
    /// control).
    Plain(Vec<u8>),
    /// Encrypted at rest with the root key.
    Secret(SecretBytes),
}

impl Value {
    /// The bytes, whichever kind the value is. For a secret this is the plaintext.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::Plain(bytes) => bytes,
            Value::Secret(secret) => secret.expose(),
        }
    }

    /// Whether the value is stored encrypted.
    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_))
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Plain(bytes)
    }
}

impl From<SecretBytes> for Value {
    fn from(secret: SecretBytes) -> Self {
        Value::Secret(secret)
    }
}

/// One entry as read: its value and its version (1 when created, +1 on each committed write).
#[derive(Clone, Debug)]
pub struct Entry {
    /// The value, decrypted if it was stored as a secret.
    pub value: Value,
    /// The version to pass to [`crate::Transaction::expect_version`].
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret_bytes() {
        let value = Value::Secret(SecretBytes::new(b"hunter2".to_vec()));
        let shown = format!("{value:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        let entry = Entry { value, version: 3 };
        assert!(!format!("{entry:?}").contains("hunter2"));
    }
}
