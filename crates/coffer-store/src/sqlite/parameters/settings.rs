//! Parameter Store's service settings and resource policies on SQLite.

use crate::parameters::{ResourcePolicyRecord, ServiceSettingRecord};
use crate::sqlite::{SqliteStore, backend};
use crate::{Result, StoreError};
use sqlx::Row;

pub(super) async fn get_service_setting(
    s: &SqliteStore,
    account: &str,
    region: &str,
    setting_id: &str,
) -> Result<Option<ServiceSettingRecord>> {
    let row = sqlx::query(
        "SELECT * FROM ssm_service_settings
         WHERE account_id = ? AND region = ? AND setting_id = ?",
    )
    .bind(account)
    .bind(region)
    .bind(setting_id)
    .fetch_optional(&s.pool)
    .await
    .map_err(backend)?;
    row.map(|r| {
        Ok(ServiceSettingRecord {
            account_id: r.try_get("account_id").map_err(backend)?,
            region: r.try_get("region").map_err(backend)?,
            setting_id: r.try_get("setting_id").map_err(backend)?,
            value: r.try_get("value").map_err(backend)?,
            last_modified_at: r.try_get("last_modified_at").map_err(backend)?,
            last_modified_user: r.try_get("last_modified_user").map_err(backend)?,
        })
    })
    .transpose()
}

pub(super) async fn put_service_setting(
    store: &SqliteStore,
    s: &ServiceSettingRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ssm_service_settings (account_id, region, setting_id, value,
            last_modified_at, last_modified_user) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, region, setting_id) DO UPDATE SET value = excluded.value,
            last_modified_at = excluded.last_modified_at,
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
    s: &SqliteStore,
    account: &str,
    region: &str,
    setting_id: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM ssm_service_settings
         WHERE account_id = ? AND region = ? AND setting_id = ?",
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
    s: &SqliteStore,
    account: &str,
    region: &str,
    key: &str,
) -> Result<Vec<ResourcePolicyRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM ssm_resource_policies
         WHERE account_id = ? AND region = ? AND name_key = ? ORDER BY created_at, policy_id",
    )
    .bind(account)
    .bind(region)
    .bind(key)
    .fetch_all(&s.pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(ResourcePolicyRecord {
                policy_id: r.try_get("policy_id").map_err(backend)?,
                policy_hash: r.try_get("policy_hash").map_err(backend)?,
                policy: r.try_get("policy").map_err(backend)?,
                created_at: r.try_get("created_at").map_err(backend)?,
            })
        })
        .collect()
}

pub(super) async fn create_resource_policy(
    s: &SqliteStore,
    account: &str,
    region: &str,
    key: &str,
    p: &ResourcePolicyRecord,
    max: usize,
) -> Result<bool> {
    let mut tx = s.pool.begin().await.map_err(backend)?;
    sqlx::query(
        "INSERT INTO ssm_resource_policies (account_id, region, name_key, policy_id,
            policy_hash, policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM ssm_resource_policies
         WHERE account_id = ? AND region = ? AND name_key = ?",
    )
    .bind(account)
    .bind(region)
    .bind(key)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    let n: i64 = row.try_get("n").map_err(backend)?;
    if usize::try_from(n).unwrap_or(usize::MAX) > max {
        tx.rollback().await.map_err(backend)?;
        return Ok(false);
    }
    tx.commit().await.map_err(backend)?;
    Ok(true)
}

pub(super) async fn replace_resource_policy(
    s: &SqliteStore,
    account: &str,
    region: &str,
    key: &str,
    p: &ResourcePolicyRecord,
    expected_hash: &str,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE ssm_resource_policies SET policy = ?, policy_hash = ?
         WHERE account_id = ? AND region = ? AND name_key = ? AND policy_id = ?
           AND policy_hash = ?",
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

pub(super) async fn delete_resource_policy(
    s: &SqliteStore,
    account: &str,
    region: &str,
    key: &str,
    policy_id: &str,
    expected_hash: &str,
) -> Result<bool> {
    let mut tx = s.pool.begin().await.map_err(backend)?;
    let done = sqlx::query(
        "DELETE FROM ssm_resource_policies
         WHERE account_id = ? AND region = ? AND name_key = ? AND policy_id = ?
           AND policy_hash = ?",
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
    let exists = sqlx::query(
        "SELECT 1 FROM ssm_resource_policies
         WHERE account_id = ? AND region = ? AND name_key = ? AND policy_id = ?",
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
