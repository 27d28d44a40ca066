//! The test harness: CloudWatch Logs over a fresh store, a clock the tests move, and the root
//! user's request context.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::service::{ErrorKind, Service};
use palisade_core::{
    AccountId, FromValue, IntoValue, Principal, Region, RequestContext, ServiceError,
};
use palisade_logs::LogsState;
use palisade_model_logs::types::*;
use palisade_model_logs::{LogsService, MODEL};
use palisade_store::{Store, StoreConfig};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z, in milliseconds.
pub const START: i64 = 1_704_067_200_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub struct Harness {
    pub service: LogsService<LogsState>,
    pub clock: ManualClock,
    pub root: RequestContext,
    _dir: TempDir,
}

impl Harness {
    pub async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(START).unwrap());
        let clock = ManualClock::new(start);
        let service = LogsService(Arc::new(LogsState::new(store, Arc::new(clock.clone()))));
        Self {
            service,
            clock,
            root: context("us-east-1"),
            _dir: dir,
        }
    }

    pub fn logs(&self) -> &LogsState {
        &self.service.0
    }

    pub fn advance(&self, millis: i64) {
        self.clock
            .advance(Duration::from_millis(u64::try_from(millis).unwrap()));
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

    /// Calls an operation that answers nothing, for its error.
    pub async fn act(&self, operation: &str, input: impl IntoValue) -> Result<(), ServiceError> {
        self.call::<palisade_core::Value>(operation, input)
            .await
            .map(|_| ())
    }

    pub async fn create_group(&self, name: &str) {
        self.act(
            "CreateLogGroup",
            CreateLogGroupRequest {
                log_group_name: name.to_owned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }

    pub async fn create_stream(&self, group: &str, stream: &str) {
        self.act(
            "CreateLogStream",
            CreateLogStreamRequest {
                log_group_name: group.to_owned(),
                log_stream_name: stream.to_owned(),
            },
        )
        .await
        .unwrap();
    }

    pub async fn put(
        &self,
        group: &str,
        stream: &str,
        events: &[(i64, &str)],
    ) -> Result<PutLogEventsResponse, ServiceError> {
        self.call(
            "PutLogEvents",
            PutLogEventsRequest {
                log_group_name: group.to_owned(),
                log_stream_name: stream.to_owned(),
                log_events: input_events(events),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn groups(&self, input: DescribeLogGroupsRequest) -> DescribeLogGroupsResponse {
        self.call("DescribeLogGroups", input).await.unwrap()
    }

    pub async fn filter(
        &self,
        input: FilterLogEventsRequest,
    ) -> Result<FilterLogEventsResponse, ServiceError> {
        self.call("FilterLogEvents", input).await
    }
}

pub fn input_events(events: &[(i64, &str)]) -> Vec<InputLogEvent> {
    events
        .iter()
        .map(|(timestamp, message)| InputLogEvent {
            timestamp: *timestamp,
            message: (*message).to_owned(),
        })
        .collect()
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
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    expected_code: &str,
) -> String {
    let error = result.expect_err("the call should have failed");
    assert_eq!(code(&error), expected_code, "{}", error.message);
    error.message
}

/// The messages of events, in order.
pub fn messages<'a>(events: impl IntoIterator<Item = &'a Option<String>>) -> Vec<String> {
    events.into_iter().flatten().cloned().collect()
}
