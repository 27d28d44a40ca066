//! Trail names and ARNs as AWS accepts them, and the other names a trail refers to (its S3
//! bucket, SNS topic and KMS key), checked with CloudTrail's errors.

use palisade_core::ServiceError;
use palisade_model_cloudtrail::errors;

/// The shortest and longest trail names.
const NAME_LENGTH: std::ops::RangeInclusive<usize> = 3..=128;
/// The longest S3 key prefix CloudTrail accepts.
const MAX_S3_KEY_PREFIX: usize = 200;

/// A trail as a request names it: by name (a trail of the caller's region) or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrailRef {
    Name(String),
    Arn {
        region: String,
        account: String,
        name: String,
    },
}

impl TrailRef {
    /// Reads a `Name`/`TrailName` parameter, which may be a trail name or a trail ARN.
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        if text.starts_with("arn:") {
            parse_arn(text)
        } else {
            check_trail_name(text)?;
            Ok(Self::Name(text.to_owned()))
        }
    }
}

/// The ARN of the trail `name` of `account` whose home is `region`.
pub(crate) fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// The parts of a CloudTrail ARN, `arn:<partition>:cloudtrail:<region>:<account>:<resource>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArnParts<'a> {
    pub region: &'a str,
    pub account: &'a str,
    /// What follows the account: `trail/<name>`, `eventdatastore/<id>`, ...
    pub resource: &'a str,
}

/// Splits a CloudTrail ARN of the `aws` partition (the one Palisade serves: an ARN of another
/// partition names none of its resources, and must not reach one while IAM decides on another
/// string), with a twelve-digit account and a region of lowercase letters, digits and dashes;
/// `None` for anything else.
pub(crate) fn split_arn(text: &str) -> Option<ArnParts<'_>> {
    let mut parts = text.splitn(6, ':');
    let (
        Some("arn"),
        Some(partition),
        Some("cloudtrail"),
        Some(region),
        Some(account),
        Some(resource),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    let account_valid = account.len() == 12 && account.bytes().all(|byte| byte.is_ascii_digit());
    let region_valid = !region.is_empty()
        && region
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    (partition == "aws" && account_valid && region_valid).then_some(ArnParts {
        region,
        account,
        resource,
    })
}

/// A trail ARN: `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
pub(crate) fn parse_arn(text: &str) -> Result<TrailRef, ServiceError> {
    let invalid = || {
        errors::cloud_trail_arn_invalid_exception(format!(
            "{text} is not a valid trail ARN. The format of a trail ARN is \
             arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail."
        ))
    };
    let ArnParts {
        region,
        account,
        resource,
    } = split_arn(text).ok_or_else(invalid)?;
    let name = resource.strip_prefix("trail/").ok_or_else(invalid)?;
    check_trail_name(name).map_err(|_| invalid())?;
    Ok(TrailRef::Arn {
        region: region.to_owned(),
        account: account.to_owned(),
        name: name.to_owned(),
    })
}

/// AWS's trail name rules: 3 to 128 ASCII letters, digits, `.`, `_` and `-`; starting and ending
/// with a letter or digit; no two of `.`, `_`, `-` next to each other; not shaped like an IPv4
/// address.
pub(crate) fn check_trail_name(name: &str) -> Result<(), ServiceError> {
    let invalid = |message: String| Err(errors::invalid_trail_name_exception(message));
    let length = name.chars().count();
    if length < *NAME_LENGTH.start() {
        return invalid(format!(
            "Trail name too short. Minimum allowed length: {} characters. Specified name length: {length} characters.",
            NAME_LENGTH.start()
        ));
    }
    if length > *NAME_LENGTH.end() {
        return invalid(format!(
            "Trail name too long. Maximum allowed length: {} characters. Specified name length: {length} characters.",
            NAME_LENGTH.end()
        ));
    }
    let is_punctuation = |character: char| matches!(character, '.' | '_' | '-');
    if !name.starts_with(|character: char| character.is_ascii_alphanumeric()) {
        return invalid("Trail name must starts with a letter or number.".to_owned());
    }
    if !name.ends_with(|character: char| character.is_ascii_alphanumeric()) {
        return invalid("Trail name must ends with a letter or number.".to_owned());
    }
    if !name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || is_punctuation(character))
    {
        return invalid(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, \
             periods (.), hyphens (-), and underscores (_)."
                .to_owned(),
        );
    }
    let chars: Vec<char> = name.chars().collect();
    if chars
        .windows(2)
        .any(|pair| pair.iter().all(|character| is_punctuation(*character)))
    {
        return invalid(
            "Trail name cannot contain adjacent periods, underscores or dashes.".to_owned(),
        );
    }
    if is_ipv4_shaped(name) {
        return invalid("Trail name cannot be formatted as an IP address.".to_owned());
    }
    Ok(())
}

/// S3's bucket naming rules: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending
/// with a letter or digit, no `..`, not shaped like an IPv4 address.
pub(crate) fn check_bucket_name(bucket: &str) -> Result<(), ServiceError> {
    let allowed = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|byte| allowed(byte) || byte == b'.' || byte == b'-')
        && bucket.bytes().next().is_some_and(allowed)
        && bucket.bytes().last().is_some_and(allowed)
        && !bucket.contains("..")
        && !is_ipv4_shaped(bucket);
    if valid {
        Ok(())
    } else {
        Err(errors::invalid_s3_bucket_name_exception(format!(
            "Invalid bucket name: {bucket}"
        )))
    }
}

pub(crate) fn check_s3_key_prefix(prefix: &str) -> Result<(), ServiceError> {
    if prefix.chars().count() > MAX_S3_KEY_PREFIX {
        return Err(errors::invalid_s3_prefix_exception(format!(
            "The S3 key prefix can be at most {MAX_S3_KEY_PREFIX} characters."
        )));
    }
    Ok(())
}

/// A topic name (1 to 256 letters, digits, `-` and `_`) or a topic ARN; the ARN a trail reports.
pub(crate) fn sns_topic_arn(
    topic: &str,
    region: &str,
    account: &str,
) -> Result<String, ServiceError> {
    if topic.starts_with("arn:aws:sns:") && topic.split(':').count() == 6 {
        return Ok(topic.to_owned());
    }
    let valid = (1..=256).contains(&topic.len())
        && topic
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid {
        Ok(format!("arn:aws:sns:{region}:{account}:{topic}"))
    } else {
        Err(errors::invalid_sns_topic_name_exception(format!(
            "Invalid SNS topic name: {topic}"
        )))
    }
}

/// A KMS key as `KmsKeyId` may name it (key id, key ARN, alias name, alias ARN), as the fully
/// specified ARN that trails report.
pub(crate) fn kms_key_arn(key: &str, region: &str, account: &str) -> Result<String, ServiceError> {
    let invalid = || errors::invalid_kms_key_id_exception(format!("Invalid KmsKeyId {key}"));
    if key.starts_with("arn:") {
        let mut parts = key.splitn(6, ':');
        let shaped = parts.next() == Some("arn")
            && parts
                .next()
                .is_some_and(|partition| partition.starts_with("aws"))
            && parts.next() == Some("kms")
            && parts.next().is_some_and(|region| !region.is_empty())
            && parts.next().is_some_and(|account| account.len() == 12)
            && parts.next().is_some_and(|resource| {
                resource.strip_prefix("key/").is_some_and(is_key_id)
                    || resource.strip_prefix("alias/").is_some_and(is_alias_name)
            });
        return if shaped {
            Ok(key.to_owned())
        } else {
            Err(invalid())
        };
    }
    if key.strip_prefix("alias/").is_some_and(is_alias_name) {
        return Ok(format!("arn:aws:kms:{region}:{account}:{key}"));
    }
    if is_key_id(key) {
        return Ok(format!("arn:aws:kms:{region}:{account}:key/{key}"));
    }
    Err(invalid())
}

/// A KMS key id: a UUID, or `mrk-` and 32 hex digits for a multi-Region key.
fn is_key_id(id: &str) -> bool {
    if let Some(hex) = id.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.bytes().all(|byte| byte.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|group| group.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

fn is_alias_name(name: &str) -> bool {
    (1..=250).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'_' | b'-'))
}

/// Four dot-separated groups of one to three digits, as `192.168.5.4`.
fn is_ipv4_shaped(text: &str) -> bool {
    let groups: Vec<&str> = text.split('.').collect();
    groups.len() == 4
        && groups.iter().all(|group| {
            (1..=3).contains(&group.len()) && group.bytes().all(|byte| byte.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use palisade_core::service::ErrorKind;

    use super::*;

    fn code(error: &ServiceError) -> &str {
        match &error.kind {
            ErrorKind::Modeled { code, .. } => code,
            ErrorKind::Common(_) => "common",
        }
    }

    fn rejection(name: &str) -> String {
        match check_trail_name(name) {
            Ok(()) => panic!("{name} was accepted"),
            Err(error) => {
                assert_eq!(code(&error), "InvalidTrailNameException", "{name}");
                error.message
            }
        }
    }

    #[test]
    fn accepts_names_within_the_rules() {
        for name in [
            "abc",
            "My.Trail_01-x",
            "0trail9",
            &"a".repeat(128),
            "1.2.3.4.5",
            "10.0.0.a",
        ] {
            assert!(check_trail_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_names_outside_the_rules_with_the_reason() {
        assert!(rejection("ab").contains("too short"));
        assert!(rejection(&"a".repeat(129)).contains("too long"));
        assert!(rejection("-trail").contains("starts with a letter or number"));
        assert!(rejection("trail_").contains("ends with a letter or number"));
        assert!(rejection("my trail").contains("can only contain"));
        assert!(rejection("trail/x").contains("can only contain"));
        assert!(rejection("träil").contains("can only contain"));
        for adjacent in ["my--trail", "my-_trail", "my._trail", "my..trail"] {
            assert!(rejection(adjacent).contains("adjacent"), "{adjacent}");
        }
        assert!(rejection("192.168.5.4").contains("IP address"));
    }

    #[test]
    fn reads_names_and_arns() {
        assert_eq!(
            TrailRef::parse("trail-1").ok(),
            Some(TrailRef::Name("trail-1".to_owned()))
        );
        assert_eq!(
            TrailRef::parse("arn:aws:cloudtrail:eu-west-1:123456789012:trail/trail-1").ok(),
            Some(TrailRef::Arn {
                region: "eu-west-1".to_owned(),
                account: "123456789012".to_owned(),
                name: "trail-1".to_owned(),
            })
        );
        for arn in [
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/x",
            "arn:aws:cloudtrail:eu-west-1:1234:trail/trail-1",
            "arn:aws:s3:eu-west-1:123456789012:trail/trail-1",
            "arn:aws:cloudtrail:eu-west-1:123456789012:channel/trail-1",
            "arn:aws:cloudtrail",
        ] {
            let error = TrailRef::parse(arn)
                .err()
                .map(|error| code(&error).to_owned());
            assert_eq!(
                error.as_deref(),
                Some("CloudTrailARNInvalidException"),
                "{arn}"
            );
        }
    }

    #[test]
    fn kms_keys_are_reported_as_arns() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            kms_key_arn(id, "us-east-1", "000000000000").ok(),
            Some(format!("arn:aws:kms:us-east-1:000000000000:key/{id}"))
        );
        assert_eq!(
            kms_key_arn("alias/trail", "us-east-1", "000000000000").ok(),
            Some("arn:aws:kms:us-east-1:000000000000:alias/trail".to_owned())
        );
        assert!(kms_key_arn("not a key", "us-east-1", "000000000000").is_err());
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket_name("my-trail.logs").is_ok());
        for bucket in ["ab", "My-Bucket", "a..b", "-ab", "10.1.2.3"] {
            assert!(check_bucket_name(bucket).is_err(), "{bucket}");
        }
    }
}
