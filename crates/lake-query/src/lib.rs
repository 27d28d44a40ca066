//! The query engine behind CloudTrail Lake's `StartQuery` and `GetQueryResults`, with no I/O:
//! [`parse`] turns a Lake SQL statement into a [`Statement`] (or refuses it with the message of
//! an `InvalidQueryStatementException`), and [`Statement::execute`] gives an [`Execution`] that
//! the caller feeds the event data store's records, one CloudTrail event (JSON) at a time,
//! before [`Execution::finish`] gives the [`ResultSet`] (or the `ErrorMessage` of a `FAILED`
//! query).
//!
//! # What Lake SQL is, and what this engine runs
//!
//! Lake runs Trino. A statement is one `SELECT` over one event data store, named after `FROM`
//! by its ID (unquoted, although IDs such as `4e8b...-...` are no SQL identifiers) or its ARN.
//! The engine runs: `SELECT [DISTINCT]` with `*`, columns, nested fields
//! (`userIdentity.sessionContext.sessionIssuer.userName`), subscripts (`resources[1].arn`,
//! `requestParameters['bucketName']`), expressions and aliases; `FROM` with an optional alias;
//! `WHERE` with `AND`/`OR`/`NOT`, comparisons, `LIKE [ESCAPE]`, `[NOT] IN`, `[NOT] BETWEEN`,
//! `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`, arithmetic, `||`, `CASE`, `CAST`/`TRY_CAST`,
//! `TIMESTAMP '...'` literals; `GROUP BY` (expressions or positions), `HAVING`, `ORDER BY`
//! (expressions, output names or positions, `ASC`/`DESC`, `NULLS FIRST`/`LAST`, NULLs last by
//! default), `OFFSET` and `LIMIT`; the aggregates `count`, `sum`, `avg`, `min`, `max` (each also
//! `DISTINCT`); and the scalar functions `lower`, `upper`, `length`, `substr`/`substring`,
//! `concat`, `coalesce`, `element_at`, `cardinality`, `json_extract_scalar`, `date_trunc`,
//! `date_add`, `date_diff`, `from_iso8601_timestamp`, `to_iso8601`, `greatest`, `least`, `if`,
//! `nullif`, `trim`, `ltrim`, `rtrim`, `strpos`, `starts_with`, `split_part`, `abs`, `now()` and
//! `current_timestamp`. Anything else (joins, set operations, subqueries, window functions,
//! other functions) is refused with a message that names it. `SELECT *` gives the schema's 32
//! record columns, named by their record keys (`eventVersion`, `userIdentity`, ...); the
//! `eventJson` column (the record as JSON text) is there when named.
//!
//! # Lake facts relied on
//!
//! - The schema of CloudTrail event records (column names and types, such as `eventtime
//!   timestamp`, `readonly boolean`, `requestparameters map<string,string>`, `resources
//!   array<struct<accountid,type,arn,arnprefix>>`): the CloudTrail User Guide, "Supported SQL
//!   schemas for event data stores". Columns outside it are refused, as Trino refuses them.
//! - Only `SELECT`; the event data store ID goes after `FROM`; the condition operators include
//!   `GREATEST`, `LEAST` and `IS [NOT] DISTINCT FROM`: "CloudTrail Lake SQL constraints".
//! - `eventtime >= '2023-01-05 13:51:00'` compares a timestamp with a string literal: "CloudTrail
//!   Lake queries"; such a literal is read as a timestamp.
//! - `QueryStatement` is 1 to 10,000 characters; `QueryParameters` are 1 to 10 strings; a `?`
//!   compared with `eventTime` is written `'?'`: the CloudTrail API reference (`StartQuery`,
//!   `RequestWidget`). Both `?` and (when parameters are given) `'?'` are placeholders here.
//! - Result rows are lists of `{column: value}` strings (`GetQueryResults`); values render as
//!   Trino renders them: timestamps `2024-01-01 00:00:00.000`, maps and rows `{key=value, ...}`,
//!   arrays `[a, b]`, doubles as Java writes them.
//!
//! # Why a hand-written parser
//!
//! The `sqlparser` crate was weighed first. It does not fit well here: Lake's unquoted `FROM`
//! operand is no SQL token (`4e8b...` lexes as a number), so a statement would need a lexer of
//! its own to find and quote it before the library sees it; the library's errors are its own
//! wording, while Lake answers Trino's (`line 1:8: mismatched input ...`), which needs token
//! positions the parse tree does not keep for every node; and its tree covers every dialect's
//! statements, which would all need refusing. The subset run here is a small grammar, so a
//! recursive-descent parser (`syntax.rs`, about 1,300 lines formatted) gives Trino's precedence and wording,
//! bounds its own nesting explicitly (no stack growth from a dependency), and adds nothing to
//! the build.
//!
//! # Hostile input
//!
//! Statements over [`MAX_STATEMENT_LENGTH`] characters are refused; expressions may nest at
//! most [`MAX_NESTING_DEPTH`] levels, both in the parser's recursion and in the tree it builds,
//! so no later pass recurses deeper; `LIKE` matching is at worst (text × pattern) steps; and no
//! function makes a value larger than its inputs together.

mod analyze;
mod bounds;
mod error;
mod eval;
mod execute;
mod lexer;
mod like;
mod plan;
mod schema;
mod syntax;
mod time;
mod value;

pub use error::QueryError;
pub use execute::{Execution, ResultSet};

/// The longest statement accepted, in characters: the length limit of `StartQuery`'s
/// `QueryStatement`.
pub const MAX_STATEMENT_LENGTH: usize = 10_000;

/// How deep expressions may nest (parentheses, calls, operators; the terms of an `AND` or `OR`
/// chain count once). Trino documents no limit and real queries stay far below this; at the
/// limit a statement takes under 1 MiB of stack to parse and run in a debug build, and under
/// 256 KiB optimized, so it is safe on any thread.
pub const MAX_NESTING_DEPTH: usize = 32;

/// A parsed and analyzed statement, ready to run.
#[derive(Debug)]
pub struct Statement {
    source: String,
    plan: plan::Plan,
    bounds: bounds::Bounds,
}

/// Parses `statement`, substituting `parameters` (`StartQuery`'s `QueryParameters`, each a
/// string value) for its placeholders in order, and checks it against Lake's schema.
pub fn parse(statement: &str, parameters: &[String]) -> Result<Statement, QueryError> {
    if statement.chars().count() > MAX_STATEMENT_LENGTH {
        return Err(QueryError::new(format!(
            "Query statement exceeds the maximum length of {MAX_STATEMENT_LENGTH} characters"
        )));
    }
    let query = syntax::parse(statement, parameters)?;
    let plan = analyze::analyze(&query, statement)?;
    let bounds = bounds::event_time_bounds(plan.filter.as_ref());
    Ok(Statement {
        source: query.source,
        plan,
        bounds,
    })
}

impl Statement {
    /// The event data store named after `FROM`, as written (unquoted): an ID or an ARN.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The columns the result will have.
    pub fn columns(&self) -> &[String] {
        &self.plan.columns
    }

    /// Inclusive bounds on `eventTime`, in milliseconds since the epoch, that the `WHERE`
    /// clause implies: every matching event lies within them (they may admit more). `None`
    /// where a side is unbounded; a low bound above the high bound means nothing can match.
    pub fn event_time_bounds(&self) -> (Option<i64>, Option<i64>) {
        (self.bounds.low, self.bounds.high)
    }

    /// Starts running the statement. A statement that reads `current_timestamp` (or `now()`)
    /// fails when it does: give it the time with [`Statement::execute_at`].
    pub fn execute(&self) -> Execution<'_> {
        Execution::new(self, None)
    }

    /// Starts running the statement with `now_millis` (milliseconds since the epoch) as its
    /// `current_timestamp`.
    pub fn execute_at(&self, now_millis: i64) -> Execution<'_> {
        Execution::new(self, Some(now_millis))
    }
}
