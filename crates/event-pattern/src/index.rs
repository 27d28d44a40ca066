//! The value index at one path of the [`crate::Machine`]: given a leaf, which conditions it
//! satisfies, in time that depends on the leaf and on the number of conditions it satisfies,
//! not on how many conditions the path carries. Exact values sit in hash maps, prefixes and
//! suffixes in byte tries, numeric ranges in a segment tree over their sorted boundaries. Only
//! the filters with no useful order (`anything-but`, `wildcard`, `cidr`, `exists`) are scanned.

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
    strings: HashMap<String, Vec<CondRef>>,
    /// How many conditions (anchors or not) name each exact string: how crowded its entry
    /// would be if every rule naming it were found by it.
    mentions: HashMap<String, usize>,
    trues: Vec<CondRef>,
    falses: Vec<CondRef>,
    nulls: Vec<CondRef>,
    ignore_case: HashMap<String, Vec<CondRef>>,
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
            Matcher::Exact(Literal::Str(text)) => self.strings.get(text).map_or(&[], Vec::as_slice),
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
            Matcher::EqualsIgnoreCase(lower) => self.ignore_case.get(lower).map_or(0, Vec::len),
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
        let mut report = |conds: &[CondRef]| conds.iter().copied().for_each(&mut *found);
        match leaf {
            Leaf::Str(text) => {
                if let Some(conds) = self.strings.get(text) {
                    report(conds);
                }
                self.prefixes.visit(text.bytes(), &mut report);
                self.suffixes.visit(text.bytes().rev(), &mut report);
                if !(self.ignore_case.is_empty()
                    && self.prefixes_ignore_case.is_empty()
                    && self.suffixes_ignore_case.is_empty())
                {
                    let lower = text.to_lowercase();
                    if let Some(conds) = self.ignore_case.get(&lower) {
                        report(conds);
                    }
                    self.prefixes_ignore_case.visit(lower.bytes(), &mut report);
                    self.suffixes_ignore_case
                        .visit(lower.bytes().rev(), &mut report);
                }
            }
            Leaf::Num(number) => {
                if !self.numeric.is_empty() {
                    self.numeric_index
                        .get_or_init(|| RangeIndex::build(&self.numeric))
                        .visit(number, &mut report);
                }
            }
            Leaf::Bool(true) => report(&self.trues),
            Leaf::Bool(false) => report(&self.falses),
            Leaf::Null => report(&self.nulls),
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

fn place_in(conds: &mut Vec<CondRef>, cond: CondRef, add: bool) {
    if add {
        conds.push(cond);
    } else {
        conds.retain(|entry| *entry != cond);
    }
}

fn place_keyed(map: &mut HashMap<String, Vec<CondRef>>, key: &str, cond: CondRef, add: bool) {
    if add {
        map.entry(key.to_owned()).or_default().push(cond);
    } else if let Some(conds) = map.get_mut(key) {
        conds.retain(|entry| *entry != cond);
        if conds.is_empty() {
            map.remove(key);
        }
    }
}

/// A byte trie whose nodes carry the conditions of the keys ending there; visiting a text
/// reports the conditions of every key that is a prefix of it.
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<TrieNode>,
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

    fn visit(&self, text: impl Iterator<Item = u8>, report: &mut impl FnMut(&[CondRef])) {
        let Some(mut node) = self.nodes.first() else {
            return;
        };
        report(&node.conds);
        for byte in text {
            let Ok(position) = node.edges.binary_search_by_key(&byte, |&(edge, _)| edge) else {
                return;
            };
            let next = node.edges.get(position).map(|&(_, next)| next as usize);
            let Some(child) = next.and_then(|next| self.nodes.get(next)) else {
                return;
            };
            node = child;
            report(&node.conds);
        }
    }
}

/// Numeric ranges over the slots their boundaries cut the number line into (slot `2i + 1` is
/// boundary `i` itself, slot `2i` the open interval below it). A range covering a few slots is
/// listed in each of them, so the common narrow range costs one list read; a wider one goes in
/// a segment tree, where it takes O(log n) nodes and a lookup reads one root-to-leaf path.
#[derive(Debug)]
struct RangeIndex {
    boundaries: Vec<f64>,
    slots: Vec<Vec<CondRef>>,
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
            boundaries,
            slots: vec![Vec::new(); slot_count],
            leaves,
            tree: Vec::new(),
        };
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
                for slot in index.slots.get_mut(first..=last).into_iter().flatten() {
                    slot.push(*cond);
                }
            } else {
                index.insert_wide(first, last, *cond);
            }
        }
        index
    }

    fn slot(&self, number: f64) -> usize {
        // Boundaries and looked-up numbers are never NaN, and -0.0 is stored as 0.0.
        let position = self
            .boundaries
            .partition_point(|boundary| *boundary < number);
        if self.boundaries.get(position) == Some(&number) {
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

    fn visit(&self, number: f64, report: &mut impl FnMut(&[CondRef])) {
        let slot = self.slot(number);
        if let Some(conds) = self.slots.get(slot) {
            report(conds);
        }
        if self.tree.is_empty() {
            return;
        }
        let mut node = slot + self.leaves;
        while node >= 1 {
            if let Some(conds) = self.tree.get(node) {
                report(conds);
            }
            node >>= 1;
        }
    }
}
