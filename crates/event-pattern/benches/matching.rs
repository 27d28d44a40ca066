//! Events per second through a [`Machine`] holding 10, 100, 1,000 and 10,000 rules, a third
//! each of exact (`source` and `detail-type`), prefix and numeric-range patterns. Every event is
//! a realistic EventBridge envelope that matches a few rules; the cost should stay flat as rules
//! are added. Run with `cargo bench -p palisade-event-pattern --bench matching`; criterion's
//! throughput line is events per second.
//!
//! Time is the benchmark thread's CPU time, not wall time: on a machine shared with other
//! work, wall time counts the moments the thread waited for a core. Linux's per-thread
//! accounting (`/proc/thread-self/schedstat`) is current to a scheduler tick, so samples are
//! kept long (tens of milliseconds) by a small sample count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark setup: a failure is a broken benchmark"
)]

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
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

/// The current thread's CPU time, in nanoseconds, as criterion's measurement.
struct ThreadCpuTime;

static WALL_TIME: WallTime = WallTime;

fn thread_cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(start)
    }

    fn add(&self, left: &u64, right: &u64) -> u64 {
        left + right
    }

    fn zero(&self) -> u64 {
        0
    }

    #[expect(clippy::cast_precision_loss, reason = "nanoseconds of a benchmark run")]
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, as wall time's are.
        WALL_TIME.formatter()
    }
}

fn matching(c: &mut Criterion<ThreadCpuTime>) {
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(20);
    targets = matching
}
criterion_main!(benches);
