//! `coffer migrate`: copy a whole SQLite deployment into a PostgreSQL database.
//!
//! Both backends have the same tables and columns (`migrations/postgres` mirrors
//! `migrations/sqlite`), so the copy is table by table, row by row: every row keeps its values
//! exactly — sealed keys and values stay sealed under the same master key, the audit chain keeps
//! its hashes. Tables are copied parents first (SQLite's foreign-key list gives the order), each
//! in one transaction; the target must be empty. Afterwards every table's row count is compared.

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError};
use sqlx::{Column, Row};
use std::collections::BTreeMap;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub use crate::snapshot::Copied;
use crate::snapshot::{BATCH, sqlite_values};
use crate::snapshot_import::{insert_pg, pg_column_types};

/// The source's tables, parents before children ([`crate::snapshot::sqlite_tables`]).
async fn tables_in_order(src: &SqliteStore) -> Result<Vec<String>> {
    let mut conn = src.pool.acquire().await.map_err(err)?;
    crate::snapshot::sqlite_tables(&mut conn).await
}

/// The target's column types for `table` (PostgreSQL `data_type`).
async fn target_columns(dst: &PostgresStore, table: &str) -> Result<BTreeMap<String, String>> {
    let mut conn = dst.pool.acquire().await.map_err(err)?;
    pg_column_types(&mut conn, table).await
}

async fn count_pg(dst: &PostgresStore, table: &str) -> Result<i64> {
    // Audited: `table` comes from the source's catalogue and exists in the target's.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM \"{table}\""
    )))
    .fetch_one(&dst.pool)
    .await
    .map_err(err)?
    .try_get("n")
    .map_err(err)
}

/// Copy every table of `src` into the empty, migrated `dst`. `progress(table, rows_so_far)` is
/// called as rows go.
pub async fn sqlite_to_postgres(
    src: &SqliteStore,
    dst: &PostgresStore,
    mut progress: impl FnMut(&str, u64),
) -> Result<Copied> {
    let tables = tables_in_order(src).await?;
    // Tables the migrations seed (a single head row) are replaced, not appended to.
    const SEEDED: &[&str] = &["audit_head", "audit_index_head"];
    for t in &tables {
        if !SEEDED.contains(&t.as_str()) && count_pg(dst, t).await? > 0 {
            return Err(err(format!(
                "the target already holds data (table {t} is not empty): migrate into an empty database or schema"
            )));
        }
    }
    let mut copied = BTreeMap::new();
    let mut total: u64 = 0;
    for t in &tables {
        let types = target_columns(dst, t).await?;
        if types.is_empty() {
            return Err(err(format!(
                "the target has no table {t}: is it migrated to this coffer version?"
            )));
        }
        // Audited: `t` comes from sqlite_master.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{t}\"")))
            .fetch_all(&src.pool)
            .await
            .map_err(err)?;
        let mut tx = dst.pool.begin().await.map_err(err)?;
        if SEEDED.contains(&t.as_str()) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM \"{t}\"")))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        let columns: Vec<String> = rows
            .first()
            .map(|r| r.columns().iter().map(|c| c.name().to_owned()).collect())
            .unwrap_or_default();
        for c in &columns {
            if !types.contains_key(c) {
                return Err(err(format!("the target's table {t} has no column {c}")));
            }
        }
        for chunk in rows.chunks(BATCH) {
            let values = chunk
                .iter()
                .map(sqlite_values)
                .collect::<Result<Vec<_>>>()?;
            insert_pg(&mut tx, t, &columns, &types, &values).await?;
            total += chunk.len() as u64;
            progress(t, total);
        }
        tx.commit().await.map_err(err)?;
        copied.insert(t.clone(), rows.len() as u64);
    }
    for (t, n) in &copied {
        let there = count_pg(dst, t).await?;
        if u64::try_from(there).ok() != Some(*n) {
            return Err(err(format!(
                "table {t}: copied {n} rows but the target holds {there}"
            )));
        }
    }
    Ok(Copied { tables: copied })
}

/// Rows in every table of a SQLite store, for sizing progress.
pub async fn sqlite_row_count(src: &SqliteStore) -> Result<u64> {
    let mut n = 0u64;
    for t in tables_in_order(src).await? {
        let c: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM \"{t}\""
        )))
        .fetch_one(&src.pool)
        .await
        .map_err(err)?
        .try_get("n")
        .map_err(err)?;
        n += u64::try_from(c).unwrap_or(0);
    }
    Ok(n)
}
