//! Events per second through a [`Machine`] holding 10, 100, 1,000 and 10,000 rules, a third
//! each of exact (`source` and `detail-type`), prefix and numeric-range patterns. Every event is
//! a realistic EventBridge envelope that matches a few rules; the cost should stay flat as rules
//! are added. Run with `cargo bench -p palisade-event-pattern --bench matching`; criterion's
//! throughput line is events per second.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark setup: a failure is a broken benchmark"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade_event_pattern::{Machine, Pattern};
use serde_json::{Value, json};

const RULE_COUNTS: [usize; 4] = [10, 100, 1_000, 10_000];
const EVENTS: usize = 64;

fn rule(index: usize) -> String {
    match index % 3 {
        0 => format!(
            r#"{{"source": ["svc.{index}"], "detail-type": ["Type {}"]}}"#,
            index % 10
        ),
        1 => format!(r#"{{"detail": {{"name": [{{"prefix": "item-{index}-"}}]}}}}"#),
        _ => format!(
            r#"{{"detail": {{"count": [{{"numeric": [">=", {}, "<", {}]}}]}}}}"#,
            index * 10,
            index * 10 + 5
        ),
    }
}

/// An event aimed at rules near `target`: it matches its exact, prefix and numeric rules.
fn event(target: usize) -> Value {
    let exact = target - target % 3;
    json!({
        "version": "0",
        "id": format!("6a7e8feb-b491-4cf7-a9f1-bf3703467{target:03}"),
        "detail-type": format!("Type {}", exact % 10),
        "source": format!("svc.{exact}"),
        "account": "111122223333",
        "time": "2026-11-28T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-1234567890abcdef0"],
        "detail": {
            "name": format!("item-{}-payload", exact + 1),
            "count": (exact + 2) * 10 + 2,
            "state": "running",
            "tags": {"team": "payments", "env": "prod"}
        }
    })
}

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for rules in RULE_COUNTS {
        let mut machine = Machine::new();
        for index in 0..rules {
            machine.add_rule(index, &Pattern::parse(&rule(index)).unwrap());
        }
        let events: Vec<Value> = (0..EVENTS)
            .map(|n| event((n * 7919) % (rules - 3)))
            .collect();
        assert!(
            events
                .iter()
                .all(|event| machine.matching_rules(event).len() == 3)
        );
        group.bench_with_input(BenchmarkId::from_parameter(rules), &events, |b, events| {
            b.iter(|| {
                for event in events {
                    black_box(machine.matching_rules(black_box(event)));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
