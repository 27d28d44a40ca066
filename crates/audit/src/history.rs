//! How records are laid out in the store's [`KEYSPACE`](crate::KEYSPACE) for reading event
//! history: `<account>/<region>/<inverted time>/<eventID>`, where the inverted time is
//! `9999999999999 - <milliseconds since the epoch>` in 13 digits. Event history is read newest
//! first (as CloudTrail's `LookupEvents` answers), and the store scans in key order, so newer
//! records must sort first.

/// The largest time the layout holds (in the year 2286).
const LATEST_MILLIS: i64 = 9_999_999_999_999;

/// The key of the record of event `event_id` at `millis`.
pub fn key(account: &str, region: &str, millis: i64, event_id: &str) -> String {
    let mut key = Vec::new();
    write_key(&mut key, account, region, millis, event_id);
    String::from_utf8_lossy(&key).into_owned()
}

/// Appends [`key`] to `buffer`, in place.
pub(crate) fn write_key(
    buffer: &mut Vec<u8>,
    account: &str,
    region: &str,
    millis: i64,
    event_id: impl std::fmt::Display,
) {
    use std::io::Write as _;
    // Writing into memory cannot fail.
    let _ = write!(
        buffer,
        "{account}/{region}/{:013}/{event_id}",
        inverted(millis)
    );
}

/// The prefix of every record of `account` in `region`.
pub fn prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// A scan position (exclusive) from which a scan of [`prefix`] yields the records at or before
/// `millis`, newest first.
pub fn at_or_before(account: &str, region: &str, millis: i64) -> String {
    // Every key of a later record sorts before `<prefix><inverted(millis) - 1>/~` (event ids
    // are lowercase hex and dashes, all before `~`), and every key at or before `millis` after it.
    let later = inverted(millis).saturating_sub(1);
    format!("{}{later:013}/~", prefix(account, region))
}

/// The time of a record, from its key.
pub fn millis_of(key: &str) -> Option<i64> {
    let inverted: i64 = key.rsplit('/').nth(1)?.parse().ok()?;
    Some(LATEST_MILLIS - inverted)
}

/// The account, region and time of a record, from its key.
pub fn parts_of(key: &str) -> Option<(&str, &str, i64)> {
    let mut parts = key.splitn(3, '/');
    let account = parts.next()?;
    let region = parts.next()?;
    Some((account, region, millis_of(parts.next()?)?))
}

fn inverted(millis: i64) -> i64 {
    LATEST_MILLIS - millis.clamp(0, LATEST_MILLIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_records_sort_first_and_positions_split_by_time() {
        let older = key("111122223333", "us-east-1", 1_000, "aaaa");
        let newer = key("111122223333", "us-east-1", 2_000, "0000");
        assert!(newer < older);
        assert_eq!(millis_of(&older), Some(1_000));
        let position = at_or_before("111122223333", "us-east-1", 1_500);
        assert!(newer < position && position < older);
        let exact = at_or_before("111122223333", "us-east-1", 2_000);
        assert!(exact < newer);
        assert!(older.starts_with(&prefix("111122223333", "us-east-1")));
        assert_eq!(parts_of(&older), Some(("111122223333", "us-east-1", 1_000)));
        assert_eq!(parts_of("111122223333/us-east-1"), None);
    }
}
