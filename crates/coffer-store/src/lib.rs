//! coffer's storage layer: domain-level repository traits and their backends.
//!
//! Callers speak in domain operations (`create_key`, `add_key_material`), never in SQL or in a
//! backend's types. Every backend keeps the same guarantees: multi-row writes are transactions,
//! names are unique by constraint, and records carry a `row_version` for optimistic concurrency.
//! The contract suite in `tests/contract.rs` runs against every backend.
//!
//! - [`records`]: the plain data the traits take and return.
//! - [`traits`]: [`MetaStore`], [`IdentityStore`], [`KmsStore`], and [`Backend`] = all of them.
//! - [`secrets`]: [`SecretStore`], Secrets Manager's secrets, versions and staging labels.
//! - [`parameters`]: [`ParameterStore`], SSM parameters.
//! - [`rotation`]: [`RotationStore`], Secrets Manager rotations in progress, their history and
//!   the rotation functions reached over HTTP.
//! - [`sqlite`]: the embedded default (WAL, `synchronous=FULL`, migrations at open).

pub mod parameters;
pub mod records;
pub mod rotation;
pub mod secrets;
pub mod sqlite;
pub mod traits;

pub use parameters::*;
pub use records::*;
pub use rotation::*;
pub use secrets::*;
pub use traits::{Backend, IdentityStore, KmsStore, MetaStore, Page};

use std::sync::Arc;

/// A handle on whichever backend the deployment uses.
pub type Store = Arc<dyn Backend>;

/// Storage failures, as the service layer needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique name is taken, or a record changed since it was read (optimistic version).
    #[error("conflicting write")]
    Conflict,
    /// The database failed. The message is for the log, never for a client.
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Open the store named by `url` (`sqlite://PATH`), creating and migrating it if needed.
pub async fn open(url: &str) -> Result<Store> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(StoreError::Backend(format!(
            "unsupported store URL {url:?}: use sqlite://PATH"
        )))
    }
}
