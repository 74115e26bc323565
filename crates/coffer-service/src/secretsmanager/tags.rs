//! TagResource and UntagResource.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/managing-secrets_tagging.html>

use super::lookup::require_live;
use super::stages::{WRITE_ATTEMPTS, contended};
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use coffer_store::{SecretRecord, Tag};
use serde::{Deserialize, Serialize};

const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    key: String,
    #[serde(default)]
    value: String,
}

pub(crate) fn tags_out(tags: &[Tag]) -> Vec<TagIn> {
    tags.iter()
        .map(|t| TagIn {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// `existing` with `new` added or overwritten, within AWS's rules: no `aws:` prefix, at most 50.
pub(crate) fn check_new_tags(existing: &[Tag], new: &[TagIn]) -> Result<Vec<Tag>, E> {
    let mut tags = existing.to_vec();
    for t in new {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(E::InvalidParameter(
                "Invalid tag key: the prefix aws: is reserved for AWS use.".to_owned(),
            ));
        }
        match tags.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value.clone_from(&t.value),
            None => tags.push(Tag {
                key: t.key.clone(),
                value: t.value.clone(),
            }),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(E::LimitExceeded(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(tags)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    secret_id: String,
    tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    secret_id: String,
    tag_keys: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

impl SecretsManager {
    /// Change a live secret's metadata with `edit`, retrying against concurrent writers.
    pub(crate) async fn edit(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        action: &str,
        edit: impl Fn(&mut SecretRecord) -> Result<(), E>,
    ) -> Result<SecretRecord, E> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut secret = self.find(ctx, secret_id, action).await?;
            require_live(&secret)?;
            edit(&mut secret)?;
            if self.commit_meta(&secret).await? {
                return Ok(secret);
            }
        }
        Err(contended())
    }
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html>
pub async fn tag_resource(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: TagResourceInput,
) -> Result<Empty, E> {
    sm.edit(ctx, &input.secret_id, "secretsmanager:TagResource", |s| {
        s.tags = check_new_tags(&s.tags, &input.tags)?;
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UntagResource.html>
pub async fn untag_resource(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UntagResourceInput,
) -> Result<Empty, E> {
    sm.edit(ctx, &input.secret_id, "secretsmanager:UntagResource", |s| {
        let had_tags = !s.tags.is_empty();
        s.tags.retain(|t| !input.tag_keys.contains(&t.key));
        // Once the last tag goes, AWS lists `"Tags": []` instead of leaving the member out.
        s.tags_listed |= had_tags && s.tags.is_empty();
        Ok(())
    })
    .await?;
    Ok(Empty {})
}
