//! The web console at `/console`: server-rendered HTML, no script, assets embedded in the
//! binary.
//!
//! - Sign-in ([`login`]) takes an access key pair (and a session token for temporary
//!   credentials), resolved exactly as SigV4 authentication resolves a key
//!   ([`crate::auth::Authenticator::verify_key_pair`]); a wrong key gets one generic message.
//! - Sessions ([`session`]): a random token in an HttpOnly, SameSite=Strict cookie (`Secure` on
//!   TLS), the key pair held server-side in a bounded map, re-resolved on every page (so a
//!   deactivated key or a closed break-glass incident ends the session).
//! - Every page's data comes from [`call::call`]: the service layer's own dispatch as the
//!   signed-in principal, so IAM applies and each call is audited like an API call. Values are
//!   shown only on an explicit reveal (a POST), which is the audited GetSecretValue /
//!   GetParameter.
//! - Every POST carries the session's CSRF token and must come from this origin; every answer
//!   carries a strict Content-Security-Policy, `X-Frame-Options: DENY`, `nosniff`,
//!   `no-referrer` and, for pages, `Cache-Control: no-store`. [`html::Html`] escapes all
//!   dynamic text.

pub mod audit;
pub mod breakglass;
pub mod call;
pub mod html;
pub mod keys;
pub mod parameters;
pub mod secrets;
pub mod session;

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode, header, request::Parts};
use axum::routing::{get, post};
use call::Caller;
use coffer_types::{Region, SecretBytes};
use html::{Html, Section};
use session::Session;
use std::sync::Arc;

const CSS: &str = include_str!("assets/console.css");
const FAVICON: &str = include_str!("assets/favicon.svg");

/// The policy every console answer carries: nothing but this origin's stylesheet and images,
/// no script at all, forms only to this origin, never in a frame.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'none'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, merged into [`crate::app`].
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(|| async { redirect("/console/secrets") }))
        .route("/console/", get(|| async { redirect("/console/secrets") }))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/static/console.css", get(css))
        .route("/console/static/favicon.svg", get(favicon))
        .route("/console/secrets", get(secrets::list))
        .route("/console/secrets/create", post(secrets::create))
        .route("/console/secret", get(secrets::detail))
        .route("/console/secret/reveal", post(secrets::reveal))
        .route("/console/secret/put", post(secrets::put_value))
        .route("/console/parameters", get(parameters::tree))
        .route("/console/parameters/put", post(parameters::put))
        .route("/console/parameter", get(parameters::detail))
        .route("/console/parameter/reveal", post(parameters::reveal))
        .route("/console/keys", get(keys::list))
        .route("/console/audit", get(audit::page))
        .route("/console/breakglass", get(breakglass::page))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn css() -> Response<Body> {
    asset("text/css; charset=utf-8", CSS)
}

async fn favicon() -> Response<Body> {
    asset("image/svg+xml", FAVICON)
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

async fn not_found() -> Response<Body> {
    let mut b = Html::new();
    b.raw("<p>No such console page. ")
        .link("/console/secrets", &[], "Secrets")
        .raw("</p>");
    html(
        StatusCode::NOT_FOUND,
        html::page("Not found", Section::None, None, b),
    )
}

/// An HTML answer.
pub fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// 303 See Other to `to` (after a POST, or to the sign-in page).
pub fn redirect(to: &str) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn secure(parts: &Parts) -> bool {
    parts.extensions.get::<crate::SecureTransport>().is_some()
}

/// A signed-in request: the session and the caller its principal is, freshly resolved.
#[derive(Debug)]
pub struct SignedIn {
    pub session: Arc<Session>,
    pub caller: Caller,
}

impl SignedIn {
    /// A page of this session.
    pub fn page(&self, title: &str, section: Section, body: Html) -> String {
        html::page(
            title,
            section,
            Some((&self.session.principal_arn, &self.session.csrf)),
            body,
        )
    }

    /// A page, or the page with the status of a refusal it shows.
    pub fn answer(
        &self,
        status: Option<u16>,
        title: &str,
        section: Section,
        body: Html,
    ) -> Response<Body> {
        let status = status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        html(status, self.page(title, section, body))
    }
}

/// The session of a request, or the answer that sends the browser to sign in.
pub async fn signed_in(state: &AppState, parts: &Parts) -> Result<SignedIn, Response<Body>> {
    let to_login = || {
        let mut r = redirect("/console/login");
        if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(secure(parts))) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    };
    let Some(token) = session::cookie_token(&parts.headers) else {
        return Err(redirect("/console/login"));
    };
    let Some(s) = state.console.get(&token) else {
        return Err(to_login());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let principal = match state
        .auth
        .verify_key_pair(&s.access_key_id, &s.secret_access_key, s.token_str(), now)
        .await
    {
        Ok(p) => p,
        Err(crate::auth::AuthFailure::Internal(d) | crate::auth::AuthFailure::Unavailable(d)) => {
            tracing::error!(detail = %d, "console: cannot resolve the session's key");
            return Err(unavailable());
        }
        Err(_) => {
            state.console.remove(&token);
            return Err(to_login());
        }
    };
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(200).collect::<String>())
        .unwrap_or_default();
    Ok(SignedIn {
        caller: Caller {
            principal,
            region: s.region.clone(),
            source_ip: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            secure_transport: secure(parts),
            user_agent: format!(
                "coffer-console/{} ({user_agent})",
                env!("CARGO_PKG_VERSION")
            ),
            dev: state.auth.dev(),
        },
        session: s,
    })
}

fn unavailable() -> Response<Body> {
    let mut b = Html::new();
    b.error(
        "ServiceUnavailable",
        "The console cannot reach the store just now; try again.",
    );
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        html::page("Unavailable", Section::None, None, b),
    )
}

/// A POST's form fields, as received.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }
}

/// Whether a POST comes from a page of this origin. `Sec-Fetch-Site`, which browsers set and
/// pages cannot, decides when present (`same-origin`, or `none` for a typed or bookmarked
/// request). Otherwise an `Origin` header must be this host — except `null`, which is what a
/// browser sends for a same-origin form under `Referrer-Policy: no-referrer`; the CSRF token
/// still guards those.
fn same_origin(parts: &Parts) -> bool {
    if let Some(site) = parts.headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()));
    let scheme = if secure(parts) { "https" } else { "http" };
    host.is_some_and(|h| origin == format!("{scheme}://{h}"))
}

async fn read_form(state: &AppState, body: Body) -> Option<Form> {
    let bytes = tokio::time::timeout(
        state.body_timeout,
        axum::body::to_bytes(body, state.max_body_bytes),
    )
    .await
    .ok()?
    .ok()?;
    serde_urlencoded::from_bytes(&bytes).ok().map(Form)
}

fn forbidden(message: &'static str) -> Response<Body> {
    let mut b = Html::new();
    b.error("InvalidCsrfToken", message).raw("<p>").link(
        "/console/secrets",
        &[],
        "Back to the console",
    );
    b.raw("</p>");
    html(
        StatusCode::FORBIDDEN,
        html::page("Refused", Section::None, None, b),
    )
}

/// A signed-in POST: same origin, the session's CSRF token in the form. Returns the session and
/// the form, or the refusal.
pub async fn signed_in_post(
    state: &AppState,
    req: Request<Body>,
) -> Result<(SignedIn, Form), Response<Body>> {
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(forbidden(
            "This form did not come from a page of this console.",
        ));
    }
    let signed = signed_in(state, &parts).await?;
    let Some(form) = read_form(state, body).await else {
        return Err(forbidden("The form could not be read."));
    };
    if !signed.session.csrf_ok(form.get("csrf")) {
        return Err(forbidden(
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        ));
    }
    Ok((signed, form))
}

fn login_page(status: StatusCode, error: Option<&str>, akid: &str, region: &str) -> Response<Body> {
    let mut b = Html::new();
    if let Some(e) = error {
        b.error("SignInFailed", e);
    }
    b.raw("<form method=\"post\" action=\"/console/login\" id=\"login\" class=\"card\" autocomplete=\"off\">")
        .raw("<label>Access key ID <input type=\"text\" name=\"access_key_id\" id=\"access_key_id\" required autocomplete=\"off\" spellcheck=\"false\" value=\"")
        .text(akid)
        .raw("\"></label>")
        .raw("<label>Secret access key <input type=\"password\" name=\"secret_access_key\" id=\"secret_access_key\" required autocomplete=\"off\"></label>")
        .raw("<label>Session token (temporary credentials only) <input type=\"password\" name=\"session_token\" id=\"session_token\" autocomplete=\"off\"></label>")
        .raw("<label>Region <input type=\"text\" name=\"region\" id=\"region\" value=\"")
        .text(region)
        .raw("\"></label>")
        .raw("<button type=\"submit\" id=\"sign-in\">Sign in</button></form>")
        .raw("<p class=\"hint\">Sign in with the access key you use with the AWS CLI. What you see and may do is what your IAM policies allow; every page is audited like an API call.</p>");
    html(status, html::page("Sign in", Section::None, None, b))
}

async fn login_form() -> Response<Body> {
    login_page(StatusCode::OK, None, "", DEFAULT_REGION)
}

const DEFAULT_REGION: &str = "us-east-1";
/// The one message of every refused sign-in: it tells nothing about which part was wrong.
const SIGN_IN_REFUSED: &str = "The access key ID, secret access key or session token is not valid.";

async fn login(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return forbidden("This form did not come from a page of this console.");
    }
    let Some(form) = read_form(&state, body).await else {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some(SIGN_IN_REFUSED),
            "",
            DEFAULT_REGION,
        );
    };
    let akid = form.get("access_key_id").trim().to_owned();
    let secret = SecretBytes::new(form.get("secret_access_key").as_bytes().to_vec());
    let token = form.opt("session_token").map(str::to_owned);
    let region_text = form.opt("region").unwrap_or(DEFAULT_REGION).to_owned();
    let Ok(region) = Region::parse(&region_text) else {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some("That is not a Region name (for example us-east-1)."),
            &akid,
            DEFAULT_REGION,
        );
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let principal = match state
        .auth
        .verify_key_pair(&akid, &secret, token.as_deref(), now)
        .await
    {
        Ok(p) => p,
        Err(crate::auth::AuthFailure::Internal(d) | crate::auth::AuthFailure::Unavailable(d)) => {
            tracing::error!(detail = %d, "console: sign-in cannot resolve the key");
            return unavailable();
        }
        Err(_) => {
            tracing::info!(target: "coffer::console", access_key_id = %akid.chars().take(128).collect::<String>(), "console sign-in refused");
            return login_page(
                StatusCode::UNAUTHORIZED,
                Some(SIGN_IN_REFUSED),
                "",
                &region_text,
            );
        }
    };
    tracing::info!(target: "coffer::console", principal = %principal.arn, access_key_id = %akid, "console sign-in");
    let cookie = match state.console.create(
        akid,
        secret,
        token.map(|t| SecretBytes::new(t.into_bytes())),
        region,
        principal.arn.clone(),
    ) {
        Ok(t) => session::set_cookie(&t, secure(&parts)),
        Err(e) => {
            tracing::error!(error = %e, "console: no randomness for a session");
            return unavailable();
        }
    };
    let mut r = redirect("/console/secrets");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let token = session::cookie_token(req.headers());
    let secure = req.extensions().get::<crate::SecureTransport>().is_some();
    if let Err(r) = signed_in_post(&state, req).await {
        return r;
    }
    if let Some(t) = token {
        state.console.remove(&t);
    }
    let mut r = redirect("/console/login");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The query string of a GET as pairs (repeated keys kept).
pub fn query_pairs(parts: &Parts) -> Form {
    Form(
        parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
