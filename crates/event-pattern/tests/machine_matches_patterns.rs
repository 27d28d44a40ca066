//! The compiled machine answers exactly as evaluating each pattern on its own does, for random
//! patterns (every filter kind, nesting, `$or`) and random events (nesting, arrays of scalars
//! and of objects, every JSON type).

use palisade_event_pattern::{Machine, Pattern};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const FIELDS: [&str; 2] = ["a", "b"];
const WORDS: [&str; 4] = ["x", "xY", "yx", "10.0.0.7"];

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS.as_slice()).prop_map(str::to_owned)
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS.as_slice()).prop_map(str::to_owned)
}

fn number() -> impl Strategy<Value = f64> {
    prop::sample::select([-1.5, 0.0, 1.0, 2.0, 2.5, 10.0].as_slice())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::from),
        number().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn filter() -> impl Strategy<Value = Value> {
    let operator = prop::sample::select([">", ">=", "<", "<="].as_slice());
    prop_oneof![
        scalar(),
        word().prop_map(|w| json!({"prefix": w})),
        word().prop_map(|w| json!({"prefix": {"equals-ignore-case": w}})),
        word().prop_map(|w| json!({"suffix": w})),
        word().prop_map(|w| json!({"suffix": {"equals-ignore-case": w}})),
        word().prop_map(|w| json!({"equals-ignore-case": w})),
        word().prop_map(|w| json!({"wildcard": format!("*{w}*")})),
        word().prop_map(|w| json!({"anything-but": w})),
        prop::collection::vec(number(), 1..3).prop_map(|n| json!({"anything-but": n})),
        word().prop_map(|w| json!({"anything-but": {"prefix": w}})),
        word().prop_map(|w| json!({"anything-but": {"suffix": w}})),
        word().prop_map(|w| json!({"anything-but": {"equals-ignore-case": w}})),
        word().prop_map(|w| json!({"anything-but": {"wildcard": format!("{w}*")}})),
        any::<bool>().prop_map(|e| json!({"exists": e})),
        Just(json!({"cidr": "10.0.0.0/24"})),
        number().prop_map(|n| json!({"numeric": ["=", n]})),
        (operator.clone(), number()).prop_map(|(o, n)| json!({"numeric": [o, n]})),
        (number(), number()).prop_map(|(l, u)| json!({"numeric": [">=", l, "<", u]})),
    ]
}

fn pattern_object(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop::collection::vec(filter(), 1..3).prop_map(Value::Array);
    let value = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![3 => leaf, 1 => pattern_object(depth - 1)].boxed()
    };
    let fields = prop::collection::btree_map(field(), value, 1..3);
    let or = if depth == 0 {
        Just(None).boxed()
    } else {
        prop::option::weighted(0.2, prop::collection::vec(pattern_object(depth - 1), 2..3)).boxed()
    };
    (fields, or)
        .prop_map(|(fields, or)| {
            let mut object: Map<String, Value> = fields.into_iter().collect();
            if let Some(alternatives) = or {
                object.insert("$or".to_owned(), Value::Array(alternatives));
            }
            Value::Object(object)
        })
        .boxed()
}

fn event_value(depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 {
        return prop_oneof![
            4 => scalar(),
            1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        ]
        .boxed();
    }
    let object = prop::collection::btree_map(field(), event_value(depth - 1), 0..4)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
        .boxed();
    prop_oneof![
        2 => scalar(),
        2 => object.clone(),
        2 => prop::collection::vec(object, 0..4).prop_map(Value::Array),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(Value::Array),
    ]
    .boxed()
}

fn event() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(field(), event_value(2), 0..4)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn machine_agrees_with_each_pattern(
        patterns in prop::collection::vec(pattern_object(2), 1..8),
        events in prop::collection::vec(event(), 1..6),
    ) {
        let parsed: Vec<(usize, Pattern)> = patterns
            .iter()
            .enumerate()
            .filter_map(|(id, pattern)| Pattern::from_value(pattern).ok().map(|p| (id, p)))
            .collect();
        let mut machine = Machine::new();
        for (id, pattern) in &parsed {
            machine.add_rule(*id, pattern);
        }
        // Removing and re-adding must leave the machine as it was.
        if let Some((id, pattern)) = parsed.first() {
            machine.remove_rule(id);
            machine.add_rule(*id, pattern);
        }
        for event in &events {
            let expected: Vec<usize> = parsed
                .iter()
                .filter(|(_, pattern)| pattern.matches(event))
                .map(|(id, _)| *id)
                .collect();
            prop_assert_eq!(machine.matching_rules(event), expected, "event {}", event);
        }
        // Removing rules, whose slots the next additions reuse, leaves no trace of them.
        for (id, _) in parsed.iter().filter(|(id, _)| id % 2 == 0) {
            machine.remove_rule(id);
        }
        for (id, pattern) in parsed.iter().filter(|(id, _)| id % 2 == 0) {
            machine.add_rule(id + 100, pattern);
        }
        for event in &events {
            let expected: Vec<usize> = parsed
                .iter()
                .filter(|(_, pattern)| pattern.matches(event))
                .map(|(id, _)| if id % 2 == 0 { id + 100 } else { *id })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            prop_assert_eq!(machine.matching_rules(event), expected, "event {}", event);
        }
    }
}
