//! `SecretsManagerRDSPostgreSQLRotationSingleUser` and `...MultiUser`, as AWS's templates do it.
//!
//! Single user: setSecret logs in with the pending password (done already?), else with the
//! current or previous one, and sets the pending password on the same user. Alternating users:
//! createSecret names the other user of the pair (`name` ↔ `name_clone`); setSecret logs in as the
//! `masterarn` secret's user, creates the other user if it does not exist (`CREATE ROLE ... LOGIN`,
//! then `GRANT <current user> TO <other>` so it has the same privileges) or else sets its
//! password. The user the applications use now keeps working until the next rotation changes it.
//! testSecret logs in with the pending secret. Passwords are sent as SCRAM-SHA-256 verifiers.

use crate::db::{self, DbSecret};
use crate::{CONNECT_TIMEOUT, STATEMENT_TIMEOUT};
use async_trait::async_trait;
use coffer_service::secretsmanager::rotation::{
    Invocation, RotationApi, RotationError, RotationFunction,
};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

/// PostgreSQL's identifier limit.
const MAX_USER_LEN: usize = 63;

#[derive(Debug)]
pub struct Postgres {
    pub multi_user: bool,
}

/// `"name"` with embedded quotes doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Log in as `user` with `password` to the database `s` describes.
pub async fn connect(
    s: &DbSecret,
    user: &str,
    password: &DbSecret,
    dbname: Option<&str>,
) -> Result<PgConnection, RotationError> {
    let port = s.port.unwrap_or(5432);
    let options = PgConnectOptions::new_without_pgpass()
        .host(&s.host)
        .port(port)
        .username(user)
        .password(password.password_str()?)
        .database(dbname.or(s.dbname.as_deref()).unwrap_or("postgres"))
        .ssl_mode(PgSslMode::Prefer)
        .application_name("coffer-rotation");
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(RotationError::new(format!(
            "logging in to PostgreSQL at {}:{port} as {user}: {e}",
            s.host
        ))),
        Err(_) => Err(RotationError::new(format!(
            "logging in to PostgreSQL at {}:{port} as {user}: no answer within {} s",
            s.host,
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

async fn login(s: &DbSecret) -> Result<PgConnection, RotationError> {
    connect(s, &s.username, s, None).await
}

async fn exec(conn: &mut PgConnection, sql: String, what: &str) -> Result<(), RotationError> {
    let run = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn);
    match tokio::time::timeout(STATEMENT_TIMEOUT, run).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(RotationError::new(format!("{what}: {e}"))),
        Err(_) => Err(RotationError::new(format!("{what}: timed out"))),
    }
}

impl Postgres {
    async fn set(&self, api: &RotationApi, event: &Invocation) -> Result<(), RotationError> {
        let v = db::versions(api, event).await?;
        // Already set (a retried step)?
        if let Ok(c) = login(&v.pending).await {
            let _ = c.close().await;
            return Ok(());
        }
        let verifier = db::scram_sha_256(v.pending.password.expose())?;
        if !self.multi_user {
            if v.pending.username != v.current.username {
                return Err(RotationError::new(
                    "the pending secret names another user than the current one",
                ));
            }
            let mut conn = match login(&v.current).await {
                Ok(c) => c,
                Err(current_err) => match &v.previous {
                    Some(p) => login(p).await.map_err(|_| current_err)?,
                    None => return Err(current_err),
                },
            };
            exec(
                &mut conn,
                format!(
                    "ALTER USER {} WITH PASSWORD '{verifier}'",
                    ident(&v.pending.username)
                ),
                "setting the new password",
            )
            .await?;
            let _ = conn.close().await;
            return Ok(());
        }
        let master = db::master(api, &v.current).await?;
        let mut conn = connect(
            &master,
            &master.username,
            &master,
            v.current.dbname.as_deref(),
        )
        .await?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
            .bind(&v.pending.username)
            .fetch_optional(&mut conn)
            .await
            .map_err(|e| RotationError::new(format!("looking up {}: {e}", v.pending.username)))?;
        if exists.is_none() {
            exec(
                &mut conn,
                format!(
                    "CREATE ROLE {} WITH LOGIN PASSWORD '{verifier}'",
                    ident(&v.pending.username)
                ),
                "creating the alternate user",
            )
            .await?;
            exec(
                &mut conn,
                format!(
                    "GRANT {} TO {}",
                    ident(&v.current.username),
                    ident(&v.pending.username)
                ),
                "granting the current user's privileges to the alternate user",
            )
            .await?;
        } else {
            exec(
                &mut conn,
                format!(
                    "ALTER USER {} WITH PASSWORD '{verifier}'",
                    ident(&v.pending.username)
                ),
                "setting the alternate user's password",
            )
            .await?;
        }
        let _ = conn.close().await;
        Ok(())
    }

    async fn test(&self, api: &RotationApi, event: &Invocation) -> Result<(), RotationError> {
        let pending = api.pending(event).await?;
        let pending = DbSecret::parse(&pending.value, "pending")?;
        let mut conn = login(&pending).await?;
        let _: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| RotationError::new(format!("querying as the new user: {e}")))?;
        let _ = conn.close().await;
        Ok(())
    }
}

#[async_trait]
impl RotationFunction for Postgres {
    async fn invoke(&self, event: &Invocation, api: &RotationApi) -> Result<(), RotationError> {
        match event.step {
            "createSecret" => db::create(api, event, self.multi_user, MAX_USER_LEN).await,
            "setSecret" => self.set(api, event).await,
            "testSecret" => self.test(api, event).await,
            "finishSecret" => api.finish(event).await,
            other => Err(RotationError::new(format!("unknown step {other}"))),
        }
    }
}
