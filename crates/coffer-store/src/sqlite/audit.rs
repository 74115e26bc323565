//! The audit trail on SQLite (the shared implementation in `audit_sql`).

use super::appender::Append;
use super::{SqliteStore, backend};

crate::audit_sql::audit_store_impl!(SqliteStore, sqlx::sqlite::SqliteRow, "rowid");

impl SqliteStore {
    /// Hash and encode the batch from the head this process remembers, then hand it to the
    /// appender thread (`sqlite::appender`), which commits it and fsyncs the write-ahead log.
    /// A head that moved under us (another appender) fails the append as `Conflict`: the head is
    /// read again and the batch hashed anew, once.
    async fn append_batch(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
        match self.append_from_head(events, link).await {
            Err(StoreError::Conflict) => self.append_from_head(events, link).await,
            other => other,
        }
    }

    async fn append_from_head(
        &self,
        events: &[NewAuditEvent],
        link: &ChainLink,
    ) -> Result<Vec<i64>> {
        if self.head.lock().map_or(true, |h| h.is_none()) {
            let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
            let read = (get(&row, "seq")?, get(&row, "hash")?);
            if let Ok(mut head) = self.head.lock() {
                head.get_or_insert(read);
            }
        }
        let (seqs, durable) = self.queue_append(events, link)?;
        let result = durable.await;
        if result.is_err()
            && let Ok(mut head) = self.head.lock()
        {
            // What the head is now is unknown: the next append reads it.
            *head = None;
        }
        result.map(|()| seqs)
    }

    /// Hash and encode the batch from the remembered head, queue it, and move the remembered
    /// head past it — all under the head's lock, so batches queue in the chain's order and
    /// the next batch is hashed while this one is still being written.
    fn queue_append(
        &self,
        events: &[NewAuditEvent],
        link: &ChainLink,
    ) -> Result<(Vec<i64>, impl Future<Output = Result<()>> + use<>)> {
        let mut head = self
            .head
            .lock()
            .map_err(|_| StoreError::Backend("audit head lock poisoned".to_owned()))?;
        let (prev_seq, prev_hash) = head.clone().ok_or(StoreError::Conflict)?;
        let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
        for (seq, e) in (prev_seq + 1..).zip(events) {
            let prev = hashes.last().unwrap_or(&prev_hash);
            hashes.push(link(prev, seq, e.event_json.as_bytes()));
        }
        let batch = audit_log::encode_batch(events, prev_seq + 1, &hashes)?;
        let seqs = (batch.first_seq..=batch.last_seq).collect();
        let head_hash = hashes.pop().unwrap_or_default();
        *head = Some((batch.last_seq, head_hash.clone()));
        let durable = self.appender.append(Append {
            batch,
            prev_seq,
            prev_hash,
            head_hash,
        });
        Ok((seqs, durable))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::audit::{AuditAttribute, AuditQuery, AuditStore};
    use crate::sqlite::SqliteStore;

    /// A trail written before the log (rows of `audit_events`, `audit_resources`, with a gap
    /// retention left) is moved into the log when the store opens, keeping every number, hash
    /// and resource, and is found by lookups.
    #[tokio::test]
    async fn records_of_the_old_tables_move_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coffer.db");
        let store = SqliteStore::open(&path).await.unwrap();
        for seq in [3i64, 4, 5, 7] {
            sqlx::query(
                "INSERT INTO audit_events (seq, event_id, event_time, account_id, event_source,
                    event_name, read_only, username, access_key_id, event_json, prev_hash, hash)
                 VALUES ($1, $2, $3, '111111111111', 'kms.amazonaws.com', 'Decrypt', 1, NULL,
                    'AKIA1', $4, $5, $6)",
            )
            .bind(seq)
            .bind(format!("e{seq}"))
            .bind(1_000 + seq)
            .bind(format!("{{\"seq\":{seq}}}"))
            .bind(vec![u8::try_from(seq - 1).unwrap(); 32])
            .bind(vec![u8::try_from(seq).unwrap(); 32])
            .execute(&store.pool)
            .await
            .unwrap();
            for name in ["k1", "k2"] {
                sqlx::query(
                    "INSERT INTO audit_resources (seq, resource_type, resource_name)
                     VALUES ($1, 'AWS::KMS::Key', $2)",
                )
                .bind(seq)
                .bind(format!("{name}-{seq}"))
                .execute(&store.pool)
                .await
                .unwrap();
            }
        }
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        let all = store.scan_audit(0, 10).await.unwrap();
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4, 5, 7]);
        for r in &all {
            let n = u8::try_from(r.seq).unwrap();
            assert_eq!(r.hash, vec![n; 32]);
            assert_eq!(r.prev_hash, vec![n - 1; 32], "record {}", r.seq);
            assert_eq!(r.event.event_json, format!("{{\"seq\":{}}}", r.seq));
            let names: Vec<&str> = r.event.resources.iter().map(|x| x.name.as_str()).collect();
            assert_eq!(names, [format!("k1-{}", r.seq), format!("k2-{}", r.seq)]);
        }
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(left, 0);
        let by_name = AuditAttribute::ResourceName("k2-5".into());
        let q = AuditQuery {
            account_id: "111111111111",
            start: None,
            end: None,
            attribute: Some(&by_name),
            before_seq: None,
            limit: 10,
        };
        let found = store.lookup_audit(&q).await.unwrap();
        assert_eq!(found.iter().map(|r| r.seq).collect::<Vec<_>>(), [5]);
    }
}
