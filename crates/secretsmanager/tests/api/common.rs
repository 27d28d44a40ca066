//! The test harness: Secrets Manager over a fresh store, KMS over the same store (the server's
//! `ServiceKeys` without its authorization), a clock the tests move, and the root user's request
//! context.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::{Clock, ManualClock};
use palisade_core::keys::KeyService;
use palisade_core::service::{ErrorKind, Service};
use palisade_core::value::Timestamp;
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, Sensitive, ServiceError,
};
use palisade_kms::KmsState;
use palisade_model_secretsmanager::types::*;
use palisade_model_secretsmanager::{MODEL, SecretsmanagerService};
use palisade_secretsmanager::SecretsManagerState;
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const DAY: Duration = Duration::from_secs(86_400);
pub const DAY_SECONDS: f64 = 86_400.0;

pub struct Harness {
    pub service: SecretsmanagerService<SecretsManagerState>,
    pub kms: Arc<KmsState>,
    /// KMS as the service uses it: the server adds only authorization.
    pub keys: Arc<dyn KeyService>,
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
        let kms = Arc::new(KmsState::new(store.clone(), Arc::new(clock.clone())));
        let root = context("us-east-1");
        let keys: Arc<dyn KeyService> = kms.clone();
        let state = SecretsManagerState::new(store.clone(), Arc::new(clock.clone()), keys.clone());
        Self {
            service: SecretsmanagerService(Arc::new(state)),
            kms,
            keys,
            clock,
            dir,
            store,
            root,
        }
    }

    pub fn state(&self) -> &Arc<SecretsManagerState> {
        &self.service.0
    }

    /// A second service over the same store, as after a restart.
    pub fn restarted(&self) -> SecretsManagerState {
        SecretsManagerState::new(
            self.store.clone(),
            Arc::new(self.clock.clone()),
            Arc::clone(&self.keys),
        )
    }

    /// The manual clock's time in seconds since the epoch, as timestamps carry it.
    pub fn now_seconds(&self) -> f64 {
        Timestamp::from_millis(self.clock.now_millis()).0
    }

    /// Calls `operation` the way the server does: the input is validated against the model
    /// first, then dispatched through the generated service.
    pub async fn call<O: FromValue>(
        &self,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let input = input.into_value();
        if let Some(shape) = operation.input {
            palisade_core::validate::validate(&MODEL, shape, &input)
                .map_err(ServiceError::validation)?;
        }
        let output = self.service.call(&self.root, operation, input).await?;
        Ok(O::from_value(output).unwrap())
    }

    /// Calls `operation` as the root user acting in `region`.
    pub async fn call_in<O: FromValue>(
        &self,
        region: &str,
        operation: &str,
        input: impl IntoValue,
    ) -> Result<O, ServiceError> {
        let operation = MODEL.operation(operation).unwrap();
        let output = self
            .service
            .call(&context(region), operation, input.into_value())
            .await?;
        Ok(O::from_value(output).unwrap())
    }

    /// Calls an operation that answers nothing, for its error.
    pub async fn act(&self, operation: &str, input: impl IntoValue) -> Result<(), ServiceError> {
        self.call::<palisade_core::Value>(operation, input)
            .await
            .map(|_| ())
    }

    pub async fn create(&self, name: &str, value: &str) -> CreateSecretResponse {
        self.call(
            "CreateSecret",
            CreateSecretRequest {
                name: name.to_owned(),
                secret_string: Some(Sensitive::new(value.to_owned())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    pub async fn put(&self, id: &str, value: &str) -> PutSecretValueResponse {
        self.call(
            "PutSecretValue",
            PutSecretValueRequest {
                secret_id: id.to_owned(),
                secret_string: Some(Sensitive::new(value.to_owned())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    pub async fn get(&self, id: &str) -> Result<GetSecretValueResponse, ServiceError> {
        self.call(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: id.to_owned(),
                ..Default::default()
            },
        )
        .await
    }

    /// The AWSCURRENT SecretString of `id`.
    pub async fn current(&self, id: &str) -> String {
        self.get(id)
            .await
            .unwrap()
            .secret_string
            .unwrap()
            .expose()
            .clone()
    }

    pub async fn describe(&self, id: &str) -> Result<DescribeSecretResponse, ServiceError> {
        self.call(
            "DescribeSecret",
            DescribeSecretRequest {
                secret_id: id.to_owned(),
            },
        )
        .await
    }
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
