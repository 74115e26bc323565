//! SSM parameters: [`ParameterStore`](crate::ParameterStore) for a backend's store (service
//! settings and resource policies in [`super::parameter_settings`]).
//!
//! Listings are range scans of the primary key `(account_id, region, name_key)` or of
//! `ssm_parameters_by_parent`, resumed after the last key: a page costs the same in a store of a
//! hundred parameters or of a hundred thousand (the `listings_use_indexes` tests check the plans
//! on both backends). Reads that return a parameter or a version return its labels from the same
//! statement ([`Dialect::list`]), so they see one snapshot and never a label of a version they did
//! not return. Every multi-row write does its compare-and-set on the parameter row first, so on
//! PostgreSQL the rest of it happens under that row's lock; the tier-count upsert serialises
//! creators on the count row.

use crate::parameters::StoredValue;
use crate::parameters::{ParameterRecord, ParameterScope, ParameterVersionRecord, StoredParameter};
use crate::repo::{Dialect, IntList, TextList};
use sqlx::{ColumnIndex, Decode, Row, Type};

/// Bytes above every character a parameter name may hold: `prefix || UPPER` bounds a prefix
/// range (names are ASCII; U+10FFFF is the largest UTF-8 sequence; keys compare as "C").
pub(crate) const UPPER: &str = "\u{10FFFF}";

/// A parameter (`p_` columns) joined with its newest version, plus every label of the parameter
/// as two lists in label order.
pub(crate) fn parameter_columns<D: Dialect>() -> String {
    let labels = "FROM ssm_labels l WHERE l.account_id = p.account_id AND l.region = p.region
        AND l.name_key = p.name_key";
    let names = D::list("l.label", labels, "l.label");
    let versions = D::list("l.version", labels, "l.label");
    format!(
        "p.account_id, p.region, p.name, p.param_type AS p_param_type,
        p.tier AS p_tier, p.data_type AS p_data_type, p.key_id AS p_key_id,
        p.description AS p_description, p.allowed_pattern AS p_allowed_pattern,
        p.policies AS p_policies, p.version AS p_version,
        p.last_modified_at AS p_last_modified_at, p.last_modified_user AS p_last_modified_user,
        p.tags, p.expires_at, p.next_event_at, p.row_version, p.name_key,
        v.version, v.param_type, v.tier, v.data_type, v.key_id, v.description,
        v.allowed_pattern, v.policies, v.last_modified_at, v.last_modified_user, v.plain_value,
        v.key_arn, v.data_key, v.ciphertext,
        {names} AS label_names, {versions} AS label_versions"
    )
}

/// A version row (`v`) with its own labels.
pub(crate) fn version_columns<D: Dialect>() -> String {
    let labels = D::list(
        "l.label",
        "FROM ssm_labels l WHERE l.account_id = v.account_id AND l.region = v.region
           AND l.name_key = v.name_key AND l.version = v.version",
        "l.label",
    );
    format!("v.*, {labels} AS labels")
}

pub(crate) const JOIN_NEWEST: &str = "FROM ssm_parameters p JOIN ssm_versions v
    ON v.account_id = p.account_id AND v.region = p.region AND v.name_key = p.name_key
   AND v.version = p.version";

/// One parameter with its newest version: `$1` account, `$2` region, `$3` key.
pub(crate) fn get_sql<D: Dialect>() -> String {
    let columns = parameter_columns::<D>();
    format!(
        "SELECT {columns} {JOIN_NEWEST}
         WHERE p.account_id = $1 AND p.region = $2 AND p.name_key = $3"
    )
}

/// The listing query for a scope: a range of the primary key, or of the parent index.
/// Parameters: $1 account, $2 region, the scope's bounds, then the cursor and the limit.
pub(crate) fn list_sql<D: Dialect>(scope: ParameterScope<'_>) -> String {
    let (range, cursor, lim) = match scope {
        ParameterScope::All => ("", "$3", "$4"),
        ParameterScope::Prefix(_) => ("AND p.name_key >= $3 AND p.name_key < $4", "$5", "$6"),
        ParameterScope::Children(_) => ("AND p.parent = $3", "$4", "$5"),
    };
    let columns = parameter_columns::<D>();
    format!(
        "SELECT {columns} {JOIN_NEWEST}
         WHERE p.account_id = $1 AND p.region = $2 {range} AND p.name_key > {cursor}
         ORDER BY p.name_key LIMIT {lim}"
    )
}

/// Add `delta` to a tier's count (never below 0), returning the new count. The upsert locks the
/// count row, so concurrent creators on any node count one after another.
pub(crate) fn count_sql<D: Dialect>() -> String {
    let greatest = D::GREATEST;
    format!(
        "INSERT INTO ssm_tier_counts (account_id, region, tier, count)
         VALUES ($1, $2, $3, {greatest}($4, 0))
         ON CONFLICT (account_id, region, tier)
         DO UPDATE SET count = {greatest}(ssm_tier_counts.count + $4, 0)
         RETURNING count"
    )
}

/// The value columns of a version: `plain_value`, or the sealed `key_arn`, `data_key` and
/// `ciphertext`.
impl<'r, R: Row> sqlx::FromRow<'r, R> for StoredValue
where
    &'r str: ColumnIndex<R>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        if let Some(v) = row.try_get::<Option<String>, _>("plain_value")? {
            return Ok(Self::Plain(v));
        }
        Ok(Self::Sealed {
            key_arn: row
                .try_get::<Option<String>, _>("key_arn")?
                .ok_or_else(|| sqlx::Error::Decode("sealed version without key".into()))?,
            data_key: row
                .try_get::<Option<Vec<u8>>, _>("data_key")?
                .unwrap_or_default(),
            ciphertext: row
                .try_get::<Option<Vec<u8>>, _>("ciphertext")?
                .unwrap_or_default(),
        })
    }
}

/// A row of [`parameter_columns`].
#[derive(sqlx::FromRow)]
pub(crate) struct StoredRow {
    #[sqlx(flatten)]
    parameter: ParameterRecord,
    #[sqlx(flatten)]
    current: ParameterVersionRecord,
    label_names: TextList,
    label_versions: IntList,
}

impl From<StoredRow> for StoredParameter {
    fn from(r: StoredRow) -> Self {
        let labels: Vec<(String, i64)> = r
            .label_names
            .0
            .into_iter()
            .zip(r.label_versions.0)
            .collect();
        let mut current = r.current;
        current.labels = labels
            .iter()
            .filter(|(_, v)| *v == r.parameter.version)
            .map(|(l, _)| l.clone())
            .collect();
        Self {
            parameter: r.parameter,
            current,
            labels,
        }
    }
}

macro_rules! parameter_store_impl {
    ($store:ident) => {
        mod parameters {
            use super::{$store, backend};
            use crate::parameters::*;
            use crate::records::{Millis, tags_to_json};
            use crate::repo::parameters::*;
            use crate::repo::{Dialect, limit};
            use crate::sqlite::cache::Lookup;
            use crate::{Result, StoreError};
            use async_trait::async_trait;
            use sqlx::Transaction;

            type Tx<'c> = Transaction<'c, <$store as Dialect>::Db>;

            /// Add `delta` to a tier's count; with `limit`, fail (returning false) if that
            /// overflows it.
            async fn adjust_count(
                tx: &mut Tx<'_>,
                account: &str,
                region: &str,
                tier: &str,
                delta: i64,
                limit: Option<u64>,
            ) -> Result<bool> {
                // Audited: built from constant fragments only.
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql::<$store>()))
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
                tx: &mut Tx<'_>,
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
                    "INSERT INTO ssm_versions (account_id, region, name_key, version, param_type,
                        tier, data_type, key_id, description, allowed_pattern, policies,
                        last_modified_at, last_modified_user, plain_value, key_arn, data_key,
                        ciphertext)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17)",
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

            async fn insert_parameter(tx: &mut Tx<'_>, p: &ParameterRecord, key: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO ssm_parameters (account_id, region, name_key, parent, name,
                        param_type, tier, data_type, key_id, description, allowed_pattern,
                        policies, version, last_modified_at, last_modified_user, tags,
                        expires_at, next_event_at, row_version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, 1)",
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
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(())
            }

            /// The new metadata under compare-and-set; the tier the parameter was in before
            /// (the previous newest version's: only a new version changes a parameter's tier).
            /// The UPDATE holds the row (PostgreSQL) or write (SQLite) lock, so no other writer
            /// can add a version between it and the read.
            async fn update_parameter_row(
                tx: &mut Tx<'_>,
                p: &ParameterRecord,
                key: &str,
            ) -> Result<String> {
                let done = sqlx::query(
                    "UPDATE ssm_parameters SET param_type = $1, tier = $2, data_type = $3,
                        key_id = $4, description = $5, allowed_pattern = $6, policies = $7,
                        version = $8, last_modified_at = $9, last_modified_user = $10, tags = $11,
                        expires_at = $12, next_event_at = $13, row_version = row_version + 1
                     WHERE account_id = $14 AND region = $15 AND name_key = $16
                       AND row_version = $17",
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
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict);
                }
                let tier: Option<String> = sqlx::query_scalar(
                    "SELECT tier FROM ssm_versions
                     WHERE account_id = $1 AND region = $2 AND name_key = $3 AND version = $4",
                )
                .bind(&p.account_id)
                .bind(&p.region)
                .bind(key)
                .bind(p.version - 1)
                .fetch_optional(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(tier.unwrap_or_else(|| p.tier.clone()))
            }

            crate::repo::parameter_settings::parameter_settings_impl!($store);

            #[async_trait]
            impl ParameterStore for $store {
                async fn get_parameter(
                    &self,
                    account: &str,
                    region: &str,
                    key: &str,
                ) -> Result<Option<StoredParameter>> {
                    let lookup = || Lookup::Parameter(account.into(), region.into(), key.into());
                    self.cached(lookup, || {
                        // Audited: built from constant fragments only.
                        sqlx::query_as::<_, StoredRow>(sqlx::AssertSqlSafe(get_sql::<$store>()))
                            .bind(account)
                            .bind(region)
                            .bind(key)
                    })
                    .await
                }

                async fn get_parameter_version(
                    &self,
                    account: &str,
                    region: &str,
                    key: &str,
                    number: i64,
                ) -> Result<Option<ParameterVersionRecord>> {
                    let sql = format!(
                        "SELECT {} FROM ssm_versions v WHERE v.account_id = $1 AND v.region = $2
                           AND v.name_key = $3 AND v.version = $4",
                        version_columns::<$store>()
                    );
                    // Audited: built from constant fragments only.
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(account)
                        .bind(region)
                        .bind(key)
                        .bind(number)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)
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
                        "SELECT {} FROM ssm_versions v WHERE v.account_id = $1 AND v.region = $2
                           AND v.name_key = $3 AND v.version > $4 ORDER BY v.version LIMIT $5",
                        version_columns::<$store>()
                    );
                    // Audited: built from constant fragments only.
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(account)
                        .bind(region)
                        .bind(key)
                        .bind(after.unwrap_or(0))
                        .bind(limit(n))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)
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
                    let _gate = self.write_gate().await;
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    // The tier the parameter was in before this write (None when creating).
                    let old_tier = if w.create {
                        insert_parameter(&mut tx, p, key).await?;
                        None
                    } else {
                        Some(update_parameter_row(&mut tx, p, key).await?)
                    };
                    insert_version(&mut tx, p, key, w.version).await?;
                    if let Some(old) = w.prune {
                        sqlx::query(
                            "DELETE FROM ssm_versions
                             WHERE account_id = $1 AND region = $2 AND name_key = $3
                               AND version = $4",
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
                        let (account, region) = (&p.account_id, &p.region);
                        let fits =
                            adjust_count(&mut tx, account, region, &p.tier, 1, Some(w.tier_limit))
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
                    let done = self
                        .write(
                            sqlx::query(
                                "UPDATE ssm_parameters SET tags = $1, policies = $2,
                                    expires_at = $3, next_event_at = $4,
                                    row_version = row_version + 1
                                 WHERE account_id = $5 AND region = $6 AND name_key = $7
                                   AND row_version = $8",
                            )
                            .bind(tags_to_json(&p.tags))
                            .bind(&p.policies)
                            .bind(p.expires_at)
                            .bind(p.next_event_at)
                            .bind(&p.account_id)
                            .bind(&p.region)
                            .bind(parameter_key(&p.name))
                            .bind(p.row_version),
                        )
                        .await?;
                    if done.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict)
                    }
                }

                async fn change_parameter_labels(&self, c: LabelChange<'_>) -> Result<()> {
                    let _gate = self.write_gate().await;
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    // Compare-and-set first: on PostgreSQL it takes the parameter's row lock,
                    // under which the label rows change.
                    let done = sqlx::query(
                        "UPDATE ssm_parameters SET row_version = row_version + 1
                         WHERE account_id = $1 AND region = $2 AND name_key = $3
                           AND row_version = $4",
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
                             WHERE account_id = $1 AND region = $2 AND name_key = $3
                               AND label = $4 AND version = $5",
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
                    // The cast types the NULL test (PostgreSQL cannot infer it).
                    let tier: Option<String> = sqlx::query_scalar(
                        "DELETE FROM ssm_parameters
                         WHERE account_id = $1 AND region = $2 AND name_key = $3
                           AND (CAST($4 AS BIGINT) IS NULL OR row_version = $4)
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
                    self.commit(tx).await?;
                    Ok(true)
                }

                async fn list_parameters(
                    &self,
                    q: &ParameterListQuery<'_>,
                ) -> Result<Vec<StoredParameter>> {
                    let sql = list_sql::<$store>(q.scope);
                    // Audited: the interpolated fragments are constants; values are bound.
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(q.account_id)
                        .bind(q.region);
                    query = match q.scope {
                        ParameterScope::All => query,
                        ParameterScope::Prefix(prefix) => {
                            query.bind(prefix).bind(format!("{prefix}{UPPER}"))
                        }
                        ParameterScope::Children(parent) => query.bind(parent),
                    };
                    let rows: Vec<StoredRow> = query
                        .bind(q.after.unwrap_or(""))
                        .bind(limit(q.limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)?;
                    Ok(rows.into_iter().map(StoredParameter::from).collect())
                }

                async fn count_parameters(
                    &self,
                    account: &str,
                    region: &str,
                    tier: &str,
                ) -> Result<u64> {
                    let n: Option<i64> = sqlx::query_scalar(
                        "SELECT count FROM ssm_tier_counts
                         WHERE account_id = $1 AND region = $2 AND tier = $3",
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
                    sqlx::query_as(
                        "SELECT account_id, region, name_key FROM ssm_parameters
                         WHERE next_event_at IS NOT NULL AND next_event_at <= $1
                         ORDER BY next_event_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit(n))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
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
                    settings::create_resource_policy(self, account, region, key, policy, max)
                        .await
                }

                async fn replace_resource_policy(
                    &self,
                    account: &str,
                    region: &str,
                    key: &str,
                    policy: &ResourcePolicyRecord,
                    expected_hash: &str,
                ) -> Result<()> {
                    settings::replace_resource_policy(
                        self,
                        account,
                        region,
                        key,
                        policy,
                        expected_hash,
                    )
                    .await
                }

                async fn delete_resource_policy(
                    &self,
                    account: &str,
                    region: &str,
                    key: &str,
                    policy_id: &str,
                    expected_hash: &str,
                ) -> Result<bool> {
                    settings::delete_resource_policy(
                        self,
                        account,
                        region,
                        key,
                        policy_id,
                        expected_hash,
                    )
                    .await
                }
            }
        }
    };
}
pub(crate) use parameter_store_impl;
