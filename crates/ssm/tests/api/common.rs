//! The test harness: Parameter Store and KMS over one fresh store, a clock the tests move, an
//! event sink that keeps what it is given, and the root user's request context.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::events::{EventSink, ServiceEvent};
use palisade_core::service::{ErrorKind, Service};
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, Sensitive, ServiceError,
};
use palisade_kms::KmsState;
use palisade_model_kms::Kms;
use palisade_model_kms::types as kms;
use palisade_model_ssm::types::*;
use palisade_model_ssm::{MODEL, SsmService};
use palisade_ssm::ParameterStore;
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const DAY: Duration = Duration::from_secs(86_400);

pub struct Harness {
    pub service: SsmService<ParameterStore>,
    pub kms: Arc<KmsState>,
    pub clock: ManualClock,
    pub store: Store,
    pub events: Arc<Events>,
    pub root: RequestContext,
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
        let kms = Arc::new(KmsState::new(store.clone(), Arc::new(clock.clone())));
        let root = context("us-east-1");
        let events = Arc::new(Events::default());
        // KMS itself serves as the service's KeyService: the server adds only authorization.
        let parameters = ParameterStore::new(store.clone(), Arc::new(clock.clone()), kms.clone())
            .with_events(events.clone());
        Self {
            service: SsmService(Arc::new(parameters)),
            kms,
            clock,
            store,
            events,
            root,
            dir,
        }
    }

    /// A second Parameter Store over the same store, as after a restart.
    pub fn restarted(&self) -> ParameterStore {
        ParameterStore::new(
            self.store.clone(),
            Arc::new(self.clock.clone()),
            self.kms.clone(),
        )
        .with_events(self.events.clone())
    }

    pub fn parameters(&self) -> &ParameterStore {
        &self.service.0
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

    /// A customer managed symmetric key.
    pub async fn customer_key(&self) -> String {
        create_key(&self.kms, &self.root).await
    }

    pub async fn put(
        &self,
        request: PutParameterRequest,
    ) -> Result<PutParameterResult, ServiceError> {
        self.call("PutParameter", request).await
    }

    /// Creates a String parameter and answers its version.
    pub async fn put_string(&self, name: &str, value: &str) -> i64 {
        self.put(string(name, value))
            .await
            .unwrap()
            .version
            .unwrap()
    }

    /// Overwrites a parameter with a new String value and answers the new version.
    pub async fn overwrite(&self, name: &str, value: &str) -> i64 {
        let request = PutParameterRequest {
            overwrite: Some(true),
            ..string(name, value)
        };
        self.put(request).await.unwrap().version.unwrap()
    }

    pub async fn get(&self, name: &str, decrypt: bool) -> Result<Parameter, ServiceError> {
        let result: GetParameterResult = self
            .call(
                "GetParameter",
                GetParameterRequest {
                    name: name.to_owned(),
                    with_decryption: Some(decrypt),
                },
            )
            .await?;
        Ok(result.parameter.unwrap())
    }

    pub async fn value(&self, name: &str) -> String {
        value(&self.get(name, true).await.unwrap())
    }

    pub async fn by_path(
        &self,
        request: GetParametersByPathRequest,
    ) -> Result<GetParametersByPathResult, ServiceError> {
        self.call("GetParametersByPath", request).await
    }

    pub async fn describe(
        &self,
        request: DescribeParametersRequest,
    ) -> Result<DescribeParametersResult, ServiceError> {
        self.call("DescribeParameters", request).await
    }

    /// The first page of `DescribeParameters` without filters.
    pub async fn described(&self) -> Vec<ParameterMetadata> {
        self.describe(DescribeParametersRequest::default())
            .await
            .unwrap()
            .parameters
            .unwrap()
    }

    pub async fn history(&self, name: &str) -> Vec<ParameterHistory> {
        let result: GetParameterHistoryResult = self
            .call(
                "GetParameterHistory",
                GetParameterHistoryRequest {
                    name: name.to_owned(),
                    with_decryption: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        result.parameters.unwrap()
    }
}

/// A String parameter request.
pub fn string(name: &str, value: &str) -> PutParameterRequest {
    PutParameterRequest {
        name: name.to_owned(),
        value: Sensitive::new(value.to_owned()),
        r#type: Some(ParameterType::String),
        ..Default::default()
    }
}

/// A parameter's value.
pub fn value(parameter: &Parameter) -> String {
    parameter.value.as_ref().unwrap().expose().clone()
}

/// The names of some parameters, in order.
pub fn names(parameters: &[Parameter]) -> Vec<String> {
    parameters.iter().map(|p| p.name.clone().unwrap()).collect()
}

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
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
) -> String {
    match result {
        Ok(value) => panic!("expected {expected_code}, got {value:?}"),
        Err(error) => {
            assert_eq!(code(&error), expected_code, "{}", error.message);
            error.message
        }
    }
}

async fn create_key(kms: &KmsState, ctx: &RequestContext) -> String {
    let created = kms
        .create_key(ctx, kms::CreateKeyRequest::default())
        .await
        .unwrap();
    created.key_metadata.unwrap().key_id
}

/// Events as published.
#[derive(Default)]
pub struct Events(Mutex<Vec<ServiceEvent>>);

impl Events {
    /// Takes every event published so far.
    pub fn take(&self) -> Vec<ServiceEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl EventSink for Events {
    fn publish(&self, event: ServiceEvent) {
        self.0.lock().unwrap().push(event);
    }
}
