//! Parameter names, paths, selectors and labels: AWS's rules for each, and the parameter ARN.
//!
//! A name is either hierarchical (`/app/prod/db`, at most 15 levels) or flat (`db`, a parameter
//! at the root). Names, with the ARN that precedes them, are at most 1011 characters. Readers may
//! also give the parameter's full ARN, and a selector after the name (`name:3`, `name:label`).

use palisade_core::ServiceError;
use palisade_model_ssm::errors;

/// The longest parameter name, counted together with the ARN prefix in front of it.
const MAX_NAME_WITH_ARN: usize = 1011;
/// The deepest hierarchy.
const MAX_LEVELS: usize = 15;
/// The longest label.
const MAX_LABEL_LEN: usize = 100;

/// The ARN of parameter `name` in `account` and `region`:
/// `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`.
pub fn parameter_arn(account: &str, region: &str, name: &str) -> String {
    let name = name.strip_prefix('/').unwrap_or(name);
    format!("arn:aws:ssm:{region}:{account}:parameter/{name}")
}

/// AWS's message for a name that breaks the character or prefix rules.
const NAME_RULES: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" \
     (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash \
     symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 \
     symbols .-_";

/// Checks a name that a write would create or change.
pub fn check_writable_name(account: &str, region: &str, name: &str) -> Result<(), ServiceError> {
    check_characters(name)?;
    if is_reserved(name) {
        return Err(ServiceError::validation(NAME_RULES));
    }
    check_shape(account, region, name)
}

/// Checks a name that a read looks up (public `/aws/service/...` names are allowed).
pub fn check_readable_name(account: &str, region: &str, name: &str) -> Result<(), ServiceError> {
    check_characters(name)?;
    check_shape(account, region, name)
}

/// Checks a path given to `GetParametersByPath` or a `Path` filter: it is hierarchical.
pub fn check_path(path: &str) -> Result<(), ServiceError> {
    if !path.starts_with('/') || path.contains("//") {
        return Err(ServiceError::validation(format!(
            "The parameter doesn't meet the parameter name requirements. The parameter name must \
             begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" \
             (case-insensitive). It must use only letters, numbers, or the following symbols: . \
             (period), - (hyphen), _ (underscore). Special characters are not allowed. All \
             sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: \
             /get/parameters2-/by1./path0_. Invalid path: {path}"
        )));
    }
    check_characters(path)?;
    if levels(path) > MAX_LEVELS {
        return Err(hierarchy_too_deep());
    }
    Ok(())
}

/// Whether `name` is in the namespace AWS keeps for itself (`aws...`, `ssm...`, `/aws/...`).
pub fn is_reserved(name: &str) -> bool {
    let first = name.strip_prefix('/').unwrap_or(name);
    let lower = first.get(..3).map(str::to_ascii_lowercase);
    matches!(lower.as_deref(), Some("aws" | "ssm"))
}

/// A reader's reference to a parameter: its name and what to pick from its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The name, without selector (an ARN is reduced to the name it names).
    pub name: String,
    /// The selector as given, with its colon (`:3`, `:prod`), if any.
    pub selector: Option<String>,
    /// What the selector picks.
    pub pick: Pick,
}

/// Which version of a parameter a read answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Latest,
    Version(i64),
    Label(String),
}

/// Parses `name`, `name:3`, `name:label` or a parameter ARN (with or without a selector).
pub fn parse_reference(
    account: &str,
    region: &str,
    given: &str,
) -> Result<Reference, ServiceError> {
    let (base, selector) = split_selector(given);
    let name = match base.strip_prefix("arn:") {
        Some(_) => name_of_arn(account, region, base)?,
        None => base.to_owned(),
    };
    let pick = match selector {
        None => Pick::Latest,
        Some(text) => match text.parse::<i64>() {
            Ok(version) => Pick::Version(version),
            Err(_) => Pick::Label(text.to_owned()),
        },
    };
    Ok(Reference {
        name,
        selector: selector.map(|text| format!(":{text}")),
        pick,
    })
}

/// Whether `label` follows AWS's label rules: 1 to 100 characters of letters, digits, `.`, `-`
/// and `_`, not starting with a digit, `aws` or `ssm`.
pub fn is_valid_label(label: &str) -> bool {
    let well_formed = !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let starts_with_digit = label.chars().next().is_some_and(|c| c.is_ascii_digit());
    well_formed && !starts_with_digit && !is_reserved(label)
}

/// The number of levels of a hierarchical name (`/a/b` has 2); a flat name has 1.
pub fn levels(name: &str) -> usize {
    name.split('/').filter(|part| !part.is_empty()).count()
}

fn split_selector(given: &str) -> (&str, Option<&str>) {
    // An ARN has colons of its own: the selector is after the last colon past `parameter/`.
    let search_from = given.find(":parameter/").map_or(0, |at| at + 1);
    match given.get(search_from..).and_then(|rest| rest.rfind(':')) {
        Some(at) => {
            let at = search_from + at;
            (
                given.get(..at).unwrap_or(given),
                given.get(at + 1..).filter(|selector| !selector.is_empty()),
            )
        }
        None => (given, None),
    }
}

/// The name an ARN of this account and region names; the leading slash is restored for
/// hierarchical names (a flat name's ARN has no slash to restore, see [`flat_alternative`]).
fn name_of_arn(account: &str, region: &str, arn: &str) -> Result<String, ServiceError> {
    let prefix = format!("arn:aws:ssm:{region}:{account}:parameter/");
    match arn.strip_prefix(&prefix) {
        Some(rest) if !rest.is_empty() => Ok(if rest.contains('/') {
            format!("/{rest}")
        } else {
            rest.to_owned()
        }),
        _ => Err(ServiceError::validation(format!(
            "Parameter ARN {arn} is not valid for account {account} in region {region}."
        ))),
    }
}

/// The other name a one-level name could stand for when it came from an ARN: `parameter/db`
/// is the ARN of both `db` and `/db`.
pub fn flat_alternative(name: &str) -> Option<String> {
    (!name.contains('/')).then(|| format!("/{name}"))
}

fn check_characters(name: &str) -> Result<(), ServiceError> {
    let allowed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'));
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::validation(NAME_RULES))
    }
}

fn check_shape(account: &str, region: &str, name: &str) -> Result<(), ServiceError> {
    if name.contains("//") || (name.contains('/') && !name.starts_with('/')) || name.ends_with('/')
    {
        return Err(ServiceError::validation(NAME_RULES));
    }
    if parameter_arn(account, region, name).len() > MAX_NAME_WITH_ARN {
        return Err(ServiceError::validation(format!(
            "Parameter name: {name} is too long. The maximum length of a parameter name, \
             including the Amazon Resource Name (ARN) prefix, is {MAX_NAME_WITH_ARN} characters."
        )));
    }
    if levels(name) > MAX_LEVELS {
        return Err(hierarchy_too_deep());
    }
    Ok(())
}

fn hierarchy_too_deep() -> ServiceError {
    errors::hierarchy_level_limit_exceeded_exception(format!(
        "A hierarchy can have a maximum of {MAX_LEVELS} levels."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_drops_the_leading_slash() {
        assert_eq!(
            parameter_arn("111122223333", "us-east-1", "/app/db"),
            "arn:aws:ssm:us-east-1:111122223333:parameter/app/db"
        );
        assert_eq!(
            parameter_arn("111122223333", "us-east-1", "db"),
            "arn:aws:ssm:us-east-1:111122223333:parameter/db"
        );
    }

    #[test]
    fn references_parse_selectors_and_arns() {
        let parsed = parse_reference("1", "r", "/app/db:3").ok();
        assert_eq!(
            parsed,
            Some(Reference {
                name: "/app/db".into(),
                selector: Some(":3".into()),
                pick: Pick::Version(3)
            })
        );
        let parsed = parse_reference("1", "r", "arn:aws:ssm:r:1:parameter/app/db:prod").ok();
        assert_eq!(
            parsed,
            Some(Reference {
                name: "/app/db".into(),
                selector: Some(":prod".into()),
                pick: Pick::Label("prod".into())
            })
        );
        let parsed = parse_reference("1", "r", "arn:aws:ssm:r:1:parameter/db").ok();
        assert_eq!(
            parsed.map(|r| (r.name, r.pick)),
            Some(("db".into(), Pick::Latest))
        );
        assert!(parse_reference("1", "r", "arn:aws:ssm:r:2:parameter/db").is_err());
    }

    #[test]
    fn label_rules() {
        assert!(is_valid_label("prod"));
        assert!(is_valid_label("Release-1.2_x"));
        assert!(!is_valid_label("1st"));
        assert!(!is_valid_label("AWSlabel"));
        assert!(!is_valid_label("ssm-x"));
        assert!(!is_valid_label("has space"));
        assert!(!is_valid_label(&"a".repeat(101)));
    }

    #[test]
    fn name_rules() {
        assert!(check_writable_name("1", "r", "/a/b-c_d.e").is_ok());
        assert!(check_writable_name("1", "r", "flat").is_ok());
        assert!(check_writable_name("1", "r", "/aws/x").is_err());
        assert!(check_writable_name("1", "r", "SSMthing").is_err());
        assert!(check_writable_name("1", "r", "a b").is_err());
        assert!(check_writable_name("1", "r", "a/b").is_err());
        let deep = "/l".repeat(16);
        assert!(check_writable_name("1", "r", &deep).is_err());
        assert!(check_writable_name("1", "r", &"/l".repeat(15)).is_ok());
        assert!(check_readable_name("1", "r", "/aws/service/x").is_ok());
        let long = format!("/{}", "n".repeat(1000));
        assert!(check_writable_name("1", "r", &long).is_err());
    }
}
