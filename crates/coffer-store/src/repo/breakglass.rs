//! Break-glass incidents: [`BreakGlassStore`](crate::BreakGlassStore) for a backend's store.
//! Rare, and read where freshness matters (revocation is in force at once), so never cached.

macro_rules! breakglass_store_impl {
    ($store:ident) => {
        mod breakglass {
            use super::{$store, backend};
            use crate::breakglass::{BreakGlassReadRecord, BreakGlassRecord};
            use crate::repo::Dialect;
            use crate::{BreakGlassStore, Result, StoreError};
            use async_trait::async_trait;

            #[async_trait]
            impl BreakGlassStore for $store {
                async fn create_breakglass(&self, r: &BreakGlassRecord) -> Result<()> {
                    self.write(
                        sqlx::query(
                            "INSERT INTO breakglass_requests (request_id, account_id, role_arn,
                                requester_arn, reason, duration_seconds, state, created_at,
                                request_expires_at, approver_arn, approved_at, session_expires_at,
                                revoked_at, closed_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                        )
                        .bind(&r.request_id)
                        .bind(&r.account_id)
                        .bind(&r.role_arn)
                        .bind(&r.requester_arn)
                        .bind(&r.reason)
                        .bind(r.duration_seconds)
                        .bind(&r.state)
                        .bind(r.created_at)
                        .bind(r.request_expires_at)
                        .bind(&r.approver_arn)
                        .bind(r.approved_at)
                        .bind(r.session_expires_at)
                        .bind(r.revoked_at)
                        .bind(r.closed_at),
                    )
                    .await?;
                    Ok(())
                }

                async fn get_breakglass(&self, id: &str) -> Result<Option<BreakGlassRecord>> {
                    sqlx::query_as("SELECT * FROM breakglass_requests WHERE request_id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn update_breakglass(
                    &self,
                    r: &BreakGlassRecord,
                    expected_state: &str,
                ) -> Result<()> {
                    let done = self
                        .write(
                            sqlx::query(
                                "UPDATE breakglass_requests SET state = $1, approver_arn = $2,
                                    approved_at = $3, session_expires_at = $4, revoked_at = $5,
                                    closed_at = $6
                                 WHERE request_id = $7 AND state = $8",
                            )
                            .bind(&r.state)
                            .bind(&r.approver_arn)
                            .bind(r.approved_at)
                            .bind(r.session_expires_at)
                            .bind(r.revoked_at)
                            .bind(r.closed_at)
                            .bind(&r.request_id)
                            .bind(expected_state),
                        )
                        .await?;
                    if done.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict)
                    }
                }

                async fn ended_breakglass(&self, now: i64) -> Result<Vec<BreakGlassRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM breakglass_requests
                         WHERE state IN ('Approved', 'Revoked') AND closed_at IS NULL
                           AND (revoked_at IS NOT NULL OR session_expires_at <= $1)
                         ORDER BY approved_at",
                    )
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn record_breakglass_read(
                    &self,
                    request_id: &str,
                    resource_arn: &str,
                    kind: &str,
                    at: i64,
                ) -> Result<()> {
                    self.write(
                        sqlx::query(
                            "INSERT INTO breakglass_reads (request_id, resource_arn, kind,
                                first_read_at, reads, rotation, rotation_at)
                             VALUES ($1, $2, $3, $4, 1, 'pending', NULL)
                             ON CONFLICT (request_id, resource_arn)
                             DO UPDATE SET reads = breakglass_reads.reads + 1",
                        )
                        .bind(request_id)
                        .bind(resource_arn)
                        .bind(kind)
                        .bind(at),
                    )
                    .await?;
                    Ok(())
                }

                async fn breakglass_reads(
                    &self,
                    request_id: &str,
                ) -> Result<Vec<BreakGlassReadRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM breakglass_reads WHERE request_id = $1
                         ORDER BY first_read_at, resource_arn",
                    )
                    .bind(request_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn set_breakglass_rotation(
                    &self,
                    request_id: &str,
                    resource_arn: &str,
                    rotation: &str,
                    at: i64,
                ) -> Result<()> {
                    self.write(
                        sqlx::query(
                            "UPDATE breakglass_reads SET rotation = $1, rotation_at = $2
                             WHERE request_id = $3 AND resource_arn = $4",
                        )
                        .bind(rotation)
                        .bind(at)
                        .bind(request_id)
                        .bind(resource_arn),
                    )
                    .await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use breakglass_store_impl;
