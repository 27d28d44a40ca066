//! Delivery to an S3-compatible endpoint through the AWS SDK's S3 client: log files and digests
//! are put as AWS puts them (gzipped JSON, `Content-Type: application/json`,
//! `Content-Encoding: gzip`; a digest's signature in its `x-amz-meta-signature` and
//! `x-amz-meta-signature-algorithm` metadata), so `aws cloudtrail validate-logs` reads them. A
//! trail's log files under its KMS key are put with `x-amz-server-side-encryption: aws:kms` and
//! the key's ARN, for the server to encrypt them (SSE-KMS). Imports list log files with
//! `ListObjectsV2` and read them with `GetObject`, as stored (gzipped).
//!
//! Buckets are addressed path-style (`<endpoint>/<bucket>/<key>`), which every S3-compatible
//! server answers. The region and credentials are the configured ones, or else the standard AWS
//! environment's (variables, profile, container or instance role); the region defaults to
//! `us-east-1`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use palisade_core::Sensitive;
use palisade_core::service::BoxFuture;

use crate::sink::{
    LIST_PAGE, MAX_OBJECT_BYTES, ObjectPage, SIGNATURE_ALGORITHM, SinkError, TrailObject,
    TrailSink, too_large,
};

/// Longest a request may take, retries included: a hung endpoint must not hold up every later
/// delivery run, or an import.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and as whom trails deliver to S3.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The endpoint URL, `http://` or `https://`.
    pub endpoint: String,
    /// The buckets' region; the standard AWS environment's when `None`.
    pub region: Option<String>,
    /// The standard AWS environment's when `None`.
    pub credentials: Option<S3Credentials>,
}

/// An access key for S3.
#[derive(Debug, Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
}

/// Trails' files in the buckets of one S3 endpoint.
#[derive(Debug, Clone)]
pub struct S3Sink {
    client: aws_sdk_s3::Client,
}

impl S3Sink {
    /// A client for `settings`. Nothing is sent yet: an unreachable endpoint shows at the first
    /// delivery, in the server's log.
    pub async fn connect(settings: &S3Settings) -> Self {
        let region = RegionProviderChain::first_try(settings.region.clone().map(Region::new))
            .or_default_provider()
            .or_else(Region::from_static("us-east-1"));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
        if let Some(credentials) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.expose().clone(),
                None,
                None,
                "palisade-trail-s3",
            ));
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .endpoint_url(settings.endpoint.clone())
            .force_path_style(true)
            // Checksums beyond what PutObject requires are not understood by every
            // S3-compatible server.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(REQUEST_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }
}

impl TrailSink for S3Sink {
    fn put<'a>(&'a self, object: TrailObject<'a>) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .put_object()
                .bucket(object.bucket)
                .key(object.key)
                .content_type("application/json")
                .content_encoding("gzip")
                .body(ByteStream::from(object.body));
            if let Some(key) = object.sse_kms_key_id {
                request = request
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .ssekms_key_id(key);
            }
            if let Some(signature) = object.signature {
                request = request
                    .metadata("signature", signature)
                    .metadata("signature-algorithm", SIGNATURE_ALGORITHM);
            }
            request.send().await.map(|_| ()).map_err(|error| {
                failed(
                    &error,
                    &format!("putting s3://{}/{}", object.bucket, object.key),
                )
            })
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ObjectPage, SinkError>> {
        Box::pin(async move {
            let listed = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_start_after(after.map(str::to_owned))
                .max_keys(i32::try_from(LIST_PAGE).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|error| failed(&error, &format!("listing s3://{bucket}/{prefix}")))?;
            Ok(ObjectPage {
                keys: listed
                    .contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned))
                    .collect(),
                truncated: listed.is_truncated().unwrap_or(false),
            })
        })
    }

    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, SinkError>> {
        Box::pin(async move {
            let location = format!("s3://{bucket}/{key}");
            let object = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|error| failed(&error, &format!("getting {location}")))?;
            let length = object
                .content_length()
                .and_then(|length| u64::try_from(length).ok());
            if length.is_some_and(|length| length > MAX_OBJECT_BYTES) {
                return Err(too_large(&location));
            }
            let body = object.body.collect().await.map_err(|error| SinkError {
                code: None,
                detail: format!("reading {location}: {error}"),
            })?;
            Ok(body.into_bytes().to_vec())
        })
    }
}

/// A request that failed: S3's error code when it answered one.
fn failed<E, R>(error: &SdkError<E, R>, action: &str) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SinkError {
        code: error
            .as_service_error()
            .and_then(ProvideErrorMetadata::code)
            .map(str::to_owned),
        detail: format!("{action}: {}", DisplayErrorContext(error)),
    }
}
