//! The HTTP client: hyper's pooled client over rustls on aws-lc-rs (the one TLS stack of the
//! workspace), trusting the system's roots plus `AWS_CA_BUNDLE`.
//!
//! Plain hyper rather than reqwest: turning on a rustls feature of reqwest would switch the test
//! crate's reqwest (feature unification) to rustls without a crypto provider.

use crate::env::Env;
use crate::error::{Error, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole exchange: connect, send, and read the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a response body may hold (Secrets Manager values are at most 64 KiB).
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    user_agent: http::HeaderValue,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        src = s.source();
    }
    out
}

impl HttpClient {
    pub fn new(env: &Env, user_agent: &str) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(bundle) = env.get("AWS_CA_BUNDLE") {
            let bad =
                |e: &dyn std::fmt::Display| Error::Config(format!("AWS_CA_BUNDLE {bundle}: {e}"));
            for cert in CertificateDer::pem_file_iter(&bundle).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .build(https);
        Ok(Self {
            inner,
            user_agent: http::HeaderValue::from_str(user_agent)
                .map_err(|e| Error::Config(format!("bad user agent: {e}")))?,
        })
    }

    /// Send `req`; any answer (whatever its status) is `Ok`. `what` names the call in errors.
    pub async fn send(&self, mut req: http::Request<Bytes>, what: &str) -> Result<HttpResponse> {
        let target = format!(
            "{}://{}",
            req.uri().scheme_str().unwrap_or("http"),
            req.uri().authority().map(|a| a.as_str()).unwrap_or("?")
        );
        req.headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert_with(|| self.user_agent.clone());
        let req = req.map(Full::new);
        let exchange = async {
            let resp = self.inner.request(req).await.map_err(|e| {
                Error::Transport(format!(
                    "{what}: {target} could not be reached ({}); check the endpoint URL and that \
                     the server is running",
                    error_chain(&e)
                ))
            })?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    Error::Transport(format!(
                        "{what}: reading the answer from {target} failed: {e}"
                    ))
                })?
                .to_bytes();
            Ok(HttpResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(Error::Transport(format!(
                "{what}: {target} did not answer in time ({} s)",
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }
}
