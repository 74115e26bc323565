//! Resource policies that share Advanced parameters with other accounts: PutResourcePolicy,
//! GetResourcePolicies, DeleteResourcePolicy.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutResourcePolicy.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-shared-parameters.html>
//!
//! Policies are validated and stored here; [`super::access`] evaluates them when another account
//! reads the parameter by its ARN.

use super::names::own_target;
use super::seal::DEFAULT_KEY;
use super::{Empty, Ssm, SsmError, token};
use crate::RequestContext;
use coffer_store::{ResourcePolicyRecord, StoreError, StoredParameter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

/// AWS's size limit of one policy, in bytes.
pub const MAX_POLICY_BYTES: usize = 1024;
/// Policies per parameter.
pub const MAX_POLICIES: usize = 10;

fn malformed() -> SsmError {
    SsmError::MalformedResourcePolicyDocument(
        "The specified policy document is malformed or invalid, or excessive PutResourcePolicy or DeleteResourcePolicy calls have been made.".to_owned(),
    )
}

/// A policy document must pass the IAM grammar ([`coffer_policy::check`]) and, being a resource
/// policy, name a `Principal` in every statement.
fn check_policy(text: &str) -> Result<(), SsmError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(SsmError::ResourcePolicyLimitExceeded(format!(
            "The PutResourcePolicy API action enforces two limits. A policy can't be greater than {MAX_POLICY_BYTES} bytes in size. And only one policy can be attached to OpsItemGroup. Verify these limits and try again."
        )));
    }
    let problems = coffer_policy::check(text).map_err(|_| malformed())?;
    if !problems.is_empty() {
        return Err(malformed());
    }
    let doc: Value = serde_json::from_str(text).map_err(|_| malformed())?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s) => vec![s.clone()],
        None => Vec::new(),
    };
    if statements
        .iter()
        .all(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
    {
        Ok(())
    } else {
        Err(malformed())
    }
}

fn hash(text: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        text.as_bytes(),
    ))
}

impl Ssm {
    /// The parameter a policy request's ARN names.
    async fn shared(
        &self,
        ctx: &RequestContext,
        resource_arn: &str,
    ) -> Result<(String, StoredParameter), SsmError> {
        let not_found =
            || SsmError::ResourceNotFound(format!("The resource {resource_arn} was not found."));
        if !resource_arn.starts_with("arn:") {
            return Err(SsmError::ResourcePolicyInvalidParameter(
                "ResourceArn must be the ARN of a parameter.".to_owned(),
            ));
        }
        let t = own_target(ctx, resource_arn).map_err(|_| not_found())?;
        if t.selector.is_some() {
            return Err(not_found());
        }
        let stored = self.current(ctx, &t.key).await?.ok_or_else(not_found)?;
        Ok((t.key, stored))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    resource_arn: String,
    policy: String,
    policy_id: Option<String>,
    policy_hash: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyOutput {
    policy_id: String,
    policy_hash: String,
}

fn hash_mismatch() -> SsmError {
    SsmError::ResourcePolicyConflict(
        "The hash provided in the call doesn't match the stored hash. This exception is thrown when trying to update an obsolete policy version or when multiple requests to update a policy are sent.".to_owned(),
    )
}

fn policy_not_found() -> SsmError {
    SsmError::ResourcePolicyNotFound(
        "No policies with a matching PolicyId were found for the resource.".to_owned(),
    )
}

pub async fn put_resource_policy(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, SsmError> {
    ssm.authorize_any(ctx, "PutResourcePolicy").await?;
    let (key, stored) = ssm.shared(ctx, &input.resource_arn).await?;
    let p = &stored.parameter;
    if p.tier != super::put::ADVANCED {
        return Err(SsmError::ResourcePolicyInvalidParameter(
            "Only parameters in the advanced-parameter tier can be shared. Change the parameter to use the advanced-parameter tier, and try again.".to_owned(),
        ));
    }
    if p.param_type == "SecureString" && p.key_id.as_deref() == Some(DEFAULT_KEY) {
        return Err(SsmError::ResourcePolicyInvalidParameter(
            "A SecureString parameter encrypted with the AWS managed key can't be shared. Encrypt it with a customer managed key, share the key through AWS KMS, and try again.".to_owned(),
        ));
    }
    check_policy(&input.policy)?;
    let policy_hash = hash(&input.policy);
    match (input.policy_id, input.policy_hash) {
        (Some(policy_id), Some(expected)) => {
            let existing = ssm
                .store
                .list_resource_policies(ctx.account(), ctx.region(), &key)
                .await?;
            if !existing.iter().any(|e| e.policy_id == policy_id) {
                return Err(policy_not_found());
            }
            let record = ResourcePolicyRecord {
                policy_id: policy_id.clone(),
                policy_hash: policy_hash.clone(),
                policy: input.policy,
                created_at: ctx.now,
            };
            match ssm
                .store
                .replace_resource_policy(ctx.account(), ctx.region(), &key, &record, &expected)
                .await
            {
                Ok(()) => Ok(PutResourcePolicyOutput {
                    policy_id,
                    policy_hash,
                }),
                Err(StoreError::Conflict) => Err(hash_mismatch()),
                Err(e) => Err(e.into()),
            }
        }
        (Some(_), None) | (None, Some(_)) => Err(SsmError::ResourcePolicyInvalidParameter(
            "PolicyId and PolicyHash must be given together to update a policy.".to_owned(),
        )),
        (None, None) => {
            let record = ResourcePolicyRecord {
                policy_id: uuid::Uuid::new_v4().to_string(),
                policy_hash: policy_hash.clone(),
                policy: input.policy,
                created_at: ctx.now,
            };
            let added = ssm
                .store
                .create_resource_policy(ctx.account(), ctx.region(), &key, &record, MAX_POLICIES)
                .await?;
            if !added {
                return Err(SsmError::ResourcePolicyLimitExceeded(format!(
                    "A parameter can have at most {MAX_POLICIES} resource policies."
                )));
            }
            Ok(PutResourcePolicyOutput {
                policy_id: record.policy_id,
                policy_hash,
            })
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePoliciesInput {
    resource_arn: String,
    next_token: Option<String>,
    max_results: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyEntry {
    policy_id: String,
    policy_hash: String,
    policy: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePoliciesOutput {
    next_token: Option<String>,
    policies: Vec<PolicyEntry>,
}

const POLICIES_OP: &str = "GetResourcePolicies";

pub async fn get_resource_policies(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetResourcePoliciesInput,
) -> Result<GetResourcePoliciesOutput, SsmError> {
    ssm.authorize_any(ctx, "GetResourcePolicies").await?;
    let (key, _) = ssm.shared(ctx, &input.resource_arn).await?;
    let after = token::decode(POLICIES_OP, input.next_token.as_deref())?;
    let limit = input
        .max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(50);
    // At most MAX_POLICIES per parameter: paging in memory is bounded.
    let all = ssm
        .store
        .list_resource_policies(ctx.account(), ctx.region(), &key)
        .await?;
    let start = match &after {
        Some(id) => all
            .iter()
            .position(|p| &p.policy_id == id)
            .map(|i| i + 1)
            .ok_or_else(|| {
                SsmError::InvalidNextToken("The specified token isn't valid.".to_owned())
            })?,
        None => 0,
    };
    let rest = &all[start.min(all.len())..];
    let page = &rest[..limit.min(rest.len())];
    let next_token = (rest.len() > page.len())
        .then(|| {
            page.last()
                .map(|p| token::encode(POLICIES_OP, &p.policy_id))
        })
        .flatten();
    Ok(GetResourcePoliciesOutput {
        next_token,
        policies: page
            .iter()
            .map(|p| PolicyEntry {
                policy_id: p.policy_id.clone(),
                policy_hash: p.policy_hash.clone(),
                policy: p.policy.clone(),
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteResourcePolicyInput {
    resource_arn: String,
    policy_id: String,
    policy_hash: String,
}

pub async fn delete_resource_policy(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: DeleteResourcePolicyInput,
) -> Result<Empty, SsmError> {
    ssm.authorize_any(ctx, "DeleteResourcePolicy").await?;
    let (key, _) = ssm.shared(ctx, &input.resource_arn).await?;
    match ssm
        .store
        .delete_resource_policy(
            ctx.account(),
            ctx.region(),
            &key,
            &input.policy_id,
            &input.policy_hash,
        )
        .await
    {
        Ok(true) => Ok(Empty {}),
        Ok(false) => Err(policy_not_found()),
        Err(StoreError::Conflict) => Err(hash_mismatch()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn policies_are_checked() {
        let good = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":["ssm:GetParameter"],"Resource":"*"}]}"#;
        assert!(check_policy(good).is_ok());
        for bad in [
            "not json",
            "{}",
            r#"{"Statement":[]}"#,
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"x"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"x"}]}"#,
        ] {
            assert!(
                matches!(
                    check_policy(bad),
                    Err(SsmError::MalformedResourcePolicyDocument(_))
                ),
                "{bad}"
            );
        }
        let big = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"x","Sid":"{}"}}]}}"#,
            "s".repeat(1100)
        );
        assert!(matches!(
            check_policy(&big),
            Err(SsmError::ResourcePolicyLimitExceeded(_))
        ));
        assert_eq!(hash("a"), hash("a"));
        assert_ne!(hash("a"), hash("b"));
    }
}
