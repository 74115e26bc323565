//! Secrets Manager rotation state: [`RotationStore`](crate::RotationStore) for a backend's store.
//! Starting and ending a rotation is a compare-and-set on the secret first (its row lock on
//! PostgreSQL orders concurrent starts and ends across nodes), then the rotation row.

/// The secrets whose scheduled rotation is due and not running; `$1` now, `$2` the limit.
pub(crate) fn due_for_rotation_sql<D: crate::repo::Dialect>() -> String {
    let yes = D::TRUE;
    format!(
        "SELECT s.* FROM sm_secrets s
         WHERE s.next_rotation_at IS NOT NULL AND s.next_rotation_at <= $1
           AND s.rotation_enabled = {yes} AND s.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM sm_rotations r WHERE r.secret_arn = s.arn)
         ORDER BY s.next_rotation_at LIMIT $2"
    )
}

macro_rules! rotation_store_impl {
    ($store:ident) => {
        mod rotation {
            use super::secrets::update_meta;
            use super::{$store, backend};
            use crate::records::Millis;
            use crate::repo::rotation::due_for_rotation_sql;
            use crate::repo::{Dialect, limit};
            use crate::rotation::*;
            use crate::secrets::SecretRecord;
            use crate::{Result, StoreError};
            use async_trait::async_trait;

            #[async_trait]
            impl RotationStore for $store {
                async fn start_rotation(&self, s: &SecretRecord, r: &RotationRecord) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    if !update_meta(&mut tx, s).await? {
                        return Err(StoreError::Conflict);
                    }
                    sqlx::query(
                        "INSERT INTO sm_rotations (secret_arn, token, function_arn, step, attempts,
                            started_at, next_attempt_at, last_error, row_version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
                    sqlx::query_as("SELECT * FROM sm_rotations WHERE secret_arn = $1")
                        .bind(arn)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn update_rotation(&self, r: &RotationRecord) -> Result<()> {
                    let done = self
                        .write(
                            sqlx::query(
                                "UPDATE sm_rotations SET step = $1, attempts = $2,
                                    next_attempt_at = $3, last_error = $4,
                                    row_version = row_version + 1
                                 WHERE secret_arn = $5 AND token = $6 AND row_version = $7",
                            )
                            .bind(&r.step)
                            .bind(r.attempts)
                            .bind(r.next_attempt_at)
                            .bind(&r.last_error)
                            .bind(&r.secret_arn)
                            .bind(&r.token)
                            .bind(r.row_version),
                        )
                        .await?;
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
                        "DELETE FROM sm_rotations
                         WHERE secret_arn = $1 AND (CAST($2 AS TEXT) IS NULL OR token = $2)",
                    )
                    .bind(&s.arn)
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
                    sqlx::query_as(
                        "SELECT * FROM sm_rotations WHERE next_attempt_at <= $1
                         ORDER BY next_attempt_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit(n))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn secrets_due_for_rotation(
                    &self,
                    now: Millis,
                    n: usize,
                ) -> Result<Vec<SecretRecord>> {
                    // Audited: built from constant fragments only.
                    sqlx::query_as(sqlx::AssertSqlSafe(due_for_rotation_sql::<$store>()))
                        .bind(now)
                        .bind(limit(n))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn add_rotation_event(&self, arn: &str, e: &RotationEventRecord) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO sm_rotation_events (secret_arn, at, token, step, outcome,
                            message) VALUES ($1, $2, $3, $4, $5, $6)",
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
                        "DELETE FROM sm_rotation_events WHERE secret_arn = $1 AND id <= (
                            SELECT id FROM sm_rotation_events WHERE secret_arn = $1
                            ORDER BY id DESC LIMIT 1 OFFSET $2)",
                    )
                    .bind(arn)
                    .bind(ROTATION_EVENTS_KEPT)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    self.commit(tx).await
                }

                async fn list_rotation_events(
                    &self,
                    arn: &str,
                    n: usize,
                ) -> Result<Vec<RotationEventRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM sm_rotation_events WHERE secret_arn = $1
                         ORDER BY id DESC LIMIT $2",
                    )
                    .bind(arn)
                    .bind(limit(n))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn create_rotation_function(&self, f: &RotationFunctionRecord) -> Result<()> {
                    self.write(
                        sqlx::query(
                            "INSERT INTO sm_rotation_functions (account_id, region, name, url,
                                timeout_ms, signing_key, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
                    sqlx::query_as(
                        "SELECT * FROM sm_rotation_functions
                         WHERE account_id = $1 AND region = $2 AND name = $3",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn list_rotation_functions(
                    &self,
                    account: &str,
                    region: &str,
                ) -> Result<Vec<RotationFunctionRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM sm_rotation_functions WHERE account_id = $1 AND region = $2
                         ORDER BY name",
                    )
                    .bind(account)
                    .bind(region)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn delete_rotation_function(
                    &self,
                    account: &str,
                    region: &str,
                    name: &str,
                ) -> Result<bool> {
                    let done = self
                        .write(
                            sqlx::query(
                                "DELETE FROM sm_rotation_functions
                                 WHERE account_id = $1 AND region = $2 AND name = $3",
                            )
                            .bind(account)
                            .bind(region)
                            .bind(name),
                        )
                        .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}
pub(crate) use rotation_store_impl;
