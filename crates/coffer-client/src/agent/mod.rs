//! `coffer agent`: a local caching HTTP endpoint with the paths, header and answers of AWS's
//! Parameters and Secrets Lambda extension and Secrets Manager Agent, so code written for them
//! works unchanged.
//!
//! - `GET /secretsmanager/get?secretId=&versionId=&versionStage=&refreshNow=` → the
//!   GetSecretValue JSON; `GET /v1/SECRET_ID?...` (path style, prefix configurable) → the same.
//! - `GET /systemsmanager/parameters/get?name=&withDecryption=&version=&label=` → the
//!   GetParameter JSON.
//! - `GET /ping` → `healthy` (no token needed).
//!
//! Every other request must carry the SSRF token (`X-Aws-Parameters-Secrets-Token` or
//! `X-Vault-Token`), must not carry `X-Forwarded-For`, and must be a GET. Answers are cached for
//! the TTL; an expired secret is revalidated with DescribeSecret's `VersionIdsToStages` and
//! fetched again only if the version behind it changed. Errors from the endpoint are passed
//! through with their status and AWS JSON body.

pub mod cache;
pub mod pod_identity;

use crate::api::{self, SecretSelector};
use crate::client::AwsClient;
use crate::env::Env;
use crate::error::{Error, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use cache::{Cache, CacheKey, Entry, SharedBody};
use coffer_types::SecretBytes;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 2773;
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
pub const DEFAULT_CACHE_SIZE: u64 = 1000;
pub const DEFAULT_MAX_CONN: usize = 800;
pub const DEFAULT_SSRF_HEADERS: [&str; 2] = ["X-Aws-Parameters-Secrets-Token", "X-Vault-Token"];
pub const DEFAULT_SSRF_ENV: [&str; 3] = [
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];
/// How long a stale value keeps being served when the endpoint fails transiently.
const STALE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The agent's TOML file: the AWS Secrets Manager Agent's keys (so its config files work), plus
/// coffer's own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub log_level: Option<String>,
    /// Accepted for compatibility; coffer always logs to stderr.
    pub log_to_file: Option<bool>,
    pub http_port: Option<u16>,
    pub region: Option<String>,
    pub ttl_seconds: Option<u64>,
    pub cache_size: Option<u64>,
    pub ssrf_headers: Option<Vec<String>>,
    pub ssrf_env_variables: Option<Vec<String>>,
    pub path_prefix: Option<String>,
    pub max_conn: Option<usize>,
    pub ignore_transient_errors: Option<bool>,
    // coffer's own
    pub listen: Option<SocketAddr>,
    pub endpoint_url: Option<String>,
    pub token_file: Option<PathBuf>,
    pub allow_non_loopback: Option<bool>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read agent config {}: {e}", path.display()))
        })?;
        toml::from_str(&text)
            .map_err(|e| Error::Config(format!("invalid agent config {}: {e}", path.display())))
    }
}

#[derive(Debug)]
pub struct AgentConfig {
    pub listen: SocketAddr,
    pub allow_non_loopback: bool,
    pub ttl: Duration,
    pub cache_size: u64,
    pub max_conn: usize,
    pub ssrf_headers: Vec<String>,
    pub token: SecretBytes,
    pub path_prefix: String,
    pub serve_stale_on_transient_errors: bool,
}

/// The SSRF token: `token_file` if given, else the first of `env_names` that is set (a value
/// `file:///path` names a file holding it).
pub fn load_token(
    token_file: Option<&Path>,
    env_names: &[String],
    env: &Env,
) -> Result<SecretBytes> {
    let read = |p: &Path| -> Result<SecretBytes> {
        let raw = std::fs::read(p).map_err(|e| {
            Error::Config(format!(
                "cannot read the SSRF token file {}: {e}",
                p.display()
            ))
        })?;
        let raw = SecretBytes::new(raw);
        let text = std::str::from_utf8(raw.expose())
            .map_err(|_| Error::Config(format!("the token file {} is not UTF-8", p.display())))?;
        Ok(SecretBytes::from(text.trim().as_bytes()))
    };
    let token = match token_file {
        Some(p) => read(p)?,
        None => {
            let mut found = None;
            for name in env_names {
                if let Some(v) = env.get(name) {
                    found = Some(match v.strip_prefix("file://") {
                        Some(path) => read(Path::new(path))?,
                        None => SecretBytes::from(v.as_bytes()),
                    });
                    break;
                }
            }
            found.ok_or_else(|| {
                Error::Config(format!(
                    "no SSRF token: set one of {} (a value file:///path reads it from a file), or \
                     pass --token-file; callers send it in the X-Aws-Parameters-Secrets-Token header",
                    env_names.join(", ")
                ))
            })?
        }
    };
    if token.is_empty() {
        return Err(Error::Config("the SSRF token is empty".into()));
    }
    Ok(token)
}

struct AgentState {
    client: AwsClient,
    cache: Cache,
    config: AgentConfig,
    /// Requests in flight; `max_conn` of them at most.
    permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn error_response(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    json_response(status, Bytes::from(body))
}

fn json_response(status: u16, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn entry_response(entry: Arc<Entry>) -> Response {
    json_response(200, Bytes::from_owner(SharedBody(entry)))
}

/// An upstream failure as the caller sees it: the endpoint's own error as it was, transport
/// failures as 502/504 like AWS's agent, anything else 500.
fn upstream_error(e: &Error) -> Response {
    match e {
        Error::Service(s) => json_response(s.status, s.json_body()),
        Error::Transport(m) if m.contains("in time") => error_response(504, "TimeoutError", m),
        Error::Transport(m) => error_response(502, "ConnectionError", m),
        Error::Credentials(m) | Error::Config(m) => error_response(500, "InternalFailure", m),
        Error::Invalid(m) => error_response(400, "InvalidParameterException", m),
    }
}

/// A refusal answered before any work (boxed: a `Response` is large).
type Refusal = Box<Response>;

fn refuse(status: u16, code: &str, message: &str) -> Refusal {
    Box::new(error_response(status, code, message))
}

/// Query parameters, each at most once, only the known ones.
fn query_params(
    query: Option<&str>,
    known: &[&str],
) -> std::result::Result<Vec<(String, String)>, Refusal> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| {
            refuse(
                400,
                "InvalidParameterException",
                &format!("bad query string: {e}"),
            )
        })?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if !known.contains(&k.as_str()) {
            return Err(refuse(
                400,
                "InvalidParameterException",
                &format!("unknown query parameter {k:?}: use {}", known.join(", ")),
            ));
        }
        if pairs[..i].iter().any(|(p, _)| p == k) {
            return Err(refuse(
                400,
                "InvalidParameterException",
                &format!("query parameter {k:?} is given twice"),
            ));
        }
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(p, _)| p == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn flag(pairs: &[(String, String)], k: &str) -> std::result::Result<bool, Refusal> {
    match get(pairs, k) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(refuse(
            400,
            "InvalidParameterException",
            &format!("{k} must be true or false, not {v:?}"),
        )),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl AgentState {
    fn check_token(&self, headers: &HeaderMap) -> std::result::Result<(), Refusal> {
        if headers.contains_key("x-forwarded-for") {
            tracing::warn!("refused a request carrying X-Forwarded-For");
            return Err(refuse(
                400,
                "InvalidRequestException",
                "requests carrying X-Forwarded-For are refused: the agent serves local callers only",
            ));
        }
        for name in &self.config.ssrf_headers {
            for value in headers.get_all(name.as_str()) {
                if SecretBytes::from(value.as_bytes()) == self.config.token {
                    return Ok(());
                }
            }
        }
        tracing::warn!("refused a request without the right SSRF token");
        Err(refuse(
            403,
            "AccessDeniedException",
            &format!(
                "missing or wrong {} header: send the agent's token (from AWS_TOKEN, \
                 AWS_SESSION_TOKEN or its token file)",
                self.config
                    .ssrf_headers
                    .first()
                    .map(String::as_str)
                    .unwrap_or("token")
            ),
        ))
    }

    async fn secret(&self, sel: SecretSelector, refresh_now: bool) -> Response {
        if sel.secret_id.is_empty() {
            return error_response(400, "InvalidParameterException", "secretId is required");
        }
        let key = CacheKey::Secret(sel.clone());
        self.cached(key, refresh_now, |entry| async move {
            match entry {
                Some(entry) => self.revalidate_secret(&sel, &entry).await,
                None => self.fetch_secret(&sel).await.map(Some),
            }
        })
        .await
    }

    async fn fetch_secret(&self, sel: &SecretSelector) -> Result<Arc<Entry>> {
        tracing::debug!(operation = "GetSecretValue", secret_id = %sel.secret_id, "upstream call");
        let raw = self.client.get_secret_value_raw(sel).await?;
        let version = api::secret_version_of(raw.expose());
        Ok(self.cache.entry(raw, version))
    }

    /// `None`: the cached entry is still right.
    async fn revalidate_secret(
        &self,
        sel: &SecretSelector,
        entry: &Arc<Entry>,
    ) -> Result<Option<Arc<Entry>>> {
        tracing::debug!(operation = "DescribeSecret", secret_id = %sel.secret_id, "upstream call");
        let d = self.client.describe_secret(&sel.secret_id).await?;
        let unchanged = !d.deleted
            && match (&sel.version_id, &entry.version_id) {
                (Some(wanted), Some(have)) => {
                    wanted == have
                        && d.versions_to_stages.get(wanted).is_some_and(|stages| {
                            sel.version_stage
                                .as_ref()
                                .is_none_or(|s| stages.contains(s))
                        })
                }
                (None, Some(have)) => d.version_with_stage(sel.stage()) == Some(have.as_str()),
                _ => false,
            };
        if unchanged {
            tracing::debug!(secret_id = %sel.secret_id, "unchanged: cached value kept");
            return Ok(None);
        }
        self.fetch_secret(sel).await.map(Some)
    }

    async fn parameter(&self, name: String, decrypt: bool, refresh_now: bool) -> Response {
        let key = CacheKey::Parameter {
            name: name.clone(),
            decrypt,
        };
        let name = &name;
        self.cached(key, refresh_now, |_| async move {
            tracing::debug!(operation = "GetParameter", name = %name, "upstream call");
            let raw = self.client.get_parameter_raw(name, decrypt).await?;
            let version = api::parameter_version_of(raw.expose());
            Ok(Some(self.cache.entry(raw, version)))
        })
        .await
    }

    /// Serve `key` from the cache, loading or revalidating through `load` when needed. `load`
    /// gets the expired entry (or `None` on a miss) and returns `None` if it is still right.
    async fn cached<F, Fut>(&self, key: CacheKey, refresh_now: bool, load: F) -> Response
    where
        F: FnOnce(Option<Arc<Entry>>) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Arc<Entry>>>>,
    {
        if self.cache.ttl().is_zero() {
            // No caching: every request goes to the endpoint.
            return match load(None).await {
                Ok(Some(e)) => entry_response(e),
                Ok(None) => error_response(500, "InternalFailure", "nothing loaded"),
                Err(e) => upstream_error(&e),
            };
        }
        let started = self.cache.now_ms();
        let slot = self.cache.slot(&key);
        if !refresh_now
            && let Some(e) = slot.current()
            && self.cache.is_fresh(&e)
        {
            return entry_response(e);
        }
        let _loading = slot.loading.lock().await;
        let current = slot.current();
        if let Some(e) = &current
            && self.cache.is_fresh(e)
            && (!refresh_now || self.cache.checked_at(e) >= started)
        {
            // Loaded or revalidated by another request while this one waited.
            return entry_response(e.clone());
        }
        let stale = if refresh_now { None } else { current };
        match load(stale.clone()).await {
            Ok(Some(fresh)) => {
                slot.set(Some(fresh.clone()));
                entry_response(fresh)
            }
            Ok(None) => match stale {
                Some(e) => {
                    self.cache.touch(&e);
                    entry_response(e)
                }
                None => error_response(500, "InternalFailure", "nothing loaded"),
            },
            Err(err) => {
                if let Some(e) = stale
                    .filter(|_| err.is_transient() && self.config.serve_stale_on_transient_errors)
                {
                    tracing::warn!(error = %err, "endpoint failed transiently: serving the cached value");
                    self.cache.extend(&e, STALE_RETRY_AFTER);
                    return entry_response(e);
                }
                if !err.is_transient() {
                    // Gone, denied, invalid: the cached value must not be served any more.
                    slot.set(None);
                }
                self.cache.forget_if_empty(&key, &slot);
                upstream_error(&err)
            }
        }
    }
}

async fn handle(State(state): State<Arc<AgentState>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/ping" {
        return Response::new(Body::from("healthy"));
    }
    let Ok(_permit) = state.permits.clone().try_acquire_owned() else {
        return error_response(
            429,
            "TooManyRequestsException",
            "connection limit exceeded: raise max_conn or retry",
        );
    };
    if let Err(resp) = state.check_token(req.headers()) {
        return *resp;
    }
    if req.method() != Method::GET {
        return error_response(405, "MethodNotAllowed", "only GET is allowed");
    }
    let query = req.uri().query();
    match path.as_str() {
        "/secretsmanager/get" => {
            let params = match query_params(
                query,
                &["secretId", "versionId", "versionStage", "refreshNow"],
            ) {
                Ok(p) => p,
                Err(r) => return *r,
            };
            let refresh = match flag(&params, "refreshNow") {
                Ok(r) => r,
                Err(r) => return *r,
            };
            let sel = SecretSelector {
                secret_id: get(&params, "secretId").unwrap_or_default().to_owned(),
                version_id: get(&params, "versionId").map(str::to_owned),
                version_stage: get(&params, "versionStage").map(str::to_owned),
            };
            state.secret(sel, refresh).await
        }
        "/systemsmanager/parameters/get" => {
            let params = match query_params(
                query,
                &["name", "withDecryption", "version", "label", "refreshNow"],
            ) {
                Ok(p) => p,
                Err(r) => return *r,
            };
            let (decrypt, refresh) =
                match (flag(&params, "withDecryption"), flag(&params, "refreshNow")) {
                    (Ok(d), Ok(r)) => (d, r),
                    (Err(r), _) | (_, Err(r)) => return *r,
                };
            let Some(name) = get(&params, "name") else {
                return error_response(400, "InvalidParameterException", "name is required");
            };
            let name = match (get(&params, "version"), get(&params, "label")) {
                (Some(_), Some(_)) => {
                    return error_response(
                        400,
                        "InvalidParameterException",
                        "give version or label, not both",
                    );
                }
                (Some(v), None) if v.parse::<u64>().is_err() => {
                    return error_response(
                        400,
                        "InvalidParameterException",
                        "version must be a number",
                    );
                }
                (Some(sel), None) | (None, Some(sel)) => format!("{name}:{sel}"),
                (None, None) => name.to_owned(),
            };
            state.parameter(name, decrypt, refresh).await
        }
        p if p.starts_with(state.config.path_prefix.as_str()) => {
            let Some(id) = percent_decode(&p[state.config.path_prefix.len()..]) else {
                return error_response(
                    400,
                    "InvalidParameterException",
                    "bad percent-encoding in the path",
                );
            };
            let params = match query_params(query, &["versionId", "versionStage", "refreshNow"]) {
                Ok(p) => p,
                Err(r) => return *r,
            };
            let refresh = match flag(&params, "refreshNow") {
                Ok(r) => r,
                Err(r) => return *r,
            };
            let sel = SecretSelector {
                secret_id: id,
                version_id: get(&params, "versionId").map(str::to_owned),
                version_stage: get(&params, "versionStage").map(str::to_owned),
            };
            state.secret(sel, refresh).await
        }
        _ => error_response(
            404,
            "NotFound",
            "no such path: use /secretsmanager/get, /systemsmanager/parameters/get or /ping",
        ),
    }
}

/// Bind (loopback only unless allowed) and serve until `shutdown` resolves.
/// Listen on `listen`: loopback only unless `allow_non_loopback` (`why` says why, and how to
/// override it). Returns the listener and the address it got.
pub(crate) async fn bind(
    listen: SocketAddr,
    allow_non_loopback: bool,
    why: &str,
) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    if !listen.ip().is_loopback() && !allow_non_loopback {
        return Err(Error::Config(format!(
            "refusing to listen on {listen}: {why}"
        )));
    }
    let cannot = |e: std::io::Error| Error::Config(format!("cannot listen on {listen}: {e}"));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(cannot)?;
    let local = listener.local_addr().map_err(cannot)?;
    Ok((listener, local))
}

pub async fn serve(
    client: AwsClient,
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if !config.path_prefix.starts_with('/') || !config.path_prefix.ends_with('/') {
        return Err(Error::Config(format!(
            "path_prefix {:?} must start and end with /",
            config.path_prefix
        )));
    }
    let (listener, local) = bind(
        config.listen,
        config.allow_non_loopback,
        "the agent serves secrets to whoever holds the token, so it listens on loopback \
         (127.0.0.1, ::1) only; pass --allow-non-loopback if you mean it",
    )
    .await?;
    tracing::info!(
        listen = %local,
        endpoint = %client.endpoint(crate::Service::SecretsManager),
        region = %client.region(),
        credentials = %client.credentials_source(),
        ttl_seconds = config.ttl.as_secs(),
        cache_size = config.cache_size,
        "coffer agent serving"
    );
    let state = Arc::new(AgentState {
        cache: Cache::new(config.cache_size, config.ttl),
        permits: Arc::new(tokio::sync::Semaphore::new(config.max_conn.max(1))),
        client,
        config,
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Config(format!("the agent's server failed: {e}")))?;
    tracing::info!("coffer agent stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sources() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("tok");
        std::fs::write(&f, "from-file\n").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = DEFAULT_SSRF_ENV.iter().map(|s| (*s).to_owned()).collect();
        let env = Env::from_pairs([("AWS_SESSION_TOKEN", "session"), ("X", "")]);
        let t = load_token(None, &names, &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.expose(), b"session");
        let file_ref = format!("file://{}", f.display());
        let env = Env::from_pairs([
            ("AWS_TOKEN", file_ref.as_str()),
            ("AWS_SESSION_TOKEN", "session"),
        ]);
        let t = load_token(None, &names, &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.expose(), b"from-file");
        assert!(load_token(None, &names, &Env::default()).is_err());
        let t = load_token(Some(&f), &names, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.expose(), b"from-file");
    }

    #[test]
    fn aws_agent_config_files_parse() {
        let c: FileConfig = toml::from_str(
            "log_level = \"INFO\"\nhttp_port = 2775\nttl_seconds = 60\ncache_size = 10\n\
             ssrf_headers = [\"X-Aws-Parameters-Secrets-Token\"]\nssrf_env_variables = [\"MY_TOKEN\"]\n\
             path_prefix = \"/v1/\"\nmax_conn = 5\nregion = \"us-west-2\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.http_port, Some(2775));
        assert!(toml::from_str::<FileConfig>("ttl = 5\n").is_err());
    }

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("a%2Fb%3Ac").as_deref(), Some("a/b:c"));
        assert_eq!(percent_decode("bad%2"), None);
    }
}
