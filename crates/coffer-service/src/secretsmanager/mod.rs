//! AWS Secrets Manager: secrets with versions, staging labels and per-version envelope
//! encryption.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>
//!
//! - [`lookup`]: ARNs, finding a secret by name, full or partial ARN; the authorisation hook.
//! - [`seal`]: a fresh data key per version from the secret's KMS key.
//! - [`stages`]: staging labels and UpdateSecretVersionStage; pruning old versions.
//! - [`secrets`]: CreateSecret, UpdateSecret, DescribeSecret, DeleteSecret, RestoreSecret.
//! - [`values`]: Get/PutSecretValue, ListSecretVersionIds.
//! - [`batch`]: BatchGetSecretValue, with its own paging.
//! - [`list`]: ListSecrets with filters and stable pagination.
//! - [`rotation`]: RotateSecret, CancelRotateSecret, the four-step protocol, schedules.
//! - [`replication`]: replicas in other Regions (of this deployment or of peers), promotion.
//! - [`tags`], [`policy`], [`password`]: the rest.
//!
//! Every write is one store transaction under the secret's `row_version`, retried on conflict,
//! so concurrent writers (several nodes on one database) keep AWS's semantics.

mod batch;
mod error;
pub(crate) mod list;
mod lookup;
mod password;
mod policy;
pub mod replication;
pub mod rotation;
mod seal;
mod secrets;
mod stages;
mod tags;
mod values;

pub use error::SecretsManagerError;

use crate::RequestContext;
use crate::kms::Kms;
use crate::model::Service;
use coffer_crypto::MasterKey;
use coffer_store::Store;
use coffer_types::SecretBytes;
use std::sync::Arc;

/// The Secrets Manager service.
#[derive(Clone)]
pub struct SecretsManager {
    store: Store,
    kms: Kms,
    /// Seals the signing keys of HTTP rotation functions.
    master: Arc<MasterKey>,
    /// Built-in rotators and the HTTP client for rotation functions.
    functions: Arc<dyn rotation::FunctionHost>,
    /// Writers to one secret on this node queue here instead of racing their compare-and-set
    /// (which stays, for writers on other nodes).
    write_locks: Arc<stages::WriteLocks>,
    /// The Regions other deployments serve (`[[replication.peers]]`).
    peers: Arc<dyn replication::ReplicaPeers>,
}

impl std::fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManager").finish_non_exhaustive()
    }
}

operations!(SecretsManager, SecretsManagerError, Service::SecretsManager;
    CreateSecret => secrets::create_secret,
    UpdateSecret => secrets::update_secret,
    DescribeSecret => secrets::describe_secret,
    DeleteSecret => secrets::delete_secret,
    RestoreSecret => secrets::restore_secret,
    GetSecretValue => values::get_secret_value,
    PutSecretValue => values::put_secret_value,
    BatchGetSecretValue => batch::batch_get_secret_value,
    ListSecretVersionIds => values::list_secret_version_ids,
    UpdateSecretVersionStage => stages::update_secret_version_stage,
    ListSecrets => list::list_secrets,
    TagResource => tags::tag_resource,
    UntagResource => tags::untag_resource,
    PutResourcePolicy => policy::put_resource_policy,
    GetResourcePolicy => policy::get_resource_policy,
    DeleteResourcePolicy => policy::delete_resource_policy,
    ValidateResourcePolicy => policy::validate_resource_policy,
    GetRandomPassword => password::get_random_password,
    RotateSecret => rotation::rotate_secret,
    CancelRotateSecret => rotation::cancel_rotate_secret,
    ReplicateSecretToRegions => replication::replicate_secret_to_regions,
    RemoveRegionsFromReplication => replication::remove_regions_from_replication,
    StopReplicationToReplica => replication::stop_replication_to_replica,
);

/// A secret version's value as other services read it (Parameter Store's
/// `/aws/reference/secretsmanager/` names).
#[derive(Debug)]
pub struct SecretValue {
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub version_stages: Vec<String>,
    /// Unix millis.
    pub created_at: i64,
    /// SecretString, or SecretBinary when `binary`.
    pub value: SecretBytes,
    pub binary: bool,
}

/// How many expired secrets one housekeeping pass purges at most.
const PURGE_BATCH: usize = 500;

impl SecretsManager {
    pub fn new(store: Store, kms: Kms, master: Arc<MasterKey>) -> Self {
        Self {
            store,
            kms,
            master,
            functions: Arc::new(rotation::GenericOnly),
            write_locks: Arc::new(stages::WriteLocks::default()),
            peers: Arc::new(replication::NoPeers),
        }
    }

    /// Replicate to the Regions `peers` serve through them.
    pub fn with_peers(mut self, peers: Arc<dyn replication::ReplicaPeers>) -> Self {
        self.peers = peers;
        self
    }

    /// Use `functions` for built-in rotators and HTTP rotation functions.
    pub fn with_functions(mut self, functions: Arc<dyn rotation::FunctionHost>) -> Self {
        self.functions = functions;
        self
    }

    /// GetSecretValue for another service: `secret_id` is a name or ARN, with an optional version
    /// id or staging label (AWSCURRENT when neither is given). Errors are Secrets Manager's own.
    pub async fn read_value(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        version_id: Option<&str>,
        version_stage: Option<&str>,
    ) -> Result<SecretValue, SecretsManagerError> {
        let secret = self
            .find(ctx, secret_id, "secretsmanager:GetSecretValue")
            .await?;
        self.get_value(ctx, &secret, version_id, version_stage)
            .await
    }

    /// Background work: purge secrets whose recovery window has ended. Returns how many.
    /// (Rotation's scheduler is [`SecretsManager::rotation_housekeeping`].)
    pub async fn housekeeping(&self, now: i64) -> Result<usize, SecretsManagerError> {
        let due = self.store.secrets_due_for_purge(now, PURGE_BATCH).await?;
        let mut purged = 0;
        for arn in due {
            if self.store.purge_secret(&arn).await? {
                purged += 1;
            }
        }
        Ok(purged)
    }
}
