//! Tags on IAM resources, with IAM's rules: at most 50 per resource, keys unique regardless of
//! case (a new tag replaces one whose key differs only in case), and no `aws:` prefix.
//! Lengths and characters are the model's constraints, checked before a handler runs.

use palisade_core::ServiceError;
use palisade_model_iam::errors;
use palisade_model_iam::types::Tag;

use crate::paging::{Page, PageRequest};
use crate::records::TagRecord;

/// The most tags one resource may carry.
pub(crate) const MAX_TAGS: usize = 50;

/// The tags a create call names, checked as IAM checks them.
pub(crate) fn initial(tags: Option<Vec<Tag>>) -> Result<Vec<TagRecord>, ServiceError> {
    let mut records = Vec::new();
    add(&mut records, tags.unwrap_or_default())?;
    Ok(records)
}

/// Adds `tags` to `existing`, replacing tags with the same key in any case.
pub(crate) fn add(existing: &mut Vec<TagRecord>, tags: Vec<Tag>) -> Result<(), ServiceError> {
    let mut seen = std::collections::HashSet::new();
    for tag in &tags {
        if !seen.insert(tag.key.to_lowercase()) {
            return Err(errors::invalid_input_exception(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
        if tag.key.to_lowercase().starts_with("aws:") {
            return Err(errors::invalid_input_exception(
                "User-provided tag keys cannot start with the reserved prefix \"aws:\".",
            ));
        }
    }
    for tag in tags {
        let key = tag.key.to_lowercase();
        existing.retain(|old| old.key.to_lowercase() != key);
        existing.push(TagRecord::from(tag));
    }
    if existing.len() > MAX_TAGS {
        return Err(errors::limit_exceeded_exception(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        )));
    }
    Ok(())
}

/// Removes the tags with `keys`, in any case; absent keys are not an error.
pub(crate) fn remove(existing: &mut Vec<TagRecord>, keys: &[String]) {
    let keys: Vec<String> = keys.iter().map(|key| key.to_lowercase()).collect();
    existing.retain(|tag| !keys.contains(&tag.key.to_lowercase()));
}

/// One page of `tags`, in the order they were added.
pub(crate) fn page(tags: &[TagRecord], page: &PageRequest) -> Page<Tag> {
    // The position is the sort key, zero-padded so that it sorts as a number.
    let keyed = tags
        .iter()
        .enumerate()
        .map(|(index, tag)| (format!("{index:04}"), Tag::from(tag)));
    page.take(keyed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn keys_are_case_insensitive_and_replace() {
        let mut tags = initial(Some(vec![tag("Department", "finance")])).unwrap();
        add(&mut tags, vec![tag("department", "hr")]).unwrap();
        assert_eq!(
            tags,
            [TagRecord {
                key: "department".into(),
                value: "hr".into()
            }]
        );
        let duplicate = add(&mut tags, vec![tag("A", "1"), tag("a", "2")]).unwrap_err();
        assert_eq!(
            duplicate.message,
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        );
        remove(&mut tags, &["DEPARTMENT".to_owned(), "absent".to_owned()]);
        assert!(tags.is_empty());
    }

    #[test]
    fn at_most_fifty_and_no_aws_prefix() {
        let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        let mut tags = initial(Some(fifty)).unwrap();
        add(&mut tags, vec![tag("k7", "replaced")]).unwrap();
        let error = add(&mut tags, vec![tag("one-more", "v")]).unwrap_err();
        assert_eq!(error.kind, errors::limit_exceeded_exception("").kind);
        assert!(initial(Some(vec![tag("aws:x", "v")])).is_err());
    }
}
