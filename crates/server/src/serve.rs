//! Opening the store, starting background work, and serving connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use palisade_audit::AuditLog;
use palisade_cloudtrail::s3::S3Sink;
use palisade_cloudtrail::sink::{LocalDirectory, TrailSink};
use palisade_core::clock::{Clock, SystemClock};
use palisade_core::events::EventSink;
use palisade_core::keys::KeyService;
use palisade_store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::auth::Credentials;
use crate::authorize::{Authorizer, PolicyAuthorizer};
use crate::config::{Config, StoreChoice};
use crate::keys::ServiceKeys;
use crate::metrics::Metrics;
use crate::resource_tags::ResourceTags;
use crate::secret_reader::ServiceSecrets;
use crate::services::{
    Built, EventLogGroups, ServicePrincipalKeys, Services, TrailLogGroups, TrailOrganizations,
};
use crate::state::AppState;

/// The server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A server serving in the background.
pub struct RunningServer {
    /// The address it listens on (with the real port when the configuration asked for port 0).
    pub local_addr: SocketAddr,
    /// Its shared state.
    pub state: Arc<AppState>,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
}

impl RunningServer {
    /// `http://<address>`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting, lets requests in flight finish, and returns when they have.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.serving.await;
    }

    /// Serves until the process is asked to stop (Ctrl-C or SIGTERM).
    pub async fn serve_until_signalled(self) {
        wait_for_signal().await;
        tracing::info!("stopping");
        self.shutdown().await;
    }
}

/// Starts a server with the system clock.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// Starts a server with the given clock.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StartError> {
    start_serving(config, clock, None).await
}

/// Starts a server whose pipeline decides requests with `authorizer` instead of IAM's
/// policies (services calling KMS for a caller still use the policies). This is how
/// `palisade-unenforced` (crates/bench) measures what enforcement costs; nothing serves with it.
pub async fn start_with_authorizer(
    config: Config,
    clock: Arc<dyn Clock>,
    authorizer: Arc<dyn Authorizer>,
) -> Result<RunningServer, StartError> {
    start_serving(config, clock, Some(authorizer)).await
}

async fn start_serving(
    config: Config,
    clock: Arc<dyn Clock>,
    pipeline_authorizer: Option<Arc<dyn Authorizer>>,
) -> Result<RunningServer, StartError> {
    let store_config = match &config.store {
        StoreChoice::Embedded => StoreConfig::Embedded {
            data_dir: config.data_dir.clone(),
        },
        StoreChoice::Postgres { url, schema } => StoreConfig::Postgres {
            url: url.clone(),
            schema: schema.clone(),
            data_dir: config.data_dir.clone(),
        },
    };
    let store = Arc::new(
        Store::open(&store_config)
            .await
            .map_err(|error| StartError(format!("cannot open the store: {error}")))?,
    );
    let audit = AuditLog::open(&config.data_dir.join(AUDIT_JOURNAL_DIR), Arc::clone(&store))
        .map_err(|error| StartError(format!("cannot open the audit journal: {error}")))?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|error| StartError(format!("cannot listen on {}: {error}", config.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(|error| StartError(format!("cannot read the listening address: {error}")))?;

    let iam = Arc::new(palisade_iam::IamState::new(
        Store::clone(&store),
        Arc::clone(&clock),
    ));
    let sts = Arc::new(palisade_sts::StsState::new(
        Store::clone(&store),
        Arc::clone(&clock),
        Arc::clone(&iam),
    ));
    let cloudwatch = Arc::new(palisade_cloudwatch::CloudWatchState::new(
        Store::clone(&store),
        Arc::clone(&clock),
    ));
    // Metric filters record their data points in CloudWatch.
    let logs = Arc::new(
        palisade_logs::LogsState::new(Store::clone(&store), Arc::clone(&clock))
            .with_metrics(Arc::clone(&cloudwatch) as Arc<dyn palisade_core::metrics::MetricSink>),
    );
    // Services publish their events to EventBridge, which delivers them (to log groups, too).
    let events = palisade_events::EventsState::delivering(
        Store::clone(&store),
        Arc::clone(&clock),
        Arc::new(EventLogGroups(Arc::clone(&logs))),
        if config.allow_private_api_destinations {
            palisade_events::addresses::Reach::Any
        } else {
            palisade_events::addresses::Reach::PublicOnly
        },
    );
    let event_sink: Arc<dyn EventSink> = Arc::clone(&events) as Arc<dyn EventSink>;
    cloudwatch.attach_events(Arc::clone(&event_sink));
    let kms = Arc::new(
        palisade_kms::KmsState::new(Store::clone(&store), Arc::clone(&clock))
            .with_events(Arc::clone(&event_sink)),
    );
    // Encrypted log groups and trails use KMS as their own service principals; KMS is built
    // after Logs.
    let service_keys = Arc::new(ServicePrincipalKeys {
        kms: Arc::clone(&kms),
        clock: Arc::clone(&clock),
    });
    logs.attach_keys(Arc::clone(&service_keys) as _);
    let organizations = Arc::new(
        palisade_organizations::OrganizationsState::new(Store::clone(&store), Arc::clone(&clock))
            .with_iam(Arc::clone(&iam)),
    );
    let policies = Arc::new(
        PolicyAuthorizer::new(Arc::clone(&iam), Arc::clone(&sts), Arc::clone(&kms))
            .with_organizations(Arc::clone(&organizations)),
    );
    let authorizer: Arc<dyn Authorizer> = Arc::clone(&policies) as Arc<dyn Authorizer>;
    let keys: Arc<dyn KeyService> =
        Arc::new(ServiceKeys::new(Arc::clone(&kms), Arc::clone(&authorizer)));
    let secrets = Arc::new(palisade_secretsmanager::SecretsManagerState::new(
        Store::clone(&store),
        Arc::clone(&clock),
        Arc::clone(&keys),
    ));
    policies.attach_secrets(Arc::clone(&secrets));
    policies.attach_buses(Arc::clone(&events));
    if let Some(path) = &config.rotation_functions {
        let document = std::fs::read_to_string(path)
            .map_err(|error| StartError(format!("cannot read {}: {error}", path.display())))?;
        secrets
            .configure_rotation(&document)
            .map_err(|error| StartError(format!("{}: {error}", path.display())))?;
    }
    let parameters = Arc::new(
        palisade_ssm::ParameterStore::new(Store::clone(&store), Arc::clone(&clock), keys)
            .with_secret_reader(Arc::new(ServiceSecrets::new(
                Arc::clone(&secrets),
                Arc::clone(&authorizer),
            )))
            .with_events(event_sink),
    );
    let trail_sink: Arc<dyn TrailSink> = match &config.trail_s3 {
        Some(settings) => Arc::new(S3Sink::connect(settings).await),
        None => Arc::new(LocalDirectory::new(config.trail_delivery_dir.clone())),
    };
    let cloudtrail = Arc::new(
        palisade_cloudtrail::CloudTrailState::new(
            Store::clone(&store),
            Arc::clone(&clock),
            audit.clone(),
        )
        .with_delivery_sink(trail_sink)
        .with_log_groups(Arc::new(TrailLogGroups(Arc::clone(&logs))))
        .with_organizations(Arc::new(TrailOrganizations {
            organizations: Arc::clone(&organizations),
            clock: Arc::clone(&clock),
        }))
        .with_keys(service_keys),
    );
    policies.attach_event_data_stores(Arc::clone(&cloudtrail));
    policies.attach_resource_tags(Arc::new(ResourceTags {
        iam: Arc::clone(&iam),
        parameters: Arc::clone(&parameters),
        logs: Arc::clone(&logs),
        cloudtrail: Arc::clone(&cloudtrail),
        organizations: Arc::clone(&organizations),
    }));
    let services = Services::new(Built {
        iam: Arc::clone(&iam),
        sts: Arc::clone(&sts),
        kms: Arc::clone(&kms),
        cloudtrail: Arc::clone(&cloudtrail),
        events: Arc::clone(&events),
        logs: Arc::clone(&logs),
        cloudwatch: Arc::clone(&cloudwatch),
        organizations,
        secrets: Arc::clone(&secrets),
        parameters: Arc::clone(&parameters),
    });
    let sweeping = tokio::spawn(sweep(
        Arc::clone(&kms),
        secrets,
        parameters,
        logs,
        Arc::clone(&cloudwatch),
        Arc::clone(&cloudtrail),
    ));
    let evaluating = tokio::spawn(evaluate_alarms(cloudwatch));
    let delivering = tokio::spawn(deliver_trails(
        Arc::clone(&cloudtrail),
        config.trail_delivery_interval,
    ));
    let streaming = tokio::spawn({
        let cloudtrail = Arc::clone(&cloudtrail);
        async move { cloudtrail.stream_to_log_groups().await }
    });
    let querying = tokio::spawn({
        let cloudtrail = Arc::clone(&cloudtrail);
        async move { cloudtrail.run_queries().await }
    });
    let importing = tokio::spawn({
        let cloudtrail = Arc::clone(&cloudtrail);
        async move { cloudtrail.run_imports().await }
    });
    let state = Arc::new(AppState {
        credentials: Credentials::new(&config, iam, sts),
        clock,
        audit,
        router: palisade_wire::Router::new(&services.models()),
        services,
        authorizer: pipeline_authorizer.unwrap_or(authorizer),
        metrics: Metrics::new(),
        cloudtrail,
        events,
        store,
        config,
    });
    let (stop, stopped) = oneshot::channel();
    let loop_state = Arc::clone(&state);
    let serving = tokio::spawn(async move {
        accept_loop(listener, loop_state, stopped).await;
        sweeping.abort();
        evaluating.abort();
        delivering.abort();
        streaming.abort();
        querying.abort();
        importing.abort();
    });
    tracing::info!(
        address = %local_addr,
        local_mode = state.config.local_mode(),
        "palisade is listening"
    );
    Ok(RunningServer {
        local_addr,
        state,
        stop,
        serving,
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    mut stopped: oneshot::Receiver<()>,
) {
    let app = crate::app(Arc::clone(&state));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        // Responses are small and written whole; Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

/// The audit journal's directory inside the data directory (for either store backend: it is
/// this node's write-ahead copy of its records).
const AUDIT_JOURNAL_DIR: &str = "audit";

/// How often the services' due work (KMS deletions past their waiting period, automatic
/// rotations, expired imported material, and the other sweepers') is looked for. Due-ness itself
/// is decided by the injected clock.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the services' periodic work: KMS key deletion, rotation and imported-material expiry,
/// Secrets Manager's scheduled rotations and deletions, Parameter Store's parameter policies,
/// CloudWatch Logs' retention and CloudWatch's (data points, alarm history). Each sweeper decides what is due by the injected clock and keeps its schedule in the
/// store, so a restart loses nothing.
async fn sweep(
    kms: Arc<palisade_kms::KmsState>,
    secrets: Arc<palisade_secretsmanager::SecretsManagerState>,
    parameters: Arc<palisade_ssm::ParameterStore>,
    logs: Arc<palisade_logs::LogsState>,
    cloudwatch: Arc<palisade_cloudwatch::CloudWatchState>,
    cloudtrail: Arc<palisade_cloudtrail::CloudTrailState>,
) {
    // The first sweep waits a period too: a starting server answers before it sweeps.
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_INTERVAL, SWEEP_INTERVAL);
    loop {
        ticks.tick().await;
        let outcomes = [
            ("KMS deletion", kms.delete_due_keys().await.map(drop)),
            ("KMS rotation", kms.rotate_due_keys().await.map(drop)),
            (
                "KMS imported-material",
                kms.expire_imported_key_material().await.map(drop),
            ),
            (
                "Secrets Manager rotation",
                secrets.rotate_due_secrets().await.map(drop),
            ),
            (
                "Secrets Manager deletion",
                secrets.delete_due_secrets().await.map(drop),
            ),
            (
                "Parameter Store policy",
                parameters.apply_parameter_policies().await.map(drop),
            ),
            ("Logs retention", logs.expire_events().await.map(drop)),
            ("CloudWatch retention", cloudwatch.expire().await.map(drop)),
            (
                "CloudTrail dashboard refresh",
                cloudtrail.refresh_due_dashboards().await.map(drop),
            ),
            (
                "CloudTrail Lake query expiry",
                cloudtrail.forget_expired_queries().await,
            ),
            (
                "CloudTrail Lake import expiry",
                cloudtrail.forget_expired_imports().await,
            ),
        ];
        for (sweep, outcome) in outcomes {
            if let Err(error) = outcome {
                tracing::warn!(%error, sweep, "sweep failed");
            }
        }
    }
}

/// Evaluates CloudWatch alarms every minute, as CloudWatch does; what their data says is
/// decided by the injected clock.
async fn evaluate_alarms(cloudwatch: Arc<palisade_cloudwatch::CloudWatchState>) {
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_INTERVAL, SWEEP_INTERVAL);
    loop {
        ticks.tick().await;
        if let Err(error) = cloudwatch.evaluate_alarms().await {
            tracing::warn!(%error, "alarm evaluation failed");
        }
    }
}

/// Delivers trails' log files and digests every `interval`; what is due is decided by the
/// injected clock, and each trail's cursor is in the store, so a restart loses nothing.
async fn deliver_trails(cloudtrail: Arc<palisade_cloudtrail::CloudTrailState>, interval: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        ticks.tick().await;
        if let Err(error) = cloudtrail.deliver_due().await {
            tracing::warn!(%error, "trail delivery failed");
        }
    }
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
