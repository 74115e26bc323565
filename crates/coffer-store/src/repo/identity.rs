//! Accounts and access keys: [`IdentityStore`](crate::IdentityStore) for a backend's store.

macro_rules! identity_store_impl {
    ($store:ident) => {
        mod identity {
            use super::{backend, $store};
            use crate::records::*;
            use crate::{IdentityStore, Result};
            use async_trait::async_trait;

            #[async_trait]
            impl IdentityStore for $store {
                async fn ensure_account(&self, account_id: &str, now: Millis) -> Result<bool> {
                    let done = sqlx::query(
                        "INSERT INTO accounts (account_id, created_at) VALUES ($1, $2)
                         ON CONFLICT (account_id) DO NOTHING",
                    )
                    .bind(account_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_accounts(&self) -> Result<Vec<AccountRecord>> {
                    sqlx::query_as(
                        "SELECT account_id, created_at FROM accounts ORDER BY account_id",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO access_keys (access_key_id, account_id, principal_arn,
                            principal_id, wrapped_secret, status, created_at)
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

                async fn get_access_key(
                    &self,
                    access_key_id: &str,
                ) -> Result<Option<AccessKeyRecord>> {
                    sqlx::query_as("SELECT * FROM access_keys WHERE access_key_id = $1")
                        .bind(access_key_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)
                }
            }
        }
    };
}
pub(crate) use identity_store_impl;
