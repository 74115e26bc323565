//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html>

use super::keys::Empty;
use super::resolve::{Accept, Authorize, alias_arn, arn_of};
use super::{Kms, KmsError, marker};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::{AliasRecord, KeyState, StoreError};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// Alias names must start with `alias/`; `alias/aws/` is reserved for AWS managed keys; `:`
/// is allowed by the model's pattern but not in a name, as AWS answers.
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>
fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Err(KmsError::Validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".to_owned(),
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::NotAuthorized(format!(
            "{name}: the prefix alias/aws/ is reserved for AWS managed keys."
        )));
    }
    if name.contains(':') {
        return Err(KmsError::Validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    Ok(())
}

/// The target of an alias: a customer managed key in the caller's account that is not pending
/// deletion.
async fn target(kms: &Kms, ctx: &RequestContext, target_key_id: &str) -> Result<String, KmsError> {
    let names_alias = target_key_id.starts_with("alias/")
        || (target_key_id.starts_with("arn:") && target_key_id.contains(":alias/"));
    if names_alias {
        return Err(KmsError::Validation(
            "Aliases must refer to keys. Not aliases".to_owned(),
        ));
    }
    let key = kms
        .resolve(
            ctx,
            target_key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:CreateAlias"),
        )
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

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    alias_name: String,
    alias_arn: String,
    /// None for a predefined AWS alias whose key is not created yet.
    target_key_id: Option<String>,
    creation_date: Option<Epoch>,
    last_updated_date: Option<Epoch>,
}

pub async fn list_aliases(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListAliasesInput,
) -> Result<ListAliasesOutput, KmsError> {
    let key_id = match &input.key_id {
        Some(k) => Some(
            kms.resolve(
                ctx,
                k,
                Accept::KeyOnly,
                Authorize::Action("kms:ListAliases"),
            )
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
    let mut aliases: Vec<AliasListEntry> = page
        .items
        .into_iter()
        .map(|a| AliasListEntry {
            alias_arn: alias_arn(&a.region, &a.account_id, &a.alias_name),
            alias_name: a.alias_name,
            target_key_id: Some(a.key_id),
            creation_date: Some(Epoch(a.created_at)),
            last_updated_date: Some(Epoch(a.updated_at)),
        })
        .collect();
    if key_id.is_none() {
        // Up to the last stored name of this page when more pages follow, so that each
        // predefined alias is listed on exactly one page, in name order.
        let upto = page
            .next
            .as_ref()
            .and_then(|_| aliases.last())
            .map(|a| a.alias_name.clone());
        aliases.extend(predefined(kms, ctx, after.as_deref(), upto.as_deref()).await?);
        aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
    }
    let next = if aliases.len() > limit {
        aliases.truncate(limit);
        aliases.last().map(|a| a.alias_name.clone())
    } else {
        page.next
            .and_then(|_| aliases.last().map(|a| a.alias_name.clone()))
    };
    Ok(ListAliasesOutput {
        aliases,
        truncated: next.is_some(),
        next_marker: marker::encode(next),
    })
}

/// The predefined AWS aliases (`alias/aws/secretsmanager`, `alias/aws/ssm`) whose keys are not
/// created yet, named after `after` and up to `upto`: AWS lists them before first use, without
/// `TargetKeyId`. <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html>
async fn predefined(
    kms: &Kms,
    ctx: &RequestContext,
    after: Option<&str>,
    upto: Option<&str>,
) -> Result<Vec<AliasListEntry>, KmsError> {
    let mut out = Vec::new();
    for (name, _, _) in super::MANAGED_ALIASES {
        let in_range = after.is_none_or(|a| *name > a) && upto.is_none_or(|u| *name <= u);
        if in_range
            && kms
                .store
                .get_alias(ctx.account(), ctx.region(), name)
                .await?
                .is_none()
        {
            out.push(AliasListEntry {
                alias_name: (*name).to_owned(),
                alias_arn: alias_arn(ctx.region(), ctx.account(), name),
                target_key_id: None,
                creation_date: None,
                last_updated_date: None,
            });
        }
    }
    Ok(out)
}
