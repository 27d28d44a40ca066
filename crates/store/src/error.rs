//! The one error type of the store.
//!
//! Messages name keyspaces, keys and paths (which are identifiers, not secrets) but never carry
//! value bytes or key material.

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A precondition of the transaction did not hold (or a concurrent transaction won the
    /// race): nothing was written. The caller re-reads and decides again.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// The root key does not open the stored secrets: it is not the key they were written
    /// with, or the ciphertext was altered or moved to another key.
    #[error("the store is sealed: the root key does not open the stored secrets")]
    Sealed,
    /// A keyspace, key or argument that the store does not accept.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The configuration, root key or data directory is unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// The storage engine failed (I/O, connection, corruption, ...).
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn backend(context: &str, err: impl std::fmt::Display) -> Self {
        StoreError::Backend(format!("{context}: {err}"))
    }

    pub(crate) fn config(context: &str, err: impl std::fmt::Display) -> Self {
        StoreError::Config(format!("{context}: {err}"))
    }
}
