//! The parser: a cursor over the pattern text and one recursive-descent function per rule.
//! Only parentheses in JSON patterns recurse, and they stop at [`MAX_DEPTH`].

use regex::{Regex, RegexBuilder};

use super::{
    Check, Field, Form, JsonExpr, Literal, MAX_DEPTH, Op, PatternError, Selector, Step, Terms,
};

/// Regular expressions a pattern may hold, as AWS allows.
const MAX_REGEXES: usize = 2;
/// The compiled size a pattern's regular expression may reach.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn pattern(text: &str) -> Result<Form, PatternError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Form::Everything);
    }
    let mut regexes = 0;
    if let Some(inner) = trimmed.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or_else(|| {
            PatternError::new("If a filter pattern starts with '{' it must end with '}'")
        })?;
        let mut cursor = Cursor::new(inner, &mut regexes);
        let expr = cursor.json_or(0)?;
        cursor.skip_space();
        if !cursor.at_end() {
            return Err(cursor.unexpected());
        }
        return Ok(Form::Json(expr));
    }
    if let Some(inner) = trimmed.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(|| {
            PatternError::new("If a filter pattern starts with '[' it must end with ']'")
        })?;
        return delimited(inner, &mut regexes).map(Form::Delimited);
    }
    if trimmed.len() > 1 && trimmed.starts_with('%') && trimmed.ends_with('%') {
        let body = trimmed.get(1..trimmed.len() - 1).unwrap_or_default();
        return regex(body, &mut regexes).map(Form::Regex);
    }
    terms(trimmed).map(Form::Terms)
}

/// The steps of a `$.a.b[0]` selector, or `None` when `text` is not one.
pub(super) fn selector_steps(text: &str) -> Option<Vec<Step>> {
    let mut regexes = 0;
    let mut cursor = Cursor::new(text, &mut regexes);
    let selector = cursor.selector().ok()?;
    cursor.at_end().then_some(selector.steps)
}

fn terms(text: &str) -> Result<Terms, PatternError> {
    let mut terms = Terms::default();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(first) = rest.chars().next() else {
            return Ok(terms);
        };
        let list = match first {
            '?' => &mut terms.alternatives,
            '-' => &mut terms.excluded,
            _ => &mut terms.required,
        };
        if matches!(first, '?' | '-') {
            rest = rest.get(1..).unwrap_or_default();
        }
        let (term, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let (phrase, after) = quoted_text(quoted)
                .ok_or_else(|| PatternError::new(format!("Unterminated quote in term '{rest}'")))?;
            if phrase.is_empty() {
                return Err(invalid_term("\"\""));
            }
            (phrase, after)
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = rest.get(..end).unwrap_or_default();
            if word.is_empty() || !word.chars().all(term_character) {
                return Err(invalid_term(word));
            }
            (word.to_owned(), rest.get(end..).unwrap_or_default())
        };
        list.push(term);
        rest = after;
    }
}

fn invalid_term(term: &str) -> PatternError {
    PatternError::new(format!("Invalid character(s) in term '{term}'"))
}

/// Characters an unquoted term may hold; the rest have a meaning in some pattern form, or are
/// not ASCII, and need quotes.
fn term_character(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '"' | '{' | '}' | '[' | ']' | '(' | ')' | '@')
}

/// The text of a quoted string whose opening quote is already consumed, with `\"` and `\\`
/// unescaped, and what follows its closing quote.
fn quoted_text(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, text.get(index + 1..).unwrap_or_default())),
            '\\' => value.push(chars.next().map_or('\\', |(_, escaped)| escaped)),
            c => value.push(c),
        }
    }
    None
}

fn regex(body: &str, count: &mut usize) -> Result<Regex, PatternError> {
    *count += 1;
    if *count > MAX_REGEXES {
        return Err(PatternError::new(
            "A filter pattern may contain at most 2 regular expressions",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " :_#=@/;,-^$?[]{}|\\*+.".contains(c);
    if body.is_empty() || !body.chars().all(allowed) {
        return Err(PatternError::new(format!(
            "Invalid regular expression '%{body}%'"
        )));
    }
    RegexBuilder::new(body)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|_| PatternError::new(format!("Invalid regular expression '%{body}%'")))
}

/// The fields of a space-delimited pattern, the text between its brackets.
fn delimited(inner: &str, regexes: &mut usize) -> Result<Vec<Field>, PatternError> {
    let mut cursor = Cursor::new(inner, regexes);
    let mut fields = Vec::new();
    loop {
        cursor.skip_space();
        fields.push(cursor.field()?);
        cursor.skip_space();
        if cursor.at_end() {
            return Ok(fields);
        }
        if !cursor.eat(",") {
            return Err(cursor.unexpected());
        }
    }
}

struct Cursor<'a> {
    text: &'a str,
    position: usize,
    regexes: &'a mut usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, regexes: &'a mut usize) -> Self {
        Self {
            text,
            position: 0,
            regexes,
        }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.position += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes `word` when it is next and not the start of a longer word.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let follows = rest
            .get(word.len()..)
            .and_then(|after| after.chars().next());
        if rest.starts_with(word) && !follows.is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    /// Consumes the longest run of characters satisfying `accept`.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c| !accept(c)).unwrap_or(rest.len());
        self.position += end;
        rest.get(..end).unwrap_or_default()
    }

    fn unexpected(&self) -> PatternError {
        match self.rest().chars().next() {
            Some(_) => PatternError::new(format!("Unexpected input '{}'", self.rest())),
            None => PatternError::new("Unexpected end of pattern"),
        }
    }

    /// `and ('||' and)*`.
    fn json_or(&mut self, depth: usize) -> Result<JsonExpr, PatternError> {
        let mut options = vec![self.json_and(depth)?];
        loop {
            self.skip_space();
            if !self.eat("||") {
                break;
            }
            options.push(self.json_and(depth)?);
        }
        Ok(flatten(options, JsonExpr::Any))
    }

    /// `unary ('&&' unary)*`.
    fn json_and(&mut self, depth: usize) -> Result<JsonExpr, PatternError> {
        let mut parts = vec![self.json_unary(depth)?];
        loop {
            self.skip_space();
            if !self.eat("&&") {
                break;
            }
            parts.push(self.json_unary(depth)?);
        }
        Ok(flatten(parts, JsonExpr::All))
    }

    /// `'(' or ')'` or a test of one field.
    fn json_unary(&mut self, depth: usize) -> Result<JsonExpr, PatternError> {
        self.skip_space();
        if self.eat("(") {
            if depth >= MAX_DEPTH {
                return Err(PatternError::new("Too many nested parentheses"));
            }
            let inner = self.json_or(depth + 1)?;
            self.skip_space();
            if !self.eat(")") {
                return Err(self.unexpected());
            }
            return Ok(inner);
        }
        let selector = self.selector()?;
        self.skip_space();
        let check = if self.eat_keyword("IS") {
            self.skip_space();
            if self.eat_keyword("NULL") {
                Check::IsNull
            } else if self.eat_keyword("TRUE") {
                Check::IsBool(true)
            } else if self.eat_keyword("FALSE") {
                Check::IsBool(false)
            } else {
                return Err(self.unexpected());
            }
        } else if self.eat_keyword("NOT") {
            self.skip_space();
            if !self.eat_keyword("EXISTS") {
                return Err(self.unexpected());
            }
            Check::NotExists
        } else {
            let op = self.operator()?;
            Check::Compare(op, self.literal(op)?)
        };
        Ok(JsonExpr::Test(selector, check))
    }

    /// `$` followed by `.key` and `[index]` steps.
    fn selector(&mut self) -> Result<Selector, PatternError> {
        let start = self.position;
        if !self.eat("$") {
            return Err(self.unexpected());
        }
        let mut steps = Vec::new();
        loop {
            if self.eat(".") {
                let key =
                    self.take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | ':'));
                if key.is_empty() {
                    return Err(self.unexpected());
                }
                steps.push(Step::Key(key.to_owned()));
            } else if self.eat("[") {
                let digits = self.take_while(|c| c.is_ascii_digit());
                let index = digits.parse().map_err(|_| self.unexpected())?;
                if !self.eat("]") {
                    return Err(self.unexpected());
                }
                steps.push(Step::Index(index));
            } else {
                break;
            }
        }
        if steps.is_empty() {
            return Err(self.unexpected());
        }
        let text = self
            .text
            .get(start..self.position)
            .unwrap_or_default()
            .to_owned();
        Ok(Selector { text, steps })
    }

    fn operator(&mut self) -> Result<Op, PatternError> {
        self.skip_space();
        let op = if self.eat("!=") {
            Op::Ne
        } else if self.eat("<=") {
            Op::Le
        } else if self.eat(">=") {
            Op::Ge
        } else if self.eat("=") {
            Op::Eq
        } else if self.eat("<") {
            Op::Lt
        } else if self.eat(">") {
            Op::Gt
        } else {
            return Err(self.unexpected());
        };
        Ok(op)
    }

    /// The value a comparison compares with: a number, a quoted string, a `%regex%` or an
    /// unquoted word. Ordering comparisons take numbers only.
    fn literal(&mut self, op: Op) -> Result<Literal, PatternError> {
        self.skip_space();
        let literal = if self.eat("\"") {
            let (text, after) = quoted_text(self.rest()).ok_or_else(|| self.unexpected())?;
            self.position = self.text.len() - after.len();
            Literal::Text(text)
        } else if self.eat("%") {
            let body = self.take_while(|c| c != '%');
            if !self.eat("%") {
                return Err(self.unexpected());
            }
            Literal::Regex(regex(body, self.regexes)?)
        } else {
            let word = self.take_while(|c| {
                !c.is_whitespace() && !matches!(c, '(' | ')' | '&' | '|' | ',' | '"')
            });
            if word.is_empty() {
                return Err(self.unexpected());
            }
            number(word).map_or_else(|| Literal::Text(word.to_owned()), Literal::Number)
        };
        if !matches!(op, Op::Eq | Op::Ne) && !matches!(literal, Literal::Number(_)) {
            return Err(PatternError::new(
                "Comparisons other than = and != need a numeric value",
            ));
        }
        Ok(literal)
    }

    /// One field of a space-delimited pattern: `...`, or a name with optional conditions on
    /// its value, `name = v`, joined by `&&` and `||` (each naming the same field).
    fn field(&mut self) -> Result<Field, PatternError> {
        if self.eat("...") {
            return Ok(Field::Rest);
        }
        let name = self.field_name()?;
        let mut any_of: Vec<Vec<(Op, Literal)>> = Vec::new();
        self.skip_space();
        if matches!(self.peek(), Some('=' | '!' | '<' | '>')) {
            let mut all = Vec::new();
            loop {
                let op = self.operator()?;
                all.push((op, self.literal(op)?));
                self.skip_space();
                let or = self.eat("||");
                if !or && !self.eat("&&") {
                    break;
                }
                if or {
                    any_of.push(std::mem::take(&mut all));
                }
                self.skip_space();
                if self.field_name()? != name {
                    return Err(PatternError::new(format!(
                        "A condition on field '{name}' can only test '{name}'"
                    )));
                }
            }
            any_of.push(all);
        }
        Ok(Field::Named {
            name: name.to_owned(),
            any_of,
        })
    }

    fn field_name(&mut self) -> Result<&'a str, PatternError> {
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if name.is_empty() {
            Err(self.unexpected())
        } else {
            Ok(name)
        }
    }
}

/// One expression, or the combination of several.
fn flatten(mut parts: Vec<JsonExpr>, combine: fn(Vec<JsonExpr>) -> JsonExpr) -> JsonExpr {
    if parts.len() == 1
        && let Some(only) = parts.pop()
    {
        return only;
    }
    combine(parts)
}

/// `word` as a number when it is written as one (digits, an optional sign, fraction and
/// exponent; never `inf` or `NaN`).
fn number(word: &str) -> Option<f64> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    word.parse::<f64>().ok().filter(|value| value.is_finite())
}
