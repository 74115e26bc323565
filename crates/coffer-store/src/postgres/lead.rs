//! Leadership of background jobs across nodes: a session-level `pg_try_advisory_lock` per job,
//! taken on a dedicated connection (not the pool's) and held for as long as that connection lives.
//!
//! A node leads a job while its lease connection is alive and holds the lock. Each
//! [`Leases::try_lead`] call pings the connection: if the ping fails the node stops leading at
//! once (its session, and with it the lock, is gone or going). When a node dies its connection
//! closes and PostgreSQL releases the lock; the next `try_lead` of another node takes it. A node
//! cut off without its socket closing keeps the lock until the server notices the dead session
//! (TCP keepalive), so the jobs run under leadership must stay safe to run twice: every one of
//! them is idempotent and transactional; leadership saves work, it does not carry correctness.

use super::{backend, lock_key};
use crate::Result;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::collections::HashMap;
use tokio::sync::Mutex;

#[derive(Debug)]
struct Lease {
    conn: PgConnection,
    leading: bool,
}

#[derive(Debug)]
pub(crate) struct Leases {
    options: PgConnectOptions,
    schema: String,
    held: Mutex<HashMap<String, Lease>>,
}

impl Leases {
    pub(crate) fn new(options: PgConnectOptions, schema: &str) -> Self {
        Self {
            options,
            schema: schema.to_owned(),
            held: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn try_lead(&self, job: &str) -> Result<bool> {
        let mut held = self.held.lock().await;
        if let Some(lease) = held.get_mut(job) {
            let outcome = if lease.leading {
                // The lock lives as long as the session: a live session still holds it.
                sqlx::query("SELECT 1")
                    .execute(&mut lease.conn)
                    .await
                    .map(|_| true)
            } else {
                self.acquire(&mut lease.conn, job).await
            };
            match outcome {
                Ok(leading) => {
                    if leading && !lease.leading {
                        tracing::info!(job, "leading background job");
                    } else if !leading && lease.leading {
                        tracing::warn!(job, "no longer leading background job");
                    }
                    lease.leading = leading;
                    return Ok(leading);
                }
                Err(e) => {
                    tracing::warn!(job, error = %e, "leadership connection lost; not leading");
                    held.remove(job);
                    return Ok(false);
                }
            }
        }
        let mut conn = self.options.connect().await.map_err(backend)?;
        let leading = self.acquire(&mut conn, job).await.map_err(backend)?;
        if leading {
            tracing::info!(job, "leading background job");
        }
        held.insert(job.to_owned(), Lease { conn, leading });
        Ok(leading)
    }

    async fn acquire(&self, conn: &mut PgConnection, job: &str) -> sqlx::Result<bool> {
        let key = lock_key(&format!("coffer:lead:{}:{job}", self.schema));
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(conn)
            .await
    }

    /// Close every lease connection: other nodes may take the jobs over at once.
    pub(crate) async fn release_all(&self) {
        let mut held = self.held.lock().await;
        for (_, mut lease) in held.drain() {
            // Unlocked before the connection closes: a closed session's locks go only once its
            // server process has ended, which can be after `close` returns — and a node
            // stopping should hand its jobs over at once.
            let _ = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut lease.conn)
                .await;
            let _ = lease.conn.close().await;
        }
    }
}
