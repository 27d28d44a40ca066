//! API destinations as targets: one HTTP(S) call per invocation, to the destination's
//! `InvocationEndpoint` with its `HttpMethod`, authorized by its connection.
//!
//! The call carries, as AWS documents: `User-Agent: Amazon/EventBridge/ApiDestinations`,
//! `Content-Type: application/json; charset=utf-8` (unless a header parameter sets another),
//! `Range: bytes=0-1048575`, `Accept-Encoding: gzip,deflate` and `Connection: close`; the
//! target's `HttpParameters` (each `*` of the endpoint replaced by the next path parameter
//! value, header and query string parameters), then the connection's invocation parameters
//! (which win over the target's on the same name; its body parameters are added to a body that
//! is a JSON object); then the authorization: `Authorization: Basic` for BASIC, the API key as
//! the header it names for API_KEY, `Authorization: Bearer` for OAUTH_CLIENT_CREDENTIALS. The
//! body is the target's input (the event, or what `Input`, `InputPath` or `InputTransformer`
//! make of it).
//!
//! An OAuth token is fetched from the connection's authorization endpoint with the client id
//! and secret as HTTP Basic credentials (RFC 6749 section 2.3.1), the connection's OAuth
//! parameters, and `grant_type=client_credentials` unless they give a grant type (as a form
//! body, or in the query string of a GET); the answer's `access_token` is kept until a minute
//! before its `expires_in` runs out, until a change to the connection, or until the endpoint
//! answers 401 or 407.
//!
//! A 2xx answer delivers the event. 429 and 5xx answers, timeouts (5 seconds, as AWS's) and
//! unreachable endpoints are retried per the target's retry policy, as is a 401 or 407 under
//! OAuth (with a new token); every other answer fails without retry, as AWS's API
//! destinations do. A `Retry-After` of whole seconds delays the next attempt, a negative one
//! ends the retries.
//!
//! Calls to one destination go no faster than its `InvocationRateLimitPerSecond`: each takes
//! the next free slot, one every `1/rate` seconds by the injected clock, and waits for it.
//!
//! Calls, OAuth token requests included, go only to the addresses the server's [`Reach`]
//! allows; an endpoint that is an address outside it, or a name that resolves only to such
//! addresses, fails without retry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use tokio::sync::Semaphore;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{HeaderMap, Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use palisade_core::Sensitive;
use palisade_model_events::types::{
    ConnectionHttpParameters, CreateConnectionAuthRequestParameters,
    CreateConnectionOAuthRequestParameters,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::EventsState;
use crate::addresses::{OutOfReach, Reach, Resolver};
use crate::db::{API_DESTINATIONS, Tenant};
use crate::delivery::{Failure, Invocation, RetryAfter};
use crate::input::target_input;
use crate::records::{ApiDestinationRecord, ConnectionRecord};
use crate::retry::wait_until;
use crate::values::from_json;

/// How many calls may be under way at once, over every destination.
const CONCURRENT_CALLS: usize = 256;

/// AWS's limit on how long an API destination may take to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an answer is read: AWS asks for no more (`Range`).
const MAX_ANSWER_BYTES: usize = 1_048_576;

/// A token this close to its expiry is fetched again.
const TOKEN_REFRESH_MARGIN_MILLIS: i64 = 60_000;

/// Characters left as they are in a path segment or query string value.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The headers AWS puts on every call, before the parameters.
const FIXED_HEADERS: [(&str, &str); 4] = [
    ("user-agent", "Amazon/EventBridge/ApiDestinations"),
    ("range", "bytes=0-1048575"),
    ("accept-encoding", "gzip,deflate"),
    ("connection", "close"),
];

type HttpClient = Client<HttpsConnector<HttpConnector<Resolver>>, Full<Bytes>>;

/// Calls API destinations: the HTTP client, the OAuth tokens and each destination's rate.
pub(crate) struct ApiCaller {
    client: HttpClient,
    reach: Reach,
    /// One permit per call under way.
    calls: Semaphore,
    /// By [`token_key`].
    tokens: Mutex<HashMap<String, Token>>,
    /// By destination ARN.
    rates: Mutex<HashMap<String, RateLimiter>>,
}

/// An OAuth access token.
#[derive(Clone)]
pub(crate) struct Token {
    value: Sensitive<String>,
    /// When it expires, milliseconds since the epoch; none when the endpoint did not say.
    expires_millis: Option<i64>,
}

impl Token {
    fn fresh_at(&self, now_millis: i64) -> bool {
        self.expires_millis
            .is_none_or(|expires| now_millis < expires - TOKEN_REFRESH_MARGIN_MILLIS)
    }
}

/// Spaces the calls to one destination `1/rate` seconds apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimiter {
    rate: u32,
    /// The first free slot, microseconds since the epoch.
    next_slot_micros: i64,
}

impl RateLimiter {
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate.max(1),
            next_slot_micros: i64::MIN,
        }
    }

    /// Takes the next free slot at `now_micros`; answers when it starts.
    pub fn reserve(&mut self, now_micros: i64) -> i64 {
        let slot = self.next_slot_micros.max(now_micros);
        self.next_slot_micros = slot.saturating_add(1_000_000 / i64::from(self.rate));
        slot
    }
}

impl ApiCaller {
    /// The caller, trusting the system's root certificates for HTTPS, calling the addresses
    /// `reach` allows.
    pub fn new(reach: Reach) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(Resolver::new(reach));
        // The scheme is the HTTPS connector's to check.
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("no root certificates: {error}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            reach,
            calls: Semaphore::new(CONCURRENT_CALLS),
            tokens: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
        })
    }

    /// Sends the event of `invocation` to the API destination `name`.
    pub async fn invoke(
        &self,
        state: &EventsState,
        invocation: &Invocation,
        name: &str,
    ) -> Result<(), Failure> {
        let tenant = &invocation.event.tenant;
        let destination = state
            .get::<ApiDestinationRecord>(API_DESTINATIONS, &tenant.key(name))
            .await
            .map_err(|error| Failure::transient("INTERNAL_ERROR", error.message))?
            .map(|stored| stored.value)
            .filter(|destination| destination.arn == invocation.target.arn)
            .ok_or_else(|| {
                Failure::permanent(
                    "NO_RESOURCE",
                    format!("API destination {name} does not exist."),
                )
            })?;
        let connection = connection_of(state, tenant, &destination).await?;
        let auth = connection
            .auth
            .as_ref()
            .ok_or_else(|| {
                Failure::permanent(
                    "NO_PERMISSIONS",
                    "Unable to invoke ApiDestination endpoint: the connection is deauthorized.",
                )
            })
            .and_then(|auth| {
                from_json::<CreateConnectionAuthRequestParameters>(auth)
                    .map_err(|error| Failure::permanent("INTERNAL_ERROR", error.message))
            })?;
        let input = target_input(
            &invocation.target,
            &invocation.event.event,
            invocation.reserved(),
        )
        .map_err(|reason| Failure::permanent("INVALID_JSON", reason))?;

        self.wait_for_slot(state, &destination).await;
        let _call = self.calls.acquire().await;
        let authorization = self.authorization(state, &connection, &auth).await?;
        let request = build_request(&destination, invocation, &auth, input, authorization)?;
        let (status, headers, _) = self
            .exchange(
                request,
                "Unable to invoke ApiDestination endpoint: API destination endpoint cannot be reached.",
                "Unable to invoke ApiDestination endpoint: Timeout calling endpoint for API Destination.",
            )
            .await?;
        let oauth = auth.o_auth_parameters.is_some();
        if oauth && matches!(status.as_u16(), 401 | 407) {
            self.tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&token_key(&connection));
        }
        judge(status, retry_after(&headers), oauth)
    }

    /// Sends `request` and reads the answer (at most the range AWS asks for), within
    /// `CALL_TIMEOUT`; the failures carry the given messages.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        unreachable: &'static str,
        timed_out: &'static str,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Failure> {
        // The resolver judges names; an address written out never reaches it.
        let literal = request
            .uri()
            .host()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|host| host.parse::<std::net::IpAddr>().ok());
        if let Some(ip) = literal
            && !self.reach.allows(ip)
        {
            return Err(Failure::permanent(
                "SDK_CLIENT_ERROR",
                format!(
                    "{ip} is not a public address, and this server calls only public addresses \
                     (--allow-private-api-destinations)."
                ),
            ));
        }
        let call = async {
            let response = self.client.request(request).await.map_err(|error| {
                if caused_by::<OutOfReach>(&error) {
                    Failure::permanent(
                        "SDK_CLIENT_ERROR",
                        "The endpoint's host resolves to no public address, and this server \
                             calls only public addresses (--allow-private-api-destinations).",
                    )
                } else {
                    Failure::transient("SDK_CLIENT_ERROR", unreachable)
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .unwrap_or_default();
            Ok((parts.status, parts.headers, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| Failure::transient("TIMEOUT", timed_out))?
    }

    /// Waits for the destination's next free slot.
    async fn wait_for_slot(&self, state: &EventsState, destination: &ApiDestinationRecord) {
        let now = state.clock.now();
        let now_micros = now.duration_since(UNIX_EPOCH).map_or(0, |since| {
            i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
        });
        let rate = u32::try_from(destination.invocation_rate_limit_per_second).unwrap_or(1);
        let slot = {
            let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
            let limiter = rates
                .entry(destination.arn.clone())
                .or_insert_with(|| RateLimiter::new(rate));
            if limiter.rate != rate.max(1) {
                *limiter = RateLimiter::new(rate);
            }
            limiter.reserve(now_micros)
        };
        let wait = u64::try_from(slot.saturating_sub(now_micros)).unwrap_or(0);
        if wait > 0 {
            wait_until(state.clock.as_ref(), now + Duration::from_micros(wait)).await;
        }
    }

    /// The authorization header the connection calls for.
    async fn authorization(
        &self,
        state: &EventsState,
        connection: &ConnectionRecord,
        auth: &CreateConnectionAuthRequestParameters,
    ) -> Result<(HeaderName, HeaderValue), Failure> {
        if let Some(basic) = &auth.basic_auth_parameters {
            return secret_header(
                AUTHORIZATION.as_str(),
                &basic_credentials(&basic.username, basic.password.expose()),
            );
        }
        if let Some(key) = &auth.api_key_auth_parameters {
            return secret_header(&key.api_key_name, key.api_key_value.expose());
        }
        let Some(oauth) = &auth.o_auth_parameters else {
            return Err(Failure::permanent(
                "INVALID_PARAMETER",
                "The connection has no authorization parameters.",
            ));
        };
        let key = token_key(connection);
        let now = state.clock.now_millis();
        let cached = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|token| token.fresh_at(now))
            .cloned();
        let token = match cached {
            Some(token) => token,
            None => {
                let token = self.fetch_token(oauth, now).await?;
                self.remember(connection, token.clone());
                token
            }
        };
        secret_header(
            AUTHORIZATION.as_str(),
            &format!("Bearer {}", token.value.expose()),
        )
    }

    /// Keeps `token` for the connection as it is now.
    pub fn remember(&self, connection: &ConnectionRecord, token: Token) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token_key(connection), token);
    }

    /// Asks the authorization endpoint of `oauth` for an access token.
    pub async fn fetch_token(
        &self,
        oauth: &CreateConnectionOAuthRequestParameters,
        now_millis: i64,
    ) -> Result<Token, Failure> {
        let (status, _, body) = self
            .exchange(
                token_request(oauth)?,
                "Unable to obtain an OAuth token: the authorization endpoint cannot be reached.",
                "Unable to obtain an OAuth token: the authorization endpoint timed out.",
            )
            .await?;
        if !status.is_success() {
            let message = format!(
                "Unable to obtain an OAuth token: the authorization endpoint answered HTTP {status}."
            );
            return Err(if retried(status) {
                Failure::transient("SDK_CLIENT_ERROR", message)
            } else {
                Failure::permanent("NO_PERMISSIONS", message)
            });
        }
        let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
        let Some(access_token) = answer.get("access_token").and_then(Value::as_str) else {
            return Err(Failure::permanent(
                "NO_PERMISSIONS",
                "Unable to obtain an OAuth token: the answer has no access_token.",
            ));
        };
        let expires_millis = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .map(|seconds| now_millis.saturating_add(seconds.saturating_mul(1000)));
        Ok(Token {
            value: Sensitive::new(access_token.to_owned()),
            expires_millis,
        })
    }
}

/// The connection `destination` uses.
async fn connection_of(
    state: &EventsState,
    tenant: &Tenant,
    destination: &ApiDestinationRecord,
) -> Result<ConnectionRecord, Failure> {
    let missing = || {
        Failure::permanent(
            "NO_RESOURCE",
            format!(
                "The connection {} does not exist.",
                destination.connection_arn
            ),
        )
    };
    let name = connection_name(&destination.connection_arn).ok_or_else(missing)?;
    state
        .connection(tenant, name)
        .await
        .map_err(|error| Failure::transient("INTERNAL_ERROR", error.message))?
        .filter(|connection| connection.arn == destination.connection_arn)
        .ok_or_else(missing)
}

/// The name in a connection ARN, `arn:aws:events:<region>:<account>:connection/<name>/<id>`.
pub(crate) fn connection_name(arn: &str) -> Option<&str> {
    arn.split_once(":connection/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|name| !name.is_empty())
}

/// The key of a connection's token: a change to the connection (which bumps its modification
/// time) leaves the old token behind.
fn token_key(connection: &ConnectionRecord) -> String {
    format!("{}@{}", connection.arn, connection.modified_millis)
}

/// How a call's answer counts.
fn judge(status: StatusCode, retry_after: Option<RetryAfter>, oauth: bool) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    let message = format!(
        "Unable to invoke ApiDestination endpoint: The endpoint responded with HTTP {status}."
    );
    let mut failure = if status == StatusCode::TOO_MANY_REQUESTS {
        Failure::transient("THROTTLING", message)
    } else if retried(status) || (oauth && matches!(status.as_u16(), 401 | 407)) {
        Failure::transient("ERROR_FROM_TARGET", message)
    } else {
        Failure::permanent("ERROR_FROM_TARGET", message)
    };
    failure.retry_after = retry_after;
    Err(failure)
}

/// Whether AWS retries an answer with `status`: 429 and 5xx.
fn retried(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A `Retry-After` of whole seconds.
fn retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    let seconds: i64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(match u64::try_from(seconds) {
        Ok(seconds) => RetryAfter::Wait(Duration::from_secs(seconds)),
        Err(_) => RetryAfter::Stop,
    })
}

/// The call for one invocation.
fn build_request(
    destination: &ApiDestinationRecord,
    invocation: &Invocation,
    auth: &CreateConnectionAuthRequestParameters,
    input: String,
    authorization: (HeaderName, HeaderValue),
) -> Result<Request<Full<Bytes>>, Failure> {
    let target_parameters = invocation.target.http_parameters.as_ref();
    let connection_parameters = auth.invocation_http_parameters.as_ref();

    let path_values = target_parameters
        .and_then(|parameters| parameters.path_parameter_values.as_deref())
        .unwrap_or_default();
    let mut url = fill_path(&destination.invocation_endpoint, path_values);
    let target_queries = target_parameters
        .and_then(|parameters| parameters.query_string_parameters.as_ref())
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value.as_str()));
    append_query(
        &mut url,
        target_queries.chain(query_pairs(connection_parameters)),
    );

    let method = Method::from_bytes(destination.http_method.as_bytes())
        .map_err(|_| Failure::permanent("INVALID_PARAMETER", "The HTTP method is not valid."))?;
    let uri: Uri = url.parse().map_err(|_| {
        Failure::permanent(
            "INVALID_PARAMETER",
            "The invocation endpoint with its parameters is not a valid URL.",
        )
    })?;
    let mut headers = HeaderMap::new();
    for (name, value) in FIXED_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in target_parameters
        .and_then(|parameters| parameters.header_parameters.as_ref())
        .into_iter()
        .flatten()
    {
        let (name, value) = header(name, value, false)?;
        headers.insert(name, value);
    }
    for (name, value) in header_pairs(connection_parameters) {
        let (name, value) = header(name, value, true)?;
        headers.insert(name, value);
    }
    headers.insert(authorization.0, authorization.1);

    let body = with_body_parameters(input, connection_parameters);
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| Failure::permanent("INVALID_PARAMETER", "The call could not be built."))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The token request of an OAuth connection.
fn token_request(
    oauth: &CreateConnectionOAuthRequestParameters,
) -> Result<Request<Full<Bytes>>, Failure> {
    let invalid = |what: &str| {
        Failure::permanent(
            "INVALID_PARAMETER",
            format!("Unable to obtain an OAuth token: {what} is not valid."),
        )
    };
    let parameters = oauth.o_auth_http_parameters.as_ref();
    let mut form: Vec<(&str, &str)> = body_pairs(parameters).collect();
    if !form.iter().any(|(key, _)| *key == "grant_type") {
        form.push(("grant_type", "client_credentials"));
    }
    let method = Method::from_bytes(oauth.http_method.as_str().as_bytes())
        .map_err(|_| invalid("the HTTP method"))?;
    // A GET has no body: its form goes in the query string.
    let form_in_query = method == Method::GET;
    let mut url = oauth.authorization_endpoint.clone();
    let queries = query_pairs(parameters);
    if form_in_query {
        append_query(&mut url, queries.chain(form.iter().copied()));
    } else {
        append_query(&mut url, queries);
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("the authorization endpoint"))?;
    let mut headers = HeaderMap::new();
    for (name, value) in header_pairs(parameters) {
        let (name, value) = header(name, value, true)?;
        headers.insert(name, value);
    }
    let client = &oauth.client_parameters;
    let (name, value) = secret_header(
        AUTHORIZATION.as_str(),
        &basic_credentials(&client.client_id, client.client_secret.expose()),
    )?;
    headers.insert(name, value);
    let body = if form_in_query {
        String::new()
    } else {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        encode_pairs(form.into_iter())
    };
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| invalid("the token request"))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The header parameters of a connection's `parameters` that have a value.
fn header_pairs(
    parameters: Option<&ConnectionHttpParameters>,
) -> impl Iterator<Item = (&str, &str)> {
    valued(
        parameters.and_then(|parameters| parameters.header_parameters.as_ref()),
        |parameter| (parameter.key.as_ref(), parameter.value.as_ref()),
    )
}

/// The query string parameters of a connection's `parameters` that have a value.
fn query_pairs(
    parameters: Option<&ConnectionHttpParameters>,
) -> impl Iterator<Item = (&str, &str)> {
    valued(
        parameters.and_then(|parameters| parameters.query_string_parameters.as_ref()),
        |parameter| (parameter.key.as_ref(), parameter.value.as_ref()),
    )
}

/// The body parameters of a connection's `parameters` that have a value.
fn body_pairs(parameters: Option<&ConnectionHttpParameters>) -> impl Iterator<Item = (&str, &str)> {
    valued(
        parameters.and_then(|parameters| parameters.body_parameters.as_ref()),
        |parameter| (parameter.key.as_ref(), parameter.value.as_ref()),
    )
}

/// A connection parameter's key and value, either of which may be missing.
type KeyAndValue<'a> = (Option<&'a String>, Option<&'a Sensitive<String>>);

/// The keys and values of `list` (read by `parts`) that have both.
fn valued<'a, T>(
    list: Option<&'a Vec<T>>,
    parts: fn(&'a T) -> KeyAndValue<'a>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    list.into_iter().flatten().filter_map(move |item| {
        let (key, value) = parts(item);
        Some((key?.as_str(), value?.expose().as_str()))
    })
}

/// `Basic` credentials for `user` and `password`.
fn basic_credentials(user: &str, password: &str) -> String {
    let pair = Sensitive::new(format!("{user}:{password}"));
    format!("Basic {}", STANDARD.encode(pair.expose()))
}

/// A header whose value is a secret: marked sensitive, so hyper never shows it.
fn secret_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Failure> {
    header(name, value, true)
}

fn header(name: &str, value: &str, secret: bool) -> Result<(HeaderName, HeaderValue), Failure> {
    let invalid = || {
        Failure::permanent(
            "INVALID_PARAMETER",
            format!("The header {name} is not a valid HTTP header."),
        )
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
    let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
    value.set_sensitive(secret);
    Ok((name, value))
}

/// `endpoint` with each `*` replaced by the next of `values` (escaped); a `*` left without a
/// value stays.
fn fill_path(endpoint: &str, values: &[String]) -> String {
    let mut values = values.iter();
    let mut url = String::with_capacity(endpoint.len());
    for piece in endpoint.split_inclusive('*') {
        match piece.strip_suffix('*') {
            Some(before) => {
                url.push_str(before);
                match values.next() {
                    Some(value) => url.extend(utf8_percent_encode(value, UNRESERVED)),
                    None => url.push('*'),
                }
            }
            None => url.push_str(piece),
        }
    }
    url
}

/// Appends `pairs` to the query string of `url`.
fn append_query<'a>(url: &mut String, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    let encoded = encode_pairs(pairs);
    if encoded.is_empty() {
        return;
    }
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&encoded);
}

/// `key=value&...`, each escaped.
fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(key, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(key, UNRESERVED),
                utf8_percent_encode(value, UNRESERVED)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `input` with the connection's body parameters added, when it is a JSON object.
fn with_body_parameters(input: String, parameters: Option<&ConnectionHttpParameters>) -> String {
    let added: Vec<(&str, &str)> = body_pairs(parameters).collect();
    if added.is_empty() {
        return input;
    }
    match serde_json::from_str::<Value>(&input) {
        Ok(Value::Object(mut fields)) => {
            for (key, value) in added {
                fields.insert(key.to_owned(), Value::String(value.to_owned()));
            }
            Value::Object(fields).to_string()
        }
        _ => input,
    }
}

/// Whether `E` is among the causes of `error`.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<E>() {
            return true;
        }
        cause = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_spaces_calls_one_slot_apart() {
        let second = 1_000_000;
        let mut one = RateLimiter::new(1);
        assert_eq!(one.reserve(10 * second), 10 * second);
        assert_eq!(one.reserve(10 * second), 11 * second);
        assert_eq!(one.reserve(10 * second + 5), 12 * second);
        // Idle time is not saved up for a burst.
        assert_eq!(one.reserve(20 * second), 20 * second);
        assert_eq!(one.reserve(20 * second), 21 * second);

        let mut four = RateLimiter::new(4);
        let slots: Vec<i64> = (0..5).map(|_| four.reserve(0)).collect();
        assert_eq!(slots, [0, 250_000, 500_000, 750_000, second]);

        let mut zero = RateLimiter::new(0);
        assert_eq!(zero.reserve(0), 0);
        assert_eq!(zero.reserve(0), second, "a rate below 1 is 1");
    }

    #[test]
    fn answers_are_judged_as_aws_does() {
        let status = |code| StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
        assert!(judge(status(200), None, false).is_ok());
        assert!(judge(status(204), None, false).is_ok());
        for retried in [429, 500, 502, 503] {
            let failure = judge(status(retried), None, false).err();
            assert!(
                failure.is_some_and(|failure| failure.retryable),
                "{retried}"
            );
        }
        for final_answer in [301, 400, 401, 403, 404, 407, 409] {
            let failure = judge(status(final_answer), None, false).err();
            assert!(
                failure.is_some_and(|failure| !failure.retryable),
                "{final_answer}"
            );
        }
        for token_refresh in [401, 407] {
            let failure = judge(status(token_refresh), None, true).err();
            assert!(
                failure.is_some_and(|failure| failure.retryable),
                "{token_refresh}"
            );
        }
        let throttled = judge(
            status(429),
            Some(RetryAfter::Wait(Duration::from_secs(3))),
            false,
        );
        assert_eq!(
            throttled
                .err()
                .map(|failure| (failure.code, failure.retry_after)),
            Some(("THROTTLING", Some(RetryAfter::Wait(Duration::from_secs(3)))))
        );
    }

    #[test]
    fn retry_after_takes_whole_seconds() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(RETRY_AFTER, value);
            }
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(RetryAfter::Wait(Duration::from_secs(7))));
        assert_eq!(with("-1"), Some(RetryAfter::Stop));
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn path_parameters_fill_the_wildcards_in_order() {
        let values = ["a b".to_owned(), "c/d".to_owned()];
        assert_eq!(
            fill_path("https://h.example/*/x/*/y/*", &values),
            "https://h.example/a%20b/x/c%2Fd/y/*"
        );
        assert_eq!(
            fill_path("https://h.example/p", &values),
            "https://h.example/p"
        );
        let mut url = "https://h.example/p?x=1".to_owned();
        append_query(&mut url, [("k", "v w"), ("é", "&")].into_iter());
        assert_eq!(url, "https://h.example/p?x=1&k=v%20w&%C3%A9=%26");
    }

    #[test]
    fn connection_names_from_arns() {
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:000000000000:connection/auth/6d3c"),
            Some("auth")
        );
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:000000000000:connection/"),
            None
        );
        assert_eq!(connection_name("nothing"), None);
    }

    #[test]
    fn body_parameters_join_a_json_object_only() {
        let parameters = ConnectionHttpParameters {
            body_parameters: Some(vec![
                palisade_model_events::types::ConnectionBodyParameter {
                    key: Some("tenant".to_owned()),
                    value: Some(Sensitive::new("t-1".to_owned())),
                    is_value_secret: Some(false),
                },
            ]),
            ..ConnectionHttpParameters::default()
        };
        let joined = with_body_parameters(r#"{"a":1}"#.to_owned(), Some(&parameters));
        assert_eq!(
            serde_json::from_str::<Value>(&joined).ok(),
            Some(serde_json::json!({"a": 1, "tenant": "t-1"}))
        );
        assert_eq!(
            with_body_parameters("[1]".to_owned(), Some(&parameters)),
            "[1]"
        );
    }
}
