//! Resource policies: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy,
//! ValidateResourcePolicy. Stored and validated now; evaluated by the access-control work through
//! [`SecretsManager::authorize`].
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html>

use super::secrets::ArnAndName;
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// A policy that parses and passes the grammar checks, or AWS's refusal.
fn well_formed(policy: &str) -> Result<(), E> {
    let problems = coffer_policy::check(policy).map_err(|_| {
        E::MalformedPolicyDocument("The resource policy is not valid JSON.".to_owned())
    })?;
    match problems.first() {
        None => Ok(()),
        Some(p) => Err(E::MalformedPolicyDocument(format!(
            "The resource policy is malformed: {}",
            p.message
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    secret_id: String,
    resource_policy: String,
    block_public_policy: Option<bool>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html>
pub async fn put_resource_policy(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: PutResourcePolicyInput,
) -> Result<ArnAndName, E> {
    well_formed(&input.resource_policy)?;
    if input.block_public_policy.unwrap_or(false)
        && coffer_policy::is_public(&input.resource_policy)
    {
        return Err(E::PublicPolicy(
            "This resource policy contains a statement that grants public access to the secret."
                .to_owned(),
        ));
    }
    let s = sm
        .edit(
            ctx,
            &input.secret_id,
            "secretsmanager:PutResourcePolicy",
            |s| {
                s.policy = Some(input.resource_policy.clone());
                Ok(())
            },
        )
        .await?;
    Ok(ArnAndName {
        arn: s.arn,
        name: s.name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdInput {
    secret_id: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    resource_policy: Option<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetResourcePolicy.html>
pub async fn get_resource_policy(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: SecretIdInput,
) -> Result<GetResourcePolicyOutput, E> {
    let s = sm
        .find(ctx, &input.secret_id, "secretsmanager:GetResourcePolicy")
        .await?;
    Ok(GetResourcePolicyOutput {
        arn: s.arn,
        name: s.name,
        resource_policy: s.policy,
    })
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteResourcePolicy.html>
pub async fn delete_resource_policy(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: SecretIdInput,
) -> Result<ArnAndName, E> {
    let s = sm
        .edit(
            ctx,
            &input.secret_id,
            "secretsmanager:DeleteResourcePolicy",
            |s| {
                s.policy = None;
                Ok(())
            },
        )
        .await?;
    Ok(ArnAndName {
        arn: s.arn,
        name: s.name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyInput {
    secret_id: Option<String>,
    resource_policy: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyOutput {
    policy_validation_passed: bool,
    validation_errors: Vec<ValidationEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationEntry {
    check_name: String,
    error_message: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html>
pub async fn validate_resource_policy(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ValidateResourcePolicyInput,
) -> Result<ValidateResourcePolicyOutput, E> {
    if let Some(id) = &input.secret_id {
        sm.find(ctx, id, "secretsmanager:ValidateResourcePolicy")
            .await?;
    }
    let mut errors: Vec<ValidationEntry> = coffer_policy::check(&input.resource_policy)
        .map_err(|_| {
            E::MalformedPolicyDocument("The resource policy is not valid JSON.".to_owned())
        })?
        .into_iter()
        .map(|p| ValidationEntry {
            check_name: p.check.to_owned(),
            error_message: p.message,
        })
        .collect();
    if coffer_policy::is_public(&input.resource_policy) {
        errors.push(ValidationEntry {
            check_name: "BLOCK_PUBLIC_POLICY".to_owned(),
            error_message: "The policy grants public access to the secret.".to_owned(),
        });
    }
    Ok(ValidateResourcePolicyOutput {
        policy_validation_passed: errors.is_empty(),
        validation_errors: errors,
    })
}
