//! `palisade serve` with authorization switched off: every request that authenticates is
//! allowed, whatever the policies say. It exists so that `scripts/bench --enforcement` can
//! measure what IAM enforcement costs, by driving this and the real server the same way with
//! the same principal. It is not a way to serve: nothing but that script runs it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use palisade_core::clock::SystemClock;
use palisade_core::model::{Operation, ServiceModel};
use palisade_core::service::BoxFuture;
use palisade_core::{RequestContext, ServiceError, Value};
use palisade_server::authorize::Authorizer;
use palisade_server::config::{Config, ServeArgs};

#[derive(Debug, Parser)]
struct Args {
    /// The address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// Where the embedded store lives.
    #[arg(long)]
    data_dir: PathBuf,
}

/// Allows every request.
struct Unenforced;

impl Authorizer for Unenforced {
    fn authorize_with<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        _model: &'static ServiceModel,
        _operation: Operation,
        _input: &'a Value,
        _extra: &'a [(String, Vec<String>)],
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async { Ok(()) })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::resolve(ServeArgs {
        listen: Some(args.listen),
        data_dir: Some(args.data_dir),
        ..ServeArgs::default()
    }) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("palisade-unenforced: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The same runtime `palisade serve` builds.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("palisade-unenforced: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match palisade_server::start_with_authorizer(
            config,
            Arc::new(SystemClock),
            Arc::new(Unenforced),
        )
        .await
        {
            Ok(server) => {
                server.serve_until_signalled().await;
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("palisade-unenforced: {error}");
                ExitCode::FAILURE
            }
        }
    })
}
