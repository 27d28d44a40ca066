//! Palisade's own endpoints and the connection limits, over raw HTTP.

mod support;

use std::time::Duration;

use support::{TestServer, raw_http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_and_localstack_health() {
    let server = TestServer::start().await;
    let (status, body) = raw_http(server.addr(), "GET", "/_palisade/health", "").await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["ready"], true);

    let (status, body) = raw_http(server.addr(), "GET", "/_localstack/health", "").await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["services"]["kms"], "available");
    assert_eq!(health["services"].as_object().unwrap().len(), 18);
    server.stop().await;
}

#[tokio::test]
async fn reset_wipes_state_in_local_mode() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    sts.get_caller_identity().send().await.unwrap();
    assert_eq!(server.audit_records().await.len(), 1);

    let (status, _) = raw_http(server.addr(), "POST", "/_palisade/reset", "").await;
    assert_eq!(status, 200);
    assert!(server.audit_records().await.is_empty());

    let (status, _) = raw_http(server.addr(), "POST", "/moto-api/reset", "").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn reset_does_not_exist_with_configured_credentials() {
    let server = TestServer::start_with(|config| {
        config.root_credentials = Some(palisade_server::config::RootCredentials {
            access_key_id: "AKIAROOT".into(),
            secret_access_key: palisade_core::Sensitive::new("root-secret".into()),
        });
    })
    .await;
    let (status, _) = raw_http(server.addr(), "POST", "/_palisade/reset", "").await;
    assert_eq!(status, 404);
    // And test/test is no longer a key.
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    assert!(sts.get_caller_identity().send().await.is_err());
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("AKIAROOT", "root-secret").await);
    sts.get_caller_identity().send().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_per_operation() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    sts.get_caller_identity().send().await.unwrap();
    sts.get_caller_identity().send().await.unwrap();
    let (status, body) = raw_http(server.addr(), "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(
            "palisade_requests_total{service=\"sts\",operation=\"GetCallerIdentity\",status=\"200\"} 2"
        ),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_trickling_headers_is_cut_off() {
    let server = TestServer::start_with(|config| {
        config.header_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nHo").await.unwrap();
    // The server closes the connection once the header timeout passes; the outer timeout only
    // bounds a broken server, it is not what the test waits for.
    let mut rest = Vec::new();
    // Either an orderly close or a reset counts as cut off.
    let _closed = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest))
        .await
        .expect("the server must close a connection whose headers never finish");
    let text = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_a_4xx() {
    let server = TestServer::start().await;
    let body = "A".repeat(17 * 1024 * 1024);
    let (status, text) = raw_http(server.addr(), "POST", "/", &body).await;
    assert_eq!(status, 413, "{text}");
    server.stop().await;
}
