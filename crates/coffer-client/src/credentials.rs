//! The standard AWS credential chain, minus the cloud-instance sources:
//!
//! 1. `--profile` given on the command line: that profile only.
//! 2. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`).
//! 3. The profile (`AWS_PROFILE`, else `default`) in the shared credentials/config files: static
//!    keys, or `role_arn` + `web_identity_token_file`.
//! 4. `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`): STS
//!    `AssumeRoleWithWebIdentity` (Kubernetes IRSA), refreshed before the credentials expire.
//!
//! Credentials are `aws_credential_types::Credentials`: zeroized on drop, redacted in `Debug`.

use crate::config::{ResolvedConfig, Service};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::profile::Profile;
use aws_credential_types::Credentials;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Refresh temporary credentials this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct CredentialsProvider {
    source: Source,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

#[derive(Debug)]
enum Source {
    Static { creds: Credentials, from: String },
    WebIdentity(WebIdentity),
}

#[derive(Debug)]
struct WebIdentity {
    role_arn: String,
    token_file: PathBuf,
    session_name: String,
    sts_endpoint: String,
    from: String,
}

fn static_from_profile(p: &Profile) -> Result<Option<Credentials>> {
    match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Some(Credentials::new(
            id,
            secret,
            p.get("aws_session_token").map(str::to_owned),
            None,
            "profile",
        ))),
        (None, None) => Ok(None),
        _ => Err(Error::Credentials(format!(
            "the AWS profile {:?} has only one of aws_access_key_id and aws_secret_access_key: set both",
            p.name
        ))),
    }
}

fn unsupported_profile_source(p: &Profile) -> Option<String> {
    for key in [
        "source_profile",
        "credential_source",
        "credential_process",
        "sso_session",
        "sso_start_url",
    ] {
        if p.get(key).is_some() {
            return Some(format!(
                "the AWS profile {:?} gets its credentials through `{key}`, which coffer's client \
                 does not support: use static keys, web_identity_token_file + role_arn, or export \
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (e.g. from \
                 `aws configure export-credentials --format env`)",
                p.name
            ));
        }
    }
    None
}

fn session_name(env: &Env, profile: Option<&Profile>) -> String {
    profile
        .and_then(|p| p.get("role_session_name").map(str::to_owned))
        .or_else(|| env.get("AWS_ROLE_SESSION_NAME"))
        .unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("coffer-{secs}")
        })
}

impl CredentialsProvider {
    /// A provider that always returns `creds` (tests, embedding).
    pub fn fixed(creds: Credentials) -> Self {
        Self {
            source: Source::Static {
                creds,
                from: "fixed credentials".to_owned(),
            },
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// Find the credential source now (reading files and the environment); fetching temporary
    /// credentials waits for the first call.
    pub fn from_chain(explicit_profile: bool, config: &ResolvedConfig, env: &Env) -> Result<Self> {
        let mk = |source| Self {
            source,
            cached: tokio::sync::Mutex::new(None),
        };
        let from_profile = |p: &Profile| -> Result<Option<Source>> {
            if let Some(creds) = static_from_profile(p)? {
                return Ok(Some(Source::Static {
                    creds,
                    from: format!("AWS profile {:?}", p.name),
                }));
            }
            if let (Some(role), Some(file)) = (p.get("role_arn"), p.get("web_identity_token_file"))
            {
                return Ok(Some(Source::WebIdentity(WebIdentity {
                    role_arn: role.to_owned(),
                    token_file: PathBuf::from(file),
                    session_name: session_name(env, Some(p)),
                    sts_endpoint: config.endpoint(Service::Sts).to_owned(),
                    from: format!("web identity of AWS profile {:?}", p.name),
                })));
            }
            if let Some(msg) = unsupported_profile_source(p) {
                return Err(Error::Credentials(msg));
            }
            Ok(None)
        };

        if explicit_profile {
            if let Some(p) = &config.profile
                && let Some(source) = from_profile(p)?
            {
                return Ok(mk(source));
            }
            return Err(Error::Credentials(format!(
                "the AWS profile {:?} has no credentials: add aws_access_key_id and \
                 aws_secret_access_key (or role_arn + web_identity_token_file) to it",
                config
                    .profile
                    .as_ref()
                    .map(|p| p.name.as_str())
                    .unwrap_or("?")
            )));
        }

        match (
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => {
                return Ok(mk(Source::Static {
                    creds: Credentials::new(
                        id,
                        secret,
                        env.get("AWS_SESSION_TOKEN"),
                        None,
                        "environment",
                    ),
                    from: "environment variables".to_owned(),
                }));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Credentials(
                    "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or \
                     neither to use a profile"
                        .to_owned(),
                ));
            }
            (None, None) => {}
        }

        if let Some(p) = &config.profile
            && let Some(source) = from_profile(p)?
        {
            return Ok(mk(source));
        }

        if let (Some(file), Some(role)) = (
            env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
            env.get("AWS_ROLE_ARN"),
        ) {
            return Ok(mk(Source::WebIdentity(WebIdentity {
                role_arn: role,
                token_file: PathBuf::from(file),
                session_name: session_name(env, None),
                sts_endpoint: config.endpoint(Service::Sts).to_owned(),
                from: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)".to_owned(),
            })));
        }

        Err(Error::Credentials(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             AWS_PROFILE naming a profile in ~/.aws/credentials (coffer writes one to \
             DATA_DIR/credentials: export AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/credentials), or \
             AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
                .to_owned(),
        ))
    }

    /// Where the credentials come from, for logs and error messages (no secret in it).
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Static { from, .. } => from.clone(),
            Source::WebIdentity(w) => format!("{} (role {})", w.from, w.role_arn),
        }
    }

    /// Current credentials; temporary ones are renewed shortly before they expire.
    pub async fn get(&self, http: &HttpClient) -> Result<Credentials> {
        match &self.source {
            Source::Static { creds, .. } => Ok(creds.clone()),
            Source::WebIdentity(w) => {
                let mut cached = self.cached.lock().await;
                let now = SystemTime::now();
                if let Some(c) = cached.as_ref() {
                    let fresh = c.expiry().is_none_or(|exp| exp > now + REFRESH_MARGIN);
                    if fresh {
                        return Ok(c.clone());
                    }
                }
                match w.assume(http).await {
                    Ok(c) => {
                        *cached = Some(c.clone());
                        Ok(c)
                    }
                    // Still valid for a while: keep using them and try again next time.
                    Err(e)
                        if cached
                            .as_ref()
                            .and_then(|c| c.expiry())
                            .is_some_and(|exp| exp > now + Duration::from_secs(10)) =>
                    {
                        tracing::warn!(error = %e, "could not renew web identity credentials; using the current ones until they expire");
                        cached
                            .clone()
                            .ok_or_else(|| Error::Credentials("no cached credentials".into()))
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}

impl WebIdentity {
    async fn assume(&self, http: &HttpClient) -> Result<Credentials> {
        let token = std::fs::read_to_string(&self.token_file).map_err(|e| {
            Error::Credentials(format!(
                "cannot read the web identity token file {}: {e}",
                self.token_file.display()
            ))
        })?;
        assume_role_with_web_identity(
            http,
            &self.sts_endpoint,
            &self.role_arn,
            &self.session_name,
            token.trim(),
        )
        .await
    }
}

/// STS `AssumeRoleWithWebIdentity` at `sts_endpoint`: `token` (an OIDC token, such as a
/// Kubernetes service-account token) exchanged for `role_arn`'s temporary credentials.
/// The call is unsigned: the token is the credential.
pub async fn assume_role_with_web_identity(
    http: &HttpClient,
    sts_endpoint: &str,
    role_arn: &str,
    session_name: &str,
    token: &str,
) -> Result<Credentials> {
    let form = serde_urlencoded::to_string([
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token),
    ])
    .map_err(|e| Error::Credentials(format!("cannot encode the STS request: {e}")))?;
    let url = format!("{sts_endpoint}/");
    let req = http::Request::builder()
        .method("POST")
        .uri(&url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(bytes::Bytes::from(form))
        .map_err(|e| Error::Config(format!("bad STS endpoint {sts_endpoint}: {e}")))?;
    let resp = http
        .send(req, "STS AssumeRoleWithWebIdentity")
        .await
        .map_err(|e| Error::Credentials(e.to_string()))?;
    let status = resp.status;
    let body = resp.body;
    let text = String::from_utf8_lossy(&body);
    if status != 200 {
        let code = xml_text(&text, "Code").unwrap_or_else(|| format!("HTTP {status}"));
        let message = xml_text(&text, "Message").unwrap_or_default();
        return Err(Error::Credentials(format!(
            "STS AssumeRoleWithWebIdentity for role {role_arn} at {sts_endpoint} failed: {code}: {message}"
        )));
    }
    parse_assume_role_response(&text).map_err(|e| {
        Error::Credentials(format!(
            "STS AssumeRoleWithWebIdentity at {sts_endpoint} answered something unexpected: {e}"
        ))
    })
}

/// The `Credentials` element of an STS AssumeRole* response.
pub fn parse_assume_role_response(xml: &str) -> std::result::Result<Credentials, String> {
    let creds = xml_element(xml, "Credentials").ok_or("no <Credentials> element")?;
    let id = xml_text(creds, "AccessKeyId").ok_or("no <AccessKeyId>")?;
    let secret = xml_text(creds, "SecretAccessKey").ok_or("no <SecretAccessKey>")?;
    let token = xml_text(creds, "SessionToken");
    let expiry = match xml_text(creds, "Expiration") {
        Some(t) => Some(
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| format!("bad <Expiration> {t:?}: {e}"))?
                .into(),
        ),
        None => None,
    };
    Ok(Credentials::new(id, secret, token, expiry, "web identity"))
}

/// The inner text of the first `<tag>…</tag>` (no attributes, as in AWS query responses).
fn xml_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

/// The text of the first `<tag>`, with XML entities decoded and whitespace trimmed.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let raw = xml_element(xml, tag)?.trim();
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assume_role_with_web_identity_response() {
        let xml = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>FwoG&amp;token</SessionToken>
      <SecretAccessKey>wJalr/K7MDENG</SecretAccessKey>
      <Expiration>2030-01-02T03:04:05Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;
        let c = parse_assume_role_response(xml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key(), "wJalr/K7MDENG");
        assert_eq!(c.session_token(), Some("FwoG&token"));
        assert!(c.expiry().is_some());
        assert!(parse_assume_role_response("<x/>").is_err());
    }

    #[test]
    fn xml_entities() {
        assert_eq!(
            xml_text("<M> a &lt;b&gt; &#65;&#x42; &bogus; </M>", "M").as_deref(),
            Some("a <b> AB &bogus;")
        );
    }
}
