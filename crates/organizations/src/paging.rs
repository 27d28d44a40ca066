//! Pages with `MaxResults` and `NextToken` as Organizations takes them. Every list is in id
//! order, and a page's token is the id of its last entry.

use palisade_core::ServiceError;
use palisade_model_organizations::errors;

/// The page size when the request names none: the model's largest.
const DEFAULT_PAGE: usize = 20;

/// The page of `items` (sorted by their keys) after `token`, and the next page's token.
pub(crate) fn page<K: AsRef<str>, T>(
    items: impl IntoIterator<Item = (K, T)>,
    token: Option<&str>,
    max_results: Option<i32>,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    if token.is_some_and(str::is_empty) {
        return Err(errors::invalid_input_exception(
            "Get the value for the NextToken parameter from the response to a previous call of \
             the operation.",
        ));
    }
    let limit = max_results
        .and_then(|max| usize::try_from(max).ok())
        .filter(|max| *max > 0)
        .unwrap_or(DEFAULT_PAGE);
    let mut page: Vec<(K, T)> = items
        .into_iter()
        .filter(|(key, _)| token.is_none_or(|after| key.as_ref() > after))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more
        .then(|| page.last().map(|(key, _)| key.as_ref().to_owned()))
        .flatten();
    Ok((page.into_iter().map(|(_, item)| item).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<(String, usize)> = (0..7).map(|i| (format!("k{i}"), i)).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (items, next) = page(items.clone(), token.as_deref(), Some(3)).unwrap_or_default();
            seen.extend(items);
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        assert!(page(items, Some(""), None).is_err());
    }
}
