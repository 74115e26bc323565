//! `SecretsManagerRDSMySQLRotationSingleUser`/`MultiUser` (also under the MariaDB names), as AWS's
//! templates do it. Single user: setSecret logs in with the pending password (done already?),
//! else with the current or previous one, and changes its own password. Alternating users: the
//! `masterarn` secret's user creates the other user of the pair on the current user's host with
//! the current user's grants (`SHOW GRANTS`, replayed), or sets its password.
//!
//! On MariaDB the password travels as its `mysql_native_password` hash (`SET PASSWORD = '*...'`,
//! `IDENTIFIED BY PASSWORD '*...'`); on MySQL, which no longer takes a hash for a password, as
//! `ALTER USER ... IDENTIFIED BY` over the connection (TLS when the server offers it).

use crate::db::{self, DbSecret};
use crate::{CONNECT_TIMEOUT, STATEMENT_TIMEOUT};
use async_trait::async_trait;
use coffer_service::secretsmanager::rotation::{
    Invocation, RotationApi, RotationError, RotationFunction,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions, Connection, MySqlConnection, Row};

/// MySQL's user name limit (MariaDB allows 80).
const MAX_USER_LEN: usize = 32;

#[derive(Debug)]
pub struct MySql {
    pub multi_user: bool,
}

/// A quoted string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn account(user: &str, host: &str) -> String {
    format!("{}@{}", literal(user), literal(host))
}

pub async fn connect(s: &DbSecret, login: &DbSecret) -> Result<MySqlConnection, RotationError> {
    let port = s.port.unwrap_or(3306);
    let mut options = MySqlConnectOptions::new()
        .host(&s.host)
        .port(port)
        .username(&login.username)
        .password(login.password_str()?)
        .ssl_mode(MySqlSslMode::Preferred);
    if let Some(db) = &s.dbname {
        options = options.database(db);
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(RotationError::new(format!(
            "logging in to MySQL at {}:{port} as {}: {e}",
            s.host, login.username
        ))),
        Err(_) => Err(RotationError::new(format!(
            "logging in to MySQL at {}:{port} as {}: no answer within {} s",
            s.host,
            login.username,
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

async fn exec(conn: &mut MySqlConnection, sql: String, what: &str) -> Result<(), RotationError> {
    let run = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn);
    match tokio::time::timeout(STATEMENT_TIMEOUT, run).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(RotationError::new(format!("{what}: {e}"))),
        Err(_) => Err(RotationError::new(format!("{what}: timed out"))),
    }
}

async fn is_mariadb(conn: &mut MySqlConnection) -> Result<bool, RotationError> {
    let v: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| RotationError::new(format!("reading the server version: {e}")))?;
    Ok(v.contains("MariaDB"))
}

/// A grant of `from` rewritten for `to`: the account swapped, any password clause dropped.
pub fn regrant(line: &str, from: &str, to: &str, host: &str) -> String {
    let mut out = line
        .replace(&format!("`{from}`@`{host}`"), &format!("`{to}`@`{host}`"))
        .replace(&account(from, host), &account(to, host));
    if let Some(at) = out.find(" IDENTIFIED BY PASSWORD '") {
        let rest = &out[at + " IDENTIFIED BY PASSWORD '".len()..];
        let end = rest.find('\'').map_or(out.len(), |e| {
            at + " IDENTIFIED BY PASSWORD '".len() + e + 1
        });
        out.replace_range(at..end, "");
    }
    out
}

impl MySql {
    async fn set(&self, api: &RotationApi, event: &Invocation) -> Result<(), RotationError> {
        let v = db::versions(api, event).await?;
        if let Ok(c) = connect(&v.pending, &v.pending).await {
            let _ = c.close().await;
            return Ok(());
        }
        let new_password = v.pending.password_str()?;
        let hash = db::mysql_native_hash(v.pending.password.expose());
        if !self.multi_user {
            if v.pending.username != v.current.username {
                return Err(RotationError::new(
                    "the pending secret names another user than the current one",
                ));
            }
            let mut conn = match connect(&v.current, &v.current).await {
                Ok(c) => c,
                Err(current_err) => match &v.previous {
                    Some(p) => connect(&v.current, p).await.map_err(|_| current_err)?,
                    None => return Err(current_err),
                },
            };
            let sql = if is_mariadb(&mut conn).await? {
                format!("SET PASSWORD = {}", literal(&hash))
            } else {
                format!(
                    "ALTER USER CURRENT_USER() IDENTIFIED BY {}",
                    literal(new_password)
                )
            };
            exec(&mut conn, sql, "setting the new password").await?;
            let _ = conn.close().await;
            return Ok(());
        }
        let master = db::master(api, &v.current).await?;
        let mut conn = connect(&v.current, &master).await?;
        let mariadb = is_mariadb(&mut conn).await?;
        let hosts: Vec<String> = sqlx::query_scalar("SELECT Host FROM mysql.user WHERE User = ?")
            .bind(&v.current.username)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| RotationError::new(format!("looking up {}: {e}", v.current.username)))?;
        let host = if hosts.iter().any(|h| h == "%") {
            "%".to_owned()
        } else {
            hosts.into_iter().next().ok_or_else(|| {
                RotationError::new(format!("the user {} does not exist", v.current.username))
            })?
        };
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?")
                .bind(&v.pending.username)
                .bind(&host)
                .fetch_optional(&mut conn)
                .await
                .map_err(|e| {
                    RotationError::new(format!("looking up {}: {e}", v.pending.username))
                })?;
        let target = account(&v.pending.username, &host);
        if exists.is_none() {
            let create = if mariadb {
                format!(
                    "CREATE USER {target} IDENTIFIED BY PASSWORD {}",
                    literal(&hash)
                )
            } else {
                format!(
                    "CREATE USER {target} IDENTIFIED WITH mysql_native_password AS {}",
                    literal(&hash)
                )
            };
            exec(&mut conn, create, "creating the alternate user").await?;
            let grants = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SHOW GRANTS FOR {}",
                account(&v.current.username, &host)
            )))
            .fetch_all(&mut conn)
            .await
            .map_err(|e| RotationError::new(format!("reading the current user's grants: {e}")))?;
            for row in grants {
                let line: String = row
                    .try_get::<String, _>(0)
                    .or_else(|_| {
                        row.try_get::<Vec<u8>, _>(0)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                    })
                    .map_err(|e| RotationError::new(format!("reading a grant: {e}")))?;
                let grant = regrant(&line, &v.current.username, &v.pending.username, &host);
                exec(&mut conn, grant, "copying a grant to the alternate user").await?;
            }
        } else {
            let sql = if mariadb {
                format!("SET PASSWORD FOR {target} = {}", literal(&hash))
            } else {
                format!(
                    "ALTER USER {target} IDENTIFIED WITH mysql_native_password AS {}",
                    literal(&hash)
                )
            };
            exec(&mut conn, sql, "setting the alternate user's password").await?;
        }
        let _ = conn.close().await;
        Ok(())
    }

    async fn test(&self, api: &RotationApi, event: &Invocation) -> Result<(), RotationError> {
        let pending = api.pending(event).await?;
        let pending = DbSecret::parse(&pending.value, "pending")?;
        let mut conn = connect(&pending, &pending).await?;
        let _: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| RotationError::new(format!("querying as the new user: {e}")))?;
        let _ = conn.close().await;
        Ok(())
    }
}

#[async_trait]
impl RotationFunction for MySql {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_rewritten_for_the_other_user() {
        assert_eq!(
            regrant(
                "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
                "app",
                "app_clone",
                "%"
            ),
            "GRANT USAGE ON *.* TO `app_clone`@`%`"
        );
        assert_eq!(
            regrant(
                "GRANT ALL PRIVILEGES ON `db`.* TO 'app'@'%'",
                "app",
                "app_clone",
                "%"
            ),
            "GRANT ALL PRIVILEGES ON `db`.* TO 'app_clone'@'%'"
        );
        assert_eq!(literal("it's"), "'it''s'");
    }
}
