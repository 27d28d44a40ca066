//! Transactions: preconditions and writes that commit together or not at all.

use std::collections::BTreeMap;

use crate::backend::{Expect, Precondition, RawBatch, RawWrite, WriteOp};
use crate::barrier::Barrier;
use crate::{StoreError, Value};

/// Longest keyspace accepted, in bytes.
pub const MAX_KEYSPACE_LEN: usize = 256;
/// Longest key accepted, in bytes. Together with the keyspace this stays well under the index
/// entry limits of both engines.
pub const MAX_KEY_LEN: usize = 2048;

/// A batch of preconditions and writes, built with chained calls and applied by
/// [`crate::Store::commit`].
///
/// Semantics:
/// - every precondition is checked against the state before the transaction; if any fails,
///   nothing is written and the commit returns [`StoreError::Conflict`];
/// - writes to the same key collapse to the last one, and a key written by the transaction
///   gets version `old + 1` (or 1 if it was absent): versions count committed transactions;
/// - a deleted key that is created again starts over at version 1.
///
/// ```
/// # use palisade_store::{Transaction, Value};
/// let txn = Transaction::new()
///     .expect_absent("kms/aliases", "000000000000/us-east-1/alias/app")
///     .put("kms/aliases", "000000000000/us-east-1/alias/app", b"key-id".to_vec())
///     .put("kms/keys", "000000000000/us-east-1/key-id", Value::Plain(b"{}".to_vec()));
/// assert_eq!(txn.len(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Transaction {
    checks: Vec<Precondition>,
    writes: Vec<(String, String, Option<Value>)>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The commit fails unless `key` is absent.
    pub fn expect_absent(mut self, keyspace: &str, key: &str) -> Self {
        self.checks.push(Precondition {
            keyspace: keyspace.to_owned(),
            key: key.to_owned(),
            expect: Expect::Absent,
        });
        self
    }

    /// The commit fails unless `key` exists at exactly `version`.
    pub fn expect_version(mut self, keyspace: &str, key: &str, version: u64) -> Self {
        self.checks.push(Precondition {
            keyspace: keyspace.to_owned(),
            key: key.to_owned(),
            expect: Expect::Version(version),
        });
        self
    }

    /// Stores `value` under `key` (creating or replacing it).
    pub fn put(mut self, keyspace: &str, key: &str, value: impl Into<Value>) -> Self {
        self.writes
            .push((keyspace.to_owned(), key.to_owned(), Some(value.into())));
        self
    }

    /// Removes `key`; removing an absent key is not an error (add `expect_version` for that).
    pub fn delete(mut self, keyspace: &str, key: &str) -> Self {
        self.writes
            .push((keyspace.to_owned(), key.to_owned(), None));
        self
    }

    /// Number of preconditions and writes.
    pub fn len(&self) -> usize {
        self.checks.len() + self.writes.len()
    }

    /// Whether the transaction has neither preconditions nor writes.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.writes.is_empty()
    }

    /// Validates every key, encodes (and encrypts) every value, and collapses writes to one
    /// per key in (keyspace, key) order.
    pub(crate) fn into_raw(self, barrier: &Barrier) -> Result<RawBatch, StoreError> {
        for check in &self.checks {
            validate(&check.keyspace, &check.key)?;
        }
        let mut last: BTreeMap<(String, String), Option<Value>> = BTreeMap::new();
        for (keyspace, key, value) in self.writes {
            validate(&keyspace, &key)?;
            last.insert((keyspace, key), value);
        }
        let mut writes = Vec::with_capacity(last.len());
        for ((keyspace, key), value) in last {
            let op = match value {
                Some(value) => WriteOp::Put(barrier.encode(&keyspace, &key, &value)?),
                None => WriteOp::Delete,
            };
            writes.push(RawWrite { keyspace, key, op });
        }
        Ok(RawBatch {
            checks: self.checks,
            writes,
        })
    }
}

/// Checks a keyspace and key before they reach an engine: NUL is refused because PostgreSQL
/// text cannot hold it, and the lengths keep index entries within both engines' limits.
pub(crate) fn validate(keyspace: &str, key: &str) -> Result<(), StoreError> {
    validate_keyspace(keyspace)?;
    validate_key(keyspace, key)
}

pub(crate) fn validate_keyspace(keyspace: &str) -> Result<(), StoreError> {
    if keyspace.is_empty() || keyspace.len() > MAX_KEYSPACE_LEN {
        return Err(StoreError::Invalid(format!(
            "keyspace must be 1 to {MAX_KEYSPACE_LEN} bytes"
        )));
    }
    if keyspace.contains('\0') {
        return Err(StoreError::Invalid("keyspace contains NUL".to_owned()));
    }
    Ok(())
}

pub(crate) fn validate_key(keyspace: &str, key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::Invalid(format!(
            "{keyspace}: key longer than {MAX_KEY_LEN} bytes"
        )));
    }
    if key.contains('\0') {
        return Err(StoreError::Invalid(format!("{keyspace}: key contains NUL")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretBytes;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn writes_collapse_to_the_last_per_key_in_key_order() {
        let barrier = Barrier::from_env_value(KEY).unwrap();
        let raw = Transaction::new()
            .put("b", "2", b"first".to_vec())
            .put("a", "9", b"x".to_vec())
            .delete("b", "2")
            .put("b", "1", b"y".to_vec())
            .put("b", "2", b"last".to_vec())
            .delete("a", "0")
            .into_raw(&barrier)
            .unwrap();
        let order: Vec<_> = raw
            .writes
            .iter()
            .map(|w| (w.keyspace.as_str(), w.key.as_str()))
            .collect();
        assert_eq!(order, [("a", "0"), ("a", "9"), ("b", "1"), ("b", "2")]);
        assert!(matches!(raw.writes[0].op, WriteOp::Delete));
        assert!(matches!(&raw.writes[3].op, WriteOp::Put(bytes) if bytes.ends_with(b"last")));
    }

    #[test]
    fn secrets_are_encrypted_before_the_backend() {
        let barrier = Barrier::from_env_value(KEY).unwrap();
        let raw = Transaction::new()
            .put("s", "k", SecretBytes::new(b"plaintext-secret".to_vec()))
            .into_raw(&barrier)
            .unwrap();
        let WriteOp::Put(bytes) = &raw.writes[0].op else {
            panic!("expected a put")
        };
        assert!(!bytes.windows(16).any(|w| w == b"plaintext-secret"));
    }

    #[test]
    fn bad_keys_are_invalid() {
        let barrier = Barrier::from_env_value(KEY).unwrap();
        let long_key = "k".repeat(MAX_KEY_LEN + 1);
        let long_ks = "s".repeat(MAX_KEYSPACE_LEN + 1);
        for txn in [
            Transaction::new().put("", "k", vec![]),
            Transaction::new().put("a\0b", "k", vec![]),
            Transaction::new().put("ks", "a\0b", vec![]),
            Transaction::new().delete("ks", &long_key),
            Transaction::new().expect_absent(&long_ks, "k"),
        ] {
            assert!(matches!(
                txn.into_raw(&barrier),
                Err(StoreError::Invalid(_))
            ));
        }
        let max = "k".repeat(MAX_KEY_LEN);
        assert!(
            Transaction::new()
                .put("ks", &max, vec![])
                .into_raw(&barrier)
                .is_ok()
        );
        assert!(
            Transaction::new()
                .put("ks", "", vec![])
                .into_raw(&barrier)
                .is_ok()
        );
    }
}
