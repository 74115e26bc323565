//! Reading values: GetParameter, GetParameters, GetParameterHistory.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-versions.html>

use super::names::{Selector, Target, Unresolved, arn_in, target};
use super::policies::{self, InlinePolicy};
use super::reference::{self, REFERENCE_PREFIX};
use super::{Ssm, SsmError, ValueOut, token};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::{ParameterVersionRecord, StoredParameter};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// A `Parameter` of GetParameter(s) and GetParametersByPath.
#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterOut {
    pub name: String,
    #[serde(rename = "Type")]
    pub param_type: String,
    pub value: Option<ValueOut>,
    pub version: i64,
    pub selector: Option<String>,
    pub source_result: Option<ValueOut>,
    pub last_modified_date: Epoch,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub data_type: Option<String>,
}

/// Why a read found nothing to return.
#[derive(Debug)]
pub(super) enum Miss {
    /// No such parameter (or a malformed name): `ParameterNotFound` / `InvalidParameters`.
    Parameter(SsmError),
    /// The parameter exists, the version or label does not.
    Version(SsmError),
}

impl Miss {
    pub fn into_error(self) -> SsmError {
        match self {
            Self::Parameter(e) | Self::Version(e) => e,
        }
    }
}

fn version_not_found(name: &str, selector: &Selector) -> SsmError {
    match selector {
        Selector::Version(v) => SsmError::ParameterVersionNotFound(format!(
            "Systems Manager could not find version {v} of {name}. Verify the version and try again."
        )),
        Selector::Label(l) => SsmError::ParameterVersionNotFound(format!(
            "Systems Manager could not find label {l} of {name}. Verify the label and try again."
        )),
    }
}

/// The ARN of a stored parameter, in the account and region that own it.
pub(super) fn owner_arn(stored: &StoredParameter) -> String {
    let p = &stored.parameter;
    arn_in(&p.region, &p.account_id, &p.name)
}

impl Ssm {
    /// The parameter and version a target names.
    pub(super) async fn select(
        &self,
        ctx: &RequestContext,
        t: &Target,
    ) -> Result<Result<(StoredParameter, ParameterVersionRecord), Miss>, SsmError> {
        let Some(stored) = self
            .current_in(&t.account, &t.region, &t.key, ctx.now)
            .await?
        else {
            return Ok(Err(Miss::Parameter(SsmError::ParameterNotFound(
                String::new(),
            ))));
        };
        let wanted = match &t.selector {
            None => return Ok(Ok((stored.clone(), stored.current))),
            Some(Selector::Version(v)) => Some(*v),
            Some(Selector::Label(l)) => stored
                .labels
                .iter()
                .find(|(label, _)| label == l)
                .map(|(_, v)| *v),
        };
        let version = match wanted {
            Some(v) if v == stored.current.version => Some(stored.current.clone()),
            Some(v) => {
                self.store
                    .get_parameter_version(&t.account, &t.region, &t.key, v)
                    .await?
            }
            None => None,
        };
        Ok(match (version, &t.selector) {
            (Some(v), _) => Ok((stored, v)),
            (None, Some(sel)) => Err(Miss::Version(version_not_found(&t.name, sel))),
            (None, None) => Err(Miss::Parameter(SsmError::ParameterNotFound(String::new()))),
        })
    }

    /// A parameter version as GetParameter returns it, named `requested` if the request gave a
    /// name (AWS answers `/db` for a parameter created as `db` when asked for `/db`), else by
    /// its own name.
    pub(super) async fn parameter_out(
        &self,
        ctx: &RequestContext,
        stored: &StoredParameter,
        v: &ParameterVersionRecord,
        requested: Option<&str>,
        selector: Option<&Selector>,
        decrypt: bool,
    ) -> Result<ParameterOut, SsmError> {
        let arn = owner_arn(stored);
        Ok(ParameterOut {
            name: requested.unwrap_or(&stored.parameter.name).to_owned(),
            param_type: v.param_type.clone(),
            value: Some(
                self.value_out(ctx, &arn, v.version, &v.value, decrypt)
                    .await?,
            ),
            version: v.version,
            selector: selector.map(Selector::text),
            source_result: None,
            last_modified_date: Epoch(v.last_modified_at),
            arn,
            data_type: Some(v.data_type.clone()),
        })
    }

    /// One name of GetParameter(s): a parameter, or a Secrets Manager reference.
    async fn get_one(
        &self,
        ctx: &RequestContext,
        raw: &str,
        decrypt: bool,
    ) -> Result<Result<ParameterOut, Miss>, SsmError> {
        if raw
            .trim_start_matches('/')
            .starts_with(&REFERENCE_PREFIX[1..])
        {
            return reference::get(self, ctx, raw, decrypt).await;
        }
        let t = match target(ctx, raw) {
            Ok(t) => t,
            Err(u @ Unresolved::BadSelector) => return Ok(Err(Miss::Version(u.into_error()))),
            Err(u @ Unresolved::NotFound) => return Ok(Err(Miss::Parameter(u.into_error()))),
            // A malformed name fails the request, as PutParameter's would.
            Err(u @ Unresolved::Invalid(_)) => return Err(u.into_error()),
        };
        match self.select(ctx, &t).await? {
            Ok((stored, v)) => Ok(Ok(self
                .parameter_out(
                    ctx,
                    &stored,
                    &v,
                    t.requested.as_deref(),
                    t.selector.as_ref(),
                    decrypt,
                )
                .await?)),
            Err(miss) => Ok(Err(miss)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterInput {
    name: String,
    with_decryption: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterOutput {
    parameter: ParameterOut,
}

pub async fn get_parameter(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParameterInput,
) -> Result<GetParameterOutput, SsmError> {
    ssm.authorize_name(ctx, "GetParameter", &input.name).await?;
    let decrypt = input.with_decryption.unwrap_or(false);
    match ssm.get_one(ctx, &input.name, decrypt).await? {
        Ok(parameter) => Ok(GetParameterOutput { parameter }),
        Err(miss) => Err(miss.into_error()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersInput {
    names: Vec<String>,
    with_decryption: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersOutput {
    parameters: Vec<ParameterOut>,
    invalid_parameters: Vec<String>,
}

/// Names that name nothing are listed in `InvalidParameters`; a refusal (of access, of KMS) or
/// a malformed name fails the request. Parameters come back in alphabetical order, as AWS
/// documents (API_GetParameters: "listed in alphabetical order").
pub async fn get_parameters(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParametersInput,
) -> Result<GetParametersOutput, SsmError> {
    let mut names: Vec<&str> = Vec::with_capacity(input.names.len());
    for name in &input.names {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    for name in &names {
        ssm.authorize_name(ctx, "GetParameters", name).await?;
    }
    let decrypt = input.with_decryption.unwrap_or(false);
    let mut parameters = Vec::new();
    let mut invalid_parameters = Vec::new();
    for name in names {
        match ssm.get_one(ctx, name, decrypt).await? {
            Ok(p) => parameters.push(p),
            Err(_) => invalid_parameters.push(name.to_owned()),
        }
    }
    parameters.sort_by(|a: &ParameterOut, b: &ParameterOut| a.name.cmp(&b.name));
    Ok(GetParametersOutput {
        parameters,
        invalid_parameters,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryInput {
    name: String,
    with_decryption: Option<bool>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryOut {
    name: String,
    #[serde(rename = "Type")]
    param_type: String,
    key_id: Option<String>,
    last_modified_date: Epoch,
    last_modified_user: String,
    description: Option<String>,
    value: ValueOut,
    allowed_pattern: Option<String>,
    version: i64,
    labels: Vec<String>,
    tier: String,
    policies: Vec<InlinePolicy>,
    data_type: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryOutput {
    parameters: Vec<HistoryOut>,
    next_token: Option<String>,
}

const HISTORY_OP: &str = "GetParameterHistory";

pub async fn get_parameter_history(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParameterHistoryInput,
) -> Result<GetParameterHistoryOutput, SsmError> {
    ssm.authorize_name(ctx, "GetParameterHistory", &input.name)
        .await?;
    let not_found = || SsmError::ParameterNotFound(String::new());
    let t = target(ctx, &input.name).map_err(|u| match u {
        Unresolved::Invalid(_) => u.into_error(),
        _ => not_found(),
    })?;
    if t.selector.is_some() {
        return Err(not_found());
    }
    let stored = ssm
        .current_in(&t.account, &t.region, &t.key, ctx.now)
        .await?
        .ok_or_else(not_found)?;
    let after = token::decode(HISTORY_OP, input.next_token.as_deref())?
        .map(|c| c.parse::<i64>())
        .transpose()
        .map_err(|_| SsmError::InvalidNextToken("The specified token isn't valid.".to_owned()))?;
    let limit = input
        .max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(50);
    let mut versions = ssm
        .store
        .list_parameter_versions(&t.account, &t.region, &t.key, after, limit + 1)
        .await?;
    let more = versions.len() > limit;
    versions.truncate(limit);
    let decrypt = input.with_decryption.unwrap_or(false);
    let arn = owner_arn(&stored);
    let name = t.requested.as_deref().unwrap_or(&stored.parameter.name);
    let mut parameters = Vec::with_capacity(versions.len());
    for v in &versions {
        parameters.push(HistoryOut {
            name: name.to_owned(),
            param_type: v.param_type.clone(),
            key_id: v.key_id.clone(),
            last_modified_date: Epoch(v.last_modified_at),
            last_modified_user: v.last_modified_user.clone(),
            description: v.description.clone(),
            value: ssm
                .value_out(ctx, &arn, v.version, &v.value, decrypt)
                .await?,
            allowed_pattern: v.allowed_pattern.clone(),
            version: v.version,
            labels: v.labels.clone(),
            tier: v.tier.clone(),
            policies: policies::stored(v.policies.as_deref()),
            data_type: v.data_type.clone(),
        });
    }
    let next_token = more
        .then(|| {
            versions
                .last()
                .map(|v| token::encode(HISTORY_OP, &v.version.to_string()))
        })
        .flatten();
    Ok(GetParameterHistoryOutput {
        parameters,
        next_token,
    })
}
