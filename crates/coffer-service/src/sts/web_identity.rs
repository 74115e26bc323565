//! AssumeRoleWithWebIdentity: an OIDC ID token (a Kubernetes service account's, a CI system's)
//! exchanged for a role session. The token must be signed by a key of the issuer's JWKS, name a
//! client id of the OpenID Connect provider registered in the role's account as its audience,
//! be unexpired, and the role's trust policy must allow the provider with the token's
//! `sub`/`aud` as condition keys (`ISSUER_HOST/PATH:sub`, `...:aud`).
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html>
//!
//! Where the JWKS comes from: `COFFER_OIDC_JWKS`, a comma-separated list of `ISSUER=SOURCE`,
//! SOURCE a file path or a plain `http://` URL (an air-gapped deployment gives the file; the
//! server does not fetch `https://` discovery documents).

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

async fn load_jwks(source: &str) -> Result<String, StsError> {
    let unreachable = || {
        invalid(
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
        )
    };
    if let Some(rest) = source.strip_prefix("http://") {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio::net::TcpStream::connect(host),
        )
        .await
        .map_err(|_| unreachable())?
        .map_err(|_| unreachable())?;
        let req =
            format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|_| unreachable())?;
        let mut buf = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut buf),
        )
        .await
        .map_err(|_| unreachable())?
        .map_err(|_| unreachable())?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text.split_once("\r\n\r\n").ok_or_else(unreachable)?;
        if head.split_whitespace().nth(1) != Some("200") {
            return Err(unreachable());
        }
        return Ok(body.to_owned());
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    tokio::fs::read_to_string(path)
        .await
        .map_err(|_| unreachable())
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

    // Unverified look at the claims, to find the issuer (the signature is checked below).
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"))?;
    let issuer = payload
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let host_path = issuer
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{host_path}");
    let provider = sts
        .store
        .get_oidc_provider(&account, &provider_arn)
        .await
        .map_err(|e| StsError::Internal(e.to_string()))?
        .ok_or_else(|| {
            invalid(&format!(
                "No OpenIDConnect provider found in your account for {issuer}"
            ))
        })?;

    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("The ID Token provided is not a valid JWT."))?;
    let source = jwks_source(&issuer).ok_or_else(|| {
        invalid("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
    })?;
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&load_jwks(&source).await?)
        .map_err(|_| invalid("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"))?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None => jwks.keys.first(),
    }
    .ok_or_else(|| invalid("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)
        .map_err(|_| invalid("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&provider.client_ids);
    validation.set_issuer(&[issuer.as_str()]);
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
            .find(|a| provider.client_ids.iter().any(|c| c == a))
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };

    let role = sts
        .store
        .get_entity(&account, IamKind::Role, &role_name)
        .await
        .map_err(|e| StsError::Internal(e.to_string()))?;
    let denied = || {
        StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned())
    };
    let role = role.ok_or_else(denied)?;
    let trust = role
        .trust_policy
        .as_deref()
        .and_then(|t| coffer_policy::Policy::parse(t).ok())
        .ok_or_else(denied)?;
    let mut r = Request::new(
        coffer_policy::Principal::web_identity(&provider_arn),
        "sts:AssumeRoleWithWebIdentity",
        role.arn.clone(),
    )
    .with(&format!("{host_path}:sub"), sub.clone())
    .with(&format!("{host_path}:aud"), aud.clone())
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
    if !coffer_policy::evaluate_with(&r, &set, &account).is_allowed() {
        return Err(denied());
    }

    let max = role.max_session_duration.unwrap_or(3600);
    let duration = input
        .get("DurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    if duration > max {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    let mut policies = Vec::new();
    if let Some(p) = input.get("Policy").and_then(Value::as_str) {
        match coffer_policy::check(p) {
            Ok(problems) if problems.is_empty() => policies.push(p.to_owned()),
            _ => {
                return Err(StsError::MalformedPolicyDocument(
                    "The policy is not in the valid JSON format.".to_owned(),
                ));
            }
        }
    }
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
    out["SubjectFromWebIdentityToken"] = Value::String(sub);
    out["Audience"] = Value::String(aud);
    out["Provider"] = Value::String(provider_arn);
    Ok(out)
}
