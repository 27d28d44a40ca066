//! Prefixes (and, over reversed bytes, suffixes) at one path: a byte trie whose nodes carry the
//! branches anchored by the keys ending there. Visiting a text reports the branches of every
//! key that is a prefix of it.
//!
//! Lookups read a packed copy, built on the first visit after a change ([`PackedTrie`]). With
//! thousands of keys nearly every step below the first levels leaves the cache, so what a visit
//! costs is the number of cache lines it steps on, and the packing is about that.

use std::sync::OnceLock;

/// The trie as loading edits it.
#[derive(Debug, Default)]
pub(crate) struct Trie {
    nodes: Vec<TrieNode>,
    packed: OnceLock<PackedTrie>,
}

#[derive(Debug, Default)]
struct TrieNode {
    /// Sorted by byte; a child always comes after its parent in `nodes`.
    edges: Vec<(u8, u32)>,
    branches: Vec<u32>,
}

impl Trie {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many branches already sit at `key`.
    pub(crate) fn load(&self, key: impl Iterator<Item = u8>) -> usize {
        let mut current = 0usize;
        for byte in key {
            match self.nodes.get(current).and_then(|node| node.child(byte)) {
                Some(next) => current = next,
                None => return 0,
            }
        }
        self.nodes
            .get(current)
            .map_or(0, |node| node.branches.len())
    }

    pub(crate) fn place(&mut self, key: impl Iterator<Item = u8>, branch: u32, add: bool) {
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
            if add {
                node.branches.push(branch);
            } else {
                node.branches.retain(|&placed| placed != branch);
            }
        }
    }

    /// Calls `found` with the branches of every key that is a prefix of `text`.
    pub(crate) fn visit(&self, text: impl Iterator<Item = u8>, found: &mut impl FnMut(u32)) {
        if self.nodes.is_empty() {
            return;
        }
        self.packed
            .get_or_init(|| PackedTrie::pack(&self.nodes))
            .visit(text, found);
    }
}

impl TrieNode {
    fn child(&self, byte: u8) -> Option<usize> {
        let position = self
            .edges
            .binary_search_by_key(&byte, |&(edge, _)| edge)
            .ok()?;
        self.edges.get(position).map(|&(_, next)| next as usize)
    }
}

const LINE: usize = 64;

/// How many edge bytes a node may have to be searched at once; more are binary searched. The
/// records are followed by this many bytes of slack, so that a node's window never runs past
/// the end.
const WINDOW: usize = 16;

/// The trie laid out for lookups in one byte array, each node one record:
///
/// - a `u32` header: its edge count (9 bits), how many bytes it skips (7 bits) and its branch
///   count (16 bits, [`MANY_BRANCHES`] when a `u32` count precedes the branches),
/// - its sorted edge bytes, then the bytes it skips before taking them: a chain of nodes with
///   one child and no branch, merged into it, as the levels of a shared prefix like
///   `arn:aws:` are. The edges come first so that their address is known as soon as the
///   record's is.
/// - its children's record offsets and its branches (`u32`s, unaligned).
///
/// Records are in depth-first order, so a node's descendants follow it, and a subtree that
/// fits in a cache line never straddles two (nor does a record that fits): one line then
/// holds a node and the few below it, as the last levels of a trie of thousands of keys
/// usually are, and each step down the rest reads one line. Nodes left without branches
/// below them by removals are left out. A step finds its edge without branching on the edge
/// bytes ([`edge_position`]): with many keys, which edge a text takes differs from one event
/// to the next, and a mispredicted branch per level would cost more than the comparisons.
#[derive(Debug)]
struct PackedTrie {
    /// The records start at `base`, the first offset at a cache line's start.
    bytes: Vec<u8>,
    base: usize,
}

/// The longest chain a record skips; a longer one is split over several records.
const MAX_SKIP: usize = 127;

/// A header's branch count when the count does not fit: it is the `u32` before the branches.
const MANY_BRANCHES: u32 = 0xffff;

/// A node as packed: the chain above it merged in, its live children only.
struct Record<'a> {
    node: &'a TrieNode,
    skip: Vec<u8>,
    edges: Vec<(u8, u32)>,
    /// The parent record and the position of the edge to this one.
    parent: Option<(usize, usize)>,
    size: usize,
    /// The size of the record and of all its descendants'.
    extent: usize,
}

impl PackedTrie {
    fn pack(nodes: &[TrieNode]) -> Self {
        let records = Self::records_of(nodes);
        let mut laid = Vec::new();
        // Where each record's child offsets go, to be filled in as the children are laid.
        let mut children_at = vec![0usize; records.len()];
        for (index, record) in records.iter().enumerate() {
            let unit = if record.extent <= LINE {
                record.extent
            } else {
                record.size
            };
            let mut offset = laid.len();
            if unit <= LINE && offset % LINE + unit > LINE {
                offset = offset.next_multiple_of(LINE);
                laid.resize(offset, 0);
            }
            if let Some((parent, position)) = record.parent
                && let Some(&children) = children_at.get(parent)
                && let Some(slot) =
                    laid.get_mut(children + 4 * position..children + 4 * position + 4)
            {
                slot.copy_from_slice(&word(offset));
            }
            let branches = record.node.branches.len();
            let count = u32::try_from(branches)
                .unwrap_or(u32::MAX)
                .min(MANY_BRANCHES);
            let header = record.edges.len() as u32 | (record.skip.len() as u32) << 9 | count << 16;
            laid.extend(header.to_le_bytes());
            laid.extend(record.edges.iter().map(|&(byte, _)| byte));
            laid.extend(&record.skip);
            if let Some(at) = children_at.get_mut(index) {
                *at = laid.len();
            }
            laid.resize(laid.len() + 4 * record.edges.len(), 0);
            if count == MANY_BRANCHES {
                laid.extend(word(branches));
            }
            for &branch in &record.node.branches {
                laid.extend(branch.to_le_bytes());
            }
        }
        laid.resize(laid.len() + WINDOW, 0);
        Self::aligned(&laid)
    }

    /// The records in depth-first order, with their sizes and their subtrees'.
    fn records_of(nodes: &[TrieNode]) -> Vec<Record<'_>> {
        // Children come after their parents, so one backward pass settles every subtree.
        let mut live = vec![false; nodes.len()];
        for (index, node) in nodes.iter().enumerate().rev() {
            let alive = !node.branches.is_empty()
                || node
                    .edges
                    .iter()
                    .any(|&(_, child)| live.get(child as usize).copied().unwrap_or(false));
            if let Some(flag) = live.get_mut(index) {
                *flag = alive;
            }
        }
        let is_live = |node: u32| live.get(node as usize).copied().unwrap_or(false);
        let mut records = Vec::new();
        let mut pending = if is_live(0) {
            vec![(0u32, None)]
        } else {
            Vec::new()
        };
        while let Some((mut index, parent)) = pending.pop() {
            let mut skip = Vec::new();
            let Some(node) = (loop {
                let Some(node) = nodes.get(index as usize) else {
                    break None;
                };
                let mut children = node.edges.iter().filter(|&&(_, child)| is_live(child));
                match (children.next(), children.next()) {
                    (Some(&(byte, child)), None)
                        if node.branches.is_empty() && skip.len() < MAX_SKIP =>
                    {
                        skip.push(byte);
                        index = child;
                    }
                    _ => break Some(node),
                }
            }) else {
                continue;
            };
            let edges: Vec<(u8, u32)> = node
                .edges
                .iter()
                .copied()
                .filter(|&(_, child)| is_live(child))
                .collect();
            let many = node.branches.len() >= MANY_BRANCHES as usize;
            let branch_words = node.branches.len() + usize::from(many);
            let size = 4 + edges.len() + skip.len() + 4 * edges.len() + 4 * branch_words;
            let record = records.len();
            // Pushed last to first, so the first child is laid next, right after this node.
            for (position, &(_, child)) in edges.iter().enumerate().rev() {
                pending.push((child, Some((record, position))));
            }
            records.push(Record {
                node,
                skip,
                edges,
                parent,
                size,
                extent: 0,
            });
        }
        // Descendants come after their records: a backward pass adds each subtree up.
        for index in (0..records.len()).rev() {
            let Some(record) = records.get_mut(index) else {
                continue;
            };
            record.extent += record.size;
            let (extent, parent) = (record.extent, record.parent);
            if let Some(parent) = parent.and_then(|(parent, _)| records.get_mut(parent)) {
                parent.extent += extent;
            }
        }
        records
    }

    /// A copy of `laid` whose offset 0 is at the start of a cache line.
    fn aligned(laid: &[u8]) -> Self {
        let mut bytes: Vec<u8> = Vec::with_capacity(laid.len() + LINE);
        // The allocation never moves after this: `bytes` is not grown past its capacity.
        let base = bytes.as_ptr().addr().wrapping_neg() % LINE;
        bytes.resize(base, 0);
        bytes.extend_from_slice(laid);
        Self { bytes, base }
    }

    fn records(&self) -> &[u8] {
        self.bytes.get(self.base..).unwrap_or(&[])
    }

    fn visit(&self, mut text: impl Iterator<Item = u8>, found: &mut impl FnMut(u32)) {
        let records = self.records();
        let mut at = 0usize;
        while let Some(header) = read_word(records, at) {
            let edges = (header & 0x1ff) as usize;
            let skip = (header >> 9 & 0x7f) as usize;
            let branches = header >> 16;
            let edge_bytes = at + 4;
            let skipped = edge_bytes + edges;
            if skip > 0 {
                let Some(skipped) = records.get(skipped..skipped + skip) else {
                    return;
                };
                if !skipped.iter().all(|&byte| text.next() == Some(byte)) {
                    return;
                }
            }
            let children = skipped + skip;
            if branches > 0 {
                report(records, children + 4 * edges, branches, found);
            }
            let Some(byte) = text.next() else { return };
            let Some(position) = edge_position(records, edge_bytes, edges, byte) else {
                return;
            };
            let Some(next) = read_word(records, children + 4 * position) else {
                return;
            };
            at = next as usize;
        }
    }
}

/// Reports the `count` branches listed at `at`. Out of the loop over records: most records
/// have no branches, and inlined, reporting would crowd the registers the steps down the
/// trie use.
#[inline(never)]
fn report(records: &[u8], mut at: usize, count: u32, found: &mut impl FnMut(u32)) {
    let mut count = count as usize;
    if count == MANY_BRANCHES as usize {
        count = read_word(records, at).map_or(0, |count| count as usize);
        at += 4;
    }
    for branch in records
        .get(at..at + 4 * count)
        .unwrap_or(&[])
        .chunks_exact(4)
    {
        found(branch.try_into().map_or(0, u32::from_le_bytes));
    }
}

/// Where `byte` is among the `count` distinct edge bytes at `at`. Up to [`WINDOW`] of them are
/// compared at once, as the bytes of one integer: XOR makes the matching byte zero, and the
/// lowest zero byte is found by the borrow it causes (no borrow runs below the first zero byte,
/// so the lowest flagged byte is exact).
#[inline]
fn edge_position(records: &[u8], at: usize, count: usize, byte: u8) -> Option<usize> {
    const ONES: u128 = u128::MAX / 0xff;
    const HIGH_BITS: u128 = ONES << 7;
    if count > WINDOW {
        return records.get(at..at + count)?.binary_search(&byte).ok();
    }
    let window = u128::from_le_bytes(records.get(at..at + WINDOW)?.try_into().ok()?);
    let differences = window ^ (ONES * u128::from(byte));
    let zeros = differences.wrapping_sub(ONES) & !differences & HIGH_BITS;
    let position = (zeros.trailing_zeros() / 8) as usize;
    (position < count).then_some(position)
}

fn word(value: usize) -> [u8; 4] {
    u32::try_from(value).unwrap_or(u32::MAX).to_le_bytes()
}

fn read_word(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes(word.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(trie: &Trie, text: &str) -> Vec<u32> {
        let mut found = Vec::new();
        trie.visit(text.bytes(), &mut |branch| found.push(branch));
        found
    }

    #[test]
    fn packed_trie_reports_every_key_that_prefixes_the_text() {
        let mut trie = Trie::default();
        for (branch, key) in ["", "a", "ab", "abc", "b", "abd", "xyz", "xyzzy"]
            .iter()
            .enumerate()
        {
            trie.place(key.bytes(), u32::try_from(branch).unwrap(), true);
        }
        assert_eq!(visit(&trie, "abcz"), [0, 1, 2, 3]);
        assert_eq!(visit(&trie, "b"), [0, 4]);
        assert_eq!(visit(&trie, "xyzz"), [0, 6]);
        assert_eq!(visit(&trie, "xyzzy!"), [0, 6, 7]);
        assert_eq!(visit(&trie, "xy"), [0]);
        trie.place("ab".bytes(), 2, false);
        assert_eq!(visit(&trie, "abd"), [0, 1, 5]);
        trie.place("xyz".bytes(), 6, false);
        assert_eq!(visit(&trie, "xyzzy"), [0, 7]);
        assert_eq!(visit(&trie, "xyzz"), [0]);
    }

    #[test]
    fn edges_are_found_among_few_and_many() {
        for count in [1, 2, 15, 16, 17, 40] {
            let mut trie = Trie::default();
            // Bytes on both sides of 0x80, where a byte's high bit could confuse the search.
            let keys: Vec<String> = "aé0ü~çb"
                .chars()
                .chain(('A'..='Z').chain('α'..='ω'))
                .take(count)
                .map(|first| format!("{first}!"))
                .collect();
            for (branch, key) in keys.iter().enumerate() {
                trie.place(key.bytes(), u32::try_from(branch).unwrap(), true);
            }
            for (branch, key) in keys.iter().enumerate() {
                assert_eq!(visit(&trie, key), [branch as u32], "{count} {key}");
                assert!(visit(&trie, &key[..key.len() - 1]).is_empty());
            }
            assert!(visit(&trie, "\u{7f}!").is_empty());
        }
    }

    #[test]
    fn long_chains_and_crowded_keys_are_packed_whole() {
        let mut trie = Trie::default();
        let long = "x".repeat(300);
        trie.place(long.bytes(), 1, true);
        trie.place(long[..200].bytes(), 2, true);
        for branch in 10..70_010 {
            trie.place("crowded".bytes(), branch, true);
        }
        assert_eq!(visit(&trie, &format!("{long}!")), [2, 1]);
        assert_eq!(visit(&trie, &long[..299]), [2]);
        assert!(visit(&trie, &long[..199]).is_empty());
        assert_eq!(visit(&trie, "crowded").len(), 70_000);
    }

    #[test]
    fn long_and_wide_tries_are_packed_whole() {
        let mut trie = Trie::default();
        let keys: Vec<String> = (0..2000)
            .map(|index| format!("arn:aws:s3:::bucket-{index}/"))
            .collect();
        for (branch, key) in keys.iter().enumerate() {
            trie.place(key.bytes(), u32::try_from(branch).unwrap(), true);
        }
        for (branch, key) in keys.iter().enumerate() {
            assert_eq!(visit(&trie, &format!("{key}object")), [branch as u32]);
        }
        assert!(visit(&trie, "arn:aws:s3:::bucket-2000/").is_empty());
        for (branch, key) in keys.iter().enumerate() {
            trie.place(key.bytes(), u32::try_from(branch).unwrap(), false);
        }
        assert!(visit(&trie, "arn:aws:s3:::bucket-1/").is_empty());
    }
}
