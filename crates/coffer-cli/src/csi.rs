//! `coffer csi-provider`: the Secrets Store CSI Driver provider plugin (see [`coffer_csi`]).

use crate::server::{init_logging, shutdown_signal};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CsiArgs {
    /// The unix socket the driver connects to (the AWS provider's, so `provider: aws` works).
    #[arg(long, env = "COFFER_CSI_SOCKET", default_value = coffer_csi::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// coffer's endpoint (https in a cluster; its CA in AWS_CA_BUNDLE).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    endpoint_url: String,
    /// JSON object of "NAMESPACE/SERVICEACCOUNT" to role ARN; without it (or for service
    /// accounts it does not list) the eks.amazonaws.com/role-arn annotation is read from the
    /// Kubernetes API.
    #[arg(long, env = "COFFER_CSI_SERVICE_ACCOUNT_ROLES")]
    service_account_roles: Option<PathBuf>,
    /// The provider's service-account directory (its `token` and the cluster's `ca.crt`), used
    /// with KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT to read the annotation.
    #[arg(long, env = "COFFER_KUBERNETES_SERVICE_ACCOUNT_DIR", default_value = coffer_csi::roles::IN_CLUSTER_DIR)]
    kubernetes_service_account_dir: PathBuf,
    /// Log format: text or json.
    #[arg(long, env = "COFFER_LOG_FORMAT")]
    log_format: Option<String>,
}

pub fn main(args: CsiArgs) -> anyhow::Result<u8> {
    init_logging(args.log_format.as_deref(), None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(coffer_csi::serve(
        coffer_csi::Options {
            socket: args.socket,
            endpoint_url: args.endpoint_url,
            service_account_roles: args.service_account_roles,
            service_account_dir: args.kubernetes_service_account_dir,
        },
        shutdown_signal(),
    ))?;
    Ok(0)
}
