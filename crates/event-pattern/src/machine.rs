//! Many patterns compiled into one structure, so that finding the rules an event matches costs
//! about the same with ten rules as with ten thousand.
//!
//! The machine is a tree of field names (the paths the patterns mention) with a value index
//! ([`ValueIndex`]) at every path some branch is found by. Each branch (one `$or` combination of
//! a pattern) is entered into the index under one of its conditions, its anchor: the one whose
//! index entry is least crowded when the branch is added, so that a value shared by many rules
//! (`"detail-type": ["Object Created"]`) does not make every one of them a candidate when a
//! rarer one (`"source": ["my.app"]`) can. Matching walks the event once, following only fields
//! some pattern names, and looks each leaf up in its path's index; the branches found are the
//! candidates. A candidate whose anchor is its only condition has matched. Any other is settled
//! against the leaves the walk passed: when no array lay on a path some pattern names, every
//! such path holds at most one leaf, so a condition is one lookup of its path node among them
//! and one test ([`Settle`]). Exact strings, the commonest test, are interned per path, so the
//! walk learns each leaf's id and the test compares ids. With arrays, element consistency
//! matters and the branch is evaluated on the event ([`crate::evaluate`]). Either way the
//! machine answers as the patterns' own `matches` does. Work grows with the event and the
//! candidates, not with the number of rules.
//!
//! With thousands of rules, each candidate's data is a likely cache miss, as are the index
//! entries that lead to it, and misses are what makes matching slower as rules are added. So
//! a candidate is one cache line that usually holds all that settles it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use serde_json::Value;

use crate::index::{NONE, ValueIndex};
use crate::matcher::{Leaf, Literal, Matcher};
use crate::pattern::{Branch, Condition, Pattern};

/// How deep the walk follows an event (serde_json parses at most 128 levels).
const MAX_WALK_DEPTH: usize = 160;

/// Rules compiled for matching, each known by a caller-chosen id.
#[derive(Debug)]
pub struct Machine<R> {
    rules: HashMap<R, Vec<u32>>,
    /// Compiled branches by slot; a removed rule leaves free slots for reuse.
    branches: Vec<Option<CompiledBranch<R>>>,
    free_slots: Vec<u32>,
    /// The path tree; node 0 is the event's root.
    paths: Vec<PathNode>,
    /// Branches with no condition a value can satisfy (only `exists: false`, or none at all):
    /// no lookup finds them, so every event evaluates them.
    unanchored: BTreeSet<u32>,
}

/// What matching reads of a candidate fits one cache line (for a small `R`), aligned so that
/// it never straddles two; the pattern itself, read only when arrays force an evaluation, is
/// behind a pointer.
#[derive(Debug)]
#[repr(align(64))]
struct CompiledBranch<R> {
    rule: R,
    anchor: Option<Anchor>,
    settle: Settle,
    branch: Box<Branch>,
}

/// How a candidate is settled on an event without arrays, once its anchor has been met.
#[derive(Debug)]
enum Settle {
    /// The anchor is the branch's only condition: the lookup that found it has settled it.
    Anchored,
    /// Every other condition asks for one exact string, and there are at most [`INLINE`] of
    /// them (a `detail-type` and a `detail` field beside a `source`, say): compared by id
    /// with the leaves at their paths, they need nothing beyond this cache line.
    Strings {
        count: u8,
        checks: [StringCheck; INLINE],
    },
    /// Anything else: the tests of every condition but the anchor, in one allocation with
    /// paths resolved to path nodes, rather than the pattern's nested vectors and strings.
    Checks(Box<[Check]>),
}

/// How many string conditions a candidate's own cache line holds.
const INLINE: usize = 2;

/// A condition met by the leaf at `path` whose interned string id is `id` (never [`NONE`],
/// the id of a leaf whose text no pattern names there).
#[derive(Debug, Clone, Copy)]
struct StringCheck {
    path: u32,
    id: u32,
}

/// One filter of one condition; a condition's checks are adjacent, in condition order.
#[derive(Debug)]
struct Check {
    condition: u32,
    path: u32,
    absent_ok: bool,
    test: Test,
}

#[derive(Debug)]
enum Test {
    /// A condition with no filter (`exists: false` alone): only absence meets it.
    Nothing,
    /// An exact string, by its id at the path.
    String(u32),
    Filter(Matcher),
}

/// What one walk of an event gathers.
#[derive(Debug, Default)]
struct Scan<'a> {
    /// Slots of the branches whose anchors some leaf satisfied (a slot may repeat).
    found: Vec<u32>,
    /// Every leaf at a path some pattern names.
    leaves: Vec<Seen<'a>>,
    /// Whether an array (or a scalar that is no leaf) lay on such a path: the leaves alone
    /// cannot settle candidates then.
    irregular: bool,
}

/// A leaf, its path node, and its string id there ([`NONE`] unless a pattern names its text
/// exactly at that path).
#[derive(Debug, Clone, Copy)]
struct Seen<'a> {
    path: u32,
    leaf: Leaf<'a>,
    id: u32,
}

/// The condition a branch is indexed under, and the path node holding it.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    condition: usize,
    path: u32,
}

#[derive(Debug, Default)]
struct PathNode {
    /// Sorted by name: a binary search beats hashing for the few fields a node has.
    children: Vec<(String, u32)>,
    values: ValueIndex,
}

impl PathNode {
    fn child_position(&self, name: &str) -> Result<usize, usize> {
        self.children
            .binary_search_by(|(child, _)| child.as_str().cmp(name))
    }

    fn child(&self, name: &str) -> Option<u32> {
        let position = self.child_position(name).ok()?;
        self.children.get(position).map(|&(_, child)| child)
    }
}

impl<R: Clone + Eq + Hash + Ord> Default for Machine<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Clone + Eq + Hash + Ord> Machine<R> {
    pub fn new() -> Self {
        Self {
            rules: HashMap::new(),
            branches: Vec::new(),
            free_slots: Vec::new(),
            paths: vec![PathNode::default()],
            unanchored: BTreeSet::new(),
        }
    }

    /// Adds (or replaces) the rule `id`.
    pub fn add_rule(&mut self, id: R, pattern: &Pattern) {
        self.remove_rule(&id);
        let mut slots = Vec::with_capacity(pattern.branches.len());
        for branch in &pattern.branches {
            slots.push(self.add_branch(id.clone(), branch));
        }
        self.rules.insert(id, slots);
    }

    /// Removes the rule `id`; whether it was there.
    pub fn remove_rule(&mut self, id: &R) -> bool {
        let Some(slots) = self.rules.remove(id) else {
            return false;
        };
        for slot in slots {
            self.remove_branch(slot);
        }
        true
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The ids of the rules `event` matches, sorted.
    pub fn matching_rules(&self, event: &Value) -> Vec<R> {
        let mut scan = Scan::default();
        self.walk(event, 0, 0, &mut scan);
        let Scan {
            mut found,
            mut leaves,
            irregular,
        } = scan;
        found.sort_unstable();
        found.dedup();
        // Without arrays each path has at most one leaf, so sorting makes them a lookup table.
        leaves.sort_unstable_by_key(|seen| seen.path);

        let mut matched: Vec<&R> = Vec::new();
        for slot in found.into_iter().chain(self.unanchored.iter().copied()) {
            let Some(compiled) = self.branches.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            let holds = match &compiled.settle {
                Settle::Anchored => true,
                _ if irregular => compiled.branch.matches(event),
                settle => settle.holds_on(&leaves),
            };
            if holds {
                matched.push(&compiled.rule);
            }
        }
        matched.sort_unstable();
        matched.dedup();
        matched.into_iter().cloned().collect()
    }

    fn add_branch(&mut self, rule: R, branch: &Branch) -> u32 {
        let slot = self
            .free_slots
            .pop()
            .unwrap_or_else(|| u32::try_from(self.branches.len()).unwrap_or(u32::MAX));
        self.mention(branch, true);
        let anchor = self.best_anchor(branch);
        match anchor {
            Some(anchor) => self.place_anchor(slot, branch, anchor, true),
            None => {
                self.unanchored.insert(slot);
            }
        }
        let settle = self.settle(branch, anchor);
        let compiled = CompiledBranch {
            rule,
            anchor,
            settle,
            branch: Box::new(branch.clone()),
        };
        match self.branches.get_mut(slot as usize) {
            Some(entry) => *entry = Some(compiled),
            None => self.branches.push(Some(compiled)),
        }
        self.rebalance(branch, anchor);
        slot
    }

    fn remove_branch(&mut self, slot: u32) {
        let Some(compiled) = self.branches.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        match compiled.anchor {
            Some(anchor) => self.place_anchor(slot, &compiled.branch, anchor, false),
            None => {
                self.unanchored.remove(&slot);
            }
        }
        self.mention(&compiled.branch, false);
        self.free_slots.push(slot);
    }

    /// Compiles what settles `branch` beyond `anchor`. Its strings must have been mentioned,
    /// so that they have ids.
    fn settle(&mut self, branch: &Branch, anchor: Option<Anchor>) -> Settle {
        let others: Vec<(usize, &Condition)> = branch
            .conditions
            .iter()
            .enumerate()
            .filter(|&(position, _)| anchor.is_none_or(|anchor| anchor.condition != position))
            .collect();
        if anchor.is_some() && others.is_empty() {
            return Settle::Anchored;
        }
        let strings: Option<Vec<StringCheck>> = others
            .iter()
            .map(|&(_, condition)| self.string_check(condition))
            .collect();
        if let Some(strings) = strings
            && strings.len() <= INLINE
        {
            let mut checks = [StringCheck { path: 0, id: NONE }; INLINE];
            for (slot, check) in checks.iter_mut().zip(&strings) {
                *slot = *check;
            }
            let count = strings.len() as u8;
            return Settle::Strings { count, checks };
        }
        let mut checks = Vec::new();
        for (position, condition) in others {
            let path = self.path_node(&condition.path);
            let check = |test| Check {
                condition: u32::try_from(position).unwrap_or(u32::MAX),
                path,
                absent_ok: condition.absent_ok,
                test,
            };
            if condition.matchers.is_empty() {
                checks.push(check(Test::Nothing));
            }
            for matcher in &condition.matchers {
                let id = match matcher {
                    Matcher::Exact(Literal::Str(text)) => self.string_id(path, text),
                    _ => NONE,
                };
                let test = if id == NONE {
                    Test::Filter(matcher.clone())
                } else {
                    Test::String(id)
                };
                checks.push(check(test));
            }
        }
        Settle::Checks(checks.into_boxed_slice())
    }

    /// `condition` as a [`StringCheck`], if it asks for exactly one string (and not absence).
    fn string_check(&mut self, condition: &Condition) -> Option<StringCheck> {
        let [Matcher::Exact(Literal::Str(text))] = condition.matchers.as_slice() else {
            return None;
        };
        if condition.absent_ok {
            return None;
        }
        let path = self.path_node(&condition.path);
        let id = self.string_id(path, text);
        (id != NONE).then_some(StringCheck { path, id })
    }

    fn string_id(&self, path: u32, text: &str) -> u32 {
        self.paths
            .get(path as usize)
            .map_or(NONE, |node| node.values.string_id(text))
    }

    /// Counts (or uncounts) every value `branch` names, at its path.
    fn mention(&mut self, branch: &Branch, add: bool) {
        for condition in &branch.conditions {
            let path = self.path_node(&condition.path);
            if let Some(node) = self.paths.get_mut(path as usize) {
                for matcher in &condition.matchers {
                    node.values.mention(matcher, add);
                }
            }
        }
    }

    /// The condition of `branch` whose entry is least crowded; none when no value can
    /// satisfy any of them.
    fn best_anchor(&mut self, branch: &Branch) -> Option<Anchor> {
        let mut best: Option<(usize, Anchor)> = None;
        for (position, condition) in branch.conditions.iter().enumerate() {
            if condition.absent_ok || condition.matchers.is_empty() {
                continue; // absence is not something a lookup can find
            }
            let path = self.path_node(&condition.path);
            let load = self.load(path, condition);
            if best.is_none_or(|(lowest, _)| load < lowest) {
                let anchor = Anchor {
                    condition: position,
                    path,
                };
                best = Some((load, anchor));
            }
        }
        best.map(|(_, anchor)| anchor)
    }

    /// A branch found by a value when that value was rare stays there as other rules come to
    /// name it too. When `branch` names such a value without being found by it, the few
    /// branches found by it move to their least crowded condition now.
    fn rebalance(&mut self, branch: &Branch, anchor: Option<Anchor>) {
        const FEW: usize = 4;
        for (position, condition) in branch.conditions.iter().enumerate() {
            if anchor.is_some_and(|anchor| anchor.condition == position) {
                continue;
            }
            let path = self.path_node(&condition.path);
            let mut crowded: Vec<u32> = Vec::new();
            if let Some(node) = self.paths.get(path as usize) {
                for matcher in &condition.matchers {
                    let found = node.values.anchored_at(matcher);
                    if found.len() <= FEW {
                        crowded.extend(found);
                    }
                }
            }
            for slot in crowded {
                self.reanchor(slot);
            }
        }
    }

    /// Moves the branch in `slot` to its least crowded condition, if that is not where it is.
    fn reanchor(&mut self, slot: u32) {
        let Some((branch, current)) = self
            .branches
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(|compiled| (compiled.branch.clone(), compiled.anchor))
        else {
            return;
        };
        let Some(current) = current else { return };
        let Some(best) = self.best_anchor(&branch) else {
            return;
        };
        let current_load = branch
            .conditions
            .get(current.condition)
            .map_or(0, |condition| self.load(current.path, condition));
        let best_load = branch
            .conditions
            .get(best.condition)
            .map_or(usize::MAX, |condition| self.load(best.path, condition));
        if best.condition == current.condition || best_load >= current_load {
            return;
        }
        self.place_anchor(slot, &branch, current, false);
        self.place_anchor(slot, &branch, best, true);
        let settle = self.settle(&branch, Some(best));
        if let Some(compiled) = self
            .branches
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
        {
            compiled.anchor = Some(best);
            compiled.settle = settle;
        }
    }

    fn load(&self, path: u32, condition: &Condition) -> usize {
        let Some(node) = self.paths.get(path as usize) else {
            return usize::MAX;
        };
        condition
            .matchers
            .iter()
            .map(|matcher| node.values.load(matcher))
            .fold(0, usize::saturating_add)
    }

    fn place_anchor(&mut self, slot: u32, branch: &Branch, anchor: Anchor, add: bool) {
        let (Some(node), Some(condition)) = (
            self.paths.get_mut(anchor.path as usize),
            branch.conditions.get(anchor.condition),
        ) else {
            return;
        };
        for matcher in &condition.matchers {
            if add {
                node.values.insert(matcher, slot);
            } else {
                node.values.remove(matcher, slot);
            }
        }
    }

    /// The node for `path`, created with its ancestors as needed.
    fn path_node(&mut self, path: &[String]) -> u32 {
        let mut current = 0u32;
        for field in path {
            let Some(node) = self.paths.get(current as usize) else {
                break;
            };
            current = match node.child_position(field) {
                Ok(position) => node.children.get(position).map_or(0, |&(_, child)| child),
                Err(position) => {
                    let child = u32::try_from(self.paths.len()).unwrap_or(u32::MAX);
                    self.paths.push(PathNode::default());
                    if let Some(node) = self.paths.get_mut(current as usize) {
                        node.children.insert(position, (field.clone(), child));
                    }
                    child
                }
            };
        }
        current
    }

    /// Collects the slots of the branches whose anchors the leaves under `value` satisfy.
    fn walk<'a>(&self, value: &'a Value, path: u32, depth: usize, scan: &mut Scan<'a>) {
        let Some(node) = self.paths.get(path as usize) else {
            return;
        };
        if depth > MAX_WALK_DEPTH {
            return;
        }
        match value {
            Value::Object(fields) => {
                // Follow whichever side is smaller: the event's fields or the patterns'.
                if node.children.len() < fields.len() {
                    for (name, child) in &node.children {
                        if let Some(field) = fields.get(name) {
                            self.walk(field, *child, depth + 1, scan);
                        }
                    }
                } else {
                    for (name, field) in fields {
                        if let Some(child) = node.child(name) {
                            self.walk(field, child, depth + 1, scan);
                        }
                    }
                }
            }
            Value::Array(elements) => {
                scan.irregular = true;
                for element in elements {
                    self.walk(element, path, depth + 1, scan);
                }
            }
            scalar => {
                let Some(leaf) = Leaf::of(scalar) else {
                    scan.irregular = true;
                    return;
                };
                let found = &mut scan.found;
                let id = node.values.lookup(leaf, &mut |branch| found.push(branch));
                scan.leaves.push(Seen { path, leaf, id });
            }
        }
    }
}

impl Settle {
    /// Whether every condition but the anchor (which the lookup has met) holds on `leaves`,
    /// the event's leaves sorted by path node, at most one per path: an event with no arrays
    /// on the paths patterns name.
    fn holds_on(&self, leaves: &[Seen<'_>]) -> bool {
        let leaf_at = |path: u32| {
            leaves
                .binary_search_by_key(&path, |seen| seen.path)
                .ok()
                .and_then(|position| leaves.get(position))
        };
        match self {
            Self::Anchored => true,
            Self::Strings { count, checks } => checks
                .iter()
                .take(usize::from(*count))
                .all(|check| leaf_at(check.path).is_some_and(|seen| seen.id == check.id)),
            Self::Checks(checks) => checks
                .chunk_by(|left, right| left.condition == right.condition)
                .all(|checks| {
                    let Some(first) = checks.first() else {
                        return true;
                    };
                    match leaf_at(first.path) {
                        Some(seen) => checks.iter().any(|check| check.test.holds(seen)),
                        None => first.absent_ok,
                    }
                }),
        }
    }
}

impl Test {
    fn holds(&self, seen: &Seen<'_>) -> bool {
        match self {
            Self::Nothing => false,
            Self::String(id) => seen.id == *id,
            Self::Filter(matcher) => matcher.matches(seen.leaf),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine(patterns: &[(&str, Value)]) -> Machine<String> {
        let mut machine = Machine::new();
        for (id, pattern) in patterns {
            machine.add_rule((*id).to_owned(), &Pattern::from_value(pattern).unwrap());
        }
        machine
    }

    #[test]
    fn finds_every_matching_rule_once() {
        let machine = machine(&[
            ("exact", json!({"source": ["aws.ec2"]})),
            ("prefix", json!({"source": [{"prefix": "aws."}]})),
            (
                "numeric",
                json!({"detail": {"n": [{"numeric": [">", 1, "<", 10]}]}}),
            ),
            (
                "or",
                json!({"$or": [{"source": ["aws.ec2"]}, {"detail": {"n": [5]}}]}),
            ),
            (
                "absent",
                json!({"detail": {"missing": [{"exists": false}]}}),
            ),
            ("other", json!({"source": ["aws.s3"]})),
        ]);
        let event = json!({"source": "aws.ec2", "detail": {"n": 5}});
        assert_eq!(
            machine.matching_rules(&event),
            ["absent", "exact", "numeric", "or", "prefix"]
        );
    }

    #[test]
    fn removing_a_rule_forgets_it() {
        let mut machine = machine(&[
            ("a", json!({"n": [{"numeric": [">=", 0]}]})),
            ("b", json!({"n": [3]})),
        ]);
        assert_eq!(machine.matching_rules(&json!({"n": 3})), ["a", "b"]);
        assert!(machine.remove_rule(&"a".to_owned()));
        assert!(!machine.remove_rule(&"a".to_owned()));
        assert_eq!(machine.matching_rules(&json!({"n": 3})), ["b"]);
        machine.add_rule("c".to_owned(), &Pattern::parse(r#"{"n": [3]}"#).unwrap());
        assert_eq!(machine.matching_rules(&json!({"n": 3})), ["b", "c"]);
        assert_eq!(machine.rule_count(), 2);
    }

    #[test]
    fn anchors_avoid_crowded_values() {
        let mut machine = Machine::new();
        for index in 0..50 {
            let pattern = json!({"detail-type": ["Shared"], "source": [format!("app.{index}")]});
            machine.add_rule(index, &Pattern::from_value(&pattern).unwrap());
        }
        let event = json!({"detail-type": "Shared", "source": "app.7"});
        let mut scan = Scan::default();
        machine.walk(&event, 0, 0, &mut scan);
        // The first rule, added when "Shared" was as rare as its source, has moved off it.
        assert_eq!(scan.found.len(), 1, "{:?}", scan.found);
        assert_eq!(
            machine.matching_rules(&json!({"detail-type": "Shared", "source": "app.7"})),
            [7]
        );
    }

    #[test]
    fn a_moved_branch_leaves_nothing_behind() {
        let mut machine = machine(&[
            ("a", json!({"s": ["a"], "t": ["shared"]})),
            // Names "a" too: "a" moves to its rarer condition, t = "shared".
            ("b", json!({"s": ["a"], "t": ["b"]})),
        ]);
        assert!(machine.remove_rule(&"a".to_owned()));
        // Takes the freed slot; an entry left at s = "a" would now find it.
        machine.add_rule("c".to_owned(), &Pattern::parse(r#"{"x": ["1"]}"#).unwrap());
        assert!(
            machine
                .matching_rules(&json!({"s": "a", "x": "2"}))
                .is_empty()
        );
        assert_eq!(machine.matching_rules(&json!({"s": "a", "x": "1"})), ["c"]);
    }

    #[test]
    fn candidates_settle_on_the_leaves_the_walk_passed() {
        let machine = machine(&[
            ("both", json!({"s": ["a"], "d": {"t": ["x", "y"]}})),
            (
                "absent",
                json!({"s": ["a"], "d": {"u": [{"exists": false}]}}),
            ),
            (
                "absent-or-b",
                json!({"s": ["a"], "d": {"u": [{"exists": false}, "b"]}}),
            ),
            ("object", json!({"s": ["a"], "d": [{"exists": true}]})),
        ]);
        let matching = |event: Value| machine.matching_rules(&event);
        assert_eq!(
            matching(json!({"s": "a", "d": {"t": "y"}})),
            ["absent", "absent-or-b", "both"]
        );
        assert_eq!(
            matching(json!({"s": "a", "d": {"t": "z", "u": "b"}})),
            ["absent-or-b"]
        );
        assert_eq!(
            matching(json!({"s": "a", "d": {"u": {"v": 1}}})),
            ["absent", "absent-or-b"]
        );
        assert_eq!(
            matching(json!({"s": "a", "d": 1})),
            ["absent", "absent-or-b", "object"]
        );
        assert!(matching(json!({"s": "b", "d": {"t": "x"}})).is_empty());
    }

    #[test]
    fn a_candidate_is_one_cache_line() {
        assert_eq!(size_of::<Option<CompiledBranch<u64>>>(), 64);
    }

    #[test]
    fn string_conditions_are_settled_by_id() {
        let machine = machine(&[
            ("two", json!({"s": ["a"], "t": ["x"], "u": ["y"]})),
            (
                "three",
                json!({"s": ["a"], "t": ["x"], "u": ["y"], "v": ["z"]}),
            ),
            ("either", json!({"s": ["a"], "t": ["x", "w"]})),
        ]);
        let matching = |event: Value| machine.matching_rules(&event);
        assert_eq!(
            matching(json!({"s": "a", "t": "x", "u": "y", "v": "z"})),
            ["either", "three", "two"]
        );
        assert_eq!(matching(json!({"s": "a", "t": "w", "u": "y"})), ["either"]);
        // Texts no pattern names, and non-strings, have no id and meet no string.
        assert!(matching(json!({"s": "a", "t": "q", "u": "y", "v": "z"})).is_empty());
        assert!(matching(json!({"s": "a", "t": 1, "u": "y"})).is_empty());
        assert!(matching(json!({"s": "a", "u": "y", "v": "z"})).is_empty());
    }

    #[test]
    fn array_elements_must_be_consistent() {
        let machine = machine(&[("both", json!({"a": {"x": [1], "y": [2]}}))]);
        assert_eq!(
            machine.matching_rules(&json!({"a": [{"x": 1, "y": 2}]})),
            ["both"]
        );
        assert!(
            machine
                .matching_rules(&json!({"a": [{"x": 1}, {"y": 2}]}))
                .is_empty()
        );
    }
}
