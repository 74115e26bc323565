//! IAM's wire details: ISO timestamps, URL-encoded policy documents, ids, ARNs, JSON shapes.

use super::*;

pub(super) type R = Result<Value, IamError>;

/// AWS's ISO 8601 timestamps.
pub(crate) fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Policy documents in IAM's XML responses are URL-encoded, as AWS sends them.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn tags_of(tags: &[super::inputs::TagInput]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

pub(super) fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

pub(super) fn new_id(prefix: &str) -> Result<String, IamError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let raw = coffer_crypto::random::secret_bytes(17)
        .map_err(|e| IamError::ServiceFailure(e.to_string()))?;
    let tail: String = raw
        .expose()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{prefix}{tail}"))
}

pub(super) fn kind_word(kind: IamKind) -> &'static str {
    match kind {
        IamKind::User => "user",
        IamKind::Role => "role",
        IamKind::Group => "group",
    }
}

pub(super) fn no_such(kind: IamKind, name: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The {} with name {name} cannot be found.",
        kind_word(kind)
    ))
}

pub(super) fn entity_arn(account: &str, kind: IamKind, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind_word(kind))
}

/// Check an identity policy as IAM does before storing it: the grammar, and no `Principal`.
pub(crate) fn check_document(doc: &str) -> Result<(), IamError> {
    check_grammar(doc)?;
    if statements(doc)
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
    {
        return Err(IamError::MalformedPolicyDocument(
            "Policy document should not specify a principal.".to_owned(),
        ));
    }
    Ok(())
}

/// Check a role's trust policy: the grammar, and a `Principal` in every statement.
pub(crate) fn check_trust_document(doc: &str) -> Result<(), IamError> {
    check_grammar(doc)?;
    if statements(doc)
        .iter()
        .any(|s| s.get("Principal").is_none() && s.get("NotPrincipal").is_none())
    {
        return Err(IamError::MalformedPolicyDocument(
            "Has prohibited field Resource or is missing field Principal".to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn statements(doc: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(doc)
        .ok()
        .and_then(|d| d.get("Statement").cloned())
    {
        Some(Value::Array(list)) => list,
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

pub(super) fn check_grammar(doc: &str) -> Result<(), IamError> {
    match coffer_policy::check(doc) {
        Ok(problems) if problems.is_empty() => Ok(()),
        Ok(problems) => Err(IamError::MalformedPolicyDocument(
            problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_else(|| "Syntax errors in policy.".to_owned()),
        )),
        Err(_) => Err(IamError::MalformedPolicyDocument(
            "Syntax errors in policy.".to_owned(),
        )),
    }
}

pub(super) fn entity_json(e: &IamEntityRecord) -> Value {
    let (name_key, id_key) = match e.kind {
        IamKind::User => ("UserName", "UserId"),
        IamKind::Role => ("RoleName", "RoleId"),
        IamKind::Group => ("GroupName", "GroupId"),
    };
    let mut v = json!({
        "Path": e.path,
        name_key: e.name,
        id_key: e.id,
        "Arn": e.arn,
        "CreateDate": iso(e.created_at),
    });
    if e.kind == IamKind::Role {
        v["AssumeRolePolicyDocument"] = json!(url_encode(e.trust_policy.as_deref().unwrap_or("")));
        v["MaxSessionDuration"] = json!(e.max_session_duration.unwrap_or(3600));
        if let Some(d) = &e.description {
            v["Description"] = json!(d);
        }
    }
    if let Some(b) = &e.permissions_boundary {
        v["PermissionsBoundary"] =
            json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b});
    }
    if !e.tags.is_empty() {
        v["Tags"] = tags_json(&e.tags);
    }
    v
}

pub(super) fn policy_json(p: &ManagedPolicyRecord, attachments: i64) -> Value {
    json!({
        "PolicyName": p.name,
        "PolicyId": p.id,
        "Arn": p.arn,
        "Path": p.path,
        "DefaultVersionId": p.default_version,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": true,
        "Description": if p.description.is_empty() { Value::Null } else { json!(p.description) },
        "CreateDate": iso(p.created_at),
        "UpdateDate": iso(p.updated_at),
    })
}
