//! The few read operations the client side needs, typed, with the raw body kept for the agent.

use crate::client::AwsClient;
use crate::config::Service;
use crate::error::{Error, Result};
use base64::Engine as _;
use bytes::Bytes;
use coffer_types::SecretBytes;
use serde::Deserialize;
use std::collections::HashMap;

/// Which version of a secret: by id, by staging label, or `AWSCURRENT` when neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SecretSelector {
    pub secret_id: String,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
}

impl SecretSelector {
    pub fn current(secret_id: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            ..Self::default()
        }
    }

    /// The label this selector follows when it names no version id.
    pub fn stage(&self) -> &str {
        self.version_stage.as_deref().unwrap_or("AWSCURRENT")
    }
}

/// A GetSecretValue answer. `raw` is the body as received (it holds the value, so it is secret).
#[derive(Debug)]
pub struct SecretValue {
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub stages: Vec<String>,
    pub string: Option<SecretBytes>,
    pub binary: Option<SecretBytes>,
    pub raw: SecretBytes,
}

impl SecretValue {
    /// SecretString, else the decoded SecretBinary.
    pub fn bytes(&self) -> &[u8] {
        match (&self.string, &self.binary) {
            (Some(s), _) => s.expose(),
            (None, Some(b)) => b.expose(),
            (None, None) => &[],
        }
    }
}

#[derive(Debug)]
pub struct SecretDescription {
    pub arn: String,
    pub name: String,
    pub versions_to_stages: HashMap<String, Vec<String>>,
    pub deleted: bool,
}

impl SecretDescription {
    /// The version holding `stage`, if any.
    pub fn version_with_stage(&self, stage: &str) -> Option<&str> {
        self.versions_to_stages
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(v, _)| v.as_str())
    }
}

/// A GetParameter answer.
#[derive(Debug)]
pub struct ParameterValue {
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub arn: String,
    pub value: SecretBytes,
    pub raw: SecretBytes,
}

/// Take the body's allocation for the secret wrapper (no copy when the buffer is unshared).
pub fn secret_body(body: Bytes) -> SecretBytes {
    SecretBytes::new(Vec::from(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueOut {
    #[serde(rename = "ARN", default)]
    arn: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version_id: String,
    #[serde(default)]
    version_stages: Vec<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeSecretOut {
    #[serde(rename = "ARN", default)]
    arn: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version_ids_to_stages: HashMap<String, Vec<String>>,
    deleted_date: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterOut {
    parameter: ParameterOut,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterOut {
    name: String,
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(default)]
    version: i64,
    #[serde(rename = "ARN", default)]
    arn: String,
    value: String,
}

fn unexpected(operation: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!(
        "{operation}: the endpoint answered 200 with a body that is not the AWS shape: {e}"
    ))
}

/// The VersionId of a GetSecretValue body, without copying the value out.
pub fn secret_version_of(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct V {
        #[serde(rename = "VersionId")]
        version_id: Option<String>,
    }
    serde_json::from_slice::<V>(raw).ok()?.version_id
}

/// The Version of a GetParameter body, without copying the value out.
pub fn parameter_version_of(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct P {
        #[serde(rename = "Version")]
        version: Option<i64>,
    }
    #[derive(Deserialize)]
    struct O {
        #[serde(rename = "Parameter")]
        parameter: P,
    }
    Some(
        serde_json::from_slice::<O>(raw)
            .ok()?
            .parameter
            .version?
            .to_string(),
    )
}

pub fn parse_secret_value(raw: SecretBytes) -> Result<SecretValue> {
    let out: GetSecretValueOut =
        serde_json::from_slice(raw.expose()).map_err(|e| unexpected("GetSecretValue", e))?;
    let binary = match out.secret_binary {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| unexpected("GetSecretValue", e))?;
            drop(SecretBytes::new(b64.into_bytes()));
            Some(SecretBytes::new(bytes))
        }
        None => None,
    };
    Ok(SecretValue {
        arn: out.arn,
        name: out.name,
        version_id: out.version_id,
        stages: out.version_stages,
        string: out.secret_string.map(|s| SecretBytes::new(s.into_bytes())),
        binary,
        raw,
    })
}

pub fn parse_parameter(raw: SecretBytes) -> Result<ParameterValue> {
    let out: GetParameterOut =
        serde_json::from_slice(raw.expose()).map_err(|e| unexpected("GetParameter", e))?;
    let p = out.parameter;
    Ok(ParameterValue {
        name: p.name,
        kind: p.kind,
        version: p.version,
        arn: p.arn,
        value: SecretBytes::new(p.value.into_bytes()),
        raw,
    })
}

impl AwsClient {
    pub async fn get_secret_value_raw(&self, sel: &SecretSelector) -> Result<SecretBytes> {
        let mut input = serde_json::json!({ "SecretId": sel.secret_id });
        if let Some(v) = &sel.version_id {
            input["VersionId"] = v.clone().into();
        }
        if let Some(s) = &sel.version_stage {
            input["VersionStage"] = s.clone().into();
        }
        let body = self
            .call(Service::SecretsManager, "GetSecretValue", &input)
            .await?;
        Ok(secret_body(body))
    }

    pub async fn get_secret_value(&self, sel: &SecretSelector) -> Result<SecretValue> {
        parse_secret_value(self.get_secret_value_raw(sel).await?)
    }

    pub async fn describe_secret(&self, secret_id: &str) -> Result<SecretDescription> {
        let body = self
            .call(
                Service::SecretsManager,
                "DescribeSecret",
                &serde_json::json!({ "SecretId": secret_id }),
            )
            .await?;
        let out: DescribeSecretOut =
            serde_json::from_slice(&body).map_err(|e| unexpected("DescribeSecret", e))?;
        Ok(SecretDescription {
            arn: out.arn,
            name: out.name,
            versions_to_stages: out.version_ids_to_stages,
            deleted: out.deleted_date.is_some_and(|d| !d.is_null()),
        })
    }

    /// GetParameter; `name` may carry a `:version` or `:label` selector.
    pub async fn get_parameter_raw(
        &self,
        name: &str,
        with_decryption: bool,
    ) -> Result<SecretBytes> {
        let body = self
            .call(
                Service::Ssm,
                "GetParameter",
                &serde_json::json!({ "Name": name, "WithDecryption": with_decryption }),
            )
            .await?;
        Ok(secret_body(body))
    }

    pub async fn get_parameter(&self, name: &str, with_decryption: bool) -> Result<ParameterValue> {
        parse_parameter(self.get_parameter_raw(name, with_decryption).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_and_binary_secrets() {
        let v = parse_secret_value(SecretBytes::from(
            br#"{"ARN":"a","Name":"n","VersionId":"v1","VersionStages":["AWSCURRENT"],"SecretString":"s3cr3t","CreatedDate":1.5}"#.as_slice(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.bytes(), b"s3cr3t");
        assert_eq!(v.version_id, "v1");
        let v = parse_secret_value(SecretBytes::from(
            br#"{"ARN":"a","Name":"n","VersionId":"v1","SecretBinary":"AAEC"}"#.as_slice(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.bytes(), &[0, 1, 2]);
    }
}
