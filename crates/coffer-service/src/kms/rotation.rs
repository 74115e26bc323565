//! Key material rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations. Old material stays, so old ciphertexts still decrypt.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys.html>

use super::keys::{Empty, KeyIdInput, KeyIdOutput};
use super::resolve::{
    Accept, Authorize, arn_of, require_customer_managed, require_enabled, require_generated,
    require_symmetric,
};
use super::{Kms, KmsError, marker};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

const DAY_MS: i64 = 86_400_000;
/// AWS allows ten on-demand rotations per key; the eleventh is refused.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#on-demand-rotation-limit>
const MAX_ON_DEMAND: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationInput {
    key_id: String,
    rotation_period_in_days: Option<i32>,
}

pub async fn enable_key_rotation(
    kms: &Kms,
    ctx: &RequestContext,
    input: EnableKeyRotationInput,
) -> Result<Empty, KmsError> {
    // The model bounds the period to 90..=2560 days; AWS's default is a year.
    let days = input.rotation_period_in_days.unwrap_or(365);
    kms.modify(ctx, &input.key_id, "kms:EnableKeyRotation", |k| {
        require_customer_managed(k, "EnableKeyRotation")?;
        require_symmetric(k, "EnableKeyRotation")?;
        require_generated(k, "EnableKeyRotation")?;
        require_enabled(k)?;
        k.rotation_enabled = true;
        k.rotation_period_days = Some(days);
        k.next_rotation_at = Some(ctx.now + i64::from(days) * DAY_MS);
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

pub async fn disable_key_rotation(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<Empty, KmsError> {
    kms.modify(ctx, &input.key_id, "kms:DisableKeyRotation", |k| {
        require_customer_managed(k, "DisableKeyRotation")?;
        require_enabled(k)?;
        k.rotation_enabled = false;
        k.next_rotation_at = None;
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusOutput {
    key_rotation_enabled: bool,
    key_id: String,
    rotation_period_in_days: Option<i32>,
    next_rotation_date: Option<Epoch>,
}

pub async fn get_key_rotation_status(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<GetKeyRotationStatusOutput, KmsError> {
    let k = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:GetKeyRotationStatus"),
        )
        .await?;
    Ok(GetKeyRotationStatusOutput {
        key_rotation_enabled: k.rotation_enabled,
        key_id: arn_of(&k),
        rotation_period_in_days: k
            .rotation_enabled
            .then_some(k.rotation_period_days)
            .flatten(),
        next_rotation_date: k.next_rotation_at.map(Epoch),
    })
}

pub async fn rotate_key_on_demand(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<KeyIdOutput, KmsError> {
    for _ in 0..5 {
        let key = kms
            .resolve(
                ctx,
                &input.key_id,
                Accept::KeyOnly,
                Authorize::Action("kms:RotateKeyOnDemand"),
            )
            .await?;
        require_customer_managed(&key, "RotateKeyOnDemand")?;
        require_symmetric(&key, "RotateKeyOnDemand")?;
        require_generated(&key, "RotateKeyOnDemand")?;
        require_enabled(&key)?;
        let history = kms
            .store
            .list_key_materials(&key.account_id, &key.region, &key.key_id)
            .await?;
        if history.iter().filter(|m| m.on_demand).count() >= MAX_ON_DEMAND {
            // AWS's wording, as LocalStack's AWS-validated snapshot of the eleventh rotation
            // records it (tests/aws/services/kms test_key_rotations_limits).
            return Err(KmsError::LimitExceeded(format!(
                "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                arn_of(&key)
            )));
        }
        let mut rotated = key.clone();
        rotated.current_material += 1;
        let material = kms.new_material(&arn_of(&key), rotated.current_material, ctx.now, true)?;
        match kms.store.rotate_key_material(&rotated, &material).await {
            Ok(()) => {
                return Ok(KeyIdOutput {
                    key_id: arn_of(&key),
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(KmsError::Internal(
        "key kept changing under concurrent updates".to_owned(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsInput {
    key_id: String,
    limit: Option<i32>,
    marker: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsOutput {
    rotations: Vec<RotationEntry>,
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEntry {
    key_id: String,
    key_material_id: String,
    rotation_date: Epoch,
    rotation_type: &'static str,
}

pub async fn list_key_rotations(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListKeyRotationsInput,
) -> Result<ListKeyRotationsOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:ListKeyRotations"),
        )
        .await?;
    let arn = arn_of(&key);
    let history = kms
        .store
        .list_key_materials(&key.account_id, &key.region, &key.key_id)
        .await?;
    // Version 1 is the original material, not a rotation. The marker is the last version shown.
    let after: u32 = match marker::decode(input.marker.as_deref())? {
        Some(m) => m
            .parse()
            .map_err(|_| KmsError::InvalidMarker("Invalid marker".to_owned()))?,
        None => 1,
    };
    let limit = marker::limit(input.limit, 100);
    let (page, next) = marker::page(
        history.into_iter().filter(|m| m.version > after),
        limit,
        |m| m.version.to_string(),
    );
    let rotations = page
        .into_iter()
        .map(|m| RotationEntry {
            key_id: arn.clone(),
            key_material_id: super::resolve::key_material_id(&arn, m.version),
            rotation_date: Epoch(m.created_at),
            rotation_type: if m.on_demand {
                "ON_DEMAND"
            } else {
                "AUTOMATIC"
            },
        })
        .collect();
    Ok(ListKeyRotationsOutput {
        rotations,
        truncated: next.is_some(),
        next_marker: marker::encode(next),
    })
}
