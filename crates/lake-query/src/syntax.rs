//! The syntax tree of a Lake statement and its recursive-descent parser. The grammar is the
//! part of Trino's `SELECT` this engine runs, with Trino's precedence; what Trino has but the
//! engine does not run (joins, set operations, subqueries, window functions) is refused by
//! name rather than as a bare syntax error. Nesting is bounded both while parsing (recursion)
//! and in the tree built (its height), so later passes can recurse safely.

use crate::MAX_NESTING_DEPTH;
use crate::error::QueryError;
use crate::lexer::{Lexer, Token, TokenKind};

#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) distinct: bool,
    pub(crate) items: Vec<SelectItem>,
    pub(crate) source: String,
    pub(crate) alias: Option<Ident>,
    pub(crate) filter: Option<Expr>,
    pub(crate) group_by: Vec<Expr>,
    pub(crate) having: Option<Expr>,
    pub(crate) order_by: Vec<OrderItem>,
    pub(crate) offset: Option<u64>,
    pub(crate) limit: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum SelectItem {
    /// `*`, at this byte offset.
    All(usize),
    Expr {
        expr: Expr,
        alias: Option<Ident>,
    },
}

#[derive(Debug)]
pub(crate) struct OrderItem {
    pub(crate) expr: Expr,
    pub(crate) descending: bool,
    /// `None` when not written: Trino then puts NULLs last.
    pub(crate) nulls_first: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct Ident {
    pub(crate) value: String,
    pub(crate) start: usize,
}

#[derive(Debug)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    /// Byte offsets of the expression's text in the statement.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// How many nodes deep the tree under (and including) this node is.
    height: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CompareOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::NotEq => "<>",
            Self::Lt => "<",
            Self::LtEq => "<=",
            Self::Gt => ">",
            Self::GtEq => ">=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub(crate) fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::LtEq => Self::GtEq,
            Self::Gt => Self::Lt,
            Self::GtEq => Self::LtEq,
            same => same,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulus,
}

impl ArithOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Subtract => "-",
            Self::Multiply => "*",
            Self::Divide => "/",
            Self::Modulus => "%",
        }
    }
}

/// A type named in `CAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeName {
    Varchar,
    Bigint,
    Integer,
    Double,
    Boolean,
    Timestamp(u8),
}

#[derive(Debug)]
pub(crate) enum ExprKind {
    Null,
    Bool(bool),
    Str(String),
    Integer(i64),
    Double(f64),
    /// `TIMESTAMP '...'`, the text between the quotes.
    Timestamp(String),
    /// An identifier chain (`eventname`, `useridentity.sessioncontext.sessionissuer.arn`).
    Name(Vec<Ident>),
    /// `.field` after an expression that is not a plain name.
    Dereference(Box<Expr>, Ident),
    Subscript(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Concat(Box<Expr>, Box<Expr>),
    Like {
        value: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
    },
    InList {
        value: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    IsNull {
        value: Box<Expr>,
        negated: bool,
    },
    /// `IS [NOT] DISTINCT FROM`.
    IsDistinct {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Call {
        name: Ident,
        args: Vec<Expr>,
        distinct: bool,
        /// `count(*)`.
        star: bool,
    },
    CurrentTimestamp,
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast {
        value: Box<Expr>,
        target: TypeName,
        is_try: bool,
    },
}

/// Trino's reserved words: never an unquoted column or alias.
const RESERVED: [&str; 62] = [
    "ALTER",
    "AND",
    "AS",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DEALLOCATE",
    "DELETE",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXECUTE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "HAVING",
    "IN",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LOCALTIME",
    "NATURAL",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "RIGHT",
    "ROLLUP",
    "SELECT",
    "TABLE",
    "THEN",
    "TRUE",
    "UNION",
    "UNNEST",
    "USING",
    "VALUES",
    "WHEN",
];

/// Words that are not reserved but end an expression, so they are no implicit alias.
const CLAUSE_WORDS: [&str; 9] = [
    "WHERE", "LIMIT", "OFFSET", "FETCH", "WINDOW", "ASC", "DESC", "NULLS", "WITH",
];

/// Parses `statement`, with `parameters` taking the places of its placeholders in order: `?`,
/// and, when parameters are given, the literal `'?'` (Lake's documented form for a
/// placeholder inside a time comparison).
pub(crate) fn parse(statement: &str, parameters: &[String]) -> Result<Query, QueryError> {
    let mut parser = Parser {
        text: statement,
        lexer: Lexer::new(statement),
        peeked: None,
        parameters,
        used_parameters: 0,
        depth: 0,
        last_end: 0,
    };
    let query = parser.query()?;
    if parser.used_parameters != parameters.len() {
        return Err(QueryError::new(format!(
            "Incorrect number of parameters: expected {} but found {}",
            parser.used_parameters,
            parameters.len()
        )));
    }
    Ok(query)
}

struct Parser<'a> {
    text: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    parameters: &'a [String],
    used_parameters: usize,
    depth: usize,
    last_end: usize,
}

impl Parser<'_> {
    fn query(&mut self) -> Result<Query, QueryError> {
        if self.peek_keyword("WITH")? {
            return Err(self.refuse("WITH queries are not supported")?);
        }
        self.expect_keyword("SELECT")?;
        let distinct = if self.eat_keyword("DISTINCT")? {
            true
        } else {
            self.eat_keyword("ALL")?;
            false
        };
        let mut items = vec![self.select_item()?];
        while self.eat_symbol(",")? {
            items.push(self.select_item()?);
        }
        if !self.peek_keyword("FROM")? {
            let token = self.peek()?.clone();
            if token.kind == TokenKind::Eof {
                return Err(self.error_at(
                    token.start,
                    "The query must name an event data store after FROM",
                ));
            }
            return Err(self.mismatched(&token, "',', 'FROM'"));
        }
        self.advance()?;
        let source = self.source()?;
        let alias = self.alias()?;
        self.refuse_joins()?;
        let filter = if self.eat_keyword("WHERE")? {
            Some(self.expr()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_keyword("GROUP")? {
            self.expect_keyword("BY")?;
            for word in ["ALL", "DISTINCT", "ROLLUP", "CUBE", "GROUPING"] {
                if self.peek_keyword(word)? {
                    return Err(self.refuse(&format!("GROUP BY {word} is not supported"))?);
                }
            }
            group_by.push(self.expr()?);
            while self.eat_symbol(",")? {
                group_by.push(self.expr()?);
            }
        }
        let having = if self.eat_keyword("HAVING")? {
            Some(self.expr()?)
        } else {
            None
        };
        for word in ["UNION", "EXCEPT", "INTERSECT"] {
            if self.peek_keyword(word)? {
                return Err(self.refuse(&format!(
                    "{word} is not supported: a query reads one event data store"
                ))?);
            }
        }
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER")? {
            self.expect_keyword("BY")?;
            order_by.push(self.order_item()?);
            while self.eat_symbol(",")? {
                order_by.push(self.order_item()?);
            }
        }
        let offset = if self.eat_keyword("OFFSET")? {
            let count = self.row_count()?;
            if !self.eat_keyword("ROWS")? {
                self.eat_keyword("ROW")?;
            }
            Some(count)
        } else {
            None
        };
        let limit = if self.eat_keyword("LIMIT")? {
            if self.eat_keyword("ALL")? {
                None
            } else {
                Some(self.row_count()?)
            }
        } else {
            None
        };
        if self.peek_keyword("FETCH")? {
            return Err(self.refuse("FETCH FIRST is not supported; use LIMIT")?);
        }
        self.eat_symbol(";")?;
        let end = self.peek()?.clone();
        if end.kind != TokenKind::Eof {
            return Err(self.mismatched(&end, "<EOF>"));
        }
        Ok(Query {
            distinct,
            items,
            source,
            alias,
            filter,
            group_by,
            having,
            order_by,
            offset,
            limit,
        })
    }

    fn select_item(&mut self) -> Result<SelectItem, QueryError> {
        let start = self.peek()?.start;
        if self.eat_symbol("*")? {
            return Ok(SelectItem::All(start));
        }
        let expr = self.expr()?;
        if self.peek()?.kind == TokenKind::Symbol(".") {
            return Err(self.refuse("Qualified '*' is not supported; use '*'")?);
        }
        let alias = self.alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    /// The event data store after `FROM`.
    fn source(&mut self) -> Result<String, QueryError> {
        match self.lexer.source_name()? {
            Some(Token {
                kind: TokenKind::SourceName(name) | TokenKind::Quoted(name),
                ..
            }) => Ok(name),
            _ => {
                let token = self.peek()?.clone();
                if token.kind == TokenKind::Symbol("(") {
                    return Err(self.error_at(token.start, "Subqueries are not supported"));
                }
                Err(self.mismatched(&token, "<event data store ID or ARN>"))
            }
        }
    }

    fn refuse_joins(&mut self) -> Result<(), QueryError> {
        let token = self.peek()?.clone();
        let is_join = token.kind == TokenKind::Symbol(",")
            || ["JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL"]
                .iter()
                .any(|word| is_keyword(&token, word));
        if is_join {
            return Err(self.error_at(
                token.start,
                "Joins are not supported: a query reads one event data store",
            ));
        }
        Ok(())
    }

    /// `[AS] alias`; without `AS`, only a word that cannot continue the statement.
    fn alias(&mut self) -> Result<Option<Ident>, QueryError> {
        let explicit = self.eat_keyword("AS")?;
        let token = self.peek()?.clone();
        let value = match &token.kind {
            TokenKind::Quoted(name) => name.clone(),
            TokenKind::Word(word)
                if !is_reserved(word)
                    && (explicit
                        || !CLAUSE_WORDS
                            .iter()
                            .any(|clause| clause.eq_ignore_ascii_case(word))) =>
            {
                word.clone()
            }
            _ if explicit => return Err(self.mismatched(&token, "<identifier>")),
            _ => return Ok(None),
        };
        self.advance()?;
        Ok(Some(Ident {
            value,
            start: token.start,
        }))
    }

    fn order_item(&mut self) -> Result<OrderItem, QueryError> {
        let expr = self.expr()?;
        let descending = if self.eat_keyword("DESC")? {
            true
        } else {
            self.eat_keyword("ASC")?;
            false
        };
        let nulls_first = if self.eat_keyword("NULLS")? {
            if self.eat_keyword("FIRST")? {
                Some(true)
            } else {
                self.expect_keyword("LAST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            expr,
            descending,
            nulls_first,
        })
    }

    fn row_count(&mut self) -> Result<u64, QueryError> {
        let token = self.advance()?;
        match &token.kind {
            TokenKind::Number(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().map_err(|_| {
                    self.error_at(token.start, format!("Invalid numeric literal: {text}"))
                })
            }
            TokenKind::Param => {
                // A parameter is a string; Trino would not take one as a row count.
                Err(self.error_at(token.start, "A row count must be an integer literal"))
            }
            _ => Err(self.mismatched(&token, "<integer>")),
        }
    }

    // Expressions, lowest precedence first.

    fn expr(&mut self) -> Result<Expr, QueryError> {
        self.nested(|parser| parser.or())
    }

    /// Runs `parse` one level deeper, refusing to go past the nesting limit.
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        if self.depth >= MAX_NESTING_DEPTH {
            let at = self.peek()?.start;
            return Err(self.too_deep(at));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let first = self.and()?;
        if !self.peek_keyword("OR")? {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_keyword("OR")? {
            terms.push(self.and()?);
        }
        self.junction(terms, ExprKind::Or)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let first = self.not()?;
        if !self.peek_keyword("AND")? {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_keyword("AND")? {
            terms.push(self.not()?);
        }
        self.junction(terms, ExprKind::And)
    }

    fn junction(
        &self,
        terms: Vec<Expr>,
        kind: fn(Vec<Expr>) -> ExprKind,
    ) -> Result<Expr, QueryError> {
        let start = terms.first().map_or(0, |term| term.start);
        let end = terms.last().map_or(0, |term| term.end);
        let height = terms.iter().map(|term| term.height).max().unwrap_or(0);
        self.node(kind(terms), start, end, height)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        let token = self.peek()?.clone();
        if is_keyword(&token, "NOT") {
            self.advance()?;
            let operand = self.nested(|parser| parser.not())?;
            let (end, height) = (operand.end, operand.height);
            return self.node(ExprKind::Not(Box::new(operand)), token.start, end, height);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, QueryError> {
        let value = self.concat()?;
        let token = self.peek()?.clone();
        if let TokenKind::Symbol(symbol) = token.kind {
            let op = match symbol {
                "=" => Some(CompareOp::Eq),
                "<>" | "!=" => Some(CompareOp::NotEq),
                "<" => Some(CompareOp::Lt),
                "<=" => Some(CompareOp::LtEq),
                ">" => Some(CompareOp::Gt),
                ">=" => Some(CompareOp::GtEq),
                _ => None,
            };
            if let Some(op) = op {
                self.advance()?;
                for word in ["ANY", "SOME", "ALL"] {
                    if self.peek_keyword(word)? {
                        return Err(self.refuse("Subqueries are not supported")?);
                    }
                }
                let right = self.concat()?;
                return self.binary(|l, r| ExprKind::Compare(op, l, r), value, right);
            }
            return Ok(value);
        }
        if is_keyword(&token, "IS") {
            self.advance()?;
            let negated = self.eat_keyword("NOT")?;
            if self.eat_keyword("NULL")? {
                let start = value.start;
                let end = self.last_end();
                let height = value.height;
                return self.node(
                    ExprKind::IsNull {
                        value: Box::new(value),
                        negated,
                    },
                    start,
                    end,
                    height,
                );
            }
            let next = self.peek()?.clone();
            if is_keyword(&next, "DISTINCT") {
                self.advance()?;
                self.expect_keyword("FROM")?;
                let right = self.concat()?;
                return self.binary(
                    |left, right| ExprKind::IsDistinct {
                        left,
                        right,
                        negated,
                    },
                    value,
                    right,
                );
            }
            return Err(self.mismatched(&next, "'NULL', 'DISTINCT'"));
        }
        let negated = is_keyword(&token, "NOT");
        if negated {
            self.advance()?;
        }
        let keyword = self.peek()?.clone();
        if is_keyword(&keyword, "BETWEEN") {
            self.advance()?;
            let low = self.concat()?;
            self.expect_keyword("AND")?;
            let high = self.concat()?;
            let start = value.start;
            let end = high.end;
            let height = value.height.max(low.height).max(high.height);
            return self.node(
                ExprKind::Between {
                    value: Box::new(value),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                },
                start,
                end,
                height,
            );
        }
        if is_keyword(&keyword, "IN") {
            self.advance()?;
            self.expect_symbol("(")?;
            if self.peek_keyword("SELECT")? {
                return Err(self.refuse("Subqueries are not supported")?);
            }
            let mut list = vec![self.expr()?];
            while self.eat_symbol(",")? {
                list.push(self.expr()?);
            }
            self.expect_symbol(")")?;
            let start = value.start;
            let end = self.last_end();
            let height = list
                .iter()
                .map(|item| item.height)
                .chain([value.height])
                .max()
                .unwrap_or(0);
            return self.node(
                ExprKind::InList {
                    value: Box::new(value),
                    list,
                    negated,
                },
                start,
                end,
                height,
            );
        }
        if is_keyword(&keyword, "LIKE") {
            self.advance()?;
            let pattern = self.concat()?;
            let escape = if self.eat_keyword("ESCAPE")? {
                Some(Box::new(self.concat()?))
            } else {
                None
            };
            let start = value.start;
            let end = escape.as_ref().map_or(pattern.end, |escape| escape.end);
            let height = value
                .height
                .max(pattern.height)
                .max(escape.as_ref().map_or(0, |escape| escape.height));
            return self.node(
                ExprKind::Like {
                    value: Box::new(value),
                    pattern: Box::new(pattern),
                    escape,
                    negated,
                },
                start,
                end,
                height,
            );
        }
        if negated {
            return Err(self.mismatched(&keyword, "'BETWEEN', 'IN', 'LIKE'"));
        }
        Ok(value)
    }

    fn concat(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.additive()?;
        while self.eat_symbol("||")? {
            let right = self.additive()?;
            left = self.binary(ExprKind::Concat, left, right)?;
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek()?.kind {
                TokenKind::Symbol("+") => ArithOp::Add,
                TokenKind::Symbol("-") => ArithOp::Subtract,
                _ => return Ok(left),
            };
            self.advance()?;
            let right = self.multiplicative()?;
            left = self.binary(|l, r| ExprKind::Arith(op, l, r), left, right)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek()?.kind {
                TokenKind::Symbol("*") => ArithOp::Multiply,
                TokenKind::Symbol("/") => ArithOp::Divide,
                TokenKind::Symbol("%") => ArithOp::Modulus,
                _ => return Ok(left),
            };
            self.advance()?;
            let right = self.unary()?;
            left = self.binary(|l, r| ExprKind::Arith(op, l, r), left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let token = self.peek()?.clone();
        match token.kind {
            TokenKind::Symbol("-") => {
                self.advance()?;
                let operand = self.nested(|parser| parser.unary())?;
                let (end, height) = (operand.end, operand.height);
                self.node(
                    ExprKind::Negate(Box::new(operand)),
                    token.start,
                    end,
                    height,
                )
            }
            TokenKind::Symbol("+") => {
                self.advance()?;
                self.nested(|parser| parser.unary())
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, QueryError> {
        let mut expr = self.primary()?;
        loop {
            if self.eat_symbol("[")? {
                let index = self.expr()?;
                self.expect_symbol("]")?;
                let end = self.last_end();
                let (start, height) = (expr.start, expr.height.max(index.height));
                expr = self.node(
                    ExprKind::Subscript(Box::new(expr), Box::new(index)),
                    start,
                    end,
                    height,
                )?;
            } else if self.eat_symbol(".")? {
                let field = self.identifier()?;
                let end = self.last_end();
                expr = match expr.kind {
                    ExprKind::Name(mut parts) => {
                        parts.push(field);
                        let start = expr.start;
                        self.node(ExprKind::Name(parts), start, end, 0)?
                    }
                    kind => {
                        let (start, height) = (expr.start, expr.height);
                        let base = Expr { kind, ..expr };
                        self.node(
                            ExprKind::Dereference(Box::new(base), field),
                            start,
                            end,
                            height,
                        )?
                    }
                };
            } else {
                return Ok(expr);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let token = self.advance()?;
        let start = token.start;
        let leaf = |parser: &Self, kind| parser.node(kind, start, token.end, 0);
        match &token.kind {
            TokenKind::Str(text) if text == "?" && !self.parameters.is_empty() => {
                let value = self.parameter(start)?;
                leaf(self, ExprKind::Str(value))
            }
            TokenKind::Str(text) => leaf(self, ExprKind::Str(text.clone())),
            TokenKind::Param => {
                let value = self.parameter(start)?;
                leaf(self, ExprKind::Str(value))
            }
            TokenKind::Number(text) => {
                let kind = self.number(text, start)?;
                leaf(self, kind)
            }
            TokenKind::Quoted(name) => leaf(
                self,
                ExprKind::Name(vec![Ident {
                    value: name.clone(),
                    start,
                }]),
            ),
            TokenKind::Symbol("(") => {
                if self.peek_keyword("SELECT")? {
                    return Err(self.refuse("Subqueries are not supported")?);
                }
                let inner = self.expr()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            TokenKind::Word(word) => self.word(word, &token),
            _ => Err(self.mismatched(&token, "<expression>")),
        }
    }

    /// A primary expression that starts with a word: a literal keyword, a special form, a
    /// function call or a name.
    fn word(&mut self, word: &str, token: &Token) -> Result<Expr, QueryError> {
        let start = token.start;
        let upper = word.to_ascii_uppercase();
        let leaf = |parser: &Self, kind| parser.node(kind, start, token.end, 0);
        match upper.as_str() {
            "NULL" => return leaf(self, ExprKind::Null),
            "TRUE" => return leaf(self, ExprKind::Bool(true)),
            "FALSE" => return leaf(self, ExprKind::Bool(false)),
            "CURRENT_TIMESTAMP" => return leaf(self, ExprKind::CurrentTimestamp),
            "CASE" => return self.case(start),
            "CAST" | "TRY_CAST" if self.peek()?.kind == TokenKind::Symbol("(") => {
                return self.cast(start, upper == "TRY_CAST");
            }
            "EXISTS" => return Err(self.error_at(start, "Subqueries are not supported")),
            "CURRENT_DATE" | "CURRENT_TIME" | "LOCALTIME" | "LOCALTIMESTAMP" | "CURRENT_USER"
            | "EXTRACT" | "NORMALIZE" | "LISTAGG" => {
                return Err(self.error_at(start, format!("{upper} is not supported")));
            }
            "INTERVAL" => {
                return Err(
                    self.error_at(start, "INTERVAL literals are not supported; use date_add")
                );
            }
            "TIMESTAMP" => {
                if let TokenKind::Str(text) = &self.peek()?.kind {
                    let text = text.clone();
                    self.advance()?;
                    let end = self.last_end();
                    return self.node(ExprKind::Timestamp(text), start, end, 0);
                }
            }
            _ => {}
        }
        if self.peek()?.kind == TokenKind::Symbol("(") {
            self.advance()?;
            return self.call(word, start);
        }
        if is_reserved(word) {
            return Err(self.mismatched(token, "<expression>"));
        }
        leaf(
            self,
            ExprKind::Name(vec![Ident {
                value: word.to_owned(),
                start,
            }]),
        )
    }

    /// A function call's arguments, after `name(`.
    fn call(&mut self, name: &str, start: usize) -> Result<Expr, QueryError> {
        let name = Ident {
            value: name.to_owned(),
            start,
        };
        let mut distinct = false;
        let mut star = false;
        let mut args = Vec::new();
        if self.eat_symbol("*")? {
            star = true;
        } else if !self.eat_symbol(")")? {
            if self.eat_keyword("DISTINCT")? {
                distinct = true;
            } else {
                self.eat_keyword("ALL")?;
            }
            args.push(self.expr()?);
            while self.eat_symbol(",")? {
                args.push(self.expr()?);
            }
            if self.peek_keyword("ORDER")? {
                return Err(self.refuse("ORDER BY in an aggregation is not supported")?);
            }
            self.expect_symbol(")")?;
        } else {
            let end = self.last_end();
            return self.finish_call(name, args, false, false, start, end);
        }
        if star {
            self.expect_symbol(")")?;
        }
        let end = self.last_end();
        self.finish_call(name, args, distinct, star, start, end)
    }

    fn finish_call(
        &mut self,
        name: Ident,
        args: Vec<Expr>,
        distinct: bool,
        star: bool,
        start: usize,
        end: usize,
    ) -> Result<Expr, QueryError> {
        for (word, what) in [
            ("FILTER", "FILTER clauses are not supported"),
            ("OVER", "Window functions are not supported"),
            ("WITHIN", "WITHIN GROUP is not supported"),
        ] {
            if self.peek_keyword(word)? {
                return Err(self.refuse(what)?);
            }
        }
        let height = args.iter().map(|arg| arg.height).max().unwrap_or(0);
        self.node(
            ExprKind::Call {
                name,
                args,
                distinct,
                star,
            },
            start,
            end,
            height,
        )
    }

    fn case(&mut self, start: usize) -> Result<Expr, QueryError> {
        let operand = if self.peek_keyword("WHEN")? {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_keyword("WHEN")? {
            let condition = self.expr()?;
            self.expect_keyword("THEN")?;
            let result = self.expr()?;
            whens.push((condition, result));
        }
        if whens.is_empty() {
            let token = self.peek()?.clone();
            return Err(self.mismatched(&token, "'WHEN'"));
        }
        let otherwise = if self.eat_keyword("ELSE")? {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_keyword("END")?;
        let end = self.last_end();
        let height = whens
            .iter()
            .flat_map(|(condition, result)| [condition.height, result.height])
            .chain(operand.iter().map(|operand| operand.height))
            .chain(otherwise.iter().map(|otherwise| otherwise.height))
            .max()
            .unwrap_or(0);
        self.node(
            ExprKind::Case {
                operand,
                whens,
                otherwise,
            },
            start,
            end,
            height,
        )
    }

    fn cast(&mut self, start: usize, is_try: bool) -> Result<Expr, QueryError> {
        self.expect_symbol("(")?;
        let value = self.expr()?;
        self.expect_keyword("AS")?;
        let token = self.advance()?;
        let name = match &token.kind {
            TokenKind::Word(word) => word.to_ascii_lowercase(),
            _ => return Err(self.mismatched(&token, "<type>")),
        };
        let target = match name.as_str() {
            "varchar" => {
                if self.eat_symbol("(")? {
                    return Err(self.refuse("Bounded varchar(n) is not supported; use varchar")?);
                }
                TypeName::Varchar
            }
            "bigint" => TypeName::Bigint,
            "integer" | "int" => TypeName::Integer,
            "double" => TypeName::Double,
            "boolean" => TypeName::Boolean,
            "timestamp" => {
                let precision = if self.eat_symbol("(")? {
                    let digits = self.advance()?;
                    let precision = match &digits.kind {
                        TokenKind::Number(text) => text.parse::<u8>().ok(),
                        _ => None,
                    };
                    self.expect_symbol(")")?;
                    match precision {
                        Some(precision) if precision <= crate::time::MAX_PRECISION => precision,
                        _ => {
                            return Err(self.error_at(
                                digits.start,
                                "Timestamp precision must be between 0 and 6",
                            ));
                        }
                    }
                } else {
                    3
                };
                if self.peek_keyword("WITH")? {
                    return Err(self.refuse("CAST to timestamp with time zone is not supported")?);
                }
                TypeName::Timestamp(precision)
            }
            other => {
                return Err(self.error_at(token.start, format!("Unknown type: {other}")));
            }
        };
        self.expect_symbol(")")?;
        let end = self.last_end();
        let height = value.height;
        self.node(
            ExprKind::Cast {
                value: Box::new(value),
                target,
                is_try,
            },
            start,
            end,
            height,
        )
    }

    fn number(&self, text: &str, start: usize) -> Result<ExprKind, QueryError> {
        let invalid = || self.error_at(start, format!("Invalid numeric literal: {text}"));
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(ExprKind::Integer).map_err(|_| invalid());
        }
        match text.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(ExprKind::Double(number)),
            _ => Err(invalid()),
        }
    }

    fn parameter(&mut self, at: usize) -> Result<String, QueryError> {
        let Some(value) = self.parameters.get(self.used_parameters) else {
            return Err(self.error_at(
                at,
                format!(
                    "Incorrect number of parameters: the statement has more than the {} given",
                    self.parameters.len()
                ),
            ));
        };
        self.used_parameters += 1;
        Ok(value.clone())
    }

    fn identifier(&mut self) -> Result<Ident, QueryError> {
        let token = self.advance()?;
        match &token.kind {
            TokenKind::Word(word) if !is_reserved(word) => Ok(Ident {
                value: word.clone(),
                start: token.start,
            }),
            TokenKind::Quoted(name) => Ok(Ident {
                value: name.clone(),
                start: token.start,
            }),
            _ => Err(self.mismatched(&token, "<identifier>")),
        }
    }

    /// A node over `start..end` whose children are `child_height` deep.
    fn node(
        &self,
        kind: ExprKind,
        start: usize,
        end: usize,
        child_height: usize,
    ) -> Result<Expr, QueryError> {
        let height = child_height + 1;
        if height > MAX_NESTING_DEPTH {
            return Err(self.too_deep(start));
        }
        Ok(Expr {
            kind,
            start,
            end,
            height,
        })
    }

    fn binary(
        &self,
        kind: impl FnOnce(Box<Expr>, Box<Expr>) -> ExprKind,
        left: Expr,
        right: Expr,
    ) -> Result<Expr, QueryError> {
        let (start, end) = (left.start, right.end);
        let height = left.height.max(right.height);
        self.node(kind(Box::new(left), Box::new(right)), start, end, height)
    }

    fn too_deep(&self, at: usize) -> QueryError {
        self.error_at(
            at,
            format!("Expression is nested more than {MAX_NESTING_DEPTH} levels deep"),
        )
    }

    // Tokens.

    fn peek(&mut self) -> Result<&Token, QueryError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn advance(&mut self) -> Result<Token, QueryError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
        .inspect(|token| self.last_end = token.end)
    }

    fn last_end(&self) -> usize {
        self.last_end
    }

    fn peek_keyword(&mut self, word: &str) -> Result<bool, QueryError> {
        Ok(is_keyword(self.peek()?, word))
    }

    fn eat_keyword(&mut self, word: &str) -> Result<bool, QueryError> {
        let found = self.peek_keyword(word)?;
        if found {
            self.advance()?;
        }
        Ok(found)
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), QueryError> {
        let token = self.advance()?;
        if is_keyword(&token, word) {
            Ok(())
        } else {
            Err(self.mismatched(&token, &format!("'{word}'")))
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> Result<bool, QueryError> {
        let found = is_symbol(self.peek()?, symbol);
        if found {
            self.advance()?;
        }
        Ok(found)
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), QueryError> {
        let token = self.advance()?;
        if is_symbol(&token, symbol) {
            Ok(())
        } else {
            Err(self.mismatched(&token, &format!("'{symbol}'")))
        }
    }

    fn error_at(&self, offset: usize, message: impl std::fmt::Display) -> QueryError {
        QueryError::at(self.text, offset, message)
    }

    /// A refusal of a construct this engine does not run, located at the next token.
    fn refuse(&mut self, message: &str) -> Result<QueryError, QueryError> {
        let at = self.peek()?.start;
        Ok(self.error_at(at, message))
    }

    /// Trino's syntax error for an unexpected token.
    fn mismatched(&self, token: &Token, expecting: &str) -> QueryError {
        let shown = match &token.kind {
            TokenKind::Eof => "<EOF>".to_owned(),
            _ => self
                .text
                .get(token.start..token.end)
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect(),
        };
        self.error_at(
            token.start,
            format!("mismatched input '{shown}'. Expecting: {expecting}"),
        )
    }
}

fn is_keyword(token: &Token, word: &str) -> bool {
    matches!(&token.kind, TokenKind::Word(text) if text.eq_ignore_ascii_case(word))
}

fn is_reserved(word: &str) -> bool {
    RESERVED
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(word))
}

fn is_symbol(token: &Token, symbol: &str) -> bool {
    matches!(token.kind, TokenKind::Symbol(found) if found == symbol)
}
