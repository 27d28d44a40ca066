//! The filters of `DescribeParameters` (`Filters` and `ParameterFilters`) and
//! `GetParametersByPath` (`ParameterFilters` with keys `Type`, `KeyId` and `Label`), parsed
//! once into [`Filter`]s that test a parameter record.

use palisade_core::ServiceError;
use palisade_model_ssm::errors;
use palisade_model_ssm::types::{ParameterStringFilter, ParametersFilter, ParametersFilterKey};

use crate::names;
use crate::records::{ParameterRecord, VersionRecord};

/// Which operation the filters are for: each accepts its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    DescribeParameters,
    GetParametersByPath,
}

/// One parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Name {
        option: NameOption,
        values: Vec<String>,
    },
    Type(Vec<String>),
    KeyId(Vec<String>),
    Tier(Vec<String>),
    DataType(Vec<String>),
    Label(Vec<String>),
    /// A tag key, and the values it must have (any value when empty).
    Tag {
        key: String,
        values: Vec<String>,
    },
    Path {
        path: String,
        recursive: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameOption {
    Equals,
    BeginsWith,
    Contains,
}

/// Parses `ParameterFilters` for `operation`.
pub(crate) fn parse(
    operation: Operation,
    filters: &[ParameterStringFilter],
) -> Result<Vec<Filter>, ServiceError> {
    let mut parsed = Vec::with_capacity(filters.len());
    for filter in filters {
        let key = filter.key.as_str();
        let option = filter.option.as_deref();
        let values = filter.values.clone().unwrap_or_default();
        let allowed_here = match operation {
            Operation::DescribeParameters => true,
            Operation::GetParametersByPath => matches!(key, "Type" | "KeyId" | "Label"),
        };
        if !allowed_here {
            return Err(errors::invalid_filter_key(format!(
                "The following filter key is not valid: {key}. Valid filter keys include: [Type, \
                 KeyId, Label]."
            )));
        }
        let needs_values = key != "Path" && !key.starts_with("tag:");
        if needs_values && values.is_empty() {
            return Err(errors::invalid_filter_value(format!(
                "The following filter values are missing : null for filter key {key}."
            )));
        }
        let equals_only = |option: Option<&str>| match option {
            None | Some("Equals") => Ok(()),
            Some(other) => Err(invalid_option(other, key)),
        };
        let filter = match key {
            "Name" => {
                let option = match option {
                    None | Some("Equals") => NameOption::Equals,
                    Some("BeginsWith") => NameOption::BeginsWith,
                    Some("Contains") => NameOption::Contains,
                    Some(other) => return Err(invalid_option(other, key)),
                };
                Filter::Name { option, values }
            }
            "Type" => equals_only(option).map(|()| Filter::Type(values))?,
            "KeyId" => equals_only(option).map(|()| Filter::KeyId(values))?,
            "Tier" => equals_only(option).map(|()| Filter::Tier(values))?,
            "DataType" => equals_only(option).map(|()| Filter::DataType(values))?,
            "Label" => equals_only(option).map(|()| Filter::Label(values))?,
            "Path" => {
                let recursive = match option {
                    None | Some("OneLevel") => false,
                    Some("Recursive") => true,
                    Some(other) => return Err(invalid_option(other, key)),
                };
                let [path] = values.as_slice() else {
                    return Err(errors::invalid_filter_value(
                        "The Path filter takes exactly one value.",
                    ));
                };
                names::check_path(path)?;
                Filter::Path {
                    path: path.clone(),
                    recursive,
                }
            }
            tag if tag.starts_with("tag:") => {
                equals_only(option)?;
                Filter::Tag {
                    key: tag.trim_start_matches("tag:").to_owned(),
                    values,
                }
            }
            other => {
                return Err(errors::invalid_filter_key(format!(
                    "The following filter key is not valid: {other}. Valid filter keys include: \
                     [Path, Name, Type, KeyId, Tier, DataType, Label, tag:<key>]."
                )));
            }
        };
        parsed.push(filter);
    }
    Ok(parsed)
}

/// Converts the older `Filters` of `DescribeParameters` (Name matches by prefix there).
pub(crate) fn from_legacy(filters: &[ParametersFilter]) -> Result<Vec<Filter>, ServiceError> {
    filters
        .iter()
        .map(|filter| {
            let values = filter.values.clone();
            match &filter.key {
                ParametersFilterKey::Name => Ok(Filter::Name {
                    option: NameOption::BeginsWith,
                    values,
                }),
                ParametersFilterKey::Type => Ok(Filter::Type(values)),
                ParametersFilterKey::KeyId => Ok(Filter::KeyId(values)),
                ParametersFilterKey::Unknown(other) => Err(errors::invalid_filter_key(format!(
                    "The following filter key is not valid: {other}."
                ))),
            }
        })
        .collect()
}

/// The path the filters confine the answer to, if any: the store scan starts there.
pub(crate) fn path_of(filters: &[Filter]) -> Option<(&str, bool)> {
    filters.iter().find_map(|filter| match filter {
        Filter::Path { path, recursive } => Some((path.as_str(), *recursive)),
        _ => None,
    })
}

/// Whether `record` (answering with `version`) passes every filter.
pub(crate) fn matches(
    filters: &[Filter],
    record: &ParameterRecord,
    version: &VersionRecord,
) -> bool {
    filters.iter().all(|filter| match filter {
        Filter::Name { option, values } => values.iter().any(|value| {
            // Names are compared with or without their leading slash, as AWS does.
            let name = record.name.trim_start_matches('/');
            let value = value.trim_start_matches('/');
            match option {
                NameOption::Equals => name == value,
                NameOption::BeginsWith => name.starts_with(value),
                NameOption::Contains => name.contains(value),
            }
        }),
        Filter::Type(values) => values.iter().any(|v| v == version.kind.as_str()),
        Filter::KeyId(values) => version
            .key_id
            .as_ref()
            .is_some_and(|key| values.iter().any(|v| v == key)),
        Filter::Tier(values) => values.iter().any(|v| v == record.tier.as_str()),
        Filter::DataType(values) => values.contains(&version.data_type),
        Filter::Label(values) => record
            .versions
            .iter()
            .any(|v| v.labels.iter().any(|label| values.contains(label))),
        Filter::Tag { key, values } => record
            .tags
            .iter()
            .any(|(k, v)| k == key && (values.is_empty() || values.contains(v))),
        Filter::Path { path, recursive } => is_under(&record.name, path, *recursive),
    })
}

/// Whether `name` is under `path`: one level below it, or at any depth when `recursive`.
/// Flat names are at the root (`/`).
pub(crate) fn is_under(name: &str, path: &str, recursive: bool) -> bool {
    let base = path.trim_end_matches('/');
    let inside = if base.is_empty() {
        true
    } else {
        name.strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    inside && (recursive || names::levels(name) == names::levels(base) + 1)
}

fn invalid_option(option: &str, key: &str) -> ServiceError {
    errors::invalid_filter_option(format!(
        "The following filter option is not valid: {option}. Valid options include: [Equals, \
         BeginsWith] for {key}, and [Recursive, OneLevel] for Path."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_one_level_and_recursive() {
        assert!(is_under("/a/b", "/a", false));
        assert!(!is_under("/a/b/c", "/a", false));
        assert!(is_under("/a/b/c", "/a", true));
        assert!(!is_under("/ab/c", "/a", true));
        assert!(is_under("flat", "/", false));
        assert!(is_under("/top", "/", false));
        assert!(!is_under("/top/x", "/", false));
    }
}
