//! The value index at one path of the [`crate::Machine`]: given a leaf, which conditions it
//! satisfies, in time that depends on the leaf and on the number of conditions it satisfies,
//! not on how many conditions the path carries. Exact values sit in hash maps, prefixes and
//! suffixes in byte tries walked over the leaf's bytes, numeric ranges in slots and a segment
//! tree over their sorted boundaries. Only the filters with no useful order (`anything-but`,
//! `wildcard`, `cidr`, `exists`) are scanned.
//!
//! With thousands of rules the tables outgrow the processor's first-level cache, and what a
//! lookup costs is mostly the cache lines it touches. So the structures lookups read are laid
//! out for that, built on the first lookup after a change: the trie packed into one array in
//! depth-first order, the boundaries in a search tree of cache-line blocks, the slots' lists in
//! one allocation, and a key's single condition kept inline in its hash entry.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::matcher::{Bound, Leaf, Literal, Matcher, NumericRange};

/// One condition of one compiled branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CondRef {
    pub(crate) branch: u32,
    pub(crate) condition: u32,
}

#[derive(Debug, Default)]
pub(crate) struct ValueIndex {
    strings: HashMap<Box<str>, Conds>,
    /// How many conditions (anchors or not) name each exact string: how crowded its entry
    /// would be if every rule naming it were found by it.
    mentions: HashMap<String, usize>,
    trues: Vec<CondRef>,
    falses: Vec<CondRef>,
    nulls: Vec<CondRef>,
    ignore_case: HashMap<Box<str>, Conds>,
    prefixes: Trie,
    prefixes_ignore_case: Trie,
    suffixes: Trie,
    suffixes_ignore_case: Trie,
    numeric: Vec<(NumericRange, CondRef)>,
    /// Built on the first lookup after a change: building it per added rule would make
    /// loading n rules cost n².
    numeric_index: OnceLock<RangeIndex>,
    scanned: Vec<(Matcher, CondRef)>,
}

impl ValueIndex {
    pub(crate) fn insert(&mut self, matcher: &Matcher, cond: CondRef) {
        self.place(matcher, cond, true);
    }

    pub(crate) fn remove(&mut self, matcher: &Matcher, cond: CondRef) {
        self.place(matcher, cond, false);
    }

    /// Counts (or, with `add` false, uncounts) a condition naming `matcher`.
    pub(crate) fn mention(&mut self, matcher: &Matcher, add: bool) {
        let Matcher::Exact(Literal::Str(text)) = matcher else {
            return;
        };
        if add {
            *self.mentions.entry(text.clone()).or_default() += 1;
        } else if let Some(count) = self.mentions.get_mut(text) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.mentions.remove(text);
            }
        }
    }

    /// The conditions found by the exact string `matcher` names, if it names one.
    pub(crate) fn anchored_at(&self, matcher: &Matcher) -> &[CondRef] {
        match matcher {
            Matcher::Exact(Literal::Str(text)) => {
                self.strings.get(text.as_str()).map_or(&[], Conds::as_slice)
            }
            _ => &[],
        }
    }

    /// About how many conditions a value reaching `matcher`'s entry would report: what the
    /// machine minimizes when it picks the condition a branch is found by. The filters that
    /// are scanned cost every value at the path, so they come last.
    pub(crate) fn load(&self, matcher: &Matcher) -> usize {
        const SCANNED: usize = 1 << 20;
        match matcher {
            Matcher::Exact(Literal::Str(text)) => self.mentions.get(text).copied().unwrap_or(0),
            Matcher::Exact(Literal::Bool(true)) => self.trues.len(),
            Matcher::Exact(Literal::Bool(false)) => self.falses.len(),
            Matcher::Exact(Literal::Null) => self.nulls.len(),
            Matcher::EqualsIgnoreCase(lower) => self
                .ignore_case
                .get(lower.as_str())
                .map_or(0, |conds| conds.as_slice().len()),
            Matcher::Prefix(prefix) => self.prefixes.load(prefix.bytes()),
            Matcher::PrefixIgnoreCase(prefix) => self.prefixes_ignore_case.load(prefix.bytes()),
            Matcher::Suffix(suffix) => self.suffixes.load(suffix.bytes().rev()),
            Matcher::SuffixIgnoreCase(suffix) => {
                self.suffixes_ignore_case.load(suffix.bytes().rev())
            }
            Matcher::Exact(Literal::Num(number)) => self.overlapping(&NumericRange::point(*number)),
            Matcher::Numeric(range) => self.overlapping(range),
            Matcher::Exists
            | Matcher::Wildcard(_)
            | Matcher::Cidr(_)
            | Matcher::AnythingBut(_)
            | Matcher::AnythingButPrefix(_)
            | Matcher::AnythingButSuffix(_)
            | Matcher::AnythingButIgnoreCase(_)
            | Matcher::AnythingButWildcard(_) => SCANNED + self.scanned.len(),
        }
    }

    fn overlapping(&self, range: &NumericRange) -> usize {
        self.numeric
            .iter()
            .filter(|(other, _)| other.overlaps(range))
            .count()
    }

    /// Calls `found` with every condition `leaf` satisfies (a condition may come more than
    /// once).
    pub(crate) fn lookup(&self, leaf: Leaf<'_>, found: &mut impl FnMut(CondRef)) {
        match leaf {
            Leaf::Str(text) => {
                if let Some(conds) = self.strings.get(text) {
                    report(conds.as_slice(), found);
                }
                self.prefixes.visit(text.bytes(), found);
                self.suffixes.visit(text.bytes().rev(), found);
                if !(self.ignore_case.is_empty()
                    && self.prefixes_ignore_case.is_empty()
                    && self.suffixes_ignore_case.is_empty())
                {
                    let lower = text.to_lowercase();
                    if let Some(conds) = self.ignore_case.get(lower.as_str()) {
                        report(conds.as_slice(), found);
                    }
                    self.prefixes_ignore_case.visit(lower.bytes(), found);
                    self.suffixes_ignore_case.visit(lower.bytes().rev(), found);
                }
            }
            Leaf::Num(number) => {
                if !self.numeric.is_empty() {
                    self.numeric_index
                        .get_or_init(|| RangeIndex::build(&self.numeric))
                        .visit(number, found);
                }
            }
            Leaf::Bool(true) => report(&self.trues, found),
            Leaf::Bool(false) => report(&self.falses, found),
            Leaf::Null => report(&self.nulls, found),
        }
        for (matcher, cond) in &self.scanned {
            if matcher.matches(leaf) {
                found(*cond);
            }
        }
    }

    fn place(&mut self, matcher: &Matcher, cond: CondRef, add: bool) {
        match matcher {
            Matcher::Exact(Literal::Str(text)) => place_keyed(&mut self.strings, text, cond, add),
            Matcher::Exact(Literal::Bool(true)) => place_in(&mut self.trues, cond, add),
            Matcher::Exact(Literal::Bool(false)) => place_in(&mut self.falses, cond, add),
            Matcher::Exact(Literal::Null) => place_in(&mut self.nulls, cond, add),
            Matcher::EqualsIgnoreCase(lower) => {
                place_keyed(&mut self.ignore_case, lower, cond, add);
            }
            Matcher::Prefix(prefix) => self.prefixes.place(prefix.bytes(), cond, add),
            Matcher::PrefixIgnoreCase(prefix) => {
                self.prefixes_ignore_case.place(prefix.bytes(), cond, add);
            }
            Matcher::Suffix(suffix) => self.suffixes.place(suffix.bytes().rev(), cond, add),
            Matcher::SuffixIgnoreCase(suffix) => {
                self.suffixes_ignore_case
                    .place(suffix.bytes().rev(), cond, add);
            }
            Matcher::Exact(Literal::Num(number)) => {
                self.place_range(NumericRange::point(*number), cond, add);
            }
            Matcher::Numeric(range) => self.place_range(*range, cond, add),
            Matcher::Exists
            | Matcher::Wildcard(_)
            | Matcher::Cidr(_)
            | Matcher::AnythingBut(_)
            | Matcher::AnythingButPrefix(_)
            | Matcher::AnythingButSuffix(_)
            | Matcher::AnythingButIgnoreCase(_)
            | Matcher::AnythingButWildcard(_) => {
                if add {
                    self.scanned.push((matcher.clone(), cond));
                } else {
                    self.scanned.retain(|(_, entry)| *entry != cond);
                }
            }
        }
    }

    fn place_range(&mut self, range: NumericRange, cond: CondRef, add: bool) {
        if add {
            self.numeric.push((range, cond));
        } else {
            self.numeric.retain(|(_, entry)| *entry != cond);
        }
        self.numeric_index = OnceLock::new();
    }
}

fn report(conds: &[CondRef], found: &mut impl FnMut(CondRef)) {
    conds.iter().copied().for_each(found);
}

fn place_in(conds: &mut Vec<CondRef>, cond: CondRef, add: bool) {
    if add {
        conds.push(cond);
    } else {
        conds.retain(|entry| *entry != cond);
    }
}

fn place_keyed(map: &mut HashMap<Box<str>, Conds>, key: &str, cond: CondRef, add: bool) {
    if add {
        match map.get_mut(key) {
            Some(conds) => conds.push(cond),
            None => {
                map.insert(key.into(), Conds::One(cond));
            }
        }
    } else if let Some(conds) = map.get_mut(key)
        && conds.remove(cond)
    {
        map.remove(key);
    }
}

/// The conditions at one exact key. Most keys have one, kept inline: a lookup that finds it
/// reads no second allocation.
#[derive(Debug)]
enum Conds {
    One(CondRef),
    Many(Vec<CondRef>),
}

impl Conds {
    fn as_slice(&self) -> &[CondRef] {
        match self {
            Self::One(cond) => std::slice::from_ref(cond),
            Self::Many(conds) => conds,
        }
    }

    fn push(&mut self, cond: CondRef) {
        match self {
            Self::One(first) => *self = Self::Many(vec![*first, cond]),
            Self::Many(conds) => conds.push(cond),
        }
    }

    /// Removes `cond`; whether none are left.
    fn remove(&mut self, cond: CondRef) -> bool {
        match self {
            Self::One(only) => *only == cond,
            Self::Many(conds) => {
                conds.retain(|entry| *entry != cond);
                conds.is_empty()
            }
        }
    }
}

/// A byte trie whose nodes carry the conditions of the keys ending there; visiting a text
/// reports the conditions of every key that is a prefix of it.
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<TrieNode>,
    /// Built on the first visit after a change, as the numeric index is.
    packed: OnceLock<PackedTrie>,
}

#[derive(Debug, Default)]
struct TrieNode {
    /// Sorted by byte.
    edges: Vec<(u8, u32)>,
    conds: Vec<CondRef>,
}

impl Trie {
    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many conditions already sit at `key`.
    fn load(&self, key: impl Iterator<Item = u8>) -> usize {
        let mut current = 0usize;
        for byte in key {
            let next = self.nodes.get(current).and_then(|node| {
                node.edges
                    .binary_search_by_key(&byte, |&(edge, _)| edge)
                    .ok()
                    .and_then(|position| node.edges.get(position))
                    .map(|&(_, next)| next as usize)
            });
            match next {
                Some(next) => current = next,
                None => return 0,
            }
        }
        self.nodes.get(current).map_or(0, |node| node.conds.len())
    }

    fn place(&mut self, key: impl Iterator<Item = u8>, cond: CondRef, add: bool) {
        self.packed = OnceLock::new();
        if self.nodes.is_empty() {
            if !add {
                return;
            }
            self.nodes.push(TrieNode::default());
        }
        let mut current = 0usize;
        for byte in key {
            let Some(node) = self.nodes.get(current) else {
                return;
            };
            match node.edges.binary_search_by_key(&byte, |&(edge, _)| edge) {
                Ok(position) => {
                    current = node
                        .edges
                        .get(position)
                        .map_or(0, |&(_, next)| next as usize);
                }
                Err(_) if !add => return,
                Err(position) => {
                    let next = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    if let Some(node) = self.nodes.get_mut(current) {
                        node.edges.insert(position, (byte, next as u32));
                    }
                    current = next;
                }
            }
        }
        if let Some(node) = self.nodes.get_mut(current) {
            place_in(&mut node.conds, cond, add);
        }
    }

    fn visit(&self, text: impl Iterator<Item = u8>, found: &mut impl FnMut(CondRef)) {
        if self.nodes.is_empty() {
            return;
        }
        self.packed
            .get_or_init(|| PackedTrie::pack(&self.nodes))
            .visit(text, found);
    }
}

/// The trie laid out for lookups in one byte array, each node one record: its edge count and
/// condition count (`u32`s), its sorted edge bytes, its children's record offsets (`u32`s), and
/// its conditions as (branch, condition) pairs. A step down the trie then reads one or two cache
/// lines, where a node with its edges and conditions in separate allocations costs three, and
/// records are in depth-first order, so a node's first child follows it. With many keys most
/// steps leave the cache, so this is what keeps long prefixes cheap at 10,000 rules.
#[derive(Debug)]
struct PackedTrie {
    bytes: Vec<u8>,
}

impl PackedTrie {
    fn pack(nodes: &[TrieNode]) -> Self {
        let mut bytes = Vec::new();
        let mut pending = vec![(0usize, None::<usize>)];
        while let Some((node, parent_slot)) = pending.pop() {
            let Some(trie_node) = nodes.get(node) else {
                continue;
            };
            let offset = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            if let Some(slot) = parent_slot.and_then(|slot| bytes.get_mut(slot..slot + 4)) {
                slot.copy_from_slice(&offset.to_le_bytes());
            }
            let edges = trie_node.edges.len();
            let count = |len: usize| u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
            bytes.extend(count(edges));
            bytes.extend(count(trie_node.conds.len()));
            bytes.extend(trie_node.edges.iter().map(|&(edge, _)| edge));
            let children = bytes.len();
            bytes.resize(children + 4 * edges, 0);
            for cond in &trie_node.conds {
                bytes.extend(cond.branch.to_le_bytes());
                bytes.extend(cond.condition.to_le_bytes());
            }
            // Pushed last to first, so the first child is packed next, right after this node.
            for (position, &(_, child)) in trie_node.edges.iter().enumerate().rev() {
                pending.push((child as usize, Some(children + 4 * position)));
            }
        }
        Self { bytes }
    }

    fn word(&self, at: usize) -> Option<u32> {
        let word = self.bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes(word.try_into().ok()?))
    }

    fn visit(&self, mut text: impl Iterator<Item = u8>, found: &mut impl FnMut(CondRef)) {
        let mut at = 0usize;
        loop {
            let (Some(edges), Some(conds)) = (self.word(at), self.word(at + 4)) else {
                return;
            };
            let (edges, conds) = (edges as usize, conds as usize);
            let children = at + 8 + edges;
            let pairs = children + 4 * edges;
            for pair in (0..conds).map(|index| pairs + 8 * index) {
                if let (Some(branch), Some(condition)) = (self.word(pair), self.word(pair + 4)) {
                    found(CondRef { branch, condition });
                }
            }
            let Some(byte) = text.next() else { return };
            let edge_bytes = self.bytes.get(at + 8..children).unwrap_or(&[]);
            let Ok(position) = edge_bytes.binary_search(&byte) else {
                return;
            };
            let Some(next) = self.word(children + 4 * position) else {
                return;
            };
            at = next as usize;
        }
    }
}

/// Numeric ranges over the slots their boundaries cut the number line into (slot `2i + 1` is
/// boundary `i` itself, slot `2i` the open interval below it). A range covering a few slots is
/// listed in each of them, so the common narrow range costs one list read; a wider one goes in
/// a segment tree, where it takes O(log n) nodes and a lookup reads one root-to-leaf path.
#[derive(Debug)]
struct RangeIndex {
    boundaries: Boundaries,
    /// Slot `i` lists `slot_conds[slot_starts[i]..slot_starts[i + 1]]`: one allocation for
    /// all the lists, rather than one per slot scattered over the heap.
    slot_starts: Vec<u32>,
    slot_conds: Vec<CondRef>,
    leaves: usize,
    /// Empty when no range is wide.
    tree: Vec<Vec<CondRef>>,
}

/// The widest range, in slots, listed slot by slot rather than in the tree.
const NARROW_SLOTS: usize = 4;

impl RangeIndex {
    fn build(ranges: &[(NumericRange, CondRef)]) -> Self {
        let mut boundaries: Vec<f64> = ranges
            .iter()
            .flat_map(|(range, _)| [range.lower, range.upper])
            .filter_map(|bound| match bound {
                Bound::Inclusive(value) | Bound::Exclusive(value) => Some(value),
                Bound::Unbounded => None,
            })
            .collect();
        boundaries.sort_by(f64::total_cmp);
        boundaries.dedup();
        let slot_count = 2 * boundaries.len() + 1;
        let leaves = slot_count.next_power_of_two();
        let mut index = Self {
            boundaries: Boundaries::new(boundaries),
            slot_starts: Vec::new(),
            slot_conds: Vec::new(),
            leaves,
            tree: Vec::new(),
        };
        let mut lists = vec![Vec::new(); slot_count];
        for (range, cond) in ranges {
            let first = match range.lower {
                Bound::Unbounded => 0,
                Bound::Inclusive(value) => index.slot(value),
                Bound::Exclusive(value) => index.slot(value) + 1,
            };
            let last = match range.upper {
                Bound::Unbounded => slot_count - 1,
                Bound::Inclusive(value) => index.slot(value),
                Bound::Exclusive(value) => index.slot(value).saturating_sub(1),
            };
            if first > last {
                continue;
            }
            if last - first < NARROW_SLOTS {
                for list in lists.get_mut(first..=last).into_iter().flatten() {
                    list.push(*cond);
                }
            } else {
                index.insert_wide(first, last, *cond);
            }
        }
        index.slot_starts.reserve(slot_count + 1);
        for list in &lists {
            let start = u32::try_from(index.slot_conds.len()).unwrap_or(u32::MAX);
            index.slot_starts.push(start);
            index.slot_conds.extend_from_slice(list);
        }
        let end = u32::try_from(index.slot_conds.len()).unwrap_or(u32::MAX);
        index.slot_starts.push(end);
        index
    }

    fn slot(&self, number: f64) -> usize {
        let (position, equal) = self.boundaries.position(number);
        if equal {
            2 * position + 1
        } else {
            2 * position
        }
    }

    /// Stores `cond` in the canonical tree nodes covering slots `first..=last`.
    fn insert_wide(&mut self, first: usize, last: usize, cond: CondRef) {
        if self.tree.is_empty() {
            self.tree = vec![Vec::new(); 2 * self.leaves];
        }
        let mut low = first + self.leaves;
        let mut high = last + self.leaves + 1;
        while low < high {
            if low & 1 == 1 {
                if let Some(node) = self.tree.get_mut(low) {
                    node.push(cond);
                }
                low += 1;
            }
            if high & 1 == 1 {
                high -= 1;
                if let Some(node) = self.tree.get_mut(high) {
                    node.push(cond);
                }
            }
            low >>= 1;
            high >>= 1;
        }
    }

    fn visit(&self, number: f64, found: &mut impl FnMut(CondRef)) {
        let slot = self.slot(number);
        if let (Some(&start), Some(&end)) =
            (self.slot_starts.get(slot), self.slot_starts.get(slot + 1))
            && let Some(conds) = self.slot_conds.get(start as usize..end as usize)
        {
            report(conds, found);
        }
        if self.tree.is_empty() {
            return;
        }
        let mut node = slot + self.leaves;
        while node >= 1 {
            if let Some(conds) = self.tree.get(node) {
                report(conds, found);
            }
            node >>= 1;
        }
    }
}

/// Keys searched per block: eight `f64`s are one cache line.
const BLOCK: usize = 8;

/// Sorted numeric boundaries in a static search tree of blocks of [`BLOCK`]: each level above
/// the sorted boundaries holds the largest key of every block below it, padded with infinity.
/// A search reads one block per level, counting the keys below the number without branching
/// on them, so at 10,000 rules it touches four or five cache lines, the upper ones shared by
/// every lookup, where a binary search touches a dozen and mispredicts about half its steps.
#[derive(Debug)]
struct Boundaries {
    /// Root level first; the last level is the boundaries themselves.
    levels: Vec<Vec<f64>>,
    count: usize,
}

impl Boundaries {
    /// `sorted` holds distinct finite numbers in ascending order.
    fn new(sorted: Vec<f64>) -> Self {
        let count = sorted.len();
        let mut level = sorted;
        let mut levels = Vec::new();
        loop {
            level.resize(level.len().div_ceil(BLOCK).max(1) * BLOCK, f64::INFINITY);
            let above: Vec<f64> = level
                .chunks_exact(BLOCK)
                .filter_map(|block| block.last().copied())
                .collect();
            let done = above.len() == 1;
            levels.push(level);
            if done {
                break;
            }
            level = above;
        }
        levels.reverse();
        Self { levels, count }
    }

    /// How many boundaries are below `number` (never NaN), and whether the next one equals it.
    fn position(&self, number: f64) -> (usize, bool) {
        let mut block = 0usize;
        let mut next = None;
        for level in &self.levels {
            let Some(keys) = level.get(block * BLOCK..(block + 1) * BLOCK) else {
                return (self.count, false);
            };
            let below = keys.iter().filter(|&&key| key < number).count();
            next = keys.get(below).copied();
            block = block * BLOCK + below;
        }
        let position = block.min(self.count);
        (position, position < self.count && next == Some(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_search_agrees_with_a_binary_search() {
        for count in [0, 1, 7, 8, 9, 63, 64, 65, 600] {
            let sorted: Vec<f64> = (0..count).map(|index| f64::from(index) * 2.0).collect();
            let search = Boundaries::new(sorted.clone());
            for probe in -2..=(2 * count + 2) {
                // Even probes land on boundaries, odd ones between them.
                let number = f64::from(probe);
                let position = sorted.partition_point(|&boundary| boundary < number);
                let equal = sorted.get(position) == Some(&number);
                assert_eq!(
                    search.position(number),
                    (position, equal),
                    "{count} {number}"
                );
            }
        }
    }

    #[test]
    fn packed_trie_reports_every_key_that_prefixes_the_text() {
        let mut trie = Trie::default();
        let cond = |branch| CondRef {
            branch,
            condition: 0,
        };
        for (branch, key) in ["", "a", "ab", "abc", "b", "abd"].iter().enumerate() {
            trie.place(key.bytes(), cond(u32::try_from(branch).unwrap()), true);
        }
        let visit = |trie: &Trie, text: &str| {
            let mut found = Vec::new();
            trie.visit(text.bytes(), &mut |cond: CondRef| found.push(cond.branch));
            found
        };
        assert_eq!(visit(&trie, "abcz"), [0, 1, 2, 3]);
        assert_eq!(visit(&trie, "b"), [0, 4]);
        trie.place("ab".bytes(), cond(2), false);
        assert_eq!(visit(&trie, "abd"), [0, 1, 5]);
    }
}
