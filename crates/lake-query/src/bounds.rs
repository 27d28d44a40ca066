//! The range of `eventTime` a `WHERE` clause admits, so the caller reads only the events in it.
//! The range may be wider than what matches (anything it cannot read is taken as unbounded),
//! never narrower.

use crate::plan::PExpr;
use crate::schema::{EVENT_TIME, Type};
use crate::syntax::CompareOp;
use crate::value::Value;

/// Inclusive bounds in milliseconds since the epoch; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) low: Option<i64>,
    pub(crate) high: Option<i64>,
}

const UNBOUNDED: Bounds = Bounds {
    low: None,
    high: None,
};

pub(crate) fn event_time_bounds(filter: Option<&PExpr>) -> Bounds {
    filter.map_or(UNBOUNDED, bounds)
}

fn bounds(expr: &PExpr) -> Bounds {
    match expr {
        PExpr::And(terms) => terms.iter().map(bounds).fold(UNBOUNDED, |a, b| Bounds {
            low: a.low.max(b.low),
            high: match (a.high, b.high) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }),
        PExpr::Or(terms) => {
            let mut terms = terms.iter().map(bounds);
            let first = terms.next().unwrap_or(UNBOUNDED);
            terms.fold(first, |a, b| Bounds {
                low: a.low.zip(b.low).map(|(a, b)| a.min(b)),
                high: a.high.zip(b.high).map(|(a, b)| a.max(b)),
            })
        }
        PExpr::Compare { op, left, right } => match (is_event_time(left), instant(right)) {
            (true, Some(at)) => compared(*op, at),
            _ => match (instant(left), is_event_time(right)) {
                (Some(at), true) => compared(op.flipped(), at),
                _ => UNBOUNDED,
            },
        },
        PExpr::Between {
            value,
            low,
            high,
            negated: false,
        } if is_event_time(value) => Bounds {
            low: instant(low).map(ceil_millis),
            high: instant(high).map(floor_millis),
        },
        PExpr::In {
            value,
            list,
            negated: false,
        } if is_event_time(value) => {
            let instants: Option<Vec<i64>> = list.iter().map(instant).collect();
            match instants {
                Some(instants) => Bounds {
                    low: instants.iter().min().copied().map(ceil_millis),
                    high: instants.iter().max().copied().map(floor_millis),
                },
                None => UNBOUNDED,
            }
        }
        _ => UNBOUNDED,
    }
}

/// Bounds of `eventTime op at`; event times are whole milliseconds.
fn compared(op: CompareOp, at: i64) -> Bounds {
    match op {
        CompareOp::Eq => Bounds {
            low: Some(ceil_millis(at)),
            high: Some(floor_millis(at)),
        },
        CompareOp::Gt => Bounds {
            low: Some(floor_millis(at).saturating_add(1)),
            high: None,
        },
        CompareOp::GtEq => Bounds {
            low: Some(ceil_millis(at)),
            high: None,
        },
        CompareOp::Lt => Bounds {
            low: None,
            high: Some(ceil_millis(at).saturating_sub(1)),
        },
        CompareOp::LtEq => Bounds {
            low: None,
            high: Some(floor_millis(at)),
        },
        CompareOp::NotEq => UNBOUNDED,
    }
}

/// Whether `expr` is the `eventtime` column (possibly widened to a zoned timestamp, which
/// keeps its instant).
fn is_event_time(expr: &PExpr) -> bool {
    match expr {
        PExpr::Column { path, .. } => {
            matches!(path.as_slice(), [field] if field.name == EVENT_TIME)
        }
        PExpr::Cast {
            value,
            target: Type::TimestampTz(_),
            ..
        } => is_event_time(value),
        _ => false,
    }
}

/// The instant of a constant timestamp, in microseconds.
fn instant(expr: &PExpr) -> Option<i64> {
    match expr {
        PExpr::Const(value @ (Value::Timestamp { .. } | Value::TimestampTz { .. })) => {
            value.instant()
        }
        _ => None,
    }
}

fn floor_millis(micros: i64) -> i64 {
    micros.div_euclid(1000)
}

fn ceil_millis(micros: i64) -> i64 {
    floor_millis(micros) + i64::from(micros.rem_euclid(1000) != 0)
}
