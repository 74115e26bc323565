//! The grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
//! RevokeGrant.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html>

use super::{
    COMMON_OPERATIONS, CONTEXT_OPERATIONS, GrantConstraints, Grantee, check_grant_id, grant_token,
    grantee_of, operations_for, parse_token, root_arn, valid_principal,
};
use crate::RequestContext;
use crate::kms::keys::Empty;
use crate::kms::resolve::{Accept, Authorize, arn_of, require_enabled};
use crate::kms::{Kms, KmsError, marker};
use crate::wire::Epoch;
use coffer_store::{GrantFilter, GrantRecord, KeyRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::collections::BTreeSet;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantInput {
    key_id: String,
    grantee_principal: String,
    retiring_principal: Option<String>,
    operations: Vec<String>,
    constraints: Option<GrantConstraints>,
    name: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantOutput {
    grant_token: String,
    grant_id: String,
}

pub async fn create_grant(
    kms: &Kms,
    ctx: &RequestContext,
    input: CreateGrantInput,
) -> Result<CreateGrantOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Skip {
                why: "authorised below, with the grant's condition keys",
            },
        )
        .await?;
    let constraints = input.constraints.clone().unwrap_or_default();
    let operations: BTreeSet<String> = input.operations.iter().cloned().collect();
    authorize_create(kms, ctx, &key, &input, &operations, &constraints).await?;
    require_enabled(&key)?;
    check_grant(&key, &input, &operations, &constraints)?;
    crate::kms::crypto::dry_run(input.dry_run)?;

    let key_arn = arn_of(&key);
    let existing = match &input.name {
        Some(name) => same_named(kms, &key, name, &input, &operations, &constraints).await?,
        None => None,
    };
    let grant_id = match existing {
        Some(id) => id,
        None => insert_grant(kms, ctx, &key, &input, operations, &constraints).await?,
    };
    Ok(CreateGrantOutput {
        grant_token: grant_token(&key_arn, &grant_id)?,
        grant_id,
    })
}

/// `kms:CreateGrant` by policy, with the grant's condition keys; or, failing that, through a
/// grant of the caller's that lists CreateGrant, for at most that grant's operations and
/// constraints.
async fn authorize_create(
    kms: &Kms,
    ctx: &RequestContext,
    key: &KeyRecord,
    input: &CreateGrantInput,
    operations: &BTreeSet<String>,
    constraints: &GrantConstraints,
) -> Result<(), KmsError> {
    let mut extra = vec![
        (
            "kms:GrantOperations",
            operations.iter().cloned().collect::<Vec<_>>(),
        ),
        (
            "kms:GranteePrincipal",
            vec![input.grantee_principal.clone()],
        ),
        ("kms:GrantIsForAWSResource", vec!["false".to_owned()]),
    ];
    if let Some(r) = &input.retiring_principal {
        extra.push(("kms:RetiringPrincipal", vec![r.clone()]));
    }
    let types = constraints.types();
    if !types.is_empty() {
        extra.push(("kms:GrantConstraintType", types));
    }
    let refusal = match kms
        .policy_decision(ctx, key, "kms:CreateGrant", None, &extra)
        .await?
    {
        Ok(()) => return Ok(()),
        Err(r) => r,
    };
    let denied = KmsError::AccessDenied(refusal.message);
    if refusal.explicit {
        return Err(denied);
    }
    let Some(parent) = kms
        .grant_allowing(ctx, key, "kms:CreateGrant", None)
        .await?
    else {
        return Err(denied);
    };
    let parent_constraints = GrantConstraints::from_record(&parent);
    let within_ops = operations.iter().all(|o| parent.operations.contains(o));
    if within_ops && constraints.within(&parent_constraints) {
        Ok(())
    } else {
        Err(denied)
    }
}

/// What AWS checks of a grant before it creates it.
fn check_grant(
    key: &KeyRecord,
    input: &CreateGrantInput,
    operations: &BTreeSet<String>,
    constraints: &GrantConstraints,
) -> Result<(), KmsError> {
    for p in std::iter::once(&input.grantee_principal).chain(&input.retiring_principal) {
        if !valid_principal(p) {
            return Err(KmsError::InvalidArn(format!("ARN {p} is not valid.")));
        }
    }
    let supported = operations_for(key);
    let unsupported: Vec<&str> = operations
        .iter()
        .map(String::as_str)
        .filter(|o| !supported.contains(o) && !COMMON_OPERATIONS.contains(o))
        .collect();
    if !unsupported.is_empty() {
        return Err(KmsError::Validation(format!(
            "Grant operations {} are not valid for a KMS key with KeyUsage {} and KeySpec {}.",
            unsupported.join(", "),
            key.key_usage,
            key.key_spec
        )));
    }
    if !constraints.is_empty() {
        let without_context: Vec<&str> = operations
            .iter()
            .map(String::as_str)
            .filter(|o| !CONTEXT_OPERATIONS.contains(o) && !COMMON_OPERATIONS.contains(o))
            .collect();
        if !without_context.is_empty() {
            return Err(KmsError::Validation(format!(
                "Grant constraints are not supported for operations {}: they take no encryption context.",
                without_context.join(", ")
            )));
        }
    }
    Ok(())
}

/// CreateGrant with a Name is idempotent: the same name, grantee, retiring principal,
/// operations and constraints on the same key answer the existing grant's id.
async fn same_named(
    kms: &Kms,
    key: &KeyRecord,
    name: &str,
    input: &CreateGrantInput,
    operations: &BTreeSet<String>,
    constraints: &GrantConstraints,
) -> Result<Option<String>, KmsError> {
    let grants = kms
        .store
        .key_grants(&key.account_id, &key.region, &key.key_id)
        .await?;
    Ok(grants
        .into_iter()
        .find(|g| {
            g.name == name
                && g.grantee_principal == input.grantee_principal
                && g.retiring_principal == input.retiring_principal
                && g.operations.iter().cloned().collect::<BTreeSet<_>>() == *operations
                && GrantConstraints::from_record(g) == *constraints
        })
        .map(|g| g.grant_id))
}

async fn insert_grant(
    kms: &Kms,
    ctx: &RequestContext,
    key: &KeyRecord,
    input: &CreateGrantInput,
    operations: BTreeSet<String>,
    constraints: &GrantConstraints,
) -> Result<String, KmsError> {
    let mut id = [0u8; 32];
    coffer_crypto::random::fill(&mut id).map_err(crate::error::crypto::<KmsError>)?;
    let grant_id = hex::encode(id);
    let constraints = if constraints.is_empty() {
        None
    } else {
        Some(serde_json::to_string(constraints).map_err(|e| KmsError::Internal(e.to_string()))?)
    };
    let record = GrantRecord {
        account_id: key.account_id.clone(),
        region: key.region.clone(),
        key_id: key.key_id.clone(),
        grant_id: grant_id.clone(),
        name: input.name.clone().unwrap_or_default(),
        grantee_principal: input.grantee_principal.clone(),
        retiring_principal: input.retiring_principal.clone(),
        operations: operations.into_iter().collect(),
        constraints,
        issuing_account: ctx.account().to_owned(),
        created_at: ctx.now,
    };
    match kms.store.create_grant(&record).await {
        Ok(()) => Ok(grant_id),
        // 256 random bits do not collide; if the store says they did, it is broken.
        Err(StoreError::Conflict) => Err(KmsError::Internal("grant id collision".to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// AWS's `GrantListEntry`.
#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    key_id: String,
    grant_id: String,
    name: Option<String>,
    creation_date: Epoch,
    grantee_principal: String,
    retiring_principal: Option<String>,
    issuing_account: String,
    operations: Vec<String>,
    constraints: Option<GrantConstraints>,
}

impl From<GrantRecord> for GrantListEntry {
    fn from(g: GrantRecord) -> Self {
        let constraints = GrantConstraints::from_record(&g);
        Self {
            key_id: crate::kms::resolve::key_arn(&g.region, &g.account_id, &g.key_id),
            grant_id: g.grant_id,
            name: Some(g.name).filter(|n| !n.is_empty()),
            creation_date: Epoch(g.created_at),
            grantee_principal: g.grantee_principal,
            retiring_principal: g.retiring_principal,
            issuing_account: root_arn(&g.issuing_account),
            operations: g.operations,
            constraints: Some(constraints).filter(|c| !c.is_empty()),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsOutput {
    grants: Vec<GrantListEntry>,
    next_marker: Option<String>,
    truncated: bool,
}

impl From<coffer_store::Page<GrantRecord>> for ListGrantsOutput {
    fn from(page: coffer_store::Page<GrantRecord>) -> Self {
        Self {
            grants: page.items.into_iter().map(GrantListEntry::from).collect(),
            truncated: page.next.is_some(),
            next_marker: marker::encode(page.next),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsInput {
    key_id: String,
    limit: Option<i32>,
    marker: Option<String>,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
}

pub async fn list_grants(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListGrantsInput,
) -> Result<ListGrantsOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:ListGrants"),
        )
        .await?;
    if let Some(id) = &input.grant_id {
        check_grant_id(id)?;
    }
    let after = marker::decode(input.marker.as_deref())?;
    let filter = GrantFilter {
        grant_id: input.grant_id.as_deref(),
        grantee_principal: input.grantee_principal.as_deref(),
    };
    let page = kms
        .store
        .list_grants(
            &key.account_id,
            &key.region,
            &key.key_id,
            filter,
            after.as_deref(),
            marker::limit(input.limit, 50),
        )
        .await?;
    Ok(page.into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsInput {
    retiring_principal: String,
    limit: Option<i32>,
    marker: Option<String>,
}

pub async fn list_retirable_grants(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListRetirableGrantsInput,
) -> Result<ListGrantsOutput, KmsError> {
    kms.authorize_any(ctx, "kms:ListRetirableGrants").await?;
    if !valid_principal(&input.retiring_principal) {
        return Err(KmsError::InvalidArn(format!(
            "ARN {} is not valid.",
            input.retiring_principal
        )));
    }
    // "Enter a principal in your AWS account": another account's principals' grants are not
    // the caller's to list.
    let own = input.retiring_principal.split(':').nth(4) == Some(ctx.account());
    if !own {
        return Ok(coffer_store::Page {
            items: Vec::new(),
            next: None,
        }
        .into());
    }
    let after = marker::decode(input.marker.as_deref())?;
    let page = kms
        .store
        .list_retirable_grants(
            ctx.region(),
            &input.retiring_principal,
            after.as_deref(),
            marker::limit(input.limit, 50),
        )
        .await?;
    Ok(page.into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantInput {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

/// Retiring is authorised by the grant, not by policy: its retiring principal, its grantee if
/// it lists RetireGrant, or the account that created it may retire it.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html>
pub async fn retire_grant(
    kms: &Kms,
    ctx: &RequestContext,
    input: RetireGrantInput,
) -> Result<Empty, KmsError> {
    let (key_ref, grant_id) = match (&input.grant_token, &input.key_id, &input.grant_id) {
        (Some(token), _, _) => parse_token(token)?,
        (None, Some(key), Some(id)) => (key.clone(), id.clone()),
        _ => {
            return Err(KmsError::Validation(
                "Grant token OR (grant ID, key ID) must be specified".to_owned(),
            ));
        }
    };
    check_grant_id(&grant_id)?;
    let key = kms
        .resolve(
            ctx,
            &key_ref,
            Accept::KeyOnly,
            Authorize::Skip {
                why: "retiring is authorised by the grant itself",
            },
        )
        .await?;
    let grant = kms
        .store
        .get_grant(&key.account_id, &key.region, &key.key_id, &grant_id)
        .await?
        .ok_or_else(|| KmsError::NotFound(format!("Grant {grant_id} does not exist")))?;
    let retiring = grant
        .retiring_principal
        .as_deref()
        .is_some_and(|r| grantee_of(ctx, r) == Grantee::Caller);
    let grantee = grant.operations.iter().any(|o| o == "RetireGrant")
        && grantee_of(ctx, &grant.grantee_principal) == Grantee::Caller;
    let issuer = ctx.principal.arn == root_arn(&grant.issuing_account);
    if !(retiring || grantee || issuer) {
        return Err(KmsError::AccessDenied(format!(
            "User: {} is not authorized to perform: kms:RetireGrant on resource: {} because no grant allows it",
            ctx.principal.arn,
            arn_of(&key)
        )));
    }
    crate::kms::crypto::dry_run(input.dry_run)?;
    kms.store
        .delete_grant(&key.account_id, &key.region, &key.key_id, &grant_id)
        .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantInput {
    key_id: String,
    grant_id: String,
    dry_run: Option<bool>,
}

pub async fn revoke_grant(
    kms: &Kms,
    ctx: &RequestContext,
    input: RevokeGrantInput,
) -> Result<Empty, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:RevokeGrant"),
        )
        .await?;
    check_grant_id(&input.grant_id)?;
    crate::kms::crypto::dry_run(input.dry_run)?;
    let gone = kms
        .store
        .delete_grant(&key.account_id, &key.region, &key.key_id, &input.grant_id)
        .await?;
    if gone {
        Ok(Empty {})
    } else {
        Err(KmsError::NotFound(format!(
            "Grant {} does not exist",
            input.grant_id
        )))
    }
}
