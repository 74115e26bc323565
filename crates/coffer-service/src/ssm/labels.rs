//! Labels: LabelParameterVersion, UnlabelParameterVersion.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-labels.html>
//!
//! A label names one version of a parameter; attaching it to another version moves it. A version
//! holds at most 10 labels. Labels that break the naming rules are not attached and come back in
//! `InvalidLabels`, as on AWS.

use super::names::{Unresolved, own_target, valid_label};
use super::{RETRIES, Ssm, SsmError, too_many_updates};
use crate::RequestContext;
use coffer_store::{LabelChange, StoreError, StoredParameter};
use serde::{Deserialize, Serialize};

/// Labels per version.
pub const MAX_LABELS: usize = 10;

impl Ssm {
    async fn labelled(
        &self,
        ctx: &RequestContext,
        raw: &str,
    ) -> Result<(String, StoredParameter), SsmError> {
        let not_found = || SsmError::ParameterNotFound(String::new());
        let t = own_target(ctx, raw).map_err(|u| match u {
            Unresolved::Invalid(_) => u.into_error(),
            _ => not_found(),
        })?;
        if t.selector.is_some() {
            return Err(not_found());
        }
        let stored = self.current(ctx, &t.key).await?.ok_or_else(not_found)?;
        Ok((t.key, stored))
    }

    /// Whether `version` of the parameter exists.
    async fn has_version(
        &self,
        ctx: &RequestContext,
        key: &str,
        stored: &StoredParameter,
        version: i64,
    ) -> Result<bool, SsmError> {
        Ok(version == stored.current.version
            || (version >= 1
                && version < stored.current.version
                && self
                    .store
                    .get_parameter_version(ctx.account(), ctx.region(), key, version)
                    .await?
                    .is_some()))
    }
}

fn version_not_found(version: i64, name: &str) -> SsmError {
    SsmError::ParameterVersionNotFound(format!(
        "Systems Manager could not find version {version} of {name}. Verify the version and try again."
    ))
}

/// Distinct labels in request order.
fn distinct(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionInput {
    name: String,
    parameter_version: Option<i64>,
    labels: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionOutput {
    invalid_labels: Vec<String>,
    parameter_version: i64,
}

pub async fn label_parameter_version(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: LabelParameterVersionInput,
) -> Result<LabelParameterVersionOutput, SsmError> {
    ssm.authorize_name(ctx, "LabelParameterVersion", &input.name)
        .await?;
    let labels = distinct(&input.labels);
    let (valid, invalid_labels): (Vec<String>, Vec<String>) =
        labels.into_iter().partition(|l| valid_label(l));
    for _ in 0..RETRIES {
        let (key, stored) = ssm.labelled(ctx, &input.name).await?;
        let version = input.parameter_version.unwrap_or(stored.current.version);
        if !ssm.has_version(ctx, &key, &stored, version).await? {
            return Err(version_not_found(version, &stored.parameter.name));
        }
        let on_version = stored.labels.iter().filter(|(_, v)| *v == version).count();
        let added = valid
            .iter()
            .filter(|l| !stored.labels.iter().any(|(x, v)| x == *l && *v == version))
            .count();
        if on_version + added > MAX_LABELS {
            return Err(SsmError::ParameterVersionLabelLimitExceeded(
                "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.".to_owned(),
            ));
        }
        let attach: Vec<(String, i64)> = valid.iter().map(|l| (l.clone(), version)).collect();
        match ssm
            .store
            .change_parameter_labels(LabelChange {
                account_id: ctx.account(),
                region: ctx.region(),
                key: &key,
                row_version: stored.parameter.row_version,
                attach: &attach,
                detach: &[],
                detach_from: version,
            })
            .await
        {
            Ok(()) => {
                return Ok(LabelParameterVersionOutput {
                    invalid_labels,
                    parameter_version: version,
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(too_many_updates())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionInput {
    name: String,
    parameter_version: i64,
    labels: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionOutput {
    removed_labels: Vec<String>,
    invalid_labels: Vec<String>,
}

/// Labels the version does not carry come back as invalid.
pub async fn unlabel_parameter_version(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: UnlabelParameterVersionInput,
) -> Result<UnlabelParameterVersionOutput, SsmError> {
    ssm.authorize_name(ctx, "UnlabelParameterVersion", &input.name)
        .await?;
    let labels = distinct(&input.labels);
    let version = input.parameter_version;
    for _ in 0..RETRIES {
        let (key, stored) = ssm.labelled(ctx, &input.name).await?;
        if !ssm.has_version(ctx, &key, &stored, version).await? {
            return Err(version_not_found(version, &stored.parameter.name));
        }
        let (removed, invalid): (Vec<String>, Vec<String>) = labels
            .iter()
            .cloned()
            .partition(|l| stored.labels.iter().any(|(x, v)| x == l && *v == version));
        if removed.is_empty() {
            return Ok(UnlabelParameterVersionOutput {
                removed_labels: removed,
                invalid_labels: invalid,
            });
        }
        match ssm
            .store
            .change_parameter_labels(LabelChange {
                account_id: ctx.account(),
                region: ctx.region(),
                key: &key,
                row_version: stored.parameter.row_version,
                attach: &[],
                detach: &removed,
                detach_from: version,
            })
            .await
        {
            Ok(()) => {
                return Ok(UnlabelParameterVersionOutput {
                    removed_labels: removed,
                    invalid_labels: invalid,
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(too_many_updates())
}
