//! Built-in rotation functions for PostgreSQL, doing what AWS's rotation templates for
//! PostgreSQL do, in process: single user (the user's own password changes) and alternating
//! users (a master secret's user creates `<user>_clone` and the two take turns).
//!
//! The secret's value is AWS's database secret JSON: `engine`, `host`, `port`, `username`,
//! `password`, `dbname`, and for alternating users `masterarn`, the ARN of the secret holding
//! the credentials of a user allowed to create roles. The functions act as Secrets Manager on the
//! secret's account; passwords never appear in errors.

use std::sync::{Arc, Weak};
use std::time::Duration;

use palisade_core::service::BoxFuture;
use palisade_core::{RequestContext, Sensitive, ServiceError};
use palisade_model_secretsmanager::Secretsmanager;
use palisade_model_secretsmanager::types::*;
use serde_json::{Map, Value as Json};

use crate::SecretsManagerState;
use crate::db::Tenant;
use crate::functions::{RotationEvent, RotationFunction, RotationStep};
use crate::records::{AWSCURRENT, AWSPENDING};
use crate::replication::acting_in;

/// Characters AWS's templates keep out of generated database passwords.
const EXCLUDED_CHARACTERS: &str = "/@\"'\\";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const CLONE_SUFFIX: &str = "_clone";

/// How a PostgreSQL secret rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresStrategy {
    /// The secret's user changes its own password.
    SingleUser,
    /// The master user keeps two users, `<user>` and `<user>_clone`, and sets the password of
    /// the one not in use, which then becomes current.
    AlternatingUsers,
}

/// A rotation function for PostgreSQL secrets; register it under the Lambda ARN your secrets
/// name with [`crate::RotationFunctions::register`].
pub struct PostgresRotation {
    state: Weak<SecretsManagerState>,
    strategy: PostgresStrategy,
}

impl std::fmt::Debug for PostgresRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRotation")
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

impl PostgresRotation {
    /// Rotates secrets of `state` (held weakly: the state owns its registry of functions).
    pub fn new(state: &Arc<SecretsManagerState>, strategy: PostgresStrategy) -> Self {
        Self {
            state: Arc::downgrade(state),
            strategy,
        }
    }
}

/// Secrets Manager acting on the secret's own account and region, as the ARN names them.
fn acting_for(arn: &str, time: std::time::SystemTime) -> Result<RequestContext, String> {
    let mut parts = arn.split(':');
    let tenant = match (parts.nth(3), parts.next()) {
        (Some(region), Some(account)) => Tenant {
            account: account.to_owned(),
            region: region.to_owned(),
        },
        _ => return Err(format!("{arn} is not a secret ARN")),
    };
    acting_in(&tenant, time).ok_or_else(|| format!("{arn} is not a secret ARN"))
}

fn failed(error: ServiceError) -> String {
    error.message
}

/// The database secret JSON of one version.
struct DatabaseSecret(Map<String, Json>);

impl DatabaseSecret {
    fn parse(text: &str) -> Result<Self, String> {
        match serde_json::from_str(text) {
            Ok(Json::Object(fields)) => Ok(Self(fields)),
            _ => Err("The secret is not a database secret JSON object.".to_owned()),
        }
    }

    fn text(&self, field: &str) -> Result<&str, String> {
        self.0
            .get(field)
            .and_then(Json::as_str)
            .ok_or_else(|| format!("The database secret has no {field}."))
    }

    fn port(&self) -> u16 {
        match self.0.get("port") {
            Some(Json::Number(number)) => number.as_u64().and_then(|port| u16::try_from(port).ok()),
            Some(Json::String(text)) => text.parse().ok(),
            _ => None,
        }
        .unwrap_or(5432)
    }

    fn set(&mut self, field: &str, value: &str) {
        self.0
            .insert(field.to_owned(), Json::String(value.to_owned()));
    }

    fn to_text(&self) -> Sensitive<String> {
        Sensitive::new(Json::Object(self.0.clone()).to_string())
    }

    /// Opens a session as this secret's user.
    async fn connect(&self) -> Result<tokio_postgres::Client, String> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(self.text("host")?)
            .port(self.port())
            .user(self.text("username")?)
            .password(self.text("password")?)
            .dbname(
                self.0
                    .get("dbname")
                    .and_then(Json::as_str)
                    .unwrap_or("postgres"),
            )
            .connect_timeout(CONNECT_TIMEOUT);
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|error| format!("Unable to log into the database: {error}"))?;
        tokio::spawn(connection);
        Ok(client)
    }
}

impl Drop for DatabaseSecret {
    fn drop(&mut self) {
        if let Some(Json::String(password)) = self.0.get_mut("password") {
            zeroize_string(password);
        }
    }
}

fn zeroize_string(text: &mut String) {
    let taken = std::mem::take(text);
    drop(Sensitive::new(taken));
}

/// A PostgreSQL identifier, quoted.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal, quoted (utility statements take no parameters).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl PostgresRotation {
    async fn value(
        &self,
        state: &SecretsManagerState,
        ctx: &RequestContext,
        secret_id: &str,
        version_id: Option<&str>,
        stage: &str,
    ) -> Result<DatabaseSecret, ServiceError> {
        let read = state
            .get_secret_value(
                ctx,
                GetSecretValueRequest {
                    secret_id: secret_id.to_owned(),
                    version_id: version_id.map(str::to_owned),
                    version_stage: Some(stage.to_owned()),
                },
            )
            .await?;
        let text = read
            .secret_string
            .ok_or_else(|| ServiceError::internal("The database secret has no SecretString."))?;
        DatabaseSecret::parse(text.expose()).map_err(ServiceError::internal)
    }

    async fn step(&self, event: &RotationEvent) -> Result<(), String> {
        let state = self
            .state
            .upgrade()
            .ok_or_else(|| "Secrets Manager is shutting down.".to_owned())?;
        let ctx = acting_for(&event.secret_id, state.clock.now())?;
        let arn = event.secret_id.as_str();
        let token = event.client_request_token.as_str();
        match event.step {
            RotationStep::CreateSecret => self.create(&state, &ctx, arn, token).await,
            RotationStep::SetSecret => self.set(&state, &ctx, arn, token).await,
            RotationStep::TestSecret => {
                let pending = self
                    .value(&state, &ctx, arn, Some(token), AWSPENDING)
                    .await
                    .map_err(failed)?;
                let client = pending.connect().await?;
                client
                    .simple_query("SELECT NOW()")
                    .await
                    .map(|_| ())
                    .map_err(|error| format!("The new credentials failed a query: {error}"))
            }
            RotationStep::FinishSecret => finish(&state, &ctx, arn, token).await,
        }
    }

    async fn create(
        &self,
        state: &SecretsManagerState,
        ctx: &RequestContext,
        arn: &str,
        token: &str,
    ) -> Result<(), String> {
        if self
            .value(state, ctx, arn, Some(token), AWSPENDING)
            .await
            .is_ok()
        {
            return Ok(());
        }
        let mut pending = self
            .value(state, ctx, arn, None, AWSCURRENT)
            .await
            .map_err(failed)?;
        if self.strategy == PostgresStrategy::AlternatingUsers {
            let current = pending.text("username")?.to_owned();
            let other = match current.strip_suffix(CLONE_SUFFIX) {
                Some(original) => original.to_owned(),
                None => format!("{current}{CLONE_SUFFIX}"),
            };
            pending.set("username", &other);
        }
        let password = state
            .get_random_password(
                ctx,
                GetRandomPasswordRequest {
                    exclude_characters: Some(EXCLUDED_CHARACTERS.to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map_err(failed)?
            .random_password
            .ok_or_else(|| "No password was generated.".to_owned())?;
        pending.set("password", password.expose());
        state
            .put_secret_value(
                ctx,
                PutSecretValueRequest {
                    secret_id: arn.to_owned(),
                    client_request_token: Some(token.to_owned()),
                    secret_string: Some(pending.to_text()),
                    version_stages: Some(vec![AWSPENDING.to_owned()]),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn set(
        &self,
        state: &SecretsManagerState,
        ctx: &RequestContext,
        arn: &str,
        token: &str,
    ) -> Result<(), String> {
        let pending = self
            .value(state, ctx, arn, Some(token), AWSPENDING)
            .await
            .map_err(failed)?;
        // A retried step finds the password already set.
        if pending.connect().await.is_ok() {
            return Ok(());
        }
        let user = pending.text("username")?;
        let password = pending.text("password")?;
        match self.strategy {
            PostgresStrategy::SingleUser => {
                let current = self
                    .value(state, ctx, arn, None, AWSCURRENT)
                    .await
                    .map_err(failed)?;
                let client = current.connect().await?;
                let statement = format!(
                    "ALTER USER {} WITH PASSWORD {}",
                    identifier(user),
                    literal(password)
                );
                client
                    .batch_execute(&statement)
                    .await
                    .map_err(|error| format!("Unable to set the new password: {error}"))
            }
            PostgresStrategy::AlternatingUsers => {
                let current = self
                    .value(state, ctx, arn, None, AWSCURRENT)
                    .await
                    .map_err(failed)?;
                let master_arn = current.text("masterarn")?;
                let master = self
                    .value(state, ctx, master_arn, None, AWSCURRENT)
                    .await
                    .map_err(failed)?;
                let client = master.connect().await?;
                let exists = client
                    .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&user])
                    .await
                    .map_err(|error| format!("Unable to look the user up: {error}"))?
                    .is_some();
                let statement = if exists {
                    format!(
                        "ALTER USER {} WITH PASSWORD {}",
                        identifier(user),
                        literal(password)
                    )
                } else {
                    // The clone gets the original user's privileges through membership.
                    format!(
                        "CREATE ROLE {clone} WITH LOGIN PASSWORD {password}; GRANT {original} TO \
                         {clone}",
                        clone = identifier(user),
                        password = literal(password),
                        original = identifier(current.text("username")?),
                    )
                };
                client
                    .batch_execute(&statement)
                    .await
                    .map_err(|error| format!("Unable to set the new user's password: {error}"))
            }
        }
    }
}

/// Moves AWSCURRENT to the rotation's version, as every template's finishSecret does.
async fn finish(
    state: &SecretsManagerState,
    ctx: &RequestContext,
    arn: &str,
    token: &str,
) -> Result<(), String> {
    let described = state
        .describe_secret(
            ctx,
            DescribeSecretRequest {
                secret_id: arn.to_owned(),
            },
        )
        .await
        .map_err(failed)?;
    let current = described
        .version_ids_to_stages
        .unwrap_or_default()
        .into_iter()
        .find(|(_, stages)| stages.iter().any(|stage| stage == AWSCURRENT))
        .map(|(id, _)| id);
    if current.as_deref() == Some(token) {
        return Ok(());
    }
    state
        .update_secret_version_stage(
            ctx,
            UpdateSecretVersionStageRequest {
                secret_id: arn.to_owned(),
                version_stage: AWSCURRENT.to_owned(),
                move_to_version_id: Some(token.to_owned()),
                remove_from_version_id: current,
            },
        )
        .await
        .map(|_| ())
        .map_err(failed)
}

impl RotationFunction for PostgresRotation {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.step(event))
    }
}
