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
//! candidates. A candidate whose anchor is its only condition has matched; any other is
//! settled by evaluating its branch on the event ([`crate::evaluate`]), so the machine always
//! answers as the patterns' own `matches` does. Work grows with the event and the candidates,
//! not with the number of rules.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use serde_json::Value;

use crate::index::{CondRef, ValueIndex};
use crate::matcher::Leaf;
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

#[derive(Debug)]
struct CompiledBranch<R> {
    rule: R,
    branch: Branch,
    anchor: Option<Anchor>,
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
        let mut found = Vec::new();
        self.walk(event, 0, 0, &mut found);
        found.sort_unstable();
        found.dedup();

        let mut matched: Vec<&R> = Vec::new();
        for slot in found.into_iter().chain(self.unanchored.iter().copied()) {
            let Some(compiled) = self.branches.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            // The anchor alone is the whole branch: the lookup has settled it.
            let settled = compiled.anchor.is_some() && compiled.branch.conditions.len() == 1;
            if settled || compiled.branch.matches(event) {
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
        let compiled = CompiledBranch {
            rule,
            branch: branch.clone(),
            anchor,
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
                        crowded.extend(found.iter().map(|cond| cond.branch));
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
        if let Some(compiled) = self
            .branches
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
        {
            compiled.anchor = Some(best);
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
        let cond = CondRef {
            branch: slot,
            condition: u32::try_from(anchor.condition).unwrap_or(u32::MAX),
        };
        for matcher in &condition.matchers {
            if add {
                node.values.insert(matcher, cond);
            } else {
                node.values.remove(matcher, cond);
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
    fn walk(&self, value: &Value, path: u32, depth: usize, found: &mut Vec<u32>) {
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
                            self.walk(field, *child, depth + 1, found);
                        }
                    }
                } else {
                    for (name, field) in fields {
                        if let Some(child) = node.child(name) {
                            self.walk(field, child, depth + 1, found);
                        }
                    }
                }
            }
            Value::Array(elements) => {
                for element in elements {
                    self.walk(element, path, depth + 1, found);
                }
            }
            scalar => {
                if let Some(leaf) = Leaf::of(scalar) {
                    node.values
                        .lookup(leaf, &mut |cond| found.push(cond.branch));
                }
            }
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
        let mut found = Vec::new();
        machine.walk(
            &json!({"detail-type": "Shared", "source": "app.7"}),
            0,
            0,
            &mut found,
        );
        // The first rule, added when "Shared" was as rare as its source, has moved off it.
        assert_eq!(found.len(), 1, "{found:?}");
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
