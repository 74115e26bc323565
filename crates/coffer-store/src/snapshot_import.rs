//! Writing a snapshot ([`crate::snapshot::Item`]s) into a store: `coffer restore`, and the
//! inserts `coffer migrate` shares. See [`crate::snapshot`].

use crate::postgres::PostgresStore;
use crate::snapshot::{BATCH, Item, Value, pg_tables, sqlite_tables};
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError};
use sqlx::{Postgres, Sqlite, Transaction};
use std::collections::BTreeMap;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// What was copied: rows per table, checked equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: BTreeMap<String, u64>,
}

/// `INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4) ...` for `rows` rows.
fn insert_sql(table: &str, columns: &[String], rows: usize, suffix: &str) -> String {
    let cols = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("INSERT INTO \"{table}\" ({cols}) {suffix} VALUES ");
    let mut n = 0;
    for i in 0..rows {
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
    sql
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Bind `v` as the PostgreSQL column type `ty` (`information_schema` `data_type`) wants it.
fn bind_pg<'q>(q: PgQuery<'q>, ty: &str, v: &Value) -> Result<PgQuery<'q>> {
    let as_int = |v: &Value| match v {
        Value::Int(i) => Ok(Some(*i)),
        Value::Bool(b) => Ok(Some(i64::from(*b))),
        Value::Null => Ok(None),
        other => Err(err(format!("{other:?} where an integer belongs"))),
    };
    Ok(match ty {
        "boolean" => q.bind(as_int(v)?.map(|i| i != 0)),
        "bigint" | "integer" | "smallint" => q.bind(as_int(v)?),
        "bytea" => q.bind(match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(t) => Some(t.clone().into_bytes()),
            Value::Null => None,
            other => return Err(err(format!("{other:?} where bytes belong"))),
        }),
        "double precision" | "real" => q.bind(match v {
            Value::Real(f) => Some(*f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            Value::Null => None,
            other => return Err(err(format!("{other:?} where a number belongs"))),
        }),
        _ => q.bind(match v {
            Value::Text(t) => Some(t.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Null => None,
            other => return Err(err(format!("{other:?} where text belongs"))),
        }),
    })
}

/// Insert `rows` of `table` into PostgreSQL; `types` maps each column to its `data_type`.
pub async fn insert_pg(
    tx: &mut Transaction<'_, Postgres>,
    table: &str,
    columns: &[String],
    types: &BTreeMap<String, String>,
    rows: &[Vec<Value>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // OVERRIDING SYSTEM VALUE: identity columns keep the copied ids.
    let sql = insert_sql(table, columns, rows.len(), "OVERRIDING SYSTEM VALUE");
    // Audited: table and column names come from the catalogues; values are bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        for (c, v) in columns.iter().zip(row) {
            q = bind_pg(q, types[c].as_str(), v)?;
        }
    }
    q.execute(&mut **tx)
        .await
        .map_err(|e| err(format!("copying {table}: {e}")))?;
    Ok(())
}

/// Insert `rows` of `table` into SQLite (booleans become 0 and 1).
pub async fn insert_sqlite(
    tx: &mut Transaction<'_, Sqlite>,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_sql(table, columns, rows.len(), "");
    // Audited: table and column names come from the catalogues; values are bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        for v in row {
            q = match v {
                Value::Null => q.bind(None::<i64>),
                Value::Int(i) => q.bind(*i),
                Value::Bool(b) => q.bind(i64::from(*b)),
                Value::Real(f) => q.bind(*f),
                Value::Text(t) => q.bind(t.clone()),
                Value::Blob(b) => q.bind(b.clone()),
            };
        }
    }
    q.execute(&mut **tx)
        .await
        .map_err(|e| err(format!("copying {table}: {e}")))?;
    Ok(())
}

/// PostgreSQL column types of `table` in the current schema (`data_type`).
pub async fn pg_column_types(
    conn: &mut sqlx::PgConnection,
    table: &str,
) -> Result<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(conn)
    .await
    .map_err(err)?;
    Ok(rows.into_iter().collect())
}

async fn sqlite_columns(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
) -> Result<BTreeMap<String, String>> {
    // Audited: `table` is checked against the target's catalogue before this runs.
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT name, type FROM pragma_table_info('{table}')"
    )))
    .fetch_all(conn)
    .await
    .map_err(err)?;
    Ok(rows.into_iter().collect())
}

/// A store to restore into.
pub enum Target {
    Sqlite(SqliteStore),
    Postgres(Box<PostgresStore>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Sqlite(_) => "Target::Sqlite",
            Target::Postgres(_) => "Target::Postgres",
        })
    }
}

enum Tx<'a> {
    Sqlite(Transaction<'a, Sqlite>),
    Postgres(Transaction<'a, Postgres>),
}

macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite($c) => $body,
            Tx::Postgres($c) => $body,
        }
    };
}

impl Tx<'_> {
    async fn tables(&mut self) -> Result<Vec<String>> {
        match self {
            Tx::Sqlite(tx) => sqlite_tables(tx).await,
            Tx::Postgres(tx) => pg_tables(tx).await,
        }
    }

    async fn columns(&mut self, table: &str) -> Result<BTreeMap<String, String>> {
        match self {
            Tx::Sqlite(tx) => sqlite_columns(tx, table).await,
            Tx::Postgres(tx) => pg_column_types(tx, table).await,
        }
    }

    async fn count(&mut self, table: &str) -> Result<u64> {
        // Audited: `table` comes from the target's catalogue.
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        let n: i64 = on_tx!(self, tx => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut **tx).await.map_err(err)?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The newest schema migration applied to the target.
    async fn migration(&mut self) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations";
        Ok(on_tx!(self, tx => sqlx::query_scalar(sql)
            .fetch_one(&mut **tx).await.map_err(err)?))
    }

    async fn clear(&mut self, table: &str) -> Result<()> {
        let sql = format!("DELETE FROM \"{table}\"");
        on_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **tx)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    async fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        types: &BTreeMap<String, String>,
        rows: &[Vec<Value>],
    ) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => insert_sqlite(tx, table, columns, rows).await,
            Tx::Postgres(tx) => insert_pg(tx, table, columns, types, rows).await,
        }
    }

    /// Move every identity or serial sequence past the largest copied id.
    async fn reset_sequences(&mut self) -> Result<()> {
        let Tx::Postgres(tx) = self else {
            return Ok(()); // SQLite's AUTOINCREMENT follows explicit ids by itself
        };
        let cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(err)?;
        for (t, c) in cols {
            // Audited: names from information_schema.
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('\"{t}\"', '{c}'),
                               COALESCE(MAX(\"{c}\"), 0) + 1, false) FROM \"{t}\""
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **tx)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        on_tx!(self, tx => tx.commit().await.map_err(err))
    }
}

/// The table being written and its pending rows.
struct Current {
    name: String,
    columns: Vec<String>,
    types: BTreeMap<String, String>,
    batch: Vec<Vec<Value>>,
}

impl Target {
    async fn begin(&self) -> Result<Tx<'_>> {
        Ok(match self {
            Target::Sqlite(s) => Tx::Sqlite(s.pool.begin().await.map_err(err)?),
            Target::Postgres(p) => Tx::Postgres(p.pool.begin().await.map_err(err)?),
        })
    }

    /// Write the snapshot `items` into this store, all or nothing. The store must be one no
    /// server has run on (an empty `meta`): rows its migrations seeded are replaced. Every table's
    /// count is checked against the snapshot's header and trailer. `progress(table, rows)`.
    pub async fn restore(
        &self,
        items: impl Iterator<Item = Result<Item>>,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<Copied> {
        let mut items = items;
        let Some(Item::Header {
            tables, migration, ..
        }) = items.next().transpose()?
        else {
            return Err(err("the backup does not start with its header"));
        };
        let expected: BTreeMap<String, u64> = tables.iter().cloned().collect();
        let mut tx = self.begin().await?;
        let here = tx.migration().await?;
        if here < migration {
            return Err(err(format!(
                "the backup was made by a newer coffer (schema migration {migration}, this one has {here}): restore with that version or a later one"
            )));
        }
        let present = tx.tables().await?;
        if tx.count("meta").await? > 0 {
            return Err(err(
                "the target store is not empty (a server has run on it): restore into a new data directory, database or schema",
            ));
        }
        for (t, _) in &tables {
            if !present.contains(t) {
                return Err(err(format!(
                    "the target has no table {t}: is it migrated to the coffer version that made the backup?"
                )));
            }
        }
        // Rows the migrations seeded (children first) give way to the backup's.
        for t in present.iter().rev() {
            if expected.contains_key(t) && tx.count(t).await? > 0 {
                tx.clear(t).await?;
            }
        }
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        let mut current: Option<Current> = None;
        let mut total = 0u64;
        let trailer = loop {
            let Some(item) = items.next().transpose()? else {
                return Err(err("the backup ends before its trailer"));
            };
            match item {
                Item::Table { name, columns } => {
                    flush(&mut tx, current.as_mut()).await?;
                    if !expected.contains_key(&name) || seen.contains_key(&name) {
                        return Err(err(format!("table {name} is not in the backup's header")));
                    }
                    let types = tx.columns(&name).await?;
                    if let Some(c) = columns.iter().find(|c| !types.contains_key(*c)) {
                        return Err(err(format!("the target's table {name} has no column {c}")));
                    }
                    seen.insert(name.clone(), 0);
                    current = Some(Current {
                        name,
                        columns,
                        types,
                        batch: Vec::with_capacity(BATCH),
                    });
                }
                Item::Row { v } => {
                    let Some(c) = current.as_mut() else {
                        return Err(err("a row comes before its table"));
                    };
                    if v.len() != c.columns.len() {
                        return Err(err(format!("a row of {} has the wrong width", c.name)));
                    }
                    c.batch.push(v);
                    *seen.entry(c.name.clone()).or_default() += 1;
                    total += 1;
                    if c.batch.len() == BATCH {
                        flush(&mut tx, Some(c)).await?;
                        progress(&c.name, total);
                    }
                }
                Item::End { rows } => break rows,
                Item::Header { .. } => return Err(err("a second header")),
            }
        };
        flush(&mut tx, current.as_mut()).await?;
        progress("", total);
        if items.next().is_some() {
            return Err(err("items follow the backup's trailer"));
        }
        for (t, n) in &expected {
            let got = seen.get(t).copied().unwrap_or(0);
            if trailer.get(t) != Some(n) || got != *n {
                return Err(err(format!(
                    "table {t}: the header says {n} rows, the trailer {:?}, the file holds {got}",
                    trailer.get(t)
                )));
            }
            let there = tx.count(t).await?;
            if there != *n {
                return Err(err(format!(
                    "table {t}: restored {n} rows but the target holds {there}"
                )));
            }
        }
        tx.reset_sequences().await?;
        tx.commit().await?;
        Ok(Copied { tables: expected })
    }
}

async fn flush(tx: &mut Tx<'_>, current: Option<&mut Current>) -> Result<()> {
    if let Some(c) = current {
        tx.insert(&c.name, &c.columns, &c.types, &c.batch).await?;
        c.batch.clear();
    }
    Ok(())
}
