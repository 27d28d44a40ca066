//! The test harness: KMS over a fresh store, a clock the tests move, and the root user's
//! request context.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::service::{ErrorKind, Service};
use palisade_core::value::Blob;
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, Sensitive, ServiceError,
};
use palisade_kms::KmsState;
use palisade_model_kms::types::*;
use palisade_model_kms::{KmsService, MODEL};
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const DAY: Duration = Duration::from_secs(86_400);

/// Keeps every event KMS publishes, for tests to read.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<ServiceEvent>>);

impl EventSink for Recorder {
    fn publish(&self, event: ServiceEvent) {
        self.0.lock().unwrap().push(event);
    }
}

pub struct Harness {
    pub service: KmsService<KmsState>,
    pub events: Arc<Recorder>,
    pub clock: ManualClock,
    pub dir: TempDir,
    pub store: Store,
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
        let events = Arc::new(Recorder::default());
        let service = KmsService(Arc::new(
            KmsState::new(store.clone(), Arc::new(clock.clone()))
                .with_events(Arc::clone(&events) as Arc<dyn EventSink>),
        ));
        Self {
            service,
            events,
            clock,
            dir,
            store,
            root: context("us-east-1"),
        }
    }

    pub fn kms(&self) -> &KmsState {
        &self.service.0
    }

    /// The events published so far, as (detail-type, resources, detail as JSON).
    pub fn published(&self) -> Vec<(String, Vec<String>, serde_json::Value)> {
        self.events
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|event| {
                (
                    event.detail_type.clone(),
                    event.resources.clone(),
                    serde_json::from_str(&event.detail).unwrap(),
                )
            })
            .collect()
    }

    /// Calls `operation` the way the server does: the input is validated against the model
    /// first, then dispatched through the generated service.
    pub async fn call<O: FromValue>(
        &self,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        self.call_as(&self.root, operation, input).await
    }

    pub async fn call_as<O: FromValue>(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let input = input.into_value();
        if let Some(shape) = operation.input {
            palisade_core::validate::validate(&MODEL, shape, &input)
                .map_err(ServiceError::validation)?;
        }
        let output = self.service.call(ctx, operation, input).await?;
        Ok(O::from_value(output).unwrap())
    }

    /// Creates a key of `spec` for `usage` and returns its metadata.
    pub async fn create_key(&self, spec: &str, usage: &str) -> KeyMetadata {
        let response: CreateKeyResponse = self
            .call(
                "CreateKey",
                CreateKeyRequest {
                    key_spec: Some(KeySpec::from(spec)),
                    key_usage: Some(KeyUsageType::from(usage)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        response.key_metadata.unwrap()
    }

    pub async fn symmetric_key(&self) -> String {
        self.create_key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
            .await
            .key_id
    }

    pub async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &[(&str, &str)],
    ) -> Result<Vec<u8>, ServiceError> {
        let response: EncryptResponse = self
            .call(
                "Encrypt",
                EncryptRequest {
                    key_id: key_id.to_owned(),
                    plaintext: Sensitive::new(Blob(plaintext.to_vec())),
                    encryption_context: encryption_context(context),
                    ..Default::default()
                },
            )
            .await?;
        Ok(response.ciphertext_blob.unwrap().0)
    }

    pub async fn decrypt(
        &self,
        key_id: Option<&str>,
        blob: &[u8],
        context: &[(&str, &str)],
    ) -> Result<Vec<u8>, ServiceError> {
        let response: DecryptResponse = self
            .call(
                "Decrypt",
                DecryptRequest {
                    key_id: key_id.map(str::to_owned),
                    ciphertext_blob: Some(Blob(blob.to_vec())),
                    encryption_context: encryption_context(context),
                    ..Default::default()
                },
            )
            .await?;
        Ok(response.plaintext.unwrap().expose().0.clone())
    }

    pub async fn describe(&self, key_id: &str) -> KeyMetadata {
        let response: DescribeKeyResponse = self
            .call(
                "DescribeKey",
                DescribeKeyRequest {
                    key_id: key_id.to_owned(),
                    grant_tokens: None,
                },
            )
            .await
            .unwrap();
        response.key_metadata.unwrap()
    }

    pub async fn rotation_status(&self, id: &str) -> GetKeyRotationStatusResponse {
        self.call(
            "GetKeyRotationStatus",
            GetKeyRotationStatusRequest {
                key_id: id.to_owned(),
            },
        )
        .await
        .unwrap()
    }

    pub async fn rotations(&self, id: &str, all: bool) -> Vec<RotationsListEntry> {
        let response: ListKeyRotationsResponse = self
            .call(
                "ListKeyRotations",
                ListKeyRotationsRequest {
                    key_id: id.to_owned(),
                    include_key_material: all.then_some(IncludeKeyMaterial::AllKeyMaterial),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        response.rotations.unwrap()
    }

    pub async fn last_usage(&self, key_id: &str) -> GetKeyLastUsageResponse {
        self.call(
            "GetKeyLastUsage",
            GetKeyLastUsageRequest {
                key_id: key_id.to_owned(),
            },
        )
        .await
        .unwrap()
    }

    pub async fn grants(&self, key_id: &str) -> Vec<GrantListEntry> {
        let response: ListGrantsResponse = self
            .call(
                "ListGrants",
                ListGrantsRequest {
                    limit: None,
                    marker: None,
                    key_id: key_id.to_owned(),
                    grant_id: None,
                    grantee_principal: None,
                },
            )
            .await
            .unwrap();
        response.grants.unwrap()
    }

    /// Calls an operation that answers nothing, for its error.
    pub async fn act(&self, operation: &str, input: impl IntoValue) -> Result<(), ServiceError> {
        self.call::<palisade_core::Value>(operation, input)
            .await
            .map(|_| ())
    }
}

pub fn encryption_context(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    (!pairs.is_empty()).then(|| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    })
}

/// A request context for the root user of the default account in `region`.
pub fn context(region: &str) -> RequestContext {
    RequestContext {
        request_id: "test-request".to_owned(),
        principal: Principal::root(AccountId::local_default(), "test"),
        region: Region::parse(region).unwrap(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "tests".to_owned(),
        time: SystemTime::now(),
        secure_transport: false,
    }
}

pub fn arn(key_id: &str) -> String {
    format!("arn:aws:kms:us-east-1:000000000000:key/{key_id}")
}

/// The error's code, for modeled errors, or the common error's name.
pub fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

/// Asserts that `result` failed with `expected_code`, and returns the message.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
) -> String {
    let error = result.expect_err("the call should have failed");
    assert_eq!(code(&error), expected_code, "{}", error.message);
    error.message
}
