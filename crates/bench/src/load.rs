//! A load run, the way wrk does it: a fixed number of keep-alive HTTP/1.1 connections, each
//! sending the same pre-signed request again as soon as the last answer is in (one request in
//! flight per connection, no pipelining), every connection a task of its own.
//!
//! The client shares the machine with the server, so each request costs it as little as
//! possible: the raw engine writes pre-formatted bytes and finds the response's end in a reused
//! buffer; no allocation, no per-request timer, no lock. Each connection keeps its own tally and
//! the tallies are merged at the end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::request::{Presigner, RESIGN_EVERY, SignedRequest};
use crate::summary::Tally;

/// How a run's connections speak HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Pre-formatted request bytes, responses framed with httparse: the cheapest client.
    Raw,
    /// hyper's HTTP/1.1 client connection: slower, but a full HTTP implementation, to check
    /// that the raw engine's figures are not an artefact of its shortcuts.
    Hyper,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Raw => "raw",
            Self::Hyper => "hyper",
        })
    }
}

/// The shape of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where to connect.
    pub addr: SocketAddr,
    /// Concurrent connections, each with one request in flight.
    pub connections: usize,
    /// Requests before this much time has passed are not counted.
    pub warmup: Duration,
    /// The measured window after the warmup.
    pub duration: Duration,
    /// How long a request still unanswered when the window closes is waited for before it is
    /// counted as an error and its connection abandoned.
    pub timeout: Duration,
    /// How connections speak HTTP.
    pub engine: Engine,
}

/// Runs `plan` with the request `presigner` signs, and returns what was counted in the window.
///
/// A request counts when its answer arrives inside the window, so every request counted was
/// sent and answered under full load.
pub async fn run(plan: &Plan, presigner: Presigner, blank: &Tally) -> Result<Tally, String> {
    let (publish, requests) = watch::channel(Arc::new(presigner.sign(SystemTime::now())?));
    let resigner = tokio::spawn(resign(presigner, publish));

    let start = Instant::now();
    let window = Window {
        from: start + plan.warmup,
        until: start + plan.warmup + plan.duration,
    };
    let abandon_at = window.until + plan.timeout;
    let connections: Vec<_> = (0..plan.connections)
        .map(|_| {
            let mut tally = blank.clone();
            let requests = requests.clone();
            let (addr, engine, timeout) = (plan.addr, plan.engine, plan.timeout);
            tokio::spawn(async move {
                let driven = drive(addr, engine, window, requests, &mut tally);
                // One timer per connection rather than one per request: only a request that is
                // still in flight after the window closes can reach it.
                if tokio::time::timeout_at(abandon_at, driven).await.is_err() {
                    tally.error(|| format!("no answer {timeout:?} after the run ended"));
                }
                tally
            })
        })
        .collect();

    let mut total = blank.clone();
    for connection in connections {
        let tally = connection
            .await
            .map_err(|error| format!("a connection task failed: {error}"))?;
        total.merge(&tally)?;
    }
    resigner.abort();
    Ok(total)
}

/// When counting starts and stops; every connection reads the same clock.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn contains(&self, at: Instant) -> bool {
        self.from <= at && at < self.until
    }
}

/// Signs the request again every [`RESIGN_EVERY`], so that runs longer than SigV4's window
/// still send valid signatures.
async fn resign(presigner: Presigner, publish: watch::Sender<Arc<SignedRequest>>) {
    let mut every = tokio::time::interval_at(Instant::now() + RESIGN_EVERY, RESIGN_EVERY);
    loop {
        every.tick().await;
        match presigner.sign(SystemTime::now()) {
            Ok(request) => {
                publish.send_replace(Arc::new(request));
            }
            // The same inputs signed at the start, so this is not expected; the old signature
            // still has minutes to live, and the next tick tries again.
            Err(error) => eprintln!("palisade-load: cannot sign again: {error}"),
        }
    }
}

/// One connection's life: connect, send and receive until the window closes, reconnecting
/// whenever the server closes the connection or it fails.
async fn drive(
    addr: SocketAddr,
    engine: Engine,
    window: Window,
    mut requests: watch::Receiver<Arc<SignedRequest>>,
    tally: &mut Tally,
) {
    let mut request = Arc::clone(&requests.borrow_and_update());
    let mut buf = Vec::with_capacity(16 * 1024);
    while Instant::now() < window.until {
        let mut connection = match Connection::open(addr, engine).await {
            Ok(connection) => connection,
            Err(error) => {
                if window.contains(Instant::now()) {
                    tally.error(|| error);
                }
                // A refused connect can fail without ever waiting; on a one-thread runtime
                // retrying at once would starve every other connection.
                tokio::task::yield_now().await;
                continue;
            }
        };
        loop {
            if requests.has_changed().unwrap_or(false) {
                request = Arc::clone(&requests.borrow_and_update());
            }
            let sent = Instant::now();
            if sent >= window.until {
                return;
            }
            let answer = connection.exchange(&request, &mut buf).await;
            let answered = Instant::now();
            let counted = window.contains(answered);
            match answer {
                Ok(answer) => {
                    if counted {
                        match answer.failure {
                            None => tally.success(answered.saturating_duration_since(sent)),
                            Some(failure) => tally.error(|| failure),
                        }
                    }
                    if answer.close {
                        break;
                    }
                }
                Err(error) => {
                    if counted {
                        tally.error(|| error);
                    }
                    break;
                }
            }
        }
    }
}

/// A connection of either engine.
enum Connection {
    Raw(TcpStream),
    Hyper(SendRequest<Full<Bytes>>),
}

/// How one exchange went, short of a connection failure.
struct Answer {
    /// Describes a non-2xx answer; `None` for a success.
    failure: Option<String>,
    /// The server will close the connection.
    close: bool,
}

impl Connection {
    async fn open(addr: SocketAddr, engine: Engine) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|error| format!("cannot connect to {addr}: {error}"))?;
        // A request is one write; Nagle would only hold it back.
        stream
            .set_nodelay(true)
            .map_err(|error| format!("cannot set TCP_NODELAY: {error}"))?;
        match engine {
            Engine::Raw => Ok(Self::Raw(stream)),
            Engine::Hyper => {
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
                // Ends by itself when `sender` is dropped.
                tokio::spawn(connection);
                Ok(Self::Hyper(sender))
            }
        }
    }

    /// Sends `request` and waits for its whole answer. `buf` is the raw engine's read buffer,
    /// kept across exchanges so that reading allocates nothing.
    async fn exchange(
        &mut self,
        request: &SignedRequest,
        buf: &mut Vec<u8>,
    ) -> Result<Answer, String> {
        let (status, close, body) = match self {
            Self::Raw(stream) => {
                stream
                    .write_all(&request.wire)
                    .await
                    .map_err(|error| format!("cannot send: {error}"))?;
                buf.clear();
                let framed = loop {
                    let read = stream
                        .read_buf(buf)
                        .await
                        .map_err(|error| format!("cannot receive: {error}"))?;
                    if read == 0 {
                        return Err("the server closed the connection mid-response".to_owned());
                    }
                    if let Some(framed) = crate::response::complete(buf)? {
                        break framed;
                    }
                };
                let body = (!framed.is_success()).then(|| framed.body_text(buf));
                (framed.status, framed.close, body)
            }
            Self::Hyper(sender) => {
                sender
                    .ready()
                    .await
                    .map_err(|error| format!("connection lost: {error}"))?;
                let mut http = http::Request::new(Full::new(request.body.clone()));
                *http.method_mut() = http::Method::POST;
                *http.uri_mut() = request.path.clone();
                *http.headers_mut() = request.headers.clone();
                let response = sender
                    .send_request(http)
                    .await
                    .map_err(|error| format!("request failed: {error}"))?;
                let status = response.status();
                let close = response
                    .headers()
                    .get(http::header::CONNECTION)
                    .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|error| format!("cannot receive: {error}"))?
                    .to_bytes();
                let body = (!status.is_success()).then(|| String::from_utf8_lossy(&body).into());
                (status.as_u16(), close, body)
            }
        };
        Ok(Answer {
            failure: body.map(|body: String| format!("HTTP {status}: {body}")),
            close,
        })
    }
}
