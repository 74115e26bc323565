//! Replicating secrets to other Regions: ReplicateSecretToRegions, RemoveRegionsFromReplication,
//! StopReplicationToReplica, CreateSecret's AddReplicaRegions, and the replicator that keeps
//! every replica equal to its primary.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/create-manage-multi-region-secrets.html>
//!
//! A replica is a secret of its own in its Region with the primary's name and ARN suffix,
//! `primary_region` set, its versions re-sealed under the KMS key given for that Region (never
//! the primary's), and the primary's labels, description, tags and resource policy. The primary
//! keeps its replica Regions and their status in its `replication` column; every change to it
//! sets `replication_due_at` in the same transaction ([`SecretsManager::commit`]), so no change
//! can be committed without the replicator knowing. Regions of this deployment are brought up
//! to date inside the request that changed the primary; Regions another deployment serves
//! ([`ReplicaPeers`], `[[replication.peers]]`) by the background pass
//! ([`SecretsManager::replication_pass`]), which also retries failures with backoff. Either
//! way the replica receives the whole desired state ([`ReplicaState`]) and converges on it, so a
//! peer that was down is caught up by the next successful push.

//!
//! - [`push`]: the replicator (desired state, pushes, convergence, status writes).
//! - [`handlers`]: the three replication operations.

mod handlers;
mod push;

pub use handlers::{
    remove_regions_from_replication, replicate_secret_to_regions, stop_replication_to_replica,
};

use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use crate::context::Principal;
use crate::wire::{Epoch, SecretBlob};
use coffer_store::SecretRecord;
use coffer_types::{Arn, Region};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// DescribeSecret's `Status` values.
pub(crate) const IN_PROGRESS: &str = "InProgress";
pub(crate) const IN_SYNC: &str = "InSync";
pub(crate) const FAILED: &str = "Failed";

/// Longest pause between two attempts at a failing replica.
const BACKOFF_MAX_MS: i64 = 30_000;
/// How many primaries one background pass looks at.
const PASS_BATCH: usize = 100;

/// Regions that other coffer deployments serve, and how to write replicas into them.
#[async_trait::async_trait]
pub trait ReplicaPeers: Send + Sync {
    /// Whether another deployment serves `region`.
    fn serves(&self, region: &str) -> bool;
    /// Bring the replica `state` describes up to date in the deployment serving its Region (its
    /// `coffer.admin.ApplyReplica`). The error is the reason shown as the Region's
    /// `StatusMessage`: it must not contain a secret value.
    async fn apply(&self, state: &ReplicaState) -> Result<(), String>;
}

/// No other deployment: every Region is one of this deployment's.
pub(crate) struct NoPeers;

#[async_trait::async_trait]
impl ReplicaPeers for NoPeers {
    fn serves(&self, _region: &str) -> bool {
        false
    }
    async fn apply(&self, _state: &ReplicaState) -> Result<(), String> {
        Err("no deployment serves this Region".to_owned())
    }
}

/// One replica Region of a primary, as its `replication` column keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReplicaEntry {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Failed attempts in a row (the backoff).
    #[serde(default)]
    pub attempts: u32,
    /// ForceOverwriteReplicaSecret: replace a secret of the same name in the Region.
    #[serde(default)]
    pub force: bool,
}

/// The replica Regions of `s` (none for a secret that is not a primary with replicas).
pub(crate) fn entries(s: &SecretRecord) -> Vec<ReplicaEntry> {
    match s.replication.as_deref() {
        None => Vec::new(),
        Some(text) => serde_json::from_str(text).unwrap_or_else(|e| {
            tracing::error!(arn = %s.arn, error = %e, "unreadable replication status; treating the secret as unreplicated");
            Vec::new()
        }),
    }
}

pub(super) fn set_entries(s: &mut SecretRecord, e: &[ReplicaEntry]) {
    s.replication = (!e.is_empty()).then(|| serde_json::to_string(e).unwrap_or_default());
    if e.is_empty() {
        s.replication_due_at = None;
    }
}

/// `ReplicationStatusType`.
#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationStatus {
    region: String,
    kms_key_id: Option<String>,
    status: String,
    status_message: Option<String>,
    last_accessed_date: Option<Epoch>,
}

/// The primary's replica Regions as DescribeSecret shows them (without LastAccessedDate, which
/// [`SecretsManager::replication_status`] adds).
pub(crate) fn status_of(s: &SecretRecord) -> Option<Vec<ReplicationStatus>> {
    let e = entries(s);
    (!e.is_empty()).then(|| {
        e.into_iter()
            .map(|e| ReplicationStatus {
                region: e.region,
                kms_key_id: Some(
                    e.kms_key_id
                        .unwrap_or_else(|| super::seal::DEFAULT_KEY.to_owned()),
                ),
                status: e.status,
                status_message: e.status_message,
                last_accessed_date: None,
            })
            .collect()
    })
}

/// A replica's ARN: the primary's with the replica's Region (same name, same suffix).
pub(crate) fn replica_arn(primary_arn: &str, region: &str) -> Option<String> {
    let mut arn = Arn::parse(primary_arn).ok()?;
    arn.region = region.to_owned();
    Some(arn.to_string())
}

/// What a replica must hold: everything of the primary it mirrors, with the values in the
/// clear (in memory only; sent to a peer over its https endpoint).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaState {
    pub primary_arn: String,
    /// The replica's Region.
    pub region: String,
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub force_overwrite: bool,
    /// Remove the replica instead (RemoveRegionsFromReplication).
    #[serde(default)]
    pub remove: bool,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<ReplicaTag>,
    #[serde(default)]
    pub tags_listed: bool,
    pub policy: Option<String>,
    pub last_changed_at: i64,
    #[serde(default)]
    pub versions: Vec<ReplicaVersion>,
}

impl std::fmt::Debug for ReplicaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaState")
            .field("primary_arn", &self.primary_arn)
            .field("region", &self.region)
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaTag {
    pub key: String,
    pub value: String,
}

/// One version: its value (base64 on the wire, zeroized in memory), labels and creation time.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaVersion {
    pub version_id: String,
    pub created_at: i64,
    pub binary: bool,
    pub value: SecretBlob,
    #[serde(default)]
    pub stages: Vec<String>,
}

/// One push of the background pass, for the audit trail (`ReplicateSecretVersion`).
#[derive(Debug, Clone)]
pub struct Pushed {
    pub primary_arn: String,
    pub account_id: String,
    pub primary_region: String,
    pub region: String,
    /// The reason, when it failed.
    pub error: Option<String>,
    pub time: i64,
}

/// The account's administrator in `region`: Secrets Manager acting for the secret's owner.
pub(super) fn service_ctx(account: &str, region: &str, now: i64) -> Result<RequestContext, E> {
    let principal = Principal::service_for(account)
        .ok_or_else(|| E::Internal("stored account id".to_owned()))?;
    let region = Region::parse(region).map_err(|_| E::Internal("stored region".to_owned()))?;
    Ok(RequestContext {
        principal,
        region,
        request_id: format!("replication-{}", uuid::Uuid::new_v4()),
        now,
        dev: false,
        source_ip: None,
        secure_transport: true,
        via_service: Some("secretsmanager"),
    })
}

/// The message a write to a replica gets (AWS answers InvalidParameterException).
pub(crate) fn replica_is_read_only() -> E {
    E::InvalidParameter(
        "Operation not permitted on a replica secret. Call must be made in primary secret's region."
            .to_owned(),
    )
}

/// Actions a replica accepts: reads, and StopReplicationToReplica (its promotion).
pub(crate) fn allowed_on_replica(action: &str) -> bool {
    matches!(
        action,
        "secretsmanager:GetSecretValue"
            | "secretsmanager:DescribeSecret"
            | "secretsmanager:ListSecretVersionIds"
            | "secretsmanager:GetResourcePolicy"
            | "secretsmanager:BatchGetSecretValue"
            | "secretsmanager:StopReplicationToReplica"
    )
}

pub(super) fn backoff(attempts: u32) -> i64 {
    (1_000i64 << attempts.clamp(1, 16).saturating_sub(1)).min(BACKOFF_MAX_MS)
}

/// Check one requested replica Region.
fn check_region(primary: &SecretRecord, region: &str) -> Result<(), E> {
    if Region::parse(region).is_err() {
        return Err(E::InvalidParameter(format!(
            "Invalid replica region {region}."
        )));
    }
    if region == primary.region {
        return Err(E::InvalidParameter(
            "Invalid replica region: a secret cannot be replicated to its own Region.".to_owned(),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegionIn {
    region: Option<String>,
    kms_key_id: Option<String>,
}

impl SecretsManager {
    /// Add `regions` to the primary `secret`'s replicas (InProgress until the replicator runs).
    pub(crate) fn add_regions(
        secret: &mut SecretRecord,
        regions: &[RegionIn],
        force: bool,
    ) -> Result<(), E> {
        let mut e = entries(secret);
        for r in regions {
            let region = r.region.clone().unwrap_or_default();
            check_region(secret, &region)?;
            let entry = ReplicaEntry {
                region: region.clone(),
                kms_key_id: r.kms_key_id.clone().filter(|k| !k.is_empty()),
                status: IN_PROGRESS.to_owned(),
                status_message: None,
                attempts: 0,
                force,
            };
            match e.iter_mut().find(|x| x.region == region) {
                Some(x) => *x = entry,
                None => e.push(entry),
            }
        }
        e.sort_by(|a, b| a.region.cmp(&b.region));
        set_entries(secret, &e);
        Ok(())
    }

    /// Whether `s` has replicas to keep up to date.
    pub(crate) fn is_replicated(s: &SecretRecord) -> bool {
        s.replication.is_some()
    }

    /// The replica Regions with the LastAccessedDate of the replicas this deployment holds.
    pub(crate) async fn replication_status(
        &self,
        s: &SecretRecord,
    ) -> Result<Option<Vec<ReplicationStatus>>, E> {
        let Some(mut status) = status_of(s) else {
            return Ok(None);
        };
        for st in &mut status {
            if self.peers.serves(&st.region) {
                continue;
            }
            if let Some(arn) = replica_arn(&s.arn, &st.region)
                && let Some(r) = self.store.get_secret_by_arn(&arn).await?
            {
                st.last_accessed_date = r.last_accessed_at.map(Epoch);
            }
        }
        Ok(Some(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_arn_keeps_name_and_suffix() {
        assert_eq!(
            replica_arn(
                "arn:aws:secretsmanager:us-east-1:012345678901:secret:prod/db-AbC123",
                "us-west-2"
            )
            .as_deref(),
            Some("arn:aws:secretsmanager:us-west-2:012345678901:secret:prod/db-AbC123")
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), 1_000);
        assert_eq!(backoff(2), 2_000);
        assert_eq!(backoff(10), BACKOFF_MAX_MS);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX_MS);
    }

    #[test]
    fn only_reads_and_promotion_reach_a_replica() {
        assert!(allowed_on_replica("secretsmanager:GetSecretValue"));
        assert!(allowed_on_replica(
            "secretsmanager:StopReplicationToReplica"
        ));
        assert!(!allowed_on_replica("secretsmanager:PutSecretValue"));
        assert!(!allowed_on_replica("secretsmanager:PutResourcePolicy"));
        assert!(!allowed_on_replica("secretsmanager:DeleteSecret"));
    }
}
