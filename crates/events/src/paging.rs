//! Pages of list answers: `Limit` items at most, and a `NextToken` naming the last item given,
//! after which the next page starts.

/// How many items a list answers when the caller gives no `Limit`.
const DEFAULT_PAGE: usize = 100;

pub(crate) fn page_size(limit: Option<i32>) -> usize {
    limit
        .and_then(|limit| usize::try_from(limit).ok())
        .filter(|limit| *limit > 0)
        .unwrap_or(DEFAULT_PAGE)
}

/// Cuts `items` (sorted, possibly one or more past the page) to `limit`, and returns the token
/// of the next page if anything was cut.
pub(crate) fn paginate<T>(
    items: &mut Vec<T>,
    limit: usize,
    token: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(token)
}
