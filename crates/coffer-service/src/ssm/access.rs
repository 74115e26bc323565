//! Authorisation of Parameter Store requests: each operation is `ssm:<Operation>` on the ARNs
//! of the parameters it names (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, the name without
//! its leading `/`), the path's subtree `parameter/PATH/` for GetParametersByPath, or `*` for
//! operations on no parameter.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html>

use super::{Ssm, SsmError};
use crate::RequestContext;
use crate::authz::{AuthzError, ResourceSide};
use serde_json::Value;

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

impl Ssm {
    /// May the caller perform `op` with `input`? Checked before the operation runs.
    pub async fn authorize(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
    ) -> Result<(), SsmError> {
        if ctx.dev {
            return Ok(());
        }
        let action = format!("ssm:{op}");
        let mut resources: Vec<String> = Vec::new();
        if let Some(n) = input.get("Name").and_then(Value::as_str) {
            resources.push(resource_of(ctx, n));
        }
        if let Some(names) = input.get("Names").and_then(Value::as_array) {
            resources.extend(
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|n| resource_of(ctx, n)),
            );
        }
        if let Some(p) = input.get("Path").and_then(Value::as_str) {
            // The subtree under the path, as `parameter/PATH/`: a grant on
            // `parameter/prod/payments-api/*` covers listing `/prod/payments-api`, and one on
            // `parameter/prod/payments-api/db` does not.
            let p = p.trim_matches('/');
            let arn = super::names::arn(ctx, p);
            resources.push(if p.is_empty() { arn } else { format!("{arn}/") });
        }
        if let (Some(id), Some("Parameter")) = (
            input.get("ResourceId").and_then(Value::as_str),
            input.get("ResourceType").and_then(Value::as_str),
        ) {
            resources.push(resource_of(ctx, id));
        }
        if resources.is_empty() {
            resources.push("*".to_owned());
        }
        let authz = self.kms.authz();
        for resource in resources {
            let r = crate::authz::request(ctx, &action, &resource);
            let side = ResourceSide {
                policy: None,
                mode: coffer_policy::ResourceMode::Additive,
                account: ctx.account(),
            };
            authz.check(ctx, &r, side).await.map_err(|e| match e {
                AuthzError::Denied(m) => SsmError::AccessDenied(m),
                AuthzError::Store(e) => e.into(),
            })?;
        }
        Ok(())
    }
}
