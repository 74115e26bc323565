//! What the server needs to start. The CLI builds it from flags, environment and the TOML file.

use coffer_types::{AccountId, SecretBytes};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; `None` means `sqlite://DATA_DIR/coffer.db`.
    pub store_url: Option<String>,
    /// Accept any well-formed signature without verifying it.
    pub dev: bool,
    pub account_id: AccountId,
    /// Administrator key to install on first start instead of generating one.
    pub root_key: Option<(String, SecretBytes)>,
    /// Master key given by the environment instead of the key file.
    pub master_key: Option<SecretBytes>,
    /// During a master-key rotation, the key being replaced: values it sealed still open until
    /// `coffer admin rotate-master-key` has re-wrapped them (`COFFER_PREVIOUS_MASTER_KEY`).
    pub previous_master_key: Option<SecretBytes>,
    /// Derive the master key from this passphrase (PBKDF2, salt stored with the data) instead of
    /// the key file; `master_key` wins if both are given.
    pub master_passphrase: Option<SecretBytes>,
    pub max_body_bytes: usize,
    /// Audit records older than this many days are pruned; `None` keeps them all.
    pub audit_retention_days: Option<u32>,
    /// Alert rules evaluated on every audited call.
    pub alert_rules: Vec<coffer_service::audit::alerts::AlertRule>,
    /// Where alerts go besides the log.
    pub alert_webhook: Option<crate::alerts::Webhook>,
    /// Benchmarks only, `--dev` only: do not record audit events.
    pub unsafe_disable_audit: bool,
    /// TLS on the listener; `None` serves plain HTTP (loopback only, unless `insecure_http`).
    pub tls: Option<crate::tls::TlsSource>,
    /// Accept plain HTTP on a non-loopback address.
    pub insecure_http: bool,
    /// Connection and request limits (`[limits]`).
    pub limits: crate::listener::Limits,
    /// Request quotas (`[throttle]`).
    pub throttle: crate::throttle::ThrottleConfig,
    /// Break-glass limits (`[breakglass]`).
    pub breakglass: coffer_service::admin::breakglass::BreakGlassConfig,
    /// The Regions other deployments serve (`[[replication.peers]]`); `None`: every Region is
    /// this deployment's.
    pub replica_peers: Option<ReplicaPeers>,
}

/// The client side of `[[replication.peers]]`, built by the CLI.
#[derive(Clone)]
pub struct ReplicaPeers(
    pub std::sync::Arc<dyn coffer_service::secretsmanager::replication::ReplicaPeers>,
);

impl std::fmt::Debug for ReplicaPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaPeers").finish_non_exhaustive()
    }
}

impl ServerConfig {
    pub fn store_url(&self) -> String {
        self.store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("coffer.db").display()))
    }
}
