//! Choosing the service, protocol and operation of a request.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, header};
use palisade_core::model::{Operation, Protocol, ServiceModel};
use palisade_core::service::{CommonError, ServiceError};

use crate::{encode_error, query};

/// Where a request goes: the service, the protocol the client spoke and the operation.
#[derive(Debug, Clone)]
pub struct Route {
    /// The service.
    pub model: &'static ServiceModel,
    /// The protocol of the request, and so of the response.
    pub protocol: Protocol,
    /// The operation.
    pub operation: Operation,
    /// restJson1 path labels, by the name in the path template (without a greedy `+`), with
    /// their percent-decoded values. Empty for the other protocols.
    pub path_labels: Vec<(String, String)>,
}

/// A request that could not be routed, with what is needed to answer it in the client's
/// protocol.
#[derive(Debug, Clone)]
pub struct RouteError {
    /// The protocol the client spoke.
    pub protocol: Protocol,
    /// The service, when it was found before the failure.
    pub model: Option<&'static ServiceModel>,
    /// The error.
    pub error: ServiceError,
}

impl RouteError {
    fn new(
        protocol: Protocol,
        model: Option<&'static ServiceModel>,
        error: CommonError,
        message: impl Into<String>,
    ) -> Self {
        Self {
            protocol,
            model,
            error: ServiceError::common(error, message),
        }
    }

    /// The error rendered as the client's protocol renders it.
    pub fn into_response(self, request_id: &str) -> Response<Bytes> {
        encode_error(self.protocol, self.model, &self.error, request_id)
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for RouteError {}

/// The best guess of the protocol a client speaks, for answering a request that fails before it
/// is routed (a body over the size limit, say), and the first step of routing: a
/// `smithy-protocol` header means RPC v2 CBOR, `X-Amz-Target` awsJson, a form content type or an
/// `Action` parameter (in the query string, or opening a body sent without a content type)
/// awsQuery; anything else is taken for restJson1. `body` may be empty when it is not at hand.
pub fn protocol_hint(parts: &Parts, body: &[u8]) -> Protocol {
    if parts.headers.contains_key("smithy-protocol") {
        Protocol::RpcV2Cbor
    } else if parts.headers.contains_key("x-amz-target") {
        Protocol::Json
    } else if is_form(parts)
        || has_action_param(parts)
        || (!parts.headers.contains_key(header::CONTENT_TYPE) && body.starts_with(b"Action="))
    {
        Protocol::Query
    } else {
        Protocol::RestJson
    }
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// An awsQuery request sent as a GET (presigned `GetCallerIdentity` URLs are) carries `Action` in
/// the query string.
fn has_action_param(parts: &Parts) -> bool {
    parts
        .uri
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("Action=")))
}

/// One segment of a restJson1 path template.
#[derive(Debug)]
enum Segment {
    Literal(&'static str),
    Label(&'static str),
    /// `{Name+}`: one or more whole segments, slashes included.
    Greedy(&'static str),
}

impl Segment {
    /// Literal segments are more specific than labels, labels than greedy labels.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Label(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

/// An operation's path template, parsed once.
#[derive(Debug)]
struct Template {
    operation: Operation,
    method: Method,
    segments: Vec<Segment>,
    /// Query literals of the template (`?name` or `?name=value`) that a request must carry.
    query: Vec<(&'static str, Option<&'static str>)>,
}

fn path_segments(path: &str) -> Vec<&str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    }
}

impl Template {
    fn parse(operation: Operation) -> Option<Self> {
        let uri: &'static str = operation.http.request_uri;
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let segments = path_segments(path)
            .into_iter()
            .map(|segment| {
                match segment
                    .strip_prefix('{')
                    .and_then(|label| label.strip_suffix('}'))
                {
                    Some(label) => match label.strip_suffix('+') {
                        Some(greedy) => Segment::Greedy(greedy),
                        None => Segment::Label(label),
                    },
                    None => Segment::Literal(segment),
                }
            })
            .collect();
        let query = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (pair, None),
            })
            .collect();
        Some(Self {
            operation,
            method: Method::from_bytes(operation.http.method.as_bytes()).ok()?,
            segments,
            query,
        })
    }

    fn rank(&self) -> Vec<u8> {
        let mut rank: Vec<u8> = self.segments.iter().map(Segment::rank).collect();
        rank.push(u8::try_from(self.query.len()).unwrap_or(u8::MAX));
        rank
    }

    /// The labels, when `path` (percent-decoded segments) and `query` fit the template.
    fn matches(
        &self,
        path: &[String],
        query: &[(String, String)],
    ) -> Option<Vec<(String, String)>> {
        let query_fits = self.query.iter().all(|(name, value)| {
            query
                .iter()
                .any(|(key, text)| key == name && value.is_none_or(|value| value == text))
        });
        if !query_fits {
            return None;
        }
        let mut labels = Vec::new();
        let mut rest = path;
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    let (first, tail) = rest.split_first()?;
                    if first != literal {
                        return None;
                    }
                    rest = tail;
                }
                Segment::Label(name) => {
                    let (first, tail) = rest.split_first()?;
                    if first.is_empty() {
                        return None;
                    }
                    labels.push(((*name).to_owned(), first.clone()));
                    rest = tail;
                }
                Segment::Greedy(name) => {
                    // The greedy label takes all but what the segments after it need.
                    let after = self.segments.len().saturating_sub(index + 1);
                    let take = rest.len().checked_sub(after).filter(|take| *take > 0)?;
                    let (taken, tail) = rest.split_at_checked(take)?;
                    labels.push(((*name).to_owned(), taken.join("/")));
                    rest = tail;
                }
            }
        }
        rest.is_empty().then_some(labels)
    }
}

/// A restJson1 service and its templates.
#[derive(Debug)]
struct RestService {
    model: &'static ServiceModel,
    templates: Vec<Template>,
}

/// Finds the service, protocol and operation of requests. Built once from the models served.
#[derive(Debug)]
pub struct Router {
    /// awsJson and RPC v2 CBOR services, by target prefix (the CBOR path's service name).
    by_target: HashMap<&'static str, &'static ServiceModel>,
    /// awsQuery services, in the order given.
    query: Vec<&'static ServiceModel>,
    /// restJson1 services, in the order given.
    rest: Vec<RestService>,
}

impl Router {
    /// A router for `models`. A model may speak several protocols (CloudWatch speaks RPC v2
    /// CBOR, awsJson and awsQuery) and is reachable by each; every awsJson service is also
    /// reachable by RPC v2 CBOR, which carries the same operations.
    pub fn new(models: &[&'static ServiceModel]) -> Router {
        let mut by_target = HashMap::new();
        let mut query = Vec::new();
        let mut rest = Vec::new();
        for &model in models {
            if let Some(prefix) = model.target_prefix
                && (model.speaks(Protocol::Json) || model.speaks(Protocol::RpcV2Cbor))
            {
                by_target.entry(prefix).or_insert(model);
            }
            if model.speaks(Protocol::Query) {
                query.push(model);
            }
            if model.speaks(Protocol::RestJson) {
                let templates = model.operations().filter_map(Template::parse).collect();
                rest.push(RestService { model, templates });
            }
        }
        Router {
            by_target,
            query,
            rest,
        }
    }

    /// Chooses the service, protocol and operation of a request.
    ///
    /// `signing_service` is the service of the SigV4 credential scope when the request has one
    /// (`sts`, `iam`, `monitoring`, `guardduty`). awsQuery and restJson1 requests do not name
    /// their service, so it is narrowed by, in turn, the signing service, the `Host` name's
    /// endpoint prefix, and what the request itself says (`Version`, the operation, the path).
    /// Routing does not check the scope against the service found; authentication does.
    pub fn route(
        &self,
        parts: &Parts,
        body: &[u8],
        signing_service: Option<&str>,
    ) -> Result<Route, RouteError> {
        match protocol_hint(parts, body) {
            Protocol::RpcV2Cbor => self.route_cbor(parts),
            Protocol::Json => self.route_json(parts),
            Protocol::Query => self.route_query(parts, body, signing_service),
            Protocol::RestJson => self.route_rest(parts, signing_service),
        }
    }

    fn route_json(&self, parts: &Parts) -> Result<Route, RouteError> {
        let unknown = |model, message: String| {
            RouteError::new(
                Protocol::Json,
                model,
                CommonError::UnknownOperation,
                message,
            )
        };
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        // Target prefixes can hold dots (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`);
        // the operation is what follows the last one.
        let Some((prefix, name)) = target.rsplit_once('.') else {
            return Err(unknown(
                None,
                format!("The target '{target}' names no operation."),
            ));
        };
        let Some(&model) = self
            .by_target
            .get(prefix)
            .filter(|model| model.speaks(Protocol::Json))
        else {
            return Err(unknown(
                None,
                format!("The target '{target}' names no known service."),
            ));
        };
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap_or_default().to_ascii_lowercase());
        if content_type.is_some_and(|content_type| !content_type.contains("json")) {
            return Err(RouteError::new(
                Protocol::Json,
                Some(model),
                CommonError::Serialization,
                "The request's content type is not JSON.",
            ));
        }
        let operation = model.operation(name).ok_or_else(|| {
            unknown(
                Some(model),
                format!(
                    "The operation {name} is not an operation of {}.",
                    model.service_id
                ),
            )
        })?;
        Ok(Route {
            model,
            protocol: Protocol::Json,
            operation,
            path_labels: Vec::new(),
        })
    }

    fn route_cbor(&self, parts: &Parts) -> Result<Route, RouteError> {
        let error = |model, kind, message: String| {
            RouteError::new(Protocol::RpcV2Cbor, model, kind, message)
        };
        let declared = parts
            .headers
            .get("smithy-protocol")
            .map(|value| value.as_bytes());
        if declared != Some(b"rpc-v2-cbor".as_slice()) {
            return Err(error(
                None,
                CommonError::Serialization,
                "The smithy-protocol header names an unsupported protocol.".into(),
            ));
        }
        // `.../service/{Service}/operation/{Operation}`: anything before is an endpoint's own
        // path prefix.
        let segments = path_segments(parts.uri.path());
        let tail = segments
            .len()
            .checked_sub(4)
            .and_then(|at| segments.get(at..));
        let Some(&["service", service, "operation", name]) = tail else {
            return Err(error(
                None,
                CommonError::UnknownOperation,
                format!("The path {} names no RPC v2 operation.", parts.uri.path()),
            ));
        };
        let Some(&model) = self.by_target.get(service) else {
            return Err(error(
                None,
                CommonError::UnknownOperation,
                format!("The service {service} is not known."),
            ));
        };
        if parts.method != Method::POST {
            return Err(error(
                Some(model),
                CommonError::UnknownOperation,
                "RPC v2 requests must use POST.".into(),
            ));
        }
        let operation = model.operation(name).ok_or_else(|| {
            error(
                Some(model),
                CommonError::UnknownOperation,
                format!(
                    "The operation {name} is not an operation of {}.",
                    model.service_id
                ),
            )
        })?;
        Ok(Route {
            model,
            protocol: Protocol::RpcV2Cbor,
            operation,
            path_labels: Vec::new(),
        })
    }

    fn route_query(
        &self,
        parts: &Parts,
        body: &[u8],
        signing_service: Option<&str>,
    ) -> Result<Route, RouteError> {
        let params = query::params(parts, body).map_err(|error| RouteError {
            protocol: Protocol::Query,
            model: None,
            error,
        })?;
        let Some(action) = params.get("Action").filter(|action| !action.is_empty()) else {
            return Err(RouteError::new(
                Protocol::Query,
                None,
                CommonError::MissingAction,
                "Missing Action",
            ));
        };
        let version = params.get("Version");
        let host = host(parts);
        let mut candidates = self.query.clone();
        narrow(&mut candidates, |model| {
            signing_service.is_some_and(|service| service == model.signing_name)
        });
        narrow(&mut candidates, |model| serves_host(model, host));
        narrow(&mut candidates, |model| {
            version.is_some_and(|version| version == model.api_version)
        });
        narrow(&mut candidates, |model| model.operation(action).is_some());
        let Some(&model) = candidates.first() else {
            return Err(RouteError::new(
                Protocol::Query,
                None,
                CommonError::UnknownOperation,
                format!("Could not find operation {action}"),
            ));
        };
        let operation = model
            .operation(action)
            .filter(|_| version.is_none_or(|version| version == model.api_version));
        let Some(operation) = operation else {
            let version = version.map_or(model.api_version, String::as_str);
            return Err(RouteError::new(
                Protocol::Query,
                Some(model),
                CommonError::UnknownOperation,
                format!("Could not find operation {action} for version {version}"),
            ));
        };
        Ok(Route {
            model,
            protocol: Protocol::Query,
            operation,
            path_labels: Vec::new(),
        })
    }

    fn route_rest(
        &self,
        parts: &Parts,
        signing_service: Option<&str>,
    ) -> Result<Route, RouteError> {
        let error = |model, kind, message: String| {
            RouteError::new(Protocol::RestJson, model, kind, message)
        };
        let mut path = Vec::new();
        for segment in path_segments(parts.uri.path()) {
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map_err(|_| {
                    error(
                        None,
                        CommonError::Serialization,
                        "The request path is not valid UTF-8.".into(),
                    )
                })?;
            path.push(decoded.into_owned());
        }
        let query = query::form_pairs(parts.uri.query().unwrap_or_default().as_bytes()).map_err(
            |error| RouteError {
                protocol: Protocol::RestJson,
                model: None,
                error,
            },
        )?;
        let host = host(parts);
        let mut candidates: Vec<&RestService> = self.rest.iter().collect();
        narrow(&mut candidates, |service| {
            signing_service.is_some_and(|name| {
                name == service.model.signing_name || name == service.model.endpoint_prefix
            })
        });
        narrow(&mut candidates, |service| serves_host(service.model, host));
        // The most specific template wins: `/insights/results/{Arn+}` over `/insights/{Arn+}`.
        let mut best: Option<(Vec<u8>, Route)> = None;
        for service in &candidates {
            for template in &service.templates {
                if template.method != parts.method {
                    continue;
                }
                let Some(labels) = template.matches(&path, &query) else {
                    continue;
                };
                let rank = template.rank();
                let better = best
                    .as_ref()
                    .is_none_or(|(best_rank, _)| rank.cmp(best_rank) == Ordering::Greater);
                if better {
                    let route = Route {
                        model: service.model,
                        protocol: Protocol::RestJson,
                        operation: template.operation,
                        path_labels: labels,
                    };
                    best = Some((rank, route));
                }
            }
        }
        match best {
            Some((_, route)) => Ok(route),
            None => {
                let model = match candidates.as_slice() {
                    [only] => Some(only.model),
                    _ => None,
                };
                Err(error(
                    model,
                    CommonError::UnknownOperation,
                    format!(
                        "No operation matches {} {}.",
                        parts.method,
                        parts.uri.path()
                    ),
                ))
            }
        }
    }
}

/// Keeps the candidates that satisfy `keep`, unless none does: each clue narrows the choice only
/// when it points somewhere.
fn narrow<T>(candidates: &mut Vec<T>, keep: impl Fn(&T) -> bool) {
    if candidates.iter().any(&keep) {
        candidates.retain(keep);
    }
}

/// The request's host name, from `Host` or the URI's authority.
fn host(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.host())
}

/// Whether `host` is one of the service's endpoints: `sts.amazonaws.com`,
/// `monitoring.us-east-1.amazonaws.com`, `api.detective.eu-west-1.amazonaws.com`.
fn serves_host(model: &ServiceModel, host: Option<&str>) -> bool {
    host.and_then(|host| host.strip_prefix(model.endpoint_prefix))
        .is_some_and(|rest| rest.starts_with('.'))
}
