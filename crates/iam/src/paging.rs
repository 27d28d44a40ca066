//! AWS paging: `MaxItems` (default 100, at most 1000, which the model already enforces),
//! `IsTruncated` and an opaque `Marker` to pass back for the next page.
//!
//! Every listing is sorted by a string key; the marker is that key of the last item returned,
//! hex-encoded so that clients treat it as opaque and cannot smuggle control characters in.

use palisade_core::ServiceError;

/// `MaxItems` when the caller gives none.
const DEFAULT_MAX_ITEMS: usize = 100;

/// What page the caller asked for.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    max_items: usize,
    after: Option<String>,
}

impl PageRequest {
    /// The page after `marker`, of at most `max_items` items.
    pub fn new(marker: Option<&str>, max_items: Option<i32>) -> Result<Self, ServiceError> {
        let max_items = max_items
            .and_then(|max| usize::try_from(max).ok())
            .filter(|max| *max > 0)
            .unwrap_or(DEFAULT_MAX_ITEMS);
        let after = marker.map(decode_marker).transpose()?;
        Ok(Self { max_items, after })
    }

    /// The largest page.
    pub fn max_items(&self) -> usize {
        self.max_items
    }

    /// The key after which the page starts.
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// The page of `items` (sorted ascending by their keys) that follows the marker.
    pub fn take<T>(&self, items: impl IntoIterator<Item = (String, T)>) -> Page<T> {
        let mut following = items.into_iter().filter(|(key, _)| {
            self.after
                .as_deref()
                .is_none_or(|after| key.as_str() > after)
        });
        let mut page: Vec<(String, T)> = following.by_ref().take(self.max_items).collect();
        let truncated = following.next().is_some();
        let marker = if truncated {
            page.last().map(|(key, _)| encode_marker(key))
        } else {
            None
        };
        Page {
            items: page.drain(..).map(|(_, item)| item).collect(),
            marker,
        }
    }

    /// The page of `items` after the marker, each keyed by `key`; sorts them first.
    pub fn take_sorted<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> String,
    ) -> Page<T> {
        let mut keyed: Vec<(String, T)> =
            items.into_iter().map(|item| (key(&item), item)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        self.take(keyed)
    }
}

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The marker for the next page, when there is one.
    pub marker: Option<String>,
}

impl<T> Page<T> {
    /// `IsTruncated`.
    pub fn is_truncated(&self) -> Option<bool> {
        Some(self.marker.is_some())
    }

    /// The same page with each item converted.
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(convert).collect(),
            marker: self.marker,
        }
    }
}

fn encode_marker(key: &str) -> String {
    key.bytes().map(|byte| format!("{byte:02X}")).collect()
}

fn decode_marker(marker: &str) -> Result<String, ServiceError> {
    let invalid = || ServiceError::validation("Invalid Marker.");
    let digits = marker.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(invalid)
        })
        .collect::<Result<Vec<u8>, _>>()?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(keys: &[&str]) -> Vec<(String, String)> {
        keys.iter()
            .map(|k| (k.to_string(), k.to_uppercase()))
            .collect()
    }

    #[test]
    fn pages_follow_each_other() {
        let items = keyed(&["a", "b", "c", "d", "e"]);
        let first = PageRequest::new(None, Some(2)).unwrap().take(items.clone());
        assert_eq!(first.items, ["A", "B"]);
        let marker = first.marker.clone().unwrap();
        let second = PageRequest::new(Some(&marker), Some(2))
            .unwrap()
            .take(items.clone());
        assert_eq!(second.items, ["C", "D"]);
        let third = PageRequest::new(second.marker.as_deref(), Some(2))
            .unwrap()
            .take(items);
        assert_eq!(third.items, ["E"]);
        assert_eq!(third.is_truncated(), Some(false));
    }

    #[test]
    fn an_exact_fit_is_not_truncated() {
        let page = PageRequest::new(None, Some(3))
            .unwrap()
            .take(keyed(&["a", "b", "c"]));
        assert_eq!(page.items.len(), 3);
        assert!(page.marker.is_none());
    }

    #[test]
    fn markers_round_trip_and_garbage_is_refused() {
        assert_eq!(
            decode_marker(&encode_marker("user/Ünïcode")).unwrap(),
            "user/Ünïcode"
        );
        assert!(PageRequest::new(Some("xyz"), None).is_err());
        assert!(PageRequest::new(Some("zz"), None).is_err());
        assert!(PageRequest::new(Some("FF"), None).is_err());
        assert_eq!(PageRequest::new(None, None).unwrap().max_items(), 100);
    }
}
