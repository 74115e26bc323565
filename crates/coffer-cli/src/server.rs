//! `coffer server`: flags, environment and the TOML config file, merged in that order of
//! precedence (flag over environment over file over default).

use anyhow::Context as _;
use base64::Engine;
use coffer_server::ServerConfig;
use coffer_types::{AccountId, SecretBytes};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:4566].
    #[arg(long, env = "COFFER_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory [default: ./coffer-data].
    #[arg(long, env = "COFFER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// During a master-key rotation: the key being replaced (raw 32 bytes or base64), so values
    /// it sealed keep opening until `coffer admin rotate-master-key` re-wraps them. Or
    /// COFFER_PREVIOUS_MASTER_KEY (base64).
    #[arg(long)]
    previous_master_key_file: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "COFFER_CONFIG")]
    config: Option<PathBuf>,
    /// Development mode: accept any well-formed signature without verifying it; a 12-digit access
    /// key id selects that account.
    #[arg(long, env = "COFFER_DEV")]
    dev: bool,
    /// Store URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB
    /// [default: sqlite://DATA_DIR/coffer.db].
    #[arg(long = "store", env = "COFFER_STORE_URL")]
    store_url: Option<String>,
    /// The default account [default: 000000000000].
    #[arg(long, env = "COFFER_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "COFFER_LOG_FORMAT")]
    log_format: Option<String>,
    /// Largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "COFFER_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Keep audit records this many days (pruned by whole signed-digest periods, so the rest of
    /// the trail still verifies) [default: keep everything].
    #[arg(long, env = "COFFER_AUDIT_RETENTION_DAYS")]
    audit_retention_days: Option<u32>,
    /// Do not record audit events. Only with --dev, to measure what auditing costs.
    #[arg(long, hide = true)]
    unsafe_disable_audit: bool,
    /// TLS certificate chain, PEM (with --tls-key); re-read on SIGHUP.
    #[arg(
        long,
        env = "COFFER_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "COFFER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve TLS with a certificate from a private CA made in DATA_DIR/tls on first start;
    /// clients trust DATA_DIR/tls/ca.pem (AWS_CA_BUNDLE).
    #[arg(long, env = "COFFER_TLS_SELF_SIGNED")]
    tls_self_signed: bool,
    /// Extra DNS name or IP address for the self-signed certificate (repeatable); it always
    /// names localhost, 127.0.0.1, ::1 and the listen address.
    #[arg(long = "tls-name", env = "COFFER_TLS_NAMES", value_delimiter = ',')]
    tls_names: Vec<String>,
    /// Accept plain HTTP on a non-loopback listen address (refused otherwise).
    #[arg(long, env = "COFFER_INSECURE_HTTP")]
    insecure_http: bool,
    /// Turn request quotas ([throttle]) off, as --dev does: for test suites and benchmarks that
    /// call faster than AWS's quotas allow.
    #[arg(long, env = "COFFER_NO_THROTTLE")]
    no_throttle: bool,
}

/// The TOML file. Every field is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    dev: Option<bool>,
    account_id: Option<String>,
    max_body_bytes: Option<usize>,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    audit: AuditConfig,
    /// Break-glass limits: max_duration_seconds, min_duration_seconds, request_ttl_seconds,
    /// rotation_deadline_seconds.
    #[serde(default)]
    breakglass: coffer_service::admin::breakglass::BreakGlassConfig,
    #[serde(default)]
    tls: TlsConfig,
    insecure_http: Option<bool>,
    /// Connection limits and timeouts (`[limits]`).
    #[serde(default)]
    limits: coffer_server::listener::Limits,
    /// Request quotas: `default_rps`, `[throttle.operations]` (`[throttle]`).
    #[serde(default)]
    throttle: coffer_server::throttle::ThrottleConfig,
    /// Other deployments serving replica Regions (`[[replication.peers]]`).
    #[serde(default)]
    replication: crate::peers::ReplicationConfig,
}

/// `[tls]`: `cert` + `key`, or `self_signed = true` (with `names`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsConfig {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    self_signed: Option<bool>,
    #[serde(default)]
    names: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditConfig {
    retention_days: Option<u32>,
    /// Alert rules (`[[audit.alerts]]`).
    #[serde(default)]
    alerts: Vec<coffer_service::audit::alerts::AlertRule>,
    /// Webhook alerts are POSTed to; its HMAC secret comes from COFFER_ALERT_WEBHOOK_SECRET.
    webhook_url: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogConfig {
    format: Option<String>,
    /// A tracing filter such as `info` or `coffer_server=debug`; `COFFER_LOG` overrides it.
    level: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreConfig {
    url: Option<String>,
}

/// `COFFER_MASTER_KEY` (base64 of the 32 bytes), if set.
pub(crate) fn master_key_from_env() -> anyhow::Result<Option<SecretBytes>> {
    env_secret("COFFER_MASTER_KEY")
        .map(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.expose())
                .map(SecretBytes::new)
                .context("COFFER_MASTER_KEY must be base64 (of exactly 32 bytes)")
        })
        .transpose()
}

/// A master key file: the raw 32 bytes (as `DATA_DIR/master.key`), or their base64.
pub(crate) fn read_key_file(path: &std::path::Path) -> anyhow::Result<SecretBytes> {
    let bytes = SecretBytes::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    if bytes.len() == 32 {
        return Ok(bytes);
    }
    let text = std::str::from_utf8(bytes.expose())
        .unwrap_or_default()
        .trim();
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(raw) if raw.len() == 32 => Ok(SecretBytes::new(raw)),
        _ => anyhow::bail!(
            "{} holds no master key: it must be 32 raw bytes or their base64",
            path.display()
        ),
    }
}

/// The previous master key during a rotation: `--previous-master-key-file`, else
/// `COFFER_PREVIOUS_MASTER_KEY` (base64).
pub(crate) fn previous_master_key(
    file: Option<&std::path::Path>,
) -> anyhow::Result<Option<SecretBytes>> {
    if let Some(path) = file {
        return read_key_file(path).map(Some);
    }
    env_secret("COFFER_PREVIOUS_MASTER_KEY")
        .map(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.expose())
                .map(SecretBytes::new)
                .context("COFFER_PREVIOUS_MASTER_KEY must be base64 (of exactly 32 bytes)")
        })
        .transpose()
}

pub(crate) fn env_secret(name: &str) -> Option<SecretBytes> {
    std::env::var_os(name).map(|v| SecretBytes::new(v.into_encoded_bytes()))
}

pub fn main(args: ServerArgs) -> anyhow::Result<()> {
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    init_logging(
        args.log_format.as_deref().or(file.log.format.as_deref()),
        file.log.level.as_deref(),
    )?;
    restrict_umask();

    let account = args
        .account_id
        .or(file.account_id)
        .unwrap_or_else(|| "000000000000".to_owned());
    let account_id = AccountId::parse(&account).map_err(|_| {
        anyhow::anyhow!(
            "account id {account:?} is not 12 digits: fix COFFER_ACCOUNT_ID or --account-id"
        )
    })?;
    let root_key = match (
        std::env::var("COFFER_ROOT_ACCESS_KEY_ID").ok(),
        env_secret("COFFER_ROOT_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (None, None) => None,
        _ => anyhow::bail!(
            "set both COFFER_ROOT_ACCESS_KEY_ID and COFFER_ROOT_SECRET_ACCESS_KEY, or neither"
        ),
    };
    let master_key = master_key_from_env()?;
    let tls = match (
        args.tls_cert.or(file.tls.cert),
        args.tls_key.or(file.tls.key),
        args.tls_self_signed || file.tls.self_signed.unwrap_or(false),
    ) {
        (Some(cert), Some(key), false) => Some(coffer_server::tls::TlsSource::Files { cert, key }),
        (None, None, true) => Some(coffer_server::tls::TlsSource::SelfSigned {
            names: [args.tls_names, file.tls.names].concat(),
        }),
        (None, None, false) => None,
        (_, _, true) => anyhow::bail!(
            "choose one: --tls-self-signed, or --tls-cert with --tls-key (the [tls] table sets one too)"
        ),
        _ => anyhow::bail!("--tls-cert and --tls-key go together: give both (PEM files)"),
    };
    file.limits.check()?;
    let cfg = ServerConfig {
        limits: file.limits,
        throttle: if args.no_throttle {
            coffer_server::throttle::ThrottleConfig {
                enabled: Some(false),
                ..file.throttle
            }
        } else {
            file.throttle
        },
        tls,
        insecure_http: args.insecure_http || file.insecure_http.unwrap_or(false),
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4566))),
        data_dir: args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("coffer-data")),
        store_url: args.store_url.or(file.store.url),
        dev: args.dev || file.dev.unwrap_or(false),
        account_id,
        root_key,
        master_key,
        previous_master_key: previous_master_key(args.previous_master_key_file.as_deref())?,
        master_passphrase: match std::env::var_os("COFFER_MASTER_PASSPHRASE_FILE") {
            Some(path) => Some(SecretBytes::new(
                std::fs::read(&path)
                    .with_context(|| {
                        format!(
                            "cannot read COFFER_MASTER_PASSPHRASE_FILE {}",
                            path.display()
                        )
                    })?
                    .trim_ascii_end()
                    .to_vec(),
            )),
            None => env_secret("COFFER_MASTER_PASSPHRASE"),
        },
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(1024 * 1024),
        audit_retention_days: args.audit_retention_days.or(file.audit.retention_days),
        unsafe_disable_audit: args.unsafe_disable_audit,
        breakglass: file.breakglass,
        replica_peers: crate::peers::Peers::new(&file.replication)?
            .map(|p| coffer_server::ReplicaPeers(std::sync::Arc::new(p))),
        alert_rules: file.audit.alerts,
        alert_webhook: file
            .audit
            .webhook_url
            .map(|url| coffer_server::alerts::Webhook {
                url,
                secret: env_secret("COFFER_ALERT_WEBHOOK_SECRET"),
            }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(coffer_server::run(cfg, shutdown_signal()))
}

pub(crate) fn init_logging(format: Option<&str>, level: Option<&str>) -> anyhow::Result<()> {
    let filter = std::env::var("COFFER_LOG")
        .ok()
        .or_else(|| level.map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.unwrap_or("text") {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("unknown log format {other:?}: use text or json"),
    }
    Ok(())
}

/// Files the server creates are private to its user, whatever the caller's umask.
#[allow(unsafe_code)]
pub(crate) fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process file-creation mask; called before any thread starts.
    unsafe {
        libc::umask(0o077);
    }
}

/// Resolves on SIGINT or SIGTERM, starting a graceful shutdown.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}
