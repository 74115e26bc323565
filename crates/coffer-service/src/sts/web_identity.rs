//! AssumeRoleWithWebIdentity: an OIDC ID token (a Kubernetes service account's, a CI system's)
//! exchanged for a role session. The token must be signed by a key of the issuer's JWKS, name a
//! client id of the OpenID Connect provider registered in the role's account as its audience,
//! be unexpired, and the role's trust policy must allow the provider with the token's
//! `sub`/`aud` as condition keys (`ISSUER_HOST/PATH:sub`, `...:aud`).
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html>
//!
//! Where the JWKS comes from: `COFFER_OIDC_JWKS`, a comma-separated list of `ISSUER=SOURCE`,
//! SOURCE a file path or an `https://` (or `http://`) URL — an air-gapped deployment gives the
//! file. An issuer not listed there is asked by OpenID Connect discovery, over https with the
//! system roots and `AWS_CA_BUNDLE` ([`crate::outbound`]).

use super::assume::{issue, role_of};
use super::{Sts, StsError};
use crate::RequestContext;
use base64::Engine as _;
use coffer_policy::{PolicySet, Request, ResourceMode};
use coffer_store::IamKind;
use serde_json::Value;

fn invalid(m: &str) -> StsError {
    StsError::InvalidIdentityToken(m.to_owned())
}

/// The JWKS source configured for `issuer`.
fn jwks_source(issuer: &str) -> Option<String> {
    let conf = std::env::var("COFFER_OIDC_JWKS").ok()?;
    conf.split(',').find_map(|entry| {
        let (iss, src) = entry.split_once('=')?;
        (iss.trim().trim_end_matches('/') == issuer.trim_end_matches('/'))
            .then(|| src.trim().to_owned())
    })
}

/// Largest JWKS or discovery document accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// GET `url` (http or https: [`crate::outbound`]) and return its body, if it answers 200 with at
/// most [`MAX_DOCUMENT_BYTES`].
async fn fetch(url: &str) -> Option<String> {
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    let client = CLIENT
        .get_or_init(
            || match crate::outbound::client(std::time::Duration::from_secs(5)) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "no HTTP client for OIDC JWKS");
                    None
                }
            },
        )
        .as_ref()?;
    let mut resp = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .inspect_err(|e| tracing::warn!(url, error = %e, "fetching an OIDC document failed"))
        .ok()?;
    if resp.status() != reqwest::StatusCode::OK {
        tracing::warn!(
            url,
            status = resp.status().as_u16(),
            "OIDC document not served"
        );
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .inspect_err(|e| tracing::warn!(url, error = %e, "reading an OIDC document failed"))
        .ok()?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return None;
        }
    }
    String::from_utf8(body).ok()
}

/// The issuer's JWKS: from the configured source, or by OpenID Connect discovery
/// (`ISSUER/.well-known/openid-configuration`, then its `jwks_uri`), as AWS does.
async fn load_jwks(issuer: &str) -> Result<String, StsError> {
    let unreachable = || invalid(NO_VERIFICATION_KEY);
    let source = match jwks_source(issuer) {
        Some(s) => s,
        None => {
            let discovery = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let doc: Value =
                serde_json::from_str(&fetch(&discovery).await.ok_or_else(unreachable)?)
                    .map_err(|_| unreachable())?;
            // AWS fetches keys only over https.
            match doc.get("jwks_uri").and_then(Value::as_str) {
                Some(uri) if uri.starts_with("https://") => uri.to_owned(),
                _ => {
                    tracing::warn!(
                        url = discovery,
                        "OIDC discovery document has no https jwks_uri"
                    );
                    return Err(unreachable());
                }
            }
        }
    };
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch(&source).await.ok_or_else(unreachable);
    }
    let path = source.strip_prefix("file://").unwrap_or(&source);
    tokio::fs::read_to_string(path)
        .await
        .map_err(|_| unreachable())
}

const NO_VERIFICATION_KEY: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// The OpenID Connect provider a token's issuer names, registered in the role's account.
struct Provider {
    record: coffer_store::OidcProviderRecord,
    arn: String,
    /// `HOST/PATH` of the issuer: the prefix of the condition keys `...:sub`, `...:aud`.
    host_path: String,
    issuer: String,
}

/// What the verified token says: its subject and the audience that matched a client id.
struct Verified {
    sub: String,
    aud: String,
}

pub async fn assume_role_with_web_identity(
    sts: &Sts,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, StsError> {
    let get = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or_default();
    let role_arn = get("RoleArn");
    let session_name = get("RoleSessionName");
    let token = get("WebIdentityToken");
    let (account, role_name) =
        role_of(role_arn).ok_or_else(|| StsError::Validation(format!("{role_arn} is invalid")))?;
    let provider = provider_of(sts, &account, &unverified_issuer(token)?).await?;
    let verified = verify(token, &provider).await?;
    let role = trusting_role(
        sts,
        ctx,
        &account,
        &role_name,
        &provider,
        &verified,
        session_name,
    )
    .await?;
    let duration = input
        .get("DurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    if duration > role.max_session_duration.unwrap_or(3600) {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    let policies = session_policies(input.get("Policy").and_then(Value::as_str))?;
    let mut out = issue(
        sts,
        &role,
        &account,
        session_name,
        duration,
        policies,
        Vec::new(),
        None,
        ctx.now,
    )?;
    out["SubjectFromWebIdentityToken"] = Value::String(verified.sub);
    out["Audience"] = Value::String(verified.aud);
    out["Provider"] = Value::String(provider.arn);
    Ok(out)
}

/// The token's `iss`, read without verifying anything (the signature is checked by [`verify`]
/// with the key of the provider this names).
fn unverified_issuer(token: &str) -> Result<String, StsError> {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"))?;
    Ok(payload
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

/// The provider registered for `issuer` in `account`.
async fn provider_of(sts: &Sts, account: &str, issuer: &str) -> Result<Provider, StsError> {
    let host_path = issuer
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let arn = format!("arn:aws:iam::{account}:oidc-provider/{host_path}");
    let record = sts
        .store
        .get_oidc_provider(account, &arn)
        .await
        .map_err(|e| StsError::Internal(e.to_string()))?
        .ok_or_else(|| {
            invalid(&format!(
                "No OpenIDConnect provider found in your account for {issuer}"
            ))
        })?;
    Ok(Provider {
        record,
        arn,
        host_path,
        issuer: issuer.to_owned(),
    })
}

/// Check the token's signature with the issuer's JWKS, its audience against the provider's
/// client ids, its issuer and expiry (no leeway).
async fn verify(token: &str, provider: &Provider) -> Result<Verified, StsError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("The ID Token provided is not a valid JWT."))?;
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&load_jwks(&provider.issuer).await?)
        .map_err(|e| {
            tracing::warn!(issuer = provider.issuer, error = %e, "the issuer's JWKS is not a key set");
            invalid(NO_VERIFICATION_KEY)
        })?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None => jwks.keys.first(),
    }
    .ok_or_else(|| invalid(NO_VERIFICATION_KEY))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| invalid(NO_VERIFICATION_KEY))?;
    let client_ids = &provider.record.client_ids;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(client_ids);
    validation.set_issuer(&[provider.issuer.as_str()]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => StsError::ExpiredToken(
                "Token expired: current date/time must be before the expiration date/time"
                    .to_owned(),
            ),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => invalid("Incorrect token audience"),
            _ => invalid(
                "The ID Token provided is not a valid JWT or its signature could not be verified.",
            ),
        })?
        .claims;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|a| client_ids.iter().any(|c| c == a))
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Ok(Verified { sub, aud })
}

/// The role, if its trust policy allows the provider's principal with the token's `sub`/`aud`.
async fn trusting_role(
    sts: &Sts,
    ctx: &RequestContext,
    account: &str,
    role_name: &str,
    provider: &Provider,
    verified: &Verified,
    session_name: &str,
) -> Result<coffer_store::IamEntityRecord, StsError> {
    let denied = || {
        StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned())
    };
    let role = sts
        .store
        .get_entity(account, IamKind::Role, role_name)
        .await
        .map_err(|e| StsError::Internal(e.to_string()))?
        .ok_or_else(denied)?;
    if super::assume::is_break_glass(&role) {
        return Err(denied());
    }
    let trust = role
        .trust_policy
        .as_deref()
        .and_then(|t| coffer_policy::Policy::parse(t).ok())
        .ok_or_else(denied)?;
    let host_path = &provider.host_path;
    let mut r = Request::new(
        coffer_policy::Principal::web_identity(&provider.arn),
        "sts:AssumeRoleWithWebIdentity",
        role.arn.clone(),
    )
    .with(&format!("{host_path}:sub"), verified.sub.clone())
    .with(&format!("{host_path}:aud"), verified.aud.clone())
    .with("sts:RoleSessionName", session_name);
    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ctx.now / 1000) {
        r = r.at(t);
    }
    if let Some(ip) = ctx.source_ip {
        r = r.from_ip(ip);
    }
    let set = PolicySet {
        identity: &[],
        resource: Some(&trust),
        resource_mode: ResourceMode::Required,
        boundary: None,
        session: None,
    };
    if coffer_policy::evaluate_with(&r, &set, account).is_allowed() {
        Ok(role)
    } else {
        Err(denied())
    }
}

/// The request's session policy, checked.
fn session_policies(policy: Option<&str>) -> Result<Vec<String>, StsError> {
    let Some(p) = policy else {
        return Ok(Vec::new());
    };
    match coffer_policy::check(p) {
        Ok(problems) if problems.is_empty() => Ok(vec![p.to_owned()]),
        _ => Err(StsError::MalformedPolicyDocument(
            "The policy is not in the valid JSON format.".to_owned(),
        )),
    }
}
