//! coffer's storage layer: domain-level repository traits and their backends.
//!
//! Callers speak in domain operations (`create_key`, `add_key_material`), never in SQL or in a
//! backend's types. Every backend keeps the same guarantees: multi-row writes are transactions,
//! names are unique by constraint, and records carry a `row_version` for optimistic concurrency.
//! The contract suite in `tests/contract/` runs every behaviour against every backend.
//!
//! - [`records`]: the plain data the traits take and return.
//! - [`traits`]: [`MetaStore`], [`IdentityStore`], [`KmsStore`], and [`Backend`] = all of them.
//! - [`secrets`]: [`SecretStore`], Secrets Manager's secrets, versions and staging labels.
//! - [`parameters`]: [`ParameterStore`], SSM parameters.
//! - [`grants`]: [`GrantStore`], KMS grants.
//! - [`breakglass`]: [`BreakGlassStore`], break-glass incidents and what they read.
//! - [`iam`]: [`IamStore`], IAM users, roles, groups, policies and OIDC providers.
//! - [`rotation`]: [`RotationStore`], Secrets Manager rotations in progress, their history and
//!   the rotation functions reached over HTTP.
//! - [`audit`]: [`AuditStore`], the hash-chained audit trail and its lookups.
//! - [`migrate`]: copying a whole SQLite deployment into PostgreSQL.
//! - [`snapshot`]: whole-store copies table by table, whatever the tables (backup, restore,
//!   migrate); [`maintenance`]: what master-key rotation and backups need of a running store.
//! - `repo`: every domain's implementation, written once for both backends, and the `Dialect`
//!   each backend supplies (its cache hooks, SQL spellings, label lists, row locks).
//! - [`sqlite`]: the embedded default (WAL, `synchronous=FULL`, migrations at open).
//! - [`postgres`]: several stateless nodes on one PostgreSQL (migrations at open under an
//!   advisory lock; advisory-lock leadership for background jobs).

pub mod audit;
mod audit_log;
mod audit_sql;
pub mod breakglass;
pub mod grants;
pub mod iam;
pub mod maintenance;
pub mod migrate;
pub mod parameters;
pub mod postgres;
pub mod records;
mod repo;
pub mod rotation;
pub mod secrets;
pub mod snapshot;
mod snapshot_import;
pub mod sqlite;
pub mod traits;

pub use audit::*;
pub use breakglass::{BreakGlassReadRecord, BreakGlassRecord, BreakGlassStore};
pub use grants::{GrantFilter, GrantRecord, GrantStore, grant_cursor};
pub use iam::{
    IamEntityRecord, IamKind, IamStore, ManagedPolicyRecord, OidcProviderRecord,
    PolicyVersionRecord,
};
pub use maintenance::{MaintenanceStore, SealedKind, SealedRow};
pub use parameters::*;
pub use records::*;
pub use rotation::*;
pub use secrets::*;
pub use traits::{Backend, IdentityStore, KmsStore, MetaStore, Page};

use std::sync::Arc;

/// A handle on whichever backend the deployment uses.
pub type Store = Arc<dyn Backend>;

/// Storage failures, as the service layer needs to tell them apart.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique name is taken, or a record changed since it was read (optimistic version).
    #[error("conflicting write")]
    Conflict,
    /// The database failed. The message is for the log, never for a client.
    #[error("storage backend: {0}")]
    Backend(String),
    /// The database cannot serve now but may shortly: its disk is full, it is unreachable or
    /// restarting. Clients get a retryable `ServiceUnavailable`; the message, in plain words
    /// for the operator, goes to the log only.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Open the store named by `url`, creating and migrating it if needed: `sqlite://PATH`, or
/// `postgres://USER@HOST:PORT/DB` (also `postgresql://`; tables go in the first schema of the
/// search path, which `?options[search_path]=NAME` chooses).
pub async fn open(url: &str) -> Result<Store> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::open(url).await?))
    } else {
        // Not echoing the URL: a PostgreSQL URL mistyped as something else may hold a password.
        Err(StoreError::Backend(
            "unsupported store URL: use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
                .to_owned(),
        ))
    }
}

/// `url` with any password replaced by `***`, for logs and error messages: a PostgreSQL URL may
/// carry the database password (`postgres://user:PASSWORD@host/db`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The userinfo ends at the last '@' before the path: a password may itself contain '@'.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("postgres://coffer:s3cr@t@db:5432/coffer?options[search_path]=x"),
            "postgres://coffer:***@db:5432/coffer?options[search_path]=x"
        );
        assert_eq!(
            redacted_url("postgres://coffer@db/coffer"),
            "postgres://coffer@db/coffer"
        );
        assert_eq!(
            redacted_url("sqlite:///var/lib/coffer/coffer.db"),
            "sqlite:///var/lib/coffer/coffer.db"
        );
    }
}
