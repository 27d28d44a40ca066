//! Why a statement was refused or a query failed. Messages follow Trino's wording (Lake runs
//! Trino), with the `line L:C: ` prefix Trino puts on errors that point into the statement.

use std::fmt;

/// A refused statement (`InvalidQueryStatementException` from `StartQuery`) or a failed query
/// (the `ErrorMessage` of a `FAILED` query). `Display` gives the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    message: String,
}

impl QueryError {
    /// An error that points nowhere in the statement (a run-time failure, or a limit).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// An error about the text at byte `offset` of `statement`, located the way Trino does:
    /// 1-based line, and 1-based column in characters.
    pub(crate) fn at(statement: &str, offset: usize, message: impl fmt::Display) -> Self {
        let before = statement.get(..offset).unwrap_or(statement);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before
            .get(line_start..)
            .map_or(0, |text| text.chars().count())
            + 1;
        Self::new(format!("line {line}:{column}: {message}"))
    }

    /// The message alone.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_by_line_and_character_column() {
        let statement = "SELECT\n  é, x";
        let offset = statement.find('x').unwrap();
        assert_eq!(
            QueryError::at(statement, offset, "boom").to_string(),
            "line 2:6: boom"
        );
        assert_eq!(
            QueryError::at(statement, 0, "start").message(),
            "line 1:1: start"
        );
    }
}
