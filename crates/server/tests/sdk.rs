//! The server in-process on an ephemeral port, called with the official AWS SDK for Rust, on
//! the embedded store and on PostgreSQL.

mod support;

use aws_sdk_sts::error::ProvideErrorMetadata;
use palisade_server::config::StoreChoice;
use support::{TestServer, postgres_schema};

#[expect(
    clippy::unwrap_used,
    reason = "a shared test body: a failure is a failed test"
)]
async fn caller_identity_is_the_root_of_the_default_account(server: &TestServer) {
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    let identity = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account(), Some("000000000000"));
    assert_eq!(identity.arn(), Some("arn:aws:iam::000000000000:root"));
    assert_eq!(identity.user_id(), Some("000000000000"));
}

#[tokio::test]
async fn get_caller_identity_on_the_embedded_store() {
    let server = TestServer::start().await;
    caller_identity_is_the_root_of_the_default_account(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn get_caller_identity_on_postgres() {
    let Some(schema) = postgres_schema().await else {
        return;
    };
    let server = TestServer::start_with(|config| {
        config.store = StoreChoice::Postgres {
            url: schema.url.clone(),
            schema: schema.name.clone(),
        };
    })
    .await;
    caller_identity_is_the_root_of_the_default_account(&server).await;
    let records = server.audit_records().await;
    assert!(
        records
            .iter()
            .any(|r| r["eventName"] == "GetCallerIdentity")
    );
    server.stop().await;
    schema.drop().await;
}

#[tokio::test]
async fn a_wrong_secret_is_rejected() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "not-the-secret").await);
    let error = sts.get_caller_identity().send().await.unwrap_err();
    let service_error = error.as_service_error().map(|e| e.code());
    assert_eq!(service_error, Some(Some("SignatureDoesNotMatch")));
    let raw = error.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 403);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_access_key_is_rejected() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("AKIAIOSFODNN7EXAMPLE", "x").await);
    let error = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidClientTokenId"));
    server.stop().await;
}

#[tokio::test]
async fn operations_not_built_answer_not_implemented() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    let error = sts
        .get_federation_token()
        .name("builder")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("NotImplemented"));
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 501);
    server.stop().await;
}

#[tokio::test]
async fn every_call_is_audited_failed_ones_included() {
    let server = TestServer::start().await;
    let good = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    let bad = aws_sdk_sts::Client::new(&server.sdk_config("test", "wrong").await);
    good.get_caller_identity().send().await.unwrap();
    bad.get_caller_identity().send().await.unwrap_err();
    good.get_federation_token()
        .name("builder")
        .send()
        .await
        .unwrap_err();

    let records = server.audit_records().await;
    assert_eq!(records.len(), 3, "{records:#?}");
    let ok = records
        .iter()
        .find(|r| r["eventName"] == "GetCallerIdentity" && r.get("errorCode").is_none())
        .unwrap();
    assert_eq!(ok["eventSource"], "sts.amazonaws.com");
    assert_eq!(ok["eventVersion"], "1.11");
    assert_eq!(ok["awsRegion"], "us-east-1");
    assert_eq!(ok["userIdentity"]["type"], "Root");
    assert_eq!(ok["userIdentity"]["arn"], "arn:aws:iam::000000000000:root");
    assert_eq!(ok["sourceIPAddress"], "127.0.0.1");
    assert_eq!(ok["readOnly"], true);
    assert_eq!(ok["eventType"], "AwsApiCall");
    assert_eq!(ok["managementEvent"], true);
    assert_eq!(ok["eventCategory"], "Management");
    assert_eq!(ok["recipientAccountId"], "000000000000");
    assert!(ok["userAgent"].as_str().unwrap().contains("aws-sdk-rust"));
    assert!(ok["requestID"].as_str().unwrap().len() >= 32);
    assert!(ok["eventID"].as_str().unwrap().len() >= 32);

    let refused = records
        .iter()
        .find(|r| r["errorCode"] == "SignatureDoesNotMatch")
        .unwrap();
    assert_eq!(refused["userIdentity"]["type"], "Unknown");
    assert_eq!(refused["userIdentity"]["accessKeyId"], "test");
    let unbuilt = records
        .iter()
        .find(|r| r["eventName"] == "GetFederationToken")
        .unwrap();
    assert_eq!(unbuilt["errorCode"], "NotImplemented");
    server.stop().await;
}

#[tokio::test]
async fn request_ids_match_between_response_and_record() {
    let server = TestServer::start().await;
    let sts = aws_sdk_sts::Client::new(&server.sdk_config("test", "test").await);
    let output = sts.get_caller_identity().send().await.unwrap();
    let request_id = aws_sdk_sts::operation::RequestId::request_id(&output)
        .unwrap()
        .to_owned();
    let records = server.audit_records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["requestID"], request_id.as_str());
    server.stop().await;
}
