//! Where things are in a policy document's text, which the policy engine does not keep: the line
//! and column at which each statement starts and ends (the simulator's `MatchedStatements`), and
//! the condition keys the document names, in the order it names them
//! (`GetContextKeysFor*Policy`).
//!
//! Documents are read here only after the engine has accepted them, so this reader need not
//! explain bad JSON: it answers nothing for text it cannot read.

/// A place in a document, as IAM reports it: lines count from 1, columns from 1 in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub line: i32,
    pub column: i32,
}

/// Where a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatementPlace {
    /// The statement's opening brace.
    pub start: Place,
    /// Its closing brace.
    pub end: Place,
}

/// Where each statement of `document` is, in document order (a lone statement object counts as
/// a list of one); empty when the document cannot be read.
pub(crate) fn statement_places(document: &str) -> Vec<StatementPlace> {
    let Some(root) = Reader::new(document).document() else {
        return Vec::new();
    };
    statements(&root)
        .map(|statement| StatementPlace {
            start: place(document, statement.start),
            end: place(document, statement.end.saturating_sub(1)),
        })
        .collect()
}

/// The condition keys `document` names, in the order it names them, repeats included: the keys
/// of its `Condition` blocks and, under version 2012-10-17, the policy variables
/// (`${aws:username}`) in its resources and condition values.
pub(crate) fn context_keys(document: &str) -> Vec<String> {
    let Some(root) = Reader::new(document).document() else {
        return Vec::new();
    };
    let variables_enabled = member(&root, "Version")
        .is_some_and(|version| matches!(&version.node, Node::Text(text) if text == "2012-10-17"));
    let mut keys = Vec::new();
    for statement in statements(&root) {
        let Node::Object(members) = &statement.node else {
            continue;
        };
        for (name, value) in members {
            match name.as_str() {
                "Resource" | "NotResource" if variables_enabled => {
                    push_variables(value, &mut keys);
                }
                "Condition" => {
                    let Node::Object(blocks) = &value.node else {
                        continue;
                    };
                    for (_operator, block) in blocks {
                        let Node::Object(conditions) = &block.node else {
                            continue;
                        };
                        for (key, values) in conditions {
                            keys.push(key.clone());
                            if variables_enabled {
                                push_variables(values, &mut keys);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    keys
}

/// A JSON value and the byte range it spans (from its first character to just past its last).
struct Spanned {
    node: Node,
    start: usize,
    end: usize,
}

enum Node {
    Object(Vec<(String, Spanned)>),
    Array(Vec<Spanned>),
    Text(String),
    /// Numbers, booleans and null: nothing here reads them.
    Scalar,
}

/// The statements of a policy document: its `Statement` object, or the elements of its array.
fn statements(root: &Spanned) -> impl Iterator<Item = &Spanned> {
    let statement = member(root, "Statement");
    let (single, many) = match statement.map(|statement| &statement.node) {
        Some(Node::Array(items)) => (None, items.as_slice()),
        Some(Node::Object(_)) => (statement, [].as_slice()),
        _ => (None, [].as_slice()),
    };
    single.into_iter().chain(many)
}

fn member<'a>(object: &'a Spanned, name: &str) -> Option<&'a Spanned> {
    let Node::Object(members) = &object.node else {
        return None;
    };
    members
        .iter()
        .find(|(member, _)| member == name)
        .map(|(_, value)| value)
}

/// Adds the policy variables of every string in `value` (a string or a list of them).
fn push_variables(value: &Spanned, keys: &mut Vec<String>) {
    match &value.node {
        Node::Text(text) => {
            let mut rest = text.as_str();
            while let Some((_, after)) = rest.split_once("${") {
                let Some((inside, next)) = after.split_once('}') else {
                    break;
                };
                // `${key, 'default'}` names `key`; `${*}`, `${?}` and `${$}` are escapes.
                let key = inside.split(',').next().unwrap_or(inside).trim();
                if !matches!(key, "*" | "?" | "$" | "") {
                    keys.push(key.to_owned());
                }
                rest = next;
            }
        }
        Node::Array(items) => {
            for item in items {
                push_variables(item, keys);
            }
        }
        Node::Object(_) | Node::Scalar => {}
    }
}

/// The place of the character at byte `offset` of `text`.
fn place(text: &str, offset: usize) -> Place {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before
        .get(line_start..)
        .map_or(0, |line| line.chars().count())
        + 1;
    Place {
        line: i32::try_from(line).unwrap_or(i32::MAX),
        column: i32::try_from(column).unwrap_or(i32::MAX),
    }
}

/// Nesting deeper than any policy the engine accepts is not read.
const MAX_DEPTH: usize = palisade_policy::limits::MAX_DEPTH;

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader { text, at: 0 }
    }

    fn document(mut self) -> Option<Spanned> {
        self.value(0)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<Spanned> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        let start = self.at;
        let node = match self.peek()? {
            b'{' => self.object(depth)?,
            b'[' => self.array(depth)?,
            b'"' => Node::Text(self.string()?),
            _ => {
                while self.peek().is_some_and(|byte| {
                    !matches!(byte, b',' | b'}' | b']') && !byte.is_ascii_whitespace()
                }) {
                    self.at += 1;
                }
                Node::Scalar
            }
        };
        Some(Spanned {
            node,
            start,
            end: self.at,
        })
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Node::Object(members));
        }
        loop {
            self.skip_whitespace();
            let name = self.string()?;
            self.expect(b':')?;
            members.push((name, self.value(depth + 1)?));
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(Node::Object(members));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Node> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Node::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(Node::Array(items));
                }
                _ => return None,
            }
        }
    }

    /// A string at the reader's position, its escapes decoded.
    fn string(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        let mut text = String::new();
        loop {
            let rest = self.text.get(self.at..)?;
            let stop = rest.find(['"', '\\'])?;
            text.push_str(rest.get(..stop)?);
            self.at += stop;
            if self.peek()? == b'"' {
                self.at += 1;
                return Some(text);
            }
            self.at += 1;
            let escaped = match self.peek()? {
                b'u' => {
                    self.at += 1;
                    self.unicode_escape()?
                }
                other => {
                    self.at += 1;
                    match other {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        other => char::from(other),
                    }
                }
            };
            text.push(escaped);
        }
    }

    /// The character of a `\uXXXX` escape (the reader just past the `u`), joining a surrogate
    /// pair; a lone surrogate reads as U+FFFD.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return Some(char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        if self.text.get(self.at..)?.starts_with("\\u") {
            self.at += 2;
            let low = self.hex4()?;
            let joined = 0x10000 + ((high - 0xD800) << 10) + low.wrapping_sub(0xDC00);
            return Some(char::from_u32(joined).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        Some(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_placed_from_brace_to_brace() {
        // As Terraform encodes policies; IAM answers such a document with a statement that
        // starts at column 15, its opening brace.
        let document = r#"{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"arn:aws:s3:::b/*"}],"Version":"2012-10-17"}"#;
        assert_eq!(
            statement_places(document),
            [StatementPlace {
                start: Place {
                    line: 1,
                    column: 15
                },
                end: Place {
                    line: 1,
                    column: 86
                },
            }]
        );
    }

    #[test]
    fn statements_of_a_list_are_placed_by_line_and_character() {
        let document = "{\n  \"Statement\": [\n    {\"Sid\": \"é\", \"Effect\": \"Allow\"},\n    {\"Effect\": \"Deny\"}\n  ]\n}";
        let places = statement_places(document);
        assert_eq!(places.len(), 2);
        assert_eq!(places[0].start, Place { line: 3, column: 5 });
        assert_eq!(
            places[0].end,
            Place {
                line: 3,
                column: 35
            }
        );
        assert_eq!(places[1].start, Place { line: 4, column: 5 });
        assert!(statement_places("not json").is_empty());
    }

    #[test]
    fn context_keys_come_in_document_order() {
        let document = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",
             "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}},
            {"Effect":"Deny","Action":"s3:*","Resource":"*",
             "Condition":{"StringNotEquals":{"s3:prefix":["${aws:PrincipalTag/team, 'none'}/*", "${*}"]},
                          "Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert_eq!(
            context_keys(document),
            [
                "aws:username",
                "aws:CurrentTime",
                "s3:prefix",
                "aws:PrincipalTag/team",
                "aws:SecureTransport"
            ]
        );
        // Without the 2012-10-17 version, `${...}` is literal text.
        let old = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#;
        assert_eq!(context_keys(old), ["aws:SourceIp"]);
    }

    #[test]
    fn escapes_are_decoded() {
        let document =
            r#"{"Statement":{"Condition":{"StringEquals":{"aws:Principal\u0054ag/a\"b":"x"}}}}"#;
        assert_eq!(context_keys(document), ["aws:PrincipalTag/a\"b"]);
    }
}
