//! `AwsClient`: SigV4-signed awsJson 1.1 calls to Secrets Manager and SSM at any AWS-compatible
//! endpoint (coffer or AWS), over one pooled HTTP client ([`crate::http`]).

use crate::config::{self, ClientOptions, ResolvedConfig, Service};
use crate::credentials::CredentialsProvider;
use crate::env::Env;
use crate::error::{Error, Result, ServiceError};
use crate::http::HttpClient;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Attempts for a call that fails transiently (unreachable, 5xx, throttled).
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct AwsClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    credentials: CredentialsProvider,
    config: ResolvedConfig,
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
                http: HttpClient::new(env, &ua)?,
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

    /// One attempt, no retries (load generators measure every answer as it came).
    pub async fn call_once(
        &self,
        service: Service,
        operation: &'static str,
        body: &Bytes,
    ) -> Result<Bytes> {
        let creds = self.inner.credentials.get(&self.inner.http).await?;
        let endpoint = self.endpoint(service);
        let url = format!("{endpoint}/");
        let parsed = url::Url::parse(&url)
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
        let resp = self.inner.http.send(req, operation).await?;
        let status = resp.status;
        let request_id = resp.header("x-amzn-requestid");
        let error_type = resp.header("x-amzn-errortype");
        let body = resp.body;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(Error::Service(Box::new(parse_error(
            operation, status, request_id, error_type, body,
        ))))
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
