//! The test harness: a server in-process on an ephemeral port with a temporary data directory,
//! and an SDK configuration pointed at it.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure here is a failed test"
)]

use std::net::SocketAddr;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use palisade_server::RunningServer;
use palisade_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct TestServer {
    server: RunningServer,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(data_dir.path());
        adjust(&mut config);
        let server = palisade_server::start(config).await.unwrap();
        Self {
            server,
            _data_dir: data_dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr
    }

    pub async fn sdk_config(&self, access_key: &str, secret: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.server.endpoint_url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(access_key, secret, None, None, "tests"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// Every audit record persisted so far, oldest first.
    pub async fn audit_records(&self) -> Vec<serde_json::Value> {
        self.server.state.audit.flush().await;
        self.server
            .state
            .store
            .scan(palisade_audit::KEYSPACE, "", None, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, entry)| serde_json::from_slice(entry.value.bytes()).unwrap())
            .collect()
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// A schema of its own in the test PostgreSQL, dropped by [`PostgresSchema::drop`].
pub struct PostgresSchema {
    pub url: String,
    pub name: String,
}

impl PostgresSchema {
    pub async fn drop(self) {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .await
            .unwrap();
    }
}

/// A fresh schema name when PostgreSQL is reachable. Where it is not, the test is skipped with a
/// message, except under CI (`CI` set), where it fails.
pub async fn postgres_schema() -> Option<PostgresSchema> {
    let url = std::env::var("PALISADE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok(_) => Some(PostgresSchema {
            url,
            name: format!("palisade_server_test_{}", uuid::Uuid::new_v4().simple()),
        }),
        Err(error) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is required but unreachable at {url}: {error}"
            );
            eprintln!("skipping: PostgreSQL unreachable at {url}: {error}");
            None
        }
    }
}

/// One HTTP/1.1 request over a fresh connection; the status and body of the answer.
pub async fn raw_http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // A server may answer (and close) before it has read a large body; that is not a failure.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
