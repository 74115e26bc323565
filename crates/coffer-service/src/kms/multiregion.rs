//! Multi-Region keys: ReplicateKey, UpdatePrimaryRegion, DescribeKey's
//! MultiRegionConfiguration, and decrypting in one Region what a related key made in another.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html>
//!
//! Related keys share the `mrk-` id and the account, one per Region, and the same key material:
//! ReplicateKey copies every material version (re-sealed by the master key for the replica's
//! ARN). A rotation of one of them adds a version there; the others copy it when they first
//! meet a ciphertext made with it ([`Kms::catch_up_material`]), so a ciphertext made by any
//! related key decrypts with every other. The primary's Region is recorded on every related key
//! (`mrk_primary_region`, `None` on the primary itself).

use super::keys::{KeyMetadata, MultiRegionConfiguration, MultiRegionKey};
use super::resolve::{Accept, Authorize, arn_of, key_arn};
use super::tags::{TagIn, check_new_tags};
use super::{Kms, KmsError};
use crate::RequestContext;
use coffer_store::{KeyRecord, KeyState, StoreError};
use coffer_types::Region;
use serde::{Deserialize, Serialize};

/// The Region of `k`'s primary.
pub(crate) fn primary_region(k: &KeyRecord) -> &str {
    k.mrk_primary_region.as_deref().unwrap_or(&k.region)
}

/// The configuration `k`'s own record tells (no replica list): what KeyMetadata shows where
/// the related keys were not read.
pub(crate) fn own_configuration(k: &KeyRecord) -> MultiRegionConfiguration {
    let primary = primary_region(k).to_owned();
    MultiRegionConfiguration {
        multi_region_key_type: if primary == k.region {
            "PRIMARY"
        } else {
            "REPLICA"
        },
        primary_key: MultiRegionKey {
            arn: key_arn(&primary, &k.account_id, &k.key_id),
            region: primary,
        },
        replica_keys: Vec::new(),
    }
}

/// The key a ciphertext names, as the caller's Region sees it: a multi-Region key's ciphertext
/// made in another Region is decrypted by the related key of the caller's Region.
pub(crate) fn in_caller_region<'a>(
    ctx: &RequestContext,
    key_arn_in_blob: &'a str,
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    // Every Decrypt passes here: only a multi-Region key's ARN is parsed.
    if !key_arn_in_blob.contains(":key/mrk-") {
        return Cow::Borrowed(key_arn_in_blob);
    }
    match coffer_types::Arn::parse(key_arn_in_blob) {
        Ok(mut a) if a.region != ctx.region() => {
            a.region = ctx.region().to_owned();
            Cow::Owned(a.to_string())
        }
        _ => Cow::Borrowed(key_arn_in_blob),
    }
}

impl Kms {
    /// `k`'s metadata with the whole MultiRegionConfiguration (its related keys read).
    pub(crate) async fn metadata(&self, k: &KeyRecord) -> Result<KeyMetadata, KmsError> {
        let mut m = KeyMetadata::from(k);
        if k.multi_region
            && let Some(c) = m.multi_region_configuration.as_mut()
        {
            let primary = primary_region(k);
            c.replica_keys = self
                .store
                .list_key_regions(&k.account_id, &k.key_id)
                .await?
                .into_iter()
                .filter(|r| r.region != primary && r.state != KeyState::PendingDeletion)
                .map(|r| MultiRegionKey {
                    arn: arn_of(&r),
                    region: r.region,
                })
                .collect();
        }
        Ok(m)
    }

    /// Copy into `key` the material versions a related key has and it lacks (another Region
    /// rotated). Returns the key as stored afterwards.
    pub(crate) async fn catch_up_material(&self, key: KeyRecord) -> Result<KeyRecord, KmsError> {
        if !key.multi_region {
            return Ok(key);
        }
        let related = self
            .store
            .list_key_regions(&key.account_id, &key.key_id)
            .await?;
        let Some(source) = related
            .into_iter()
            .filter(|r| r.region != key.region)
            .max_by_key(|r| r.current_material)
            .filter(|r| r.current_material > key.current_material)
        else {
            return Ok(key);
        };
        let mut current = key;
        for version in current.current_material + 1..=source.current_material {
            let plain = self.material(&source, version).await?;
            let record = self.seal_material(&arn_of(&current), version, 0, false, &plain)?;
            let mut next = current.clone();
            next.current_material = version;
            match self.store.rotate_key_material(&next, &record).await {
                Ok(()) => {
                    next.row_version += 1;
                    current = next;
                }
                // Another request caught it up first.
                Err(StoreError::Conflict) => {
                    return self
                        .store
                        .get_key(&current.account_id, &current.region, &current.key_id)
                        .await?
                        .ok_or_else(|| KmsError::NotFound("Key does not exist".to_owned()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(current)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyInput {
    key_id: String,
    replica_region: String,
    policy: Option<String>,
    #[allow(dead_code)] // coffer has no policy lockout check to bypass
    bypass_policy_lockout_safety_check: Option<bool>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyOutput {
    replica_key_metadata: KeyMetadata,
    replica_policy: String,
    replica_tags: Vec<TagIn>,
}

fn not_multi_region(k: &KeyRecord) -> KmsError {
    KmsError::UnsupportedOperation(format!("{} is not a multi-region key", arn_of(k)))
}

/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html>
pub async fn replicate_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: ReplicateKeyInput,
) -> Result<ReplicateKeyOutput, KmsError> {
    let primary = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:ReplicateKey"),
        )
        .await?;
    if !primary.multi_region {
        return Err(not_multi_region(&primary));
    }
    if primary_region(&primary) != primary.region {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} is not a multi-region primary key; replicate the primary key in {}",
            arn_of(&primary),
            primary_region(&primary)
        )));
    }
    if primary.state == KeyState::PendingDeletion {
        return Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            arn_of(&primary)
        )));
    }
    let region = input.replica_region;
    if Region::parse(&region).is_err() || region == primary.region {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{region}' at 'replicaRegion' failed to satisfy constraint: Member must be a Region other than the primary key's"
        )));
    }
    let tags = check_new_tags(&input.tags, input.tags.len())?;
    let policy = match input.policy {
        Some(p) => super::policy::check_policy(&p)?,
        None => super::policy::default_policy(ctx.account()),
    };
    let replica = KeyRecord {
        region: region.clone(),
        description: input.description.unwrap_or_default(),
        state: KeyState::Enabled,
        created_at: ctx.now,
        deletion_date: None,
        pending_window_days: None,
        // Automatic rotation is the primary's; related keys take its new material lazily.
        next_rotation_at: None,
        policy,
        mrk_primary_region: Some(primary.region.clone()),
        row_version: 1,
        ..primary.clone()
    };
    if kms
        .store
        .get_key(&replica.account_id, &region, &replica.key_id)
        .await?
        .is_some()
    {
        return Err(KmsError::AlreadyExists(format!(
            "Multi-region key {} already has a replica in {region}",
            arn_of(&primary)
        )));
    }
    let first = kms.material(&primary, 1).await?;
    let sealed = kms.seal_material(&arn_of(&replica), 1, ctx.now, false, &first)?;
    let mut created = KeyRecord {
        current_material: 1,
        ..replica
    };
    match kms
        .store
        .create_key(&created, Some(&sealed), &tags, None)
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(KmsError::AlreadyExists(format!(
                "Multi-region key {} already has a replica in {region}",
                arn_of(&primary)
            )));
        }
        other => other?,
    }
    created = kms.catch_up_material(created).await?;
    Ok(ReplicateKeyOutput {
        replica_key_metadata: kms.metadata(&created).await?,
        replica_policy: created.policy.clone(),
        replica_tags: tags
            .into_iter()
            .map(|t| TagIn {
                tag_key: t.key,
                tag_value: t.value,
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePrimaryRegionInput {
    key_id: String,
    primary_region: String,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html>
/// Called on the primary key: the related key in `PrimaryRegion` becomes the primary, the old
/// primary a replica.
pub async fn update_primary_region(
    kms: &Kms,
    ctx: &RequestContext,
    input: UpdatePrimaryRegionInput,
) -> Result<Empty, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:UpdatePrimaryRegion"),
        )
        .await?;
    if !key.multi_region {
        return Err(not_multi_region(&key));
    }
    if primary_region(&key) != key.region {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} is not a multi-region primary key",
            arn_of(&key)
        )));
    }
    let related = kms
        .store
        .list_key_regions(&key.account_id, &key.key_id)
        .await?;
    let target = &input.primary_region;
    if !related.iter().any(|r| &r.region == target) {
        return Err(KmsError::NotFound(format!(
            "Key '{}' does not exist",
            key_arn(target, &key.account_id, &key.key_id)
        )));
    }
    if target == &key.region {
        return Ok(Empty {});
    }
    for mut r in related {
        r.mrk_primary_region = (&r.region != target).then(|| target.clone());
        // Each related key is its own row; a concurrent change to one is retried by the caller.
        kms.store.update_key(&r).await.map_err(|e| match e {
            StoreError::Conflict => KmsError::Internal(
                "a related key changed during UpdatePrimaryRegion; call it again".to_owned(),
            ),
            e => e.into(),
        })?;
    }
    Ok(Empty {})
}
