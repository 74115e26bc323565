//! AWS's `AccessDeniedException` wording.
//!
//! `User: ARN is not authorized to perform: ACTION on resource: RESOURCE` followed by the
//! reason, which names the policy type:
//! - implicit deny: `because no identity-based policy allows the ACTION action` (also
//!   `resource-based policy`, `permissions boundary`, `session policy`);
//! - explicit deny: `with an explicit deny in an identity-based policy` (also `a resource-based
//!   policy`, `a permissions boundary`, `a session policy`), followed by `: POLICY` when the
//!   deciding policy was labelled with [`crate::Policy::named`] (AWS names the policy's ARN).
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>

use crate::evaluate::{Decision, PolicyType};
use crate::request::Request;

impl PolicyType {
    /// The name AWS's messages use, without article.
    pub fn describe(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::Session => "session policy",
        }
    }

    fn article(self) -> &'static str {
        match self {
            PolicyType::Identity => "an",
            _ => "a",
        }
    }
}

/// The message for a denial (`None` if the decision allows). `resource` is left out of the
/// message when `None` or `*`, as AWS does for actions on no particular resource.
pub fn access_denied_message(
    principal_arn: &str,
    action: &str,
    resource: Option<&str>,
    decision: &Decision,
) -> Option<String> {
    // Formatted only for a refusal: an allowed decision (every request that passes) builds
    // no message.
    let head = || {
        let on = match resource {
            Some(r) if r != "*" => format!(" on resource: {r}"),
            _ => String::new(),
        };
        format!("User: {principal_arn} is not authorized to perform: {action}{on}")
    };
    match decision {
        Decision::Allow { .. } => None,
        Decision::ImplicitDeny { missing } => Some(format!(
            "{} because no {} allows the {action} action",
            head(),
            missing.describe()
        )),
        Decision::ExplicitDeny { statement } => {
            let t = statement.policy_type;
            let named = statement
                .policy_name
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            Some(format!(
                "{} with an explicit deny in {} {}{named}",
                head(),
                t.article(),
                t.describe()
            ))
        }
    }
}

impl Decision {
    /// [`access_denied_message`] for this request's principal, action and resource.
    pub fn denial_message(&self, request: &Request) -> Option<String> {
        access_denied_message(
            request.principal().arn(),
            request.action(),
            Some(request.resource()),
            self,
        )
    }
}
