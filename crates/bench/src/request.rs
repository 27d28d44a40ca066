//! The request a run sends, signed once with the AWS SDK's own SigV4 signer.
//!
//! A SigV4 signature stays valid for 15 minutes either side of its `X-Amz-Date`, so a run signs
//! its request once and replays the same bytes; long runs sign again now and then
//! ([`RESIGN_EVERY`]). Signing per request would measure the client's HMACs, not the server.

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Uri};

/// How often a long run signs its request again: well inside SigV4's 15-minute window.
pub const RESIGN_EVERY: Duration = Duration::from_secs(5 * 60);

/// The requests built in; a custom one is described with `--service`, `--target` and a body.
///
/// To add one, give it a variant here and its service, content type, target and body in
/// [`Template::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// STS `GetCallerIdentity`, awsQuery: the cheapest authenticated call there is.
    StsGetCallerIdentity,
}

impl Template {
    /// What this template sends.
    pub fn spec(self) -> RequestSpec {
        match self {
            Self::StsGetCallerIdentity => RequestSpec {
                label: "sts-get-caller-identity".to_owned(),
                service: "sts".to_owned(),
                content_type: "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                target: None,
                body: Bytes::from_static(b"Action=GetCallerIdentity&Version=2011-06-15"),
            },
        }
    }
}

/// The request on the command line: a built-in template, or a custom one.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// A built-in request [default: sts-get-caller-identity, unless --service is given].
    #[arg(long, value_enum, conflicts_with = "service")]
    pub request: Option<Template>,
    /// A custom request: the service's SigV4 signing name (`kms`, `iam`, ...).
    #[arg(long)]
    pub service: Option<String>,
    /// A custom request's `X-Amz-Target` header (`TrentService.Encrypt`), for JSON protocols.
    #[arg(long, requires = "service")]
    pub target: Option<String>,
    /// A custom request's content type [default: application/x-amz-json-1.1].
    #[arg(long, requires = "service")]
    pub content_type: Option<String>,
    /// A custom request's body, from a file.
    #[arg(long, requires = "service", conflicts_with = "body")]
    pub body_file: Option<PathBuf>,
    /// A custom request's body, inline [default: empty].
    #[arg(long, requires = "service")]
    pub body: Option<String>,
}

impl RequestArgs {
    /// The request these arguments describe.
    pub fn spec(&self) -> Result<RequestSpec, String> {
        let Some(service) = &self.service else {
            return Ok(self
                .request
                .unwrap_or(Template::StsGetCallerIdentity)
                .spec());
        };
        let body = match (&self.body_file, &self.body) {
            (Some(path), _) => std::fs::read(path)
                .map(Bytes::from)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
            (None, Some(body)) => Bytes::from(body.clone()),
            (None, None) => Bytes::new(),
        };
        let label = match &self.target {
            Some(target) => format!("{service} {target}"),
            None => service.clone(),
        };
        Ok(RequestSpec {
            label,
            service: service.clone(),
            content_type: self
                .content_type
                .clone()
                .unwrap_or_else(|| "application/x-amz-json-1.1".to_owned()),
            target: self.target.clone(),
            body,
        })
    }
}

/// The credentials and region requests are signed with.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningArgs {
    /// Access key ID to sign with.
    #[arg(long, default_value = "test")]
    pub access_key: String,
    /// Secret access key to sign with.
    #[arg(long, default_value = "test")]
    pub secret_key: String,
    /// Region to sign for.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

/// An unsigned request: always `POST`, as every AWS query and JSON protocol call is.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// How reports name it.
    pub label: String,
    /// The SigV4 signing name of the service.
    pub service: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The `X-Amz-Target` header, for the JSON protocols.
    pub target: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Where requests go: the socket address, and the `Host` header and path they carry.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The address connections are made to.
    pub addr: SocketAddr,
    host: String,
    path: String,
}

impl Endpoint {
    /// Parses an `http://host[:port][/path]` URL and resolves its host. TLS is not offered: the
    /// harness measures the server, not a TLS stack.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("`{url}` is not a URL: {error}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{url}`: only http:// URLs are supported"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = (authority.host().trim_matches(['[', ']']), port)
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve {}: {error}", authority.host()))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", authority.host()))?;
        let path = uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        Ok(Self {
            addr,
            host: authority.as_str().to_owned(),
            path,
        })
    }

    /// `http://addr/`.
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            path: "/".to_owned(),
        }
    }
}

/// Signs one request for one endpoint, again whenever asked.
#[derive(Debug, Clone)]
pub struct Presigner {
    spec: RequestSpec,
    endpoint: Endpoint,
    identity: Identity,
    region: String,
}

impl Presigner {
    /// A signer of `spec` for `endpoint` with these credentials.
    pub fn new(spec: RequestSpec, endpoint: Endpoint, signing: &SigningArgs) -> Self {
        let credentials = Credentials::new(
            &signing.access_key,
            &signing.secret_key,
            None,
            None,
            "palisade-load",
        );
        Self {
            spec,
            endpoint,
            identity: credentials.into(),
            region: signing.region.clone(),
        }
    }

    /// What is being signed.
    pub fn spec(&self) -> &RequestSpec {
        &self.spec
    }

    /// The request signed as of `time`, in both forms the load engines send.
    pub fn sign(&self, time: SystemTime) -> Result<SignedRequest, String> {
        let spec = &self.spec;
        let mut unsigned = vec![
            ("host", self.endpoint.host.as_str()),
            ("content-type", spec.content_type.as_str()),
        ];
        if let Some(target) = &spec.target {
            unsigned.push(("x-amz-target", target.as_str()));
        }
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(&spec.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| format!("cannot sign: {error}"))?
            .into();
        let url = format!("http://{}{}", self.endpoint.host, self.endpoint.path);
        let signable = SignableRequest::new(
            "POST",
            url,
            unsigned.iter().copied(),
            SignableBody::Bytes(&spec.body),
        )
        .map_err(|error| format!("cannot sign: {error}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|error| format!("cannot sign: {error}"))?
            .into_parts();

        let content_length = spec.body.len().to_string();
        let mut headers = http::HeaderMap::new();
        let all = unsigned
            .into_iter()
            .chain([("content-length", content_length.as_str())])
            .chain(instructions.headers());
        for (name, value) in all {
            // Checked here because a custom target or content type comes from the command line,
            // and a stray CR or LF in it would split the request.
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("the {name} header value `{value}` is not valid"))?;
            headers.append(name, value);
        }
        let path: Uri = self
            .endpoint
            .path
            .parse()
            .map_err(|error| format!("`{}` is not a path: {error}", self.endpoint.path))?;
        Ok(SignedRequest::new(path, headers, spec.body.clone()))
    }
}

/// A signed request, ready to send again and again.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The whole HTTP/1.1 request, head and body, as written to the socket.
    pub wire: Bytes,
    /// The request line's target (`/`).
    pub path: Uri,
    /// Every header, the signature included.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl SignedRequest {
    fn new(path: Uri, headers: http::HeaderMap, body: Bytes) -> Self {
        let mut head = format!("POST {path} HTTP/1.1\r\n");
        for (name, value) in &headers {
            // Every value passed `HeaderValue::from_str`, which admits only visible ASCII.
            let _ = write!(head, "{name}: {}\r\n", value.to_str().unwrap_or_default());
        }
        head.push_str("\r\n");
        let mut wire = BytesMut::with_capacity(head.len() + body.len());
        wire.extend_from_slice(head.as_bytes());
        wire.extend_from_slice(&body);
        Self {
            wire: wire.freeze(),
            path,
            headers,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signing() -> SigningArgs {
        SigningArgs {
            access_key: "test".to_owned(),
            secret_key: "test".to_owned(),
            region: "us-east-1".to_owned(),
        }
    }

    #[test]
    fn sts_request_is_signed_for_sts_in_the_region() {
        let endpoint = Endpoint::parse("http://127.0.0.1:4566").unwrap();
        let presigner = Presigner::new(Template::StsGetCallerIdentity.spec(), endpoint, &signing());
        // 2024-01-02T03:04:05Z
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        let signed = presigner.sign(time).unwrap();

        let header = |name: &str| signed.headers.get(name).unwrap().to_str().unwrap();
        assert_eq!(header("host"), "127.0.0.1:4566");
        assert_eq!(header("x-amz-date"), "20240102T030405Z");
        assert_eq!(header("content-length"), "43");
        let authorization = header("authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=test/20240102/us-east-1/sts/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{authorization}"
        );
        let signature = authorization.rsplit('=').next().unwrap();
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|byte| byte.is_ascii_hexdigit()));

        let wire = std::str::from_utf8(&signed.wire).unwrap();
        assert!(wire.starts_with("POST / HTTP/1.1\r\nhost: 127.0.0.1:4566\r\n"));
        assert!(wire.contains(&format!("\r\nauthorization: {authorization}\r\n")));
        assert!(wire.ends_with("\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15"));
    }

    #[test]
    fn wire_bytes_pass_palisades_verifier() {
        let endpoint = Endpoint::parse("http://localhost:4566/").unwrap();
        let presigner = Presigner::new(Template::StsGetCallerIdentity.spec(), endpoint, &signing());
        let now = SystemTime::now();
        let signed = presigner.sign(now).unwrap();

        // Read back from the bytes on the wire, as the server will.
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut headers);
        let head_len = match parsed.parse(&signed.wire).unwrap() {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("incomplete request head"),
        };
        let headers: Vec<(&str, &[u8])> = parsed
            .headers
            .iter()
            .map(|header| (header.name, header.value))
            .collect();
        let request = palisade_sigv4::Request {
            method: parsed.method.unwrap(),
            path: parsed.path.unwrap(),
            query: "",
            headers: &headers,
            payload: palisade_sigv4::Payload::Bytes(&signed.wire[head_len..]),
        };
        let auth = palisade_sigv4::parse(&request).unwrap();
        auth.check_scope("us-east-1", "sts").unwrap();
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        palisade_sigv4::verify(
            &request,
            &auth,
            b"test",
            i64::try_from(now).unwrap(),
            &palisade_sigv4::Options::default(),
        )
        .unwrap();
    }

    #[test]
    fn custom_json_request_signs_its_target() {
        let args = RequestArgs {
            request: None,
            service: Some("kms".to_owned()),
            target: Some("TrentService.ListKeys".to_owned()),
            content_type: None,
            body_file: None,
            body: Some("{}".to_owned()),
        };
        let endpoint = Endpoint::at(SocketAddr::from(([127, 0, 0, 1], 9)));
        let signed = Presigner::new(args.spec().unwrap(), endpoint, &signing())
            .sign(SystemTime::now())
            .unwrap();
        let authorization = signed.headers["authorization"].to_str().unwrap();
        assert!(authorization.contains("/us-east-1/kms/aws4_request"));
        assert!(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"));
        assert_eq!(signed.headers["x-amz-target"], "TrentService.ListKeys");
        assert_eq!(signed.headers["content-type"], "application/x-amz-json-1.1");
    }

    #[test]
    fn a_target_with_a_line_break_is_refused() {
        let mut spec = Template::StsGetCallerIdentity.spec();
        spec.target = Some("X\r\nInjected: yes".to_owned());
        let endpoint = Endpoint::at(SocketAddr::from(([127, 0, 0, 1], 9)));
        assert!(
            Presigner::new(spec, endpoint, &signing())
                .sign(SystemTime::now())
                .is_err()
        );
    }
}
