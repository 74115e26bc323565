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
use std::collections::{BTreeMap, BTreeSet};

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Rows per INSERT batch.
const BATCH: usize = 500;

/// What was copied: rows per table, checked equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: BTreeMap<String, u64>,
}

/// The source's tables, parents before children.
async fn tables_in_order(src: &SqliteStore) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(&src.pool)
    .await
    .map_err(err)?
    .iter()
    .map(|r| r.try_get::<String, _>("name"))
    .collect::<std::result::Result<_, _>>()
    .map_err(err)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &names {
        // Audited: `t` is a table name read from sqlite_master just above.
        let fks = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \"table\" AS parent FROM pragma_foreign_key_list('{t}')"
        )))
        .fetch_all(&src.pool)
        .await
        .map_err(err)?;
        let set = fks
            .iter()
            .filter_map(|r| r.try_get::<String, _>("parent").ok())
            .filter(|p| p != t)
            .collect();
        parents.insert(t.clone(), set);
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < names.len() {
        let before = order.len();
        for t in &names {
            if !order.contains(t)
                && parents[t]
                    .iter()
                    .all(|p| order.contains(p) || !names.contains(p))
            {
                order.push(t.clone());
            }
        }
        if order.len() == before {
            return Err(err("foreign keys form a cycle"));
        }
    }
    Ok(order)
}

/// The target's column types for `table` (PostgreSQL `data_type`).
async fn target_columns(dst: &PostgresStore, table: &str) -> Result<BTreeMap<String, String>> {
    let rows = sqlx::query(
        "SELECT column_name::text AS c, data_type::text AS t FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(&dst.pool)
    .await
    .map_err(err)?;
    rows.iter()
        .map(|r| Ok((r.try_get("c").map_err(err)?, r.try_get("t").map_err(err)?)))
        .collect()
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
            let mut sql = format!(
                "INSERT INTO \"{t}\" ({}) VALUES ",
                columns
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for j in 0..columns.len() {
                    n += 1;
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${n}"));
                }
                sql.push(')');
            }
            // Audited: table and column names come from the catalogues; values are bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for (j, c) in columns.iter().enumerate() {
                    q = match types[c].as_str() {
                        "boolean" => q.bind(
                            row.try_get::<Option<i64>, _>(j)
                                .map_err(err)?
                                .map(|v| v != 0),
                        ),
                        "bigint" | "integer" | "smallint" => {
                            q.bind(row.try_get::<Option<i64>, _>(j).map_err(err)?)
                        }
                        "bytea" => q.bind(row.try_get::<Option<Vec<u8>>, _>(j).map_err(err)?),
                        "double precision" | "real" | "numeric" => {
                            q.bind(row.try_get::<Option<f64>, _>(j).map_err(err)?)
                        }
                        _ => q.bind(row.try_get::<Option<String>, _>(j).map_err(err)?),
                    };
                }
            }
            q.execute(&mut *tx)
                .await
                .map_err(|e| err(format!("copying {t}: {e}")))?;
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
