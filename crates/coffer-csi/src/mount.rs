//! One Mount: the pod's token exchanged for its role's credentials (AssumeRoleWithWebIdentity,
//! as IRSA does; with `usePodIdentity` the token is the pod's `pods.eks.amazonaws.com` one, exchanged
//! the same way), every object read with them, and the files returned to the driver — all of
//! them or none. With a `failoverRegion`, a mount that fails in the primary Region is tried
//! again there (replicated secrets).

use crate::attributes::MountSpec;
use crate::proto::{File, MountResponse, ObjectVersion};
use coffer_client::config::{self, ClientOptions, Service};
use coffer_client::credentials::{CredentialsProvider, assume_role_with_web_identity};
use coffer_client::env::Env;
use coffer_client::http::HttpClient;
use coffer_client::{AwsClient, Error};
use tonic::Status;

/// What every mount shares: where coffer is and how to reach it.
#[derive(Debug)]
pub struct Mounter {
    pub endpoint: String,
    /// The provider's environment for clients (`AWS_CA_BUNDLE`, `AWS_REGION`).
    pub env: Env,
    pub http: HttpClient,
}

/// A role session name from the pod (STS allows `[\w+=,.@-]`, 2 to 64 characters).
fn session_name(spec: &MountSpec) -> String {
    let raw = format!("coffer-csi-{}-{}", spec.namespace, spec.pod);
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if s.len() < 2 {
        s = "coffer-csi".to_owned();
    }
    s
}

/// The gRPC status for a failed read: the code says what kind of failure it was.
fn status_of(object: &str, e: &Error) -> Status {
    let message = format!("{object}: {e}");
    match e {
        Error::Service(s) => match s.code.as_str() {
            "AccessDeniedException" | "AccessDenied" => Status::permission_denied(message),
            "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
                Status::not_found(message)
            }
            _ if e.is_transient() => Status::unavailable(message),
            _ => Status::failed_precondition(message),
        },
        Error::Credentials(_) => Status::permission_denied(message),
        Error::Transport(_) => Status::unavailable(message),
        Error::Config(_) | Error::Invalid(_) => Status::invalid_argument(message),
    }
}

impl Mounter {
    pub async fn mount(&self, spec: &MountSpec, role: &str) -> Result<MountResponse, Status> {
        let region = spec
            .region
            .clone()
            .or_else(|| self.env.get("AWS_REGION"))
            .or_else(|| self.env.get("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                Status::invalid_argument(
                    "no region: set `region` in the SecretProviderClass parameters (or AWS_REGION for the provider)",
                )
            })?;
        let token = spec.token.as_deref().ok_or_else(|| {
            let audience = if spec.use_pod_identity {
                crate::attributes::POD_IDENTITY_AUDIENCE
            } else {
                crate::attributes::STS_AUDIENCE
            };
            Status::unauthenticated(format!(
                "the driver sent no service-account token: give the CSIDriver tokenRequests with audience {audience}"
            ))
        })?;
        match self.mount_in(spec, role, token, &region).await {
            Ok(r) => Ok(r),
            Err(primary) => match &spec.failover_region {
                Some(failover) if failover != &region => {
                    tracing::warn!(%region, %failover, error = %primary.message(), "mount failed in the primary Region; trying the failover Region");
                    self.mount_in(spec, role, token, failover).await
                }
                _ => Err(primary),
            },
        }
    }

    async fn mount_in(
        &self,
        spec: &MountSpec,
        role: &str,
        token: &str,
        region: &str,
    ) -> Result<MountResponse, Status> {
        let options = ClientOptions {
            endpoint_url: Some(self.endpoint.clone()),
            region: Some(region.to_owned()),
            profile: None,
        };
        let config = config::resolve(&options, &self.env)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let creds = assume_role_with_web_identity(
            &self.http,
            config.endpoint(Service::Sts),
            role,
            &session_name(spec),
            token,
        )
        .await
        .map_err(|e| status_of(&format!("role {role}"), &e))?;
        let client = AwsClient::with_credentials(
            config,
            CredentialsProvider::fixed(creds),
            &self.env,
            "coffer-csi-provider",
        )
        .map_err(|e| Status::internal(e.to_string()))?;
        let mut response = MountResponse::default();
        for object in &spec.objects.objects {
            let fetched = coffer_client::sync::fetch_object(&client, object)
                .await
                .map_err(|e| status_of(&object.display(), &e))?;
            response.object_version.push(ObjectVersion {
                id: object.file.to_string_lossy().into_owned(),
                version: fetched.version.clone(),
            });
            for (path, contents) in fetched.files {
                response.files.push(File {
                    path: path.to_string_lossy().into_owned(),
                    mode: spec.mode,
                    contents: contents.expose().to_vec(),
                });
            }
        }
        Ok(response)
    }
}
