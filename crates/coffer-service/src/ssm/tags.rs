//! Parameter tags: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource
//! (ResourceType `Parameter`).
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_AddTagsToResource.html>

use super::names::own_target;
use super::{Empty, RETRIES, Ssm, SsmError, too_many_updates};
use crate::RequestContext;
use coffer_store::{StoreError, StoredParameter, Tag};
use serde::{Deserialize, Serialize};

/// AWS's limit of tags per resource.
pub const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    pub key: String,
    pub value: String,
}

fn too_many() -> SsmError {
    SsmError::TooManyTags(
        "The Targets parameter includes too many tags. Remove one or more tags and try the command again."
            .to_owned(),
    )
}

/// Check tags for a resource that will then have `total_after` tags; later duplicates win, as
/// they would if added one by one. The model has checked lengths and characters.
pub fn check_tags(tags: &[TagIn], total_after: usize) -> Result<Vec<Tag>, SsmError> {
    if tags
        .iter()
        .any(|t| t.key.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(SsmError::Validation(
            "Tag keys can't start with the reserved prefix aws:.".to_owned(),
        ));
    }
    if total_after > MAX_TAGS {
        return Err(too_many());
    }
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        out.retain(|o| o.key != t.key);
        out.push(Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        });
    }
    Ok(out)
}

impl Ssm {
    /// May the caller perform `op` on the resource? A parameter is judged by its ARN; other
    /// resource types name no parameter (`*`).
    async fn authorize_tagging(
        &self,
        ctx: &RequestContext,
        op: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<(), SsmError> {
        if resource_type == "Parameter" {
            self.authorize_name(ctx, op, resource_id).await
        } else {
            self.authorize_any(ctx, op).await
        }
    }

    /// The parameter a tagging request names; only parameters are taggable in coffer.
    async fn tagged(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<StoredParameter, SsmError> {
        if resource_type != "Parameter" {
            return Err(SsmError::InvalidResourceType(format!(
                "The resource type {resource_type} isn't valid here: coffer's Systems Manager supports tags on parameters (ResourceType Parameter)."
            )));
        }
        let invalid = || {
            SsmError::InvalidResourceId(
                "The resource ID isn't valid. Verify that you entered the correct ID and try again."
                    .to_owned(),
            )
        };
        let t = own_target(ctx, resource_id).map_err(|_| invalid())?;
        if t.selector.is_some() {
            return Err(invalid());
        }
        self.current(ctx, &t.key).await?.ok_or_else(invalid)
    }

    /// Read-modify-write a parameter's tags.
    async fn change_tags(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        resource_id: &str,
        change: impl Fn(&mut Vec<Tag>) -> Result<(), SsmError>,
    ) -> Result<(), SsmError> {
        for _ in 0..RETRIES {
            let mut p = self
                .tagged(ctx, resource_type, resource_id)
                .await?
                .parameter;
            change(&mut p.tags)?;
            match self.store.update_parameter(&p).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(too_many_updates())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToResourceInput {
    resource_type: String,
    resource_id: String,
    tags: Vec<TagIn>,
}

pub async fn add_tags_to_resource(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: AddTagsToResourceInput,
) -> Result<Empty, SsmError> {
    ssm.authorize_tagging(
        ctx,
        "AddTagsToResource",
        &input.resource_type,
        &input.resource_id,
    )
    .await?;
    ssm.change_tags(ctx, &input.resource_type, &input.resource_id, |tags| {
        let new = check_tags(&input.tags, 0)?;
        for t in new {
            tags.retain(|o| o.key != t.key);
            tags.push(t);
        }
        if tags.len() > MAX_TAGS {
            return Err(too_many());
        }
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromResourceInput {
    resource_type: String,
    resource_id: String,
    tag_keys: Vec<String>,
}

pub async fn remove_tags_from_resource(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: RemoveTagsFromResourceInput,
) -> Result<Empty, SsmError> {
    ssm.authorize_tagging(
        ctx,
        "RemoveTagsFromResource",
        &input.resource_type,
        &input.resource_id,
    )
    .await?;
    ssm.change_tags(ctx, &input.resource_type, &input.resource_id, |tags| {
        tags.retain(|t| !input.tag_keys.contains(&t.key));
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceInput {
    resource_type: String,
    resource_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceOutput {
    tag_list: Vec<TagIn>,
}

pub async fn list_tags_for_resource(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, SsmError> {
    ssm.authorize_tagging(
        ctx,
        "ListTagsForResource",
        &input.resource_type,
        &input.resource_id,
    )
    .await?;
    let p = ssm
        .tagged(ctx, &input.resource_type, &input.resource_id)
        .await?;
    let mut tags: Vec<TagIn> = p
        .parameter
        .tags
        .into_iter()
        .map(|t| TagIn {
            key: t.key,
            value: t.value,
        })
        .collect();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(ListTagsForResourceOutput { tag_list: tags })
}
