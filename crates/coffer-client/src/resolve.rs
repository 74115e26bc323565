//! CloudFormation dynamic references in any text:
//!
//! - `{{resolve:ssm:NAME}}`, `{{resolve:ssm:NAME:VERSION}}` — String/StringList parameters;
//! - `{{resolve:ssm-secure:NAME}}`, `{{resolve:ssm-secure:NAME:VERSION}}` — decrypted SecureString;
//! - `{{resolve:secretsmanager:SECRET_ID:SecretString:JSON_KEY:VERSION_STAGE:VERSION_ID}}` — every
//!   part after SECRET_ID optional (empty parts allowed, e.g. `:SecretString::AWSPREVIOUS`);
//!   SECRET_ID may be an ARN. Without JSON_KEY the whole SecretString; a JSON_KEY picks a top-level
//!   key (a string as it is, anything else as JSON text).
//!
//! Parameter names may be ARNs too. Every reference is parsed before any is fetched, and all are
//! resolved before anything is returned: a failure names each reference that failed.

use crate::api::SecretSelector;
use crate::client::AwsClient;
use crate::error::{Error, Result};
use coffer_types::SecretBytes;
use std::collections::HashMap;
use std::ops::Range;

const OPEN: &str = "{{resolve:";
const CLOSE: &str = "}}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Ssm {
        name: String,
        version: Option<u64>,
        secure: bool,
    },
    SecretsManager {
        secret_id: String,
        json_key: Option<String>,
        version_stage: Option<String>,
        version_id: Option<String>,
    },
}

/// A reference found in a template.
#[derive(Debug, Clone)]
pub struct Found {
    pub range: Range<usize>,
    /// The reference as written, `{{resolve:...}}`.
    pub text: String,
    pub line: usize,
    pub reference: Reference,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Split `arn:partition:service:region:account:resource` off the front of `s` when it is an
/// ARN whose resource starts with `resource_prefix`; the rest (after `:`) is returned too.
fn split_arn<'a>(
    s: &'a str,
    resource_prefix: &str,
    colons_in_resource: usize,
) -> Option<(&'a str, Option<&'a str>)> {
    if !s.starts_with("arn:") {
        return None;
    }
    // arn, partition, service, region, account, then the resource (which may hold colons).
    let mut idx = 0;
    for _ in 0..5 {
        idx += s[idx..].find(':')? + 1;
    }
    if !s[idx..].starts_with(resource_prefix) {
        return None;
    }
    let mut end = idx;
    for _ in 0..colons_in_resource {
        end += s[end..].find(':')? + 1;
    }
    match s[end..].find(':') {
        Some(i) => Some((&s[..end + i], Some(&s[end + i + 1..]))),
        None => Some((s, None)),
    }
}

/// Parse the inside of `{{resolve:` … `}}`.
pub fn parse_reference(inner: &str) -> Result<Reference> {
    let full = format!("{OPEN}{inner}{CLOSE}");
    let bad = |why: &str| Error::Invalid(format!("{full}: {why}"));
    let (service, rest) = inner.split_once(':').ok_or_else(|| {
        bad("expected {{resolve:SERVICE:...}} with SERVICE ssm, ssm-secure or secretsmanager")
    })?;
    match service {
        "ssm" | "ssm-secure" => {
            let (name, tail) = match split_arn(rest, "parameter", 0) {
                Some(x) => x,
                None => match rest.split_once(':') {
                    Some((n, t)) => (n, Some(t)),
                    None => (rest, None),
                },
            };
            if name.is_empty() {
                return Err(bad("the parameter name is empty"));
            }
            let version = match tail {
                None => None,
                Some(v) => Some(v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    bad(&format!(
                        "{v:?} is not a parameter version (a positive number); the form is \
                         {{{{resolve:{service}:NAME:VERSION}}}}"
                    ))
                })?),
            };
            Ok(Reference::Ssm {
                name: name.to_owned(),
                version,
                secure: service == "ssm-secure",
            })
        }
        "secretsmanager" => {
            let (secret_id, tail) = match split_arn(rest, "secret:", 1) {
                Some(x) => x,
                None => match rest.split_once(':') {
                    Some((n, t)) => (n, Some(t)),
                    None => (rest, None),
                },
            };
            if secret_id.is_empty() {
                return Err(bad("the secret id is empty"));
            }
            let parts: Vec<&str> = tail.map(|t| t.split(':').collect()).unwrap_or_default();
            if parts.len() > 4 {
                return Err(bad("too many parts: the form is \
                     {{resolve:secretsmanager:SECRET_ID:SecretString:JSON_KEY:VERSION_STAGE:VERSION_ID}}"));
            }
            let part = |i: usize| {
                parts
                    .get(i)
                    .filter(|p| !p.is_empty())
                    .map(|p| (*p).to_owned())
            };
            if let Some(p) = parts.first()
                && !p.is_empty()
                && *p != "SecretString"
            {
                return Err(bad(&format!(
                    "the part after the secret id must be SecretString, not {p:?}"
                )));
            }
            let (json_key, version_stage, version_id) = (part(1), part(2), part(3));
            if version_stage.is_some() && version_id.is_some() {
                return Err(bad("give VERSION_STAGE or VERSION_ID, not both"));
            }
            Ok(Reference::SecretsManager {
                secret_id: secret_id.to_owned(),
                json_key,
                version_stage,
                version_id,
            })
        }
        other => Err(bad(&format!(
            "unknown service {other:?}: use ssm, ssm-secure or secretsmanager"
        ))),
    }
}

/// Every reference in `template`, in order. Fails on the first malformed one.
pub fn find_references(template: &str) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = template[pos..].find(OPEN) {
        let start = pos + i;
        let inner_start = start + OPEN.len();
        let Some(j) = template[inner_start..].find(CLOSE) else {
            return Err(Error::Invalid(format!(
                "line {}: {{{{resolve: is not closed by }}}}",
                line_of(template, start)
            )));
        };
        let end = inner_start + j + CLOSE.len();
        let inner = &template[inner_start..inner_start + j];
        let reference = parse_reference(inner)
            .map_err(|e| Error::Invalid(format!("line {}: {e}", line_of(template, start))))?;
        out.push(Found {
            range: start..end,
            text: template[start..end].to_owned(),
            line: line_of(template, start),
            reference,
        });
        pos = end;
    }
    Ok(out)
}

/// The value one reference stands for.
pub async fn resolve_one(client: &AwsClient, reference: &Reference) -> Result<SecretBytes> {
    match reference {
        Reference::Ssm {
            name,
            version,
            secure,
        } => {
            let full = match version {
                Some(v) => format!("{name}:{v}"),
                None => name.clone(),
            };
            let p = client.get_parameter(&full, *secure).await?;
            if !secure && p.kind == "SecureString" {
                return Err(Error::Invalid(format!(
                    "parameter {name} is a SecureString: use {{{{resolve:ssm-secure:{name}}}}}"
                )));
            }
            Ok(p.value)
        }
        Reference::SecretsManager {
            secret_id,
            json_key,
            version_stage,
            version_id,
        } => {
            let v = client
                .get_secret_value(&SecretSelector {
                    secret_id: secret_id.clone(),
                    version_id: version_id.clone(),
                    version_stage: version_stage.clone(),
                })
                .await?;
            let Some(string) = v.string else {
                return Err(Error::Invalid(format!(
                    "secret {secret_id} has no SecretString (it is binary)"
                )));
            };
            let Some(key) = json_key else {
                return Ok(string);
            };
            let json: serde_json::Value =
                serde_json::from_slice(string.expose()).map_err(|_| {
                    Error::Invalid(format!(
                        "secret {secret_id} is not a JSON object, so it has no key {key:?}"
                    ))
                })?;
            match json.get(key) {
                Some(serde_json::Value::String(s)) => Ok(SecretBytes::new(s.clone().into_bytes())),
                Some(other) => Ok(SecretBytes::new(other.to_string().into_bytes())),
                None => Err(Error::Invalid(format!(
                    "secret {secret_id} has no key {key:?}"
                ))),
            }
        }
    }
}

/// Replace every reference in `template`; all or nothing. Each distinct reference is fetched once.
pub async fn resolve_template(client: &AwsClient, template: &str) -> Result<SecretBytes> {
    let found = find_references(template)?;
    if !found.is_empty() {
        // A credential problem is one problem, not one per reference.
        client.check_credentials().await?;
    }
    let mut values: HashMap<&str, SecretBytes> = HashMap::new();
    let mut failures = Vec::new();
    for f in &found {
        if values.contains_key(f.text.as_str()) {
            continue;
        }
        match resolve_one(client, &f.reference).await {
            Ok(v) => {
                values.insert(&f.text, v);
            }
            Err(e) => failures.push(format!("  line {}: {}: {e}", f.line, f.text)),
        }
    }
    if !failures.is_empty() {
        return Err(Error::Invalid(format!(
            "{} reference(s) could not be resolved, so nothing was written:\n{}",
            failures.len(),
            failures.join("\n")
        )));
    }
    let mut out = Vec::with_capacity(template.len());
    let mut pos = 0;
    for f in &found {
        out.extend_from_slice(&template.as_bytes()[pos..f.range.start]);
        if let Some(v) = values.get(f.text.as_str()) {
            out.extend_from_slice(v.expose());
        }
        pos = f.range.end;
    }
    out.extend_from_slice(&template.as_bytes()[pos..]);
    Ok(SecretBytes::new(out))
}

/// A value given to `--env NAME=VALUE`: a template holding `{{resolve:...}}` references, or a
/// bare reference without the braces (`secretsmanager:prod/db:SecretString:password`).
pub async fn resolve_value(client: &AwsClient, value: &str) -> Result<SecretBytes> {
    if value.contains(OPEN) {
        resolve_template(client, value).await
    } else {
        let reference = parse_reference(value)?;
        resolve_one(client, &reference)
            .await
            .map_err(|e| Error::Invalid(format!("{OPEN}{value}{CLOSE}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm(id: &str, key: Option<&str>, stage: Option<&str>, vid: Option<&str>) -> Reference {
        Reference::SecretsManager {
            secret_id: id.into(),
            json_key: key.map(Into::into),
            version_stage: stage.map(Into::into),
            version_id: vid.map(Into::into),
        }
    }

    fn p(s: &str) -> Reference {
        parse_reference(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_form() {
        let ssm = |n: &str, v: Option<u64>, secure| Reference::Ssm {
            name: n.into(),
            version: v,
            secure,
        };
        assert_eq!(p("ssm:/app/url"), ssm("/app/url", None, false));
        assert_eq!(p("ssm:/app/url:3"), ssm("/app/url", Some(3), false));
        assert_eq!(p("ssm-secure:pw"), ssm("pw", None, true));
        assert_eq!(p("ssm-secure:/db/pw:5"), ssm("/db/pw", Some(5), true));
        assert_eq!(
            p("ssm:arn:aws:ssm:us-east-1:123456789012:parameter/shared/x:2"),
            ssm(
                "arn:aws:ssm:us-east-1:123456789012:parameter/shared/x",
                Some(2),
                false
            )
        );
        assert_eq!(p("secretsmanager:db"), sm("db", None, None, None));
        assert_eq!(
            p("secretsmanager:db:SecretString"),
            sm("db", None, None, None)
        );
        assert_eq!(
            p("secretsmanager:db:SecretString:password"),
            sm("db", Some("password"), None, None)
        );
        assert_eq!(
            p("secretsmanager:db:SecretString:password:AWSPREVIOUS"),
            sm("db", Some("password"), Some("AWSPREVIOUS"), None)
        );
        assert_eq!(
            p("secretsmanager:db:SecretString:password::0b7c9f1e-aaaa-bbbb-cccc-123456789012"),
            sm(
                "db",
                Some("password"),
                None,
                Some("0b7c9f1e-aaaa-bbbb-cccc-123456789012")
            )
        );
        assert_eq!(
            p("secretsmanager:db:SecretString::AWSPENDING"),
            sm("db", None, Some("AWSPENDING"), None)
        );
        assert_eq!(
            p("secretsmanager:db::user"),
            sm("db", Some("user"), None, None)
        );
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
        assert_eq!(
            p(&format!("secretsmanager:{arn}")),
            sm(arn, None, None, None)
        );
        assert_eq!(
            p(&format!("secretsmanager:{arn}:SecretString:host")),
            sm(arn, Some("host"), None, None)
        );
    }

    #[test]
    fn malformed_references_name_themselves() {
        for (s, needle) in [
            ("ssm:", "empty"),
            ("ssm:x:abc", "not a parameter version"),
            ("ssm:x:0", "not a parameter version"),
            ("secretsmanager:db:SecretBinary", "must be SecretString"),
            (
                "secretsmanager:db:SecretString:k:AWSCURRENT:vid",
                "not both",
            ),
            ("secretsmanager:db:SecretString:k:s:v:extra", "too many"),
            ("s3:bucket", "unknown service"),
            ("nothing", "SERVICE"),
        ] {
            let e = parse_reference(s)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(needle) && e.contains(s), "{s}: {e}");
        }
    }

    #[test]
    fn finds_references_with_lines() {
        let t =
            "a: {{resolve:ssm:x}}\nb: \"{{resolve:secretsmanager:y:SecretString:k}}\" {{not}}\n";
        let f = find_references(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].line, 2);
        assert_eq!(&t[f[0].range.clone()], "{{resolve:ssm:x}}");
        let e = find_references("x\n{{resolve:ssm:x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 2"), "{e}");
        let e = find_references("{{resolve:vault:x}}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 1") && e.contains("vault"), "{e}");
    }
}
