//! Why a policy document was refused, in AWS's words.

use std::fmt;

/// A refused policy document. IAM returns the first as `MalformedPolicyDocument` and the second
/// as `LimitExceeded`; [`PolicyError::code`] gives the code and [`PolicyError::message`] the
/// message, worded as AWS words it where AWS's text is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    Malformed(String),
    LimitExceeded(String),
}

impl PolicyError {
    /// AWS's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Malformed(_) => "MalformedPolicyDocument",
            PolicyError::LimitExceeded(_) => "LimitExceeded",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            PolicyError::Malformed(message) | PolicyError::LimitExceeded(message) => message,
        }
    }

    /// IAM's answer to a document it cannot read as a policy.
    pub(crate) fn syntax() -> PolicyError {
        PolicyError::Malformed("Syntax errors in policy.".into())
    }

    pub(crate) fn malformed(message: impl Into<String>) -> PolicyError {
        PolicyError::Malformed(message.into())
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for PolicyError {}
