//! `bare-hyper`: the floor. A hyper HTTP/1.1 server that reads each request's body, throws it
//! away, and answers 200 with a fixed body the size of an STS `GetCallerIdentity` response:
//! everything Palisade's HTTP layer must do, and none of its work. It runs on the same runtime
//! as `palisade` (tokio multi-thread, a worker per core) so that the ratio between the two is
//! the cost of Palisade's own code.

use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use clap::Parser;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The request ID every answer carries, in the `x-amzn-RequestId` header and in the body (a
/// macro, because `concat!` takes only literals).
macro_rules! request_id {
    () => {
        "c6104cbe-af31-11e0-8154-cbc7ccf896c7"
    };
}

/// An STS `GetCallerIdentity` answer as Palisade writes it (353 bytes): same size, same work
/// for the client.
const BODY: &str = concat!(
    r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">"#,
    "<GetCallerIdentityResult><UserId>000000000000</UserId><Account>000000000000</Account>",
    "<Arn>arn:aws:iam::000000000000:root</Arn></GetCallerIdentityResult>",
    "<ResponseMetadata><RequestId>",
    request_id!(),
    "</RequestId>",
    "</ResponseMetadata></GetCallerIdentityResponse>",
);

#[derive(Debug, Parser)]
#[command(name = "bare-hyper", version, about)]
struct Cli {
    /// The address to listen on; port 0 picks a free one. The first line of standard output
    /// is `listening on ADDRESS`.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
        .and_then(|runtime| runtime.block_on(serve(cli.listen)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bare-hyper: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until the process is killed.
async fn serve(listen: SocketAddr) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let addr = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    println!("listening on {addr}");
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            // Such as too many open files: the connections already open still deserve answers.
            Err(error) => {
                eprintln!("bare-hyper: accept failed: {error}");
                continue;
            }
        };
        // As Palisade does: responses are written whole, and Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // A client going away mid-request is not this server's problem to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    request.into_body().collect().await?;
    let mut response = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    headers.insert("x-amzn-requestid", HeaderValue::from_static(request_id!()));
    Ok(response)
}
