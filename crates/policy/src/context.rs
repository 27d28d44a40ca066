//! The request context: the condition keys of one request and their values.
//!
//! "Key names are case-insensitive. For example, `aws:CurrentTime` is equivalent to
//! `AWS:currenttime`" (IAM User Guide, Policy variables); values stay case-sensitive. Keys are
//! hashed case-insensitively once when inserted (ASCII keys, nearly all, are kept as given and
//! compared without case, so inserting one copies nothing), and policies lowercase and hash
//! theirs once when parsed, so a lookup during evaluation is a binary search over integers.
//!
//! A key holds one value or many (multivalued keys such as `aws:TagKeys`,
//! `aws:CalledVia`, `aws:PrincipalOrgPaths`). Values are kept as strings and typed lazily by the
//! operator that reads them (a number for `Numeric…`, an address for `IpAddress`, …). A key
//! inserted with no values is absent: "If the key values in the request resolve to an empty data
//! set … ForAllValues returns true, and … ForAnyValue returns false", the same answers a missing
//! key gives, and the `Null` operator treats it as null.

use std::borrow::Cow;

/// The condition keys of a request. Build it with [`Context::insert`] /
/// [`Context::insert_many`] (or the chaining [`Context::with`]); values may borrow from the
/// caller for the lifetime `'a`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context<'a> {
    /// Sorted by key hash, then key: a lookup compares integers until it reaches its key.
    entries: Vec<Entry<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry<'a> {
    hash: u64,
    /// As inserted when ASCII, compared without ASCII case; lowercased otherwise.
    key: Cow<'a, str>,
    values: Vec<Cow<'a, str>>,
}

/// A condition key as a policy names it: lowercased, with its hash, both computed once when the
/// policy is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyName {
    lowercase: Box<str>,
    hash: u64,
}

impl KeyName {
    pub(crate) fn new(key: &str) -> KeyName {
        let lowercase = if key.is_ascii() {
            key.to_ascii_lowercase()
        } else {
            key.to_lowercase()
        };
        KeyName {
            hash: hash(&lowercase),
            lowercase: lowercase.into(),
        }
    }
}

impl<'a> Context<'a> {
    pub fn new() -> Self {
        Context::default()
    }

    /// An empty context with room for `keys` keys without growing.
    pub fn with_capacity(keys: usize) -> Self {
        Context {
            entries: Vec::with_capacity(keys),
        }
    }

    /// Sets `key` to the single `value`, replacing what it had.
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> &mut Self {
        self.set(key.into(), vec![value.into()]);
        self
    }

    /// Sets `key` to the values `values` (a multivalued key), replacing what it had.
    pub fn insert_many<V: Into<Cow<'a, str>>>(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        self.set(key.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// [`Context::insert`] for building a context in one expression.
    pub fn with(mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.insert(key, value);
        self
    }

    /// Removes `key` (any case).
    pub fn remove(&mut self, key: &str) {
        if let Ok(index) = self.search(&KeyName::new(key)) {
            self.entries.remove(index);
        }
    }

    /// The values of `key` (any case); `None` when the key is absent or has no values.
    pub fn get(&self, key: &str) -> Option<&[Cow<'a, str>]> {
        self.lookup(&KeyName::new(key))
    }

    /// Iterates over the keys (ASCII keys as first inserted, others lowercased) and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Cow<'a, str>])> {
        self.entries
            .iter()
            .filter(|entry| !entry.values.is_empty())
            .map(|entry| (&*entry.key, entry.values.as_slice()))
    }

    /// The values of a key named by a policy.
    pub(crate) fn lookup(&self, key: &KeyName) -> Option<&[Cow<'a, str>]> {
        let index = self.search(key).ok()?;
        let entry = self.entries.get(index)?;
        (!entry.values.is_empty()).then_some(entry.values.as_slice())
    }

    fn set(&mut self, key: Cow<'a, str>, values: Vec<Cow<'a, str>>) {
        let key = if key.is_ascii() {
            key
        } else {
            Cow::Owned(key.to_lowercase())
        };
        let hash = hash(&key);
        let position = self.entries.binary_search_by(|entry| {
            entry
                .hash
                .cmp(&hash)
                .then_with(|| compare_folded(&entry.key, &key))
        });
        match position {
            Ok(index) => {
                if let Some(entry) = self.entries.get_mut(index) {
                    entry.values = values;
                }
            }
            Err(index) => self.entries.insert(index, Entry { hash, key, values }),
        }
    }

    fn search(&self, key: &KeyName) -> Result<usize, usize> {
        self.entries.binary_search_by(|entry| {
            entry
                .hash
                .cmp(&key.hash)
                .then_with(|| compare_folded(&entry.key, &key.lowercase))
        })
    }
}

/// FNV-1a over the key with ASCII case folded: short keys, no adversary who gains from
/// collisions (a collision only costs one more string comparison), and the same value at parse
/// time and at insertion.
fn hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Orders keys as their lowercased forms would order: both sides are ASCII-case-folded byte by
/// byte (non-ASCII keys are already lowercased, and folding leaves their other bytes alone).
fn compare_folded(left: &str, right: &str) -> std::cmp::Ordering {
    left.bytes()
        .map(|byte| byte.to_ascii_lowercase())
        .cmp(right.bytes().map(|byte| byte.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_values_are_not() {
        let mut context = Context::new();
        context.insert("aws:PrincipalTag/Dept", "Eng");
        assert_eq!(
            context.get("AWS:principaltag/dept").map(<[_]>::len),
            Some(1)
        );
        assert_eq!(
            context
                .get("aws:principaltag/dept")
                .and_then(<[_]>::first)
                .map(|v| &**v),
            Some("Eng")
        );
        context.insert("AWS:PRINCIPALTAG/DEPT", "Ops");
        assert_eq!(context.iter().count(), 1, "the same key, replaced");
    }

    #[test]
    fn non_ascii_keys_are_case_insensitive_too() {
        let mut context = Context::new();
        context.insert("aws:PrincipalTag/Ünit", "a");
        context.insert("aws:PrincipalTag/Zone", "b");
        assert_eq!(
            context
                .get("aws:principaltag/ünit")
                .and_then(<[_]>::first)
                .map(|v| &**v),
            Some("a")
        );
        assert_eq!(
            context
                .lookup(&KeyName::new("AWS:PRINCIPALTAG/ÜNIT"))
                .map(<[_]>::len),
            Some(1)
        );
        assert!(context.get("aws:principaltag/zone").is_some());
    }

    #[test]
    fn an_empty_value_list_is_an_absent_key() {
        let mut context = Context::new();
        context.insert_many("aws:TagKeys", Vec::<&str>::new());
        assert!(context.get("aws:TagKeys").is_none());
        context.insert_many("aws:TagKeys", ["a", "b"]);
        assert_eq!(context.get("aws:tagkeys").map(<[_]>::len), Some(2));
        context.remove("AWS:TagKeys");
        assert!(context.get("aws:TagKeys").is_none());
    }
}
