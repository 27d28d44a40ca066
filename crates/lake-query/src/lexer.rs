//! Splitting a statement into Trino's tokens, on demand: the parser asks for the next token,
//! or, right after `FROM`, for an event data store name, which Lake writes unquoted although
//! it is no SQL identifier (`4e8b...-...`, `EXAMPLE-f852-...`, or a full ARN).

use crate::error::QueryError;

/// One token and where it lies in the statement (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A double-quoted identifier, unescaped.
    Quoted(String),
    /// A single-quoted string literal, unescaped.
    Str(String),
    /// A numeric literal, as written.
    Number(String),
    /// `?`, a parameter placeholder.
    Param,
    /// An operator or punctuation.
    Symbol(&'static str),
    /// An event data store name written unquoted after `FROM`.
    SourceName(String),
    Eof,
}

/// Operators and punctuation, longest first so that `<=` wins over `<`.
const SYMBOLS: [&str; 19] = [
    "<>", "!=", "<=", ">=", "||", "(", ")", ",", ".", "[", "]", ";", "=", "<", ">", "+", "-", "*",
    "/",
];

pub(crate) struct Lexer<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, position: 0 }
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, QueryError> {
        self.skip_blanks()?;
        let start = self.position;
        let Some(first) = self.peek_char() else {
            return Ok(self.token(TokenKind::Eof, start));
        };
        let kind = match first {
            '\'' => TokenKind::Str(self.delimited('\'')?),
            '"' => TokenKind::Quoted(self.delimited('"')?),
            '`' => {
                return Err(self.error_at(
                    start,
                    "backquoted identifiers are not supported; use double quotes to quote identifiers",
                ));
            }
            '?' => {
                self.position += 1;
                TokenKind::Param
            }
            '%' => {
                self.position += 1;
                TokenKind::Symbol("%")
            }
            c if c.is_ascii_digit() => self.number()?,
            '.' if self
                .rest()
                .chars()
                .nth(1)
                .is_some_and(|c| c.is_ascii_digit()) =>
            {
                self.number()?
            }
            c if c.is_alphabetic() || c == '_' => {
                let word = self.take_while(|c| c.is_alphanumeric() || c == '_');
                TokenKind::Word(word.to_owned())
            }
            _ => {
                let Some(symbol) = SYMBOLS
                    .into_iter()
                    .find(|symbol| self.rest().starts_with(symbol))
                else {
                    return Err(
                        self.error_at(start, format!("token recognition error at: '{first}'"))
                    );
                };
                self.position += symbol.len();
                TokenKind::Symbol(symbol)
            }
        };
        Ok(self.token(kind, start))
    }

    /// The event data store name after `FROM`: a double-quoted identifier, or an unquoted run of
    /// the characters IDs and ARNs are made of. `None` when neither follows (the parser then
    /// reports the next ordinary token).
    pub(crate) fn source_name(&mut self) -> Result<Option<Token>, QueryError> {
        self.skip_blanks()?;
        let start = self.position;
        match self.peek_char() {
            Some('"') => {
                let name = self.delimited('"')?;
                Ok(Some(self.token(TokenKind::Quoted(name), start)))
            }
            Some(c) if is_source_char(c) => {
                let mut end = start;
                for (offset, c) in self.rest().char_indices() {
                    let here = self.rest().get(offset..).unwrap_or_default();
                    if !is_source_char(c) || here.starts_with("--") || here.starts_with("/*") {
                        break;
                    }
                    end = start + offset + c.len_utf8();
                }
                let name = self.text.get(start..end).unwrap_or_default().to_owned();
                self.position = end;
                Ok(Some(self.token(TokenKind::SourceName(name), start)))
            }
            _ => Ok(None),
        }
    }

    fn token(&self, kind: TokenKind, start: usize) -> Token {
        Token {
            kind,
            start,
            end: self.position,
        }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let length = rest.find(|c| !keep(c)).unwrap_or(rest.len());
        self.position += length;
        rest.get(..length).unwrap_or_default()
    }

    fn error_at(&self, offset: usize, message: impl std::fmt::Display) -> QueryError {
        QueryError::at(self.text, offset, message)
    }

    /// Whitespace and comments (`-- ...` to the end of the line, `/* ... */`).
    fn skip_blanks(&mut self) -> Result<(), QueryError> {
        loop {
            self.take_while(char::is_whitespace);
            let rest = self.rest();
            if rest.starts_with("--") {
                self.take_while(|c| c != '\n');
            } else if let Some(body) = rest.strip_prefix("/*") {
                let Some(length) = body.find("*/") else {
                    return Err(self.error_at(
                        self.position,
                        format!("token recognition error at: '{}'", truncated(rest)),
                    ));
                };
                self.position += 2 + length + 2;
            } else {
                return Ok(());
            }
        }
    }

    /// A literal or identifier between `quote`s, where a doubled quote stands for itself.
    fn delimited(&mut self, quote: char) -> Result<String, QueryError> {
        let start = self.position;
        self.position += quote.len_utf8();
        let mut value = String::new();
        loop {
            let rest = self.rest();
            let Some(length) = rest.find(quote) else {
                let unterminated = self.text.get(start..).unwrap_or_default();
                self.position = self.text.len();
                return Err(self.error_at(
                    start,
                    format!("token recognition error at: '{}'", truncated(unterminated)),
                ));
            };
            value.push_str(rest.get(..length).unwrap_or_default());
            self.position += length + quote.len_utf8();
            if self.peek_char() == Some(quote) {
                value.push(quote);
                self.position += quote.len_utf8();
            } else {
                return Ok(value);
            }
        }
    }

    /// Digits with an optional fraction and exponent. Trino refuses an identifier that starts
    /// with a digit, so letters straight after a number are an error rather than a new token.
    fn number(&mut self) -> Result<TokenKind, QueryError> {
        let start = self.position;
        self.take_while(|c| c.is_ascii_digit());
        if self.peek_char() == Some('.') {
            self.position += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        let rest = self.rest();
        let mut exponent = rest.chars();
        if matches!(exponent.next(), Some('e' | 'E')) {
            let mut digits = exponent.clone();
            let signed = matches!(digits.next(), Some('+' | '-'));
            let first_digit = if signed {
                digits.next()
            } else {
                exponent.next()
            };
            if first_digit.is_some_and(|c| c.is_ascii_digit()) {
                self.position += if signed { 2 } else { 1 };
                self.take_while(|c| c.is_ascii_digit());
            }
        }
        if self
            .peek_char()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.take_while(|c| c.is_alphanumeric() || c == '_');
            return Err(self.error_at(
                start,
                "identifiers must not start with a digit; surround the identifier with double quotes",
            ));
        }
        let text = self.text.get(start..self.position).unwrap_or_default();
        Ok(TokenKind::Number(text.to_owned()))
    }
}

fn is_source_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '/')
}

/// The start of an unterminated token, for a message that stays short.
fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut lexer = Lexer::new(text);
        let mut kinds = Vec::new();
        loop {
            let token = lexer.next_token().unwrap();
            if token.kind == TokenKind::Eof {
                return kinds;
            }
            kinds.push(token.kind);
        }
    }

    #[test]
    fn splits_trino_tokens() {
        assert_eq!(
            kinds("a.b <= 'it''s' -- comment\n/* block */ \"Q\"\"x\" 1.5e3 ? || %"),
            vec![
                TokenKind::Word("a".into()),
                TokenKind::Symbol("."),
                TokenKind::Word("b".into()),
                TokenKind::Symbol("<="),
                TokenKind::Str("it's".into()),
                TokenKind::Quoted("Q\"x".into()),
                TokenKind::Number("1.5e3".into()),
                TokenKind::Param,
                TokenKind::Symbol("||"),
                TokenKind::Symbol("%"),
            ]
        );
        assert_eq!(
            kinds(".5 1e-2"),
            vec![
                TokenKind::Number(".5".into()),
                TokenKind::Number("1e-2".into()),
            ]
        );
    }

    #[test]
    fn reports_bad_tokens_where_they_start() {
        let error = |text: &str| {
            let mut lexer = Lexer::new(text);
            loop {
                match lexer.next_token() {
                    Ok(token) if token.kind == TokenKind::Eof => panic!("no error in {text}"),
                    Ok(_) => {}
                    Err(error) => return error.to_string(),
                }
            }
        };
        assert_eq!(
            error("x 'open"),
            "line 1:3: token recognition error at: ''open'"
        );
        assert_eq!(
            error("x /* open"),
            "line 1:3: token recognition error at: '/* open'"
        );
        assert_eq!(error("a # b"), "line 1:3: token recognition error at: '#'");
        assert_eq!(
            error("4e8b-1"),
            "line 1:1: identifiers must not start with a digit; surround the identifier with double quotes"
        );
        assert!(error("1e").contains("identifiers must not start with a digit"));
        assert!(error("`x`").contains("backquoted identifiers are not supported"));
    }

    #[test]
    fn reads_an_unquoted_event_data_store_name() {
        let mut lexer = Lexer::new(" 4e8b9c0d-0a1b-4c2d-8e3f-0123456789ab--c\nWHERE x");
        let name = lexer.source_name().unwrap().unwrap();
        assert_eq!(
            name.kind,
            TokenKind::SourceName("4e8b9c0d-0a1b-4c2d-8e3f-0123456789ab".into())
        );
        assert_eq!(
            lexer.next_token().unwrap().kind,
            TokenKind::Word("WHERE".into())
        );
        let mut arn =
            Lexer::new("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE");
        assert_eq!(
            arn.source_name().unwrap().unwrap().kind,
            TokenKind::SourceName(
                "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE".into()
            )
        );
        assert_eq!(Lexer::new("(SELECT").source_name().unwrap(), None);
    }
}
