//! Built-in rotation functions for PostgreSQL and MariaDB/MySQL, doing in process what AWS's
//! rotation templates for them do: single user (the user changes its own password) and
//! alternating users (a master secret's user creates `<user>_clone` with the same privileges,
//! and the two take turns).
//!
//! The secret's value is AWS's database secret JSON: `engine`, `host`, `port`, `username`,
//! `password`, `dbname`, and for alternating users `masterarn`, the ARN of the secret holding
//! the credentials of a user allowed to create users. The functions act as Secrets Manager on the
//! secret's account; passwords never appear in errors.

use std::sync::{Arc, Weak};
use std::time::Duration;

use mysql_async::prelude::Queryable;
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

/// The database a secret's credentials are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseEngine {
    Postgres,
    /// MariaDB, or MySQL 5.7 and later.
    MariaDb,
}

/// How a database secret rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStrategy {
    /// The secret's user changes its own password.
    SingleUser,
    /// The master user keeps two users, `<user>` and `<user>_clone`, and sets the password of
    /// the one not in use, which then becomes current.
    AlternatingUsers,
}

/// A rotation function for database secrets; register it under the Lambda ARN your secrets
/// name with [`crate::RotationFunctions::register`].
pub struct DatabaseRotation {
    state: Weak<SecretsManagerState>,
    engine: DatabaseEngine,
    strategy: RotationStrategy,
}

impl std::fmt::Debug for DatabaseRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseRotation")
            .field("engine", &self.engine)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

impl DatabaseRotation {
    /// Rotates secrets of `state` (held weakly: the state owns its registry of functions).
    pub fn new(
        state: &Arc<SecretsManagerState>,
        engine: DatabaseEngine,
        strategy: RotationStrategy,
    ) -> Self {
        Self {
            state: Arc::downgrade(state),
            engine,
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

    fn port(&self, engine: DatabaseEngine) -> u16 {
        let default = match engine {
            DatabaseEngine::Postgres => 5432,
            DatabaseEngine::MariaDb => 3306,
        };
        match self.0.get("port") {
            Some(Json::Number(number)) => number.as_u64().and_then(|port| u16::try_from(port).ok()),
            Some(Json::String(text)) => text.parse().ok(),
            _ => None,
        }
        .unwrap_or(default)
    }

    fn set(&mut self, field: &str, value: &str) {
        self.0
            .insert(field.to_owned(), Json::String(value.to_owned()));
    }

    fn to_text(&self) -> Sensitive<String> {
        Sensitive::new(Json::Object(self.0.clone()).to_string())
    }

    /// Opens a session as this secret's user.
    async fn connect(&self, engine: DatabaseEngine) -> Result<Session, String> {
        let host = self.text("host")?;
        let user = self.text("username")?;
        let password = self.text("password")?;
        let dbname = self.0.get("dbname").and_then(Json::as_str);
        let refused =
            |error: &dyn std::fmt::Display| format!("Unable to log into the database: {error}");
        match engine {
            DatabaseEngine::Postgres => {
                let mut config = tokio_postgres::Config::new();
                config
                    .host(host)
                    .port(self.port(engine))
                    .user(user)
                    .password(password)
                    .dbname(dbname.unwrap_or("postgres"))
                    .connect_timeout(CONNECT_TIMEOUT);
                let (client, connection) = config
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(|error| refused(&error))?;
                tokio::spawn(connection);
                Ok(Session::Postgres(client))
            }
            DatabaseEngine::MariaDb => {
                let options = mysql_async::OptsBuilder::default()
                    .ip_or_hostname(host)
                    .tcp_port(self.port(engine))
                    .user(Some(user))
                    .pass(Some(password))
                    .db_name(dbname);
                let connecting = mysql_async::Conn::new(options);
                match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                    Ok(Ok(connection)) => Ok(Session::MariaDb(connection)),
                    Ok(Err(error)) => Err(refused(&error)),
                    Err(_) => Err(refused(&"timed out")),
                }
            }
        }
    }
}

/// A session with the database.
enum Session {
    Postgres(tokio_postgres::Client),
    MariaDb(mysql_async::Conn),
}

impl Session {
    async fn run(&mut self, statement: &str) -> Result<(), String> {
        let outcome = match self {
            Session::Postgres(client) => client
                .batch_execute(statement)
                .await
                .map_err(|error| error.to_string()),
            Session::MariaDb(connection) => connection
                .query_drop(statement)
                .await
                .map_err(|error| error.to_string()),
        };
        outcome.map_err(|error| format!("The database refused a statement: {error}"))
    }

    /// testSecret: a query with the new credentials.
    async fn check(&mut self) -> Result<(), String> {
        self.run("SELECT NOW()").await
    }

    /// Single user: the session's own user takes `password`.
    async fn set_own_password(&mut self, user: &str, password: &str) -> Result<(), String> {
        match self {
            Session::Postgres(_) => {
                let statement = format!(
                    "ALTER USER {} WITH PASSWORD {}",
                    pg_identifier(user),
                    pg_literal(password)
                );
                self.run(&statement).await
            }
            // MariaDB lets a user set its own password this way without privileges; MySQL 8,
            // which dropped PASSWORD(), takes the second form.
            Session::MariaDb(_) => {
                let classic = format!("SET PASSWORD = PASSWORD({})", my_literal(password));
                if self.run(&classic).await.is_ok() {
                    return Ok(());
                }
                let statement = format!(
                    "ALTER USER CURRENT_USER() IDENTIFIED BY {}",
                    my_literal(password)
                );
                self.run(&statement).await
            }
        }
    }

    /// Alternating users, as the master user: `user` takes `password`, created first with the
    /// privileges of `like` when it does not exist.
    async fn set_user_password(
        &mut self,
        user: &str,
        like: &str,
        password: &str,
    ) -> Result<(), String> {
        match self {
            Session::Postgres(client) => {
                let exists = client
                    .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&user])
                    .await
                    .map_err(|error| format!("Unable to look the user up: {error}"))?
                    .is_some();
                let statement = if exists {
                    format!(
                        "ALTER USER {} WITH PASSWORD {}",
                        pg_identifier(user),
                        pg_literal(password)
                    )
                } else {
                    // The clone gets the original user's privileges through membership.
                    format!(
                        "CREATE ROLE {clone} WITH LOGIN PASSWORD {password}; GRANT {like} TO \
                         {clone}",
                        clone = pg_identifier(user),
                        password = pg_literal(password),
                        like = pg_identifier(like),
                    )
                };
                self.run(&statement).await
            }
            Session::MariaDb(connection) => {
                let host: Option<String> = connection
                    .exec_first("SELECT Host FROM mysql.user WHERE User = ?", (like,))
                    .await
                    .map_err(|error| format!("Unable to look the user up: {error}"))?;
                let host = host.unwrap_or_else(|| "%".to_owned());
                let exists: Option<u8> = connection
                    .exec_first("SELECT 1 FROM mysql.user WHERE User = ?", (user,))
                    .await
                    .map_err(|error| format!("Unable to look the user up: {error}"))?;
                let account = format!("{}@{}", my_literal(user), my_literal(&host));
                if exists.is_some() {
                    let statement = format!(
                        "ALTER USER {account} IDENTIFIED BY {}",
                        my_literal(password)
                    );
                    return self.run(&statement).await;
                }
                let grants: Vec<String> = connection
                    .query(format!(
                        "SHOW GRANTS FOR {}@{}",
                        my_literal(like),
                        my_literal(&host)
                    ))
                    .await
                    .map_err(|error| format!("Unable to read the user's grants: {error}"))?;
                self.run(&format!(
                    "CREATE USER {account} IDENTIFIED BY {}",
                    my_literal(password)
                ))
                .await?;
                // The clone gets the original user's privileges, statement by statement.
                let grantee = format!("`{}`@", like.replace('`', "``"));
                let clone = format!("`{}`@", user.replace('`', "``"));
                for grant in grants {
                    let grant = grant
                        .split(" IDENTIFIED BY PASSWORD")
                        .next()
                        .unwrap_or_default()
                        .replacen(&grantee, &clone, 1);
                    self.run(&grant).await?;
                }
                Ok(())
            }
        }
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
fn pg_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal, quoted (utility statements take no parameters).
fn pg_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A MariaDB string literal, quoted (account statements take no parameters).
fn my_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl DatabaseRotation {
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
                pending.connect(self.engine).await?.check().await
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
        if self.strategy == RotationStrategy::AlternatingUsers {
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
        if pending.connect(self.engine).await.is_ok() {
            return Ok(());
        }
        let user = pending.text("username")?;
        let password = pending.text("password")?;
        let current = self
            .value(state, ctx, arn, None, AWSCURRENT)
            .await
            .map_err(failed)?;
        match self.strategy {
            RotationStrategy::SingleUser => {
                let mut session = current.connect(self.engine).await?;
                session.set_own_password(user, password).await
            }
            RotationStrategy::AlternatingUsers => {
                let master_arn = current.text("masterarn")?;
                let master = self
                    .value(state, ctx, master_arn, None, AWSCURRENT)
                    .await
                    .map_err(failed)?;
                let mut session = master.connect(self.engine).await?;
                let like = current.text("username")?;
                // The two users take turns: the one not in use copies the other's privileges.
                let original = like.strip_suffix(CLONE_SUFFIX).unwrap_or(like);
                session.set_user_password(user, original, password).await
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

impl SecretsManagerState {
    /// Registers the rotation functions a JSON configuration document describes (the format of
    /// [`crate::RotationFunctions::register_from_json`]), where `{"builtin": "<name>"}` names a
    /// built-in database function: `postgres-single-user`, `postgres-alternating-users`,
    /// `mariadb-single-user` or `mariadb-alternating-users`. Answers how many were registered.
    pub fn configure_rotation(self: &Arc<Self>, document: &str) -> Result<usize, String> {
        self.rotation_functions
            .register_configured(document, |name| {
                let (engine, strategy) = match name {
                    "postgres-single-user" => {
                        (DatabaseEngine::Postgres, RotationStrategy::SingleUser)
                    }
                    "postgres-alternating-users" => {
                        (DatabaseEngine::Postgres, RotationStrategy::AlternatingUsers)
                    }
                    "mariadb-single-user" => {
                        (DatabaseEngine::MariaDb, RotationStrategy::SingleUser)
                    }
                    "mariadb-alternating-users" => {
                        (DatabaseEngine::MariaDb, RotationStrategy::AlternatingUsers)
                    }
                    other => return Err(format!("unknown built-in rotation function {other}")),
                };
                Ok(Arc::new(DatabaseRotation::new(self, engine, strategy))
                    as Arc<dyn RotationFunction>)
            })
    }
}

impl RotationFunction for DatabaseRotation {
    fn invoke<'a>(&'a self, event: &'a RotationEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.step(event))
    }
}
