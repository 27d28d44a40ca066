//! Values derived from what some keyspaces hold (a principal's parsed policies, say), kept
//! until one of those keyspaces is written.
//!
//! The owner of the keyspaces reads a [`ChangeMark`] (through [`crate::Store::change_mark`])
//! *before* reading what it derives from, and keeps the result under that mark. A later lookup
//! under a different mark misses, so a write that raced the derivation only costs a second
//! derivation. Where the store cannot give a mark, nothing is kept.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The store's write clock for some keyspaces, as of one moment: equal marks mean no write
/// to any of them in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeMark(pub(crate) u64);

/// Derived values by key, each with the mark it was derived under.
pub struct Derived<K, V> {
    entries: Mutex<HashMap<K, (ChangeMark, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Derived<K, V> {
    /// Keeps at most `capacity` values; past that it starts over.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value kept for `key`, if it was derived under `mark`.
    pub fn get(&self, key: &K, mark: ChangeMark) -> Option<V> {
        self.entries()
            .get(key)
            .filter(|(kept, _)| *kept == mark)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value`, derived from reads that began under `mark`.
    pub fn keep(&self, key: K, mark: ChangeMark, value: V) {
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (mark, value));
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<K, (ChangeMark, V)>> {
        // Entries are only inserted or cleared whole; a panic elsewhere leaves them sound.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_only_under_the_mark_it_was_derived_under() {
        let derived = Derived::new(2);
        derived.keep("a", ChangeMark(1), 10);
        assert_eq!(derived.get(&"a", ChangeMark(1)), Some(10));
        assert_eq!(derived.get(&"a", ChangeMark(2)), None);
        assert_eq!(derived.get(&"b", ChangeMark(1)), None);
    }

    #[test]
    fn past_capacity_it_starts_over() {
        let derived = Derived::new(2);
        derived.keep("a", ChangeMark(1), 1);
        derived.keep("b", ChangeMark(1), 2);
        derived.keep("c", ChangeMark(1), 3);
        assert_eq!(derived.get(&"a", ChangeMark(1)), None);
        assert_eq!(derived.get(&"c", ChangeMark(1)), Some(3));
    }
}
