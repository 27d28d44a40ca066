//! Configuration: flags, then environment variables, then a TOML file, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use palisade_cloudtrail::s3::{S3Credentials, S3Settings};
use palisade_core::{AccountId, Sensitive};
use palisade_policy::Cidr;
use serde::Deserialize;

/// The `serve` settings as given on the command line or in the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (flags and environment win over it).
    #[arg(long, env = "PALISADE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, env = "PALISADE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where the embedded store, the root key and local deliveries live.
    #[arg(long, env = "PALISADE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL URL (`postgres://...`) to use instead of the embedded store.
    #[arg(long, env = "PALISADE_STORE_URL")]
    pub store_url: Option<String>,
    /// The PostgreSQL schema that holds Palisade's tables.
    #[arg(long, env = "PALISADE_STORE_SCHEMA")]
    pub store_schema: Option<String>,
    /// The default account's id.
    #[arg(long, env = "PALISADE_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// The access key id of the default account's root user.
    #[arg(long, env = "PALISADE_ROOT_ACCESS_KEY_ID")]
    pub root_access_key_id: Option<String>,
    /// The secret access key of the default account's root user.
    #[arg(long, env = "PALISADE_ROOT_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub root_secret_access_key: Option<String>,
    /// `text` or `json` logs.
    #[arg(long, env = "PALISADE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Seconds a client may take to send its request headers.
    #[arg(long, env = "PALISADE_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// A JSON file naming Secrets Manager's rotation functions by Lambda ARN: each a command,
    /// an HTTP endpoint or a built-in database rotation (the README shows the format).
    #[arg(long, env = "PALISADE_ROTATION_FUNCTIONS")]
    pub rotation_functions: Option<PathBuf>,
    /// The directory standing in for S3 where trails deliver their log files and digests, one
    /// directory per bucket (default `<data-dir>/trails`).
    #[arg(long, env = "PALISADE_TRAIL_DELIVERY_DIR")]
    pub trail_delivery_dir: Option<PathBuf>,
    /// Seconds between trail deliveries (default 300).
    #[arg(long, env = "PALISADE_TRAIL_DELIVERY_INTERVAL_SECS")]
    pub trail_delivery_interval_secs: Option<u64>,
    /// An S3-compatible endpoint (`http(s)://host[:port]`) that trails deliver to, buckets
    /// addressed path-style, instead of the delivery directory.
    #[arg(long, env = "PALISADE_TRAIL_S3_ENDPOINT")]
    pub trail_s3_endpoint: Option<String>,
    /// The region of the trails' buckets (default: the standard AWS environment's, else
    /// us-east-1).
    #[arg(long, env = "PALISADE_TRAIL_S3_REGION")]
    pub trail_s3_region: Option<String>,
    /// The access key id trails deliver to S3 with (default: the standard AWS environment's
    /// credentials).
    #[arg(long, env = "PALISADE_TRAIL_S3_ACCESS_KEY_ID")]
    pub trail_s3_access_key_id: Option<String>,
    /// The secret access key trails deliver to S3 with.
    #[arg(
        long,
        env = "PALISADE_TRAIL_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub trail_s3_secret_access_key: Option<String>,
    /// Proxies (addresses or CIDRs, comma-separated) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; by default none, and the peer is the client.
    #[arg(long, env = "PALISADE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Whether EventBridge API destinations may call loopback, private and link-local
    /// addresses (`true` or `false`); by default only in local mode.
    #[arg(long, env = "PALISADE_ALLOW_PRIVATE_API_DESTINATIONS")]
    pub allow_private_api_destinations: Option<bool>,
}

/// The log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The same settings, as a TOML file spells them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    store_url: Option<String>,
    store_schema: Option<String>,
    account_id: Option<String>,
    root_access_key_id: Option<String>,
    root_secret_access_key: Option<String>,
    log_format: Option<LogFormat>,
    header_timeout_secs: Option<u64>,
    rotation_functions: Option<PathBuf>,
    trail_delivery_dir: Option<PathBuf>,
    trail_delivery_interval_secs: Option<u64>,
    trail_s3_endpoint: Option<String>,
    trail_s3_region: Option<String>,
    trail_s3_access_key_id: Option<String>,
    trail_s3_secret_access_key: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    allow_private_api_destinations: Option<bool>,
}

/// Root credentials for the default account.
#[derive(Debug, Clone)]
pub struct RootCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Sensitive<String>,
}

/// Where state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// SQLite in the data directory.
    Embedded,
    /// PostgreSQL at this URL, in this schema.
    Postgres {
        /// The connection URL.
        url: String,
        /// The schema.
        schema: String,
    },
}

/// The resolved configuration of a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The store backend.
    pub store: StoreChoice,
    /// The default account.
    pub account: AccountId,
    /// Explicit root credentials; `None` in local mode.
    pub root_credentials: Option<RootCredentials>,
    /// The log format.
    pub log_format: LogFormat,
    /// How long a client may take to send its headers.
    pub header_timeout: Duration,
    /// The rotation functions document, if one is configured.
    pub rotation_functions: Option<PathBuf>,
    /// Where trails deliver their files.
    pub trail_delivery_dir: PathBuf,
    /// How often trails deliver.
    pub trail_delivery_interval: Duration,
    /// The S3 endpoint trails deliver to; `None` delivers into `trail_delivery_dir`.
    pub trail_s3: Option<S3Settings>,
    /// The proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<Cidr>,
    /// Whether EventBridge API destinations may call addresses that are not public: a server
    /// reachable by others must not let a caller with `events:CreateApiDestination` reach the
    /// machine's own services or a cloud metadata endpoint through it.
    pub allow_private_api_destinations: bool,
}

/// Trails' default delivery directory, inside the data directory.
const TRAIL_DELIVERY_DIR: &str = "trails";
/// How often trails deliver by default: AWS delivers about every five minutes.
const DEFAULT_TRAIL_DELIVERY_INTERVAL: Duration = Duration::from_secs(300);

/// The configuration cannot be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Local mode: loopback only and no configured credentials, so `test`/`test` is the root of
    /// the default account.
    pub fn local_mode(&self) -> bool {
        self.root_credentials.is_none()
    }

    /// A configuration for tests: an ephemeral loopback port, local mode, embedded store in
    /// `data_dir`.
    pub fn for_tests(data_dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            store: StoreChoice::Embedded,
            account: AccountId::local_default(),
            root_credentials: None,
            log_format: LogFormat::Text,
            header_timeout: Duration::from_secs(10),
            rotation_functions: None,
            trail_delivery_dir: data_dir.join(TRAIL_DELIVERY_DIR),
            trail_delivery_interval: DEFAULT_TRAIL_DELIVERY_INTERVAL,
            trail_s3: None,
            trusted_proxies: Vec::new(),
            allow_private_api_destinations: true,
        }
    }

    /// Resolves flags and environment (already merged by clap) over the TOML file and defaults,
    /// and checks the result.
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4566)));
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let store = match args.store_url.or(file.store_url) {
            None => StoreChoice::Embedded,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreChoice::Postgres {
                    url,
                    schema: args
                        .store_schema
                        .or(file.store_schema)
                        .unwrap_or_else(|| "palisade".to_owned()),
                }
            }
            Some(_) => {
                return Err(ConfigError(
                    "the store URL must start with postgres:// or postgresql://".to_owned(),
                ));
            }
        };
        let account = match args.account_id.or(file.account_id) {
            None => AccountId::local_default(),
            Some(text) => AccountId::parse(&text)
                .ok_or_else(|| ConfigError(format!("the account id {text:?} is not 12 digits")))?,
        };
        let root_credentials = access_key(
            "root",
            args.root_access_key_id.or(file.root_access_key_id),
            args.root_secret_access_key.or(file.root_secret_access_key),
        )?
        .map(|(access_key_id, secret_access_key)| RootCredentials {
            access_key_id,
            secret_access_key,
        });
        if root_credentials.is_none() && !listen.ip().is_loopback() {
            return Err(ConfigError(format!(
                "refusing to listen on {listen} without root credentials: the well-known test/test \
                 credentials are only accepted on a loopback address. Set \
                 PALISADE_ROOT_ACCESS_KEY_ID and PALISADE_ROOT_SECRET_ACCESS_KEY (or the \
                 --root-access-key-id and --root-secret-access-key flags)."
            )));
        }
        let trusted_proxies = if args.trusted_proxies.is_empty() {
            file.trusted_proxies.unwrap_or_default()
        } else {
            args.trusted_proxies
        }
        .iter()
        .map(|text| {
            Cidr::parse(text.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "the trusted proxy {text:?} is not an IP address or CIDR block"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
        let trail_s3 = trail_s3_settings(
            args.trail_s3_endpoint.or(file.trail_s3_endpoint),
            args.trail_s3_region.or(file.trail_s3_region),
            args.trail_s3_access_key_id.or(file.trail_s3_access_key_id),
            args.trail_s3_secret_access_key
                .or(file.trail_s3_secret_access_key),
        )?;
        let allow_private_api_destinations = args
            .allow_private_api_destinations
            .or(file.allow_private_api_destinations)
            .unwrap_or(root_credentials.is_none());
        Ok(Self {
            listen,
            trusted_proxies,
            allow_private_api_destinations,
            store,
            account,
            root_credentials,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            header_timeout: Duration::from_secs(
                args.header_timeout_secs
                    .or(file.header_timeout_secs)
                    .unwrap_or(10),
            ),
            rotation_functions: args.rotation_functions.or(file.rotation_functions),
            trail_delivery_dir: args
                .trail_delivery_dir
                .or(file.trail_delivery_dir)
                .unwrap_or_else(|| data_dir.join(TRAIL_DELIVERY_DIR)),
            trail_delivery_interval: args
                .trail_delivery_interval_secs
                .or(file.trail_delivery_interval_secs)
                .map_or(DEFAULT_TRAIL_DELIVERY_INTERVAL, Duration::from_secs)
                .max(Duration::from_secs(1)),
            trail_s3,
            data_dir,
        })
    }
}

/// An access key given as its two halves: both or neither.
fn access_key(
    whose: &str,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
) -> Result<Option<(String, Sensitive<String>)>, ConfigError> {
    match (access_key_id, secret_access_key) {
        (Some(access_key_id), Some(secret)) => Ok(Some((access_key_id, Sensitive::new(secret)))),
        (None, None) => Ok(None),
        _ => Err(ConfigError(format!(
            "{whose} credentials need both an access key id and a secret access key"
        ))),
    }
}

/// The S3 endpoint trails deliver to, if one is set; region and credentials only go with one.
fn trail_s3_settings(
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
) -> Result<Option<S3Settings>, ConfigError> {
    let credentials = access_key("trail S3", access_key_id, secret_access_key)?.map(
        |(access_key_id, secret_access_key)| S3Credentials {
            access_key_id,
            secret_access_key,
        },
    );
    let Some(endpoint) = endpoint else {
        if region.is_some() || credentials.is_some() {
            return Err(ConfigError(
                "the trail S3 region and credentials need --trail-s3-endpoint".to_owned(),
            ));
        }
        return Ok(None);
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(ConfigError(format!(
            "the trail S3 endpoint {endpoint:?} must start with http:// or https://"
        )));
    }
    Ok(Some(S3Settings {
        endpoint,
        region,
        credentials,
    }))
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError(format!("cannot read {}: {error}", path.display())))?;
    toml::from_str(&text)
        .map_err(|error| ConfigError(format!("cannot parse {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_without_credentials_is_local_mode() {
        let config = Config::resolve(ServeArgs::default()).unwrap();
        assert!(config.local_mode());
        assert_eq!(config.listen.to_string(), "127.0.0.1:4566");
        assert_eq!(config.account.as_str(), "000000000000");
    }

    #[test]
    fn public_address_needs_credentials() {
        let args = ServeArgs {
            listen: Some("0.0.0.0:4566".parse().unwrap()),
            ..ServeArgs::default()
        };
        let error = Config::resolve(args).unwrap_err();
        assert!(error.0.contains("refusing to listen on 0.0.0.0:4566"));

        let args = ServeArgs {
            listen: Some("0.0.0.0:4566".parse().unwrap()),
            root_access_key_id: Some("AKIAEXAMPLE".into()),
            root_secret_access_key: Some("secret".into()),
            ..ServeArgs::default()
        };
        assert!(!Config::resolve(args).unwrap().local_mode());
    }

    #[test]
    fn api_destinations_reach_private_addresses_only_in_local_mode_unless_told() {
        let configured = |allow: Option<bool>, credentials: bool| {
            let args = ServeArgs {
                allow_private_api_destinations: allow,
                root_access_key_id: credentials.then(|| "AKIAEXAMPLE".into()),
                root_secret_access_key: credentials.then(|| "secret".into()),
                ..ServeArgs::default()
            };
            Config::resolve(args)
                .unwrap()
                .allow_private_api_destinations
        };
        assert!(configured(None, false));
        assert!(!configured(None, true));
        assert!(configured(Some(true), true));
        assert!(!configured(Some(false), false));
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\naccount_id = \"111122223333\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:7777".parse().unwrap()),
            ..ServeArgs::default()
        };
        let config = Config::resolve(args).unwrap();
        assert_eq!(config.listen.port(), 7777);
        assert_eq!(config.account.as_str(), "111122223333");

        std::fs::write(&path, "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        assert_eq!(Config::resolve(args).unwrap().trusted_proxies.len(), 2);
        let args = ServeArgs {
            config: Some(path.clone()),
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..ServeArgs::default()
        };
        let error = Config::resolve(args).unwrap_err();
        assert!(
            error
                .0
                .contains("\"10.0.0.0/33\" is not an IP address or CIDR block")
        );

        std::fs::write(
            &path,
            "trail_s3_endpoint = \"http://127.0.0.1:9000\"\ntrail_s3_region = \"eu-west-1\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            trail_s3_access_key_id: Some("AKIAEXAMPLE".into()),
            trail_s3_secret_access_key: Some("secret".into()),
            ..ServeArgs::default()
        };
        let s3 = Config::resolve(args).unwrap().trail_s3.unwrap();
        assert_eq!(s3.endpoint, "http://127.0.0.1:9000");
        assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s3.credentials.unwrap().access_key_id, "AKIAEXAMPLE");
        assert!(
            Config::resolve(ServeArgs::default())
                .unwrap()
                .trail_s3
                .is_none()
        );
        for args in [
            ServeArgs {
                trail_s3_endpoint: Some("127.0.0.1:9000".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                trail_s3_region: Some("eu-west-1".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                trail_s3_endpoint: Some("http://127.0.0.1:9000".into()),
                trail_s3_access_key_id: Some("AKIAEXAMPLE".into()),
                ..ServeArgs::default()
            },
        ] {
            assert!(Config::resolve(args).is_err());
        }

        std::fs::write(&path, "unknown_setting = 1\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        assert!(Config::resolve(args).is_err());
    }
}
