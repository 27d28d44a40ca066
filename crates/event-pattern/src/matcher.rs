//! The filters a pattern can put on one leaf value, and what each means for a value. Both the
//! reference evaluation ([`crate::Pattern::matches`]) and the compiled [`crate::Machine`] rely
//! on [`Matcher::matches`], so they cannot disagree on a filter's meaning.

use std::net::IpAddr;

use serde_json::Value;

use crate::pattern::PatternError;

/// A leaf of an event: what filters are tested against. Objects and arrays are not leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Leaf<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
}

impl<'a> Leaf<'a> {
    pub(crate) fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::String(text) => Some(Self::Str(text)),
            Value::Number(number) => number.as_f64().map(|number| Self::Num(number + 0.0)),
            Value::Bool(flag) => Some(Self::Bool(*flag)),
            Value::Null => Some(Self::Null),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// An exact value in a pattern. Numbers compare by value (`5` matches `5.0`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

impl Literal {
    pub(crate) fn of_scalar(value: &Value) -> Result<Self, PatternError> {
        match Leaf::of(value) {
            Some(Leaf::Str(text)) => Ok(Self::Str(text.to_owned())),
            Some(Leaf::Num(number)) => Ok(Self::Num(number)),
            Some(Leaf::Bool(flag)) => Ok(Self::Bool(flag)),
            Some(Leaf::Null) => Ok(Self::Null),
            None => Err(PatternError::new(
                "Match value must be String, number, true, false, or null",
            )),
        }
    }

    fn equals(&self, leaf: Leaf<'_>) -> bool {
        match (self, leaf) {
            (Self::Str(expected), Leaf::Str(actual)) => expected == actual,
            (Self::Num(expected), Leaf::Num(actual)) => *expected == actual,
            (Self::Bool(expected), Leaf::Bool(actual)) => *expected == actual,
            (Self::Null, Leaf::Null) => true,
            _ => false,
        }
    }
}

/// One filter. Case-insensitive operands are stored lowercased.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    Exact(Literal),
    Exists,
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Cidr(Cidr),
    Numeric(NumericRange),
    AnythingBut(Vec<Literal>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    AnythingButIgnoreCase(Vec<String>),
    AnythingButWildcard(Vec<Wildcard>),
}

impl Matcher {
    pub(crate) fn matches(&self, leaf: Leaf<'_>) -> bool {
        match self {
            Self::Exact(literal) => literal.equals(leaf),
            Self::Exists => true,
            Self::Numeric(range) => matches!(leaf, Leaf::Num(number) if range.contains(number)),
            Self::AnythingBut(excluded) => !excluded.iter().any(|literal| literal.equals(leaf)),
            _ => {
                let Leaf::Str(text) = leaf else {
                    return false;
                };
                self.matches_text(text)
            }
        }
    }

    /// The filters that apply to strings only.
    fn matches_text(&self, text: &str) -> bool {
        match self {
            Self::Prefix(prefix) => text.starts_with(prefix.as_str()),
            Self::PrefixIgnoreCase(prefix) => text.to_lowercase().starts_with(prefix.as_str()),
            Self::Suffix(suffix) => text.ends_with(suffix.as_str()),
            Self::SuffixIgnoreCase(suffix) => text.to_lowercase().ends_with(suffix.as_str()),
            Self::EqualsIgnoreCase(expected) => text.to_lowercase() == *expected,
            Self::Wildcard(wildcard) => wildcard.matches(text),
            Self::Cidr(cidr) => cidr.contains(text),
            Self::AnythingButPrefix(prefix) => !text.starts_with(prefix.as_str()),
            Self::AnythingButSuffix(suffix) => !text.ends_with(suffix.as_str()),
            Self::AnythingButIgnoreCase(excluded) => !excluded.contains(&text.to_lowercase()),
            Self::AnythingButWildcard(excluded) => {
                !excluded.iter().any(|wildcard| wildcard.matches(text))
            }
            Self::Exact(_) | Self::Exists | Self::Numeric(_) | Self::AnythingBut(_) => false,
        }
    }

    pub(crate) fn is_wildcard(&self) -> bool {
        matches!(self, Self::Wildcard(_) | Self::AnythingButWildcard(_))
    }
}

/// One end of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    Unbounded,
    Inclusive(f64),
    Exclusive(f64),
}

/// A numeric filter; `=` is the range with both ends inclusive at one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumericRange {
    pub(crate) lower: Bound,
    pub(crate) upper: Bound,
}

impl NumericRange {
    pub(crate) fn point(value: f64) -> Self {
        Self {
            lower: Bound::Inclusive(value),
            upper: Bound::Inclusive(value),
        }
    }

    pub(crate) fn contains(&self, number: f64) -> bool {
        let above = match self.lower {
            Bound::Unbounded => true,
            Bound::Inclusive(lower) => number >= lower,
            Bound::Exclusive(lower) => number > lower,
        };
        let below = match self.upper {
            Bound::Unbounded => true,
            Bound::Inclusive(upper) => number <= upper,
            Bound::Exclusive(upper) => number < upper,
        };
        above && below
    }

    /// A two-sided range must have its lower bound strictly below its upper bound, as
    /// EventBridge requires (`=` is the way to ask for one value).
    pub(crate) fn is_empty(&self) -> bool {
        match (self.lower, self.upper) {
            (
                Bound::Inclusive(lower) | Bound::Exclusive(lower),
                Bound::Inclusive(upper) | Bound::Exclusive(upper),
            ) => lower >= upper,
            _ => false,
        }
    }
}

/// A `wildcard` filter: literal pieces separated by `*`, each `*` standing for any run of
/// characters (`\*` is a literal star, `\\` a literal backslash).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    pieces: Vec<String>,
}

impl Wildcard {
    pub(crate) fn parse(text: &str) -> Result<Self, PatternError> {
        let mut pieces = vec![String::new()];
        let mut previous_was_star = false;
        let mut characters = text.chars().enumerate();
        while let Some((position, character)) = characters.next() {
            let star = character == '*';
            if star && previous_was_star {
                return Err(PatternError::new(format!(
                    "Consecutive wildcard characters at pos {position}"
                )));
            }
            previous_was_star = star;
            let literal = match character {
                '*' => {
                    pieces.push(String::new());
                    continue;
                }
                '\\' => match characters.next() {
                    Some((_, escaped @ ('*' | '\\'))) => escaped,
                    _ => {
                        return Err(PatternError::new(format!(
                            "Invalid escape character at pos {position}"
                        )));
                    }
                },
                other => other,
            };
            if let Some(last) = pieces.last_mut() {
                last.push(literal);
            }
        }
        Ok(Self { pieces })
    }

    /// Greedy leftmost matching of the middle pieces is exact for `*`-only globs and runs in
    /// time linear in the text per piece, so no pattern can make it blow up.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return text.is_empty();
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        let Some(mut remaining) = text.get(first.len()..text.len() - last.len()) else {
            return false;
        };
        for piece in middle {
            let Some(found) = remaining.find(piece.as_str()) else {
                return false;
            };
            let Some(after) = remaining.get(found + piece.len()..) else {
                return false;
            };
            remaining = after;
        }
        true
    }
}

/// An IPv4 or IPv6 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix_length: u8,
}

/// Parses `address/length`; a bare address is the block of that address alone.
pub(crate) fn parse_cidr(text: &str) -> Result<Cidr, PatternError> {
    let invalid = || PatternError::new(format!("Nonstandard IP address: {text}"));
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (text, None),
    };
    let network: IpAddr = address.parse().map_err(|_| invalid())?;
    let maximum = if network.is_ipv4() { 32 } else { 128 };
    let prefix_length = match length {
        None => maximum,
        Some(length) if !length.is_empty() && length.bytes().all(|byte| byte.is_ascii_digit()) => {
            length.parse::<u8>().map_err(|_| invalid())?
        }
        Some(_) => return Err(invalid()),
    };
    if prefix_length > maximum {
        return Err(invalid());
    }
    Ok(Cidr {
        network,
        prefix_length,
    })
}

impl Cidr {
    fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        let (network, address, bits) = match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => (
                u128::from(u32::from(network)),
                u128::from(u32::from(address)),
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                (u128::from(network), u128::from(address), 128)
            }
            _ => return false,
        };
        let ignored = bits - u32::from(self.prefix_length);
        network.checked_shr(ignored).unwrap_or(0) == address.checked_shr(ignored).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_globs() {
        let wildcard = Wildcard::parse("a*b*c").unwrap();
        assert!(wildcard.matches("abc"));
        assert!(wildcard.matches("a-b-b-c"));
        assert!(!wildcard.matches("ac"));
        assert!(!Wildcard::parse("a*a").unwrap().matches("a"));
        assert!(Wildcard::parse("*").unwrap().matches(""));
        assert!(Wildcard::parse("x\\*").unwrap().matches("x*"));
        assert!(!Wildcard::parse("x\\*").unwrap().matches("xy"));
        assert!(Wildcard::parse("a**").is_err());
        assert!(Wildcard::parse("a\\b").is_err());
    }

    #[test]
    fn cidr_blocks_contain_their_addresses() {
        let block = parse_cidr("10.0.0.0/24").unwrap();
        assert!(block.contains("10.0.0.255"));
        assert!(!block.contains("10.0.1.0"));
        assert!(!block.contains("::1"));
        assert!(parse_cidr("0.0.0.0/0").unwrap().contains("8.8.8.8"));
        assert!(parse_cidr("2001:db8::/32").unwrap().contains("2001:db8::1"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        assert!(parse_cidr("10.0.0.0/+8").is_err());
    }
}
