//! Connections: how calls to API destinations authorize (BASIC, API_KEY or
//! OAUTH_CLIENT_CREDENTIALS), and the parameters every call carries.
//!
//! A connection's record holds its secrets (password, API key value, client secret, parameter
//! values) and is stored sealed. No answer shows a secret: `DescribeConnection` gives the
//! user name, API key name, client id and endpoint, and the values of the parameters not
//! marked `IsValueSecret`. BASIC and API_KEY connections are authorized at once; an OAuth
//! connection is `AUTHORIZING` until a task has fetched its first token (then `AUTHORIZED`;
//! `DEAUTHORIZED`, with the reason, when the endpoint refuses). `DeauthorizeConnection`
//! removes the authorization parameters; the connection then authorizes nothing until
//! `UpdateConnection` gives new ones.
//!
//! Not built: private connectivity (`InvocationConnectivityParameters`), and the Secrets
//! Manager secret AWS keeps a connection's secrets in (no `SecretArn` is answered).

use palisade_core::value::Timestamp;
use palisade_core::{RequestContext, ServiceError};
use palisade_model_events::errors;
use palisade_model_events::types::*;
use palisade_store::Transaction;

use crate::EventsState;
use crate::db::{CONNECTIONS, Stored, Tenant, sealed};
use crate::paging::{page_size, paginate};
use crate::records::ConnectionRecord;
use crate::values::{from_json, to_json};

impl EventsState {
    /// The connection `name` of `tenant`, if it exists.
    pub(crate) async fn connection(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Option<ConnectionRecord>, ServiceError> {
        Ok(self
            .get::<ConnectionRecord>(CONNECTIONS, &tenant.key(name))
            .await?
            .map(|stored| stored.value))
    }

    /// The connection `name`, or AWS's error for a missing one, worded for `action`.
    async fn stored_connection(
        &self,
        tenant: &Tenant,
        name: &str,
        action: &str,
    ) -> Result<Stored<ConnectionRecord>, ServiceError> {
        self.get(CONNECTIONS, &tenant.key(name))
            .await?
            .ok_or_else(|| {
                errors::resource_not_found_exception(format!(
                    "Failed to {action} the connection(s). Connection '{name}' does not exist."
                ))
            })
    }

    /// Applies `change` (given the time) to the connection `name`, or fails with AWS's error
    /// for a missing one, worded for `action`; stores it as modified now and answers it.
    async fn change_connection(
        &self,
        tenant: &Tenant,
        name: &str,
        action: &str,
        change: impl Fn(&mut ConnectionRecord, i64) -> Result<(), ServiceError>,
    ) -> Result<ConnectionRecord, ServiceError> {
        let key = tenant.key(name);
        let now = self.now_millis();
        self.mutate(|| async {
            let stored = self.stored_connection(tenant, name, action).await?;
            let mut record = stored.value.clone();
            change(&mut record, now)?;
            record.modified_millis = now;
            let txn = stored.replace(Transaction::new(), CONNECTIONS, &key, sealed(&record)?);
            Ok((txn, record))
        })
        .await
    }

    /// Fetches the first token of the OAuth connection `name` in a task of its own, and
    /// records the outcome in its state.
    fn authorize_later(&self, tenant: Tenant, name: String) {
        let Some(state) = self
            .runtime
            .as_ref()
            .and_then(|runtime| runtime.this.upgrade())
        else {
            return;
        };
        tokio::spawn(async move { state.authorize(&tenant, &name).await });
    }

    async fn authorize(&self, tenant: &Tenant, name: &str) {
        let Some(api) = self.runtime.as_ref().and_then(|runtime| runtime.api()) else {
            return;
        };
        let key = tenant.key(name);
        let Ok(Some(stored)) = self.get::<ConnectionRecord>(CONNECTIONS, &key).await else {
            return;
        };
        let Some(oauth) = stored
            .value
            .auth
            .as_ref()
            .and_then(|auth| from_json::<CreateConnectionAuthRequestParameters>(auth).ok())
            .and_then(|auth| auth.o_auth_parameters)
        else {
            return;
        };
        let now = self.now_millis();
        let mut record = stored.value.clone();
        match api.fetch_token(&oauth, now).await {
            Ok(token) => {
                api.remember(&record, token);
                record.state = ConnectionState::Authorized.as_str().to_owned();
                record.state_reason = None;
                record.authorized_millis = Some(now);
            }
            Err(failure) if failure.retryable => record.state_reason = Some(failure.message),
            Err(failure) => {
                record.state = ConnectionState::Deauthorized.as_str().to_owned();
                record.state_reason = Some(failure.message);
            }
        }
        let Ok(value) = sealed(&record) else {
            return;
        };
        // A conflict means the connection changed meanwhile; that change authorizes itself.
        let txn = stored.replace(Transaction::new(), CONNECTIONS, &key, value);
        if let Err(error) = self.store.commit(txn).await {
            tracing::debug!(%error, connection = name, "connection state not recorded");
        }
    }
}

pub(crate) async fn create(
    state: &EventsState,
    ctx: &RequestContext,
    input: CreateConnectionRequest,
) -> Result<CreateConnectionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let auth = only_for(&input.authorization_type, input.auth_parameters)?;
    let now = state.now_millis();
    let oauth = input.authorization_type == ConnectionAuthorizationType::OauthClientCredentials;
    let record = ConnectionRecord {
        name: input.name.clone(),
        arn: tenant.resource_arn("connection", &input.name),
        description: input.description,
        authorization_type: input.authorization_type.as_str().to_owned(),
        state: first_state(oauth).as_str().to_owned(),
        state_reason: None,
        kms_key_identifier: input.kms_key_identifier,
        created_millis: now,
        modified_millis: now,
        authorized_millis: (!oauth).then_some(now),
        auth: Some(to_json(auth)),
    };
    let key = tenant.key(&input.name);
    state
        .mutate(|| async {
            if state
                .get::<ConnectionRecord>(CONNECTIONS, &key)
                .await?
                .is_some()
            {
                return Err(errors::resource_already_exists_exception(format!(
                    "Connection {} already exists.",
                    input.name
                )));
            }
            let txn = Transaction::new().expect_absent(CONNECTIONS, &key).put(
                CONNECTIONS,
                &key,
                sealed(&record)?,
            );
            Ok((txn, ()))
        })
        .await?;
    if oauth {
        state.authorize_later(tenant, input.name);
    }
    Ok(CreateConnectionResponse {
        connection_arn: Some(record.arn),
        connection_state: Some(ConnectionState::from(record.state.as_str())),
        creation_time: Some(Timestamp::from_millis(now)),
        last_modified_time: Some(Timestamp::from_millis(now)),
    })
}

pub(crate) async fn describe(
    state: &EventsState,
    ctx: &RequestContext,
    input: DescribeConnectionRequest,
) -> Result<DescribeConnectionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let record = state
        .stored_connection(&tenant, &input.name, "describe")
        .await?
        .value;
    let auth_parameters = record
        .auth
        .as_ref()
        .map(from_json::<CreateConnectionAuthRequestParameters>)
        .transpose()?
        .map(shown);
    Ok(DescribeConnectionResponse {
        connection_arn: Some(record.arn),
        name: Some(record.name),
        description: record.description,
        invocation_connectivity_parameters: None,
        connection_state: Some(ConnectionState::from(record.state.as_str())),
        state_reason: record.state_reason,
        authorization_type: Some(ConnectionAuthorizationType::from(
            record.authorization_type.as_str(),
        )),
        secret_arn: None,
        kms_key_identifier: record.kms_key_identifier,
        auth_parameters,
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
        last_authorized_time: record.authorized_millis.map(Timestamp::from_millis),
    })
}

pub(crate) async fn update(
    state: &EventsState,
    ctx: &RequestContext,
    input: UpdateConnectionRequest,
) -> Result<UpdateConnectionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let record = state
        .change_connection(&tenant, &input.name, "update", |record, now| {
            if let Some(description) = &input.description {
                record.description = Some(description.clone());
            }
            if let Some(key_identifier) = &input.kms_key_identifier {
                record.kms_key_identifier = Some(key_identifier.clone());
            }
            if input.authorization_type.is_none() && input.auth_parameters.is_none() {
                return Ok(());
            }
            let kind = input.authorization_type.clone().unwrap_or_else(|| {
                ConnectionAuthorizationType::from(record.authorization_type.as_str())
            });
            let current = record
                .auth
                .as_ref()
                .map(from_json::<CreateConnectionAuthRequestParameters>)
                .transpose()?
                .unwrap_or_default();
            let auth = only_for(&kind, merged(current, input.auth_parameters.clone())?)?;
            let oauth = kind == ConnectionAuthorizationType::OauthClientCredentials;
            record.authorization_type = kind.as_str().to_owned();
            record.auth = Some(to_json(auth));
            record.state = first_state(oauth).as_str().to_owned();
            record.state_reason = None;
            if !oauth {
                record.authorized_millis = Some(now);
            }
            Ok(())
        })
        .await?;
    if record.state == ConnectionState::Authorizing.as_str() {
        state.authorize_later(tenant, input.name);
    }
    Ok(UpdateConnectionResponse {
        connection_arn: Some(record.arn),
        connection_state: Some(ConnectionState::from(record.state.as_str())),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
        last_authorized_time: record.authorized_millis.map(Timestamp::from_millis),
    })
}

pub(crate) async fn deauthorize(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeauthorizeConnectionRequest,
) -> Result<DeauthorizeConnectionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let record = state
        .change_connection(&tenant, &input.name, "deauthorize", |record, _| {
            record.auth = None;
            record.state = ConnectionState::Deauthorized.as_str().to_owned();
            record.state_reason = None;
            Ok(())
        })
        .await?;
    Ok(DeauthorizeConnectionResponse {
        connection_arn: Some(record.arn),
        connection_state: Some(ConnectionState::Deauthorizing),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
        last_authorized_time: record.authorized_millis.map(Timestamp::from_millis),
    })
}

pub(crate) async fn delete(
    state: &EventsState,
    ctx: &RequestContext,
    input: DeleteConnectionRequest,
) -> Result<DeleteConnectionResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let key = tenant.key(&input.name);
    let record = state
        .mutate(|| async {
            let stored = state
                .stored_connection(&tenant, &input.name, "delete")
                .await?;
            let txn = Transaction::new()
                .expect_version(CONNECTIONS, &key, stored.version)
                .delete(CONNECTIONS, &key);
            Ok((txn, stored.value))
        })
        .await?;
    Ok(DeleteConnectionResponse {
        connection_arn: Some(record.arn),
        connection_state: Some(ConnectionState::Deleting),
        creation_time: Some(Timestamp::from_millis(record.created_millis)),
        last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
        last_authorized_time: record.authorized_millis.map(Timestamp::from_millis),
    })
}

pub(crate) async fn list(
    state: &EventsState,
    ctx: &RequestContext,
    input: ListConnectionsRequest,
) -> Result<ListConnectionsResponse, ServiceError> {
    let tenant = Tenant::of(ctx);
    let prefix = format!(
        "{}{}",
        tenant.prefix(),
        input.name_prefix.as_deref().unwrap_or_default()
    );
    let all: Vec<(String, ConnectionRecord)> = state.scan_all(CONNECTIONS, &prefix).await?;
    let mut connections: Vec<Connection> = all
        .into_iter()
        .map(|(_, record)| record)
        .filter(|record| {
            input
                .next_token
                .as_deref()
                .is_none_or(|after| record.name.as_str() > after)
                && input
                    .connection_state
                    .as_ref()
                    .is_none_or(|wanted| wanted.as_str() == record.state)
        })
        .map(|record| Connection {
            connection_arn: Some(record.arn),
            name: Some(record.name),
            connection_state: Some(ConnectionState::from(record.state.as_str())),
            state_reason: record.state_reason,
            authorization_type: Some(ConnectionAuthorizationType::from(
                record.authorization_type.as_str(),
            )),
            creation_time: Some(Timestamp::from_millis(record.created_millis)),
            last_modified_time: Some(Timestamp::from_millis(record.modified_millis)),
            last_authorized_time: record.authorized_millis.map(Timestamp::from_millis),
        })
        .collect();
    let next_token = paginate(&mut connections, page_size(input.limit), |connection| {
        connection.name.clone().unwrap_or_default()
    });
    Ok(ListConnectionsResponse {
        connections: Some(connections),
        next_token,
    })
}

/// The state a connection starts in: OAuth waits for its first token.
fn first_state(oauth: bool) -> ConnectionState {
    if oauth {
        ConnectionState::Authorizing
    } else {
        ConnectionState::Authorized
    }
}

/// `auth` kept to what `kind` uses; refused when it lacks that.
fn only_for(
    kind: &ConnectionAuthorizationType,
    mut auth: CreateConnectionAuthRequestParameters,
) -> Result<CreateConnectionAuthRequestParameters, ServiceError> {
    let (present, member) = match kind {
        ConnectionAuthorizationType::Basic => {
            auth.api_key_auth_parameters = None;
            auth.o_auth_parameters = None;
            (auth.basic_auth_parameters.is_some(), "BasicAuthParameters")
        }
        ConnectionAuthorizationType::ApiKey => {
            auth.basic_auth_parameters = None;
            auth.o_auth_parameters = None;
            (
                auth.api_key_auth_parameters.is_some(),
                "ApiKeyAuthParameters",
            )
        }
        ConnectionAuthorizationType::OauthClientCredentials => {
            auth.basic_auth_parameters = None;
            auth.api_key_auth_parameters = None;
            (auth.o_auth_parameters.is_some(), "OAuthParameters")
        }
        ConnectionAuthorizationType::Unknown(other) => {
            return Err(ServiceError::validation(format!(
                "1 validation error detected: Value '{other}' at 'authorizationType' failed to \
                 satisfy constraint: Member must satisfy enum value set: [BASIC, \
                 OAUTH_CLIENT_CREDENTIALS, API_KEY]"
            )));
        }
    };
    if !present {
        return Err(ServiceError::validation(format!(
            "Parameter(s) {member} must be specified for AuthorizationType {}.",
            kind.as_str()
        )));
    }
    Ok(auth)
}

/// `current` with what `update` gives in place of what it had.
fn merged(
    mut current: CreateConnectionAuthRequestParameters,
    update: Option<UpdateConnectionAuthRequestParameters>,
) -> Result<CreateConnectionAuthRequestParameters, ServiceError> {
    let Some(update) = update else {
        return Ok(current);
    };
    let missing = |member: &str| {
        ServiceError::validation(format!("Parameter(s) {member} must be specified."))
    };
    if let Some(basic) = update.basic_auth_parameters {
        let old = current.basic_auth_parameters.take();
        current.basic_auth_parameters = Some(CreateConnectionBasicAuthRequestParameters {
            username: basic
                .username
                .or_else(|| old.as_ref().map(|old| old.username.clone()))
                .ok_or_else(|| missing("Username"))?,
            password: basic
                .password
                .or_else(|| old.map(|old| old.password))
                .ok_or_else(|| missing("Password"))?,
        });
    }
    if let Some(key) = update.api_key_auth_parameters {
        let old = current.api_key_auth_parameters.take();
        current.api_key_auth_parameters = Some(CreateConnectionApiKeyAuthRequestParameters {
            api_key_name: key
                .api_key_name
                .or_else(|| old.as_ref().map(|old| old.api_key_name.clone()))
                .ok_or_else(|| missing("ApiKeyName"))?,
            api_key_value: key
                .api_key_value
                .or_else(|| old.map(|old| old.api_key_value))
                .ok_or_else(|| missing("ApiKeyValue"))?,
        });
    }
    if let Some(oauth) = update.o_auth_parameters {
        let old = current.o_auth_parameters.take();
        let old_client = old.as_ref().map(|old| &old.client_parameters);
        let client = oauth.client_parameters.unwrap_or_default();
        current.o_auth_parameters = Some(CreateConnectionOAuthRequestParameters {
            client_parameters: CreateConnectionOAuthClientRequestParameters {
                client_id: client
                    .client_id
                    .or_else(|| old_client.map(|old| old.client_id.clone()))
                    .ok_or_else(|| missing("ClientID"))?,
                client_secret: client
                    .client_secret
                    .or_else(|| old_client.map(|old| old.client_secret.clone()))
                    .ok_or_else(|| missing("ClientSecret"))?,
            },
            authorization_endpoint: oauth
                .authorization_endpoint
                .or_else(|| old.as_ref().map(|old| old.authorization_endpoint.clone()))
                .ok_or_else(|| missing("AuthorizationEndpoint"))?,
            http_method: oauth
                .http_method
                .or_else(|| old.as_ref().map(|old| old.http_method.clone()))
                .ok_or_else(|| missing("HttpMethod"))?,
            o_auth_http_parameters: oauth
                .o_auth_http_parameters
                .or_else(|| old.and_then(|old| old.o_auth_http_parameters)),
        });
    }
    if let Some(parameters) = update.invocation_http_parameters {
        current.invocation_http_parameters = Some(parameters);
    }
    Ok(current)
}

/// What `DescribeConnection` shows of `auth`: no secret.
fn shown(auth: CreateConnectionAuthRequestParameters) -> ConnectionAuthResponseParameters {
    ConnectionAuthResponseParameters {
        basic_auth_parameters: auth.basic_auth_parameters.map(|basic| {
            ConnectionBasicAuthResponseParameters {
                username: Some(basic.username),
            }
        }),
        o_auth_parameters: auth
            .o_auth_parameters
            .map(|oauth| ConnectionOAuthResponseParameters {
                client_parameters: Some(ConnectionOAuthClientResponseParameters {
                    client_id: Some(oauth.client_parameters.client_id),
                }),
                authorization_endpoint: Some(oauth.authorization_endpoint),
                http_method: Some(oauth.http_method),
                o_auth_http_parameters: oauth.o_auth_http_parameters.map(public),
            }),
        api_key_auth_parameters: auth.api_key_auth_parameters.map(|key| {
            ConnectionApiKeyAuthResponseParameters {
                api_key_name: Some(key.api_key_name),
            }
        }),
        invocation_http_parameters: auth.invocation_http_parameters.map(public),
        connectivity_parameters: None,
    }
}

/// `parameters` without the values marked secret.
fn public(mut parameters: ConnectionHttpParameters) -> ConnectionHttpParameters {
    let secret = |flag: Option<bool>| flag == Some(true);
    for header in parameters.header_parameters.iter_mut().flatten() {
        if secret(header.is_value_secret) {
            header.value = None;
        }
    }
    for query in parameters.query_string_parameters.iter_mut().flatten() {
        if secret(query.is_value_secret) {
            query.value = None;
        }
    }
    for body in parameters.body_parameters.iter_mut().flatten() {
        if secret(body.is_value_secret) {
            body.value = None;
        }
    }
    parameters
}

#[cfg(test)]
mod tests {
    use palisade_core::Sensitive;

    use super::*;

    fn basic(user: &str, password: &str) -> CreateConnectionBasicAuthRequestParameters {
        CreateConnectionBasicAuthRequestParameters {
            username: user.to_owned(),
            password: Sensitive::new(password.to_owned()),
        }
    }

    #[test]
    fn only_the_kinds_parameters_are_kept_and_required() {
        let auth = CreateConnectionAuthRequestParameters {
            basic_auth_parameters: Some(basic("u", "p")),
            api_key_auth_parameters: Some(CreateConnectionApiKeyAuthRequestParameters {
                api_key_name: "x-key".to_owned(),
                api_key_value: Sensitive::new("k".to_owned()),
            }),
            ..CreateConnectionAuthRequestParameters::default()
        };
        let kept = only_for(&ConnectionAuthorizationType::Basic, auth.clone());
        assert!(kept.is_ok_and(|kept| kept.api_key_auth_parameters.is_none()));
        let refused = only_for(&ConnectionAuthorizationType::OauthClientCredentials, auth);
        assert!(refused.is_err_and(|error| error.message.contains("OAuthParameters")));
    }

    #[test]
    fn updates_replace_only_what_they_give() {
        let current = CreateConnectionAuthRequestParameters {
            basic_auth_parameters: Some(basic("u", "old")),
            ..CreateConnectionAuthRequestParameters::default()
        };
        let update = UpdateConnectionAuthRequestParameters {
            basic_auth_parameters: Some(UpdateConnectionBasicAuthRequestParameters {
                username: None,
                password: Some(Sensitive::new("new".to_owned())),
            }),
            ..UpdateConnectionAuthRequestParameters::default()
        };
        let merged = merged(current, Some(update))
            .ok()
            .and_then(|auth| auth.basic_auth_parameters);
        assert_eq!(merged, Some(basic("u", "new")));
    }

    #[test]
    fn descriptions_hold_no_secret() {
        let auth = CreateConnectionAuthRequestParameters {
            basic_auth_parameters: Some(basic("user", "hunter2")),
            invocation_http_parameters: Some(ConnectionHttpParameters {
                header_parameters: Some(vec![
                    ConnectionHeaderParameter {
                        key: Some("x-secret".to_owned()),
                        value: Some(Sensitive::new("s3cr3t".to_owned())),
                        is_value_secret: Some(true),
                    },
                    ConnectionHeaderParameter {
                        key: Some("x-plain".to_owned()),
                        value: Some(Sensitive::new("visible".to_owned())),
                        is_value_secret: Some(false),
                    },
                ]),
                ..ConnectionHttpParameters::default()
            }),
            ..CreateConnectionAuthRequestParameters::default()
        };
        let shown = format!("{:?}", to_json(shown(auth)));
        assert!(
            shown.contains("user") && shown.contains("visible"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
