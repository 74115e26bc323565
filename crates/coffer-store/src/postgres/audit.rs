//! The audit trail on PostgreSQL (the shared implementation in `audit_sql`).

use super::{PostgresStore, backend};

crate::audit_sql::audit_store_impl!(PostgresStore, sqlx::postgres::PgRow, "id");

/// The batch row and the head's move, one statement: the head moves only if it is still the
/// head the batch was hashed from (`$10`), and the row is written only if it moved. One
/// statement in autocommit is one transaction whose commit is the fsync (`synchronous_commit`
/// on); the head row's lock orders appenders on every node into one chain.
const APPEND: &str = "WITH moved AS (
        UPDATE audit_head SET seq = $8, hash = $9 WHERE id = 1 AND seq = $10 RETURNING 1)
    INSERT INTO audit_log (last_seq, first_seq, min_time, max_time, prev_hash, keys, records, packed)
    SELECT $1, $2, $3, $4, $5, $6, '', $7 FROM moved";

impl PostgresStore {
    /// Append a batch on the appender's own connection (`conns.rs`: no pool round trips).
    /// Usually one statement, hashed from the head this node remembers ([`APPEND`]); when the
    /// head is not known, or another node moved it meanwhile, under the head row's lock.
    async fn append_batch(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
        let mut conn = self.appender.get().await?;
        let appended = self.append_on(conn.conn(), events, link).await;
        if appended.is_err() {
            self.forget_head();
        } else {
            conn.done();
        }
        appended
    }

    async fn append_on(
        &self,
        conn: &mut sqlx::PgConnection,
        events: &[NewAuditEvent],
        link: &ChainLink,
    ) -> Result<Vec<i64>> {
        let remembered = self.audit_head.lock().ok().and_then(|h| h.clone());
        if let Some(head) = remembered
            && let Some(seqs) = self.append_after(conn, head, events, link).await?
        {
            return Ok(seqs);
        }
        self.append_locked(conn, events, link).await
    }

    /// One statement if `head` is still the head; `None` if it is not.
    async fn append_after(
        &self,
        conn: &mut sqlx::PgConnection,
        (head_seq, head_hash): (i64, Vec<u8>),
        events: &[NewAuditEvent],
        link: &ChainLink,
    ) -> Result<Option<Vec<i64>>> {
        let (b, last_hash) = encode(events, head_seq, &head_hash, link)?;
        let written = sqlx::query(APPEND)
            .bind(b.last_seq)
            .bind(b.first_seq)
            .bind(b.min_time)
            .bind(b.max_time)
            .bind(&head_hash)
            .bind(&b.keys)
            .bind(&b.packed)
            .bind(b.last_seq)
            .bind(&last_hash)
            .bind(head_seq)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected();
        if written != 1 {
            return Ok(None);
        }
        self.remember_head(b.last_seq, last_hash);
        Ok(Some((b.first_seq..=b.last_seq).collect()))
    }

    /// In a transaction that writes the head row first, taking its lock before reading it:
    /// appenders on every node wait their turn.
    async fn append_locked(
        &self,
        conn: &mut sqlx::PgConnection,
        events: &[NewAuditEvent],
        link: &ChainLink,
    ) -> Result<Vec<i64>> {
        let mut tx = sqlx::Connection::begin(conn).await.map_err(backend)?;
        let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let head_seq: i64 = get(&head, "seq")?;
        let head_hash: Vec<u8> = get(&head, "hash")?;
        let (b, last_hash) = encode(events, head_seq, &head_hash, link)?;
        Self::insert_batch(&mut tx, &b, &head_hash).await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(b.last_seq)
            .bind(&last_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        self.remember_head(b.last_seq, last_hash);
        Ok((b.first_seq..=b.last_seq).collect())
    }

    fn remember_head(&self, seq: i64, hash: Vec<u8>) {
        if let Ok(mut head) = self.audit_head.lock() {
            *head = Some((seq, hash));
        }
    }

    fn forget_head(&self) {
        if let Ok(mut head) = self.audit_head.lock() {
            *head = None;
        }
    }
}

/// The batch of `events` after `head_seq`, hashed from `head_hash`, and its last hash.
fn encode(
    events: &[NewAuditEvent],
    head_seq: i64,
    head_hash: &[u8],
    link: &ChainLink,
) -> Result<(EncodedBatch, Vec<u8>)> {
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
    for (seq, e) in (head_seq + 1..).zip(events) {
        let prev = hashes.last().map_or(head_hash, Vec::as_slice);
        hashes.push(link(prev, seq, e.event_json.as_bytes()));
    }
    let batch = audit_log::encode_batch(events, head_seq + 1, &hashes)?;
    Ok((batch, hashes.pop().unwrap_or_default()))
}
