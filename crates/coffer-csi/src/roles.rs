//! Which IAM role a pod's service account maps to, as IRSA maps it: the
//! `--service-account-roles` file (`{"NAMESPACE/SERVICEACCOUNT": "arn:aws:iam::...:role/..."}`),
//! else — running in a cluster — the service account's `eks.amazonaws.com/role-arn` annotation,
//! read from the Kubernetes API with the provider's own service-account token.
//!
//! The API is `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (what the kubelet sets
//! in every pod), trusted with `ca.crt` of the service-account directory, which also holds the
//! `token`: by default the in-cluster mount, [`IN_CLUSTER_DIR`], else `--kubernetes-service-account-dir`.

use coffer_client::env::Env;
use coffer_client::http::HttpClient;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tonic::Status;

const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Where Kubernetes mounts a pod's service-account token and the cluster CA.
pub const IN_CLUSTER_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl std::fmt::Debug for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roles")
            .field("mapped", &self.map.len())
            .field("in_cluster", &self.cluster.is_some())
            .finish()
    }
}

pub struct Roles {
    map: BTreeMap<String, String>,
    cluster: Option<Cluster>,
}

struct Cluster {
    api: String,
    token_file: PathBuf,
    http: HttpClient,
}

impl Roles {
    /// Read the mapping file, if any, and find the Kubernetes API if running in a cluster:
    /// `KUBERNETES_SERVICE_HOST`/`_PORT` set and a `token` in `sa_dir`.
    pub fn new(file: Option<&Path>, sa_dir: &Path) -> anyhow::Result<Self> {
        let map = match file {
            None => BTreeMap::new(),
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| {
                    anyhow::anyhow!("cannot read --service-account-roles {}: {e}", f.display())
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "--service-account-roles {}: not a JSON object of \"NAMESPACE/SERVICEACCOUNT\" to role ARN: {e}",
                        f.display()
                    )
                })?
            }
        };
        let cluster = match (
            std::env::var("KUBERNETES_SERVICE_HOST"),
            std::env::var("KUBERNETES_SERVICE_PORT"),
        ) {
            (Ok(host), Ok(port)) if sa_dir.join("token").exists() => {
                Some(Cluster::new(&host, &port, sa_dir)?)
            }
            _ => None,
        };
        if let Some(c) = &cluster {
            tracing::info!(api = %c.api, dir = %sa_dir.display(), "service-account roles from the Kubernetes API");
        }
        Ok(Self { map, cluster })
    }

    /// The role of `namespace/service_account`.
    pub async fn role_for(&self, namespace: &str, service_account: &str) -> Result<String, Status> {
        let key = format!("{namespace}/{service_account}");
        if let Some(r) = self.map.get(&key) {
            return Ok(r.clone());
        }
        if let Some(c) = &self.cluster
            && let Some(r) = c.annotation(namespace, service_account).await?
        {
            return Ok(r);
        }
        Err(Status::permission_denied(format!(
            "no IAM role for service account {key}: annotate it with {ROLE_ANNOTATION} or map it in --service-account-roles"
        )))
    }
}

impl Cluster {
    fn new(host: &str, port: &str, sa_dir: &Path) -> anyhow::Result<Self> {
        let ca = sa_dir.join("ca.crt");
        let ca = ca
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", ca.display()))?;
        let env = Env::from_pairs([("AWS_CA_BUNDLE", ca)]);
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow::anyhow!("KUBERNETES_SERVICE_PORT {port:?} is not a port"))?;
        Ok(Cluster {
            api: format!("https://{host}:{port}"),
            token_file: sa_dir.join("token"),
            http: HttpClient::new(&env, "coffer-csi-provider")
                .map_err(|e| anyhow::anyhow!("Kubernetes API client: {e}"))?,
        })
    }

    async fn annotation(&self, namespace: &str, sa: &str) -> Result<Option<String>, Status> {
        let token = std::fs::read_to_string(&self.token_file)
            .map_err(|e| Status::internal(format!("cannot read the provider's token: {e}")))?;
        let req = http::Request::builder()
            .method("GET")
            .uri(format!(
                "{}/api/v1/namespaces/{namespace}/serviceaccounts/{sa}",
                self.api
            ))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.trim()),
            )
            .header(http::header::ACCEPT, "application/json")
            .body(bytes::Bytes::new())
            .map_err(|e| Status::internal(format!("Kubernetes API request: {e}")))?;
        let resp = self
            .http
            .send(req, "Kubernetes API GET serviceaccount")
            .await
            .map_err(|e| Status::unavailable(format!("Kubernetes API: {e}")))?;
        if resp.status == 404 {
            return Ok(None);
        }
        if resp.status != 200 {
            return Err(Status::unavailable(format!(
                "Kubernetes API answered {} reading service account {namespace}/{sa} (the provider needs RBAC get on serviceaccounts)",
                resp.status
            )));
        }
        let doc: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| Status::unavailable(format!("Kubernetes API answer: {e}")))?;
        Ok(doc["metadata"]["annotations"][ROLE_ANNOTATION]
            .as_str()
            .map(str::to_owned))
    }
}
