//! `coffer agent --pod-identity`: the container credentials endpoint that the AWS SDKs read
//! under EKS Pod Identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), in place of the EKS Pod Identity Agent.
//! <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html>
//!
//! An SDK sends `GET <FULL_URI>` with the pod's projected service-account token as the
//! `Authorization` header. The token's subject (`system:serviceaccount:NAMESPACE:NAME`) picks
//! the role from the associations file (`{"NAMESPACE/NAME": "arn:aws:iam::...:role/..."}`, the
//! Pod Identity associations), and the token itself is exchanged for the role's temporary
//! credentials through STS AssumeRoleWithWebIdentity — STS verifies it against the cluster's
//! OIDC issuer, so a pod gets exactly its own role, with no IRSA annotation and no long-lived
//! key anywhere. The answer is the container credentials JSON the SDKs parse.

use crate::credentials::assume_role_with_web_identity;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The path the EKS Pod Identity Agent serves (`http://169.254.170.23/v1/credentials`).
pub const CREDENTIALS_PATH: &str = "/v1/credentials";

#[derive(Debug)]
pub struct PodIdentityConfig {
    pub listen: SocketAddr,
    pub allow_non_loopback: bool,
    /// `NAMESPACE/SERVICEACCOUNT` → role ARN.
    pub associations: BTreeMap<String, String>,
    pub sts_endpoint: String,
}

/// Read an associations file.
pub fn load_associations(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Config(format!(
            "cannot read the Pod Identity associations {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "{}: not a JSON object of \"NAMESPACE/SERVICEACCOUNT\" to role ARN: {e}",
            path.display()
        ))
    })
}

struct PodIdentityState {
    config: PodIdentityConfig,
    http: HttpClient,
}

fn answer(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// `NAMESPACE/NAME` from a service-account token's `sub` claim. The token is not verified here:
/// STS verifies it, and refuses it unless it is the cluster's and the role trusts it.
pub fn service_account_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = claims["sub"].as_str()?;
    let rest = sub.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty()).then(|| format!("{ns}/{name}"))
}

fn rfc3339(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn handle(State(state): State<Arc<PodIdentityState>>, req: Request) -> Response {
    if req.uri().path() == "/ping" {
        return Response::new(Body::from("healthy"));
    }
    if req.method() != Method::GET || req.uri().path() != CREDENTIALS_PATH {
        return answer(404, "NotFound", "GET /v1/credentials");
    }
    let Some(token) = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return answer(
            401,
            "AccessDeniedException",
            "no Authorization header: the SDK sends the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        );
    };
    let Some(sa) = service_account_of(token) else {
        return answer(
            400,
            "InvalidTokenException",
            "the token is not a Kubernetes service-account token",
        );
    };
    let Some(role) = state.config.associations.get(&sa) else {
        return answer(
            403,
            "AccessDeniedException",
            &format!("no Pod Identity association for service account {sa}"),
        );
    };
    let session = format!("eks-pod-identity-{}", sa.replace('/', "-"))
        .chars()
        .take(64)
        .collect::<String>();
    match assume_role_with_web_identity(
        &state.http,
        &state.config.sts_endpoint,
        role,
        &session,
        token,
    )
    .await
    {
        Ok(c) => {
            tracing::info!(service_account = %sa, %role, "issued Pod Identity credentials");
            let account = role.split(':').nth(4).unwrap_or_default();
            let body = zeroize::Zeroizing::new(
                serde_json::json!({
                    "AccessKeyId": c.access_key_id(),
                    "SecretAccessKey": c.secret_access_key(),
                    "Token": c.session_token().unwrap_or_default(),
                    "AccountId": account,
                    "Expiration": c.expiry().map(rfc3339).unwrap_or_default(),
                })
                .to_string(),
            );
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(body.as_bytes().to_vec()))
                .unwrap_or_default()
        }
        Err(e) => {
            tracing::warn!(service_account = %sa, %role, error = %e, "Pod Identity exchange refused");
            answer(403, "AccessDeniedException", &e.to_string())
        }
    }
}

/// Serve the credentials endpoint until `shutdown` resolves.
pub async fn serve(
    config: PodIdentityConfig,
    http: HttpClient,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (listener, local) = super::bind(
        config.listen,
        config.allow_non_loopback,
        "pass --allow-non-loopback for a node-wide address such as 169.254.170.23:80",
    )
    .await?;
    tracing::info!(listen = %local, sts = %config.sts_endpoint, associations = config.associations.len(), "coffer agent serving Pod Identity credentials at {CREDENTIALS_PATH}");
    let state = Arc::new(PodIdentityState { config, http });
    let app = axum::Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Config(format!("the agent's server failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(sub: &str) -> String {
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            enc(serde_json::json!({"alg": "RS256"})),
            enc(serde_json::json!({"sub": sub}))
        )
    }

    #[test]
    fn the_service_account_comes_from_the_subject() {
        assert_eq!(
            service_account_of(&token("system:serviceaccount:payments:api")).as_deref(),
            Some("payments/api")
        );
        assert_eq!(service_account_of(&token("alice")), None);
        assert_eq!(
            service_account_of(&token("system:serviceaccount::api")),
            None
        );
        assert_eq!(service_account_of("not-a-jwt"), None);
    }
}
