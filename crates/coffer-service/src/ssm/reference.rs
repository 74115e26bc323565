//! `/aws/reference/secretsmanager/SECRET_ID[:VERSION_ID|:STAGING_LABEL]`: Secrets Manager secrets
//! read through GetParameter and GetParameters.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html>
//!
//! Only with `WithDecryption`; the answer is a SecureString whose `Version` is 0, whose `ARN` is
//! the secret's, and whose `SourceResult` is Secrets Manager's own answer as a JSON string.

use super::names::BAD_SELECTOR;
use super::read::{Miss, ParameterOut};
use super::{Ssm, SsmError, ValueOut};
use crate::RequestContext;
use crate::secretsmanager::{SecretValue, SecretsManagerError};
use crate::wire::Epoch;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use coffer_types::SecretBytes;

pub const REFERENCE_PREFIX: &str = "/aws/reference/secretsmanager/";

/// A UUID, the form of every version id the SDKs and the CLI generate.
fn looks_like_version_id(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The `SourceResult` string: Secrets Manager's GetSecretValue answer, serialised. It holds the
/// value, so it travels as a secret.
fn source_result(v: &SecretValue) -> SecretBytes {
    let created =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(v.created_at) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
    let mut doc = serde_json::Map::new();
    doc.insert("ARN".into(), v.arn.clone().into());
    doc.insert("name".into(), v.name.clone().into());
    doc.insert("versionId".into(), v.version_id.clone().into());
    let value = if v.binary {
        zeroize::Zeroizing::new(STANDARD.encode(v.value.expose()))
    } else {
        zeroize::Zeroizing::new(String::from_utf8_lossy(v.value.expose()).into_owned())
    };
    doc.insert(
        if v.binary {
            "secretBinary"
        } else {
            "secretString"
        }
        .into(),
        value.as_str().into(),
    );
    doc.insert("versionStages".into(), v.version_stages.clone().into());
    doc.insert("createdDate".into(), created.into());
    let text = zeroize::Zeroizing::new(serde_json::Value::Object(doc).to_string());
    SecretBytes::from(text.as_bytes())
}

/// Read a reference. `Ok(Err(..))` is a miss (GetParameters lists the name as invalid);
/// `Err(..)` fails the request.
pub(super) async fn get(
    ssm: &Ssm,
    ctx: &RequestContext,
    raw: &str,
    decrypt: bool,
) -> Result<Result<ParameterOut, Miss>, SsmError> {
    let rest = raw
        .trim_start_matches('/')
        .strip_prefix(&REFERENCE_PREFIX[1..])
        .unwrap_or_default();
    let (secret_id, selector) = match rest.split_once(':') {
        None => (rest, None),
        Some((id, sel)) if !sel.is_empty() && !sel.contains(':') => (id, Some(sel)),
        Some(_) => {
            return Ok(Err(Miss::Version(SsmError::Validation(
                BAD_SELECTOR.to_owned(),
            ))));
        }
    };
    if !decrypt {
        return Ok(Err(Miss::Version(SsmError::Validation(
            "WithDecryption flag must be True for retrieving a Secret Manager secret.".to_owned(),
        ))));
    }
    let not_found = || {
        Miss::Parameter(SsmError::ParameterNotFound(format!(
            "An error occurred (ParameterNotFound) when referencing Secrets Manager: Secret {}{} not found.",
            &REFERENCE_PREFIX[1..],
            match selector {
                Some(s) => format!("{secret_id}:{s}"),
                // AWS prints the absent selector as "null".
                None => format!("{secret_id}null"),
            }
        )))
    };
    if secret_id.is_empty() {
        return Ok(Err(not_found()));
    }
    let sm = &ssm.secretsmanager;
    let first = match selector {
        Some(s) if looks_like_version_id(s) => sm.read_value(ctx, secret_id, Some(s), None).await,
        Some(s) => sm.read_value(ctx, secret_id, None, Some(s)).await,
        None => sm.read_value(ctx, secret_id, None, None).await,
    };
    // A selector that is not a staging label may be a version id of another form.
    let answer = match (first, selector) {
        (Err(SecretsManagerError::ResourceNotFound(_)), Some(s))
            if !looks_like_version_id(s) && (32..=64).contains(&s.len()) =>
        {
            sm.read_value(ctx, secret_id, Some(s), None).await
        }
        (other, _) => other,
    };
    let value = match answer {
        Ok(v) => v,
        Err(e) => return map_error(e, not_found),
    };
    let name = match selector {
        Some(s) => raw.strip_suffix(&format!(":{s}")).unwrap_or(raw),
        None => raw,
    };
    Ok(Ok(ParameterOut {
        name: name.to_owned(),
        param_type: "SecureString".to_owned(),
        // A binary secret has no string value to give.
        value: (!value.binary).then(|| ValueOut::Secret(value.value.clone())),
        version: 0,
        selector: selector.map(|s| format!(":{s}")),
        source_result: Some(ValueOut::Secret(source_result(&value))),
        last_modified_date: Epoch(value.created_at),
        arn: value.arn.clone(),
        data_type: None,
    }))
}

/// Secrets Manager's error as Parameter Store reports it.
fn map_error(
    e: SecretsManagerError,
    not_found: impl Fn() -> Miss,
) -> Result<Result<ParameterOut, Miss>, SsmError> {
    use SecretsManagerError as E;
    match e {
        E::ResourceNotFound(_) => Ok(Err(not_found())),
        // A secret scheduled for deletion, and other requests Secrets Manager refuses.
        E::InvalidRequest(_) | E::InvalidParameter(_) | E::Validation(_) => {
            Ok(Err(Miss::Parameter(SsmError::Validation(
                "Invalid Request to Secrets Manager".to_owned(),
            ))))
        }
        E::AccessDenied(m) => Err(SsmError::AccessDenied(m)),
        E::DecryptionFailure(m) => Err(SsmError::InvalidKeyId(m)),
        E::Internal(d) => Err(SsmError::Internal(d)),
        E::Unavailable(d) => Err(SsmError::Unavailable(d)),
        other => Err(SsmError::Internal(format!(
            "Secrets Manager answered a reference with {}",
            crate::ServiceError::code(&other)
        ))),
    }
}
