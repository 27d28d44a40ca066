//! EventBridge event patterns, with no I/O: [`Pattern::parse`] validates a pattern with
//! EventBridge's rules (a refusal is an `InvalidEventPatternException` worded by
//! [`PatternError`]), [`Pattern::matches`] tests one event against it, and [`Machine`] compiles
//! many patterns into one structure that finds every rule an event matches at a cost that does
//! not grow with the number of rules.
//!
//! Supported filters: exact values (strings, numbers by value, booleans, `null`), nested
//! objects, `prefix` and `suffix` (each also with `equals-ignore-case`), `equals-ignore-case`,
//! `anything-but` (values, or `prefix`, `suffix`, `wildcard`, `equals-ignore-case`), `numeric`
//! ranges, `exists`, `cidr` (IPv4 and IPv6), `wildcard` and `$or`.

mod evaluate;
mod index;
mod machine;
mod matcher;
mod pattern;

pub use machine::Machine;
pub use pattern::{
    MAX_BRANCHES, MAX_CONDITIONS, MAX_NESTING_DEPTH, MAX_PATTERN_LENGTH, NUMERIC_LIMIT, Pattern,
    PatternError,
};
