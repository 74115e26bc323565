//! SSM parameters on PostgreSQL.
//!
//! The same tables and write paths as the SQLite backend. Two differences, both for nodes writing
//! at once (SQLite has one writer at a time, PostgreSQL does not):
//! - reads that return a parameter or version with its labels are one statement (labels gathered
//!   with `ARRAY(...)` subqueries), so they see one snapshot and never a label of a version they
//!   did not return;
//! - creating a resource policy locks the parameter row first, so two nodes cannot both pass the
//!   per-parameter policy limit.

use super::parameter_rows::*;
use super::{PostgresStore, backend, col, limit};
use crate::parameters::*;
use crate::records::Millis;
use crate::records::tags_to_json;
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

/// Bytes above every character a parameter name may hold: `prefix || UPPER` bounds a prefix
/// range (names are ASCII; U+10FFFF is the largest UTF-8 sequence; keys compare as "C").
const UPPER: &str = "\u{10FFFF}";

/// Add `delta` to a tier's count; with `limit`, fail (returning false) if that overflows it.
/// The upsert locks the count row, so concurrent creators on any node count one after another.
async fn adjust_count(
    tx: &mut Transaction<'_, Postgres>,
    account: &str,
    region: &str,
    tier: &str,
    delta: i64,
    limit: Option<u64>,
) -> Result<bool> {
    let count: i64 = sqlx::query_scalar(
        "INSERT INTO ssm_tier_counts (account_id, region, tier, count)
         VALUES ($1, $2, $3, GREATEST($4, 0))
         ON CONFLICT (account_id, region, tier)
         DO UPDATE SET count = GREATEST(ssm_tier_counts.count + $4, 0)
         RETURNING count",
    )
    .bind(account)
    .bind(region)
    .bind(tier)
    .bind(delta)
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(limit.is_none_or(|l| u64::try_from(count).unwrap_or(0) <= l))
}

async fn insert_version(
    tx: &mut Transaction<'_, Postgres>,
    p: &ParameterRecord,
    key: &str,
    v: &ParameterVersionRecord,
) -> Result<()> {
    let (plain, key_arn, data_key, ciphertext) = match &v.value {
        StoredValue::Plain(s) => (Some(s.as_str()), None, None, None),
        StoredValue::Sealed {
            key_arn,
            data_key,
            ciphertext,
        } => (
            None,
            Some(key_arn.as_str()),
            Some(data_key.as_slice()),
            Some(ciphertext.as_slice()),
        ),
    };
    sqlx::query(
        "INSERT INTO ssm_versions (account_id, region, name_key, version, param_type, tier,
            data_type, key_id, description, allowed_pattern, policies, last_modified_at,
            last_modified_user, plain_value, key_arn, data_key, ciphertext)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&p.account_id)
    .bind(&p.region)
    .bind(key)
    .bind(v.version)
    .bind(&v.param_type)
    .bind(&v.tier)
    .bind(&v.data_type)
    .bind(&v.key_id)
    .bind(&v.description)
    .bind(&v.allowed_pattern)
    .bind(&v.policies)
    .bind(v.last_modified_at)
    .bind(&v.last_modified_user)
    .bind(plain)
    .bind(key_arn)
    .bind(data_key)
    .bind(ciphertext)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// The listing query for a scope: a range of the primary key, or of the parent index.
/// Parameters: $1 account, $2 region, the scope's bounds, then the cursor and the limit.
pub(super) fn list_sql(scope: ParameterScope<'_>) -> String {
    let (range, cursor, lim) = match scope {
        ParameterScope::All => ("", "$3", "$4"),
        ParameterScope::Prefix(_) => ("AND p.name_key >= $3 AND p.name_key < $4", "$5", "$6"),
        ParameterScope::Children(_) => ("AND p.parent = $3", "$4", "$5"),
    };
    format!(
        "SELECT {PARAMETER_COLUMNS} {JOIN_NEWEST}
         WHERE p.account_id = $1 AND p.region = $2 {range} AND p.name_key > {cursor}
         ORDER BY p.name_key LIMIT {lim}"
    )
}

#[async_trait]
impl ParameterStore for PostgresStore {
    async fn get_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<StoredParameter>> {
        let sql = format!(
            "SELECT {PARAMETER_COLUMNS} {JOIN_NEWEST}
             WHERE p.account_id = $1 AND p.region = $2 AND p.name_key = $3"
        );
        // Audited: the interpolated fragments are constants.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account)
            .bind(region)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(stored).transpose()
    }

    async fn get_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
        number: i64,
    ) -> Result<Option<ParameterVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM ssm_versions v
             WHERE v.account_id = $1 AND v.region = $2 AND v.name_key = $3 AND v.version = $4"
        );
        // Audited: the interpolated column list is a constant.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account)
            .bind(region)
            .bind(key)
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(version_row).transpose()
    }

    async fn list_parameter_versions(
        &self,
        account: &str,
        region: &str,
        key: &str,
        after: Option<i64>,
        n: usize,
    ) -> Result<Vec<ParameterVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM ssm_versions v
             WHERE v.account_id = $1 AND v.region = $2 AND v.name_key = $3 AND v.version > $4
             ORDER BY v.version LIMIT $5"
        );
        // Audited: the interpolated column list is a constant.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account)
            .bind(region)
            .bind(key)
            .bind(after.unwrap_or(0))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(version_row).collect()
    }

    async fn oldest_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT MIN(version) FROM ssm_versions
             WHERE account_id = $1 AND region = $2 AND name_key = $3",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn count_parameter_versions(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ssm_versions
             WHERE account_id = $1 AND region = $2 AND name_key = $3",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn put_parameter(&self, w: ParameterWrite<'_>) -> Result<WriteOutcome> {
        let p = w.parameter;
        let key = parameter_key(&p.name);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The tier the parameter was in before this write (None when creating).
        let old_tier: Option<String> = if w.create {
            sqlx::query(
                "INSERT INTO ssm_parameters (account_id, region, name_key, parent, name, param_type,
                    tier, data_type, key_id, description, allowed_pattern, policies, version,
                    last_modified_at, last_modified_user, tags, expires_at, next_event_at,
                    row_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, 1)",
            )
            .bind(&p.account_id)
            .bind(&p.region)
            .bind(key)
            .bind(parameter_parent(key))
            .bind(&p.name)
            .bind(&p.param_type)
            .bind(&p.tier)
            .bind(&p.data_type)
            .bind(&p.key_id)
            .bind(&p.description)
            .bind(&p.allowed_pattern)
            .bind(&p.policies)
            .bind(p.version)
            .bind(p.last_modified_at)
            .bind(&p.last_modified_user)
            .bind(tags_to_json(&p.tags))
            .bind(p.expires_at)
            .bind(p.next_event_at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            None
        } else {
            let done = sqlx::query(
                "UPDATE ssm_parameters SET param_type = $1, tier = $2, data_type = $3, key_id = $4,
                    description = $5, allowed_pattern = $6, policies = $7, version = $8,
                    last_modified_at = $9, last_modified_user = $10, tags = $11, expires_at = $12,
                    next_event_at = $13, row_version = row_version + 1
                 WHERE account_id = $14 AND region = $15 AND name_key = $16 AND row_version = $17",
            )
            .bind(&p.param_type)
            .bind(&p.tier)
            .bind(&p.data_type)
            .bind(&p.key_id)
            .bind(&p.description)
            .bind(&p.allowed_pattern)
            .bind(&p.policies)
            .bind(p.version)
            .bind(p.last_modified_at)
            .bind(&p.last_modified_user)
            .bind(tags_to_json(&p.tags))
            .bind(p.expires_at)
            .bind(p.next_event_at)
            .bind(&p.account_id)
            .bind(&p.region)
            .bind(key)
            .bind(p.row_version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict);
            }
            // The tier before this write is the previous newest version's: only a new version
            // changes a parameter's tier. The UPDATE holds the row lock, so no other writer can
            // add a version between it and this read.
            let tier: Option<String> = sqlx::query_scalar(
                "SELECT tier FROM ssm_versions
                 WHERE account_id = $1 AND region = $2 AND name_key = $3 AND version = $4",
            )
            .bind(&p.account_id)
            .bind(&p.region)
            .bind(key)
            .bind(p.version - 1)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            Some(tier.unwrap_or_else(|| p.tier.clone()))
        };
        insert_version(&mut tx, p, key, w.version).await?;
        if let Some(old) = w.prune {
            sqlx::query(
                "DELETE FROM ssm_versions
                 WHERE account_id = $1 AND region = $2 AND name_key = $3 AND version = $4",
            )
            .bind(&p.account_id)
            .bind(&p.region)
            .bind(key)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        if old_tier.as_deref() != Some(p.tier.as_str()) {
            if let Some(old) = &old_tier {
                adjust_count(&mut tx, &p.account_id, &p.region, old, -1, None).await?;
            }
            let fits = adjust_count(
                &mut tx,
                &p.account_id,
                &p.region,
                &p.tier,
                1,
                Some(w.tier_limit),
            )
            .await?;
            if !fits {
                tx.rollback().await.map_err(backend)?;
                return Ok(WriteOutcome::TierLimitExceeded);
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(WriteOutcome::Written)
    }

    async fn update_parameter(&self, p: &ParameterRecord) -> Result<()> {
        let done = sqlx::query(
            "UPDATE ssm_parameters SET tags = $1, policies = $2, expires_at = $3,
                next_event_at = $4, row_version = row_version + 1
             WHERE account_id = $5 AND region = $6 AND name_key = $7 AND row_version = $8",
        )
        .bind(tags_to_json(&p.tags))
        .bind(&p.policies)
        .bind(p.expires_at)
        .bind(p.next_event_at)
        .bind(&p.account_id)
        .bind(&p.region)
        .bind(parameter_key(&p.name))
        .bind(p.row_version)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn change_parameter_labels(&self, c: LabelChange<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Compare-and-set first: it takes the parameter's row lock, under which the label rows
        // change.
        let done = sqlx::query(
            "UPDATE ssm_parameters SET row_version = row_version + 1
             WHERE account_id = $1 AND region = $2 AND name_key = $3 AND row_version = $4",
        )
        .bind(c.account_id)
        .bind(c.region)
        .bind(c.key)
        .bind(c.row_version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        for label in c.detach {
            sqlx::query(
                "DELETE FROM ssm_labels
                 WHERE account_id = $1 AND region = $2 AND name_key = $3 AND label = $4
                   AND version = $5",
            )
            .bind(c.account_id)
            .bind(c.region)
            .bind(c.key)
            .bind(label)
            .bind(c.detach_from)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for (label, version) in c.attach {
            sqlx::query(
                "INSERT INTO ssm_labels (account_id, region, name_key, label, version)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id, region, name_key, label)
                 DO UPDATE SET version = excluded.version",
            )
            .bind(c.account_id)
            .bind(c.region)
            .bind(c.key)
            .bind(label)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
        row_version: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let tier: Option<String> = sqlx::query_scalar(
            "DELETE FROM ssm_parameters
             WHERE account_id = $1 AND region = $2 AND name_key = $3
               AND ($4::bigint IS NULL OR row_version = $4)
             RETURNING tier",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .bind(row_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(tier) = tier else {
            return Ok(false);
        };
        adjust_count(&mut tx, account, region, &tier, -1, None).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn list_parameters(&self, q: &ParameterListQuery<'_>) -> Result<Vec<StoredParameter>> {
        let sql = list_sql(q.scope);
        // Audited: the interpolated fragments are the constants above; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.account_id)
            .bind(q.region);
        query = match q.scope {
            ParameterScope::All => query,
            ParameterScope::Prefix(prefix) => query.bind(prefix).bind(format!("{prefix}{UPPER}")),
            ParameterScope::Children(parent) => query.bind(parent),
        };
        let rows = query
            .bind(q.after.unwrap_or(""))
            .bind(limit(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(stored).collect()
    }

    async fn count_parameters(&self, account: &str, region: &str, tier: &str) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT count FROM ssm_tier_counts WHERE account_id = $1 AND region = $2 AND tier = $3",
        )
        .bind(account)
        .bind(region)
        .bind(tier)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    async fn parameters_due(&self, now: Millis, n: usize) -> Result<Vec<ParameterId>> {
        let rows = sqlx::query(
            "SELECT account_id, region, name_key FROM ssm_parameters
             WHERE next_event_at IS NOT NULL AND next_event_at <= $1
             ORDER BY next_event_at LIMIT $2",
        )
        .bind(now)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(ParameterId {
                    account_id: col(r, "account_id")?,
                    region: col(r, "region")?,
                    key: col(r, "name_key")?,
                })
            })
            .collect()
    }

    async fn get_service_setting(
        &self,
        account: &str,
        region: &str,
        setting_id: &str,
    ) -> Result<Option<ServiceSettingRecord>> {
        let row = sqlx::query(
            "SELECT * FROM ssm_service_settings
             WHERE account_id = $1 AND region = $2 AND setting_id = $3",
        )
        .bind(account)
        .bind(region)
        .bind(setting_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(ServiceSettingRecord {
                account_id: col(&r, "account_id")?,
                region: col(&r, "region")?,
                setting_id: col(&r, "setting_id")?,
                value: col(&r, "value")?,
                last_modified_at: col(&r, "last_modified_at")?,
                last_modified_user: col(&r, "last_modified_user")?,
            })
        })
        .transpose()
    }

    async fn put_service_setting(&self, s: &ServiceSettingRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO ssm_service_settings (account_id, region, setting_id, value,
                last_modified_at, last_modified_user) VALUES ($1, $2, $3, $4, $5, $6)
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
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn delete_service_setting(
        &self,
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
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_resource_policies(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Vec<ResourcePolicyRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM ssm_resource_policies
             WHERE account_id = $1 AND region = $2 AND name_key = $3
             ORDER BY created_at, policy_id",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(ResourcePolicyRecord {
                    policy_id: col(r, "policy_id")?,
                    policy_hash: col(r, "policy_hash")?,
                    policy: col(r, "policy")?,
                    created_at: col(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn create_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        p: &ResourcePolicyRecord,
        max: usize,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Lock the parameter: under READ COMMITTED two nodes inserting at once would each count
        // only their own new row and both pass `max`. (A missing parameter fails the insert's
        // foreign key below, as on SQLite.)
        sqlx::query(
            "SELECT 1 FROM ssm_parameters
             WHERE account_id = $1 AND region = $2 AND name_key = $3 FOR UPDATE",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
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

    async fn replace_resource_policy(
        &self,
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
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn delete_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy_id: &str,
        expected_hash: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
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
