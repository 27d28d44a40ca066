//! The meaning of a pattern, evaluated directly on an event's JSON tree. It is the reference the
//! compiled [`crate::Machine`] is tested against, and what the machine falls back on to settle
//! candidates whose values came from inside arrays.
//!
//! An event is seen as its leaves, each at a path of field names (array elements take their
//! array's path). A condition holds when some leaf at its path matches one of its filters, or,
//! for `{"exists": false}`, when there is no leaf at the path anywhere in the event. All the
//! leaves a branch uses must be consistent: where two of them sit in the same array, they must
//! sit in the same element of it, so `{"a": {"x": [1], "y": [2]}}` does not match
//! `{"a": [{"x": 1}, {"y": 2}]}`.

use std::borrow::Borrow;

use serde_json::Value;

use crate::matcher::Leaf;
use crate::pattern::{Branch, Condition, Pattern};

/// How deep evaluation follows an event. Events parsed by serde_json are at most 128 levels
/// deep; a deeper `Value` built in code is treated as having no leaves below this.
const MAX_EVENT_DEPTH: usize = 160;

impl Pattern {
    /// Whether `event` matches this pattern: whether it matches any branch.
    pub fn matches(&self, event: &Value) -> bool {
        self.branches.iter().any(|branch| branch.matches(event))
    }
}

impl Branch {
    pub(crate) fn matches(&self, event: &Value) -> bool {
        if !self.conditions.iter().any(|condition| condition.absent_ok) {
            return satisfies(&self.conditions, 0, event, 0);
        }
        let mut required: Vec<&Condition> = Vec::with_capacity(self.conditions.len());
        for condition in &self.conditions {
            if condition.absent_ok && !has_leaf(event, &condition.path, 0) {
                continue;
            }
            required.push(condition);
        }
        satisfies(&required, 0, event, 0)
    }
}

/// Whether one consistent choice of leaves under `node` satisfies every condition in `goals`.
/// The goals share their first `level` path segments (the path down to `node`), and are sorted
/// by path (see [`crate::pattern`]), so the goals under each field form one run.
fn satisfies<C: Borrow<Condition>>(goals: &[C], level: usize, node: &Value, depth: usize) -> bool {
    if goals.is_empty() {
        return true;
    }
    if depth > MAX_EVENT_DEPTH {
        return false;
    }
    match node {
        // All the goals under an array are met within one of its elements.
        Value::Array(elements) => elements
            .iter()
            .any(|element| satisfies(goals, level, element, depth + 1)),
        Value::Object(fields) => {
            let mut remaining = goals;
            while let Some(first) = remaining.first() {
                let Some(field) = condition(first).path.get(level) else {
                    return false; // an object is not a leaf
                };
                let run = remaining
                    .iter()
                    .take_while(|goal| condition(*goal).path.get(level) == Some(field))
                    .count();
                let (group, rest) = remaining.split_at(run);
                match fields.get(field) {
                    Some(child) if satisfies(group, level + 1, child, depth + 1) => {}
                    _ => return false,
                }
                remaining = rest;
            }
            true
        }
        scalar => {
            let Some(leaf) = Leaf::of(scalar) else {
                return false;
            };
            goals.iter().all(|goal| {
                let goal = condition(goal);
                goal.path.len() == level
                    && goal.matchers.iter().any(|matcher| matcher.matches(leaf))
            })
        }
    }
}

/// The goals are conditions, owned or borrowed.
fn condition<C: Borrow<Condition>>(goal: &C) -> &Condition {
    goal.borrow()
}

/// Whether the event has any leaf at `path`.
pub(crate) fn has_leaf(node: &Value, path: &[String], depth: usize) -> bool {
    if depth > MAX_EVENT_DEPTH {
        return false;
    }
    match (node, path.split_first()) {
        (Value::Array(elements), _) => elements
            .iter()
            .any(|element| has_leaf(element, path, depth + 1)),
        (Value::Object(fields), Some((field, rest))) => fields
            .get(field)
            .is_some_and(|child| has_leaf(child, rest, depth + 1)),
        (Value::Object(_), None) => false,
        (_, None) => true,
        (_, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn matches(pattern: Value, event: Value) -> bool {
        Pattern::from_value(&pattern).unwrap().matches(&event)
    }

    #[test]
    fn exact_values_and_nesting() {
        let pattern = json!({"source": ["aws.ec2"], "detail": {"state": ["running", "stopped"]}});
        assert!(matches(
            pattern.clone(),
            json!({"source": "aws.ec2", "detail": {"state": "running"}})
        ));
        assert!(!matches(
            pattern.clone(),
            json!({"source": "aws.ec2", "detail": {"state": "pending"}})
        ));
        assert!(!matches(pattern, json!({"source": "aws.ec2"})));
        assert!(matches(json!({"n": [5]}), json!({"n": 5.0})));
        assert!(!matches(json!({"n": ["5"]}), json!({"n": 5})));
        assert!(matches(json!({"b": [true]}), json!({"b": true})));
    }

    #[test]
    fn null_is_a_value_and_missing_is_not() {
        assert!(matches(json!({"x": [null]}), json!({"x": null})));
        assert!(!matches(json!({"x": [null]}), json!({})));
        assert!(matches(json!({"x": [{"exists": false}]}), json!({})));
        assert!(!matches(
            json!({"x": [{"exists": false}]}),
            json!({"x": null})
        ));
        assert!(matches(
            json!({"x": [{"exists": true}]}),
            json!({"x": null})
        ));
        assert!(!matches(
            json!({"x": [{"exists": true}]}),
            json!({"x": {"y": 1}})
        ));
        assert!(matches(json!({"x": [{"exists": false}]}), json!({"x": []})));
    }

    #[test]
    fn arrays_in_events_match_any_element_consistently() {
        assert!(matches(json!({"r": ["b"]}), json!({"r": ["a", "b"]})));
        let pattern = json!({"a": {"x": [1], "y": [2]}});
        assert!(matches(pattern.clone(), json!({"a": [{"x": 1, "y": 2}]})));
        assert!(!matches(pattern, json!({"a": [{"x": 1}, {"y": 2}]})));
        assert!(!matches(
            json!({"a": {"b": [{"exists": false}]}}),
            json!({"a": [{"b": 1}, {"c": 2}]})
        ));
    }

    #[test]
    fn content_filters() {
        assert!(matches(
            json!({"t": [{"prefix": "2017"}]}),
            json!({"t": "2017-10-02"})
        ));
        assert!(matches(
            json!({"t": [{"prefix": {"equals-ignore-case": "EVENTB"}}]}),
            json!({"t": "EventBridge"})
        ));
        assert!(matches(
            json!({"f": [{"suffix": ".png"}]}),
            json!({"f": "a.png"})
        ));
        assert!(matches(
            json!({"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]}),
            json!({"f": "a.png"})
        ));
        assert!(matches(
            json!({"s": [{"anything-but": "init"}]}),
            json!({"s": "done"})
        ));
        assert!(!matches(
            json!({"s": [{"anything-but": ["init", "x"]}]}),
            json!({"s": "x"})
        ));
        assert!(!matches(
            json!({"s": [{"anything-but": "init"}]}),
            json!({})
        ));
        assert!(matches(
            json!({"r": [{"anything-but": {"prefix": "us-"}}]}),
            json!({"r": "eu-west-1"})
        ));
        assert!(!matches(
            json!({"r": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}),
            json!({"r": "B"})
        ));
        assert!(matches(
            json!({"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"p": "/usr/bin/x"})
        ));
        assert!(matches(
            json!({"n": [{"numeric": [">", 0, "<=", 5]}]}),
            json!({"n": 5})
        ));
        assert!(!matches(
            json!({"n": [{"numeric": [">", 0, "<=", 5]}]}),
            json!({"n": 0})
        ));
        assert!(matches(
            json!({"ip": [{"cidr": "10.0.0.0/24"}]}),
            json!({"ip": "10.0.0.9"})
        ));
        assert!(matches(
            json!({"e": [{"equals-ignore-case": "alice"}]}),
            json!({"e": "ALICE"})
        ));
        assert!(matches(
            json!({"k": [{"wildcard": "dir/*.png"}]}),
            json!({"k": "dir/a/b.png"})
        ));
    }

    #[test]
    fn or_combines_alternatives() {
        let pattern =
            json!({"source": ["a"], "$or": [{"x": [1]}, {"y": [{"numeric": [">", 10]}]}]});
        assert!(matches(pattern.clone(), json!({"source": "a", "x": 1})));
        assert!(matches(pattern.clone(), json!({"source": "a", "y": 11})));
        assert!(!matches(pattern, json!({"source": "a", "y": 1})));
    }
}
