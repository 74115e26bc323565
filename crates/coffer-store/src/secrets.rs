//! Secrets Manager: secrets, their encrypted versions and staging labels.
//!
//! A secret row holds the metadata; each version holds one sealed value (the KMS-wrapped data key
//! and the value encrypted under it); staging labels are their own rows, unique per
//! (secret, label), so no two versions can ever hold `AWSCURRENT`. Every change to a secret is one
//! [`SecretChange`] applied in one transaction under the secret's `row_version`: concurrent writers
//! (two nodes on one PostgreSQL) cannot lose each other's label moves; the loser re-reads and
//! retries.

use crate::Result;
use crate::records::{Millis, Tag};
use async_trait::async_trait;

/// A secret's metadata. Field names follow DescribeSecret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SecretRecord {
    /// `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`; the primary key.
    pub arn: String,
    pub account_id: String,
    pub region: String,
    /// Unique per account and region until the secret is purged.
    pub name: String,
    pub description: Option<String>,
    /// The KMS key as the caller named it; `None` means `aws/secretsmanager`.
    pub kms_key_id: Option<String>,
    #[sqlx(try_from = "crate::repo::TagsJson")]
    pub tags: Vec<Tag>,
    /// Tags are listed even when there are none: set once every tag was removed (AWS then
    /// answers `"Tags": []`; a secret never tagged has no Tags member).
    pub tags_listed: bool,
    /// The resource policy document, as stored by PutResourcePolicy.
    pub policy: Option<String>,
    pub owning_service: Option<String>,
    /// Set on a replica: the Region of its primary (DescribeSecret's `PrimaryRegion`).
    pub primary_region: Option<String>,
    /// On a primary with replicas: the replica Regions, their keys and status, as JSON
    /// (`coffer-service`'s `secretsmanager::replication` owns the format).
    pub replication: Option<String>,
    /// On a primary with replicas: when the replicator should next bring them up to date
    /// (set by every change, pushed back after a failure); `None`: nothing to do.
    pub replication_due_at: Option<Millis>,
    pub created_at: Millis,
    pub last_changed_at: Millis,
    /// Midnight UTC of the last day the value was read, as AWS reports it.
    pub last_accessed_at: Option<Millis>,
    /// DeleteSecret's `DeletedDate`; the secret is read-only and hidden until restored.
    pub deleted_at: Option<Millis>,
    /// When the background purge removes the secret for good.
    pub purge_at: Option<Millis>,
    pub rotation_enabled: bool,
    pub rotation_lambda_arn: Option<String>,
    /// `RotationRules` as JSON.
    pub rotation_rules: Option<String>,
    pub last_rotated_at: Option<Millis>,
    pub next_rotation_at: Option<Millis>,
    /// Optimistic concurrency: a [`SecretChange`] names the version it read.
    pub row_version: i64,
}

/// One sealed version of a secret's value.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SecretVersionRecord {
    /// The ClientRequestToken that created it.
    pub version_id: String,
    pub created_at: Millis,
    pub last_accessed_at: Option<Millis>,
    /// ARN of the KMS key that wrapped `data_key`.
    pub kms_key_arn: String,
    /// The version's data key, as a KMS ciphertext blob.
    pub data_key: Vec<u8>,
    /// The value sealed with the data key (AES-256-GCM, nonce || ciphertext || tag).
    pub ciphertext: Vec<u8>,
    /// SecretBinary rather than SecretString.
    #[sqlx(rename = "is_binary")]
    pub binary: bool,
    /// Staging labels, sorted. On write, labels come from [`SecretChange::stages`].
    #[sqlx(try_from = "crate::repo::TextList")]
    pub stages: Vec<String>,
}

impl std::fmt::Debug for SecretVersionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretVersionRecord")
            .field("version_id", &self.version_id)
            .field("created_at", &self.created_at)
            .field("kms_key_arn", &self.kms_key_arn)
            .field("binary", &self.binary)
            .field("stages", &self.stages)
            .finish_non_exhaustive()
    }
}

/// One atomic change to a secret.
#[derive(Debug, Clone, Copy)]
pub struct SecretChange<'a> {
    /// The new metadata. Its `row_version` is the one read; the store writes `row_version + 1`
    /// or fails with `Conflict`.
    pub secret: &'a SecretRecord,
    /// A version to add.
    pub new_version: Option<&'a SecretVersionRecord>,
    /// When given, the complete new label map `(label, version_id)`, replacing the old one.
    pub stages: Option<&'a [(String, String)]>,
    /// Versions to remove (pruning past AWS's limit).
    pub prune: &'a [String],
    /// After the change, remove the oldest versions without a label created at or before
    /// `.1` while the secret has more than `.0` (AWS's version limit, applied by one query
    /// rather than by reading every version).
    pub prune_beyond: Option<(usize, Millis)>,
}

/// ListSecrets' `SortBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSort {
    CreatedDate,
    LastAccessedDate,
    LastChangedDate,
    Name,
}

/// A position in a secret listing: the sort value of the last item returned, and its ARN (the
/// tie-breaker). A missing LastAccessedDate sorts as 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretCursor {
    pub value: SortValue,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Time(Millis),
    Name(String),
}

impl SecretCursor {
    /// The cursor just past `secret` in an ordering by `sort`.
    pub fn after(secret: &SecretRecord, sort: SecretSort) -> Self {
        let value = match sort {
            SecretSort::CreatedDate => SortValue::Time(secret.created_at),
            SecretSort::LastAccessedDate => SortValue::Time(secret.last_accessed_at.unwrap_or(0)),
            SecretSort::LastChangedDate => SortValue::Time(secret.last_changed_at),
            SecretSort::Name => SortValue::Name(secret.name.clone()),
        };
        Self {
            value,
            arn: secret.arn.clone(),
        }
    }
}

/// One ordered scan over an account's secrets.
#[derive(Debug, Clone)]
pub struct SecretListQuery<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub sort: SecretSort,
    pub descending: bool,
    /// Include secrets marked for deletion.
    pub include_deleted: bool,
    pub after: Option<&'a SecretCursor>,
    pub limit: usize,
}

/// How a secret is looked up.
#[derive(Debug, Clone, Copy)]
pub enum SecretBy<'a> {
    Arn(&'a str),
    Name {
        account: &'a str,
        region: &'a str,
        name: &'a str,
    },
}

/// What [`SecretStore::get_secret_with_staged_version`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRead {
    pub secret: SecretRecord,
    /// The version holding the label, if one does.
    pub version: Option<SecretVersionRecord>,
    /// The KMS key named by the version's `kms_key_arn`, read in the same statement (PostgreSQL);
    /// `None` where the backend did not read it (SQLite: its read cache serves the key) or no
    /// such key exists. A hint: its user still checks it is the key it needs.
    pub key: Option<crate::records::KeyRecord>,
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Create a secret and optionally its first version (with its labels). `Conflict` if the
    /// name is taken in the account and region (a secret marked for deletion still holds it).
    async fn create_secret(
        &self,
        secret: &SecretRecord,
        version: Option<&SecretVersionRecord>,
    ) -> Result<()>;
    async fn get_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>>;
    async fn get_secret_by_name(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<SecretRecord>>;
    /// Every version with its labels, oldest first.
    async fn list_secret_versions(&self, arn: &str) -> Result<Vec<SecretVersionRecord>>;
    /// [`SecretStore::list_secret_versions`] without the sealed values: `data_key` and
    /// `ciphertext` are empty. For writers that only move labels and prune (a PutSecretValue
    /// reads every version of the secret, up to a hundred, and needs none of their values).
    async fn list_secret_version_labels(&self, arn: &str) -> Result<Vec<SecretVersionRecord>> {
        let mut versions = self.list_secret_versions(arn).await?;
        for v in &mut versions {
            v.data_key = Vec::new();
            v.ciphertext = Vec::new();
        }
        Ok(versions)
    }
    /// The versions that hold at least one label, oldest first, without their sealed values:
    /// what a writer moving labels needs (a hot secret can hold thousands of unlabelled
    /// versions younger than the 24 hours AWS keeps them).
    async fn list_labelled_secret_versions(&self, arn: &str) -> Result<Vec<SecretVersionRecord>>;
    async fn get_secret_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<SecretVersionRecord>>;
    /// The version holding `stage`.
    async fn get_secret_version_by_stage(
        &self,
        arn: &str,
        stage: &str,
    ) -> Result<Option<SecretVersionRecord>>;
    /// The secret `by` names and its version holding `stage`, read together: what a
    /// GetSecretValue by label needs. One statement (one snapshot, one round trip) that also
    /// brings the KMS key that wrapped the version's data key where the backend has no read
    /// cache; the two cached reads (and no key) where it has one.
    async fn get_secret_with_staged_version(
        &self,
        by: SecretBy<'_>,
        stage: &str,
    ) -> Result<Option<StagedRead>>;
    /// Apply `change` atomically; `Conflict` if the secret changed since it was read.
    async fn update_secret(&self, change: SecretChange<'_>) -> Result<()>;
    /// Record that a version was read on `day` (midnight UTC). Cheap and idempotent: it writes
    /// only when the recorded day is older, and does not bump `row_version`.
    async fn record_secret_access(&self, arn: &str, version_id: &str, day: Millis) -> Result<()>;
    /// Secrets in the query's order after its cursor, at most `limit`.
    async fn list_secrets(&self, query: &SecretListQuery<'_>) -> Result<Vec<SecretRecord>>;
    /// Remove a secret and all its versions for good. Returns false if it did not exist.
    async fn purge_secret(&self, arn: &str) -> Result<bool>;
    /// ARNs of secrets (in any account) whose recovery window ended by `now`.
    async fn secrets_due_for_purge(&self, now: Millis, limit: usize) -> Result<Vec<String>>;
    /// Primaries (in any account) whose replicas are due to be brought up to date by `now`,
    /// soonest first.
    async fn secrets_due_for_replication(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<SecretRecord>>;
}
