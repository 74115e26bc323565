//! The audit store, shared by both backends (they speak the same SQL here: sqlx binds `$N` on
//! SQLite too), instantiated per backend by [`audit_store_impl!`]. The shape of what is stored
//! is `crate::audit_log`'s.
//!
//! - Append: lock the chain head, write the batch as one `audit_log` row, move the head, commit
//!   (the one fsync every response of the batch waits for).
//! - Index: `index_audit` merges the `keys` of every batch past `audit_index_head` into one
//!   posting row per key and moves the watermark, in one short transaction (on PostgreSQL the
//!   watermark's row lock makes runs on several nodes take turns).
//! - Lookup: the log's unindexed tail (newest first, by its batches' `keys`), then the postings
//!   at or below the watermark; each hit is read from its batch. The two parts are split at one
//!   watermark value read first, so a run that moves it meanwhile neither hides nor repeats
//!   anything.

/// Batches read per page when scanning the log.
pub(crate) const SCAN_PAGE: i64 = 16;
/// At most this many batches per indexing run.
pub(crate) const INDEX_RUN: i64 = 256;
/// A lookup by event id reads the batches whose earliest record is within this much of the
/// id's time (a record's time is its request's arrival; its id is made as it is answered).
pub(crate) const EVENT_ID_SLACK_MS: i64 = 15 * 60 * 1_000;

/// The audit store for a backend. `$order` is the column that keeps a legacy record's resources
/// in insertion order (`rowid` on SQLite, `id` on PostgreSQL).
macro_rules! audit_store_impl {
    ($store:ident, $row:ty, $order:literal) => {
        use crate::audit::*;
        use crate::audit_log::{self, EncodedBatch};
        use crate::audit_sql::{EVENT_ID_SLACK_MS, INDEX_RUN, SCAN_PAGE};
        use crate::{Result, StoreError};
        use async_trait::async_trait;
        use sqlx::Row;

        fn get<'r, T>(row: &'r $row, column: &str) -> Result<T>
        where
            T: sqlx::Decode<'r, <$row as Row>::Database> + sqlx::Type<<$row as Row>::Database>,
        {
            row.try_get(column).map_err(backend)
        }

        /// The records of a `SELECT first_seq, prev_hash, records, packed` row.
        fn batch_records(row: &$row) -> Result<Vec<AuditRecord>> {
            let records: String = get(row, "records")?;
            let packed: Option<Vec<u8>> = get(row, "packed")?;
            audit_log::decode_row(get(row, "prev_hash")?, &records, packed.as_deref())
        }

        /// A lookup's results so far, and the batch last read (hits come newest first, so
        /// consecutive hits mostly share a batch).
        struct Hits<'q> {
            q: &'q AuditQuery<'q>,
            upper: i64,
            found: Vec<AuditRecord>,
            batch: Vec<AuditRecord>,
        }

        impl Hits<'_> {
            fn full(&self) -> bool {
                self.found.len() >= self.q.limit
            }

            /// Take record `seq` if it matches, reading its batch unless it is the one held.
            async fn take(&mut self, store: &$store, seq: i64) -> Result<()> {
                if seq >= self.upper || self.full() {
                    return Ok(());
                }
                let held = self.batch.first().is_some_and(|r| r.seq <= seq)
                    && self.batch.last().is_some_and(|r| r.seq >= seq);
                if !held {
                    self.batch = store.batch_holding(seq).await?;
                }
                if let Some(r) = self.batch.iter().find(|r| r.seq == seq)
                    && r.event.account_id == self.q.account_id
                    && audit_log::in_time(r.event.event_time, self.q.start, self.q.end)
                {
                    self.found.push(r.clone());
                }
                Ok(())
            }
        }

        impl $store {
            async fn list_audit_digests_where(&self, tail: &'static str) -> Result<Vec<AuditDigest>> {
                let sql = format!("SELECT * FROM audit_digests {tail}");
                // Audited: `tail` is one of two literals below.
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter()
                    .map(|r| sqlx::FromRow::from_row(r).map_err(backend))
                    .collect()
            }

            /// The records of the batch holding `seq` (none if retention removed it).
            async fn batch_holding(&self, seq: i64) -> Result<Vec<AuditRecord>> {
                let row = sqlx::query(
                    "SELECT first_seq, prev_hash, records, packed FROM audit_log
                      WHERE last_seq >= $1 ORDER BY last_seq LIMIT 1",
                )
                .bind(seq)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                match row {
                    Some(row) if get::<i64>(&row, "first_seq")? <= seq => batch_records(&row),
                    _ => Ok(Vec::new()),
                }
            }

            /// Write one batch row (the caller holds the chain head).
            async fn insert_batch(
                conn: &mut <<$row as Row>::Database as sqlx::Database>::Connection,
                b: &EncodedBatch,
                prev_hash: &[u8],
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_log (last_seq, first_seq, min_time, max_time, prev_hash, keys, records, packed)
                     VALUES ($1, $2, $3, $4, $5, $6, '', $7)",
                )
                .bind(b.last_seq)
                .bind(b.first_seq)
                .bind(b.min_time)
                .bind(b.max_time)
                .bind(prev_hash)
                .bind(&b.keys)
                .bind(&b.packed)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            /// A lookup by event id: the batches around the id's time (every batch for an id
            /// that is not a UUIDv7, as records written before ids were).
            async fn lookup_event_id(&self, q: &AuditQuery<'_>, id: &str) -> Result<Vec<AuditRecord>> {
                let (from, to) = match audit_log::uuid_v7_millis(id) {
                    Some(t) => (t - EVENT_ID_SLACK_MS, t + EVENT_ID_SLACK_MS),
                    None => (i64::MIN, i64::MAX),
                };
                let rows = sqlx::query(
                    "SELECT first_seq, prev_hash, records, packed FROM audit_log
                      WHERE min_time >= $1 AND min_time <= $2 ORDER BY last_seq DESC",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                let upper = q.before_seq.unwrap_or(i64::MAX);
                let mut found = Vec::new();
                for row in &rows {
                    found.extend(batch_records(row)?.into_iter().rev().filter(|r| {
                        r.event.event_id == id
                            && r.seq < upper
                            && r.event.account_id == q.account_id
                            && audit_log::in_time(r.event.event_time, q.start, q.end)
                    }));
                }
                found.truncate(q.limit);
                Ok(found)
            }

            async fn index_watermark(&self) -> Result<i64> {
                let row = sqlx::query("SELECT seq FROM audit_index_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                get(&row, "seq")
            }

            /// Hits in the log past `watermark`, newest first.
            async fn lookup_tail(&self, hits: &mut Hits<'_>, key: &str, watermark: i64) -> Result<()> {
                let rows = sqlx::query(
                    "SELECT last_seq, min_time, max_time, keys FROM audit_log
                      WHERE last_seq > $1 AND first_seq < $2 ORDER BY last_seq DESC",
                )
                .bind(watermark)
                .bind(hits.upper)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                for row in &rows {
                    if hits.full() {
                        break;
                    }
                    let (min, max): (i64, i64) = (get(row, "min_time")?, get(row, "max_time")?);
                    if !audit_log::overlaps(min, max, hits.q.start, hits.q.end) {
                        continue;
                    }
                    let keys: String = get(row, "keys")?;
                    for seq in audit_log::seqs_in_keys(&keys, key)? {
                        hits.take(self, seq).await?;
                    }
                }
                Ok(())
            }

            /// Hits in the postings at or below `watermark`, newest first.
            async fn lookup_indexed(&self, hits: &mut Hits<'_>, key: &str, watermark: i64) -> Result<()> {
                let mut below = watermark.saturating_add(1);
                while !hits.full() {
                    let rows = sqlx::query(
                        "SELECT last_seq, min_time, max_time, seqs FROM audit_postings
                          WHERE key = $1 AND last_seq < $2 ORDER BY last_seq DESC LIMIT $3",
                    )
                    .bind(key)
                    .bind(below)
                    .bind(SCAN_PAGE)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    if rows.is_empty() {
                        break;
                    }
                    for row in &rows {
                        below = get(row, "last_seq")?;
                        let (min, max): (i64, i64) = (get(row, "min_time")?, get(row, "max_time")?);
                        if !audit_log::overlaps(min, max, hits.q.start, hits.q.end) {
                            continue;
                        }
                        let seqs: String = get(row, "seqs")?;
                        for seq in audit_log::decode_seqs(&seqs)? {
                            if hits.full() {
                                return Ok(());
                            }
                            hits.take(self, seq).await?;
                        }
                    }
                }
                Ok(())
            }

            /// Move records of the tables the trail used before the log (`audit_events`,
            /// `audit_resources`) into the log, 512 at a time, keeping their numbers and
            /// hashes. Run when the store opens; a no-op once they are empty.
            pub(crate) async fn convert_legacy_audit(&self) -> Result<u64> {
                let mut moved = 0;
                loop {
                    let mut tx = self.durable().begin().await.map_err(backend)?;
                    // The head's lock: nodes opening together convert one after the other.
                    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq LIMIT 512")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(backend)?;
                    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                        tx.commit().await.map_err(backend)?;
                        return Ok(moved);
                    };
                    let (lo, hi): (i64, i64) = (get(first, "seq")?, get(last, "seq")?);
                    let resources = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT seq, resource_type, resource_name FROM audit_resources
                          WHERE seq >= $1 AND seq <= $2 ORDER BY seq, {}",
                        $order
                    )))
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(backend)?;
                    let mut by_seq: std::collections::HashMap<i64, Vec<AuditResource>> =
                        std::collections::HashMap::new();
                    for r in &resources {
                        by_seq.entry(get(r, "seq")?).or_default().push(AuditResource {
                            resource_type: get(r, "resource_type")?,
                            name: get(r, "resource_name")?,
                        });
                    }
                    let mut records: Vec<AuditRecord> = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let mut r: AuditRecord = sqlx::FromRow::from_row(row).map_err(backend)?;
                        r.event.resources = by_seq.remove(&r.seq).unwrap_or_default();
                        records.push(r);
                    }
                    // A gap (records a retention run removed the middle of) starts a new batch:
                    // a batch's records are consecutive.
                    for run in records.chunk_by(|a, b| b.seq == a.seq + 1) {
                        let batch = audit_log::reencode(run)?;
                        Self::insert_batch(&mut tx, &batch, &run[0].prev_hash).await?;
                    }
                    sqlx::query("DELETE FROM audit_resources WHERE seq <= $1")
                        .bind(hi)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                        .bind(hi)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    moved += rows.len() as u64;
                }
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                self.append_batch(events, link).await
            }

            async fn index_audit(&self) -> Result<u64> {
                let _gate = self.write_gate().await;
                let mut tx = self.pool.begin().await.map_err(backend)?;
                // Lock the watermark first (SQLite's write lock; PostgreSQL's row lock).
                let wm = sqlx::query("UPDATE audit_index_head SET seq = seq WHERE id = 1 RETURNING seq")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                let watermark: i64 = get(&wm, "seq")?;
                let rows = sqlx::query(
                    "SELECT last_seq, min_time, max_time, keys FROM audit_log
                      WHERE last_seq > $1 ORDER BY last_seq LIMIT $2",
                )
                .bind(watermark)
                .bind(INDEX_RUN)
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
                let Some(last) = rows.last() else {
                    return Ok(0);
                };
                let high: i64 = get(last, "last_seq")?;
                let mut batches = Vec::with_capacity(rows.len());
                for row in &rows {
                    batches.push((get(row, "min_time")?, get(row, "max_time")?, get(row, "keys")?));
                }
                let merged = audit_log::merge_postings(&batches)?;
                let postings: Vec<_> = merged.into_iter().collect();
                // Chunks keep every statement under SQLite's 32,766 bound parameters.
                for chunk in postings.chunks(1_000) {
                    let mut sql = String::from(
                        "INSERT INTO audit_postings (key, last_seq, first_seq, min_time, max_time, seqs) VALUES ",
                    );
                    for i in 0..chunk.len() {
                        let n = i * 6;
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!(
                            "(${}, ${}, ${}, ${}, ${}, ${})",
                            n + 1, n + 2, n + 3, n + 4, n + 5, n + 6
                        ));
                    }
                    // Audited: the literal above and numbered placeholders only.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (key, (seqs, min, max)) in chunk {
                        q = q
                            .bind(key)
                            .bind(high)
                            .bind(watermark + 1)
                            .bind(*min)
                            .bind(*max)
                            .bind(audit_log::encode_seqs(seqs));
                    }
                    q.execute(&mut *tx).await.map_err(backend)?;
                }
                sqlx::query("UPDATE audit_index_head SET seq = $1 WHERE id = 1")
                    .bind(high)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(u64::try_from(high - watermark).unwrap_or(0))
            }

            async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>> {
                let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                let seq: i64 = get(&row, "seq")?;
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
                let Some(key) = audit_log::key_for(q.account_id, q.attribute) else {
                    let Some(AuditAttribute::EventId(id)) = q.attribute else {
                        return Ok(Vec::new());
                    };
                    return self.lookup_event_id(q, id).await;
                };
                let watermark = self.index_watermark().await?;
                let mut hits = Hits {
                    q,
                    upper: q.before_seq.unwrap_or(i64::MAX),
                    found: Vec::new(),
                    batch: Vec::new(),
                };
                self.lookup_tail(&mut hits, &key, watermark).await?;
                self.lookup_indexed(&mut hits, &key, watermark).await?;
                Ok(hits.found)
            }

            async fn prune_audit(&self, through_seq: i64) -> Result<u64> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                let whole = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(last_seq - first_seq + 1), 0) AS BIGINT) AS n FROM audit_log WHERE last_seq <= $1",
                )
                .bind(through_seq)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                let mut gone: i64 = get(&whole, "n")?;
                sqlx::query("DELETE FROM audit_log WHERE last_seq <= $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                // The batch that straddles the cut keeps only its records after it.
                let cut = sqlx::query(
                    "SELECT last_seq, first_seq, prev_hash, records, packed FROM audit_log
                      WHERE first_seq <= $1 AND last_seq > $1",
                )
                .bind(through_seq)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
                if let Some(row) = cut {
                    let records = batch_records(&row)?;
                    let (removed, kept): (Vec<_>, Vec<_>) =
                        records.into_iter().partition(|r| r.seq <= through_seq);
                    gone += i64::try_from(removed.len()).unwrap_or(0);
                    let (Some(last_removed), Some(_)) = (removed.last(), kept.first()) else {
                        return Err(StoreError::Backend("audit log batch out of order".into()));
                    };
                    let batch = audit_log::reencode(&kept)?;
                    sqlx::query(
                        "UPDATE audit_log SET first_seq = $1, min_time = $2, max_time = $3, prev_hash = $4,
                                keys = $5, records = '', packed = $6 WHERE last_seq = $7",
                    )
                    .bind(batch.first_seq)
                    .bind(batch.min_time)
                    .bind(batch.max_time)
                    .bind(&last_removed.hash)
                    .bind(&batch.keys)
                    .bind(&batch.packed)
                    .bind(batch.last_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                sqlx::query("DELETE FROM audit_postings WHERE last_seq <= $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                sqlx::query("DELETE FROM audit_digests WHERE seq < $1")
                    .bind(through_seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(u64::try_from(gone).unwrap_or(0))
            }

            async fn scan_audit(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRecord>> {
                let mut out: Vec<AuditRecord> = Vec::new();
                let mut after = after_seq;
                while out.len() < limit {
                    let rows = sqlx::query(
                        "SELECT last_seq, first_seq, prev_hash, records, packed FROM audit_log
                          WHERE last_seq > $1 ORDER BY last_seq LIMIT $2",
                    )
                    .bind(after)
                    .bind(SCAN_PAGE)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    if rows.is_empty() {
                        break;
                    }
                    for row in &rows {
                        after = get(row, "last_seq")?;
                        out.extend(batch_records(row)?.into_iter().filter(|r| r.seq > after_seq));
                    }
                }
                out.truncate(limit);
                Ok(out)
            }
        }
    };
}
pub(crate) use audit_store_impl;
