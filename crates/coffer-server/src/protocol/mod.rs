//! The AWS pipeline for one request: read the body (size-capped), pick the protocol, authenticate,
//! dispatch, render. Which protocol: `X-Amz-Target` means awsJson 1.1 ([`json`]); otherwise the
//! query protocol ([`query`]) of the service named in the credential scope. Which service: the
//! one table in [`coffer_service::dispatch`]; this module knows protocols, not services.

pub mod audit;
pub mod json;
pub mod query;

use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use aws_lc_rs::digest;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use coffer_service::metrics::{OperationLabels, RequestLabels};
use coffer_service::{Principal, RequestContext};
use coffer_types::Region;
use std::sync::Arc;

/// The axum fallback: every request that is not `/health`.
pub async fn handle(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let protocol = match &target {
        Some(_) => Protocol::Json,
        None => Protocol::Query {
            xmlns: query::namespace_for(&parts),
        },
    };
    // A client sending its body slowly (slowloris) gets the body timeout, not a connection
    // held for ever.
    let body = match tokio::time::timeout(
        state.body_timeout,
        axum::body::to_bytes(body, state.max_body_bytes),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return WireError::too_large(state.max_body_bytes).render(protocol, &request_id);
        }
        Err(_) => return WireError::request_timeout().render(protocol, &request_id),
    };
    // A call that may change something runs to its end — its audit record included — in a
    // task of its own, even if the client goes away meanwhile (hyper drops a request's future
    // when its connection closes): never a write without its record. A read dropped midway
    // answered nobody, and nothing of it remains to audit.
    let reads_only = target
        .as_deref()
        .and_then(|t| t.rsplit_once('.'))
        .is_some_and(|(_, operation)| coffer_service::audit::read_only(operation));
    if reads_only {
        return serve(state, parts, body, target, request_id, started).await;
    }
    let id = request_id.clone();
    match tokio::spawn(serve(state, parts, body, target, request_id, started)).await {
        Ok(response) => response,
        // The pipeline's own panic, raised again here for the panic layer to answer.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(_) => WireError::unavailable().render(protocol, &id),
    }
}

/// Authenticate, dispatch, audit and render one request whose body is read.
async fn serve(
    state: Arc<AppState>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
    target: Option<String>,
    request_id: String,
    started: std::time::Instant,
) -> Response<Body> {
    let http = HttpRequest {
        parts: &parts,
        body: &body,
    };
    let mut served = None;
    let response = match target {
        Some(target) => json::handle(&state, &http, &target, &request_id, &mut served).await,
        None => query::handle(&state, &http, &request_id, &mut served).await,
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    tracing::debug!(
        request_id,
        status,
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    record(served, status, elapsed);
    response
}

/// Count the request in `/metrics`; a request that named no operation of ours counts as
/// `unknown` (labels hold only names from the dispatch table).
fn record(served: Option<OperationLabels>, status: u16, elapsed: std::time::Duration) {
    let labels = served.unwrap_or_else(|| OperationLabels {
        service: "unknown",
        operation: "unknown".to_owned(),
    });
    let metrics = coffer_service::metrics::global();
    metrics
        .request_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            service: labels.service,
            operation: labels.operation,
            status,
        })
        .inc();
}

/// The signing name in the request's credential scope (Authorization header, or a presigned
/// URL's `X-Amz-Credential`), read without verifying anything: it picks the service, and the
/// verification that follows checks it.
pub fn scope_service(parts: &axum::http::request::Parts) -> Option<String> {
    let from_header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(str::to_owned);
    let credential = from_header.or_else(|| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(parts.uri.query()?)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v)
    })?;
    credential
        .split(['/', ','])
        .nth(3)
        .map(|s| s.trim().to_owned())
}

/// A received request, body read.
pub struct HttpRequest<'a> {
    pub parts: &'a axum::http::request::Parts,
    pub body: &'a [u8],
}

impl std::fmt::Debug for HttpRequest<'_> {
    /// Never the body or header values: they carry secrets and signatures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.parts.method)
            .field("path", &self.parts.uri.path())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpRequest<'_> {
    /// Authenticate for the signing name `service` and build the handler context.
    /// The context of an unsigned request (STS AssumeRoleWithWebIdentity): no principal of
    /// ours, the default account, region `us-east-1`.
    pub fn anonymous(&self, state: &AppState, request_id: &str) -> RequestContext {
        let now = time::OffsetDateTime::now_utc();
        let account = state.auth.default_account().clone();
        RequestContext {
            principal: Principal {
                arn: format!("arn:aws:iam::{account}:anonymous"),
                user_id: "anonymous".to_owned(),
                access_key_id: String::new(),
                account_id: account,
                session: None,
                tags: Vec::new(),
            },
            region: Region::parse("us-east-1").unwrap_or_else(|_| unreachable!()),
            request_id: request_id.to_owned(),
            now: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
            dev: state.auth.dev(),
            source_ip: self
                .parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            secure_transport: self
                .parts
                .extensions
                .get::<crate::SecureTransport>()
                .is_some(),
            via_service: None,
        }
    }

    pub async fn authenticate(
        &self,
        state: &AppState,
        service: &str,
        request_id: &str,
        protocol: Protocol,
    ) -> Result<RequestContext, WireError> {
        let headers: Vec<(&str, &str)> = self
            .parts
            .headers
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
            .collect();
        // HTTP/2 carries the host in the URI authority, not a header.
        let authority = self.parts.uri.authority().map(|a| a.as_str().to_owned());
        let mut all = headers;
        if !all.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
            && let Some(a) = authority.as_deref()
        {
            all.push(("host", a));
        }
        let payload_hash = hex::encode(digest::digest(&digest::SHA256, self.body));
        let sig_req = coffer_sigv4::Request {
            method: self.parts.method.as_str(),
            path: self.parts.uri.path(),
            query: self.parts.uri.query().unwrap_or(""),
            headers: &all,
            payload_sha256_hex: &payload_hash,
        };
        let now = time::OffsetDateTime::now_utc();
        let (principal, region): (Principal, Region) = state
            .auth
            .authenticate(&sig_req, service, now.unix_timestamp())
            .await
            .map_err(|f| WireError::from_auth(&f, protocol, request_id))?;
        Ok(RequestContext {
            principal,
            region,
            request_id: request_id.to_owned(),
            now: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
            dev: state.auth.dev(),
            source_ip: self
                .parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            // coffer serves plain HTTP or TLS through axum-server; a TLS listener marks itself.
            secure_transport: self
                .parts
                .extensions
                .get::<crate::SecureTransport>()
                .is_some(),
            via_service: None,
        })
    }
}
