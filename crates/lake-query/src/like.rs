//! SQL `LIKE` patterns: `%` matches any run of characters, `_` any one character, and an
//! optional escape character makes the next `%`, `_` or escape character literal.
//!
//! A pattern is its segments between `%`s. The first must match at the start of the text, the
//! last at its end, and each one between at its leftmost place after the one before (taking
//! the leftmost never loses a match: whatever follows has at least as much text left). A
//! segment without `_` is found by substring search, in time linear in the text; one with `_`
//! is tried at each place, at most (text length × segment length) steps. No pattern backtracks
//! across `%`s, so none can take more.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LikePattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Char(char),
    AnyOne,
    AnyRun,
}

impl LikePattern {
    /// Compiles `pattern`; the error is Trino's message for a bad escape.
    pub(crate) fn compile(pattern: &str, escape: Option<&str>) -> Result<Self, String> {
        let escape = match escape {
            None => None,
            Some(escape) => {
                let mut chars = escape.chars();
                match (chars.next(), chars.next()) {
                    (Some(escape), None) => Some(escape),
                    _ => return Err("Escape string must be a single character".to_owned()),
                }
            }
        };
        let mut parts = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let part = if Some(c) == escape {
                match chars.next() {
                    Some(next) if next == '%' || next == '_' || Some(next) == escape => {
                        Part::Char(next)
                    }
                    _ => {
                        return Err(
                            "Escape character must be followed by '%', '_' or the escape character"
                                .to_owned(),
                        );
                    }
                }
            } else {
                match c {
                    '%' => Part::AnyRun,
                    '_' => Part::AnyOne,
                    other => Part::Char(other),
                }
            };
            // Consecutive `%` mean no more than one.
            if !(part == Part::AnyRun && parts.last() == Some(&Part::AnyRun)) {
                parts.push(part);
            }
        }
        Ok(Self { parts })
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let segments: Vec<Segment> = self
            .parts
            .split(|part| *part == Part::AnyRun)
            .map(Segment::new)
            .collect();
        let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
            return text.is_empty();
        };
        if segments.len() == 1 {
            return first.len == text.chars().count() && first.matches_at(text);
        }
        // `text` from here on is what the segments not yet placed may use.
        let Some(mut rest) = first.strip_prefix_of(text) else {
            return false;
        };
        let Some(end) = last.start_of_suffix(rest) else {
            return false;
        };
        rest = rest.get(..end).unwrap_or_default();
        for segment in segments
            .iter()
            .skip(1)
            .take(segments.len().saturating_sub(2))
        {
            match segment.find_in(rest) {
                Some(after) => rest = rest.get(after..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// The parts of a pattern between two `%`s (or an end): characters and `_`s.
struct Segment<'p> {
    parts: &'p [Part],
    /// How many characters of text it matches.
    len: usize,
    /// The segment as a string, when it has no `_`: found by substring search.
    literal: Option<String>,
}

impl<'p> Segment<'p> {
    fn new(parts: &'p [Part]) -> Self {
        let literal = parts
            .iter()
            .map(|part| match part {
                Part::Char(c) => Some(*c),
                Part::AnyOne | Part::AnyRun => None,
            })
            .collect();
        Self {
            parts,
            len: parts.len(),
            literal,
        }
    }

    /// Whether the segment matches the start of `text`.
    fn matches_at(&self, text: &str) -> bool {
        let mut chars = text.chars();
        self.parts.iter().all(|part| match (part, chars.next()) {
            (Part::Char(expected), Some(c)) => *expected == c,
            (Part::AnyOne, Some(_)) => true,
            _ => false,
        })
    }

    /// The byte length of the start of `text` the segment matches.
    fn prefix_bytes(&self, text: &str) -> Option<usize> {
        if !self.matches_at(text) {
            return None;
        }
        Some(
            text.char_indices()
                .nth(self.len)
                .map_or(text.len(), |(at, _)| at),
        )
    }

    /// `text` after the start the segment matches.
    fn strip_prefix_of<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.prefix_bytes(text).and_then(|at| text.get(at..))
    }

    /// Where in `text` the end the segment matches starts (in bytes).
    fn start_of_suffix(&self, text: &str) -> Option<usize> {
        let start = if self.len == 0 {
            text.len()
        } else {
            text.char_indices().rev().nth(self.len - 1)?.0
        };
        let suffix = text.get(start..)?;
        self.matches_at(suffix).then_some(start)
    }

    /// The end (in bytes) of the leftmost place in `text` the segment matches.
    fn find_in(&self, text: &str) -> Option<usize> {
        if let Some(literal) = &self.literal {
            return text.find(literal.as_str()).map(|at| at + literal.len());
        }
        text.char_indices()
            .map(|(at, _)| at)
            .chain(std::iter::once(text.len()))
            .find_map(|at| {
                let candidate = text.get(at..)?;
                self.prefix_bytes(candidate).map(|len| at + len)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        LikePattern::compile(pattern, None).unwrap().matches(text)
    }

    #[test]
    fn matches_wildcards() {
        assert!(like("GetObject", "Get%"));
        assert!(like("GetObject", "%Object"));
        assert!(like("GetObject", "G_t%j_ct"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("aXbXc", "%X%X%"));
        assert!(!like("abc", "%X%"));
        assert!(like("mississippi", "%iss%ppi"));
        assert!(!like("Get", "get"));
        assert!(like("ü", "_"));
    }

    #[test]
    fn honours_the_escape_character() {
        let pattern = LikePattern::compile("100!%!_!!%", Some("!")).unwrap();
        assert!(pattern.matches("100%_!x"));
        assert!(!pattern.matches("1000_!x"));
        assert_eq!(
            LikePattern::compile("a!", Some("!")),
            Err("Escape character must be followed by '%', '_' or the escape character".to_owned())
        );
        assert_eq!(
            LikePattern::compile("a", Some("ab")),
            Err("Escape string must be a single character".to_owned())
        );
    }

    #[test]
    fn stays_polynomial_on_hostile_patterns() {
        let text = "a".repeat(5000);
        let pattern = format!("{}b", "%a".repeat(2000));
        assert!(!like(&text, &pattern));
        // A long literal against a long run: linear, whatever the lengths.
        let text = "a".repeat(1_000_000);
        assert!(!like(&text, &format!("%{}b", "a".repeat(9_000))));
        assert!(!like(&text, &format!("%{}b%", "a".repeat(9_000))));
        assert!(like(&text, &format!("%{}", "a".repeat(9_000))));
    }

    /// LIKE by dynamic programming over (text, pattern) prefixes: slow and plainly right.
    fn reference(text: &str, pattern: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let pattern: Vec<char> = pattern.chars().collect();
        let mut matched = vec![vec![false; pattern.len() + 1]; text.len() + 1];
        matched[0][0] = true;
        for j in 1..=pattern.len() {
            matched[0][j] = matched[0][j - 1] && pattern[j - 1] == '%';
        }
        for i in 1..=text.len() {
            for j in 1..=pattern.len() {
                matched[i][j] = match pattern[j - 1] {
                    '%' => matched[i][j - 1] || matched[i - 1][j],
                    '_' => matched[i - 1][j - 1],
                    c => matched[i - 1][j - 1] && text[i - 1] == c,
                };
            }
        }
        matched[text.len()][pattern.len()]
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_reference(text in "[abü]{0,12}", pattern in "[ab%_ü]{0,8}") {
            proptest::prop_assert_eq!(like(&text, &pattern), reference(&text, &pattern));
        }
    }

    #[test]
    fn segments_do_not_overlap() {
        assert!(!like("ab", "%ab%b"));
        assert!(like("abab", "%ab%b"));
        assert!(!like("aa", "a%a%a"));
        assert!(like("aaa", "a%a%a"));
        assert!(like("a_b", "a%b"));
        assert!(!like("abc", "abc_"));
        assert!(like("xyz", "%y%"));
        assert!(like("ü-x", "_-%"));
        assert!(!like("", "a%"));
        assert!(like("", ""));
        assert!(!like("a", ""));
    }
}
