//! The repository traits. Each method is one domain operation and one transaction.

use crate::Result;
use crate::records::*;
use async_trait::async_trait;

/// One page of a listing, plus where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque position to pass back for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Deployment-wide facts.
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Record the master-key check value unless one is recorded; return the one in force.
    async fn init_master_key_check(&self, check: &[u8]) -> Result<Vec<u8>> {
        self.init_meta("master_key_check", check).await
    }
    /// Record deployment fact `name` unless recorded (the first writer wins, whichever node);
    /// return the value in force.
    async fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;

    /// Make every write committed so far survive power loss. Callers need this only before an
    /// effect outside coffer that depends on those writes (a rotation step changing a database
    /// password); a request's own writes are made durable by its audit record.
    async fn sync(&self) -> Result<()>;
    /// Whether this node is, from now until its next call, the one node running background job
    /// `job` (purges, expirations, schedules). Call it before every run: leadership is lost when
    /// the node's lease on the database is, and another node then takes the job over.
    /// A single-node backend always leads.
    async fn try_lead(&self, job: &str) -> Result<bool>;
}

/// Accounts and the access keys that authenticate requests.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Create the account if it does not exist. Returns true when it was created.
    async fn ensure_account(&self, account_id: &str, now: Millis) -> Result<bool>;
    async fn list_accounts(&self) -> Result<Vec<AccountRecord>>;
    /// Fails with `Conflict` if the id is taken.
    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()>;
    async fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>>;
}

/// KMS keys, their material, aliases and tags, scoped by account and region.
#[async_trait]
pub trait KmsStore: Send + Sync {
    /// Create a key with its first material, its tags and optionally an alias, atomically.
    /// `Conflict` if the alias is taken (two first uses of a managed key racing).
    async fn create_key(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterialRecord>,
        tags: &[Tag],
        alias: Option<&AliasRecord>,
    ) -> Result<()>;
    async fn get_key(&self, account: &str, region: &str, key_id: &str)
    -> Result<Option<KeyRecord>>;
    /// Key ids in id order, starting after `after`.
    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>>;
    /// Every Region's copy of the multi-Region key `key_id` of `account` (primary and replicas),
    /// in Region order.
    async fn list_key_regions(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>>;
    /// Replace the key's mutable metadata. `Conflict` if `key.row_version` is not the stored one;
    /// on success the stored version is `key.row_version + 1`.
    async fn update_key(&self, key: &KeyRecord) -> Result<()>;
    /// Replace all of a key's material with `material` (or none), under the same optimistic
    /// check as [`KmsStore::update_key`]: importing and deleting imported key material.
    async fn replace_key_material(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterialRecord>,
    ) -> Result<()>;
    /// Permanently remove a key, its material, aliases and tags (end of its deletion window).
    async fn delete_key(&self, account: &str, region: &str, key_id: &str) -> Result<()>;

    /// Add material `material.version` and make it current, under the same optimistic check as
    /// [`KmsStore::update_key`] (the key record passed carries the new `current_material`).
    async fn rotate_key_material(
        &self,
        key: &KeyRecord,
        material: &KeyMaterialRecord,
    ) -> Result<()>;
    async fn get_key_material(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        version: u32,
    ) -> Result<Option<KeyMaterialRecord>>;
    async fn list_key_materials(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<Vec<KeyMaterialRecord>>;

    /// `Conflict` if the alias name is taken.
    async fn create_alias(&self, alias: &AliasRecord) -> Result<()>;
    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        alias_name: &str,
    ) -> Result<Option<AliasRecord>>;
    /// Point an existing alias at another key. Returns false if the alias does not exist.
    async fn update_alias(
        &self,
        account: &str,
        region: &str,
        alias_name: &str,
        key_id: &str,
        now: Millis,
    ) -> Result<bool>;
    /// Returns false if the alias does not exist.
    async fn delete_alias(&self, account: &str, region: &str, alias_name: &str) -> Result<bool>;
    /// Aliases in name order, optionally only those of one key.
    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AliasRecord>>;

    /// Add or overwrite tags.
    async fn tag_key(&self, account: &str, region: &str, key_id: &str, tags: &[Tag]) -> Result<()>;
    async fn untag_key(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        tag_keys: &[String],
    ) -> Result<()>;
    /// Tags in key order.
    async fn list_key_tags(&self, account: &str, region: &str, key_id: &str) -> Result<Vec<Tag>>;
}

/// Everything a backend implements.
pub trait Backend:
    MetaStore
    + IdentityStore
    + KmsStore
    + crate::GrantStore
    + crate::BreakGlassStore
    + crate::SecretStore
    + crate::ParameterStore
    + crate::RotationStore
    + crate::AuditStore
    + crate::IamStore
    + crate::MaintenanceStore
{
}
impl<T> Backend for T where
    T: MetaStore
        + IdentityStore
        + KmsStore
        + crate::GrantStore
        + crate::BreakGlassStore
        + crate::SecretStore
        + crate::ParameterStore
        + crate::RotationStore
        + crate::AuditStore
        + crate::IamStore
        + crate::MaintenanceStore
{
}
