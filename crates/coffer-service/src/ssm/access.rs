//! Authorisation of Parameter Store requests, called by each handler before it reads or writes:
//! `ssm:<Operation>` on the ARNs of the parameters it names
//! (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, the name without its leading `/`), the path's
//! subtree `parameter/PATH/` for GetParametersByPath, or `*` for operations on no parameter.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html>
//!
//! Another account's parameter (named by its full ARN) needs the caller's identity policies AND
//! the parameter's resource policies to allow, as AWS shares Advanced parameters; only the reads
//! a share grants (GetParameter, GetParameters, GetParameterHistory) consult those policies, so
//! a shared parameter is read-only for its consumers.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-shared-parameters.html>

use super::{Ssm, SsmError};
use crate::RequestContext;
use crate::authz::{AuthzError, ResourceSide};
use coffer_store::parameter_key;
use serde_json::Value;

/// The operations a parameter's resource policy can grant to another account.
const SHARED_READS: &[&str] = &["GetParameter", "GetParameters", "GetParameterHistory"];

/// The parameter ARN a name, `name:selector` or ARN stands for (selectors are not part of it).
fn resource_of(ctx: &RequestContext, raw: &str) -> String {
    let raw = raw.trim_matches(' ');
    if raw.starts_with("arn:") {
        // Drop a trailing `:selector` after the resource.
        let parts: Vec<&str> = raw.splitn(7, ':').collect();
        return parts.iter().take(6).copied().collect::<Vec<_>>().join(":");
    }
    let name = raw.split_once(':').map_or(raw, |(n, _)| n);
    super::names::arn(ctx, name)
}

/// `(account, region, key)` of a parameter ARN.
fn owner_of(resource: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let [_, _, _, region, account, rest] = parts[..] else {
        return None;
    };
    let name = rest.strip_prefix("parameter/")?;
    Some((account, region, parameter_key(name)))
}

/// A parameter's resource policies as one document: the union of their statements, which the
/// engine evaluates as it would the policies one by one (any Deny wins, any Allow allows).
fn merged(policies: &[String]) -> Option<String> {
    let mut statements = Vec::new();
    for text in policies {
        match serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|d| d.get("Statement").cloned())
        {
            Some(Value::Array(s)) => statements.extend(s),
            Some(s) => statements.push(s),
            None => {}
        }
    }
    (!statements.is_empty())
        .then(|| serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

impl Ssm {
    /// May the caller perform `op` on the parameter `raw` (a name, `name:selector` or ARN) names?
    pub(super) async fn authorize_name(
        &self,
        ctx: &RequestContext,
        op: &str,
        raw: &str,
    ) -> Result<(), SsmError> {
        let resource = resource_of(ctx, raw);
        self.authorize_resource(ctx, op, &resource).await
    }

    /// May the caller list `path`? Judged on the subtree under it, as `parameter/PATH/`: a grant
    /// on `parameter/prod/payments-api/*` covers listing `/prod/payments-api`, and one on
    /// `parameter/prod/payments-api/db` does not.
    pub(super) async fn authorize_path(
        &self,
        ctx: &RequestContext,
        op: &str,
        path: &str,
    ) -> Result<(), SsmError> {
        let p = path.trim_matches('/');
        let arn = super::names::arn(ctx, p);
        let resource = if p.is_empty() { arn } else { format!("{arn}/") };
        self.authorize_resource(ctx, op, &resource).await
    }

    /// May the caller perform `op`, which names no parameter (`*`)?
    pub(super) async fn authorize_any(
        &self,
        ctx: &RequestContext,
        op: &str,
    ) -> Result<(), SsmError> {
        self.authorize_resource(ctx, op, "*").await
    }

    async fn authorize_resource(
        &self,
        ctx: &RequestContext,
        op: &str,
        resource: &str,
    ) -> Result<(), SsmError> {
        let (owner, policy) = match owner_of(resource) {
            Some((account, region, key)) if account != ctx.account() => {
                let policy = if SHARED_READS.contains(&op) {
                    let records = self
                        .store
                        .list_resource_policies(account, region, key)
                        .await?;
                    merged(&records.into_iter().map(|r| r.policy).collect::<Vec<_>>())
                } else {
                    None
                };
                (account.to_owned(), policy)
            }
            // `--dev` callers are their own account's root: nothing to evaluate.
            _ if ctx.dev => return Ok(()),
            _ => (ctx.account().to_owned(), None),
        };
        let request = crate::authz::request(ctx, &format!("ssm:{op}"), resource);
        let side = ResourceSide {
            policy: policy.as_deref(),
            mode: coffer_policy::ResourceMode::Additive,
            account: &owner,
        };
        self.kms
            .authz()
            .check(ctx, &request, side)
            .await
            .map_err(|e| match e {
                AuthzError::Denied(m) => SsmError::AccessDenied(m),
                AuthzError::Store(e) => e.into(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn owners_and_merged_policies() {
        assert_eq!(
            owner_of("arn:aws:ssm:us-east-1:111111111111:parameter/a/b"),
            Some(("111111111111", "us-east-1", "a/b"))
        );
        assert_eq!(owner_of("*"), None);
        let one = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ssm:GetParameter","Resource":"*"}}"#;
        let two = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"ssm:GetParameter","Resource":"*"}]}"#;
        let doc: Value = serde_json::from_str(&merged(&[one.into(), two.into()]).unwrap()).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(merged(&[]), None);
    }
}
