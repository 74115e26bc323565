//! `AwsClient`: SigV4-signed awsJson 1.1 calls to Secrets Manager and SSM at any AWS-compatible
//! endpoint (coffer or AWS), over one pooled HTTP client (rustls with aws-lc-rs).

use crate::config::{self, ClientOptions, ResolvedConfig, Service};
use crate::credentials::CredentialsProvider;
use crate::env::Env;
use crate::error::{Error, Result, ServiceError};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Attempts for a call that fails transiently (unreachable, 5xx, throttled).
const MAX_ATTEMPTS: u32 = 3;
/// The most a response body may hold (Secrets Manager values are at most 64 KiB).
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct AwsClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    credentials: CredentialsProvider,
    config: ResolvedConfig,
}

/// The HTTP client: rustls on aws-lc-rs (the one TLS stack of the workspace), the system's root
/// certificates plus `AWS_CA_BUNDLE`, proxies from `HTTPS_PROXY`/`NO_PROXY`.
pub fn http_client(env: &Env, user_agent: &str) -> Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(bundle) = env.get("AWS_CA_BUNDLE") {
        let certs = CertificateDer::pem_file_iter(&bundle)
            .map_err(|e| Error::Config(format!("cannot read AWS_CA_BUNDLE {bundle}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                Error::Config(format!(
                    "AWS_CA_BUNDLE {bundle} holds a bad certificate: {e}"
                ))
            })?;
            roots.add(cert).map_err(|e| {
                Error::Config(format!(
                    "AWS_CA_BUNDLE {bundle} holds a bad certificate: {e}"
                ))
            })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(50))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("HTTP client setup failed: {e}")))
}

impl AwsClient {
    /// Resolve region, endpoints and the credential source from `opts` and `env`.
    /// `purpose` goes into the User-Agent (`coffer-agent`, `coffer-sync`, ...).
    pub fn new(opts: &ClientOptions, env: &Env, purpose: &str) -> Result<Self> {
        let config = config::resolve(opts, env)?;
        let credentials = CredentialsProvider::from_chain(opts.profile.is_some(), &config, env)?;
        Self::with_credentials(config, credentials, env, purpose)
    }

    pub fn with_credentials(
        config: ResolvedConfig,
        credentials: CredentialsProvider,
        env: &Env,
        purpose: &str,
    ) -> Result<Self> {
        let ua = format!("coffer/{} {purpose}", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            inner: Arc::new(Inner {
                http: http_client(env, &ua)?,
                credentials,
                config,
            }),
        })
    }

    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    pub fn endpoint(&self, service: Service) -> &str {
        self.inner.config.endpoint(service)
    }

    pub fn credentials_source(&self) -> String {
        self.inner.credentials.describe()
    }

    /// Fetch credentials once, so that a missing or broken source fails at start-up.
    pub async fn check_credentials(&self) -> Result<()> {
        self.inner.credentials.get(&self.inner.http).await.map(drop)
    }

    /// Call an awsJson 1.1 operation; the raw response body on success. Retries transient
    /// failures (unreachable, 5xx, throttling) up to three attempts in all.
    pub async fn call(
        &self,
        service: Service,
        operation: &'static str,
        input: &serde_json::Value,
    ) -> Result<Bytes> {
        let body = Bytes::from(input.to_string());
        let mut attempt = 1;
        loop {
            match self.call_once(service, operation, &body).await {
                Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(operation, attempt, error = %e, "retrying");
                    tokio::time::sleep(Duration::from_millis(50 * 4u64.pow(attempt - 1))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn call_once(
        &self,
        service: Service,
        operation: &'static str,
        body: &Bytes,
    ) -> Result<Bytes> {
        let creds = self.inner.credentials.get(&self.inner.http).await?;
        let endpoint = self.endpoint(service);
        let url = format!("{endpoint}/");
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| Error::Config(format!("bad endpoint {endpoint}: {e}")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => return Err(Error::Config(format!("endpoint {endpoint} has no host"))),
        };
        let target = format!("{}.{operation}", service.target_prefix());
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region())
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Error::Credentials(format!("cannot sign the request: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| Error::Credentials(format!("cannot sign the request: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::Credentials(format!("cannot sign the request: {e}")))?
            .into_parts();
        let mut req = http::Request::builder().method("POST").uri(&url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let mut req = req
            .body(body.clone())
            .map_err(|e| Error::Config(format!("bad request: {e}")))?;
        instructions.apply_to_request_http1x(&mut req);
        let req = reqwest::Request::try_from(req)
            .map_err(|e| Error::Config(format!("bad request: {e}")))?;

        let resp = self.inner.http.execute(req).await.map_err(|e| {
            let what = if e.is_timeout() {
                "did not answer in time"
            } else {
                "could not be reached"
            };
            Error::Transport(format!(
                "{operation}: {endpoint} {what} ({}); check the endpoint URL and that the server is running",
                error_chain(&e)
            ))
        })?;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let error_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(resp, operation).await?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(Error::Service(Box::new(parse_error(
            operation, status, request_id, error_type, body,
        ))))
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

async fn read_limited(mut resp: reqwest::Response, operation: &str) -> Result<Bytes> {
    let mut buf = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(Error::Transport(format!(
                        "{operation}: the response is larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => {
                return Err(Error::Transport(format!(
                    "{operation}: reading the response failed: {}",
                    error_chain(&e)
                )));
            }
        }
    }
}

/// An awsJson error body: `{"__type": "[namespace#]Code[:uri]", "message"|"Message": ...}`.
fn parse_error(
    operation: &'static str,
    status: u16,
    request_id: Option<String>,
    error_type: Option<String>,
    body: Bytes,
) -> ServiceError {
    let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let raw_code = field("__type")
        .or_else(|| field("code"))
        .or(error_type)
        .unwrap_or_else(|| {
            if status >= 500 {
                "InternalFailure".to_owned()
            } else {
                format!("HTTP{status}")
            }
        });
    let code = raw_code
        .rsplit('#')
        .next()
        .unwrap_or(&raw_code)
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let message = field("message")
        .or_else(|| field("Message"))
        .unwrap_or_else(|| {
            if json.is_none() && !body.is_empty() {
                String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
            } else {
                String::new()
            }
        });
    ServiceError {
        operation,
        status,
        code,
        message,
        request_id,
        json: json.is_some(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_their_namespace() {
        let e = parse_error(
            "GetSecretValue",
            400,
            None,
            None,
            Bytes::from_static(
                br#"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"gone"}"#,
            ),
        );
        assert_eq!(e.code, "ResourceNotFoundException");
        assert_eq!(e.message, "gone");
        assert!(!e.is_transient());
        let e = parse_error(
            "GetParameter",
            503,
            None,
            Some("ServiceUnavailable:http://x".into()),
            Bytes::from_static(b"<html>busy</html>"),
        );
        assert_eq!(e.code, "ServiceUnavailable");
        assert!(e.is_transient());
        assert!(!e.json);
        assert!(String::from_utf8_lossy(&e.json_body()).contains("ServiceUnavailable"));
    }
}
