//! Accounts and access keys on SQLite.

use super::{SqliteStore, backend};
use crate::records::*;
use crate::{IdentityStore, Result, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(crate) fn access_key(row: &SqliteRow) -> Result<AccessKeyRecord> {
    let status: String = row.try_get("status").map_err(backend)?;
    Ok(AccessKeyRecord {
        access_key_id: row.try_get("access_key_id").map_err(backend)?,
        account_id: row.try_get("account_id").map_err(backend)?,
        principal_arn: row.try_get("principal_arn").map_err(backend)?,
        principal_id: row.try_get("principal_id").map_err(backend)?,
        wrapped_secret: row.try_get("wrapped_secret").map_err(backend)?,
        status: match status.as_str() {
            "Active" => AccessKeyStatus::Active,
            "Inactive" => AccessKeyStatus::Inactive,
            other => {
                return Err(StoreError::Backend(format!(
                    "bad access key status {other:?}"
                )));
            }
        },
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn ensure_account(&self, account_id: &str, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO accounts (account_id, created_at) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_accounts(&self) -> Result<Vec<AccountRecord>> {
        let rows = sqlx::query("SELECT account_id, created_at FROM accounts ORDER BY account_id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(AccountRecord {
                    account_id: r.try_get("account_id").map_err(backend)?,
                    created_at: r.try_get("created_at").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, account_id, principal_arn, principal_id, wrapped_secret, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.access_key_id)
        .bind(&key.account_id)
        .bind(&key.principal_arn)
        .bind(&key.principal_id)
        .bind(&key.wrapped_secret)
        .bind(key.status.as_str())
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>> {
        let row = sqlx::query("SELECT * FROM access_keys WHERE access_key_id = ?")
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(access_key).transpose()
    }
}
