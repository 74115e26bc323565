//! KMS grants: [`GrantStore`](crate::GrantStore) for a backend's store. Grants are read only on
//! the paths that need them (grant operations, and authorisation that no policy allowed), so
//! they bypass the read cache.

/// `(created_at, grant_id)` strictly after the cursor, or everything without one. A cursor that
/// does not parse matches nothing (the service decodes markers before they reach here).
pub(crate) fn after(cursor: Option<&str>) -> (i64, String) {
    match cursor {
        None => (i64::MIN, String::new()),
        Some(c) => crate::grants::parse_cursor(c)
            .map(|(at, id)| (at, id.to_owned()))
            .unwrap_or((i64::MAX, String::new())),
    }
}

macro_rules! grant_store_impl {
    ($store:ident) => {
        mod grants {
            use super::{$store, backend};
            use crate::grants::{GrantFilter, GrantRecord, grant_cursor};
            use crate::repo::grants::after;
            use crate::repo::kms::page;
            use crate::repo::{Dialect, limit};
            use crate::{GrantStore, Page, Result, StoreError};
            use async_trait::async_trait;

            #[async_trait]
            impl GrantStore for $store {
                async fn create_grant(&self, g: &GrantRecord) -> Result<()> {
                    let ops = serde_json::to_string(&g.operations)
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    self.write(
                        sqlx::query(
                            "INSERT INTO kms_grants (account_id, region, key_id, grant_id, name,
                                grantee_principal, retiring_principal, operations, constraints,
                                issuing_account, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(&g.account_id)
                        .bind(&g.region)
                        .bind(&g.key_id)
                        .bind(&g.grant_id)
                        .bind(&g.name)
                        .bind(&g.grantee_principal)
                        .bind(&g.retiring_principal)
                        .bind(ops)
                        .bind(&g.constraints)
                        .bind(&g.issuing_account)
                        .bind(g.created_at),
                    )
                    .await?;
                    Ok(())
                }

                async fn get_grant(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    grant_id: &str,
                ) -> Result<Option<GrantRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM kms_grants
                         WHERE account_id = $1 AND region = $2 AND key_id = $3 AND grant_id = $4",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .bind(grant_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn key_grants(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                ) -> Result<Vec<GrantRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM kms_grants
                         WHERE account_id = $1 AND region = $2 AND key_id = $3
                         ORDER BY created_at, grant_id",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn list_grants(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    filter: GrantFilter<'_>,
                    cursor: Option<&str>,
                    n: usize,
                ) -> Result<Page<GrantRecord>> {
                    let (at, id) = after(cursor);
                    let items: Vec<GrantRecord> = sqlx::query_as(
                        "SELECT * FROM kms_grants
                         WHERE account_id = $1 AND region = $2 AND key_id = $3
                           AND (created_at > $4 OR (created_at = $4 AND grant_id > $5))
                           AND (CAST($6 AS TEXT) IS NULL OR grant_id = $6)
                           AND (CAST($7 AS TEXT) IS NULL OR grantee_principal = $7)
                         ORDER BY created_at, grant_id LIMIT $8",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .bind(at)
                    .bind(id)
                    .bind(filter.grant_id)
                    .bind(filter.grantee_principal)
                    .bind(limit(n).saturating_add(1))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(page(items, n, grant_cursor))
                }

                async fn list_retirable_grants(
                    &self,
                    region: &str,
                    retiring_principal: &str,
                    cursor: Option<&str>,
                    n: usize,
                ) -> Result<Page<GrantRecord>> {
                    let (at, id) = after(cursor);
                    let items: Vec<GrantRecord> = sqlx::query_as(
                        "SELECT * FROM kms_grants
                         WHERE region = $1 AND retiring_principal = $2
                           AND (created_at > $3 OR (created_at = $3 AND grant_id > $4))
                         ORDER BY created_at, grant_id LIMIT $5",
                    )
                    .bind(region)
                    .bind(retiring_principal)
                    .bind(at)
                    .bind(id)
                    .bind(limit(n).saturating_add(1))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(page(items, n, grant_cursor))
                }

                async fn delete_grant(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    grant_id: &str,
                ) -> Result<bool> {
                    let done = self
                        .write(
                            sqlx::query(
                                "DELETE FROM kms_grants WHERE account_id = $1 AND region = $2
                                    AND key_id = $3 AND grant_id = $4",
                            )
                            .bind(account)
                            .bind(region)
                            .bind(key_id)
                            .bind(grant_id),
                        )
                        .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}
pub(crate) use grant_store_impl;
