//! `palisade`: the server and its admin commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: about a sixth less CPU per call, chiefly because
/// glibc's allocator consolidates its free lists whenever a kilobyte or more is asked for (as
/// hyper's read buffers are). `no_thp`: without it, each thread's first arena page is a
/// transparent huge page, and an idle server holds 30 MiB. See BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use palisade_server::config::{Config, LogFormat, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "A self-hosted security plane that speaks AWS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the AWS API.
    // Boxed: the settings outweigh every other command's arguments many times over.
    Serve(Box<ServeArgs>),
    /// Copy the embedded store to a file, consistently, while the server may be running.
    Backup {
        /// The data directory of the store.
        #[arg(long, env = "PALISADE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// IAM tools.
    #[command(subcommand)]
    Iam(IamCommand),
    /// CloudTrail tools.
    #[command(subcommand)]
    Trail(TrailCommand),
    /// Replace the embedded store with a backup. The server must not be running.
    Restore {
        /// The data directory of the store.
        #[arg(long, env = "PALISADE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
        /// Overwrite an existing store.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum IamCommand {
    /// Decide a full request context offline and print the decision, explained, as JSON.
    Simulate {
        /// The request context (see the crate docs of `palisade_server::simulate`).
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TrailCommand {
    /// Check delivered log files and digests (hashes, signatures, the digest chain), as
    /// `aws cloudtrail validate-logs` does in S3; fails naming each modified or missing file.
    Validate {
        /// The trail delivery directory (one directory per bucket).
        dir: PathBuf,
        /// Only this trail's files.
        #[arg(long)]
        trail_arn: Option<String>,
        /// Digests ending before this time (ISO 8601) are not checked.
        #[arg(long)]
        start_time: Option<String>,
        /// The signing keys: a file with the output of `aws cloudtrail list-public-keys`.
        #[arg(long, required_unless_present = "data_dir")]
        public_keys: Option<PathBuf>,
        /// Or: the data directory of the (stopped) server that signed the digests.
        #[arg(long, conflicts_with = "public_keys")]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("palisade: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli.command));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("palisade: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(args) => {
            let config = Config::resolve(*args).map_err(|error| error.to_string())?;
            init_logging(config.log_format);
            let server = palisade_server::start(config)
                .await
                .map_err(|error| error.to_string())?;
            server.serve_until_signalled().await;
            Ok(())
        }
        Command::Backup { data_dir, to } => {
            init_logging(LogFormat::Text);
            palisade_store::backup_embedded(&data_dir, &to)
                .await
                .map_err(|error| error.to_string())?;
            println!("backed up {} to {}", data_dir.display(), to.display());
            Ok(())
        }
        Command::Iam(IamCommand::Simulate { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
            let answer = palisade_server::simulate::simulate(&text)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).map_err(|error| error.to_string())?
            );
            Ok(())
        }
        Command::Trail(TrailCommand::Validate {
            dir,
            trail_arn,
            start_time,
            public_keys,
            data_dir,
        }) => {
            use palisade_cloudtrail::validate::KeySource;
            let keys = match (public_keys, data_dir) {
                (Some(file), _) => KeySource::ListPublicKeysOutput(file),
                (None, Some(dir)) => KeySource::DataDir(dir),
                (None, None) => return Err("--public-keys or --data-dir is needed".to_owned()),
            };
            let validation = palisade_cloudtrail::validate::command(
                &dir,
                &keys,
                trail_arn,
                start_time.as_deref(),
            )
            .await?;
            print!("{}", validation.render());
            if validation.is_valid() {
                Ok(())
            } else {
                Err(validation.failures.join("\n"))
            }
        }
        Command::Restore {
            data_dir,
            from,
            force,
        } => {
            init_logging(LogFormat::Text);
            palisade_store::restore_embedded(&from, &data_dir, force)
                .map_err(|error| error.to_string())?;
            println!("restored {} into {}", from.display(), data_dir.display());
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
