//! Staging labels: AWSCURRENT, AWSPREVIOUS, AWSPENDING and custom ones; UpdateSecretVersionStage;
//! pruning of unlabelled versions.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version>

use super::lookup::{DAY_MS, require_live};
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use coffer_store::{SecretChange, SecretVersionRecord, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) const CURRENT: &str = "AWSCURRENT";
pub(crate) const PREVIOUS: &str = "AWSPREVIOUS";
const PENDING: &str = "AWSPENDING";

/// At most this many labels per version.
const MAX_LABELS_PER_VERSION: usize = 20;
/// Past this many versions, the oldest unlabelled ones are removed...
pub(crate) const MAX_VERSIONS: usize = 100;
/// ...but never one younger than this.
pub(crate) const PRUNE_MIN_AGE_MS: i64 = DAY_MS;
/// Optimistic writes retried this often against concurrent writers before giving up.
pub(crate) const WRITE_ATTEMPTS: usize = 16;

/// label -> version id.
pub(crate) type Labels = BTreeMap<String, String>;

pub(crate) fn labels_of(versions: &[SecretVersionRecord]) -> Labels {
    versions
        .iter()
        .flat_map(|v| v.stages.iter().map(|s| (s.clone(), v.version_id.clone())))
        .collect()
}

/// Put `labels` on `version_id`, taking each from whichever version held it. Moving AWSCURRENT
/// away from a version leaves AWSPREVIOUS on it, as AWS does, and takes AWSPENDING off it
/// (a rotation that ended there is over).
pub(crate) fn attach(map: &mut Labels, version_id: &str, labels: &[String]) {
    for label in labels {
        if label == CURRENT
            && let Some(old) = map.get(CURRENT).cloned()
            && old != version_id
        {
            if map.get(PENDING) == Some(&old) {
                map.remove(PENDING);
            }
            map.insert(PREVIOUS.to_owned(), old);
        }
        map.insert(label.clone(), version_id.to_owned());
    }
}

pub(crate) fn labels_on<'a>(map: &'a Labels, version_id: &'a str) -> impl Iterator<Item = &'a str> {
    map.iter()
        .filter(move |(_, v)| *v == version_id)
        .map(|(l, _)| l.as_str())
}

/// Every version's labels within AWS's limit.
pub(crate) fn check_label_counts(map: &Labels) -> Result<(), E> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in map.values() {
        *counts.entry(v).or_default() += 1;
    }
    if counts.values().any(|&n| n > MAX_LABELS_PER_VERSION) {
        return Err(E::LimitExceeded(format!(
            "A secret version can have at most {MAX_LABELS_PER_VERSION} staging labels."
        )));
    }
    Ok(())
}

pub(crate) fn pairs(map: &Labels) -> Vec<(String, String)> {
    map.iter().map(|(l, v)| (l.clone(), v.clone())).collect()
}

/// Striped per-node locks over secret ids.
#[derive(Debug)]
pub(crate) struct WriteLocks([tokio::sync::Mutex<()>; 64]);

impl Default for WriteLocks {
    fn default() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl WriteLocks {
    /// The lock for writes addressed as `secret_id` (ids naming one secret differently take
    /// different stripes; the compare-and-set still keeps them correct).
    pub(crate) async fn lock(&self, secret_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        secret_id.hash(&mut h);
        let i = usize::try_from(h.finish() % 64).unwrap_or(0);
        self.0[i].lock().await
    }
}

impl SecretsManager {
    /// Apply an optimistic change; `Ok(false)` means another writer got there first and the
    /// caller should re-read and try again — after a short random pause, so that writers on
    /// several nodes do not retry in lockstep.
    ///
    /// A change to a primary with replicas marks them due in the same transaction and brings
    /// this deployment's replicas up to date before returning (`replication`).
    pub(crate) async fn commit(&self, change: SecretChange<'_>) -> Result<bool, E> {
        let replicated = SecretsManager::is_replicated(change.secret);
        let marked;
        let change = if replicated {
            let mut s = change.secret.clone();
            s.replication_due_at = Some(crate::now_millis());
            marked = s;
            SecretChange {
                secret: &marked,
                ..change
            }
        } else {
            change
        };
        match self.store.update_secret(change).await {
            Ok(()) => {
                // The change is committed: a replication problem must not fail the request
                // (the due marker makes the background pass retry it).
                if replicated
                    && let Err(e) = self
                        .replicate(&change.secret.arn, crate::now_millis(), false)
                        .await
                {
                    tracing::warn!(arn = %change.secret.arn, error = ?e, "replicating a change failed; the background pass retries it");
                }
                Ok(true)
            }
            Err(StoreError::Conflict) => {
                let mut b = [0u8; 1];
                let _ = coffer_crypto::random::fill(&mut b);
                tokio::time::sleep(std::time::Duration::from_micros(200 + u64::from(b[0]) * 40))
                    .await;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn write_lock(&self, secret_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_locks.lock(secret_id).await
    }
}

impl SecretsManager {
    /// Commit a metadata-only change.
    pub(crate) async fn commit_meta(&self, secret: &coffer_store::SecretRecord) -> Result<bool, E> {
        self.commit(SecretChange {
            secret,
            new_version: None,
            stages: None,
            prune: &[],
            prune_beyond: None,
        })
        .await
    }
}

pub(crate) fn contended() -> E {
    E::Internal("secret changed concurrently on every attempt".to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageInput {
    secret_id: String,
    version_stage: String,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html>
pub async fn update_secret_version_stage(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UpdateSecretVersionStageInput,
) -> Result<UpdateSecretVersionStageOutput, E> {
    let label = input.version_stage;
    for _ in 0..WRITE_ATTEMPTS {
        let mut secret = sm
            .find(
                ctx,
                &input.secret_id,
                "secretsmanager:UpdateSecretVersionStage",
            )
            .await?;
        require_live(&secret)?;
        let versions = sm.store.list_secret_version_labels(&secret.arn).await?;
        let mut map = labels_of(&versions);
        let holder = map.get(&label).cloned();
        let exists = |id: &str| versions.iter().any(|v| v.version_id == id);
        if let Some(from) = &input.remove_from_version_id {
            if !exists(from) {
                return Err(E::ResourceNotFound(format!(
                    "Secrets Manager can't find the specified secret version: {from}"
                )));
            }
            if holder.as_deref() != Some(from.as_str()) {
                return Err(E::InvalidParameter(format!(
                    "The staging label {label} isn't attached to the version {from}."
                )));
            }
        }
        match &input.move_to_version_id {
            Some(to) => {
                if !exists(to) {
                    return Err(E::ResourceNotFound(format!(
                        "Secrets Manager can't find the specified secret version: {to}"
                    )));
                }
                if let Some(h) = &holder
                    && h != to
                    && input.remove_from_version_id.is_none()
                {
                    return Err(E::InvalidParameter(format!(
                        "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                    )));
                }
                attach(&mut map, to, std::slice::from_ref(&label));
            }
            None => {
                if input.remove_from_version_id.is_none() {
                    return Err(E::InvalidParameter(
                        "You must specify RemoveFromVersionId, MoveToVersionId, or both."
                            .to_owned(),
                    ));
                }
                if label == CURRENT {
                    return Err(E::InvalidParameter(
                        "You can't remove the staging label AWSCURRENT from a version without moving it to another version with MoveToVersionId.".to_owned(),
                    ));
                }
                map.remove(&label);
            }
        }
        check_label_counts(&map)?;
        let stages = pairs(&map);
        secret.last_changed_at = ctx.now;
        if sm
            .commit(SecretChange {
                secret: &secret,
                new_version: None,
                stages: Some(&stages),
                prune: &[],
                prune_beyond: None,
            })
            .await?
        {
            return Ok(UpdateSecretVersionStageOutput {
                arn: secret.arn,
                name: secret.name,
            });
        }
    }
    Err(contended())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, created_at: i64, stages: &[&str]) -> SecretVersionRecord {
        SecretVersionRecord {
            version_id: id.to_owned(),
            created_at,
            last_accessed_at: None,
            kms_key_arn: String::new(),
            data_key: Vec::new(),
            ciphertext: Vec::new(),
            binary: false,
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_new_current_version_pushes_previous() {
        let versions = [
            version("a", 1, &["AWSPREVIOUS"]),
            version("b", 2, &["AWSCURRENT", "blue"]),
        ];
        let mut map = labels_of(&versions);
        attach(&mut map, "c", &["AWSCURRENT".to_owned()]);
        assert_eq!(map["AWSCURRENT"], "c");
        assert_eq!(map["AWSPREVIOUS"], "b");
        assert_eq!(map["blue"], "b");
        assert_eq!(labels_on(&map, "a").count(), 0);
        // An AWSPENDING on the old current version goes with AWSCURRENT.
        let mut pending = labels_of(&[version("p", 1, &["AWSCURRENT", "AWSPENDING"])]);
        attach(&mut pending, "q", &["AWSCURRENT".to_owned()]);
        assert_eq!(
            labels_on(&pending, "p").collect::<Vec<_>>(),
            ["AWSPREVIOUS"]
        );
        // Re-attaching AWSCURRENT to its holder changes nothing.
        let before = map.clone();
        attach(&mut map, "c", &["AWSCURRENT".to_owned()]);
        assert_eq!(map, before);
    }

    #[test]
    fn label_limit_per_version() {
        let mut map = Labels::new();
        let labels: Vec<String> = (0..20).map(|i| format!("l{i}")).collect();
        attach(&mut map, "v", &labels);
        assert!(check_label_counts(&map).is_ok());
        attach(&mut map, "v", &["one-more".to_owned()]);
        assert!(matches!(check_label_counts(&map), Err(E::LimitExceeded(_))));
    }
}
