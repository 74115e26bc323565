//! What coffer's own maintenance needs of a running store: deployment facts it rewrites
//! (`meta`), every value sealed by the master key (for master-key rotation), and a consistent
//! snapshot of everything (for online backups).

use crate::Result;
use crate::snapshot::Sink;
use async_trait::async_trait;

/// A kind of value sealed by (or keyed with) the master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// `access_keys.wrapped_secret`, by access key id.
    AccessKey,
    /// `kms_key_material.wrapped`, by account, region, key id and version.
    KeyMaterial,
    /// `sm_rotation_functions.signing_key`, by account, region and function name.
    RotationFunction,
}

impl SealedKind {
    pub const ALL: [SealedKind; 3] = [
        SealedKind::AccessKey,
        SealedKind::KeyMaterial,
        SealedKind::RotationFunction,
    ];
}

/// One sealed value and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    pub kind: SealedKind,
    /// The row's key: `[access key id, "", ""]` or `[account, region, key id or name]`.
    pub id: [String; 3],
    /// The material version of key material; 0 otherwise.
    pub version: i64,
    pub value: Vec<u8>,
}

#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Deployment fact `name`, if recorded.
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Record or replace deployment fact `name`.
    async fn set_meta(&self, name: &str, value: &[u8]) -> Result<()>;
    /// Every value of `kind`.
    async fn list_sealed(&self, kind: SealedKind) -> Result<Vec<SealedRow>>;
    /// Replace `row`'s value with `value` if it still holds `row.value` (compare-and-set); false
    /// when it changed or is gone since it was listed.
    async fn replace_sealed(&self, row: &SealedRow, value: &[u8]) -> Result<bool>;
    /// Stream a consistent copy of every table ([`crate::snapshot`]).
    async fn export_snapshot(&self, sink: &mut Sink<'_>) -> Result<()>;
}

/// Where a kind lives: table, the three key columns (`''` where there are fewer), the version
/// column (or `0`) and the value column.
pub(crate) fn columns(
    kind: SealedKind,
) -> (&'static str, [&'static str; 3], &'static str, &'static str) {
    match kind {
        SealedKind::AccessKey => (
            "access_keys",
            ["access_key_id", "''", "''"],
            "0",
            "wrapped_secret",
        ),
        SealedKind::KeyMaterial => (
            "kms_key_material",
            ["account_id", "region", "key_id"],
            "version",
            "wrapped",
        ),
        SealedKind::RotationFunction => (
            "sm_rotation_functions",
            ["account_id", "region", "name"],
            "0",
            "signing_key",
        ),
    }
}

/// `SELECT` of every value of `kind`, as `(a, b, c, version, value)`.
pub(crate) fn list_sql(kind: SealedKind) -> String {
    let (table, [a, b, c], v, value) = columns(kind);
    format!(
        "SELECT {a} AS a, {b} AS b, {c} AS c, CAST({v} AS BIGINT) AS v, {value} AS value
         FROM {table} WHERE {value} IS NOT NULL"
    )
}

/// The compare-and-set `UPDATE` of one value: `$1` new value, `$2` old, `$3..` the key.
pub(crate) fn replace_sql(kind: SealedKind) -> String {
    let (table, ids, v, value) = columns(kind);
    let mut sql = format!("UPDATE {table} SET {value} = $1 WHERE {value} = $2");
    let mut n = 2;
    for id in ids.iter().filter(|c| !c.starts_with('\'')) {
        n += 1;
        sql.push_str(&format!(" AND {id} = ${n}"));
    }
    if v != "0" {
        sql.push_str(&format!(" AND {v} = ${}", n + 1));
    }
    sql
}
