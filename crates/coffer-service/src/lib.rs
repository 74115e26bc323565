//! AWS semantics without HTTP.
//!
//! Each service is a struct with one handler per operation, listed once in that service's
//! `operations!` table, and an error enum whose variants are exactly the service's AWS error codes.
//! The server crate finds the service in [`dispatch::SERVICES`] and hands [`Services::dispatch`]
//! an operation name, a [`RequestContext`] and the decoded JSON
//! document; the input is validated against the botocore model ([`model`]), decoded into the
//! operation's typed input, handled, and the typed output encoded back.
//!
//! - [`context`]: who is calling, in which account and region.
//! - [`dispatch`]: the one table of services (wire protocol, signing name, auditing) and
//!   [`Services::dispatch`], which the server calls for every operation.
//! - [`error`]: the [`ServiceError`] trait every service error enum implements, and
//!   `service_errors!`, the table from each variant to its AWS code and HTTP status.
//! - [`model`]: the botocore models, used to validate inputs the way AWS does.
//! - [`wire`]: JSON wire types (base64 blobs, epoch-second timestamps).
//! - [`identity`]: accounts, administrator keys, credential lookup for SigV4.
//! - [`kms`], [`secretsmanager`], [`ssm`], [`sts`], [`cloudtrail`]: the services.
//! - [`admin`]: coffer's own administrative operations (`coffer.admin.*`): rotation functions,
//!   and accounts ([`admin::accounts`]).
//! - [`audit`]: the audit trail every call is recorded in before it is answered.
//! - [`metrics`]: the Prometheus metrics the server exports at `/metrics`.
//! - [`outbound`]: the https client for rotation functions, alert webhooks and JWKS.
//! - [`Services`]: all of them, built once at start-up.

#[macro_use]
mod registry;
#[macro_use]
pub mod error;
pub mod admin;
pub mod audit;
pub mod authz;
pub mod cloudtrail;
pub mod context;
pub mod dispatch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod iam;
pub mod identity;
pub mod kms;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod secretsmanager;
pub mod ssm;
pub mod sts;
pub mod wire;

pub use context::{Principal, RequestContext};
pub use error::ServiceError;

use coffer_crypto::MasterKey;
use coffer_store::Store;
use std::sync::Arc;

/// Every service, sharing one store and master key.
#[derive(Debug, Clone)]
pub struct Services {
    pub identity: identity::Identity,
    pub iam: iam::Iam,
    pub kms: kms::Kms,
    pub secretsmanager: secretsmanager::SecretsManager,
    pub ssm: ssm::Ssm,
    pub sts: sts::Sts,
    pub cloudtrail: cloudtrail::CloudTrail,
    pub audit: audit::Auditor,
    pub admin: admin::Admin,
    pub accounts: admin::accounts::Accounts,
    pub maintenance: admin::maintenance::Maintenance,
    pub breakglass: admin::breakglass::BreakGlass,
}

impl Services {
    /// Use `functions` for Secrets Manager's built-in rotators and HTTP rotation functions.
    pub fn with_rotation_functions(
        self,
        functions: Arc<dyn secretsmanager::rotation::FunctionHost>,
    ) -> Self {
        let sm = self.secretsmanager.clone().with_functions(functions);
        self.with_secrets_manager(sm)
    }

    /// Replicate secrets to the Regions `peers` serve through them (`[[replication.peers]]`).
    pub fn with_replica_peers(
        self,
        peers: Arc<dyn secretsmanager::replication::ReplicaPeers>,
    ) -> Self {
        let sm = self.secretsmanager.clone().with_peers(peers);
        self.with_secrets_manager(sm)
    }

    /// Replace Secrets Manager, and the services that hold a copy of it.
    fn with_secrets_manager(mut self, sm: secretsmanager::SecretsManager) -> Self {
        self.secretsmanager = sm;
        self.admin = admin::Admin::new(
            self.admin.store(),
            self.admin.master(),
            self.secretsmanager.clone(),
        );
        self.breakglass = self
            .breakglass
            .with_secrets_manager(self.secretsmanager.clone());
        self
    }

    /// The deployment's default account, whose root administers accounts
    /// (`coffer.admin.CreateAccount`); without one, nobody does.
    pub fn with_default_account(mut self, account: coffer_types::AccountId) -> Self {
        self.accounts =
            admin::accounts::Accounts::new(self.identity.clone(), Some(account.clone()));
        self.maintenance = self.maintenance.with_default_account(account);
        self
    }

    /// Where `coffer.admin.CreateBackup` writes backups (`DATA_DIR/backups`).
    pub fn with_backup_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.maintenance = self.maintenance.with_backup_dir(dir);
        self
    }

    pub fn new(store: Store, master: Arc<MasterKey>) -> Self {
        let kms = kms::Kms::new(store.clone(), master.clone());
        let secretsmanager =
            secretsmanager::SecretsManager::new(store.clone(), kms.clone(), master.clone());
        let identity = identity::Identity::new(store.clone(), master.clone());
        Self {
            accounts: admin::accounts::Accounts::new(identity.clone(), None),
            admin: admin::Admin::new(store.clone(), master.clone(), secretsmanager.clone()),
            maintenance: admin::maintenance::Maintenance::new(store.clone(), master.clone()),
            audit: audit::Auditor::new(store.clone(), &master),
            breakglass: admin::breakglass::BreakGlass::new(
                store.clone(),
                identity.clone(),
                kms.authz().clone(),
                secretsmanager.clone(),
            ),
            cloudtrail: cloudtrail::CloudTrail::new(store.clone()),
            iam: iam::Iam::new(store.clone(), identity.clone()),
            sts: sts::Sts::new(store.clone(), identity.clone()),
            identity,
            ssm: ssm::Ssm::new(store, kms.clone(), secretsmanager.clone()),
            kms,
            secretsmanager,
        }
    }
}

impl Services {
    /// Background work that falls due with time: purging secrets whose recovery window ended,
    /// rotating secrets whose rotation window came (and retrying failed rotations), expiring
    /// parameters and sending their policy notifications.
    /// Every step is idempotent, so running it on several nodes at once is harmless (the
    /// server runs it only on the node that leads, `coffer_store::MetaStore::try_lead`).
    pub async fn housekeeping(&self, now: i64) {
        match self.secretsmanager.housekeeping(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged secrets whose recovery window ended"),
            Err(e) => tracing::error!(error = ?e, "secret purge failed; will retry"),
        }
        match self.secretsmanager.rotation_housekeeping(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rotated = n, "rotated secrets on schedule"),
            Err(e) => tracing::error!(error = ?e, "secret rotation scheduler failed; will retry"),
        }
        match self.audit.housekeeping(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "pruned audit records past their retention"),
            Err(e) => tracing::error!(error = %e, "audit digest or retention failed; will retry"),
        }
        match self.breakglass.housekeeping(&self.audit, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(closed = n, "closed ended break-glass incidents"),
            Err(e) => tracing::error!(error = %e, "break-glass housekeeping failed; will retry"),
        }
        if let Err(e) = self.ssm.housekeeping(now).await {
            tracing::error!(error = ?e, "parameter expiration failed; will retry");
        }
    }
}

impl Services {
    /// Replication's background pass (pushes to peer deployments, retries after failures):
    /// each push is audited on this side as CloudTrail's `ReplicateSecretVersion`, Secrets
    /// Manager acting for the account (the replica's side audits the `ApplyReplica` call).
    pub async fn replication_pass(&self, now: i64) {
        let pushed = match self.secretsmanager.replication_pass(now).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = ?e, "replication pass failed");
                return;
            }
        };
        for p in pushed {
            let mut call = audit::Call::new(
                model::Service::SecretsManager,
                "ReplicateSecretVersion",
                &format!("replication-{}", uuid::Uuid::new_v4()),
                p.time,
            );
            call.region.clone_from(&p.primary_region);
            call.principal = context::Principal::service_for(&p.account_id);
            call.set_input(
                &serde_json::json!({"SecretId": p.primary_arn, "ReplicaRegion": p.region}),
            );
            if let Some(reason) = &p.error {
                call.set_error("ReplicationFailed", reason);
            }
            if let Err(e) = self.audit.record(&call).await {
                tracing::error!(error = %e, arn = %p.primary_arn, "could not audit a replication push");
            }
        }
    }
}

/// Unix time in milliseconds, now.
pub fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
