//! SQL `LIKE` patterns: `%` matches any run of characters, `_` any one character, and an
//! optional escape character makes the next `%`, `_` or escape character literal. Matching
//! remembers only the last `%` it passed, so it takes at most (text length × pattern length)
//! steps: no pattern can make it backtrack exponentially.

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
        let text: Vec<char> = text.chars().collect();
        let (mut at, mut part) = (0, 0);
        // After the last `%`: the pattern position behind it, and where in the text it resumes.
        let mut last_run: Option<(usize, usize)> = None;
        while let Some(&c) = text.get(at) {
            match self.parts.get(part) {
                Some(Part::AnyRun) => {
                    last_run = Some((part + 1, at));
                    part += 1;
                }
                Some(Part::AnyOne) => {
                    at += 1;
                    part += 1;
                }
                Some(Part::Char(expected)) if *expected == c => {
                    at += 1;
                    part += 1;
                }
                _ => match last_run {
                    // Let the last `%` swallow one more character and try again from there.
                    Some((resume, swallowed)) => {
                        last_run = Some((resume, swallowed + 1));
                        part = resume;
                        at = swallowed + 1;
                    }
                    None => return false,
                },
            }
        }
        self.parts
            .get(part..)
            .is_some_and(|rest| rest.iter().all(|part| *part == Part::AnyRun))
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
    }
}
