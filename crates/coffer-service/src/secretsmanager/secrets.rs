//! The secret itself: CreateSecret, UpdateSecret, DescribeSecret, DeleteSecret, RestoreSecret.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html>

use super::error::from_kms;
use super::lookup::{DAY_MS, check_name, new_arn, new_secret, require_live};
use super::seal::key_in_owner;
use super::stages::CURRENT;
use super::tags::{TagIn, check_new_tags, tags_out};
use super::values::{NewVersion, value_of, version_id};
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use crate::wire::{Epoch, SecretBlob, SecretText};
use coffer_store::{SecretRecord, SecretVersionRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::collections::BTreeMap;

/// DescribeSecret's answer, and one entry of ListSecrets (which names the label map
/// `SecretVersionsToStages`).
#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Description {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<serde_json::Value>,
    last_rotated_date: Option<Epoch>,
    last_changed_date: Option<Epoch>,
    last_accessed_date: Option<Epoch>,
    deleted_date: Option<Epoch>,
    next_rotation_date: Option<Epoch>,
    tags: Option<Vec<TagIn>>,
    version_ids_to_stages: Option<BTreeMap<String, Vec<String>>>,
    secret_versions_to_stages: Option<BTreeMap<String, Vec<String>>>,
    owning_service: Option<String>,
    created_date: Option<Epoch>,
    primary_region: Option<String>,
    /// DescribeSecret only (ListSecrets' entries have no such member).
    replication_status: Option<Vec<super::replication::ReplicationStatus>>,
}

/// Describe `s`; only versions holding labels appear in the label map, as on AWS.
pub(crate) fn describe(
    s: &SecretRecord,
    versions: &[SecretVersionRecord],
    for_list: bool,
) -> Description {
    let map: BTreeMap<String, Vec<String>> = versions
        .iter()
        .filter(|v| !v.stages.is_empty())
        .map(|v| (v.version_id.clone(), v.stages.clone()))
        .collect();
    // Absent, not empty, for a secret with no versions (as AWS answers).
    let map = (!versions.is_empty()).then_some(map);
    let (version_ids_to_stages, secret_versions_to_stages) =
        if for_list { (None, map) } else { (map, None) };
    let rotation_configured = s.rotation_enabled || s.rotation_lambda_arn.is_some();
    Description {
        arn: s.arn.clone(),
        name: s.name.clone(),
        description: s.description.clone().filter(|d| !d.is_empty()),
        kms_key_id: s.kms_key_id.clone(),
        rotation_enabled: rotation_configured.then_some(s.rotation_enabled),
        rotation_lambda_arn: s.rotation_lambda_arn.clone(),
        rotation_rules: s
            .rotation_rules
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        last_rotated_date: s.last_rotated_at.map(Epoch),
        last_changed_date: Some(Epoch(s.last_changed_at)),
        last_accessed_date: s.last_accessed_at.map(Epoch),
        deleted_date: s.deleted_at.map(Epoch),
        next_rotation_date: s.next_rotation_at.map(|start| {
            Epoch(
                super::rotation::schedule::Schedule::stored(s.rotation_rules.as_deref())
                    .map_or(start, |sched| sched.shown_next(start)),
            )
        }),
        tags: (s.tags_listed || !s.tags.is_empty()).then(|| tags_out(&s.tags)),
        version_ids_to_stages,
        secret_versions_to_stages,
        owning_service: s.owning_service.clone(),
        created_date: Some(Epoch(s.created_at)),
        primary_region: s.primary_region.clone(),
        replication_status: if for_list {
            None
        } else {
            super::replication::status_of(s)
        },
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretInput {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<SecretBlob>,
    secret_string: Option<SecretText>,
    #[serde(default)]
    tags: Vec<TagIn>,
    add_replica_regions: Option<Vec<super::replication::RegionIn>>,
    force_overwrite_replica_secret: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: Option<String>,
    /// Only for replicated secrets.
    replication_status: Option<Vec<super::replication::ReplicationStatus>>,
}

/// An empty KmsKeyId means the default key, as on AWS.
fn key_choice(k: Option<String>) -> Option<String> {
    k.filter(|k| !k.is_empty())
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html>
pub async fn create_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: CreateSecretInput,
) -> Result<CreateSecretOutput, E> {
    check_name(&input.name)?;
    let tags = check_new_tags(&[], &input.tags)?;
    let value = value_of(input.secret_string, input.secret_binary)?;
    let kms_key_id = key_choice(input.kms_key_id);
    if let Some(k) = &kms_key_id {
        sm.kms
            .usable_key(&ctx.via("secretsmanager"), k)
            .await
            .map_err(|e| from_kms(e, true))?;
    }
    let version_id = version_id(input.client_request_token)?;
    for _ in 0..2 {
        if let Some(existing) = sm
            .store
            .get_secret_by_name(ctx.account(), ctx.region(), &input.name)
            .await?
        {
            if existing.purge_at.is_none_or(|t| t > ctx.now) {
                return idempotent_create(sm, ctx, existing, &version_id, value.as_ref()).await;
            }
            // Its recovery window is over: purge it now rather than wait for housekeeping.
            sm.store.purge_secret(&existing.arn).await?;
        }
        let arn = new_arn(ctx, &input.name)?;
        sm.authorize(ctx, "secretsmanager:CreateSecret", &arn, None)
            .await?;
        let mut secret = SecretRecord {
            description: input.description.clone(),
            kms_key_id: kms_key_id.clone(),
            tags: tags.clone(),
            ..new_secret(ctx, arn, &input.name)
        };
        if let Some(regions) = &input.add_replica_regions {
            SecretsManager::add_regions(
                &mut secret,
                regions,
                input.force_overwrite_replica_secret.unwrap_or(false),
            )?;
            secret.replication_due_at = Some(ctx.now);
        }
        let version = match &value {
            Some((bytes, binary)) => {
                let mut v = sm.seal(ctx, &secret, &version_id, bytes, *binary).await?;
                v.stages = vec![CURRENT.to_owned()];
                Some(v)
            }
            None => None,
        };
        match sm.store.create_secret(&secret, version.as_ref()).await {
            Ok(()) => {
                let mut replication_status = None;
                if SecretsManager::is_replicated(&secret) {
                    if let Err(e) = sm.replicate(&secret.arn, ctx.now, false).await {
                        tracing::warn!(arn = %secret.arn, error = ?e, "replicating a new secret failed; the background pass retries it");
                    }
                    if let Some(s) = sm.store.get_secret_by_arn(&secret.arn).await? {
                        replication_status = sm.replication_status(&s).await?;
                    }
                }
                return Ok(CreateSecretOutput {
                    arn: secret.arn,
                    name: secret.name,
                    version_id: version.map(|v| v.version_id),
                    replication_status,
                });
            }
            // Another request created the name first: answer as for an existing secret.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(super::stages::contended())
}

/// CreateSecret for a name that exists: a retry of the same request (same token and value)
/// succeeds again; anything else is refused.
async fn idempotent_create(
    sm: &SecretsManager,
    ctx: &RequestContext,
    existing: SecretRecord,
    version_id: &str,
    value: Option<&(coffer_types::SecretBytes, bool)>,
) -> Result<CreateSecretOutput, E> {
    sm.authorize(
        ctx,
        "secretsmanager:CreateSecret",
        &existing.arn,
        Some(&existing),
    )
    .await?;
    if existing.deleted_at.is_some() {
        return Err(E::InvalidRequest(
            "You can't create this secret because a secret with this name is already scheduled for deletion.".to_owned(),
        ));
    }
    if let Some(value) = value
        && let Some(v) = sm
            .store
            .get_secret_version(&existing.arn, version_id)
            .await?
    {
        sm.same_value(ctx, &existing.arn, &v, value).await?;
        return Ok(CreateSecretOutput {
            arn: existing.arn,
            name: existing.name,
            version_id: Some(v.version_id),
            replication_status: None,
        });
    }
    Err(E::ResourceExists(format!(
        "The operation failed because the secret {} already exists.",
        existing.name
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<SecretBlob>,
    secret_string: Option<SecretText>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: Option<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html>
pub async fn update_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UpdateSecretInput,
) -> Result<UpdateSecretOutput, E> {
    const ACTION: &str = "secretsmanager:UpdateSecret";
    let value = value_of(input.secret_string, input.secret_binary)?;
    // A new key applies to versions written from now on; old versions keep theirs.
    let new_key = input.kms_key_id.map(|k| key_choice(Some(k)));
    if let Some(Some(k)) = &new_key {
        // The key is the owner's: a name without an account is looked up in the owner's
        // account, whoever calls (see `seal::key_in_owner`).
        let secret = sm.find(ctx, &input.secret_id, ACTION).await?;
        let k = key_in_owner(sm, ctx, &secret.account_id, &secret.region, Some(k)).await?;
        sm.kms
            .usable_key(&ctx.via("secretsmanager"), &k)
            .await
            .map_err(|e| from_kms(e, true))?;
    }
    let apply = |s: &mut SecretRecord| {
        if let Some(d) = &input.description {
            s.description = Some(d.clone());
        }
        if let Some(k) = &new_key {
            s.kms_key_id = k.clone();
        }
    };
    if let Some(value) = value {
        let version_id = version_id(input.client_request_token)?;
        let w = sm
            .add_version(
                ctx,
                &input.secret_id,
                ACTION,
                NewVersion {
                    id: &version_id,
                    value: &value,
                    labels: &[CURRENT.to_owned()],
                },
                apply,
            )
            .await?;
        return Ok(UpdateSecretOutput {
            arn: w.secret.arn,
            name: w.secret.name,
            version_id: Some(w.version_id),
        });
    }
    for _ in 0..super::stages::WRITE_ATTEMPTS {
        let mut secret = sm.find(ctx, &input.secret_id, ACTION).await?;
        require_live(&secret)?;
        apply(&mut secret);
        secret.last_changed_at = ctx.now;
        if sm.commit_meta(&secret).await? {
            return Ok(UpdateSecretOutput {
                arn: secret.arn,
                name: secret.name,
                version_id: None,
            });
        }
    }
    Err(super::stages::contended())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdInput {
    secret_id: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html>
pub async fn describe_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: SecretIdInput,
) -> Result<Description, E> {
    let secret = sm
        .find(ctx, &input.secret_id, "secretsmanager:DescribeSecret")
        .await?;
    let versions = sm.store.list_secret_versions(&secret.arn).await?;
    let mut d = describe(&secret, &versions, false);
    d.replication_status = sm.replication_status(&secret).await?;
    Ok(d)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    deletion_date: Epoch,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html>
pub async fn delete_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: DeleteSecretInput,
) -> Result<DeleteSecretOutput, E> {
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if force && input.recovery_window_in_days.is_some() {
        return Err(E::InvalidParameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                .to_owned(),
        ));
    }
    let days = input.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(E::InvalidParameter(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".to_owned(),
        ));
    }
    for _ in 0..super::stages::WRITE_ATTEMPTS {
        let found = sm
            .find(ctx, &input.secret_id, "secretsmanager:DeleteSecret")
            .await;
        let mut secret = match found {
            // AWS answers a forced delete of a secret that does not exist as if it did.
            Err(E::ResourceNotFound(_)) if force => {
                return deleted_nothing(ctx, &input.secret_id);
            }
            other => other?,
        };
        let replicas = super::replication::entries(&secret);
        if !replicas.is_empty() {
            let regions: Vec<&str> = replicas.iter().map(|r| r.region.as_str()).collect();
            return Err(E::InvalidParameter(format!(
                "You can't delete secret {} that still has replica regions [{}].",
                secret.arn,
                regions.join(", ")
            )));
        }
        if force {
            sm.store.purge_secret(&secret.arn).await?;
            return Ok(DeleteSecretOutput {
                arn: secret.arn,
                name: secret.name,
                deletion_date: Epoch(ctx.now),
            });
        }
        require_live(&secret)?;
        let purge_at = ctx.now + days * DAY_MS;
        secret.deleted_at = Some(ctx.now);
        secret.purge_at = Some(purge_at);
        if sm.commit_meta(&secret).await? {
            return Ok(DeleteSecretOutput {
                arn: secret.arn,
                name: secret.name,
                deletion_date: Epoch(purge_at),
            });
        }
    }
    Err(super::stages::contended())
}

/// DeleteSecret's answer for a forced delete of a secret that does not exist: the name given,
/// an ARN for it, and now.
fn deleted_nothing(ctx: &RequestContext, secret_id: &str) -> Result<DeleteSecretOutput, E> {
    let (arn, name) = match secret_id.split_once(":secret:") {
        Some((prefix, rest)) if prefix.starts_with("arn:") => (
            secret_id.to_owned(),
            rest.rsplit_once('-').map_or(rest, |(n, _)| n).to_owned(),
        ),
        _ => (new_arn(ctx, secret_id)?, secret_id.to_owned()),
    };
    Ok(DeleteSecretOutput {
        arn,
        name,
        deletion_date: Epoch(ctx.now),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnAndName {
    #[serde(rename = "ARN")]
    pub(crate) arn: String,
    pub(crate) name: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RestoreSecret.html>
pub async fn restore_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: SecretIdInput,
) -> Result<ArnAndName, E> {
    for _ in 0..super::stages::WRITE_ATTEMPTS {
        let mut secret = sm
            .find(ctx, &input.secret_id, "secretsmanager:RestoreSecret")
            .await?;
        if secret.deleted_at.is_none() {
            return Ok(ArnAndName {
                arn: secret.arn,
                name: secret.name,
            });
        }
        secret.deleted_at = None;
        secret.purge_at = None;
        if sm.commit_meta(&secret).await? {
            return Ok(ArnAndName {
                arn: secret.arn,
                name: secret.name,
            });
        }
    }
    Err(super::stages::contended())
}
