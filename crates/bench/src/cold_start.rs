//! Cold start: how long a fresh `palisade serve` on an empty data directory takes to answer its
//! first signed request, and how much memory it then holds while idle.
//!
//! The probe connects and sends a signed `GetCallerIdentity` in a tight loop from the moment the
//! process is spawned: no sleep, so the figure is the server's time and not a polling interval.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::request::{Endpoint, Presigner, SignedRequest, SigningArgs, Template};

/// How a cold-start measurement is made.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The `palisade` binary.
    pub binary: PathBuf,
    /// Arguments added after `serve --data-dir DIR --listen ADDR`.
    pub server_args: Vec<String>,
    /// How many fresh starts to time.
    pub runs: usize,
    /// A start that has not answered after this long fails.
    pub timeout: Duration,
    /// How long the server sits idle after answering before its memory is read.
    pub idle: Duration,
    /// Credentials the probe signs with.
    pub signing: SigningArgs,
}

/// One fresh start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Start {
    /// From spawning the process to the first successful answer.
    pub first_answer: Duration,
    /// Resident memory after answering and then sitting idle, in bytes.
    pub idle_rss: u64,
}

/// Starts the server `plan.runs` times, each on a new empty data directory.
pub fn measure(plan: &Plan) -> Result<Vec<Start>, String> {
    (0..plan.runs).map(|_| start_once(plan)).collect()
}

/// Bytes in a MiB.
pub const MIB: f64 = 1024.0 * 1024.0;

/// The figures of all runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// How many starts were timed.
    pub runs: usize,
    /// Milliseconds from spawn to first answer.
    pub first_answer_ms: Spread,
    /// Idle resident memory, in MiB.
    pub idle_rss_mib: Spread,
}

impl Report {
    /// Sums up the starts; `None` when there were none.
    pub fn new(starts: &[Start]) -> Option<Self> {
        Some(Self {
            runs: starts.len(),
            first_answer_ms: Spread::of(
                starts
                    .iter()
                    .map(|start| start.first_answer.as_secs_f64() * 1e3)
                    .collect(),
            )?,
            idle_rss_mib: Spread::of(
                starts
                    .iter()
                    .map(|start| start.idle_rss as f64 / MIB)
                    .collect(),
            )?,
        })
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "runs": self.runs,
            "first_answer_ms": self.first_answer_ms.to_json(),
            "idle_rss_mib": self.idle_rss_mib.to_json(),
        })
    }
}

/// The median and range of some figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The middle value (the mean of the middle two for an even count).
    pub median: f64,
    /// The least.
    pub min: f64,
    /// The greatest.
    pub max: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        Some(Self {
            median: median(&values)?,
            min: *values.first()?,
            max: *values.last()?,
        })
    }

    fn to_json(self) -> serde_json::Value {
        json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(middle).copied()
    } else {
        Some((sorted.get(middle.checked_sub(1)?)? + sorted.get(middle)?) / 2.0)
    }
}

fn start_once(plan: &Plan) -> Result<Start, String> {
    // Holds the data directory, made by the server itself as on a first start, and its log.
    let scratch = tempfile::Builder::new()
        .prefix("palisade-cold-start-")
        .tempdir()
        .map_err(|error| format!("cannot make a scratch directory: {error}"))?;
    let addr = free_port()?;
    // Signed before the clock starts: the client's signing is not the server's start.
    let request = Presigner::new(
        Template::StsGetCallerIdentity.spec(),
        Endpoint::at(addr),
        &plan.signing,
    )
    .sign(SystemTime::now())?;
    let log_path = scratch.path().join("server.log");
    let log = File::create(&log_path)
        .map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
    let log_too = log
        .try_clone()
        .map_err(|error| format!("cannot share the log file: {error}"))?;

    let spawned = Instant::now();
    let child = Command::new(&plan.binary)
        .arg("serve")
        .arg("--data-dir")
        .arg(scratch.path().join("data"))
        .arg("--listen")
        .arg(addr.to_string())
        .args(&plan.server_args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", plan.binary.display()))?;
    let mut server = Server(child);
    let first_answer = poll_until_answered(&mut server.0, addr, &request, spawned, plan.timeout)
        .map_err(|error| format!("{error}\n{}", log_tail(&log_path)))?;

    // Measured, not waited on: what the server holds once start-up garbage has settled.
    std::thread::sleep(plan.idle);
    let idle_rss = crate::procfs::resident_bytes(server.0.id())?;
    Ok(Start {
        first_answer,
        idle_rss,
    })
}

/// The spawned server, killed however the measurement ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port the kernel says is free now. Another process could take it before the server binds
/// it; on a benchmark machine that is rare enough, and the run then fails rather than lies.
fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

fn poll_until_answered(
    child: &mut Child,
    addr: SocketAddr,
    request: &SignedRequest,
    spawned: Instant,
    timeout: Duration,
) -> Result<Duration, String> {
    let mut last_failure = String::from("nothing listened");
    let mut buf = Vec::with_capacity(4096);
    loop {
        if spawned.elapsed() > timeout {
            return Err(format!(
                "no successful answer within {timeout:?}; last: {last_failure}"
            ));
        }
        if let Some(status) = child
            .try_wait()
            .map_err(|error| format!("cannot check on the server: {error}"))?
        {
            return Err(format!("the server exited early ({status})"));
        }
        match ask(addr, request, &mut buf, timeout) {
            Ok(None) => return Ok(spawned.elapsed()),
            Ok(Some(failure)) => last_failure = failure,
            // Refused until the server listens: give its start-up threads the core, and go on.
            Err(error) => {
                last_failure = error;
                std::thread::yield_now();
            }
        }
    }
}

/// Sends `request` on a new connection: `Ok(None)` for a 2xx answer, `Ok(Some(..))` describing
/// any other answer, `Err` when there was no answer.
fn ask(
    addr: SocketAddr,
    request: &SignedRequest,
    buf: &mut Vec<u8>,
    timeout: Duration,
) -> Result<Option<String>, String> {
    let mut stream = TcpStream::connect(addr).map_err(|error| error.to_string())?;
    // Bounds a server that accepts but never answers; the caller's deadline does the rest.
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_nodelay(true))
        .and_then(|()| stream.write_all(&request.wire))
        .map_err(|error| error.to_string())?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).map_err(|error| error.to_string())?;
        if read == 0 {
            return Err("closed without an answer".to_owned());
        }
        buf.extend_from_slice(chunk.get(..read).unwrap_or_default());
        if let Some(framed) = crate::response::complete(buf)? {
            return Ok((!framed.is_success())
                .then(|| format!("HTTP {}: {}", framed.status, framed.body_text(buf))));
        }
    }
}

/// The end of the server's log, for an error message (the file goes with its directory).
fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    match lines.get(lines.len().saturating_sub(20)..) {
        Some(tail) if !tail.is_empty() => format!("the server's log ends:\n{}", tail.join("\n")),
        _ => "the server logged nothing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads() {
        assert_eq!(Spread::of(vec![]), None);
        let one = Spread::of(vec![3.0]).unwrap();
        assert_eq!((one.median, one.min, one.max), (3.0, 3.0, 3.0));
        assert_eq!(Spread::of(vec![10.0, 1.0, 2.0]).unwrap().median, 2.0);
        let even = Spread::of(vec![10.0, 4.0, 1.0, 2.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (3.0, 1.0, 10.0));
    }
}
