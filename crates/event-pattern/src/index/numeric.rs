//! Numeric ranges at one path: an index that finds the ranges holding a number
//! ([`RangeIndex`], built on the first lookup after a change), and the count loading needs of
//! how many ranges a new one overlaps ([`RangeEnds`]).

use crate::matcher::{Bound, NumericRange};

use super::strings::NONE;

/// Numeric ranges over the slots their boundaries cut the number line into (slot `2i + 1` is
/// boundary `i` itself, slot `2i` the open interval below it, slot `2n` the one above the
/// last). A range covering a few slots is listed in each of them, so the common narrow range
/// costs one slot's read; a wider one goes in a segment tree, where it takes O(log n) nodes and
/// a lookup reads one root-to-leaf path.
///
/// A slot's branches are kept beside the boundaries that delimit it ([`LeafBlock`]), so the
/// search that finds the slot has read them too: with thousands of ranges, a lookup touches
/// the one line of boundaries it ends on and the few lines of the levels above it.
#[derive(Debug)]
pub(crate) struct RangeIndex {
    /// Root level first: each holds the largest key of every block (or leaf block) below it,
    /// padded with infinity.
    levels: Vec<Vec<KeyBlock>>,
    /// The boundaries in order, then at least one infinity (whose slot below is slot `2n`).
    leaf_blocks: Vec<LeafBlock>,
    /// The slots holding more than one branch, each a count and then the branches.
    lists: Vec<u32>,
    tree_leaves: usize,
    /// Empty when no range is wide.
    tree: Vec<Vec<u32>>,
}

/// Keys searched per block of a level: sixteen `f64`s are two cache lines, fetched together
/// since their address is known at once. Each level is a step that waits on the one before,
/// so a wide block, which makes the tree shallower, is worth its extra comparisons: with
/// thousands of ranges most levels are a cache miss.
const BLOCK: usize = 16;

/// Boundaries per leaf block: four, with the words of the eight slots they start, are one
/// cache line.
const LEAF_KEYS: usize = 4;

/// The widest range, in slots, listed slot by slot rather than in the tree.
const NARROW_SLOTS: usize = 4;

/// A slot word with this bit set is the offset of a list in [`RangeIndex::lists`]; otherwise it
/// is [`NONE`] or the one branch the slot holds.
const LIST: u32 = 1 << 31;

#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct KeyBlock([f64; BLOCK]);

/// Boundaries `4j..4j + 4` and, for each, the words of the slot below it and of its own.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct LeafBlock {
    keys: [f64; LEAF_KEYS],
    slots: [u32; 2 * LEAF_KEYS],
}

impl RangeIndex {
    pub(crate) fn build(ranges: &[(NumericRange, u32)]) -> Self {
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
        let tree_leaves = slot_count.next_power_of_two();
        let mut index = Self {
            levels: Vec::new(),
            leaf_blocks: Vec::new(),
            lists: Vec::new(),
            tree_leaves,
            tree: Vec::new(),
        };
        let slot = |value: f64| {
            let position = boundaries.partition_point(|&boundary| boundary < value);
            2 * position + usize::from(boundaries.get(position) == Some(&value))
        };
        let mut lists = vec![Vec::new(); slot_count];
        for &(range, branch) in ranges {
            let first = match range.lower {
                Bound::Unbounded => 0,
                Bound::Inclusive(value) => slot(value),
                Bound::Exclusive(value) => slot(value) + 1,
            };
            let last = match range.upper {
                Bound::Unbounded => slot_count - 1,
                Bound::Inclusive(value) => slot(value),
                Bound::Exclusive(value) => slot(value).saturating_sub(1),
            };
            if first > last {
                continue;
            }
            if last - first < NARROW_SLOTS {
                for list in lists.get_mut(first..=last).into_iter().flatten() {
                    list.push(branch);
                }
            } else {
                index.insert_wide(first, last, branch);
            }
        }
        index.lay_out(&boundaries, &lists);
        index
    }

    fn lay_out(&mut self, boundaries: &[f64], lists: &[Vec<u32>]) {
        let mut keys = boundaries.to_vec();
        keys.push(f64::INFINITY);
        keys.resize(keys.len().next_multiple_of(LEAF_KEYS), f64::INFINITY);
        for (block, chunk) in keys.chunks_exact(LEAF_KEYS).enumerate() {
            let mut leaf = LeafBlock {
                keys: [f64::INFINITY; LEAF_KEYS],
                slots: [NONE; 2 * LEAF_KEYS],
            };
            leaf.keys.copy_from_slice(chunk);
            let first_slot = 2 * LEAF_KEYS * block;
            for (offset, word) in leaf.slots.iter_mut().enumerate() {
                if let Some(list) = lists.get(first_slot + offset) {
                    *word = self.slot_word(list);
                }
            }
            self.leaf_blocks.push(leaf);
        }
        let mut maxima: Vec<f64> = self
            .leaf_blocks
            .iter()
            .map(|leaf| leaf.keys.last().copied().unwrap_or(f64::INFINITY))
            .collect();
        while maxima.len() > 1 {
            maxima.resize(maxima.len().next_multiple_of(BLOCK), f64::INFINITY);
            let level: Vec<KeyBlock> = maxima
                .chunks_exact(BLOCK)
                .map(|chunk| {
                    let mut block = KeyBlock([f64::INFINITY; BLOCK]);
                    block.0.copy_from_slice(chunk);
                    block
                })
                .collect();
            maxima = level
                .iter()
                .map(|block| block.0.last().copied().unwrap_or(f64::INFINITY))
                .collect();
            self.levels.push(level);
        }
        self.levels.reverse();
    }

    fn slot_word(&mut self, list: &[u32]) -> u32 {
        match list {
            [] => NONE,
            &[only] if only < LIST => only,
            _ => {
                let offset = u32::try_from(self.lists.len()).unwrap_or(u32::MAX);
                self.lists
                    .push(u32::try_from(list.len()).unwrap_or(u32::MAX));
                self.lists.extend_from_slice(list);
                LIST | offset
            }
        }
    }

    /// Stores `branch` in the canonical tree nodes covering slots `first..=last`.
    fn insert_wide(&mut self, first: usize, last: usize, branch: u32) {
        if self.tree.is_empty() {
            self.tree = vec![Vec::new(); 2 * self.tree_leaves];
        }
        let mut low = first + self.tree_leaves;
        let mut high = last + self.tree_leaves + 1;
        while low < high {
            if low & 1 == 1 {
                if let Some(node) = self.tree.get_mut(low) {
                    node.push(branch);
                }
                low += 1;
            }
            if high & 1 == 1 {
                high -= 1;
                if let Some(node) = self.tree.get_mut(high) {
                    node.push(branch);
                }
            }
            low >>= 1;
            high >>= 1;
        }
    }

    /// Calls `found` with the branches of every range holding `number` (never NaN).
    pub(crate) fn visit(&self, number: f64, found: &mut impl FnMut(u32)) {
        let Some((slot, word)) = self.slot(number) else {
            return;
        };
        if word & LIST == 0 {
            found(word);
        } else if word != NONE {
            let start = (word & !LIST) as usize;
            let count = self.lists.get(start).map_or(0, |&count| count as usize);
            self.lists
                .get(start + 1..start + 1 + count)
                .into_iter()
                .flatten()
                .copied()
                .for_each(&mut *found);
        }
        if self.tree.is_empty() {
            return;
        }
        let mut node = slot + self.tree_leaves;
        while node >= 1 {
            if let Some(branches) = self.tree.get(node) {
                branches.iter().copied().for_each(&mut *found);
            }
            node >>= 1;
        }
    }

    /// The slot `number` falls in and its word.
    fn slot(&self, number: f64) -> Option<(usize, u32)> {
        let mut block = 0usize;
        for level in &self.levels {
            block = block * BLOCK + below(&level.get(block)?.0, number);
        }
        let leaf = self.leaf_blocks.get(block)?;
        // The block's last key is at least `number`, so `below` indexes a key.
        let below = below(&leaf.keys, number);
        let equal = leaf.keys.get(below) == Some(&number);
        let offset = 2 * below + usize::from(equal);
        let word = leaf.slots.get(offset).copied()?;
        Some((2 * LEAF_KEYS * block + offset, word))
    }
}

/// How many of `keys` are below `number`, counted without branching on them (which of a
/// block's keys a number falls between is as unpredictable as the number), and all compared
/// at once: a binary search within the block would chain its comparisons one after another.
fn below<const N: usize>(keys: &[f64; N], number: f64) -> usize {
    keys.iter().filter(|&&key| key < number).count()
}

/// The ends of the anchored ranges at a path, as positions on the number line, each kept
/// sorted: how many ranges a new one overlaps is then the number that start at or before its
/// end less the number that end before its start, two counts of sorted runs rather than a
/// pass over every range, which made loading n ranges cost n².
#[derive(Debug, Default)]
pub(crate) struct RangeEnds {
    firsts: Ranked,
    lasts: Ranked,
}

impl RangeEnds {
    pub(crate) fn place(&mut self, range: &NumericRange, add: bool) {
        let (first, last) = positions(range);
        if add {
            self.firsts.insert(first);
            self.lasts.insert(last);
        } else {
            self.firsts.remove(first);
            self.lasts.remove(last);
        }
    }

    /// How many of the ranges overlap `range`.
    pub(crate) fn overlapping(&self, range: &NumericRange) -> usize {
        let (first, last) = positions(range);
        let started = self.firsts.below(last.saturating_add(1));
        let ended = self.lasts.below(first);
        started.saturating_sub(ended)
    }
}

/// The first and last points of `range`, ordered as the number line is: each value has three
/// positions, just below it, at it and just above it, so that an exclusive bound is the
/// position next to its value.
fn positions(range: &NumericRange) -> (u128, u128) {
    let at = |value: f64, offset: u128| (u128::from(ordered(value)) << 2) | offset;
    let first = match range.lower {
        Bound::Unbounded => 0,
        Bound::Inclusive(value) => at(value, 1),
        Bound::Exclusive(value) => at(value, 2),
    };
    let last = match range.upper {
        Bound::Unbounded => u128::MAX,
        Bound::Inclusive(value) => at(value, 1),
        Bound::Exclusive(value) => at(value, 0),
    };
    (first, last)
}

/// The bits of `value` as an integer that sorts as the numbers do (zero's sign aside).
fn ordered(value: f64) -> u64 {
    let bits = (value + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// A sorted multiset kept as sorted runs of up to `2 * RUN` members, each run after the one
/// before: inserting, removing and counting the members below a value cost a search of the
/// runs' last members, a pass over their lengths and work within one run.
#[derive(Debug, Default)]
struct Ranked {
    /// Never empty runs.
    runs: Vec<Vec<u128>>,
}

const RUN: usize = 256;

impl Ranked {
    /// The run `key` belongs in: the first whose last member is not below it.
    fn run_of(&self, key: u128) -> usize {
        self.runs
            .partition_point(|run| run.last().is_some_and(|&last| last < key))
    }

    fn insert(&mut self, key: u128) {
        let index = self.run_of(key).min(self.runs.len().saturating_sub(1));
        let Some(run) = self.runs.get_mut(index) else {
            self.runs.push(vec![key]);
            return;
        };
        let at = run.partition_point(|&member| member < key);
        run.insert(at, key);
        if run.len() > 2 * RUN {
            let upper = run.split_off(RUN);
            self.runs.insert(index + 1, upper);
        }
    }

    fn remove(&mut self, key: u128) {
        let index = self.run_of(key);
        let Some(run) = self.runs.get_mut(index) else {
            return;
        };
        let at = run.partition_point(|&member| member < key);
        if run.get(at) == Some(&key) {
            run.remove(at);
            if run.is_empty() {
                self.runs.remove(index);
            }
        }
    }

    fn below(&self, key: u128) -> usize {
        let index = self.run_of(key);
        let before: usize = self.runs.iter().take(index).map(Vec::len).sum();
        let within = self
            .runs
            .get(index)
            .map_or(0, |run| run.partition_point(|&member| member < key));
        before + within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lower: Bound, upper: Bound) -> NumericRange {
        NumericRange { lower, upper }
    }

    #[test]
    fn lookups_find_the_ranges_holding_a_number() {
        let ranges: Vec<(NumericRange, u32)> = (0..600u32)
            .flat_map(|index| {
                let low = f64::from(index) * 2.0;
                [
                    (
                        range(Bound::Inclusive(low), Bound::Exclusive(low + 1.0)),
                        index,
                    ),
                    (NumericRange::point(low), 1000 + index),
                    (range(Bound::Exclusive(low), Bound::Unbounded), 2000 + index),
                ]
            })
            .collect();
        let index = RangeIndex::build(&ranges);
        for probe in -3..1210 {
            let number = f64::from(probe) / 2.0;
            let mut found = Vec::new();
            index.visit(number, &mut |branch| found.push(branch));
            found.sort_unstable();
            let mut expected: Vec<u32> = ranges
                .iter()
                .filter(|(range, _)| range.contains(number))
                .map(|&(_, branch)| branch)
                .collect();
            expected.sort_unstable();
            assert_eq!(found, expected, "{number}");
        }
    }

    #[test]
    fn overlap_counts_agree_with_a_pass_over_the_ranges() {
        let bounds = [
            Bound::Unbounded,
            Bound::Inclusive(-1.0),
            Bound::Exclusive(-1.0),
            Bound::Inclusive(0.0),
            Bound::Exclusive(-0.0),
            Bound::Inclusive(2.5),
            Bound::Exclusive(2.5),
        ];
        let ranges: Vec<NumericRange> = bounds
            .iter()
            .flat_map(|&lower| bounds.iter().map(move |&upper| range(lower, upper)))
            .filter(|range| !range.is_empty())
            .collect();
        // Every region the bounds cut the line into holds one of these.
        let samples = [-2.0, -1.0, -0.5, 0.0, 1.0, 2.5, 3.0];
        let overlap = |left: &NumericRange, right: &NumericRange| {
            samples
                .iter()
                .any(|&number| left.contains(number) && right.contains(number))
        };
        let mut ends = RangeEnds::default();
        for (count, placed) in ranges.iter().enumerate() {
            for probe in &ranges {
                let expected = ranges
                    .iter()
                    .take(count)
                    .filter(|other| overlap(other, probe))
                    .count();
                assert_eq!(ends.overlapping(probe), expected, "{probe:?} after {count}");
            }
            ends.place(placed, true);
        }
        for placed in &ranges {
            ends.place(placed, false);
        }
        assert_eq!(
            ends.overlapping(&range(Bound::Unbounded, Bound::Unbounded)),
            0
        );
    }

    #[test]
    fn ranked_counts_survive_splits_and_removals() {
        let mut ranked = Ranked::default();
        let keys: Vec<u128> = (0..3000u128).map(|key| key * 7 % 3000).collect();
        for &key in &keys {
            ranked.insert(key);
        }
        assert!(ranked.runs.len() > 1);
        assert_eq!(ranked.below(1500), 1500);
        for &key in keys.iter().filter(|&&key| key % 2 == 0) {
            ranked.remove(key);
        }
        assert_eq!(ranked.below(1500), 750);
        assert_eq!(ranked.below(u128::MAX), keys.len() / 2);
        let mut repeated = Ranked::default();
        for key in [5, 7].repeat(1000) {
            repeated.insert(key);
        }
        assert_eq!(repeated.below(7), 1000);
        for _ in 0..500 {
            repeated.remove(5);
        }
        assert_eq!((repeated.below(7), repeated.below(8)), (500, 1500));
    }
}
