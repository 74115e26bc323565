//! The replicator: the desired state of a replica, pushing it (to this deployment's store or a
//! peer), converging a local replica on it, and the primary's status writes.

use super::{
    FAILED, IN_SYNC, PASS_BATCH, Pushed, ReplicaEntry, ReplicaState, ReplicaTag, ReplicaVersion,
    backoff, entries, replica_arn, service_ctx, set_entries,
};
use crate::RequestContext;
use crate::secretsmanager::lookup::{check_secret_id, new_secret};
use crate::secretsmanager::stages::{WRITE_ATTEMPTS, contended, labels_of, pairs};
use crate::secretsmanager::{SecretsManager, SecretsManagerError as E};
use crate::wire::SecretBlob;
use coffer_store::{SecretChange, SecretRecord, StoreError, Tag};
use coffer_types::Arn;

impl SecretsManager {
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
                    let record = Self::new_replica(&ctx, state, &arn, &name, &primary.region);
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

    /// The record of a new replica (`ctx` is in the replica's Region).
    fn new_replica(
        ctx: &RequestContext,
        state: &ReplicaState,
        arn: &str,
        name: &str,
        primary_region: &str,
    ) -> SecretRecord {
        SecretRecord {
            kms_key_id: state.kms_key_id.clone(),
            primary_region: Some(primary_region.to_owned()),
            ..new_secret(ctx, arn.to_owned(), name)
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
                    prune_beyond: None,
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
                prune_beyond: None,
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Remove the replica of `primary` in `region` (RemoveRegionsFromReplication).
    pub(super) async fn remove_replica(&self, primary: &SecretRecord, region: &str, now: i64) {
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
                prune_beyond: None,
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Drop `region` from the replicas of the primary `primary_arn` of this deployment.
    pub(super) async fn forget_region(&self, primary_arn: &str, region: &str) -> Result<(), E> {
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
