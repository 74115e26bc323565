//! A private schema on the test PostgreSQL for one test, dropped afterwards.
//!
//! `COFFER_TEST_POSTGRES_URL` names the server and database (default
//! `postgres://postgres@127.0.0.1:5432/test`; the database is created if missing). Each test gets
//! its own schema `coffer_test_<uuid>`, so parallel tests and concurrent CI runs never collide.
//! An unreachable server fails the test, naming the fix, unless `COFFER_TEST_POSTGRES=skip`:
//! a silently skipped backend would let it rot.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::future::Future;
use std::str::FromStr;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct Schema {
    base: String,
    pub name: String,
    /// The base URL with `search_path` set to the schema: what `coffer_store::open` is given.
    pub url: String,
}

fn base_url() -> String {
    std::env::var("COFFER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn skipping() -> bool {
    std::env::var("COFFER_TEST_POSTGRES").is_ok_and(|v| v == "skip")
}

async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnectOptions::from_str(url)?.connect().await
}

/// Connect to the test database, creating it (through the `postgres` database) if missing.
async fn connect_creating(url: &str) -> Result<PgConnection, sqlx::Error> {
    match connect(url).await {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let options = PgConnectOptions::from_str(url)?;
            let db = options.get_database().unwrap_or("test").to_owned();
            let mut admin = options.database("postgres").connect().await?;
            let create = format!("CREATE DATABASE \"{}\"", db.replace('"', "\"\""));
            match sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut admin)
                .await
            {
                // Another test created it first: 42P04, or 23505 when the two raced in the catalog.
                Err(sqlx::Error::Database(e))
                    if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
                other => {
                    other?;
                }
            }
            admin.close().await?;
            connect(url).await
        }
        other => other,
    }
}

/// Whether the test server accepts TLS connections (`SHOW ssl`).
pub async fn server_has_tls() -> bool {
    let mut conn = connect(&base_url()).await.expect("connect");
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut conn)
        .await
        .expect("SHOW ssl");
    ssl == "on"
}

/// How many connections named `app` use TLS, and how many there are.
pub async fn tls_connections(app: &str) -> (i64, i64) {
    let mut conn = connect(&base_url()).await.expect("connect");
    sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FROM pg_stat_activity a
         JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1",
    )
    .bind(app)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_ssl")
}

impl Schema {
    /// A fresh schema, or `None` when PostgreSQL is unreachable and the run opted out with
    /// `COFFER_TEST_POSTGRES=skip`.
    pub async fn create() -> Option<Self> {
        let base = base_url();
        let mut conn = match connect_creating(&base).await {
            Ok(c) => c,
            Err(e) if skipping() => {
                eprintln!("COFFER_TEST_POSTGRES=skip: PostgreSQL not reachable ({e}); skipped");
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL at COFFER_TEST_POSTGRES_URL (default {DEFAULT_URL}) is not usable: \
                 {e}. Start PostgreSQL, point COFFER_TEST_POSTGRES_URL at one, or set \
                 COFFER_TEST_POSTGRES=skip to run without the PostgreSQL backend's tests."
            ),
        };
        let name = format!("coffer_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        conn.close().await.expect("close");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options[search_path]={name}");
        Some(Self { base, name, url })
    }

    /// Run `test`, then drop the schema whether it passed or panicked. The test is spawned at
    /// once, so the future returned stays small however large the test's is.
    pub fn run<F>(self, test: F) -> impl Future<Output = ()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let test = tokio::spawn(test);
        async move {
            let outcome = test.await;
            let mut conn = connect(&self.base).await.expect("reconnect to drop schema");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.name
            )))
            .execute(&mut conn)
            .await
            .expect("drop test schema");
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}
