//! Rotation functions: what Secrets Manager invokes for each step of a rotation. In AWS these
//! are Lambda functions; here a [`RotationFunction`] is registered under the Lambda ARN that
//! `RotateSecret` names, and is either a local command ([`CommandFunction`]: the event JSON on
//! stdin, success is exit status 0), an HTTP endpoint ([`HttpFunction`]: the event JSON POSTed,
//! success is a 2xx answer) or any Rust implementation (tests).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use palisade_core::service::BoxFuture;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

/// How long a step may run when the configuration does not say.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// One function of a configuration document (see [`RotationFunctions::register_from_json`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionConfig {
    command: Option<Vec<String>>,
    url: Option<String>,
    builtin: Option<String>,
    timeout_seconds: Option<u64>,
}

/// A step of the rotation protocol, named as the Lambda event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl RotationStep {
    /// The four steps in the order Secrets Manager runs them.
    pub const ALL: [RotationStep; 4] = [
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RotationStep::CreateSecret => "createSecret",
            RotationStep::SetSecret => "setSecret",
            RotationStep::TestSecret => "testSecret",
            RotationStep::FinishSecret => "finishSecret",
        }
    }
}

/// The event a rotation function receives for one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    pub step: RotationStep,
    /// The secret's ARN.
    pub secret_id: String,
    /// The id of the version the rotation creates (the one labeled `AWSPENDING`).
    pub client_request_token: String,
    /// A token identifying this rotation, which the function may pass back to PutSecretValue.
    pub rotation_token: String,
}

impl RotationEvent {
    /// The event as JSON, as Lambda delivers it.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "Step": self.step.as_str(),
            "SecretId": self.secret_id,
            "ClientRequestToken": self.client_request_token,
            "RotationToken": self.rotation_token,
        })
        .to_string()
    }
}

/// Something that runs a rotation step. An `Err` fails the step (and so the rotation); its text
/// must not contain secret values.
pub trait RotationFunction: Send + Sync + 'static {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>>;
}

/// The rotation functions, by Lambda ARN.
#[derive(Default)]
pub struct RotationFunctions {
    by_arn: RwLock<HashMap<String, Arc<dyn RotationFunction>>>,
}

impl std::fmt::Debug for RotationFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let by_arn = self.by_arn.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RotationFunctions")
            .field("arns", &by_arn.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RotationFunctions {
    /// Makes `function` the one invoked for the Lambda ARN `arn`, replacing any other.
    pub fn register(&self, arn: impl Into<String>, function: Arc<dyn RotationFunction>) {
        self.by_arn
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(arn.into(), function);
    }

    /// Registers the functions a JSON configuration document describes, and answers how many:
    /// an object from Lambda ARN to `{"command": [program, args...]}` or `{"url": "..."}`, each
    /// with an optional `"timeout_seconds"` (default 30), for example
    /// `{"arn:aws:lambda:us-east-1:000000000000:function:rotate":
    /// {"command": ["python3", "/opt/rotate.py"], "timeout_seconds": 60}}`. Built-in functions
    /// (`{"builtin": "<name>"}`) need the service: see
    /// [`crate::SecretsManagerState::configure_rotation`].
    pub fn register_from_json(&self, document: &str) -> Result<usize, String> {
        self.register_configured(document, |name| Err(format!("unknown built-in {name}")))
    }

    /// [`RotationFunctions::register_from_json`], resolving built-in names with `builtin`.
    pub(crate) fn register_configured(
        &self,
        document: &str,
        builtin: impl Fn(&str) -> Result<Arc<dyn RotationFunction>, String>,
    ) -> Result<usize, String> {
        let functions: HashMap<String, FunctionConfig> = serde_json::from_str(document)
            .map_err(|error| format!("invalid rotation function configuration: {error}"))?;
        let count = functions.len();
        for (arn, config) in functions {
            let timeout =
                Duration::from_secs(config.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS));
            let function: Arc<dyn RotationFunction> =
                match (config.command, config.url, config.builtin) {
                    (Some(command), None, None) => {
                        let mut words = command.into_iter();
                        let program = words
                            .next()
                            .ok_or_else(|| format!("the command of {arn} is empty"))?;
                        Arc::new(CommandFunction {
                            program: program.into(),
                            args: words.collect(),
                            timeout,
                        })
                    }
                    (None, Some(url), None) => Arc::new(HttpFunction::new(&url, timeout)?),
                    (None, None, Some(name)) => builtin(&name)?,
                    _ => {
                        return Err(format!(
                            "{arn} needs exactly one of \"command\", \"url\" and \"builtin\""
                        ));
                    }
                };
            self.register(arn, function);
        }
        Ok(count)
    }

    pub(crate) fn get(&self, arn: &str) -> Option<Arc<dyn RotationFunction>> {
        self.by_arn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(arn)
            .cloned()
    }
}

/// A local program run once per step with the event JSON on its standard input; exit status 0 is
/// success, anything else or running past the timeout (the program is then killed) a failure.
#[derive(Debug, Clone)]
pub struct CommandFunction {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
}

impl RotationFunction for CommandFunction {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut child = tokio::process::Command::new(&self.program)
                .args(&self.args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|error| format!("the rotation command could not start: {error}"))?;
            let run = async {
                if let Some(mut stdin) = child.stdin.take() {
                    // A command that exits without reading its input is judged by its status.
                    match stdin.write_all(event.to_json().as_bytes()).await {
                        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                            return Err(format!("the event could not be written: {error}"));
                        }
                        _ => {}
                    }
                }
                child
                    .wait()
                    .await
                    .map_err(|error| format!("the rotation command failed: {error}"))
            };
            match tokio::time::timeout(self.timeout, run).await {
                Err(_) => Err(format!(
                    "the rotation command timed out after {:?} in step {}",
                    self.timeout,
                    event.step.as_str()
                )),
                Ok(Err(error)) => Err(error),
                Ok(Ok(status)) if status.success() => Ok(()),
                Ok(Ok(status)) => Err(format!(
                    "the rotation command failed step {} with {status}",
                    event.step.as_str()
                )),
            }
        })
    }
}

/// An HTTP(S) endpoint that receives each step's event JSON as a POST; a 2xx answer is success,
/// anything else or no answer within the timeout a failure.
pub struct HttpFunction {
    url: hyper::Uri,
    timeout: Duration,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFunction")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpFunction {
    /// POSTs to `url` (http or https, trusting the system's root certificates).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let url: hyper::Uri = url
            .parse()
            .map_err(|error| format!("invalid rotation URL {url}: {error}"))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("no root certificates: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            url,
            timeout,
            client,
        })
    }
}

impl RotationFunction for HttpFunction {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let request = hyper::Request::post(self.url.clone())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(event.to_json())))
                .map_err(|error| format!("the rotation request could not be built: {error}"))?;
            let call = async {
                let response = self.client.request(request).await.map_err(|error| {
                    format!("the rotation endpoint could not be reached: {error}")
                })?;
                let status = response.status();
                // Drain the body so the connection can be reused; its content is not used.
                let _ = response.into_body().collect().await;
                Ok::<_, String>(status)
            };
            match tokio::time::timeout(self.timeout, call).await {
                Err(_) => Err(format!(
                    "the rotation endpoint timed out after {:?} in step {}",
                    self.timeout,
                    event.step.as_str()
                )),
                Ok(Err(error)) => Err(error),
                Ok(Ok(status)) if status.is_success() => Ok(()),
                Ok(Ok(status)) => Err(format!(
                    "the rotation endpoint failed step {} with HTTP {status}",
                    event.step.as_str()
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_documents_register_commands_and_urls() {
        let functions = RotationFunctions::default();
        let count = functions.register_from_json(
            r#"{"arn:aws:lambda:us-east-1:000000000000:function:a": {"command": ["true"]},
                "arn:aws:lambda:us-east-1:000000000000:function:b":
                    {"url": "http://127.0.0.1:9/rotate", "timeout_seconds": 5}}"#,
        );
        assert_eq!(count, Ok(2));
        assert!(
            functions
                .get("arn:aws:lambda:us-east-1:000000000000:function:a")
                .is_some()
        );
        assert!(
            functions
                .get("arn:aws:lambda:us-east-1:000000000000:function:b")
                .is_some()
        );
        for bad in [
            r#"{"arn": {}}"#,
            r#"{"arn": {"command": []}}"#,
            r#"{"arn": {"command": ["x"], "url": "http://h/"}}"#,
            r#"{"arn": {"cmd": ["x"]}}"#,
            r#"{"arn": {"builtin": "postgres-single-user"}}"#,
            "[]",
        ] {
            assert!(
                functions.register_from_json(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }
}
