//! `palisade-load`: drives a server with one pre-signed AWS request and reports throughput and
//! latency; `palisade-load cold-start` times a fresh server to its first answer.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use palisade_bench::cold_start::{self, MIB};
use palisade_bench::load::{self, Engine};
use palisade_bench::request::{Endpoint, Presigner, RequestArgs, SigningArgs};
use palisade_bench::summary::{MAX_ERROR_RATIO, Summary, Tally, millis};
use palisade_bench::{duration, procfs};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(
    name = "palisade-load",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Time `palisade serve` on an empty data directory to its first answer, then read its idle
    /// memory.
    ColdStart(ColdStartArgs),
}

/// A load run (the default command).
#[derive(Debug, Args)]
struct LoadArgs {
    /// The server's URL.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    url: String,
    /// Concurrent keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// The measured window (`10s`, `500ms`, `2m`).
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    duration: Duration,
    /// Load before the window, not counted.
    #[arg(long, default_value = "2s", value_parser = duration::parse)]
    warmup: Duration,
    /// How long to wait for answers still in flight when the window closes.
    #[arg(long, default_value = "5s", value_parser = duration::parse)]
    timeout: Duration,
    /// Client runtime threads: 1 runs every connection on this thread, which costs the server
    /// the least CPU.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// How connections speak HTTP.
    #[arg(long, value_enum, default_value_t = Engine::Raw)]
    engine: Engine,
    /// Also report the CPU this process (the server) used during the window.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    signing: SigningArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ColdStartArgs {
    /// The `palisade` binary.
    #[arg(long)]
    binary: PathBuf,
    /// Fresh starts to time; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Give up on a start after this long.
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    timeout: Duration,
    /// How long the server sits idle after its first answer before its memory is read.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    idle: Duration,
    #[command(flatten)]
    signing: SigningArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// More arguments for `palisade serve`, after `--`.
    #[arg(last = true)]
    server_args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::ColdStart(args)) => cold_start(args),
        None => load(cli.load),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("palisade-load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(args: LoadArgs) -> Result<ExitCode, String> {
    let endpoint = Endpoint::parse(&args.url)?;
    let spec = args.request.spec()?;
    let label = spec.label.clone();
    let plan = load::Plan {
        addr: endpoint.addr,
        connections: usize::from(args.connections),
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        engine: args.engine,
    };
    let presigner = Presigner::new(spec, endpoint, &args.signing);
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()
    }
    .map_err(|error| format!("cannot start the runtime: {error}"))?;

    let blank = Tally::new()?;
    let (tally, cpu) = runtime.block_on(async {
        let running = load::run(&plan, presigner, &blank);
        let cpu = measure_cpu(plan.warmup, plan.duration, args.server_pid);
        tokio::join!(running, cpu)
    });
    let summary = Summary::new(&tally?, plan.duration);
    let cpu = cpu?;

    if args.json {
        let mut report = summary.to_json();
        let run = [
            ("url", json!(args.url)),
            ("request", json!(label)),
            ("connections", json!(args.connections)),
            ("threads", json!(args.threads)),
            ("engine", json!(args.engine.to_string())),
            ("warmup_s", json!(args.warmup.as_secs_f64())),
            ("client_cpu_cores", json!(cpu.client)),
            ("server_cpu_cores", json!(cpu.server)),
        ];
        report.extend(run.map(|(key, value)| (key.to_owned(), value)));
        println!("{}", serde_json::Value::Object(report));
    } else {
        print_summary(&args, &label, &summary, &cpu);
    }
    if summary.failed() {
        eprintln!(
            "palisade-load: {} of {} requests failed (more than {}%); first: {}",
            summary.errors,
            summary.errors + summary.successes,
            MAX_ERROR_RATIO * 100.0,
            summary.first_error.as_deref().unwrap_or("none completed"),
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU used during the window, in cores (CPU seconds per second).
struct CpuUse {
    client: f64,
    server: Option<f64>,
}

/// Reads CPU times as the window opens and as it closes. It runs on the load's own runtime, so
/// its readings may come a scheduling slice late; over a window of seconds that is noise.
async fn measure_cpu(
    warmup: Duration,
    window: Duration,
    server: Option<u32>,
) -> Result<CpuUse, String> {
    let read = || -> Result<_, String> {
        let server = server.map(|pid| procfs::cpu_time(Some(pid))).transpose()?;
        Ok((procfs::cpu_time(None)?, server))
    };
    tokio::time::sleep(warmup).await;
    let (client_before, server_before) = read()?;
    tokio::time::sleep(window).await;
    let (client_after, server_after) = read()?;
    let cores = |before: Duration, after: Duration| {
        after.saturating_sub(before).as_secs_f64() / window.as_secs_f64()
    };
    Ok(CpuUse {
        client: cores(client_before, client_after),
        server: server_before
            .zip(server_after)
            .map(|(before, after)| cores(before, after)),
    })
}

fn print_summary(args: &LoadArgs, label: &str, summary: &Summary, cpu: &CpuUse) {
    println!(
        "{label} -> {}: {} connections, {} thread(s), {} engine, {:?} warmup + {:?}",
        args.url, args.connections, args.threads, args.engine, args.warmup, args.duration
    );
    println!(
        "  requests  {} ok, {} errors",
        summary.successes, summary.errors
    );
    println!("  rate      {:.1} req/s", summary.requests_per_second());
    println!(
        "  latency   p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms, mean {:.3} ms",
        millis(summary.p50),
        millis(summary.p99),
        millis(summary.p999),
        millis(summary.max),
        millis(summary.mean),
    );
    match cpu.server {
        Some(server) => println!(
            "  cpu       client {:.2} cores, server {server:.2} cores",
            cpu.client
        ),
        None => println!("  cpu       client {:.2} cores", cpu.client),
    }
    if let Some(error) = &summary.first_error {
        println!("  first error: {error}");
    }
}

fn cold_start(args: ColdStartArgs) -> Result<ExitCode, String> {
    let plan = cold_start::Plan {
        binary: args.binary,
        server_args: args.server_args,
        runs: usize::from(args.runs),
        timeout: args.timeout,
        idle: args.idle,
        signing: args.signing,
    };
    let starts = cold_start::measure(&plan)?;
    let report = cold_start::Report::new(&starts).ok_or("no start was timed")?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        for (run, start) in starts.iter().enumerate() {
            println!(
                "run {}: first answer after {:.1} ms, idle RSS {:.1} MiB",
                run + 1,
                millis(start.first_answer),
                start.idle_rss as f64 / MIB
            );
        }
        println!(
            "median of {}: first answer after {:.1} ms, idle RSS {:.1} MiB",
            report.runs, report.first_answer_ms.median, report.idle_rss_mib.median,
        );
    }
    Ok(ExitCode::SUCCESS)
}
