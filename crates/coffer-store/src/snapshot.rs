//! Whole-store copies, table by table, for `coffer backup`/`coffer restore` and `coffer migrate`.
//!
//! Nothing here names a table: the tables are whatever the store's catalogue lists (SQLite's
//! `sqlite_master`, PostgreSQL's `information_schema` for the current schema), parents before
//! children by their foreign keys, and a row is a list of dialect-neutral [`Value`]s. So a table
//! added by any migration is backed up, restored and migrated without changing this code. Rows
//! are copied as stored: sealed key material stays sealed, secret values stay encrypted under
//! their data keys, the audit chain keeps its hashes.
//!
//! - Export ([`SqliteStore::export_snapshot`], [`PostgresStore::export_snapshot`]): one read
//!   transaction over every table — a WAL read snapshot on SQLite, `REPEATABLE READ READ ONLY`
//!   on PostgreSQL — streamed row by row to a sink, so nothing holds the whole database.
//! - Import ([`Target`]): into a store no server has run on (its `meta` table is empty), in one
//!   transaction: rows the migrations seeded are replaced, every row inserted in batches, then
//!   every table's count compared and PostgreSQL's identity sequences moved past the copied ids.

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use sqlx::{Column, Row, TypeInfo, ValueRef};
use std::collections::{BTreeMap, BTreeSet};

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Rows per INSERT statement.
pub const BATCH: usize = 500;

/// One column's value, whichever database it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    #[serde(rename = "n")]
    Null,
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Real(f64),
    #[serde(rename = "t")]
    Text(String),
    #[serde(rename = "b", with = "b64")]
    Blob(Vec<u8>),
    #[serde(rename = "z")]
    Bool(bool),
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};
    const E: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&E.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        E.decode(text).map_err(serde::de::Error::custom)
    }
}

/// What an export produces, in order: one `Header`, then per table a `Table` and its `Row`s,
/// then one `End`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Item {
    Header {
        /// Unix milliseconds when the snapshot was taken.
        created_at: i64,
        /// `sqlite` or `postgres`.
        backend: String,
        /// Every table, parents first, with its row count in the snapshot.
        tables: Vec<(String, u64)>,
        /// The newest migration applied to the source.
        migration: i64,
    },
    Table {
        name: String,
        columns: Vec<String>,
    },
    Row {
        v: Vec<Value>,
    },
    End {
        rows: BTreeMap<String, u64>,
    },
}

/// Order `names` parents first, given each table's parents.
fn parents_first(
    names: Vec<String>,
    parents: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    while order.len() < names.len() {
        let before = order.len();
        for t in &names {
            let ready = parents.get(t).is_none_or(|ps| {
                ps.iter()
                    .all(|p| p == t || order.contains(p) || !names.contains(p))
            });
            if !order.contains(t) && ready {
                order.push(t.clone());
            }
        }
        if order.len() == before {
            return Err(err("foreign keys form a cycle"));
        }
    }
    Ok(order)
}

/// A SQLite database's tables, parents first.
pub async fn sqlite_tables(conn: &mut sqlx::SqliteConnection) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut parents = BTreeMap::new();
    for t in &names {
        // Audited: `t` is a table name read from sqlite_master just above.
        let ps: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT \"table\" FROM pragma_foreign_key_list('{t}')"
        )))
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
        parents.insert(t.clone(), ps.into_iter().collect());
    }
    parents_first(names, &parents)
}

/// A PostgreSQL schema's (the current one's) tables, parents first.
pub async fn pg_tables(conn: &mut sqlx::PgConnection) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name NOT LIKE '\\_sqlx\\_%' ORDER BY table_name COLLATE \"C\"",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
         JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (child, parent) in links {
        let unquote = |s: String| s.trim_matches('"').to_owned();
        parents
            .entry(unquote(child))
            .or_default()
            .insert(unquote(parent));
    }
    parents_first(names, &parents)
}

/// A SQLite row as values (SQLite's storage classes; booleans are integers there).
pub fn sqlite_values(row: &sqlx::sqlite::SqliteRow) -> Result<Vec<Value>> {
    (0..row.columns().len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(err)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let ty = raw.type_info().name().to_ascii_uppercase();
            Ok(if ty.contains("INT") || ty.contains("BOOL") {
                Value::Int(row.try_get_unchecked(i).map_err(err)?)
            } else if ty.contains("REAL") || ty.contains("FLOA") || ty.contains("DOUB") {
                Value::Real(row.try_get_unchecked(i).map_err(err)?)
            } else if ty.contains("BLOB") {
                Value::Blob(row.try_get_unchecked(i).map_err(err)?)
            } else {
                Value::Text(row.try_get_unchecked(i).map_err(err)?)
            })
        })
        .collect()
}

/// A PostgreSQL row as values.
pub fn pg_values(row: &sqlx::postgres::PgRow) -> Result<Vec<Value>> {
    (0..row.columns().len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(err)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let ty = raw.type_info().name().to_owned();
            Ok(match ty.as_str() {
                "INT8" => Value::Int(row.try_get(i).map_err(err)?),
                "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(err)?.into()),
                "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(err)?.into()),
                "BOOL" => Value::Bool(row.try_get(i).map_err(err)?),
                "BYTEA" => Value::Blob(row.try_get(i).map_err(err)?),
                "FLOAT8" => Value::Real(row.try_get(i).map_err(err)?),
                "FLOAT4" => Value::Real(row.try_get::<f32, _>(i).map_err(err)?.into()),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Value::Text(row.try_get(i).map_err(err)?),
                other => {
                    return Err(err(format!(
                        "column {} has type {other}, which backups do not handle",
                        row.columns()[i].name()
                    )));
                }
            })
        })
        .collect()
}

fn column_names<R: Row>(row: &R) -> Vec<String> {
    row.columns().iter().map(|c| c.name().to_owned()).collect()
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() * 1000
}

/// The sink an export writes to; an error stops the export.
pub type Sink<'a> = dyn FnMut(Item) -> Result<()> + Send + 'a;

/// Export `tables` through `tx` (already in its snapshot), one statement per table.
macro_rules! export_tables {
    ($tx:expr, $tables:expr, $backend:expr, $values:path, $sink:expr) => {{
        let mut counts = Vec::new();
        for t in &$tables {
            // Audited: `t` comes from the store's own catalogue.
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{t}\"")))
                    .fetch_one(&mut *$tx)
                    .await
                    .map_err(err)?;
            counts.push((t.clone(), u64::try_from(n).unwrap_or(0)));
        }
        let migration: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&mut *$tx)
                .await
                .map_err(err)?;
        $sink(Item::Header {
            created_at: now_ms(),
            backend: $backend.to_owned(),
            tables: counts,
            migration,
        })?;
        let mut rows = BTreeMap::new();
        for t in &$tables {
            let mut stream =
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{t}\""))).fetch(&mut *$tx);
            let mut n = 0u64;
            while let Some(row) = stream.try_next().await.map_err(err)? {
                if n == 0 {
                    $sink(Item::Table {
                        name: t.clone(),
                        columns: column_names(&row),
                    })?;
                }
                $sink(Item::Row { v: $values(&row)? })?;
                n += 1;
            }
            rows.insert(t.clone(), n);
        }
        $sink(Item::End { rows })
    }};
}

impl SqliteStore {
    /// Stream a consistent copy of every table to `sink`: one read transaction, so one WAL
    /// snapshot, while writers go on.
    pub async fn export_snapshot(&self, sink: &mut Sink<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let tables = sqlite_tables(&mut tx).await?;
        export_tables!(tx, tables, "sqlite", sqlite_values, sink)?;
        tx.rollback().await.map_err(err)
    }
}

impl PostgresStore {
    /// Stream a consistent copy of every table to `sink`: one `REPEATABLE READ READ ONLY`
    /// transaction, while every node goes on writing.
    pub async fn export_snapshot(&self, sink: &mut Sink<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let tables = pg_tables(&mut tx).await?;
        export_tables!(tx, tables, "postgres", pg_values, sink)?;
        tx.rollback().await.map_err(err)
    }
}

pub use crate::snapshot_import::{Copied, Target};
