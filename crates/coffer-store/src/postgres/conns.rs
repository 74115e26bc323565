//! Connections kept out of sqlx's pool, for the statements every request makes: the
//! one-statement reads (GetSecretValue's) and the audit appends. The pool tests each
//! connection with a round trip when it is returned (sqlx 0.9 does so unconditionally, to
//! drain what a cancelled query left behind), which for a one-statement read doubles the round
//! trips, and round trips are what a request costs here (docs/benchmarks.md, issue 18).
//!
//! What the test on return protects against is kept by other means: a connection goes back
//! only through [`Conn::done`], after its work completed; one whose request was cancelled
//! mid-statement (or mid-transaction), or whose statement failed, is dropped (closed), never
//! reused. A connection idle for a while is tested before it is used, as the pool does.

use super::{ACQUIRE_TIMEOUT, IDLE_BEFORE_TEST, backend};
use crate::Result;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, Postgres};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A set of at most `max` connections.
#[derive(Debug)]
pub(crate) struct Conns {
    options: PgConnectOptions,
    /// Idle connections, each with when it went idle.
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    permits: std::sync::Arc<Semaphore>,
}

/// A connection in use. Dropped without [`Conn::done`], it is closed.
pub(crate) struct Conn<'a> {
    conn: PgConnection,
    conns: &'a Conns,
    _permit: OwnedSemaphorePermit,
}

impl Conns {
    pub(crate) fn new(options: PgConnectOptions, max: usize) -> Self {
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: std::sync::Arc::new(Semaphore::new(max)),
        }
    }

    /// A connection: an idle one (tested first if it lay idle long), or a new one.
    pub(crate) async fn get(&self) -> Result<Conn<'_>> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| backend(sqlx::Error::PoolTimedOut))?
            .map_err(|_| backend(sqlx::Error::PoolClosed))?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some((mut conn, since)) if since.elapsed() >= IDLE_BEFORE_TEST => {
                match conn.ping().await {
                    Ok(()) => conn,
                    Err(_) => self.connect().await?,
                }
            }
            Some((conn, _)) => conn,
            None => self.connect().await?,
        };
        Ok(Conn {
            conn,
            conns: self,
            _permit: permit,
        })
    }

    /// Run a one-row read on one of these connections; one whose read failed or was
    /// cancelled is closed, not reused.
    pub(crate) async fn fetch_optional<'q>(
        &self,
        query: impl sqlx::Execute<'q, Postgres> + 'q,
    ) -> Result<Option<PgRow>> {
        let mut conn = self.get().await?;
        let row = conn.conn().fetch_optional(query).await.map_err(backend)?;
        conn.done();
        Ok(row)
    }

    async fn connect(&self) -> Result<PgConnection> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, self.options.connect())
            .await
            .map_err(|_| backend(sqlx::Error::PoolTimedOut))?
            .map_err(backend)
    }

    /// Close every idle connection (those in use close when their reads end).
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }
}

impl Conn<'_> {
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// The work completed (a transaction ended): the connection is reusable.
    pub(crate) fn done(self) {
        let Conn { conn, conns, .. } = self;
        if !conns.permits.is_closed() {
            let mut idle = conns.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push((conn, Instant::now()));
        }
    }
}
