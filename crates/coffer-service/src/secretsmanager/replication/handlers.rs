//! The operations: ReplicateSecretToRegions, RemoveRegionsFromReplication,
//! StopReplicationToReplica.

use super::{RegionIn, ReplicationStatus, entries, replica_arn, set_entries};
use crate::RequestContext;
use crate::secretsmanager::lookup::{not_found, require_live};
use crate::secretsmanager::stages::{WRITE_ATTEMPTS, contended};
use crate::secretsmanager::{SecretsManager, SecretsManagerError as E};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateInput {
    secret_id: String,
    add_replica_regions: Vec<RegionIn>,
    force_overwrite_replica_secret: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationOutput {
    #[serde(rename = "ARN")]
    arn: String,
    replication_status: Option<Vec<ReplicationStatus>>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicateSecretToRegions.html>
pub async fn replicate_secret_to_regions(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ReplicateInput,
) -> Result<ReplicationOutput, E> {
    const ACTION: &str = "secretsmanager:ReplicateSecretToRegions";
    let force = input.force_overwrite_replica_secret.unwrap_or(false);
    let _queue = sm.write_lock(&input.secret_id).await;
    for _ in 0..WRITE_ATTEMPTS {
        let mut secret = sm.find(ctx, &input.secret_id, ACTION).await?;
        require_live(&secret)?;
        SecretsManager::add_regions(&mut secret, &input.add_replica_regions, force)?;
        if sm.commit_meta(&secret).await? {
            return answer(sm, &secret.arn).await;
        }
    }
    Err(contended())
}

/// The primary's ARN and replica status as they are now.
async fn answer(sm: &SecretsManager, arn: &str) -> Result<ReplicationOutput, E> {
    let s = sm
        .store
        .get_secret_by_arn(arn)
        .await?
        .ok_or_else(not_found)?;
    Ok(ReplicationOutput {
        arn: s.arn.clone(),
        replication_status: Some(sm.replication_status(&s).await?.unwrap_or_default()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveInput {
    secret_id: String,
    remove_replica_regions: Vec<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RemoveRegionsFromReplication.html>
pub async fn remove_regions_from_replication(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: RemoveInput,
) -> Result<ReplicationOutput, E> {
    const ACTION: &str = "secretsmanager:RemoveRegionsFromReplication";
    if input.remove_replica_regions.is_empty() {
        return Err(E::InvalidParameter(
            "RemoveReplicaRegions must name at least one Region.".to_owned(),
        ));
    }
    let _queue = sm.write_lock(&input.secret_id).await;
    for _ in 0..WRITE_ATTEMPTS {
        let mut secret = sm.find(ctx, &input.secret_id, ACTION).await?;
        let mut e = entries(&secret);
        for r in &input.remove_replica_regions {
            if !e.iter().any(|x| &x.region == r) {
                return Err(E::InvalidParameter(format!(
                    "Invalid replica region {r}: the secret is not replicated there."
                )));
            }
        }
        e.retain(|x| !input.remove_replica_regions.contains(&x.region));
        set_entries(&mut secret, &e);
        if sm.commit_meta(&secret).await? {
            for r in &input.remove_replica_regions {
                sm.remove_replica(&secret, r, ctx.now).await;
            }
            return answer(sm, &secret.arn).await;
        }
    }
    Err(contended())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopInput {
    secret_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopOutput {
    #[serde(rename = "ARN")]
    arn: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_StopReplicationToReplica.html>
/// Called in the replica's Region: the replica becomes a standalone secret (failover). A primary
/// in this deployment forgets the Region; one in another deployment finds the name taken at its
/// next push and shows the Region as Failed.
pub async fn stop_replication_to_replica(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: StopInput,
) -> Result<StopOutput, E> {
    const ACTION: &str = "secretsmanager:StopReplicationToReplica";
    let _queue = sm.write_lock(&input.secret_id).await;
    let mut promoted = None;
    for _ in 0..WRITE_ATTEMPTS {
        let mut secret = sm.find(ctx, &input.secret_id, ACTION).await?;
        let Some(primary_region) = secret.primary_region.take() else {
            return Err(E::InvalidRequest(
                "StopReplicationToReplica must be called on a replica secret, in its Region."
                    .to_owned(),
            ));
        };
        secret.last_changed_at = ctx.now;
        if sm.commit_meta(&secret).await? {
            promoted = Some((secret.arn, primary_region));
            break;
        }
    }
    let Some((arn, primary_region)) = promoted else {
        return Err(contended());
    };
    if !sm.peers.serves(&primary_region)
        && let Some(primary_arn) = replica_arn(&arn, &primary_region)
    {
        sm.forget_region(&primary_arn, ctx.region()).await?;
    }
    Ok(StopOutput { arn })
}
