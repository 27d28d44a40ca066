//! `palisade trail validate`: checks delivered files offline, as `aws cloudtrail validate-logs`
//! checks them in S3. From each trail's newest digest (per region) back along the chain, every
//! digest must be where its successor says, carry a valid signature by a key the server made,
//! and every log file it lists must be there with the hash it records. A modified or deleted log
//! file, or a modified or removed digest, is reported by name and fails the run.
//!
//! Public keys come from the server, not from beside the files (a key found next to the digests
//! would be whatever someone who rewrote them put there): the saved output of
//! `aws cloudtrail list-public-keys`, or the store of a stopped server's data directory.
//! The newest digest of a chain has no successor to vouch for it, so removing it is not
//! detected (as with AWS's validator).

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::MultiGzDecoder;
use palisade_store::{Store, StoreConfig};

use crate::digest::{DigestDocument, public_keys, sha256_hex};
use crate::layout::{SIGNATURE_SUFFIX, iso_seconds};
use crate::lookup::parse_event_time;

/// What to validate.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// The delivery root: one directory per bucket.
    pub root: PathBuf,
    /// Only this trail's digests; every trail's when `None`.
    pub trail_arn: Option<String>,
    /// Digests ending before this are not checked.
    pub start_millis: i64,
    /// Digests ending after this are not checked.
    pub end_millis: i64,
}

/// The outcome, in the AWS CLI's terms.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    requested: (i64, i64),
    trail: String,
    found: Option<(i64, i64)>,
    /// One line per failure, naming the file.
    pub failures: Vec<String>,
    pub valid_digests: usize,
    pub invalid_digests: usize,
    pub valid_logs: usize,
    pub invalid_logs: usize,
}

impl Validation {
    /// Whether every file checked is valid.
    pub fn is_valid(&self) -> bool {
        self.invalid_digests == 0 && self.invalid_logs == 0
    }

    /// The summary, worded as `aws cloudtrail validate-logs` words its own (the failures are
    /// in [`Validation::failures`], for the error output).
    pub fn render(&self) -> String {
        let (start, end) = self.requested;
        let mut text = format!(
            "Validating log files for trail {} between {} and {}\n\n",
            self.trail,
            iso_seconds(start),
            iso_seconds(end)
        );
        text.push_str(&format!(
            "Results requested for {} to {}\n",
            iso_seconds(start),
            iso_seconds(end)
        ));
        if self.valid_digests + self.invalid_digests == 0 {
            text.push_str("No digests found\n");
            return text;
        }
        match self.found {
            Some((found_start, found_end)) => text.push_str(&format!(
                "Results found for {} to {}:\n",
                iso_seconds(found_start),
                iso_seconds(found_end)
            )),
            None => text.push_str("No valid digests found in range\n"),
        }
        for (valid, invalid, name) in [
            (self.valid_digests, self.invalid_digests, "digest"),
            (self.valid_logs, self.invalid_logs, "log"),
        ] {
            let total = valid + invalid;
            if total > 0 {
                text.push_str(&format!("\n{valid}/{total} {name} files valid"));
                if invalid > 0 {
                    text.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
                }
            }
        }
        text.push('\n');
        text
    }
}

/// Where `palisade trail validate` finds the public keys.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A file holding what `aws cloudtrail list-public-keys` printed (JSON, `Value` in base64).
    ListPublicKeysOutput(PathBuf),
    /// The data directory of a stopped server (embedded store).
    DataDir(PathBuf),
}

/// The `palisade trail validate` command: validates the files under `root` from `start_time`
/// (ISO 8601; the epoch when absent) to now.
pub async fn command(
    root: &Path,
    keys: &KeySource,
    trail_arn: Option<String>,
    start_time: Option<&str>,
) -> Result<Validation, String> {
    let start_millis = match start_time {
        None => 0,
        Some(text) => parse_event_time(text).ok_or_else(|| {
            format!("--start-time {text:?} is not a time like 2024-03-01T12:00:00Z")
        })?,
    };
    let end_millis = palisade_core::clock::millis_since_epoch(std::time::SystemTime::now());
    let keys = match keys {
        KeySource::ListPublicKeysOutput(path) => listed_public_keys(path)?,
        KeySource::DataDir(data_dir) => public_keys_in(data_dir).await?,
    };
    Ok(validate(
        &ValidateOptions {
            root: root.to_owned(),
            trail_arn,
            start_millis,
            end_millis,
        },
        &keys,
    ))
}

/// The public keys in a saved `list-public-keys` answer, by fingerprint.
fn listed_public_keys(path: &Path) -> Result<HashMap<String, Vec<u8>>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        public_key_list: Vec<Key>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Key {
        fingerprint: String,
        value: String,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let listed: Listed = serde_json::from_str(&text).map_err(|error| {
        format!(
            "{} is not the output of aws cloudtrail list-public-keys: {error}",
            path.display()
        )
    })?;
    listed
        .public_key_list
        .into_iter()
        .map(|key| {
            let der = STANDARD
                .decode(key.value.trim())
                .map_err(|_| format!("the key {} is not base64", key.fingerprint))?;
            Ok((key.fingerprint, der))
        })
        .collect()
}

/// The public keys of the digest signing keys the server in `data_dir` made, by fingerprint
/// (embedded store only).
pub async fn public_keys_in(data_dir: &Path) -> Result<HashMap<String, Vec<u8>>, String> {
    let store = Store::open(&StoreConfig::Embedded {
        data_dir: data_dir.to_owned(),
    })
    .await
    .map_err(|error| format!("cannot open the store in {}: {error}", data_dir.display()))?;
    let keys = public_keys(&store, None)
        .await
        .map_err(|error| error.to_string())?;
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            let der = STANDARD.decode(&key.public_key).ok()?;
            Some((key.fingerprint, der))
        })
        .collect())
}

/// Validates what `options` names against `keys` (fingerprint → DER of the public key).
pub fn validate(options: &ValidateOptions, keys: &HashMap<String, Vec<u8>>) -> Validation {
    let mut validation = Validation {
        requested: (options.start_millis, options.end_millis),
        trail: options
            .trail_arn
            .clone()
            .unwrap_or_else(|| "(every trail)".to_owned()),
        ..Validation::default()
    };
    let mut digests = Vec::new();
    find_digests(&options.root, &options.root, &mut digests);
    let mut chains: BTreeMap<ChainId, Vec<DigestFile>> = BTreeMap::new();
    for digest in digests {
        if options
            .trail_arn
            .as_ref()
            .is_none_or(|arn| *arn == digest.chain.trail_arn())
        {
            chains.entry(digest.chain.clone()).or_default().push(digest);
        }
    }
    for (_, mut chain) in chains {
        chain.sort_by_key(|digest| digest.end_millis);
        chain.retain(|digest| {
            digest.end_millis >= options.start_millis && digest.end_millis <= options.end_millis
        });
        walk_chain(options, keys, &chain, &mut validation);
    }
    validation
}

/// Checks one chain from its newest digest back, as far as the requested start.
fn walk_chain(
    options: &ValidateOptions,
    keys: &HashMap<String, Vec<u8>>,
    chain: &[DigestFile],
    validation: &mut Validation,
) {
    let mut next = chain
        .last()
        .map(|digest| (digest.object.clone(), digest.end_millis));
    while let Some(((bucket, object), end_millis)) = next.take() {
        // The newest digest on disk older than this one, where to go on after a failure.
        let older = || {
            chain
                .iter()
                .rev()
                .find(|digest| digest.end_millis < end_millis)
                .map(|digest| (digest.object.clone(), digest.end_millis))
        };
        let path = options.root.join(&bucket).join(&object);
        let label = format!("Digest file\t{}", path.display());
        if !path.exists() {
            validation.invalid_digests += 1;
            validation
                .failures
                .push(format!("{label}\tINVALID: not found"));
            next = older();
            continue;
        }
        let document = match check_digest(&path, &bucket, &object, keys) {
            Ok(document) => document,
            Err(reason) => {
                validation.invalid_digests += 1;
                validation
                    .failures
                    .push(format!("{label}\tINVALID: {reason}"));
                next = older();
                continue;
            }
        };
        validation.valid_digests += 1;
        let start = parse_event_time(&document.digest_start_time).unwrap_or(end_millis);
        let found = validation.found.get_or_insert((start, end_millis));
        *found = (
            found.0.min(start.max(options.start_millis)),
            found.1.max(end_millis.min(options.end_millis)),
        );
        for log in &document.log_files {
            let path = options.root.join(&log.s3_bucket).join(&log.s3_object);
            match inflate(&path) {
                Ok(bytes) if sha256_hex(&bytes) == log.hash_value => validation.valid_logs += 1,
                outcome => {
                    let reason = match outcome {
                        Err(Missing::NotFound) => "not found",
                        Err(Missing::Unreadable) => "invalid format",
                        Ok(_) => "hash value doesn't match",
                    };
                    validation.invalid_logs += 1;
                    validation
                        .failures
                        .push(format!("Log file\t{}\tINVALID: {reason}", path.display()));
                }
            }
        }
        if start < options.start_millis {
            break;
        }
        next = match (
            document.previous_digest_s3_bucket,
            document.previous_digest_s3_object,
        ) {
            (Some(bucket), Some(object)) => {
                let previous_end = digest_end_of(&object).unwrap_or(start);
                (previous_end >= options.start_millis).then_some(((bucket, object), previous_end))
            }
            // The chain started here (logging or validation was turned on): an older chain may
            // be on disk.
            _ => older(),
        };
    }
}

/// The digest at `path`, if it is where it says it is and its signature verifies.
fn check_digest(
    path: &Path,
    bucket: &str,
    object: &str,
    keys: &HashMap<String, Vec<u8>>,
) -> Result<DigestDocument, String> {
    let uncompressed = inflate(path).map_err(|_| "invalid format".to_owned())?;
    let document: DigestDocument =
        serde_json::from_slice(&uncompressed).map_err(|_| "invalid format".to_owned())?;
    if document.digest_s3_bucket != bucket || document.digest_s3_object != object {
        return Err("invalid format: the digest names another location".to_owned());
    }
    let key = keys
        .get(&document.digest_public_key_fingerprint)
        .ok_or_else(|| {
            format!(
                "no public key found for fingerprint {}",
                document.digest_public_key_fingerprint
            )
        })?;
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(SIGNATURE_SUFFIX);
    let signature = std::fs::read_to_string(PathBuf::from(sidecar))
        .ok()
        .and_then(|text| hex::decode(text.trim()).ok())
        .ok_or_else(|| "signature verification failed: no signature".to_owned())?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(
            document.string_to_sign(&uncompressed).as_bytes(),
            &signature,
        )
        .map_err(|_| "signature verification failed".to_owned())?;
    Ok(document)
}

enum Missing {
    NotFound,
    Unreadable,
}

fn inflate(path: &Path) -> Result<Vec<u8>, Missing> {
    let file = std::fs::File::open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Missing::NotFound,
        _ => Missing::Unreadable,
    })?;
    let mut bytes = Vec::new();
    MultiGzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|_| Missing::Unreadable)?;
    Ok(bytes)
}

/// The trail and region a digest chain belongs to, and where its digests live.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ChainId {
    bucket: String,
    account: String,
    region: String,
    trail_name: String,
    home_region: String,
}

impl ChainId {
    fn trail_arn(&self) -> String {
        crate::names::trail_arn(&self.home_region, &self.account, &self.trail_name)
    }
}

#[derive(Debug)]
struct DigestFile {
    chain: ChainId,
    /// Bucket and object key.
    object: (String, String),
    end_millis: i64,
}

/// Every digest under `dir`, by its name in the layout.
fn find_digests(root: &Path, dir: &Path, found: &mut Vec<DigestFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_digests(root, &path, found);
        } else if let Some(digest) = digest_file(root, &path) {
            found.push(digest);
        }
    }
}

/// `root/<bucket>/<...>/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<name>`.
fn digest_file(root: &Path, path: &Path) -> Option<DigestFile> {
    let relative = path.strip_prefix(root).ok()?.to_str()?;
    let (bucket, object) = relative.split_once('/')?;
    let name = object.rsplit('/').next()?;
    let parts: Vec<&str> = object.split('/').collect();
    let digest_dir = parts.iter().position(|part| *part == "CloudTrail-Digest")?;
    let account = (*parts.get(digest_dir.checked_sub(1)?)?).to_owned();
    let region = (*parts.get(digest_dir + 1)?).to_owned();
    let rest = name
        .strip_prefix(&format!("{account}_CloudTrail-Digest_{region}_"))?
        .strip_suffix(".json.gz")?;
    let (trail, _) = rest.rsplit_once('_')?;
    let (trail_name, home_region) = trail.rsplit_once('_')?;
    Some(DigestFile {
        chain: ChainId {
            bucket: bucket.to_owned(),
            account,
            region,
            trail_name: trail_name.to_owned(),
            home_region: home_region.to_owned(),
        },
        end_millis: digest_end_of(object)?,
        object: (bucket.to_owned(), object.to_owned()),
    })
}

/// The end time a digest's key names: `..._YYYYMMDDTHHmmssZ.json.gz`.
fn digest_end_of(object: &str) -> Option<i64> {
    let stamp = object.strip_suffix(".json.gz")?.rsplit('_').next()?;
    let digits = |range: std::ops::Range<usize>| stamp.get(range);
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        digits(0..4)?,
        digits(4..6)?,
        digits(6..8)?,
        digits(9..11)?,
        digits(11..13)?,
        digits(13..15)?
    );
    parse_event_time(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names_parse_back_to_their_chain_and_time() {
        let root = Path::new("/r");
        // An organization trail's layout: the account follows the organization id.
        let object = crate::layout::digest_key(
            Some("p"),
            Some("o-a1b2c3d4e5"),
            "111122223333",
            "eu-west-1",
            "my_trail",
            "us-east-1",
            1_700_000_000_000,
        );
        let digest = digest_file(root, &root.join("bucket").join(&object)).unwrap();
        assert_eq!(digest.chain.trail_name, "my_trail");
        assert_eq!(digest.chain.home_region, "us-east-1");
        assert_eq!(digest.chain.region, "eu-west-1");
        assert_eq!(digest.end_millis, 1_700_000_000_000);
        assert_eq!(
            digest.chain.trail_arn(),
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/my_trail"
        );
    }
}
