//! The value index at one path of the [`crate::Machine`]: given a leaf, which branches it
//! anchors, in time that depends on the leaf and on the number of branches it anchors, not on
//! how many the path carries. Exact strings sit in an interning hash table ([`Strings`]),
//! prefixes and suffixes in byte tries walked over the leaf's bytes ([`Trie`]), numeric ranges
//! in slots between their sorted boundaries ([`RangeIndex`]). Only the filters with no useful
//! order (`anything-but`, `wildcard`, `cidr`, `exists`) are scanned.
//!
//! A branch is indexed under one condition, its anchor, and entries hold branch slots: what a
//! lookup reports. With thousands of rules the tables outgrow the processor's first-level
//! cache, and what a lookup costs is mostly the cache lines it touches, so each structure
//! lookups read is laid out to touch few (see each module).

mod numeric;
mod strings;
mod trie;

use std::sync::OnceLock;

use crate::matcher::{Leaf, Literal, Matcher, NumericRange};
use numeric::{RangeEnds, RangeIndex};
use strings::Strings;
use trie::Trie;

pub(crate) use strings::NONE;

#[derive(Debug, Default)]
pub(crate) struct ValueIndex {
    /// Every exact string some condition names here, anchor or not, with its id.
    strings: Strings,
    trues: Vec<u32>,
    falses: Vec<u32>,
    nulls: Vec<u32>,
    ignore_case: Strings,
    prefixes: Trie,
    prefixes_ignore_case: Trie,
    suffixes: Trie,
    suffixes_ignore_case: Trie,
    numeric: Vec<(NumericRange, u32)>,
    numeric_ends: RangeEnds,
    /// Built on the first lookup after a change: building it per added rule would make
    /// loading n rules cost n².
    numeric_index: OnceLock<RangeIndex>,
    scanned: Vec<(Matcher, u32)>,
}

impl ValueIndex {
    /// Indexes `branch` under `matcher`.
    pub(crate) fn insert(&mut self, matcher: &Matcher, branch: u32) {
        self.place(matcher, branch, true);
    }

    pub(crate) fn remove(&mut self, matcher: &Matcher, branch: u32) {
        self.place(matcher, branch, false);
    }

    /// Counts (or, with `add` false, uncounts) a condition naming `matcher`; an exact string
    /// is interned while some condition names it.
    pub(crate) fn mention(&mut self, matcher: &Matcher, add: bool) {
        if let Matcher::Exact(Literal::Str(text)) = matcher {
            self.strings.mention(text, add);
        }
    }

    /// The id of the exact string `text` at this path, while some condition names it: the
    /// id lookups give a leaf with that text.
    pub(crate) fn string_id(&self, text: &str) -> u32 {
        self.strings.id(text)
    }

    /// The branches found by the exact string `matcher` names, if it names one.
    pub(crate) fn anchored_at(&self, matcher: &Matcher) -> &[u32] {
        match matcher {
            Matcher::Exact(Literal::Str(text)) => self.strings.anchors(text),
            _ => &[],
        }
    }

    /// About how many branches a value reaching `matcher`'s entry would report: what the
    /// machine minimizes when it picks the condition a branch is found by. The filters that
    /// are scanned cost every value at the path, so they come last.
    pub(crate) fn load(&self, matcher: &Matcher) -> usize {
        const SCANNED: usize = 1 << 20;
        match matcher {
            Matcher::Exact(Literal::Str(text)) => self.strings.mentions(text),
            Matcher::Exact(Literal::Bool(true)) => self.trues.len(),
            Matcher::Exact(Literal::Bool(false)) => self.falses.len(),
            Matcher::Exact(Literal::Null) => self.nulls.len(),
            Matcher::EqualsIgnoreCase(lower) => self.ignore_case.anchors(lower).len(),
            Matcher::Prefix(prefix) => self.prefixes.load(prefix.bytes()),
            Matcher::PrefixIgnoreCase(prefix) => self.prefixes_ignore_case.load(prefix.bytes()),
            Matcher::Suffix(suffix) => self.suffixes.load(suffix.bytes().rev()),
            Matcher::SuffixIgnoreCase(suffix) => {
                self.suffixes_ignore_case.load(suffix.bytes().rev())
            }
            Matcher::Exact(Literal::Num(number)) => {
                self.numeric_ends.overlapping(&NumericRange::point(*number))
            }
            Matcher::Numeric(range) => self.numeric_ends.overlapping(range),
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

    /// Calls `found` with every branch `leaf` satisfies the anchor of (a branch may come more
    /// than once), and answers the leaf's string id ([`NONE`] unless it is a string some
    /// condition here names exactly).
    pub(crate) fn lookup(&self, leaf: Leaf<'_>, found: &mut impl FnMut(u32)) -> u32 {
        let mut id = NONE;
        match leaf {
            Leaf::Str(text) => {
                let (text_id, anchors) = self.strings.lookup(text);
                id = text_id;
                anchors.iter().copied().for_each(&mut *found);
                self.prefixes.visit(text.bytes(), found);
                self.suffixes.visit(text.bytes().rev(), found);
                if !(self.ignore_case.is_empty()
                    && self.prefixes_ignore_case.is_empty()
                    && self.suffixes_ignore_case.is_empty())
                {
                    let lower = text.to_lowercase();
                    let anchors = self.ignore_case.anchors(&lower);
                    anchors.iter().copied().for_each(&mut *found);
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
            Leaf::Bool(true) => self.trues.iter().copied().for_each(&mut *found),
            Leaf::Bool(false) => self.falses.iter().copied().for_each(&mut *found),
            Leaf::Null => self.nulls.iter().copied().for_each(&mut *found),
        }
        for (matcher, branch) in &self.scanned {
            if matcher.matches(leaf) {
                found(*branch);
            }
        }
        id
    }

    fn place(&mut self, matcher: &Matcher, branch: u32, add: bool) {
        match matcher {
            Matcher::Exact(Literal::Str(text)) => self.strings.place(text, branch, add),
            Matcher::Exact(Literal::Bool(true)) => place_in(&mut self.trues, branch, add),
            Matcher::Exact(Literal::Bool(false)) => place_in(&mut self.falses, branch, add),
            Matcher::Exact(Literal::Null) => place_in(&mut self.nulls, branch, add),
            Matcher::EqualsIgnoreCase(lower) => self.ignore_case.place(lower, branch, add),
            Matcher::Prefix(prefix) => self.prefixes.place(prefix.bytes(), branch, add),
            Matcher::PrefixIgnoreCase(prefix) => {
                self.prefixes_ignore_case.place(prefix.bytes(), branch, add);
            }
            Matcher::Suffix(suffix) => self.suffixes.place(suffix.bytes().rev(), branch, add),
            Matcher::SuffixIgnoreCase(suffix) => {
                self.suffixes_ignore_case
                    .place(suffix.bytes().rev(), branch, add);
            }
            Matcher::Exact(Literal::Num(number)) => {
                self.place_range(NumericRange::point(*number), branch, add);
            }
            Matcher::Numeric(range) => self.place_range(*range, branch, add),
            Matcher::Exists
            | Matcher::Wildcard(_)
            | Matcher::Cidr(_)
            | Matcher::AnythingBut(_)
            | Matcher::AnythingButPrefix(_)
            | Matcher::AnythingButSuffix(_)
            | Matcher::AnythingButIgnoreCase(_)
            | Matcher::AnythingButWildcard(_) => {
                if add {
                    self.scanned.push((matcher.clone(), branch));
                } else {
                    self.scanned.retain(|&(_, placed)| placed != branch);
                }
            }
        }
    }

    fn place_range(&mut self, range: NumericRange, branch: u32, add: bool) {
        if add {
            self.numeric.push((range, branch));
            self.numeric_ends.place(&range, true);
        } else {
            let before = self.numeric.len();
            self.numeric
                .retain(|&(placed_range, placed)| (placed_range, placed) != (range, branch));
            for _ in self.numeric.len()..before {
                self.numeric_ends.place(&range, false);
            }
        }
        self.numeric_index = OnceLock::new();
    }
}

fn place_in(branches: &mut Vec<u32>, branch: u32, add: bool) {
    if add {
        branches.push(branch);
    } else {
        branches.retain(|&placed| placed != branch);
    }
}
