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

use super::lookup::{check_secret_id, require_live};
use super::stages::{WRITE_ATTEMPTS, contended, labels_of, pairs};
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use crate::context::Principal;
use crate::wire::{Epoch, SecretBlob};
use coffer_store::{SecretChange, SecretRecord, StoreError, Tag};
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

fn set_entries(s: &mut SecretRecord, e: &[ReplicaEntry]) {
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
fn service_ctx(account: &str, region: &str, now: i64) -> Result<RequestContext, E> {
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

fn backoff(attempts: u32) -> i64 {
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

    /// The desired state of the replica of `primary` in `entry`'s Region.
    async fn desired(
        &self,
        primary: &SecretRecord,
        entry: &ReplicaEntry,
        now: i64,
    ) -> Result<ReplicaState, E> {
        let ctx = service_ctx(&primary.account_id, &primary.region, now)?;
        let mut versions = Vec::new();
        for v in self.store.list_secret_versions(&primary.arn).await? {
            let value = self.open(&ctx, &primary.arn, &v).await?;
            versions.push(ReplicaVersion {
                version_id: v.version_id,
                created_at: v.created_at,
                binary: v.binary,
                value: SecretBlob(value),
                stages: v.stages,
            });
        }
        Ok(ReplicaState {
            primary_arn: primary.arn.clone(),
            region: entry.region.clone(),
            kms_key_id: entry.kms_key_id.clone(),
            force_overwrite: entry.force,
            remove: false,
            description: primary.description.clone(),
            tags: primary
                .tags
                .iter()
                .map(|t| ReplicaTag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
            tags_listed: primary.tags_listed,
            policy: primary.policy.clone(),
            last_changed_at: primary.last_changed_at,
            versions,
        })
    }

    /// Bring the replicas of `primary_arn` up to date: those of this deployment always, those
    /// of peers when `with_peers` (the background pass; a request does not wait on another
    /// deployment). Records each Region's outcome on the primary.
    pub(crate) async fn replicate(
        &self,
        primary_arn: &str,
        now: i64,
        with_peers: bool,
    ) -> Result<(), E> {
        self.replicate_noting(primary_arn, now, with_peers, &mut Vec::new())
            .await
    }

    /// [`SecretsManager::replicate`], noting every push in `pushed`.
    async fn replicate_noting(
        &self,
        primary_arn: &str,
        now: i64,
        with_peers: bool,
        pushed: &mut Vec<Pushed>,
    ) -> Result<(), E> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(primary) = self.store.get_secret_by_arn(primary_arn).await? else {
                return Ok(());
            };
            let mut e = entries(&primary);
            let mut pending_peer = false;
            let mut retry_at: Option<i64> = None;
            for entry in &mut e {
                let peer = self.peers.serves(&entry.region);
                if peer && !with_peers {
                    pending_peer = true;
                    continue;
                }
                let outcome = match self.desired(&primary, entry, now).await {
                    Ok(state) if peer => self.peers.apply(&state).await,
                    Ok(state) => self
                        .apply_replica(&state, now)
                        .await
                        .map_err(|e| crate::ServiceError::message(&e).to_owned()),
                    Err(err) => Err(format!(
                        "Secrets Manager can't read the primary secret: {}",
                        crate::ServiceError::message(&err)
                    )),
                };
                let m = crate::metrics::global();
                pushed.push(Pushed {
                    primary_arn: primary.arn.clone(),
                    account_id: primary.account_id.clone(),
                    primary_region: primary.region.clone(),
                    region: entry.region.clone(),
                    error: outcome.as_ref().err().cloned(),
                    time: crate::now_millis(),
                });
                match outcome {
                    Ok(()) => {
                        m.replication("in_sync");
                        if let Some(due) = primary.replication_due_at {
                            // From the change (or the retry time) to the replica holding it.
                            m.replication_lag(crate::now_millis().saturating_sub(due));
                        }
                        entry.status = IN_SYNC.to_owned();
                        entry.status_message = None;
                        entry.attempts = 0;
                    }
                    Err(reason) => {
                        m.replication("failed");
                        tracing::warn!(arn = %primary.arn, region = %entry.region, %reason, "replication failed; it will be retried");
                        entry.status = FAILED.to_owned();
                        entry.status_message = Some(format!("Replication failed: {reason}"));
                        entry.attempts = entry.attempts.saturating_add(1);
                        let at = now + backoff(entry.attempts);
                        retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                    }
                }
            }
            let mut updated = primary.clone();
            set_entries(&mut updated, &e);
            updated.replication_due_at = if pending_peer {
                Some(now)
            } else if e.is_empty() {
                None
            } else {
                retry_at
            };
            if updated == primary {
                return Ok(());
            }
            // The primary's status only: not a change to replicate (store, not `commit`).
            // A conflict means the primary changed meanwhile: replicate that too.
            if self.write_status(&updated).await? {
                return Ok(());
            }
        }
        Err(contended())
    }

    /// The background pass: every primary whose replicas are due. Returns the pushes it made.
    pub async fn replication_pass(&self, now: i64) -> Result<Vec<Pushed>, E> {
        let due = self
            .store
            .secrets_due_for_replication(now, PASS_BATCH)
            .await?;
        let mut pushed = Vec::new();
        for s in &due {
            if let Err(e) = self.replicate_noting(&s.arn, now, true, &mut pushed).await {
                tracing::warn!(arn = %s.arn, error = ?e, "replication pass failed for a secret");
            }
        }
        Ok(pushed)
    }

    /// Make this deployment's replica in `state.region` equal to `state` (or remove it). The
    /// local half of replication, and what a peer's `coffer.admin.ApplyReplica` runs.
    pub async fn apply_replica(&self, state: &ReplicaState, now: i64) -> Result<(), E> {
        let primary = Arn::parse(&state.primary_arn)
            .ok()
            .filter(|a| a.service == "secretsmanager")
            .ok_or_else(|| E::InvalidParameter("PrimaryArn is not a secret ARN.".to_owned()))?;
        let full = primary
            .resource
            .strip_prefix("secret:")
            .ok_or_else(|| E::InvalidParameter("PrimaryArn is not a secret ARN.".to_owned()))?;
        let name = full.rsplit_once('-').map_or(full, |(n, _)| n).to_owned();
        check_secret_id(&name)?;
        let arn = replica_arn(&state.primary_arn, &state.region)
            .ok_or_else(|| E::InvalidParameter("Invalid replica region.".to_owned()))?;
        let ctx = service_ctx(&primary.account, &state.region, now)?;
        for _ in 0..WRITE_ATTEMPTS + state.versions.len() {
            let existing = self
                .store
                .get_secret_by_name(&primary.account, &state.region, &name)
                .await?;
            let ours = existing.as_ref().is_some_and(|s| {
                s.arn == arn && s.primary_region.as_deref() == Some(primary.region.as_str())
            });
            if state.remove {
                if ours {
                    self.store.purge_secret(&arn).await?;
                }
                return Ok(());
            }
            match existing {
                Some(other) if !ours => {
                    if !state.force_overwrite {
                        return Err(E::ResourceExists(format!(
                            "A secret with the name {name} already exists in {}; replicate with ForceOverwriteReplicaSecret to replace it.",
                            state.region
                        )));
                    }
                    self.store.purge_secret(&other.arn).await?;
                }
                None => {
                    let record = self.new_replica(&ctx, state, &arn, &name, &primary.region);
                    match self.store.create_secret(&record, None).await {
                        Ok(()) | Err(StoreError::Conflict) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Some(replica) => {
                    if self.converge(&ctx, state, replica).await? {
                        return Ok(());
                    }
                }
            }
        }
        Err(contended())
    }

    fn new_replica(
        &self,
        ctx: &RequestContext,
        state: &ReplicaState,
        arn: &str,
        name: &str,
        primary_region: &str,
    ) -> SecretRecord {
        SecretRecord {
            arn: arn.to_owned(),
            account_id: ctx.account().to_owned(),
            region: state.region.clone(),
            name: name.to_owned(),
            description: None,
            kms_key_id: state.kms_key_id.clone(),
            tags: Vec::new(),
            tags_listed: false,
            policy: None,
            owning_service: None,
            primary_region: Some(primary_region.to_owned()),
            replication: None,
            replication_due_at: None,
            created_at: ctx.now,
            last_changed_at: ctx.now,
            last_accessed_at: None,
            deleted_at: None,
            purge_at: None,
            rotation_enabled: false,
            rotation_lambda_arn: None,
            rotation_rules: None,
            last_rotated_at: None,
            next_rotation_at: None,
            row_version: 1,
        }
    }

    /// One step towards `state` on the existing replica: add one missing version, or else set
    /// the metadata, labels and pruning at once. True when the replica holds `state`.
    async fn converge(
        &self,
        ctx: &RequestContext,
        state: &ReplicaState,
        replica: SecretRecord,
    ) -> Result<bool, E> {
        let mut desired = replica.clone();
        desired.description = state.description.clone();
        desired.kms_key_id = state.kms_key_id.clone();
        desired.tags = state
            .tags
            .iter()
            .map(|t| Tag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect();
        desired.tags_listed = state.tags_listed;
        desired.policy = state.policy.clone();
        desired.last_changed_at = state.last_changed_at;
        desired.deleted_at = None;
        desired.purge_at = None;
        let have = self.store.list_secret_version_labels(&replica.arn).await?;
        if let Some(v) = state
            .versions
            .iter()
            .find(|v| !have.iter().any(|h| h.version_id == v.version_id))
        {
            let mut record = self
                .seal(ctx, &desired, &v.version_id, &v.value.0, v.binary)
                .await?;
            record.created_at = v.created_at;
            self.store
                .update_secret(SecretChange {
                    secret: &replica,
                    new_version: Some(&record),
                    stages: None,
                    prune: &[],
                })
                .await
                .or_else(|e| match e {
                    StoreError::Conflict => Ok(()),
                    e => Err(e),
                })?;
            return Ok(false);
        }
        let mut want = std::collections::BTreeMap::new();
        for v in &state.versions {
            for l in &v.stages {
                want.insert(l.clone(), v.version_id.clone());
            }
        }
        let prune: Vec<String> = have
            .iter()
            .filter(|h| !state.versions.iter().any(|v| v.version_id == h.version_id))
            .map(|h| h.version_id.clone())
            .collect();
        if want == labels_of(&have) && prune.is_empty() && desired == replica {
            return Ok(true);
        }
        let stages = pairs(&want);
        match self
            .store
            .update_secret(SecretChange {
                secret: &desired,
                new_version: None,
                stages: Some(&stages),
                prune: &prune,
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Remove the replica of `primary` in `region` (RemoveRegionsFromReplication).
    async fn remove_replica(&self, primary: &SecretRecord, region: &str, now: i64) {
        let state = ReplicaState {
            primary_arn: primary.arn.clone(),
            region: region.to_owned(),
            kms_key_id: None,
            force_overwrite: false,
            remove: true,
            description: None,
            tags: Vec::new(),
            tags_listed: false,
            policy: None,
            last_changed_at: now,
            versions: Vec::new(),
        };
        let outcome = if self.peers.serves(region) {
            self.peers.apply(&state).await
        } else {
            self.apply_replica(&state, now)
                .await
                .map_err(|e| crate::ServiceError::message(&e).to_owned())
        };
        if let Err(reason) = outcome {
            // The Region is no longer replicated either way; its leftover copy is the peer's.
            tracing::warn!(arn = %primary.arn, %region, %reason, "could not delete the replica of a Region removed from replication");
        }
    }
}

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
        .ok_or_else(super::lookup::not_found)?;
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

impl SecretsManager {
    /// Write a primary's replication status (metadata only, under its `row_version`, and not
    /// through `commit`: a status is not a change to replicate). False on a conflict.
    async fn write_status(&self, primary: &SecretRecord) -> Result<bool, E> {
        match self
            .store
            .update_secret(SecretChange {
                secret: primary,
                new_version: None,
                stages: None,
                prune: &[],
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Drop `region` from the replicas of the primary `primary_arn` of this deployment.
    async fn forget_region(&self, primary_arn: &str, region: &str) -> Result<(), E> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut primary) = self.store.get_secret_by_arn(primary_arn).await? else {
                return Ok(());
            };
            let mut e = entries(&primary);
            if !e.iter().any(|x| x.region == region) {
                return Ok(());
            }
            e.retain(|x| x.region != region);
            set_entries(&mut primary, &e);
            if self.write_status(&primary).await? {
                return Ok(());
            }
        }
        Err(contended())
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
