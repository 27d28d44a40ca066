//! Rust identifiers from model names: type, field, method, variant and constant names.
//!
//! Every function is total: any input string, however odd, yields a valid identifier, so a new
//! botocore cannot make the generator emit code that does not parse.

use std::collections::BTreeSet;

/// Words Rust reserves. Most can be used raw (`r#type`); [`NOT_RAW`] cannot.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that `r#` cannot escape.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// The words of a model name: runs of ASCII letters and digits, split at anything else.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// `snake_case` of a member or operation name: `KMSKeyId` → `kms_key_id`, `detectorId` →
/// `detector_id`, `Ec2InstanceId` → `ec2_instance_id`. Not yet escaped; see [`field_name`].
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for word in words(name) {
        if !out.is_empty() {
            out.push('_');
        }
        let chars: Vec<char> = word.chars().collect();
        for (index, &c) in chars.iter().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                let prev = chars.get(index.wrapping_sub(1)).copied().unwrap_or('_');
                let next = chars.get(index + 1).copied().unwrap_or('_');
                // A word starts at a capital after a lowercase letter or digit (`keyId`,
                // `Ec2Instance`), and at the last capital of an acronym (`KMSKey`).
                let starts_word = prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next.is_ascii_lowercase());
                if starts_word {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        }
    }
    if out.is_empty() {
        out.push_str("value");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A field or method name: [`snake`], with keywords escaped.
pub fn field_name(name: &str) -> String {
    escape_keyword(snake(name))
}

fn escape_keyword(name: String) -> String {
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// `SCREAMING_SNAKE_CASE`, for constants.
pub fn screaming(name: &str) -> String {
    snake(name).to_ascii_uppercase()
}

/// `PascalCase` of a shape or service name, keeping the model's inner capitals:
/// `accessKeyIdType` → `AccessKeyIdType`, `ec2-instance-connect` → `Ec2InstanceConnect`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            push_after_digit_guard(&mut out, first);
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    finish_pascal(out)
}

/// `PascalCase` of an enum value, lowering shouted words: `SYMMETRIC_DEFAULT` →
/// `SymmetricDefault`, `aws:kms` → `AwsKms`, `t2.micro` → `T2Micro`, `TLS_1_2` → `Tls1_2`.
pub fn variant(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in words(value) {
        let shouted = !word.chars().any(|c| c.is_ascii_lowercase());
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            push_after_digit_guard(&mut out, first);
            out.push(first.to_ascii_uppercase());
            if shouted {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(chars);
            }
        }
    }
    finish_pascal(out)
}

/// Two words of digits would run together (`1.0` and `10` would both be `10`): an underscore
/// keeps them apart, which Rust's camel-case lint accepts between digits.
fn push_after_digit_guard(out: &mut String, next: char) {
    if next.is_ascii_digit() && out.ends_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
}

fn finish_pascal(mut out: String) -> String {
    if out.is_empty() {
        return "Empty".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// Hands out names that are unique within one scope, deterministically: the first taker of a
/// name keeps it, later ones get a numeric suffix.
#[derive(Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    /// A scope in which `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Self {
            taken: reserved.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// `wanted`, or `wanted` followed by 2, 3, ... (before a raw-identifier prefix's removal).
    pub fn claim(&mut self, wanted: String) -> String {
        let mut candidate = wanted.clone();
        let mut counter = 2_u32;
        while self.taken.contains(&candidate) {
            // A raw identifier with a suffix is no longer a keyword: `r#type` → `type_2`.
            let base = wanted.strip_prefix("r#").unwrap_or(&wanted);
            candidate = if base.ends_with(|c: char| c.is_ascii_digit()) || base.contains('_') {
                format!("{base}_{counter}")
            } else {
                format!("{base}{counter}")
            };
            counter += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_word_boundaries() {
        assert_eq!(snake("KeyId"), "key_id");
        assert_eq!(snake("KMSKeyId"), "kms_key_id");
        assert_eq!(snake("detectorId"), "detector_id");
        assert_eq!(snake("Ec2InstanceId"), "ec2_instance_id");
        assert_eq!(snake("ARN"), "arn");
        assert_eq!(snake("__string"), "string");
        assert_eq!(snake(""), "value");
        assert_eq!(snake("3d"), "_3d");
    }

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(field_name("Type"), "r#type");
        assert_eq!(field_name("Self"), "self_");
        assert_eq!(field_name("Match"), "r#match");
    }

    #[test]
    fn pascal_keeps_inner_capitals() {
        assert_eq!(pascal("accessKeyIdType"), "AccessKeyIdType");
        assert_eq!(pascal("ec2-instance-connect"), "Ec2InstanceConnect");
        assert_eq!(pascal("KMSInternalException"), "KMSInternalException");
        assert_eq!(pascal("__listOf__string"), "ListOfString");
    }

    #[test]
    fn variants_lower_shouting() {
        assert_eq!(variant("SYMMETRIC_DEFAULT"), "SymmetricDefault");
        assert_eq!(variant("aws:kms"), "AwsKms");
        assert_eq!(variant("t2.micro"), "T2Micro");
        assert_eq!(variant("TLS_1_2"), "Tls1_2");
        assert_eq!(variant("1.0"), "V1_0");
        assert_eq!(variant("*"), "Empty");
        assert_eq!(variant("PendingDeletion"), "PendingDeletion");
    }

    #[test]
    fn scopes_suffix_repeats() {
        let mut scope = Scope::with_reserved(&["String"]);
        assert_eq!(scope.claim("String".to_owned()), "String2");
        assert_eq!(scope.claim("Tag".to_owned()), "Tag");
        assert_eq!(scope.claim("Tag".to_owned()), "Tag2");
        assert_eq!(scope.claim("r#type".to_owned()), "r#type");
        assert_eq!(scope.claim("r#type".to_owned()), "type2");
        assert_eq!(scope.claim("v1_0".to_owned()), "v1_0");
        assert_eq!(scope.claim("v1_0".to_owned()), "v1_0_2");
    }
}
