//! Listing pages, with `Limit` and `Marker` as KMS takes them. Lists in name order use the last
//! name of a page as the next page's marker; short lists of a key's own (tags, rotations) use
//! the index of the next entry.

use palisade_core::ServiceError;
use palisade_model_kms::errors;

/// One page and the marker of the next, if more remain.
pub(crate) type Page<T> = (Vec<T>, Option<String>);

/// The page size a request asks for: AWS's default is 100 (the model bounds `Limit` to
/// 1..=1000).
pub(crate) fn page_limit(limit: Option<i32>) -> usize {
    limit
        .and_then(|limit| usize::try_from(limit).ok())
        .filter(|limit| *limit > 0)
        .unwrap_or(100)
}

/// A name-order marker: the name of the previous page's last entry. One that could not be a
/// name is refused.
pub(crate) fn name_marker(marker: Option<&str>) -> Result<Option<&str>, ServiceError> {
    match marker {
        Some(marker) if marker.is_empty() || marker.contains('\0') => Err(invalid_marker()),
        other => Ok(other),
    }
}

/// The page of `items` (in name order) after `marker`.
pub(crate) fn by_name<T>(
    items: impl IntoIterator<Item = (String, T)>,
    marker: Option<&str>,
    limit: Option<i32>,
) -> Result<Page<(String, T)>, ServiceError> {
    let after = name_marker(marker)?;
    let limit = page_limit(limit);
    let mut page: Vec<(String, T)> = items
        .into_iter()
        .filter(|(name, _)| after.is_none_or(|after| name.as_str() > after))
        .take(limit + 1)
        .collect();
    let truncated = page.len() > limit;
    page.truncate(limit);
    let next = truncated
        .then(|| page.last().map(|(name, _)| name.clone()))
        .flatten();
    Ok((page, next))
}

/// The page of `items` from the index `marker` names.
pub(crate) fn by_index<T>(
    items: impl IntoIterator<Item = T>,
    marker: Option<&str>,
    limit: Option<i32>,
) -> Result<Page<T>, ServiceError> {
    let start = match marker {
        None => 0,
        Some(marker) => marker.parse::<usize>().map_err(|_| invalid_marker())?,
    };
    let limit = page_limit(limit);
    let mut page: Vec<T> = items.into_iter().skip(start).take(limit + 1).collect();
    let truncated = page.len() > limit;
    page.truncate(limit);
    Ok((page, truncated.then(|| (start + limit).to_string())))
}

fn invalid_marker() -> ServiceError {
    errors::invalid_marker_exception("Invalid marker")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("k{i:03}"), i)).collect()
    }

    proptest::proptest! {
        #[test]
        fn pages_by_name_cover_everything_once(n in 0usize..40, limit in 1i32..12) {
            let mut seen = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let (page, next) = by_name(names(n), marker.as_deref(), Some(limit)).unwrap();
                proptest::prop_assert!(page.len() <= usize::try_from(limit).unwrap());
                seen.extend(page.into_iter().map(|(_, i)| i));
                match next {
                    Some(next) => marker = Some(next),
                    None => break,
                }
            }
            proptest::prop_assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }

        #[test]
        fn pages_by_index_cover_everything_once(n in 0usize..40, limit in 1i32..12) {
            let mut seen = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let (page, next) = by_index(0..n, marker.as_deref(), Some(limit)).unwrap();
                seen.extend(page);
                match next {
                    Some(next) => marker = Some(next),
                    None => break,
                }
            }
            proptest::prop_assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn malformed_markers_are_refused() {
        assert!(by_name(names(3), Some(""), None).is_err());
        assert!(by_index(0..3, Some("x"), None).is_err());
        assert_eq!(page_limit(None), 100);
    }
}
