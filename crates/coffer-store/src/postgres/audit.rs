//! The audit trail on PostgreSQL.

use super::{PostgresStore, backend};
use crate::audit::*;
use crate::audit_sql::{self, Bind};
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

fn record(row: &PgRow, resources: Vec<AuditResource>) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq").map_err(backend)?,
        event: NewAuditEvent {
            event_id: row.try_get("event_id").map_err(backend)?,
            event_time: row.try_get("event_time").map_err(backend)?,
            account_id: row.try_get("account_id").map_err(backend)?,
            event_source: row.try_get("event_source").map_err(backend)?,
            event_name: row.try_get("event_name").map_err(backend)?,
            read_only: row.try_get("read_only").map_err(backend)?,
            username: row.try_get("username").map_err(backend)?,
            access_key_id: row.try_get("access_key_id").map_err(backend)?,
            resources,
            event_json: row.try_get("event_json").map_err(backend)?,
        },
        prev_hash: row.try_get("prev_hash").map_err(backend)?,
        hash: row.try_get("hash").map_err(backend)?,
    })
}

impl PostgresStore {
    async fn list_audit_digests_where(&self, tail: &'static str) -> Result<Vec<AuditDigest>> {
        let sql = format!("SELECT * FROM audit_digests {tail}");
        // Audited: `tail` is one of two literals above.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(AuditDigest {
                    seq: r.try_get("seq").map_err(backend)?,
                    hash: r.try_get("hash").map_err(backend)?,
                    time: r.try_get("time").map_err(backend)?,
                    signature: r.try_get("signature").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn with_resources(&self, rows: Vec<PgRow>) -> Result<Vec<AuditRecord>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.try_get("seq").map_err(backend)?;
            let res = sqlx::query(
                "SELECT resource_type, resource_name FROM audit_resources WHERE seq = $1 ORDER BY id",
            )
            .bind(seq)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            let resources = res
                .iter()
                .map(|r| {
                    Ok(AuditResource {
                        resource_type: r.try_get("resource_type").map_err(backend)?,
                        name: r.try_get("resource_name").map_err(backend)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push(record(&row, resources)?);
        }
        Ok(out)
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The head row's lock serialises appenders across nodes: one chain, totally ordered.
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let mut seq: i64 = head.try_get("seq").map_err(backend)?;
        let mut prev: Vec<u8> = head.try_get("hash").map_err(backend)?;
        let mut seqs = Vec::with_capacity(events.len());
        for e in events {
            seq += 1;
            let hash = link(&prev, seq, e.event_json.as_bytes());
            sqlx::query(
                "INSERT INTO audit_events (seq, event_id, event_time, account_id, event_source,
                    event_name, read_only, username, access_key_id, event_json, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(seq)
            .bind(&e.event_id)
            .bind(e.event_time)
            .bind(&e.account_id)
            .bind(&e.event_source)
            .bind(&e.event_name)
            .bind(e.read_only)
            .bind(&e.username)
            .bind(&e.access_key_id)
            .bind(&e.event_json)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            for r in &e.resources {
                sqlx::query(
                    "INSERT INTO audit_resources (seq, resource_type, resource_name) VALUES ($1, $2, $3)",
                )
                .bind(seq)
                .bind(&r.resource_type)
                .bind(&r.name)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            prev = hash;
            seqs.push(seq);
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
        .execute(&self.pool)
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
