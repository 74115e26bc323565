//! Accounts and access keys on PostgreSQL.

use super::{PostgresStore, backend, col};
use crate::records::*;
use crate::{IdentityStore, Result, StoreError};
use async_trait::async_trait;
use sqlx::postgres::PgRow;

fn access_key(row: &PgRow) -> Result<AccessKeyRecord> {
    let status: String = col(row, "status")?;
    Ok(AccessKeyRecord {
        access_key_id: col(row, "access_key_id")?,
        account_id: col(row, "account_id")?,
        principal_arn: col(row, "principal_arn")?,
        principal_id: col(row, "principal_id")?,
        wrapped_secret: col(row, "wrapped_secret")?,
        status: match status.as_str() {
            "Active" => AccessKeyStatus::Active,
            "Inactive" => AccessKeyStatus::Inactive,
            other => {
                return Err(StoreError::Backend(format!(
                    "bad access key status {other:?}"
                )));
            }
        },
        created_at: col(row, "created_at")?,
    })
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn ensure_account(&self, account_id: &str, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO accounts (account_id, created_at) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING",
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
                    account_id: col(r, "account_id")?,
                    created_at: col(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, account_id, principal_arn, principal_id, wrapped_secret, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        let row = sqlx::query("SELECT * FROM access_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(access_key).transpose()
    }
}
