//! Connections and API destinations: what the operations answer (never a secret), and the HTTP
//! calls targets make to a receiver on an ephemeral port: the body and headers, each kind of
//! authorization, retries of 5xx answers, dead letters for 4xx ones, and the rate limit, paced
//! by the manual clock.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a failed test"
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use palisade_core::Sensitive;
use palisade_model_events::Events;
use palisade_model_events::types::*;
use serde_json::{Value, json};
use support::*;

fn secret(value: &str) -> Sensitive<String> {
    Sensitive::new(value.to_owned())
}

fn api_key(name: &str, value: &str) -> CreateConnectionAuthRequestParameters {
    CreateConnectionAuthRequestParameters {
        api_key_auth_parameters: Some(CreateConnectionApiKeyAuthRequestParameters {
            api_key_name: name.to_owned(),
            api_key_value: secret(value),
        }),
        ..CreateConnectionAuthRequestParameters::default()
    }
}

impl Harness {
    async fn connection(
        &self,
        name: &str,
        kind: ConnectionAuthorizationType,
        auth: CreateConnectionAuthRequestParameters,
    ) -> String {
        self.events
            .create_connection(
                &self.ctx,
                CreateConnectionRequest {
                    name: name.to_owned(),
                    description: None,
                    authorization_type: kind,
                    auth_parameters: auth,
                    invocation_connectivity_parameters: None,
                    kms_key_identifier: None,
                },
            )
            .await
            .unwrap()
            .connection_arn
            .unwrap()
    }

    async fn destination(
        &self,
        name: &str,
        connection: &str,
        endpoint: &str,
        rate: Option<i32>,
    ) -> String {
        self.events
            .create_api_destination(
                &self.ctx,
                CreateApiDestinationRequest {
                    name: name.to_owned(),
                    description: None,
                    connection_arn: connection.to_owned(),
                    invocation_endpoint: endpoint.to_owned(),
                    http_method: ApiDestinationHttpMethod::Post,
                    invocation_rate_limit_per_second: rate,
                },
            )
            .await
            .unwrap()
            .api_destination_arn
            .unwrap()
    }

    /// An API-key destination calling `endpoint`, which `com.example.orders` events go to,
    /// retried for a day (185 attempts); answers the destination's ARN.
    async fn retried_hook(&self, endpoint: &str) -> String {
        let connection = self
            .connection(
                "hooks",
                ConnectionAuthorizationType::ApiKey,
                api_key("x-api-key", "k"),
            )
            .await;
        let destination = self
            .destination("orders", &connection, endpoint, None)
            .await;
        self.orders_to(vec![retried_target("hook", &destination, 185, 86_400)])
            .await;
        destination
    }

    /// A rule sending `com.example.orders` events to `targets`.
    async fn orders_to(&self, targets: Vec<Target>) {
        self.rule_with_targets(
            None,
            "orders",
            r#"{"source": ["com.example.orders"]}"#,
            targets,
        )
        .await;
    }
}

#[tokio::test]
async fn api_key_calls_carry_the_event_and_every_parameter() {
    let h = Harness::new().await;
    let mut receiver = Receiver::start().await;
    let mut auth = api_key("x-api-key", "key-123");
    auth.invocation_http_parameters = Some(ConnectionHttpParameters {
        header_parameters: Some(vec![ConnectionHeaderParameter {
            key: Some("x-tenant".to_owned()),
            value: Some(secret("t-1")),
            is_value_secret: Some(false),
        }]),
        query_string_parameters: Some(vec![ConnectionQueryStringParameter {
            key: Some("source".to_owned()),
            value: Some(secret("eventbridge")),
            is_value_secret: Some(false),
        }]),
        body_parameters: Some(vec![ConnectionBodyParameter {
            key: Some("account-token".to_owned()),
            value: Some(secret("hidden")),
            is_value_secret: Some(true),
        }]),
    });
    let connection = h
        .connection("hooks", ConnectionAuthorizationType::ApiKey, auth)
        .await;
    let destination = h
        .destination(
            "orders",
            &connection,
            &receiver.url("/orders/*/events"),
            None,
        )
        .await;
    h.orders_to(vec![Target {
        http_parameters: Some(HttpParameters {
            path_parameter_values: Some(vec!["o 7".to_owned()]),
            header_parameters: Some(BTreeMap::from([("x-order".to_owned(), "7".to_owned())])),
            query_string_parameters: Some(BTreeMap::from([("v".to_owned(), "2".to_owned())])),
        }),
        ..target("hook", &destination)
    }])
    .await;
    let id = h.put_event(None, json!({"order": 7})).await;

    let call = receiver.next().await;
    assert_eq!(call.method, "POST");
    assert_eq!(call.target, "/orders/o%207/events?v=2&source=eventbridge");
    assert_eq!(call.headers["x-api-key"], "key-123");
    assert_eq!(call.headers["x-tenant"], "t-1");
    assert_eq!(call.headers["x-order"], "7");
    assert_eq!(
        call.headers["user-agent"],
        "Amazon/EventBridge/ApiDestinations"
    );
    assert_eq!(
        call.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(call.headers["range"], "bytes=0-1048575");
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["detail"], json!({"order": 7}));
    assert_eq!(body["account-token"], "hidden");

    // The description names the key but shows neither it nor a secret parameter.
    let described = h
        .events
        .describe_connection(
            &h.ctx,
            DescribeConnectionRequest {
                name: "hooks".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.connection_state,
        Some(ConnectionState::Authorized)
    );
    let auth = described.auth_parameters.unwrap();
    assert_eq!(
        auth.api_key_auth_parameters
            .unwrap()
            .api_key_name
            .as_deref(),
        Some("x-api-key")
    );
    let invocation = auth.invocation_http_parameters.unwrap();
    assert_eq!(invocation.body_parameters.unwrap()[0].value, None);
    assert_eq!(
        invocation.header_parameters.unwrap()[0]
            .value
            .as_ref()
            .map(|value| value.expose().as_str()),
        Some("t-1")
    );
    assert!(described.secret_arn.is_none());
}

#[tokio::test]
async fn basic_and_oauth_connections_authorize_their_calls() {
    let h = Harness::new().await;
    let mut receiver = Receiver::start().await;
    let basic = h
        .connection(
            "basic",
            ConnectionAuthorizationType::Basic,
            CreateConnectionAuthRequestParameters {
                basic_auth_parameters: Some(CreateConnectionBasicAuthRequestParameters {
                    username: "user".to_owned(),
                    password: secret("s3cret pass"),
                }),
                ..CreateConnectionAuthRequestParameters::default()
            },
        )
        .await;
    receiver.answer([(200, r#"{"access_token": "token-1", "expires_in": 3600}"#)]);
    let oauth = h
        .connection(
            "oauth",
            ConnectionAuthorizationType::OauthClientCredentials,
            CreateConnectionAuthRequestParameters {
                o_auth_parameters: Some(CreateConnectionOAuthRequestParameters {
                    client_parameters: CreateConnectionOAuthClientRequestParameters {
                        client_id: "client".to_owned(),
                        client_secret: secret("client-secret"),
                    },
                    authorization_endpoint: receiver.url("/token"),
                    http_method: ConnectionOAuthHttpMethod::Post,
                    o_auth_http_parameters: Some(ConnectionHttpParameters {
                        body_parameters: Some(vec![ConnectionBodyParameter {
                            key: Some("scope".to_owned()),
                            value: Some(secret("events:write")),
                            is_value_secret: Some(false),
                        }]),
                        ..ConnectionHttpParameters::default()
                    }),
                }),
                ..CreateConnectionAuthRequestParameters::default()
            },
        )
        .await;
    // The OAuth connection fetches its first token as soon as it exists.
    let token_call = receiver.next().await;
    assert_eq!(token_call.target, "/token");
    assert_eq!(
        token_call.headers["authorization"],
        format!("Basic {}", STANDARD.encode("client:client-secret"))
    );
    assert_eq!(
        token_call.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        token_call.body,
        "scope=events%3Awrite&grant_type=client_credentials"
    );

    let basic_destination = h
        .destination("basic", &basic, &receiver.url("/basic"), None)
        .await;
    let oauth_destination = h
        .destination("oauth", &oauth, &receiver.url("/oauth"), None)
        .await;
    h.orders_to(vec![
        target("a-basic", &basic_destination),
        target("b-oauth", &oauth_destination),
    ])
    .await;
    h.put_event(None, json!({"order": 7})).await;

    let mut calls: Vec<Received> = vec![receiver.next().await, receiver.next().await];
    calls.sort_by(|left, right| left.target.cmp(&right.target));
    assert_eq!(calls[0].target, "/basic");
    assert_eq!(
        calls[0].headers["authorization"],
        format!("Basic {}", STANDARD.encode("user:s3cret pass"))
    );
    assert_eq!(calls[1].target, "/oauth");
    assert_eq!(calls[1].headers["authorization"], "Bearer token-1");

    let described = h
        .events
        .describe_connection(
            &h.ctx,
            DescribeConnectionRequest {
                name: "oauth".to_owned(),
            },
        )
        .await
        .unwrap();
    let shown = format!("{described:?}");
    assert!(
        !shown.contains("client-secret") && !shown.contains("token-1"),
        "{shown}"
    );
    let oauth = described
        .auth_parameters
        .unwrap()
        .o_auth_parameters
        .unwrap();
    assert_eq!(
        oauth.client_parameters.unwrap().client_id.as_deref(),
        Some("client")
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_dead_lettered() {
    let mut h = Harness::new().await;
    let mut receiver = Receiver::start().await;
    let destination = h.retried_hook(&receiver.url("/hook")).await;

    receiver.answer([(500, "{}"), (200, "{}")]);
    let id = h.put_event(None, json!({"order": 1})).await;
    let first = receiver.next().await;
    h.clock.advance(Duration::from_secs(1));
    let retried = receiver.next().await;
    assert_eq!(first.body, retried.body, "the same event again");
    let stats = h
        .stats_once(|stats| stats.invocations == 2 && stats.failed_invocations == 1)
        .await;
    assert_eq!(stats.retry_invocation_attempts, 1);

    receiver.answer([(400, "{}")]);
    // Calls keep to the rate limit by the clock: the next one waits for its slot.
    h.clock.advance(Duration::from_secs(1));
    let refused = h.put_event(None, json!({"order": 2})).await;
    receiver.next().await;
    let dead = h.next_written().await;
    assert_eq!(dead.group, "/events/dlq");
    assert_eq!(dead.stream, refused);
    let letter: Value = serde_json::from_str(&dead.message).unwrap();
    assert_eq!(letter["ERROR_CODE"], "ERROR_FROM_TARGET");
    assert_eq!(letter["TARGET_ARN"], destination);
    assert_eq!(letter["RETRY_ATTEMPTS"], "0");
    assert!(letter.get("EXHAUSTED_RETRY_CONDITION").is_none());
    assert!(
        letter["ERROR_MESSAGE"].as_str().unwrap().contains("400"),
        "{letter}"
    );
    assert_ne!(id, refused);
}

#[tokio::test]
async fn a_server_calling_public_addresses_only_dead_letters_a_private_endpoint() {
    for (host, reason) in [
        ("127.0.0.1", "127.0.0.1 is not a public address"),
        ("localhost", "resolves to no public address"),
    ] {
        refuses_a_private_endpoint(host, reason).await;
    }
}

/// A server calling public addresses only dead-letters, without retry, an event for the
/// receiver's endpoint named by `host`, saying `reason`, and never calls it.
#[expect(
    clippy::indexing_slicing,
    reason = "test helper: a member missing from the dead letter is a failed test"
)]
async fn refuses_a_private_endpoint(host: &str, reason: &str) {
    let mut h = Harness::reaching(palisade_events::addresses::Reach::PublicOnly).await;
    let mut receiver = Receiver::start().await;
    let endpoint = receiver.url("/hook").replace("127.0.0.1", host);
    h.retried_hook(&endpoint).await;

    let refused = h.put_event(None, json!({"order": 1})).await;
    let dead = h.next_written().await;
    assert_eq!(dead.group, "/events/dlq");
    assert_eq!(dead.stream, refused);
    let letter: Value = serde_json::from_str(&dead.message).unwrap();
    assert_eq!(letter["ERROR_CODE"], "SDK_CLIENT_ERROR");
    assert_eq!(letter["RETRY_ATTEMPTS"], "0", "not retried: {letter}");
    assert!(
        letter["ERROR_MESSAGE"].as_str().unwrap().contains(reason),
        "{letter}"
    );
    assert!(
        receiver.received.try_recv().is_err(),
        "the receiver is never called"
    );
}

#[tokio::test]
async fn calls_keep_to_the_rate_limit() {
    let h = Harness::new().await;
    let mut receiver = Receiver::start().await;
    let connection = h
        .connection(
            "hooks",
            ConnectionAuthorizationType::ApiKey,
            api_key("x-api-key", "k"),
        )
        .await;
    let destination = h
        .destination("slow", &connection, &receiver.url("/slow"), Some(1))
        .await;
    h.orders_to(vec![target("slow", &destination)]).await;
    let first = h.put_event(None, json!({"order": 1})).await;
    let second = h.put_event(None, json!({"order": 2})).await;

    let call = receiver.next().await;
    let called: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(called["id"], first.as_str());
    assert!(
        receiver.received.try_recv().is_err(),
        "the second call waits for the next second"
    );
    h.clock.advance(Duration::from_secs(1));
    let call = receiver.next().await;
    let called: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(called["id"], second.as_str());
}

#[tokio::test]
async fn deauthorized_connections_authorize_nothing() {
    let mut h = Harness::new().await;
    let receiver = Receiver::start().await;
    h.retried_hook(&receiver.url("/hook")).await;
    let answer = h
        .events
        .deauthorize_connection(
            &h.ctx,
            DeauthorizeConnectionRequest {
                name: "hooks".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        answer.connection_state,
        Some(ConnectionState::Deauthorizing)
    );
    let described = h
        .events
        .describe_connection(
            &h.ctx,
            DescribeConnectionRequest {
                name: "hooks".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        described.connection_state,
        Some(ConnectionState::Deauthorized)
    );
    assert!(described.auth_parameters.is_none());

    h.put_event(None, json!({"order": 1})).await;
    let letter: Value = serde_json::from_str(&h.next_written().await.message).unwrap();
    assert_eq!(letter["ERROR_CODE"], "NO_PERMISSIONS");
}

#[tokio::test]
async fn connections_and_destinations_are_managed_as_aws_does() {
    let h = Harness::new().await;
    let connection = h
        .connection(
            "hooks",
            ConnectionAuthorizationType::ApiKey,
            api_key("x-api-key", "k"),
        )
        .await;
    assert!(connection.starts_with("arn:aws:events:us-east-1:000000000000:connection/hooks/"));
    let again = h
        .events
        .create_connection(
            &h.ctx,
            CreateConnectionRequest {
                name: "hooks".to_owned(),
                description: None,
                authorization_type: ConnectionAuthorizationType::ApiKey,
                auth_parameters: api_key("x-api-key", "k"),
                invocation_connectivity_parameters: None,
                kms_key_identifier: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&again), "ResourceAlreadyExistsException");
    let mismatched = h
        .events
        .create_connection(
            &h.ctx,
            CreateConnectionRequest {
                name: "other".to_owned(),
                description: None,
                authorization_type: ConnectionAuthorizationType::Basic,
                auth_parameters: api_key("x-api-key", "k"),
                invocation_connectivity_parameters: None,
                kms_key_identifier: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&mismatched), "Validation");

    // An update changes what it names and keeps the rest, the secret included.
    h.events
        .update_connection(
            &h.ctx,
            UpdateConnectionRequest {
                name: "hooks".to_owned(),
                description: Some("partner hooks".to_owned()),
                auth_parameters: Some(UpdateConnectionAuthRequestParameters {
                    api_key_auth_parameters: Some(UpdateConnectionApiKeyAuthRequestParameters {
                        api_key_name: Some("x-partner-key".to_owned()),
                        api_key_value: None,
                    }),
                    ..UpdateConnectionAuthRequestParameters::default()
                }),
                ..UpdateConnectionRequest::default()
            },
        )
        .await
        .unwrap();
    let listed = h
        .events
        .list_connections(&h.ctx, ListConnectionsRequest::default())
        .await
        .unwrap()
        .connections
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name.as_deref(), Some("hooks"));

    let destination = h
        .destination("orders", &connection, "https://hooks.example.com/*", None)
        .await;
    assert!(
        destination.starts_with("arn:aws:events:us-east-1:000000000000:api-destination/orders/")
    );
    let described = h
        .events
        .describe_api_destination(
            &h.ctx,
            DescribeApiDestinationRequest {
                name: "orders".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(described.invocation_rate_limit_per_second, Some(300));
    assert_eq!(
        described.api_destination_state,
        Some(ApiDestinationState::Active)
    );
    let missing_connection = h
        .events
        .create_api_destination(
            &h.ctx,
            CreateApiDestinationRequest {
                name: "lost".to_owned(),
                description: None,
                connection_arn: "arn:aws:events:us-east-1:000000000000:connection/none/x"
                    .to_owned(),
                invocation_endpoint: "https://hooks.example.com/".to_owned(),
                http_method: ApiDestinationHttpMethod::Post,
                invocation_rate_limit_per_second: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&missing_connection), "ResourceNotFoundException");
    h.events
        .update_api_destination(
            &h.ctx,
            UpdateApiDestinationRequest {
                name: "orders".to_owned(),
                invocation_rate_limit_per_second: Some(5),
                ..UpdateApiDestinationRequest::default()
            },
        )
        .await
        .unwrap();
    let listed = h
        .events
        .list_api_destinations(
            &h.ctx,
            ListApiDestinationsRequest {
                connection_arn: Some(connection.clone()),
                ..ListApiDestinationsRequest::default()
            },
        )
        .await
        .unwrap()
        .api_destinations
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].invocation_rate_limit_per_second, Some(5));

    h.events
        .delete_api_destination(
            &h.ctx,
            DeleteApiDestinationRequest {
                name: "orders".to_owned(),
            },
        )
        .await
        .unwrap();
    let gone = h
        .events
        .describe_api_destination(
            &h.ctx,
            DescribeApiDestinationRequest {
                name: "orders".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        gone.message,
        "Failed to describe the api-destination(s). An api-destination 'orders' does not exist."
    );
    let deleted = h
        .events
        .delete_connection(
            &h.ctx,
            DeleteConnectionRequest {
                name: "hooks".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.connection_state, Some(ConnectionState::Deleting));
    let gone = h
        .events
        .describe_connection(
            &h.ctx,
            DescribeConnectionRequest {
                name: "hooks".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
}
