//! DeleteParameter, DeleteParameters: a parameter goes with all its versions, labels, tags and
//! resource policies, at once.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html>

use super::names::{Unresolved, own_target};
use super::{Empty, Ssm, SsmError};
use crate::RequestContext;
use serde::{Deserialize, Serialize};

impl Ssm {
    /// Delete the parameter a name or ARN names. False if there is none (selectors name versions,
    /// which cannot be deleted alone); a malformed name is refused, never resolved to another.
    async fn delete_named(&self, ctx: &RequestContext, raw: &str) -> Result<bool, SsmError> {
        let t = match own_target(ctx, raw) {
            Ok(t) => t,
            Err(u @ Unresolved::Invalid(_)) => return Err(u.into_error()),
            Err(_) => return Ok(false),
        };
        if t.selector.is_some() || self.current(ctx, &t.key).await?.is_none() {
            return Ok(false);
        }
        Ok(self
            .store
            .delete_parameter(ctx.account(), ctx.region(), &t.key, None)
            .await?)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameterInput {
    name: String,
}

pub async fn delete_parameter(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: DeleteParameterInput,
) -> Result<Empty, SsmError> {
    ssm.authorize_name(ctx, "DeleteParameter", &input.name)
        .await?;
    if ssm.delete_named(ctx, &input.name).await? {
        Ok(Empty {})
    } else {
        Err(SsmError::ParameterNotFound(String::new()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersInput {
    names: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersOutput {
    deleted_parameters: Vec<String>,
    invalid_parameters: Vec<String>,
}

/// Each name is deleted on its own; names that name nothing are reported, not refused.
pub async fn delete_parameters(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: DeleteParametersInput,
) -> Result<DeleteParametersOutput, SsmError> {
    for name in &input.names {
        ssm.authorize_name(ctx, "DeleteParameters", name).await?;
        if let Err(u @ Unresolved::Invalid(_)) = own_target(ctx, name) {
            // Checked before any deletion: a failed request deletes nothing.
            return Err(u.into_error());
        }
    }
    let mut deleted_parameters = Vec::new();
    let mut invalid_parameters = Vec::new();
    for name in &input.names {
        if deleted_parameters.contains(name) || invalid_parameters.contains(name) {
            continue;
        }
        if ssm.delete_named(ctx, name).await? {
            deleted_parameters.push(name.clone());
        } else {
            invalid_parameters.push(name.clone());
        }
    }
    Ok(DeleteParametersOutput {
        deleted_parameters,
        invalid_parameters,
    })
}
