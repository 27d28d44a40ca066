//! Where a trail's files go, as S3 object keys in AWS's layout (the same in S3 and in the local
//! directory that stands in for it), and where those objects live in that directory:
//! `<delivery root>/<bucket>/<object key>`.
//!
//! Log files: `<prefix/>AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`
//! `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alphanumerics>.json.gz`.
//! Digests: `<prefix/>AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/`
//! `<account>_CloudTrail-Digest_<region>_<trail name>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz`,
//! with the signature (hex) in the object's `x-amz-meta-signature` in S3, as AWS keeps it, and
//! locally in a sidecar file named after the digest plus [`SIGNATURE_SUFFIX`]. An organization
//! trail's files of each account go under `AWSLogs/<organization id>/<account>/...`, named the
//! same way.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest::{SHA256, digest};
use time::OffsetDateTime;

/// The sidecar of a digest that holds its signature, standing in for S3 object metadata.
pub const SIGNATURE_SUFFIX: &str = ".signature";

/// The local path of `object` in `bucket`.
pub fn object_path(root: &Path, bucket: &str, object: &str) -> PathBuf {
    root.join(bucket).join(object)
}

/// The key of a log file of `account` in `region`, delivered at `millis` (by a trail of
/// `organization`, for an organization trail). `unique` names the file among the others of the
/// same minute.
pub fn log_file_key(
    prefix: Option<&str>,
    organization: Option<&str>,
    account: &str,
    region: &str,
    millis: i64,
    unique: &str,
) -> String {
    let time = utc(millis);
    format!(
        "{}AWSLogs/{}{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
        prefix_path(prefix),
        prefix_path(organization),
        date_path(time),
        compact_minutes(time),
    )
}

/// The key of the digest of `region`'s log files of trail `name` (of `home_region`), ending at
/// `millis`.
pub fn digest_key(
    prefix: Option<&str>,
    organization: Option<&str>,
    account: &str,
    region: &str,
    name: &str,
    home_region: &str,
    millis: i64,
) -> String {
    let time = utc(millis);
    format!(
        "{}AWSLogs/{}{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{name}_{home_region}_{}.json.gz",
        prefix_path(prefix),
        prefix_path(organization),
        date_path(time),
        compact_seconds(time),
    )
}

/// 16 letters and digits naming one delivery, derived from what it covers so that delivering the
/// same range again (after a crash) writes the same file, rather than a second copy beside it.
pub fn unique_name(parts: &[&str]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let hash = digest(&SHA256, parts.join("\n").as_bytes());
    hash.as_ref()
        .iter()
        .take(16)
        .filter_map(|byte| ALPHABET.get(usize::from(*byte) % ALPHABET.len()))
        .map(|byte| char::from(*byte))
        .collect()
}

/// `2024-03-01T12:34:56Z`, the precision of CloudTrail's digest times.
pub fn iso_seconds(millis: i64) -> String {
    let time = utc(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// The UTC time `millis` milliseconds after the epoch (the epoch itself when out of range).
pub(crate) fn utc(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn prefix_path(prefix: Option<&str>) -> String {
    prefix.map_or_else(String::new, |prefix| format!("{prefix}/"))
}

fn date_path(time: OffsetDateTime) -> String {
    format!(
        "{:04}/{:02}/{:02}",
        time.year(),
        u8::from(time.month()),
        time.day()
    )
}

fn compact_minutes(time: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute()
    )
}

fn compact_seconds(time: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MILLIS: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

    #[test]
    fn keys_follow_the_aws_layout() {
        assert_eq!(
            log_file_key(
                None,
                None,
                "111122223333",
                "us-east-1",
                MILLIS,
                "abcdEFGH01234567"
            ),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2023/11/14/\
             111122223333_CloudTrail_us-east-1_20231114T2213Z_abcdEFGH01234567.json.gz"
        );
        assert_eq!(
            digest_key(
                Some("logs/a"),
                None,
                "111122223333",
                "eu-west-1",
                "main",
                "us-east-1",
                MILLIS
            ),
            "logs/a/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2023/11/14/\
             111122223333_CloudTrail-Digest_eu-west-1_main_us-east-1_20231114T221320Z.json.gz"
        );
        assert_eq!(
            log_file_key(
                Some("org"),
                Some("o-a1b2c3d4e5"),
                "444455556666",
                "us-east-1",
                MILLIS,
                "abcdEFGH01234567"
            ),
            "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-east-1/2023/11/14/\
             444455556666_CloudTrail_us-east-1_20231114T2213Z_abcdEFGH01234567.json.gz"
        );
        assert_eq!(
            digest_key(
                None,
                Some("o-a1b2c3d4e5"),
                "444455556666",
                "us-east-1",
                "org",
                "us-east-1",
                MILLIS
            ),
            "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Digest/us-east-1/2023/11/14/\
             444455556666_CloudTrail-Digest_us-east-1_org_us-east-1_20231114T221320Z.json.gz"
        );
        assert_eq!(iso_seconds(MILLIS), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn unique_names_are_sixteen_alphanumerics_fixed_by_their_parts() {
        let name = unique_name(&["arn", "us-east-1", "1", "2"]);
        assert_eq!(name.len(), 16);
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(name, unique_name(&["arn", "us-east-1", "1", "2"]));
        assert_ne!(name, unique_name(&["arn", "us-east-1", "1", "3"]));
    }
}
