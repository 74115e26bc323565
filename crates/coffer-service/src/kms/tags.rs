//! Key tags: TagResource, UntagResource, ListResourceTags.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html>

use super::keys::Empty;
use super::resolve::{Accept, Authorize, require_customer_managed};
use super::{Kms, KmsError, marker};
use crate::RequestContext;
use coffer_store::Tag;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// AWS's limit of tags per key.
const MAX_TAGS: usize = 50;

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    pub tag_key: String,
    pub tag_value: String,
}

/// Check tags to be set on a key that will then have `total_after` tags; the model has checked
/// their lengths. Returns them as store records.
pub(crate) fn check_new_tags(tags: &[TagIn], total_after: usize) -> Result<Vec<Tag>, KmsError> {
    // AWS's TagException texts; `aws:` is reserved in any case.
    // <https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html>
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        if t.tag_key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
        {
            return Err(KmsError::Tag(
                "Tags beginning with aws: are reserved".to_owned(),
            ));
        }
        if !seen.insert(t.tag_key.as_str()) {
            return Err(KmsError::Tag("Duplicate tag keys".to_owned()));
        }
    }
    if total_after > MAX_TAGS {
        return Err(KmsError::Tag("Too many tags".to_owned()));
    }
    Ok(tags
        .iter()
        .map(|t| Tag {
            key: t.tag_key.clone(),
            value: t.tag_value.clone(),
        })
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    key_id: String,
    tags: Vec<TagIn>,
}

pub async fn tag_resource(
    kms: &Kms,
    ctx: &RequestContext,
    input: TagResourceInput,
) -> Result<Empty, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:TagResource"),
        )
        .await?;
    require_customer_managed(&key, "TagResource")?;
    let existing = kms
        .store
        .list_key_tags(&key.account_id, &key.region, &key.key_id)
        .await?;
    let new_keys = input
        .tags
        .iter()
        .filter(|t| !existing.iter().any(|e| e.key == t.tag_key))
        .count();
    let tags = check_new_tags(&input.tags, existing.len() + new_keys)?;
    kms.store
        .tag_key(&key.account_id, &key.region, &key.key_id, &tags)
        .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    key_id: String,
    tag_keys: Vec<String>,
}

pub async fn untag_resource(
    kms: &Kms,
    ctx: &RequestContext,
    input: UntagResourceInput,
) -> Result<Empty, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:UntagResource"),
        )
        .await?;
    require_customer_managed(&key, "UntagResource")?;
    kms.store
        .untag_key(&key.account_id, &key.region, &key.key_id, &input.tag_keys)
        .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsInput {
    key_id: String,
    limit: Option<i32>,
    marker: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsOutput {
    tags: Vec<TagIn>,
    next_marker: Option<String>,
    truncated: bool,
}

pub async fn list_resource_tags(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListResourceTagsInput,
) -> Result<ListResourceTagsOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:ListResourceTags"),
        )
        .await?;
    let all = kms
        .store
        .list_key_tags(&key.account_id, &key.region, &key.key_id)
        .await?;
    let after = marker::decode(input.marker.as_deref())?;
    let limit = marker::limit(input.limit, 50);
    let remaining = all
        .into_iter()
        .filter(|t| after.as_ref().is_none_or(|a| t.key > *a));
    let (page, next) = marker::page(remaining, limit, |t| t.key.clone());
    Ok(ListResourceTagsOutput {
        tags: page
            .into_iter()
            .map(|t| TagIn {
                tag_key: t.key,
                tag_value: t.value,
            })
            .collect(),
        truncated: next.is_some(),
        next_marker: marker::encode(next),
    })
}
