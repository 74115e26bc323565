//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, UpdateKeyDescription,
//! ScheduleKeyDeletion, CancelKeyDeletion.

use super::resolve::{Accept, Authorize, arn_of, key_material_id, require_customer_managed};
use super::tags::{TagIn, check_new_tags};
use super::{Kms, KmsError, marker};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::{KeyRecord, KeyState, StoreError, Tag};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

const DAY_MS: i64 = 86_400_000;

/// `KeyMetadata` of the KMS API.
#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: Epoch,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: &'static str,
    pub deletion_date: Option<Epoch>,
    pub origin: String,
    pub key_manager: &'static str,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    pub encryption_algorithms: Option<Vec<&'static str>>,
    pub signing_algorithms: Option<Vec<&'static str>>,
    pub mac_algorithms: Option<Vec<&'static str>>,
    pub key_agreement_algorithms: Option<Vec<&'static str>>,
    pub multi_region: bool,
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    pub pending_deletion_window_in_days: Option<i32>,
    pub expiration_model: Option<&'static str>,
    pub valid_to: Option<Epoch>,
    /// For symmetric AWS_KMS keys (all of coffer's): the current material's id.
    pub current_key_material_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: &'static str,
    pub primary_key: MultiRegionKey,
    pub replica_keys: Vec<MultiRegionKey>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: String,
}

impl From<&KeyRecord> for KeyMetadata {
    fn from(k: &KeyRecord) -> Self {
        let arn = arn_of(k);
        Self {
            aws_account_id: k.account_id.clone(),
            key_id: k.key_id.clone(),
            creation_date: Epoch(k.created_at),
            enabled: k.state == KeyState::Enabled,
            description: k.description.clone(),
            key_usage: k.key_usage.clone(),
            key_state: k.state.as_str(),
            deletion_date: k.deletion_date.map(Epoch),
            origin: k.origin.clone(),
            key_manager: if k.aws_managed { "AWS" } else { "CUSTOMER" },
            customer_master_key_spec: k.key_spec.clone(),
            key_spec: k.key_spec.clone(),
            encryption_algorithms: algorithms::encryption(k),
            signing_algorithms: algorithms::signing(k),
            mac_algorithms: algorithms::mac(k),
            key_agreement_algorithms: algorithms::agreement(k),
            multi_region: k.multi_region,
            multi_region_configuration: k
                .multi_region
                .then(|| super::multiregion::own_configuration(k)),
            pending_deletion_window_in_days: None,
            // Imported material: whether (and when) it expires, once some was imported.
            expiration_model: (k.origin == "EXTERNAL" && k.material_fingerprint.is_some()).then(
                || {
                    if k.valid_to.is_some() {
                        "KEY_MATERIAL_EXPIRES"
                    } else {
                        "KEY_MATERIAL_DOES_NOT_EXPIRE"
                    }
                },
            ),
            valid_to: k.valid_to.map(Epoch),
            current_key_material_id: (k.origin == "AWS_KMS" && k.key_spec == "SYMMETRIC_DEFAULT")
                .then(|| key_material_id(&arn, k.current_material)),
            arn,
        }
    }
}

/// The algorithms a key offers, by its spec and usage, as KeyMetadata and GetPublicKey list them.
pub(crate) mod algorithms {
    use coffer_crypto::asymmetric::Spec;
    use coffer_store::KeyRecord;

    pub fn encryption(k: &KeyRecord) -> Option<Vec<&'static str>> {
        if k.key_usage != "ENCRYPT_DECRYPT" {
            return None;
        }
        Some(match Spec::parse(&k.key_spec) {
            Some(spec) => spec.encryption_algorithms().to_vec(),
            None => vec!["SYMMETRIC_DEFAULT"],
        })
    }

    pub fn signing(k: &KeyRecord) -> Option<Vec<&'static str>> {
        (k.key_usage == "SIGN_VERIFY")
            .then(|| Spec::parse(&k.key_spec).map(|s| s.signing_algorithms().to_vec()))
            .flatten()
    }

    pub fn mac(k: &KeyRecord) -> Option<Vec<&'static str>> {
        (k.key_usage == "GENERATE_VERIFY_MAC")
            .then(|| Spec::parse(&k.key_spec).and_then(Spec::mac_algorithm))
            .flatten()
            .map(|a| vec![a])
    }

    pub fn agreement(k: &KeyRecord) -> Option<Vec<&'static str>> {
        (k.key_usage == "KEY_AGREEMENT").then(|| vec!["ECDH"])
    }
}

/// Whether `usage` is one of `spec`'s, per AWS's table; `Err` with AWS's message otherwise.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html>
fn check_usage(spec: &str, usage: &str) -> Result<(), KmsError> {
    let allowed: &[&str] = match spec {
        "SYMMETRIC_DEFAULT" => &["ENCRYPT_DECRYPT"],
        "RSA_2048" | "RSA_3072" | "RSA_4096" => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" => &["SIGN_VERIFY", "KEY_AGREEMENT"],
        "ECC_SECG_P256K1" => &["SIGN_VERIFY"],
        "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512" => &["GENERATE_VERIFY_MAC"],
        _ => &[],
    };
    if allowed.contains(&usage) {
        Ok(())
    } else {
        Err(KmsError::Validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec}"
        )))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyInput {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
    #[serde(default)]
    multi_region: bool,
    xks_key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataOutput {
    key_metadata: KeyMetadata,
}

/// The tag that chooses a new key's id, LocalStack's convention. It lets documentation and
/// scripts that name a fixed key ARN (the seeds' `key/mrk-abc123`) run unchanged: create the key
/// once with `--tags TagKey=_custom_id_,TagValue=mrk-abc123`. The tag itself is not stored.
const CUSTOM_ID_TAG: &str = "_custom_id_";

fn take_custom_id(tags: &mut Vec<Tag>, multi_region: bool) -> Result<Option<String>, KmsError> {
    let Some(i) = tags.iter().position(|t| t.key == CUSTOM_ID_TAG) else {
        return Ok(None);
    };
    let id = tags.remove(i).value;
    let well_formed = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed || id.starts_with("mrk-") != multi_region {
        return Err(KmsError::Validation(format!(
            "Invalid {CUSTOM_ID_TAG} {id:?}: use 1-64 letters, digits and hyphens; multi-Region key ids start with mrk- and only they do."
        )));
    }
    Ok(Some(id))
}

pub async fn create_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: CreateKeyInput,
) -> Result<KeyMetadataOutput, KmsError> {
    kms.authorize_any(ctx, "kms:CreateKey").await?;
    let spec = input
        .key_spec
        .or(input.customer_master_key_spec)
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    if spec == "SM2" {
        // SM2 keys exist only in AWS's China Regions.
        return Err(KmsError::UnsupportedOperation(
            "KeySpec SM2 is supported only in China Regions.".to_owned(),
        ));
    }
    let usage = input
        .key_usage
        .unwrap_or_else(|| "ENCRYPT_DECRYPT".to_owned());
    check_usage(&spec, &usage)?;
    let origin = input.origin.unwrap_or_else(|| "AWS_KMS".to_owned());
    let external = origin == "EXTERNAL";
    if !(origin == "AWS_KMS" || external)
        || input.custom_key_store_id.is_some()
        || input.xks_key_id.is_some()
    {
        return Err(KmsError::UnsupportedOperation(
            "Only keys with origin AWS_KMS or EXTERNAL are supported: coffer has no custom key stores."
                .to_owned(),
        ));
    }
    let mut tags = check_new_tags(&input.tags, input.tags.len())?;
    let key_id = match take_custom_id(&mut tags, input.multi_region)? {
        Some(id) => id,
        None if input.multi_region => format!("mrk-{}", uuid::Uuid::new_v4().simple()),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let policy = match input.policy {
        Some(p) => super::policy::check_policy(&p)?,
        None => super::policy::default_policy(ctx.account()),
    };
    let key = KeyRecord {
        account_id: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        key_id,
        description: input.description.unwrap_or_default(),
        key_usage: usage,
        key_spec: spec,
        origin,
        aws_managed: false,
        multi_region: input.multi_region,
        // A key for imported material has none until ImportKeyMaterial.
        state: if external {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        },
        created_at: ctx.now,
        deletion_date: None,
        pending_window_days: None,
        rotation_enabled: false,
        rotation_period_days: None,
        next_rotation_at: None,
        policy,
        current_material: 1,
        valid_to: None,
        material_fingerprint: None,
        mrk_primary_region: None,
        row_version: 1,
    };
    let material = match coffer_crypto::asymmetric::Spec::parse(&key.key_spec) {
        _ if external => None,
        // RSA and ECC private keys and HMAC keys are sealed exactly as symmetric material is.
        Some(kind) => {
            let private = coffer_crypto::asymmetric::generate(kind)
                .map_err(crate::error::crypto::<KmsError>)?;
            Some(kms.seal_material(&arn_of(&key), 1, ctx.now, false, &private)?)
        }
        None => Some(kms.new_material(&arn_of(&key), 1, ctx.now, false)?),
    };
    match kms
        .store
        .create_key(&key, material.as_ref(), &tags, None)
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(KmsError::AlreadyExists(format!(
                "A key with id {} already exists.",
                arn_of(&key)
            )));
        }
        other => other?,
    }
    Ok(KeyMetadataOutput {
        key_metadata: KeyMetadata::from(&key),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyInput {
    key_id: String,
}

pub async fn describe_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: DescribeKeyInput,
) -> Result<KeyMetadataOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOrAlias,
            Authorize::Action("kms:DescribeKey"),
        )
        .await?;
    Ok(KeyMetadataOutput {
        key_metadata: kms.metadata(&key).await?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysInput {
    limit: Option<i32>,
    marker: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysOutput {
    keys: Vec<KeyListEntry>,
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    key_id: String,
    key_arn: String,
}

pub async fn list_keys(
    kms: &Kms,
    ctx: &RequestContext,
    input: ListKeysInput,
) -> Result<ListKeysOutput, KmsError> {
    kms.authorize_any(ctx, "kms:ListKeys").await?;
    let after = marker::decode(input.marker.as_deref())?;
    let limit = marker::limit(input.limit, 100);
    let page = kms
        .store
        .list_keys(ctx.account(), ctx.region(), after.as_deref(), limit)
        .await?;
    let keys = page
        .items
        .into_iter()
        .map(|key_id| KeyListEntry {
            key_arn: super::key_arn(ctx.region(), ctx.account(), &key_id),
            key_id,
        })
        .collect();
    Ok(ListKeysOutput {
        keys,
        truncated: page.next.is_some(),
        next_marker: marker::encode(page.next),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdInput {
    pub(crate) key_id: String,
}

/// Output of operations that return nothing.
#[derive(Debug, Serialize)]
pub struct Empty {}

pub async fn enable_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<Empty, KmsError> {
    kms.modify(ctx, &input.key_id, "kms:EnableKey", |k| {
        require_customer_managed(k, "EnableKey")?;
        match k.state {
            KeyState::PendingDeletion => Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                arn_of(k)
            ))),
            KeyState::PendingImport => Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                arn_of(k)
            ))),
            KeyState::Enabled | KeyState::Disabled => {
                k.state = KeyState::Enabled;
                Ok(())
            }
        }
    })
    .await?;
    Ok(Empty {})
}

pub async fn disable_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<Empty, KmsError> {
    kms.modify(ctx, &input.key_id, "kms:DisableKey", |k| {
        require_customer_managed(k, "DisableKey")?;
        match k.state {
            KeyState::PendingDeletion => Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                arn_of(k)
            ))),
            KeyState::PendingImport => Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                arn_of(k)
            ))),
            KeyState::Enabled | KeyState::Disabled => {
                k.state = KeyState::Disabled;
                Ok(())
            }
        }
    })
    .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionInput {
    key_id: String,
    description: String,
}

pub async fn update_key_description(
    kms: &Kms,
    ctx: &RequestContext,
    input: UpdateKeyDescriptionInput,
) -> Result<Empty, KmsError> {
    kms.modify(ctx, &input.key_id, "kms:UpdateKeyDescription", |k| {
        require_customer_managed(k, "UpdateKeyDescription")?;
        k.description.clone_from(&input.description);
        Ok(())
    })
    .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionInput {
    key_id: String,
    pending_window_in_days: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionOutput {
    key_id: String,
    deletion_date: Epoch,
    key_state: &'static str,
    pending_window_in_days: i32,
}

/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html>
pub async fn schedule_key_deletion(
    kms: &Kms,
    ctx: &RequestContext,
    input: ScheduleKeyDeletionInput,
) -> Result<ScheduleKeyDeletionOutput, KmsError> {
    // The model allows 1..=365, but AWS accepts only 7..=30 days; 30 is the default.
    let days = input.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        let (bound, phrase) = if days < 7 {
            (7, "greater")
        } else {
            (30, "less")
        };
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: \
             Member must have value {phrase} than or equal to {bound}"
        )));
    }
    let key = kms
        .modify(ctx, &input.key_id, "kms:ScheduleKeyDeletion", |k| {
            require_customer_managed(k, "ScheduleKeyDeletion")?;
            if k.state == KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(format!(
                    "{} is pending deletion.",
                    arn_of(k)
                )));
            }
            k.state = KeyState::PendingDeletion;
            k.deletion_date = Some(ctx.now + i64::from(days) * DAY_MS);
            k.pending_window_days = Some(days);
            Ok(())
        })
        .await?;
    Ok(ScheduleKeyDeletionOutput {
        key_id: arn_of(&key),
        deletion_date: Epoch(key.deletion_date.unwrap_or(ctx.now)),
        key_state: key.state.as_str(),
        pending_window_in_days: days,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdOutput {
    pub key_id: String,
}

pub async fn cancel_key_deletion(
    kms: &Kms,
    ctx: &RequestContext,
    input: KeyIdInput,
) -> Result<KeyIdOutput, KmsError> {
    let key = kms
        .modify(ctx, &input.key_id, "kms:CancelKeyDeletion", |k| {
            if k.state != KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(format!(
                    "{} is not pending deletion.",
                    arn_of(k)
                )));
            }
            // AWS leaves a key whose deletion was cancelled disabled.
            k.state = KeyState::Disabled;
            k.deletion_date = None;
            k.pending_window_days = None;
            Ok(())
        })
        .await?;
    // A key for imported material that has none goes back to waiting for it.
    if key.origin == "EXTERNAL"
        && kms
            .store
            .list_key_materials(&key.account_id, &key.region, &key.key_id)
            .await?
            .is_empty()
    {
        kms.modify(ctx, &arn_of(&key), "kms:CancelKeyDeletion", |k| {
            if k.state == KeyState::Disabled {
                k.state = KeyState::PendingImport;
            }
            Ok(())
        })
        .await?;
    }
    Ok(KeyIdOutput {
        key_id: arn_of(&key),
    })
}
