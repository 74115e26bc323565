//! KMS grants: permissions to use one key, given to a grantee principal for a list of
//! operations, optionally constrained by encryption context.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>
//!
//! The store keeps grants as data; what a grant allows (operations, constraints, who may retire
//! it) is the service's semantics. A grant goes with its key (ON DELETE CASCADE).

use crate::records::Millis;
use crate::{Page, Result};
use async_trait::async_trait;

/// One grant on one key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRecord {
    /// The key's account, region and id.
    pub account_id: String,
    pub region: String,
    pub key_id: String,
    /// 64 hex digits, unique per key.
    pub grant_id: String,
    /// The grant's name, empty if it has none.
    pub name: String,
    pub grantee_principal: String,
    pub retiring_principal: Option<String>,
    /// GrantOperation names (`Encrypt`, `Decrypt`, ...).
    #[sqlx(try_from = "crate::repo::StringsJson")]
    pub operations: Vec<String>,
    /// The JSON of AWS's `GrantConstraints` shape, if the grant has constraints.
    pub constraints: Option<String>,
    /// The account that created the grant.
    pub issuing_account: String,
    pub created_at: Millis,
}

/// Which grants of a key a listing returns (ListGrants' filters).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantFilter<'a> {
    pub grant_id: Option<&'a str>,
    pub grantee_principal: Option<&'a str>,
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Add a grant. `Conflict` if the key already has a grant with its id.
    async fn create_grant(&self, grant: &GrantRecord) -> Result<()>;
    /// One grant of a key.
    async fn get_grant(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        grant_id: &str,
    ) -> Result<Option<GrantRecord>>;
    /// Every grant of a key, in creation order (what authorisation looks through).
    async fn key_grants(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<Vec<GrantRecord>>;
    /// A page of a key's grants in creation order, starting after the cursor `after`
    /// ([`grant_cursor`]).
    async fn list_grants(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        filter: GrantFilter<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<GrantRecord>>;
    /// A page of the grants in `region` (of any account's keys) that `retiring_principal` may
    /// retire, in creation order, after the cursor `after`.
    async fn list_retirable_grants(
        &self,
        region: &str,
        retiring_principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<GrantRecord>>;
    /// Remove a grant; whether it existed.
    async fn delete_grant(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        grant_id: &str,
    ) -> Result<bool>;
}

/// The listing cursor of a grant: its creation time and id, which order listings.
pub fn grant_cursor(g: &GrantRecord) -> String {
    format!("{:020}:{}", g.created_at, g.grant_id)
}

/// A cursor back into its parts; `None` if it is not one.
pub(crate) fn parse_cursor(cursor: &str) -> Option<(Millis, &str)> {
    let (at, id) = cursor.split_once(':')?;
    Some((at.parse().ok()?, id))
}
