//! SQLite audit appends on a thread of their own, with a connection of their own.
//!
//! An append is a short transaction (move the chain head, insert the batch's row) and an fsync
//! of the write-ahead log. Through sqlx each of its statements is a round trip to the
//! connection's worker thread — a wake-up of that thread and one of the waiting task per
//! statement — and under load those wake-ups, not SQLite, set the pace of every audited
//! request (issue 18's profile: the worker thread at 22 % of the server's CPU, a commit taking
//! 0.9 ms of wall time for 0.1 ms of SQLite's work). Here a batch is one job for this thread: it
//! commits the batch, fsyncs the write-ahead log and answers. (Measured and not kept: a second
//! thread syncing batch N while N+1 commits made batches smaller and cost more than it saved;
//! handing records here straight from each request, without the audit writer task, halved the
//! throughput — waking tokio tasks from a thread outside the runtime costs a futex wake-up of a
//! worker per request.)
//!
//! The batch is encoded, and its records hashed, by the caller from the head it remembers (this
//! process is the file's only appender; [`HeadCache`]); the transaction moves the head only if
//! it is still the one the batch was hashed from, so a stale memory fails the append instead of
//! forking the chain, and the caller reads the head again.

use super::{LAST_FAULT_MS, disk_full, io_failure, unix_ms};
use crate::audit_log::EncodedBatch;
use crate::{Result, StoreError};
use rusqlite::{Connection, ErrorCode, OpenFlags, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// One batch to append: its row, and the head it extends and leaves.
pub(crate) struct Append {
    pub batch: EncodedBatch,
    pub prev_seq: i64,
    pub prev_hash: Vec<u8>,
    pub head_hash: Vec<u8>,
}

type Job = (Append, oneshot::Sender<Result<()>>);

/// The chain head as this process last wrote or read it.
pub(crate) type HeadCache = Mutex<Option<(i64, Vec<u8>)>>;

/// The appender thread's door. Dropping every clone stops the thread.
#[derive(Debug, Clone)]
pub(crate) struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl Appender {
    /// Start the thread for the database at `path`. `gate` is the store's write gate: the
    /// transaction holds it, as every busy writer does, so writers queue in order.
    pub fn start(path: &Path, gate: Arc<tokio::sync::Mutex<()>>) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let db = path.to_owned();
        std::thread::Builder::new()
            .name("coffer-audit".to_owned())
            .spawn(move || append_all(&db, &gate, &rx))?;
        Ok(Self { jobs })
    }

    /// Queue `append` (in the order of calls: the chain's order) and wait until it is durable.
    /// The queuing happens at the call, before the returned future is first polled.
    pub fn append(&self, append: Append) -> impl Future<Output = Result<()>> + use<> {
        let (reply, answer) = oneshot::channel();
        let queued = self.jobs.send((append, reply));
        async move {
            queued.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the audit appender stopped".to_owned())
}

/// The appender's connection, and the write-ahead log it fsyncs, opened once: the log exists
/// as long as a connection is open (SQLite removes it only when the last one closes), and this
/// one stays open, so the handle always names the live log. Dropped together after any error.
struct Conn {
    db: Connection,
    wal: Option<std::fs::File>,
}

/// The thread: commit each batch, fsync the write-ahead log, answer.
fn append_all(path: &Path, gate: &tokio::sync::Mutex<()>, jobs: &mpsc::Receiver<Job>) {
    let mut conn: Option<Conn> = None;
    while let Ok((append, reply)) = jobs.recv() {
        let result = commit_one(path, gate, &mut conn, &append).and_then(|c| c.sync(path));
        if result.is_err() {
            // Whatever state an error left the connection in (SQLite may have rolled the
            // transaction back by itself on a full disk), the next job starts on a new one.
            conn = None;
        }
        let _ = reply.send(result);
    }
}

fn commit_one<'c>(
    path: &Path,
    gate: &tokio::sync::Mutex<()>,
    conn: &'c mut Option<Conn>,
    a: &Append,
) -> Result<&'c mut Conn> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(Conn {
            db: open(path).map_err(sqlite_error)?,
            wal: None,
        }),
    };
    let _gate = gate.blocking_lock();
    commit(&mut c.db, a).map_err(|e| match e {
        Refused::Stale => StoreError::Conflict,
        Refused::Sqlite(e) => sqlite_error(e),
    })?;
    Ok(c)
}

enum Refused {
    /// The head moved since the batch was hashed.
    Stale,
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Refused {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

fn commit(c: &mut Connection, a: &Append) -> std::result::Result<(), Refused> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let moved = tx
        .prepare_cached(
            "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1 AND seq = ?3 AND hash = ?4",
        )?
        .execute(params![
            a.batch.last_seq,
            a.head_hash,
            a.prev_seq,
            a.prev_hash
        ])?;
    if moved != 1 {
        return Err(Refused::Stale);
    }
    let b = &a.batch;
    tx.prepare_cached(
        "INSERT INTO audit_log (last_seq, first_seq, min_time, max_time, prev_hash, keys, records, packed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7)",
    )?
    .execute(params![
        b.last_seq,
        b.first_seq,
        b.min_time,
        b.max_time,
        a.prev_hash,
        b.keys,
        b.packed
    ])?;
    tx.commit()?;
    Ok(())
}

/// The appender's (and the secret writer's) connection: the pool's settings (WAL, `synchronous=NORMAL` — the fsync is
/// [`Conn::sync`]'s —, foreign keys, a 10 s busy timeout, journals in memory).
pub(super) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // The secret writer's savepoints journal the pages they change: in memory, not in a
    // temporary file (a quarter of its time in the profile of puts over 100 secrets).
    c.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(c)
}

impl Conn {
    /// fsync the write-ahead log: every frame committed so far becomes durable. (A frame a
    /// checkpoint already moved into the database file was synced there by SQLite, which syncs
    /// the log before and the database after each checkpoint under `synchronous=NORMAL`.) The
    /// log is opened on the first sync, after this connection's first commit made it.
    fn sync(&mut self, db: &Path) -> Result<()> {
        let synced = match &self.wal {
            Some(f) => f.sync_data(),
            None => {
                let mut path = db.as_os_str().to_owned();
                path.push("-wal");
                std::fs::File::open(PathBuf::from(path)).and_then(|f| {
                    f.sync_data()?;
                    self.wal = Some(f);
                    Ok(())
                })
            }
        };
        synced.map_err(|e| {
            StoreError::Unavailable(if e.raw_os_error() == Some(28) {
                disk_full(&e)
            } else {
                io_failure(&e)
            })
        })
    }
}

/// The store's error for a SQLite failure, classified as `super::backend` classifies sqlx's.
pub(super) fn sqlite_error(e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error_code();
    if matches!(code, Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure)) {
        LAST_FAULT_MS.store(unix_ms(), Ordering::Relaxed);
    }
    match code {
        Some(ErrorCode::DiskFull) => StoreError::Unavailable(disk_full(&e)),
        Some(ErrorCode::SystemIoFailure) => StoreError::Unavailable(io_failure(&e)),
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict,
        _ => StoreError::Backend(e.to_string()),
    }
}
