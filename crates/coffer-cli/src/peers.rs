//! `[[replication.peers]]`: other coffer deployments that serve some Regions. Replicating a
//! secret to one of their Regions writes the replica there, through the peer's signed
//! `coffer.admin.ApplyReplica` (over https: the peer re-encrypts under its own key for the
//! Region; the values cross the network only inside TLS, unless the endpoint is `http://`,
//! which is refused for anything but a loopback address).

use anyhow::Context;
use coffer_client::AwsClient;
use coffer_client::config::{ClientOptions, Service};
use coffer_client::env::Env;
use coffer_service::secretsmanager::replication::{ReplicaPeers, ReplicaState};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[replication]`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplicationConfig {
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// One `[[replication.peers]]` entry.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeerConfig {
    /// The Regions the peer deployment serves.
    pub regions: Vec<String>,
    /// Its endpoint, `https://host:port`.
    pub endpoint: String,
    /// AWS shared-credentials file whose `[default]` profile is a principal of the peer with
    /// this deployment's account id (its administrator).
    pub credentials_file: PathBuf,
    /// CA certificates to trust for the peer's endpoint (PEM), besides the system's.
    pub ca_bundle: Option<PathBuf>,
}

/// One client per peer Region.
pub(crate) struct Peers {
    clients: BTreeMap<String, AwsClient>,
}

fn loopback(endpoint: &str) -> bool {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Peers {
    pub(crate) fn new(config: &ReplicationConfig) -> anyhow::Result<Option<Self>> {
        if config.peers.is_empty() {
            return Ok(None);
        }
        let mut clients = BTreeMap::new();
        for p in &config.peers {
            let allowed = p.endpoint.starts_with("https://")
                || (p.endpoint.starts_with("http://") && loopback(&p.endpoint));
            if !allowed {
                anyhow::bail!(
                    "replication peer {}: the endpoint must be https:// (plain http is accepted for loopback addresses only: replicas carry secret values)",
                    p.endpoint
                );
            }
            std::fs::metadata(&p.credentials_file).with_context(|| {
                format!(
                    "replication peer {}: cannot read credentials_file {}",
                    p.endpoint,
                    p.credentials_file.display()
                )
            })?;
            let mut env = Env::from_pairs([(
                "AWS_SHARED_CREDENTIALS_FILE",
                p.credentials_file.to_str().unwrap_or_default(),
            )]);
            if let Some(ca) = &p.ca_bundle {
                env.set("AWS_CA_BUNDLE", ca.to_str().unwrap_or_default());
            }
            for region in &p.regions {
                coffer_types::Region::parse(region).map_err(|_| {
                    anyhow::anyhow!(
                        "replication peer {}: {region:?} is not a Region",
                        p.endpoint
                    )
                })?;
                let options = ClientOptions {
                    endpoint_url: Some(p.endpoint.clone()),
                    region: Some(region.clone()),
                    profile: None,
                };
                let client = AwsClient::new(&options, &env, "coffer-replication")
                    .with_context(|| format!("replication peer {}", p.endpoint))?;
                if clients.insert(region.clone(), client).is_some() {
                    anyhow::bail!("Region {region} is named by two replication peers");
                }
            }
        }
        Ok(Some(Self { clients }))
    }
}

#[async_trait::async_trait]
impl ReplicaPeers for Peers {
    fn serves(&self, region: &str) -> bool {
        self.clients.contains_key(region)
    }

    async fn apply(&self, state: &ReplicaState) -> Result<(), String> {
        let client = self
            .clients
            .get(&state.region)
            .ok_or_else(|| format!("no replication peer serves {}", state.region))?;
        let body = serde_json::to_value(state).map_err(|e| format!("encoding: {e}"))?;
        client
            .call(Service::CofferAdmin, "ApplyReplica", &body)
            .await
            .map(drop)
            .map_err(|e| format!("the deployment serving {} answered: {e}", state.region))
    }
}
