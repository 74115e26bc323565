//! The audit trail on PostgreSQL (the shared implementation in `audit_sql`).

use super::{PostgresStore, backend};

crate::audit_sql::audit_store_impl!(PostgresStore, sqlx::postgres::PgRow, "id");

impl PostgresStore {
    /// One INSERT in a transaction whose commit is the fsync (`synchronous_commit` on). Writing
    /// the head row first takes its row lock before it is read: appenders on every node form
    /// one, totally ordered chain.
    async fn append_batch(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let head_seq: i64 = get(&head, "seq")?;
        let head_hash: Vec<u8> = get(&head, "hash")?;
        let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
        for (seq, e) in (head_seq + 1..).zip(events) {
            let prev = hashes.last().unwrap_or(&head_hash);
            hashes.push(link(prev, seq, e.event_json.as_bytes()));
        }
        let batch = audit_log::encode_batch(events, head_seq + 1, &hashes)?;
        Self::insert_batch(&mut tx, &batch, &head_hash).await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(batch.last_seq)
            .bind(hashes.last())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok((batch.first_seq..=batch.last_seq).collect())
    }
}
