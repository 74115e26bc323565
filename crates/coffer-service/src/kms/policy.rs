//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. Stored and returned now; the
//! access-control work evaluates them.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>

use super::keys::Empty;
use super::resolve::{Accept, Authorize, require_customer_managed};
use super::{Kms, KmsError};
use crate::RequestContext;
use serde::{Deserialize, Serialize};

/// A key has exactly one policy, named `default`.
const POLICY_NAME: &str = "default";

/// The policy AWS gives a key created without one: the account may manage it through IAM.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>
pub(crate) fn default_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// The policy of an AWS managed key: usable only through its service, only by its own account —
/// which is why sharing a secret encrypted with `aws/secretsmanager` across accounts fails.
pub(crate) fn managed_policy(account: &str, region: &str, service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": format!("auto-{service}-2"),
        "Statement": [
            {
                "Sid": format!("Allow access through {service} for all principals in the account that are authorized to use {service}"),
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": format!("{service}.{region}.amazonaws.com")
                }}
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*"
            }
        ]
    })
    .to_string()
}

/// A policy must be a JSON object with a `Statement`; returned as given.
pub(crate) fn check_policy(policy: &str) -> Result<String, KmsError> {
    let doc: serde_json::Value = serde_json::from_str(policy).map_err(|_| {
        KmsError::MalformedPolicyDocument("The new key policy is not valid JSON.".to_owned())
    })?;
    let statements = doc.get("Statement").ok_or_else(|| {
        KmsError::MalformedPolicyDocument("The new key policy must contain a Statement.".to_owned())
    })?;
    if !(statements.is_array() || statements.is_object()) {
        return Err(KmsError::MalformedPolicyDocument(
            "Statement must be an object or a list of objects.".to_owned(),
        ));
    }
    Ok(policy.to_owned())
}

fn check_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(_) => Err(KmsError::NotFound(
            "No such policy exists: the only policy name is \"default\".".to_owned(),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyInput {
    key_id: String,
    policy_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyOutput {
    policy: String,
    policy_name: &'static str,
}

pub async fn get_key_policy(
    kms: &Kms,
    ctx: &RequestContext,
    input: GetKeyPolicyInput,
) -> Result<GetKeyPolicyOutput, KmsError> {
    check_name(input.policy_name.as_deref())?;
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:GetKeyPolicy"),
        )
        .await?;
    Ok(GetKeyPolicyOutput {
        policy: key.policy,
        policy_name: POLICY_NAME,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyInput {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
}

pub async fn put_key_policy(
    kms: &Kms,
    ctx: &RequestContext,
    input: PutKeyPolicyInput,
) -> Result<Empty, KmsError> {
    check_name(input.policy_name.as_deref())?;
    let policy = check_policy(&input.policy)?;
    kms.modify(ctx, &input.key_id, "kms:PutKeyPolicy", |k| {
        require_customer_managed(k, "PutKeyPolicy")?;
        k.policy.clone_from(&policy);
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesInput {
    key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesOutput {
    policy_names: Vec<&'static str>,
    truncated: bool,
}

pub async fn list_key_policies(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListKeyPoliciesInput,
) -> Result<ListKeyPoliciesOutput, KmsError> {
    kms.resolve(
        ctx,
        &input.key_id,
        Accept::KeyOnly,
        Authorize::Action("kms:ListKeyPolicies"),
    )
    .await?;
    Ok(ListKeyPoliciesOutput {
        policy_names: vec![POLICY_NAME],
        truncated: false,
    })
}
