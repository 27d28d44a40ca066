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

/// The key of the record of `event_id` when the id tells its time: an id this build writes (a
/// version 7 UUID, in its lowercase hyphenated form). `None` for other ids, such as the random
/// ones of earlier builds, whose records the [attribute index](crate::attributes) finds.
pub fn key_of_event(account: &str, region: &str, event_id: &str) -> Option<String> {
    let id = uuid::Uuid::try_parse(event_id).ok()?;
    if id.get_version_num() != 7 || id.hyphenated().to_string() != event_id {
        return None;
    }
    let [a, b, c, d, e, f, ..] = id.into_bytes();
    let millis = i64::from_be_bytes([0, 0, a, b, c, d, e, f]);
    Some(key(account, region, millis, event_id))
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
    format!("{}{}", prefix(account, region), tail_at_or_before(millis))
}

/// What a scan position ends in, after a prefix of this keyspace or of the
/// [attribute index](crate::attributes), to yield the records at or before `millis`.
pub fn tail_at_or_before(millis: i64) -> String {
    // Every key of a later record ends in a tail before `<inverted(millis) - 1>/~` (event ids
    // are lowercase hex and dashes, all before `~`), and every key at or before `millis` after it.
    let later = inverted(millis).saturating_sub(1);
    format!("{later:013}/~")
}

/// The `<inverted time>/<eventID>` a record's key ends in, as its attribute index entries do.
pub fn tail(key: &str) -> Option<&str> {
    let mut slashes = key.rmatch_indices('/').map(|(at, _)| at);
    slashes.next()?;
    key.get(slashes.next()? + 1..)
}

/// The time of a record, from its key or its [`tail`].
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
        let tail = tail(&older).unwrap();
        assert_eq!(tail, "9999999998999/aaaa");
        assert_eq!(millis_of(tail), Some(1_000));
        assert!(position.ends_with(&tail_at_or_before(1_500)));
        assert_eq!(super::tail("no-slash"), None);
        let v7 = "018bcfe5-6800-7abc-8def-0123456789ab";
        assert_eq!(
            key_of_event("111122223333", "us-east-1", v7),
            Some(key("111122223333", "us-east-1", 1_700_000_000_000, v7))
        );
        for other in [
            "018BCFE5-6800-7ABC-8DEF-0123456789AB",
            "0c6a1e2f-1111-4222-8333-444455556666",
            "not an id",
        ] {
            assert_eq!(key_of_event("111122223333", "us-east-1", other), None);
        }
    }
}
