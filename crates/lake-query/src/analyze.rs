//! Analysis: resolves names against Lake's schema, types every expression with Trino's rules
//! (refusing what Trino refuses, with its wording), makes implicit coercions explicit (a string
//! literal compared with a timestamp becomes a timestamp, as Lake's examples rely on), and
//! splits an aggregating query into per-event and per-group parts.

use crate::error::QueryError;
use crate::like::LikePattern;
use crate::plan::{
    Aggregate, AggregateFunction, Function, LikeSpec, PExpr, Plan, Shape, SortKey, SortSource, Text,
};
use crate::schema::{self, COLUMNS, EVENT_JSON, Type, UNSUPPORTED_COLUMNS};
use crate::syntax::{CompareOp, Expr, ExprKind, Ident, Query, SelectItem, TypeName};
use crate::time::{self, Unit};
use crate::value::Value;

pub(crate) fn analyze(query: &Query, text: &str) -> Result<Plan, QueryError> {
    let analyzer = Analyzer {
        text,
        alias: query.alias.as_ref().map(|alias| alias.value.as_str()),
    };
    analyzer.query(query)
}

/// Where an expression stands, which decides whether it may hold an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Where,
    GroupBy,
    Select,
    Having,
    OrderBy,
    /// Inside the argument of the named aggregate.
    Aggregate(&'static str),
}

struct Typed {
    expr: PExpr,
    ty: Type,
}

fn typed(expr: PExpr, ty: Type) -> Result<Typed, QueryError> {
    Ok(Typed { expr, ty })
}

/// An analyzed select item and the name its column gets.
struct Item {
    name: String,
    expr: PExpr,
    ty: Type,
}

struct Analyzer<'a> {
    text: &'a str,
    alias: Option<&'a str>,
}

impl Analyzer<'_> {
    fn query(&self, query: &Query) -> Result<Plan, QueryError> {
        let items = self.select_items(query)?;
        let filter = query
            .filter
            .as_ref()
            .map(|filter| self.condition(filter, Clause::Where))
            .transpose()?;
        let mut keys = Vec::new();
        for key in &query.group_by {
            let expr = match self.ordinal(key, &items, "GROUP BY")? {
                Some(item) => {
                    if let Some(aggregate) = item.expr.first_aggregate_text() {
                        return Err(self.error(
                            key.start,
                            format!(
                                "GROUP BY clause cannot contain aggregations, window functions or grouping operations: [{}]",
                                aggregate.text
                            ),
                        ));
                    }
                    item.expr.clone()
                }
                None => self.expr(key, Clause::GroupBy)?.expr,
            };
            keys.push(expr);
        }
        let having = query
            .having
            .as_ref()
            .map(|having| self.condition(having, Clause::Having))
            .transpose()?;
        let mut order = Vec::new();
        for item in &query.order_by {
            let (source, ty) = self.sort_source(&item.expr, &items)?;
            if !ty.is_orderable() {
                return Err(self.error(
                    item.expr.start,
                    format!(
                        "Type {ty} is not orderable, and therefore cannot be used in ORDER BY: {}",
                        self.source(&item.expr)
                    ),
                ));
            }
            if query.distinct && matches!(source, SortSource::Expr(_)) {
                return Err(self.error(
                    item.expr.start,
                    "For SELECT DISTINCT, ORDER BY expressions must appear in select list",
                ));
            }
            order.push(SortKey {
                source,
                descending: item.descending,
                nulls_first: item.nulls_first.unwrap_or(false),
            });
        }
        let aggregated = !keys.is_empty()
            || having.is_some()
            || items.iter().any(|item| item.expr.contains_aggregate())
            || order.iter().any(
                |key| matches!(&key.source, SortSource::Expr(expr) if expr.contains_aggregate()),
            );
        let columns = items.iter().map(|item| item.name.clone()).collect();
        let mut outputs: Vec<PExpr> = items.into_iter().map(|item| item.expr).collect();
        let shape = if aggregated {
            let mut aggregates = Vec::new();
            let mut having = having;
            let sort_exprs = order.iter_mut().filter_map(|key| match &mut key.source {
                SortSource::Expr(expr) => Some(expr),
                SortSource::Output(_) => None,
            });
            for expr in outputs.iter_mut().chain(having.as_mut()).chain(sort_exprs) {
                self.lift(expr, &keys, &mut aggregates)?;
            }
            Shape::Groups {
                keys,
                aggregates,
                outputs,
                having,
            }
        } else {
            Shape::Rows { outputs }
        };
        Ok(Plan {
            columns,
            filter,
            shape,
            distinct: query.distinct,
            order,
            offset: query.offset.unwrap_or(0),
            limit: query.limit,
        })
    }

    /// The select list, with `*` expanded to the schema's columns (named by their record keys)
    /// and every other column named as Trino names it: its alias, else the last name of a
    /// column reference as written, else `_colN` for its position.
    fn select_items(&self, query: &Query) -> Result<Vec<Item>, QueryError> {
        let mut items = Vec::new();
        for item in &query.items {
            match item {
                SelectItem::All(start) => {
                    for field in &COLUMNS {
                        items.push(Item {
                            name: field.key.to_owned(),
                            expr: PExpr::Column {
                                path: vec![field],
                                text: Text {
                                    text: field.name.to_owned(),
                                    start: *start,
                                },
                            },
                            ty: field.ty,
                        });
                    }
                }
                SelectItem::Expr { expr, alias } => {
                    let analyzed = self.expr(expr, Clause::Select)?;
                    let name = match (alias, &expr.kind) {
                        (Some(alias), _) => alias.value.clone(),
                        (None, ExprKind::Name(parts)) => parts
                            .last()
                            .map(|part| part.value.clone())
                            .unwrap_or_default(),
                        (None, ExprKind::Dereference(_, field)) => field.value.clone(),
                        _ => format!("_col{}", items.len()),
                    };
                    items.push(Item {
                        name,
                        expr: analyzed.expr,
                        ty: analyzed.ty,
                    });
                }
            }
        }
        Ok(items)
    }

    /// The select item an integer literal names (`GROUP BY 1`, `ORDER BY 2`).
    fn ordinal<'i>(
        &self,
        expr: &Expr,
        items: &'i [Item],
        clause: &str,
    ) -> Result<Option<&'i Item>, QueryError> {
        let ExprKind::Integer(position) = expr.kind else {
            return Ok(None);
        };
        usize::try_from(position)
            .ok()
            .and_then(|position| position.checked_sub(1))
            .and_then(|index| items.get(index))
            .map(Some)
            .ok_or_else(|| {
                self.error(
                    expr.start,
                    format!("{clause} position {position} is not in select list"),
                )
            })
    }

    /// What an `ORDER BY` item sorts on: an output column (by position, by name, or by being
    /// the same expression), or an expression of its own.
    fn sort_source(&self, expr: &Expr, items: &[Item]) -> Result<(SortSource, Type), QueryError> {
        let output = |index: usize| {
            let ty = items.get(index).map_or(Type::Unknown, |item| item.ty);
            Ok((SortSource::Output(index), ty))
        };
        if let Some(item) = self.ordinal(expr, items, "ORDER BY")? {
            let index = items
                .iter()
                .position(|candidate| std::ptr::eq(candidate, item))
                .unwrap_or(0);
            return output(index);
        }
        if let ExprKind::Name(parts) = &expr.kind
            && let [name] = parts.as_slice()
        {
            let named: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.name.eq_ignore_ascii_case(&name.value))
                .map(|(index, _)| index)
                .collect();
            if let Some(&first) = named.first() {
                let same = named.iter().all(|&index| {
                    items.get(index).map(|item| &item.expr)
                        == items.get(first).map(|item| &item.expr)
                });
                if !same {
                    return Err(
                        self.error(expr.start, format!("Column '{}' is ambiguous", name.value))
                    );
                }
                return output(first);
            }
        }
        let analyzed = self.expr(expr, Clause::OrderBy)?;
        match items.iter().position(|item| item.expr == analyzed.expr) {
            Some(index) => output(index),
            None => Ok((SortSource::Expr(analyzed.expr), analyzed.ty)),
        }
    }

    fn condition(&self, expr: &Expr, clause: Clause) -> Result<PExpr, QueryError> {
        let analyzed = self.expr(expr, clause)?;
        if !matches!(analyzed.ty, Type::Boolean | Type::Unknown) {
            let name = if clause == Clause::Having {
                "HAVING"
            } else {
                "WHERE"
            };
            return Err(self.error(
                expr.start,
                format!(
                    "{name} clause must evaluate to a boolean: actual type {}",
                    analyzed.ty
                ),
            ));
        }
        Ok(analyzed.expr)
    }

    /// Rewrites an expression of an aggregating query to read a group: group keys and
    /// aggregates become references, and any other column is an error.
    fn lift(
        &self,
        expr: &mut PExpr,
        keys: &[PExpr],
        aggregates: &mut Vec<Aggregate>,
    ) -> Result<(), QueryError> {
        if let Some(index) = keys.iter().position(|key| key == expr) {
            *expr = PExpr::KeyRef(index);
            return Ok(());
        }
        match expr {
            PExpr::Aggregate(aggregate) => {
                let index = match aggregates.iter().position(|known| known == &**aggregate) {
                    Some(index) => index,
                    None => {
                        aggregates.push((**aggregate).clone());
                        aggregates.len() - 1
                    }
                };
                *expr = PExpr::AggregateRef(index);
                Ok(())
            }
            PExpr::Column { text, .. } => Err(self.error(
                text.start,
                format!(
                    "'{}' must be an aggregate expression or appear in GROUP BY clause",
                    text.text
                ),
            )),
            PExpr::EventJson => Err(QueryError::new(format!(
                "'{EVENT_JSON}' must be an aggregate expression or appear in GROUP BY clause"
            ))),
            _ => {
                for child in expr.children_mut() {
                    self.lift(child, keys, aggregates)?;
                }
                Ok(())
            }
        }
    }

    fn expr(&self, expr: &Expr, clause: Clause) -> Result<Typed, QueryError> {
        match &expr.kind {
            ExprKind::Null => typed(PExpr::Const(Value::Null), Type::Unknown),
            ExprKind::Bool(flag) => typed(PExpr::Const(Value::Bool(*flag)), Type::Boolean),
            ExprKind::Str(text) => typed(PExpr::Const(Value::Str(text.clone())), Type::Varchar),
            ExprKind::Integer(number) => typed(PExpr::Const(Value::Int(*number)), Type::Bigint),
            ExprKind::Double(number) => typed(PExpr::Const(Value::Double(*number)), Type::Double),
            ExprKind::Timestamp(text) => self.timestamp_literal(text, expr.start),
            ExprKind::Name(parts) => self.name(parts, expr),
            ExprKind::Dereference(base, field) => self.dereference(base, field, expr, clause),
            ExprKind::Subscript(base, index) => self.subscript(base, index, expr, clause),
            ExprKind::Not(operand) => {
                let operand = self.boolean(
                    operand,
                    clause,
                    "Value of logical NOT expression must evaluate to a boolean",
                )?;
                typed(PExpr::Not(Box::new(operand)), Type::Boolean)
            }
            ExprKind::Negate(operand) => {
                let analyzed = self.expr(operand, clause)?;
                match (analyzed.expr, analyzed.ty) {
                    (PExpr::Const(Value::Int(number)), ty) => match number.checked_neg() {
                        Some(negated) => typed(PExpr::Const(Value::Int(negated)), ty),
                        None => Err(self.error(expr.start, "bigint negation overflow")),
                    },
                    (PExpr::Const(Value::Double(number)), ty) => {
                        typed(PExpr::Const(Value::Double(-number)), ty)
                    }
                    (operand, ty @ (Type::Bigint | Type::Double | Type::Unknown)) => {
                        typed(PExpr::Negate(Box::new(operand)), ty)
                    }
                    (_, ty) => Err(self.error(expr.start, format!("Cannot negate {ty}"))),
                }
            }
            ExprKind::And(terms) | ExprKind::Or(terms) => {
                let mut analyzed = Vec::with_capacity(terms.len());
                for term in terms {
                    analyzed.push(self.boolean(
                        term,
                        clause,
                        "Logical expression operands must evaluate to a boolean",
                    )?);
                }
                let expr = if matches!(expr.kind, ExprKind::And(_)) {
                    PExpr::And(analyzed)
                } else {
                    PExpr::Or(analyzed)
                };
                typed(expr, Type::Boolean)
            }
            ExprKind::Compare(op, left, right) => {
                let (left, right) = self.comparable(left, right, clause, *op)?;
                typed(
                    PExpr::Compare {
                        op: *op,
                        left: Box::new(left),
                        right: Box::new(right),
                    },
                    Type::Boolean,
                )
            }
            ExprKind::IsDistinct {
                left,
                right,
                negated,
            } => {
                let (left, right) = self.comparable(left, right, clause, CompareOp::Eq)?;
                typed(
                    PExpr::IsDistinct {
                        left: Box::new(left),
                        right: Box::new(right),
                        negated: *negated,
                    },
                    Type::Boolean,
                )
            }
            ExprKind::Arith(op, left, right) => {
                let left = self.expr(left, clause)?;
                let right = self.expr(right, clause)?;
                let numeric = |ty: Type| ty.is_numeric() || ty == Type::Unknown;
                if !numeric(left.ty) || !numeric(right.ty) {
                    return Err(self.error(
                        expr.start,
                        format!(
                            "Cannot apply operator: {} {} {}",
                            left.ty,
                            op.symbol(),
                            right.ty
                        ),
                    ));
                }
                let ty = left.ty.common(right.ty).unwrap_or(Type::Unknown);
                typed(
                    PExpr::Arith {
                        op: *op,
                        left: Box::new(left.expr),
                        right: Box::new(right.expr),
                    },
                    ty,
                )
            }
            ExprKind::Concat(left, right) => {
                let left = self.expr(left, clause)?;
                let right = self.expr(right, clause)?;
                if !is_a(left.ty, Type::Varchar) || !is_a(right.ty, Type::Varchar) {
                    return Err(self.error(
                        expr.start,
                        format!("Cannot apply operator: {} || {}", left.ty, right.ty),
                    ));
                }
                typed(
                    PExpr::Concat(Box::new(left.expr), Box::new(right.expr)),
                    Type::Varchar,
                )
            }
            ExprKind::Like {
                value,
                pattern,
                escape,
                negated,
            } => self.like(value, pattern, escape.as_deref(), *negated, clause),
            ExprKind::InList {
                value,
                list,
                negated,
            } => self.in_list(value, list, *negated, clause),
            ExprKind::Between {
                value,
                low,
                high,
                negated,
            } => self.between(value, low, high, *negated, expr, clause),
            ExprKind::IsNull { value, negated } => {
                let value = self.expr(value, clause)?;
                typed(
                    PExpr::IsNull {
                        value: Box::new(value.expr),
                        negated: *negated,
                    },
                    Type::Boolean,
                )
            }
            ExprKind::Call {
                name,
                args,
                distinct,
                star,
            } => self.call(expr, name, args, *distinct, *star, clause),
            ExprKind::CurrentTimestamp => typed(PExpr::Now, Type::TimestampTz(3)),
            ExprKind::Case {
                operand,
                whens,
                otherwise,
            } => self.case(operand.as_deref(), whens, otherwise.as_deref(), clause),
            ExprKind::Cast {
                value,
                target,
                is_try,
            } => self.cast(value, *target, *is_try, expr, clause),
        }
    }

    fn timestamp_literal(&self, text: &str, at: usize) -> Result<Typed, QueryError> {
        let Some(parsed) = time::parse_sql(text) else {
            return Err(self.error(at, format!("'{text}' is not a valid timestamp literal")));
        };
        match parsed.offset_minutes {
            None => typed(
                PExpr::Const(Value::Timestamp {
                    micros: parsed.micros,
                    precision: parsed.precision,
                }),
                Type::Timestamp(parsed.precision),
            ),
            Some(offset_minutes) => typed(
                PExpr::Const(Value::TimestampTz {
                    micros: parsed.micros,
                    precision: parsed.precision,
                    offset_minutes,
                }),
                Type::TimestampTz(parsed.precision),
            ),
        }
    }

    /// A column reference, optionally qualified by the source's alias, with nested fields.
    fn name(&self, parts: &[Ident], expr: &Expr) -> Result<Typed, QueryError> {
        let text = self.source(expr);
        let unresolved = || self.error(expr.start, format!("Column '{text}' cannot be resolved"));
        let mut parts = parts;
        if let (Some(alias), [first, rest @ ..]) = (self.alias, parts)
            && !rest.is_empty()
            && first.value.eq_ignore_ascii_case(alias)
            && schema::find(&COLUMNS, &first.value).is_none()
        {
            parts = rest;
        }
        let Some((first, rest)) = parts.split_first() else {
            return Err(unresolved());
        };
        if first.value.eq_ignore_ascii_case(EVENT_JSON) {
            if !rest.is_empty() {
                return Err(self.error(
                    expr.start,
                    format!("Expression {} is not of type ROW", first.value),
                ));
            }
            return typed(PExpr::EventJson, Type::Varchar);
        }
        if UNSUPPORTED_COLUMNS
            .iter()
            .any(|column| column.eq_ignore_ascii_case(&first.value))
        {
            return Err(self.error(
                first.start,
                format!("Column '{}' is not supported by this server", first.value),
            ));
        }
        let (_, column) = schema::find(&COLUMNS, &first.value).ok_or_else(unresolved)?;
        let mut path = vec![column];
        let mut ty = column.ty;
        let mut written = first.value.clone();
        for part in rest {
            let Type::Row(fields) = ty else {
                return Err(self.error(
                    expr.start,
                    format!("Expression {written} is not of type ROW"),
                ));
            };
            let (_, field) = schema::find(fields, &part.value).ok_or_else(unresolved)?;
            path.push(field);
            ty = field.ty;
            written.push('.');
            written.push_str(&part.value);
        }
        typed(
            PExpr::Column {
                path,
                text: Text {
                    text: text.to_owned(),
                    start: expr.start,
                },
            },
            ty,
        )
    }

    fn dereference(
        &self,
        base: &Expr,
        field: &Ident,
        expr: &Expr,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let analyzed = self.expr(base, clause)?;
        let Type::Row(fields) = analyzed.ty else {
            return Err(self.error(
                base.start,
                format!("Expression {} is not of type ROW", self.source(base)),
            ));
        };
        let (index, found) = schema::find(fields, &field.value).ok_or_else(|| {
            self.error(
                expr.start,
                format!("Column '{}' cannot be resolved", self.source(expr)),
            )
        })?;
        typed(
            PExpr::Field {
                base: Box::new(analyzed.expr),
                index,
            },
            found.ty,
        )
    }

    fn subscript(
        &self,
        base: &Expr,
        index: &Expr,
        expr: &Expr,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let analyzed = self.expr(base, clause)?;
        let position = self.expr(index, clause)?;
        let (wanted, result) = match analyzed.ty {
            Type::Array(element) => (Type::Bigint, *element),
            Type::Map => (Type::Varchar, Type::Varchar),
            other => {
                return Err(self.error(expr.start, format!("Cannot use {other} for subscript")));
            }
        };
        if !is_a(position.ty, wanted) {
            return Err(self.error(
                index.start,
                format!("Cannot use {} to subscript {}", position.ty, analyzed.ty),
            ));
        }
        typed(
            PExpr::Subscript {
                base: Box::new(analyzed.expr),
                index: Box::new(position.expr),
            },
            result,
        )
    }

    fn boolean(&self, expr: &Expr, clause: Clause, what: &str) -> Result<PExpr, QueryError> {
        let analyzed = self.expr(expr, clause)?;
        if !is_a(analyzed.ty, Type::Boolean) {
            return Err(self.error(expr.start, format!("{what} (actual: {})", analyzed.ty)));
        }
        Ok(analyzed.expr)
    }

    /// Both sides of a comparison, coerced to their common type.
    fn comparable(
        &self,
        left: &Expr,
        right: &Expr,
        clause: Clause,
        op: CompareOp,
    ) -> Result<(PExpr, PExpr), QueryError> {
        let analyzed_left = self.expr(left, clause)?;
        let analyzed_right = self.expr(right, clause)?;
        let left_type = analyzed_left.ty;
        let analyzed_left =
            self.string_as_timestamp(analyzed_left, analyzed_right.ty, left.start)?;
        let analyzed_right = self.string_as_timestamp(analyzed_right, left_type, right.start)?;
        let ordering = !matches!(op, CompareOp::Eq | CompareOp::NotEq);
        let common = analyzed_left
            .ty
            .common(analyzed_right.ty)
            .filter(|common| !ordering || common.is_orderable())
            .ok_or_else(|| {
                self.error(
                    left.start,
                    format!(
                        "Cannot apply operator: {} {} {}",
                        analyzed_left.ty,
                        op.symbol(),
                        analyzed_right.ty
                    ),
                )
            })?;
        Ok((
            coerce(analyzed_left, common),
            coerce(analyzed_right, common),
        ))
    }

    /// A string literal compared with a timestamp, as the timestamp it spells (Lake's
    /// documented `eventTime > '2023-01-05 13:51:00'`).
    fn string_as_timestamp(
        &self,
        analyzed: Typed,
        other: Type,
        at: usize,
    ) -> Result<Typed, QueryError> {
        let PExpr::Const(Value::Str(text)) = &analyzed.expr else {
            return Ok(analyzed);
        };
        if !other.is_timestamp() {
            return Ok(analyzed);
        }
        match time::parse_sql(text) {
            Some(parsed) if parsed.offset_minutes.is_none() => typed(
                PExpr::Const(Value::Timestamp {
                    micros: parsed.micros,
                    precision: parsed.precision,
                }),
                Type::Timestamp(parsed.precision),
            ),
            _ => Err(self.error(at, format!("Value cannot be cast to timestamp: {text}"))),
        }
    }

    fn like(
        &self,
        value: &Expr,
        pattern: &Expr,
        escape: Option<&Expr>,
        negated: bool,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let varchar = |expr: &Expr, what: &str| -> Result<PExpr, QueryError> {
            let analyzed = self.expr(expr, clause)?;
            if !is_a(analyzed.ty, Type::Varchar) {
                return Err(self.error(
                    expr.start,
                    format!(
                        "{what} of LIKE expression must evaluate to a varchar (actual: {})",
                        analyzed.ty
                    ),
                ));
            }
            Ok(analyzed.expr)
        };
        let value = varchar(value, "Left side")?;
        let pattern_expr = varchar(pattern, "Pattern")?;
        let escape_expr = escape.map(|escape| varchar(escape, "Escape")).transpose()?;
        let compiled = match (&pattern_expr, &escape_expr) {
            (PExpr::Const(Value::Str(text)), None) => Some(LikePattern::compile(text, None)),
            (PExpr::Const(Value::Str(text)), Some(PExpr::Const(Value::Str(escape)))) => {
                Some(LikePattern::compile(text, Some(escape)))
            }
            _ => None,
        };
        let spec = match compiled {
            Some(Ok(compiled)) => LikeSpec::Compiled(compiled),
            Some(Err(message)) => return Err(self.error(pattern.start, message)),
            None => LikeSpec::Dynamic {
                pattern: Box::new(pattern_expr),
                escape: escape_expr.map(Box::new),
            },
        };
        typed(
            PExpr::Like {
                value: Box::new(value),
                pattern: spec,
                negated,
            },
            Type::Boolean,
        )
    }

    fn in_list(
        &self,
        value: &Expr,
        list: &[Expr],
        negated: bool,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let analyzed_value = self.expr(value, clause)?;
        let mut common = analyzed_value.ty;
        let mut items = Vec::with_capacity(list.len());
        for item in list {
            let analyzed = self.expr(item, clause)?;
            let analyzed = self.string_as_timestamp(analyzed, analyzed_value.ty, item.start)?;
            common = common.common(analyzed.ty).ok_or_else(|| {
                self.error(
                    item.start,
                    format!(
                        "IN value and list items must be the same type: {}",
                        analyzed_value.ty
                    ),
                )
            })?;
            items.push(analyzed);
        }
        typed(
            PExpr::In {
                value: Box::new(coerce(analyzed_value, common)),
                list: items.into_iter().map(|item| coerce(item, common)).collect(),
                negated,
            },
            Type::Boolean,
        )
    }

    fn between(
        &self,
        value: &Expr,
        low: &Expr,
        high: &Expr,
        negated: bool,
        expr: &Expr,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let analyzed_value = self.expr(value, clause)?;
        let analyzed_low = self.expr(low, clause)?;
        let analyzed_low = self.string_as_timestamp(analyzed_low, analyzed_value.ty, low.start)?;
        let analyzed_high = self.expr(high, clause)?;
        let analyzed_high =
            self.string_as_timestamp(analyzed_high, analyzed_value.ty, high.start)?;
        let common = analyzed_value
            .ty
            .common(analyzed_low.ty)
            .and_then(|common| common.common(analyzed_high.ty))
            .filter(|common| common.is_orderable())
            .ok_or_else(|| {
                self.error(
                    expr.start,
                    format!(
                        "Cannot check if {} is BETWEEN {} and {}",
                        analyzed_value.ty, analyzed_low.ty, analyzed_high.ty
                    ),
                )
            })?;
        typed(
            PExpr::Between {
                value: Box::new(coerce(analyzed_value, common)),
                low: Box::new(coerce(analyzed_low, common)),
                high: Box::new(coerce(analyzed_high, common)),
                negated,
            },
            Type::Boolean,
        )
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let operand = operand
            .map(|operand| self.expr(operand, clause))
            .transpose()?;
        let mut conditions = Vec::with_capacity(whens.len());
        let mut results = Vec::with_capacity(whens.len() + 1);
        let mut operand_type = operand.as_ref().map(|operand| operand.ty);
        for (condition, result) in whens {
            let analyzed = self.expr(condition, clause)?;
            match operand_type {
                Some(expected) => {
                    operand_type = Some(expected.common(analyzed.ty).ok_or_else(|| {
                        self.error(
                            condition.start,
                            format!(
                                "CASE operand type does not match WHEN clause operand type: {expected} vs {}",
                                analyzed.ty
                            ),
                        )
                    })?);
                }
                None if !is_a(analyzed.ty, Type::Boolean) => {
                    return Err(self.error(
                        condition.start,
                        format!(
                            "WHEN clause must evaluate to a boolean (actual: {})",
                            analyzed.ty
                        ),
                    ));
                }
                None => {}
            }
            conditions.push(analyzed);
            results.push((result.start, self.expr(result, clause)?));
        }
        if let Some(otherwise) = otherwise {
            results.push((otherwise.start, self.expr(otherwise, clause)?));
        }
        let mut result_type = Type::Unknown;
        for (start, result) in &results {
            result_type = result_type.common(result.ty).ok_or_else(|| {
                self.error(
                    *start,
                    format!("All CASE results must be the same type: {result_type}"),
                )
            })?;
        }
        let operand = operand.map(|operand| {
            let ty = operand_type.unwrap_or(operand.ty);
            Box::new(coerce(operand, ty))
        });
        let conditions = conditions.into_iter().map(|condition| match operand_type {
            Some(ty) => coerce(condition, ty),
            None => condition.expr,
        });
        let mut results = results
            .into_iter()
            .map(|(_, result)| coerce(result, result_type));
        let whens = conditions.zip(results.by_ref()).collect();
        let otherwise = results.next().map(Box::new);
        typed(
            PExpr::Case {
                operand,
                whens,
                otherwise,
            },
            result_type,
        )
    }

    fn cast(
        &self,
        value: &Expr,
        target: TypeName,
        is_try: bool,
        expr: &Expr,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let analyzed = self.expr(value, clause)?;
        let (target_type, integer) = match target {
            TypeName::Varchar => (Type::Varchar, false),
            TypeName::Bigint => (Type::Bigint, false),
            TypeName::Integer => (Type::Bigint, true),
            TypeName::Double => (Type::Double, false),
            TypeName::Boolean => (Type::Boolean, false),
            TypeName::Timestamp(precision) => (Type::Timestamp(precision), false),
        };
        use Type::{Bigint, Boolean, Double, Timestamp, TimestampTz, Unknown, Varchar};
        let allowed = match (analyzed.ty, target_type) {
            (Unknown, _) => true,
            (from, to) if from == to => true,
            (Varchar | Bigint | Double | Boolean | Timestamp(_) | TimestampTz(_), Varchar) => true,
            (Varchar | Bigint | Double | Boolean, Bigint | Double | Boolean) => true,
            (Varchar | Timestamp(_) | TimestampTz(_), Timestamp(_)) => true,
            _ => false,
        };
        if !allowed {
            let shown = if integer {
                "integer".to_owned()
            } else {
                target_type.to_string()
            };
            return Err(self.error(
                expr.start,
                format!("Cannot cast {} to {shown}", analyzed.ty),
            ));
        }
        typed(
            PExpr::Cast {
                value: Box::new(analyzed.expr),
                target: target_type,
                integer,
                is_try,
            },
            target_type,
        )
    }

    fn call(
        &self,
        expr: &Expr,
        name: &Ident,
        args: &[Expr],
        distinct: bool,
        star: bool,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let lower = name.value.to_ascii_lowercase();
        if let Some((function, static_name)) = aggregate_function(&lower) {
            return self.aggregate(expr, function, static_name, args, distinct, star, clause);
        }
        if distinct {
            return Err(self.error(
                expr.start,
                "DISTINCT is not supported for non-aggregation functions",
            ));
        }
        if star {
            return Err(self.error(expr.start, format!("{lower}(*) is not supported")));
        }
        let Some(function) = scalar_function(&lower) else {
            if lower == "now" && args.is_empty() {
                return typed(PExpr::Now, Type::TimestampTz(3));
            }
            return Err(self.error(
                name.start,
                format!("Function '{}' not registered", name.value),
            ));
        };
        let mut analyzed = Vec::with_capacity(args.len());
        for arg in args {
            analyzed.push(self.expr(arg, clause)?);
        }
        self.scalar(function, &lower, analyzed, expr)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one aggregate call, passed on from `call`"
    )]
    fn aggregate(
        &self,
        expr: &Expr,
        function: AggregateFunction,
        name: &'static str,
        args: &[Expr],
        distinct: bool,
        star: bool,
        clause: Clause,
    ) -> Result<Typed, QueryError> {
        let text = Text {
            text: self.source(expr).to_owned(),
            start: expr.start,
        };
        let refused = match clause {
            Clause::Where => Some("WHERE clause cannot contain aggregations, window functions or grouping operations".to_owned()),
            Clause::GroupBy => Some("GROUP BY clause cannot contain aggregations, window functions or grouping operations".to_owned()),
            Clause::Aggregate(outer) => Some(format!("Cannot nest aggregations inside aggregation '{outer}'")),
            Clause::Select | Clause::Having | Clause::OrderBy => None,
        };
        if let Some(refused) = refused {
            return Err(self.error(expr.start, format!("{refused}: [{}]", text.text)));
        }
        let aggregate = |arg, ty| {
            typed(
                PExpr::Aggregate(Box::new(Aggregate {
                    function,
                    arg,
                    distinct,
                    text: text.clone(),
                })),
                ty,
            )
        };
        if star {
            if function != AggregateFunction::Count {
                return Err(self.error(expr.start, format!("{name}(*) is not supported")));
            }
            return aggregate(None, Type::Bigint);
        }
        let mut analyzed = Vec::with_capacity(args.len());
        for arg in args {
            analyzed.push(self.expr(arg, Clause::Aggregate(name))?);
        }
        let types: Vec<Type> = analyzed.iter().map(|arg| arg.ty).collect();
        let result = match (function, types.as_slice()) {
            (AggregateFunction::Count, [_]) => Some(Type::Bigint),
            (AggregateFunction::Sum, [Type::Bigint | Type::Unknown]) => Some(Type::Bigint),
            (AggregateFunction::Sum, [Type::Double]) => Some(Type::Double),
            (AggregateFunction::Avg, [Type::Bigint | Type::Double | Type::Unknown]) => {
                Some(Type::Double)
            }
            (AggregateFunction::Min | AggregateFunction::Max, [ty]) if ty.is_orderable() => {
                Some(*ty)
            }
            _ => None,
        };
        let (Some(ty), Some(arg)) = (result, analyzed.pop()) else {
            let expected = match function {
                AggregateFunction::Count => "count(), count(T)",
                AggregateFunction::Sum => "sum(bigint), sum(double)",
                AggregateFunction::Avg => "avg(bigint), avg(double)",
                AggregateFunction::Min | AggregateFunction::Max => {
                    "min(T), max(T) for an orderable T"
                }
            };
            return Err(self.mismatch(expr, name, &types, expected));
        };
        aggregate(Some(arg.expr), ty)
    }

    /// Types a scalar function call and checks its arguments.
    fn scalar(
        &self,
        function: Function,
        name: &str,
        args: Vec<Typed>,
        expr: &Expr,
    ) -> Result<Typed, QueryError> {
        use Type::{Array, Bigint, Boolean, Double, Map, TimestampTz, Unknown, Varchar};
        let types: Vec<Type> = args.iter().map(|arg| arg.ty).collect();
        let mismatch = |expected: &str| Err(self.mismatch(expr, name, &types, expected));
        let all_varchar = types.iter().all(|ty| is_a(*ty, Varchar));
        let call = |args: Vec<Typed>, ty| {
            typed(
                PExpr::Call {
                    function,
                    args: args.into_iter().map(|arg| arg.expr).collect(),
                },
                ty,
            )
        };
        match function {
            Function::Lower
            | Function::Upper
            | Function::Trim
            | Function::Ltrim
            | Function::Rtrim => {
                if types.len() == 1 && all_varchar {
                    call(args, Varchar)
                } else {
                    mismatch(&format!("{name}(varchar)"))
                }
            }
            Function::Length => {
                if types.len() == 1 && all_varchar {
                    call(args, Bigint)
                } else {
                    mismatch("length(varchar)")
                }
            }
            Function::Substr => match types.as_slice() {
                [text, start] | [text, start, _]
                    if is_a(*text, Varchar)
                        && is_a(*start, Bigint)
                        && types.get(2).is_none_or(|length| is_a(*length, Bigint)) =>
                {
                    call(args, Varchar)
                }
                _ => mismatch(&format!(
                    "{name}(varchar, bigint), {name}(varchar, bigint, bigint)"
                )),
            },
            Function::Concat => {
                if types.len() < 2 {
                    Err(self.error(
                        expr.start,
                        "There must be two or more concatenation arguments",
                    ))
                } else if all_varchar {
                    call(args, Varchar)
                } else {
                    mismatch("concat(varchar, varchar, ...)")
                }
            }
            Function::Strpos | Function::StartsWith => {
                if types.len() == 2 && all_varchar {
                    let ty = if function == Function::Strpos {
                        Bigint
                    } else {
                        Boolean
                    };
                    call(args, ty)
                } else {
                    mismatch(&format!("{name}(varchar, varchar)"))
                }
            }
            Function::SplitPart => match types.as_slice() {
                [text, delimiter, index]
                    if is_a(*text, Varchar)
                        && is_a(*delimiter, Varchar)
                        && is_a(*index, Bigint) =>
                {
                    call(args, Varchar)
                }
                _ => mismatch("split_part(varchar, varchar, bigint)"),
            },
            Function::JsonExtractScalar => {
                if types.len() == 2 && all_varchar {
                    call(args, Varchar)
                } else {
                    mismatch("json_extract_scalar(varchar, varchar)")
                }
            }
            Function::ElementAt => match types.as_slice() {
                [Map, key] if is_a(*key, Varchar) => call(args, Varchar),
                [Array(element), index] if is_a(*index, Bigint) => call(args, **element),
                _ => mismatch("element_at(map(K, V), K), element_at(array(E), bigint)"),
            },
            Function::Cardinality => match types.as_slice() {
                [Map | Array(_)] => call(args, Bigint),
                _ => mismatch("cardinality(map(K, V)), cardinality(array(E))"),
            },
            Function::Abs => match types.as_slice() {
                [ty @ (Bigint | Double)] => call(args, *ty),
                [Unknown] => call(args, Bigint),
                _ => mismatch("abs(bigint), abs(double)"),
            },
            Function::Coalesce | Function::Greatest | Function::Least => {
                let ordered = function != Function::Coalesce;
                let common = types
                    .iter()
                    .try_fold(Unknown, |common, ty| common.common(*ty))
                    .filter(|common| !ordered || common.is_orderable());
                match common {
                    Some(common) if !types.is_empty() => call(
                        args.into_iter()
                            .map(|arg| Typed {
                                expr: coerce(arg, common),
                                ty: common,
                            })
                            .collect(),
                        common,
                    ),
                    _ => mismatch(&format!("{name}(T, ...)")),
                }
            }
            Function::If => {
                let common = match types.as_slice() {
                    [condition, then] if is_a(*condition, Boolean) => Some(*then),
                    [condition, then, otherwise] if is_a(*condition, Boolean) => {
                        then.common(*otherwise)
                    }
                    _ => None,
                };
                let Some(common) = common else {
                    return mismatch("if(boolean, T), if(boolean, T, T)");
                };
                let mut args = args.into_iter();
                let condition = args.next();
                let rest = args.map(|arg| Typed {
                    expr: coerce(arg, common),
                    ty: common,
                });
                call(condition.into_iter().chain(rest).collect(), common)
            }
            Function::Nullif => match types.as_slice() {
                [first, second] if first.common(*second).is_some() => {
                    let common = first.common(*second).unwrap_or(Unknown);
                    let result = *first;
                    let args = args
                        .into_iter()
                        .map(|arg| Typed {
                            expr: coerce(arg, common),
                            ty: common,
                        })
                        .collect();
                    call(args, result)
                }
                _ => mismatch("nullif(T, T)"),
            },
            Function::FromIso8601Timestamp => {
                if types.len() == 1 && all_varchar {
                    call(args, TimestampTz(3))
                } else {
                    mismatch("from_iso8601_timestamp(varchar)")
                }
            }
            Function::ToIso8601 => match types.as_slice() {
                [ty] if ty.is_timestamp() || *ty == Unknown => call(args, Varchar),
                _ => mismatch("to_iso8601(timestamp)"),
            },
            Function::DateTrunc | Function::DateAdd | Function::DateDiff => {
                self.date_function(function, name, args, expr)
            }
        }
    }

    /// `date_trunc(unit, t)`, `date_add(unit, n, t)` and `date_diff(unit, t1, t2)`, whose unit
    /// must be a constant.
    fn date_function(
        &self,
        function: Function,
        name: &str,
        args: Vec<Typed>,
        expr: &Expr,
    ) -> Result<Typed, QueryError> {
        let types: Vec<Type> = args.iter().map(|arg| arg.ty).collect();
        let timestamp = |ty: Type| match ty {
            Type::Unknown => Some(Type::Timestamp(3)),
            ty if ty.is_timestamp() => Some(ty),
            _ => None,
        };
        let result = match (function, types.as_slice()) {
            (Function::DateTrunc, [unit, ty]) if is_a(*unit, Type::Varchar) => timestamp(*ty),
            (Function::DateAdd, [unit, amount, ty])
                if is_a(*unit, Type::Varchar) && is_a(*amount, Type::Bigint) =>
            {
                timestamp(*ty)
            }
            (Function::DateDiff, [unit, first, second]) if is_a(*unit, Type::Varchar) => {
                match (timestamp(*first), timestamp(*second)) {
                    (Some(_), Some(_)) => Some(Type::Bigint),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(result) = result else {
            let expected = match function {
                Function::DateTrunc => "date_trunc(varchar, timestamp)",
                Function::DateAdd => "date_add(varchar, bigint, timestamp)",
                _ => "date_diff(varchar, timestamp, timestamp)",
            };
            return Err(self.mismatch(expr, name, &types, expected));
        };
        let mut args = args.into_iter();
        let unit = match args.next().map(|unit| unit.expr) {
            Some(PExpr::Const(Value::Str(unit))) => Unit::parse(&unit).ok_or_else(|| {
                self.error(
                    expr.start,
                    format!("'{unit}' is not a valid Timestamp field"),
                )
            })?,
            _ => {
                return Err(self.error(
                    expr.start,
                    format!("The unit of {name} must be a string literal"),
                ));
            }
        };
        typed(
            PExpr::DateUnit {
                function,
                unit,
                args: args.map(|arg| arg.expr).collect(),
            },
            result,
        )
    }

    fn mismatch(&self, expr: &Expr, name: &str, types: &[Type], expected: &str) -> QueryError {
        let actual: Vec<String> = types.iter().map(ToString::to_string).collect();
        self.error(
            expr.start,
            format!(
                "Unexpected parameters ({}) for function {name}. Expected: {expected}",
                actual.join(", ")
            ),
        )
    }

    fn source(&self, expr: &Expr) -> &str {
        self.text.get(expr.start..expr.end).unwrap_or_default()
    }

    fn error(&self, offset: usize, message: impl std::fmt::Display) -> QueryError {
        QueryError::at(self.text, offset, message)
    }
}

/// Whether a value of type `actual` can stand where `wanted` is expected (NULL can anywhere).
fn is_a(actual: Type, wanted: Type) -> bool {
    actual == wanted || actual == Type::Unknown
}

/// `analyzed` as a value of type `to`, which it is known to coerce to.
fn coerce(analyzed: Typed, to: Type) -> PExpr {
    match (analyzed.ty, to) {
        (Type::Bigint, Type::Double) => match analyzed.expr {
            PExpr::Const(Value::Int(number)) => PExpr::Const(Value::Double(number as f64)),
            expr => PExpr::Cast {
                value: Box::new(expr),
                target: Type::Double,
                integer: false,
                is_try: false,
            },
        },
        (Type::Timestamp(_), Type::TimestampTz(_)) => PExpr::Cast {
            value: Box::new(analyzed.expr),
            target: to,
            integer: false,
            is_try: false,
        },
        _ => analyzed.expr,
    }
}

fn aggregate_function(name: &str) -> Option<(AggregateFunction, &'static str)> {
    Some(match name {
        "count" => (AggregateFunction::Count, "count"),
        "sum" => (AggregateFunction::Sum, "sum"),
        "avg" => (AggregateFunction::Avg, "avg"),
        "min" => (AggregateFunction::Min, "min"),
        "max" => (AggregateFunction::Max, "max"),
        _ => return None,
    })
}

fn scalar_function(name: &str) -> Option<Function> {
    Some(match name {
        "lower" => Function::Lower,
        "upper" => Function::Upper,
        "length" => Function::Length,
        "substr" | "substring" => Function::Substr,
        "concat" => Function::Concat,
        "coalesce" => Function::Coalesce,
        "element_at" => Function::ElementAt,
        "cardinality" => Function::Cardinality,
        "json_extract_scalar" => Function::JsonExtractScalar,
        "date_trunc" => Function::DateTrunc,
        "date_add" => Function::DateAdd,
        "date_diff" => Function::DateDiff,
        "from_iso8601_timestamp" => Function::FromIso8601Timestamp,
        "to_iso8601" => Function::ToIso8601,
        "greatest" => Function::Greatest,
        "least" => Function::Least,
        "if" => Function::If,
        "nullif" => Function::Nullif,
        "trim" => Function::Trim,
        "ltrim" => Function::Ltrim,
        "rtrim" => Function::Rtrim,
        "strpos" => Function::Strpos,
        "starts_with" => Function::StartsWith,
        "split_part" => Function::SplitPart,
        "abs" => Function::Abs,
        _ => return None,
    })
}
