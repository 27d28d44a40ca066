//! The test harness: an IAM over a fresh store, a clock the tests move, and request contexts.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use palisade_core::clock::ManualClock;
use palisade_core::service::{ErrorKind, Service};
use palisade_core::{
    AccountId, IntoValue, Principal, PrincipalKind, Region, RequestContext, ServiceError, Value,
};
use palisade_iam::IamState;
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{GetAccessKeyLastUsedRequest, GetAccessKeyLastUsedResponse};
use palisade_model_iam::{IamService, MODEL};
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;

pub struct Harness {
    pub service: IamService<IamState>,
    pub clock: ManualClock,
    pub dir: TempDir,
    pub root: RequestContext,
}

impl Harness {
    pub async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
        let service = IamService(Arc::new(IamState::new(store, Arc::new(clock.clone()))));
        Self {
            service,
            clock,
            dir,
            root: context(Principal::root(account(), "test")),
        }
    }

    pub fn iam(&self) -> &IamState {
        &self.service.0
    }

    /// Calls `operation` the way the server does: the input is validated against the model
    /// first, then dispatched through the generated service.
    pub async fn call(
        &self,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<Value, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let input = input.into_value();
        if let Some(shape) = operation.input {
            palisade_core::validate::validate(&MODEL, shape, &input)
                .map_err(ServiceError::validation)?;
        }
        self.service.call(&self.root, operation, input).await
    }

    pub fn now(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }
}

use palisade_core::clock::Clock as _;

pub fn account() -> AccountId {
    AccountId::local_default()
}

/// A request context for `principal`.
pub fn context(principal: Principal) -> RequestContext {
    RequestContext {
        request_id: "test-request".to_owned(),
        principal,
        region: Region::us_east_1(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "tests".to_owned(),
        time: SystemTime::now(),
        secure_transport: false,
    }
}

/// A request context for the IAM user `name` of the default account.
pub fn user_context(name: &str) -> RequestContext {
    context(Principal {
        account: account(),
        arn: format!("arn:aws:iam::000000000000:user/{name}"),
        user_id: "AIDAEXAMPLE".to_owned(),
        kind: PrincipalKind::User {
            name: name.to_owned(),
        },
        access_key_id: "AKIAEXAMPLE".to_owned(),
        tags: Vec::new(),
    })
}

/// The error's code, for modeled errors, or the common error's name.
pub fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

/// Asserts that `result` failed with `expected_code` and `expected_message`.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
    expected_message: &str,
) {
    let error = result.expect_err("the call should have failed");
    assert_eq!(code(&error), expected_code, "{}", error.message);
    assert_eq!(error.message, expected_message);
}

/// Percent-decoding, as botocore does for policy documents.
pub fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub const ALLOW_S3: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
pub const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// TOTP as an authenticator app computes it (RFC 6238: HMAC-SHA1, 30 s, 6 digits), written
/// independently of the crate's.
pub fn totp(seed: &[u8], unix_secs: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &(unix_secs / 30).to_be_bytes());
    let digest = tag.as_ref();
    let offset = (digest[19] & 0xf) as usize;
    let word = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", word % 1_000_000)
}

pub fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 5) | alphabet.iter().position(|a| *a == c).unwrap() as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// `GetAccessKeyLastUsed` for `id`.
pub async fn last_used(h: &Harness, id: &str) -> GetAccessKeyLastUsedResponse {
    h.iam()
        .get_access_key_last_used(
            &h.root,
            GetAccessKeyLastUsedRequest {
                access_key_id: id.to_owned(),
            },
        )
        .await
        .unwrap()
}
