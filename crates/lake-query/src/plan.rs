//! A statement after analysis: every name resolved against the schema, every type checked,
//! implicit coercions made explicit, and aggregation split into what is computed per event
//! (group keys, aggregate arguments) and what is computed per group (everything else).

use crate::like::LikePattern;
use crate::schema::{Field, Type};
use crate::syntax::{ArithOp, CompareOp};
use crate::time::Unit;
use crate::value::Value;

#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) columns: Vec<String>,
    pub(crate) filter: Option<PExpr>,
    pub(crate) shape: Shape,
    pub(crate) distinct: bool,
    pub(crate) order: Vec<SortKey>,
    pub(crate) offset: u64,
    pub(crate) limit: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum Shape {
    /// One output row per matching event; `outputs` read the event.
    Rows { outputs: Vec<PExpr> },
    /// One output row per group; `keys` and the aggregates' arguments read the event, and
    /// `outputs` and `having` read the group (through [`PExpr::KeyRef`] and
    /// [`PExpr::AggregateRef`]).
    Groups {
        keys: Vec<PExpr>,
        aggregates: Vec<Aggregate>,
        outputs: Vec<PExpr>,
        having: Option<PExpr>,
    },
}

#[derive(Debug)]
pub(crate) struct SortKey {
    pub(crate) source: SortSource,
    pub(crate) descending: bool,
    pub(crate) nulls_first: bool,
}

#[derive(Debug)]
pub(crate) enum SortSource {
    /// The value of an output column.
    Output(usize),
    /// An expression read where the outputs are read.
    Expr(PExpr),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aggregate {
    pub(crate) function: AggregateFunction,
    /// `None` for `count(*)`.
    pub(crate) arg: Option<PExpr>,
    pub(crate) distinct: bool,
    pub(crate) text: Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggregateFunction {
    Count,
    /// Sum of bigints (a bigint) or of doubles (a double).
    Sum,
    Avg,
    Min,
    Max,
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Lower,
    Upper,
    Length,
    Substr,
    Concat,
    Coalesce,
    ElementAt,
    Cardinality,
    JsonExtractScalar,
    DateTrunc,
    DateAdd,
    DateDiff,
    FromIso8601Timestamp,
    ToIso8601,
    Greatest,
    Least,
    If,
    Nullif,
    Trim,
    Ltrim,
    Rtrim,
    Strpos,
    StartsWith,
    SplitPart,
    Abs,
}

/// Source text of an expression, kept for messages; it never makes two expressions unequal,
/// so `eventName` and `EVENTNAME` are one group key.
#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub(crate) text: String,
    pub(crate) start: usize,
}

impl PartialEq for Text {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LikeSpec {
    /// A constant pattern, compiled once.
    Compiled(LikePattern),
    Dynamic {
        pattern: Box<PExpr>,
        escape: Option<Box<PExpr>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PExpr {
    Const(Value),
    /// A column or nested field of the record, by its path through the schema.
    Column {
        path: Vec<&'static Field>,
        text: Text,
    },
    /// The whole record as JSON text.
    EventJson,
    Field {
        base: Box<PExpr>,
        index: usize,
    },
    /// `array[index]` (1-based) or `map[key]`.
    Subscript {
        base: Box<PExpr>,
        index: Box<PExpr>,
    },
    Not(Box<PExpr>),
    Negate(Box<PExpr>),
    And(Vec<PExpr>),
    Or(Vec<PExpr>),
    Compare {
        op: CompareOp,
        left: Box<PExpr>,
        right: Box<PExpr>,
    },
    Arith {
        op: ArithOp,
        left: Box<PExpr>,
        right: Box<PExpr>,
    },
    Concat(Box<PExpr>, Box<PExpr>),
    Like {
        value: Box<PExpr>,
        pattern: LikeSpec,
        negated: bool,
    },
    In {
        value: Box<PExpr>,
        list: Vec<PExpr>,
        negated: bool,
    },
    Between {
        value: Box<PExpr>,
        low: Box<PExpr>,
        high: Box<PExpr>,
        negated: bool,
    },
    IsNull {
        value: Box<PExpr>,
        negated: bool,
    },
    IsDistinct {
        left: Box<PExpr>,
        right: Box<PExpr>,
        negated: bool,
    },
    Call {
        function: Function,
        args: Vec<PExpr>,
    },
    /// `date_trunc` and `date_add` with a constant unit.
    DateUnit {
        function: Function,
        unit: Unit,
        args: Vec<PExpr>,
    },
    /// `current_timestamp` / `now()`.
    Now,
    Case {
        operand: Option<Box<PExpr>>,
        whens: Vec<(PExpr, PExpr)>,
        otherwise: Option<Box<PExpr>>,
    },
    Cast {
        value: Box<PExpr>,
        target: Type,
        /// `CAST(... AS integer)`: a bigint that must fit 32 bits.
        integer: bool,
        /// `TRY_CAST`: NULL instead of an error.
        is_try: bool,
    },
    /// An aggregate call, before the plan is split (see [`Shape::Groups`]).
    Aggregate(Box<Aggregate>),
    AggregateRef(usize),
    KeyRef(usize),
}

impl PExpr {
    /// The expressions directly under this one.
    pub(crate) fn children(&self) -> Vec<&PExpr> {
        let mut children = Vec::new();
        match self {
            Self::Const(_)
            | Self::Column { .. }
            | Self::EventJson
            | Self::Now
            | Self::AggregateRef(_)
            | Self::KeyRef(_) => {}
            Self::Field { base: one, .. }
            | Self::Not(one)
            | Self::Negate(one)
            | Self::IsNull { value: one, .. }
            | Self::Cast { value: one, .. } => children.push(&**one),
            Self::Subscript { base: a, index: b }
            | Self::Compare {
                left: a, right: b, ..
            }
            | Self::Arith {
                left: a, right: b, ..
            }
            | Self::Concat(a, b)
            | Self::IsDistinct {
                left: a, right: b, ..
            } => children.extend([&**a, &**b]),
            Self::And(terms)
            | Self::Or(terms)
            | Self::Call { args: terms, .. }
            | Self::DateUnit { args: terms, .. } => children.extend(terms),
            Self::Like { value, pattern, .. } => {
                children.push(&**value);
                if let LikeSpec::Dynamic { pattern, escape } = pattern {
                    children.push(&**pattern);
                    children.extend(escape.as_deref());
                }
            }
            Self::In { value, list, .. } => {
                children.push(&**value);
                children.extend(list);
            }
            Self::Between {
                value, low, high, ..
            } => children.extend([&**value, &**low, &**high]),
            Self::Case {
                operand,
                whens,
                otherwise,
            } => {
                children.extend(operand.as_deref());
                for (condition, result) in whens {
                    children.extend([condition, result]);
                }
                children.extend(otherwise.as_deref());
            }
            Self::Aggregate(aggregate) => children.extend(aggregate.arg.as_ref()),
        }
        children
    }

    /// The expressions directly under this one, to rewrite in place.
    pub(crate) fn children_mut(&mut self) -> Vec<&mut PExpr> {
        let mut children = Vec::new();
        match self {
            Self::Const(_)
            | Self::Column { .. }
            | Self::EventJson
            | Self::Now
            | Self::AggregateRef(_)
            | Self::KeyRef(_) => {}
            Self::Field { base: one, .. }
            | Self::Not(one)
            | Self::Negate(one)
            | Self::IsNull { value: one, .. }
            | Self::Cast { value: one, .. } => children.push(&mut **one),
            Self::Subscript { base: a, index: b }
            | Self::Compare {
                left: a, right: b, ..
            }
            | Self::Arith {
                left: a, right: b, ..
            }
            | Self::Concat(a, b)
            | Self::IsDistinct {
                left: a, right: b, ..
            } => children.extend([&mut **a, &mut **b]),
            Self::And(terms)
            | Self::Or(terms)
            | Self::Call { args: terms, .. }
            | Self::DateUnit { args: terms, .. } => children.extend(terms),
            Self::Like { value, pattern, .. } => {
                children.push(&mut **value);
                if let LikeSpec::Dynamic { pattern, escape } = pattern {
                    children.push(&mut **pattern);
                    children.extend(escape.as_deref_mut());
                }
            }
            Self::In { value, list, .. } => {
                children.push(&mut **value);
                children.extend(list);
            }
            Self::Between {
                value, low, high, ..
            } => children.extend([&mut **value, &mut **low, &mut **high]),
            Self::Case {
                operand,
                whens,
                otherwise,
            } => {
                children.extend(operand.as_deref_mut());
                for (condition, result) in whens {
                    children.extend([condition, result]);
                }
                children.extend(otherwise.as_deref_mut());
            }
            Self::Aggregate(aggregate) => children.extend(aggregate.arg.as_mut()),
        }
        children
    }

    pub(crate) fn contains_aggregate(&self) -> bool {
        matches!(self, Self::Aggregate(_))
            || self.children().into_iter().any(Self::contains_aggregate)
    }

    /// The source text of the first aggregate call under this expression, for a message.
    pub(crate) fn first_aggregate_text(&self) -> Option<&Text> {
        match self {
            Self::Aggregate(aggregate) => Some(&aggregate.text),
            _ => self
                .children()
                .into_iter()
                .find_map(Self::first_aggregate_text),
        }
    }
}
