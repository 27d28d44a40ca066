//! Digest files, for trails with log file validation: each lists the log files delivered in its
//! period with their SHA-256, names the previous digest with its hash and signature (a chain, so
//! a removed digest shows), and is signed with RSA PKCS#1 v1.5 SHA-256 by the signing key of
//! the trail's home region. `ListPublicKeys` answers the public halves, named by fingerprint,
//! which is how validators find the key of a digest.
//!
//! What is signed is AWS's documented string:
//! `<digestEndTime>\n<digestS3Bucket>/<digestS3Object>\n<hex SHA-256 of the uncompressed
//! digest>\n<previousDigestSignature, or "null" for the first digest of a chain>`.
//!
//! Signing keys are made on first use, one per region, and kept in the store: the private key
//! (PKCS#8) as a secret value in [`SIGNING_KEYS`], sealed at rest, and its public half, with its
//! fingerprint and since when it is valid, in the clear in [`PUBLIC_KEYS`]. Keys do not rotate.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest as _, Md5};
use palisade_core::value::{Blob, Timestamp};
use palisade_core::{RequestContext, ServiceError};
use palisade_model_cloudtrail::types::{ListPublicKeysRequest, ListPublicKeysResponse, PublicKey};
use palisade_store::typed::{self, Stored};
use palisade_store::{SecretBytes, Store, Transaction, Value};
use serde::{Deserialize, Serialize};

use crate::CloudTrailState;
use crate::db::store_error;
use crate::layout;
use crate::lookup::millis;
use crate::sink::SIGNATURE_ALGORITHM;

/// Private signing keys, by region; sealed.
pub(crate) const SIGNING_KEYS: &str = "cloudtrail/digest-signing-keys";
/// Public halves of the signing keys, `<region>/<fingerprint>`.
pub const PUBLIC_KEYS: &str = "cloudtrail/digest-public-keys";

/// A log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestedLogFile {
    pub s3_bucket: String,
    pub s3_object: String,
    /// Hex SHA-256 of the uncompressed file, as AWS's validators compute it.
    pub hash_value: String,
    pub hash_algorithm: String,
    pub newest_event_time: String,
    pub oldest_event_time: String,
}

/// What the next digest of a chain says about the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PreviousDigest {
    pub bucket: String,
    pub object: String,
    /// Hex SHA-256 of the uncompressed digest.
    pub hash_value: String,
    /// Hex signature.
    pub signature: String,
}

/// A digest file's content, in AWS's field order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestDocument {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
    pub previous_digest_s3_bucket: Option<String>,
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    pub log_files: Vec<DigestedLogFile>,
}

/// Which digest to write: the trail it belongs to, the region whose log files it lists, its
/// period and its place in the chain.
pub(crate) struct DigestPlan<'a> {
    /// The organization of an organization trail.
    pub organization: Option<&'a str>,
    /// The account whose log files the digest lists.
    pub account: &'a str,
    pub bucket: &'a str,
    pub prefix: Option<&'a str>,
    pub region: &'a str,
    pub trail_name: &'a str,
    pub home_region: &'a str,
    pub start_millis: i64,
    pub end_millis: i64,
    pub previous: Option<&'a PreviousDigest>,
    pub log_files: &'a [DigestedLogFile],
}

/// The signing key's public half as stored in [`PUBLIC_KEYS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PublicKeyRecord {
    pub fingerprint: String,
    /// DER of the PKCS#1 `RSAPublicKey`, base64: what `ListPublicKeys` answers and
    /// validators load.
    pub public_key: String,
    pub valid_from_millis: i64,
}

impl DigestDocument {
    /// The string the digest's signature covers, as AWS documents it.
    pub fn string_to_sign(&self, uncompressed: &[u8]) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.digest_end_time,
            self.digest_s3_bucket,
            self.digest_s3_object,
            sha256_hex(uncompressed),
            self.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }
}

/// A signed digest, ready to deliver.
pub(crate) struct SignedDigest {
    /// Its key in the bucket.
    pub object: String,
    /// Gzipped.
    pub body: Vec<u8>,
    /// What the next digest of the chain names as its previous one; its `signature` is this
    /// digest's.
    pub chained: PreviousDigest,
}

/// Makes and signs the digest `plan` describes.
pub(crate) async fn sign_digest(
    state: &CloudTrailState,
    plan: DigestPlan<'_>,
) -> Result<SignedDigest, ServiceError> {
    let (pair, fingerprint) = signing_key(&state.store, plan.home_region, plan.end_millis).await?;
    let object = layout::digest_key(
        plan.prefix,
        plan.organization,
        plan.account,
        plan.region,
        plan.trail_name,
        plan.home_region,
        plan.end_millis,
    );
    let times = plan
        .log_files
        .iter()
        .flat_map(|file| [&file.oldest_event_time, &file.newest_event_time]);
    // ISO 8601 in UTC to the second sorts as it reads.
    let oldest = times.clone().min().cloned();
    let newest = times.max().cloned();
    let document = DigestDocument {
        aws_account_id: plan.account.to_owned(),
        digest_start_time: layout::iso_seconds(plan.start_millis),
        digest_end_time: layout::iso_seconds(plan.end_millis),
        digest_s3_bucket: plan.bucket.to_owned(),
        digest_s3_object: object.clone(),
        digest_public_key_fingerprint: fingerprint,
        digest_signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
        newest_event_time: newest,
        oldest_event_time: oldest,
        previous_digest_s3_bucket: plan.previous.map(|previous| previous.bucket.clone()),
        previous_digest_s3_object: plan.previous.map(|previous| previous.object.clone()),
        previous_digest_hash_value: plan.previous.map(|previous| previous.hash_value.clone()),
        previous_digest_hash_algorithm: plan.previous.map(|_| "SHA-256".to_owned()),
        previous_digest_signature: plan.previous.map(|previous| previous.signature.clone()),
        log_files: plan.log_files.to_vec(),
    };
    let uncompressed = serde_json::to_vec(&document)
        .map_err(|error| ServiceError::internal(format!("encoding a digest: {error}")))?;
    let to_sign = document.string_to_sign(&uncompressed);
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        to_sign.as_bytes(),
        &mut signature,
    )
    .map_err(|_| ServiceError::internal("signing a digest failed"))?;
    Ok(SignedDigest {
        body: crate::delivery::gzip(&uncompressed)?,
        chained: PreviousDigest {
            bucket: plan.bucket.to_owned(),
            object: object.clone(),
            hash_value: sha256_hex(&uncompressed),
            signature: hex::encode(signature),
        },
        object,
    })
}

pub(crate) async fn list_public_keys(
    state: &CloudTrailState,
    ctx: &RequestContext,
    input: ListPublicKeysRequest,
) -> Result<ListPublicKeysResponse, ServiceError> {
    let end = input
        .end_time
        .map_or_else(|| state.clock.now_millis(), millis);
    let keys = public_keys(&state.store, Some(ctx.region.as_str()))
        .await
        .map_err(store_error)?;
    let listed = keys
        .into_iter()
        // Keys do not expire: a key is valid from its creation on, so it overlaps every range
        // that ends after that, whatever the range's start.
        .filter(|key| key.valid_from_millis <= end)
        .map(|key| PublicKey {
            value: STANDARD.decode(&key.public_key).ok().map(Blob),
            validity_start_time: Some(Timestamp::from_millis(key.valid_from_millis)),
            validity_end_time: None,
            fingerprint: Some(key.fingerprint),
        })
        .collect();
    Ok(ListPublicKeysResponse {
        public_key_list: Some(listed),
        next_token: None,
    })
}

/// The public halves of the signing keys, of `region` or of every region.
pub(crate) async fn public_keys(
    store: &Store,
    region: Option<&str>,
) -> Result<Vec<PublicKeyRecord>, palisade_store::StoreError> {
    let prefix = region.map_or_else(String::new, |region| format!("{region}/"));
    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page =
            typed::scan_json::<PublicKeyRecord>(store, PUBLIC_KEYS, &prefix, after.as_deref(), 100)
                .await?;
        let done = page.len() < 100;
        after = page.last().map(|(key, _)| key.clone());
        keys.extend(page.into_iter().map(|(_, Stored { value, .. })| value));
        if done {
            return Ok(keys);
        }
    }
}

/// Hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// The fingerprint of a public key, as CloudTrail names keys: hex MD5 of its DER.
pub(crate) fn fingerprint(public_key_der: &[u8]) -> String {
    hex::encode(Md5::digest(public_key_der))
}

/// The signing key of `region` and its fingerprint, made (valid from `now`) if there is none.
async fn signing_key(
    store: &Store,
    region: &str,
    now: i64,
) -> Result<(RsaKeyPair, String), ServiceError> {
    let internal = |what: &str| ServiceError::internal(format!("digest signing key: {what}"));
    loop {
        if let Some(entry) = store.get(SIGNING_KEYS, region).await.map_err(store_error)? {
            let pair = RsaKeyPair::from_pkcs8(entry.value.bytes())
                .map_err(|_| internal("the stored key is unreadable"))?;
            let fingerprint = fingerprint(pair.public_key().as_ref());
            return Ok((pair, fingerprint));
        }
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| internal("generation"))?;
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|_| internal("encoding"))?;
        let public_key = pair.public_key().as_ref();
        let record = PublicKeyRecord {
            fingerprint: fingerprint(public_key),
            public_key: STANDARD.encode(public_key),
            valid_from_millis: now,
        };
        let transaction = Transaction::new()
            .expect_absent(SIGNING_KEYS, region)
            .put(
                SIGNING_KEYS,
                region,
                Value::Secret(SecretBytes::new(pkcs8.as_ref().to_vec())),
            )
            .put(
                PUBLIC_KEYS,
                &format!("{region}/{}", record.fingerprint),
                typed::plain_json(&record).map_err(store_error)?,
            );
        match store.commit(transaction).await {
            // Another delivery made the region's key first: use that one.
            Err(palisade_store::StoreError::Conflict(_)) => continue,
            Err(error) => return Err(store_error(error)),
            Ok(()) => return Ok((pair, record.fingerprint)),
        }
    }
}
