//! EventBridge delivering over a data directory and a manual clock, with log group writes going
//! to a recorder that the tests await (bounded by a timeout only to end a broken run), and an
//! HTTP receiver for API destinations.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_core::clock::ManualClock;
use palisade_core::service::{BoxFuture, ErrorKind};
use palisade_core::{AccountId, Principal, Region, RequestContext, ServiceError};
use palisade_events::addresses::Reach;
use palisade_events::{DeliveryStats, EventsState, LogEvent, LogGroups};
use palisade_model_events::Events;
use palisade_model_events::types::*;
use palisade_store::{Store, StoreConfig};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "us-east-1";
/// 2024-01-01T00:00:00Z.
pub const START: u64 = 1_704_067_200;
pub const LOG_GROUP: &str = "arn:aws:logs:us-east-1:000000000000:log-group:/events/all";
pub const DEAD_LETTERS: &str = "arn:aws:logs:us-east-1:000000000000:log-group:/events/dlq";

/// How long a test waits for something that should happen at once: only a broken run waits
/// this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One call to the recorder, as it saw it.
#[derive(Debug)]
pub struct Written {
    pub group: String,
    pub stream: String,
    pub timestamp: i64,
    pub message: String,
    /// Whether the recorder let it through.
    pub accepted: bool,
}

/// Log groups that record every append, and fail those the test scripts to fail.
pub struct Recorder {
    sender: mpsc::UnboundedSender<Written>,
    /// The next answers for a group, before it accepts appends again.
    scripted: Mutex<HashMap<String, VecDeque<ServiceError>>>,
}

impl Recorder {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Written>) {
        let (sender, written) = mpsc::unbounded_channel();
        let recorder = Arc::new(Self {
            sender,
            scripted: Mutex::new(HashMap::new()),
        });
        (recorder, written)
    }

    /// The next appends to `group` fail with `errors`, in order.
    pub fn fail(&self, group: &str, errors: impl IntoIterator<Item = ServiceError>) {
        self.scripted
            .lock()
            .unwrap()
            .entry(group.to_owned())
            .or_default()
            .extend(errors);
    }
}

impl LogGroups for Recorder {
    fn append<'a>(&'a self, event: LogEvent<'a>) -> BoxFuture<'a, Result<(), ServiceError>> {
        let outcome = self
            .scripted
            .lock()
            .unwrap()
            .get_mut(event.group)
            .and_then(VecDeque::pop_front)
            .map_or(Ok(()), Err);
        let _ = self.sender.send(Written {
            group: event.group.to_owned(),
            stream: event.stream.to_owned(),
            timestamp: event.timestamp,
            message: event.message,
            accepted: outcome.is_ok(),
        });
        Box::pin(async move { outcome })
    }
}

pub struct Harness {
    pub events: Arc<EventsState>,
    pub clock: ManualClock,
    pub ctx: RequestContext,
    pub logs: Arc<Recorder>,
    pub written: mpsc::UnboundedReceiver<Written>,
    _dir: Option<TempDir>,
}

pub fn context() -> RequestContext {
    RequestContext {
        request_id: "test-request".to_owned(),
        principal: Principal::root(AccountId::local_default(), "test"),
        region: Region::parse(REGION).unwrap(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "tests".to_owned(),
        time: SystemTime::now(),
        secure_transport: false,
    }
}

pub async fn open_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::Embedded {
        data_dir: dir.to_owned(),
    })
    .await
    .unwrap()
}

impl Harness {
    /// A harness over a fresh temporary directory.
    pub async fn new() -> Self {
        Self::reaching(Reach::Any).await
    }

    /// A harness over a fresh temporary directory whose API destinations call the addresses
    /// `reach` allows.
    pub async fn reaching(reach: Reach) -> Self {
        let dir = TempDir::new().unwrap();
        let mut harness = Self::build(dir.path(), None, reach).await;
        harness._dir = Some(dir);
        harness
    }

    /// A harness over `dir`, which the caller keeps (to open it again, as a restart does).
    pub async fn over(dir: &Path) -> Self {
        Self::writing_to(dir, None).await
    }

    /// A harness over `dir` whose events go to `logs` instead of the recorder.
    pub async fn writing_to(dir: &Path, logs: Option<Arc<dyn LogGroups>>) -> Self {
        Self::build(dir, logs, Reach::Any).await
    }

    async fn build(dir: &Path, logs: Option<Arc<dyn LogGroups>>, reach: Reach) -> Self {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
        let (recorder, written) = Recorder::new();
        let events = EventsState::delivering(
            open_store(dir).await,
            Arc::new(clock.clone()),
            logs.unwrap_or_else(|| Arc::clone(&recorder) as Arc<dyn LogGroups>),
            reach,
        );
        let logs = recorder;
        Self {
            events,
            clock,
            ctx: context(),
            logs,
            written,
            _dir: None,
        }
    }

    /// The next append the recorder saw, accepted or not.
    pub async fn next_append(&mut self) -> Written {
        tokio::time::timeout(PATIENCE, self.written.recv())
            .await
            .expect("a log event in time")
            .expect("the recorder is open")
    }

    /// The next log event the recorder accepted.
    pub async fn next_written(&mut self) -> Written {
        loop {
            let written = self.next_append().await;
            if written.accepted {
                return written;
            }
        }
    }

    /// Delivery's counters once `reached` holds of them (they move just after the appends a
    /// test sees), or as they are after `PATIENCE`, for the caller's assertions to report.
    pub async fn stats_once(&self, reached: impl Fn(&DeliveryStats) -> bool) -> DeliveryStats {
        let wait = async {
            loop {
                let stats = self.events.delivery_stats();
                if reached(&stats) {
                    return stats;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| self.events.delivery_stats())
    }

    pub async fn rule_with_targets(
        &self,
        bus: Option<&str>,
        name: &str,
        pattern: &str,
        targets: Vec<Target>,
    ) {
        self.put_rule_with_targets(
            PutRuleRequest {
                name: name.to_owned(),
                event_pattern: Some(pattern.to_owned()),
                event_bus_name: bus.map(str::to_owned),
                ..PutRuleRequest::default()
            },
            targets,
        )
        .await;
    }

    /// Puts the rule `rule` asks for, then `targets` on it.
    pub async fn put_rule_with_targets(&self, rule: PutRuleRequest, targets: Vec<Target>) {
        let (name, bus) = (rule.name.clone(), rule.event_bus_name.clone());
        self.events.put_rule(&self.ctx, rule).await.unwrap();
        let put = self
            .events
            .put_targets(
                &self.ctx,
                PutTargetsRequest {
                    rule: name,
                    event_bus_name: bus,
                    targets,
                },
            )
            .await
            .unwrap();
        assert_eq!(put.failed_entry_count, Some(0), "{:?}", put.failed_entries);
    }

    /// Puts one custom event on `bus`; answers its id.
    pub async fn put_event(&self, bus: Option<&str>, detail: Value) -> String {
        self.put_entry(PutEventsRequestEntry {
            source: Some("com.example.orders".to_owned()),
            detail_type: Some("Order Placed".to_owned()),
            detail: Some(detail.to_string()),
            resources: Some(vec!["arn:aws:example:order/1".to_owned()]),
            event_bus_name: bus.map(str::to_owned),
            ..PutEventsRequestEntry::default()
        })
        .await
    }

    /// Puts a `Marker` event from `source`: once it is delivered, every event put before it
    /// has had its whole round.
    pub async fn put_marker(&self, source: &str) -> String {
        self.put_entry(PutEventsRequestEntry {
            source: Some(source.to_owned()),
            detail_type: Some("Marker".to_owned()),
            detail: Some("{}".to_owned()),
            ..PutEventsRequestEntry::default()
        })
        .await
    }

    /// Puts `entry`, which must be accepted; answers its event id.
    pub async fn put_entry(&self, entry: PutEventsRequestEntry) -> String {
        let answer = self
            .events
            .put_events(
                &self.ctx,
                PutEventsRequest {
                    entries: vec![entry],
                    ..PutEventsRequest::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(answer.failed_entry_count, Some(0), "{:?}", answer.entries);
        answer.entries.unwrap().remove(0).event_id.unwrap()
    }
}

/// Runs `run` in a runtime of its own and stops that runtime, as a process stop would: every
/// task ends where it stands.
pub fn in_a_process<F>(run: impl FnOnce() -> F)
where
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let future: Pin<Box<F>> = Box::pin(run());
    runtime.block_on(future);
    runtime.shutdown_timeout(Duration::from_secs(10));
}

/// The code of `error`: a modeled error's, or the common error's name.
pub fn code(error: &ServiceError) -> String {
    match &error.kind {
        ErrorKind::Modeled { code, .. } => code.to_string(),
        ErrorKind::Common(common) => format!("{common:?}"),
    }
}

pub fn target(id: &str, arn: &str) -> Target {
    Target {
        id: id.to_owned(),
        arn: arn.to_owned(),
        ..Target::default()
    }
}

/// A target with a retry policy and the dead-letter log group.
pub fn retried_target(id: &str, arn: &str, attempts: i32, age_seconds: i32) -> Target {
    Target {
        retry_policy: Some(RetryPolicy {
            maximum_retry_attempts: Some(attempts),
            maximum_event_age_in_seconds: Some(age_seconds),
        }),
        dead_letter_config: Some(DeadLetterConfig {
            arn: Some(DEAD_LETTERS.to_owned()),
        }),
        ..target(id, arn)
    }
}

/// Logs' error for a missing log group.
pub fn missing_group() -> ServiceError {
    palisade_model_events::errors::resource_not_found_exception(
        "The specified log group does not exist.",
    )
}

/// One HTTP request as the receiver read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query string.
    pub target: String,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// An HTTP/1.1 server on an ephemeral port that records each request and answers with the
/// scripted statuses (200 once they run out), `Connection: close`.
pub struct Receiver {
    pub address: SocketAddr,
    pub received: mpsc::UnboundedReceiver<Received>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, received) = mpsc::unbounded_channel();
        let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::default();
        let scripted = Arc::clone(&answers);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let sender = sender.clone();
                let scripted = Arc::clone(&scripted);
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let (status, body) = scripted
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, "{}".to_owned()));
                    // Recorded before answering: a test that sees it may count on the answer
                    // being on its way.
                    let _ = sender.send(request);
                    let answer = format!(
                        "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            address,
            received,
            answers,
        }
    }

    /// The next requests are answered with these statuses and bodies, in order.
    pub fn answer(&self, answers: impl IntoIterator<Item = (u16, &'static str)>) {
        self.answers.lock().unwrap().extend(
            answers
                .into_iter()
                .map(|(status, body)| (status, body.to_owned())),
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .expect("a request in time")
            .expect("the receiver is running")
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(chunk.get(..read)?);
    };
    let head = String::from_utf8_lossy(bytes.get(..head_end)?).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    let mut body = bytes.get(head_end + 4..)?.to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(chunk.get(..read)?);
    }
    Some(Received {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
