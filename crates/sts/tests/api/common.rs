//! The test harness: IAM and STS over one fresh store, a clock the tests move, and request
//! contexts for root, users and sessions.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::hmac;
use palisade_core::clock::{Clock as _, ManualClock};
use palisade_core::service::ErrorKind;
use palisade_core::{AccountId, Principal, PrincipalKind, Region, RequestContext, ServiceError};
use palisade_iam::IamState;
use palisade_model_iam::Iam as _;
use palisade_model_iam::types::{
    CreateRoleRequest, CreateUserRequest, CreateVirtualMFADeviceRequest, EnableMFADeviceRequest,
    PutUserPolicyRequest,
};
use palisade_model_sts::Sts as _;
use palisade_model_sts::types::{AssumeRoleRequest, AssumeRoleResponse};
use palisade_store::{Store, StoreConfig};
use palisade_sts::{SessionRecord, StsState};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const ACCOUNT: &str = "000000000000";

pub struct Harness {
    pub iam: Arc<IamState>,
    pub sts: StsState,
    pub store: Store,
    pub clock: ManualClock,
    pub dir: TempDir,
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
        let iam = Arc::new(IamState::new(store.clone(), Arc::new(clock.clone())));
        let sts = StsState::new(store.clone(), Arc::new(clock.clone()), Arc::clone(&iam));
        Self {
            iam,
            sts,
            store,
            clock,
            dir,
        }
    }

    pub fn now(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// A request by `principal`, at the clock's time.
    pub fn context(&self, principal: Principal) -> RequestContext {
        RequestContext {
            request_id: "test-request".to_owned(),
            principal,
            region: Region::us_east_1(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            user_agent: "tests".to_owned(),
            time: self.clock.now(),
            secure_transport: true,
        }
    }

    pub fn root(&self) -> RequestContext {
        self.context(Principal::root(account(), "test"))
    }

    /// Creates the IAM user `name`, with `policy` inline when given, and a context for it.
    pub async fn user(&self, name: &str, policy: Option<&str>) -> RequestContext {
        let user = self
            .iam
            .create_user(
                &self.root(),
                CreateUserRequest {
                    user_name: name.to_owned(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .user
            .unwrap();
        if let Some(policy) = policy {
            self.iam
                .put_user_policy(
                    &self.root(),
                    PutUserPolicyRequest {
                        user_name: name.to_owned(),
                        policy_name: "inline".to_owned(),
                        policy_document: policy.to_owned(),
                    },
                )
                .await
                .unwrap();
        }
        self.context(Principal {
            account: account(),
            arn: user.arn,
            user_id: user.user_id,
            kind: PrincipalKind::User {
                name: name.to_owned(),
            },
            access_key_id: "AKIAEXAMPLE".to_owned(),
            tags: Vec::new(),
        })
    }

    /// Creates the role `name` trusting as `trust` says.
    pub async fn role(&self, name: &str, trust: &str, max_session_duration: Option<i32>) {
        self.iam
            .create_role(
                &self.root(),
                CreateRoleRequest {
                    role_name: name.to_owned(),
                    assume_role_policy_document: trust.to_owned(),
                    max_session_duration,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    /// A virtual MFA device enabled for `user`: its serial number and seed.
    pub async fn mfa_device(&self, user: &str) -> (String, Vec<u8>) {
        let device = self
            .iam
            .create_virtual_mfa_device(
                &self.root(),
                CreateVirtualMFADeviceRequest {
                    virtual_mfa_device_name: format!("{user}-phone"),
                    path: None,
                    tags: None,
                },
            )
            .await
            .unwrap()
            .virtual_mfa_device;
        let seed_text =
            String::from_utf8(device.base32_string_seed.unwrap().expose().0.clone()).unwrap();
        let seed = base32_decode(&seed_text);
        let now = self.now();
        self.iam
            .enable_mfa_device(
                &self.root(),
                EnableMFADeviceRequest {
                    user_name: user.to_owned(),
                    serial_number: device.serial_number.clone(),
                    authentication_code1: totp(&seed, now - 30),
                    authentication_code2: totp(&seed, now),
                },
            )
            .await
            .unwrap();
        // The codes just used cannot be used again: step past them.
        self.clock.advance(Duration::from_secs(30));
        (device.serial_number, seed)
    }

    /// `AssumeRole` of `role` as `ctx`, with the rest of the request from `rest`.
    pub async fn assume(
        &self,
        ctx: &RequestContext,
        role: &str,
        rest: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, ServiceError> {
        self.sts
            .assume_role(
                ctx,
                AssumeRoleRequest {
                    role_arn: role_arn(role),
                    role_session_name: if rest.role_session_name.is_empty() {
                        "session".to_owned()
                    } else {
                        rest.role_session_name.clone()
                    },
                    ..rest
                },
            )
            .await
    }

    /// The stored session of `access_key_id`.
    pub async fn session(&self, access_key_id: &str) -> SessionRecord {
        self.sts.session(access_key_id).await.unwrap().unwrap()
    }

    /// A request signed with the credentials of `response`, as the server's authenticator
    /// would build it from the session.
    pub async fn session_context(&self, access_key_id: &str) -> RequestContext {
        let record = self.session(access_key_id).await;
        self.context(record.principal())
    }
}

pub fn account() -> AccountId {
    AccountId::local_default()
}

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// A trust policy allowing `principal` (an `AWS` principal) `actions`, with an optional
/// condition block.
pub fn trust(principal: &str, actions: &[&str], condition: Option<&str>) -> String {
    let actions: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
    let condition = condition
        .map(|c| format!(", \"Condition\": {c}"))
        .unwrap_or_default();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "{principal}"}}, "Action": [{}]{condition}}}]}}"#,
        actions.join(", ")
    )
}

/// The error's code, for modeled errors, or the common error's name.
pub fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

/// Asserts that `result` failed with `expected_code` and a message starting with `expected`.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
    expected: &str,
) {
    let error = result.expect_err("the call should have failed");
    assert_eq!(code(&error), expected_code, "{}", error.message);
    assert!(
        error.message.starts_with(expected),
        "{:?} does not start with {expected:?}",
        error.message
    );
}

/// TOTP as an authenticator app computes it (RFC 6238: HMAC-SHA1, 30 s, 6 digits).
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
