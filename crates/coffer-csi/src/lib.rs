//! `coffer csi-provider`: a provider plugin for the Kubernetes Secrets Store CSI Driver.
//!
//! It serves the driver's provider API (gRPC package `v1alpha1`, service `CSIDriverProvider`:
//! `Version` and `Mount`; `proto/service.proto`) on a unix socket — by default the AWS
//! provider's, `/etc/kubernetes/secrets-store-csi-providers/aws.sock`, so a SecretProviderClass
//! with `provider: aws` works unchanged. A Mount reads the SecretProviderClass's `objects`
//! (everything `coffer sync` accepts: objectType, objectAlias, objectVersion(Label), jmesPath,
//! pathTranslation) with the pod's own role and returns the files to the driver, which writes
//! them; the object versions let its rotation reconciler see changes.
//!
//! - [`attributes`]: the Mount request's parameters and pod identity.
//! - [`roles`]: service account → IAM role (mapping file, or the IRSA annotation).
//! - [`mount`]: the token exchange and the reads, with `failoverRegion`.
//! - [`proto`] and the generated `CSIDriverProvider` service glue.

pub mod attributes;
pub mod mount;
pub mod proto;
pub mod roles;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/v1alpha1.CSIDriverProvider.rs"));
}

use generated::c_s_i_driver_provider_server::{CSIDriverProvider, CSIDriverProviderServer};
use proto::{MountRequest, MountResponse, VersionRequest, VersionResponse};
use std::path::{Path, PathBuf};
use tonic::{Request, Response, Status};

/// The socket the AWS provider listens on: the driver finds providers by `provider: aws`.
pub const DEFAULT_SOCKET: &str = "/etc/kubernetes/secrets-store-csi-providers/aws.sock";

/// `coffer csi-provider`'s settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    pub endpoint_url: String,
    pub service_account_roles: Option<PathBuf>,
    /// The provider's own service-account directory (`token`, `ca.crt`) for the Kubernetes
    /// API; [`roles::IN_CLUSTER_DIR`] in a cluster.
    pub service_account_dir: PathBuf,
}

struct Provider {
    roles: roles::Roles,
    mounter: mount::Mounter,
}

#[tonic::async_trait]
impl CSIDriverProvider for Provider {
    async fn version(
        &self,
        request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        tracing::debug!(driver = %request.get_ref().version, "Version");
        Ok(Response::new(VersionResponse {
            version: "v1alpha1".to_owned(),
            runtime_name: "coffer".to_owned(),
            runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    async fn mount(
        &self,
        request: Request<MountRequest>,
    ) -> Result<Response<MountResponse>, Status> {
        let req = request.into_inner();
        let spec = attributes::parse(&req.attributes, &req.permission)?;
        let who = format!("{}/{}", spec.namespace, spec.service_account);
        let outcome = async {
            let role = self
                .roles
                .role_for(&spec.namespace, &spec.service_account)
                .await?;
            self.mounter.mount(&spec, &role).await
        }
        .await;
        match &outcome {
            Ok(r) => {
                tracing::info!(service_account = %who, pod = %spec.pod, files = r.files.len(), "mounted")
            }
            Err(e) => {
                tracing::warn!(service_account = %who, pod = %spec.pod, code = ?e.code(), error = %e.message(), "mount failed")
            }
        }
        outcome.map(Response::new)
    }
}

/// Remove a stale socket left by a previous run (never a file that is not a socket).
fn clear_socket(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)
            .map_err(|e| anyhow::anyhow!("cannot remove the old socket {}: {e}", path.display())),
        Ok(_) => anyhow::bail!(
            "{} exists and is not a socket: choose another --socket",
            path.display()
        ),
        Err(_) => Ok(()),
    }
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    opts: Options,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let env = coffer_client::env::Env::process();
    let provider = Provider {
        roles: roles::Roles::new(
            opts.service_account_roles.as_deref(),
            &opts.service_account_dir,
        )?,
        mounter: mount::Mounter {
            endpoint: opts.endpoint_url.trim_end_matches('/').to_owned(),
            http: coffer_client::http::HttpClient::new(&env, "coffer-csi-provider")
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            env,
        },
    };
    if let Some(dir) = opts.socket.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    clear_socket(&opts.socket)?;
    let listener = tokio::net::UnixListener::bind(&opts.socket)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.socket.display()))?;
    tracing::info!(socket = %opts.socket.display(), endpoint = %opts.endpoint_url, "coffer CSI provider listening");
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    tonic::transport::Server::builder()
        .add_service(CSIDriverProviderServer::new(provider))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("gRPC server: {e}"))?;
    let _ = std::fs::remove_file(&opts.socket);
    Ok(())
}
