//! Secrets Manager rotation: the rotation in progress of each secret, its history, and the
//! rotation functions reached over HTTP.
//!
//! A secret has at most one [`RotationRecord`] (the primary key is the secret). It is created in
//! the same transaction that checks the secret's `row_version` ([`RotationStore::start_rotation`])
//! and removed in the transaction that records the outcome on the secret
//! ([`RotationStore::end_rotation`]): a due rotation is started once, however many schedulers
//! (restarted, or on several nodes) look at it.

use crate::Result;
use crate::records::Millis;
use crate::secrets::SecretRecord;
use async_trait::async_trait;

/// A rotation in progress.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RotationRecord {
    pub secret_arn: String,
    /// The ClientRequestToken: the version id of the AWSPENDING version.
    pub token: String,
    /// The RotationLambdaARN the rotation runs.
    pub function_arn: String,
    /// The next step to run: `createSecret`, `setSecret`, `testSecret` or `finishSecret`.
    pub step: String,
    /// Failed attempts so far.
    pub attempts: i64,
    pub started_at: Millis,
    /// No runner starts before this: a lease while one runs, the backoff after a failure.
    pub next_attempt_at: Millis,
    /// Why the last attempt failed (never secret material).
    pub last_error: Option<String>,
    /// Optimistic concurrency, as for secrets.
    pub row_version: i64,
}

/// One entry of a secret's rotation history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RotationEventRecord {
    pub at: Millis,
    pub token: String,
    pub step: String,
    /// `started`, `succeeded`, `failed`, `completed`, `cancelled`.
    pub outcome: String,
    pub message: Option<String>,
}

/// A rotation function reached over HTTP.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RotationFunctionRecord {
    pub account_id: String,
    pub region: String,
    pub name: String,
    pub url: String,
    pub timeout_ms: i64,
    /// The HMAC key requests are signed with, sealed with the master key.
    pub signing_key: Vec<u8>,
    pub created_at: Millis,
}

impl std::fmt::Debug for RotationFunctionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationFunctionRecord")
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait RotationStore: Send + Sync {
    /// Write the secret's new metadata (compare-and-set on its `row_version`, as
    /// [`crate::SecretStore::update_secret`]) and record `rotation` as in progress, atomically.
    /// `Conflict` if the secret changed since it was read or a rotation is already in progress.
    async fn start_rotation(&self, secret: &SecretRecord, rotation: &RotationRecord) -> Result<()>;
    async fn get_rotation(&self, secret_arn: &str) -> Result<Option<RotationRecord>>;
    /// Compare-and-set on `rotation.row_version` (the stored one becomes `row_version + 1`);
    /// `Conflict` if it changed or the rotation ended.
    async fn update_rotation(&self, rotation: &RotationRecord) -> Result<()>;
    /// Write the secret's new metadata (compare-and-set on its `row_version`) and end the rotation
    /// in progress, atomically: only the one with `token` when given (`Conflict` if that one is no
    /// longer in progress), whichever there is otherwise (cancellation).
    async fn end_rotation(&self, secret: &SecretRecord, token: Option<&str>) -> Result<()>;
    /// Rotations whose `next_attempt_at` has come, soonest first.
    async fn rotations_due(&self, now: Millis, limit: usize) -> Result<Vec<RotationRecord>>;
    /// Live secrets with rotation enabled, `next_rotation_at` come and no rotation in progress,
    /// soonest first.
    async fn secrets_due_for_rotation(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<SecretRecord>>;
    /// Append to the secret's rotation history (the newest 100 entries are kept).
    async fn add_rotation_event(&self, secret_arn: &str, event: &RotationEventRecord)
    -> Result<()>;
    /// The history, newest first.
    async fn list_rotation_events(
        &self,
        secret_arn: &str,
        limit: usize,
    ) -> Result<Vec<RotationEventRecord>>;

    /// `Conflict` if the name is taken in the account and region.
    async fn create_rotation_function(&self, f: &RotationFunctionRecord) -> Result<()>;
    async fn get_rotation_function(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<RotationFunctionRecord>>;
    /// In name order.
    async fn list_rotation_functions(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<RotationFunctionRecord>>;
    /// False if there was none.
    async fn delete_rotation_function(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<bool>;
}

/// How many history entries are kept per secret.
pub const ROTATION_EVENTS_KEPT: i64 = 100;
