//! The PostgreSQL backend: several stateless coffer nodes on one database.
//!
//! Same tables, constraints and guarantees as the SQLite backend (`migrations/postgres` mirrors
//! `migrations/sqlite`): every trait method is one transaction, names are unique by constraint,
//! mutable rows are compare-and-set on `row_version`. Under PostgreSQL's default READ COMMITTED
//! isolation a compare-and-set `UPDATE ... WHERE row_version = $n` waits for a concurrent writer of
//! the same row and then re-checks its condition, so of two nodes racing on one secret exactly one
//! wins and the other sees `Conflict`, re-reads and retries in the service layer.
//!
//! Tables live in the first schema of the connection's `search_path` (`public` by default; choose
//! another with `?options[search_path]=NAME` in the URL), so several deployments or test runs can
//! share one database.
//!
//! The domain stores are `crate::repo`'s, instantiated at the end of this file over this
//! backend's `repo::Dialect` (what differs: see its implementation here).

mod audit;
mod conns;
mod lead;
mod staged;

#[cfg(test)]
mod plans;
/// The contract suite's private-schema helper, for unit tests that need a live PostgreSQL.
#[cfg(test)]
#[allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]
#[path = "../../tests/contract/pg.rs"]
mod test_pg;

use crate::repo::{Dialect, IntList, TextList};
use crate::sqlite::cache::{Cached, Lookup};
use crate::{MetaStore, Result, StoreError};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgTypeInfo, PgValueRef};
use sqlx::{ConnectOptions, Connection, Decode, PgConnection, PgPool, Postgres, Transaction, Type};
use std::str::FromStr;
use std::time::Duration;

/// A pool over one PostgreSQL database and schema.
#[derive(Debug)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Connections for the hottest one-statement reads (`conns.rs`).
    readers: conns::Conns,
    /// The audit appender's connection (`conns.rs`).
    appender: conns::Conns,
    /// The audit chain's head as this node last wrote or read it (`audit.rs`): a batch is
    /// hashed from it, and written only if it is still the head.
    audit_head: std::sync::Mutex<Option<(i64, Vec<u8>)>>,
    leases: lead::Leases,
}

/// Map a database error onto the store's two kinds.
///
/// Unique violations (23505) are `Conflict`, as on SQLite. So are serialization failures (40001)
/// and deadlocks (40P01): PostgreSQL rolled the transaction back whole, and the caller's answer to
/// both is the one it has for a lost compare-and-set, re-read and retry.
///
/// PostgreSQL out of reach (a broken or refused connection, no pooled connection within the
/// acquire timeout), shutting down or restarting (class 57P), out of resources such as disk space
/// (class 53) or failing at the system level (class 58) is `Unavailable`: the request may succeed
/// once the database is back, and the client is told to retry.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    let unavailable = |what: &str| StoreError::Unavailable(format!("{what} ({e})"));
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.is_unique_violation() || matches!(code.as_ref(), "40001" | "40P01") {
                return StoreError::Conflict;
            }
            if code.starts_with("57P") || code.starts_with("08") {
                return unavailable(
                    "PostgreSQL is shutting down, restarting or refusing connections",
                );
            }
            if code == "53100" {
                return unavailable("PostgreSQL's disk is full");
            }
            if code.starts_with("53") || code.starts_with("58") {
                return unavailable("PostgreSQL is out of resources or failing");
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            return unavailable("cannot reach PostgreSQL, or the connection broke");
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            return unavailable("no PostgreSQL connection available: is the database up?");
        }
        _ => {}
    }
    StoreError::Backend(e.to_string())
}

/// How long a request waits for a pooled connection, which covers reconnecting while PostgreSQL
/// is down or restarting: beyond it the request fails with a retryable `ServiceUnavailable`
/// rather than hang (the SDKs retry it). sqlx retries a refused connection until this deadline,
/// and one request may wait up to three times (an uncached credential, its handler, its audit
/// record), so it stays short; 2 s of waiting for one of 16 connections is overload anyway.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Reader connections per node (besides the pool's 16 and the appender's one): a read holds
/// one for one round trip, so a few serve thousands of reads a second.
const READERS: usize = 4;
/// How long a pooled connection may lie idle before it is tested (a round trip) on the way out.
const IDLE_BEFORE_TEST: Duration = Duration::from_secs(1);

/// A stable 64-bit key for `pg_advisory_lock`, from a name (FNV-1a). Names include the schema,
/// so deployments sharing a database do not share locks. Computed here rather than with
/// PostgreSQL's `hashtext`, which is internal and not promised stable across major versions.
pub(crate) fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

impl PostgresStore {
    /// Connect to `url` (`postgres://` or `postgresql://`) and run pending migrations.
    ///
    /// TLS is negotiated as the URL's `sslmode` says (rustls; `prefer` by default, `require` to
    /// insist, `verify-full` with `sslrootcert=PATH` to check the server's certificate too).
    ///
    /// Migrations run on a dedicated connection holding a session advisory lock named after the
    /// schema, so nodes starting together apply them one at a time (the others wait, then find
    /// nothing left to do). sqlx's migrator takes its own `pg_advisory_lock` too, but keyed on the
    /// database name only and not released if a migration fails mid-way on a pooled connection;
    /// ours is released by closing the connection whatever happened, and does not serialise
    /// deployments in other schemas.
    pub async fn open(url: &str) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        // Named in pg_stat_activity, unless the URL names the node itself.
        if options.get_application_name().is_none() {
            options = options.application_name("coffer");
        }

        let mut conn = options.connect().await.map_err(backend)?;
        let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&mut conn)
            .await
            .map_err(backend)?;
        let schema = schema.ok_or_else(|| {
            StoreError::Backend(
                "no schema of the search_path exists: create it (CREATE SCHEMA ...) or fix \
                 options[search_path] in the store URL"
                    .to_owned(),
            )
        })?;
        let migrated = migrate(&mut conn, &schema).await;
        // Closing ends the session, releasing the advisory lock even if migrating failed.
        let _ = conn.close().await;
        migrated?;

        // sqlx tests a connection with a round trip when it goes back to the pool (always) and,
        // by default, again when it comes out: three round trips for a one-statement read.
        // Out of the pool it is tested only after lying idle (the server may have closed it
        // meanwhile); one just returned was tested on its way in.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_TEST {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        let store = Self {
            pool,
            readers: conns::Conns::new(options.clone(), READERS),
            appender: conns::Conns::new(options.clone(), 1),
            audit_head: std::sync::Mutex::new(None),
            leases: lead::Leases::new(options, &schema),
        };
        store.convert_legacy_audit().await?;
        Ok(store)
    }

    /// Where audit records are appended: the one pool (every commit is durable).
    pub(crate) fn durable(&self) -> &PgPool {
        &self.pool
    }

    /// Nothing to hold: PostgreSQL locks rows, and writers on other nodes could not see it.
    #[allow(clippy::unused_async)]
    pub(crate) async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

    /// Close every connection, giving up any leadership held.
    pub async fn close(&self) {
        self.leases.release_all().await;
        self.readers.close().await;
        self.appender.close().await;
        self.pool.close().await;
    }
}

async fn migrate(conn: &mut PgConnection, schema: &str) -> Result<()> {
    let key = lock_key(&format!("coffer:migrate:{schema}"));
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    // `run_direct` on the connection holding our lock: `Migrator::run(&mut conn)` would go
    // through `Acquire`, whose higher-ranked bounds make this future non-`Send`.
    sqlx::migrate!("./migrations/postgres")
        .run_direct(None, conn, false)
        .await
        .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
}

#[async_trait]
impl MetaStore for PostgresStore {
    /// PostgreSQL's commits are durable (`synchronous_commit` on).
    async fn sync(&self) -> Result<()> {
        Ok(())
    }

    async fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.init_meta_value(name, value).await
    }

    async fn try_lead(&self, job: &str) -> Result<bool> {
        self.leases.try_lead(job).await
    }
}

/// What PostgreSQL does its own way; see [`Dialect`].
impl Dialect for PostgresStore {
    type Db = Postgres;
    const TRUE: &'static str = "TRUE";
    const GREATEST: &'static str = "GREATEST";
    const EMPTY_BLOB: &'static str = "'\\x'::bytea";

    fn list(expr: &str, from: &str, order: &str) -> String {
        format!("ARRAY(SELECT {expr} {from} ORDER BY {order})")
    }

    async fn commit(&self, tx: Transaction<'_, Postgres>) -> Result<()> {
        tx.commit().await.map_err(backend)
    }

    async fn write(
        &self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<sqlx::postgres::PgQueryResult> {
        query.execute(&self.pool).await.map_err(backend)
    }

    /// No cache: other nodes write to the same database. The read runs on a reader
    /// connection.
    async fn cached<'q, R, T>(
        &self,
        _key: impl FnOnce() -> Lookup,
        query: impl FnOnce() -> crate::repo::RowQuery<'q, Postgres, R>,
    ) -> Result<Option<T>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + Into<T>,
        T: Cached,
    {
        let Some(row) = self.readers.fetch_optional(query()).await? else {
            return Ok(None);
        };
        Ok(Some(R::from_row(&row).map_err(backend)?.into()))
    }

    /// Under READ COMMITTED two nodes inserting policies at once would each count only their own
    /// new row: the row lock makes the second wait for the first to commit.
    async fn lock_parameter(
        tx: &mut Transaction<'_, Postgres>,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<()> {
        sqlx::query(
            "SELECT 1 FROM ssm_parameters
             WHERE account_id = $1 AND region = $2 AND name_key = $3 FOR UPDATE",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

impl Type<Postgres> for TextList {
    fn type_info() -> PgTypeInfo {
        <Vec<String> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for TextList {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(<Vec<String> as Decode<'r, Postgres>>::decode(value)?))
    }
}

impl Type<Postgres> for IntList {
    fn type_info() -> PgTypeInfo {
        <Vec<i64> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for IntList {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(<Vec<i64> as Decode<'r, Postgres>>::decode(value)?))
    }
}

crate::repo::iam::iam_store_impl!(super::PostgresStore, sqlx::postgres::PgRow);
crate::repo::meta::meta_impl!(PostgresStore);
crate::repo::maintenance::maintenance_store_impl!(PostgresStore);
crate::repo::identity::identity_store_impl!(PostgresStore);
crate::repo::kms::kms_store_impl!(PostgresStore);
crate::repo::grants::grant_store_impl!(PostgresStore);
crate::repo::breakglass::breakglass_store_impl!(PostgresStore);
crate::repo::secrets::secret_store_impl!(PostgresStore);
crate::repo::secrets::secret_writes_impl!(PostgresStore);
crate::repo::rotation::rotation_store_impl!(PostgresStore);
crate::repo::parameters::parameter_store_impl!(PostgresStore);
