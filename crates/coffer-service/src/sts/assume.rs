//! AssumeRole: temporary credentials for a role whose trust policy lets the caller in.
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>

use super::{Sts, StsError};
use crate::RequestContext;
use crate::authz::{AuthzError, ResourceSide, Session};
use coffer_store::IamKind;
use serde_json::{Value, json};

fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn denied(ctx: &RequestContext, role_arn: &str) -> StsError {
    StsError::AccessDenied(format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        ctx.principal.arn
    ))
}

/// The role an ARN names: (account, name).
pub(super) fn role_of(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("role/")?;
    let name = path_name.rsplit('/').next()?;
    (account.len() == 12 && !name.is_empty()).then(|| (account.to_owned(), name.to_owned()))
}

/// The tag that makes a role break-glass: assumable only through an approved break-glass
/// request (`coffer breakglass`), never by AssumeRole or AssumeRoleWithWebIdentity.
pub const BREAK_GLASS_TAG: &str = "coffer:break-glass";

/// Does the role carry `coffer:break-glass` = `true`?
pub fn is_break_glass(role: &coffer_store::IamEntityRecord) -> bool {
    role.tags
        .iter()
        .any(|t| t.key == BREAK_GLASS_TAG && t.value.eq_ignore_ascii_case("true"))
}

pub(super) fn refuse_break_glass(
    ctx: &RequestContext,
    role: &coffer_store::IamEntityRecord,
) -> Result<(), StsError> {
    if is_break_glass(role) {
        return Err(StsError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}: it is a break-glass role, activated only through an approved break-glass request (coffer breakglass request)",
            ctx.principal.arn, role.arn
        )));
    }
    Ok(())
}

pub async fn assume_role(sts: &Sts, ctx: &RequestContext, input: Value) -> Result<Value, StsError> {
    let role_arn = str_of(&input, "RoleArn").unwrap_or_default();
    let session_name = str_of(&input, "RoleSessionName").unwrap_or_default();
    let (account, name) =
        role_of(role_arn).ok_or_else(|| StsError::Validation(format!("{role_arn} is invalid")))?;
    let role = sts
        .store
        .get_entity(&account, IamKind::Role, &name)
        .await
        .map_err(|e| StsError::Internal(e.to_string()))?
        .ok_or_else(|| denied(ctx, role_arn))?;
    refuse_break_glass(ctx, &role)?;

    // The trust policy must allow the caller (Required), and — same account, when it names
    // the account, or cross-account always — the caller's identity policy too.
    let mut r = crate::authz::request(ctx, "sts:AssumeRole", &role.arn)
        .with("sts:RoleSessionName", session_name);
    if let Some(x) = str_of(&input, "ExternalId") {
        r = r.with("sts:ExternalId", x);
    }
    if let Some(x) = str_of(&input, "SourceIdentity") {
        r = r.with("sts:SourceIdentity", x);
    }
    let tags: Vec<(String, String)> = input
        .get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some((str_of(t, "Key")?.to_owned(), str_of(t, "Value")?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in &tags {
        r = r.with(&format!("aws:RequestTag/{k}"), v.clone());
    }
    if !tags.is_empty() {
        r = r.with_values("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()));
    }
    let trust = role.trust_policy.as_deref().unwrap_or("{}");
    // --dev allows everything, except that the trust policy must still exist to be a role.
    sts.authz
        .check(
            ctx,
            &r,
            ResourceSide {
                policy: Some(trust),
                mode: coffer_policy::ResourceMode::Required,
                account: &account,
            },
        )
        .await
        .map_err(|e| match e {
            AuthzError::Denied(_) => denied(ctx, role_arn),
            AuthzError::Store(e) => StsError::Internal(e.to_string()),
        })?;

    let max = role.max_session_duration.unwrap_or(3600);
    let duration = input
        .get("DurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    // Role chaining limits a session to one hour.
    let max = if ctx.principal.session.is_some() {
        max.min(3600)
    } else {
        max
    };
    if duration > max {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }

    let mut session_policies = Vec::new();
    if let Some(p) = str_of(&input, "Policy") {
        match coffer_policy::check(p) {
            Ok(problems) if problems.is_empty() => session_policies.push(p.to_owned()),
            _ => {
                return Err(StsError::MalformedPolicyDocument(
                    "The policy is not in the valid JSON format.".to_owned(),
                ));
            }
        }
    }
    if let Some(arns) = input.get("PolicyArns").and_then(Value::as_array) {
        for a in arns.iter().filter_map(|a| str_of(a, "arn")) {
            let owner = a
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.split_once(':'))
                .map(|(acct, _)| acct.to_owned())
                .unwrap_or_default();
            let p = sts
                .store
                .get_managed_policy(&owner, a)
                .await
                .map_err(|e| StsError::Internal(e.to_string()))?
                .ok_or_else(|| {
                    StsError::Validation(format!("Policy {a} does not exist or is not attachable."))
                })?;
            let v = sts
                .store
                .get_policy_version(&owner, &p.name, &p.default_version)
                .await
                .map_err(|e| StsError::Internal(e.to_string()))?
                .ok_or_else(|| StsError::Internal("policy without its default version".into()))?;
            session_policies.push(v.document);
        }
    }
    // The role's tags, overridden by session tags of the same key (aws:PrincipalTag/*).
    let mut principal_tags: Vec<(String, String)> = role
        .tags
        .iter()
        .filter(|t| !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&t.key)))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    principal_tags.extend(tags);
    let out = issue(
        sts,
        &role,
        &account,
        session_name,
        duration,
        session_policies,
        principal_tags,
        str_of(&input, "SourceIdentity").map(str::to_owned),
        ctx.now,
    )?;
    Ok(out)
}

/// Issue a session of `role` and render AssumeRole's output members.
#[allow(clippy::too_many_arguments)]
pub(super) fn issue(
    sts: &Sts,
    role: &coffer_store::IamEntityRecord,
    account: &str,
    session_name: &str,
    duration: i64,
    session_policies: Vec<String>,
    tags: Vec<(String, String)>,
    source_identity: Option<String>,
    now_ms: i64,
) -> Result<Value, StsError> {
    let now_s = now_ms / 1000;
    let session = Session {
        role_arn: role.arn.clone(),
        role_name: role.name.clone(),
        session_name: session_name.to_owned(),
        session_policies,
        tags,
        source_identity,
        expires_at: now_s + duration,
        incident: None,
    };
    let user_id = format!("{}:{session_name}", role.id);
    let account_id = coffer_types::AccountId::parse(account)
        .map_err(|_| StsError::Internal("bad role account".into()))?;
    let (key, token) = sts
        .identity
        .issue_session(&account_id, &user_id, &session)
        .map_err(|e| StsError::Internal(e.to_string()))?;
    let mut out = json!({
        "Credentials": {
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": String::from_utf8_lossy(key.secret_access_key.expose()),
            "SessionToken": token,
            "Expiration": crate::iam::iso(session.expires_at * 1000),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": user_id,
            "Arn": format!("arn:aws:sts::{account}:assumed-role/{}/{session_name}", role.name),
        },
        "PackedPolicySize": 0,
    });
    if let Some(si) = &session.source_identity {
        out["SourceIdentity"] = json!(si);
    }
    Ok(out)
}
