//! Where trails' files are written, and read back from: [`TrailSink`], with two
//! implementations, an S3 endpoint ([`crate::s3::S3Sink`]) and the local directory that stands
//! in for S3 ([`LocalDirectory`]). Delivery (`crate::delivery`) decides what to write and under
//! which key; imports (`crate::imports`) list and read log files back; a sink only moves bytes.
//!
//! Both replace an object of the same key whole, which is what keeps delivery free of duplicate
//! files: a run redone after a failure writes the same keys again. Both list keys as S3's
//! `ListObjectsV2` does: in UTF-8 byte order, a page at a time, resuming after a given key.

use std::io::{Read as _, Write as _};
use std::path::{Component, Path, PathBuf};

use palisade_core::service::BoxFuture;
use palisade_store::fsutil;

use crate::layout::{self, SIGNATURE_SUFFIX};

/// What a digest's signature is, as S3 object metadata names it (`signature-algorithm`).
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// Most keys in one page of a listing: S3's own page size.
pub const LIST_PAGE: usize = 1000;
/// The largest object [`TrailSink::get`] reads, whole, into memory. A log file holds at most a
/// few thousand records; anything far larger is not one, and must not exhaust the server.
pub const MAX_OBJECT_BYTES: u64 = 32 * 1024 * 1024;

/// A destination for trails' log files and digests, which imports read back.
pub trait TrailSink: Send + Sync + 'static {
    /// Writes `object`, replacing any object of the same bucket and key.
    fn put<'a>(&'a self, object: TrailObject<'a>) -> BoxFuture<'a, Result<(), SinkError>>;

    /// Up to [`LIST_PAGE`] keys of the objects of `bucket` whose keys start with `prefix` and
    /// sort after `after`, in key order.
    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ObjectPage, SinkError>>;

    /// The body of the object `key` of `bucket`, as stored (a log file: gzipped JSON), up to
    /// [`MAX_OBJECT_BYTES`]. It is records: never log it.
    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, SinkError>>;
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    pub keys: Vec<String>,
    /// Whether more keys follow the last one.
    pub truncated: bool,
}

/// One file of a trail: a gzipped log file or digest.
#[derive(Clone, PartialEq, Eq)]
pub struct TrailObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// The gzipped JSON.
    pub body: Vec<u8>,
    /// A digest's signature (hex), kept where AWS keeps it: the object's `x-amz-meta-signature`,
    /// beside `x-amz-meta-signature-algorithm`. `None` for log files.
    pub signature: Option<&'a str>,
    /// The ARN of the KMS key S3 encrypts the object with (SSE-KMS), for a log file of a trail
    /// with a key. A local directory keeps the file as S3 serves it to a reader the key allows:
    /// decrypted.
    pub sse_kms_key_id: Option<&'a str>,
}

impl std::fmt::Debug for TrailObject<'_> {
    // The body is the records themselves: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrailObject")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("bytes", &self.body.len())
            .field("sse_kms_key_id", &self.sse_kms_key_id)
            .finish_non_exhaustive()
    }
}

/// A write that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    /// The S3 error code `GetTrailStatus` reports (`NoSuchBucket`, `AccessDenied`, ...). `None`
    /// when no answer came (unreachable, timed out): AWS reports only the bucket's errors there.
    pub code: Option<String>,
    /// What went wrong, for the server's log.
    pub detail: String,
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

/// The stand-in for S3: `<root>/<bucket>/<key>` ([`layout::object_path`]), a digest's signature
/// in a sidecar file beside it. Missing bucket directories are made.
#[derive(Debug, Clone)]
pub struct LocalDirectory {
    root: PathBuf,
}

impl LocalDirectory {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
}

impl TrailSink for LocalDirectory {
    fn put<'a>(&'a self, object: TrailObject<'a>) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let path = layout::object_path(&self.root, object.bucket, object.key);
            let sidecar = object.signature.map(|signature| {
                let mut sidecar = path.clone().into_os_string();
                sidecar.push(SIGNATURE_SUFFIX);
                (PathBuf::from(sidecar), signature.as_bytes().to_vec())
            });
            // The digest first: a sidecar without its digest would be a signature of nothing.
            write_durably(path, object.body).await?;
            if let Some((sidecar, signature)) = sidecar {
                write_durably(sidecar, signature).await?;
            }
            Ok(())
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ObjectPage, SinkError>> {
        let root = self.root.clone();
        let (bucket, prefix, after) = (
            bucket.to_owned(),
            prefix.to_owned(),
            after.map(str::to_owned),
        );
        Box::pin(async move {
            let location = format!("s3://{bucket}/{prefix}");
            tokio::task::spawn_blocking(move || {
                list_blocking(&root, &bucket, &prefix, after.as_deref())
            })
            .await
            .map_err(|error| read_failed(&location, &error, "InternalError"))?
        })
    }

    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, SinkError>> {
        let root = self.root.clone();
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        Box::pin(async move {
            let location = format!("s3://{bucket}/{key}");
            tokio::task::spawn_blocking(move || get_blocking(&root, &bucket, &key))
                .await
                .map_err(|error| read_failed(&location, &error, "InternalError"))?
        })
    }
}

/// The keys of `bucket`'s objects under `prefix` after `after`: every file below the bucket's
/// directory, named by its path with `/` between the parts, except what stands in for no
/// object (a digest's signature sidecar, a write in progress) and what is not a plain file.
fn list_blocking(
    root: &Path,
    bucket: &str,
    prefix: &str,
    after: Option<&str>,
) -> Result<ObjectPage, SinkError> {
    let location = format!("s3://{bucket}/{prefix}");
    let bucket_dir = bucket_dir(root, bucket, &location)?;
    // Only the directory the prefix ends in, and below, can hold keys with that prefix. A
    // prefix with parts a directory cannot have (`..`) names no file.
    let directory = prefix
        .rfind('/')
        .and_then(|end| prefix.get(..end))
        .unwrap_or("");
    let Some(start) = relative_path(directory) else {
        return Ok(ObjectPage::default());
    };
    let mut keys = Vec::new();
    let mut pending = vec![(bucket_dir.join(start), directory.to_owned())];
    while let Some((dir, key_of_dir)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(io_failed(&location, &error)),
        };
        for entry in entries {
            let entry = entry.map_err(|error| io_failed(&location, &error))?;
            // A name that is not UTF-8 is no key S3 could have.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let key = if key_of_dir.is_empty() {
                name.clone()
            } else {
                format!("{key_of_dir}/{name}")
            };
            // Not followed: a link could lead out of the bucket.
            let kind = entry
                .file_type()
                .map_err(|error| io_failed(&location, &error))?;
            if kind.is_dir() {
                pending.push((entry.path(), key));
            } else if kind.is_file()
                && !name.ends_with(SIGNATURE_SUFFIX)
                && !name.ends_with(PARTIAL_SUFFIX)
                && key.starts_with(prefix)
                && after.is_none_or(|after| key.as_str() > after)
            {
                keys.push(key);
            }
        }
    }
    keys.sort_unstable();
    let truncated = keys.len() > LIST_PAGE;
    keys.truncate(LIST_PAGE);
    Ok(ObjectPage { keys, truncated })
}

fn get_blocking(root: &Path, bucket: &str, key: &str) -> Result<Vec<u8>, SinkError> {
    let location = format!("s3://{bucket}/{key}");
    let no_such_key = || SinkError {
        code: Some("NoSuchKey".to_owned()),
        detail: format!("reading {location}: no such object"),
    };
    let bucket_dir = bucket_dir(root, bucket, &location)?;
    let path = bucket_dir.join(relative_path(key).ok_or_else(no_such_key)?);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(no_such_key()),
        Err(error) => return Err(io_failed(&location, &error)),
    };
    let metadata = file
        .metadata()
        .map_err(|error| io_failed(&location, &error))?;
    if !metadata.is_file() {
        return Err(no_such_key());
    }
    if metadata.len() > MAX_OBJECT_BYTES {
        return Err(too_large(&location));
    }
    let mut body = Vec::new();
    file.take(MAX_OBJECT_BYTES)
        .read_to_end(&mut body)
        .map_err(|error| io_failed(&location, &error))?;
    Ok(body)
}

/// The directory of `bucket`, which must exist: a bucket name is one plain path part, so that
/// no name leads out of the root.
fn bucket_dir(root: &Path, bucket: &str, location: &str) -> Result<PathBuf, SinkError> {
    let no_such_bucket = || SinkError {
        code: Some("NoSuchBucket".to_owned()),
        detail: format!("reading {location}: no such bucket"),
    };
    let mut parts = Path::new(bucket).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) if !bucket.contains('/') => {}
        _ => return Err(no_such_bucket()),
    }
    let dir = root.join(bucket);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(no_such_bucket())
    }
}

/// `key` (`a/b/c`) as a relative path, when each of its parts is a plain file name.
fn relative_path(key: &str) -> Option<PathBuf> {
    if key.is_empty() {
        return Some(PathBuf::new());
    }
    let mut path = PathBuf::new();
    for part in key.split('/') {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) => path.push(name),
            _ => return None,
        }
    }
    Some(path)
}

/// A read that failed on the local side, with the code S3 would answer for the same trouble.
fn io_failed(location: &str, error: &std::io::Error) -> SinkError {
    let code = match error.kind() {
        std::io::ErrorKind::PermissionDenied => "AccessDenied",
        _ => "InternalError",
    };
    read_failed(location, error, code)
}

fn read_failed(location: &str, error: &dyn std::fmt::Display, code: &str) -> SinkError {
    SinkError {
        code: Some(code.to_owned()),
        detail: format!("reading {location} failed: {error}"),
    }
}

/// An object larger than [`MAX_OBJECT_BYTES`].
pub(crate) fn too_large(location: &str) -> SinkError {
    SinkError {
        code: Some("EntityTooLarge".to_owned()),
        detail: format!("{location} is larger than the {MAX_OBJECT_BYTES} bytes an import reads"),
    }
}

/// What a file being written is named, beside its final name, until it is renamed into place.
const PARTIAL_SUFFIX: &str = ".partial";

/// Writes `bytes` to `path` durably and atomically: a temporary file beside it, synced, renamed
/// over it, and every directory entry involved synced. An existing file is replaced whole.
async fn write_durably(path: PathBuf, bytes: Vec<u8>) -> Result<(), SinkError> {
    let failed = |error: &dyn std::fmt::Display, code: &str| SinkError {
        code: Some(code.to_owned()),
        detail: format!("delivery to {} failed: {error}", path.display()),
    };
    let target = path.clone();
    tokio::task::spawn_blocking(move || write_durably_blocking(&target, &bytes))
        .await
        .map_err(|error| failed(&error, "InternalError"))?
        // The codes S3 would answer for the same trouble with a bucket.
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::PermissionDenied => failed(&error, "AccessDenied"),
            _ => failed(&error, "InternalError"),
        })
}

fn write_durably_blocking(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let Some(dir) = path.parent() else {
        return Err(std::io::Error::other("the path has no directory"));
    };
    // The directories about to be made: each one's entry in its parent must be synced too.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
        .collect();
    std::fs::create_dir_all(dir)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(PARTIAL_SUFFIX);
    let temporary = PathBuf::from(temporary);
    match std::fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut file = fsutil::create_private_file(&temporary)?;
    file.write_all(bytes).and_then(|()| file.sync_all())?;
    std::fs::rename(&temporary, path)?;
    fsutil::sync_dir(dir).map_err(std::io::Error::other)?;
    for created in missing {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsutil::sync_dir(parent).map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink_with(files: &[&str]) -> (tempfile::TempDir, LocalDirectory) {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file.as_bytes()).unwrap();
        }
        let sink = LocalDirectory::new(dir.path().to_owned());
        (dir, sink)
    }

    #[tokio::test]
    async fn a_local_directory_lists_and_reads_like_s3() {
        let (_dir, sink) = sink_with(&[
            "bucket/p/a.json.gz",
            "bucket/p/b/c.json.gz",
            "bucket/p/b/c.json.gz.signature",
            "bucket/p/d.json.gz.partial",
            "bucket/pq.json.gz",
            "bucket/q/e.json.gz",
            "other/p/f.json.gz",
        ]);
        let page = sink.list("bucket", "p", None).await.unwrap();
        assert_eq!(page.keys, ["p/a.json.gz", "p/b/c.json.gz", "pq.json.gz"]);
        assert!(!page.truncated);
        let page = sink
            .list("bucket", "p/", Some("p/a.json.gz"))
            .await
            .unwrap();
        assert_eq!(page.keys, ["p/b/c.json.gz"]);
        assert_eq!(sink.list("bucket", "", None).await.unwrap().keys.len(), 4);
        assert!(
            sink.list("bucket", "p/../", None)
                .await
                .unwrap()
                .keys
                .is_empty()
        );
        assert_eq!(
            sink.get("bucket", "p/b/c.json.gz").await.unwrap(),
            b"bucket/p/b/c.json.gz"
        );

        let code = |error: SinkError| error.code.unwrap();
        assert_eq!(
            code(sink.list("nope", "", None).await.unwrap_err()),
            "NoSuchBucket"
        );
        assert_eq!(
            code(sink.list("..", "", None).await.unwrap_err()),
            "NoSuchBucket"
        );
        assert_eq!(
            code(sink.get("bucket", "p/x").await.unwrap_err()),
            "NoSuchKey"
        );
        assert_eq!(
            code(sink.get("bucket", "p").await.unwrap_err()),
            "NoSuchKey"
        );
        for outside in ["../other/p/f.json.gz", "/etc/hostname", "p/./a.json.gz"] {
            assert_eq!(
                code(sink.get("bucket", outside).await.unwrap_err()),
                "NoSuchKey"
            );
        }
    }

    #[tokio::test]
    async fn a_long_listing_comes_a_page_at_a_time() {
        let names: Vec<String> = (0..=LIST_PAGE).map(|n| format!("b/k/{n:05}")).collect();
        let (_dir, sink) = sink_with(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let first = sink.list("b", "k/", None).await.unwrap();
        assert_eq!(first.keys.len(), LIST_PAGE);
        assert!(first.truncated);
        let rest = sink
            .list("b", "k/", first.keys.last().map(String::as_str))
            .await
            .unwrap();
        assert_eq!(rest.keys, [format!("k/{LIST_PAGE:05}")]);
        assert!(!rest.truncated);
    }
}
