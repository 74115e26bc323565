//! coffer's HTTP front end.
//!
//! One axum router: `GET /health`, and everything else into the AWS pipeline — size-capped body,
//! SigV4 verification ([`auth`]), routing by `X-Amz-Target` (awsJson 1.1) or `Action` (query
//! protocol) ([`protocol`]), dispatch into `coffer-service`, and rendering of the output or of the
//! AWS error ([`wire_error`], the one place errors become bytes).
//!
//! - [`config`]: what the server needs to start.
//! - [`datadir`]: first-start initialisation of the data directory (master key, credentials).
//! - [`listener`]: accepting connections (plain or [`tls`]) under the connection limits.
//! - [`throttle`]: request quotas per account and operation.
//! - [`app`]: the router, callable without a socket; `/metrics` serves
//!   [`coffer_service::metrics`].
//! - [`console`]: the web console at `/console` (server-rendered, sessions, CSRF, every page's
//!   data through the service layer as the signed-in principal).
//! - [`run`]: bind, serve, shut down gracefully.

pub mod alerts;
pub mod auth;
pub mod config;
pub mod console;
pub mod datadir;
pub mod listener;
pub mod protocol;
pub mod throttle;
pub mod tls;
pub mod wire_error;

pub use config::{ReplicaPeers, ServerConfig};

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use coffer_service::Services;
use std::future::Future;
use std::sync::Arc;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub services: Services,
    pub auth: auth::Authenticator,
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's body.
    pub body_timeout: std::time::Duration,
    pub throttle: throttle::Throttle,
    /// The web console's signed-in sessions.
    pub console: console::session::Sessions,
}

impl AppState {
    /// Take a token from the caller's quota for `operation`, or refuse with AWS's throttling
    /// error.
    pub fn throttle(
        &self,
        ctx: &coffer_service::RequestContext,
        service: &'static str,
        operation: &str,
        protocol: wire_error::Protocol,
    ) -> Result<(), wire_error::WireError> {
        if self
            .throttle
            .admit(ctx.principal.account_id.as_str(), service, operation)
        {
            return Ok(());
        }
        coffer_service::metrics::global()
            .throttled
            .get_or_create(&coffer_service::metrics::OperationLabels {
                service,
                operation: operation.to_owned(),
            })
            .inc();
        Err(wire_error::WireError::throttled(protocol))
    }
}

/// Marks a request that came over a TLS connection (`aws:SecureTransport`).
#[derive(Debug, Clone, Copy)]
pub struct SecureTransport;

/// The router: `/health`, `/metrics` and the AWS endpoint.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(console::routes())
        .fallback(protocol::handle)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            wire_error::panic_response,
        ))
        .with_state(state)
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// Prometheus text exposition. Labels hold only operation names, status codes and outcomes.
async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        coffer_service::metrics::global().render(),
    )
}

/// How often time-driven work (purges, expirations) runs.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How often a node asks whether it leads the background jobs. With several nodes on one
/// PostgreSQL this bounds how long the jobs go unowned after their leader dies: a node that
/// becomes leader runs them at once.
const LEADERSHIP_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// The leadership name of the background jobs (one lease covers all of them).
const HOUSEKEEPING_JOB: &str = "housekeeping";

/// Run [`Services::housekeeping`] every [`HOUSEKEEPING_EVERY`] while this node leads the
/// background jobs (always, on SQLite; one node at a time on PostgreSQL).
async fn housekeeping(services: Services, store: coffer_store::Store) {
    let mut tick = tokio::time::interval(LEADERSHIP_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_run: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        match store.try_lead(HOUSEKEEPING_JOB).await {
            Ok(true) => {}
            Ok(false) => {
                last_run = None;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether this node leads background jobs; skipping them");
                last_run = None;
                continue;
            }
        }
        if last_run.is_some_and(|t| t.elapsed() < HOUSEKEEPING_EVERY) {
            continue;
        }
        last_run = Some(std::time::Instant::now());
        services.housekeeping(coffer_service::now_millis()).await;
    }
}

/// How often the replicator looks for primaries whose replicas are due (changes waiting for a
/// peer deployment, failures whose backoff has passed).
const REPLICATION_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Run [`Services::replication_pass`] on every node: it is idempotent (each push sends the
/// whole desired state) and cheap when nothing is due (one indexed query).
async fn replicator(services: Services) {
    let mut tick = tokio::time::interval(REPLICATION_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        services
            .replication_pass(coffer_service::now_millis())
            .await;
    }
}

/// Initialise the data directory and store, then serve until `shutdown` resolves.
pub async fn run(
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let passphrase = cfg
        .master_passphrase
        .as_ref()
        .filter(|_| cfg.master_key.is_none());
    let master = match passphrase {
        None => Some(datadir::prepare(&cfg.data_dir, cfg.master_key.clone())?),
        Some(_) => {
            datadir::ensure_dir(&cfg.data_dir)?;
            None
        }
    };
    let store_url = cfg.store_url();
    let _lock = match store_url.strip_prefix("sqlite://") {
        Some(path) => Some(datadir::lock_sqlite(std::path::Path::new(path))?),
        None => None,
    };
    let store = coffer_store::open(&store_url)
        .await
        .with_context(|| format!("opening store {}", coffer_store::redacted_url(&store_url)))?;
    let master = match (master, passphrase) {
        (Some(m), _) => m,
        (None, Some(p)) => {
            // The salt is per deployment and lives with the data, so every node derives the same
            // key from the same passphrase; the check value below catches a wrong passphrase.
            let fresh = coffer_crypto::random::secret_bytes(16)?;
            let salt = store.init_meta("master_key_salt", fresh.expose()).await?;
            coffer_crypto::MasterKey::from_passphrase(p.expose(), &salt).with_context(|| {
                format!(
                    "COFFER_MASTER_PASSPHRASE must be at least {} bytes",
                    coffer_crypto::master::MIN_PASSPHRASE_LEN
                )
            })?
        }
        (None, None) => anyhow::bail!("no master key"),
    };
    let master = match &cfg.previous_master_key {
        None => master,
        Some(previous) => {
            let previous = coffer_crypto::MasterKey::from_bytes(previous.clone())
                .context("the previous master key must be exactly 32 bytes")?;
            anyhow::ensure!(
                previous.key_id() != master.key_id(),
                "the previous master key is the master key itself: give the key being replaced"
            );
            tracing::info!(key_id = %master.key_id(), previous_key_id = %previous.key_id(), "master key with a previous key (rotation)");
            master.with_previous(previous)
        }
    };
    // AWS's RDS rotation templates built in, and rotation functions reached over HTTP.
    let rotation = coffer_rotation::Host::new().map_err(anyhow::Error::msg)?;
    let services = Services::new(store.clone(), Arc::new(master))
        .with_rotation_functions(Arc::new(rotation))
        .with_default_account(cfg.account_id.clone())
        .with_backup_dir(cfg.data_dir.join("backups"));
    let mut services = match &cfg.replica_peers {
        Some(p) => services.with_replica_peers(p.0.clone()),
        None => services,
    };
    services.audit = services.audit.with_retention(cfg.audit_retention_days);
    if cfg.unsafe_disable_audit {
        anyhow::ensure!(
            cfg.dev,
            "--unsafe-disable-audit is for measuring the cost of auditing and needs --dev"
        );
        tracing::warn!("auditing is OFF (--unsafe-disable-audit): benchmark use only");
        services.audit = services.audit.disabled_for_benchmarks();
    }
    services.breakglass = services.breakglass.with_config(cfg.breakglass);
    // Rules, or a webhook for the built-in alerts (break-glass steps and uses).
    if !cfg.alert_rules.is_empty() || cfg.alert_webhook.is_some() {
        let sink: Option<Arc<dyn coffer_service::audit::alerts::AlertSink>> =
            match &cfg.alert_webhook {
                Some(hook) => Some(Arc::new(alerts::WebhookSink::start(hook.clone())?)),
                None => None,
            };
        services.audit =
            services
                .audit
                .with_alerts(coffer_service::audit::alerts::AlertEngine::new(
                    cfg.alert_rules.clone(),
                    sink,
                ));
    }
    let generated = services
        .identity
        .bootstrap(
            &cfg.account_id,
            cfg.root_key.clone(),
            coffer_service::now_millis(),
        )
        .await?;
    if let Some(key) = generated {
        // The file must never name a key the store could still lose (MetaStore::sync).
        store.sync().await?;
        let path = datadir::write_credentials(&cfg.data_dir, &key)?;
        tracing::warn!(
            account = %cfg.account_id,
            access_key_id = %key.access_key_id,
            "generated administrator credentials for account {} and wrote them to {} (mode 0600); \
             use them with AWS_SHARED_CREDENTIALS_FILE={}",
            cfg.account_id,
            path.display(),
            path.display()
        );
    }
    let background = tokio::spawn(housekeeping(services.clone(), store));
    let replicator = tokio::spawn(replicator(services.clone()));
    let state = Arc::new(AppState {
        auth: auth::Authenticator::new(services.identity.clone(), cfg.dev, cfg.account_id.clone()),
        services,
        max_body_bytes: cfg.max_body_bytes,
        body_timeout: cfg.limits.request_timeout(),
        throttle: throttle::Throttle::new(throttle::Quotas::new(&cfg.throttle, cfg.dev)?),
        console: console::session::Sessions::new(),
    });
    let tls = tls_setup(&cfg)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is another server using it? choose another with --listen",
                cfg.listen
            )
        })?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        listen = %local,
        data_dir = %cfg.data_dir.display(),
        dev = cfg.dev,
        "coffer serving on {scheme}://{local}"
    );
    let tls = match tls {
        None => None,
        Some(resolver) => {
            tokio::spawn(reload_on_sighup(resolver.clone()));
            Some(tls::server_config(resolver)?)
        }
    };
    listener::serve(listener, app(state), tls, cfg.limits.clone(), shutdown).await;
    background.abort();
    replicator.abort();
    tracing::info!("coffer stopped");
    Ok(())
}

/// The listener's TLS, or none; plain HTTP only on loopback unless `--insecure-http`.
fn tls_setup(cfg: &ServerConfig) -> anyhow::Result<Option<Arc<tls::Reloadable>>> {
    let (cert, key) = match &cfg.tls {
        None => {
            anyhow::ensure!(
                cfg.listen.ip().is_loopback() || cfg.insecure_http,
                "refusing to serve plain HTTP on {}, which is not a loopback address: secret values would cross the network in clear. \
                 Serve TLS with --tls-cert FILE --tls-key FILE (PEM) or --tls-self-signed, or pass --insecure-http to accept plain HTTP explicitly",
                cfg.listen
            );
            if !cfg.listen.ip().is_loopback() {
                tracing::warn!(listen = %cfg.listen, "serving plain HTTP on a network address (--insecure-http): secrets cross the network in clear");
            }
            return Ok(None);
        }
        Some(tls::TlsSource::Files { cert, key }) => (cert.clone(), key.clone()),
        Some(tls::TlsSource::SelfSigned { names }) => {
            let mut all = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            if !cfg.listen.ip().is_unspecified() {
                all.push(cfg.listen.ip().to_string());
            }
            for n in names {
                if !all.contains(n) {
                    all.push(n.clone());
                }
            }
            tls::self_signed(&cfg.data_dir, &all)?
        }
    };
    Ok(Some(Arc::new(tls::Reloadable::load(&cert, &key)?)))
}

/// SIGHUP re-reads the certificate files; open connections keep theirs.
async fn reload_on_sighup(resolver: Arc<tls::Reloadable>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::error!("cannot watch SIGHUP: the TLS certificate will not be reloaded");
        return;
    };
    while hup.recv().await.is_some() {
        resolver.reload();
    }
}
