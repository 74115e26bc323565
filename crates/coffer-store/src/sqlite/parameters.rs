//! SSM parameters on SQLite.
//!
//! Listings are range scans of the primary key `(account_id, region, name_key)` or of
//! `ssm_parameters_by_parent`, resumed after the last key: a page costs the same in a store of a
//! hundred parameters or of a hundred thousand (the `listings_use_indexes` test checks the plans).

mod settings;

use super::cache::Lookup;
use super::{SqliteStore, backend};
use crate::parameters::*;
use crate::records::Millis;
use crate::records::{tags_from_json, tags_to_json};
use crate::repo::Dialect;
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

/// Bytes above every character a parameter name may hold: `prefix || UPPER` bounds a prefix
/// range (names are ASCII; U+10FFFF is the largest UTF-8 sequence).
const UPPER: &str = "\u{10FFFF}";

const PARAMETER_COLUMNS: &str = "p.account_id, p.region, p.name, p.param_type AS p_param_type,
    p.tier AS p_tier, p.data_type AS p_data_type, p.key_id AS p_key_id,
    p.description AS p_description, p.allowed_pattern AS p_allowed_pattern,
    p.policies AS p_policies, p.version AS p_version, p.last_modified_at AS p_last_modified_at,
    p.last_modified_user AS p_last_modified_user, p.tags, p.expires_at, p.next_event_at,
    p.row_version, p.name_key,
    v.version, v.param_type, v.tier, v.data_type, v.key_id, v.description, v.allowed_pattern,
    v.policies, v.last_modified_at, v.last_modified_user, v.plain_value, v.key_arn, v.data_key,
    v.ciphertext";

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn parameter(row: &SqliteRow) -> Result<ParameterRecord> {
    let tags: String = row.try_get("tags").map_err(backend)?;
    Ok(ParameterRecord {
        account_id: row.try_get("account_id").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        param_type: row.try_get("p_param_type").map_err(backend)?,
        tier: row.try_get("p_tier").map_err(backend)?,
        data_type: row.try_get("p_data_type").map_err(backend)?,
        key_id: row.try_get("p_key_id").map_err(backend)?,
        description: row.try_get("p_description").map_err(backend)?,
        allowed_pattern: row.try_get("p_allowed_pattern").map_err(backend)?,
        policies: row.try_get("p_policies").map_err(backend)?,
        version: row.try_get("p_version").map_err(backend)?,
        last_modified_at: row.try_get("p_last_modified_at").map_err(backend)?,
        last_modified_user: row.try_get("p_last_modified_user").map_err(backend)?,
        tags: tags_from_json(&tags)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        next_event_at: row.try_get("next_event_at").map_err(backend)?,
        row_version: row.try_get("row_version").map_err(backend)?,
    })
}

fn version(row: &SqliteRow, labels: Vec<String>) -> Result<ParameterVersionRecord> {
    let plain: Option<String> = row.try_get("plain_value").map_err(backend)?;
    let value = match plain {
        Some(v) => StoredValue::Plain(v),
        None => StoredValue::Sealed {
            key_arn: row
                .try_get::<Option<String>, _>("key_arn")
                .map_err(backend)?
                .ok_or_else(|| StoreError::Backend("sealed version without key".to_owned()))?,
            data_key: row
                .try_get::<Option<Vec<u8>>, _>("data_key")
                .map_err(backend)?
                .unwrap_or_default(),
            ciphertext: row
                .try_get::<Option<Vec<u8>>, _>("ciphertext")
                .map_err(backend)?
                .unwrap_or_default(),
        },
    };
    Ok(ParameterVersionRecord {
        version: row.try_get("version").map_err(backend)?,
        param_type: row.try_get("param_type").map_err(backend)?,
        tier: row.try_get("tier").map_err(backend)?,
        data_type: row.try_get("data_type").map_err(backend)?,
        key_id: row.try_get("key_id").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        allowed_pattern: row.try_get("allowed_pattern").map_err(backend)?,
        policies: row.try_get("policies").map_err(backend)?,
        last_modified_at: row.try_get("last_modified_at").map_err(backend)?,
        last_modified_user: row.try_get("last_modified_user").map_err(backend)?,
        value,
        labels,
    })
}

/// `(label, version)` of every label of the given keys, by key.
async fn labels_of(
    s: &SqliteStore,
    account: &str,
    region: &str,
    keys: &[String],
) -> Result<Vec<(String, String, i64)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; keys.len()].join(", ");
    let sql = format!(
        "SELECT name_key, label, version FROM ssm_labels
         WHERE account_id = ? AND region = ? AND name_key IN ({marks}) ORDER BY name_key, label"
    );
    // Audited: only placeholders are interpolated; values are bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account)
        .bind(region);
    for k in keys {
        q = q.bind(k);
    }
    let rows = q.fetch_all(&s.pool).await.map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("name_key").map_err(backend)?,
                r.try_get("label").map_err(backend)?,
                r.try_get("version").map_err(backend)?,
            ))
        })
        .collect()
}

/// Parameters joined with their newest version, plus all their labels.
async fn assemble(
    s: &SqliteStore,
    account: &str,
    region: &str,
    rows: &[SqliteRow],
) -> Result<Vec<StoredParameter>> {
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("name_key").map_err(backend))
        .collect::<Result<_>>()?;
    let all_labels = labels_of(s, account, region, &keys).await?;
    rows.iter()
        .zip(&keys)
        .map(|(row, key)| {
            let labels: Vec<(String, i64)> = all_labels
                .iter()
                .filter(|(k, _, _)| k == key)
                .map(|(_, l, v)| (l.clone(), *v))
                .collect();
            let parameter = parameter(row)?;
            let mine = labels
                .iter()
                .filter(|(_, v)| *v == parameter.version)
                .map(|(l, _)| l.clone())
                .collect();
            Ok(StoredParameter {
                current: version(row, mine)?,
                parameter,
                labels,
            })
        })
        .collect()
}

async fn version_labels(
    s: &SqliteStore,
    account: &str,
    region: &str,
    key: &str,
    version: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT label FROM ssm_labels
         WHERE account_id = ? AND region = ? AND name_key = ? AND version = ? ORDER BY label",
    )
    .bind(account)
    .bind(region)
    .bind(key)
    .bind(version)
    .fetch_all(&s.pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| r.try_get("label").map_err(backend))
        .collect()
}

/// Add `delta` to a tier's count; with `limit`, fail (returning false) if that overflows it.
async fn adjust_count(
    tx: &mut Transaction<'_, Sqlite>,
    account: &str,
    region: &str,
    tier: &str,
    delta: i64,
    limit: Option<u64>,
) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO ssm_tier_counts (account_id, region, tier, count) VALUES (?, ?, ?, MAX(?, 0))
         ON CONFLICT (account_id, region, tier) DO UPDATE SET count = MAX(count + ?, 0)
         RETURNING count",
    )
    .bind(account)
    .bind(region)
    .bind(tier)
    .bind(delta)
    .bind(delta)
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)?;
    let count: i64 = row.try_get("count").map_err(backend)?;
    Ok(limit.is_none_or(|l| u64::try_from(count).unwrap_or(0) <= l))
}

async fn insert_version(
    tx: &mut Transaction<'_, Sqlite>,
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
fn list_sql(scope: ParameterScope<'_>) -> String {
    let range = match scope {
        ParameterScope::All => "",
        ParameterScope::Prefix(_) => "AND p.name_key >= ? AND p.name_key < ?",
        ParameterScope::Children(_) => "AND p.parent = ?",
    };
    format!(
        "SELECT {PARAMETER_COLUMNS} FROM ssm_parameters p JOIN ssm_versions v
           ON v.account_id = p.account_id AND v.region = p.region AND v.name_key = p.name_key
          AND v.version = p.version
         WHERE p.account_id = ? AND p.region = ? {range} AND p.name_key > ?
         ORDER BY p.name_key LIMIT ?"
    )
}

#[async_trait]
impl ParameterStore for SqliteStore {
    async fn get_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<StoredParameter>> {
        self.cached(
            || Lookup::Parameter(account.to_owned(), region.to_owned(), key.to_owned()),
            async {
                let sql = format!(
                    "SELECT {PARAMETER_COLUMNS} FROM ssm_parameters p JOIN ssm_versions v
               ON v.account_id = p.account_id AND v.region = p.region AND v.name_key = p.name_key
              AND v.version = p.version
             WHERE p.account_id = ? AND p.region = ? AND p.name_key = ?"
                );
                // Audited: the interpolated column list is a constant.
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(region)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                match row {
                    Some(row) => Ok(assemble(self, account, region, &[row]).await?.pop()),
                    None => Ok(None),
                }
            },
        )
        .await
    }

    async fn get_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
        number: i64,
    ) -> Result<Option<ParameterVersionRecord>> {
        let row = sqlx::query(
            "SELECT * FROM ssm_versions
             WHERE account_id = ? AND region = ? AND name_key = ? AND version = ?",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .bind(number)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(row) => {
                let labels = version_labels(self, account, region, key, number).await?;
                Ok(Some(version(&row, labels)?))
            }
            None => Ok(None),
        }
    }

    async fn list_parameter_versions(
        &self,
        account: &str,
        region: &str,
        key: &str,
        after: Option<i64>,
        n: usize,
    ) -> Result<Vec<ParameterVersionRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM ssm_versions
             WHERE account_id = ? AND region = ? AND name_key = ? AND version > ?
             ORDER BY version LIMIT ?",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .bind(after.unwrap_or(0))
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let labels = labels_of(self, account, region, &[key.to_owned()]).await?;
        rows.iter()
            .map(|row| {
                let number: i64 = row.try_get("version").map_err(backend)?;
                let mine = labels
                    .iter()
                    .filter(|(_, _, v)| *v == number)
                    .map(|(_, l, _)| l.clone())
                    .collect();
                version(row, mine)
            })
            .collect()
    }

    async fn oldest_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(version) AS v FROM ssm_versions
             WHERE account_id = ? AND region = ? AND name_key = ?",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        row.try_get("v").map_err(backend)
    }

    async fn count_parameter_versions(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM ssm_versions
             WHERE account_id = ? AND region = ? AND name_key = ?",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let n: i64 = row.try_get("n").map_err(backend)?;
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
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
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
                "UPDATE ssm_parameters SET param_type = ?, tier = ?, data_type = ?, key_id = ?,
                    description = ?, allowed_pattern = ?, policies = ?, version = ?,
                    last_modified_at = ?, last_modified_user = ?, tags = ?, expires_at = ?,
                    next_event_at = ?, row_version = row_version + 1
                 WHERE account_id = ? AND region = ? AND name_key = ? AND row_version = ?",
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
            // changes a parameter's tier. The UPDATE holds the write lock, so this read is
            // consistent with it.
            let row = sqlx::query(
                "SELECT tier FROM ssm_versions
                 WHERE account_id = ? AND region = ? AND name_key = ? AND version = ?",
            )
            .bind(&p.account_id)
            .bind(&p.region)
            .bind(key)
            .bind(p.version - 1)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            match row {
                Some(r) => Some(r.try_get("tier").map_err(backend)?),
                None => Some(p.tier.clone()),
            }
        };
        insert_version(&mut tx, p, key, w.version).await?;
        if let Some(old) = w.prune {
            sqlx::query(
                "DELETE FROM ssm_versions
                 WHERE account_id = ? AND region = ? AND name_key = ? AND version = ?",
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
        self.commit(tx).await?;
        Ok(WriteOutcome::Written)
    }

    async fn update_parameter(&self, p: &ParameterRecord) -> Result<()> {
        let done = self.write(sqlx::query(
            "UPDATE ssm_parameters SET tags = ?, policies = ?, expires_at = ?, next_event_at = ?,
                row_version = row_version + 1
             WHERE account_id = ? AND region = ? AND name_key = ? AND row_version = ?",
        )
        .bind(tags_to_json(&p.tags))
        .bind(&p.policies)
        .bind(p.expires_at)
        .bind(p.next_event_at)
        .bind(&p.account_id)
        .bind(&p.region)
        .bind(parameter_key(&p.name))
        .bind(p.row_version)
        ).await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn change_parameter_labels(&self, c: LabelChange<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE ssm_parameters SET row_version = row_version + 1
             WHERE account_id = ? AND region = ? AND name_key = ? AND row_version = ?",
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
                 WHERE account_id = ? AND region = ? AND name_key = ? AND label = ? AND version = ?",
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
                 VALUES (?, ?, ?, ?, ?)
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
        self.commit(tx).await
    }

    async fn delete_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
        row_version: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "DELETE FROM ssm_parameters
             WHERE account_id = ? AND region = ? AND name_key = ? AND (? IS NULL OR row_version = ?)
             RETURNING tier",
        )
        .bind(account)
        .bind(region)
        .bind(key)
        .bind(row_version)
        .bind(row_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let tier: String = row.try_get("tier").map_err(backend)?;
        adjust_count(&mut tx, account, region, &tier, -1, None).await?;
        self.commit(tx).await?;
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
        assemble(self, q.account_id, q.region, &rows).await
    }

    async fn count_parameters(&self, account: &str, region: &str, tier: &str) -> Result<u64> {
        let row = sqlx::query(
            "SELECT count FROM ssm_tier_counts WHERE account_id = ? AND region = ? AND tier = ?",
        )
        .bind(account)
        .bind(region)
        .bind(tier)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(r) => {
                let n: i64 = r.try_get("count").map_err(backend)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            None => Ok(0),
        }
    }

    async fn parameters_due(&self, now: Millis, n: usize) -> Result<Vec<ParameterId>> {
        let rows = sqlx::query(
            "SELECT account_id, region, name_key FROM ssm_parameters
             WHERE next_event_at IS NOT NULL AND next_event_at <= ?
             ORDER BY next_event_at LIMIT ?",
        )
        .bind(now)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(ParameterId {
                    account_id: r.try_get("account_id").map_err(backend)?,
                    region: r.try_get("region").map_err(backend)?,
                    key: r.try_get("name_key").map_err(backend)?,
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
        settings::get_service_setting(self, account, region, setting_id).await
    }

    async fn put_service_setting(&self, setting: &ServiceSettingRecord) -> Result<()> {
        settings::put_service_setting(self, setting).await
    }

    async fn delete_service_setting(
        &self,
        account: &str,
        region: &str,
        setting_id: &str,
    ) -> Result<bool> {
        settings::delete_service_setting(self, account, region, setting_id).await
    }

    async fn list_resource_policies(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Vec<ResourcePolicyRecord>> {
        settings::list_resource_policies(self, account, region, key).await
    }

    async fn create_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy: &ResourcePolicyRecord,
        max: usize,
    ) -> Result<bool> {
        settings::create_resource_policy(self, account, region, key, policy, max).await
    }

    async fn replace_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy: &ResourcePolicyRecord,
        expected_hash: &str,
    ) -> Result<()> {
        settings::replace_resource_policy(self, account, region, key, policy, expected_hash).await
    }

    async fn delete_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy_id: &str,
        expected_hash: &str,
    ) -> Result<bool> {
        settings::delete_resource_policy(self, account, region, key, policy_id, expected_hash).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every listing is a range search of an index in key order: no table scan, no sort of the
    /// matching rows. That is what keeps a page from a 100,000-parameter store as cheap as one
    /// from a small store.
    #[tokio::test]
    async fn listings_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db"))
            .await
            .unwrap();
        for scope in [
            ParameterScope::All,
            ParameterScope::Prefix("a/"),
            ParameterScope::Children("a"),
        ] {
            let sql = format!("EXPLAIN QUERY PLAN {}", list_sql(scope));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&store.pool)
                .await
                .unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>("detail").unwrap())
                .collect();
            assert!(
                plan.iter()
                    .all(|d| !d.starts_with("SCAN") && !d.contains("TEMP B-TREE")),
                "{scope:?}: {plan:?}"
            );
        }
        let due = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT account_id, region, name_key FROM ssm_parameters
             WHERE next_event_at IS NOT NULL AND next_event_at <= 1 ORDER BY next_event_at LIMIT 5",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        for r in &due {
            let d: String = r.try_get("detail").unwrap();
            assert!(!d.starts_with("SCAN") && !d.contains("TEMP B-TREE"), "{d}");
        }
    }
}
