//! The audit store, shared by both backends: the lookup statement builder and the whole
//! implementation, instantiated per backend by [`audit_store_impl!`].

use crate::audit::{AuditAttribute, AuditQuery};

/// A bind value of a lookup.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// `prefix` followed by `rows` tuples of `columns` numbered placeholders: `($1, $2), ($3, $4)`.
pub(crate) fn values_sql(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

/// The lookup statement for `q` and its binds; `ph(n)` renders placeholder `n` (1-based).
pub(crate) fn lookup(q: &AuditQuery<'_>, ph: impl Fn(usize) -> String) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Text(q.account_id.to_owned())];
    let mut sql = format!(
        "SELECT * FROM audit_events e WHERE e.account_id = {}",
        ph(1)
    );
    let mut add = |clause: &str, b: Bind, sql: &mut String| {
        binds.push(b);
        sql.push_str(&clause.replace('#', &ph(binds.len())));
    };
    if let Some(t) = q.start {
        add(" AND e.event_time >= #", Bind::Int(t), &mut sql);
    }
    if let Some(t) = q.end {
        add(" AND e.event_time <= #", Bind::Int(t), &mut sql);
    }
    if let Some(s) = q.before_seq {
        add(" AND e.seq < #", Bind::Int(s), &mut sql);
    }
    match q.attribute {
        None => {}
        Some(AuditAttribute::EventId(v)) => {
            add(" AND e.event_id = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::EventName(v)) => {
            add(" AND e.event_name = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::ReadOnly(v)) => add(" AND e.read_only = #", Bind::Bool(*v), &mut sql),
        Some(AuditAttribute::Username(v)) => {
            add(" AND e.username = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::EventSource(v)) => {
            add(" AND e.event_source = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::AccessKeyId(v)) => {
            add(" AND e.access_key_id = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::ResourceName(v)) => add(
            " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_name = #)",
            Bind::Text(v.clone()),
            &mut sql,
        ),
        Some(AuditAttribute::ResourceType(v)) => add(
            " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_type = #)",
            Bind::Text(v.clone()),
            &mut sql,
        ),
    }
    binds.push(Bind::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT {}", ph(binds.len())));
    (sql, binds)
}

/// The audit store for a backend: both speak the same SQL (sqlx binds `$N` on SQLite too), so
/// one implementation serves both. `$order` is the column that keeps an event's resources in
/// insertion order (`rowid` on SQLite, `id` on PostgreSQL).
macro_rules! audit_store_impl {
    ($store:ident, $row:ty, $order:literal) => {
        use crate::audit::*;
        use crate::audit_sql::{self, Bind};
        use crate::{Result, StoreError};
        use async_trait::async_trait;
        use sqlx::Row;

        fn record(row: &$row, resources: Vec<AuditResource>) -> Result<AuditRecord> {
            let mut record: AuditRecord = sqlx::FromRow::from_row(row).map_err(backend)?;
            record.event.resources = resources;
            Ok(record)
        }

        impl $store {
            async fn list_audit_digests_where(&self, tail: &'static str) -> Result<Vec<AuditDigest>> {
                let sql = format!("SELECT * FROM audit_digests {tail}");
                // Audited: `tail` is one of two literals above.
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter()
                    .map(|r| sqlx::FromRow::from_row(r).map_err(backend))
                    .collect()
            }

            /// Attach each record's resources, read for the whole page in one statement.
            async fn with_resources(&self, rows: Vec<$row>) -> Result<Vec<AuditRecord>> {
                let mut by_seq: std::collections::HashMap<i64, Vec<AuditResource>> =
                    std::collections::HashMap::new();
                let seqs = rows
                    .iter()
                    .map(|r| r.try_get::<i64, _>("seq").map_err(backend))
                    .collect::<Result<Vec<i64>>>()?;
                for chunk in seqs.chunks(1_000) {
                    let sql = format!(
                        "SELECT seq, resource_type, resource_name FROM audit_resources WHERE seq IN ({}) ORDER BY seq, {}",
                        (1..=chunk.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
                        $order
                    );
                    // Audited: numbered placeholders and a literal column name only.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for seq in chunk {
                        q = q.bind(*seq);
                    }
                    for r in q.fetch_all(&self.pool).await.map_err(backend)? {
                        by_seq.entry(r.try_get("seq").map_err(backend)?).or_default().push(
                            AuditResource {
                                resource_type: r.try_get("resource_type").map_err(backend)?,
                                name: r.try_get("resource_name").map_err(backend)?,
                            },
                        );
                    }
                }
                rows.iter()
                    .zip(seqs)
                    .map(|(row, seq)| record(row, by_seq.remove(&seq).unwrap_or_default()))
                    .collect()
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
                // The durable pool: this commit is what makes the records, and every write
                // committed before them, survive power loss (see `SqliteStore`).
                let mut tx = self.durable().begin().await.map_err(backend)?;
                // Writing the head row first takes its lock (SQLite's write lock; PostgreSQL's row lock)
                // before it is read: appenders on every node form one, totally ordered chain.
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                let mut seq: i64 = head.try_get("seq").map_err(backend)?;
                let mut prev: Vec<u8> = head.try_get("hash").map_err(backend)?;
                // Hash the batch first, then write it with one multi-row INSERT per table: a
                // batch costs a handful of statements, not two per record.
                let mut seqs = Vec::with_capacity(events.len());
                let mut links = Vec::with_capacity(events.len());
                for e in events {
                    seq += 1;
                    let hash = link(&prev, seq, e.event_json.as_bytes());
                    links.push((seq, std::mem::replace(&mut prev, hash.clone()), hash));
                    seqs.push(seq);
                }
                for (events, links) in events.chunks(1_000).zip(links.chunks(1_000)) {
                    let sql = crate::audit_sql::values_sql(
                        "INSERT INTO audit_events (seq, event_id, event_time, account_id, event_source,
                            event_name, read_only, username, access_key_id, event_json, prev_hash, hash) VALUES ",
                        12,
                        events.len(),
                    );
                    // Audited: built from the literal above and numbered placeholders only.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (e, (seq, prev_hash, hash)) in events.iter().zip(links) {
                        q = q
                            .bind(*seq)
                            .bind(&e.event_id)
                            .bind(e.event_time)
                            .bind(&e.account_id)
                            .bind(&e.event_source)
                            .bind(&e.event_name)
                            .bind(e.read_only)
                            .bind(&e.username)
                            .bind(&e.access_key_id)
                            .bind(&e.event_json)
                            .bind(prev_hash)
                            .bind(hash);
                    }
                    q.execute(&mut *tx).await.map_err(backend)?;
                }
                let resources: Vec<(i64, &AuditResource)> = events
                    .iter()
                    .zip(&seqs)
                    .flat_map(|(e, s)| e.resources.iter().map(move |r| (*s, r)))
                    .collect();
                // Chunks keep every statement under SQLite's 32,766 bound parameters.
                for chunk in resources.chunks(5_000) {
                    let sql = crate::audit_sql::values_sql(
                        "INSERT INTO audit_resources (seq, resource_type, resource_name) VALUES ",
                        3,
                        chunk.len(),
                    );
                    // Audited: built from the literal above and numbered placeholders only.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (s, r) in chunk {
                        q = q.bind(*s).bind(&r.resource_type).bind(&r.name);
                    }
                    q.execute(&mut *tx).await.map_err(backend)?;
                }
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(&prev)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(seqs)
            }

            async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>> {
                let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                let seq: i64 = row.try_get("seq").map_err(backend)?;
                Ok((seq > 0).then(|| (seq, row.try_get("hash").unwrap_or_default())))
            }

            async fn put_audit_digest(&self, d: &AuditDigest) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_digests (seq, hash, time, signature) VALUES ($1, $2, $3, $4)",
                )
                .bind(d.seq)
                .bind(&d.hash)
                .bind(d.time)
                .bind(&d.signature)
                .execute(self.durable())
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn last_audit_digest(&self) -> Result<Option<AuditDigest>> {
                Ok(self
                    .list_audit_digests_where("ORDER BY seq DESC LIMIT 1")
                    .await?
                    .pop())
            }

            async fn list_audit_digests(&self) -> Result<Vec<AuditDigest>> {
                self.list_audit_digests_where("ORDER BY seq").await
            }

            async fn lookup_audit(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
                let (sql, binds) = audit_sql::lookup(q, |n| format!("${n}"));
                // Audited: the statement is assembled from fixed fragments; every value is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in binds {
                    query = match b {
                        Bind::Text(t) => query.bind(t),
                        Bind::Int(i) => query.bind(i),
                        Bind::Bool(v) => query.bind(v),
                    };
                }
                let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
                self.with_resources(rows).await
            }

            async fn prune_audit(&self, through_seq: i64) -> Result<u64> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                sqlx::query("DELETE FROM audit_resources WHERE seq <= $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let gone = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                sqlx::query("DELETE FROM audit_digests WHERE seq < $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(gone)
            }

            async fn scan_audit(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRecord>> {
                let rows = sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after_seq)
                    .bind(i64::try_from(limit).map_err(|e| StoreError::Backend(e.to_string()))?)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                self.with_resources(rows).await
            }
        }
    };
}
pub(crate) use audit_store_impl;
