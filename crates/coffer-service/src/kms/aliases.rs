//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html>

use super::keys::Empty;
use super::resolve::{Accept, alias_arn, arn_of};
use super::{Kms, KmsError, marker};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::{AliasRecord, KeyState, StoreError};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// Alias names must start with `alias/`; `alias/aws/` is reserved for AWS managed keys.
fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Err(KmsError::InvalidAliasName(format!(
            "Alias must start with the prefix \"alias/\": {name}"
        )));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::InvalidAliasName(format!(
            "Alias {name} must not begin with \"alias/aws/\": that prefix is reserved for AWS managed keys."
        )));
    }
    Ok(())
}

/// The target of an alias: a customer managed key in the caller's account that is not pending
/// deletion.
async fn target(kms: &Kms, ctx: &RequestContext, target_key_id: &str) -> Result<String, KmsError> {
    let key = kms
        .resolve(ctx, target_key_id, Accept::KeyOnly, "kms:CreateAlias")
        .await?;
    if key.aws_managed {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} is an AWS managed key and cannot be an alias target.",
            arn_of(&key)
        )));
    }
    if key.state == KeyState::PendingDeletion {
        return Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            arn_of(&key)
        )));
    }
    Ok(key.key_id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAliasInput {
    alias_name: String,
    target_key_id: String,
}

pub async fn create_alias(
    kms: &Kms,
    ctx: &RequestContext,
    input: CreateAliasInput,
) -> Result<Empty, KmsError> {
    check_alias_name(&input.alias_name)?;
    let key_id = target(kms, ctx, &input.target_key_id).await?;
    let alias = AliasRecord {
        account_id: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        alias_name: input.alias_name,
        key_id,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    match kms.store.create_alias(&alias).await {
        Ok(()) => Ok(Empty {}),
        Err(StoreError::Conflict) => Err(KmsError::AlreadyExists(format!(
            "An alias with the name {} already exists",
            alias_arn(ctx.region(), ctx.account(), &alias.alias_name)
        ))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAliasInput {
    alias_name: String,
    target_key_id: String,
}

pub async fn update_alias(
    kms: &Kms,
    ctx: &RequestContext,
    input: UpdateAliasInput,
) -> Result<Empty, KmsError> {
    check_alias_name(&input.alias_name)?;
    let key_id = target(kms, ctx, &input.target_key_id).await?;
    if kms
        .store
        .update_alias(
            ctx.account(),
            ctx.region(),
            &input.alias_name,
            &key_id,
            ctx.now,
        )
        .await?
    {
        Ok(Empty {})
    } else {
        Err(not_found(ctx, &input.alias_name))
    }
}

fn not_found(ctx: &RequestContext, alias: &str) -> KmsError {
    KmsError::NotFound(format!(
        "Alias {} is not found.",
        alias_arn(ctx.region(), ctx.account(), alias)
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasInput {
    alias_name: String,
}

pub async fn delete_alias(
    kms: &Kms,
    ctx: &RequestContext,
    input: DeleteAliasInput,
) -> Result<Empty, KmsError> {
    check_alias_name(&input.alias_name)?;
    if kms
        .store
        .delete_alias(ctx.account(), ctx.region(), &input.alias_name)
        .await?
    {
        Ok(Empty {})
    } else {
        Err(not_found(ctx, &input.alias_name))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesInput {
    key_id: Option<String>,
    limit: Option<i32>,
    marker: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesOutput {
    aliases: Vec<AliasListEntry>,
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    alias_name: String,
    alias_arn: String,
    target_key_id: String,
    creation_date: Epoch,
    last_updated_date: Epoch,
}

pub async fn list_aliases(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListAliasesInput,
) -> Result<ListAliasesOutput, KmsError> {
    let key_id = match &input.key_id {
        Some(k) => Some(
            kms.resolve(ctx, k, Accept::KeyOnly, "kms:ListAliases")
                .await?
                .key_id,
        ),
        None => None,
    };
    let after = marker::decode(input.marker.as_deref())?;
    let limit = marker::limit(input.limit, 50);
    let page = kms
        .store
        .list_aliases(
            ctx.account(),
            ctx.region(),
            key_id.as_deref(),
            after.as_deref(),
            limit,
        )
        .await?;
    let aliases = page
        .items
        .into_iter()
        .map(|a| AliasListEntry {
            alias_arn: alias_arn(&a.region, &a.account_id, &a.alias_name),
            alias_name: a.alias_name,
            target_key_id: a.key_id,
            creation_date: Epoch(a.created_at),
            last_updated_date: Epoch(a.updated_at),
        })
        .collect();
    Ok(ListAliasesOutput {
        aliases,
        truncated: page.next.is_some(),
        next_marker: marker::encode(page.next),
    })
}
