//! Secrets Manager rotation state on SQLite.

use super::secrets::{limit, secret, update_meta};
use super::{SqliteStore, backend};
use crate::records::Millis;
use crate::repo::Dialect;
use crate::rotation::*;
use crate::secrets::SecretRecord;
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn rotation(row: &SqliteRow) -> Result<RotationRecord> {
    Ok(RotationRecord {
        secret_arn: row.try_get("secret_arn").map_err(backend)?,
        token: row.try_get("token").map_err(backend)?,
        function_arn: row.try_get("function_arn").map_err(backend)?,
        step: row.try_get("step").map_err(backend)?,
        attempts: row.try_get("attempts").map_err(backend)?,
        started_at: row.try_get("started_at").map_err(backend)?,
        next_attempt_at: row.try_get("next_attempt_at").map_err(backend)?,
        last_error: row.try_get("last_error").map_err(backend)?,
        row_version: row.try_get("row_version").map_err(backend)?,
    })
}

fn function(row: &SqliteRow) -> Result<RotationFunctionRecord> {
    Ok(RotationFunctionRecord {
        account_id: row.try_get("account_id").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        url: row.try_get("url").map_err(backend)?,
        timeout_ms: row.try_get("timeout_ms").map_err(backend)?,
        signing_key: row.try_get("signing_key").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

#[async_trait]
impl RotationStore for SqliteStore {
    async fn start_rotation(&self, s: &SecretRecord, r: &RotationRecord) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if !update_meta(&mut tx, s).await? {
            return Err(StoreError::Conflict);
        }
        sqlx::query(
            "INSERT INTO sm_rotations (secret_arn, token, function_arn, step, attempts, started_at,
                next_attempt_at, last_error, row_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.arn)
        .bind(&r.token)
        .bind(&r.function_arn)
        .bind(&r.step)
        .bind(r.attempts)
        .bind(r.started_at)
        .bind(r.next_attempt_at)
        .bind(&r.last_error)
        .bind(r.row_version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.commit(tx).await
    }

    async fn get_rotation(&self, arn: &str) -> Result<Option<RotationRecord>> {
        let row = sqlx::query("SELECT * FROM sm_rotations WHERE secret_arn = ?")
            .bind(arn)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(rotation).transpose()
    }

    async fn update_rotation(&self, r: &RotationRecord) -> Result<()> {
        let done = self.write(sqlx::query(
            "UPDATE sm_rotations SET step = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
                row_version = row_version + 1
             WHERE secret_arn = ? AND token = ? AND row_version = ?",
        )
        .bind(&r.step)
        .bind(r.attempts)
        .bind(r.next_attempt_at)
        .bind(&r.last_error)
        .bind(&r.secret_arn)
        .bind(&r.token)
        .bind(r.row_version)
        ).await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn end_rotation(&self, s: &SecretRecord, token: Option<&str>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if !update_meta(&mut tx, s).await? {
            return Err(StoreError::Conflict);
        }
        let done = sqlx::query(
            "DELETE FROM sm_rotations WHERE secret_arn = ? AND (? IS NULL OR token = ?)",
        )
        .bind(&s.arn)
        .bind(token)
        .bind(token)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if token.is_some() && done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        self.commit(tx).await
    }

    async fn rotations_due(&self, now: Millis, n: usize) -> Result<Vec<RotationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM sm_rotations WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        )
        .bind(now)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rotation).collect()
    }

    async fn secrets_due_for_rotation(&self, now: Millis, n: usize) -> Result<Vec<SecretRecord>> {
        let rows = sqlx::query(
            "SELECT s.* FROM sm_secrets s
             WHERE s.next_rotation_at IS NOT NULL AND s.next_rotation_at <= ?
               AND s.rotation_enabled = 1 AND s.deleted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM sm_rotations r WHERE r.secret_arn = s.arn)
             ORDER BY s.next_rotation_at LIMIT ?",
        )
        .bind(now)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(secret).collect()
    }

    async fn add_rotation_event(&self, arn: &str, e: &RotationEventRecord) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO sm_rotation_events (secret_arn, at, token, step, outcome, message)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(arn)
        .bind(e.at)
        .bind(&e.token)
        .bind(&e.step)
        .bind(&e.outcome)
        .bind(&e.message)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "DELETE FROM sm_rotation_events WHERE secret_arn = ? AND id <= (
                SELECT id FROM sm_rotation_events WHERE secret_arn = ?
                ORDER BY id DESC LIMIT 1 OFFSET ?)",
        )
        .bind(arn)
        .bind(arn)
        .bind(ROTATION_EVENTS_KEPT)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.commit(tx).await
    }

    async fn list_rotation_events(&self, arn: &str, n: usize) -> Result<Vec<RotationEventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM sm_rotation_events WHERE secret_arn = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(arn)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(RotationEventRecord {
                    at: r.try_get("at").map_err(backend)?,
                    token: r.try_get("token").map_err(backend)?,
                    step: r.try_get("step").map_err(backend)?,
                    outcome: r.try_get("outcome").map_err(backend)?,
                    message: r.try_get("message").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn create_rotation_function(&self, f: &RotationFunctionRecord) -> Result<()> {
        self.write(
            sqlx::query(
                "INSERT INTO sm_rotation_functions (account_id, region, name, url, timeout_ms,
                signing_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&f.account_id)
            .bind(&f.region)
            .bind(&f.name)
            .bind(&f.url)
            .bind(f.timeout_ms)
            .bind(&f.signing_key)
            .bind(f.created_at),
        )
        .await?;
        Ok(())
    }

    async fn get_rotation_function(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<RotationFunctionRecord>> {
        let row = sqlx::query(
            "SELECT * FROM sm_rotation_functions WHERE account_id = ? AND region = ? AND name = ?",
        )
        .bind(account)
        .bind(region)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(function).transpose()
    }

    async fn list_rotation_functions(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<RotationFunctionRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM sm_rotation_functions WHERE account_id = ? AND region = ? ORDER BY name",
        )
        .bind(account)
        .bind(region)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(function).collect()
    }

    async fn delete_rotation_function(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<bool> {
        let done = self.write(sqlx::query(
            "DELETE FROM sm_rotation_functions WHERE account_id = ? AND region = ? AND name = ?",
        )
        .bind(account)
        .bind(region)
        .bind(name)
        ).await?;
        Ok(done.rows_affected() == 1)
    }
}
