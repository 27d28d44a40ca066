//! The exact strings patterns name at one path, interned. Each gets an id, which a lookup hands
//! back with the branches the string anchors: a candidate's other conditions on exact strings
//! are then settled by comparing the id of the leaf at their path with theirs, without reading
//! the string a pattern named.
//!
//! A lookup reads one slot of an open-addressing table, and a slot is half a cache line that
//! holds all a lookup needs when the key is short and anchors at most one branch: the key's
//! hash, its id, that branch, its length and its bytes (up to 16, as two words, [`Words`]).
//! Only a longer key's bytes, and the list of a key anchoring several branches, sit elsewhere.

use std::hash::{BuildHasher, RandomState};

/// No id and no branch: the id of an empty slot, or of a leaf whose text no pattern names.
pub(crate) const NONE: u32 = u32::MAX;

/// A slot's `anchor` when its key anchors several branches: they are in its entry.
const MANY: u32 = u32::MAX - 1;

/// The longest key its slot holds whole.
const SHORT: usize = 16;

#[derive(Debug)]
pub(crate) struct Strings {
    /// A power of two in length (or empty), at most half full so that probes stay short.
    slots: Vec<Slot>,
    /// By id.
    entries: Vec<Option<Entry>>,
    free_ids: Vec<u32>,
    len: usize,
    /// Random per table, so that which values collide cannot be known in advance.
    seeds: [u64; 2],
}

impl Default for Strings {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            entries: Vec::new(),
            free_ids: Vec::new(),
            len: 0,
            seeds: [0u8, 1].map(|index| RandomState::new().hash_one(index)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    hash: u32,
    /// [`NONE`] when the slot is empty.
    id: u32,
    /// [`NONE`], the one branch the key anchors, or [`MANY`].
    anchor: u32,
    len: u32,
    words: Words,
}

const EMPTY: Slot = Slot {
    hash: 0,
    id: NONE,
    anchor: NONE,
    len: 0,
    words: [0; 2],
};

/// Two words read from a text: its first and last eight bytes, overlapping when it is shorter
/// than sixteen; below eight bytes, its first and last four; below four, its first, middle and
/// last byte. With the length they determine a text of up to [`SHORT`] bytes. They are read
/// straight from the text: copying it into a padded buffer and reading that back would stall
/// each lookup on store forwarding.
type Words = [u64; 2];

/// What loading needs of a key; matching reads it only for a long key or several anchors.
#[derive(Debug)]
struct Entry {
    text: Box<str>,
    hash: u32,
    /// How many conditions name the key, anchors or not.
    mentions: usize,
    /// The branches the key anchors.
    anchors: Vec<u32>,
}

impl Strings {
    /// The key's id and the branches it anchors; [`NONE`] and none when no pattern names it.
    pub(crate) fn lookup(&self, text: &str) -> (u32, &[u32]) {
        if self.len == 0 {
            return (NONE, &[]); // spares hashing the text
        }
        let words = words(text.as_bytes());
        let hash = self.hash(text, words);
        let Some(slot) = self
            .find(text, words, hash)
            .ok()
            .and_then(|at| self.slots.get(at))
        else {
            return (NONE, &[]);
        };
        let anchors = match slot.anchor {
            NONE => &[],
            MANY => self.entry(slot.id).map_or(&[][..], |entry| &entry.anchors),
            _ => std::slice::from_ref(&slot.anchor),
        };
        (slot.id, anchors)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn id(&self, text: &str) -> u32 {
        self.lookup(text).0
    }

    /// How many conditions name `text`: how crowded its entry would be if every branch naming
    /// it were found by it.
    pub(crate) fn mentions(&self, text: &str) -> usize {
        self.entry(self.id(text)).map_or(0, |entry| entry.mentions)
    }

    pub(crate) fn anchors(&self, text: &str) -> &[u32] {
        self.lookup(text).1
    }

    /// Counts (or, with `add` false, uncounts) a condition naming `text`.
    pub(crate) fn mention(&mut self, text: &str, add: bool) {
        let id = if add {
            self.intern(text)
        } else {
            self.id(text)
        };
        if let Some(entry) = self.entry_mut(id) {
            if add {
                entry.mentions += 1;
            } else {
                entry.mentions = entry.mentions.saturating_sub(1);
            }
        }
        self.forget_if_unused(id);
    }

    /// Adds (or removes) `branch` among those `text` anchors.
    pub(crate) fn place(&mut self, text: &str, branch: u32, add: bool) {
        let id = if add {
            self.intern(text)
        } else {
            self.id(text)
        };
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        if add {
            entry.anchors.push(branch);
        } else {
            entry.anchors.retain(|&anchored| anchored != branch);
        }
        let anchor = match entry.anchors.as_slice() {
            [] => NONE,
            &[only] if only < MANY => only,
            _ => MANY,
        };
        let hash = entry.hash;
        if let Some(at) = self.slot_of(hash, id)
            && let Some(slot) = self.slots.get_mut(at)
        {
            slot.anchor = anchor;
        }
        self.forget_if_unused(id);
    }

    /// A seeded hash: the words of the text folded in by full multiplications (whose high
    /// halves depend on every bit of both factors), a few instructions where SipHash costs
    /// well over a hundred for the short values patterns name. Every string leaf at a path
    /// patterns name exactly is hashed.
    fn hash(&self, text: &str, [first, last]: Words) -> u32 {
        let [seed, other_seed] = self.seeds;
        let bytes = text.as_bytes();
        let mut state = seed ^ bytes.len() as u64;
        if bytes.len() > SHORT {
            for chunk in bytes.chunks_exact(8) {
                state = fold(
                    state ^ chunk.try_into().map_or(0, u64::from_le_bytes),
                    other_seed,
                );
            }
        }
        // The low half, which the table indexes by, depends on every bit of the state.
        fold(state ^ first, last ^ other_seed) as u32
    }

    fn entry(&self, id: u32) -> Option<&Entry> {
        self.entries.get(id as usize).and_then(Option::as_ref)
    }

    fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        self.entries.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// The slot holding `text`, or the empty slot where it would go.
    fn find(&self, text: &str, words: Words, hash: u32) -> Result<usize, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let len = text.len();
        let mut at = hash as usize & mask;
        loop {
            let Some(slot) = self.slots.get(at) else {
                return Err(at); // no table yet
            };
            if slot.id == NONE {
                return Err(at);
            }
            if slot.hash == hash
                && slot.len as usize == len
                && slot.words == words
                && (len <= SHORT
                    || self
                        .entry(slot.id)
                        .is_some_and(|entry| *entry.text == *text))
            {
                return Ok(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// The id of `text`, entered if it is new.
    fn intern(&mut self, text: &str) -> u32 {
        let words = words(text.as_bytes());
        let hash = self.hash(text, words);
        if let Ok(at) = self.find(text, words, hash) {
            return self.slots.get(at).map_or(NONE, |slot| slot.id);
        }
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let id = self.free_ids.pop().unwrap_or_else(|| {
            self.entries.push(None);
            u32::try_from(self.entries.len() - 1).unwrap_or(NONE)
        });
        if let Some(entry) = self.entries.get_mut(id as usize) {
            *entry = Some(Entry {
                text: text.into(),
                hash,
                mentions: 0,
                anchors: Vec::new(),
            });
        }
        let slot = Slot {
            hash,
            id,
            anchor: NONE,
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
            words,
        };
        if let Err(at) = self.find(text, words, hash)
            && let Some(empty) = self.slots.get_mut(at)
        {
            *empty = slot;
        }
        self.len += 1;
        id
    }

    /// Drops `text` once no condition names it and it anchors nothing.
    fn forget_if_unused(&mut self, id: u32) {
        if self
            .entry(id)
            .is_none_or(|entry| entry.mentions > 0 || !entry.anchors.is_empty())
        {
            return;
        }
        let Some(Some(entry)) = self.entries.get_mut(id as usize).map(Option::take) else {
            return;
        };
        self.free_ids.push(id);
        self.len -= 1;
        if let Some(at) = self.slot_of(entry.hash, id) {
            self.vacate(at);
        }
    }

    /// The slot of the key `id`, found by its id: its entry, with its text, may be gone.
    fn slot_of(&self, hash: u32, id: u32) -> Option<usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = hash as usize & mask;
        while let Some(slot) = self.slots.get(at) {
            if slot.id == NONE {
                return None;
            }
            if slot.id == id {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Empties slot `at`, moving back the slots after it that probing would no longer reach.
    fn vacate(&mut self, mut at: usize) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut next = (at + 1) & mask;
        while let Some(&slot) = self.slots.get(next) {
            if slot.id == NONE {
                break;
            }
            let home = slot.hash as usize & mask;
            // The slot may fill the hole when the hole lies between its home and where it is.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(at) & mask {
                if let Some(hole) = self.slots.get_mut(at) {
                    *hole = slot;
                }
                at = next;
            }
            next = (next + 1) & mask;
        }
        if let Some(hole) = self.slots.get_mut(at) {
            *hole = EMPTY;
        }
    }

    fn grow(&mut self) {
        let capacity = (2 * self.slots.len()).max(8);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; capacity]);
        let mask = capacity - 1;
        for slot in old.into_iter().filter(|slot| slot.id != NONE) {
            let mut at = slot.hash as usize & mask;
            while let Some(taken) = self.slots.get_mut(at) {
                if taken.id == NONE {
                    *taken = slot;
                    break;
                }
                at = (at + 1) & mask;
            }
        }
    }
}

fn words(bytes: &[u8]) -> Words {
    let len = bytes.len();
    let byte = |at: usize| bytes.get(at).map_or(0, |&byte| u64::from(byte));
    let half = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|half| half.try_into().ok())
            .map_or(0, |half| u64::from(u32::from_le_bytes(half)))
    };
    let word = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|word| word.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    match len {
        0 => [0, 0],
        1..4 => [byte(0) | byte(len / 2) << 8 | byte(len - 1) << 16, 0],
        4..8 => [half(0) | half(len - 4) << 32, 0],
        _ => [word(0), word(len - 8)],
    }
}

/// The two halves of the full product, XORed.
fn fold(left: u64, right: u64) -> u64 {
    let product = u128::from(left) * u128::from(right);
    (product as u64) ^ ((product >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_differing_in_any_byte_are_told_apart() {
        let mut texts = Vec::new();
        for len in 0..=20 {
            let base = "a".repeat(len);
            for at in 0..len {
                let mut bytes = base.clone().into_bytes();
                bytes[at] = b'b';
                texts.push(String::from_utf8(bytes).unwrap());
            }
            texts.push(base);
        }
        let mut strings = Strings::default();
        for text in &texts {
            strings.mention(text, true);
        }
        let mut ids: Vec<u32> = texts.iter().map(|text| strings.id(text)).collect();
        assert!(!ids.contains(&NONE));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), texts.len());
        assert_eq!(strings.id("c"), NONE);
        assert_eq!(strings.id(&"a".repeat(21)), NONE);
    }

    #[test]
    fn interned_strings_keep_their_ids_while_named() {
        let mut strings = Strings::default();
        let long = "EC2 Instance State-change Notification";
        let texts: Vec<String> = (0..100).map(|index| format!("value-{index}")).collect();
        for text in texts.iter().map(String::as_str).chain([long, ""]) {
            strings.mention(text, true);
        }
        let id = strings.id(long);
        assert_ne!(id, NONE);
        assert_eq!(strings.id("EC2 Instance State-change Notificatiom"), NONE);
        strings.place(long, 7, true);
        assert_eq!(strings.lookup(long), (id, &[7][..]));
        strings.place(long, 9, true);
        assert_eq!(strings.anchors(long), [7, 9]);
        for text in texts.iter().step_by(2) {
            strings.mention(text, false);
        }
        assert_eq!(strings.id(long), id);
        assert_eq!(strings.id("value-0"), NONE);
        assert_ne!(strings.id("value-1"), NONE);
        assert_eq!(strings.mentions("value-99"), 1);
        assert_ne!(strings.id(""), NONE);
        // Still anchoring: kept after its last mention, until it anchors nothing.
        strings.mention(long, false);
        assert_eq!(strings.id(long), id);
        strings.place(long, 7, false);
        strings.place(long, 9, false);
        assert_eq!(strings.id(long), NONE);
    }
}
