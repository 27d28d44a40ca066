//! Running a plan over events offered one at a time: filtering, then either collecting output
//! rows or folding events into groups; sorting, `OFFSET`/`LIMIT` and rendering at the end.
//! With `LIMIT`, no more rows are kept than the limit needs (sorted ones are cut back as
//! they pile up), so memory follows the result, not the events scanned.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::Statement;
use crate::error::QueryError;
use crate::eval::{Context, eval};
use crate::plan::{Aggregate, AggregateFunction, PExpr, Plan, Shape, SortKey, SortSource};
use crate::value::{Value, sort_order};

/// A query's rows, rendered as `GetQueryResults` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    /// One entry per column; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    pub events_scanned: u64,
    pub events_matched: u64,
}

/// A query in progress over the events of its event data store.
pub struct Execution<'s> {
    plan: &'s Plan,
    now_millis: Option<i64>,
    events_scanned: u64,
    events_matched: u64,
    state: State,
    /// About how many bytes the kept rows, groups and distinct rows hold.
    kept_bytes: usize,
}

/// The most memory one query keeps (rows, groups, distinct rows) before it fails, as Trino
/// fails a query past its memory limit.
pub(crate) const MAX_KEPT_BYTES: usize = 256 * 1024 * 1024;

enum State {
    Rows {
        rows: Vec<Row>,
        /// Every distinct row seen, for `SELECT DISTINCT`.
        seen: HashSet<Vec<Value>>,
    },
    Groups {
        index: HashMap<Vec<Value>, usize>,
        groups: Vec<Group>,
    },
}

struct Row {
    values: Vec<Value>,
    sort: Vec<Value>,
}

struct Group {
    keys: Vec<Value>,
    accumulators: Vec<Accumulator>,
}

impl<'s> Execution<'s> {
    pub(crate) fn new(statement: &'s Statement, now_millis: Option<i64>) -> Self {
        let plan = &statement.plan;
        let state = match plan.shape {
            Shape::Rows { .. } => State::Rows {
                rows: Vec::new(),
                seen: HashSet::new(),
            },
            Shape::Groups { .. } => State::Groups {
                index: HashMap::new(),
                groups: Vec::new(),
            },
        };
        Self {
            plan,
            now_millis,
            events_scanned: 0,
            events_matched: 0,
            state,
            kept_bytes: 0,
        }
    }

    /// Offers one event; counts it as scanned, and as matched when it passes `WHERE`. An error
    /// fails the query (Trino's run-time errors, such as division by zero).
    pub fn add(&mut self, event: &serde_json::Value) -> Result<(), QueryError> {
        self.events_scanned += 1;
        let context = Context {
            event: Some(event),
            keys: &[],
            aggregates: &[],
            now_millis: self.now_millis,
        };
        if let Some(filter) = &self.plan.filter
            && !matches!(eval(filter, &context)?, Value::Bool(true))
        {
            return Ok(());
        }
        self.events_matched += 1;
        let plan = self.plan;
        match (&plan.shape, &mut self.state) {
            (Shape::Rows { outputs }, State::Rows { rows, seen }) => {
                let kept = kept_rows(plan);
                if plan.order.is_empty() && kept.is_some_and(|kept| rows.len() >= kept) {
                    return Ok(());
                }
                let values = eval_all(outputs, &context)?;
                if plan.distinct {
                    if !seen.insert(values.clone()) {
                        return Ok(());
                    }
                    self.kept_bytes += footprint(&values);
                }
                let sort = sort_values(&plan.order, &values, &context)?;
                self.kept_bytes += footprint(&values) + footprint(&sort);
                rows.push(Row { values, sort });
                if let Some(kept) = kept
                    && rows.len() >= kept.saturating_mul(2).max(1024)
                {
                    sort_rows(rows, &plan.order);
                    rows.truncate(kept);
                    let distinct: usize = seen.iter().map(|values| footprint(values)).sum();
                    self.kept_bytes = distinct
                        + rows
                            .iter()
                            .map(|row| footprint(&row.values) + footprint(&row.sort))
                            .sum::<usize>();
                }
            }
            (
                Shape::Groups {
                    keys, aggregates, ..
                },
                State::Groups { index, groups },
            ) => {
                let key_values = eval_all(keys, &context)?;
                let position = match index.get(&key_values) {
                    Some(position) => *position,
                    None => {
                        self.kept_bytes += 2 * footprint(&key_values);
                        groups.push(Group {
                            keys: key_values.clone(),
                            accumulators: aggregates.iter().map(Accumulator::new).collect(),
                        });
                        index.insert(key_values, groups.len() - 1);
                        groups.len() - 1
                    }
                };
                if let Some(group) = groups.get_mut(position) {
                    for (accumulator, aggregate) in group.accumulators.iter_mut().zip(aggregates) {
                        let value = match &aggregate.arg {
                            Some(arg) => Some(eval(arg, &context)?),
                            None => None,
                        };
                        accumulator.add(value)?;
                    }
                }
            }
            _ => {}
        }
        if self.kept_bytes > MAX_KEPT_BYTES {
            return Err(QueryError::new(format!(
                "Query exceeded the memory limit of {} MB: narrow it with WHERE, LIMIT or \
                 fewer columns",
                MAX_KEPT_BYTES / (1024 * 1024)
            )));
        }
        Ok(())
    }

    /// The query's result: sorted, cut by `OFFSET` and `LIMIT`, and rendered.
    pub fn finish(self) -> Result<ResultSet, QueryError> {
        let plan = self.plan;
        let mut rows = match (&plan.shape, self.state) {
            (Shape::Rows { .. }, State::Rows { rows, .. }) => rows,
            (
                Shape::Groups {
                    keys,
                    aggregates,
                    outputs,
                    having,
                },
                State::Groups { mut groups, .. },
            ) => {
                // Aggregating without GROUP BY gives one row even over no events.
                if groups.is_empty() && keys.is_empty() {
                    groups.push(Group {
                        keys: Vec::new(),
                        accumulators: aggregates.iter().map(Accumulator::new).collect(),
                    });
                }
                group_rows(plan, groups, outputs, having.as_ref(), self.now_millis)?
            }
            _ => Vec::new(),
        };
        sort_rows(&mut rows, &plan.order);
        let offset = usize::try_from(plan.offset).unwrap_or(usize::MAX);
        let limit = plan.limit.map_or(usize::MAX, |limit| {
            usize::try_from(limit).unwrap_or(usize::MAX)
        });
        let rows = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|row| row.values.iter().map(Value::render).collect())
            .collect();
        Ok(ResultSet {
            columns: plan.columns.clone(),
            rows,
            events_scanned: self.events_scanned,
            events_matched: self.events_matched,
        })
    }
}

/// The output rows of the groups that pass `HAVING`.
fn group_rows(
    plan: &Plan,
    groups: Vec<Group>,
    outputs: &[PExpr],
    having: Option<&PExpr>,
    now_millis: Option<i64>,
) -> Result<Vec<Row>, QueryError> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for group in groups {
        let mut aggregates = Vec::with_capacity(group.accumulators.len());
        for accumulator in group.accumulators {
            aggregates.push(accumulator.finish()?);
        }
        let context = Context {
            event: None,
            keys: &group.keys,
            aggregates: &aggregates,
            now_millis,
        };
        if let Some(having) = having
            && !matches!(eval(having, &context)?, Value::Bool(true))
        {
            continue;
        }
        let values = eval_all(outputs, &context)?;
        if plan.distinct && !seen.insert(values.clone()) {
            continue;
        }
        let sort = sort_values(&plan.order, &values, &context)?;
        rows.push(Row { values, sort });
    }
    Ok(rows)
}

/// How many rows `OFFSET` and `LIMIT` need, when there is a `LIMIT`.
fn kept_rows(plan: &Plan) -> Option<usize> {
    let limit = plan.limit?;
    let kept = plan.offset.saturating_add(limit);
    Some(usize::try_from(kept).unwrap_or(usize::MAX))
}

fn footprint(values: &[Value]) -> usize {
    values.iter().map(Value::footprint).sum()
}

fn eval_all(exprs: &[PExpr], context: &Context<'_>) -> Result<Vec<Value>, QueryError> {
    exprs.iter().map(|expr| eval(expr, context)).collect()
}

fn sort_values(
    order: &[SortKey],
    values: &[Value],
    context: &Context<'_>,
) -> Result<Vec<Value>, QueryError> {
    order
        .iter()
        .map(|key| match &key.source {
            SortSource::Output(index) => Ok(values.get(*index).cloned().unwrap_or(Value::Null)),
            SortSource::Expr(expr) => eval(expr, context),
        })
        .collect()
}

/// A stable sort, so rows that tie keep the order they came in.
fn sort_rows(rows: &mut [Row], order: &[SortKey]) {
    if order.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        order
            .iter()
            .zip(a.sort.iter().zip(&b.sort))
            .map(|(key, (a, b))| sort_order(a, b, key.descending, key.nulls_first))
            .find(|order| *order != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
}

/// One aggregate's running state for one group.
enum Accumulator {
    Count(i64),
    Sum(Option<Value>),
    Avg {
        sum: f64,
        count: i64,
    },
    Min(Option<Value>),
    Max(Option<Value>),
    /// `DISTINCT`: the distinct non-null values, folded by `function` at the end.
    Distinct {
        function: AggregateFunction,
        values: HashSet<Value>,
    },
}

impl Accumulator {
    fn new(aggregate: &Aggregate) -> Self {
        if aggregate.distinct && aggregate.arg.is_some() {
            return Self::Distinct {
                function: aggregate.function,
                values: HashSet::new(),
            };
        }
        Self::plain(aggregate.function)
    }

    fn plain(function: AggregateFunction) -> Self {
        match function {
            AggregateFunction::Count => Self::Count(0),
            AggregateFunction::Sum => Self::Sum(None),
            AggregateFunction::Avg => Self::Avg { sum: 0.0, count: 0 },
            AggregateFunction::Min => Self::Min(None),
            AggregateFunction::Max => Self::Max(None),
        }
    }

    /// Takes one event's argument (`None` for `count(*)`); NULLs are skipped.
    fn add(&mut self, value: Option<Value>) -> Result<(), QueryError> {
        let Some(value) = value else {
            if let Self::Count(count) = self {
                *count += 1;
            }
            return Ok(());
        };
        if value.is_null() {
            return Ok(());
        }
        match self {
            Self::Count(count) => *count += 1,
            Self::Sum(sum) => {
                *sum = Some(match (sum.take(), value) {
                    (None, value) => value,
                    (Some(Value::Int(a)), Value::Int(b)) => Value::Int(
                        a.checked_add(b)
                            .ok_or_else(|| QueryError::new("bigint addition overflow"))?,
                    ),
                    (Some(a), b) => {
                        Value::Double(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
                    }
                });
            }
            Self::Avg { sum, count } => {
                *sum += value.as_f64().unwrap_or(0.0);
                *count += 1;
            }
            Self::Min(best) => keep_extreme(best, value, Ordering::Less),
            Self::Max(best) => keep_extreme(best, value, Ordering::Greater),
            Self::Distinct { values, .. } => {
                values.insert(value);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Value, QueryError> {
        Ok(match self {
            Self::Count(count) => Value::Int(count),
            Self::Sum(sum) | Self::Min(sum) | Self::Max(sum) => sum.unwrap_or(Value::Null),
            Self::Avg { count: 0, .. } => Value::Null,
            Self::Avg { sum, count } => Value::Double(sum / count as f64),
            Self::Distinct { function, values } => {
                let mut folded = Self::plain(function);
                for value in values {
                    folded.add(Some(value))?;
                }
                folded.finish()?
            }
        })
    }
}

/// Keeps `value` in `best` when it is further in the `wanted` direction.
fn keep_extreme(best: &mut Option<Value>, value: Value, wanted: Ordering) {
    if best
        .as_ref()
        .is_none_or(|current| value.compare(current) == Some(wanted))
    {
        *best = Some(value);
    }
}
