//! The embedded SQLite backend: one file in the data directory, WAL journal, foreign keys on.
//!
//! Durability is group-committed. Data writes commit with `synchronous=NORMAL`: their WAL frames
//! are written but not fsynced. Audit batches commit the same way, then the audit appender
//! thread fsyncs the WAL file itself ([`appender`]) before any request of the batch is
//! answered: that fsync makes the batch and every frame before it durable. Every request's
//! response waits for its audit record, written after its data, so whatever a client was told
//! survives power loss, at the price of one fsync per audit batch rather than one per write —
//! and, because the fsync happens after the commit has released SQLite's write lock rather than
//! inside it (`synchronous=FULL`), data writes never queue behind an fsync. Writes that no request acknowledges and that something outside coffer depends
//! on call [`MetaStore::sync`] first (a rotation before it changes a database password).
//! <https://www.sqlite.org/pragma.html#pragma_synchronous>, <https://www.sqlite.org/wal.html>
//!
//! The domain stores are `crate::repo`'s, instantiated at the end of this file over this
//! backend's `repo::Dialect` (what differs: see its implementation here).

mod appender;
mod audit;
pub(crate) mod cache;
#[cfg(test)]
mod plans;
mod writer;

use crate::repo::{Dialect, IntList, TextList};
use crate::{MetaStore, Result, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous, SqliteTypeInfo,
    SqliteValueRef,
};
use sqlx::{Decode, Sqlite, SqlitePool, Transaction, Type};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Data reads and writes: `synchronous=NORMAL`.
    pub(crate) pool: SqlitePool,
    /// Audit appends and [`MetaStore::sync`]: `synchronous=FULL`.
    durable: SqlitePool,
    /// Hot reads, exact because this process is the file's only writer ([`cache`]).
    cache: Arc<cache::ReadCache>,
    /// Taken by the busiest write transactions (secret writes, audit appends and indexing) so
    /// they queue here, in order, instead of in SQLite's busy handler, which polls with sleeps
    /// of up to 100 ms ([`SqliteStore::write_gate`]).
    gate: Arc<tokio::sync::Mutex<()>>,
    /// Audit appends: a thread with a connection of its own ([`appender`]).
    appender: appender::Appender,
    /// Secret writes: a thread with a connection of its own, grouping them ([`writer`]).
    writer: writer::Writer,
    /// The audit chain's head as this process last appended it.
    head: Arc<appender::HeadCache>,
}

/// When SQLite last failed with a full disk or an I/O error (unix ms; 0: never).
///
/// SQLite may roll a transaction back by itself on those errors
/// (<https://www.sqlite.org/lang_transaction.html>, "Response To Errors Within A Transaction").
/// sqlx's ROLLBACK then fails, its count of the connection's transaction depth stays one too
/// high, the connection's next transaction is a SAVEPOINT whose rollback leaves a transaction
/// open, and that connection holds the write lock for good: every later write is "database is
/// locked". So every connection that existed at such an error is closed when next released
/// ([`recycle_after_fault`]) instead of going back to the pool.
static LAST_FAULT_MS: AtomicU64 = AtomicU64::new(0);

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The pools' `after_release` hook: false (close it) for a connection older than the last fault.
fn recycle_after_fault(meta: &sqlx::pool::PoolConnectionMetadata) -> bool {
    let fault = LAST_FAULT_MS.load(Ordering::Relaxed);
    if fault == 0 {
        return true;
    }
    let age = u64::try_from(meta.age.as_millis()).unwrap_or(u64::MAX);
    unix_ms().saturating_sub(age) > fault
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict;
        }
        // The primary result code is the low byte of the extended one sqlx reports.
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        if matches!(primary, Some(10 | 13)) {
            LAST_FAULT_MS.store(unix_ms(), Ordering::Relaxed);
        }
        match primary {
            Some(13) => return StoreError::Unavailable(disk_full(&e)),
            Some(10) => return StoreError::Unavailable(io_failure(&e)),
            _ => {}
        }
    }
    if let sqlx::Error::Io(io) = &e
        && io.raw_os_error() == Some(28)
    {
        return StoreError::Unavailable(disk_full(&e));
    }
    StoreError::Backend(e.to_string())
}

/// What the operator is told of a full disk under the database (`detail`: the error).
pub(crate) fn disk_full(detail: &dyn std::fmt::Display) -> String {
    format!("the disk holding the database is full; free space on it and writes resume ({detail})")
}

/// What the operator is told of an I/O error on the database (`detail`: the error).
pub(crate) fn io_failure(detail: &dyn std::fmt::Display) -> String {
    format!("I/O error on the database file: is its disk full or failing? ({detail})")
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and run pending migrations.
    ///
    /// The file is created with mode 0600 before SQLite opens it: SQLite gives its `-wal` and
    /// `-shm` files the permissions of the database file, so nothing in the data directory
    /// becomes readable by others.
    pub async fn open(path: &Path) -> Result<Self> {
        create_private(path)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Statement journals (a multi-row statement inside a transaction) in memory, not
            // in a temporary file: the audit indexer's batches spilled there.
            .pragma("temp_store", "memory");
        // No ping when a connection is taken from the pool: it is a round trip to the
        // connection's thread and back, and a local file has no peer that could have gone
        // away (sqlx still pings on release, which it hard-codes).
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .test_before_acquire(false)
            .after_release(|_, meta| Box::pin(async move { Ok(recycle_after_fault(&meta)) }))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        let durable = SqlitePoolOptions::new()
            .max_connections(2)
            .min_connections(1)
            .test_before_acquire(false)
            .after_release(|_, meta| Box::pin(async move { Ok(recycle_after_fault(&meta)) }))
            .connect_with(options.synchronous(SqliteSynchronous::Full))
            .await
            .map_err(backend)?;
        let gate = Arc::default();
        let appender = appender::Appender::start(path, Arc::clone(&gate))
            .map_err(|e| StoreError::Backend(format!("starting the audit appender: {e}")))?;
        let cache = Arc::default();
        let writer = writer::Writer::start(path, Arc::clone(&gate), Arc::clone(&cache))
            .map_err(|e| StoreError::Backend(format!("starting the secret writer: {e}")))?;
        let store = Self {
            pool,
            durable,
            cache,
            gate,
            appender,
            writer,
            head: Arc::default(),
        };
        store.convert_legacy_audit().await?;
        Ok(store)
    }

    pub(crate) fn durable(&self) -> &SqlitePool {
        &self.durable
    }

    /// GetSecretValue's read (`SecretStore::get_secret_with_staged_version`): the secret and
    /// its version holding `stage`, each from the read cache; the KMS key is left to KMS, whose
    /// own read is cached too (PostgreSQL reads all three in one statement: `postgres/staged.rs`).
    pub(crate) async fn staged_read(
        &self,
        by: crate::SecretBy<'_>,
        stage: &str,
    ) -> Result<Option<crate::StagedRead>> {
        use crate::SecretStore;
        let secret = match by {
            crate::SecretBy::Arn(arn) => self.get_secret_by_arn(arn).await?,
            crate::SecretBy::Name {
                account,
                region,
                name,
            } => self.get_secret_by_name(account, region, name).await?,
        };
        let Some(secret) = secret else {
            return Ok(None);
        };
        let version = self.get_secret_version_by_stage(&secret.arn, stage).await?;
        Ok(Some(crate::StagedRead {
            secret,
            version,
            key: None,
        }))
    }

    /// CreateSecret's rows (`SecretStore::create_secret`), on the writer thread.
    pub(crate) async fn insert_secret(
        &self,
        secret: &crate::SecretRecord,
        version: Option<&crate::SecretVersionRecord>,
    ) -> Result<()> {
        let write = writer::Write::Create {
            secret: secret.clone(),
            version: version.cloned(),
        };
        self.writer.write(write).await
    }

    /// A change to a secret (`SecretStore::update_secret`), on the writer thread.
    pub(crate) async fn apply_secret_change(&self, change: crate::SecretChange<'_>) -> Result<()> {
        self.writer.write(writer::Write::change(&change)).await
    }

    /// Hold while running a write transaction: one at a time, first come first served. SQLite
    /// has one writer; without this, concurrent writers collide on its lock and retry after
    /// sleeping (1, 2, 5, ... 100 ms), which caps PutSecretValue over many secrets far below
    /// what one writer at a time sustains.
    pub(crate) async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.gate.lock().await)
    }

    /// Close every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.durable.close().await;
        self.pool.close().await;
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.init_meta_value(name, value).await
    }

    /// A write on the `synchronous=FULL` pool: its commit fsyncs the WAL, and with it every
    /// frame committed before. It must change a row: SQLite writes nothing for an UPDATE that
    /// leaves a row as it was, and a commit that wrote nothing does not sync.
    async fn sync(&self) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (name, value) VALUES ('durability_barrier', randomblob(8))
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .execute(&self.durable)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// One process owns a SQLite file (nodes do not share it), so it always leads.
    async fn try_lead(&self, _job: &str) -> Result<bool> {
        Ok(true)
    }
}

/// What SQLite does its own way; see [`Dialect`].
impl Dialect for SqliteStore {
    type Db = Sqlite;
    const TRUE: &'static str = "1";
    const GREATEST: &'static str = "MAX";
    const EMPTY_BLOB: &'static str = "X''";

    /// An ordered `group_concat` (SQLite 3.44+; the bundled SQLite is newer) joined by the unit
    /// separator; NULL when there are no rows.
    fn list(expr: &str, from: &str, order: &str) -> String {
        format!("(SELECT group_concat({expr}, char(31) ORDER BY {order}) {from})")
    }

    async fn commit(&self, tx: Transaction<'_, Sqlite>) -> Result<()> {
        let done = tx.commit().await.map_err(backend);
        self.cache.invalidate();
        done
    }

    async fn write(
        &self,
        query: sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<sqlx::sqlite::SqliteQueryResult> {
        let done = query.execute(&self.pool).await.map_err(backend);
        self.cache.invalidate();
        done
    }

    /// The cache's generation is read before the read: a value read before a write committed
    /// is never stored after it ([`cache::ReadCache::put`]). The query is built only on a miss.
    async fn cached<'q, R, T>(
        &self,
        key: impl FnOnce() -> cache::Lookup,
        query: impl FnOnce() -> crate::repo::RowQuery<'q, Sqlite, R>,
    ) -> Result<Option<T>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin + Into<T>,
        T: cache::Cached,
    {
        let key = key();
        if let Some(hit) = self.cache.get(&key) {
            return Ok(Some(hit));
        }
        let generation = self.cache.generation();
        let found: Option<T> = query()
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(Into::into);
        if let Some(r) = &found {
            self.cache.put(generation, key, r.clone());
        }
        Ok(found)
    }

    /// One writer at a time: the transaction's first write holds the database's write lock.
    async fn lock_parameter(
        _tx: &mut Transaction<'_, Sqlite>,
        _account: &str,
        _region: &str,
        _key: &str,
    ) -> Result<()> {
        Ok(())
    }
}

/// A [`Dialect::list`] column: text joined by the unit separator, or NULL for none.
fn split_list<'r>(value: SqliteValueRef<'r>) -> Result<Vec<String>, sqlx::error::BoxDynError> {
    let text = <Option<String> as Decode<'r, Sqlite>>::decode(value)?;
    Ok(text
        .map(|t| t.split('\u{1f}').map(str::to_owned).collect())
        .unwrap_or_default())
}

impl Type<Sqlite> for TextList {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'r> Decode<'r, Sqlite> for TextList {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(split_list(value)?))
    }
}

impl Type<Sqlite> for IntList {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'r> Decode<'r, Sqlite> for IntList {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let numbers: Result<Vec<i64>, _> = split_list(value)?.iter().map(|n| n.parse()).collect();
        Ok(Self(numbers?))
    }
}

crate::repo::iam::iam_store_impl!(super::SqliteStore, sqlx::sqlite::SqliteRow);
crate::repo::meta::meta_impl!(SqliteStore);
crate::repo::maintenance::maintenance_store_impl!(SqliteStore);
crate::repo::identity::identity_store_impl!(SqliteStore);
crate::repo::kms::kms_store_impl!(SqliteStore);
crate::repo::grants::grant_store_impl!(SqliteStore);
crate::repo::breakglass::breakglass_store_impl!(SqliteStore);
crate::repo::secrets::secret_store_impl!(SqliteStore);
crate::repo::rotation::rotation_store_impl!(SqliteStore);
crate::repo::parameters::parameter_store_impl!(SqliteStore);
