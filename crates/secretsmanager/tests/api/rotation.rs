//! Rotation: the four-step protocol against a rotation function, its failure path, the
//! scheduled sweeper (across a restart), cancellation, and the command and HTTP function forms.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_core::service::BoxFuture;
use palisade_core::{RequestContext, Sensitive};
use palisade_model_secretsmanager::Secretsmanager;
use palisade_model_secretsmanager::types::*;
use palisade_secretsmanager::{
    CommandFunction, HttpFunction, RotationEvent, RotationFunction, RotationStep,
    SecretsManagerState,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:rotate";

/// A rotation function that does what AWS's templates do, calling the service directly: the
/// new value in createSecret, the label move in finishSecret; it can be told to fail a step.
struct Rotator {
    state: Arc<SecretsManagerState>,
    ctx: RequestContext,
    new_value: String,
    fail_at: Option<RotationStep>,
    events: Mutex<Vec<RotationEvent>>,
}

impl Rotator {
    fn new(
        state: &Arc<SecretsManagerState>,
        new_value: &str,
        fail_at: Option<RotationStep>,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Arc::clone(state),
            ctx: context("us-east-1"),
            new_value: new_value.to_owned(),
            fail_at,
            events: Mutex::new(Vec::new()),
        })
    }

    fn steps(&self) -> Vec<RotationStep> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|event| event.step)
            .collect()
    }

    async fn step(&self, event: &RotationEvent) -> Result<(), palisade_core::ServiceError> {
        // As AWS's templates check first: the token names a version labeled AWSPENDING.
        let versions = self
            .state
            .describe_secret(
                &self.ctx,
                DescribeSecretRequest {
                    secret_id: event.secret_id.clone(),
                },
            )
            .await?
            .version_ids_to_stages
            .unwrap_or_default();
        let staged = versions
            .get(&event.client_request_token)
            .is_some_and(|stages| stages.iter().any(|stage| stage == "AWSPENDING"));
        if !staged {
            return Err(palisade_core::ServiceError::internal(
                "the token is not an AWSPENDING version",
            ));
        }
        match event.step {
            RotationStep::CreateSecret => {
                self.state
                    .put_secret_value(
                        &self.ctx,
                        PutSecretValueRequest {
                            secret_id: event.secret_id.clone(),
                            client_request_token: Some(event.client_request_token.clone()),
                            secret_string: Some(Sensitive::new(self.new_value.clone())),
                            version_stages: Some(vec!["AWSPENDING".into()]),
                            rotation_token: Some(Sensitive::new(event.rotation_token.clone())),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            RotationStep::FinishSecret => {
                let described = self
                    .state
                    .describe_secret(
                        &self.ctx,
                        DescribeSecretRequest {
                            secret_id: event.secret_id.clone(),
                        },
                    )
                    .await?;
                let current = described
                    .version_ids_to_stages
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(_, stages)| stages.iter().any(|stage| stage == "AWSCURRENT"))
                    .map(|(id, _)| id);
                self.state
                    .update_secret_version_stage(
                        &self.ctx,
                        UpdateSecretVersionStageRequest {
                            secret_id: event.secret_id.clone(),
                            version_stage: "AWSCURRENT".into(),
                            move_to_version_id: Some(event.client_request_token.clone()),
                            remove_from_version_id: current,
                        },
                    )
                    .await?;
            }
            RotationStep::SetSecret | RotationStep::TestSecret => {}
        }
        Ok(())
    }
}

impl RotationFunction for Rotator {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.events.lock().unwrap().push(event.clone());
            if self.fail_at == Some(event.step) {
                return Err(format!("{} failed", event.step.as_str()));
            }
            self.step(event).await.map_err(|error| error.message)
        })
    }
}

fn rotate(rules: Option<RotationRulesType>, immediately: Option<bool>) -> RotateSecretRequest {
    RotateSecretRequest {
        secret_id: "rotating".into(),
        rotation_lambda_arn: Some(LAMBDA.into()),
        rotation_rules: rules,
        rotate_immediately: immediately,
        ..Default::default()
    }
}

fn every_days(days: i64) -> Option<RotationRulesType> {
    Some(RotationRulesType {
        automatically_after_days: Some(days),
        ..Default::default()
    })
}

#[tokio::test]
async fn a_rotation_runs_four_steps_and_promotes_the_new_version() {
    let h = Harness::new().await;
    let arn = h.create("rotating", "old").await.arn.unwrap();
    let rotator = Rotator::new(h.state(), "new", None);
    h.state()
        .rotation_functions()
        .register(LAMBDA, rotator.clone());

    let rotated: RotateSecretResponse = h
        .call("RotateSecret", rotate(every_days(30), None))
        .await
        .unwrap();
    let token = rotated.version_id.unwrap();
    assert_eq!(rotator.steps(), RotationStep::ALL);
    let events = rotator.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .all(|event| event.secret_id == arn && event.client_request_token == token)
    );
    let json: serde_json::Value = serde_json::from_str(&events[0].to_json()).unwrap();
    assert_eq!(json["Step"], "createSecret");
    assert_eq!(json["SecretId"], arn.as_str());
    assert_eq!(json["ClientRequestToken"], token.as_str());
    assert!(json["RotationToken"].is_string());

    assert_eq!(h.current("rotating").await, "new");
    let described = h.describe("rotating").await.unwrap();
    let stages = described.version_ids_to_stages.unwrap();
    assert_eq!(stages.get(&token).unwrap(), &["AWSCURRENT"]);
    assert!(stages.values().any(|labels| labels == &["AWSPREVIOUS"]));
    assert_eq!(described.rotation_enabled, Some(true));
    assert_eq!(described.rotation_lambda_arn.as_deref(), Some(LAMBDA));
    assert_eq!(described.last_rotated_date.unwrap().0, h.now_seconds());
    assert_eq!(
        described.next_rotation_date.unwrap().0,
        h.now_seconds() + 30.0 * DAY_SECONDS
    );
    assert_eq!(
        described.rotation_rules.unwrap().automatically_after_days,
        Some(30)
    );
}

#[tokio::test]
async fn a_failed_step_leaves_awspending_and_blocks_the_next_rotation() {
    let h = Harness::new().await;
    h.create("rotating", "old").await;
    let rotator = Rotator::new(h.state(), "new", Some(RotationStep::TestSecret));
    h.state()
        .rotation_functions()
        .register(LAMBDA, rotator.clone());
    let rotated: RotateSecretResponse = h
        .call("RotateSecret", rotate(every_days(30), None))
        .await
        .unwrap();
    let token = rotated.version_id.unwrap();
    assert_eq!(
        rotator.steps(),
        [
            RotationStep::CreateSecret,
            RotationStep::SetSecret,
            RotationStep::TestSecret
        ]
    );
    assert_eq!(h.current("rotating").await, "old");
    let described = h.describe("rotating").await.unwrap();
    assert_eq!(
        described
            .version_ids_to_stages
            .unwrap()
            .get(&token)
            .unwrap(),
        &["AWSPENDING"]
    );
    assert!(described.last_rotated_date.is_none());

    let again = h
        .call::<RotateSecretResponse>("RotateSecret", rotate(None, None))
        .await;
    assert_eq!(
        assert_code(again, "InvalidRequestException"),
        "A previous rotation isn't complete. That rotation will be reattempted."
    );
    let cancelled: CancelRotateSecretResponse = h
        .call(
            "CancelRotateSecret",
            CancelRotateSecretRequest {
                secret_id: "rotating".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(cancelled.version_id.as_deref(), Some(token.as_str()));
    assert_eq!(
        h.describe("rotating").await.unwrap().rotation_enabled,
        Some(false)
    );
}

#[tokio::test]
async fn a_failed_create_step_leaves_awspending_on_an_empty_version() {
    let h = Harness::new().await;
    h.create("rotating", "old").await;
    let rotator = Rotator::new(h.state(), "new", Some(RotationStep::CreateSecret));
    h.state()
        .rotation_functions()
        .register(LAMBDA, rotator.clone());
    let token = h
        .call::<RotateSecretResponse>("RotateSecret", rotate(every_days(30), None))
        .await
        .unwrap()
        .version_id
        .unwrap();
    let stages = h
        .describe("rotating")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap();
    assert_eq!(stages.get(&token).unwrap(), &["AWSPENDING"]);
    let pending = h
        .call::<GetSecretValueResponse>(
            "GetSecretValue",
            GetSecretValueRequest {
                secret_id: "rotating".into(),
                version_stage: Some("AWSPENDING".into()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        assert_code(pending, "ResourceNotFoundException"),
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"
    );

    // The sweeper retries the same version once the rotation is due.
    let fixed = Rotator::new(h.state(), "new", None);
    h.state()
        .rotation_functions()
        .register(LAMBDA, fixed.clone());
    h.clock.advance(DAY * 30);
    assert_eq!(h.state().rotate_due_secrets().await.unwrap(), 1);
    let events = fixed.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .all(|event| event.client_request_token == token)
    );
    assert_eq!(h.current("rotating").await, "new");
}

#[tokio::test]
async fn scheduled_rotations_run_from_the_sweeper_after_a_restart() {
    let h = Harness::new().await;
    h.create("rotating", "old").await;
    let tester = Rotator::new(h.state(), "unused", None);
    h.state()
        .rotation_functions()
        .register(LAMBDA, tester.clone());
    let response: RotateSecretResponse = h
        .call("RotateSecret", rotate(every_days(1), Some(false)))
        .await
        .unwrap();
    assert!(response.version_id.is_none());
    // Only testSecret ran, against a pending version removed afterwards.
    assert_eq!(tester.steps(), [RotationStep::TestSecret]);
    assert_eq!(h.current("rotating").await, "old");
    let versions = h
        .describe("rotating")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap();
    assert_eq!(versions.len(), 1);
    let described = h.describe("rotating").await.unwrap();
    assert_eq!(
        described.next_rotation_date.unwrap().0,
        h.now_seconds() + DAY_SECONDS
    );

    let restarted = Arc::new(h.restarted());
    let rotator = Rotator::new(&restarted, "scheduled", None);
    restarted
        .rotation_functions()
        .register(LAMBDA, rotator.clone());
    assert_eq!(restarted.rotate_due_secrets().await.unwrap(), 0);
    h.clock.advance(DAY);
    assert_eq!(restarted.rotate_due_secrets().await.unwrap(), 1);
    assert_eq!(rotator.steps(), RotationStep::ALL);
    assert_eq!(h.current("rotating").await, "scheduled");
    let described = h.describe("rotating").await.unwrap();
    assert_eq!(described.last_rotated_date.unwrap().0, h.now_seconds());
    assert_eq!(
        described.next_rotation_date.unwrap().0,
        h.now_seconds() + DAY_SECONDS
    );
    // Not due again until another day has passed.
    assert_eq!(restarted.rotate_due_secrets().await.unwrap(), 0);
}

#[tokio::test]
async fn rotation_needs_a_known_function_and_valid_rules() {
    let h = Harness::new().await;
    h.create("rotating", "old").await;
    let no_function = h
        .call::<RotateSecretResponse>(
            "RotateSecret",
            RotateSecretRequest {
                secret_id: "rotating".into(),
                ..Default::default()
            },
        )
        .await;
    assert_code(no_function, "InvalidRequestException");
    let unregistered = h
        .call::<RotateSecretResponse>("RotateSecret", rotate(every_days(3), None))
        .await;
    assert_code(unregistered, "InvalidRequestException");
    h.state()
        .rotation_functions()
        .register(LAMBDA, Rotator::new(h.state(), "new", None));
    for rules in [
        RotationRulesType {
            schedule_expression: Some("rate(2 weeks)".into()),
            ..Default::default()
        },
        RotationRulesType {
            schedule_expression: Some("cron(0 16 * * * *)".into()),
            ..Default::default()
        },
        RotationRulesType {
            automatically_after_days: Some(2),
            duration: Some("49h".into()),
            ..Default::default()
        },
    ] {
        let refused = h
            .call::<RotateSecretResponse>("RotateSecret", rotate(Some(rules), None))
            .await;
        assert_code(refused, "InvalidParameterException");
    }
    let cron: RotateSecretResponse = h
        .call(
            "RotateSecret",
            rotate(
                Some(RotationRulesType {
                    schedule_expression: Some("cron(0 16 1,15 * ? *)".into()),
                    duration: Some("2h".into()),
                    ..Default::default()
                }),
                Some(false),
            ),
        )
        .await
        .unwrap();
    assert!(cron.version_id.is_none());
    // 2024-01-01T16:00:00Z is the next 1st or 15th at 16:00.
    let next = h
        .describe("rotating")
        .await
        .unwrap()
        .next_rotation_date
        .unwrap();
    assert_eq!(next.0, h.now_seconds() + 16.0 * 3600.0);
}

/// Removes the AWSPENDING label an unfinished rotation left, so that another can start.
async fn clear_pending(h: &Harness) {
    let stages = h
        .describe("rotating")
        .await
        .unwrap()
        .version_ids_to_stages
        .unwrap();
    let pending = stages
        .iter()
        .find(|(_, labels)| labels.iter().any(|label| label == "AWSPENDING"))
        .map(|(id, _)| id.clone())
        .unwrap();
    h.act(
        "UpdateSecretVersionStage",
        UpdateSecretVersionStageRequest {
            secret_id: "rotating".into(),
            version_stage: "AWSPENDING".into(),
            remove_from_version_id: Some(pending),
            move_to_version_id: None,
        },
    )
    .await
    .unwrap();
}

fn shell(script: &str, log: &Path, timeout: Duration) -> Arc<CommandFunction> {
    Arc::new(CommandFunction {
        program: "sh".into(),
        args: vec!["-c".into(), script.into(), log.display().to_string()],
        timeout,
    })
}

#[tokio::test]
async fn command_functions_get_the_event_on_stdin_and_fail_on_exit_status() {
    let h = Harness::new().await;
    let arn = h.create("rotating", "old").await.arn.unwrap();
    let log = h.dir.path().join("events.jsonl");
    let record = r#"cat >> "$0"; echo >> "$0""#;
    h.state()
        .rotation_functions()
        .register(LAMBDA, shell(record, &log, Duration::from_secs(20)));
    let _: RotateSecretResponse = h
        .call("RotateSecret", rotate(every_days(7), None))
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let steps: Vec<&str> = lines
        .iter()
        .map(|event| event["Step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert!(lines.iter().all(|event| event["SecretId"] == arn.as_str()));
    // The command made no new version, so nothing was promoted.
    assert!(
        h.describe("rotating")
            .await
            .unwrap()
            .last_rotated_date
            .is_none()
    );
    clear_pending(&h).await;

    std::fs::remove_file(&log).unwrap();
    h.state().rotation_functions().register(
        LAMBDA,
        shell(&format!("{record}; exit 3"), &log, Duration::from_secs(20)),
    );
    let _: RotateSecretResponse = h.call("RotateSecret", rotate(None, None)).await.unwrap();
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        lines.lines().count(),
        1,
        "the failed first step stops the rotation"
    );
    clear_pending(&h).await;

    std::fs::remove_file(&log).unwrap();
    h.state().rotation_functions().register(
        LAMBDA,
        shell(
            &format!("{record}; exec sleep 30"),
            &log,
            Duration::from_millis(300),
        ),
    );
    let _: RotateSecretResponse = h.call("RotateSecret", rotate(None, None)).await.unwrap();
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        lines.lines().count(),
        1,
        "the timed-out first step stops the rotation"
    );
}

/// An HTTP server answering `status` to every request, recording the bodies.
async fn endpoint(status: u16) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rotate", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            let body = loop {
                let read = socket.read(&mut buffer).await.unwrap();
                if read == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break Some(body.to_owned());
                    }
                }
            };
            if let Some(body) = body {
                recorded.lock().unwrap().push(body);
            }
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            socket.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (url, bodies)
}

#[tokio::test]
async fn http_functions_get_the_event_posted_and_fail_on_non_2xx() {
    let h = Harness::new().await;
    let arn = h.create("rotating", "old").await.arn.unwrap();
    let (url, bodies) = endpoint(200).await;
    h.state().rotation_functions().register(
        LAMBDA,
        Arc::new(HttpFunction::new(&url, Duration::from_secs(20)).unwrap()),
    );
    let _: RotateSecretResponse = h
        .call("RotateSecret", rotate(every_days(7), None))
        .await
        .unwrap();
    let events: Vec<serde_json::Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();
    let steps: Vec<&str> = events
        .iter()
        .map(|event| event["Step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert!(events.iter().all(|event| event["SecretId"] == arn.as_str()));
    clear_pending(&h).await;

    let (failing, failed_bodies) = endpoint(500).await;
    h.state().rotation_functions().register(
        LAMBDA,
        Arc::new(HttpFunction::new(&failing, Duration::from_secs(20)).unwrap()),
    );
    let _: RotateSecretResponse = h.call("RotateSecret", rotate(None, None)).await.unwrap();
    assert_eq!(failed_bodies.lock().unwrap().len(), 1);
}
