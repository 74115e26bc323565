//! Parameter Store's service settings and resource policies, for [`super::parameters`]. Neither
//! table is in SQLite's read cache: their writes commit without invalidating it.

macro_rules! parameter_settings_impl {
    ($store:ident) => {
        mod settings {
            use super::super::{$store, backend};
            use crate::parameters::{ResourcePolicyRecord, ServiceSettingRecord};
            use crate::repo::Dialect;
            use crate::{Result, StoreError};

            pub(super) async fn get_service_setting(
                s: &$store,
                account: &str,
                region: &str,
                setting_id: &str,
            ) -> Result<Option<ServiceSettingRecord>> {
                sqlx::query_as(
                    "SELECT * FROM ssm_service_settings
                     WHERE account_id = $1 AND region = $2 AND setting_id = $3",
                )
                .bind(account)
                .bind(region)
                .bind(setting_id)
                .fetch_optional(&s.pool)
                .await
                .map_err(backend)
            }

            pub(super) async fn put_service_setting(
                store: &$store,
                s: &ServiceSettingRecord,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO ssm_service_settings (account_id, region, setting_id, value,
                        last_modified_at, last_modified_user) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (account_id, region, setting_id) DO UPDATE
                     SET value = excluded.value, last_modified_at = excluded.last_modified_at,
                        last_modified_user = excluded.last_modified_user",
                )
                .bind(&s.account_id)
                .bind(&s.region)
                .bind(&s.setting_id)
                .bind(&s.value)
                .bind(s.last_modified_at)
                .bind(&s.last_modified_user)
                .execute(&store.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(super) async fn delete_service_setting(
                s: &$store,
                account: &str,
                region: &str,
                setting_id: &str,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM ssm_service_settings
                     WHERE account_id = $1 AND region = $2 AND setting_id = $3",
                )
                .bind(account)
                .bind(region)
                .bind(setting_id)
                .execute(&s.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) async fn list_resource_policies(
                s: &$store,
                account: &str,
                region: &str,
                key: &str,
            ) -> Result<Vec<ResourcePolicyRecord>> {
                sqlx::query_as(
                    "SELECT * FROM ssm_resource_policies
                     WHERE account_id = $1 AND region = $2 AND name_key = $3
                     ORDER BY created_at, policy_id",
                )
                .bind(account)
                .bind(region)
                .bind(key)
                .fetch_all(&s.pool)
                .await
                .map_err(backend)
            }

            /// Insert, then count: more than `max` rolls back (false). The parameter is locked
            /// first ([`Dialect::lock_parameter`]), so two nodes cannot both pass `max`; a missing
            /// parameter fails the insert's foreign key.
            pub(super) async fn create_resource_policy(
                s: &$store,
                account: &str,
                region: &str,
                key: &str,
                p: &ResourcePolicyRecord,
                max: usize,
            ) -> Result<bool> {
                let mut tx = s.pool.begin().await.map_err(backend)?;
                <$store as Dialect>::lock_parameter(&mut tx, account, region, key).await?;
                sqlx::query(
                    "INSERT INTO ssm_resource_policies (account_id, region, name_key, policy_id,
                        policy_hash, policy, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(account)
                .bind(region)
                .bind(key)
                .bind(&p.policy_id)
                .bind(&p.policy_hash)
                .bind(&p.policy)
                .bind(p.created_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM ssm_resource_policies
                     WHERE account_id = $1 AND region = $2 AND name_key = $3",
                )
                .bind(account)
                .bind(region)
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                if usize::try_from(n).unwrap_or(usize::MAX) > max {
                    tx.rollback().await.map_err(backend)?;
                    return Ok(false);
                }
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            pub(super) async fn replace_resource_policy(
                s: &$store,
                account: &str,
                region: &str,
                key: &str,
                p: &ResourcePolicyRecord,
                expected_hash: &str,
            ) -> Result<()> {
                let done = sqlx::query(
                    "UPDATE ssm_resource_policies SET policy = $1, policy_hash = $2
                     WHERE account_id = $3 AND region = $4 AND name_key = $5 AND policy_id = $6
                       AND policy_hash = $7",
                )
                .bind(&p.policy)
                .bind(&p.policy_hash)
                .bind(account)
                .bind(region)
                .bind(key)
                .bind(&p.policy_id)
                .bind(expected_hash)
                .execute(&s.pool)
                .await
                .map_err(backend)?;
                if done.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                }
            }

            /// False if there is no such policy; `Conflict` if it changed since read.
            pub(super) async fn delete_resource_policy(
                s: &$store,
                account: &str,
                region: &str,
                key: &str,
                policy_id: &str,
                expected_hash: &str,
            ) -> Result<bool> {
                let mut tx = s.pool.begin().await.map_err(backend)?;
                let done = sqlx::query(
                    "DELETE FROM ssm_resource_policies
                     WHERE account_id = $1 AND region = $2 AND name_key = $3 AND policy_id = $4
                       AND policy_hash = $5",
                )
                .bind(account)
                .bind(region)
                .bind(key)
                .bind(policy_id)
                .bind(expected_hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                if done.rows_affected() == 1 {
                    tx.commit().await.map_err(backend)?;
                    return Ok(true);
                }
                let exists: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM ssm_resource_policies
                     WHERE account_id = $1 AND region = $2 AND name_key = $3 AND policy_id = $4",
                )
                .bind(account)
                .bind(region)
                .bind(key)
                .bind(policy_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                if exists.is_some() {
                    Err(StoreError::Conflict)
                } else {
                    Ok(false)
                }
            }
        }
    };
}
pub(crate) use parameter_settings_impl;
