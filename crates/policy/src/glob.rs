//! Wildcard matching for actions, resources and the `...Like` condition operators.
//!
//! A pattern is a sequence of [`Tok`]s: literal bytes, `?` (any one character) and `*` (any run
//! of characters). Keeping wildcards as tokens rather than as characters of a string is what lets
//! a literal `*` or `?` — written `${*}` / `${?}` in a policy, or substituted from a policy
//! variable — stay literal.
//!
//! Every matcher here is the two-pointer backtracking algorithm: on a mismatch only the most
//! recent `*` is extended, so the work is O(pattern × input) in the worst case and never
//! exponential, whatever the pattern (`*?*?*?…` included).
//!
//! Three matchers encode three documented rules:
//! - [`Glob::matches`]: the whole string, as `StringLike` and `Action` do.
//! - [`arn_like`]: "Each of the six colon-delimited components of the ARN is checked separately
//!   and each can include multi-character match wildcards (*) or single-character match
//!   wildcards (?)" (IAM User Guide, Condition operators, ARN condition operators).
//! - [`resource_matches`]: "You can use wildcard characters (* and ?) within the individual
//!   segments of an ARN (the parts separated by colons) … If the * wildcard is the last character
//!   of a resource ARN segment, it can expand to match beyond the colon boundaries" (IAM User
//!   Guide, IAM JSON policy elements: Resource).

/// One element of a wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A byte that must appear as is (a multi-byte character is several literal bytes).
    Lit(u8),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, possibly empty.
    Star,
}

/// Whether literal bytes compare exactly or ASCII-case-insensitively. Action names are matched
/// case-insensitively; the pattern is lowercased when it is compiled, the input while matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Sensitive,
    AsciiInsensitive,
}

/// Appends `text` as a pattern: `*` and `?` are wildcards, everything else literal.
pub(crate) fn push_wildcard_text(text: &str, out: &mut Vec<Tok>) {
    for byte in text.bytes() {
        match byte {
            // Consecutive stars match exactly what one star matches; collapsing them keeps the
            // matchers' work proportional to the meaningful pattern.
            b'*' if out.last() == Some(&Tok::Star) => {}
            b'*' => out.push(Tok::Star),
            b'?' => out.push(Tok::One),
            _ => out.push(Tok::Lit(byte)),
        }
    }
}

/// Appends `text` as literal bytes: wildcard characters in it match only themselves.
pub(crate) fn push_literal_text(text: &str, out: &mut Vec<Tok>) {
    out.extend(text.bytes().map(Tok::Lit));
}

/// A compiled whole-string pattern, with the common shapes (`*`, no wildcard, `prefix*`) kept in
/// a form that matches without the general algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Any,
    Exact(Box<[u8]>),
    Prefix(Box<[u8]>),
    General(Box<[Tok]>),
}

impl Glob {
    pub(crate) fn new(tokens: Vec<Tok>) -> Glob {
        let literal = |toks: &[Tok]| -> Option<Box<[u8]>> {
            toks.iter()
                .map(|tok| match tok {
                    Tok::Lit(byte) => Some(*byte),
                    Tok::One | Tok::Star => None,
                })
                .collect()
        };
        let shape = match tokens.split_last() {
            Some((Tok::Star, [])) => Shape::Any,
            Some((Tok::Star, head)) => match literal(head) {
                Some(prefix) => Shape::Prefix(prefix),
                None => Shape::General(tokens.into()),
            },
            _ => match literal(&tokens) {
                Some(exact) => Shape::Exact(exact),
                None => Shape::General(tokens.into()),
            },
        };
        Glob { shape }
    }

    pub(crate) fn matches(&self, input: &str, case: Case) -> bool {
        let input = input.as_bytes();
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(exact) => bytes_equal(exact, input, case),
            Shape::Prefix(prefix) => input
                .get(..prefix.len())
                .is_some_and(|head| bytes_equal(prefix, head, case)),
            Shape::General(tokens) => glob_match(tokens, input, case),
        }
    }
}

/// Matches `input` against the whole pattern `tokens`.
pub(crate) fn glob_match(tokens: &[Tok], input: &[u8], case: Case) -> bool {
    glob_match_counting(tokens, input, case).0
}

/// The matcher, also returning how many steps it took (tests assert the O(n·m) bound on it).
fn glob_match_counting(tokens: &[Tok], input: &[u8], case: Case) -> (bool, usize) {
    let (mut p, mut i) = (0, 0);
    // Where to resume after the most recent star: the pattern just past it, and the input
    // position up to which that star has consumed.
    let mut resume: Option<(usize, usize)> = None;
    let mut steps = 0;
    loop {
        steps += 1;
        let advanced = match tokens.get(p) {
            Some(Tok::Star) => {
                resume = Some((p + 1, i));
                p += 1;
                true
            }
            Some(Tok::Lit(expected)) => match input.get(i) {
                Some(&byte) if byte_equal(*expected, byte, case) => {
                    p += 1;
                    i += 1;
                    true
                }
                _ => false,
            },
            Some(Tok::One) => match input.get(i) {
                Some(&byte) => {
                    p += 1;
                    i = next_char(input, i, byte);
                    true
                }
                None => false,
            },
            None if i == input.len() => return (true, steps),
            None => false,
        };
        if advanced {
            continue;
        }
        // Mismatch: let the most recent star absorb one more character and retry after it.
        match resume {
            Some((after_star, consumed)) => match input.get(consumed) {
                Some(&byte) => {
                    let consumed = next_char(input, consumed, byte);
                    resume = Some((after_star, consumed));
                    p = after_star;
                    i = consumed;
                }
                None => return (false, steps),
            },
            None => return (false, steps),
        }
    }
}

/// `ArnLike`/`ArnEquals`: the pattern and the value are each split into six components at their
/// first five colons and the components are matched pairwise; the last component keeps any
/// further colons (an ARN's resource part may contain them). A value that is not six components
/// long is not an ARN and matches nothing.
pub(crate) fn arn_like(tokens: &[Tok], input: &str) -> bool {
    let mut pattern_parts = TokenSplit {
        rest: Some(tokens),
        remaining_splits: 5,
    };
    let mut input_parts = input.splitn(6, ':');
    for _ in 0..6 {
        match (pattern_parts.next(), input_parts.next()) {
            (Some(pattern), Some(part))
                if glob_match(pattern, part.as_bytes(), Case::Sensitive) => {}
            _ => return false,
        }
    }
    true
}

/// One colon-separated segment of a resource pattern; `open` when its last token is `*`, which
/// the Resource rule lets run on across colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    start: usize,
    end: usize,
    open: bool,
}

/// Splits a resource pattern into its segments (at literal colons).
pub(crate) fn resource_segments(tokens: &[Tok]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut start = 0;
    for (index, tok) in tokens.iter().enumerate() {
        if *tok == Tok::Lit(b':') {
            segments.push(segment(tokens, start, index));
            start = index + 1;
        }
    }
    segments.push(segment(tokens, start, tokens.len()));
    segments
}

fn segment(tokens: &[Tok], start: usize, end: usize) -> Segment {
    let open = end > start && tokens.get(end - 1) == Some(&Tok::Star);
    Segment { start, end, open }
}

/// Matches a resource ARN against a resource pattern segment by segment: a pattern segment
/// matches exactly one segment of the ARN, with its wildcards confined to it, except that a
/// segment ending in `*` may go on to swallow any number of further ARN segments, colons
/// included. At the level of segments this is a glob again (a closed segment is a one-segment
/// predicate, an open one a predicate followed by a star), so the same two-pointer algorithm
/// applies and the work stays O(pattern × input).
pub(crate) fn resource_matches(tokens: &[Tok], segments: &[Segment], input: &str) -> bool {
    let mut next_pattern = 0;
    let mut star_pending = false;
    let mut next_input = Some(0);
    // The pattern segment just past the most recent open segment's star, and the start of the
    // first input segment that star has not yet swallowed.
    let mut resume: Option<(usize, Option<usize>)> = None;
    loop {
        if star_pending {
            star_pending = false;
            resume = Some((next_pattern, next_input));
            continue;
        }
        let advanced = match (segments.get(next_pattern), next_input) {
            (None, None) => return true,
            (Some(seg), Some(at)) => {
                let (text, after) = input_segment(input, at);
                let pattern = tokens.get(seg.start..seg.end).unwrap_or_default();
                if glob_match(pattern, text.as_bytes(), Case::Sensitive) {
                    next_pattern += 1;
                    next_input = after;
                    star_pending = seg.open;
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if advanced {
            continue;
        }
        match resume {
            Some((after_star, Some(swallow))) => {
                let (_, after) = input_segment(input, swallow);
                resume = Some((after_star, after));
                next_pattern = after_star;
                next_input = after;
            }
            _ => return false,
        }
    }
}

/// The segment of `input` starting at byte `at`, and where the next one starts (if any).
fn input_segment(input: &str, at: usize) -> (&str, Option<usize>) {
    let rest = input.get(at..).unwrap_or_default();
    match rest.find(':') {
        Some(colon) => (rest.get(..colon).unwrap_or_default(), Some(at + colon + 1)),
        None => (rest, None),
    }
}

/// Splits a token slice at literal colons, at most `remaining_splits` times.
struct TokenSplit<'a> {
    rest: Option<&'a [Tok]>,
    remaining_splits: usize,
}

impl<'a> Iterator for TokenSplit<'a> {
    type Item = &'a [Tok];

    fn next(&mut self) -> Option<&'a [Tok]> {
        let rest = self.rest.take()?;
        if self.remaining_splits == 0 {
            return Some(rest);
        }
        match rest.iter().position(|tok| *tok == Tok::Lit(b':')) {
            Some(colon) => {
                self.remaining_splits -= 1;
                self.rest = rest.get(colon + 1..);
                rest.get(..colon)
            }
            None => Some(rest),
        }
    }
}

fn byte_equal(pattern: u8, input: u8, case: Case) -> bool {
    match case {
        Case::Sensitive => pattern == input,
        Case::AsciiInsensitive => pattern == input.to_ascii_lowercase(),
    }
}

fn bytes_equal(pattern: &[u8], input: &[u8], case: Case) -> bool {
    match case {
        Case::Sensitive => pattern == input,
        // The pattern is already lowercase, so folding both sides changes nothing on its side.
        Case::AsciiInsensitive => pattern.eq_ignore_ascii_case(input),
    }
}

/// The index just past the character starting at `at`, so that `?` and a star's extension
/// consume whole UTF-8 characters.
fn next_char(input: &[u8], at: usize, lead: u8) -> usize {
    let width = match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    (at + width).min(input.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(text: &str) -> Vec<Tok> {
        let mut tokens = Vec::new();
        push_wildcard_text(text, &mut tokens);
        tokens
    }

    fn like(pat: &str, input: &str) -> bool {
        Glob::new(pattern(pat)).matches(input, Case::Sensitive)
    }

    fn resource(pat: &str, input: &str) -> bool {
        let tokens = pattern(pat);
        resource_matches(&tokens, &resource_segments(&tokens), input)
    }

    /// The obviously-correct exponential matcher the fast one is checked against.
    fn reference(pat: &[char], input: &[char]) -> bool {
        match pat.split_first() {
            None => input.is_empty(),
            Some(('*', rest)) => (0..=input.len()).any(|skip| reference(rest, &input[skip..])),
            Some(('?', rest)) => !input.is_empty() && reference(rest, &input[1..]),
            Some((c, rest)) => input.first() == Some(c) && reference(rest, &input[1..]),
        }
    }

    #[test]
    fn whole_string_wildcards() {
        assert!(like("*", ""));
        assert!(like("iam:Get*", "iam:GetUser"));
        assert!(!like("iam:Get*", "iam:ListUsers"));
        assert!(like("a?c", "abc"));
        assert!(like("a?c", "aéc"), "? is one character, not one byte");
        assert!(!like("a?c", "ac"));
        assert!(like("*log*", "arn:aws:s3:::my-logs"));
        assert!(like("a*b*c", "aXbYbZc"));
        assert!(!like("a*b*c", "aXbYbZ"));
        assert!(!like("exact", "Exact"));
    }

    #[test]
    fn actions_ignore_ascii_case() {
        let glob = Glob::new(pattern("kms:decrypt"));
        assert!(glob.matches("KMS:Decrypt", Case::AsciiInsensitive));
        let glob = Glob::new(pattern("kms:*crypt"));
        assert!(glob.matches("kms:ReEnCrypt", Case::AsciiInsensitive));
    }

    #[test]
    fn literal_tokens_do_not_act_as_wildcards() {
        let mut tokens = pattern("a");
        push_literal_text("*", &mut tokens);
        let glob = Glob::new(tokens);
        assert!(glob.matches("a*", Case::Sensitive));
        assert!(!glob.matches("ab", Case::Sensitive));
    }

    #[test]
    fn arn_like_matches_component_by_component() {
        let tokens = pattern("arn:aws:someservice:*:111122223333:finance/*");
        // The IAM User Guide's own example: StringLike would match, ArnLike must not.
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(!arn_like(&tokens, value));
        assert!(like("arn:aws:someservice:*:111122223333:finance/*", value));
        assert!(arn_like(
            &tokens,
            "arn:aws:someservice:us-east-2:111122223333:finance/a:b"
        ));
        assert!(
            !arn_like(&pattern("*"), "arn:aws:s3:::bucket"),
            "not six components"
        );
        assert!(!arn_like(&tokens, "not-an-arn"));
    }

    #[test]
    fn resource_wildcards_stay_in_their_segment_unless_they_end_it() {
        assert!(resource("*", "arn:aws:s3:::bucket"));
        assert!(resource("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b"));
        // "The asterisk (*) character can expand to replace everything within a segment,
        // including characters like a forward slash (/)".
        assert!(resource(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/key:with:colons"
        ));
        assert!(resource(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(resource(
            "arn:aws:ec2:*",
            "arn:aws:ec2:us-east-1:123:instance/i-1"
        ));
        assert!(!resource(
            "arn:aws:s3:::my*bucket",
            "arn:aws:s3:::my:x:bucket"
        ));
        assert!(resource(
            "arn:aws:s3:::my*bucket",
            "arn:aws:s3:::my-big-bucket"
        ));
        assert!(!resource("arn:aws:s3:::bucket", "arn:aws:s3:::bucket/a"));
        assert!(!resource("arn:aws:s3:::b?", "arn:aws:s3:::b:"));
        assert!(resource(
            "arn:aws:dynamodb:*:*:table/t",
            "arn:aws:dynamodb:us-east-1:1:table/t"
        ));
        assert!(!resource(
            "arn:aws:dynamodb:*:*:table/t",
            "arn:aws:dynamodb:us-east-1:1:table/u"
        ));
    }

    #[test]
    fn hostile_patterns_stay_within_the_quadratic_bound() {
        let pat = pattern(&"*?".repeat(500));
        let input: String = std::iter::repeat_n('a', 10_000).collect::<String>() + "b";
        let (matched, steps) = glob_match_counting(&pat, input.as_bytes(), Case::Sensitive);
        assert!(matched);
        assert!(steps <= (pat.len() + 1) * (input.len() + 1));

        // A near miss forces the most backtracking.
        let mut near_miss = pattern(&"*a".repeat(500));
        near_miss.push(Tok::Lit(b'b'));
        let (matched, steps) = glob_match_counting(&near_miss, input.as_bytes(), Case::Sensitive);
        assert!(matched);
        assert!(steps <= (near_miss.len() + 1) * (input.len() + 1));
        let all_a = "a".repeat(10_000);
        let (matched, steps) = glob_match_counting(&near_miss, all_a.as_bytes(), Case::Sensitive);
        assert!(!matched);
        assert!(steps <= (near_miss.len() + 1) * (all_a.len() + 1));

        // Open segments force segment-level backtracking; it stays segments × segments.
        let arn = format!("arn:aws:s3:::{}", "ab:".repeat(3_300));
        let resource_pat = format!("arn:aws:s3:::{}zzz", "a*:".repeat(330));
        assert!(!resource(&resource_pat, &arn));
        let resource_pat = format!("arn:aws:s3:::{}", "a*:".repeat(330));
        assert!(resource(&resource_pat, &arn));
    }

    proptest! {
        #[test]
        fn glob_agrees_with_the_reference(pat in "[ab*?]{0,12}", input in "[ab]{0,12}") {
            let chars: Vec<char> = pat.chars().collect();
            let text: Vec<char> = input.chars().collect();
            let (matched, steps) = glob_match_counting(&pattern(&pat), input.as_bytes(), Case::Sensitive);
            prop_assert_eq!(matched, reference(&chars, &text));
            prop_assert_eq!(like(&pat, &input), matched);
            prop_assert!(steps <= (pat.len() + 1) * (input.len() + 1) + 1);
        }

        #[test]
        fn unicode_inputs_agree_with_the_reference(pat in "[aé*?]{0,8}", input in "[aé😀]{0,8}") {
            let chars: Vec<char> = pat.chars().collect();
            let text: Vec<char> = input.chars().collect();
            prop_assert_eq!(like(&pat, &input), reference(&chars, &text));
        }

        #[test]
        fn resource_matching_without_colons_is_plain_globbing(pat in "[ab*?]{0,10}", input in "[ab]{0,10}") {
            prop_assert_eq!(resource(&pat, &input), like(&pat, &input));
        }
    }
}
