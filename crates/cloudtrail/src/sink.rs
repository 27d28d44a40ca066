//! Where trails' files are written: [`TrailSink`], with two implementations, an S3 endpoint
//! ([`crate::s3::S3Sink`]) and the local directory that stands in for S3 ([`LocalDirectory`]).
//! Delivery (`crate::delivery`) decides what to write and under which key; a sink only writes.
//!
//! Both replace an object of the same key whole, which is what keeps delivery free of duplicate
//! files: a run redone after a failure writes the same keys again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use palisade_core::service::BoxFuture;
use palisade_store::fsutil;

use crate::layout::{self, SIGNATURE_SUFFIX};

/// What a digest's signature is, as S3 object metadata names it (`signature-algorithm`).
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// A destination for trails' log files and digests.
pub trait TrailSink: Send + Sync + 'static {
    /// Writes `object`, replacing any object of the same bucket and key.
    fn put<'a>(&'a self, object: TrailObject<'a>) -> BoxFuture<'a, Result<(), SinkError>>;
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
}

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
    temporary.push(".partial");
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
